package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github"
	"github.com/backstory-dev/backstory/app/github/githubtest"
	"github.com/backstory-dev/backstory/app/memory"
)

func TestRedeliverySweepAsksAgainForWhatFailed(t *testing.T) {
	fake := githubtest.New(t)
	gh, err := github.New(github.Options{AppID: fake.AppID, PrivateKey: fake.PrivateKeyPEM(), BaseURL: fake.URL(), HTTPClient: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	now := fake.Now()
	add := func(guid string, code int, ago time.Duration) int64 {
		return fake.AddHookDelivery(githubtest.HookDelivery{GUID: guid, Event: "pull_request", Action: "opened",
			StatusCode: code, Status: "status", DeliveredAt: now.Add(-ago)})
	}
	add("ok", 202, time.Hour)
	timedOut := add("timed-out", 0, time.Hour)
	add("bad-gateway", 502, 2*time.Hour)
	retried := add("bad-gateway", 503, time.Hour) // the latest attempt is the one redelivered
	add("recovered", 503, 3*time.Hour)
	add("recovered", 202, 2*time.Hour)
	add("stored", 502, time.Hour)
	add("bad-request", 400, time.Hour)
	for range 5 {
		add("hopeless", 500, time.Hour)
	}
	add("too-old", 500, 100*time.Hour)
	if _, err := st.Enqueue(context.Background(), app.Delivery{ID: "stored", Event: "pull_request", Payload: []byte("{}"), ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	r := &app.Redeliverer{GitHub: gh, Inbox: st, Now: fake.Now}
	res, err := r.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]bool{}
	for _, id := range fake.Redeliveries() {
		got[id] = true
	}
	if len(got) != 2 || !got[timedOut] || !got[retried] {
		t.Errorf("redelivered %v, want the timed-out delivery %d and the latest bad-gateway attempt %d", fake.Redeliveries(), timedOut, retried)
	}
	if res.Redelivered != 2 || res.GivenUp != 1 {
		t.Errorf("sweep result %+v, want 2 redelivered and 1 given up", res)
	}
}
