package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/memory"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is a worker on a memory store with a fake clock.
type fixture struct {
	store   *memory.Store
	clock   *clock
	logs    *logBuffer
	metrics *app.Metrics
	worker  *app.Worker
}

func newFixture(p app.ProcessorFunc) *fixture {
	f := &fixture{store: memory.New(), clock: newClock(), logs: &logBuffer{}, metrics: app.NewMetrics(nil)}
	f.worker = &app.Worker{
		Inbox:     f.store,
		Processor: p,
		Name:      "test-worker",
		Poll:      time.Hour, // only Notify and finished attempts wake it
		Metrics:   f.metrics,
		Log:       slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:       f.clock.Now,
	}
	return f
}

// start runs the worker until the test ends (or the returned stop is
// called), and fails the test if Run returns an error.
func (f *fixture) start(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.worker.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Run did not return within 5s of cancellation")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func (f *fixture) enqueue(t *testing.T, id, key string, received time.Time) {
	t.Helper()
	ok, err := f.store.Enqueue(context.Background(), app.Delivery{
		ID: id, Event: "pull_request", Action: "opened", InstallationID: 1, Repository: "o/r",
		Key: key, Payload: []byte(`{}`), ReceivedAt: received,
	})
	if err != nil || !ok {
		t.Fatalf("enqueue %s: %v %v", id, ok, err)
	}
}

func (f *fixture) delivery(t *testing.T, id string) app.Delivery {
	t.Helper()
	d, err := f.store.Delivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func metricValue(t *testing.T, m prometheus.Metric) *dto.Metric {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	return metricValue(t, c).GetCounter().GetValue()
}

// eventually waits up to 5s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (f *fixture) waitState(t *testing.T, id string, state app.DeliveryState, attempts int) app.Delivery {
	t.Helper()
	var d app.Delivery
	eventually(t, fmt.Sprintf("%s %s after %d attempts", id, state, attempts), func() bool {
		d = f.delivery(t, id)
		return d.State == state && d.Attempts == attempts
	})
	return d
}

func TestWorkerCompletes(t *testing.T) {
	var seen sync.Map
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		seen.Store(d.ID, d)
		return nil
	})
	for i := range 3 {
		f.enqueue(t, fmt.Sprint("d", i), fmt.Sprint("k", i), f.clock.Now())
	}
	f.start(t)
	f.worker.Notify()
	for i := range 3 {
		d := f.waitState(t, fmt.Sprint("d", i), app.StateDone, 0)
		if !d.DoneAt.Equal(f.clock.Now()) {
			t.Errorf("DoneAt = %v, want the worker's clock %v", d.DoneAt, f.clock.Now())
		}
		v, ok := seen.Load(d.ID)
		if !ok || v.(app.Delivery).Repository != "o/r" {
			t.Errorf("processor saw %+v", v)
		}
	}
	if got := counterValue(t, f.metrics.Processed.WithLabelValues("pull_request", "done")); got != 3 {
		t.Errorf("processed{done} = %v, want 3", got)
	}
	if got := metricValue(t, f.metrics.ProcessSeconds.WithLabelValues("pull_request").(prometheus.Metric)).GetHistogram().GetSampleCount(); got != 3 {
		t.Errorf("process_seconds count = %d, want 3", got)
	}
	if !strings.Contains(f.logs.String(), "delivery=d0") || !strings.Contains(f.logs.String(), "repository=o/r") {
		t.Errorf("logs do not name the delivery and repository:\n%s", f.logs)
	}
}

