package check

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/backstory-dev/backstory/content"
)

// Need is the context a pull request needs. Needs are ordered: a higher
// one meets a lower one.
type Need int

// The needs, lowest first.
const (
	NeedNothing Need = iota
	NeedIntent
	NeedDecision
)

// String returns the word the configuration uses for n.
func (n Need) String() string {
	switch n {
	case NeedNothing:
		return "nothing"
	case NeedIntent:
		return "intent"
	case NeedDecision:
		return "decision"
	}
	return fmt.Sprintf("Need(%d)", int(n))
}

// ParseNeed reads "nothing", "intent" or "decision", in any case.
func ParseNeed(s string) (Need, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "nothing":
		return NeedNothing, nil
	case "intent":
		return NeedIntent, nil
	case "decision":
		return NeedDecision, nil
	}
	return NeedNothing, fmt.Errorf("%q is not a need: write nothing, intent or decision", s)
}

// MarshalText writes the need as its word.
func (n Need) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText reads a need from its word.
func (n *Need) UnmarshalText(b []byte) error {
	v, err := ParseNeed(string(b))
	if err != nil {
		return err
	}
	*n = v
	return nil
}

// UnmarshalYAML reads a need from its word.
func (n *Need) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a need is one word: nothing, intent or decision", node.Line)
	}
	v, err := ParseNeed(node.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", node.Line, err)
	}
	*n = v
	return nil
}

// Mode says what a check that is not met concludes.
type Mode string

// The modes: enforce fails the check, advise makes it neutral.
const (
	ModeEnforce Mode = "enforce"
	ModeAdvise  Mode = "advise"
)

// ParseMode reads "enforce" or "advise", in any case.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModeEnforce, ModeAdvise:
		return m, nil
	}
	return "", fmt.Errorf("%q is not a mode: write enforce or advise", s)
}

// Config is the `check:` section of .github/backstory.yml, defaults
// applied. LoadConfig reads it.
type Config struct {
	// Name is the check run's name.
	Name string
	Mode Mode
	// Default is what a pull request needs when no rule matches.
	Default Need
	Intent  IntentConfig
	Skip    SkipConfig
	// Ignore holds path globs (content.MatchGlob syntax) of files left out
	// of path and size rules: lockfiles, generated code.
	Ignore []string
	Rules  []Rule
	// Line and File say where each key was set ("mode", "intent.headings",
	// "rules", "rules[0]"): its line, and the ConfigFile.Name it came from.
	// Keys left at their default are absent.
	Line map[string]int
	File map[string]string
}

// IntentConfig says what counts as an intent in a pull request body.
type IntentConfig struct {
	// Headings name the sections that hold the why.
	Headings []string
	// MinWords is how many words one such section needs; below 1 it
	// counts as 1, since an empty section says nothing.
	MinWords int
}

// SkipConfig names the pull requests the check does not ask anything of.
type SkipConfig struct {
	Labels []string
	// Authors are login globs: "*" and "?" are wildcards; "[" and "]" are
	// plain text, because bot logins end in "[bot]".
	Authors []string
	Bots    bool
	Drafts  bool
}

// Rule says what a kind of pull request needs. Its conditions are AND-ed;
// one without conditions matches every pull request.
type Rule struct {
	Name string
	// Paths match changed files (content.MatchGlob syntax).
	Paths []string
	// MinLines counts additions plus deletions of files not ignored.
	MinLines int
	// MinFiles counts changed files not ignored.
	MinFiles int
	// Labels: any of them. Authors: any of these login globs.
	Labels  []string
	Authors []string
	Need    Need
	// Source is where the rule is defined ("acme/.github:
	// .github/backstory.yml:12"), for messages; "" when built in code.
	Source string
}

// DefaultConfig is the configuration with no file: advise mode, an intent
// for every pull request, drafts and bots skipped.
func DefaultConfig() Config {
	return Config{
		Name:    "backstory",
		Mode:    ModeAdvise,
		Default: NeedIntent,
		Intent:  IntentConfig{Headings: []string{"Why", "Motivation", "Context"}, MinWords: 10},
		Skip:    SkipConfig{Labels: []string{"no-backstory", "skip-backstory"}, Bots: true, Drafts: true},
		Ignore:  []string{},
	}
}

// ConfigFile is one .github/backstory.yml as read from GitHub or disk.
type ConfigFile struct {
	// Name is how users see the file: "acme/.github: .github/backstory.yml".
	Name string
	// Data is the file's content; nil when there is no such file.
	Data []byte
}

// File is one file a pull request changes.
type File struct {
	Path string
	// PreviousPath is the old path of a renamed file.
	PreviousPath string
	// Status is GitHub's: added, removed, modified, renamed, copied,
	// changed, unchanged.
	Status    string
	Additions int
	Deletions int
	// Patch is the unified diff, "" when GitHub gives none (large or binary
	// files).
	Patch string
}

// Waiver is a "Not needed" press: who, and when.
type Waiver struct {
	By string
	At time.Time
}

// Numbered is a numbered record that another open pull request adds.
type Numbered struct {
	// Folder is the record's sequence folder (see SequenceFolder).
	Folder string
	Number int
	Path   string
	PR     int
}

// PullRequest is what the check reads of a pull request.
type PullRequest struct {
	Repository  string // owner/repo
	Number      int
	Title       string
	Body        string
	Author      string
	AuthorIsBot bool
	Draft       bool
	Labels      []string
	HeadSHA     string
	Files       []File
	// Records are the record files the pull request adds or changes,
	// parsed at its head with content.Parse (Repo set to Repository).
	Records []*content.Record
	// Template is the repository's pull request template: its lines in
	// the body are not the author's words.
	Template string
	Waiver   *Waiver
}

