// Package storetest is the contract suite of app.Store: every store (SQLite,
// PostgreSQL, in memory) runs the same tests, so that they behave alike and
// a handler tested against one behaves the same against the others. It also
// holds the load helpers the stores' benchmarks share.
//
// The suite reads app/app.go's doc comments as the contract, and settles what
// they leave open:
//
//   - Enqueue makes a delivery due at once, whatever clock the claimer uses:
//     its NextAttempt is the zero time.
//   - A worker holds a delivery from Claim until it finishes it or another
//     worker claims it: a lease that expired but was not taken over can still
//     be completed, retried or buried (nobody else has started on it).
//   - Complete, Retry and Bury of an id that is not stored return an error
//     wrapping app.ErrNotFound; of a delivery the worker does not hold, one
//     wrapping app.ErrLeaseLost.
//   - Equal ReceivedAt times are claimed in enqueue order.
//   - A claimed delivery counts as claimed until it is finished or claimed
//     again, even once its lease has expired.
//   - Bury sets DoneAt, like Complete.
//   - Times round-trip to the microsecond (PostgreSQL keeps no more).
//   - Intents compare repository names without case everywhere: in
//     SaveIntent's replacing, in Intents' filter and order (equal merge
//     times are ordered by the lower-cased name's bytes, then PR), and in
//     DeleteIntents. An intent keeps its Repository as last saved. A zero
//     MergedAt is the oldest.
//   - Intents never returns nil, nor nil Records or Paths: what was saved
//     nil or empty comes back as an empty list (JSON []). Intents of no
//     repositories is empty, not every intent.
//   - SaveIntent refuses an empty Repository or a PR below 1.
//   - An intent's texts are stored alike by every store: each NUL, and each
//     run of bytes that is not UTF-8, becomes U+FFFD (PostgreSQL text holds
//     neither); everything else round-trips exactly, Why up to 1 MB and
//     more, Paths up to GitHub's 3,000 and more.
//   - Extend, like Complete, returns app.ErrNotFound for an id that is not
//     stored and app.ErrLeaseLost for a delivery the worker does not hold
//     (pending, done, dead, or taken over); an expired lease nobody took
//     over can still be extended. Extending to the zero time is refused.
//   - Deliveries never returns nil, and lists whole deliveries, payloads
//     included. Equal ReceivedAt times are ordered by ID's bytes. Limit 0
//     or below is no limit. Repository names compare without case for
//     ASCII letters at least (GitHub's names are ASCII; SQLite's lower()
//     folds no more).
//   - Requeue takes dead and done deliveries only: pending ones keep their
//     NextAttempt and are not returned. It clears DoneAt, and returns the
//     ids it requeued in the order listed, each once, never nil.
//   - Prune deletes done deliveries whose DoneAt is strictly before the
//     cut; the zero time prunes nothing. A pruned delivery is forgotten:
//     Delivery and Known no longer find it, and Enqueue stores it again.
//   - SaveRepoFiles replaces a snapshot read at the same time (only a later
//     ReadAt wins over a save). It refuses an empty Repository, a zero
//     ReadAt, a changed file without a path, a path changed twice, and a
//     path both changed and removed (paths compared as stored); removing a
//     path that is not stored is no error. A refused or stale save changes
//     nothing. After DeleteRepo, any snapshot is saved.
//   - A Complete save ignores removed altogether: a path both changed and
//     removed is not refused, and is stored. With no changed files it
//     empties the repository's files and keeps its snapshot. It deletes no
//     file of another repository, even one whose name it prefixes.
//   - RepositoryID is stored as saved, any int64, and a later save replaces
//     it like the rest of the snapshot, with 0 (unknown) too. Complete is
//     never stored: RepoSnapshots and RepoFiles return it false.
//   - A snapshot keeps its Repository as last saved; Files is counted by
//     the store, whatever the caller set. Repository, Branch, TreeSHA,
//     Path and Blob are stored through app.StoredText; Data is bytes, kept
//     byte for byte (NUL, invalid UTF-8, 1 MB), and never comes back nil.
//     RepoFiles orders paths by their bytes and returns an empty list, not
//     nil, for a snapshot without files; RepoSnapshots never returns nil.
//   - ReserveReview compares repositories without case, records and review
//     dates exactly, and keeps the repository's name as reserved. It refuses
//     a review without repository, record or date, or with a Number (the
//     issue is not opened yet); SaveReview refuses a Number below 1, and
//     sets only the number.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/backstory-dev/backstory/app"
)

// Open returns a Store for one test. The first call in a test returns an
// empty store; every later call with the same t returns a store over the same
// data as the first (a new connection to the same file, a new pool on the
// same schema), which is how the suite checks that data outlives a Close.
// Open closes what it returns when the test ends; Close must therefore be
// safe to call twice.
type Open func(t *testing.T) app.Store

// T0 is the suite's reference time: explicit times instead of the clock make
// lease expiry testable without sleeping.
var T0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// Run runs the contract suite against the stores open returns. Subtests run
// in parallel, each with its own store.
func Run(t *testing.T, open Open) { run(t, open, true) }

// RunVolatile runs the contract suite against a store whose data does not
// outlive Close (app/memory): all of Run but the Reopen test, and open is
// called once per test.
func RunVolatile(t *testing.T, open Open) { run(t, open, false) }

