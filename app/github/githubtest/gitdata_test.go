package githubtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// gitDataFixture is fixture with contents write granted to installation 42.
func gitDataFixture(t *testing.T) (*Server, *apiClient) {
	t.Helper()
	s := fixture(t)
	grant(s, 42, "contents", "write")
	return s, s.asInstallation(t, 42)
}

func postBlob(t *testing.T, c *apiClient, repo string, data []byte) string {
	t.Helper()
	r := c.do("POST", "repos/"+repo+"/git/blobs", map[string]any{"content": base64.StdEncoding.EncodeToString(data), "encoding": "base64"})
	want(t, r, http.StatusCreated)
	return fieldString(t, r.object(t), "sha")
}

func TestBlobs(t *testing.T) {
	s, c := gitDataFixture(t)
	bin := []byte{0, 1, 2, 0xff, 0xfe, '\n', 0x80}
	sha := postBlob(t, c, "acme/widgets", bin)
	if sha != gitHash("blob", bin) {
		t.Errorf("blob sha %s, want git's %s", sha, gitHash("blob", bin))
	}
	r := c.do("POST", "repos/acme/widgets/git/blobs", map[string]any{"content": "héllo\n"})
	want(t, r, http.StatusCreated)
	if got := fieldString(t, r.object(t), "sha"); got != gitHash("blob", []byte("héllo\n")) {
		t.Errorf("utf-8 blob sha %s", got)
	}
	if r.Header.Get("Location") != fieldString(t, r.object(t), "url") {
		t.Errorf("Location %q, url %q", r.Header.Get("Location"), fieldString(t, r.object(t), "url"))
	}
	// Wrapped base64, as many encoders write it, is read too.
	wrapped := wrapBase64(bytes.Repeat([]byte("abc"), 100))
	r = c.do("POST", "repos/acme/widgets/git/blobs", map[string]any{"content": wrapped, "encoding": "base64"})
	want(t, r, http.StatusCreated)

	got := c.get("repos/acme/widgets/git/blobs/" + sha)
	want(t, got, http.StatusOK)
	dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(fieldString(t, got.object(t), "content"), "\n", ""))
	if err != nil || !bytes.Equal(dec, bin) || fieldInt(t, got.object(t), "size") != int64(len(bin)) {
		t.Errorf("blob read back %q (%v)", dec, err)
	}
	raw := c.get("repos/acme/widgets/git/blobs/"+sha, "Accept", "application/vnd.github.raw")
	want(t, raw, http.StatusOK)
	if !bytes.Equal(raw.body, bin) {
		t.Errorf("raw blob %q", raw.body)
	}
	// A blob written to one repository is not another's.
	want(t, c.get("repos/acme/secret/git/blobs/"+sha), http.StatusNotFound)

	s.ExpectViolation("content is not valid Base64")
	want(t, c.do("POST", "repos/acme/widgets/git/blobs", map[string]any{"content": "!!!", "encoding": "base64"}), http.StatusUnprocessableEntity)
	s.ExpectViolation(`encoding "latin-1" is not supported`)
	want(t, c.do("POST", "repos/acme/widgets/git/blobs", map[string]any{"content": "x", "encoding": "latin-1"}), http.StatusUnprocessableEntity)
	s.ExpectViolation(`"content" wasn't supplied.`)
	want(t, c.do("POST", "repos/acme/widgets/git/blobs", map[string]any{"encoding": "utf-8"}), http.StatusUnprocessableEntity)
}

func TestGitDataNeedsContentsWrite(t *testing.T) {
	s := fixture(t) // the manifest's permissions: contents read
	c := s.asInstallation(t, 42)
	for _, repo := range []string{"acme/widgets", "acme/secret"} { // public and private alike
		r := c.do("POST", "repos/"+repo+"/git/blobs", map[string]any{"content": "x"})
		want(t, r, http.StatusForbidden)
		if r.message(t) != "Resource not accessible by integration" {
			t.Errorf("%s: message %q", repo, r.message(t))
		}
	}
	head := s.Branch("acme/secret", "main")
	want(t, c.do("POST", "repos/acme/secret/git/refs", map[string]any{"ref": "refs/heads/x", "sha": head}), http.StatusForbidden)
	want(t, c.do("PATCH", "repos/acme/secret/git/refs/heads/main", map[string]any{"sha": head}), http.StatusForbidden)
	// Reading needs contents read only.
	want(t, c.get("repos/acme/secret/git/ref/heads/main"), http.StatusOK)
	want(t, c.get("repos/acme/secret/git/commits/"+head), http.StatusOK)
	if s.CountCalls("git/create-blob") != 2 {
		t.Errorf("create-blob counted %d times, want 2", s.CountCalls("git/create-blob"))
	}
}

