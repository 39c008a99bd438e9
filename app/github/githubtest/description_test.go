package githubtest

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testDescription(t *testing.T) *description {
	t.Helper()
	p, err := findDescription()
	if err != nil {
		t.Fatal(err)
	}
	d, err := loadDescription(p)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRouting(t *testing.T) {
	d := testDescription(t)
	tests := []struct {
		method, path string
		op           string // "" when nothing matches
		params       map[string]string
		pathKnown    bool
	}{
		{"GET", "/app", "apps/get-authenticated", nil, false},
		{"POST", "/app-manifests/abc123/conversions", "apps/create-from-manifest", map[string]string{"code": "abc123"}, false},
		{"POST", "/app/installations/42/access_tokens", "apps/create-installation-access-token", map[string]string{"installation_id": "42"}, false},
		{"GET", "/repos/acme/widgets/contents/docs/decisions/0001-x.md", "repos/get-content", map[string]string{"owner": "acme", "repo": "widgets", "path": "docs/decisions/0001-x.md"}, false},
		{"GET", "/repos/acme/widgets/commits/abc123/check-runs", "checks/list-for-ref", map[string]string{"ref": "abc123"}, false},
		{"GET", "/repos/acme/widgets/commits/feature/x/check-runs", "checks/list-for-ref", map[string]string{"ref": "feature/x"}, false},
		{"GET", "/repos/acme/widgets/commits/abc123/pulls", "repos/list-pull-requests-associated-with-commit", map[string]string{"commit_sha": "abc123"}, false},
		{"GET", "/repos/acme/widgets/commits/abc123", "repos/get-commit", map[string]string{"ref": "abc123"}, false},
		{"GET", "/repos/acme/widgets/git/trees/feature/x", "git/get-tree", map[string]string{"tree_sha": "feature/x"}, false},
		{"GET", "/repos/acme/widgets/tarball/main", "repos/download-tarball-archive", map[string]string{"ref": "main"}, false},
		{"GET", "/repos/acme/widgets/pulls/7/files", "pulls/list-files", map[string]string{"pull_number": "7"}, false},
		{"PATCH", "/repos/acme/widgets/check-runs/9", "checks/update", map[string]string{"check_run_id": "9"}, false},
		{"GET", "/repos/acme/widgets/collaborators/octocat/permission", "repos/get-collaborator-permission-level", map[string]string{"username": "octocat"}, false},
		// A path GitHub has, with a method it has not.
		{"DELETE", "/repos/acme/widgets/check-runs", "", nil, true},
		{"GET", "/no/such/endpoint", "", nil, false},
		// An empty greedy parameter matches nothing: GitHub has no
		// /contents/ with an empty path in this description.
		{"GET", "/repos/acme/widgets/contents/", "", nil, false},
		{"GET", "/repos/acme/widgets/contents/a//b", "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			parts, ok := splitPath(tt.path)
			if !ok {
				t.Fatalf("splitPath(%q) failed", tt.path)
			}
			op, params, known := d.match(tt.method, parts)
			got := ""
			if op != nil {
				got = op.ID
			}
			if got != tt.op {
				t.Fatalf("matched %q, want %q", got, tt.op)
			}
			for k, v := range tt.params {
				if params[k] != v {
					t.Errorf("param %s = %q, want %q", k, params[k], v)
				}
			}
			if op == nil && known != tt.pathKnown {
				t.Errorf("pathKnown = %v, want %v", known, tt.pathKnown)
			}
		})
	}
}

// Every operation the fake answers must be an operation of the
// description, with the method and path the handlers assume.
func TestHandlersAreDescribedOperations(t *testing.T) {
	d := testDescription(t)
	for id := range handlers {
		if _, ok := d.byID[id]; !ok {
			t.Errorf("handler for %q: no such operation in GitHub's description", id)
		}
	}
	for id := range opPermissions {
		if _, ok := d.byID[id]; !ok {
			t.Errorf("opPermissions names %q: no such operation", id)
		}
	}
}

func TestMissingDescriptionFailsClearly(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("BACKSTORY_SHARED", empty)
	t.Chdir(empty) // no go.mod above a temp dir: nothing to fall back on
	_, err := NewServer()
	if err == nil {
		t.Fatal("NewServer found a description in an empty directory")
	}
	for _, want := range []string{descriptionFile, "BACKSTORY_SHARED", filepath.Join(empty, "corpus", "openapi")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	tb := &recordingTB{real: t}
	if !tb.fatal(func() { New(tb) }) {
		t.Fatal("New with no description did not stop the test")
	}
	if len(tb.errors) != 1 || !strings.Contains(tb.errors[0], "BACKSTORY_SHARED") {
		t.Errorf("New reported %q", tb.errors)
	}
}

func TestDescriptionFromEnvironment(t *testing.T) {
	p, err := findDescription()
	if err != nil {
		t.Fatal(err)
	}
	shared := filepath.Dir(filepath.Dir(filepath.Dir(p)))
	t.Setenv("BACKSTORY_SHARED", shared)
	t.Chdir(t.TempDir())
	got, err := findDescription()
	if err != nil {
		t.Fatal(err)
	}
	if got != filepath.Join(shared, "corpus", "openapi", descriptionFile) {
		t.Errorf("found %s", got)
	}
	if _, err := NewServer(WithDescription(filepath.Join(t.TempDir(), "none.json.gz"))); err == nil {
		t.Error("WithDescription of a missing file: no error")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"openapi":"2.0","paths":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewServer(WithDescription(bad)); err == nil || !strings.Contains(err.Error(), "only 3.0") {
		t.Errorf("a Swagger 2.0 file: error %v", err)
	}
}

// BenchmarkParseDescription measures what the first server of a test
// process pays (later ones reuse the parsed description).
func BenchmarkParseDescription(b *testing.B) {
	p, err := findDescription()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		gz, err := gzip.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := parseDescription(gz); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