func run(t *testing.T, open Open, durable bool) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Open)
	}{
		{"EnqueueStoresPending", testEnqueueStoresPending},
		{"EnqueueDeduplicates", testEnqueueDeduplicates},
		{"EnqueueRejectsEmptyID", testEnqueueRejectsEmptyID},
		{"PayloadRoundTrips", testPayloadRoundTrips},
		{"LargePayloadRoundTrips", testLargePayloadRoundTrips},
		{"ClaimOrder", testClaimOrder},
		{"ClaimDueAtOnce", testClaimDueAtOnce},
		{"ClaimArguments", testClaimArguments},
		{"LeaseExpiry", testLeaseExpiry},
		{"KeyExclusion", testKeyExclusion},
		{"KeyFreedByExpiry", testKeyFreedByExpiry},
		{"ClaimLooksPastOneKey", testClaimLooksPastOneKey},
		{"Complete", testComplete},
		{"Retry", testRetry},
		{"Release", testRelease},
		{"Bury", testBury},
		{"LeaseLost", testLeaseLost},
		{"FinishUnknown", testFinishUnknown},
		{"ReasonKept", testReasonKept},
		{"Known", testKnown},
		{"Counts", testCounts},
		{"DeliveryNotFound", testDeliveryNotFound},
		{"CheckRuns", testCheckRuns},
		{"Waivers", testWaivers},
		{"OpenPRRecords", testOpenPRRecords},
		{"Intents", testIntents},
		{"IntentRoundTrips", testIntentRoundTrips},
		{"IntentAwkwardText", testIntentAwkwardText},
		{"IntentArguments", testIntentArguments},
		{"Extend", testExtend},
		{"Deliveries", testDeliveries},
		{"Requeue", testRequeue},
		{"Prune", testPrune},
		{"ManyRequeuedAndPruned", testManyRequeuedAndPruned},
		{"RepoFiles", testRepoFiles},
		{"RepoFileRoundTrips", testRepoFileRoundTrips},
		{"RepoFilesArguments", testRepoFilesArguments},
		{"RepoSnapshotsMany", testRepoSnapshotsMany},
		{"RepoFilesConcurrentSaves", testRepoFilesConcurrentSaves},
		{"RepoFilesComplete", testRepoFilesComplete},
		{"RepoFilesCompleteAfterAnotherReplica", testRepoFilesCompleteAfterAnotherReplica},
		{"RepositoryID", testRepositoryID},
		{"RepoFilesConcurrentCompleteSaves", testRepoFilesConcurrentCompleteSaves},
		{"Reviews", testReviews},
		{"ReviewArguments", testReviewArguments},
		{"ReviewsConcurrent", testReviewsConcurrent},
		{"ConcurrentClaimers", testConcurrentClaimers},
		{"Reopen", testReopen},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		if tc.name == "Reopen" && !durable {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

// NewDelivery returns a delivery as the webhook endpoint would enqueue it,
// with a small payload that names it.
func NewDelivery(id, key string, received time.Time) app.Delivery {
	return app.Delivery{
		ID:             id,
		Event:          "pull_request",
		Action:         "synchronize",
		InstallationID: 42,
		Repository:     "octo-org/hello",
		Key:            key,
		Payload:        []byte(`{"action":"synchronize","delivery":"` + id + `"}`),
		ReceivedAt:     received,
	}
}

func enqueue(t *testing.T, s app.Store, ds ...app.Delivery) {
	t.Helper()
	for _, d := range ds {
		ok, err := s.Enqueue(context.Background(), d)
		if err != nil {
			t.Fatalf("Enqueue(%q): %v", d.ID, err)
		}
		if !ok {
			t.Fatalf("Enqueue(%q) = false, want true for a new delivery", d.ID)
		}
	}
}

func claim(t *testing.T, s app.Store, worker string, n int, now time.Time, lease time.Duration) []app.Delivery {
	t.Helper()
	ds, err := s.Claim(context.Background(), worker, n, now, lease)
	if err != nil {
		t.Fatalf("Claim(%s, %d, %s): %v", worker, n, now.Format(time.RFC3339Nano), err)
	}
	return ds
}

func claimIDs(t *testing.T, s app.Store, worker string, n int, now time.Time, lease time.Duration) []string {
	t.Helper()
	return ids(claim(t, s, worker, n, now, lease))
}

func ids(ds []app.Delivery) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func get(t *testing.T, s app.Store, id string) app.Delivery {
	t.Helper()
	d, err := s.Delivery(context.Background(), id)
	if err != nil {
		t.Fatalf("Delivery(%q): %v", id, err)
	}
	return d
}

func wantIDs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, fmtTime(got), fmtTime(want))
	}
}

func fmtTime(tm time.Time) string {
	if tm.IsZero() {
		return "zero"
	}
	return tm.Format(time.RFC3339Nano)
}

// sameDelivery compares what the caller gave Enqueue with what the store
// returns.
func sameDelivery(t *testing.T, got, want app.Delivery) {
	t.Helper()
	if got.ID != want.ID || got.Event != want.Event || got.Action != want.Action ||
		got.InstallationID != want.InstallationID || got.Repository != want.Repository || got.Key != want.Key {
		t.Errorf("delivery fields = %+v, want %+v", brief(got), brief(want))
	}
	if !bytes.Equal(got.Payload, want.Payload) {
		t.Errorf("delivery %q payload = %d bytes %.40q, want %d bytes %.40q", want.ID, len(got.Payload), got.Payload, len(want.Payload), want.Payload)
	}
	wantTime(t, "ReceivedAt", got.ReceivedAt, want.ReceivedAt)
}

func brief(d app.Delivery) app.Delivery {
	d.Payload = nil
	return d
}

func testEnqueueStoresPending(t *testing.T, open Open) {
	s := open(t)
	d := NewDelivery("d1", "octo-org/hello@abc", T0.Add(123456*time.Microsecond))
	d.ReceivedAt = d.ReceivedAt.In(time.FixedZone("CET", 3600))
	// What the store sets is the store's business: the caller's values are
	// ignored.
	d.State, d.Attempts, d.LastError, d.NextAttempt, d.DoneAt = app.StateDone, 7, "old", T0.Add(time.Hour), T0
	enqueue(t, s, d)
	got := get(t, s, "d1")
	sameDelivery(t, got, d)
	if got.State != app.StatePending || got.Attempts != 0 || got.LastError != "" {
		t.Errorf("new delivery: state %q, attempts %d, last error %q; want pending, 0, empty", got.State, got.Attempts, got.LastError)
	}
	wantTime(t, "new delivery NextAttempt", got.NextAttempt, time.Time{})
	wantTime(t, "new delivery DoneAt", got.DoneAt, time.Time{})
}

