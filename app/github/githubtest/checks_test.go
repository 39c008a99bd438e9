package githubtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func annotations(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"path": "README.md", "start_line": i + 1, "end_line": i + 1, "annotation_level": "notice", "message": fmt.Sprintf("note %d", i)}
	}
	return out
}

// TestCheckRunValidation sends check runs GitHub accepts and ones it
// refuses, and checks the answer and the recorded violation of each.
func TestCheckRunValidation(t *testing.T) {
	long := strings.Repeat("é", 65535) // characters, not bytes, are counted
	tests := []struct {
		name   string
		body   any
		status int
		want   string // in the message and the violation
	}{
		{"minimal", map[string]any{"name": "backstory", "head_sha": "HEAD"}, 201, ""},
		{"completed with conclusion", map[string]any{"name": "backstory", "head_sha": "HEAD", "status": "completed", "conclusion": "neutral",
			"output": map[string]any{"title": "t", "summary": long, "annotations": annotations(50)}}, 201, ""},
		{"conclusion alone completes", map[string]any{"name": "backstory", "head_sha": "HEAD", "conclusion": "success"}, 201, ""},
		{"51 annotations", map[string]any{"name": "backstory", "head_sha": "HEAD",
			"output": map[string]any{"title": "t", "summary": "s", "annotations": annotations(51)}}, 422, "51 items are more than the maximum of 50."},
		{"summary of 65,536 characters", map[string]any{"name": "backstory", "head_sha": "HEAD",
			"output": map[string]any{"title": "t", "summary": long + "é"}}, 422, "For 'output/summary'"},
		{"text too long", map[string]any{"name": "backstory", "head_sha": "HEAD",
			"output": map[string]any{"title": "t", "summary": "s", "text": long + "x"}}, 422, "(65536 characters; the maximum is 65535)"},
		{"missing required", map[string]any{"status": "queued"}, 422, `"name", "head_sha" weren't supplied.`},
		{"output without title", map[string]any{"name": "backstory", "head_sha": "HEAD", "output": map[string]any{"summary": "s"}}, 422, `For 'output', "title" wasn't supplied.`},
		{"wrong status", map[string]any{"name": "backstory", "head_sha": "HEAD", "status": "done"}, 422, `"done" is not a member of`},
		{"status only Actions may set", map[string]any{"name": "backstory", "head_sha": "HEAD", "status": "waiting"}, 422, `"waiting" is not a member of`},
		{"wrong conclusion", map[string]any{"name": "backstory", "head_sha": "HEAD", "conclusion": "passed"}, 422, `"passed" is not a member of`},
		{"completed without conclusion", map[string]any{"name": "backstory", "head_sha": "HEAD", "status": "completed"}, 422, `"conclusion" wasn't supplied.`},
		{"annotation without path", map[string]any{"name": "backstory", "head_sha": "HEAD", "output": map[string]any{"title": "t", "summary": "s",
			"annotations": []any{map[string]any{"start_line": 1, "end_line": 1, "annotation_level": "notice", "message": "m"}}}}, 422, `For 'output/annotations/0', "path" wasn't supplied.`},
		{"annotation level", map[string]any{"name": "backstory", "head_sha": "HEAD", "output": map[string]any{"title": "t", "summary": "s",
			"annotations": []any{map[string]any{"path": "a", "start_line": 1, "end_line": 1, "annotation_level": "error", "message": "m"}}}}, 422, `"error" is not a member of ["notice", "warning", "failure"]`},
		{"line as a string", map[string]any{"name": "backstory", "head_sha": "HEAD", "output": map[string]any{"title": "t", "summary": "s",
			"annotations": []any{map[string]any{"path": "a", "start_line": "1", "end_line": 1, "annotation_level": "notice", "message": "m"}}}}, 422, `"1" is not an integer.`},
		{"four actions", map[string]any{"name": "backstory", "head_sha": "HEAD", "actions": []any{action("a"), action("b"), action("c"), action("d")}}, 422, "4 items are more than the maximum of 3."},
		{"action label of 21", map[string]any{"name": "backstory", "head_sha": "HEAD", "actions": []any{map[string]any{"label": strings.Repeat("l", 21), "description": "d", "identifier": "i"}}}, 422, "(21 characters; the maximum is 20)"},
		{"action description of 41", map[string]any{"name": "backstory", "head_sha": "HEAD", "actions": []any{map[string]any{"label": "l", "description": strings.Repeat("d", 41), "identifier": "i"}}}, 422, "(41 characters; the maximum is 40)"},
		{"action identifier of 21", map[string]any{"name": "backstory", "head_sha": "HEAD", "actions": []any{map[string]any{"label": "l", "description": "d", "identifier": strings.Repeat("i", 21)}}}, 422, "(21 characters; the maximum is 20)"},
		{"bad timestamp", map[string]any{"name": "backstory", "head_sha": "HEAD", "started_at": "yesterday"}, 422, "is not an ISO 8601 date-time"},
		{"stale", map[string]any{"name": "backstory", "head_sha": "HEAD", "conclusion": "stale"}, 422, "cannot be set to stale"},
		{"columns across lines", map[string]any{"name": "backstory", "head_sha": "HEAD", "output": map[string]any{"title": "t", "summary": "s",
			"annotations": []any{map[string]any{"path": "a", "start_line": 1, "end_line": 2, "start_column": 1, "annotation_level": "notice", "message": "m"}}}}, 422, "start_column and end_column are only allowed"},
		{"unknown commit", map[string]any{"name": "backstory", "head_sha": strings.Repeat("f", 40)}, 422, "No commit found for SHA: ffff"},
		{"not JSON", `{"name": "backstory",`, 400, "Problems parsing JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixture(t)
			head := s.Branch("acme/widgets", "main")
			if m, ok := tt.body.(map[string]any); ok && m["head_sha"] == "HEAD" {
				m["head_sha"] = head
			}
			if tt.want != "" && tt.status != 400 {
				s.ExpectViolation(tt.want)
			} else if tt.status == 400 {
				s.ExpectViolation("the body is not JSON")
			}
			r := s.asInstallation(t, 42).do("POST", "repos/acme/widgets/check-runs", tt.body)
			want(t, r, tt.status)
			if tt.want != "" {
				if msg := r.message(t); !strings.Contains(msg, tt.want) {
					t.Errorf("message %q does not contain %q", msg, tt.want)
				}
				if tt.status == 422 && !strings.HasPrefix(r.message(t), "Invalid request.\n\n") && !strings.HasPrefix(r.message(t), "No commit found") {
					t.Errorf("message %q does not start as GitHub's", r.message(t))
				}
				if fieldString(t, r.object(t), "documentation_url") == "" {
					t.Error("no documentation_url")
				}
				if len(s.CheckRuns("acme/widgets")) != 0 {
					t.Error("a refused check run was stored")
				}
				return
			}
			if len(s.Violations()) != 0 {
				t.Errorf("violations for a valid request: %v", s.Violations())
			}
			runs := s.CheckRuns("acme/widgets")
			if len(runs) != 1 || runs[0].HeadSHA != head {
				t.Fatalf("stored runs %+v", runs)
			}
		})
	}
}

