package content

import (
	"os"
	"strings"
	"testing"
	"time"
	"runtime"
)

func rep(head, unit string, n int) []byte {
	b := []byte(head)
	for len(b)+len(unit) <= n {
		b = append(b, unit...)
	}
	return b
}

func TestTmpProfile(t *testing.T) {
	which := os.Getenv("CASE")
	size := 1 << 20
	if s := os.Getenv("SIZE"); s != "" {
		size = atoi(s)
	}
	cases := map[string][2]string{
		"status": {"# Use Kafka\n\n", "## Status\n\nAccepted\n\n"},
		"quote":  {"", "> "},
		"link":   {"# T\n\n", "[a](b.md) "},
		"yaml":   {"---\ntags:\n", "  - a\n"},
		"emph":   {"", "*a "},
		"setext": {"", "Title\n===\n"},
		"list":   {"", "- "},
		"text":   {"# T\n\n", "word word word word word word word word\n"},
	}
	for name, c := range cases {
		if which != "" && !strings.Contains(","+which+",", ","+name+",") {
			continue
		}
		data := rep(c[0], c[1], size)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		Parse(fuzzRepo, "docs/decisions/0001-x.md", data)
		d := time.Since(start)
		runtime.ReadMemStats(&after)
		t.Logf("%s: %d bytes, %v, %.1f B/B", name, len(data), d, float64(after.TotalAlloc-before.TotalAlloc)/float64(len(data)))
	}
}
