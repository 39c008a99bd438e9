package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/memory"
)

// inboxAt fills an in-memory inbox with one delivery in each state, each
// finished at finished: "done", "dead", "pending" and "claimed".
func inboxAt(t *testing.T, received, finished time.Time) *memory.Store {
	t.Helper()
	ctx := context.Background()
	st := memory.New()
	enqueue := func(id string) {
		if _, err := st.Enqueue(ctx, app.Delivery{ID: id, Event: "pull_request", Payload: []byte("{}"), ReceivedAt: received}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"done", "dead", "claimed"} {
		enqueue(id)
	}
	if ds, err := st.Claim(ctx, "w", 3, finished, 100*24*time.Hour); err != nil || len(ds) != 3 {
		t.Fatalf("claim: %d deliveries, %v", len(ds), err)
	}
	enqueue("pending")
	if err := st.Complete(ctx, "done", "w", finished); err != nil {
		t.Fatal(err)
	}
	if err := st.Bury(ctx, "dead", "w", finished, "boom"); err != nil {
		t.Fatal(err)
	}
	return st
}

func stored(t *testing.T, st *memory.Store) map[string]bool {
	t.Helper()
	known, err := st.Known(context.Background(), []string{"done", "dead", "pending", "claimed"})
	if err != nil {
		t.Fatal(err)
	}
	return known
}

func TestPruneDeletesOnlyOldDoneDeliveries(t *testing.T) {
	c := newClock()
	finished := c.Now().Add(-31 * 24 * time.Hour)
	st := inboxAt(t, finished.Add(-time.Minute), finished)

	// Within the retention nothing goes.
	p := &app.Pruner{Inbox: st, Retention: 40 * 24 * time.Hour, Now: c.Now}
	if n, err := p.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep within the retention deleted %d (%v), want 0", n, err)
	}
	// Kept forever: nothing goes either.
	p.Retention = 0
	if n, err := p.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep with no retention deleted %d (%v), want 0", n, err)
	}

	p.Retention = app.DefaultRetention
	n, err := p.Sweep(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("sweep past the retention deleted %d (%v), want the one done delivery", n, err)
	}
	if got := stored(t, st); got["done"] || !got["dead"] || !got["pending"] || !got["claimed"] {
		t.Errorf("after pruning the inbox holds %v: want every delivery but the done one", got)
	}
	// Twice deletes nothing more.
	if n, err := p.Sweep(context.Background()); err != nil || n != 0 {
		t.Errorf("a second sweep deleted %d (%v)", n, err)
	}
}

func TestPrunerRunSweepsUntilStopped(t *testing.T) {
	c := newClock()
	st := inboxAt(t, c.Now().Add(-time.Hour), c.Now())
	p := &app.Pruner{Inbox: st, Retention: 24 * time.Hour, Interval: 5 * time.Millisecond, Now: c.Now}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		p.Run(ctx)
		close(stopped)
	}()

	// The done delivery is a day old only once the clock says so.
	time.Sleep(30 * time.Millisecond)
	if !stored(t, st)["done"] {
		t.Fatal("a delivery done an hour ago was pruned with a retention of a day")
	}
	c.Set(c.Now().Add(25 * time.Hour))
	deadline := time.Now().Add(5 * time.Second)
	for stored(t, st)["done"] {
		if time.Now().After(deadline) {
			t.Fatal("the pruner did not delete the delivery once it was past the retention")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := stored(t, st); !got["dead"] || !got["pending"] || !got["claimed"] {
		t.Errorf("the pruner deleted more than the done delivery: %v", got)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}

	// With no retention Run has nothing to do and returns at once.
	done := make(chan struct{})
	go func() {
		(&app.Pruner{Inbox: st}).Run(context.Background())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run with no retention did not return")
	}
}