func testEnqueueDeduplicates(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	d := NewDelivery("dup", "k", T0)
	enqueue(t, s, d)

	again := NewDelivery("dup", "other", T0.Add(time.Hour))
	again.Event, again.Payload = "push", []byte("redelivered")
	ok, err := s.Enqueue(ctx, again)
	if err != nil || ok {
		t.Fatalf("Enqueue of a stored id = %v, %v; want false, nil", ok, err)
	}
	sameDelivery(t, get(t, s, "dup"), d)

	// A finished delivery still deduplicates: GitHub redelivers days later.
	wantIDs(t, "claim", claimIDs(t, s, "w", 1, T0, time.Minute), "dup")
	if err := s.Complete(ctx, "dup", "w", T0); err != nil {
		t.Fatal(err)
	}
	ok, err = s.Enqueue(ctx, again)
	if err != nil || ok {
		t.Fatalf("Enqueue of a done id = %v, %v; want false, nil", ok, err)
	}
	got := get(t, s, "dup")
	if got.State != app.StateDone {
		t.Errorf("state after duplicate enqueue = %q, want done", got.State)
	}
	sameDelivery(t, got, d)
	wantIDs(t, "claim after duplicate", claimIDs(t, s, "w", 1, T0.Add(time.Hour), time.Minute))
}

func testEnqueueRejectsEmptyID(t *testing.T, open Open) {
	s := open(t)
	ok, err := s.Enqueue(context.Background(), NewDelivery("", "", T0))
	if err == nil || ok {
		t.Fatalf("Enqueue without id = %v, %v; want an error", ok, err)
	}
}

func testPayloadRoundTrips(t *testing.T, open Open) {
	s := open(t)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	cases := map[string][]byte{
		"empty":      nil,
		"every-byte": all,
		"json":       PullRequestPayload(),
	}
	for id, p := range cases {
		d := NewDelivery(id, "", T0)
		d.Payload = p
		enqueue(t, s, d)
	}
	for id, p := range cases {
		got := get(t, s, id)
		if !bytes.Equal(got.Payload, p) || len(got.Payload) != len(p) {
			t.Errorf("payload %s: got %d bytes, want %d bytes, equal %v", id, len(got.Payload), len(p), bytes.Equal(got.Payload, p))
		}
	}
	for _, d := range claim(t, s, "w", 10, T0, time.Minute) {
		if p := cases[d.ID]; !bytes.Equal(d.Payload, p) {
			t.Errorf("claimed payload %s: got %d bytes, want %d", d.ID, len(d.Payload), len(p))
		}
	}
}

func testLargePayloadRoundTrips(t *testing.T, open Open) {
	s := open(t)
	// 25 MB, GitHub's cap on a webhook payload; random so that no store's
	// compression makes it easy.
	p := make([]byte, 25<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(p); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < len(p); j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
	d := NewDelivery("big", "", T0)
	d.Payload = p
	enqueue(t, s, d)
	if got := get(t, s, "big"); !bytes.Equal(got.Payload, p) {
		t.Fatalf("25 MB payload: got %d bytes, not equal to the %d sent", len(got.Payload), len(p))
	}
	got := claim(t, s, "w", 1, T0, time.Minute)
	if len(got) != 1 || !bytes.Equal(got[0].Payload, p) {
		t.Fatalf("claimed 25 MB payload differs (%d deliveries)", len(got))
	}
}

func testClaimOrder(t *testing.T, open Open) {
	s := open(t)
	// Enqueued out of order; c1 and c2 share a ReceivedAt.
	enqueue(t, s,
		NewDelivery("d", "", T0.Add(4*time.Second)),
		NewDelivery("b", "", T0.Add(2*time.Second)),
		NewDelivery("c1", "", T0.Add(3*time.Second)),
		NewDelivery("a", "", T0.Add(1*time.Second)),
		NewDelivery("c2", "", T0.Add(3*time.Second)),
	)
	now := T0.Add(time.Minute)
	got := claim(t, s, "w", 3, now, time.Minute)
	wantIDs(t, "first claim", ids(got), "a", "b", "c1")
	for _, d := range got {
		if d.State != app.StateClaimed {
			t.Errorf("claimed %s has state %q, want claimed", d.ID, d.State)
		}
		if len(d.Payload) == 0 {
			t.Errorf("claimed %s has no payload", d.ID)
		}
	}
	wantIDs(t, "second claim", claimIDs(t, s, "w", 3, now, time.Minute), "c2", "d")
	wantIDs(t, "third claim", claimIDs(t, s, "w", 3, now, time.Minute))
	if st := get(t, s, "a").State; st != app.StateClaimed {
		t.Errorf("Delivery after claim: state %q, want claimed", st)
	}
}

func testClaimDueAtOnce(t *testing.T, open Open) {
	s := open(t)
	// A replica whose clock lags the one that received the delivery still
	// sees it due.
	enqueue(t, s, NewDelivery("x", "", T0))
	wantIDs(t, "claim before ReceivedAt", claimIDs(t, s, "w", 1, T0.Add(-time.Minute), time.Minute), "x")
}

func testClaimArguments(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	enqueue(t, s, NewDelivery("x", "", T0))
	if ds, err := s.Claim(ctx, "w", 0, T0, time.Minute); err != nil || len(ds) != 0 {
		t.Errorf("Claim(n=0) = %d deliveries, %v; want none, nil", len(ds), err)
	}
	if _, err := s.Claim(ctx, "w", 1, T0, 0); err == nil {
		t.Error("Claim with a zero lease: no error")
	}
	if _, err := s.Claim(ctx, "", 1, T0, time.Minute); err == nil {
		t.Error("Claim with no worker name: no error")
	}
	if st := get(t, s, "x").State; st != app.StatePending {
		t.Errorf("after refused claims: state %q, want pending", st)
	}
}

func testLeaseExpiry(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	enqueue(t, s, NewDelivery("x", "", T0))
	const lease = time.Minute
	wantIDs(t, "claim", claimIDs(t, s, "w1", 5, T0, lease), "x")
	wantIDs(t, "claim under lease", claimIDs(t, s, "w2", 5, T0.Add(lease-time.Millisecond), lease))
	got := claim(t, s, "w2", 5, T0.Add(lease+time.Millisecond), lease)
	wantIDs(t, "claim after the lease expired", ids(got), "x")
	if got[0].State != app.StateClaimed {
		t.Errorf("reclaimed state %q", got[0].State)
	}
	// The new lease runs from the new claim.
	wantIDs(t, "claim under the new lease", claimIDs(t, s, "w3", 5, T0.Add(2*lease-time.Millisecond), lease))
	if err := s.Complete(ctx, "x", "w2", T0.Add(lease+2*time.Millisecond)); err != nil {
		t.Fatalf("Complete by the worker holding the new lease: %v", err)
	}
}

func testKeyExclusion(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	enqueue(t, s,
		NewDelivery("k1", "o/r@1", T0.Add(1*time.Second)),
		NewDelivery("k2", "o/r@1", T0.Add(2*time.Second)),
		NewDelivery("e1", "", T0.Add(3*time.Second)),
		NewDelivery("e2", "", T0.Add(4*time.Second)),
		NewDelivery("m1", "o/r@2", T0.Add(5*time.Second)),
		NewDelivery("k3", "o/r@1", T0.Add(6*time.Second)),
	)
	now := T0.Add(time.Minute)
	// One Claim never returns two deliveries with the same key; empty keys
	// never exclude each other.
	wantIDs(t, "first claim", claimIDs(t, s, "w1", 10, now, 24*time.Hour), "k1", "e1", "e2", "m1")
	// k2 and k3 wait while k1 is leased, by any worker.
	wantIDs(t, "claim while the key is leased", claimIDs(t, s, "w2", 10, now, time.Hour))
	if err := s.Complete(ctx, "k1", "w1", now); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "claim after the key was freed", claimIDs(t, s, "w2", 10, now, time.Hour), "k2")
	if err := s.Retry(ctx, "k2", "w2", now.Add(time.Hour), "later"); err != nil {
		t.Fatal(err)
	}
	// k2 is not due, so it does not hold the key: k3 may run.
	wantIDs(t, "claim while the older one waits to retry", claimIDs(t, s, "w2", 10, now, 2*time.Hour), "k3")
	wantIDs(t, "claim while k3 holds the key", claimIDs(t, s, "w3", 10, now.Add(time.Hour), time.Minute))
}