func TestWorkerTemporaryErrorRetryTime(t *testing.T) {
	tests := []struct {
		name   string
		after  time.Duration // At relative to the clock; 0: none given
		want   time.Duration // NextAttempt relative to the clock
		capped bool
	}{
		{name: "beyond the backoff is honoured", after: 45 * time.Minute, want: 45 * time.Minute},
		{name: "absurd is capped", after: 5 * time.Hour, want: app.MaxRetryAfter, capped: true},
		// A reset already past (the clocks disagree) waits the first
		// backoff, 5 s less up to a quarter, so a limit is not hammered.
		{name: "in the past waits the first backoff", after: -time.Minute, want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var f *fixture
			f = newFixture(func(ctx context.Context, d app.Delivery) error {
				if calls.Add(1) == 1 {
					return &app.TemporaryError{Err: errors.New("rate limited"), At: f.clock.Now().Add(tt.after)}
				}
				return nil
			})
			f.enqueue(t, "d", "", f.clock.Now())
			f.start(t)
			f.worker.Notify()
			// Due now, it may already be done again: either way NextAttempt
			// keeps the retry time.
			var d app.Delivery
			eventually(t, "the retry", func() bool {
				d = f.delivery(t, "d")
				return d.Attempts == 1
			})
			got := d.NextAttempt.Sub(f.clock.Now())
			if tt.want == -1 {
				if got < 3750*time.Millisecond || got > 5*time.Second {
					t.Errorf("retry in %v, want the first backoff (3.75 to 5 s)", got)
				}
			} else if got != tt.want {
				t.Errorf("retry in %v, want %v", got, tt.want)
			}
			if !strings.Contains(d.LastError, "rate limited") {
				t.Errorf("LastError = %q", d.LastError)
			}
			if capped := strings.Contains(f.logs.String(), "capping"); capped != tt.capped {
				t.Errorf("cap logged: %v, want %v", capped, tt.capped)
			}
			if got := counterValue(t, f.metrics.Processed.WithLabelValues("pull_request", "retry")); got != 1 {
				t.Errorf("processed{retry} = %v", got)
			}
			f.clock.Set(d.NextAttempt)
			f.worker.Notify()
			f.waitState(t, "d", app.StateDone, 1)
		})
	}
}

func TestWorkerTemporaryErrorsOutliveMaxAttempts(t *testing.T) {
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		return &app.TemporaryError{Err: errors.New("github: 502")}
	})
	f.worker.MaxAttempts = 2
	f.worker.MaxAge = 2 * time.Hour
	received := f.clock.Now()
	f.enqueue(t, "d", "", received)
	f.start(t)
	f.worker.Notify()
	for attempt := 1; attempt <= 4; attempt++ {
		d := f.waitState(t, "d", app.StatePending, attempt)
		f.clock.Set(d.NextAttempt)
		f.worker.Notify()
	}
	// Past MaxAge, the next failure buries it.
	d := f.waitState(t, "d", app.StatePending, 5)
	f.clock.Set(received.Add(2*time.Hour + time.Second))
	f.worker.Notify()
	d = f.waitState(t, "d", app.StateDead, 6)
	if !strings.Contains(d.LastError, "still failing after 2h0m0s") {
		t.Errorf("LastError = %q", d.LastError)
	}
}

func TestWorkerBackoffGrowsUntilMaxAttempts(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		calls.Add(1)
		return errors.New("template broke")
	})
	f.worker.MaxAttempts = 6
	f.enqueue(t, "d", "", f.clock.Now())
	f.start(t)
	f.worker.Notify()
	var prev time.Duration
	for attempt := 1; attempt < 6; attempt++ {
		d := f.waitState(t, "d", app.StatePending, attempt)
		wait := d.NextAttempt.Sub(f.clock.Now())
		full := 5 * time.Second << (attempt - 1)
		if wait < full*3/4 || wait > full {
			t.Errorf("attempt %d: backoff %v, want within [%v, %v]", attempt, wait, full*3/4, full)
		}
		if wait <= prev {
			t.Errorf("attempt %d: backoff %v did not grow from %v", attempt, wait, prev)
		}
		prev = wait
		f.clock.Set(d.NextAttempt)
		f.worker.Notify()
	}
	d := f.waitState(t, "d", app.StateDead, 6)
	if d.LastError != "failed 6 times: template broke" {
		t.Errorf("LastError = %q", d.LastError)
	}
	if got := calls.Load(); got != 6 {
		t.Errorf("processed %d times, want 6", got)
	}
	if got := counterValue(t, f.metrics.Processed.WithLabelValues("pull_request", "dead")); got != 1 {
		t.Errorf("processed{dead} = %v", got)
	}
}

func TestDefaultBackoff(t *testing.T) {
	for attempt := -1; attempt <= 100; attempt++ {
		full := 30 * time.Minute
		if attempt < 20 {
			full = min(5*time.Second<<max(attempt, 0), 30*time.Minute)
		}
		for range 20 {
			got := app.DefaultBackoff(attempt)
			if got < full*3/4 || got > full {
				t.Fatalf("DefaultBackoff(%d) = %v, want within [%v, %v]", attempt, got, full*3/4, full)
			}
		}
	}
}

