package app

import (
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
	}
	if reg != nil {
		reg.MustRegister(m.WebhookRequests, m.WebhookAckSeconds, m.Processed, m.ProcessSeconds, m.GitHubCalls, m.CheckRuns, m.Redeliveries)
	}
	return m
}
