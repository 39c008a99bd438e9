package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/storetest"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func delivery(id, key string, received time.Time) app.Delivery {
	return app.Delivery{
		ID: id, Event: "pull_request", Action: "opened", InstallationID: 1,
		Repository: "o/r", Key: key, Payload: []byte(`{"id":"` + id + `"}`), ReceivedAt: received,
	}
}

func enqueue(t *testing.T, s *Store, ds ...app.Delivery) {
	t.Helper()
	for _, d := range ds {
		ok, err := s.Enqueue(context.Background(), d)
		if err != nil || !ok {
			t.Fatalf("enqueue %s: %v, %v", d.ID, ok, err)
		}
	}
}

func ids(ds []app.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func claim(t *testing.T, s *Store, worker string, n int, now time.Time) []string {
	t.Helper()
	ds, err := s.Claim(context.Background(), worker, n, now, time.Minute)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return ids(ds)
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestContract runs the suite every app.Store passes. A later open in the
// same test reopens the first store's data, as a restart would.
func TestContract(t *testing.T) {
	var (
		mu    sync.Mutex
		first = map[*testing.T]*Store{}
	)
	storetest.Run(t, func(t *testing.T) app.Store {
		mu.Lock()
		defer mu.Unlock()
		s, ok := first[t]
		if !ok {
			s = New()
			first[t] = s
		} else {
			s = s.Reopen()
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestEnqueueCopiesPayload(t *testing.T) {
	ctx := context.Background()
	s := New()
	d := delivery("a", "", t0)
	enqueue(t, s, d)
	d.Payload[0] = 'X'
	got, _ := s.Delivery(ctx, "a")
	if got.Payload[0] != '{' {
		t.Fatal("the store kept the caller's buffer")
	}
	got.Payload[0] = 'Y'
	again, _ := s.Delivery(ctx, "a")
	if again.Payload[0] != '{' {
		t.Fatal("the store handed out its own buffer")
	}
}

func TestClaimedDeliveryState(t *testing.T) {
	ctx := context.Background()
	s := New()
	enqueue(t, s, delivery("a", "k", t0))
	ds, err := s.Claim(ctx, "w", 1, t0, time.Minute)
	if err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}
	d := ds[0]
	if d.State != app.StateClaimed || d.Event != "pull_request" || d.Action != "opened" ||
		d.InstallationID != 1 || d.Repository != "o/r" || d.Key != "k" || !d.ReceivedAt.Equal(t0) ||
		string(d.Payload) != `{"id":"a"}` {
		t.Errorf("claimed delivery = %+v", d)
	}
}

func TestKeyOfRetriedDeliveryDoesNotBlock(t *testing.T) {
	ctx := context.Background()
	s := New()
	enqueue(t, s, delivery("k1", "K", t0), delivery("k2", "K", t0.Add(time.Second)))
	claim(t, s, "w", 1, t0)
	if err := s.Retry(ctx, "k1", "w", t0.Add(time.Hour), "later"); err != nil {
		t.Fatal(err)
	}
	// A pending delivery holds no lease, so its key blocks nothing.
	if got := claim(t, s, "w", 10, t0); !equal(got, []string{"k2"}) {
		t.Fatalf("claim = %v", got)
	}
}

func TestBadArguments(t *testing.T) {
	ctx := context.Background()
	s := New()
	if _, err := s.Enqueue(ctx, app.Delivery{}); err == nil {
		t.Error("enqueue without an id succeeded")
	}
	if _, err := s.Claim(ctx, "", 1, t0, time.Minute); err == nil {
		t.Error("claim without a worker succeeded")
	}
	if _, err := s.Claim(ctx, "w", 1, t0, 0); err == nil {
		t.Error("claim without a lease succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Claim(cancelled, "w", 1, t0, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("claim with a cancelled context: %v", err)
	}
}

func TestReopenSharesDataNotClosing(t *testing.T) {
	ctx := context.Background()
	s := New()
	enqueue(t, s, delivery("a", "", t0))
	claim(t, s, "w", 1, t0)
	again := s.Reopen()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := again.Ping(ctx); err != nil {
		t.Fatalf("closing one handle closed the other: %v", err)
	}
	// The claim survived: the same worker can finish it through the new
	// handle, as after a restart that kept its name.
	if err := again.Complete(ctx, "a", "w", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delivery(ctx, "a"); err == nil {
		t.Error("the closed handle still answers")
	}
}

func TestDoneDeliveriesLeaveTheClaimSet(t *testing.T) {
	ctx := context.Background()
	s := New()
	for i := range 100 {
		enqueue(t, s, delivery(fmt.Sprint(i), "", t0))
	}
	for _, id := range claim(t, s, "w", 100, t0) {
		if err := s.Complete(ctx, id, "w", t0); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.d.active); n != 0 {
		t.Errorf("%d finished deliveries still scanned by Claim", n)
	}
	if n := len(s.d.deliveries); n != 100 {
		t.Errorf("%d deliveries kept, want 100 (for deduplication)", n)
	}
}
