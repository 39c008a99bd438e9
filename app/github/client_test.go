package github

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// pullJSON is a pull request from a fork, shaped like GitHub's pulls/get
// answer (trimmed to what the App reads and a little around it).
const pullJSON = `{
  "url": "https://api.github.com/repos/acme/widgets/pulls/42",
  "html_url": "https://github.com/acme/widgets/pull/42",
  "number": 42, "state": "open", "locked": false, "draft": true, "merged": false, "merged_at": null,
  "title": "Move state to Kafka",
  "body": "## Why\nConsumers poll too much.",
  "user": {"login": "octocat", "id": 1, "type": "User"},
  "labels": [{"id": 1, "name": "architecture"}, {"id": 2, "name": "no-context-needed"}],
  "head": {"label": "fork:kafka", "ref": "kafka", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
    "user": {"login": "forker"}, "repo": {"id": 9, "full_name": "forker/widgets", "default_branch": "trunk"}},
  "base": {"label": "acme:main", "ref": "main", "sha": "a1b2c3",
    "user": {"login": "acme"}, "repo": {"id": 8, "full_name": "acme/widgets", "default_branch": "main"}},
  "author_association": "CONTRIBUTOR"
}`

func TestPullRequest(t *testing.T) {
	s := newServer(t, "")
	s.handle("GET /repos/acme/widgets/pulls/42", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(pullJSON))
	})
	pr, err := s.app(t, nil).Installation(1).PullRequest(context.Background(), "acme/widgets", 42)
	if err != nil {
		t.Fatal(err)
	}
	want := app.PullRequest{
		Repository: "acme/widgets", Number: 42, State: "open", Draft: true,
		Title: "Move state to Kafka", Body: "## Why\nConsumers poll too much.",
		Author: "octocat", AuthorType: "User", Labels: []string{"architecture", "no-context-needed"},
		HeadSHA: "6dcb09b5b57875f334f61aebed695e2e4193db5e", HeadRef: "kafka", HeadRepository: "forker/widgets",
		BaseRef: "main", BaseSHA: "a1b2c3", DefaultBranch: "main", HTMLURL: "https://github.com/acme/widgets/pull/42",
	}
	if !reflect.DeepEqual(pr, want) {
		t.Errorf("PullRequest\n got %+v\nwant %+v", pr, want)
	}
}

func TestRepositoryNamesAreChecked(t *testing.T) {
	s := newServer(t, "")
	c := s.app(t, nil).Installation(1)
	for _, repo := range []string{"", "acme", "acme/", "/widgets", "acme/widgets/extra", "acme/wid gets", "acme/..", "../r", "./r", "acme/w?x=1"} {
		_, err := c.PullRequest(context.Background(), repo, 1)
		if err == nil || !strings.Contains(err.Error(), "want owner/name") {
			t.Errorf("repo %q: %v, want a clear error", repo, err)
		}
	}
	if n := len(s.recorded()); n != 0 {
		t.Errorf("%d requests sent for bad names", n)
	}
}

// pages answers a list of n items, perPage a page, with GitHub's Link
// header.
func pages(t *testing.T, s *server, n int, item func(i int) map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.Query().Get("per_page"); got != "100" {
			t.Errorf("per_page=%q, want 100", got)
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page == 0 {
			page = 1
		}
		last := (n + 99) / 100
		var list []map[string]any
		for i := (page - 1) * 100; i < page*100 && i < n; i++ {
			list = append(list, item(i))
		}
		link := func(p int, rel string) string {
			q := r.URL.Query()
			q.Set("page", strconv.Itoa(p))
			return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, s.srv.URL, r.URL.Path, q.Encode(), rel)
		}
		var links []string
		if page < last {
			links = append(links, link(page+1, "next"), link(last, "last"))
		}
		if page > 1 {
			links = append(links, link(1, "first"), link(page-1, "prev"))
		}
		if len(links) > 0 {
			w.Header().Set("Link", strings.Join(links, ", "))
		}
		if list == nil {
			list = []map[string]any{}
		}
		writeJSON(w, 200, list)
	}
}

