package github

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/backstory-dev/backstory/app"
)

type tarEntry struct {
	name     string
	typeflag byte
	body     string
	linkname string
}

// tarball builds a gzipped tar the way GitHub does: a pax global header
// with the commit, then everything under one top folder.
func tarball(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": "6dcb09b5b57875f334f61aebed695e2e4193db5e"}}); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typeflag, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.linkname, Format: tar.FormatPAX}
		if e.typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

var repoTarball = []tarEntry{
	{name: "acme-widgets-6dcb09b/", typeflag: tar.TypeDir},
	{name: "acme-widgets-6dcb09b/README.md", typeflag: tar.TypeReg, body: "# Widgets\n"},
	{name: "acme-widgets-6dcb09b/docs/", typeflag: tar.TypeDir},
	{name: "acme-widgets-6dcb09b/docs/adr/0001-record.md", typeflag: tar.TypeReg, body: "# 1. Record decisions\n"},
	{name: "acme-widgets-6dcb09b/docs/adr/diagram.png", typeflag: tar.TypeReg, body: "\x89PNG"},
	{name: "acme-widgets-6dcb09b/docs/passwd", typeflag: tar.TypeSymlink, linkname: "/etc/passwd"},
	{name: "acme-widgets-6dcb09b/docs/up", typeflag: tar.TypeSymlink, linkname: "../../.."},
	{name: "acme-widgets-6dcb09b/docs/hard", typeflag: tar.TypeLink, linkname: "acme-widgets-6dcb09b/README.md"},
}

// files lists the regular files under dir with their contents.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.Type()&os.ModeSymlink != 0 {
			t.Errorf("symlink written: %s", p)
		}
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return out
}

func TestArchiveFollowsRedirectWithoutToken(t *testing.T) {
	body := tarball(t, repoTarball)
	var mu sync.Mutex
	var codeloadAuth []string
	codeload := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		codeloadAuth = append(codeloadAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.URL.Query().Get("token") != "SIGNED" || r.URL.Path != "/acme/widgets/legacy.tar.gz/refs/heads/main" {
			http.Error(w, "bad link", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/x-gzip")
		w.Write(body)
	}))
	defer codeload.Close()

	s := newServer(t, "")
	s.handle("GET /repos/acme/widgets/tarball/{ref...}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("ref") != "main" {
			t.Errorf("ref %q", r.PathValue("ref"))
		}
		http.Redirect(w, r, codeload.URL+"/acme/widgets/legacy.tar.gz/refs/heads/main?token=SIGNED", http.StatusFound)
	})
	a := s.app(t, nil)
	dir := t.TempDir()
	var asked []string
	err := a.Installation(1).Archive(context.Background(), "acme/widgets", "main", dir, func(p string, size int64) bool {
		asked = append(asked, p)
		return strings.HasSuffix(p, ".md")
	})
	if err != nil {
		t.Fatal(err)
	}
	got := files(t, dir)
	want := map[string]string{"README.md": "# Widgets\n", "docs/adr/0001-record.md": "# 1. Record decisions\n"}
	if len(got) != len(want) || got["README.md"] != want["README.md"] || got["docs/adr/0001-record.md"] != want["docs/adr/0001-record.md"] {
		t.Errorf("files written %v, want %v", got, want)
	}
	sort.Strings(asked)
	if strings.Join(asked, ",") != "README.md,docs/adr/0001-record.md,docs/adr/diagram.png" {
		t.Errorf("keep asked about %v, want the regular files only", asked)
	}
	if len(codeloadAuth) != 1 || codeloadAuth[0] != "" {
		t.Errorf("archive host got %d requests, Authorization present: %v; the installation token must stay on the API host",
			len(codeloadAuth), len(codeloadAuth) > 0 && codeloadAuth[0] != "")
	}
	calls := a.Calls()
	if calls["repos/download-tarball-archive"] != 1 || calls["archive/download"] != 1 {
		t.Errorf("Calls() = %v", calls)
	}
}

func TestArchiveSameHostRedirectKeepsToken(t *testing.T) {
	// GitHub Enterprise Server serves archives from its own host.
	body := tarball(t, repoTarball)
	s := newServer(t, "/api/v3")
	s.handle("GET /repos/acme/widgets/tarball/{ref...}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, s.srv.URL+"/api/v3/repos/acme/widgets/_codeload/main.tar.gz", http.StatusFound)
	})
	s.handle("GET /repos/acme/widgets/_codeload/main.tar.gz", func(w http.ResponseWriter, r *http.Request) {
		w.Write(body) // reached only with a valid token (server checks /repos/)
	})
	dir := t.TempDir()
	if err := s.app(t, nil).Installation(1).Archive(context.Background(), "acme/widgets", "main", dir, nil); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 3 {
		t.Errorf("files %v, want the 3 regular files", got)
	}
}

