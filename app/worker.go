package app

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Processor handles one delivery. It returns nil when the delivery is done;
// a *TemporaryError when it may pass (retried at At when set, else after a
// backoff); an error wrapped by Permanent when retrying cannot help (the
// delivery is dead at once); any other error is retried with backoff until
// the Worker's MaxAttempts, then the delivery is dead.
type Processor interface {
	Process(ctx context.Context, d Delivery) error
}

// ProcessorFunc is a function used as a Processor.
type ProcessorFunc func(ctx context.Context, d Delivery) error

// Process calls f.
func (f ProcessorFunc) Process(ctx context.Context, d Delivery) error { return f(ctx, d) }

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot fix: the delivery becomes
// a dead letter at once. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked by
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// The Worker's defaults.
const (
	DefaultConcurrency = 4
	DefaultLease       = 2 * time.Minute
	DefaultPoll        = time.Second
	DefaultMaxAttempts = 10
	// MaxRetryAfter caps a retry time GitHub gives (Retry-After,
	// X-RateLimit-Reset): a later one is a clock gone wrong or a bad header,
	// and waiting for it would stall the delivery.
	MaxRetryAfter = time.Hour
	// storeTimeout bounds each store call that ends an attempt. It does not
	// derive from the Run context, so that shutting down still records what
	// happened to the deliveries in flight.
	storeTimeout = 10 * time.Second
)

// Worker processes deliveries from an Inbox: it claims due deliveries, runs
// the Processor on each (at most Concurrency at a time), and records the
// outcome. Several workers, in one process or many, may share one Inbox:
// the Inbox's leases keep them from processing a delivery, or two
// deliveries with the same Key, at the same time.
//
// Set the fields before calling Run and do not change them after.
type Worker struct {
	Inbox     Inbox
	Processor Processor
	// Name identifies this worker in the Inbox's leases; it must be unique
	// among the workers sharing an Inbox. Empty: NewWorkerName().
	Name string
	// Concurrency is how many deliveries are processed at once (default 4).
	Concurrency int
	// Lease is how long a claim lasts; each attempt's context is cancelled
	// when it ends, so that a delivery is never processed after another
	// worker may have taken it (default 2m).
	Lease time.Duration
	// Poll is how long an idle worker waits before looking for due
	// deliveries again, unless Notify wakes it first (default 1s).
	Poll time.Duration
	// MaxAttempts is how many failed attempts a delivery gets before it is
	// dead (default 10). A *TemporaryError is retried past it: see Run.
	MaxAttempts int
	// MaxAge bounds the retries of temporary errors, which MaxAttempts does
	// not: a *TemporaryError on a delivery received longer ago than MaxAge
	// makes it dead (default 24h, so that a day-long GitHub outage loses
	// nothing).
	MaxAge time.Duration
	// Backoff is the wait after the attempt-th failed attempt (0-based).
	// Default: 5s·2^attempt, capped at 30m, less up to a quarter of jitter.
	Backoff func(attempt int) time.Duration
	// MaxBackoff caps the wait between two attempts (default: Backoff's
	// own ceiling, 30m for DefaultBackoff). A retry time GitHub gives
	// (rate limits) is kept even past it, up to MaxRetryAfter.
	MaxBackoff time.Duration
	// MaxAttemptTime bounds one attempt whatever its lease extensions
	// (default 30m): a build that hangs must not hold its delivery, and
	// every later build of its organisation, forever.
	MaxAttemptTime time.Duration
	// Metrics may be nil.
	Metrics *Metrics
	// Log may be nil: slog.Default().
	Log *slog.Logger
	// Now is the clock for claims and retry times (default time.Now). The
	// lease that bounds an attempt is measured in real time.
	Now func() time.Time

	initOnce sync.Once
	wake     chan struct{}
	running  sync.Mutex
}

// NewWorkerName returns a name unique to this process: host-pid-random.
func NewWorkerName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	var b [4]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// DefaultBackoff is the wait after the attempt-th failed attempt (0-based):
// 5s·2^attempt capped at 30m, less a random quarter so that deliveries that
// failed together do not all come back together.
func DefaultBackoff(attempt int) time.Duration {
	const base, ceiling = 5 * time.Second, 30 * time.Minute
	d := ceiling
	if attempt < 20 { // 5s·2^20 is far past the ceiling; avoid overflow
		d = min(base<<max(attempt, 0), ceiling)
	}
	return d - rand.N(d/4+1)
}

func (w *Worker) init() {
	w.initOnce.Do(func() { w.wake = make(chan struct{}, 1) })
}

