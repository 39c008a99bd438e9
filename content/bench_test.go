package content

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func benchRecord(i int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "---\nid: ADR-%04d\nstatus: accepted\ndate: 2024-03-%02d\ndeciders: [alice, bob]\ntags: [availability, kafka]\n", i, i%28+1)
	if i > 1 {
		fmt.Fprintf(&b, "supersedes: [ADR-%04d]\n", i-1)
	}
	b.WriteString("values: [availability]\ngoverns: [\"services/*/consumer/**\"]\n---\n")
	fmt.Fprintf(&b, "# Decision number %d about consumers\n\n", i)
	for _, h := range []string{"Why", "What", "Risks", "Tradeoffs", "How we will know"} {
		fmt.Fprintf(&b, "## %s\n\nConsumers poll the service every few seconds, see [ADR-%04d](%04d-x.md). ", h, i, i)
		b.WriteString("This costs *money* and `latency`, and a <placeholder> stays text.\n\n- one point\n- another point with a [link](https://example.com)\n\n")
	}
	return []byte(b.String())
}

// BenchmarkParse measures one small native record (about 1.4 KB).
func BenchmarkParse(b *testing.B) {
	data := benchRecord(12)
	repo := &Repo{Name: "acme/bench", Config: DefaultConfig()}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		Parse(repo, "docs/decisions/0012-x.md", data)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkLoad measures a full load (walk, read, parse in parallel, index)
// of 1,000 records in 10 folders.
func BenchmarkLoad(b *testing.B) {
	root := b.TempDir()
	const n = 1000
	for i := 1; i <= n; i++ {
		dir := filepath.Join(root, "docs", "decisions")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d-decision-%d.md", i, i)), benchRecord(i), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	repo, err := OpenRepo("acme/bench=" + root)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c := Load([]*Repo{repo})
		if len(c.Records) != n {
			b.Fatalf("%d records", len(c.Records))
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
}
