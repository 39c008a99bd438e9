package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app/storetest"
)

// variants are the choices the package doc compares: durability (FULL
// fsyncs the WAL at every commit; NORMAL only at checkpoints) and group
// commit (batches of up to 256 writes; 1: one transaction per write).
var variants = []struct {
	name string
	opts options
}{
	{"full-group-bgckpt", defaults},
	{"full-group", options{synchronous: "FULL", maxBatch: defaults.maxBatch, maxBytes: defaults.maxBytes}},
	{"full-single", options{synchronous: "FULL", maxBatch: 1, maxBytes: defaults.maxBytes}},
	{"normal-group-bgckpt", options{synchronous: "NORMAL", maxBatch: defaults.maxBatch, maxBytes: defaults.maxBytes, checkpointEvery: defaults.checkpointEvery}},
	{"normal-group", options{synchronous: "NORMAL", maxBatch: defaults.maxBatch, maxBytes: defaults.maxBytes}},
	{"normal-single", options{synchronous: "NORMAL", maxBatch: 1, maxBytes: defaults.maxBytes}},
}

func benchStore(b *testing.B, opts options) *Store {
	s, err := open(context.Background(), benchPath(b), opts, migrations)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkEnqueue(b *testing.B) {
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) { storetest.BenchmarkEnqueue(b, benchStore(b, v.opts)) })
	}
}

func BenchmarkEnqueueParallel(b *testing.B) {
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) { storetest.BenchmarkEnqueueParallel(b, benchStore(b, v.opts)) })
	}
}

func BenchmarkClaimComplete(b *testing.B) {
	storetest.BenchmarkClaimComplete(b, benchStore(b, defaults))
}

// BenchmarkEnqueueOpenLoop is the ingest target: 500 deliveries/s for 10 s
// from 16 concurrent callers. Run it with -benchtime 1x.
func BenchmarkEnqueueOpenLoop(b *testing.B) {
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			s := benchStore(b, v.opts)
			storetest.BenchmarkOpenLoop(b, s, 500, 10*time.Second, 16)
			// Checkpoints that never catch up would let the WAL grow
			// without bound.
			if fi, err := os.Stat(s.path + "-wal"); err == nil {
				b.ReportMetric(float64(fi.Size())/(1<<20), "wal-MB")
			}
			if n := s.transactions.Load(); n > 0 {
				b.ReportMetric(float64(s.writes.Load())/float64(n), "writes/commit")
			}
		})
	}
}

func benchPath(b *testing.B) string { return filepath.Join(b.TempDir(), "backstory.db") }
