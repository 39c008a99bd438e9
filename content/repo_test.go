package content

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenRepoGitRemote(t *testing.T) {
	for _, url := range []string{"git@github.com:Acme/Widgets.git", "https://github.com/Acme/Widgets", "ssh://git@github.com/Acme/Widgets.git"} {
		root := t.TempDir()
		writeFiles(t, root, map[string]string{
			".git/config":              "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = " + url + "\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
			".git/HEAD":                "ref: refs/heads/trunk\n",
			"docs/adr/0001-a.md":       "# 1. A\n",
			"docs/architecture/x.md":   "# not a record folder when docs/adr exists? it is: both are usual\n",
			"docs/processes/0001-p.md": "# P\n",
		})
		r, err := OpenRepo(root)
		if err != nil {
			t.Fatal(err)
		}
		if r.Name != "Acme/Widgets" || r.SourceURL != "https://github.com/Acme/Widgets/blob/trunk/" || r.EditURL != "https://github.com/Acme/Widgets/edit/trunk/" {
			t.Errorf("%s: Name %q SourceURL %q EditURL %q", url, r.Name, r.SourceURL, r.EditURL)
		}
		if want := []string{"docs/adr", "docs/architecture", "docs/processes"}; !reflect.DeepEqual(r.Dirs, want) {
			t.Errorf("Dirs = %q, want %q", r.Dirs, want)
		}
	}
}

func TestOpenRepoDiscovery(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"README.md":         "# My records\n",
		"adr-001-a.md":      "# A\n",
		"adr-template.md":   "# <number>. <title>\n",
		"template.md":       "# t\n",
		"_fixtures/x.md":    "# fixture\n",
		"node_modules/y.md": "# dep\n",
		".hidden/z.md":      "# hidden\n",
		"one/README.md":     "# Folder per decision\n",
		"notes.txt":         "not markdown",
	})
	r, err := OpenRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != filepath.Base(root) || r.SourceURL != "" || !reflect.DeepEqual(r.Dirs, []string{"."}) {
		t.Errorf("repo = %+v", r)
	}
	c := Load([]*Repo{r})
	if got, want := paths(c.Records), []string{"adr-001-a.md", "one/README.md"}; !reflect.DeepEqual(got, want) {
		t.Errorf("records = %q, want %q", got, want)
	}

	empty := t.TempDir()
	r, err = OpenRepo("me/empty=" + empty)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "me/empty" || len(r.Dirs) != 0 || len(r.Problems) != 1 || r.Problems[0].Code != "no-records" {
		t.Errorf("empty repo = %+v", r)
	}
	if _, err := OpenRepo(filepath.Join(empty, "missing")); err == nil {
		t.Error("OpenRepo of a missing folder should fail")
	}
}

func TestParseConfig(t *testing.T) {
	cfg, problems := ParseConfig([]byte("records:\n  paths: [decisions]\n  id_prefix: DEC\n  id_digits: 3\n"))
	if len(problems) != 0 || !reflect.DeepEqual(cfg.Paths, []string{"decisions"}) || cfg.FormatID(7) != "DEC-007" {
		t.Errorf("cfg = %+v, problems %v", cfg, problems)
	}
	cfg, problems = ParseConfig([]byte("records:\n  paths: [decisions]\n  id_digits: many\n  colour: blue\n"))
	if len(problems) != 2 || problems[0].Line != 3 || problems[1].Line != 4 || cfg.IDDigits != 4 {
		t.Errorf("cfg = %+v, problems %v", cfg, problems)
	}
	_, problems = ParseConfig([]byte("records: [\n"))
	if len(problems) != 1 || problems[0].Severity != SeverityError {
		t.Errorf("problems = %v", problems)
	}

	root := t.TempDir()
	writeFiles(t, root, map[string]string{".github/backstory.yml": "records:\n  paths: \"oops\n", "docs/adr/0001-a.md": "# A\n"})
	r, err := OpenRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 1 || r.Problems[0].File != ".github/backstory.yml" || r.Problems[0].Line == 0 || !reflect.DeepEqual(r.Dirs, []string{"docs/adr"}) {
		t.Errorf("problems %v, dirs %v: want one config problem with a line, and the defaults", r.Problems, r.Dirs)
	}
}