// Input is everything one evaluation reads.
type Input struct {
	PR     PullRequest
	Config Config
	// ConfigProblems are LoadConfig's: shown in the check run, and errors
	// fail it.
	ConfigProblems []content.Problem
	// Corpus holds the records on the default branch (of one repository or
	// several); nil means none.
	Corpus *content.Corpus
	// Governs is Corpus's index of governs globs; nil means
	// Corpus.GovernIndex().
	Governs *content.GovernIndex
	// OpenPRRecords are the numbered records other open pull requests of
	// the repository add.
	OpenPRRecords []Numbered
	// Now is "today", for review dates.
	Now time.Time
	// SiteURL is the published site's base URL, for links to record
	// pages; "" links to the record files on GitHub.
	SiteURL string
	// Local says the verdict is printed by `backstory check` rather than
	// posted as a check run: there is no "Not needed" button to press, so
	// the way out it names is a skip label only. The App leaves it false.
	Local bool
}

// Conclusion is the check run's conclusion.
type Conclusion string

// The conclusions Evaluate gives.
const (
	Success Conclusion = "success"
	Failure Conclusion = "failure"
	Neutral Conclusion = "neutral"
)

// Annotation is a note on a line of a changed file.
type Annotation struct {
	Path               string
	StartLine, EndLine int
	Level              string // notice, warning or failure
	Title, Message     string
}

// Action is a button on the check run.
type Action struct {
	Label, Description, Identifier string
}

// ActionWaive identifies the "Not needed" button (check_run
// requested_action).
const ActionWaive = "waive"

// Limits of what a verdict holds: GitHub's for the check run output, ours
// for annotations (the App sends them 50 per request).
const (
	MaxOutput      = 65535
	MaxAnnotations = 500
)

// Verdict is the outcome of one evaluation: what the check run says, and
// the findings it is made of.
type Verdict struct {
	Conclusion Conclusion
	// Title is one line; Summary and Text are markdown of at most
	// MaxOutput bytes each.
	Title   string
	Summary string
	Text    string
	// Annotations are every annotation, at most MaxAnnotations.
	Annotations []Annotation
	// Actions hold the waive button when the check does not pass for a
	// reason a waiver clears.
	Actions []Action

	// Need is what the pull request needs; Rules the rules that set it
	// (none: the default applied, or every file is ignored).
	Need        Need
	Rules       []MatchedRule
	OnlyIgnored bool
	// Missing is the need that is not met, NeedNothing when it is.
	Missing Need
	// Skipped says why the check was skipped ("draft", "label
	// no-backstory", "@renovate[bot] is a bot"), "" when it was not.
	Skipped string
	Waived  *Waiver
	// Intent is the best section of the body under an intent heading, nil
	// when there is none; IntentRecords the intent records the pull request
	// adds or changes.
	Intent        *IntentSection
	IntentRecords []*content.Record
	// Decisions are the decision records the pull request adds or changes.
	Decisions []*content.Record
	// Linked are the references that resolve; BadRefs those that do not;
	// Unchecked those into repositories the corpus does not hold.
	Linked    []Reference
	BadRefs   []BadRef
	Unchecked []string
	// Governing lists, file by file (sorted by path), the decisions that
	// govern the changed files.
	Governing  []Governance
	Collisions []Collision
	// ConfigProblems are the input's, sorted: errors fail the check.
	ConfigProblems []content.Problem
}

// MatchedRule is a rule that matched, and what matched it.
type MatchedRule struct {
	Name    string
	Need    Need
	Source  string
	Because []string
}

// IntentSection is a section of the body that holds the why.
type IntentSection struct {
	Heading string // as written
	Line    int    // 1-based, in the body
	Words   int    // the words that count
}

// Reference is a reference to a record, as written, and what it resolves to.
type Reference struct {
	Ref    string
	Record *content.Record
	// InPR: the record is one the pull request adds or changes.
	InPR bool
}

// BadRef is a reference to a record that does not exist.
type BadRef struct {
	Ref string
	// Repo is the repository it was looked up in.
	Repo string
	// Nearest are ids of records that do exist, nearest in number first.
	Nearest []string
}

// Governance is one changed file and the decisions that govern it.
type Governance struct {
	Path string
	// Records are newest first. Files with the same decisions may share
	// one slice: do not modify it.
	Records []*content.Record
	// Line is where the file's annotation goes: the first line the patch
	// adds, else 1.
	Line int
}

// Collision is a record the pull request adds whose number is taken.
type Collision struct {
	Path   string
	Folder string
	Number int
	// TakenBy holds who else has the number.
	TakenBy []Taken
	// Next is the free number to use, and NewPath the path with it.
	Next    int
	NewPath string
	// ID is the record's front-matter id and NewID what it becomes, when
	// the id carries the number and must be edited by hand.
	ID, NewID string
}

// Taken is a record that holds a number: on the default branch, in
// another open pull request (PR is its number), or in this one (Here).
type Taken struct {
	Path string
	PR   int
	Here bool
}

// Fix is the command that renumbers a colliding record, "" when its file
// name does not carry the number (it is in the title).
func (c Collision) Fix() string {
	if c.NewPath == "" {
		return ""
	}
	from, to := c.Path, c.NewPath
	if isFolderRecord(c.Path) { // slug/README.md: move the folder
		from, to = parentDir(c.Path), parentDir(c.NewPath)
	}
	return "git mv " + shellQuote(from) + " " + shellQuote(to)
}

// Evaluate runs the check on one pull request.
func Evaluate(in Input) Verdict {
	e := newEvaluation(in)
	e.skip()
	e.need()
	e.findIntent()
	e.findReferences()
	e.decide()
	e.govern()
	e.collide()
	e.conclude()
	e.render()
	return e.v
}
