// Package content is backstory's record model: it reads decision records,
// intents, processes and values in every format teams already use, normalises
// them, resolves the references between them, and answers questions about the
// corpus (which records govern a path, what superseded what, what lint finds).
//
// content imports only the standard library, goldmark and yaml. It never
// touches GitHub or Hugo: adapters convert at the edge.
package content

import (
	"fmt"
	"time"
)

// Kind is what a record captures.
type Kind string

// The kinds of record.
const (
	KindDecision Kind = "decision"
	KindIntent   Kind = "intent"
	KindProcess  Kind = "process"
	KindValue    Kind = "value"
)

// Kinds lists every kind, in the order the site presents them.
var Kinds = []Kind{KindDecision, KindIntent, KindProcess, KindValue}

// Status is a record's canonical status. The text as written is kept in
// Record.StatusRaw.
type Status string

// The canonical statuses (DESIGN.md "Records").
const (
	StatusDraft      Status = "draft"
	StatusProposed   Status = "proposed"
	StatusAccepted   Status = "accepted"
	StatusRejected   Status = "rejected"
	StatusDeprecated Status = "deprecated"
	StatusSuperseded Status = "superseded"
	StatusUnknown    Status = "unknown"
)

// Statuses lists every canonical status, in lifecycle order.
var Statuses = []Status{StatusDraft, StatusProposed, StatusAccepted, StatusRejected, StatusDeprecated, StatusSuperseded, StatusUnknown}

// Severity says whether a Problem stops a lint run.
type Severity string

// The severities of a Problem.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Problem is something in a record that could not be read or does not hold
// together. File is the path relative to the repository root it was found
// under; Line is 1-based, 0 when the problem concerns the whole file.
type Problem struct {
	Repo     string   `json:"repo,omitempty"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
}

// String formats the problem the way compilers do: file:line: severity: message.
func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s: %s: %s", loc, p.Severity, p.Message)
}

// Section is one heading of a record's body and the markdown under it, up to
// the next heading of the same or a higher level.
type Section struct {
	Heading string `json:"heading"`
	Level   int    `json:"level"`
	Line    int    `json:"line"`
	Body    string `json:"-"`
}

// Date is a calendar date without a time zone. The zero Date means "no date".
type Date struct{ time.Time }

// String returns the date as YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Format("2006-01-02")
}

// MarshalText writes the date as YYYY-MM-DD, or "" when there is none.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Record is one decision record, intent, process or value, as read from one
// markdown file.
type Record struct {
	// Repo is the repository the record belongs to ("owner/repo", or a
	// folder name for local repositories without a remote).
	Repo string
	// Path is the file's path relative to the repository root it was found
	// under, with forward slashes.
	Path string
	// Source is the file's path on disk, for reading images beside it.
	Source string

	// ID is the record's local id: front matter id, else derived from its
	// number (ADR-0012) or its file name.
	ID string
	// Number is the record's sequence number (from the file name, or the
	// title's numbering), 0 when it has none.
	Number int
	Kind   Kind
	Title  string
	// Status is canonical; StatusRaw is the text as written, "" when none.
	Status    Status
	StatusRaw string
	// Date is the decision's own date, never a git date.
	Date     Date
	ReviewBy Date
	// Review is the outcome of the decision's review, nil when the record
	// gives none.
	Review   *Review
	Deciders []string
	Tags     []string

	// References as written in the record; resolve them with Corpus.Resolve.
	Supersedes   []string
	SupersededBy []string
	Amends       []string
	AmendedBy    []string
	RelatesTo    []string
	Values       []string
	// Governs holds path globs (doublestar syntax: **, *, ?) relative to
	// the repository root.
	Governs []string

	// URL is the record's own page elsewhere, for a record that is not a
	// file in the repository (a merged pull request, captured as an
	// intent). When set, Path is synthetic: links to the record's source
	// go to URL instead of SourceURL+Path, and no edit link is shown.
	URL string
	// Touches are the paths of the files a change touched, relative to the
	// repository root (for intents: the pull request's changed files).
	Touches []string

	// Sections are the body's headings in order (the H1 title excluded).
	Sections []Section
	// Body is the markdown after the front matter with the title heading
	// removed. BodyLine is the 1-based line in the file where Body starts.
	Body     string
	BodyLine int
	// Links are the link destinations in the body, in order, as written.
	Links []string
	// Images are the image destinations in the body, in order, as written.
	Images []string

	// Lines says where each field was set: the line of its front-matter
	// key, metadata bullet or status paragraph, by field name ("id",
	// "title", "status", "date", "supersedes", "superseded_by", "amends",
	// "amended_by", "relates_to", "values", "governs", "review_by",
	// "review": the review's outcome).
	Lines map[string]int

	// Problems found while reading this one file.
	Problems []Problem
}

// Key is the record's global key, "repo:id".
func (r *Record) Key() string { return r.Repo + ":" + r.ID }

// Section returns the first section whose heading matches name (case and
// surrounding punctuation ignored), or nil.
func (r *Record) Section(name string) *Section {
	want := normaliseHeading(name)
	for i := range r.Sections {
		if normaliseHeading(r.Sections[i].Heading) == want {
			return &r.Sections[i]
		}
	}
	return nil
}
