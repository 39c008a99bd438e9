package githubtest

import (
	"net/http"
	"strings"
	"testing"
)

func TestOrgMembership(t *testing.T) {
	s := fixture(t)
	s.AddMember("acme", "bob")
	s.AddOrgAdmin("acme", "Alice")
	s.AddInstallation(43, "other")
	s.AddRepo("other/x", RepoOptions{})
	inst := s.asInstallation(t, 42)

	for _, tt := range []struct{ path, role string }{
		{"orgs/acme/memberships/alice", "admin"},
		{"orgs/ACME/memberships/ALICE", "admin"},
		{"orgs/acme/memberships/bob", "member"},
	} {
		r := inst.get(tt.path)
		want(t, r, http.StatusOK)
		m := r.object(t)
		if fieldString(t, m, "role") != tt.role || fieldString(t, m, "state") != "active" || !strings.EqualFold(fieldString(t, m, "user/login"), tt.path[strings.LastIndex(tt.path, "/")+1:]) {
			t.Errorf("%s: %s", tt.path, show(m))
		}
		if !strings.HasSuffix(fieldString(t, m, "organization_url"), "/orgs/"+strings.Split(tt.path, "/")[1]) {
			t.Errorf("%s: organization_url %s", tt.path, fieldString(t, m, "organization_url"))
		}
	}
	want(t, inst.get("orgs/acme/memberships/mallory"), http.StatusNotFound)
	want(t, inst.get("orgs/nowhere/memberships/alice"), http.StatusNotFound)

	// Another account's installation is no member of acme.
	r := s.asInstallation(t, 43).get("orgs/acme/memberships/alice")
	want(t, r, http.StatusForbidden)
	if msg := r.message(t); !strings.Contains(msg, "must be a member of acme") {
		t.Errorf("from another installation: %q", msg)
	}
	want(t, s.anonymous(t).get("orgs/acme/memberships/alice"), http.StatusUnauthorized)
	// A user token is for the sign-in's few operations only.
	want(t, s.asUser(t, "alice").get("orgs/acme/memberships/alice"), http.StatusForbidden)

	s.SetInstallationPermissions(42, map[string]string{"metadata": "read", "contents": "read"})
	r = s.asInstallation(t, 42).get("orgs/acme/memberships/alice")
	want(t, r, http.StatusForbidden)
	if r.message(t) != "Resource not accessible by integration" {
		t.Errorf("without members: read: %q", r.message(t))
	}

	// An admin who leaves is no admin, and no member.
	grant(s, 42, "members", "read")
	s.RemoveMember("acme", "alice")
	want(t, s.asInstallation(t, 42).get("orgs/acme/memberships/alice"), http.StatusNotFound)
	want(t, s.asInstallation(t, 42).get("orgs/acme/memberships/bob"), http.StatusOK)
}
