package githubtest

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"
)

// TestGoGitHubSmoke drives the fake with the libraries the App uses
// (go-github v60, ghinstallation v2), as the adapter will: no request they
// make may violate the description (New fails the test otherwise), and
// their error types must come out of the fake's faults.
func TestGoGitHubSmoke(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	base, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}

	atr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, s.AppID, s.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	atr.BaseURL = strings.TrimSuffix(s.URL(), "/")
	appClient := github.NewClient(&http.Client{Transport: atr})
	appClient.BaseURL = base

	grant(s, 42, "issues", "write")
	itr, err := ghinstallation.New(http.DefaultTransport, s.AppID, 42, s.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	itr.BaseURL = strings.TrimSuffix(s.URL(), "/")
	gh := github.NewClient(&http.Client{Transport: itr})
	gh.BaseURL = base

	app, _, err := appClient.Apps.Get(ctx, "")
	if err != nil || app.GetID() != s.AppID {
		t.Fatalf("Apps.Get: %v, %v", app.GetID(), err)
	}

	// Contents, trees and archives.
	fc, _, _, err := gh.Repositories.GetContents(ctx, "acme", "widgets", "docs/decisions/0001-record.md", &github.RepositoryContentGetOptions{Ref: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if text, err := fc.GetContent(); err != nil || text != "# 1. Record decisions\n\nWe record them.\n" {
		t.Errorf("GetContents: %q, %v", text, err)
	}
	if _, _, resp, err := gh.Repositories.GetContents(ctx, "acme", "widgets", "nope.md", nil); err == nil || resp.StatusCode != 404 {
		t.Errorf("a missing file: %v", err)
	}
	s.Commit("acme/widgets", "feature/x", map[string][]byte{"docs/decisions/0002-next.md": []byte("# 2. Next\n")})
	tree, _, err := gh.Git.GetTree(ctx, "acme", "widgets", "feature/x", true)
	if err != nil || len(tree.Entries) != 7 || tree.GetTruncated() {
		t.Fatalf("GetTree: %d entries, %v", len(tree.Entries), err)
	}
	link, _, err := gh.Repositories.GetArchiveLink(ctx, "acme", "secret", github.Tarball, &github.RepositoryContentGetOptions{Ref: "main"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(link.String())
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	resp.Body.Close()
	if len(names) != 3 || !strings.HasSuffix(names[2], "/secret.txt") {
		t.Errorf("archive entries %v", names)
	}

	// Pull requests.
	why := "## Why\n\nBecause.\n"
	n := s.AddPullRequest("acme/widgets", PullRequest{Title: "Next", Body: &why, HeadRef: "feature/x", User: "alice"})
	pr, _, err := gh.PullRequests.Get(ctx, "acme", "widgets", n)
	if err != nil || pr.GetBody() != why || pr.GetHead().GetRef() != "feature/x" || pr.GetBase().GetRepo().GetDefaultBranch() != "main" {
		t.Fatalf("PullRequests.Get: %+v, %v", pr, err)
	}
	files, _, err := gh.PullRequests.ListFiles(ctx, "acme", "widgets", n, &github.ListOptions{PerPage: 100})
	if err != nil || len(files) != 1 || files[0].GetFilename() != "docs/decisions/0002-next.md" || files[0].GetStatus() != "added" {
		t.Errorf("ListFiles: %v", err)
	}
	prs, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, "acme", "widgets", pr.GetHead().GetSHA(), nil)
	if err != nil || len(prs) != 1 {
		t.Errorf("ListPullRequestsWithCommit: %d, %v", len(prs), err)
	}
	open, _, err := gh.PullRequests.List(ctx, "acme", "widgets", &github.PullRequestListOptions{State: "open", Head: "acme:feature/x"})
	if err != nil || len(open) != 1 {
		t.Errorf("PullRequests.List: %d, %v", len(open), err)
	}

	// Check runs: create with 50 annotations, then add 10 more.
	anns := func(n int) []*github.CheckRunAnnotation {
		out := make([]*github.CheckRunAnnotation, n)
		for i := range out {
			out[i] = &github.CheckRunAnnotation{Path: github.String("README.md"), StartLine: github.Int(1), EndLine: github.Int(1),
				AnnotationLevel: github.String("notice"), Message: github.String("governed by ADR-1")}
		}
		return out
	}
	run, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "widgets", github.CreateCheckRunOptions{
		Name: "backstory", HeadSHA: pr.GetHead().GetSHA(), Status: github.String("in_progress"),
		Output:  &github.CheckRunOutput{Title: github.String("Checking"), Summary: github.String("…"), Annotations: anns(50)},
		Actions: []*github.CheckRunAction{{Label: "Not needed", Description: "Waive the check for this PR", Identifier: "waive"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.PullRequests) != 1 || run.PullRequests[0].GetNumber() != n {
		t.Errorf("run pull requests %v", run.PullRequests)
	}
	_, _, err = gh.Checks.UpdateCheckRun(ctx, "acme", "widgets", run.GetID(), github.UpdateCheckRunOptions{
		Name: "backstory", Conclusion: github.String("neutral"),
		Output: &github.CheckRunOutput{Title: github.String("Advice"), Summary: github.String("Add a Why."), Annotations: anns(10)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if stored := s.CheckRuns("acme/widgets"); len(stored) != 1 || len(stored[0].Annotations) != 60 || stored[0].Status != "completed" {
		t.Errorf("stored %+v", stored)
	}
	list, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "widgets", pr.GetHead().GetSHA(), &github.ListCheckRunsOptions{CheckName: github.String("backstory"), AppID: github.Int64(s.AppID)})
	if err != nil || list.GetTotal() != 1 || list.CheckRuns[0].GetID() != run.GetID() {
		t.Errorf("ListCheckRunsForRef: %v", err)
	}
	// go-github sends what the description allows: >50 annotations is
	// refused by the fake, as by GitHub.
	s.ExpectViolation("51 items are more than the maximum of 50")
	_, _, err = gh.Checks.UpdateCheckRun(ctx, "acme", "widgets", run.GetID(), github.UpdateCheckRunOptions{
		Name: "backstory", Output: &github.CheckRunOutput{Title: github.String("x"), Summary: github.String("x"), Annotations: anns(51)}})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 422 || !strings.HasPrefix(er.Message, "Invalid request.") {
		t.Errorf("51 annotations: %v", err)
	}

	perm, _, err := gh.Repositories.GetPermissionLevel(ctx, "acme", "widgets", "alice")
	if err != nil || perm.GetPermission() != "read" {
		t.Errorf("GetPermissionLevel: %v, %v", perm.GetPermission(), err)
	}
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "widgets", n, &github.IssueComment{Body: github.String("hello")}); err != nil {
		t.Errorf("CreateComment: %v", err)
	}

	// Deliveries: cursor pagination, and a redelivery (go-github reports
	// GitHub's 202 as an *AcceptedError, which the adapter must treat as
	// success).
	for i := range 3 {
		s.AddHookDelivery(HookDelivery{GUID: "g" + string(rune('a'+i)), Event: "pull_request", StatusCode: 500})
	}
	var all []*github.HookDelivery
	opts := &github.ListCursorOptions{PerPage: 2}
	for {
		ds, resp, err := appClient.Apps.ListHookDeliveries(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ds...)
		if resp.Cursor == "" {
			break
		}
		opts.Cursor = resp.Cursor
	}
	if len(all) != 3 || all[0].GetGUID() != "gc" {
		t.Errorf("deliveries %d, first %q", len(all), all[0].GetGUID())
	}
	_, _, err = appClient.Apps.RedeliverHookDelivery(ctx, all[0].GetID())
	var accepted *github.AcceptedError
	if !errors.As(err, &accepted) {
		t.Errorf("redeliver: %v", err)
	}
	if got := s.Redeliveries(); len(got) != 1 || got[0] != all[0].GetID() {
		t.Errorf("redeliveries %v", got)
	}

	// Faults come out as go-github's error types. A go-github client
	// remembers a rate limit and refuses to send until it passes, so each
	// fault gets a client of its own.
	fresh := func() *github.Client {
		c := github.NewClient(&http.Client{Transport: itr})
		c.BaseURL = base
		return c
	}
	reset := time.Now().Add(10 * time.Minute)
	s.FailNext("pulls/get", 1, RateLimited(reset))
	_, _, err = fresh().PullRequests.Get(ctx, "acme", "widgets", n)
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || rl.Rate.Reset.Unix() != reset.Unix() {
		t.Errorf("primary rate limit: %v", err)
	}
	s.FailNext("pulls/get", 1, SecondaryRateLimited(42*time.Second))
	_, _, err = fresh().PullRequests.Get(ctx, "acme", "widgets", n)
	var ab *github.AbuseRateLimitError
	if !errors.As(err, &ab) || ab.GetRetryAfter() != 42*time.Second {
		t.Errorf("secondary rate limit: %v", err)
	}

	// The token ghinstallation got is reused, not fetched per call.
	if n := s.CountCalls("apps/create-installation-access-token"); n != 1 {
		t.Errorf("%d installation tokens fetched", n)
	}
}
