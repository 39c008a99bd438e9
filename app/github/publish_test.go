package github

import (
	"bytes"
	"context"
	"encoding/json"
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
	// The text files go inline in the tree: only the binary ones and the
	// empty .nojekyll are uploaded as blobs.
	want := map[string]int{"apps/create-installation-access-token": 1, "git/get-ref": 1, "git/create-blob": blobsOf(site),
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
	// with the content of another. Only the changed content is sent, inline
	// as it is text.
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
	want = map[string]int{"git/get-ref": 1, "git/get-tree": 1, "git/create-tree": 1, "git/create-commit": 1, "git/update-ref": 1}
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
	writeSite(t, symlinked, map[string][]byte{"index.html": binary(3, 100)})
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
	sameFiles(t, "symlinked", s.Files(fakeRepo, pagesBranch), map[string][]byte{"index.html": binary(3, 100), "home.html": binary(3, 100)})
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
				once.Do(func() { must(t, os.WriteFile(filepath.Join(dir, "index.png"), binary(2, 64), 0o644)) })
			}
		})
		writeSite(t, dir, map[string][]byte{"index.png": binary(1, 64)})
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
				once.Do(func() { must(t, os.WriteFile(filepath.Join(dir, "index.png"), binary(1, 100), 0o644)) })
			}
		}, githubtest.AllowViolations())
		allowCutBodies(t, s)
		writeSite(t, dir, map[string][]byte{"index.png": binary(1, 64)})
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
			site[fmt.Sprintf("p%02d.png", i)] = binary(byte(i), 50)
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
	t.Run("truncated head tree: every file is sent again", func(t *testing.T) {
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
		if n := s.CountCalls("git/create-blob"); n != blobsOf(site) {
			t.Errorf("%d blobs uploaded over a truncated tree, want all %d binary ones", n, blobsOf(site))
		}
		sameFiles(t, "over a truncated tree", s.Files(fakeRepo, pagesBranch), site)
	})
}

// blobsOf is how many blobs a first publish of site uploads: one per
// distinct content that cannot go inline in a tree (binary, empty, or
// over maxInlineFileBytes).
func blobsOf(site map[string][]byte) int {
	distinct := map[string]bool{}
	for _, b := range site {
		if inlineLen(b) == 0 {
			distinct[string(b)] = true
		}
	}
	return len(distinct)
}

// sentTree is the body of one git/create-tree request.
type sentTree struct {
	BaseTree string `json:"base_tree"`
	Tree     []struct {
		Path    string  `json:"path"`
		Mode    string  `json:"mode"`
		SHA     *string `json:"sha"`
		Content *string `json:"content"`
	} `json:"tree"`
	length int64 // the body's length
}

// inlineBytes is the inline content of t, as encoded in JSON.
func (t sentTree) inlineBytes() int64 {
	n := int64(0)
	for _, e := range t.Tree {
		if e.Content != nil {
			n += inlineLen([]byte(*e.Content))
		}
	}
	return n
}

// treeRecorder is a publishApp hook that keeps the create-tree bodies.
type treeRecorder struct {
	t     *testing.T
	mu    sync.Mutex
	trees []sentTree
}

func (tr *treeRecorder) hook(r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/git/trees") {
		return
	}
	body, err := r.GetBody()
	if err != nil {
		tr.t.Error(err)
		return
	}
	defer body.Close()
	var st sentTree
	if err := json.NewDecoder(body).Decode(&st); err != nil {
		tr.t.Error(err)
		return
	}
	st.length = r.ContentLength
	tr.mu.Lock()
	tr.trees = append(tr.trees, st)
	tr.mu.Unlock()
}

func (tr *treeRecorder) take() []sentTree {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := tr.trees
	tr.trees = nil
	return out
}

