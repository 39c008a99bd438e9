package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// DefaultRetention is how long `backstory serve` keeps done deliveries
// unless store.retention says otherwise: long enough to replay a month.
const DefaultRetention = 30 * 24 * time.Hour

// Pruner keeps the inbox from growing without end: it deletes the done
// deliveries older than Retention, once at start and then every Interval.
// Pending, claimed and dead deliveries are never pruned (Inbox.Prune), so a
// dead letter waits for an operator however old it is. Several replicas
// may each run a Pruner on one store: pruning twice deletes nothing more.
type Pruner struct {
	Inbox Inbox
	// Retention is how long a delivery is kept after it is done; 0 (or
	// less) keeps every delivery forever.
	Retention time.Duration
	// Interval between sweeps; default one hour.
	Interval time.Duration
	Log      *slog.Logger
	Now      func() time.Time
}

// Sweep deletes once the done deliveries older than Retention, and returns
// how many.
func (p *Pruner) Sweep(ctx context.Context) (int, error) {
	if p.Retention <= 0 {
		return 0, nil
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	before := now().Add(-p.Retention)
	n, err := p.Inbox.Prune(ctx, before)
	if err != nil {
		return n, fmt.Errorf("prune the deliveries done before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

// Run sweeps now and then every Interval until ctx is done; with no
// Retention it returns at once. A failed sweep is logged and tried again
// at the next interval.
func (p *Pruner) Run(ctx context.Context) {
	if p.Retention <= 0 {
		p.log().Info("done deliveries are kept forever (store.retention is 0)")
		return
	}
	interval := p.Interval
	if interval <= 0 {
		interval = time.Hour
	}
	for {
		n, err := p.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			p.log().Warn("pruning the inbox failed; trying again at the next interval", "err", err, "interval", interval)
		case n > 0:
			p.log().Info("pruned done deliveries", "deleted", n, "retention", p.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

func (p *Pruner) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}
