package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cliRun runs one backstory command line in-process.
func cliRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// writeFiles creates files (path → content) under a new temporary folder.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const nygardRecord = `# 1. Use PostgreSQL

Date: 2020-01-02

## Status

Accepted

## Context

We need a database.
`

func TestNewNumbersAndSupersedes(t *testing.T) {
	repo := writeFiles(t, map[string]string{"docs/decisions/0007-use-postgresql.md": nygardRecord})

	out, errs, code := cliRun(t, "new", "decision", "Cache sessions in Redis", "--repo", repo)
	if code != 0 {
		t.Fatalf("new exited %d: %s", code, errs)
	}
	first := filepath.Join(repo, "docs", "decisions", "0008-cache-sessions-in-redis.md")
	if !strings.Contains(out, first) {
		t.Fatalf("new printed %q, want the path %s", out, first)
	}
	body, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"title: Cache sessions in Redis", "## Why", "## How we will know", "## Tradeoffs"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the new record lacks %q:\n%s", want, body)
		}
	}

	_, errs, code = cliRun(t, "new", "decision", "Move to PostgreSQL 16", "--repo", repo, "--supersedes", "ADR-0007")
	if code != 0 {
		t.Fatalf("new --supersedes exited %d: %s", code, errs)
	}
	old, err := os.ReadFile(filepath.Join(repo, "docs", "decisions", "0007-use-postgresql.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(old), "Superseded by") || !strings.Contains(string(old), "0009-move-to-postgresql-16.md") {
		t.Errorf("the superseded record does not say so:\n%s", old)
	}

	// The corpus now reads the chain from both sides.
	out, errs, code = cliRun(t, "export", repo)
	if code != 0 {
		t.Fatalf("export exited %d: %s", code, errs)
	}
	var records []struct {
		Path         string   `json:"path"`
		Status       string   `json:"status"`
		Supersedes   []string `json:"supersedes"`
		SupersededBy []string `json:"superseded_by"`
	}
	if err := json.Unmarshal([]byte(out), &records); err != nil {
		t.Fatalf("export printed invalid JSON: %v\n%s", err, out)
	}
	byPath := map[string]int{}
	for i, r := range records {
		byPath[r.Path] = i
	}
	oldRec := records[byPath["docs/decisions/0007-use-postgresql.md"]]
	newRec := records[byPath["docs/decisions/0009-move-to-postgresql-16.md"]]
	if oldRec.Status != "superseded" || len(oldRec.SupersededBy) != 1 || oldRec.SupersededBy[0] != "docs/decisions/0009-move-to-postgresql-16.md" {
		t.Errorf("old record exported as %+v", oldRec)
	}
	if len(newRec.Supersedes) != 1 || newRec.Supersedes[0] != "docs/decisions/0007-use-postgresql.md" {
		t.Errorf("new record exported as %+v", newRec)
	}
}

func TestNewRejectsUnknownKind(t *testing.T) {
	_, errs, code := cliRun(t, "new", "policy", "Something", "--repo", t.TempDir())
	if code == 0 || !strings.Contains(errs, "unknown kind") {
		t.Errorf("new policy: exit %d, stderr %q", code, errs)
	}
}

func TestLintReportsFileAndLine(t *testing.T) {
	repo := writeFiles(t, map[string]string{
		"docs/decisions/0001-a.md": "---\nid: ADR-0001\ntitle: A\nstatus: accepted\nsupersedes: [ADR-0042]\n---\n# A\n",
		"docs/decisions/0002-b.md": "---\nid: ADR-0001\ntitle: B\nstatus: accepted\n---\n# B\n",
	})
	out, errs, code := cliRun(t, "lint", repo)
	if code != 1 {
		t.Fatalf("lint exited %d, want 1 (errors); stdout %s stderr %s", code, out, errs)
	}
	wantLoc := filepath.Join(repo, "docs", "decisions", "0001-a.md") + ":5: error:"
	if !strings.Contains(out, wantLoc) || !strings.Contains(out, "ADR-0042") {
		t.Errorf("lint does not point at the broken reference (%s):\n%s", wantLoc, out)
	}
	if !strings.Contains(out, "id ADR-0001 is also used by docs/decisions/0002-b.md") {
		t.Errorf("lint does not report the duplicate id:\n%s", out)
	}

	out, _, code = cliRun(t, "lint", "--format", "json", repo)
	if code != 1 {
		t.Errorf("lint --format json exited %d, want 1", code)
	}
	var findings []map[string]any
	if err := json.Unmarshal([]byte(out), &findings); err != nil || len(findings) < 2 {
		t.Errorf("lint --format json printed %d findings (%v):\n%s", len(findings), err, out)
	}
}

func TestLintCleanRepoPasses(t *testing.T) {
	repo := writeFiles(t, map[string]string{"docs/decisions/0001-use-postgresql.md": nygardRecord})
	_, errs, code := cliRun(t, "lint", repo)
	if code != 0 {
		t.Errorf("lint of a clean repository exited %d: %s", code, errs)
	}
}

func TestWhy(t *testing.T) {
	repo := writeFiles(t, map[string]string{
		".git/HEAD":                            "ref: refs/heads/main\n",
		"docs/decisions/0001-kafka.md":         "---\nid: ADR-0001\ntitle: Push state through Kafka\nstatus: superseded\ndate: 2022-01-01\ngoverns: [\"services/*/consumer/**\"]\n---\n# Push state through Kafka\n",
		"docs/decisions/0002-nats.md":          "---\nid: ADR-0002\ntitle: Push state through NATS\nstatus: accepted\ndate: 2024-01-01\nsupersedes: [ADR-0001]\ngoverns: [\"services/**\"]\n---\n# Push state through NATS\n",
		"docs/decisions/0003-other.md":         "---\nid: ADR-0003\ntitle: Name things well\nstatus: accepted\ndate: 2023-01-01\n---\n# Name things well\n\nSee services/billing/consumer/handler.go for an example.\n",
		"services/billing/consumer/handler.go": "package consumer\n",
	})
	out, errs, code := cliRun(t, "why", filepath.Join(repo, "services/billing/consumer/handler.go"))
	if code != 0 {
		t.Fatalf("why exited %d: %s", code, errs)
	}
	nats, kafka, mention := strings.Index(out, "Push state through NATS"), strings.Index(out, "Push state through Kafka"), strings.Index(out, "Name things well")
	if nats < 0 || kafka < 0 || nats > kafka {
		t.Errorf("why does not list the governing decisions newest first:\n%s", out)
	}
	if mention < kafka {
		t.Errorf("why does not list the mentioning record after the governing ones:\n%s", out)
	}
	if !strings.Contains(out, "superseded by ADR-0002") {
		t.Errorf("why does not flag the superseded decision:\n%s", out)
	}

	out, _, code = cliRun(t, "why", "--format", "json", filepath.Join(repo, "docs"))
	if code != 0 || !strings.Contains(out, `"governing": []`) {
		t.Errorf("why of an ungoverned folder: exit %d\n%s", code, out)
	}
}

func TestMissingPathIsAClearError(t *testing.T) {
	_, errs, code := cliRun(t, "export", filepath.Join(t.TempDir(), "nope"))
	if code == 0 || !strings.Contains(errs, "nope") {
		t.Errorf("export of a missing path: exit %d, stderr %q", code, errs)
	}
}

func TestBuildReportsBadRecordsAndBuildsTheRest(t *testing.T) {
	repo := writeFiles(t, map[string]string{
		"docs/decisions/0001-use-postgresql.md": nygardRecord,
		"docs/decisions/0002-broken.md":         "---\nstatus: [accepted\n---\n# Broken front matter\n\nStill worth reading.\n",
	})
	out := filepath.Join(t.TempDir(), "site")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "stale.html"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := cliRun(t, "build", "-o", out, "acme/db="+repo)
	if code != 0 {
		t.Fatalf("build exited %d: %s", code, stderr)
	}
	// The bracket left open on line 2 is reported there, not on the line
	// after the front matter ends.
	if want := filepath.Join(repo, "docs", "decisions", "0002-broken.md") + ":2: error: invalid YAML front matter"; !strings.Contains(stderr, want) {
		t.Errorf("build does not report the broken front matter at %s:\n%s", want, stderr)
	}
	if !strings.Contains(stdout, "2 records") {
		t.Errorf("build output: %s", stdout)
	}
	index, err := os.ReadFile(filepath.Join(out, "search.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"Use PostgreSQL", "Broken front matter"} {
		if !strings.Contains(string(index), title) {
			t.Errorf("the site lacks %q", title)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "stale.html")); err == nil {
		t.Error("a file from before the build is still in the output")
	}
}
