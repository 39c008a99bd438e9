package githubtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"testing"
)

func TestPayload(t *testing.T) {
	body, err := Payload("pull_request", "opened.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Action      string `json:"action"`
		PullRequest struct {
			Number int `json:"number"`
		} `json:"pull_request"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Action != "opened" || p.PullRequest.Number != 2 {
		t.Errorf("pull_request/opened.payload.json: action %q, number %d", p.Action, p.PullRequest.Number)
	}

	body[0] = 'x'
	again, err := Payload("pull_request", "opened.payload.json")
	if err != nil || again[0] != '{' {
		t.Errorf("changing a payload changed the next caller's (%q, %v)", again[:1], err)
	}

	for _, tt := range []struct{ event, file string }{
		{"pull_request", "no-such.payload.json"},
		{"no_such_event", "payload.json"},
		{"pull_request", "../push/payload.json"},
		{"..", "README.md"},
		{"", "README.md"},
		{"pull_request", ""},
	} {
		if _, err := Payload(tt.event, tt.file); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Payload(%q, %q): error %v, want one matching fs.ErrNotExist", tt.event, tt.file, err)
		}
	}
}

func TestPayloads(t *testing.T) {
	files, err := Payloads()
	if err != nil {
		t.Fatal(err)
	}
	// The counts in testdata/webhooks/README.md: a file go:embed left out
	// (a name starting with "." or "_") would show here.
	events := map[string]int{}
	for _, f := range files {
		events[f.Event]++
		if !json.Valid(f.Body) {
			t.Errorf("%s/%s is not JSON", f.Event, f.Name)
		}
	}
	if len(files) != 86 || len(events) != 15 || events["pull_request"] != 28 {
		t.Errorf("%d payloads of %d events (%d pull_request), want 86 of 15 (28)", len(files), len(events), events["pull_request"])
	}
	if !sort.SliceIsSorted(files, func(i, j int) bool {
		if files[i].Event != files[j].Event {
			return files[i].Event < files[j].Event
		}
		return files[i].Name < files[j].Name
	}) {
		t.Error("payloads are not sorted by event and name")
	}
	for _, f := range files {
		if f.Event == "check_run" && f.Name == "created.payload.json" {
			one, err := Payload(f.Event, f.Name)
			if err != nil || !bytes.Equal(one, f.Body) {
				t.Errorf("Payloads and Payload disagree on %s/%s (%v)", f.Event, f.Name, err)
			}
			return
		}
	}
	t.Error("no check_run/created.payload.json")
}

// TestVendoredCorpusMatchesShared keeps the embedded copies identical to
// the shared corpus they were copied from, where that corpus is at hand
// (CI has it beside the clone).
func TestVendoredCorpusMatchesShared(t *testing.T) {
	corpus := sharedCorpus(t)
	// Every payload is vendored; of corpus/openapi, only the full
	// description and its licence and provenance.
	compareTrees(t, vendoredWebhooks, filepath.Join(corpus, "webhooks"), true)
	compareTrees(t, vendoredOpenAPI, filepath.Join(corpus, "openapi"), false)
	if _, err := fs.Stat(vendored, path.Join(vendoredOpenAPI, descriptionFile)); err != nil {
		t.Errorf("the description is not embedded: %v", err)
	}
}

// compareTrees fails for every embedded file under dir that differs from
// its counterpart under shared, and, when complete, for every file under
// shared that is not embedded.
func compareTrees(t *testing.T, dir, shared string, complete bool) {
	t.Helper()
	refresh := func(rel string) string {
		return "copy it again: cp " + filepath.Join(shared, rel) + " app/github/githubtest/" + path.Join(dir, rel)
	}
	embedded := map[string]bool{}
	err := fs.WalkDir(vendored, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := p[len(dir)+1:]
		embedded[rel] = true
		got, err := vendored.ReadFile(p)
		if err != nil {
			return err
		}
		want, err := os.ReadFile(filepath.Join(shared, filepath.FromSlash(rel)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			t.Errorf("%s is embedded but not in %s: remove it, or restore the shared one", p, shared)
		case err != nil:
			return err
		case !bytes.Equal(got, want):
			t.Errorf("%s differs from %s: %s", p, filepath.Join(shared, rel), refresh(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !complete {
		return
	}
	err = filepath.WalkDir(shared, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(shared, p)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); !embedded[rel] {
			t.Errorf("%s is not embedded: %s", p, refresh(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sharedCorpus returns the shared folder's corpus/: $BACKSTORY_SHARED's
// when it is set, else that of the shared folder beside the module root
// (../shared from the directory holding go.mod). It skips the test when
// there is none, so BACKSTORY_SHARED=/nonexistent stands for a machine
// without the shared folder.
func sharedCorpus(t *testing.T) string {
	t.Helper()
	var shared string
	if env := os.Getenv("BACKSTORY_SHARED"); env != "" {
		shared = env
	} else {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				shared = filepath.Join(dir, "..", "shared")
				break
			}
			if filepath.Dir(dir) == dir {
				t.Fatalf("no go.mod above %s", wd)
			}
		}
	}
	corpus := filepath.Join(shared, "corpus")
	if st, err := os.Stat(corpus); err != nil || !st.IsDir() {
		t.Skipf("no shared corpus at %s to compare the embedded copies with", corpus)
	}
	return corpus
}