func TestPullRequestFilesPages(t *testing.T) {
	for _, tt := range []struct {
		name          string
		files         int
		wantFiles     int
		wantRequests  int
		renamedAtFile int
	}{
		{"250 files, 3 pages", 250, 250, 3, 101},
		{"one page", 7, 7, 1, 3},
		// GitHub lists 3,000 at most; a server that goes on is not followed.
		{"stops at 3000", 3500, 3000, 30, 2999},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, "")
			s.handle("GET /repos/o/r/pulls/5/files", pages(t, s, tt.files, func(i int) map[string]any {
				f := map[string]any{"sha": "x", "filename": fmt.Sprintf("dir/file%04d.md", i), "status": "modified",
					"additions": i, "deletions": 1, "changes": i + 1, "patch": "@@ -1 +1 @@\n-a\n+b"}
				if i == tt.renamedAtFile {
					f["status"], f["previous_filename"] = "renamed", "old/name.md"
				}
				return f
			}))
			files, err := s.app(t, nil).Installation(1).PullRequestFiles(context.Background(), "o/r", 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != tt.wantFiles {
				t.Fatalf("%d files, want %d", len(files), tt.wantFiles)
			}
			for i, f := range files {
				if f.Path != fmt.Sprintf("dir/file%04d.md", i) || f.Additions != i {
					t.Fatalf("file %d is %+v", i, f)
				}
			}
			r := files[tt.renamedAtFile]
			if r.Status != "renamed" || r.PreviousPath != "old/name.md" || r.Patch == "" || r.Deletions != 1 {
				t.Errorf("renamed file %+v", r)
			}
			if n := s.count("GET", "/pulls/5/files"); n != tt.wantRequests {
				t.Errorf("%d requests, want %d", n, tt.wantRequests)
			}
		})
	}
}

func TestOpenPullRequestsWithHead(t *testing.T) {
	s := newServer(t, "")
	const sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
	s.handle("GET /repos/acme/widgets/pulls", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("state") != "open" {
			t.Errorf("state=%q", r.URL.Query().Get("state"))
		}
		pages(t, s, 150, func(i int) map[string]any {
			head := fmt.Sprintf("%040d", i)
			repo := "acme/widgets"
			switch i {
			case 17:
				head = sha
			case 120: // a fork's PR on the same commit
				head, repo = strings.ToUpper(sha), "forker/widgets"
			}
			return map[string]any{"number": i + 1, "state": "open", "title": fmt.Sprint("PR ", i+1),
				"head": map[string]any{"sha": head, "ref": "x", "repo": map[string]any{"full_name": repo}},
				"base": map[string]any{"ref": "main", "repo": map[string]any{"full_name": "acme/widgets", "default_branch": "main"}}}
		})(w, r)
	})
	prs, err := s.app(t, nil).Installation(1).OpenPullRequestsWithHead(context.Background(), "acme/widgets", sha)
	if err != nil {
		t.Fatal(err)
	}
	if len(prs) != 2 || prs[0].Number != 18 || prs[1].Number != 121 || prs[1].HeadRepository != "forker/widgets" {
		t.Errorf("got %+v, want PRs 18 and 121 (the fork's)", prs)
	}
	if n := s.count("GET", "/pulls"); n != 2 {
		t.Errorf("%d pages read, want 2", n)
	}
}

func TestTree(t *testing.T) {
	s := newServer(t, "")
	s.handle("GET /repos/o/r/git/trees/{ref...}", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("recursive") != "1" {
			t.Errorf("recursive=%q", r.URL.Query().Get("recursive"))
		}
		if got := r.URL.EscapedPath(); got != "/repos/o/r/git/trees/feature/a%23b" {
			t.Errorf("path %s, want the ref escaped with its slash kept", got)
		}
		w.Header().Set("Date", "Sun, 22 Nov 2026 05:00:00 GMT")
		writeJSON(w, 200, map[string]any{"sha": "tree1", "truncated": true, "tree": []any{
			map[string]any{"path": "docs", "type": "tree", "sha": "t"},
			map[string]any{"path": "docs/adr/0001.md", "type": "blob", "sha": "b1", "size": 120},
			map[string]any{"path": "vendor/lib", "type": "commit", "sha": "c"},
			map[string]any{"path": "README.md", "type": "blob", "sha": "b2", "size": 7},
		}})
	})
	tree, err := s.app(t, nil).Installation(1).Tree(context.Background(), "o/r", "feature/a#b")
	if err != nil {
		t.Fatal(err)
	}
	want := app.Tree{SHA: "tree1", Truncated: true, Entries: []app.TreeEntry{
		{Path: "docs/adr/0001.md", SHA: "b1", Size: 120}, {Path: "README.md", SHA: "b2", Size: 7}},
		Date: time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)} // GitHub's clock, for ordering what replicas store
	if !reflect.DeepEqual(tree, want) {
		t.Errorf("Tree\n got %+v\nwant %+v", tree, want)
	}
}