// Notify wakes the worker to claim at once, without waiting for Poll: call
// it when a new delivery is stored. It never blocks, and may be called
// before Run.
func (w *Worker) Notify() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// workerConfig is the Worker's settings with the defaults applied.
type workerConfig struct {
	name        string
	concurrency int
	lease       time.Duration
	poll        time.Duration
	maxAttempts int
	maxAge      time.Duration
	maxAttempt  time.Duration
	backoff     func(int) time.Duration
	log         *slog.Logger
	now         func() time.Time
}

func (w *Worker) config() (workerConfig, error) {
	if w.Inbox == nil {
		return workerConfig{}, errors.New("worker: no inbox")
	}
	if w.Processor == nil {
		return workerConfig{}, errors.New("worker: no processor")
	}
	c := workerConfig{
		name: w.Name, concurrency: w.Concurrency, lease: w.Lease, poll: w.Poll,
		maxAttempts: w.MaxAttempts, maxAge: w.MaxAge, maxAttempt: w.MaxAttemptTime, backoff: w.Backoff, log: w.Log, now: w.Now,
	}
	if c.maxAttempt <= 0 {
		c.maxAttempt = 30 * time.Minute
	}
	if c.name == "" {
		c.name = NewWorkerName()
	}
	if c.concurrency <= 0 {
		c.concurrency = DefaultConcurrency
	}
	if c.lease <= 0 {
		c.lease = DefaultLease
	}
	if c.poll <= 0 {
		c.poll = DefaultPoll
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.maxAge <= 0 {
		c.maxAge = 24 * time.Hour
	}
	if c.backoff == nil {
		c.backoff = DefaultBackoff
	}
	if max := w.MaxBackoff; max > 0 {
		backoff := c.backoff
		c.backoff = func(attempt int) time.Duration {
			if d := backoff(attempt); d < max {
				return d
			}
			// Keep the jitter at the cap: deliveries that failed together
			// still come back apart.
			return max - rand.N(max/4+1)
		}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.log = c.log.With("worker", c.name)
	return c, nil
}

// Run processes deliveries until ctx is done, then cancels the attempts in
// flight, puts those that did not finish back in the Inbox (due at once,
// reason "shutdown", so that a restart resumes them without waiting), and
// returns nil. It returns an error only when the Worker is misconfigured or
// already running. Store errors never stop it: they are logged and the
// claim is tried again after Poll.
//
// Outcomes: nil completes the delivery; an error marked Permanent buries it;
// a *TemporaryError retries it at its At (capped at MaxRetryAfter from now;
// honoured even beyond the backoff) or after Backoff, until the delivery is
// older than MaxAge; any other error, a panic included, retries it after
// Backoff until it has failed MaxAttempts times.
func (w *Worker) Run(ctx context.Context) error {
	c, err := w.config()
	if err != nil {
		return err
	}
	if !w.running.TryLock() {
		return errors.New("worker: already running")
	}
	defer w.running.Unlock()
	w.init()

	var (
		wg       sync.WaitGroup
		inFlight int
		finished = make(chan struct{}, c.concurrency)
		timer    = time.NewTimer(0)
	)
	defer timer.Stop()
	c.log.Info("worker started", "concurrency", c.concurrency, "lease", c.lease)
	var claims uint64
	for {
		claimFailed := false
		if free := c.concurrency - inFlight; free > 0 && ctx.Err() == nil {
			// Each claim has its own holder name, so that an attempt that
			// outlived its lease can never finish a later claim of the same
			// delivery by this worker.
			claims++
			holder := fmt.Sprintf("%s/%d", c.name, claims)
			// The attempt's deadline counts from before the claim: the
			// stored lease does too, so the attempt always ends first.
			deadline := time.Now().Add(c.lease - leaseMargin(c.lease))
			// A claim is not cancelled midway (it might commit anyway and
			// leave deliveries claimed until their lease expires); what it
			// took after shutdown began goes straight back.
			claimCtx, cancelClaim := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
			ds, err := w.Inbox.Claim(claimCtx, holder, free, c.now(), c.lease)
			cancelClaim()
			switch {
			case err != nil && ctx.Err() == nil:
				c.log.Error("claiming deliveries failed; trying again after the poll interval", "err", err, "poll", c.poll)
				claimFailed = true
			case err == nil && ctx.Err() != nil:
				w.putBack(c, holder, ds)
			case err == nil:
				for _, d := range ds {
					inFlight++
					wg.Add(1)
					go func() {
						defer wg.Done()
						w.attempt(ctx, c, holder, deadline, d)
						finished <- struct{}{}
					}()
				}
			}
		}

		timer.Reset(c.poll)
		// A claim that failed waits the whole poll interval: a burst of
		// Notify calls must not turn a store outage into a busy loop.
		wake := w.wake
		if claimFailed {
			wake = nil
		}
		select {
		case <-ctx.Done():
			c.log.Info("worker stopping", "in_flight", inFlight)
			wg.Wait()
			c.log.Info("worker stopped")
			return nil
		case <-finished:
			// A finished delivery may free a Key that a due one waits for.
			inFlight--
		case <-wake:
		case <-timer.C:
		}
		// Take every other finished attempt at once, to claim for all the
		// free slots in one go.
		for drained := false; !drained; {
			select {
			case <-finished:
				inFlight--
			default:
				drained = true
			}
		}
	}
}

// leaseMargin is how long before its lease ends an attempt is stopped, so
// that clocks that disagree a little (replicas, the database) cannot let two
// workers process one delivery.
func leaseMargin(lease time.Duration) time.Duration {
	return min(lease/10, 5*time.Second)
}

// putBack releases deliveries claimed as the worker shut down.
func (w *Worker) putBack(c workerConfig, holder string, ds []Delivery) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	for _, d := range ds {
		if err := w.Inbox.Release(ctx, d.ID, holder, c.now()); err != nil {
			c.log.Warn("a delivery claimed during shutdown could not be put back; it is due again when its lease expires", "delivery", d.ID, "err", err)
		}
	}
}

// attempt processes one claimed delivery and records the outcome.
func (w *Worker) attempt(runCtx context.Context, c workerConfig, holder string, deadline time.Time, d Delivery) {
	log := c.log.With(
		"delivery", d.ID, "event", d.Event, "action", d.Action,
		"installation", d.InstallationID, "repository", d.Repository, "attempt", d.Attempts+1,
	)
	// The lease bounds the attempt: past it, another worker may hold the
	// delivery, and two workers must never process it at once. A long
	// attempt (a site build) extends its lease while it runs, and its
	// deadline with it.
	ctx, cancel := context.WithCancelCause(runCtx)
	expire := time.AfterFunc(time.Until(deadline), func() { cancel(errLeaseEnded) })
	stopKeeping := make(chan struct{})
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		w.keepLease(runCtx, c, holder, d.ID, expire, cancel, stopKeeping, log)
	}()
	start := time.Now()
	err := w.process(ctx, d, log)
	close(stopKeeping)
	<-kept
	expire.Stop()
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(err, cause) && runCtx.Err() == nil {
		err = fmt.Errorf("%w (%w)", err, cause)
	}
	cancel(nil)
	elapsed := time.Since(start)
	if m := w.Metrics; m != nil {
		m.ProcessSeconds.WithLabelValues(d.Event).Observe(elapsed.Seconds())
	}

	storeCtx, cancelStore := context.WithTimeout(context.WithoutCancel(runCtx), storeTimeout)
	defer cancelStore()
	now := c.now()
	var outcome string
	var storeErr error
	switch {
	case err == nil:
		outcome = "done"
		storeErr = w.Inbox.Complete(storeCtx, d.ID, holder, now)
		log.Info("delivery processed", "took", elapsed)

	case runCtx.Err() != nil && !IsPermanent(err) && !hasRetryTime(err):
		// Shutting down cancelled it: put it back, due at once, without
		// counting an attempt.
		outcome = "retry"
		storeErr = w.Inbox.Release(storeCtx, d.ID, holder, now)
		log.Info("delivery put back for after the restart", "err", err)

	case IsPermanent(err):
		outcome = "dead"
		storeErr = w.Inbox.Bury(storeCtx, d.ID, holder, now, err.Error())
		log.Error("delivery failed for good", "err", err)

	default:
		at, temporary := w.retryTime(c, d, err, now, log)
		switch {
		case temporary && !d.ReceivedAt.IsZero() && now.Sub(d.ReceivedAt) > c.maxAge:
			outcome = "dead"
			storeErr = w.Inbox.Bury(storeCtx, d.ID, holder, now, fmt.Sprintf("still failing after %s: %v", c.maxAge, err))
			log.Error("delivery failed for too long; giving up", "err", err, "received", d.ReceivedAt)
		case !temporary && d.Attempts+1 >= c.maxAttempts && !strings.HasPrefix(d.LastError, temporaryPrefix):
			// Attempts also counts temporary failures (they grow the
			// backoff); after a long outage one ordinary error must not
			// bury a delivery at once, so the failure before this one
			// must have been ordinary too.
			outcome = "dead"
			storeErr = w.Inbox.Bury(storeCtx, d.ID, holder, now, fmt.Sprintf("failed %d times: %v", d.Attempts+1, err))
			log.Error("delivery failed too often; giving up", "err", err, "attempts", d.Attempts+1)
		default:
			outcome = "retry"
			storeErr = w.Inbox.Retry(storeCtx, d.ID, holder, at, err.Error())
			log.Warn("delivery failed; will retry", "err", err, "retry_at", at, "temporary", temporary)
		}
	}
	if m := w.Metrics; m != nil {
		m.Processed.WithLabelValues(d.Event, outcome).Inc()
		if err != nil && outcome != "done" {
			m.Failures.WithLabelValues(d.Event, failureKind(err)).Inc()
		}
		switch outcome {
		case "dead":
			m.DeadLetters.WithLabelValues(d.Event).Inc()
		case "done":
			if !d.ReceivedAt.IsZero() {
				m.DeliveryLatency.WithLabelValues(d.Event).Observe(max(now.Sub(d.ReceivedAt).Seconds(), 0))
			}
		}
	}
	switch {
	case errors.Is(storeErr, ErrLeaseLost):
		log.Warn("lease lost before the outcome was recorded; another worker has the delivery", "outcome", outcome)
	case storeErr != nil:
		// The claim stays until its lease expires; the delivery is then
		// processed again, which handlers tolerate (at-least-once).
		log.Error("recording the outcome failed; the delivery will be retried when its lease expires", "outcome", outcome, "err", storeErr)
	}
}