func TestEmptyRepositoryIsAConflict(t *testing.T) {
	s, c := gitDataFixture(t)
	s.AddRepo("acme/empty", RepoOptions{})
	s.AddInstallation(42, "acme") // every repository of acme
	grant(s, 42, "contents", "write")
	c = s.asInstallation(t, 42)
	for _, r := range []answer{
		c.do("POST", "repos/acme/empty/git/blobs", map[string]any{"content": "x"}),
		c.do("POST", "repos/acme/empty/git/trees", map[string]any{"tree": []any{}}),
		c.get("repos/acme/empty/git/ref/heads/main"),
	} {
		want(t, r, http.StatusConflict)
		if r.message(t) != "Git Repository is empty." {
			t.Errorf("message %q", r.message(t))
		}
	}
}

func TestTreesAndCommits(t *testing.T) {
	s, c := gitDataFixture(t)
	repo := "acme/widgets"
	head := s.Branch(repo, "main")
	base := c.get("repos/acme/widgets/git/trees/" + head)
	want(t, base, http.StatusOK)
	baseTree := fieldString(t, base.object(t), "sha")
	logo := postBlob(t, c, repo, []byte("\x89PNG\r\n\x1a\n"))

	// Over the base tree: add, replace, make executable, delete.
	r := c.do("POST", "repos/acme/widgets/git/trees", map[string]any{
		"base_tree": baseTree,
		"tree": []any{
			map[string]any{"path": "img/logo.png", "mode": "100644", "type": "blob", "sha": logo},
			map[string]any{"path": "README.md", "mode": "100644", "type": "blob", "content": "# New\n"},
			map[string]any{"path": "bin/run", "mode": "100755", "type": "blob", "content": "#!/bin/sh\n"},
			map[string]any{"path": "src/main.go", "mode": "100644", "type": "blob", "sha": nil},
		},
	})
	want(t, r, http.StatusCreated)
	tree := fieldString(t, r.object(t), "sha")
	// The tree's top level is listed, as GitHub lists it.
	var names []string
	for _, e := range field(t, r.object(t), "tree").([]any) {
		names = append(names, fieldString(t, e, "path")+":"+fieldString(t, e, "mode"))
	}
	if got := strings.Join(names, " "); got != "README.md:100644 bin:040000 docs:040000 img:040000" {
		t.Errorf("top level %s", got)
	}

	// A commit over main, and main moved to it by a fast forward.
	r = c.do("POST", "repos/acme/widgets/git/commits", map[string]any{"message": "Publish", "tree": tree, "parents": []string{head}})
	want(t, r, http.StatusCreated)
	commit := r.object(t)
	sha := fieldString(t, commit, "sha")
	if fieldString(t, commit, "tree/sha") != tree || fieldString(t, commit, "parents/0/sha") != head || fieldString(t, commit, "message") != "Publish" {
		t.Errorf("commit %s", show(commit))
	}
	if got := fieldString(t, commit, "author/name"); got != "backstory-test[bot]" {
		t.Errorf("author %q: without an author GitHub writes the App's bot", got)
	}
	// The branch does not move until the ref does.
	if s.Branch(repo, "main") != head {
		t.Fatal("creating a commit moved the branch")
	}
	r = c.do("PATCH", "repos/acme/widgets/git/refs/heads/main", map[string]any{"sha": sha})
	want(t, r, http.StatusOK)
	if fieldString(t, r.object(t), "ref") != "refs/heads/main" || fieldString(t, r.object(t), "object/sha") != sha {
		t.Errorf("ref %s", show(r.object(t)))
	}

	files := s.Files(repo, "main")
	if len(files) != 4 || string(files["README.md"]) != "# New\n" || string(files["img/logo.png"]) != "\x89PNG\r\n\x1a\n" ||
		string(files["bin/run"]) != "#!/bin/sh\n" || files["docs/decisions/0001-record.md"] == nil {
		t.Errorf("files of main: %v", keys(files))
	}
	if s.FileMode(repo, "main", "bin/run") != "100755" || s.FileMode(repo, "main", "README.md") != "100644" {
		t.Errorf("modes %q %q", s.FileMode(repo, "main", "bin/run"), s.FileMode(repo, "main", "README.md"))
	}
	// The other endpoints see the branch's new files.
	got := c.get("repos/acme/widgets/contents/img/logo.png?ref=main", "Accept", "application/vnd.github.raw")
	want(t, got, http.StatusOK)
	if string(got.body) != "\x89PNG\r\n\x1a\n" {
		t.Errorf("contents %q", got.body)
	}
	want(t, c.get("repos/acme/widgets/contents/src/main.go?ref=main"), http.StatusNotFound)
	tarFiles := tarballOf(t, s, c, "acme/widgets", "main")
	if tarFiles["bin/run"] != "#!/bin/sh\n|775" || tarFiles["README.md"] != "# New\n|664" || len(tarFiles) != 4 {
		t.Errorf("tarball %v", tarFiles)
	}
	// A later Commit keeps the executable bit, as git does.
	s.Commit(repo, "main", map[string][]byte{"bin/run": []byte("#!/bin/sh\nexit 0\n")})
	if s.FileMode(repo, "main", "bin/run") != "100755" {
		t.Error("Commit dropped the executable bit")
	}

	// Without base_tree, the tree is exactly its entries, and a folder
	// entry takes a tree whole.
	docs := ""
	for _, e := range field(t, c.get("repos/acme/widgets/git/trees/"+tree).object(t), "tree").([]any) {
		if fieldString(t, e, "path") == "docs" {
			docs = fieldString(t, e, "sha")
		}
	}
	r = c.do("POST", "repos/acme/widgets/git/trees", map[string]any{"tree": []any{
		map[string]any{"path": "site/docs", "mode": "040000", "type": "tree", "sha": docs},
		map[string]any{"path": "index.html", "mode": "100644", "type": "blob", "content": "<p>hi</p>\n"},
	}})
	want(t, r, http.StatusCreated)
	bare := fieldString(t, r.object(t), "sha")
	rc := c.do("POST", "repos/acme/widgets/git/commits", map[string]any{"message": "Site", "tree": bare, "parents": []string{}})
	want(t, rc, http.StatusCreated)
	root := fieldString(t, rc.object(t), "sha")
	if n := len(field(t, rc.object(t), "parents").([]any)); n != 0 {
		t.Errorf("a root commit with %d parents", n)
	}
	want(t, c.get("repos/acme/widgets/git/commits/"+root), http.StatusOK)
	r = c.do("POST", "repos/acme/widgets/git/refs", map[string]any{"ref": "refs/heads/gh-pages", "sha": root})
	want(t, r, http.StatusCreated)
	if got := keys(s.Files(repo, "gh-pages")); got != "index.html site/docs/decisions/0001-record.md" {
		t.Errorf("gh-pages has %s", got)
	}
	ref := c.get("repos/acme/widgets/git/ref/heads/gh-pages")
	want(t, ref, http.StatusOK)
	if fieldString(t, ref.object(t), "object/sha") != root {
		t.Errorf("ref %s", show(ref.object(t)))
	}
	commits := s.Commits(repo, "gh-pages")
	if len(commits) != 1 || commits[0].Message != "Site" || commits[0].Tree != bare || !strings.HasSuffix(commits[0].AuthorEmail, "+backstory-test[bot]@users.noreply.github.com") {
		t.Errorf("commits of gh-pages: %+v", commits)
	}
}

