package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// reserve reserves r and fails t unless the store's answer is wantNew.
func reserve(t *testing.T, s app.Store, r app.ReviewIssue, wantNew bool) app.ReviewIssue {
	t.Helper()
	got, ok, err := s.ReserveReview(context.Background(), r)
	if err != nil {
		t.Fatalf("ReserveReview(%s %s %s): %v", r.Repository, r.Record, r.ReviewBy, err)
	}
	if ok != wantNew {
		t.Fatalf("ReserveReview(%s %s %s) reserved = %v, want %v", r.Repository, r.Record, r.ReviewBy, ok, wantNew)
	}
	return got
}

func sameReview(t *testing.T, what string, got, want app.ReviewIssue) {
	t.Helper()
	wantTime(t, what+" ReservedAt", got.ReservedAt, want.ReservedAt)
	got.ReservedAt = want.ReservedAt
	if got != want {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func testReviews(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	r := app.ReviewIssue{Repository: "Octo-Org/Hello", Record: "ADR-0012", ReviewBy: "2027-01-15", ReservedAt: T0.Add(time.Microsecond)}
	sameReview(t, "first reservation", reserve(t, s, r, true), r)

	// The same review, whatever case names the repository, is reserved
	// once: the stored one comes back, unchanged.
	again := r
	again.Repository, again.ReservedAt = "octo-org/HELLO", T0.Add(time.Hour)
	sameReview(t, "second reservation", reserve(t, s, again, false), r)

	// Another record, date or repository is another review; records and
	// dates compare exactly.
	for _, other := range []app.ReviewIssue{
		{Repository: "Octo-Org/Hello", Record: "ADR-0013", ReviewBy: "2027-01-15", ReservedAt: T0},
		{Repository: "Octo-Org/Hello", Record: "ADR-0012", ReviewBy: "2028-01-15", ReservedAt: T0},
		{Repository: "Octo-Org/Hello-2", Record: "ADR-0012", ReviewBy: "2027-01-15", ReservedAt: T0},
		{Repository: "Octo-Org/Hello", Record: "adr-0012", ReviewBy: "2027-01-15", ReservedAt: T0},
	} {
		sameReview(t, fmt.Sprintf("reservation of %s %s %s", other.Repository, other.Record, other.ReviewBy), reserve(t, s, other, true), other)
	}

	// Once opened, the issue's number is saved, and a later reservation
	// sees it (the repository keeps its name as reserved).
	opened := r
	opened.Repository, opened.Number, opened.ReservedAt = "OCTO-ORG/hello", 57, T0.Add(2*time.Hour)
	must(t, s.SaveReview(ctx, opened))
	want := r
	want.Number = 57
	sameReview(t, "reservation after SaveReview", reserve(t, s, again, false), want)
	opened.Number = 58
	must(t, s.SaveReview(ctx, opened))
	want.Number = 58
	sameReview(t, "reservation after a second SaveReview", reserve(t, s, again, false), want)
	// The others are still being opened.
	other := app.ReviewIssue{Repository: "Octo-Org/Hello", Record: "ADR-0013", ReviewBy: "2027-01-15", ReservedAt: T0}
	sameReview(t, "another reservation after SaveReview", reserve(t, s, other, false), other)

	for _, missing := range []app.ReviewIssue{
		{Repository: "Octo-Org/Hello", Record: "ADR-9999", ReviewBy: "2027-01-15", Number: 1},
		{Repository: "Octo-Org/Hello", Record: "ADR-0012", ReviewBy: "2029-01-15", Number: 1},
		{Repository: "nobody/none", Record: "ADR-0012", ReviewBy: "2027-01-15", Number: 1},
		{Repository: "Octo-Org/Hell", Record: "ADR-0012", ReviewBy: "2027-01-15", Number: 1},
	} {
		if err := s.SaveReview(ctx, missing); !errors.Is(err, app.ErrNotFound) {
			t.Errorf("SaveReview of %s %s %s, never reserved = %v, want ErrNotFound", missing.Repository, missing.Record, missing.ReviewBy, err)
		}
	}
	// Refused saves reserved nothing.
	unreserved := app.ReviewIssue{Repository: "Octo-Org/Hello", Record: "ADR-9999", ReviewBy: "2027-01-15", ReservedAt: T0}
	sameReview(t, "reservation after a refused save", reserve(t, s, unreserved, true), unreserved)
}

// testReviewArguments: a review names its repository, record and date; it
// is reserved before its issue has a number, and saved with one.
func testReviewArguments(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	r := app.ReviewIssue{Repository: "o/r", Record: "ADR-1", ReviewBy: "2027-01-15", ReservedAt: T0}
	for _, bad := range []app.ReviewIssue{
		{Record: "ADR-1", ReviewBy: "2027-01-15"},
		{Repository: "o/r", ReviewBy: "2027-01-15"},
		{Repository: "o/r", Record: "ADR-1"},
		{Repository: "o/r", Record: "ADR-1", ReviewBy: "2027-01-15", Number: 12},
	} {
		if _, ok, err := s.ReserveReview(ctx, bad); err == nil || ok {
			t.Errorf("ReserveReview(%+v) = %v, %v; want an error", bad, ok, err)
		}
	}
	sameReview(t, "reservation after refused ones", reserve(t, s, r, true), r)
	for _, n := range []int{0, -1} {
		bad := r
		bad.Number = n
		if err := s.SaveReview(ctx, bad); err == nil {
			t.Errorf("SaveReview with number %d: no error", n)
		}
	}
	sameReview(t, "reservation after refused saves", reserve(t, s, r, false), r)
}

// testReviewsConcurrent: replicas reserving one review at once open one
// issue: exactly one reserves, and every one sees its reservation.
func testReviewsConcurrent(t *testing.T, open Open) {
	s := open(t)
	const n = 12
	type answer struct {
		r   app.ReviewIssue
		ok  bool
		err error
	}
	answers := make(chan answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := app.ReviewIssue{Repository: "Octo-Org/Hello", Record: "ADR-0012", ReviewBy: "2027-01-15", ReservedAt: T0.Add(time.Duration(i) * time.Second)}
			got, ok, err := s.ReserveReview(context.Background(), r)
			answers <- answer{got, ok, err}
		})
	}
	wg.Wait()
	close(answers)
	var winners []app.ReviewIssue
	var all []app.ReviewIssue
	for a := range answers {
		if a.err != nil {
			t.Fatal(a.err)
		}
		if a.ok {
			winners = append(winners, a.r)
		}
		all = append(all, a.r)
	}
	if len(winners) != 1 {
		t.Fatalf("%d of %d concurrent reservations reserved, want 1", len(winners), n)
	}
	for _, r := range all {
		sameReview(t, "a concurrent reservation", r, winners[0])
	}
}