// keepLease extends the lease of a delivery being processed every third of
// the lease, and moves the attempt's deadline (expire) with it, until stop
// is closed. When the lease is lost it cancels the attempt at once; when
// extending fails otherwise, the deadline stays where it was.
func (w *Worker) keepLease(runCtx context.Context, c workerConfig, holder, id string, expire *time.Timer, cancel context.CancelCauseFunc, stop <-chan struct{}, log *slog.Logger) {
	tick := time.NewTicker(c.lease / 3)
	defer tick.Stop()
	started := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		// Measured from before the call, as the claim's deadline is.
		deadline := time.Now().Add(c.lease - leaseMargin(c.lease))
		if deadline.Sub(started) > c.maxAttempt {
			log.Warn("the attempt has run for its longest allowed time: the lease is no longer extended", "delivery", id, "max", c.maxAttempt)
			return
		}
		ctx, done := context.WithTimeout(context.WithoutCancel(runCtx), storeTimeout)
		err := w.Inbox.Extend(ctx, id, holder, c.now().Add(c.lease))
		done()
		switch {
		case err == nil:
			select {
			case <-stop: // finished meanwhile: nothing to move
				return
			default:
			}
			if !expire.Stop() {
				// The old deadline passed while extending: the attempt is
				// already stopped, and stays so.
				return
			}
			expire.Reset(time.Until(deadline))
		case errors.Is(err, ErrLeaseLost):
			log.Warn("lease lost while processing; stopping this attempt", "delivery", id)
			cancel(ErrLeaseLost)
			return
		default:
			log.Warn("extending the lease failed; the attempt keeps its deadline", "delivery", id, "err", err)
		}
	}
}

