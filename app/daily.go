package app

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Daily asks, once a day, for a build of every installation's site: review
// dates pass without any push, so the site's "due for review" lists, the
// review issues (reviews.open_issues) and the daily revalidation of stored
// repository files (docs/decisions/0017) follow the calendar. Each day's
// build has a delivery id naming the day, so several replicas, or a
// restart, never ask twice.
type Daily struct {
	App    *App
	GitHub GitHub
	// Interval is how often it looks (default 1h): a build per
	// installation per UTC day, soon after midnight or after a start.
	Interval time.Duration
	Log      *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Run sweeps at once and then every Interval until ctx is done.
func (d *Daily) Run(ctx context.Context) {
	interval := d.Interval
	if interval <= 0 {
		interval = time.Hour
	}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := d.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Warn("daily builds: could not list the App's installations; trying again later", "err", err, "in", interval)
		} else if n > 0 {
			log.Debug("daily builds asked for", "installations", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep asks for today's build of every installation that is not
// suspended and returns how many it asked for (already asked ones
// included).
func (d *Daily) Sweep(ctx context.Context) (int, error) {
	if d.App.sites.Build == nil {
		return 0, nil
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	installations, err := d.GitHub.Installations(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, in := range installations {
		if in.Suspended || in.ID == 0 || in.Account == "" {
			continue
		}
		if err := d.App.requestDailyBuild(ctx, in.ID, in.Account, now()); err != nil {
			// The others still get their build.
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