func keys(m map[string][]byte) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// tarballOf downloads a branch's tarball through the API and returns its
// files, "content|mode".
func tarballOf(t *testing.T, s *Server, c *apiClient, repo, ref string) map[string]string {
	t.Helper()
	r := c.get("repos/" + repo + "/tarball/" + ref)
	want(t, r, http.StatusFound)
	resp, err := s.Client().Get(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, _ := io.ReadAll(tr)
		_, p, _ := strings.Cut(h.Name, "/")
		out[p] = string(data) + "|" + strconv.FormatInt(h.Mode, 8)
	}
	return out
}

func TestGitDataRefusals(t *testing.T) {
	s, c := gitDataFixture(t)
	head := s.Branch("acme/widgets", "main")
	secretHead := s.Branch("acme/secret", "main")
	missing := strings.Repeat("ab", 20)
	blob := postBlob(t, c, "acme/widgets", []byte("x"))
	tests := []struct {
		name      string
		method    string
		path      string
		body      any
		status    int
		message   string
		violation bool
	}{
		{"tree entry with an unknown sha", "POST", "git/trees", map[string]any{"tree": []any{map[string]any{"path": "a", "mode": "100644", "type": "blob", "sha": missing}}}, 422, "GitRPC::BadObjectState", true},
		{"tree entry with another repository's blob", "POST", "git/trees", map[string]any{"tree": []any{map[string]any{"path": "a", "mode": "100644", "type": "blob", "sha": gitHash("blob", []byte("hush\n"))}}}, 422, "GitRPC::BadObjectState", true},
		{"tree entry naming a blob as a tree", "POST", "git/trees", map[string]any{"tree": []any{map[string]any{"path": "a", "mode": "040000", "type": "tree", "sha": blob}}}, 422, "GitRPC::BadObjectState", true},
		{"unknown base tree", "POST", "git/trees", map[string]any{"base_tree": missing, "tree": []any{}}, 422, "GitRPC::BadObjectState", true},
		{"both sha and content", "POST", "git/trees", map[string]any{"tree": []any{map[string]any{"path": "a", "mode": "100644", "sha": blob, "content": "x"}}}, 422, "not both", true},
		{"type against mode", "POST", "git/trees", map[string]any{"tree": []any{map[string]any{"path": "a", "mode": "100644", "type": "tree", "sha": blob}}}, 422, "does not go with mode", true},
		{"path climbing out", "POST", "git/trees", map[string]any{"tree": []any{map[string]any{"path": "../a", "mode": "100644", "content": "x"}}}, 422, "malformed path component", true},
		{"path into .git", "POST", "git/trees", map[string]any{"tree": []any{map[string]any{"path": ".git/config", "mode": "100644", "content": "x"}}}, 422, "malformed path component", true},
		{"a file and a folder at once", "POST", "git/trees", map[string]any{"tree": []any{map[string]any{"path": "a", "mode": "100644", "content": "x"}, map[string]any{"path": "a/b", "mode": "100644", "content": "y"}}}, 422, "both a file and a folder", true},
		{"mode outside the enum", "POST", "git/trees", map[string]any{"tree": []any{map[string]any{"path": "a", "mode": "644", "content": "x"}}}, 422, "Invalid request", true},
		{"a symbolic link", "POST", "git/trees", map[string]any{"tree": []any{map[string]any{"path": "a", "mode": "120000", "content": "b"}}}, 501, "not modelled", true},
		{"commit of an unknown tree", "POST", "git/commits", map[string]any{"message": "m", "tree": missing}, 422, "Tree SHA does not exist", true},
		{"commit over an unknown parent", "POST", "git/commits", map[string]any{"message": "m", "tree": "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "parents": []string{missing}}, 422, "", true},
		{"commit without a message", "POST", "git/commits", map[string]any{"tree": missing}, 422, "Invalid request", true},
		{"ref to an unknown commit", "POST", "git/refs", map[string]any{"ref": "refs/heads/x", "sha": missing}, 422, "Object does not exist", true},
		{"ref to another repository's commit", "POST", "git/refs", map[string]any{"ref": "refs/heads/x", "sha": secretHead}, 422, "Object does not exist", true},
		{"ref without refs/", "POST", "git/refs", map[string]any{"ref": "heads/x", "sha": head}, 422, "must start with 'refs/'", true},
		{"ref with a bad name", "POST", "git/refs", map[string]any{"ref": "refs/heads/a..b", "sha": head}, 422, "not a valid ref name", true},
		{"a tag", "POST", "git/refs", map[string]any{"ref": "refs/tags/v1", "sha": head}, 501, "not modelled", true},
		{"ref that exists", "POST", "git/refs", map[string]any{"ref": "refs/heads/main", "sha": head}, 422, "Reference already exists", false},
		{"update of a missing ref", "PATCH", "git/refs/heads/nope", map[string]any{"sha": head}, 422, "Reference does not exist", false},
		{"update to an unknown commit", "PATCH", "git/refs/heads/main", map[string]any{"sha": missing}, 422, "Object does not exist", true},
		{"missing ref", "GET", "git/ref/heads/nope", nil, 404, "Not Found", false},
		{"a tag read", "GET", "git/ref/tags/v1", nil, 404, "Not Found", false},
		{"unknown commit read", "GET", "git/commits/" + missing, nil, 404, "Not Found", false},
		{"unknown blob read", "GET", "git/blobs/" + missing, nil, 404, "Not Found", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Violations())
			r := c.do(tt.method, "repos/acme/widgets/"+tt.path, tt.body)
			want(t, r, tt.status)
			if !strings.Contains(r.message(t), tt.message) {
				t.Errorf("message %q, want it to hold %q", r.message(t), tt.message)
			}
			if got := len(s.Violations()) > before; got != tt.violation {
				t.Errorf("recorded as a violation: %v, want %v (%v)", got, tt.violation, s.Violations()[before:])
			}
		})
	}
	for _, v := range s.Violations() {
		s.ExpectViolation(v.Message)
	}
}

