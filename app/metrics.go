package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus collectors of the App, served at /metrics.
// Every part of the App records into one Metrics made by NewMetrics.
type Metrics struct {
	// WebhookRequests counts POST /webhooks/github by event and outcome
	// ("accepted", "duplicate", "ignored", "bad_signature", "too_large",
	// "bad_request", "store_error").
	WebhookRequests *prometheus.CounterVec
	// WebhookAckSeconds is the time from request to acknowledgement.
	WebhookAckSeconds prometheus.Histogram
	// Processed counts finished processing attempts by event and outcome
	// ("done", "retry", "dead").
	Processed *prometheus.CounterVec
	// ProcessSeconds is the time one processing attempt takes, by event.
	ProcessSeconds *prometheus.HistogramVec
	// GitHubCalls counts GitHub API requests by operation and status class
	// ("2xx", "304", "3xx" for the archive redirect, "4xx", "5xx", "error").
	GitHubCalls *prometheus.CounterVec
	// CheckRuns counts check runs by what happened ("created", "updated",
	// "replaced" when its annotations changed, "unchanged").
	CheckRuns *prometheus.CounterVec
	// Redeliveries counts deliveries backstory asked GitHub to send again.
	Redeliveries prometheus.Counter
	// Failures counts failed processing attempts by event and kind
	// ("temporary", "rate_limited", "rejected", "permanent", "lease_lost",
	// "error").
	Failures *prometheus.CounterVec
	// DeadLetters counts deliveries given up on (dead), by event.
	DeadLetters *prometheus.CounterVec
	// DeliveryLatency is the time from receiving a delivery to its being
	// done, retries included, by event.
	DeliveryLatency *prometheus.HistogramVec
	// RateLimitRemaining and RateLimitLimit are GitHub's last
	// X-RateLimit-Remaining and X-RateLimit-Limit, by installation and
	// resource ("core", "search", …).
	RateLimitRemaining *prometheus.GaugeVec
	RateLimitLimit     *prometheus.GaugeVec
	// SiteBuilds counts site builds by outcome ("built", "failed",
	// "skipped"); SiteBuildSeconds times them; SiteLastBuilt is the time
	// of each account's last good build (unix seconds).
	SiteBuilds       *prometheus.CounterVec
	SiteBuildSeconds prometheus.Histogram
	SiteLastBuilt    *prometheus.GaugeVec
	// SitePublishes counts publications by target ("pages") and outcome
	// ("published", "failed", "refused").
	SitePublishes *prometheus.CounterVec
}

