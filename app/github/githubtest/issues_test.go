package githubtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func (s *Server) asUser(t testing.TB, login string) *apiClient {
	return &apiClient{t: t, s: s, auth: "Bearer " + s.UserToken(login)}
}

func TestCreateIssue(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	r := c.do("POST", "repos/acme/secret/issues", map[string]any{"title": "Review ADR-0001", "body": "It is due.", "labels": []any{"review", map[string]any{"name": "adr"}}})
	want(t, r, http.StatusCreated)
	m := r.object(t)
	if fieldInt(t, m, "number") != 1 || fieldString(t, m, "state") != "open" || fieldString(t, m, "user/login") != "backstory-test[bot]" {
		t.Errorf("created %s", show(m))
	}
	if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, "/repos/acme/secret/issues/1") {
		t.Errorf("Location %q", loc)
	}
	got := s.Issues("acme/secret")
	if len(got) != 1 || got[0].Title != "Review ADR-0001" || got[0].Body != "It is due." || strings.Join(got[0].Labels, ",") != "review,adr" {
		t.Errorf("Issues = %+v", got)
	}

	// Issues and pull requests share their numbers.
	s.AddPullRequest("acme/secret", PullRequest{HeadSHA: s.Branch("acme/secret", "main")})
	r = c.do("POST", "repos/acme/secret/issues", map[string]any{"title": 7})
	want(t, r, http.StatusCreated)
	if n := fieldInt(t, r.object(t), "number"); n != 3 {
		t.Errorf("the issue after PR #2 is #%d, want 3", n)
	}

	s.ExpectViolation(`"title" wasn't supplied.`)
	want(t, c.do("POST", "repos/acme/secret/issues", map[string]any{"body": "no title"}), http.StatusUnprocessableEntity)
	s.ExpectViolation("the title is empty")
	want(t, c.do("POST", "repos/acme/secret/issues", map[string]any{"title": ""}), http.StatusUnprocessableEntity)
	want(t, c.do("POST", "repos/acme/nope/issues", map[string]any{"title": "x"}), http.StatusNotFound)
	if n := len(s.Issues("acme/secret")); n != 2 {
		t.Errorf("%d issues after the refusals, want 2", n)
	}
}

func TestCreateIssueNeedsIssuesWrite(t *testing.T) {
	s := fixture(t)
	s.SetInstallationPermissions(42, map[string]string{"metadata": "read", "contents": "read", "issues": "read"})
	c := s.asInstallation(t, 42)
	for _, repo := range []string{"acme/widgets", "acme/secret"} {
		r := c.do("POST", "repos/"+repo+"/issues", map[string]any{"title": "x"})
		want(t, r, http.StatusForbidden)
		if r.message(t) != "Resource not accessible by integration" {
			t.Errorf("%s: message %q", repo, r.message(t))
		}
	}
	want(t, c.get("repos/acme/secret/issues"), http.StatusOK) // issues: read lists them

	s.SetInstallationPermissions(42, map[string]string{"metadata": "read"})
	c = s.asInstallation(t, 42)
	want(t, c.get("repos/acme/secret/issues"), http.StatusForbidden)
	want(t, c.get("repos/acme/widgets/issues"), http.StatusOK) // a public repository's issues are public
	if n := len(s.Issues("acme/widgets")) + len(s.Issues("acme/secret")); n != 0 {
		t.Errorf("%d issues made without the permission", n)
	}
}

func TestIssuesDisabled(t *testing.T) {
	s := fixture(t)
	s.DisableIssues("acme/widgets")
	c := s.asInstallation(t, 42)
	r := c.do("POST", "repos/acme/widgets/issues", map[string]any{"title": "x"})
	want(t, r, http.StatusGone)
	if r.message(t) != "Issues are disabled for this repo" {
		t.Errorf("message %q", r.message(t))
	}
	want(t, c.get("repos/acme/widgets/issues"), http.StatusGone)
}

