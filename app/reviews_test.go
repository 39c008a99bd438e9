package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github"
	"github.com/backstory-dev/backstory/app/github/githubtest"
)

const dueDecision = `---
id: ADR-0009
title: Cache sessions in Redis
kind: decision
status: accepted
date: 2023-01-10
review_by: 2024-01-10
---
# Cache sessions in Redis

## Why

Logins were slow.

## How we will know

- p99 login under 200 ms.
- No session lost in a deploy.
`

const reviewedDecision = `---
id: ADR-0010
title: Queue e-mails
kind: decision
status: accepted
date: 2023-01-10
review_by: 2024-01-10
---
# Queue e-mails

## How we will know

No e-mail lost.

## Review

Outcome: right
Date: 2024-02-01

None lost in a year.
`

// reviewHarness is the site harness with reviews.open_issues on in the
// repository and the issues: write permission granted.
func newReviewHarness(t *testing.T) *siteHarness {
	h := newSiteHarness(t)
	h.gh.SetInstallationPermissions(installation, map[string]string{"checks": "write", "contents": "write", "pull_requests": "read", "metadata": "read", "members": "read", "issues": "write"})
	h.gh.Commit(repoName, "main", map[string][]byte{
		".github/backstory.yml":                 []byte(repoConfig + "reviews:\n  open_issues: true\n  labels: [decision-review]\n"),
		"docs/decisions/0009-cache-sessions.md": []byte(dueDecision),
		"docs/decisions/0010-queue-emails.md":   []byte(reviewedDecision),
	})
	return h
}

func reviewIssues(h *siteHarness) []githubtest.Issue {
	var out []githubtest.Issue
	for _, is := range h.gh.Issues(repoName) {
		if strings.HasPrefix(is.Title, "Review due:") {
			out = append(out, is)
		}
	}
	return out
}

func TestADecisionDueForReviewGetsOneIssue(t *testing.T) {
	h := newReviewHarness(t)
	h.install()
	h.runQueued()
	issues := reviewIssues(h)
	if len(issues) != 1 {
		t.Fatalf("%d review issues, want 1 (ADR-0009 is due; ADR-0010 was reviewed): %+v", len(issues), issues)
	}
	is := issues[0]
	for _, want := range []string{"ADR-0009", "2024-01-10", "> - p99 login under 200 ms.", "Outcome: right | wrong | mixed", "docs/decisions/0009-cache-sessions.md"} {
		if !strings.Contains(is.Title+is.Body, want) {
			t.Errorf("the review issue lacks %q:\n%s\n%s", want, is.Title, is.Body)
		}
	}
	if strings.Join(is.Labels, ",") != "decision-review" {
		t.Errorf("labels %v, want the configured decision-review", is.Labels)
	}
	meta, err := app.ReadSiteMeta(h.dir, org)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Reviews.Opened) != 1 || meta.Reviews.Due < 1 {
		t.Errorf("site meta reviews %+v", meta.Reviews)
	}

	// Later builds never open it again, even after it is closed.
	h.gh.UpdateIssue(repoName, is.Number, func(i *githubtest.Issue) { i.State = "closed" })
	if err := h.app.RequestBuild(context.Background(), installation, org, "again"); err != nil {
		t.Fatal(err)
	}
	h.runQueued()
	if n := len(reviewIssues(h)); n != 1 {
		t.Errorf("%d review issues after a second build, want still 1", n)
	}
}

func TestAReviewIssueOpenedBeforeACrashIsNotOpenedAgain(t *testing.T) {
	h := newReviewHarness(t)
	// An earlier attempt reserved the review and opened the issue, then
	// died before storing the number.
	ri := app.ReviewIssue{Repository: repoName, Record: "ADR-0009", ReviewBy: "2024-01-10", ReservedAt: time.Now().Add(-time.Hour)}
	if _, _, err := h.store.ReserveReview(context.Background(), ri); err != nil {
		t.Fatal(err)
	}
	n := h.gh.AddIssue(repoName, githubtest.Issue{Title: "Review due: ADR-0009 Cache sessions in Redis",
		Body: "…\n<!-- backstory:review octo-org/hello:ADR-0009 2024-01-10 -->\n", User: "backstory[bot]"})
	h.install()
	h.runQueued()
	if got := reviewIssues(h); len(got) != 1 || got[0].Number != n {
		t.Errorf("review issues %+v, want only #%d, the one opened before the crash", got, n)
	}
	got, reserved, err := h.store.ReserveReview(context.Background(), ri)
	if err != nil || reserved || got.Number != n {
		t.Errorf("stored review %+v (reserved %v, %v), want #%d adopted", got, reserved, err, n)
	}
}

func TestWithoutTheIssuesPermissionTheBuildStillPublishes(t *testing.T) {
	h := newReviewHarness(t)
	h.gh.SetInstallationPermissions(installation, map[string]string{"checks": "write", "contents": "write", "pull_requests": "read", "metadata": "read", "members": "read"})
	h.install()
	h.runQueued()
	if n := len(reviewIssues(h)); n != 0 {
		t.Fatalf("%d issues opened without the permission", n)
	}
	if got := h.siteKeys(); !contains(got, "octo-org/hello:ADR-0009") {
		t.Errorf("the site was not built: %v", got)
	}
	meta, _ := app.ReadSiteMeta(h.dir, org)
	if len(meta.Reviews.Failed) != 1 || !strings.Contains(meta.Reviews.Failed[0], "issues: write") {
		t.Errorf("the failure is not reported with what to do: %+v", meta.Reviews)
	}
}

func TestNoReviewIssuesUnlessTheRepositoryAsks(t *testing.T) {
	h := newReviewHarness(t)
	h.gh.Commit(repoName, "main", map[string][]byte{".github/backstory.yml": []byte(repoConfig)})
	h.install()
	h.runQueued()
	if n := len(reviewIssues(h)); n != 0 {
		t.Errorf("%d review issues opened though reviews.open_issues is off", n)
	}
}

func TestDailyBuildsAreAskedOncePerDay(t *testing.T) {
	h := newSiteHarness(t)
	h.gh.AddInstallation(99, "other-org")
	gh, err := github.New(github.Options{AppID: h.gh.AppID, PrivateKey: h.gh.PrivateKeyPEM(), BaseURL: h.gh.URL(), HTTPClient: h.gh.Client()})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 22, 0, 30, 0, 0, time.UTC)
	d := &app.Daily{App: h.app, GitHub: gh, Now: func() time.Time { return day }}
	for range 2 {
		if n, err := d.Sweep(context.Background()); err != nil || n != 2 {
			t.Fatalf("sweep: %d, %v; want both installations", n, err)
		}
	}
	counts, _ := h.store.Counts(context.Background())
	if counts[app.StatePending] != 2 {
		t.Errorf("%d builds pending after two sweeps of one day, want 2 (one per installation)", counts[app.StatePending])
	}
	day = day.Add(24 * time.Hour)
	d.Sweep(context.Background())
	counts, _ = h.store.Counts(context.Background())
	if counts[app.StatePending] != 4 {
		t.Errorf("%d builds pending after the next day's sweep, want 4", counts[app.StatePending])
	}
}