func TestWorkerPermanentError(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		calls.Add(1)
		return fmt.Errorf("evaluating: %w", app.Permanent(errors.New("repository not found")))
	})
	f.enqueue(t, "d", "", f.clock.Now())
	f.start(t)
	f.worker.Notify()
	d := f.waitState(t, "d", app.StateDead, 1)
	if d.LastError != "evaluating: repository not found" {
		t.Errorf("LastError = %q", d.LastError)
	}
	f.clock.Set(f.clock.Now().Add(24 * time.Hour))
	f.worker.Notify()
	time.Sleep(20 * time.Millisecond)
	if got := calls.Load(); got != 1 {
		t.Errorf("processed %d times, want 1", got)
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{base, false},
		{app.Permanent(base), true},
		{fmt.Errorf("wrapped: %w", app.Permanent(base)), true},
		{&app.TemporaryError{Err: base}, false},
		{errors.Join(base, app.Permanent(base)), true},
	}
	for _, tt := range tests {
		if got := app.IsPermanent(tt.err); got != tt.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	if app.Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
	if p := app.Permanent(base); !errors.Is(p, base) || p.Error() != "boom" {
		t.Errorf("Permanent hides its error: %v", p)
	}
}

func TestWorkerRecoversPanics(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		if calls.Add(1) == 1 {
			var m map[string]int
			m["x"]++ // a nil map write: a real bug's panic
		}
		return nil
	})
	f.enqueue(t, "d", "", f.clock.Now())
	f.start(t)
	f.worker.Notify()
	d := f.waitState(t, "d", app.StatePending, 1)
	if !strings.Contains(d.LastError, "processing panicked: assignment to entry in nil map") {
		t.Errorf("LastError = %q", d.LastError)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "processing panicked") || !strings.Contains(logs, "worker_test.go") {
		t.Errorf("panic not logged with its stack:\n%s", logs)
	}
	f.clock.Set(d.NextAttempt)
	f.worker.Notify()
	f.waitState(t, "d", app.StateDone, 1)
}

func TestWorkerConcurrencyLimit(t *testing.T) {
	var active, peak atomic.Int32
	release := make(chan struct{})
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		n := active.Add(1)
		defer active.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		return nil
	})
	f.worker.Concurrency = 3
	for i := range 10 {
		f.enqueue(t, fmt.Sprint("d", i), fmt.Sprint("k", i), f.clock.Now())
	}
	f.start(t)
	f.worker.Notify()
	eventually(t, "3 deliveries in flight", func() bool { return active.Load() == 3 })
	time.Sleep(30 * time.Millisecond) // give a fourth the chance to start, wrongly
	close(release)
	eventually(t, "every delivery done", func() bool {
		c, _ := f.store.Counts(context.Background())
		return c[app.StateDone] == 10
	})
	if got := peak.Load(); got != 3 {
		t.Errorf("peak concurrency %d, want 3", got)
	}
}

func TestWorkerSerialisesKeys(t *testing.T) {
	var (
		mu     sync.Mutex
		active = map[string]int{}
		order  []string
	)
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		mu.Lock()
		active[d.Key]++
		if active[d.Key] > 1 {
			t.Errorf("%s processed while another delivery of %s was", d.ID, d.Key)
		}
		if d.Key == "o/r@a" {
			order = append(order, d.ID)
		}
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		active[d.Key]--
		mu.Unlock()
		return nil
	})
	f.worker.Concurrency = 4
	start := f.clock.Now()
	for i := range 6 {
		f.enqueue(t, fmt.Sprint("a", i), "o/r@a", start.Add(time.Duration(i)*time.Second))
		f.enqueue(t, fmt.Sprint("b", i), "o/r@b", start.Add(time.Duration(i)*time.Second))
	}
	f.start(t)
	f.worker.Notify()
	eventually(t, "every delivery done", func() bool {
		c, _ := f.store.Counts(context.Background())
		return c[app.StateDone] == 12
	})
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(order, " "); got != "a0 a1 a2 a3 a4 a5" {
		t.Errorf("deliveries of one key ran in order %s, want the order received", got)
	}
}

// countingInbox counts claims, and fails the first few of each kind when
// told to.
type countingInbox struct {
	app.Inbox
	claims         atomic.Int32
	failClaims     atomic.Int32
	failCompletes  atomic.Int32
	completeErrors atomic.Int32
}

