package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// testExtend: a long job keeps its claim by moving the lease, and nobody
// else may move it.
func testExtend(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	enqueue(t, s, NewDelivery("x", "o/r@1", T0), NewDelivery("y", "o/r@1", T0.Add(time.Second)))
	wantIDs(t, "claim", claimIDs(t, s, "w1", 5, T0, time.Minute), "x")
	until := T0.Add(10 * time.Minute)
	must(t, s.Extend(ctx, "x", "w1", until))

	// Past the old lease end, before the new one: x is still held, and so
	// is its key.
	wantIDs(t, "claim between the old and the new lease end", claimIDs(t, s, "w2", 5, T0.Add(5*time.Minute), time.Minute))
	wantIDs(t, "claim just before the new lease end", claimIDs(t, s, "w2", 5, until.Add(-time.Microsecond), time.Minute))
	for _, worker := range []string{"w2", "stranger"} {
		if err := s.Extend(ctx, "x", worker, until.Add(time.Hour)); !errors.Is(err, app.ErrLeaseLost) {
			t.Errorf("Extend by %s, who does not hold x = %v, want ErrLeaseLost", worker, err)
		}
	}
	if err := s.Extend(ctx, "nope", "w1", until); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("Extend of an unknown id = %v, want ErrNotFound", err)
	}
	if err := s.Extend(ctx, "x", "w1", time.Time{}); err == nil {
		t.Error("Extend to the zero time: no error")
	}
	if d := get(t, s, "x"); d.State != app.StateClaimed || d.Attempts != 0 {
		t.Errorf("after the refused extends: state %q, attempts %d; want claimed, 0", d.State, d.Attempts)
	}

	// Once the new lease has run out, another worker takes x over, and the
	// first can no longer extend it.
	wantIDs(t, "claim after the new lease end", claimIDs(t, s, "w2", 5, until.Add(time.Microsecond), time.Minute), "x")
	if err := s.Extend(ctx, "x", "w1", until.Add(time.Hour)); !errors.Is(err, app.ErrLeaseLost) {
		t.Errorf("Extend by the worker that lost x = %v, want ErrLeaseLost", err)
	}
	must(t, s.Complete(ctx, "x", "w2", until.Add(time.Minute)))
	if err := s.Extend(ctx, "x", "w2", until.Add(time.Hour)); !errors.Is(err, app.ErrLeaseLost) {
		t.Errorf("Extend of a done delivery = %v, want ErrLeaseLost", err)
	}

	// A pending delivery is nobody's.
	wantIDs(t, "claim y", claimIDs(t, s, "w3", 5, until.Add(time.Minute), time.Minute), "y")
	must(t, s.Retry(ctx, "y", "w3", until.Add(time.Hour), "later"))
	if err := s.Extend(ctx, "y", "w3", until.Add(2*time.Hour)); !errors.Is(err, app.ErrLeaseLost) {
		t.Errorf("Extend of a pending delivery = %v, want ErrLeaseLost", err)
	}
	if d := get(t, s, "y"); d.State != app.StatePending {
		t.Errorf("after Extend of a pending delivery: state %q, want pending", d.State)
	}
}

// listIDs returns the ids Deliveries(f) lists, in its order.
func listIDs(t *testing.T, s app.Store, f app.DeliveryFilter) []string {
	t.Helper()
	ds, err := s.Deliveries(context.Background(), f)
	if err != nil {
		t.Fatalf("Deliveries(%+v): %v", f, err)
	}
	if ds == nil {
		t.Errorf("Deliveries(%+v) = nil, want a non-nil list", f)
	}
	return ids(ds)
}

