package storetest

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// slowInbox takes delay per Enqueue and fails every failEvery-th one.
type slowInbox struct {
	app.Inbox
	delay     time.Duration
	failEvery int64
	n         atomic.Int64
}

func (s *slowInbox) Enqueue(ctx context.Context, d app.Delivery) (bool, error) {
	time.Sleep(s.delay)
	if n := s.n.Add(1); s.failEvery > 0 && n%s.failEvery == 0 {
		return false, errors.New("disk full")
	}
	return true, nil
}

func TestOpenLoopMeasuresLatency(t *testing.T) {
	in := &slowInbox{delay: 2 * time.Millisecond}
	l, err := OpenLoop(context.Background(), in, 200, 500*time.Millisecond, 4)
	if err != nil {
		t.Fatal(err)
	}
	if l.Sent != 100 || in.n.Load() != 100 {
		t.Errorf("sent %d, enqueued %d; want 100", l.Sent, in.n.Load())
	}
	if l.P50 < 2*time.Millisecond || l.P50 > 50*time.Millisecond {
		t.Errorf("p50 %s for a 2 ms store", l.P50)
	}
}

// TestOpenLoopCountsQueueing checks that the load is open: a store slower
// than the arrivals shows the time deliveries waited for a caller, instead
// of slowing the arrivals down and hiding it.
func TestOpenLoopCountsQueueing(t *testing.T) {
	// 1 caller at 20 ms each serves 50/s; 100/s arrive for half a second.
	l, err := OpenLoop(context.Background(), &slowInbox{delay: 20 * time.Millisecond}, 100, 500*time.Millisecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The last arrival is due at 0.5 s and served at about 1 s.
	if l.P99 < 300*time.Millisecond {
		t.Errorf("p99 %s: the queueing of an overloaded store is not counted", l.P99)
	}
}

func TestOpenLoopReportsFailures(t *testing.T) {
	l, err := OpenLoop(context.Background(), &slowInbox{failEvery: 10}, 400, 250*time.Millisecond, 2)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("OpenLoop over a failing store = %v, want the store's error", err)
	}
	if l.Failed != 10 {
		t.Errorf("%d failures counted, want 10", l.Failed)
	}
}

func TestPullRequestPayloadIsRealistic(t *testing.T) {
	p := PullRequestPayload()
	if len(p) < 20_000 || !strings.Contains(string(p), `"pull_request"`) {
		t.Errorf("payload of %d bytes does not look like a pull_request delivery", len(p))
	}
	p[0] = 'x'
	if PullRequestPayload()[0] == 'x' {
		t.Error("PullRequestPayload shares its bytes with callers")
	}
}