func TestArchiveRefusesHostileEntries(t *testing.T) {
	for _, tt := range []struct {
		name     string
		entry    tarEntry
		contains string
	}{
		{"dot-dot", tarEntry{name: "acme-widgets-1/../../evil.txt", typeflag: tar.TypeReg, body: "x"}, "climbs out"},
		{"dot-dot inside", tarEntry{name: "acme-widgets-1/docs/../../../evil.txt", typeflag: tar.TypeReg, body: "x"}, "climbs out"},
		{"absolute", tarEntry{name: "/tmp/evil.txt", typeflag: tar.TypeReg, body: "x"}, "absolute"},
		{"dot-dot symlink", tarEntry{name: "acme-widgets-1/../link", typeflag: tar.TypeSymlink, linkname: "/"}, "climbs out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "a", "b")
			entries := append([]tarEntry{{name: "acme-widgets-1/ok.md", typeflag: tar.TypeReg, body: "fine"}}, tt.entry)
			err := extractTarGz(bytes.NewReader(tarball(t, entries)), dir, func(string, int64) bool { return true }, 1<<20)
			if err == nil || !strings.Contains(err.Error(), tt.contains) || !strings.Contains(err.Error(), tt.entry.name) {
				t.Fatalf("error %v, want one naming %q and saying %q", err, tt.entry.name, tt.contains)
			}
			for _, p := range []string{filepath.Join(parent, "evil.txt"), filepath.Join(parent, "a", "evil.txt"), "/tmp/evil.txt"} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}

func TestArchiveDoesNotFollowSymlinksInDir(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "docs")); err != nil {
		t.Skip(err)
	}
	err := extractTarGz(bytes.NewReader(tarball(t, repoTarball)), dir, func(string, int64) bool { return true }, 1<<20)
	if err == nil {
		t.Error("extraction through a symlink to outside dir succeeded")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside dir: %v", entries)
	}
}

func TestArchiveSizeCap(t *testing.T) {
	entries := []tarEntry{
		{name: "r-1/a.md", typeflag: tar.TypeReg, body: strings.Repeat("a", 600)},
		{name: "r-1/b.md", typeflag: tar.TypeReg, body: strings.Repeat("b", 600)},
	}
	body := tarball(t, entries)
	s := newServer(t, "")
	s.handle("GET /repos/o/r/tarball/{ref...}", func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	a := s.app(t, func(o *Options) { o.ArchiveBytes = 1000 })
	err := a.Installation(1).Archive(context.Background(), "o/r", "main", t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "over 1000 bytes") {
		t.Errorf("error %v, want the size cap", err)
	}
	if _, temp := app.RetryAt(err); temp {
		t.Errorf("a too-large archive will not shrink by waiting: %v", err)
	}
	// Filtering keeps it under the cap.
	dir := t.TempDir()
	err = a.Installation(1).Archive(context.Background(), "o/r", "main", dir, func(p string, _ int64) bool { return p == "a.md" })
	if err != nil {
		t.Errorf("filtered to 600 bytes: %v", err)
	}
}

func TestArchiveErrors(t *testing.T) {
	s := newServer(t, "")
	s.handle("GET /repos/o/r/tarball/{ref...}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("ref") {
		case "gone":
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
		case "busy":
			writeJSON(w, 503, map[string]any{"message": "Unavailable"})
		case "cut":
			w.Header().Set("Content-Length", "100000")
			w.Write(tarball(t, repoTarball)[:200])
		}
	})
	c := s.app(t, nil).Installation(1)
	if err := c.Archive(context.Background(), "o/r", "gone", t.TempDir(), nil); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("404: %v, want ErrNotFound", err)
	}
	if err := c.Archive(context.Background(), "o/r", "busy", t.TempDir(), nil); err == nil {
		t.Error("503: no error")
	} else if _, temp := app.RetryAt(err); !temp {
		t.Errorf("503: %v, want temporary", err)
	}
	if err := c.Archive(context.Background(), "o/r", "cut", t.TempDir(), nil); err == nil {
		t.Error("truncated download: no error")
	} else if _, temp := app.RetryAt(err); !temp {
		t.Errorf("truncated download: %v, want temporary", err)
	}
}

// TestArchiveErrorHidesLinkToken: the archive host's link carries a token
// in its query; an error about it must not.
func TestArchiveErrorHidesLinkToken(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	s := newServer(t, "")
	s.handle("GET /repos/o/r/tarball/{ref...}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, gone.URL+"/o/r/legacy.tar.gz/main?token=SECRETLINKTOKEN", http.StatusFound)
	})
	err := s.app(t, nil).Installation(1).Archive(context.Background(), "o/r", "main", t.TempDir(), nil)
	if _, temp := app.RetryAt(err); !temp {
		t.Errorf("archive host down: %v, want temporary", err)
	}
	if err != nil && strings.Contains(err.Error(), "SECRETLINKTOKEN") {
		t.Errorf("error shows the link's token: %v", err)
	}
}
