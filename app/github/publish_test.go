package github

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github/githubtest"
)

const pagesBranch = "gh-pages"

// publishFake is fakeGitHub with contents write granted to installation 1,
// as publishing needs, and an App whose requests pass through hook first
// (when not nil): a test's chance to act between two requests.
func publishFake(t *testing.T, hook func(*http.Request), opts ...githubtest.Option) (*githubtest.Server, app.Client) {
	t.Helper()
	s, _, _ := fakeGitHub(t, opts...)
	s.SetInstallationPermissions(1, map[string]string{"contents": "write", "metadata": "read", "checks": "write", "pull_requests": "read"})
	return s, publishApp(t, s, hook).Installation(1)
}

// allowCutBodies is for a fake made with githubtest.AllowViolations, in
// tests that stop uploads midway (a cancellation, a first failure
// cancelling the others): the fake may then read a body cut short, which
// it records as a violation. Any other violation still fails the test.
func allowCutBodies(t *testing.T, s *githubtest.Server) {
	t.Helper()
	t.Cleanup(func() {
		for _, v := range s.Violations() {
			if !strings.Contains(v.Message, "reading the body") && !strings.Contains(v.Message, "the body is not JSON") {
				t.Errorf("violation: %s", v)
			}
		}
	})
}

func publishApp(t *testing.T, s *githubtest.Server, hook func(*http.Request)) *App {
	t.Helper()
	hc := s.Client()
	if hook != nil {
		next := hc.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		hc = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			hook(r)
			return next.RoundTrip(r)
		}), Timeout: hc.Timeout}
	}
	a, err := New(Options{AppID: testAppID, PrivateKey: s.PrivateKeyPEM(), BaseURL: s.URL(), HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// writeSite makes dir hold exactly site.
func writeSite(t *testing.T, dir string, site map[string][]byte) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for p, b := range site {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// binary is content with every byte value, NUL and invalid UTF-8 included.
func binary(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func sampleSite() map[string][]byte {
	return map[string][]byte{
		".nojekyll":                 {},
		"index.html":                []byte("<!doctype html><title>Decisions</title>\n"),
		"decisions/0001/index.html": []byte("<h1>1. Record decisions</h1>\n"),
		"decisions/0002/index.html": []byte("<h1>2. Use Kafka</h1>\n"),
		"css/site.css":              []byte("body { margin: 0 }\n"),
		"img/logo.png":              binary(0x89, 3000),
		"fonts/x.woff2":             binary(0, 70000),
		"search/index.json":         []byte(`{"pages":["é","ü","😀"]}`),
	}
}

// calls counts the fake's calls by operation.
func calls(s *githubtest.Server) map[string]int {
	out := map[string]int{}
	for _, c := range s.Calls() {
		out[c.Operation]++
	}
	return out
}

func sameFiles(t *testing.T, what string, got map[string][]byte, want map[string][]byte) {
	t.Helper()
	if !maps.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		gk, wk := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))
		t.Errorf("%s: files %v, want %v", what, gk, wk)
		for _, k := range wk {
			if g, ok := got[k]; ok && string(g) != string(want[k]) {
				t.Errorf("%s: %s differs (%d bytes, want %d)", what, k, len(g), len(want[k]))
			}
		}
	}
}

func TestPublishBranch(t *testing.T) {
	ctx := context.Background()
	s, c := publishFake(t, nil)
	dir := filepath.Join(t.TempDir(), "public")
	site := sampleSite()
	writeSite(t, dir, site)
	mainBefore := s.Branch(fakeRepo, "main")

	// First publish: the branch is created, with every file.
	first, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish the decision records")
	if err != nil {
		t.Fatal(err)
	}
	if s.Branch(fakeRepo, pagesBranch) != first {
		t.Fatalf("gh-pages is at %q, PublishBranch said %s", s.Branch(fakeRepo, pagesBranch), first)
	}
	sameFiles(t, "first publish", s.Files(fakeRepo, pagesBranch), site)
	got := calls(s)
	want := map[string]int{"apps/create-installation-access-token": 1, "git/get-ref": 1, "git/create-blob": len(site),
		"git/create-tree": 1, "git/create-commit": 1, "git/create-ref": 1}
	if !maps.Equal(got, want) {
		t.Errorf("first publish calls %v, want %v", got, want)
	}
	commits := s.Commits(fakeRepo, pagesBranch)
	if len(commits) != 1 || commits[0].Parent != "" || commits[0].Message != "Publish the decision records" {
		t.Errorf("commits of gh-pages: %+v (want one root commit)", commits)
	}
	if s.Branch(fakeRepo, "main") != mainBefore {
		t.Error("main moved")
	}

	// The files come back byte for byte through the other endpoints: the
	// contents API (base64) and the tarball.
	logo, err := c.FileContent(ctx, fakeRepo, pagesBranch, "img/logo.png")
	if err != nil || string(logo) != string(site["img/logo.png"]) {
		t.Errorf("FileContent(img/logo.png) = %d bytes, %v", len(logo), err)
	}
	out := t.TempDir()
	if err := c.Archive(ctx, fakeRepo, pagesBranch, out, nil); err != nil {
		t.Fatal(err)
	}
	archived := map[string][]byte{}
	for p, b := range files(t, out) {
		archived[p] = []byte(b)
	}
	sameFiles(t, "tarball", archived, site)

	// Second publish: one file changed, one removed, one renamed, one added
	// with the content of another. Only the changed content is uploaded.
	s.ResetCalls()
	site["css/site.css"] = []byte("body { margin: 1em }\n")
	delete(site, "decisions/0002/index.html")
	site["assets/logo.png"] = site["img/logo.png"]
	delete(site, "img/logo.png")
	site["decisions/index.html"] = site["index.html"]
	writeSite(t, dir, site)
	second, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Update")
	if err != nil {
		t.Fatal(err)
	}
	got = calls(s)
	want = map[string]int{"git/get-ref": 1, "git/get-tree": 1, "git/create-blob": 1, "git/create-tree": 1, "git/create-commit": 1, "git/update-ref": 1}
	if !maps.Equal(got, want) {
		t.Errorf("second publish calls %v, want %v", got, want)
	}
	sameFiles(t, "second publish", s.Files(fakeRepo, pagesBranch), site)
	commits = s.Commits(fakeRepo, pagesBranch)
	if len(commits) != 2 || commits[0].SHA != second || commits[0].Parent != first {
		t.Errorf("commits of gh-pages: %+v", commits)
	}
	if _, err := c.FileContent(ctx, fakeRepo, pagesBranch, "decisions/0002/index.html"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("removed file: %v, want ErrNotFound", err)
	}

	// Nothing changed: no commit, and nothing written.
	s.ResetCalls()
	again, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Update")
	if err != nil || again != second {
		t.Fatalf("unchanged publish = %s, %v; want the head %s", again, err, second)
	}
	got = calls(s)
	want = map[string]int{"git/get-ref": 1, "git/get-tree": 1}
	if !maps.Equal(got, want) {
		t.Errorf("unchanged publish calls %v, want %v", got, want)
	}
	if n := len(s.Commits(fakeRepo, pagesBranch)); n != 2 {
		t.Errorf("%d commits after an unchanged publish, want 2", n)
	}
}

func TestPublishBranchKeepsTheExecutableBit(t *testing.T) {
	s, c := publishFake(t, nil)
	dir := t.TempDir()
	writeSite(t, dir, map[string][]byte{"index.html": []byte("hi\n")})
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishBranch(context.Background(), fakeRepo, pagesBranch, dir, "m"); err != nil {
		t.Fatal(err)
	}
	if m := s.FileMode(fakeRepo, pagesBranch, "run.sh"); m != "100755" {
		t.Errorf("run.sh has mode %q, want 100755", m)
	}
	// The tree computed locally is GitHub's: publishing again writes nothing.
	s.ResetCalls()
	if _, err := c.PublishBranch(context.Background(), fakeRepo, pagesBranch, dir, "m"); err != nil {
		t.Fatal(err)
	}
	if n := s.CountCalls("git/create-tree"); n != 0 {
		t.Errorf("an unchanged publish created %d trees", n)
	}
}

// TestPublishBranchConcurrentPush: another push between the read of the
// head and the ref update makes the update fail; the error is temporary,
// and the retry builds on the other push.
func TestPublishBranchConcurrentPush(t *testing.T) {
	ctx := context.Background()
	var (
		mu    sync.Mutex
		s     *githubtest.Server
		fired bool
		push  func()
	)
	hook := func(r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/git/commits") {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if push != nil && !fired {
			fired = true
			push()
		}
	}
	s, c := publishFake(t, hook)
	dir := t.TempDir()
	site := sampleSite()
	writeSite(t, dir, site)

	t.Run("branch created meanwhile", func(t *testing.T) {
		var theirs string
		push = func() { theirs = s.Commit(fakeRepo, pagesBranch, map[string][]byte{"theirs.txt": []byte("x\n")}) }
		_, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish")
		if _, temp := app.RetryAt(err); !temp || app.IsRejected(err) {
			t.Fatalf("publish over a branch created meanwhile: %v, want a temporary error", err)
		}
		if s.Branch(fakeRepo, pagesBranch) != theirs {
			t.Fatal("the other push was overwritten")
		}
		s.ResetCalls()
		mu.Lock()
		push = nil
		mu.Unlock()
		sha, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish")
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if commits := s.Commits(fakeRepo, pagesBranch); commits[0].SHA != sha || commits[0].Parent != theirs {
			t.Errorf("retry made %+v, want a commit over %s", commits[0], theirs)
		}
		sameFiles(t, "after the retry", s.Files(fakeRepo, pagesBranch), site)
		// The blobs uploaded by the failed attempt were not sent again.
		if n := s.CountCalls("git/create-blob"); n != 0 {
			t.Errorf("the retry uploaded %d blobs again", n)
		}
	})

	t.Run("branch moved meanwhile", func(t *testing.T) {
		site["index.html"] = []byte("<p>changed</p>\n")
		writeSite(t, dir, site)
		var theirs string
		mu.Lock()
		fired = false
		push = func() {
			theirs = s.Commit(fakeRepo, pagesBranch, map[string][]byte{"CNAME": []byte("docs.example.com\n")})
		}
		mu.Unlock()
		_, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish")
		if _, temp := app.RetryAt(err); !temp || app.IsRejected(err) {
			t.Fatalf("publish over a concurrent push: %v, want a temporary error", err)
		}
		if !strings.Contains(err.Error(), "Update is not a fast forward") {
			t.Errorf("error %q does not give GitHub's reason", err)
		}
		if s.Branch(fakeRepo, pagesBranch) != theirs {
			t.Fatal("the concurrent push was overwritten")
		}
		mu.Lock()
		push = nil
		mu.Unlock()
		sha, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish")
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if commits := s.Commits(fakeRepo, pagesBranch); commits[0].SHA != sha || commits[0].Parent != theirs {
			t.Errorf("retry made %+v, want a commit over %s", commits[0], theirs)
		}
		// The whole branch is dir again: the other push's file is gone.
		sameFiles(t, "after the retry", s.Files(fakeRepo, pagesBranch), site)
	})
}