func TestLoaderReparsesOnlyChangedFiles(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"docs/decisions/0001-a.md": "# 1. A\n", "docs/decisions/0002-b.md": "# 2. B\n"})
	r, err := OpenRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	var l Loader
	c := l.Load([]*Repo{r})
	if l.Parsed != 2 || len(c.Records) != 2 {
		t.Fatalf("first load parsed %d, %d records", l.Parsed, len(c.Records))
	}
	c2 := l.Load([]*Repo{r})
	if l.Parsed != 0 || c2.Records[0] != c.Records[0] {
		t.Errorf("unchanged reload parsed %d files", l.Parsed)
	}
	p := filepath.Join(root, "docs", "decisions", "0002-b.md")
	if err := os.WriteFile(p, []byte("# 2. B changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(p, future, future); err != nil {
		t.Fatal(err)
	}
	c3 := l.Load([]*Repo{r})
	if l.Parsed != 1 || c3.Records[1].Title != "B changed" || c3.Records[0] != c.Records[0] {
		t.Errorf("after one change: parsed %d, title %q", l.Parsed, c3.Records[1].Title)
	}
}

func TestLoadReportsUnreadableFiles(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"adr/0001-a.md": "# A\n", "adr/0002-b.md": "# B\n"})
	if err := os.Chmod(filepath.Join(root, "adr", "0002-b.md"), 0); err != nil {
		t.Fatal(err)
	}
	r, _ := OpenRepo(root)
	c := Load([]*Repo{r})
	if len(c.Records) != 1 || len(c.Problems) != 1 || !strings.Contains(c.Problems[0].Message, "skipped") {
		t.Errorf("records %d, problems %v", len(c.Records), c.Problems)
	}
}

func TestConfigRepositoryNamesACheckoutWithoutRemote(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		".github/backstory.yml": "repository: acme/story\nrecords:\n  paths: [records]\n",
		"records/0001-a.md":     "# 1. A\n",
	})
	r, err := OpenRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "acme/story" || r.SourceURL != "https://github.com/acme/story/blob/main/" || len(r.Problems) != 0 {
		t.Errorf("Name %q SourceURL %q problems %v", r.Name, r.SourceURL, r.Problems)
	}
	// NAME=PATH still wins.
	if r, _ := OpenRepo("other/name=" + root); r.Name != "other/name" {
		t.Errorf("NAME=PATH gave %q", r.Name)
	}
	if _, problems := ParseConfig([]byte("repository: just-a-name\n")); len(problems) != 1 || problems[0].Line != 1 {
		t.Errorf("a repository without an owner: problems %v", problems)
	}
}

func TestLoadSkipsSymlinksOutOfTheRepository(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.md")
	if err := os.WriteFile(secret, []byte("# Top secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"docs/adr/0001-a.md": "# 1. A\n"})
	if err := os.Symlink(secret, filepath.Join(root, "docs", "adr", "0002-linked.md")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if err := os.Symlink("0001-a.md", filepath.Join(root, "docs", "adr", "0003-alias.md")); err != nil {
		t.Fatal(err)
	}
	r, err := OpenRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	c := Load([]*Repo{r})
	if got, want := paths(c.Records), []string{"docs/adr/0001-a.md", "docs/adr/0003-alias.md"}; !reflect.DeepEqual(got, want) {
		t.Errorf("records = %q, want %q", got, want)
	}
	found := false
	for _, p := range c.Problems {
		found = found || (p.Code == "symlink-outside" && p.File == "docs/adr/0002-linked.md")
	}
	if !found {
		t.Errorf("no problem reported for the link out of the repository: %v", c.Problems)
	}
}
