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
	d, err := loadDescription("")
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

// The fake needs nothing beside the checkout: the description is built in.
func TestDescriptionNeedsNoSharedFolder(t *testing.T) {
	t.Setenv("BACKSTORY_SHARED", filepath.Join(t.TempDir(), "none"))
	t.Chdir(t.TempDir()) // no go.mod above, no ../shared beside it
	s, err := NewServer()
	if err != nil {
		t.Fatalf("NewServer away from the checkout: %v", err)
	}
	defer s.Close()
	if _, ok := s.desc.byID["checks/create"]; !ok {
		t.Error("the embedded description has no checks/create")
	}
}

func TestWithDescription(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.json.gz")
	if _, err := NewServer(WithDescription(missing)); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("WithDescription of a missing file: error %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"openapi":"2.0","paths":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewServer(WithDescription(bad)); err == nil || !strings.Contains(err.Error(), "only 3.0") {
		t.Errorf("a Swagger 2.0 file: error %v", err)
	}

	tb := &recordingTB{real: t}
	if !tb.fatal(func() { New(tb, WithDescription(missing)) }) {
		t.Fatal("New with an unreadable description did not stop the test")
	}
	if len(tb.errors) != 1 || !strings.Contains(tb.errors[0], missing) {
		t.Errorf("New reported %q", tb.errors)
	}
}

// BenchmarkParseDescription measures what the first server of a test
// process pays (later ones reuse the parsed description).
func BenchmarkParseDescription(b *testing.B) {
	for b.Loop() {
		f, err := vendored.Open(vendoredOpenAPI + "/" + descriptionFile)
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
