package postgres

import (
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app/storetest"
)

func BenchmarkEnqueue(b *testing.B) {
	storetest.BenchmarkEnqueue(b, openURL(b, newSchema(b)))
}

func BenchmarkEnqueueParallel(b *testing.B) {
	storetest.BenchmarkEnqueueParallel(b, openURL(b, newSchema(b)))
}

func BenchmarkClaimComplete(b *testing.B) {
	storetest.BenchmarkClaimComplete(b, openURL(b, newSchema(b)))
}

// BenchmarkEnqueueOpenLoop is the ingest target: 500 deliveries/s for 10 s
// from 16 concurrent callers. Run it with -benchtime 1x.
func BenchmarkEnqueueOpenLoop(b *testing.B) {
	storetest.BenchmarkOpenLoop(b, openURL(b, newSchema(b)), 500, 10*time.Second, 16)
}