func testDeliveries(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	wantIDs(t, "Deliveries of an empty store", listIDs(t, s, app.DeliveryFilter{}))
	d := func(id, repo, event string, received time.Time) app.Delivery {
		d := NewDelivery(id, "", received)
		d.Repository, d.Event = repo, event
		return d
	}
	// b2 is enqueued before b1 with the same ReceivedAt: the list orders
	// them by ID, not by arrival.
	enqueue(t, s,
		d("a", "octo-org/hello", "pull_request", T0.Add(1*time.Second)),
		d("b2", "Octo-Org/Hello", "push", T0.Add(2*time.Second)),
		d("b1", "octo-org/hello-2", "pull_request", T0.Add(2*time.Second)),
		d("c", "other/repo", "pull_request", T0.Add(3*time.Second)),
		d("d", "OCTO-ORG/HELLO", "pull_request", T0.Add(4*time.Second)),
		d("e", "", "ping", T0.Add(5*time.Second)),
	)
	wantIDs(t, "claim", claimIDs(t, s, "w", 4, T0, time.Hour), "a", "b2", "b1", "c")
	must(t, s.Complete(ctx, "a", "w", T0.Add(time.Minute)))
	must(t, s.Bury(ctx, "b2", "w", T0.Add(time.Minute), "422: unprocessable"))
	must(t, s.Retry(ctx, "b1", "w", T0.Add(2*time.Hour), "later"))
	// c stays claimed; d and e were never claimed.

	for _, tc := range []struct {
		name string
		f    app.DeliveryFilter
		want []string
	}{
		{"everything", app.DeliveryFilter{}, []string{"a", "b1", "b2", "c", "d", "e"}},
		{"dead", app.DeliveryFilter{States: []app.DeliveryState{app.StateDead}}, []string{"b2"}},
		{"done or dead", app.DeliveryFilter{States: []app.DeliveryState{app.StateDone, app.StateDead}}, []string{"a", "b2"}},
		{"claimed", app.DeliveryFilter{States: []app.DeliveryState{app.StateClaimed}}, []string{"c"}},
		{"pending", app.DeliveryFilter{States: []app.DeliveryState{app.StatePending}}, []string{"b1", "d", "e"}},
		{"an unknown state", app.DeliveryFilter{States: []app.DeliveryState{"nope"}}, nil},
		{"a repository, without case", app.DeliveryFilter{Repository: "OCTO-org/hello"}, []string{"a", "b2", "d"}},
		{"a repository's prefix", app.DeliveryFilter{Repository: "octo-org/hell"}, nil},
		{"a pattern", app.DeliveryFilter{Repository: "octo-org/hello%"}, nil},
		{"an event", app.DeliveryFilter{Event: "push"}, []string{"b2"}},
		{"an event, in another case", app.DeliveryFilter{Event: "Push"}, nil},
		{"since, inclusive", app.DeliveryFilter{Since: T0.Add(2 * time.Second)}, []string{"b1", "b2", "c", "d", "e"}},
		{"until, exclusive", app.DeliveryFilter{Until: T0.Add(2 * time.Second)}, []string{"a"}},
		{"since and until", app.DeliveryFilter{Since: T0.Add(2 * time.Second), Until: T0.Add(4 * time.Second)}, []string{"b1", "b2", "c"}},
		{"a limit", app.DeliveryFilter{Limit: 2}, []string{"a", "b1"}},
		{"a limit above the count", app.DeliveryFilter{Limit: 100}, []string{"a", "b1", "b2", "c", "d", "e"}},
		{"everything at once", app.DeliveryFilter{
			States:     []app.DeliveryState{app.StatePending, app.StateDone},
			Repository: "octo-org/hello", Event: "pull_request", Since: T0.Add(time.Second), Until: T0.Add(time.Hour),
		}, []string{"a", "d"}},
		{"everything at once, limited", app.DeliveryFilter{
			States:     []app.DeliveryState{app.StatePending, app.StateDone},
			Repository: "octo-org/hello", Event: "pull_request", Since: T0.Add(time.Second), Limit: 1,
		}, []string{"a"}},
	} {
		wantIDs(t, "Deliveries of "+tc.name, listIDs(t, s, tc.f), tc.want...)
	}

	// What is listed is the whole delivery, as Delivery returns it.
	ds, err := s.Deliveries(ctx, app.DeliveryFilter{States: []app.DeliveryState{app.StateDead}})
	if err != nil || len(ds) != 1 {
		t.Fatalf("Deliveries(dead) = %d, %v; want 1", len(ds), err)
	}
	sameDelivery(t, ds[0], d("b2", "Octo-Org/Hello", "push", T0.Add(2*time.Second)))
	if got := ds[0]; got.State != app.StateDead || got.Attempts != 1 || got.LastError != "422: unprocessable" {
		t.Errorf("listed dead letter: state %q, attempts %d, last error %q; want dead, 1, the reason", got.State, got.Attempts, got.LastError)
	}
	wantTime(t, "listed dead letter DoneAt", ds[0].DoneAt, T0.Add(time.Minute))
}

