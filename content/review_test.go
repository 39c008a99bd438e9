package content

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// reviewWant is what a test expects of a record's review; outcome "" means
// no review.
type reviewWant struct {
	outcome  Outcome
	raw      string
	date     string
	notes    string // the notes, exactly; "…" prefix: they contain the rest
	line     int
	dateLine int
	section  string
	problems []string // codes of the parse problems
}

func checkReview(t *testing.T, r *Record, w reviewWant) {
	t.Helper()
	var codes []string
	for _, p := range r.Problems {
		codes = append(codes, p.Code+"@"+strconv.Itoa(p.Line))
	}
	if strings.Join(codes, " ") != strings.Join(w.problems, " ") {
		t.Errorf("problems = %q, want %q (%v)", codes, w.problems, r.Problems)
	}
	rv := r.Review
	if w.outcome == "" {
		if rv != nil {
			t.Errorf("Review = %+v, want none", rv)
		}
		return
	}
	if rv == nil {
		t.Fatalf("Review = nil, want %s", w.outcome)
	}
	if rv.Outcome != w.outcome || rv.OutcomeRaw != w.raw {
		t.Errorf("outcome = %q (raw %q), want %q (raw %q)", rv.Outcome, rv.OutcomeRaw, w.outcome, w.raw)
	}
	if got := rv.Date.String(); got != w.date {
		t.Errorf("date = %q, want %q", got, w.date)
	}
	if rest, ok := strings.CutPrefix(w.notes, "…"); ok {
		if !strings.Contains(rv.Notes, rest) {
			t.Errorf("notes = %q, want them to contain %q", rv.Notes, rest)
		}
	} else if rv.Notes != w.notes {
		t.Errorf("notes = %q, want %q", rv.Notes, w.notes)
	}
	if rv.Line != w.line || rv.DateLine != w.dateLine {
		t.Errorf("lines: outcome %d, date %d; want %d, %d", rv.Line, rv.DateLine, w.line, w.dateLine)
	}
	if r.Lines["review"] != w.line {
		t.Errorf(`Lines["review"] = %d, want %d`, r.Lines["review"], w.line)
	}
	if rv.Section != w.section {
		t.Errorf("section = %q, want %q", rv.Section, w.section)
	}
}

func TestParseReviewFixtures(t *testing.T) {
	tests := []struct {
		file string
		want reviewWant
	}{
		{"review/0021-front-matter.md", reviewWant{outcome: OutcomeRight, raw: "Right", date: "2025-02-03",
			notes: "Session reads fell from 40 ms to 2 ms, as [ADR-0020](0020-x.md) hoped.", line: 8, dateLine: 9}},
		{"review/0022-flat-keys.md", reviewWant{outcome: OutcomeMixed, raw: "Partially", date: "2025-01-20",
			notes: "Invoices moved; payments did not.", line: 5, dateLine: 6}},
		{"review/0023-section.md", reviewWant{outcome: OutcomeWrong, raw: "wrong — we went back to JSON over HTTP", date: "2024-06-12",
			notes: "The code generation slowed every build.\n\n### What we learned\n\nMeasure the build first.", line: 13, dateLine: 14, section: "Review"}},
		{"review/0024-list.md", reviewWant{outcome: OutcomeRight, raw: "kept", date: "2024-06-12",
			notes: "- Reviewed by: alice, bob\n- CI times stayed under ten minutes.", line: 9, dateLine: 10, section: "Retrospective"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := parseFixture(t, tt.file)
			checkReview(t, r, tt.want)
			if !r.Reviewed() {
				t.Errorf("Reviewed() = false: the review is dated after review_by %s", r.ReviewBy)
			}
		})
	}
	// The review section stays a section of the body, like any other.
	r := parseFixture(t, "review/0023-section.md")
	if s := r.Section("Review"); s == nil || !strings.Contains(s.Body, "**Outcome:** wrong") {
		t.Errorf("the Review section should keep its text in the body: %+v", s)
	}
	if r.Section("How we will know") == nil || r.ReviewBy.String() != "2024-05-01" {
		t.Errorf("How we will know and review_by should be read as before: %+v", r.Sections)
	}
}

