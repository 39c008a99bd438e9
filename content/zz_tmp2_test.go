package content

import (
	"testing"
	"time"
	"runtime"
)

func TestTmpBattery(t *testing.T) {
	units := []string{"a*b_\n", "[a](\n", "*a _b\n", "[a]: b\n\n", "[a](b\n", "[[[[[[[[[[\n", "a*b_ a*b_ a*b_ a*b_ a*b_ a*b_ a*b_ a*b_ a*b_ a*b_ a*b_ a*b_ a*b_ a*b_ a*b_\n\n", "[a](b) ", "[a] ", "![a](b) "}
	for _, u := range units {
		var ds [2]time.Duration
		var al [2]float64
		for i, size := range []int{64 << 10, 256 << 10} {
			data := rep("", u, size)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			Parse(fuzzRepo, "docs/decisions/0001-x.md", data)
			ds[i] = time.Since(start)
			runtime.ReadMemStats(&after)
			al[i] = float64(after.TotalAlloc-before.TotalAlloc) / float64(len(data))
		}
		t.Logf("%-40q 64K %10v 256K %10v ratio %5.1f  alloc %5.0f %5.0f B/B", u, ds[0], ds[1], float64(ds[1])/float64(ds[0]), al[0], al[1])
	}
}
