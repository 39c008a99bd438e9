package site

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstory-dev/backstory/content"
)

// reviewCorpus is a repository of decisions past their review dates
// (fixtureNow is 2024-01-15): reviewed in front matter, reviewed in a body
// section, not reviewed, reviewed before the date it was due, and reviewed
// without saying when.
func reviewCorpus(t *testing.T) *content.Corpus {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"0001-cache-sessions.md": `---
status: accepted
date: 2022-06-01
review_by: 2023-06-01
review:
  outcome: confirmed
  date: 2023-07-01
  notes: |
    Reads fell to **2 ms**, as [the split](0002-split-billing.md) needed.
    <script>alert("notes")</script>
---
# 1. Cache sessions in Redis

## How we will know

Session reads under 5 ms.
`,
		"0002-split-billing.md": `# 2. Split billing out of the monolith

* Status: accepted
* Date: 2022-09-01
* Review by: 2023-09-01

## How we will know

Billing deploys on its own.

## Review 2023-10-05

Outcome: wrong — we merged it back

Two deploys a week were not worth the contract tests.
`,
		"0003-not-reviewed.md":   "---\nstatus: accepted\ndate: 2022-01-01\nreview_by: 2023-06-01\n---\n# 3. Use gRPC\n\n## How we will know\n\nFewer contract bugs.\n",
		"0004-reviewed-early.md": "---\nstatus: accepted\ndate: 2022-01-01\nreview_by: 2023-12-01\nreview: {outcome: partly, date: 2023-05-01}\n---\n# 4. Keep a monorepo\n",
		"0005-undated.md":        "---\nstatus: accepted\ndate: 2022-01-01\nreview_by: 2023-06-01\nreview_outcome: right\n---\n# 5. Pin tool versions\n",
	}
	for name, body := range files {
		p := filepath.Join(root, "docs", "decisions", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := content.OpenRepo("acme/review=" + root)
	if err != nil {
		t.Fatal(err)
	}
	repo.SourceURL = "https://github.com/acme/review/blob/main/"
	c := content.Load([]*content.Repo{repo})
	if len(c.Records) != len(files) || len(c.Problems) != 0 {
		t.Fatalf("review corpus: %d records, problems %v", len(c.Records), c.Problems)
	}
	return c
}

func TestReviewFrontMatter(t *testing.T) {
	files := generated(t, reviewCorpus(t))
	page := func(slug string) recordPage {
		return pageOf(t, files, "content/repos/acme-review/"+slug+"/index.md")
	}

	fm := page("0001-cache-sessions")
	if fm.ReviewOutcome != "right" || fm.ReviewOutcomeRaw != "confirmed" || fm.ReviewDate != "2023-07-01" || fm.ReviewSection != "" {
		t.Errorf("0001: outcome %q (%q), date %q, section %q; want right (confirmed), 2023-07-01, none",
			fm.ReviewOutcome, fm.ReviewOutcomeRaw, fm.ReviewDate, fm.ReviewSection)
	}
	// The notes are sanitised and their links rewritten like a body's.
	if !strings.Contains(fm.ReviewNotes, "**2 ms**") || !strings.Contains(fm.ReviewNotes, "(/repos/acme-review/0002-split-billing/)") || strings.Contains(fm.ReviewNotes, "<script>") {
		t.Errorf("0001: review notes %q, want the markdown kept, the record link rewritten and the script made text", fm.ReviewNotes)
	}

	body := page("0002-split-billing")
	if body.ReviewOutcome != "wrong" || body.ReviewDate != "2023-10-05" || body.ReviewSection != "Review 2023-10-05" || body.ReviewNotes != "" {
		t.Errorf("0002: outcome %q, date %q, section %q, notes %q; want wrong, 2023-10-05, the section, and no copy of the notes",
			body.ReviewOutcome, body.ReviewDate, body.ReviewSection, body.ReviewNotes)
	}

	for slug, due := range map[string]bool{
		"0001-cache-sessions": false, "0002-split-billing": false, // reviewed after review_by
		"0003-not-reviewed": true, "0004-reviewed-early": true, "0005-undated": true,
	} {
		if got := page(slug).ReviewDue; got != due {
			t.Errorf("%s: review_due = %v, want %v", slug, got, due)
		}
	}
	if none := page("0003-not-reviewed"); none.ReviewOutcome != "" || none.ReviewDate != "" {
		t.Errorf("0003: outcome %q, date %q for a record without a review", none.ReviewOutcome, none.ReviewDate)
	}
	if home := string(files["content/_index.md"]); !strings.Contains(home, `"due":3`) {
		t.Errorf("home counts %s, want 3 due", home)
	}
}

func TestBuildReviewOutcomes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Build(context.Background(), reviewCorpus(t), Options{OutputDir: out, Now: fixtureNow}); err != nil {
		t.Fatal(err)
	}
	read := func(rel string) string {
		data, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}

	fm := read("repos/acme-review/0001-cache-sessions/index.html")
	for _, want := range []string{
		"<dt>Reviewed</dt>", `<span class="badge outcome o-right">right</span>`, `“confirmed”`,
		"Was it right?", `<time datetime="2023-07-01">1 July 2023</time>`,
		"Reads fell to <strong>2 ms</strong>", `href="/repos/acme-review/0002-split-billing/"`,
		"How we will know", // the record's own section stays
	} {
		if !strings.Contains(fm, want) {
			t.Errorf("0001's page lacks %s", want)
		}
	}
	if strings.Contains(fm, `<script>alert("notes")`) || strings.Contains(fm, `class="due"`) {
		t.Error("0001's page runs the notes' script or says the review is due")
	}
	if i, j := strings.Index(fm, "Was it right?"), strings.Index(fm, "How we will know"); i < 0 || j < i {
		t.Error("0001's review outcome should come before the body")
	}

	sec := read("repos/acme-review/0002-split-billing/index.html")
	for _, want := range []string{`<span class="badge outcome o-wrong">wrong</span>`, `“wrong — we merged it back”`, `href="#review-2023-10-05"`, `id="review-2023-10-05"`, "Two deploys a week"} {
		if !strings.Contains(sec, want) {
			t.Errorf("0002's page lacks %s", want)
		}
	}
	if n := strings.Count(sec, "Two deploys a week"); n != 1 {
		t.Errorf("0002's page shows the review's notes %d times, want once (in its section)", n)
	}
	if due := read("repos/acme-review/0003-not-reviewed/index.html"); !strings.Contains(due, `class="due"`) || strings.Contains(due, "Was it right?") {
		t.Error("0003's page should say the review is due and show no outcome")
	}

	review := read("review/index.html")
	dueNow, rest, _ := strings.Cut(review, `id="soon-h"`)
	_, reviewed, ok := strings.Cut(rest, `id="reviewed-h"`)
	if !ok {
		t.Fatal("the review page has no Reviewed list")
	}
	for slug, want := range map[string]bool{"0001-cache-sessions": false, "0002-split-billing": false, "0003-not-reviewed": true, "0004-reviewed-early": true, "0005-undated": true} {
		if got := strings.Contains(dueNow, "/"+slug+"/"); got != want {
			t.Errorf("due now lists %s: %v, want %v", slug, got, want)
		}
	}
	// Most recent first; an undated review last.
	last := -1
	for _, slug := range []string{"0002-split-billing", "0001-cache-sessions", "0004-reviewed-early", "0005-undated"} {
		i := strings.Index(reviewed, "/"+slug+"/")
		if i < 0 {
			t.Errorf("Reviewed does not list %s", slug)
			continue
		}
		if i < last {
			t.Errorf("Reviewed lists %s out of order (most recent first, undated last)", slug)
		}
		last = i
	}
	if strings.Contains(reviewed, "0003-not-reviewed") {
		t.Error("Reviewed lists a decision that has no outcome")
	}
	for _, want := range []string{`<span class="badge outcome o-wrong">wrong</span>`, `<span class="badge outcome o-mixed">mixed</span>`, `<time datetime="2023-10-05">2023-10-05</time>`} {
		if !strings.Contains(reviewed, want) {
			t.Errorf("Reviewed lacks %s", want)
		}
	}

	_, duePanel, _ := strings.Cut(read("index.html"), `id="due-h"`)
	duePanel, _, _ = strings.Cut(duePanel, "</section>")
	if !strings.Contains(duePanel, "/0003-not-reviewed/") || strings.Contains(duePanel, "/0001-cache-sessions/") {
		t.Errorf("the home page's due panel should list 0003 and not 0001 (reviewed):\n%s", duePanel)
	}
	if broken := CheckLinks(out); len(broken) > 0 {
		t.Errorf("broken links: %v", broken)
	}
}