func (c *countingInbox) Claim(ctx context.Context, worker string, n int, now time.Time, lease time.Duration) ([]app.Delivery, error) {
	c.claims.Add(1)
	if c.failClaims.Add(-1) >= 0 {
		return nil, errors.New("database is locked")
	}
	return c.Inbox.Claim(ctx, worker, n, now, lease)
}

func (c *countingInbox) Complete(ctx context.Context, id, worker string, now time.Time) error {
	if c.failCompletes.Add(-1) >= 0 {
		c.completeErrors.Add(1)
		return errors.New("disk I/O error")
	}
	return c.Inbox.Complete(ctx, id, worker, now)
}

func TestWorkerNotifyWakesAtOnce(t *testing.T) {
	f := newFixture(func(ctx context.Context, d app.Delivery) error { return nil })
	inbox := &countingInbox{Inbox: f.store}
	f.worker.Inbox = inbox
	f.worker.Notify() // before Run: must neither block nor be lost
	f.worker.Notify()
	f.start(t)
	eventually(t, "the first claims", func() bool { return inbox.claims.Load() >= 2 })
	time.Sleep(20 * time.Millisecond)
	idle := inbox.claims.Load()

	f.enqueue(t, "d", "", f.clock.Now())
	start := time.Now()
	f.worker.Notify()
	f.waitState(t, "d", app.StateDone, 0)
	// Poll is an hour: only Notify can have woken it.
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("processed %v after Notify", took)
	}
	if inbox.claims.Load() <= idle {
		t.Error("no claim after Notify")
	}
}

func TestWorkerPollsWithoutNotify(t *testing.T) {
	f := newFixture(func(ctx context.Context, d app.Delivery) error { return nil })
	f.worker.Poll = 10 * time.Millisecond
	f.start(t)
	time.Sleep(20 * time.Millisecond)
	f.enqueue(t, "d", "", f.clock.Now()) // no Notify: another replica stored it
	f.waitState(t, "d", app.StateDone, 0)
}

func TestWorkerSurvivesStoreErrors(t *testing.T) {
	f := newFixture(func(ctx context.Context, d app.Delivery) error { return nil })
	inbox := &countingInbox{Inbox: f.store}
	inbox.failClaims.Store(3)
	inbox.failCompletes.Store(1)
	f.worker.Inbox = inbox
	f.worker.Poll = 10 * time.Millisecond
	f.worker.Lease = time.Minute
	f.enqueue(t, "d", "", f.clock.Now())
	f.start(t)
	// The first Complete fails: the claim stays until its lease expires,
	// then the delivery is processed again.
	eventually(t, "the failed complete", func() bool { return inbox.completeErrors.Load() == 1 })
	f.clock.Set(f.clock.Now().Add(time.Minute))
	f.waitState(t, "d", app.StateDone, 0)
	logs := f.logs.String()
	if strings.Count(logs, "claiming deliveries failed") != 3 || !strings.Contains(logs, "database is locked") {
		t.Errorf("claim errors not logged:\n%s", logs)
	}
	if !strings.Contains(logs, "recording the outcome failed") || !strings.Contains(logs, "disk I/O error") {
		t.Errorf("complete error not logged:\n%s", logs)
	}
}

func TestWorkerStoreOutageDoesNotSpin(t *testing.T) {
	f := newFixture(func(ctx context.Context, d app.Delivery) error { return nil })
	inbox := &countingInbox{Inbox: f.store}
	inbox.failClaims.Store(1 << 30)
	f.worker.Inbox = inbox
	f.worker.Poll = 50 * time.Millisecond
	f.start(t)
	stop := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(stop) {
		f.worker.Notify()
		time.Sleep(time.Millisecond)
	}
	if got := inbox.claims.Load(); got > 6 {
		t.Errorf("%d claims in 200ms with a 50ms poll: Notify defeats the wait after a store error", got)
	}
}