// TestPublishBranchCallCounts reports what publishing a site of 1,000
// text files costs in requests: the first publish, a one-file change, and
// nothing changed.
func TestPublishBranchCallCounts(t *testing.T) {
	ctx := context.Background()
	s, c := publishFake(t, nil)
	dir := t.TempDir()
	site := map[string][]byte{".nojekyll": {}}
	for i := range 999 {
		site[fmt.Sprintf("decisions/%04d/index.html", i)] = []byte(fmt.Sprintf("<h1>%d. Decision %d</h1>\n%s", i, i, strings.Repeat("text ", i)))
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
	if n := s.CountCalls("git/create-blob"); n != 1 {
		t.Errorf("first publish uploaded %d blobs, want 1 (the empty .nojekyll)", n)
	}
	if total := report("first publish of 1,000 files to a new branch"); total != 6 {
		t.Errorf("first publish: %d requests, want 6 (token, ref, blob of .nojekyll, tree, commit, ref)", total)
	}
	sameFiles(t, "1,000 files", s.Files(fakeRepo, pagesBranch), site)

	// The changes are written alone: rewriting 1,000 folders is slow.
	site["decisions/0500/index.html"] = []byte("<h1>500. Superseded</h1>\n")
	must(t, os.WriteFile(filepath.Join(dir, "decisions", "0500", "index.html"), site["decisions/0500/index.html"], 0o644))
	if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish"); err != nil {
		t.Fatal(err)
	}
	if total := report("one file changed"); total != 5 {
		t.Errorf("one file changed: %d requests, want 5 (ref, tree, tree with the file inline, commit, ref)", total)
	}
	sameFiles(t, "one file changed", s.Files(fakeRepo, pagesBranch), site)

	site["img/new.png"] = binary(9, 5000)
	must(t, os.MkdirAll(filepath.Join(dir, "img"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "img", "new.png"), site["img/new.png"], 0o644))
	if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish"); err != nil {
		t.Fatal(err)
	}
	if total := report("one binary file added"); total != 6 {
		t.Errorf("one binary file added: %d requests, want 6 (ref, tree, blob, tree, commit, ref)", total)
	}
	sameFiles(t, "one binary file added", s.Files(fakeRepo, pagesBranch), site)

	if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish"); err != nil {
		t.Fatal(err)
	}
	if total := report("nothing changed"); total != 2 {
		t.Errorf("nothing changed: %d requests, want 2 (ref, tree)", total)
	}
}

// TestPublishBranchMixedSite: text goes inline in the tree, and only what
// cannot (binary content, text with a NUL or invalid UTF-8, a text file
// over maxInlineFileBytes, an empty file) is uploaded as a blob, each
// content once.
func TestPublishBranchMixedSite(t *testing.T) {
	ctx := context.Background()
	tr := &treeRecorder{t: t}
	s, c := publishFake(t, tr.hook)
	dir := t.TempDir()
	site := map[string][]byte{
		".nojekyll":         {},
		"index.html":        []byte("<!doctype html><p>caf\u00e9 \u2028 \"q\" \\ <b>&amp;</b>\r\n\t\x01</p>\n"),
		"copy/index.html":   []byte("<!doctype html><p>caf\u00e9 \u2028 \"q\" \\ <b>&amp;</b>\r\n\t\x01</p>\n"),
		"search.json":       []byte(`{"pages":["\u00e9","\U0001F600"]}`),
		"img/a.png":         binary(1, 3000),
		"img/a-copy.png":    binary(1, 3000),
		"img/b.png":         binary(2, 100),
		"nul.txt":           []byte("text\x00with a NUL\n"),
		"latin1.txt":        []byte("caf\xe9\n"),
		"big.js":            []byte(strings.Repeat("let x = 1;\n", maxInlineFileBytes/11+1)),
		"just-fits.js":      []byte(strings.Repeat("a", maxInlineFileBytes)),
		"bin/run.sh":        []byte("#!/bin/sh\necho hi\n"),
		"deep/a/b/c/d.html": []byte("<p>deep</p>\n"),
	}
	writeSite(t, dir, site)
	must(t, os.Chmod(filepath.Join(dir, "bin", "run.sh"), 0o755))
	if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish"); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "mixed site", s.Files(fakeRepo, pagesBranch), site)
	if m := s.FileMode(fakeRepo, pagesBranch, "bin/run.sh"); m != "100755" {
		t.Errorf("bin/run.sh has mode %q, want 100755", m)
	}
	// .nojekyll, a.png (twice), b.png, nul.txt, latin1.txt, big.js.
	if n, want := s.CountCalls("git/create-blob"), 6; n != want || blobsOf(site) != want {
		t.Errorf("%d blobs uploaded (blobsOf says %d), want %d", n, blobsOf(site), want)
	}
	trees := tr.take()
	if len(trees) != 1 {
		t.Fatalf("%d tree requests, want 1", len(trees))
	}
	inline := map[string]bool{}
	for _, e := range trees[0].Tree {
		if (e.Content == nil) == (e.SHA == nil) {
			t.Errorf("%s: give sha or content, not both or none", e.Path)
		}
		if e.Content != nil {
			inline[e.Path] = true
		}
	}
	wantInline := []string{"bin/run.sh", "copy/index.html", "deep/a/b/c/d.html", "index.html", "just-fits.js", "search.json"}
	if got := slices.Sorted(maps.Keys(inline)); !slices.Equal(got, wantInline) {
		t.Errorf("inline %v, want %v", got, wantInline)
	}
	if trees[0].BaseTree != "" || len(trees[0].Tree) != len(site) {
		t.Errorf("the first tree has base %q and %d entries, want no base and %d", trees[0].BaseTree, len(trees[0].Tree), len(site))
	}

	// Publishing again sends nothing; changing a binary file and a text
	// one uploads the binary one only.
	s.ResetCalls()
	if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish"); err != nil {
		t.Fatal(err)
	}
	if n := s.CountCalls("git/create-tree"); n != 0 {
		t.Errorf("an unchanged publish created %d trees", n)
	}
	site["img/b.png"] = binary(3, 100)
	site["index.html"] = []byte("<p>new</p>\n")
	writeSite(t, dir, site)
	must(t, os.Chmod(filepath.Join(dir, "bin", "run.sh"), 0o755))
	if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Update"); err != nil {
		t.Fatal(err)
	}
	if n := s.CountCalls("git/create-blob"); n != 1 {
		t.Errorf("the update uploaded %d blobs, want 1", n)
	}
	trees = tr.take()
	if len(trees) != 1 {
		t.Fatalf("%d tree requests, want 1", len(trees))
	}
	for _, e := range trees[0].Tree {
		if (e.Content != nil) != (e.Path == "index.html") {
			t.Errorf("%s: inline %v", e.Path, e.Content != nil)
		}
	}
	sameFiles(t, "mixed site updated", s.Files(fakeRepo, pagesBranch), site)
}

