package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// checkRunServer keeps check runs as GitHub does: annotations of a PATCH
// are appended to the run's.
type checkRunServer struct {
	*server
	mu   sync.Mutex
	runs map[int64]*storedRun
	next int64
}

type storedRun struct {
	body        map[string]any
	annotations []map[string]any
	batches     []int // annotations per request
}

func newCheckRunServer(t *testing.T) *checkRunServer {
	cs := &checkRunServer{server: newServer(t, ""), runs: map[int64]*storedRun{}, next: 900}
	decode := func(r *http.Request) (map[string]any, []map[string]any, error) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return nil, nil, err
		}
		var anns []map[string]any
		if out, ok := body["output"].(map[string]any); ok {
			if _, ok := out["summary"].(string); !ok {
				return nil, nil, errors.New("output without summary")
			}
			if _, ok := out["title"].(string); !ok {
				return nil, nil, errors.New("output without title")
			}
			if list, ok := out["annotations"].([]any); ok {
				if len(list) > 50 {
					return nil, nil, fmt.Errorf("%d annotations in one request", len(list))
				}
				for _, a := range list {
					anns = append(anns, a.(map[string]any))
				}
			}
		}
		return body, anns, nil
	}
	cs.handle("POST /repos/o/r/check-runs", func(w http.ResponseWriter, r *http.Request) {
		body, anns, err := decode(r)
		if err != nil {
			writeJSON(w, 422, map[string]any{"message": err.Error()})
			return
		}
		cs.mu.Lock()
		cs.next++
		id := cs.next
		cs.runs[id] = &storedRun{body: body, annotations: anns, batches: []int{len(anns)}}
		cs.mu.Unlock()
		writeJSON(w, 201, map[string]any{"id": id, "name": body["name"], "head_sha": body["head_sha"]})
	})
	cs.handle("PATCH /repos/o/r/check-runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		body, anns, err := decode(r)
		if err != nil {
			writeJSON(w, 422, map[string]any{"message": err.Error()})
			return
		}
		var id int64
		fmt.Sscan(r.PathValue("id"), &id)
		cs.mu.Lock()
		defer cs.mu.Unlock()
		run, ok := cs.runs[id]
		if !ok {
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
			return
		}
		for k, v := range body {
			run.body[k] = v
		}
		run.annotations = append(run.annotations, anns...)
		run.batches = append(run.batches, len(anns))
		writeJSON(w, 200, map[string]any{"id": id})
	})
	return cs
}

// run is a snapshot of a stored check run.
func (cs *checkRunServer) run(id int64) storedRun {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	r := cs.runs[id]
	if r == nil {
		return storedRun{}
	}
	body := map[string]any{}
	for k, v := range r.body {
		body[k] = v
	}
	return storedRun{body: body, annotations: append([]map[string]any(nil), r.annotations...), batches: append([]int(nil), r.batches...)}
}

func manyAnnotations(n int) []app.Annotation {
	var out []app.Annotation
	for i := range n {
		out = append(out, app.Annotation{Path: fmt.Sprintf("src/f%03d.go", i), StartLine: i + 1, EndLine: i + 1,
			Level: "notice", Title: "Governed by ADR-7", Message: fmt.Sprintf("note %d", i)})
	}
	return out
}