func testKeyFreedByExpiry(t *testing.T, open Open) {
	s := open(t)
	enqueue(t, s,
		NewDelivery("k1", "o/r@1", T0.Add(1*time.Second)),
		NewDelivery("k2", "o/r@1", T0.Add(2*time.Second)),
	)
	wantIDs(t, "claim", claimIDs(t, s, "w1", 10, T0, time.Minute), "k1")
	// Once k1's lease expires both are due; only the older one is handed out.
	wantIDs(t, "claim after expiry", claimIDs(t, s, "w2", 10, T0.Add(2*time.Minute), time.Minute), "k1")
	wantIDs(t, "claim under the new lease", claimIDs(t, s, "w3", 10, T0.Add(2*time.Minute), time.Minute))
}

// testClaimLooksPastOneKey puts a long run of deliveries of one key before
// the others: a claim must take one of the run and still find the rest,
// however it reads its way through the backlog.
func testClaimLooksPastOneKey(t *testing.T, open Open) {
	s := open(t)
	var run []app.Delivery
	for i := range 150 {
		run = append(run, NewDelivery(fmt.Sprintf("k%03d", i), "o/r@busy", T0.Add(time.Duration(i)*time.Millisecond)))
	}
	enqueue(t, s, run...)
	enqueue(t, s,
		NewDelivery("x", "o/r@x", T0.Add(time.Second)),
		NewDelivery("y", "", T0.Add(2*time.Second)),
		NewDelivery("z", "o/r@z", T0.Add(3*time.Second)),
	)
	wantIDs(t, "claim", claimIDs(t, s, "w", 3, T0.Add(time.Hour), time.Hour), "k000", "x", "y")
	wantIDs(t, "claim while the run's key is held", claimIDs(t, s, "w", 3, T0.Add(time.Hour), time.Hour), "z")
}

func testComplete(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	enqueue(t, s, NewDelivery("x", "k", T0))
	claim(t, s, "w", 1, T0, time.Minute)
	done := T0.Add(1500 * time.Microsecond)
	if err := s.Complete(ctx, "x", "w", done); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	got := get(t, s, "x")
	if got.State != app.StateDone || got.Attempts != 0 {
		t.Errorf("after Complete: state %q, attempts %d; want done, 0", got.State, got.Attempts)
	}
	wantTime(t, "DoneAt", got.DoneAt, done)
	wantIDs(t, "claim after Complete", claimIDs(t, s, "w", 1, T0.Add(24*time.Hour), time.Minute))
	if err := s.Complete(ctx, "x", "w", done); !errors.Is(err, app.ErrLeaseLost) {
		t.Errorf("second Complete = %v, want ErrLeaseLost", err)
	}
}

func testRetry(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	enqueue(t, s, NewDelivery("x", "k", T0))
	claim(t, s, "w", 1, T0, time.Minute)
	at := T0.Add(30*time.Second + 250*time.Microsecond)
	if err := s.Retry(ctx, "x", "w", at, "github: 502 bad gateway"); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	got := get(t, s, "x")
	if got.State != app.StatePending || got.Attempts != 1 || got.LastError != "github: 502 bad gateway" {
		t.Errorf("after Retry: state %q, attempts %d, last error %q", got.State, got.Attempts, got.LastError)
	}
	wantTime(t, "NextAttempt", got.NextAttempt, at)
	wantIDs(t, "claim before NextAttempt", claimIDs(t, s, "w", 1, at.Add(-time.Microsecond), time.Minute))
	ds := claim(t, s, "w2", 1, at, time.Minute)
	wantIDs(t, "claim at NextAttempt", ids(ds), "x")
	if ds[0].Attempts != 1 || ds[0].LastError != "github: 502 bad gateway" {
		t.Errorf("claimed after Retry: attempts %d, last error %q", ds[0].Attempts, ds[0].LastError)
	}
	if err := s.Retry(ctx, "x", "w2", at.Add(time.Minute), "timeout"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "x"); got.Attempts != 2 || got.LastError != "timeout" {
		t.Errorf("after the second Retry: attempts %d, last error %q; want 2, timeout", got.Attempts, got.LastError)
	}
}