// TestPublishBranchChainsTrees: more inline content than one request
// carries goes in several create-tree requests, each over the tree of the
// one before, and the branch ends exactly the folder, files removed
// included.
func TestPublishBranchChainsTrees(t *testing.T) {
	ctx := context.Background()
	tr := &treeRecorder{t: t}
	s, c := publishFake(t, tr.hook)
	dir := t.TempDir()
	site := map[string][]byte{"img/logo.png": binary(1, 4000)}
	page := func(i int) []byte {
		// Near maxInlineFileBytes, with characters JSON escapes (a
		// control character takes 6 bytes, a quote 2).
		line := fmt.Sprintf("<p class=\"p%d\">page %d \u00e9\x01</p>\n", i, i)
		return []byte(strings.Repeat(line, (maxInlineFileBytes-1000)/len(line)))
	}
	for i := range 40 {
		site[fmt.Sprintf("pages/%02d.html", i)] = page(i)
	}
	site["pages/dup.html"] = site["pages/00.html"] // sent once, then named
	site["pages/old.html"] = []byte("<p>old</p>\n")
	writeSite(t, dir, site)
	first, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish")
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "chained first publish", s.Files(fakeRepo, pagesBranch), site)
	trees := tr.take()
	checkChain := func(trees []sentTree, minRequests int) {
		t.Helper()
		if len(trees) < minRequests {
			t.Errorf("%d tree requests, want at least %d", len(trees), minRequests)
		}
		for i, st := range trees {
			if (i == 0) != (st.BaseTree == "") {
				t.Errorf("tree request %d has base_tree %q", i+1, st.BaseTree)
			}
			if n := st.inlineBytes(); n > maxInlineRequestBytes {
				t.Errorf("tree request %d carries %d bytes inline, over %d", i+1, n, maxInlineRequestBytes)
			}
			if st.length > maxInlineRequestBytes+64<<10 {
				t.Errorf("tree request %d is %d bytes", i+1, st.length)
			}
			t.Logf("tree request %d: %d entries, %d bytes", i+1, len(st.Tree), st.length)
		}
	}
	checkChain(trees, 3)
	got := calls(s)
	t.Logf("first publish, %d inline bytes: %v", func() (n int64) {
		for _, st := range trees {
			n += st.inlineBytes()
		}
		return n
	}(), got)
	if got["git/create-blob"] != 1 || got["git/create-tree"] != len(trees) || got["git/create-commit"] != 1 {
		t.Errorf("first publish calls %v", got)
	}
	if commits := s.Commits(fakeRepo, pagesBranch); len(commits) != 1 || commits[0].SHA != first {
		t.Errorf("commits %+v, want one", commits)
	}

	// A second publish removes files, changes every page and adds some:
	// the first request, without a base, drops the removed ones.
	s.ResetCalls()
	delete(site, "pages/old.html")
	delete(site, "pages/39.html")
	for i := range 45 {
		if i != 39 {
			site[fmt.Sprintf("pages/%02d.html", i)] = page(100 + i)
		}
	}
	writeSite(t, dir, site)
	second, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Update")
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "chained update", s.Files(fakeRepo, pagesBranch), site)
	checkChain(tr.take(), 3)
	if commits := s.Commits(fakeRepo, pagesBranch); len(commits) != 2 || commits[0].SHA != second || commits[0].Parent != first {
		t.Errorf("commits %+v", commits)
	}
	if n := s.CountCalls("git/create-blob"); n != 0 {
		t.Errorf("%d blobs uploaded, want none", n)
	}
}

