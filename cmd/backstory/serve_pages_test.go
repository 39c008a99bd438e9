package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app/github/githubtest"
)

// The org site end to end, with the real Hugo build: repositories in
// several formats end on the Pages branch, a push updates it, a merged pull
// request's why appears, and a private repository's records stay off it.
func TestServePublishesTheOrgStoryToPages(t *testing.T) {
	e := newE2E(t)
	const pages = "octo-org/octo-org.github.io"
	e.gh.AddRepo("octo-org/payments", githubtest.RepoOptions{})
	e.gh.Commit("octo-org/payments", "main", map[string][]byte{
		// MADR 3: front matter with decision-makers.
		"docs/decisions/0001-use-postgresql-for-the-ledger.md": []byte("---\nstatus: accepted\ndate: 2024-02-03\ndecision-makers: [ana, ben]\n---\n" +
			"# Use PostgreSQL for the ledger\n\n## Context and Problem Statement\n\nThe ledger needs transactions.\n\n## Decision Outcome\n\nChosen option: PostgreSQL.\n"),
	})
	e.gh.AddRepo("octo-org/platform", githubtest.RepoOptions{})
	e.gh.Commit("octo-org/platform", "main", map[string][]byte{
		// Nygard / adr-tools.
		"doc/adr/0001-record-architecture-decisions.md": []byte("# 1. Record architecture decisions\n\nDate: 2023-05-01\n\n## Status\n\nAccepted\n\n## Context\n\nWe forget why.\n"),
		"doc/adr/0002-run-on-one-kubernetes-cluster.md": []byte("# 2. Run on one Kubernetes cluster\n\nDate: 2023-06-01\n\n## Status\n\nAccepted\n\n## Context\n\nOne team runs it.\n"),
	})
	e.gh.AddRepo("octo-org/secret-sauce", githubtest.RepoOptions{Private: true})
	e.gh.Commit("octo-org/secret-sauce", "main", map[string][]byte{
		"doc/adr/0001-price-by-the-hour.md": []byte("# 1. Price by the hour\n\nDate: 2024-01-01\n\n## Status\n\nAccepted\n\n## Context\n\nConfidential.\n"),
	})
	e.gh.AddRepo(pages, githubtest.RepoOptions{})
	e.gh.Commit(pages, "main", map[string][]byte{"README.md": []byte("# Our story\n")})
	e.gh.AddRepo("octo-org/.github", githubtest.RepoOptions{})
	e.gh.Commit("octo-org/.github", "main", map[string][]byte{
		".github/backstory.yml": []byte("site:\n  pages:\n    repository: " + pages + "\n"),
	})
	e.gh.AddInstallation(7, "octo-org", e2eRepo, "octo-org/payments", "octo-org/platform", "octo-org/secret-sauce", pages, "octo-org/.github")
	e.gh.SetInstallationPermissions(7, map[string]string{"checks": "write", "contents": "write", "pull_requests": "read", "metadata": "read", "members": "read"})
	sites := t.TempDir()
	e.editConfig("", "site:\n  dir: "+sites+"\n")
	child := e.start()

	data, _ := githubtest.Payload("installation", "created.payload.json")
	var m map[string]any
	json.Unmarshal(data, &m)
	m["installation"] = map[string]any{"id": 7, "account": map[string]any{"login": "octo-org", "type": "Organization"}}
	body, _ := json.Marshal(m)
	if got := e.post("installation", "install-pages", body, e2eSecret); got != http.StatusAccepted {
		t.Fatalf("installation delivery: %d", got)
	}
	public := []string{"Keep a changelog", "Use PostgreSQL for the ledger", "Record architecture decisions", "Run on one Kubernetes cluster"}
	e.waitPages(t, pages, public, nil, child)
	if text := pagesText(e.gh.Files(pages, "gh-pages")); strings.Contains(text, "Price by the hour") {
		t.Error("a private repository's record reached the public Pages site")
	}
	if _, ok := e.gh.Files(pages, "gh-pages")[".nojekyll"]; !ok {
		t.Error("the Pages branch has no .nojekyll")
	}
	if b, err := os.ReadFile(filepath.Join(sites, "octo-org", "index.html")); err != nil || !strings.Contains(string(b), "backstory") {
		t.Errorf("no site in the directory target: %v", err)
	}
	if !strings.Contains(pagesText(dirFiles(t, filepath.Join(sites, "octo-org"))), "Price by the hour") {
		t.Error("the org's own site (served to members) lacks the private repository's record")
	}

	// A push that changes one record updates the published site.
	e.gh.Commit("octo-org/platform", "main", map[string][]byte{
		"doc/adr/0002-run-on-one-kubernetes-cluster.md": []byte("# 2. Run on two Kubernetes clusters\n\nDate: 2023-06-01\n\n## Status\n\nAccepted\n\n## Context\n\nTwo regions now.\n"),
	})
	push, _ := json.Marshal(map[string]any{"ref": "refs/heads/main", "installation": map[string]any{"id": 7},
		"repository": map[string]any{"full_name": "octo-org/platform", "default_branch": "main", "owner": map[string]any{"login": "octo-org"}},
		"commits":    []any{map[string]any{"added": []any{}, "modified": []any{"doc/adr/0002-run-on-one-kubernetes-cluster.md"}, "removed": []any{}}}})
	if got := e.post("push", "push-pages", push, e2eSecret); got != http.StatusAccepted {
		t.Fatalf("push delivery: %d", got)
	}
	e.waitPages(t, pages, []string{"Run on two Kubernetes clusters"}, []string{"Run on one Kubernetes cluster"}, child)

	// A merged pull request's why appears.
	n, sha := e.openPR("ledger-retries")
	why := "## Why\n\nThe ledger dropped writes during failovers, and finance found the gaps a week later.\n"
	e.gh.UpdatePullRequest(e2eRepo, n, func(p *githubtest.PullRequest) { p.Body, p.State, p.Merged = &why, "closed", true })
	closed := e.opened(n, sha)
	var cm map[string]any
	json.Unmarshal(closed, &cm)
	cm["action"] = "closed"
	pr := cm["pull_request"].(map[string]any)
	pr["state"], pr["merged"], pr["body"] = "closed", true, why
	closed, _ = json.Marshal(cm)
	if got := e.post("pull_request", "merged-pages", closed, e2eSecret); got != http.StatusAccepted {
		t.Fatalf("merged delivery: %d", got)
	}
	e.waitPages(t, pages, []string{"finance found the gaps a week later"}, nil, child)
}

// waitPages waits until the Pages branch's HTML holds every text of want
// and none of gone.
func (e *e2e) waitPages(t *testing.T, repo string, want, gone []string, c *child) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for {
		text := pagesText(e.gh.Files(repo, "gh-pages"))
		missing := ""
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = w
			}
		}
		for _, g := range gone {
			if strings.Contains(text, g) {
				missing = "no " + g
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Pages branch never showed %q\n%s", missing, c.out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pagesText joins the HTML files of a site.
func pagesText(files map[string][]byte) string {
	var b strings.Builder
	for name, data := range files {
		if strings.HasSuffix(name, ".html") {
			b.Write(data)
		}
	}
	return b.String()
}

func dirFiles(t *testing.T, dir string) map[string][]byte {
	out := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			out[p] = data
		}
		return nil
	})
	return out
}