func testRelease(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	enqueue(t, s, NewDelivery("x", "k", T0))
	claim(t, s, "w", 1, T0, time.Minute)
	if err := s.Retry(ctx, "x", "w", T0, "github: 502"); err != nil {
		t.Fatal(err)
	}
	claim(t, s, "w", 1, T0, time.Minute)
	at := T0.Add(time.Second)
	if err := s.Release(ctx, "x", "w", at); err != nil {
		t.Fatalf("Release: %v", err)
	}
	got := get(t, s, "x")
	if got.State != app.StatePending || got.Attempts != 1 || got.LastError != "github: 502" {
		t.Errorf("after Release: state %q, attempts %d, last error %q; want pending, 1 (not counted), the earlier error", got.State, got.Attempts, got.LastError)
	}
	wantTime(t, "NextAttempt", got.NextAttempt, at)
	wantIDs(t, "claim after Release", claimIDs(t, s, "w2", 1, at, time.Minute), "x")
	if err := s.Release(ctx, "x", "w", at); !errors.Is(err, app.ErrLeaseLost) {
		t.Errorf("Release by a worker that lost the lease = %v, want ErrLeaseLost", err)
	}
	if err := s.Release(ctx, "nope", "w", at); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("Release of an unknown id = %v, want ErrNotFound", err)
	}
}

func testBury(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	enqueue(t, s, NewDelivery("x", "k", T0), NewDelivery("y", "k", T0.Add(time.Second)))
	claim(t, s, "w", 1, T0, time.Minute)
	if err := s.Retry(ctx, "x", "w", T0, "first"); err != nil {
		t.Fatal(err)
	}
	claim(t, s, "w", 1, T0, time.Minute)
	now := T0.Add(time.Second)
	if err := s.Bury(ctx, "x", "w", now, "422: unprocessable"); err != nil {
		t.Fatalf("Bury: %v", err)
	}
	got := get(t, s, "x")
	if got.State != app.StateDead || got.Attempts != 2 || got.LastError != "422: unprocessable" {
		t.Errorf("after Bury: state %q, attempts %d, last error %q; want dead, 2, the reason", got.State, got.Attempts, got.LastError)
	}
	wantTime(t, "DoneAt of a dead delivery", got.DoneAt, now)
	// A dead delivery neither runs again nor holds its key.
	wantIDs(t, "claim after Bury", claimIDs(t, s, "w", 5, T0.Add(365*24*time.Hour), time.Minute), "y")
	if ok, err := s.Enqueue(ctx, NewDelivery("x", "", T0)); ok || err != nil {
		t.Errorf("Enqueue of a dead id = %v, %v; want false, nil", ok, err)
	}
}

func testLeaseLost(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	enqueue(t, s, NewDelivery("x", "", T0), NewDelivery("y", "", T0.Add(time.Second)))
	claim(t, s, "w1", 2, T0, time.Minute)
	later := T0.Add(2 * time.Minute)

	// An expired lease nobody took over is still the worker's.
	if err := s.Retry(ctx, "y", "w1", later, "expired but still mine"); err != nil {
		t.Fatalf("Retry after the lease expired, not taken over: %v", err)
	}

	wantIDs(t, "takeover", claimIDs(t, s, "w2", 1, later, time.Minute), "x")
	finish := map[string]func(worker string) error{
		"Complete": func(w string) error { return s.Complete(ctx, "x", w, later) },
		"Retry":    func(w string) error { return s.Retry(ctx, "x", w, later, "r") },
		"Bury":     func(w string) error { return s.Bury(ctx, "x", w, later, "r") },
	}
	for _, name := range slices.Sorted(maps.Keys(finish)) {
		if err := finish[name]("w1"); !errors.Is(err, app.ErrLeaseLost) {
			t.Errorf("%s by the worker that lost the lease = %v, want ErrLeaseLost", name, err)
		}
		if err := finish[name]("stranger"); !errors.Is(err, app.ErrLeaseLost) {
			t.Errorf("%s by a worker that never held it = %v, want ErrLeaseLost", name, err)
		}
	}
	got := get(t, s, "x")
	if got.State != app.StateClaimed || got.Attempts != 0 || got.LastError != "" {
		t.Errorf("refused finishes changed the delivery: state %q, attempts %d, last error %q", got.State, got.Attempts, got.LastError)
	}
	// y is pending (retried), not claimed: nobody may finish it.
	if err := s.Complete(ctx, "y", "w1", later); !errors.Is(err, app.ErrLeaseLost) {
		t.Errorf("Complete of a pending delivery = %v, want ErrLeaseLost", err)
	}
	if err := s.Complete(ctx, "x", "w2", later); err != nil {
		t.Errorf("Complete by the new holder: %v", err)
	}
}

func testFinishUnknown(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	for name, err := range map[string]error{
		"Complete": s.Complete(ctx, "nope", "w", T0),
		"Retry":    s.Retry(ctx, "nope", "w", T0, "r"),
		"Bury":     s.Bury(ctx, "nope", "w", T0, "r"),
	} {
		if !errors.Is(err, app.ErrNotFound) {
			t.Errorf("%s of an unknown id = %v, want ErrNotFound", name, err)
		}
	}
}

func testReasonKept(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	enqueue(t, s, NewDelivery("x", "", T0))
	claim(t, s, "w", 1, T0, time.Minute)
	// Error texts quote what servers sent: they may be long, hold NUL bytes
	// or invalid UTF-8. None of that may fail the Retry.
	reason := "boom: \x00\xff\xfe " + strings.Repeat("é", 10000)
	if err := s.Retry(ctx, "x", "w", T0, reason); err != nil {
		t.Fatalf("Retry with an awkward reason: %v", err)
	}
	got := get(t, s, "x").LastError
	if !strings.HasPrefix(got, "boom: ") || !strings.HasSuffix(got, "éé") {
		t.Errorf("LastError = %.40q…, want the reason's text kept", got)
	}
	if got != reason && !utf8.ValidString(got) {
		t.Errorf("LastError changed the reason and is still not valid UTF-8: %.40q", got)
	}
}