// errLeaseEnded stops an attempt whose lease could not be extended in time.
var errLeaseEnded = fmt.Errorf("the attempt reached the end of its lease, which could not be extended: %w", context.DeadlineExceeded)

// failureKind sorts a failed attempt's error for the failures metric.
func failureKind(err error) string {
	var rejected *RejectedError
	switch at, temporary := RetryAt(err); {
	case errors.Is(err, ErrLeaseLost), errors.Is(err, errLeaseEnded):
		return "lease_lost"
	case IsPermanent(err):
		return "permanent"
	case temporary && !at.IsZero():
		return "rate_limited"
	case temporary:
		return "temporary"
	case errors.As(err, &rejected):
		return "rejected"
	default:
		return "error"
	}
}

// temporaryPrefix starts the text of every *TemporaryError, and so the
// LastError of a delivery whose last failure was temporary.
const temporaryPrefix = "temporary"

// hasRetryTime reports whether err carries a retry time from GitHub, which
// is worth keeping even when shutting down.
func hasRetryTime(err error) bool {
	at, _ := RetryAt(err)
	return !at.IsZero()
}

// retryTime says when to try again after err, and whether err is
// temporary. A time GitHub gave is kept even past the backoff, capped at
// MaxRetryAfter.
func (w *Worker) retryTime(c workerConfig, d Delivery, err error, now time.Time, log *slog.Logger) (time.Time, bool) {
	at, temporary := RetryAt(err)
	switch {
	case at.IsZero():
		return now.Add(c.backoff(d.Attempts)), temporary
	case at.Sub(now) > MaxRetryAfter:
		log.Warn("retry time too far ahead; capping it", "retry_at", at, "cap", MaxRetryAfter)
		return now.Add(MaxRetryAfter), temporary
	case at.Before(now.Add(c.backoff(0))):
		// A reset already past (clocks disagree) or due at once: wait at
		// least the first backoff, so a rate limit is not hammered.
		return now.Add(c.backoff(0)), temporary
	default:
		return at, temporary
	}
}

// process runs the Processor, turning a panic into an error so that one bad
// delivery cannot bring the worker down.
func (w *Worker) process(ctx context.Context, d Delivery, log *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("processing panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("processing panicked: %v", p)
		}
	}()
	return w.Processor.Process(ctx, d)
}