func testRequeue(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	enqueue(t, s,
		NewDelivery("dead", "", T0.Add(1*time.Second)),
		NewDelivery("done", "", T0.Add(2*time.Second)),
		NewDelivery("held", "", T0.Add(3*time.Second)),
		NewDelivery("waiting", "", T0.Add(4*time.Second)),
		NewDelivery("fresh", "", T0.Add(5*time.Second)),
	)
	wantIDs(t, "first claim", claimIDs(t, s, "w", 4, T0, time.Hour), "dead", "done", "held", "waiting")
	must(t, s.Retry(ctx, "dead", "w", T0, "first"))
	must(t, s.Retry(ctx, "done", "w", T0, "github: 502"))
	must(t, s.Retry(ctx, "waiting", "w", T0.Add(time.Hour), "later"))
	wantIDs(t, "second claim", claimIDs(t, s, "w", 2, T0, time.Hour), "dead", "done")
	must(t, s.Bury(ctx, "dead", "w", T0.Add(time.Second), "422: unprocessable"))
	must(t, s.Complete(ctx, "done", "w", T0.Add(time.Second)))

	now := T0.Add(30*time.Minute + 7*time.Microsecond)
	got, err := s.Requeue(ctx, []string{"done", "nope", "held", "dead", "waiting", "fresh", "dead"}, now)
	if err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	wantIDs(t, "Requeue", got, "done", "dead")

	for id, lastError := range map[string]string{"dead": "422: unprocessable", "done": "github: 502"} {
		d := get(t, s, id)
		if d.State != app.StatePending || d.Attempts != 0 || d.LastError != lastError {
			t.Errorf("requeued %s: state %q, attempts %d, last error %q; want pending, 0, %q", id, d.State, d.Attempts, d.LastError, lastError)
		}
		wantTime(t, "requeued "+id+" NextAttempt", d.NextAttempt, now)
		wantTime(t, "requeued "+id+" DoneAt", d.DoneAt, time.Time{})
	}
	// What was not dead or done is as it was.
	if d := get(t, s, "held"); d.State != app.StateClaimed {
		t.Errorf("held after Requeue: state %q, want claimed", d.State)
	}
	if d := get(t, s, "waiting"); d.State != app.StatePending || d.Attempts != 1 || d.LastError != "later" {
		t.Errorf("waiting after Requeue: state %q, attempts %d, last error %q; want pending, 1, later", d.State, d.Attempts, d.LastError)
	} else {
		wantTime(t, "waiting NextAttempt after Requeue", d.NextAttempt, T0.Add(time.Hour))
	}
	wantTime(t, "fresh NextAttempt after Requeue", get(t, s, "fresh").NextAttempt, time.Time{})

	// The requeued are due at now, not before.
	wantIDs(t, "claim before now", claimIDs(t, s, "w2", 10, now.Add(-time.Microsecond), time.Hour), "fresh")
	ds := claim(t, s, "w2", 10, now, time.Hour)
	wantIDs(t, "claim at now", ids(ds), "dead", "done")
	for _, d := range ds {
		if d.Attempts != 0 {
			t.Errorf("claimed %s after Requeue: attempts %d, want 0", d.ID, d.Attempts)
		}
	}
	// The worker holding held still does.
	must(t, s.Complete(ctx, "held", "w", now))

	// Claimed again, they are left alone.
	got, err = s.Requeue(ctx, []string{"dead", "done"}, now)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "Requeue of claimed deliveries", got)
	if got, err := s.Requeue(ctx, nil, now); err != nil || len(got) != 0 {
		t.Errorf("Requeue(nil) = %q, %v; want none", got, err)
	}
}