func testKnown(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	var stored, asked []string
	for i := range 3000 {
		id := fmt.Sprintf("%08d-0000-11ee-8000-000000000000", i)
		asked = append(asked, id)
		if i%3 == 0 {
			stored = append(stored, id)
			enqueue(t, s, NewDelivery(id, "", T0))
		}
	}
	claim(t, s, "w", 1, T0, time.Minute) // a claimed one is known too
	got, err := s.Known(ctx, asked)
	if err != nil {
		t.Fatalf("Known(%d ids): %v", len(asked), err)
	}
	n := 0
	for i, id := range asked {
		if got[id] != (i%3 == 0) {
			t.Errorf("Known[%s] = %v, want %v", id, got[id], i%3 == 0)
			if n++; n > 5 {
				t.FailNow()
			}
		}
	}
	if got, err := s.Known(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("Known(nil) = %v, %v; want empty, nil", got, err)
	}
}

func testCounts(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	if c, err := s.Counts(ctx); err != nil || c[app.StatePending]+c[app.StateClaimed]+c[app.StateDone]+c[app.StateDead] != 0 {
		t.Fatalf("Counts of an empty store = %v, %v", c, err)
	}
	for i := range 8 {
		enqueue(t, s, NewDelivery(fmt.Sprint("d", i), "", T0.Add(time.Duration(i)*time.Second)))
	}
	ds := claim(t, s, "w", 5, T0, time.Minute) // d0..d4
	must(t, s.Complete(ctx, ds[0].ID, "w", T0))
	must(t, s.Complete(ctx, ds[1].ID, "w", T0))
	must(t, s.Bury(ctx, ds[2].ID, "w", T0, "dead"))
	must(t, s.Retry(ctx, ds[3].ID, "w", T0.Add(time.Hour), "later"))
	c, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[app.DeliveryState]int{app.StatePending: 4, app.StateClaimed: 1, app.StateDone: 2, app.StateDead: 1}
	for st, n := range want {
		if c[st] != n {
			t.Errorf("Counts = %v, want %v", c, want)
			break
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testDeliveryNotFound(t *testing.T, open Open) {
	s := open(t)
	if _, err := s.Delivery(context.Background(), "missing"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("Delivery(missing) = %v, want ErrNotFound", err)
	}
}

func testCheckRuns(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	if _, err := s.CheckRun(ctx, "o/r", "sha1", "backstory"); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("CheckRun before any save = %v, want ErrNotFound", err)
	}
	r := app.CheckRun{Repository: "o/r", HeadSHA: "sha1", Name: "backstory", ID: 9_007_199_254_740_993,
		ContentHash: "c1", AnnotationsHash: "a1", UpdatedAt: T0.Add(time.Microsecond)}
	other := r
	other.Name, other.ID, other.ContentHash = "backstory (docs)", 2, "c-other"
	must(t, s.SaveCheckRun(ctx, r))
	must(t, s.SaveCheckRun(ctx, other))
	sameCheckRun(t, s, r)
	sameCheckRun(t, s, other)

	r.ID, r.ContentHash, r.AnnotationsHash, r.UpdatedAt = 77, "c2", "", T0.Add(time.Hour)
	must(t, s.SaveCheckRun(ctx, r))
	sameCheckRun(t, s, r)
	sameCheckRun(t, s, other)
	for _, k := range [][3]string{{"o/r", "sha2", "backstory"}, {"o/other", "sha1", "backstory"}} {
		if _, err := s.CheckRun(ctx, k[0], k[1], k[2]); !errors.Is(err, app.ErrNotFound) {
			t.Errorf("CheckRun%q = %v, want ErrNotFound", k, err)
		}
	}
}

func sameCheckRun(t *testing.T, s app.Store, want app.CheckRun) {
	t.Helper()
	got, err := s.CheckRun(context.Background(), want.Repository, want.HeadSHA, want.Name)
	if err != nil {
		t.Fatalf("CheckRun(%s, %s, %s): %v", want.Repository, want.HeadSHA, want.Name, err)
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("CheckRun UpdatedAt = %s, want %s", fmtTime(got.UpdatedAt), fmtTime(want.UpdatedAt))
	}
	got.UpdatedAt = want.UpdatedAt
	if got != want {
		t.Errorf("CheckRun = %+v, want %+v", got, want)
	}
}

func testWaivers(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	if _, err := s.Waiver(ctx, "o/r", 1); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("Waiver before any save = %v, want ErrNotFound", err)
	}
	must(t, s.DeleteWaiver(ctx, "o/r", 1))
	w := app.Waiver{Repository: "o/r", PR: 1, By: "alice", At: T0}
	must(t, s.SaveWaiver(ctx, w))
	must(t, s.SaveWaiver(ctx, app.Waiver{Repository: "o/r", PR: 2, By: "carol", At: T0}))
	sameWaiver(t, s, w)
	w.By, w.At = "bob", T0.Add(time.Hour+time.Microsecond)
	must(t, s.SaveWaiver(ctx, w))
	sameWaiver(t, s, w)
	must(t, s.DeleteWaiver(ctx, "o/r", 1))
	if _, err := s.Waiver(ctx, "o/r", 1); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("Waiver after delete = %v, want ErrNotFound", err)
	}
	must(t, s.DeleteWaiver(ctx, "o/r", 1))
	sameWaiver(t, s, app.Waiver{Repository: "o/r", PR: 2, By: "carol", At: T0})
	if _, err := s.Waiver(ctx, "o/other", 2); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("Waiver of another repository = %v, want ErrNotFound", err)
	}
}

func sameWaiver(t *testing.T, s app.Store, want app.Waiver) {
	t.Helper()
	got, err := s.Waiver(context.Background(), want.Repository, want.PR)
	if err != nil {
		t.Fatalf("Waiver(%s, %d): %v", want.Repository, want.PR, err)
	}
	if got.Repository != want.Repository || got.PR != want.PR || got.By != want.By || !got.At.Equal(want.At) {
		t.Errorf("Waiver = %+v, want %+v", got, want)
	}
}