func TestPublishBranchWithoutContentsWrite(t *testing.T) {
	s, _, _ := fakeGitHub(t, githubtest.AllowViolations()) // the manifest's permissions: contents read
	allowCutBodies(t, s)
	c := publishApp(t, s, nil).Installation(1)
	dir := t.TempDir()
	writeSite(t, dir, sampleSite())
	_, err := c.PublishBranch(context.Background(), fakeRepo, pagesBranch, dir, "Publish")
	var rej *app.RejectedError
	if !errors.As(err, &rej) || rej.Status != http.StatusForbidden {
		t.Fatalf("publish without contents write: %v, want a 403 RejectedError", err)
	}
	if _, temp := app.RetryAt(err); temp {
		t.Errorf("a refused permission is temporary: %v", err)
	}
	if !strings.Contains(err.Error(), "Resource not accessible by integration") {
		t.Errorf("error %q lacks GitHub's reason", err)
	}
	if n := s.CountCalls("git/create-blob"); s.Branch(fakeRepo, pagesBranch) != "" || n > publishConcurrency {
		t.Errorf("branch %q, %d blob uploads: want nothing written, and a stop at the first refusal", s.Branch(fakeRepo, pagesBranch), n)
	}
}

func TestPublishBranchRefusals(t *testing.T) {
	ctx := context.Background()
	s, c := publishFake(t, nil)
	good := t.TempDir()
	writeSite(t, good, map[string][]byte{"index.html": []byte("hi\n"), "a/b.txt": []byte("b\n")})
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	symlinked := t.TempDir()
	writeSite(t, symlinked, map[string][]byte{"index.html": []byte("hi\n")})
	if err := os.Symlink("index.html", filepath.Join(symlinked, "home.html")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	escaping := t.TempDir()
	writeSite(t, escaping, map[string][]byte{"index.html": []byte("hi\n")})
	must(t, os.Symlink(outside, filepath.Join(escaping, "leak.txt")))
	dirLink := t.TempDir()
	writeSite(t, dirLink, map[string][]byte{"a/index.html": []byte("hi\n")})
	must(t, os.Symlink("a", filepath.Join(dirLink, "b")))
	dotGit := t.TempDir()
	writeSite(t, dotGit, map[string][]byte{"index.html": []byte("hi\n"), ".git/config": []byte("[core]\n")})
	empty := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(empty, "a", "b"), 0o755))

	for _, tt := range []struct {
		name, branch, dir, message, want string
	}{
		{"symlink out of the folder", pagesBranch, escaping, "m", "outside the published folder"},
		{"symlink to a folder", pagesBranch, dirLink, "m", "only links to files"},
		{".git inside", pagesBranch, dotGit, "m", ".git path component"},
		{"no file at all", pagesBranch, empty, "m", "holds no file"},
		{"missing folder", pagesBranch, filepath.Join(empty, "nope"), "m", "no such file"},
		{"a file, not a folder", pagesBranch, outside, "m", "not a folder"},
		{"branch with refs/heads/", "refs/heads/gh-pages", good, "m", "not a valid git branch name"},
		{"branch climbing out", "../main", good, "m", "not a valid git branch name"},
		{"branch with a space", "gh pages", good, "m", "not a valid git branch name"},
		{"empty message", pagesBranch, good, " ", "empty commit message"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.PublishBranch(ctx, fakeRepo, tt.branch, tt.dir, tt.message)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
	if n := len(s.Calls()); n != 0 {
		t.Errorf("refused publishes sent %d requests", n)
	}

	// A link to a file inside the folder is published as that file.
	if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, symlinked, "m"); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "symlinked", s.Files(fakeRepo, pagesBranch), map[string][]byte{"index.html": []byte("hi\n"), "home.html": []byte("hi\n")})
	if n := s.CountCalls("git/create-blob"); n != 1 {
		t.Errorf("two files of one content uploaded %d blobs, want 1", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestPublishBranchEmptyRepository(t *testing.T) {
	s, c := publishFake(t, nil)
	s.AddRepo("acme/new", githubtest.RepoOptions{})
	s.AddInstallation(1, "acme") // every repository of acme
	s.SetInstallationPermissions(1, map[string]string{"contents": "write", "metadata": "read"})
	c = publishApp(t, s, nil).Installation(1)
	dir := t.TempDir()
	writeSite(t, dir, map[string][]byte{"index.html": []byte("hi\n")})
	_, err := c.PublishBranch(context.Background(), "acme/new", pagesBranch, dir, "m")
	var rej *app.RejectedError
	if !errors.As(err, &rej) || rej.Status != http.StatusConflict || !strings.Contains(err.Error(), "push a first commit") {
		t.Errorf("publish to an empty repository: %v, want a 409 RejectedError that explains", err)
	}
}

func TestPublishBranchMissingRepository(t *testing.T) {
	_, c := publishFake(t, nil)
	dir := t.TempDir()
	writeSite(t, dir, map[string][]byte{"index.html": []byte("hi\n")})
	if _, err := c.PublishBranch(context.Background(), "acme/nope", pagesBranch, dir, "m"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("publish to a missing repository: %v, want ErrNotFound", err)
	}
}

func TestPublishBranchFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("tree creation fails: nothing moves, and the retry uploads nothing again", func(t *testing.T) {
		s, c := publishFake(t, nil)
		dir := t.TempDir()
		site := sampleSite()
		writeSite(t, dir, site)
		s.FailNext("git/create-tree", 1, githubtest.ServerError(502))
		_, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "m")
		if _, temp := app.RetryAt(err); !temp {
			t.Fatalf("502: %v, want temporary", err)
		}
		if s.Branch(fakeRepo, pagesBranch) != "" {
			t.Fatal("the branch was made though the tree failed")
		}
		s.ResetCalls()
		if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "m"); err != nil {
			t.Fatal(err)
		}
		if n := s.CountCalls("git/create-blob"); n != 0 {
			t.Errorf("the retry uploaded %d blobs again", n)
		}
		sameFiles(t, "after the retry", s.Files(fakeRepo, pagesBranch), site)
	})
	t.Run("secondary rate limit on a blob", func(t *testing.T) {
		s, c := publishFake(t, nil, githubtest.AllowViolations())
		allowCutBodies(t, s)
		dir := t.TempDir()
		writeSite(t, dir, sampleSite())
		s.FailNext("git/create-blob", 1, githubtest.SecondaryRateLimited(time.Minute))
		_, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "m")
		if at, temp := app.RetryAt(err); !temp || at.IsZero() {
			t.Fatalf("secondary rate limit: %v, want temporary with a time", err)
		}
		if n := s.CountCalls("git/create-tree"); n != 0 || s.Branch(fakeRepo, pagesBranch) != "" {
			t.Errorf("went on after a failed upload: %d trees", n)
		}
	})
	t.Run("a file changes while it is uploaded", func(t *testing.T) {
		dir := t.TempDir()
		var once sync.Once
		s, c := publishFake(t, func(r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git/blobs") {
				// Same size, other bytes: only GitHub's blob id tells.
				once.Do(func() { must(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("bye\n"), 0o644)) })
			}
		})
		writeSite(t, dir, map[string][]byte{"index.html": []byte("hi!\n")})
		_, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "m")
		if !errors.Is(err, errFileChanged) {
			t.Errorf("file changed during the upload: %v, want errFileChanged", err)
		}
		if s.Branch(fakeRepo, pagesBranch) != "" {
			t.Error("published a file that changed")
		}
	})
	t.Run("a file grows while it is uploaded", func(t *testing.T) {
		dir := t.TempDir()
		var once sync.Once
		s, c := publishFake(t, func(r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git/blobs") {
				once.Do(func() { must(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello, longer\n"), 0o644)) })
			}
		}, githubtest.AllowViolations())
		allowCutBodies(t, s)
		writeSite(t, dir, map[string][]byte{"index.html": []byte("hi!\n")})
		_, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "m")
		if !errors.Is(err, errFileChanged) {
			t.Errorf("file grew during the upload: %v, want errFileChanged", err)
		}
		if s.Branch(fakeRepo, pagesBranch) != "" {
			t.Error("published a file that changed")
		}
	})
	t.Run("cancelled during the uploads", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var n int
		var mu sync.Mutex
		s, c := publishFake(t, func(r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git/blobs") {
				mu.Lock()
				n++
				if n == 2 {
					cancel()
				}
				mu.Unlock()
			}
		}, githubtest.AllowViolations())
		allowCutBodies(t, s)
		dir := t.TempDir()
		site := map[string][]byte{}
		for i := range 40 {
			site[fmt.Sprintf("p%02d.html", i)] = []byte(fmt.Sprintf("page %d\n", i))
		}
		writeSite(t, dir, site)
		_, err := c.PublishBranch(cctx, fakeRepo, pagesBranch, dir, "m")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled publish: %v, want context.Canceled", err)
		}
		if got := s.CountCalls("git/create-blob"); got > 2+publishConcurrency {
			t.Errorf("%d blobs uploaded after the cancellation", got)
		}
		if s.CountCalls("git/create-tree") != 0 || s.Branch(fakeRepo, pagesBranch) != "" {
			t.Error("went on after the cancellation")
		}
	})
	t.Run("truncated head tree: every file is uploaded", func(t *testing.T) {
		s, c := publishFake(t, nil, githubtest.WithTreeLimit(3))
		dir := t.TempDir()
		site := sampleSite()
		writeSite(t, dir, site)
		if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "m"); err != nil {
			t.Fatal(err)
		}
		site["index.html"] = []byte("<p>new</p>\n")
		writeSite(t, dir, site)
		// Forget the uploads, as a restarted process would.
		c = publishApp(t, s, nil).Installation(1)
		s.ResetCalls()
		if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "m"); err != nil {
			t.Fatal(err)
		}
		if n := s.CountCalls("git/create-blob"); n != len(site) {
			t.Errorf("%d blobs uploaded over a truncated tree, want all %d", n, len(site))
		}
		sameFiles(t, "over a truncated tree", s.Files(fakeRepo, pagesBranch), site)
	})
}

