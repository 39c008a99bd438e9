package github

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github/githubtest"
)

// These tests run the adapter against githubtest, the fake GitHub that
// validates every request against GitHub's API description: a request
// GitHub would refuse fails the test.

const fakeRepo = "acme/widgets"

// fakeGitHub is a fake with one installation (1) on acme/widgets: a main
// branch with config and records, a feature branch, and a PR from it.
func fakeGitHub(t *testing.T, opts ...githubtest.Option) (*githubtest.Server, *App, int) {
	t.Helper()
	_, pemBytes := testPrivateKey(t)
	s := githubtest.New(t, append([]githubtest.Option{githubtest.WithAppID(testAppID), githubtest.WithPrivateKey(pemBytes)}, opts...)...)
	s.AddRepo(fakeRepo, githubtest.RepoOptions{DefaultBranch: "main", Private: true})
	s.AddInstallation(1, "acme", fakeRepo)
	s.Commit(fakeRepo, "main", map[string][]byte{
		".github/backstory.yml":             []byte("mode: enforce\n"),
		"docs/adr/0001-record-decisions.md": []byte("# 1. Record decisions\n\nDate: 2024-01-01\n\n## Status\n\nAccepted\n"),
		"services/api/main.go":              []byte("package main\n"),
		"README.md":                         []byte("# Widgets\n"),
	})
	files := map[string][]byte{"docs/adr/0002-kafka.md": []byte("# 2. Use Kafka\n\n## Status\n\nProposed\n")}
	for i := range 120 {
		files[fmt.Sprintf("services/api/handlers/h%03d.go", i)] = []byte(fmt.Sprintf("package handlers // %d\n", i))
	}
	s.Commit(fakeRepo, "kafka", files)
	body := "## Why\nConsumers poll the API every second."
	n := s.AddPullRequest(fakeRepo, githubtest.PullRequest{Title: "Move to Kafka", Body: &body, User: "octocat", HeadRef: "kafka", Labels: []string{"architecture"}})
	a, err := New(Options{AppID: testAppID, PrivateKey: s.PrivateKeyPEM(), BaseURL: s.URL(), HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return s, a, n
}

// evaluate reads what the context check reads and writes its check run,
// the way the App's handler does.
func evaluate(t *testing.T, c app.Client, number int, annotations int) {
	t.Helper()
	ctx := context.Background()
	pr, err := c.PullRequest(ctx, fakeRepo, number)
	if err != nil {
		t.Fatalf("PullRequest: %v", err)
	}
	changed, err := c.PullRequestFiles(ctx, fakeRepo, number)
	if err != nil {
		t.Fatalf("PullRequestFiles: %v", err)
	}
	if len(changed) != 121 {
		t.Errorf("%d changed files, want 121", len(changed))
	}
	if _, err := c.FileContent(ctx, fakeRepo, pr.DefaultBranch, ".github/backstory.yml"); err != nil {
		t.Fatalf("FileContent: %v", err)
	}
	tree, err := c.Tree(ctx, fakeRepo, pr.DefaultBranch)
	if err != nil {
		t.Fatalf("Tree: %v", err)
	}
	if len(tree.Entries) != 4 {
		t.Errorf("tree of main has %d files, want 4", len(tree.Entries))
	}
	open, err := c.OpenPullRequestsWithHead(ctx, fakeRepo, pr.HeadSHA)
	if err != nil || len(open) != 1 {
		t.Fatalf("OpenPullRequestsWithHead: %v, %v", open, err)
	}
	run := app.CheckRunWrite{
		Name: "backstory", HeadSHA: pr.HeadSHA, Status: "completed", Conclusion: "neutral",
		Title: "Decision record linked", Summary: "ADR-0002 is proposed.",
		Actions: []app.Action{{Label: "Not needed", Description: "Waive the context check", Identifier: "waive"}},
	}
	for i, f := range changed {
		if i == annotations {
			break
		}
		run.Annotations = append(run.Annotations, app.Annotation{Path: f.Path, StartLine: 1, EndLine: 1, Level: "notice", Message: "Governed by ADR-0001"})
	}
	found, err := c.FindCheckRun(ctx, fakeRepo, pr.HeadSHA, "backstory")
	id := found.ID
	switch {
	case errors.Is(err, app.ErrNotFound):
		if _, err := c.CreateCheckRun(ctx, fakeRepo, run); err != nil {
			t.Fatalf("CreateCheckRun: %v", err)
		}
	case err != nil:
		t.Fatalf("FindCheckRun: %v", err)
	default:
		// Unchanged annotations are not sent again: GitHub would append
		// them a second time.
		run.Annotations = nil
		if err := c.UpdateCheckRun(ctx, fakeRepo, id, run); err != nil {
			t.Fatalf("UpdateCheckRun: %v", err)
		}
	}
}

func TestFakeColdAndWarmEvaluation(t *testing.T) {
	s, a, n := fakeGitHub(t)
	c := a.Installation(1)

	evaluate(t, c, n, 120)
	runs := s.CheckRuns(fakeRepo)
	if len(runs) != 1 || len(runs[0].Annotations) != 120 || runs[0].Conclusion != "neutral" || len(runs[0].Actions) != 1 {
		t.Fatalf("check runs after the first evaluation: %+v", runs)
	}
	cold := s.Calls()
	s.ResetCalls()

	evaluate(t, c, n, 120)
	warm := s.Calls()
	runs = s.CheckRuns(fakeRepo)
	if len(runs) != 1 || len(runs[0].Annotations) != 120 {
		t.Errorf("after the warm evaluation: %d runs, %d annotations; want 1 and 120", len(runs), len(runs[0].Annotations))
	}

	charged := func(calls []githubtest.Call) (n int) {
		for _, c := range calls {
			if !c.NotModified {
				n++
			}
		}
		return n
	}
	t.Logf("cold evaluation: %d requests; warm: %d requests, %d of them charged (not 304)", len(cold), len(warm), charged(warm))
	for _, c := range warm {
		if c.Operation == "apps/create-installation-access-token" {
			t.Errorf("warm evaluation asked for a new token")
		}
		if c.Method == "GET" && !c.Conditional {
			t.Errorf("warm GET %s %s was not conditional", c.Operation, c.Path)
		}
	}
	// Every read revalidates to a 304 except the check-run list, which
	// changed since; the one write is the update.
	if got := charged(warm); got > 2 {
		t.Errorf("warm evaluation charged %d requests, want at most 2 (check-run list and update)", got)
		for _, c := range warm {
			t.Logf("  %s %s %d", c.Method, c.Path, c.Status)
		}
	}
}

func TestFakePullRequestFromFork(t *testing.T) {
	s, a, _ := fakeGitHub(t)
	s.AddRepo("forker/widgets", githubtest.RepoOptions{ForkOf: fakeRepo})
	sha := s.Commit("forker/widgets", "fix", map[string][]byte{"README.md": []byte("# Widgets, fixed\n")})
	n := s.AddPullRequest(fakeRepo, githubtest.PullRequest{Title: "Fix", User: "forker", HeadRepo: "forker/widgets", HeadRef: "fix"})
	c := a.Installation(1)
	pr, err := c.PullRequest(context.Background(), fakeRepo, n)
	if err != nil {
		t.Fatal(err)
	}
	if pr.HeadRepository != "forker/widgets" || pr.HeadSHA != sha || pr.Repository != fakeRepo || pr.DefaultBranch != "main" {
		t.Errorf("fork PR %+v", pr)
	}
	open, err := c.OpenPullRequestsWithHead(context.Background(), fakeRepo, sha)
	if err != nil || len(open) != 1 || open[0].Number != n {
		t.Errorf("OpenPullRequestsWithHead(fork head) = %+v, %v", open, err)
	}
}

func TestFakeArchive(t *testing.T) {
	s, a, _ := fakeGitHub(t)
	dir := t.TempDir()
	err := a.Installation(1).Archive(context.Background(), fakeRepo, "main", dir, func(p string, _ int64) bool {
		return strings.HasPrefix(p, "docs/") || strings.HasPrefix(p, ".github/")
	})
	if err != nil {
		t.Fatal(err)
	}
	got := files(t, dir)
	if len(got) != 2 || !strings.HasPrefix(got["docs/adr/0001-record-decisions.md"], "# 1. Record decisions") || got[".github/backstory.yml"] != "mode: enforce\n" {
		t.Errorf("extracted %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err == nil {
		t.Error("README.md was written though keep refused it")
	}
	if s.CountCalls("repos/download-tarball-archive") != 1 {
		t.Errorf("tarball requests: %d", s.CountCalls("repos/download-tarball-archive"))
	}
}

func TestFakeFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("502 then success", func(t *testing.T) {
		s, a, n := fakeGitHub(t)
		s.FailNext("pulls/get", 1, githubtest.ServerError(502))
		c := a.Installation(1)
		_, err := c.PullRequest(ctx, fakeRepo, n)
		if at, temp := app.RetryAt(err); !temp || !at.IsZero() {
			t.Errorf("502: %v, want temporary with backoff", err)
		}
		if _, err := c.PullRequest(ctx, fakeRepo, n); err != nil {
			t.Errorf("retry: %v", err)
		}
	})
	t.Run("primary rate limit", func(t *testing.T) {
		s, a, n := fakeGitHub(t)
		reset := time.Now().Add(15 * time.Minute).Truncate(time.Second)
		s.FailNext("pulls/list-files", 1, githubtest.RateLimited(reset))
		c := a.Installation(1)
		_, err := c.PullRequestFiles(ctx, fakeRepo, n)
		if at, temp := app.RetryAt(err); !temp || !at.Equal(reset) {
			t.Errorf("rate limited: %v, want temporary until %v", err, reset)
		}
	})
	t.Run("secondary rate limit", func(t *testing.T) {
		s, a, n := fakeGitHub(t)
		s.FailNext("checks/create", 1, githubtest.SecondaryRateLimited(90*time.Second))
		c := a.Installation(1)
		pr, err := c.PullRequest(ctx, fakeRepo, n)
		if err != nil {
			t.Fatal(err)
		}
		before := time.Now()
		_, err = c.CreateCheckRun(ctx, fakeRepo, app.CheckRunWrite{Name: "backstory", HeadSHA: pr.HeadSHA, Title: "t", Summary: "s"})
		at, temp := app.RetryAt(err)
		if !temp || at.Before(before.Add(89*time.Second)) || at.After(time.Now().Add(91*time.Second)) {
			t.Errorf("secondary: %v (at %v), want temporary about 90 s on", err, at)
		}
		if len(s.CheckRuns(fakeRepo)) != 0 {
			t.Errorf("a check run was created")
		}
	})
	t.Run("repository not installed", func(t *testing.T) {
		s, a, _ := fakeGitHub(t)
		s.AddRepo("other/secret", githubtest.RepoOptions{Private: true})
		_, err := a.Installation(1).FileContent(ctx, "other/secret", "main", "README.md")
		if !errors.Is(err, app.ErrNotFound) {
			t.Errorf("other installation's repo: %v, want ErrNotFound", err)
		}
	})
	t.Run("missing config file", func(t *testing.T) {
		_, a, _ := fakeGitHub(t)
		_, err := a.Installation(1).FileContent(ctx, fakeRepo, "main", ".github/nope.yml")
		if !errors.Is(err, app.ErrNotFound) {
			t.Errorf("missing file: %v, want ErrNotFound", err)
		}
	})
	t.Run("tokens expired early", func(t *testing.T) {
		s, a, n := fakeGitHub(t)
		c := a.Installation(1)
		if _, err := c.PullRequest(ctx, fakeRepo, n); err != nil {
			t.Fatal(err)
		}
		s.ExpireTokens()
		_, err := c.PullRequest(ctx, fakeRepo, n)
		if _, temp := app.RetryAt(err); !temp {
			t.Fatalf("401 after expiry: %v, want temporary", err)
		}
		if _, err := c.PullRequest(ctx, fakeRepo, n); err != nil {
			t.Errorf("retry with a new token: %v", err)
		}
	})
}

func TestFakeFindCheckRunIgnoresOtherApps(t *testing.T) {
	s, a, n := fakeGitHub(t)
	c := a.Installation(1)
	pr, err := c.PullRequest(context.Background(), fakeRepo, n)
	if err != nil {
		t.Fatal(err)
	}
	s.AddCheckRun(fakeRepo, githubtest.CheckRun{AppID: 99, Name: "backstory", HeadSHA: pr.HeadSHA, Status: "completed", Conclusion: "success"})
	if _, err := c.FindCheckRun(context.Background(), fakeRepo, pr.HeadSHA, "backstory"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("another App's run: %v, want ErrNotFound", err)
	}
	own := s.AddCheckRun(fakeRepo, githubtest.CheckRun{Name: "backstory", HeadSHA: pr.HeadSHA, Status: "in_progress"})
	if found, err := c.FindCheckRun(context.Background(), fakeRepo, pr.HeadSHA, "backstory"); err != nil || found.ID != own {
		t.Errorf("FindCheckRun = %+v, %v; want %d", found, err, own)
	}
}

func TestFakePermissionAndDeliveries(t *testing.T) {
	s, a, _ := fakeGitHub(t)
	s.SetPermission(fakeRepo, "maintainer", "maintain")
	s.SetPermission(fakeRepo, "writer", "write")
	c := a.Installation(1)
	for user, want := range map[string]string{"maintainer": "maintain", "writer": "write", "stranger": "none"} {
		got, err := c.Permission(context.Background(), fakeRepo, user)
		if err != nil || got != want {
			t.Errorf("Permission(%s) = %q, %v; want %q", user, got, err, want)
		}
	}

	// GitHub's timestamps are whole seconds.
	start := s.Now().Add(-5 * time.Hour).Truncate(time.Second)
	for i := range 250 {
		code := 200
		if i%50 == 0 {
			code = 503
		}
		s.AddHookDelivery(githubtest.HookDelivery{GUID: fmt.Sprintf("g-%03d", i), Event: "pull_request", Action: "opened",
			StatusCode: code, DeliveredAt: start.Add(time.Duration(i) * time.Minute), InstallationID: 1})
	}
	since := start.Add(100 * time.Minute)
	got, err := a.HookDeliveries(context.Background(), since)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 150 {
		t.Fatalf("%d deliveries since %v, want 150", len(got), since)
	}
	var failed []int64
	for _, d := range got {
		if d.DeliveredAt.Before(since) {
			t.Errorf("delivery %s of %v is older than since", d.GUID, d.DeliveredAt)
		}
		if d.StatusCode >= 500 {
			failed = append(failed, d.ID)
		}
	}
	if len(failed) != 3 {
		t.Errorf("%d failed deliveries, want 3", len(failed))
	}
	for _, id := range failed {
		if err := a.Redeliver(context.Background(), id); err != nil {
			t.Errorf("Redeliver(%d): %v", id, err)
		}
	}
	if fmt.Sprint(s.Redeliveries()) != fmt.Sprint(failed) {
		t.Errorf("redelivered %v, want %v", s.Redeliveries(), failed)
	}
	if pages := s.CountCalls("apps/list-webhook-deliveries"); pages != 2 {
		t.Errorf("%d pages of deliveries read, want 2 (the second reaches past since)", pages)
	}
}

func TestFakeEnterpriseServer(t *testing.T) {
	s, _, n := fakeGitHub(t)
	a, err := New(Options{AppID: testAppID, PrivateKey: s.PrivateKeyPEM(), BaseURL: s.URL() + "api/v3", HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Installation(1).PullRequest(context.Background(), fakeRepo, n); err != nil {
		t.Fatal(err)
	}
	for _, c := range s.Calls() {
		if !strings.HasPrefix(c.Path, "/api/v3/") {
			t.Errorf("%s %s: not under /api/v3/", c.Method, c.Path)
		}
	}
}
