package site

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/backstory-dev/backstory/content"
)

// benchCorpus generates a corpus of n records over 50 repositories and opens
// its repositories.
func benchCorpus(b *testing.B, n int) (string, []*content.Repo) {
	b.Helper()
	dir := b.TempDir()
	if err := GenerateCorpus(dir, n, 50); err != nil {
		b.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var repos []*content.Repo
	for _, name := range names {
		r, err := content.OpenRepo("bench/" + name + "=" + filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		repos = append(repos, r)
	}
	return dir, repos
}

// benchBuild measures what `backstory build` does: load the corpus, build
// the site.
func benchBuild(b *testing.B, n int) {
	_, repos := benchCorpus(b, n)
	out := filepath.Join(b.TempDir(), "public")
	b.ResetTimer()
	for b.Loop() {
		c := content.Load(repos)
		if _, err := Build(context.Background(), c, Options{OutputDir: out}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchFloor measures plain Hugo building the same number of simple pages
// (the records' text, one template) in the same process style.
func benchFloor(b *testing.B, n int) {
	dir, _ := benchCorpus(b, n)
	project := filepath.Join(b.TempDir(), "floor")
	if _, err := WriteFloorProject(dir, project); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "public")
	b.ResetTimer()
	for b.Loop() {
		if _, err := BuildFloor(project, out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuild1k(b *testing.B)  { benchBuild(b, 1000) }
func BenchmarkBuild10k(b *testing.B) { benchBuild(b, 10000) }
func BenchmarkFloor1k(b *testing.B)  { benchFloor(b, 1000) }
func BenchmarkFloor10k(b *testing.B) { benchFloor(b, 10000) }

// BenchmarkRebuild1k measures a preview rebuild after one record changed.
func BenchmarkRebuild1k(b *testing.B) {
	_, repos := benchCorpus(b, 1000)
	work := b.TempDir()
	var total float64
	for b.Loop() {
		_, one, _, err := MeasureRebuildPhases(repos, work)
		if err != nil {
			b.Fatal(err)
		}
		total += one.Seconds()
	}
	b.ReportMetric(total/float64(b.N), "rebuild-s/op")
}

// BenchmarkSanitiseBody measures the per-record body pass.
func BenchmarkSanitiseBody(b *testing.B) {
	dir, repos := benchCorpus(b, 100)
	_ = dir
	c := content.Load(repos)
	b.ResetTimer()
	for b.Loop() {
		for _, r := range c.Records {
			sanitiseBody([]byte(r.Body), keepLinks, "/")
		}
	}
}