func testOpenPRRecords(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	if got, err := s.OpenPRRecords(ctx, "o/r"); err != nil || len(got) != 0 {
		t.Fatalf("OpenPRRecords of an unknown repo = %v, %v; want empty", got, err)
	}
	pr1 := []app.RecordNumber{
		{Folder: "docs/adr", Number: 12, Path: "docs/adr/0012-use-kafka.md"},
		{Folder: "docs/adr", Number: 3, Path: "docs/adr/0003-b.md"},
		{Folder: "services/x/adr", Number: 12, Path: "services/x/adr/0012-c.md"},
	}
	pr2 := []app.RecordNumber{{Folder: "docs/adr", Number: 12, Path: "docs/adr/0012-other.md"}}
	must(t, s.SetOpenPRRecords(ctx, "o/r", 1, pr1))
	must(t, s.SetOpenPRRecords(ctx, "o/r", 2, pr2))
	must(t, s.SetOpenPRRecords(ctx, "o/elsewhere", 1, pr2))
	sameOpenPRs(t, s, "o/r", map[int][]app.RecordNumber{1: pr1, 2: pr2})

	pr1b := []app.RecordNumber{{Folder: "docs/adr", Number: 13, Path: "docs/adr/0013-use-kafka.md"}}
	must(t, s.SetOpenPRRecords(ctx, "o/r", 1, pr1b))
	sameOpenPRs(t, s, "o/r", map[int][]app.RecordNumber{1: pr1b, 2: pr2})
	must(t, s.SetOpenPRRecords(ctx, "o/r", 2, nil))
	sameOpenPRs(t, s, "o/r", map[int][]app.RecordNumber{1: pr1b})
	must(t, s.SetOpenPRRecords(ctx, "o/r", 99, []app.RecordNumber{})) // nothing to remove: no error
	sameOpenPRs(t, s, "o/elsewhere", map[int][]app.RecordNumber{1: pr2})
}

func sameOpenPRs(t *testing.T, s app.Store, repo string, want map[int][]app.RecordNumber) {
	t.Helper()
	got, err := s.OpenPRRecords(context.Background(), repo)
	if err != nil {
		t.Fatalf("OpenPRRecords(%s): %v", repo, err)
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("OpenPRRecords(%s) = %v, want %v", repo, got, want)
	}
}

// testConcurrentClaimers runs workers against one store the way serve does:
// each claims a few, works, completes. Every delivery must be handed out
// exactly once and no key held twice at a time.
func testConcurrentClaimers(t *testing.T, open Open) {
	s := open(t)
	const total, workers = 300, 8
	var all []app.Delivery
	for i := range total {
		key := ""
		if i%4 != 0 {
			key = fmt.Sprintf("o/r@%02d", i%23)
		}
		all = append(all, NewDelivery(fmt.Sprintf("c%03d", i), key, T0.Add(time.Duration(i)*time.Millisecond)))
	}
	enqueue(t, s, all...)
	ClaimConcurrently(t, workers, total, func(int) app.Inbox { return s })
	c, err := s.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c[app.StateDone] != total || c[app.StatePending]+c[app.StateClaimed] != 0 {
		t.Errorf("after the claimers: counts %v, want %d done", c, total)
	}
}