func TestFileContent(t *testing.T) {
	s := newServer(t, "")
	config := []byte("mode: enforce\nrules: []\n")
	big := []byte(strings.Repeat("0123456789", 150_000)) // 1.5 MB
	wrapped := base64.StdEncoding.EncodeToString(config)
	// GitHub wraps base64 at 60 characters.
	wrapped = wrapped[:10] + "\n" + wrapped[10:] + "\n"
	s.handle("GET /repos/o/r/contents/{path...}", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("ref") != "main" {
			t.Errorf("ref=%q", r.URL.Query().Get("ref"))
		}
		switch r.PathValue("path") {
		case ".github/backstory.yml":
			writeJSON(w, 200, map[string]any{"type": "file", "encoding": "base64", "size": len(config), "sha": "s1", "content": wrapped})
		case "big.txt":
			writeJSON(w, 200, map[string]any{"type": "file", "encoding": "none", "size": len(big), "sha": "bigsha", "content": ""})
		case "empty":
			writeJSON(w, 200, map[string]any{"type": "file", "encoding": "base64", "size": 0, "sha": "e", "content": ""})
		case "docs":
			writeJSON(w, 200, []any{map[string]any{"type": "file", "name": "a.md"}})
		case "vendor/lib":
			writeJSON(w, 200, map[string]any{"type": "submodule", "sha": "c"})
		default:
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
		}
	})
	s.handle("GET /repos/o/r/git/blobs/bigsha", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/vnd.github.raw" {
			t.Errorf("blob Accept %q, want the raw media type", r.Header.Get("Accept"))
		}
		w.Write(big)
	})
	c := s.app(t, nil).Installation(1)
	ctx := context.Background()

	got, err := c.FileContent(ctx, "o/r", "main", ".github/backstory.yml")
	if err != nil || string(got) != string(config) {
		t.Errorf("config: %q, %v", got, err)
	}
	got, err = c.FileContent(ctx, "o/r", "main", "big.txt")
	if err != nil || len(got) != len(big) {
		t.Errorf("big file: %d bytes, %v; want %d", len(got), err, len(big))
	}
	got, err = c.FileContent(ctx, "o/r", "main", "empty")
	if err != nil || len(got) != 0 {
		t.Errorf("empty file: %q, %v", got, err)
	}
	if _, err := c.FileContent(ctx, "o/r", "main", "missing.yml"); !errors.Is(err, app.ErrNotFound) || !strings.Contains(err.Error(), "missing.yml") {
		t.Errorf("missing: %v, want ErrNotFound naming the file", err)
	}
	if _, err := c.FileContent(ctx, "o/r", "main", "docs"); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v, want an error saying so", err)
	}
	if _, err := c.FileContent(ctx, "o/r", "main", "vendor/lib"); err == nil || !strings.Contains(err.Error(), "submodule") {
		t.Errorf("submodule: %v, want an error saying so", err)
	}
}

func TestPermission(t *testing.T) {
	s := newServer(t, "")
	s.handle("GET /repos/o/r/collaborators/{user}/permission", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("user") {
		case "maintainer":
			writeJSON(w, 200, map[string]any{"permission": "write", "role_name": "maintain", "user": map[string]any{"login": "maintainer"}})
		case "legacy":
			writeJSON(w, 200, map[string]any{"permission": "read", "user": map[string]any{"login": "legacy"}})
		case "custom":
			writeJSON(w, 200, map[string]any{"permission": "write", "role_name": "security-engineer"})
		default:
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
		}
	})
	c := s.app(t, nil).Installation(1)
	for user, want := range map[string]string{"maintainer": "maintain", "legacy": "read", "custom": "write", "stranger": "none"} {
		got, err := c.Permission(context.Background(), "o/r", user)
		if err != nil || got != want {
			t.Errorf("Permission(%s) = %q, %v; want %q", user, got, err, want)
		}
	}
}

// TestDotSegmentsRefused: go-github resolves request paths against the API
// base, so a ".." in a path or ref would reach another endpoint with the
// installation's token.
func TestDotSegmentsRefused(t *testing.T) {
	s := newServer(t, "")
	c := s.app(t, nil).Installation(1)
	ctx := context.Background()
	if _, err := c.FileContent(ctx, "o/r", "main", "docs/../../../../user"); err == nil || !strings.Contains(err.Error(), `".." segment`) {
		t.Errorf("FileContent: %v", err)
	}
	if _, err := c.Tree(ctx, "o/r", "../../../user"); err == nil || !strings.Contains(err.Error(), `".." segment`) {
		t.Errorf("Tree: %v", err)
	}
	if err := c.Archive(ctx, "o/r", "./x", t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), `"." segment`) {
		t.Errorf("Archive: %v", err)
	}
	if n := len(s.recorded()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestRedirects: a renamed repository answers 301 on the API host, which is
// followed; a redirect to another host is not, so the token stays home.
func TestRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	s := newServer(t, "")
	s.handle("GET /repos/o/old/pulls/1", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, s.srv.URL+"/repos/o/new/pulls/1", http.StatusMovedPermanently)
	})
	s.handle("GET /repos/o/new/pulls/1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"number": 1, "title": "moved"})
	})
	s.handle("GET /repos/o/away/pulls/1", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/repos/o/away/pulls/1", http.StatusMovedPermanently)
	})
	c := s.app(t, nil).Installation(1)
	pr, err := c.PullRequest(context.Background(), "o/old", 1)
	if err != nil || pr.Title != "moved" {
		t.Errorf("renamed repository: %+v, %v", pr, err)
	}
	if _, err := c.PullRequest(context.Background(), "o/away", 1); err == nil {
		t.Error("a redirect to another host was followed to success")
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("%d requests reached the other host", n)
	}
}