func TestListIssues(t *testing.T) {
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	s := fixture(t, WithNow(func() time.Time { return start }))
	for i := 1; i <= 45; i++ {
		labels := []string{}
		if i%3 == 0 {
			labels = append(labels, "review")
		}
		is := Issue{Title: fmt.Sprintf("Issue %d", i), Labels: labels, CreatedAt: start.Add(-time.Duration(46-i) * time.Hour)}
		if i%5 == 0 {
			is.State = "closed"
		}
		s.AddIssue("acme/secret", is)
	}
	body := "## Why\n"
	pr := s.AddPullRequest("acme/secret", PullRequest{HeadSHA: s.Branch("acme/secret", "main"), Body: &body})
	s.Advance(24 * time.Hour)
	s.UpdateIssue("acme/secret", 2, func(is *Issue) { is.State = "closed"; is.StateReason = "completed" })
	c := s.asInstallation(t, 42)

	// Every page, as a client follows the Link header.
	var numbers []int64
	next := "repos/acme/secret/issues?state=all&per_page=20&direction=asc"
	pages := 0
	for next != "" {
		r := c.get(next)
		want(t, r, http.StatusOK)
		pages++
		for _, it := range r.array(t) {
			if _, isPull := it.(map[string]any)["pull_request"]; isPull {
				if fieldInt(t, it, "number") != int64(pr) {
					t.Errorf("pull_request on issue %d", fieldInt(t, it, "number"))
				}
				continue
			}
			numbers = append(numbers, fieldInt(t, it, "number"))
		}
		next = nextLink(t, r.Header.Get("Link"), s.URL())
	}
	if pages != 3 || len(numbers) != 45 || numbers[0] != 1 || numbers[44] != 45 {
		t.Errorf("%d pages, issues %v", pages, numbers)
	}

	count := func(query string) int {
		t.Helper()
		r := c.get("repos/acme/secret/issues?per_page=100&" + query)
		want(t, r, http.StatusOK)
		return len(r.array(t))
	}
	if n := count(""); n != 45-9-1+1 { // open: 9 closed every fifth, #2 closed, the PR open
		t.Errorf("open issues and PRs: %d", n)
	}
	if n := count("state=closed"); n != 10 {
		t.Errorf("closed: %d, want 10", n)
	}
	if n := count("state=all&labels=review"); n != 15 {
		t.Errorf("labelled review: %d, want 15", n)
	}
	since := url.QueryEscape(start.Add(24 * time.Hour).Format(time.RFC3339))
	if n := count("state=all&since=" + since); n != 1 {
		t.Errorf("updated since the edit: %d, want 1 (#2)", n)
	}
	r := c.get("repos/acme/secret/issues?state=all&sort=updated&per_page=1")
	if fieldInt(t, r.array(t), "0/number") != 2 || fieldString(t, r.array(t), "0/state_reason") != "completed" {
		t.Errorf("most recently updated: %s", r.body)
	}
}

// nextLink returns the rel="next" URL of a Link header, relative to base.
func nextLink(t *testing.T, link, base string) string {
	t.Helper()
	for _, part := range strings.Split(link, ",") {
		u, rel, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(rel) == `rel="next"` {
			return strings.TrimPrefix(strings.Trim(u, "<>"), base)
		}
	}
	return ""
}

func TestMembership(t *testing.T) {
	s := fixture(t)
	s.AddMember("acme", "alice")
	s.AddInstallation(43, "other")
	s.AddRepo("other/x", RepoOptions{})
	inst := s.asInstallation(t, 42)
	want(t, inst.get("orgs/acme/members/alice"), http.StatusNoContent)
	want(t, inst.get("orgs/ACME/members/Alice"), http.StatusNoContent)
	want(t, inst.get("orgs/acme/members/bob"), http.StatusNotFound)
	want(t, inst.get("orgs/nowhere/members/alice"), http.StatusNotFound)

	// An installation on another account is no member of acme: GitHub
	// sends it to the public membership.
	r := s.asInstallation(t, 43).get("orgs/acme/members/alice")
	want(t, r, http.StatusFound)
	if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, "/orgs/acme/public_members/alice") {
		t.Errorf("Location %q", loc)
	}
	want(t, s.anonymous(t).get("orgs/acme/members/alice"), http.StatusFound)

	// A signed-in member sees the members; a non-member is sent away.
	want(t, s.asUser(t, "alice").get("orgs/acme/members/bob"), http.StatusNotFound)
	want(t, s.asUser(t, "alice").get("orgs/acme/members/alice"), http.StatusNoContent)
	want(t, s.asUser(t, "mallory").get("orgs/acme/members/alice"), http.StatusFound)

	s.SetInstallationPermissions(42, map[string]string{"metadata": "read", "contents": "read"})
	r = s.asInstallation(t, 42).get("orgs/acme/members/alice")
	want(t, r, http.StatusForbidden)
	if r.message(t) != "Resource not accessible by integration" {
		t.Errorf("without members: read: %q", r.message(t))
	}

	s.RemoveMember("acme", "alice")
	grant(s, 42, "members", "read")
	want(t, s.asInstallation(t, 42).get("orgs/acme/members/alice"), http.StatusNotFound)
}
