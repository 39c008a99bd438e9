package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/memory"
)

// gathered returns the value of the sample of name whose labels include
// want, and whether there is one.
func gathered(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metrics
				}
			}
			return value(m), true
		}
	}
	return 0, false
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func TestInboxCollectorReportsDepthAndAge(t *testing.T) {
	st := memory.New()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for _, d := range []app.Delivery{
		{ID: "old", Event: "push", Payload: []byte("{}"), ReceivedAt: now.Add(-20 * time.Minute)},
		{ID: "new", Event: "push", Payload: []byte("{}"), ReceivedAt: now.Add(-time.Minute)},
		{ID: "bad", Event: "push", Payload: []byte("{}"), ReceivedAt: now.Add(-time.Hour)},
	} {
		if _, err := st.Enqueue(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	// "bad" becomes a dead letter.
	ds, _ := st.Claim(ctx, "w", 1, now, time.Minute)
	if len(ds) != 1 || ds[0].ID != "bad" {
		t.Fatalf("claimed %v", ds)
	}
	st.Bury(ctx, "bad", "w", now, "broken")

	reg := prometheus.NewRegistry()
	c := app.NewInboxCollector(st)
	c.Now = func() time.Time { return now }
	reg.MustRegister(c)
	for state, want := range map[string]float64{"pending": 2, "dead": 1, "claimed": 0, "done": 0} {
		if got, ok := gathered(t, reg, "backstory_inbox_deliveries", map[string]string{"state": state}); !ok || got != want {
			t.Errorf("inbox deliveries %s = %v (%v), want %v", state, got, ok, want)
		}
	}
	if got, _ := gathered(t, reg, "backstory_inbox_oldest_pending_age_seconds", nil); got != 20*60 {
		t.Errorf("oldest pending age %vs, want 1200s (the dead letter does not count)", got)
	}
	if got, _ := gathered(t, reg, "backstory_inbox_up", nil); got != 1 {
		t.Errorf("inbox up = %v", got)
	}

	st.Close()
	if got, _ := gathered(t, reg, "backstory_inbox_up", nil); got != 0 {
		t.Errorf("inbox up = %v with the store closed, want 0", got)
	}
	if _, ok := gathered(t, reg, "backstory_inbox_deliveries", map[string]string{"state": "pending"}); ok {
		t.Error("depth reported though the store did not answer")
	}
}

func TestWorkerCountsFailuresByKindAndDeadLetters(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics := app.NewMetrics(reg)
	f := newFixture(func(ctx context.Context, d app.Delivery) error {
		switch d.ID {
		case "limited":
			return &app.TemporaryError{Err: errors.New("rate limited"), At: time.Now().Add(time.Minute)}
		case "refused":
			return app.Permanent(errors.New("not a pull request"))
		}
		return nil
	})
	f.worker.Metrics = metrics
	for _, id := range []string{"limited", "refused", "fine"} {
		f.enqueue(t, id, id, f.clock.Now().Add(-time.Second))
	}
	f.start(t)
	f.worker.Notify()
	f.waitState(t, "refused", app.StateDead, 1)
	f.waitState(t, "fine", app.StateDone, 0)
	f.waitState(t, "limited", app.StatePending, 1)
	for kind, want := range map[string]float64{"rate_limited": 1, "permanent": 1} {
		if got, _ := gathered(t, reg, "backstory_delivery_failures_total", map[string]string{"kind": kind}); got != want {
			t.Errorf("failures of kind %s = %v, want %v", kind, got, want)
		}
	}
	if got, _ := gathered(t, reg, "backstory_dead_letters_total", map[string]string{"event": "pull_request"}); got != 1 {
		t.Errorf("dead letters = %v, want 1", got)
	}
	if got, ok := gathered(t, reg, "backstory_delivery_latency_seconds", nil); !ok || got != 1 {
		t.Errorf("delivery latency samples = %v, want 1 (the one done)", got)
	}
}

func TestAlertedCountersStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	app.NewMetrics(reg)
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{
		{"backstory_dead_letters_total", map[string]string{"event": "pull_request"}},
		{"backstory_dead_letters_total", map[string]string{"event": app.EventBuild}},
		{"backstory_site_publishes_total", map[string]string{"target": "pages", "outcome": "refused"}},
	} {
		if v, ok := gathered(t, reg, c.name, c.labels); !ok || v != 0 {
			t.Errorf("%s%v = %v (present %v), want 0 from the start so that the first one is an increase", c.name, c.labels, v, ok)
		}
	}
}
