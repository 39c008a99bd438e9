package status

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github"
	"github.com/backstory-dev/backstory/app/github/githubtest"
	"github.com/backstory-dev/backstory/app/memory"
)

// readers says the reader is whoever the X-Login header names.
type readers struct{}

func (readers) User(r *http.Request) (string, bool) {
	l := r.Header.Get("X-Login")
	return l, l != ""
}
func (readers) LoginURL(next string) string { return "/auth/login?next=" + next }
func (readers) LogoutURL() string           { return "/auth/logout" }

func TestForAdmins(t *testing.T) {
	clock := now
	asked := map[string]int{}
	var down bool
	admin := func(ctx context.Context, login string) (bool, error) {
		asked[login]++
		if down {
			return false, errors.New("GitHub answered 502")
		}
		return login == "alice", nil
	}
	page := newHandler(t, Options{Inbox: memory.New(), Now: func() time.Time { return clock }})
	h, err := ForAdmins(page, AccessOptions{Readers: readers{}, Admin: admin, Now: func() time.Time { return clock },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	as := func(login, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		if login != "" {
			req.Header.Set("X-Login", login)
		}
		h.ServeHTTP(rec, req)
		return rec
	}

	if rec := as("", "/status"); rec.Code != http.StatusFound || rec.Header().Get("Location") != "/auth/login?next=/status" {
		t.Errorf("not signed in: %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := as("", "/status.json"); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "server.admin_listen") {
		t.Errorf("not signed in, JSON: %d\n%s", rec.Code, rec.Body)
	}
	if rec := as("alice", "/status"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "backstory status") {
		t.Errorf("admin: %d\n%s", rec.Code, rec.Body)
	}
	if rec := as("alice", "/status.json"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"inbox"`) {
		t.Errorf("admin, JSON: %d\n%s", rec.Code, rec.Body)
	}
	rec := as("mallory", "/status")
	if body := rec.Body.String(); rec.Code != http.StatusForbidden || !strings.Contains(body, "signed in as mallory") || strings.Contains(body, "Inbox") {
		t.Errorf("no admin: %d\n%s", rec.Code, body)
	}
	if asked["alice"] != 1 || asked["mallory"] != 1 {
		t.Errorf("asked %v: each answer should be kept", asked)
	}

	// After five minutes GitHub is asked again; when it cannot answer, the
	// page is not shown, and nothing is remembered.
	clock = clock.Add(AdminTTL)
	down = true
	if rec := as("alice", "/status"); rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "Inbox") {
		t.Errorf("GitHub down: %d\n%s", rec.Code, rec.Body)
	}
	down = false
	if rec := as("alice", "/status"); rec.Code != http.StatusOK {
		t.Errorf("GitHub back: %d", rec.Code)
	}
	if asked["alice"] != 3 {
		t.Errorf("alice asked about %d times, want 3", asked["alice"])
	}

	if _, err := ForAdmins(page, AccessOptions{Readers: readers{}}); err == nil {
		t.Error("ForAdmins without Admin: no error")
	}
}

func TestGitHubAdmins(t *testing.T) {
	ctx := context.Background()
	s := githubtest.New(t)
	s.AddRepo("acme/widgets", githubtest.RepoOptions{})
	s.AddInstallation(1, "acme", "acme/widgets")
	s.AddOrgAdmin("acme", "alice")
	s.AddMember("acme", "bob")
	s.AddRepo("solo/dotfiles", githubtest.RepoOptions{OwnerType: "User"})
	s.AddInstallation(2, "solo", "solo/dotfiles")
	gh, err := github.New(github.Options{AppID: s.AppID, PrivateKey: s.PrivateKeyPEM(), BaseURL: s.URL(), HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	installations := CachedInstallations(gh.Installations, func() time.Time { return clock })
	admin := GitHubAdmins(gh, installations)
	for login, want := range map[string]bool{"alice": true, "Alice": true, "bob": false, "mallory": false, "solo": true, "SOLO": true} {
		if got, err := admin(ctx, login); err != nil || got != want {
			t.Errorf("%s: %v, %v; want %v", login, got, err, want)
		}
	}
	// The user account's owner needs no question to GitHub; the others one
	// each, through acme's installation.
	if n := s.CountCallsFunc(func(c githubtest.Call) bool {
		return c.Operation == "orgs/get-membership-for-user" && c.Installation == 1
	}); n != 4 {
		t.Errorf("%d role questions through installation 1, want 4", n)
	}
	if n := s.CountCalls("apps/list-installations"); n != 1 {
		t.Errorf("installations listed %d times, want 1 (kept five minutes)", n)
	}
	clock = clock.Add(AdminTTL)
	if _, err := installations(ctx); err != nil || s.CountCalls("apps/list-installations") != 2 {
		t.Errorf("after five minutes: %v, listed %d times", err, s.CountCalls("apps/list-installations"))
	}

	// Without members: read, whether bob is an admin cannot be told.
	s.SetInstallationPermissions(1, map[string]string{"metadata": "read", "contents": "read"})
	gh2, err := github.New(github.Options{AppID: s.AppID, PrivateKey: s.PrivateKeyPEM(), BaseURL: s.URL(), HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := GitHubAdmins(gh2, gh2.Installations)(ctx, "bob"); ok || !app.IsRejected(err) {
		t.Errorf("without members: read: %v, %v; want a refusal", ok, err)
	}
	// A suspended installation is asked nothing.
	var suspended = func(context.Context) ([]app.InstallationInfo, error) {
		return []app.InstallationInfo{{ID: 1, Account: "acme", AccountType: "Organization", Suspended: true}}, nil
	}
	before := s.CountCalls("orgs/get-membership-for-user")
	if ok, err := GitHubAdmins(gh, suspended)(ctx, "alice"); ok || err != nil || s.CountCalls("orgs/get-membership-for-user") != before {
		t.Errorf("suspended: %v, %v", ok, err)
	}
}