func TestRefUpdatesFastForwardOnly(t *testing.T) {
	s, c := gitDataFixture(t)
	repo := "acme/widgets"
	first := s.Branch(repo, "main")
	ours := s.Commit(repo, "main", map[string][]byte{"a.txt": []byte("a\n")})
	// Someone else pushes over first: ours is no ancestor of theirs.
	r := c.do("POST", "repos/acme/widgets/git/commits", map[string]any{"message": "theirs", "tree": fieldString(t, c.get("repos/acme/widgets/git/trees/"+first).object(t), "sha"), "parents": []string{first}})
	want(t, r, http.StatusCreated)
	theirs := fieldString(t, r.object(t), "sha")

	r = c.do("PATCH", "repos/acme/widgets/git/refs/heads/main", map[string]any{"sha": theirs})
	want(t, r, http.StatusUnprocessableEntity)
	if r.message(t) != "Update is not a fast forward" {
		t.Errorf("message %q", r.message(t))
	}
	want(t, c.do("PATCH", "repos/acme/widgets/git/refs/heads/main", map[string]any{"sha": theirs, "force": false}), http.StatusUnprocessableEntity)
	if s.Branch(repo, "main") != ours {
		t.Fatal("a refused update moved the branch")
	}
	// Going back is no fast forward either; forced, both go.
	want(t, c.do("PATCH", "repos/acme/widgets/git/refs/heads/main", map[string]any{"sha": first}), http.StatusUnprocessableEntity)
	want(t, c.do("PATCH", "repos/acme/widgets/git/refs/heads/main", map[string]any{"sha": theirs, "force": true}), http.StatusOK)
	if s.Branch(repo, "main") != theirs {
		t.Error("a forced update did not move the branch")
	}
	// Setting a ref to its own head is a (null) fast forward.
	want(t, c.do("PATCH", "repos/acme/widgets/git/refs/heads/main", map[string]any{"sha": theirs}), http.StatusOK)
	if len(s.Violations()) != 0 {
		t.Errorf("races recorded as violations: %v", s.Violations())
	}
}

// TestModesAreGits checks a tree with an executable file against git's own
// tree id.
func TestModesAreGits(t *testing.T) {
	needGit(t)
	dir := t.TempDir()
	gitCLI(t, dir, "init", "-q")
	write := func(p, content string, mode os.FileMode) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("run.sh", "#!/bin/sh\n", 0o755)
	write("bin/tool", "#!/bin/sh\necho\n", 0o755)
	write("bin/readme", "tools\n", 0o644)
	gitCLI(t, dir, "add", "-A")
	gitCLI(t, dir, "update-index", "--chmod=+x", "run.sh", "bin/tool") // whatever the file system keeps
	o := newObjectStore()
	files := map[string]string{
		"run.sh":     o.putBlob([]byte("#!/bin/sh\n")),
		"bin/tool":   o.putBlob([]byte("#!/bin/sh\necho\n")),
		"bin/readme": o.putBlob([]byte("tools\n")),
	}
	modes := map[string]string{"run.sh": modeExecutable, "bin/tool": modeExecutable}
	if got, want := o.putTreeModes(files, modes), gitCLI(t, dir, "write-tree"); got != want {
		t.Errorf("tree %s, git says %s", got, want)
	}
}