func TestWorkerShutdownPutsInFlightBack(t *testing.T) {
	started := make(chan string, 2)
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		started <- d.ID
		<-ctx.Done()
		return fmt.Errorf("fetching files: %w", ctx.Err())
	})
	f.enqueue(t, "a", "", f.clock.Now())
	f.enqueue(t, "b", "", f.clock.Now())
	stop := f.start(t)
	f.worker.Notify()
	<-started
	<-started
	f.clock.Set(f.clock.Now().Add(time.Minute))
	stop()
	for _, id := range []string{"a", "b"} {
		d := f.delivery(t, id)
		if d.State != app.StatePending || d.Attempts != 0 || !d.NextAttempt.Equal(f.clock.Now()) {
			t.Errorf("%s after shutdown: state %s, attempts %d, next attempt %v (now %v); want pending, not counted, due now",
				id, d.State, d.Attempts, d.NextAttempt, f.clock.Now())
		}
	}

	// A restarted worker resumes them at once.
	g := newFixture(func(ctx context.Context, d app.Delivery) error { return nil })
	g.store, g.clock = f.store, f.clock
	g.worker.Inbox, g.worker.Now = f.store, f.clock.Now
	g.start(t)
	g.worker.Notify()
	f.waitState(t, "a", app.StateDone, 0)
	f.waitState(t, "b", app.StateDone, 0)
}

func TestWorkerShutdownCompletesFinishedWork(t *testing.T) {
	started := make(chan struct{})
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		close(started)
		<-ctx.Done()
		return nil // finished despite the cancellation
	})
	f.enqueue(t, "d", "", f.clock.Now())
	stop := f.start(t)
	f.worker.Notify()
	<-started
	stop()
	if d := f.delivery(t, "d"); d.State != app.StateDone {
		t.Errorf("state %s, want done", d.State)
	}
}

// extendInbox makes Extend fail with err (nil: the store's own answer) and
// counts the calls.
type extendInbox struct {
	app.Inbox
	err   error
	calls atomic.Int32
}

func (x *extendInbox) Extend(ctx context.Context, id, worker string, until time.Time) error {
	x.calls.Add(1)
	if x.err != nil {
		return x.err
	}
	return x.Inbox.Extend(ctx, id, worker, until)
}

func TestWorkerLeaseBoundsAttemptWhenItCannotBeExtended(t *testing.T) {
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		<-ctx.Done()
		return fmt.Errorf("listing files: %w", ctx.Err())
	})
	inbox := &extendInbox{Inbox: f.store, err: errors.New("database is down")}
	f.worker.Inbox = inbox
	f.worker.Lease = 60 * time.Millisecond
	f.enqueue(t, "d", "", f.clock.Now())
	f.start(t)
	f.worker.Notify()
	d := f.waitState(t, "d", app.StatePending, 1)
	if !strings.Contains(d.LastError, "end of its lease") {
		t.Errorf("LastError = %q, want it to say the lease ended", d.LastError)
	}
	if inbox.calls.Load() == 0 {
		t.Error("the worker never tried to extend the lease")
	}
}

func TestWorkerExtendsLeaseOfLongAttempt(t *testing.T) {
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		select {
		case <-time.After(300 * time.Millisecond): // five leases
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	inbox := &extendInbox{Inbox: f.store}
	f.worker.Inbox = inbox
	f.worker.Lease = 60 * time.Millisecond
	f.enqueue(t, "d", "", f.clock.Now())
	f.start(t)
	f.worker.Notify()
	f.waitState(t, "d", app.StateDone, 0)
	if n := inbox.calls.Load(); n < 3 {
		t.Errorf("lease extended %d times in five leases, want at least 3", n)
	}
}

func TestWorkerStopsAttemptWhenLeaseLost(t *testing.T) {
	stopped := make(chan error, 1)
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		<-ctx.Done()
		stopped <- context.Cause(ctx)
		return ctx.Err()
	})
	f.worker.Inbox = &extendInbox{Inbox: f.store, err: app.ErrLeaseLost}
	f.worker.Lease = 3 * time.Second // extended after 1s, deadline at 2.7s
	f.enqueue(t, "d", "", f.clock.Now())
	f.start(t)
	f.worker.Notify()
	select {
	case cause := <-stopped:
		if !errors.Is(cause, app.ErrLeaseLost) {
			t.Errorf("attempt stopped by %v, want the lost lease", cause)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("the attempt went on after its lease was lost")
	}
}

