package check

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/content"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// now is "today" in every test: after ADR-0003's review date.
var now = time.Date(2025, 1, 15, 9, 30, 0, 0, time.UTC)

var (
	fixtureOnce   sync.Once
	fixtureCorpus *content.Corpus
	fixtureErr    error
)

// corpus loads testdata/repos: acme/shop (docs/decisions, ADR-0001 to
// ADR-0008 without 0007) and acme/platform (docs/adr, ADR-0001), with
// links to github.com as the App makes them.
func corpus(t testing.TB) *content.Corpus {
	t.Helper()
	fixtureOnce.Do(func() {
		var repos []*content.Repo
		for _, name := range []string{"shop", "platform"} {
			r, err := content.OpenRepo("acme/" + name + "=" + filepath.Join("testdata", "repos", name))
			if err != nil {
				fixtureErr = err
				return
			}
			// As the App opens them: it knows GitHub's address.
			r.Branch = "main"
			r.SourceURL = "https://github.com/acme/" + name + "/blob/main/"
			r.EditURL = "https://github.com/acme/" + name + "/edit/main/"
			repos = append(repos, r)
		}
		fixtureCorpus = content.Load(repos)
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	if len(fixtureCorpus.Problems) > 0 {
		t.Fatalf("the fixtures have problems: %v", fixtureCorpus.Problems)
	}
	return fixtureCorpus
}

// goodWhy is a body whose why passes the default intent settings.
const goodWhy = "## Why\n\nCheckout times out when the pricing service is slow, and customers abandon their carts.\n"

// input is a pull request of acme/shop that changes README.md, under the
// default configuration.
func input(t testing.TB) Input {
	return Input{
		PR: PullRequest{
			Repository: "acme/shop", Number: 7, Title: "Make checkout faster", Author: "alice", HeadSHA: "0123abcd",
			Body:  goodWhy,
			Files: []File{{Path: "README.md", Status: "modified", Additions: 3, Deletions: 1}},
		},
		Config: DefaultConfig(),
		Corpus: corpus(t),
		Now:    now,
	}
}

// record parses a record file as the pull request has it at its head.
func record(t testing.TB, repo, path, text string) *content.Record {
	t.Helper()
	r := content.Parse(&content.Repo{Name: repo, Config: content.DefaultConfig()}, path, []byte(text))
	for _, p := range r.Problems {
		if p.Severity == content.SeverityError {
			t.Fatalf("fixture %s: %v", path, p)
		}
	}
	return r
}

func ids(records []*content.Record) []string {
	var out []string
	for _, r := range records {
		out = append(out, r.ID)
	}
	return out
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./app/check -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./app/check -run %s -update rewrites it):\n%s", file, t.Name(), diffLines(string(want), got))
	}
}

// diffLines shows the first lines that differ.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n   got: " + gl + "\n")
			shown++
		}
	}
	return b.String()
}
