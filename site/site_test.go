package site

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/backstory-dev/backstory/content"
	"github.com/backstory-dev/backstory/themes"
	"github.com/spf13/afero"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var fixtureNow = time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)

// openFixtures opens the fixture repositories under root (a copy of
// testdata/corpus, or testdata/corpus itself).
func openFixtures(t testing.TB, root string) []*content.Repo {
	t.Helper()
	platform, err := content.OpenRepo("acme/platform=" + filepath.Join(root, "platform"))
	if err != nil {
		t.Fatal(err)
	}
	platform.SourceURL = "https://github.com/acme/platform/blob/main/"
	platform.EditURL = "https://github.com/acme/platform/edit/main/"
	legacy, err := content.OpenRepo("acme/legacy=" + filepath.Join(root, "legacy"))
	if err != nil {
		t.Fatal(err)
	}
	legacy.SourceURL, legacy.EditURL = "", ""
	return []*content.Repo{platform, legacy}
}

func fixtureCorpus(t testing.TB) *content.Corpus {
	t.Helper()
	c := content.Load(openFixtures(t, "testdata/corpus"))
	if len(c.Records) != 6 {
		t.Fatalf("fixture corpus has %d records, want 6: %v", len(c.Records), c.Problems)
	}
	return c
}

// copyFixtures copies testdata/corpus to a temporary folder a test may
// change.
func copyFixtures(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir("testdata/corpus", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/corpus", p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestGeneratedProject compares the generated Hugo project (content, data
// files and config; not the theme) with the golden files.
func TestGeneratedProject(t *testing.T) {
	c := fixtureCorpus(t)
	opts := Options{OutputDir: "unused", Now: fixtureNow, Title: "Acme"}
	opts.setDefaults(c)
	b := newBuilder(opts)
	if _, err := b.generate(c); err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	err := afero.Walk(b.fs, b.workDir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(b.workDir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "themes/") {
			return nil
		}
		data, err := afero.ReadFile(b.fs, p)
		got[rel] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden")
	if *update {
		os.RemoveAll(golden)
		for rel, data := range got {
			p := filepath.Join(golden, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	want := map[string][]byte{}
	err = filepath.WalkDir(golden, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(golden, p)
		data, err := os.ReadFile(p)
		want[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatalf("%v (run go test ./site -run TestGeneratedProject -update)", err)
	}
	for rel, w := range want {
		g, ok := got[rel]
		switch {
		case !ok:
			t.Errorf("%s: not generated", rel)
		case !bytes.Equal(g, w):
			t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", rel, g, w)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			t.Errorf("%s: generated but not in the golden files", rel)
		}
	}
}

func TestBuild(t *testing.T) {
	c := fixtureCorpus(t)
	out := filepath.Join(t.TempDir(), "public")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(out, "stale", "index.html")
	os.MkdirAll(filepath.Dir(stale), 0o755)
	os.WriteFile(stale, []byte("<p>old</p>"), 0o644)

	res, err := Build(context.Background(), c, Options{OutputDir: out, Now: fixtureNow})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 6 {
		t.Errorf("Records = %d, want 6", res.Records)
	}
	for _, p := range []string{
		"index.html", "index.xml", "search.json", "why.json",
		"timeline/index.html", "repos/index.html", "repos/acme-platform/index.html",
		"repos/acme-platform/0002-move-to-kafka/index.html",
		"repos/acme-platform/0001-use-rabbitmq/broker.png", // an image beside the record, published with it
		"repos/acme-legacy/0002-use-postgres/index.html",
		"values/cost-awareness/index.html", // named by a record, defined by none
		"tags/messaging/index.html",
	} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Errorf("missing %s", p)
		}
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a stale file from the previous output survived the build")
	}
	page, _ := os.ReadFile(filepath.Join(out, "repos/acme-platform/0002-move-to-kafka/index.html"))
	for _, bad := range []string{`<script>alert("owned")`, "javascript:", "onerror", "onclick", "TODO: add the graphs"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("record page contains %q", bad)
		}
	}
	for _, good := range []string{"&lt;script&gt;", "<details>", "<summary>Numbers</summary>", `href="https://kafka.apache.org/"`, "/repos/acme-platform/0001-use-rabbitmq/", "https://github.com/acme/platform/blob/main/ops/runbook.md"} {
		if !bytes.Contains(page, []byte(good)) {
			t.Errorf("record page lacks %q", good)
		}
	}
	old, _ := os.ReadFile(filepath.Join(out, "repos/acme-platform/0001-use-rabbitmq/index.html"))
	if !bytes.Contains(old, []byte("&lt;number&gt;")) {
		t.Error("the <number> placeholder is not visible on the record page")
	}
	if broken := CheckLinks(out); len(broken) > 0 {
		t.Errorf("broken links: %v", broken)
	}
}

func TestBuildUnderSubPath(t *testing.T) {
	c := fixtureCorpus(t)
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Build(context.Background(), c, Options{OutputDir: out, BaseURL: "/docs/", Now: fixtureNow}); err != nil {
		t.Fatal(err)
	}
	if broken := CheckLinksBase(out, "/docs/"); len(broken) > 0 {
		t.Errorf("broken links: %v", broken)
	}
	if got := detectBase(out); got != "/docs/" {
		t.Errorf("detectBase = %q, want /docs/", got)
	}
	if broken := CheckLinksBase(out, "/"); len(broken) == 0 {
		t.Error("CheckLinksBase with the wrong base found nothing broken")
	}
}

func TestFailedBuildKeepsPreviousSite(t *testing.T) {
	c := fixtureCorpus(t)
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Build(context.Background(), c, Options{OutputDir: out, Now: fixtureNow}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, "index.html"))

	broken := fstest.MapFS{
		"layouts/home.html": {Data: []byte(`{{ errorf "the theme is broken: %s" "on purpose" }}`)},
		"layouts/page.html": {Data: []byte(`{{ .Title }}`)},
		"layouts/list.html": {Data: []byte(`{{ .Title }}`)},
	}
	_, err := Build(context.Background(), c, Options{OutputDir: out, Now: fixtureNow, theme: broken})
	if err == nil || !strings.Contains(err.Error(), "the theme is broken: on purpose") {
		t.Fatalf("Build with a failing template: err = %v, want the errorf message", err)
	}
	after, _ := os.ReadFile(filepath.Join(out, "index.html"))
	if len(before) == 0 || !bytes.Equal(before, after) {
		t.Error("a failed build changed the previous site")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("a failed build left staging folders behind: %v", entries)
	}
}

func TestPreviewRebuild(t *testing.T) {
	root := copyFixtures(t)
	repos := openFixtures(t, root)
	p, err := newPreviewer(repos, Options{Now: fixtureNow})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if err := p.rebuild(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := get("/repos/acme-legacy/0002-use-postgres/")
	if status != 200 || !strings.Contains(body, eventsPath) {
		t.Fatalf("record page: status %d, reload script injected: %v", status, strings.Contains(body, eventsPath))
	}

	// Listen for the reload event as a browser would.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+eventsPath, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: ") {
				events <- strings.TrimPrefix(sc.Text(), "event: ")
			}
		}
	}()
	waitForClient(t, &p.hub)

	file := filepath.Join(root, "legacy/doc/adr/0002-use-postgres.md")
	data, _ := os.ReadFile(file)
	data = bytes.Replace(data, []byte("# 2. Use PostgreSQL"), []byte("# 2. Use PostgreSQL 16"), 1)
	os.WriteFile(file, data, 0o644)
	later := time.Now().Add(time.Second)
	os.Chtimes(file, later, later)
	p.rebuildAndNotify()

	select {
	case ev := <-events:
		if ev != "reload" {
			t.Errorf("event %q, want reload", ev)
		}
	case <-time.After(10 * time.Second):
		t.Error("no reload event after a rebuild")
	}
	if _, body := get("/repos/acme-legacy/0002-use-postgres/"); !strings.Contains(body, "Use PostgreSQL 16") {
		t.Error("the rebuilt page does not show the new title")
	}
	// A list nobody had open is rendered when it is asked for.
	if _, body := get("/timeline/"); !strings.Contains(body, "Use PostgreSQL 16") {
		t.Error("the timeline does not show the new title after the rebuild")
	}
	if p.loader.Parsed != 1 {
		t.Errorf("the rebuild parsed %d files, want 1", p.loader.Parsed)
	}

	// A record removed: its page goes.
	os.Remove(file)
	if err := p.rebuild(); err != nil {
		t.Fatal(err)
	}
	if status, _ := get("/repos/acme-legacy/0002-use-postgres/"); status != http.StatusNotFound {
		t.Errorf("the page of a removed record answers %d, want 404", status)
	}
}

func waitForClient(t *testing.T, h *hub) {
	t.Helper()
	for range 100 {
		h.mu.Lock()
		n := len(h.clients)
		h.mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the event stream never connected")
}

func TestCheckLinks(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644)
	}
	write("index.html", `<a href="/a/">a</a><a href="a/">a</a><a href="/missing/">m</a><img src="/img.png"><a href="https://example.com/x">x</a><a href="#top">t</a>`)
	write("a/index.html", `<a href="../">up</a><a href="../b/c.html">c</a><link href="/style.css">`)
	write("img.png", "png")
	got := CheckLinks(dir)
	want := []BrokenLink{{"a/index.html", "../b/c.html"}, {"a/index.html", "/style.css"}, {"index.html", "/missing/"}}
	if len(got) != len(want) {
		t.Fatalf("CheckLinks = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("CheckLinks[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// The embedded theme is what Build uses by default.
var _ fs.FS = themes.Default

func TestBuildDoesNotPublishFilesOutsideTheRepository(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("TOP SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "docs", "decisions")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "0001-a.md"), []byte("# 1. A\n\n![diagram](diagram.png) and [notes](notes.txt)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"diagram.png", "notes.txt"} {
		if err := os.Symlink(secret, filepath.Join(dir, name)); err != nil {
			t.Skip("no symlinks here:", err)
		}
	}
	repo, err := content.OpenRepo("acme/x=" + root)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Build(context.Background(), content.Load([]*content.Repo{repo}), Options{OutputDir: out, Now: fixtureNow}); err != nil {
		t.Fatal(err)
	}
	_ = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if data, _ := os.ReadFile(p); bytes.Contains(data, []byte("TOP SECRET")) {
			t.Errorf("%s holds the secret a symlink points to", p)
		}
		return nil
	})
}