// NewMetrics makes the App's collectors and registers them with reg (nil:
// not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		WebhookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backstory_webhook_requests_total",
			Help: "Webhook requests received, by event and outcome.",
		}, []string{"event", "outcome"}),
		WebhookAckSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "backstory_webhook_ack_seconds",
			Help:    "Time from receiving a webhook to acknowledging it (stored durably).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		Processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backstory_deliveries_processed_total",
			Help: "Delivery processing attempts, by event and outcome (done, retry, dead).",
		}, []string{"event", "outcome"}),
		ProcessSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "backstory_delivery_process_seconds",
			Help:    "Time one processing attempt of a delivery takes.",
			Buckets: prometheus.DefBuckets,
		}, []string{"event"}),
		GitHubCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backstory_github_requests_total",
			Help: "GitHub API requests, by operation and status class.",
		}, []string{"operation", "status"}),
		CheckRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backstory_check_runs_total",
			Help: "Check run writes, by what happened (created, updated, unchanged).",
		}, []string{"result"}),
		Redeliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backstory_redeliveries_requested_total",
			Help: "Failed deliveries backstory asked GitHub to send again.",
		}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backstory_delivery_failures_total",
			Help: "Failed processing attempts, by event and kind (temporary, rate_limited, rejected, permanent, lease_lost, error).",
		}, []string{"event", "kind"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backstory_dead_letters_total",
			Help: "Deliveries given up on (dead letters: see backstory deliveries list), by event.",
		}, []string{"event"}),
		DeliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "backstory_delivery_latency_seconds",
			Help:    "Time from receiving a delivery to its being done, retries included.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
		}, []string{"event"}),
		RateLimitRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "backstory_github_rate_limit_remaining",
			Help: "GitHub's X-RateLimit-Remaining as last seen, by installation and resource.",
		}, []string{"installation", "resource"}),
		RateLimitLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "backstory_github_rate_limit_limit",
			Help: "GitHub's X-RateLimit-Limit as last seen, by installation and resource.",
		}, []string{"installation", "resource"}),
		SiteBuilds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backstory_site_builds_total",
			Help: "Organisation site builds, by account and outcome (built, failed, skipped).",
		}, []string{"account", "outcome"}),
		SiteBuildSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "backstory_site_build_seconds",
			Help:    "Time an organisation site build takes, reading the records and publishing included.",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}),
		SiteLastBuilt: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "backstory_site_last_built_timestamp_seconds",
			Help: "When each organisation's site was last built successfully (unix seconds).",
		}, []string{"account"}),
		SitePublishes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backstory_site_publishes_total",
			Help: "Site publications, by target (pages) and outcome (published, failed, refused).",
		}, []string{"target", "outcome"}),
	}
	// Counters that alerts watch for an increase start at 0, so that the
	// first dead letter or refusal after a start is an increase too.
	for event := range HandledEvents {
		m.DeadLetters.WithLabelValues(event)
	}
	m.DeadLetters.WithLabelValues(EventBuild)
	m.DeadLetters.WithLabelValues(EventRecheck)
	for _, outcome := range []string{"published", "failed", "refused"} {
		m.SitePublishes.WithLabelValues("pages", outcome)
	}
	if reg != nil {
		reg.MustRegister(m.WebhookRequests, m.WebhookAckSeconds, m.Processed, m.ProcessSeconds, m.GitHubCalls, m.CheckRuns, m.Redeliveries,
			m.Failures, m.DeadLetters, m.DeliveryLatency, m.RateLimitRemaining, m.RateLimitLimit,
			m.SiteBuilds, m.SiteBuildSeconds, m.SiteLastBuilt, m.SitePublishes)
	}
	return m
}

// InboxCollector reports the inbox's depth and age when Prometheus scrapes:
// backstory_inbox_deliveries{state} and
// backstory_inbox_oldest_pending_age_seconds (0 when nothing is pending).
// A store that does not answer within the timeout is reported by
// backstory_inbox_up 0, never by stale figures.
type InboxCollector struct {
	Inbox   Inbox
	Timeout time.Duration // default 2s
	Now     func() time.Time

	deliveries *prometheus.Desc
	oldest     *prometheus.Desc
	up         *prometheus.Desc
}

// NewInboxCollector makes the collector of inbox.
func NewInboxCollector(inbox Inbox) *InboxCollector {
	return &InboxCollector{Inbox: inbox,
		deliveries: prometheus.NewDesc("backstory_inbox_deliveries", "Deliveries in the inbox, by state (pending, claimed, done, dead).", []string{"state"}, nil),
		oldest:     prometheus.NewDesc("backstory_inbox_oldest_pending_age_seconds", "Age of the oldest pending or claimed delivery (0: none).", nil, nil),
		up:         prometheus.NewDesc("backstory_inbox_up", "1 when the store answered the scrape's questions, 0 when it did not.", nil, nil),
	}
}

// Describe sends the collector's descriptions.
func (c *InboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.deliveries
	ch <- c.oldest
	ch <- c.up
}

// Collect asks the inbox.
func (c *InboxCollector) Collect(ch chan<- prometheus.Metric) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	counts, err := c.Inbox.Counts(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	oldest, err := c.Inbox.Deliveries(ctx, DeliveryFilter{States: []DeliveryState{StatePending, StateClaimed}, Limit: 1})
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, st := range []DeliveryState{StatePending, StateClaimed, StateDone, StateDead} {
		ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
	age := 0.0
	if len(oldest) > 0 {
		age = max(now().Sub(oldest[0].ReceivedAt).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}
