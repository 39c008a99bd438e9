package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Redeliverer recovers the deliveries GitHub could not hand over. GitHub
// never retries a failed delivery by itself (a timeout, a 5xx while the
// store was down, the App not running): on start and then periodically the
// Redeliverer lists the App's recent deliveries and asks GitHub to send
// again every one that failed and that the inbox does not hold.
type Redeliverer struct {
	GitHub GitHub
	Inbox  Inbox
	// Interval between sweeps; default 5 minutes.
	Interval time.Duration
	// Window is how far back a sweep looks; default 72 hours, about what
	// GitHub keeps.
	Window time.Duration
	// MaxAttempts is how many failed deliveries of one GUID are tolerated
	// before backstory stops asking again (the failure is then not
	// transient); default 5.
	MaxAttempts int
	Log         *slog.Logger
	Metrics     *Metrics
	Now         func() time.Time
}

// SweepResult says what one sweep found and did.
type SweepResult struct {
	Listed      int // deliveries listed
	Failed      int // GUIDs with no successful attempt
	Redelivered int // redeliveries requested
	GivenUp     int // GUIDs that failed MaxAttempts times
}

// Sweep lists the recent deliveries once and redelivers the failed ones.
func (r *Redeliverer) Sweep(ctx context.Context) (SweepResult, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	window := r.Window
	if window <= 0 {
		window = 72 * time.Hour
	}
	maxAttempts := r.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 5
	}
	var res SweepResult
	list, err := r.GitHub.HookDeliveries(ctx, now().Add(-window))
	if err != nil {
		return res, fmt.Errorf("list the App's webhook deliveries: %w", err)
	}
	res.Listed = len(list)
	type guidState struct {
		ok       bool
		attempts int
		latest   HookDelivery
	}
	byGUID := map[string]*guidState{}
	var order []string
	for _, d := range list {
		g, seen := byGUID[d.GUID]
		if !seen {
			g = &guidState{}
			byGUID[d.GUID] = g
			order = append(order, d.GUID)
		}
		g.attempts++
		if d.StatusCode >= 200 && d.StatusCode < 300 {
			g.ok = true
		}
		if g.latest.ID == 0 || d.DeliveredAt.After(g.latest.DeliveredAt) {
			g.latest = d
		}
	}
	var failed []string
	for _, guid := range order {
		if g := byGUID[guid]; !g.ok && worthRedelivering(g.latest.StatusCode) {
			failed = append(failed, guid)
		}
	}
	res.Failed = len(failed)
	if len(failed) == 0 {
		return res, nil
	}
	known, err := r.Inbox.Known(ctx, failed)
	if err != nil {
		return res, fmt.Errorf("look up failed deliveries in the inbox: %w", err)
	}
	for _, guid := range failed {
		g := byGUID[guid]
		if known[guid] {
			// GitHub saw a failure, but the delivery was stored: it was
			// acknowledged late, or a redelivery already arrived.
			continue
		}
		if g.attempts >= maxAttempts {
			res.GivenUp++
			r.log().Warn("delivery keeps failing: not asking GitHub again", "delivery", guid, "event", g.latest.Event, "attempts", g.attempts, "status", g.latest.Status)
			continue
		}
		if err := r.GitHub.Redeliver(ctx, g.latest.ID); err != nil {
			return res, fmt.Errorf("redeliver %s (attempt %d): %w", guid, g.latest.ID, err)
		}
		res.Redelivered++
		if r.Metrics != nil {
			r.Metrics.Redeliveries.Inc()
		}
		r.log().Info("asked GitHub to redeliver a failed delivery", "delivery", guid, "event", g.latest.Event, "status", g.latest.Status)
	}
	return res, nil
}

// worthRedelivering says whether a delivery that failed with status code
// (0: no answer, a timeout) may succeed when sent again: a 5xx, a timeout
// or a rate limit may pass, and a 401 passes once the secret is fixed; a
// 400, 413 or 415 never will.
func worthRedelivering(code int) bool {
	return code == 0 || code >= 500 || code == 401 || code == 408 || code == 429
}

// Run sweeps now and then every Interval until ctx is done. A failed sweep
// is logged and tried again at the next interval.
func (r *Redeliverer) Run(ctx context.Context) {
	interval := r.Interval
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	for {
		if res, err := r.Sweep(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log().Warn("redelivery sweep failed", "err", err)
		} else if res.Redelivered > 0 || res.GivenUp > 0 {
			r.log().Info("redelivery sweep", "listed", res.Listed, "failed", res.Failed, "redelivered", res.Redelivered, "given_up", res.GivenUp)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

func (r *Redeliverer) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}