func TestParseReviewForms(t *testing.T) {
	const fm = "---\nstatus: accepted\nreview_by: 2025-01-01\n---\n# A\n\n"
	tests := []struct {
		name, src string
		want      reviewWant
	}{
		{"none", fm + "## How we will know\n\nFewer pages.\n", reviewWant{}},
		{"heading Review", fm + "## Review\n\nOutcome: right\n", reviewWant{outcome: OutcomeRight, raw: "right", line: 9, section: "Review"}},
		{"heading Review outcome", fm + "## Review outcome\n\nOutcome: Mixed.\nDate: 2025-02-01\n\nHalf of it.\n",
			reviewWant{outcome: OutcomeMixed, raw: "Mixed.", date: "2025-02-01", notes: "Half of it.", line: 9, dateLine: 10, section: "Review outcome"}},
		{"heading Outcome", fm + "## Outcome\n\nVerdict: failed\n", reviewWant{outcome: OutcomeWrong, raw: "failed", line: 9, section: "Outcome"}},
		{"heading Retrospective", fm + "## Retrospective\n\nResult: validated\n", reviewWant{outcome: OutcomeRight, raw: "validated", line: 9, section: "Retrospective"}},
		{"heading with date", fm + "## Review 2025-03-01\n\nRight: the pager went quiet.\n",
			reviewWant{outcome: OutcomeRight, raw: "Right", date: "2025-03-01", notes: "Right: the pager went quiet.", line: 9, dateLine: 7, section: "Review 2025-03-01"}},
		{"heading with date in brackets", fm + "## Retrospective (2025-03-01)\n\nWrong.\n",
			reviewWant{outcome: OutcomeWrong, raw: "Wrong", date: "2025-03-01", notes: "Wrong.", line: 9, dateLine: 7, section: "Retrospective (2025-03-01)"}},
		{"bold label", fm + "## Review\n\n**Outcome:** mixed\n", reviewWant{outcome: OutcomeMixed, raw: "mixed", line: 9, section: "Review"}},
		{"bullet with dash", fm + "## Review\n\n- Outcome: wrong — latency doubled\n- Reviewed: 2025-02-10\n\nWe reverted in March.\n",
			reviewWant{outcome: OutcomeWrong, raw: "wrong — latency doubled", date: "2025-02-10", notes: "We reverted in March.", line: 9, dateLine: 10, section: "Review"}},
		{"first word", fm + "## Review\n\nMixed, on balance.\n\nMore below.\n",
			reviewWant{outcome: OutcomeMixed, raw: "Mixed", notes: "Mixed, on balance.\n\nMore below.", line: 9, section: "Review"}},
		{"emoji decoration", fm + "## Review\n\n✅ Confirmed\n", reviewWant{outcome: OutcomeRight, raw: "Confirmed", notes: "✅ Confirmed", line: 9, section: "Review"}},
		{"right and wrong", fm + "## Review\n\nOutcome: right and wrong\n", reviewWant{outcome: OutcomeMixed, raw: "right and wrong", line: 9, section: "Review"}},
		{"unknown word", fm + "## Review\n\nOutcome: meh\n", reviewWant{outcome: OutcomeUnknown, raw: "meh", line: 9, section: "Review"}},
		{"prose is not an outcome", fm + "## Review\n\nBoth teams met in March and agreed to wait.\n",
			reviewWant{problems: []string{"review-outcome@7"}}},
		{"template placeholder", fm + "## Review\n\nOutcome: right | wrong | mixed\nDate: YYYY-MM-DD\n", reviewWant{}},
		{"template comment only", fm + "## Review\n\n<!-- Outcome: right, wrong or mixed -->\n", reviewWant{}},
		{"bad date", fm + "## Review\n\nOutcome: right\nDate: last spring\n",
			reviewWant{outcome: OutcomeRight, raw: "right", notes: "Date: last spring", line: 9, section: "Review", problems: []string{"date@10"}}},
		{"decision outcome is not a review", fm + "## Decision Outcome\n\nChosen option: right, because it is.\n", reviewWant{}},
		{"latest of several", fm + "## Review 2024-06-01\n\nWrong.\n\n## Review 2025-06-01\n\nOutcome: right\n",
			reviewWant{outcome: OutcomeRight, raw: "right", date: "2025-06-01", line: 13, dateLine: 11, section: "Review 2025-06-01"}},
		{"nested outcome takes the parent's date", fm + "## Review 2025-03-01\n\n### Outcome\n\nPartly.\n",
			reviewWant{outcome: OutcomeMixed, raw: "Partly", date: "2025-03-01", notes: "Partly.", line: 11, dateLine: 7, section: "Outcome"}},
		{"front matter scalar", "---\nreview: wrong\n---\n# A\n", reviewWant{outcome: OutcomeWrong, raw: "wrong", line: 2}},
		{"front matter flow mapping", "---\nreview: {outcome: correct, date: 2025-03-01, notes: \"Fine.\"}\n---\n# A\n",
			reviewWant{outcome: OutcomeRight, raw: "correct", date: "2025-03-01", notes: "Fine.", line: 2, dateLine: 2}},
		{"front matter list: the latest", "---\nreview:\n  - {outcome: bad, date: 2024-01-01}\n  - {outcome: successful, date: 2025-01-01}\n---\n# A\n",
			reviewWant{outcome: OutcomeRight, raw: "successful", date: "2025-01-01", line: 4, dateLine: 4}},
		{"front matter wins a tie", "---\nreview_outcome: reverted\nreviewed: 2025-03-01\n---\n# A\n\n## Review 2025-03-01\n\nRight.\n",
			reviewWant{outcome: OutcomeWrong, raw: "reverted", date: "2025-03-01", line: 2, dateLine: 3}},
		{"front matter date without outcome", "---\nreviewed: 2025-03-01\n---\n# A\n", reviewWant{problems: []string{"review-outcome@2"}}},
		{"front matter bad date", "---\nreview: {outcome: mistaken, date: soon}\n---\n# A\n",
			reviewWant{outcome: OutcomeWrong, raw: "mistaken", line: 2, problems: []string{"date@2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkReview(t, Parse(nil, "docs/adr/0001-a.md", []byte(tt.src)), tt.want)
		})
	}
	t.Run("a process's Review section is a step, not a verdict", func(t *testing.T) {
		r := Parse(nil, "docs/processes/0001-code-review.md", []byte("# Code review\n\n## Review\n\nTwo approvals, one from the owning team.\n"))
		checkReview(t, r, reviewWant{})
	})
	t.Run("a process may record a review in front matter", func(t *testing.T) {
		r := Parse(nil, "docs/processes/0001-on-call.md", []byte("---\nreview: {outcome: good, date: 2025-03-01}\n---\n# On call\n"))
		checkReview(t, r, reviewWant{outcome: OutcomeRight, raw: "good", date: "2025-03-01", line: 2, dateLine: 2})
	})
}

func TestNormaliseOutcome(t *testing.T) {
	tests := map[string]Outcome{
		"right": OutcomeRight, "Right.": OutcomeRight, "CORRECT": OutcomeRight, "confirmed": OutcomeRight, "Validated": OutcomeRight,
		"good": OutcomeRight, "success": OutcomeRight, "Successful!": OutcomeRight, "kept": OutcomeRight, "**right**": OutcomeRight,
		"wrong": OutcomeWrong, "Incorrect": OutcomeWrong, "mistaken": OutcomeWrong, "failed": OutcomeWrong, "failure": OutcomeWrong,
		"reverted in May": OutcomeWrong, "bad": OutcomeWrong, "❌ Wrong — we reverted it": OutcomeWrong,
		"mixed": OutcomeMixed, "partial": OutcomeMixed, "Partially": OutcomeMixed, "partly right": OutcomeMixed, "both": OutcomeMixed,
		"right and wrong": OutcomeMixed, "Right and wrong, in equal parts": OutcomeMixed,
		"": OutcomeUnknown, "meh": OutcomeUnknown, "not sure yet": OutcomeUnknown,
	}
	for raw, want := range tests {
		if got := NormaliseOutcome(raw); got != want {
			t.Errorf("NormaliseOutcome(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestLintReview(t *testing.T) {
	repo := &Repo{Name: "acme/review", Config: DefaultConfig()}
	const head = "---\nstatus: accepted\nreview_by: 2025-01-01\n---\n# X\n\n"
	recs := []*Record{
		Parse(repo, "d/0001-due.md", []byte(head+"## How we will know\n\nFewer pages.\n")),
		Parse(repo, "d/0002-reviewed.md", []byte(head+"## Review\n\nOutcome: right\nDate: 2025-01-20\n")),
		Parse(repo, "d/0003-reviewed-on-the-day.md", []byte(head+"## Review 2025-01-01\n\nWrong.\n")),
		Parse(repo, "d/0004-reviewed-before.md", []byte(head+"## Review\n\nOutcome: mixed\nDate: 2024-06-01\n")),
		Parse(repo, "d/0005-undated.md", []byte(head+"## Review\n\nOutcome: right\n")),
		Parse(repo, "d/0006-unknown-word.md", []byte(head+"## Review\n\nOutcome: so-so\nDate: 2025-02-01\n")),
	}
	c := NewCorpus([]*Repo{repo}, recs)
	got := map[string]Problem{}
	for _, p := range c.Lint(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		got[p.Code+" "+p.File] = p
	}
	want := map[string]int{
		"review-due d/0001-due.md":              3,
		"review-due d/0004-reviewed-before.md":  3,
		"review-due d/0005-undated.md":          3,
		"review-outcome d/0006-unknown-word.md": 9,
	}
	for k, line := range want {
		p, ok := got[k]
		if !ok {
			t.Errorf("missing problem %s", k)
			continue
		}
		if p.Line != line || p.Severity != SeverityWarning {
			t.Errorf("%s: %s at line %d, want a warning at line %d", k, p.Severity, p.Line, line)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems = %v", got)
	}
	for k, hint := range map[string]string{
		"review-due d/0001-due.md":              "Outcome: right",
		"review-due d/0004-reviewed-before.md":  "2024-06-01",
		"review-due d/0005-undated.md":          "no date",
		"review-outcome d/0006-unknown-word.md": `"so-so"`,
	} {
		if !strings.Contains(got[k].Message, hint) {
			t.Errorf("%s: message %q should say %q", k, got[k].Message, hint)
		}
	}
}

func TestExportReview(t *testing.T) {
	r := parseFixture(t, "review/0022-flat-keys.md")
	e := r.Export(nil)
	if e.Review == nil || *e.Review != (ExportReview{Outcome: OutcomeMixed, OutcomeRaw: "Partially", Date: "2025-01-20", Notes: "Invoices moved; payments did not."}) {
		t.Errorf("export review = %+v", e.Review)
	}
	if e := Parse(nil, "a.md", []byte("# A\n")).Export(nil); e.Review != nil {
		t.Errorf("a record without a review exports %+v, want null", e.Review)
	}
}
