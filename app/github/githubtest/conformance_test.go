package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestResponsesMatchTheDescription calls every operation the fake
// implements, and validates each answer against the response schema of
// GitHub's description: a field the schema requires and the fake leaves
// out is a bug in the fake.
func TestResponsesMatchTheDescription(t *testing.T) {
	s := fixture(t)
	body := "## Why\n\nBecause.\n"
	s.SetPermission("acme/widgets", "alice", "admin")
	s.Commit("acme/widgets", "feature", map[string][]byte{"docs/decisions/0002-next.md": []byte("# 2. Next\n")}, "README.md")
	s.AddPullRequest("acme/widgets", PullRequest{Title: "Next", Body: &body, User: "alice", HeadRef: "feature", Labels: []string{"adr"}})
	s.AddRepo("fork/widgets", RepoOptions{ForkOf: "acme/widgets", OwnerType: "User"})
	s.Commit("fork/widgets", "patch", map[string][]byte{"x.txt": []byte("x\n")})
	s.AddPullRequest("acme/widgets", PullRequest{HeadRepo: "fork/widgets", HeadRef: "patch", Merged: true})
	s.AddHookDelivery(HookDelivery{GUID: "g", Event: "pull_request", Action: "opened", StatusCode: 200, InstallationID: 42, RepositoryID: 1, Payload: []byte(`{"action":"opened"}`)})
	s.AddHookDelivery(HookDelivery{GUID: "h", Event: "ping", StatusCode: 0})
	s.AddManifestCode("code", ManifestApp{})
	s.AddInstallation(43, "someone")
	head := s.Branch("acme/widgets", "feature")
	s.AddCheckRun("acme/widgets", CheckRun{AppID: 99, Name: "other", HeadSHA: head, Conclusion: "success", Title: "t", Summary: "s"})

	grant(s, 42, "issues", "write")
	grant(s, 42, "contents", "write")
	// The Git Data objects the steps write, computed as git computes them.
	blob := gitHash("blob", []byte("hello\n"))
	script := gitHash("blob", []byte("#!/bin/sh\n"))
	tree := newObjectStore().putTreeModes(map[string]string{"site/index.html": blob, "run.sh": script}, map[string]string{"run.sh": modeExecutable})
	mainHead := s.Branch("acme/widgets", "main")
	when := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	author := signature{name: "Publisher", email: "publisher@example.com", when: when}
	commit := newObjectStore().writeCommit(tree, mainHead, author, author, "Publish\n").sha
	s.AddMember("acme", "alice")
	app := s.asApp(t)
	inst := s.asInstallation(t, 42)
	anon := s.anonymous(t)
	user := s.asUser(t, "alice")
	type step struct {
		c      *apiClient
		method string
		path   string
		body   any
		op     string
		status int
	}
	steps := []step{
		{app, "GET", "app", nil, "apps/get-authenticated", 200},
		{app, "GET", "app/installations", nil, "apps/list-installations", 200},
		{app, "GET", "app/installations/42", nil, "apps/get-installation", 200},
		{app, "GET", "repos/acme/widgets/installation", nil, "apps/get-repo-installation", 200},
		{app, "POST", "app/installations/42/access_tokens", nil, "apps/create-installation-access-token", 201},
		{app, "POST", "app/installations/42/access_tokens", map[string]any{"repositories": []string{"widgets"}}, "apps/create-installation-access-token", 201},
		{app, "GET", "app/hook/deliveries", nil, "apps/list-webhook-deliveries", 200},
		{app, "GET", "app/hook/deliveries/1", nil, "apps/get-webhook-delivery", 0}, // id filled in below
		{app, "POST", "app/hook/deliveries/1/attempts", nil, "apps/redeliver-webhook-delivery", 0},
		{anon, "POST", "app-manifests/code/conversions", nil, "apps/create-from-manifest", 201},
		{anon, "POST", "app-manifests/code/conversions", nil, "apps/create-from-manifest", 404},
		{inst, "GET", "installation/repositories", nil, "apps/list-repos-accessible-to-installation", 200},
		{inst, "GET", "repos/acme/widgets", nil, "repos/get", 200},
		{inst, "GET", "repos/fork/widgets", nil, "repos/get", 200},
		{inst, "GET", "repos/acme/nope", nil, "repos/get", 404},
		{inst, "GET", "repos/acme/widgets/contents/docs/decisions/0001-record.md", nil, "repos/get-content", 200},
		{inst, "GET", "repos/acme/widgets/contents/docs", nil, "repos/get-content", 200},
		{inst, "GET", "repos/acme/secret/contents/secret.txt", nil, "repos/get-content", 200},
		{inst, "GET", "repos/acme/widgets/contents/nope", nil, "repos/get-content", 404},
		{inst, "GET", "repos/acme/widgets/git/trees/main?recursive=1", nil, "git/get-tree", 200},
		{inst, "GET", "repos/acme/widgets/git/trees/nope", nil, "git/get-tree", 404},
		{inst, "GET", "repos/acme/widgets/tarball/main", nil, "repos/download-tarball-archive", 302},
		{inst, "GET", "repos/acme/widgets/pulls/1", nil, "pulls/get", 200},
		{inst, "GET", "repos/acme/widgets/pulls/2", nil, "pulls/get", 200},
		{inst, "GET", "repos/acme/widgets/pulls/3", nil, "pulls/get", 404},
		{inst, "GET", "repos/acme/widgets/pulls?state=all", nil, "pulls/list", 200},
		{inst, "GET", "repos/acme/widgets/pulls/1/files", nil, "pulls/list-files", 200},
		{inst, "GET", "repos/acme/widgets/commits/" + head + "/pulls", nil, "repos/list-pull-requests-associated-with-commit", 200},
		{inst, "POST", "repos/acme/widgets/check-runs", map[string]any{"name": "backstory", "head_sha": head, "output": map[string]any{"title": "t", "summary": "s", "annotations": annotations(2)}, "actions": []any{action("waive")}}, "checks/create", 201},
		{inst, "PATCH", "repos/acme/widgets/check-runs/CHECK", map[string]any{"conclusion": "neutral", "output": map[string]any{"title": "t", "summary": "s2", "text": "more"}}, "checks/update", 200},
		{inst, "GET", "repos/acme/widgets/check-runs/CHECK", nil, "checks/get", 200},
		{inst, "GET", "repos/acme/widgets/check-runs/CHECK/annotations", nil, "checks/list-annotations", 200},
		{inst, "GET", "repos/acme/widgets/commits/" + head + "/check-runs?filter=all", nil, "checks/list-for-ref", 200},
		{inst, "GET", "repos/acme/widgets/collaborators/alice/permission", nil, "repos/get-collaborator-permission-level", 200},
		{inst, "POST", "repos/acme/widgets/issues/1/comments", map[string]any{"body": "hello"}, "issues/create-comment", 201},
		{inst, "POST", "repos/acme/widgets/issues", map[string]any{"title": "Review ADR-0001", "body": "Due.", "labels": []string{"review"}}, "issues/create", 201},
		{inst, "GET", "repos/acme/widgets/issues?state=all", nil, "issues/list-for-repo", 200},
		{inst, "GET", "orgs/acme/members/alice", nil, "orgs/check-membership-for-user", 204},
		{inst, "GET", "orgs/acme/members/bob", nil, "orgs/check-membership-for-user", 404},
		{inst, "GET", "orgs/acme/memberships/alice", nil, "orgs/get-membership-for-user", 200},
		{user, "GET", "user", nil, "users/get-authenticated", 200},
		{inst, "POST", "repos/acme/widgets/check-runs", map[string]any{"name": "x"}, "checks/create", 422},
		{inst, "POST", "repos/acme/widgets/git/blobs", map[string]any{"content": "aGVsbG8K", "encoding": "base64"}, "git/create-blob", 201},
		{inst, "GET", "repos/acme/widgets/git/blobs/" + blob, nil, "git/get-blob", 200},
		{inst, "GET", "repos/acme/widgets/git/blobs/" + script, nil, "git/get-blob", 404},
		{inst, "POST", "repos/acme/widgets/git/trees", map[string]any{"tree": []any{
			map[string]any{"path": "site/index.html", "mode": "100644", "type": "blob", "sha": blob},
			map[string]any{"path": "run.sh", "mode": "100755", "type": "blob", "content": "#!/bin/sh\n"},
		}}, "git/create-tree", 201},
		{inst, "POST", "repos/acme/widgets/git/commits", map[string]any{"message": "Publish\n", "tree": tree, "parents": []string{mainHead},
			"author": map[string]any{"name": "Publisher", "email": "publisher@example.com", "date": "2024-05-01T12:00:00Z"}}, "git/create-commit", 201},
		{inst, "GET", "repos/acme/widgets/git/commits/" + commit, nil, "git/get-commit", 200},
		{inst, "POST", "repos/acme/widgets/git/refs", map[string]any{"ref": "refs/heads/gh-pages", "sha": commit}, "git/create-ref", 201},
		{inst, "POST", "repos/acme/widgets/git/refs", map[string]any{"ref": "refs/heads/gh-pages", "sha": commit}, "git/create-ref", 422},
		{inst, "GET", "repos/acme/widgets/git/ref/heads/gh-pages", nil, "git/get-ref", 200},
		{inst, "GET", "repos/acme/widgets/git/ref/heads/nope", nil, "git/get-ref", 404},
		{inst, "PATCH", "repos/acme/widgets/git/refs/heads/main", map[string]any{"sha": commit}, "git/update-ref", 200},
		{inst, "PATCH", "repos/acme/widgets/git/refs/heads/main", map[string]any{"sha": mainHead}, "git/update-ref", 422},
		{inst, "POST", "repos/acme/secret/git/blobs", map[string]any{"content": "x"}, "git/create-blob", 201},
		{inst, "GET", "repos/acme/empty/git/ref/heads/main", nil, "git/get-ref", 409},
	}
	s.AddRepo("acme/empty", RepoOptions{})
	s.ExpectViolation(`"head_sha" wasn't supplied.`)

	deliveries := s.sortedDeliveriesLocked()
	checkID := ""
	succeeded := map[string]bool{}
	for _, st := range steps {
		path := st.path
		status := st.status
		if strings.HasPrefix(path, "app/hook/deliveries/1") {
			path = strings.Replace(path, "deliveries/1", fmt.Sprintf("deliveries/%d", deliveries[0].ID), 1)
			status = 200
			if st.method == "POST" {
				status = 202
			}
		}
		path = strings.ReplaceAll(path, "CHECK", checkID)
		r := st.c.do(st.method, path, st.body)
		if r.StatusCode != status {
			t.Errorf("%s %s: %d, want %d: %.300s", st.method, path, r.StatusCode, status, r.body)
			continue
		}
		calls := s.Calls()
		last := calls[len(calls)-1]
		if last.Operation != st.op {
			t.Errorf("%s %s answered as %q, want %q", st.method, path, last.Operation, st.op)
		}
		if st.op == "checks/create" && status == 201 {
			checkID = fmt.Sprint(fieldInt(t, r.object(t), "id"))
		}
		if status < 400 {
			succeeded[st.op] = true
		}
		if status == http.StatusFound {
			continue
		}
		op := s.desc.byID[st.op]
		if s.desc.response(op, status) == nil {
			continue // GitHub describes no body for this status
		}
		if errs := s.responseErrors(op, status, r.body); len(errs) > 0 {
			t.Errorf("%s %s (%d) does not match the description:\n  %s", st.method, path, status, strings.Join(errs, "\n  "))
		}
	}
	var missing []string
	for id := range handlers {
		if !succeeded[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations not exercised with success here: %v", missing)
	}
}

func (s *Server) sortedDeliveriesLocked() []HookDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedDeliveries()
}

// TestResponseCheckCatchesAMissingField shows the conformance check can
// fail: a pull request without a required field is reported.
func TestResponseCheckCatchesAMissingField(t *testing.T) {
	s := fixture(t)
	s.AddPullRequest("acme/widgets", PullRequest{HeadSHA: s.Branch("acme/widgets", "main")})
	r := s.asInstallation(t, 42).get("repos/acme/widgets/pulls/1")
	want(t, r, http.StatusOK)
	op := s.desc.byID["pulls/get"]
	if errs := s.responseErrors(op, 200, r.body); len(errs) != 0 {
		t.Fatalf("a good response fails: %v", errs)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "node_id")
	delete(m["head"].(map[string]any)["repo"].(map[string]any), "default_branch")
	m["state"] = "merged"
	broken, _ := json.Marshal(m)
	errs := strings.Join(s.responseErrors(op, 200, broken), "\n")
	for _, want := range []string{`"node_id" wasn't supplied.`, `For 'head/repo', "default_branch" wasn't supplied.`, `For 'state', "merged" is not a member of ["open", "closed"].`} {
		if !strings.Contains(errs, want) {
			t.Errorf("errors %q lack %q", errs, want)
		}
	}
}