func action(id string) map[string]any {
	return map[string]any{"label": "Not needed", "description": "Waive the check for this PR", "identifier": id}
}

func TestCheckRunLifecycle(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	head := s.Branch("acme/widgets", "main")
	r := c.do("POST", "repos/acme/widgets/check-runs", map[string]any{
		"name": "backstory", "head_sha": head, "status": "in_progress", "external_id": "pr-1",
		"output":  map[string]any{"title": "Checking", "summary": "…", "annotations": annotations(50)},
		"actions": []any{action("waive")},
	})
	want(t, r, http.StatusCreated)
	run := r.object(t)
	id := fieldInt(t, run, "id")
	if fieldString(t, run, "status") != "in_progress" || field(t, run, "conclusion") != nil || field(t, run, "completed_at") != nil {
		t.Errorf("new run: status %v conclusion %v completed_at %v", field(t, run, "status"), field(t, run, "conclusion"), field(t, run, "completed_at"))
	}
	if fieldInt(t, run, "output/annotations_count") != 50 {
		t.Errorf("annotations_count %d", fieldInt(t, run, "output/annotations_count"))
	}
	if fieldInt(t, run, "app/id") != s.AppID {
		t.Errorf("app id %d", fieldInt(t, run, "app/id"))
	}

	// GitHub appends the annotations of an update to those already there.
	r = c.do("PATCH", fmt.Sprintf("repos/acme/widgets/check-runs/%d", id), map[string]any{
		"conclusion": "failure",
		"output":     map[string]any{"title": "Missing why", "summary": "Add a Why section.", "annotations": annotations(20)},
	})
	want(t, r, http.StatusOK)
	run = r.object(t)
	if fieldString(t, run, "status") != "completed" || fieldString(t, run, "conclusion") != "failure" || field(t, run, "completed_at") == nil {
		t.Errorf("after a conclusion: status %v conclusion %v completed_at %v", field(t, run, "status"), field(t, run, "conclusion"), field(t, run, "completed_at"))
	}
	if fieldInt(t, run, "output/annotations_count") != 70 {
		t.Errorf("annotations_count after update %d, want 70 (appended)", fieldInt(t, run, "output/annotations_count"))
	}
	stored := s.CheckRuns("acme/widgets")[0]
	if len(stored.Annotations) != 70 || stored.Updates != 1 || stored.Title != "Missing why" || stored.ExternalID != "pr-1" ||
		len(stored.Actions) != 1 || stored.Actions[0].Identifier != "waive" || stored.Conclusion != "failure" {
		t.Errorf("stored %+v", stored)
	}

	// The annotations are listed through the API too.
	r = c.get(fmt.Sprintf("repos/acme/widgets/check-runs/%d/annotations?per_page=100", id))
	want(t, r, http.StatusOK)
	if n := len(r.array(t)); n != 70 {
		t.Errorf("listed %d annotations", n)
	}

	// An update's output needs a summary, as the 2022 description says.
	s.ExpectViolation(`For 'output', "summary" wasn't supplied.`)
	r = c.do("PATCH", fmt.Sprintf("repos/acme/widgets/check-runs/%d", id), map[string]any{"output": map[string]any{"title": "x"}})
	want(t, r, http.StatusUnprocessableEntity)

	// Another repository's run is not found.
	s.Commit("acme/secret", "main", map[string][]byte{"x": []byte("x")})
	r = c.get(fmt.Sprintf("repos/acme/secret/check-runs/%d", id))
	want(t, r, http.StatusNotFound)

	// Only the App that made a run may change it.
	other := s.AddCheckRun("acme/widgets", CheckRun{AppID: 7, Name: "ci", HeadSHA: head, Conclusion: "success"})
	r = c.do("PATCH", fmt.Sprintf("repos/acme/widgets/check-runs/%d", other), map[string]any{"status": "queued"})
	want(t, r, http.StatusForbidden)
}

