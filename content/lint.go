package content

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// Lint checks that the corpus holds together. Errors: duplicate ids or
// numbers in one repository, references to records that do not exist,
// supersession cycles, invalid front matter (and every other parse error).
// Warnings: a process that traces to no value, an accepted decision past its
// review_by and not reviewed since, a review outcome backstory does not
// understand, a superseded record whose successor does not say it
// supersedes it (or that names no successor), a decision with no status,
// and the parse warnings. now is "today" for review dates. Problems are
// sorted by repository, file and line.
func (c *Corpus) Lint(now time.Time) []Problem {
	out := append([]Problem(nil), c.Problems...)
	add := func(r *Record, field string, sev Severity, code, format string, args ...any) {
		out = append(out, Problem{Repo: r.Repo, File: r.Path, Line: r.Lines[field], Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)

	for _, repo := range c.Repos {
		idx := c.repos[strings.ToLower(repo.Name)]
		if idx == nil {
			continue
		}
		ids := map[string][]*Record{}
		for _, r := range idx.records {
			ids[strings.ToLower(r.ID)] = append(ids[strings.ToLower(r.ID)], r)
		}
		for _, r := range idx.records {
			dups := ids[strings.ToLower(r.ID)]
			if len(dups) < 2 {
				continue
			}
			// Ids made from numbers in one sequence folder: the number
			// check says it better. Across folders, the id is ambiguous.
			derived := true
			for _, d := range dups {
				if _, fromFile := d.Lines["id"]; fromFile || d.Number == 0 || sequenceFolder(d) != sequenceFolder(r) {
					derived = false
				}
			}
			if !derived {
				add(r, "id", SeverityError, "duplicate-id", "id %s is also used by %s", r.ID, otherPaths(dups, r))
			}
		}
		// Numbers are a folder's sequence: two records of one folder must
		// not share one.
		byFolder := map[string]map[int][]*Record{}
		for _, r := range idx.records {
			if r.Number <= 0 {
				continue
			}
			dir := sequenceFolder(r)
			if byFolder[dir] == nil {
				byFolder[dir] = map[int][]*Record{}
			}
			byFolder[dir][r.Number] = append(byFolder[dir][r.Number], r)
		}
		for _, r := range idx.records {
			if dups := byFolder[sequenceFolder(r)][r.Number]; r.Number > 0 && len(dups) > 1 {
				add(r, "title", SeverityError, "duplicate-number", "number %d is also used by %s (next free number: %d)", r.Number, otherPaths(dups, r), nextInFolder(byFolder[sequenceFolder(r)]))
			}
		}
	}

	for _, r := range c.Records {
		for _, f := range []struct {
			field string
			refs  []string
		}{{"supersedes", r.Supersedes}, {"superseded_by", r.SupersededBy}, {"amends", r.Amends}, {"amended_by", r.AmendedBy}, {"relates_to", r.RelatesTo}} {
			for _, ref := range f.refs {
				if t := c.Resolve(ref, r); t == nil {
					add(r, f.field, SeverityError, "missing-reference", "%s %s: no such record", strings.ReplaceAll(f.field, "_", " "), ref)
				}
			}
		}

		switch {
		case r.Kind == KindProcess && len(c.values[r]) == 0:
			add(r, "values", SeverityWarning, "process-without-value", "this process traces to no value (add values: [...] to say what it protects)")
		}
		if r.Status == StatusAccepted && !r.ReviewBy.IsZero() && r.ReviewBy.Before(today) && !r.Reviewed() {
			switch {
			case r.Review == nil:
				add(r, "review_by", SeverityWarning, "review-due",
					"review was due on %s: review it against \"How we will know\" and record the outcome (a ## Review section: \"Outcome: right\", \"wrong\" or \"mixed\", and \"Date: YYYY-MM-DD\")", r.ReviewBy)
			case r.Review.Date.IsZero():
				add(r, "review_by", SeverityWarning, "review-due",
					"review was due on %s, and the review outcome has no date: add the review's date so it counts", r.ReviewBy)
			default:
				add(r, "review_by", SeverityWarning, "review-due",
					"review was due on %s; the last review, on %s, came before it", r.ReviewBy, r.Review.Date)
			}
		}
		if rv := r.Review; rv != nil && rv.Outcome == OutcomeUnknown {
			add(r, "review", SeverityWarning, "review-outcome",
				"review outcome %q is not one backstory understands: write right, wrong or mixed (the rest can follow: \"wrong — we reverted it\")", rv.OutcomeRaw)
		}
		if r.Status == StatusSuperseded {
			succ := c.SupersededBy(r)
			if len(succ) == 0 && len(r.SupersededBy) == 0 {
				add(r, "status", SeverityWarning, "no-successor", "superseded, but by what? (name the record that replaces it)")
			}
			for _, s := range succ {
				if !c.says(s, r) {
					out = append(out, Problem{Repo: s.Repo, File: s.Path, Line: s.Lines["status"], Severity: SeverityWarning, Code: "successor-silent",
						Message: fmt.Sprintf("%s says it is superseded by this record, but this record does not say it supersedes %s", r.ID, r.ID)})
				}
			}
		}
		if r.StatusRaw == "" && r.Kind == KindDecision {
			add(r, "status", SeverityWarning, "no-status", "decision has no status (add status: proposed, accepted, …)")
		}
	}

	out = append(out, c.cycles()...)
	SortProblems(out)
	return out
}

// SortProblems orders problems by repository, file and line, as a reader
// goes through them.
func SortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Repo != b.Repo {
			return a.Repo < b.Repo
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
}

// says reports whether s itself names old among the records it supersedes.
func (c *Corpus) says(s, old *Record) bool {
	for _, ref := range s.Supersedes {
		if c.Resolve(ref, s) == old {
			return true
		}
	}
	return false
}

func otherPaths(list []*Record, not *Record) string {
	var paths []string
	for _, r := range list {
		if r != not {
			paths = append(paths, r.Path)
		}
	}
	return strings.Join(paths, ", ")
}

func nextInFolder(numbers map[int][]*Record) int {
	highest := 0
	for n := range numbers {
		highest = max(highest, n)
	}
	return highest + 1
}

// cycles finds supersession cycles (A supersedes B supersedes A) and reports
// each once, on its first record in corpus order.
func (c *Corpus) cycles() []Problem {
	var out []Problem
	const (
		white = iota
		grey
		black
	)
	color := map[*Record]int{}
	var stack []*Record
	reported := map[string]bool{}
	var visit func(r *Record)
	visit = func(r *Record) {
		color[r] = grey
		stack = append(stack, r)
		for _, old := range c.relationsOf(r).supersedes {
			switch color[old] {
			case white:
				visit(old)
			case grey:
				// The cycle is the stack from old to r.
				i := len(stack) - 1
				for i >= 0 && stack[i] != old {
					i--
				}
				cycle := append([]*Record(nil), stack[i:]...)
				first := cycle[0]
				for _, x := range cycle {
					if c.order[x] < c.order[first] {
						first = x
					}
				}
				var ids []string
				for _, x := range cycle {
					ids = append(ids, x.ID)
				}
				key := first.Key()
				if !reported[key] {
					reported[key] = true
					out = append(out, Problem{Repo: first.Repo, File: first.Path, Line: first.Lines["supersedes"], Severity: SeverityError, Code: "supersession-cycle",
						Message: fmt.Sprintf("supersession cycle: %s supersedes %s", strings.Join(ids, " supersedes "), ids[0])})
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[r] = black
	}
	for _, r := range c.Records {
		if color[r] == white {
			visit(r)
		}
	}
	return out
}

// sequenceFolder is the folder whose numbering a record takes part in: the
// folder of its file, or for one folder per decision (slug/README.md) the
// folder that holds the slug folders.
func sequenceFolder(r *Record) string {
	dir := path.Dir(r.Path)
	base := strings.ToLower(path.Base(r.Path))
	if base == "readme.md" || base == "index.md" {
		dir = path.Dir(dir)
	}
	return dir
}