// TestPublishBranchCallCounts reports what publishing a site of 1,000
// files costs in requests: the first publish, a one-file change, and
// nothing changed.
func TestPublishBranchCallCounts(t *testing.T) {
	ctx := context.Background()
	s, c := publishFake(t, nil)
	dir := t.TempDir()
	site := map[string][]byte{".nojekyll": {}}
	for i := range 999 {
		if i%10 == 0 {
			site[fmt.Sprintf("img/%03d.png", i)] = binary(byte(i), 2000+i)
		} else {
			site[fmt.Sprintf("decisions/%04d/index.html", i)] = []byte(fmt.Sprintf("<h1>%d. Decision %d</h1>\n%s", i, i, strings.Repeat("text ", i)))
		}
	}
	writeSite(t, dir, site)
	report := func(what string) int {
		got := calls(s)
		total := 0
		for _, n := range got {
			total += n
		}
		t.Logf("%s: %d requests: %v", what, total, got)
		s.ResetCalls()
		return total
	}

	if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish"); err != nil {
		t.Fatal(err)
	}
	if n := s.CountCalls("git/create-blob"); n != 1000 {
		t.Errorf("first publish uploaded %d blobs, want 1000", n)
	}
	if total := report("first publish of 1,000 files to a new branch"); total != 1+1+1000+1+1+1 {
		t.Errorf("first publish: %d requests, want 1,005 (token, ref, 1,000 blobs, tree, commit, ref)", total)
	}
	sameFiles(t, "1,000 files", s.Files(fakeRepo, pagesBranch), site)

	site["decisions/0500/index.html"] = []byte("<h1>500. Superseded</h1>\n")
	writeSite(t, dir, site)
	if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish"); err != nil {
		t.Fatal(err)
	}
	if total := report("one file changed"); total != 6 {
		t.Errorf("one file changed: %d requests, want 6 (ref, tree, blob, tree, commit, ref)", total)
	}
	sameFiles(t, "one file changed", s.Files(fakeRepo, pagesBranch), site)

	if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish"); err != nil {
		t.Fatal(err)
	}
	if total := report("nothing changed"); total != 2 {
		t.Errorf("nothing changed: %d requests, want 2 (ref, tree)", total)
	}
}

// TestGitTreeSHAIsGits checks the tree id computed locally against git's
// own, for names that sort differently as files and folders, nested
// folders and an executable file.
func TestGitTreeSHAIsGits(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	writeSite(t, dir, map[string][]byte{
		"a-b": []byte("1\n"), "a/b": []byte("2\n"), "a.b": []byte("3\n"), "a0": []byte("4\n"),
		"x/y/z/deep.html": []byte("5\n"), ".nojekyll": {}, "img/logo.png": binary(1, 500),
	})
	must(t, os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	gitDir := t.TempDir() // beside the site: a .git inside would be refused
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+gitDir, "GIT_DIR="+gitDir, "GIT_WORK_TREE="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("update-index", "--chmod=+x", "run.sh")
	site, err := readSite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := gitTreeSHA(site), git("write-tree"); got != want {
		t.Errorf("tree %s, git says %s", got, want)
	}
	for _, f := range site {
		if want := git("hash-object", filepath.FromSlash(f.path)); f.sha != want {
			t.Errorf("%s: blob %s, git says %s", f.path, f.sha, want)
		}
	}
}