// ClaimConcurrently runs workers goroutines, worker i on inbox(i), each
// claiming batches of up to 4 due deliveries and completing them, until
// total deliveries have been completed. It fails t if a delivery is handed
// out twice, if two deliveries with one non-empty key are held at once, or
// if claiming stops before total are done. Stores shared by several
// processes pass a different inbox (connection pool) per worker.
func ClaimConcurrently(t *testing.T, workers, total int, inbox func(i int) app.Inbox) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		mu       sync.Mutex
		claimed  = map[string]string{} // delivery → worker
		heldKeys = map[string]string{} // key → delivery
		done     int
		errs     []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) < 10 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
		cancel()
	}
	var wg sync.WaitGroup
	for w := range workers {
		in := inbox(w)
		name := fmt.Sprintf("worker-%d", w)
		wg.Go(func() {
			for ctx.Err() == nil {
				mu.Lock()
				finished := done == total
				mu.Unlock()
				if finished {
					return
				}
				// The same now for everyone and a long lease: only
				// Complete frees work, so a double hand-out is a bug.
				ds, err := in.Claim(ctx, name, 4, T0.Add(time.Hour), time.Hour)
				if err != nil {
					if ctx.Err() == nil {
						fail("%s: Claim: %v", name, err)
					}
					return
				}
				if len(ds) == 0 {
					// The rest is held by other workers.
					time.Sleep(100 * time.Microsecond)
					continue
				}
				mu.Lock()
				for _, d := range ds {
					if prev, ok := claimed[d.ID]; ok {
						errs = append(errs, fmt.Sprintf("%s handed to %s and to %s", d.ID, prev, name))
					}
					claimed[d.ID] = name
					if d.Key == "" {
						continue
					}
					if other, ok := heldKeys[d.Key]; ok {
						errs = append(errs, fmt.Sprintf("key %s held by %s and %s at once", d.Key, other, d.ID))
					}
					heldKeys[d.Key] = d.ID
				}
				mu.Unlock()
				for _, d := range ds {
					// Forget the key before completing: until Complete
					// commits, the store still holds it for us, so
					// another claim of it would be a real double hold.
					mu.Lock()
					if d.Key != "" {
						delete(heldKeys, d.Key)
					}
					mu.Unlock()
					if err := in.Complete(ctx, d.ID, name, T0.Add(time.Hour)); err != nil {
						fail("%s: Complete(%s): %v", name, d.ID, err)
						return
					}
					mu.Lock()
					done++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("claimers timed out with %d of %d deliveries completed", done, total)
	}
	for _, e := range errs {
		t.Error(e)
	}
	if len(errs) == 0 && done != total {
		t.Errorf("%d of %d deliveries completed", done, total)
	}
	if len(claimed) != total && len(errs) == 0 {
		t.Errorf("%d distinct deliveries claimed, want %d", len(claimed), total)
	}
}

func testReopen(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	enqueue(t, s,
		NewDelivery("a", "k", T0),
		NewDelivery("b", "k", T0.Add(time.Second)),
		NewDelivery("c", "", T0.Add(2*time.Second)),
	)
	claim(t, s, "w", 1, T0, time.Hour) // a
	must(t, s.Retry(ctx, "a", "w", T0.Add(time.Minute), "later"))
	claim(t, s, "w", 1, T0, time.Hour) // b, holding k
	run := app.CheckRun{Repository: "o/r", HeadSHA: "s", Name: "backstory", ID: 5, ContentHash: "h", UpdatedAt: T0}
	must(t, s.SaveCheckRun(ctx, run))
	must(t, s.SaveWaiver(ctx, app.Waiver{Repository: "o/r", PR: 3, By: "alice", At: T0}))
	recs := []app.RecordNumber{{Folder: "adr", Number: 4, Path: "adr/0004-x.md"}}
	must(t, s.SetOpenPRRecords(ctx, "o/r", 3, recs))
	kept := NewIntent("Octo-Org/Hello", 3, T0.Add(time.Microsecond))
	kept.Why = strings.Repeat("Pourquoi — 理由は性能です。", 1000)
	kept.Records = nil
	saveIntents(t, s, kept, NewIntent("octo-org/gone", 1, T0))
	must(t, s.DeleteIntents(ctx, "octo-org/gone"))
	snap := NewRepoSnapshot("Octo-Org/Hello", T0.Add(time.Microsecond))
	snap.RepositoryID = 1296269
	files := []app.RepoFile{NewRepoFile("README.md", "# Hello\n"), {Path: "bin/nul", Blob: "b", Data: []byte{0, 0xff, 0}}}
	saveRepo(t, s, true, snap, files)
	review := app.ReviewIssue{Repository: "Octo-Org/Hello", Record: "ADR-0012", ReviewBy: "2027-01-15", ReservedAt: T0}
	reserve(t, s, review, true)
	review.Number = 9
	must(t, s.SaveReview(ctx, review))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t)
	if d := get(t, s, "a"); d.State != app.StatePending || d.Attempts != 1 || d.LastError != "later" {
		t.Errorf("after reopen a: state %q, attempts %d, last error %q", d.State, d.Attempts, d.LastError)
	}
	if d := get(t, s, "b"); d.State != app.StateClaimed {
		t.Errorf("after reopen b: state %q, want claimed", d.State)
	}
	// b's lease survived: k stays held, a (due at T0+1m) waits for it.
	wantIDs(t, "claim after reopen", claimIDs(t, s, "w2", 5, T0.Add(2*time.Minute), time.Hour), "c")
	must(t, s.Complete(ctx, "b", "w", T0.Add(2*time.Minute)))
	wantIDs(t, "claim after b completed", claimIDs(t, s, "w2", 5, T0.Add(2*time.Minute), time.Hour), "a")
	sameCheckRun(t, s, run)
	sameWaiver(t, s, app.Waiver{Repository: "o/r", PR: 3, By: "alice", At: T0})
	sameOpenPRs(t, s, "o/r", map[int][]app.RecordNumber{3: recs})
	kept.Records = []string{}
	sameIntents(t, "Intents after reopen", intents(t, s, "octo-org/hello", "octo-org/gone"), kept)
	if ok, err := s.Enqueue(ctx, NewDelivery("c", "", T0)); ok || err != nil {
		t.Errorf("Enqueue of a stored id after reopen = %v, %v; want false, nil", ok, err)
	}
	sameRepo(t, "RepoFiles after reopen", s, "octo-org/hello", snap, files...)
	asked := review
	asked.Number = 0
	sameReview(t, "ReserveReview after reopen", reserve(t, s, asked, false), review)
}

func testClosed(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	must(t, s.Ping(ctx))
	must(t, s.Close())
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after Close: no error")
	}
	if _, err := s.Enqueue(ctx, NewDelivery("x", "", T0)); err == nil {
		t.Error("Enqueue after Close: no error")
	}
	if _, err := s.Claim(ctx, "w", 1, T0, time.Minute); err == nil {
		t.Error("Claim after Close: no error")
	}
	if err := s.SaveIntent(ctx, NewIntent("o/r", 1, T0)); err == nil {
		t.Error("SaveIntent after Close: no error")
	}
	if _, err := s.Intents(ctx, []string{"o/r"}); err == nil {
		t.Error("Intents after Close: no error")
	}
	if err := s.DeleteIntents(ctx, "o/r"); err == nil {
		t.Error("DeleteIntents after Close: no error")
	}
	review := app.ReviewIssue{Repository: "o/r", Record: "ADR-1", ReviewBy: "2027-01-15"}
	for name, err := range map[string]error{
		"Extend":     s.Extend(ctx, "x", "w", T0),
		"Deliveries": second(s.Deliveries(ctx, app.DeliveryFilter{})),
		"Requeue":    second(s.Requeue(ctx, []string{"x"}, T0)),
		"Prune":      second(s.Prune(ctx, T0)),
		"SaveRepoFiles": second(s.SaveRepoFiles(ctx, NewRepoSnapshot("o/r", T0),
			[]app.RepoFile{NewRepoFile("a.md", "a")}, nil)),
		"RepoSnapshots": second(s.RepoSnapshots(ctx, []string{"o/r"})),
		"RepoFiles": func() error {
			_, _, err := s.RepoFiles(ctx, "o/r")
			return err
		}(),
		"DeleteRepo": s.DeleteRepo(ctx, "o/r"),
		"ReserveReview": func() error {
			_, _, err := s.ReserveReview(ctx, review)
			return err
		}(),
		"SaveReview": s.SaveReview(ctx, app.ReviewIssue{Repository: "o/r", Record: "ADR-1", ReviewBy: "2027-01-15", Number: 1}),
	} {
		if err == nil {
			t.Errorf("%s after Close: no error", name)
		}
	}
}

// second returns the error of a call that returns a value and an error.
func second[V any](_ V, err error) error { return err }
