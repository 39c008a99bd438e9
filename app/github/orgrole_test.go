package github

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github/githubtest"
)

func TestFakeOrgRole(t *testing.T) {
	ctx := context.Background()
	s, a, _ := fakeGitHub(t)
	s.AddMember("acme", "bob")
	s.AddOrgAdmin("acme", "alice")
	c := a.Installation(1)
	for user, want := range map[string]string{"alice": "admin", "ALICE": "admin", "bob": "member", "mallory": ""} {
		got, err := c.OrgRole(ctx, "acme", user)
		if err != nil || got != want {
			t.Errorf("OrgRole(acme, %s) = %q, %v; want %q", user, got, err, want)
		}
	}
	if n := s.CountCalls("orgs/get-membership-for-user"); n != 4 {
		t.Errorf("%d membership requests, want 4", n)
	}

	for _, bad := range [][2]string{{"acme", "../../user"}, {"..", "alice"}, {"acme", ""}, {"acme/x", "alice"}} {
		if _, err := c.OrgRole(ctx, bad[0], bad[1]); err == nil {
			t.Errorf("OrgRole(%q, %q): no error", bad[0], bad[1])
		}
	}

	// Installed on another account, the App cannot see acme's members.
	s.AddRepo("other/x", githubtest.RepoOptions{})
	s.AddInstallation(3, "other", "other/x")
	var rejected *app.RejectedError
	if role, err := a.Installation(3).OrgRole(ctx, "acme", "alice"); !errors.As(err, &rejected) || role != "" {
		t.Errorf("from another installation: %q, %v; want a RejectedError", role, err)
	}

	s.SetInstallationPermissions(1, map[string]string{"metadata": "read", "contents": "read"})
	_, err := freshApp(t, s).Installation(1).OrgRole(ctx, "acme", "alice")
	if !errors.As(err, &rejected) || rejected.Status != http.StatusForbidden {
		t.Errorf("without members: read: %v, want a 403 RejectedError", err)
	}
}

func TestOrgRoleStates(t *testing.T) {
	s := newServer(t, "")
	answers := map[string]struct {
		status      int
		state, role string
	}{
		"pending":  {200, "pending", "admin"},
		"billing":  {200, "active", "billing_manager"},
		"admin":    {200, "active", "admin"},
		"flaky":    {502, "", ""},
		"stranger": {404, "", ""},
	}
	s.handle("GET /orgs/{org}/memberships/{user}", func(w http.ResponseWriter, r *http.Request) {
		a := answers[r.PathValue("user")]
		if a.status != 200 {
			writeJSON(w, a.status, map[string]any{"message": http.StatusText(a.status)})
			return
		}
		writeJSON(w, 200, map[string]any{"state": a.state, "role": a.role})
	})
	c := s.app(t, nil).Installation(1)
	for user, want := range map[string]string{"pending": "", "billing": "", "admin": "admin", "stranger": ""} {
		if got, err := c.OrgRole(context.Background(), "acme", user); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", user, got, err, want)
		}
	}
	if _, err := c.OrgRole(context.Background(), "acme", "flaky"); err == nil {
		t.Error("502: no error")
	} else if _, temp := app.RetryAt(err); !temp {
		t.Errorf("502: %v, want temporary", err)
	}
}