func TestWorkerLeaseLostIsLogged(t *testing.T) {
	var f *fixture
	f = newFixture(func(ctx context.Context, d app.Delivery) error {
		// Another worker takes the delivery once the lease expires.
		f.clock.Set(f.clock.Now().Add(time.Hour))
		if _, err := f.store.Claim(ctx, "other-worker", 1, f.clock.Now(), time.Minute); err != nil {
			t.Error(err)
		}
		return nil
	})
	f.enqueue(t, "d", "", f.clock.Now())
	f.start(t)
	f.worker.Notify()
	eventually(t, "the lease-lost log", func() bool { return strings.Contains(f.logs.String(), "lease lost") })
	if d := f.delivery(t, "d"); d.State != app.StateClaimed {
		t.Errorf("state %s, want claimed by the other worker", d.State)
	}
}

func TestWorkerConfiguration(t *testing.T) {
	ctx := context.Background()
	if err := (&app.Worker{Processor: app.ProcessorFunc(nil)}).Run(ctx); err == nil || !strings.Contains(err.Error(), "no inbox") {
		t.Errorf("no inbox: %v", err)
	}
	if err := (&app.Worker{Inbox: memory.New()}).Run(ctx); err == nil || !strings.Contains(err.Error(), "no processor") {
		t.Errorf("no processor: %v", err)
	}
	f := newFixture(func(ctx context.Context, d app.Delivery) error { return nil })
	f.worker.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	f.start(t)
	time.Sleep(10 * time.Millisecond)
	if err := f.worker.Run(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Run: %v", err)
	}
}

func TestNewWorkerName(t *testing.T) {
	a, b := app.NewWorkerName(), app.NewWorkerName()
	if a == b || strings.Count(a, "-") < 2 {
		t.Errorf("names %q and %q: want host-pid-random, distinct", a, b)
	}
}

func TestWorkerLateAttemptCannotFinishItsOwnNewerClaim(t *testing.T) {
	var calls atomic.Int32
	release := []chan struct{}{make(chan struct{}), make(chan struct{})}
	started := make(chan int, 2)
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		n := int(calls.Add(1)) - 1
		started <- n
		<-release[n] // ignores its context, as a stuck call might
		if n == 0 {
			return errors.New("the first attempt failed, too late")
		}
		return nil
	})
	f.worker.Lease = time.Minute
	f.enqueue(t, "x", "k", f.clock.Now())
	f.start(t)
	f.worker.Notify()
	<-started
	// The first attempt outlives its lease: the same worker claims x again.
	f.clock.Set(f.clock.Now().Add(2 * time.Minute))
	f.worker.Notify()
	<-started
	close(release[0])
	eventually(t, "the late attempt's outcome to be refused", func() bool {
		return strings.Contains(f.logs.String(), "lease lost")
	})
	if d := f.delivery(t, "x"); d.State != app.StateClaimed || d.Attempts != 0 {
		t.Fatalf("while the second attempt runs, x is %s with %d attempts: the late first attempt finished the second's claim", d.State, d.Attempts)
	}
	close(release[1])
	f.waitState(t, "x", app.StateDone, 0)
}

func TestWorkerStopsExtendingAfterMaxAttemptTime(t *testing.T) {
	stopped := make(chan error, 1)
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		<-ctx.Done() // a build that hangs
		stopped <- context.Cause(ctx)
		return ctx.Err()
	})
	inbox := &extendInbox{Inbox: f.store}
	f.worker.Inbox = inbox
	f.worker.Lease = 60 * time.Millisecond
	f.worker.MaxAttemptTime = 200 * time.Millisecond
	f.enqueue(t, "d", "", f.clock.Now())
	f.start(t)
	f.worker.Notify()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("an attempt that hangs kept its lease past MaxAttemptTime")
	}
	if n := inbox.calls.Load(); n == 0 {
		t.Error("the lease was never extended before the cap")
	}
}

func TestWorkerMaxBackoffCapsTheWait(t *testing.T) {
	f := newFixture(func(ctx context.Context, d app.Delivery) error { return errors.New("still broken") })
	f.worker.Backoff = func(int) time.Duration { return time.Hour }
	f.worker.MaxBackoff = 10 * time.Second
	f.enqueue(t, "d", "", f.clock.Now())
	f.start(t)
	f.worker.Notify()
	d := f.waitState(t, "d", app.StatePending, 1)
	if wait := d.NextAttempt.Sub(f.clock.Now()); wait > 10*time.Second || wait < 7*time.Second {
		t.Errorf("next attempt in %s, want at most MaxBackoff (10s) less jitter", wait)
	}
}