func TestCheckRunAnnotationsInBatches(t *testing.T) {
	cs := newCheckRunServer(t)
	completed := time.Date(2026, 6, 1, 9, 30, 0, 0, time.UTC)
	a := cs.app(t, nil)
	c := a.Installation(1)
	run := app.CheckRunWrite{
		Name: "backstory", HeadSHA: "abc123", Status: "completed", Conclusion: "neutral",
		Title: "Context missing", Summary: "This change needs a why.", Text: "Add a **Why** section.",
		Annotations: manyAnnotations(120), CompletedAt: completed,
		Actions: []app.Action{{Label: "Not needed", Description: "Waive the context check", Identifier: "waive"}},
	}
	id, err := c.CreateCheckRun(context.Background(), "o/r", run)
	if err != nil {
		t.Fatal(err)
	}
	stored := cs.run(id)
	if fmt.Sprint(stored.batches) != "[50 50 20]" {
		t.Errorf("annotations per request %v, want [50 50 20]", stored.batches)
	}
	if len(stored.annotations) != 120 {
		t.Fatalf("%d annotations arrived, want 120", len(stored.annotations))
	}
	for i, ann := range stored.annotations {
		if ann["message"] != fmt.Sprintf("note %d", i) || ann["annotation_level"] != "notice" || ann["start_line"] != float64(i+1) {
			t.Fatalf("annotation %d arrived as %v", i, ann)
		}
	}
	if n := cs.count("POST", "/check-runs"); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	if stored.body["completed_at"] != "2026-06-01T09:30:00Z" || stored.body["conclusion"] != "neutral" {
		t.Errorf("completed_at %v conclusion %v", stored.body["completed_at"], stored.body["conclusion"])
	}
	actions, _ := stored.body["actions"].([]any)
	if len(actions) != 1 || actions[0].(map[string]any)["identifier"] != "waive" {
		t.Errorf("actions %v", stored.body["actions"])
	}
	// Every follow-up request repeats the output's title, summary and text.
	for _, r := range cs.recorded() {
		if r.Method != http.MethodPatch {
			continue
		}
		var body struct {
			Name   *string
			Output struct{ Title, Summary, Text string }
		}
		json.Unmarshal(r.Body, &body)
		if body.Output.Title != run.Title || body.Output.Summary != run.Summary || body.Output.Text != run.Text {
			t.Errorf("follow-up PATCH output %+v", body.Output)
		}
		if body.Name != nil {
			t.Errorf("follow-up PATCH sends name %q", *body.Name)
		}
	}

	// Update: the first 50 with the rewrite, the rest appended.
	before := len(stored.batches)
	run.Annotations = manyAnnotations(51)
	run.Conclusion = "success"
	if err := c.UpdateCheckRun(context.Background(), "o/r", id, run); err != nil {
		t.Fatal(err)
	}
	stored = cs.run(id)
	if got := fmt.Sprint(stored.batches[before:]); got != "[50 1]" {
		t.Errorf("update sent annotations as %s, want [50 1]", got)
	}
	if stored.body["conclusion"] != "success" {
		t.Errorf("conclusion %v after update", stored.body["conclusion"])
	}
}

