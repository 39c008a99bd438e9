package githubtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestPullRequest(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	body := "## Why\n\nBecause.\n"
	s.Commit("acme/widgets", "feature", map[string][]byte{"README.md": []byte("# Widgets\n\nMore.\n"), "docs/decisions/0002-next.md": []byte("# 2. Next\n")})
	n := s.AddPullRequest("acme/widgets", PullRequest{Title: "Add ADR 2", Body: &body, User: "alice", HeadRef: "feature", Labels: []string{"adr", "skip-why"}, Draft: true})
	s.SetPermission("acme/widgets", "alice", "write")

	r := c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d", n))
	want(t, r, http.StatusOK)
	pr := r.object(t)
	checks := map[string]any{
		"title": "Add ADR 2", "body": body, "user/login": "alice", "user/type": "User", "draft": true, "state": "open", "merged": false,
		"head/ref": "feature", "head/sha": s.Branch("acme/widgets", "feature"), "head/repo/full_name": "acme/widgets",
		"base/ref": "main", "base/sha": s.Branch("acme/widgets", "main"), "base/repo/default_branch": "main",
		"labels/0/name": "adr", "labels/1/name": "skip-why", "author_association": "MEMBER", "mergeable_state": "draft",
	}
	for path, v := range checks {
		if got := field(t, pr, path); fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", path, got, v)
		}
	}
	if fieldInt(t, pr, "changed_files") != 2 || fieldInt(t, pr, "additions") != 3 || fieldInt(t, pr, "deletions") != 0 || fieldInt(t, pr, "commits") != 1 {
		t.Errorf("counts: files %v +%v -%v commits %v", field(t, pr, "changed_files"), field(t, pr, "additions"), field(t, pr, "deletions"), field(t, pr, "commits"))
	}

	// Files come from the commits, with patches.
	r = c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d/files", n))
	want(t, r, http.StatusOK)
	files := r.array(t)
	if len(files) != 2 || fieldString(t, files[0], "filename") != "README.md" || fieldString(t, files[0], "status") != "modified" ||
		fieldString(t, files[0], "patch") != "@@ -1 +1,3 @@\n # Widgets\n+\n+More." || fieldString(t, files[1], "status") != "added" {
		t.Errorf("files %s", r.body)
	}

	// A push to the head branch moves the PR, as on GitHub.
	moved := s.Commit("acme/widgets", "feature", map[string][]byte{"src/new.go": []byte("package src\n")})
	r = c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d", n))
	if fieldString(t, r.object(t), "head/sha") != moved || fieldInt(t, r.object(t), "commits") != 2 {
		t.Errorf("after a push: head %s commits %v", fieldString(t, r.object(t), "head/sha"), field(t, r.object(t), "commits"))
	}

	// No body is null, as GitHub sends it.
	plain := s.AddPullRequest("acme/widgets", PullRequest{HeadSHA: moved, User: "dependabot[bot]"})
	r = c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d", plain))
	if field(t, r.object(t), "body") != nil || fieldString(t, r.object(t), "user/type") != "Bot" {
		t.Errorf("body %v, user type %v", field(t, r.object(t), "body"), field(t, r.object(t), "user/type"))
	}

	s.UpdatePullRequest("acme/widgets", n, func(pr *PullRequest) { pr.Merged = true })
	r = c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d", n))
	m := r.object(t)
	if fieldString(t, m, "state") != "closed" || field(t, m, "merged") != true || field(t, m, "merged_at") == nil || field(t, m, "merge_commit_sha") == nil {
		t.Errorf("merged PR: state %v merged %v merged_at %v", field(t, m, "state"), field(t, m, "merged"), field(t, m, "merged_at"))
	}
	want(t, c.get("repos/acme/widgets/pulls/99"), http.StatusNotFound)
}

func TestPullRequestFromFork(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	s.AddRepo("mallory/widgets", RepoOptions{ForkOf: "acme/widgets", OwnerType: "User"})
	if s.Branch("mallory/widgets", "main") != s.Branch("acme/widgets", "main") {
		t.Fatal("a fork does not start with its parent's branches")
	}
	head := s.Commit("mallory/widgets", "patch-1", map[string][]byte{"README.md": []byte("# Pwned\n")})
	n := s.AddPullRequest("acme/widgets", PullRequest{HeadRepo: "mallory/widgets", HeadRef: "patch-1", User: "mallory"})
	r := c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d", n))
	want(t, r, http.StatusOK)
	pr := r.object(t)
	if fieldString(t, pr, "head/repo/full_name") != "mallory/widgets" || field(t, pr, "head/repo/fork") != true ||
		fieldString(t, pr, "head/label") != "mallory:patch-1" || fieldString(t, pr, "head/sha") != head {
		t.Errorf("fork head %s", show(field(t, pr, "head")))
	}
	// The files are the fork's change only: the histories are shared.
	r = c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d/files", n))
	if files := r.array(t); len(files) != 1 || fieldString(t, files[0], "status") != "modified" ||
		fieldString(t, files[0], "patch") != "@@ -1 +1 @@\n-# Widgets\n+# Pwned" {
		t.Errorf("fork PR files %s", r.body)
	}
	// The fork's commit is readable through the base repository.
	want(t, c.get("repos/acme/widgets/contents/README.md?ref="+head), http.StatusOK)
	r = c.get("repos/acme/widgets/commits/" + head + "/pulls")
	want(t, r, http.StatusOK)
	if prs := r.array(t); len(prs) != 1 || fieldInt(t, prs[0], "number") != int64(n) {
		t.Errorf("pulls of the fork's commit: %s", r.body)
	}
	// head= filters by the fork's owner.
	r = c.get("repos/acme/widgets/pulls?head=mallory:patch-1")
	if len(r.array(t)) != 1 {
		t.Errorf("head=mallory:patch-1 lists %d", len(r.array(t)))
	}
	r = c.get("repos/acme/widgets/pulls?head=acme:patch-1")
	if len(r.array(t)) != 0 {
		t.Errorf("head=acme:patch-1 lists %d", len(r.array(t)))
	}
}