func testPrune(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	all := []string{"old", "edge", "recent", "dead", "retried", "held"}
	for i, id := range all {
		enqueue(t, s, NewDelivery(id, "", T0.Add(time.Duration(i)*time.Second)))
	}
	wantIDs(t, "claim", claimIDs(t, s, "w", 10, T0, time.Hour), all...)
	cut := T0.Add(time.Hour)
	must(t, s.Complete(ctx, "old", "w", cut.Add(-time.Microsecond)))
	must(t, s.Complete(ctx, "edge", "w", cut)) // not before the cut
	must(t, s.Complete(ctx, "recent", "w", cut.Add(time.Hour)))
	must(t, s.Bury(ctx, "dead", "w", T0, "gave up"))
	must(t, s.Retry(ctx, "retried", "w", T0, "later"))

	if n, err := s.Prune(ctx, time.Time{}); err != nil || n != 0 {
		t.Errorf("Prune(zero time) = %d, %v; want 0", n, err)
	}
	n, err := s.Prune(ctx, cut)
	if err != nil || n != 1 {
		t.Fatalf("Prune(cut) = %d, %v; want 1", n, err)
	}
	known, err := s.Known(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range all {
		if known[id] != (id != "old") {
			t.Errorf("Known[%s] after Prune = %v, want %v", id, known[id], id != "old")
		}
	}
	if _, err := s.Delivery(ctx, "old"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("Delivery of a pruned delivery = %v, want ErrNotFound", err)
	}
	if n, err := s.Prune(ctx, cut); err != nil || n != 0 {
		t.Errorf("second Prune(cut) = %d, %v; want 0", n, err)
	}

	// GitHub redelivering a pruned delivery stores it again, as new.
	enqueue(t, s, NewDelivery("old", "", T0))
	if d := get(t, s, "old"); d.State != app.StatePending {
		t.Errorf("redelivered after Prune: state %q, want pending", d.State)
	}

	// However late the cut, only done deliveries go.
	n, err = s.Prune(ctx, T0.Add(100*365*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("Prune(far future) = %d, %v; want 2 (edge, recent)", n, err)
	}
	wantIDs(t, "Deliveries after pruning", listIDs(t, s, app.DeliveryFilter{}), "old", "dead", "retried", "held")
	c, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[app.DeliveryState]int{app.StatePending: 2, app.StateDead: 1, app.StateClaimed: 1}; c[app.StateDone] != 0 ||
		c[app.StatePending] != 2 || c[app.StateDead] != 1 || c[app.StateClaimed] != 1 {
		t.Errorf("Counts after pruning = %v, want %v", c, want)
	}
}

// testManyRequeuedAndPruned goes past what one statement or batch of a
// store might handle.
func testManyRequeuedAndPruned(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	const total = 1200
	all := make([]string, total)
	for i := range total {
		all[i] = fmt.Sprintf("m%04d", i)
	}
	inParallel(t, total, func(i int) error {
		_, err := s.Enqueue(ctx, NewDelivery(all[i], "", T0.Add(time.Duration(i)*time.Microsecond)))
		return err
	})
	ds := claim(t, s, "w", total, T0, time.Hour)
	if len(ds) != total {
		t.Fatalf("claimed %d, want %d", len(ds), total)
	}
	complete := func(i int) error { return s.Complete(ctx, all[i], "w", T0) }
	inParallel(t, total, complete)
	got, err := s.Requeue(ctx, all, T0)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "Requeue of every delivery", got, all...)
	if ds := claim(t, s, "w", total, T0, time.Hour); len(ds) != total {
		t.Fatalf("claimed %d after Requeue, want %d", len(ds), total)
	}
	inParallel(t, total, complete)
	n, err := s.Prune(ctx, T0.Add(time.Microsecond))
	if err != nil || n != total {
		t.Fatalf("Prune = %d, %v; want %d", n, err, total)
	}
	if known, err := s.Known(ctx, all); err != nil || len(known) != 0 {
		t.Errorf("Known after Prune = %d ids, %v; want none", len(known), err)
	}
}

// inParallel runs fn(0) to fn(n-1), several at a time, as the webhook
// endpoint and the workers would: stores that commit in groups get to.
func inParallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- fn(i)
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