func TestCheckRunWithoutAnnotationsIsOneRequest(t *testing.T) {
	cs := newCheckRunServer(t)
	a := cs.app(t, func(o *Options) { o.Now = func() time.Time { return fixedNow } })
	c := a.Installation(1)
	id, err := c.CreateCheckRun(context.Background(), "o/r", app.CheckRunWrite{
		Name: "backstory", HeadSHA: "abc", Status: "completed", Conclusion: "success", Title: "OK", Summary: "Nothing needed.",
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cs.recorded()); n != 2 { // token + create
		t.Errorf("%d requests, want 2", n)
	}
	// Without CompletedAt, completion is stamped with the App's clock.
	if got := cs.run(id).body["completed_at"]; got != "2026-06-01T10:00:00Z" {
		t.Errorf("completed_at %v", got)
	}
	// An in-progress update leaves output alone when it has none.
	if err := c.UpdateCheckRun(context.Background(), "o/r", id, app.CheckRunWrite{Status: "in_progress"}); err != nil {
		t.Fatal(err)
	}
	last := cs.recorded()[len(cs.recorded())-1]
	if strings.Contains(string(last.Body), "output") || strings.Contains(string(last.Body), `"name"`) {
		t.Errorf("update body %s, want neither output nor name", last.Body)
	}
}

func TestCheckRunValidation(t *testing.T) {
	ok := app.CheckRunWrite{Name: "backstory", HeadSHA: "abc", Status: "completed", Conclusion: "failure", Title: "t", Summary: "s"}
	tests := []struct {
		name     string
		edit     func(*app.CheckRunWrite)
		contains string
	}{
		{"summary too long", func(r *app.CheckRunWrite) { r.Summary = strings.Repeat("é", 65536) }, "summary is 65536 characters"},
		{"text too long", func(r *app.CheckRunWrite) { r.Text = strings.Repeat("a", 70000) }, "text is 70000 characters"},
		{"four actions", func(r *app.CheckRunWrite) {
			r.Actions = make([]app.Action, 4)
			for i := range r.Actions {
				r.Actions[i] = app.Action{Label: "l", Description: "d", Identifier: fmt.Sprint(i)}
			}
		}, "4 actions"},
		{"long label", func(r *app.CheckRunWrite) {
			r.Actions = []app.Action{{Label: "This label is too long", Description: "d", Identifier: "i"}}
		}, "label"},
		{"long identifier", func(r *app.CheckRunWrite) {
			r.Actions = []app.Action{{Label: "l", Description: "d", Identifier: "an-identifier-too-long"}}
		}, "identifier"},
		{"bad level", func(r *app.CheckRunWrite) {
			r.Annotations = []app.Annotation{{Path: "a", StartLine: 1, EndLine: 1, Level: "error", Message: "m"}}
		}, `level "error"`},
		{"bad lines", func(r *app.CheckRunWrite) {
			r.Annotations = []app.Annotation{{Path: "a", StartLine: 3, EndLine: 2, Level: "notice", Message: "m"}}
		}, "lines 3 to 2"},
		{"annotations without summary", func(r *app.CheckRunWrite) {
			r.Summary = ""
			r.Annotations = []app.Annotation{{Path: "a", StartLine: 1, EndLine: 1, Level: "notice", Message: "m"}}
		}, "needs a title and a summary"},
		{"completed without conclusion", func(r *app.CheckRunWrite) { r.Conclusion = "" }, "needs a conclusion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := newCheckRunServer(t)
			c := cs.app(t, nil).Installation(1)
			run := ok
			tt.edit(&run)
			_, err := c.CreateCheckRun(context.Background(), "o/r", run)
			if err == nil || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("create: %v, want an error saying %q", err, tt.contains)
			}
			err = c.UpdateCheckRun(context.Background(), "o/r", 1, run)
			if err == nil || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("update: %v, want an error saying %q", err, tt.contains)
			}
			if n := len(cs.recorded()); n != 0 {
				t.Errorf("%d requests sent for an invalid check run", n)
			}
		})
	}
	// Exactly at the limits is fine.
	cs := newCheckRunServer(t)
	run := ok
	run.Summary = strings.Repeat("é", 65535)
	run.Actions = []app.Action{{Label: strings.Repeat("l", 20), Description: strings.Repeat("d", 40), Identifier: strings.Repeat("i", 20)}}
	if _, err := cs.app(t, nil).Installation(1).CreateCheckRun(context.Background(), "o/r", run); err != nil {
		t.Errorf("at the limits: %v", err)
	}
}

func TestFindCheckRun(t *testing.T) {
	s := newServer(t, "")
	s.handle("GET /repos/o/r/commits/{sha}/check-runs", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("check_name") != "backstory" || q.Get("filter") != "latest" || q.Get("app_id") != fmt.Sprint(testAppID) {
			t.Errorf("query %s", r.URL.RawQuery)
		}
		if r.PathValue("sha") == "none" {
			writeJSON(w, 200, map[string]any{"total_count": 0, "check_runs": []any{}})
			return
		}
		writeJSON(w, 200, map[string]any{"total_count": 3, "check_runs": []any{
			map[string]any{"id": 10, "name": "backstory", "app": map[string]any{"id": testAppID}},
			map[string]any{"id": 30, "name": "backstory", "app": map[string]any{"id": testAppID}},
			map[string]any{"id": 99, "name": "backstory", "app": map[string]any{"id": 1}}, // another App's
			map[string]any{"id": 20, "name": "backstory", "app": map[string]any{"id": testAppID}},
		}})
	})
	c := s.app(t, nil).Installation(1)
	found, err := c.FindCheckRun(context.Background(), "o/r", "abc", "backstory")
	if err != nil || found.ID != 30 {
		t.Errorf("FindCheckRun = %+v, %v; want 30 (the newest of ours)", found, err)
	}
	_, err = c.FindCheckRun(context.Background(), "o/r", "none", "backstory")
	if !errors.Is(err, app.ErrNotFound) {
		t.Errorf("no runs: %v, want ErrNotFound", err)
	}
}
