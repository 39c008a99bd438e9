package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github/githubtest"
)

// freshApp is another App on s: its installation tokens, asked for anew,
// carry the permissions the installation has now.
func freshApp(t *testing.T, s *githubtest.Server) *App {
	t.Helper()
	a, err := New(Options{AppID: testAppID, PrivateKey: s.PrivateKeyPEM(), BaseURL: s.URL(), HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestFakeInstallations(t *testing.T) {
	s, a, _ := fakeGitHub(t)
	s.AddRepo("octocat/dotfiles", githubtest.RepoOptions{OwnerType: "User"})
	s.AddInstallation(2, "octocat")
	for i := range 120 {
		s.AddInstallation(int64(100+i), fmt.Sprintf("org-%03d", i))
	}
	got, err := a.Installations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 122 {
		t.Fatalf("%d installations, want 122", len(got))
	}
	byID := map[int64]app.InstallationInfo{}
	for _, in := range got {
		byID[in.ID] = in
	}
	if in := byID[1]; in.Account != "acme" || in.AccountType != "Organization" || in.Suspended {
		t.Errorf("installation 1: %+v", in)
	}
	if in := byID[2]; in.Account != "octocat" || in.AccountType != "User" {
		t.Errorf("installation 2: %+v", in)
	}
	if pages := s.CountCalls("apps/list-installations"); pages != 2 {
		t.Errorf("%d pages read, want 2", pages)
	}
}

func TestInstallationsSuspended(t *testing.T) {
	s := newServer(t, "")
	s.handle("GET /app/installations", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []map[string]any{
			{"id": 5, "account": map[string]any{"login": "acme", "type": "Organization"}, "target_type": "Organization", "suspended_at": "2025-01-02T03:04:05Z"},
			{"id": 6, "account": map[string]any{"login": "solo"}, "target_type": "User"},
		})
	})
	got, err := s.app(t, nil).Installations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []app.InstallationInfo{{ID: 5, Account: "acme", AccountType: "Organization", Suspended: true}, {ID: 6, Account: "solo", AccountType: "User"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Installations = %+v, want %+v", got, want)
	}
}

func TestFakeIsMember(t *testing.T) {
	ctx := context.Background()
	s, a, _ := fakeGitHub(t)
	s.AddMember("acme", "alice")
	c := a.Installation(1)
	for user, want := range map[string]bool{"alice": true, "ALICE": true, "bob": false} {
		got, err := c.IsMember(ctx, "acme", user)
		if err != nil || got != want {
			t.Errorf("IsMember(acme, %s) = %v, %v; want %v", user, got, err, want)
		}
	}

	// Installed on another account, the App is no member of acme: GitHub
	// answers 302 to the public membership, which must not count.
	s.AddRepo("other/x", githubtest.RepoOptions{})
	s.AddInstallation(3, "other", "other/x")
	if got, err := a.Installation(3).IsMember(ctx, "acme", "alice"); err != nil || got {
		t.Errorf("from another installation: %v, %v; want false", got, err)
	}
	if n := s.CountCallsFunc(func(c githubtest.Call) bool { return strings.Contains(c.Path, "public_members") }); n != 0 {
		t.Errorf("the redirect to public_members was followed %d times", n)
	}

	for _, bad := range [][2]string{{"acme", "../../user"}, {"..", "alice"}, {"acme", ""}, {"acme/x", "alice"}} {
		if _, err := c.IsMember(ctx, bad[0], bad[1]); err == nil {
			t.Errorf("IsMember(%q, %q): no error", bad[0], bad[1])
		}
	}

	s.SetInstallationPermissions(1, map[string]string{"metadata": "read", "contents": "read"})
	_, err := freshApp(t, s).Installation(1).IsMember(ctx, "acme", "alice")
	var rejected *app.RejectedError
	if !errors.As(err, &rejected) || rejected.Status != http.StatusForbidden {
		t.Errorf("without members: read: %v, want a 403 RejectedError", err)
	}
}

func TestIsMemberErrors(t *testing.T) {
	s := newServer(t, "")
	calls := 0
	s.handle("GET /orgs/{org}/members/{user}", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c := s.app(t, nil).Installation(1)
	_, err := c.IsMember(context.Background(), "acme", "alice")
	if _, temp := app.RetryAt(err); !temp {
		t.Errorf("502: %v, want temporary", err)
	}
	if ok, err := c.IsMember(context.Background(), "acme", "alice"); !ok || err != nil {
		t.Errorf("204: %v, %v", ok, err)
	}
}

func TestFakeCreateIssueAndIssues(t *testing.T) {
	ctx := context.Background()
	s, a, pr := fakeGitHub(t)
	c := a.Installation(1)
	start := s.Now()
	for i := range 130 {
		s.AddIssue(fakeRepo, githubtest.Issue{Title: fmt.Sprintf("old %d", i), CreatedAt: start.Add(-48 * time.Hour), UpdatedAt: start.Add(-48 * time.Hour)})
	}
	n, err := c.CreateIssue(ctx, fakeRepo, app.IssueWrite{Title: "Review ADR-0001", Body: "Its review date has come.", Labels: []string{"backstory", "review"}})
	if err != nil {
		t.Fatal(err)
	}
	made := s.Issues(fakeRepo)
	last := made[len(made)-1]
	if last.Number != n || n != pr+131 || last.Title != "Review ADR-0001" || strings.Join(last.Labels, ",") != "backstory,review" || last.User != "backstory-test[bot]" {
		t.Errorf("made #%d: %+v", n, last)
	}
	if _, err := c.CreateIssue(ctx, fakeRepo, app.IssueWrite{Title: " "}); err == nil {
		t.Error("an issue without a title was sent")
	}

	all, err := c.Issues(ctx, fakeRepo, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 131 {
		t.Fatalf("%d issues, want 131 (the pull request left out)", len(all))
	}
	for _, is := range all {
		if is.Number == pr {
			t.Errorf("pull request #%d listed as an issue", pr)
		}
	}
	if got := all[len(all)-1]; got.Number != n || got.State != "open" || got.Author != "backstory-test[bot]" || got.Body != "Its review date has come." {
		t.Errorf("newest issue %+v", got)
	}
	if pages := s.CountCalls("issues/list-for-repo"); pages != 2 {
		t.Errorf("%d pages, want 2", pages)
	}

	recent, err := c.Issues(ctx, fakeRepo, start.Add(-time.Hour))
	if err != nil || len(recent) != 1 || recent[0].Number != n {
		t.Errorf("issues since an hour ago: %+v, %v; want #%d", recent, err, n)
	}
}

func TestFakeIssuesRefusals(t *testing.T) {
	ctx := context.Background()
	s, a, _ := fakeGitHub(t)
	s.SetInstallationPermissions(1, map[string]string{"metadata": "read", "contents": "read", "pull_requests": "read"})
	_, err := a.Installation(1).CreateIssue(ctx, fakeRepo, app.IssueWrite{Title: "x"})
	var rejected *app.RejectedError
	if !errors.As(err, &rejected) || rejected.Status != http.StatusForbidden || !strings.Contains(err.Error(), "Resource not accessible by integration") {
		t.Errorf("without issues: write: %v", err)
	}
	if _, err := a.Installation(1).Issues(ctx, fakeRepo, time.Time{}); !errors.As(err, &rejected) || rejected.Status != http.StatusForbidden {
		t.Errorf("listing a private repository's issues without issues: read: %v", err)
	}

	s.SetInstallationPermissions(1, map[string]string{"metadata": "read", "issues": "write"})
	s.DisableIssues(fakeRepo)
	c := freshApp(t, s).Installation(1)
	_, err = c.CreateIssue(ctx, fakeRepo, app.IssueWrite{Title: "x"})
	if !errors.As(err, &rejected) || rejected.Status != http.StatusGone {
		t.Errorf("issues turned off: %v, want a 410 RejectedError", err)
	}
	if len(s.Issues(fakeRepo)) != 0 {
		t.Errorf("issues made: %+v", s.Issues(fakeRepo))
	}
}