func TestListPulls(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	head := s.Branch("acme/widgets", "main")
	s.Commit("acme/widgets", "release", nil)
	for i := range 5 {
		s.AddPullRequest("acme/widgets", PullRequest{HeadSHA: head, HeadRef: fmt.Sprintf("b%d", i)})
	}
	s.AddPullRequest("acme/widgets", PullRequest{HeadSHA: head, HeadRef: "r", BaseRef: "release"})
	s.UpdatePullRequest("acme/widgets", 2, func(pr *PullRequest) { pr.State = "closed" })
	numbers := func(r answer) string {
		var out []string
		for _, p := range r.array(t) {
			out = append(out, fmt.Sprint(fieldInt(t, p, "number")))
		}
		return strings.Join(out, ",")
	}
	tests := []struct{ query, want string }{
		{"", "6,5,4,3,1"},
		{"?state=closed", "2"},
		{"?state=all&direction=asc", "1,2,3,4,5,6"},
		{"?base=release", "6"},
		{"?head=acme:b3", "4"},
		{"?per_page=2&page=2", "4,3"},
	}
	for _, tt := range tests {
		r := c.get("repos/acme/widgets/pulls" + tt.query)
		want(t, r, http.StatusOK)
		if got := numbers(r); got != tt.want {
			t.Errorf("pulls%s: %s, want %s", tt.query, got, tt.want)
		}
	}
	r := c.get("repos/acme/widgets/commits/" + head + "/pulls")
	want(t, r, http.StatusOK)
	if got := numbers(r); got != "6,5,4,3,2,1" {
		t.Errorf("pulls of a commit: %s", got)
	}
	s.ExpectViolation("No commit found for SHA")
	want(t, c.get("repos/acme/widgets/commits/"+strings.Repeat("e", 40)+"/pulls"), http.StatusUnprocessableEntity)
}

func TestPermissionAndComments(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	s.SetPermission("acme/widgets", "maint", "maintain")
	s.SetPermission("acme/widgets", "tri", "triage")
	s.SetPermission("acme/secret", "boss", "admin")
	tests := []struct {
		repo, user, permission, role string
	}{
		{"acme/widgets", "maint", "write", "maintain"},
		{"acme/widgets", "tri", "read", "triage"},
		{"acme/widgets", "stranger", "read", "read"},
		{"acme/secret", "stranger", "none", "none"},
		{"acme/secret", "boss", "admin", "admin"},
	}
	for _, tt := range tests {
		r := c.get("repos/" + tt.repo + "/collaborators/" + tt.user + "/permission")
		want(t, r, http.StatusOK)
		m := r.object(t)
		if fieldString(t, m, "permission") != tt.permission || fieldString(t, m, "role_name") != tt.role || fieldString(t, m, "user/login") != tt.user {
			t.Errorf("%s on %s: %s", tt.user, tt.repo, r.body)
		}
	}

	s.AddPullRequest("acme/widgets", PullRequest{HeadSHA: s.Branch("acme/widgets", "main")})
	// Without issues or pull_requests write, GitHub refuses a comment.
	s.SetInstallationPermissions(42, map[string]string{"metadata": "read", "pull_requests": "read"})
	c = s.asInstallation(t, 42)
	r := c.do("POST", "repos/acme/widgets/issues/1/comments", map[string]any{"body": "Why is missing."})
	want(t, r, http.StatusForbidden)
	grant(s, 42, "issues", "write")
	c = s.asInstallation(t, 42)
	r = c.do("POST", "repos/acme/widgets/issues/1/comments", map[string]any{"body": "Why is missing."})
	want(t, r, http.StatusCreated)
	if fieldString(t, r.object(t), "user/login") != "backstory-test[bot]" || fieldString(t, r.object(t), "user/type") != "Bot" {
		t.Errorf("comment author %s", show(field(t, r.object(t), "user")))
	}
	got := s.Comments("acme/widgets", 1)
	if len(got) != 1 || got[0].Body != "Why is missing." {
		t.Errorf("comments %+v", got)
	}
	want(t, c.do("POST", "repos/acme/widgets/issues/9/comments", map[string]any{"body": "x"}), http.StatusNotFound)
	s.ExpectViolation(`"body" wasn't supplied.`)
	want(t, c.do("POST", "repos/acme/widgets/issues/1/comments", map[string]any{"text": "x"}), http.StatusUnprocessableEntity)
}