func TestListCheckRunsForRef(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	head := s.Branch("acme/widgets", "main")
	create := func(name string) int64 {
		r := c.do("POST", "repos/acme/widgets/check-runs", map[string]any{"name": name, "head_sha": head})
		want(t, r, http.StatusCreated)
		return fieldInt(t, r.object(t), "id")
	}
	first := create("backstory")
	second := create("backstory")
	create("lint")
	s.AddCheckRun("acme/widgets", CheckRun{AppID: 7, Name: "backstory", HeadSHA: head, Conclusion: "success"})

	ids := func(r answer) []int64 {
		var out []int64
		for _, run := range field(t, r.object(t), "check_runs").([]any) {
			out = append(out, fieldInt(t, run, "id"))
		}
		return out
	}
	tests := []struct {
		query string
		count int
	}{
		{"", 3},                                 // latest per App and name
		{"?filter=all", 4},                      // every run
		{"?check_name=backstory", 2},            // ours and the other App's
		{"?check_name=backstory&filter=all", 3}, //
		{fmt.Sprintf("?check_name=backstory&app_id=%d", s.AppID), 1},
		{"?status=completed", 1},
	}
	for _, tt := range tests {
		r := c.get("repos/acme/widgets/commits/" + head + "/check-runs" + tt.query)
		want(t, r, http.StatusOK)
		got := ids(r)
		if len(got) != tt.count || fieldInt(t, r.object(t), "total_count") != int64(tt.count) {
			t.Errorf("%s: %d runs (total_count %d), want %d", tt.query, len(got), fieldInt(t, r.object(t), "total_count"), tt.count)
		}
	}
	r := c.get(fmt.Sprintf("repos/acme/widgets/commits/%s/check-runs?check_name=backstory&app_id=%d", head, s.AppID))
	if got := ids(r); len(got) != 1 || got[0] != second {
		t.Errorf("latest run %v, want %d (not %d)", got, second, first)
	}
	// A branch name is a ref too.
	r = c.get("repos/acme/widgets/commits/main/check-runs?filter=all")
	want(t, r, http.StatusOK)
	if len(ids(r)) != 4 {
		t.Errorf("by branch name: %v", ids(r))
	}
}

func TestCheckRunPullRequests(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	s.Commit("acme/widgets", "feature", map[string][]byte{"a.txt": []byte("a\n")})
	s.AddPullRequest("acme/widgets", PullRequest{HeadRef: "feature"})
	s.AddRepo("fork/widgets", RepoOptions{ForkOf: "acme/widgets"})
	forkSHA := s.Commit("fork/widgets", "patch-1", map[string][]byte{"b.txt": []byte("b\n")})
	s.AddPullRequest("acme/widgets", PullRequest{HeadRepo: "fork/widgets", HeadRef: "patch-1"})

	r := c.do("POST", "repos/acme/widgets/check-runs", map[string]any{"name": "backstory", "head_sha": s.Branch("acme/widgets", "feature")})
	want(t, r, http.StatusCreated)
	prs := field(t, r.object(t), "pull_requests").([]any)
	if len(prs) != 1 || fieldInt(t, prs[0], "number") != 1 {
		t.Errorf("pull_requests of a same-repository PR head: %s", show(prs))
	}
	// A fork's head commit is accepted (GitHub fetches it into the base
	// repository) but the run lists no pull request.
	r = c.do("POST", "repos/acme/widgets/check-runs", map[string]any{"name": "backstory", "head_sha": forkSHA})
	want(t, r, http.StatusCreated)
	if prs := field(t, r.object(t), "pull_requests").([]any); len(prs) != 0 {
		t.Errorf("pull_requests of a fork PR head: %s, want none as GitHub", show(prs))
	}
}