// TestPublishBranchChainFailure: when a later tree request of a chain
// fails, nothing moves, and the retry names by id the blobs GitHub wrote
// from the content the failed attempt sent inline.
func TestPublishBranchChainFailure(t *testing.T) {
	ctx := context.Background()
	tr := &treeRecorder{t: t}
	var fail sync.Once
	var s *githubtest.Server
	var c app.Client
	s, c = publishFake(t, func(r *http.Request) {
		tr.hook(r)
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git/trees") {
			tr.mu.Lock()
			n := len(tr.trees)
			tr.mu.Unlock()
			if n == 2 {
				fail.Do(func() { s.FailNext("git/create-tree", 1, githubtest.ServerError(502)) })
			}
		}
	})
	dir := t.TempDir()
	site := map[string][]byte{}
	for i := range 24 {
		site[fmt.Sprintf("p%02d.html", i)] = []byte(strings.Repeat(fmt.Sprintf("<p>page %d</p>\n", i), maxInlineFileBytes/20))
	}
	writeSite(t, dir, site)
	_, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish")
	if _, temp := app.RetryAt(err); !temp || !strings.Contains(err.Error(), "tree request 2 of") {
		t.Fatalf("failed second tree request: %v, want temporary, naming it", err)
	}
	if s.Branch(fakeRepo, pagesBranch) != "" {
		t.Fatal("the branch was made though a tree failed")
	}
	failed := tr.take()
	if len(failed) != 2 {
		t.Fatalf("%d tree requests, want 2 (the second failed)", len(failed))
	}
	sentBefore := map[string]bool{}
	for _, e := range failed[0].Tree {
		if e.Content != nil {
			sentBefore[e.Path] = true
		}
	}
	if _, err := c.PublishBranch(ctx, fakeRepo, pagesBranch, dir, "Publish"); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "after the retry", s.Files(fakeRepo, pagesBranch), site)
	for _, st := range tr.take() {
		for _, e := range st.Tree {
			if e.Content != nil && sentBefore[e.Path] {
				t.Errorf("%s: sent inline again", e.Path)
			}
		}
	}
}

// TestPublishBranchInlineFileChanged: a text file that changes between
// its hashing and the tree request is not published.
func TestPublishBranchInlineFileChanged(t *testing.T) {
	dir := t.TempDir()
	var once sync.Once
	s, c := publishFake(t, func(r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/git/ref/") {
			once.Do(func() { must(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("bye\n"), 0o644)) })
		}
	})
	writeSite(t, dir, map[string][]byte{"index.html": []byte("hi!\n")})
	_, err := c.PublishBranch(context.Background(), fakeRepo, pagesBranch, dir, "m")
	if !errors.Is(err, errFileChanged) {
		t.Errorf("file changed before the tree: %v, want errFileChanged", err)
	}
	if s.Branch(fakeRepo, pagesBranch) != "" || s.CountCalls("git/create-tree") != 0 {
		t.Error("went on with a file that changed")
	}
}

func TestInlineLen(t *testing.T) {
	for _, b := range [][]byte{
		[]byte("plain"), []byte("<a href=\"x\">&amp;</a>"), []byte("\r\n\t\x01\x1f\b\f"), []byte("caf\u00e9 \u2028\u2029 \U0001F600 \\"),
	} {
		var enc bytes.Buffer // as go-github encodes bodies
		e := json.NewEncoder(&enc)
		e.SetEscapeHTML(false)
		must(t, e.Encode(string(b)))
		if got, want := inlineLen(b), int64(enc.Len()-1); got < want {
			t.Errorf("inlineLen(%q) = %d, JSON takes %d", b, got, want)
		}
	}
	for _, b := range [][]byte{nil, {}, []byte("a\x00b"), []byte("\xff"), make([]byte, maxInlineFileBytes+1)} {
		if n := inlineLen(b); n != 0 {
			t.Errorf("inlineLen(%q…) = %d, want 0: not inline", b[:min(len(b), 8)], n)
		}
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
