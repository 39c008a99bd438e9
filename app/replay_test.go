package app_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github/githubtest"
)

// deliver stores a delivery in the harness's inbox as the webhook endpoint
// would, and returns its id.
func (h *harness) deliver(event, action string, body []byte) string {
	h.t.Helper()
	id := fmt.Sprintf("replay-%d", h.seq.Add(1))
	d := app.Delivery{ID: id, Event: event, Action: action, InstallationID: installation, Repository: repoName,
		Payload: body, ReceivedAt: time.Now()}
	if _, err := h.store.Enqueue(context.Background(), d); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// drain processes every due delivery of the inbox as a worker would, until
// none is left, and returns how many it processed.
func (h *harness) drain() int {
	h.t.Helper()
	ctx := context.Background()
	n := 0
	for {
		ds, err := h.store.Claim(ctx, "replay-test", 10, time.Now(), time.Minute)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(ds) == 0 {
			return n
		}
		for _, d := range ds {
			if err := h.app.Process(ctx, d); err != nil {
				h.t.Fatalf("processing %s (%s.%s): %v", d.ID, d.Event, d.Action, err)
			}
			if err := h.store.Complete(ctx, d.ID, "replay-test", time.Now()); err != nil {
				h.t.Fatal(err)
			}
			n++
		}
	}
}

// replayState is what a replay could change: the check runs on GitHub,
// how many writes made them, and the stored intents.
type replayState struct {
	Runs    []githubtest.CheckRun
	Writes  int
	Intents []app.Intent
}

func (h *harness) replayState() replayState {
	h.t.Helper()
	intents, err := h.store.Intents(context.Background(), []string{repoName})
	if err != nil {
		h.t.Fatal(err)
	}
	return replayState{Runs: h.gh.CheckRuns(repoName), Writes: h.gh.CountCalls("checks/create") + h.gh.CountCalls("checks/update"),
		Intents: intents}
}

func TestReplayTwiceChangesNothingMore(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()

	// An open PR whose check fails, and a PR with a why that merges.
	open := h.openPR("fix-consumer", "Fixes the consumer.", map[string][]byte{
		"services/payments/consumer/main.go": []byte("package main\n\nfunc main() {}\n"),
	})
	merged := h.openPR("merge-me", goodWhy, map[string][]byte{"services/payments/consumer/main.go": []byte("package main // merged\n")})
	ids := []string{
		h.deliver("pull_request", "opened", payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, open, "Fixes the consumer.") })),
		h.deliver("pull_request", "opened", payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, merged, goodWhy) })),
	}
	if n := h.drain(); n != 2 {
		t.Fatalf("processed %d deliveries, want 2", n)
	}
	h.gh.UpdatePullRequest(repoName, merged.Number, func(p *githubtest.PullRequest) { p.State, p.Merged = "closed", true })
	ids = append(ids, h.deliver("pull_request", "closed", payload(t, "pull_request", "closed.payload.json", func(m map[string]any) {
		setPR(m, merged, goodWhy)
		m["pull_request"].(map[string]any)["state"] = "closed"
		m["pull_request"].(map[string]any)["merged"] = true
	})))
	if n := h.drain(); n != 1 {
		t.Fatalf("processed %d deliveries, want 1", n)
	}

	before := h.replayState()
	if len(before.Runs) != 2 || len(before.Intents) != 1 || before.Intents[0].PR != merged.Number {
		t.Fatalf("before replaying: %d check runs and intents %+v, want a run per PR and the merged PR's intent", len(before.Runs), before.Intents)
	}
	for _, r := range before.Runs {
		if r.HeadSHA == open.HeadSHA && r.Conclusion != "failure" {
			t.Fatalf("the open PR's check is %s, want failure", r.Conclusion)
		}
	}

	for replay := 1; replay <= 2; replay++ {
		requeued, err := h.store.Requeue(ctx, ids, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(requeued) != len(ids) {
			t.Fatalf("replay %d requeued %v, want every one of %v", replay, requeued, ids)
		}
		if n := h.drain(); n != len(ids) {
			t.Fatalf("replay %d processed %d deliveries, want %d", replay, n, len(ids))
		}
		after := h.replayState()
		if !reflect.DeepEqual(after.Runs, before.Runs) {
			t.Errorf("replay %d changed the check runs:\n got %+v\nwant %+v", replay, after.Runs, before.Runs)
		}
		if after.Writes != before.Writes {
			t.Errorf("replay %d wrote check runs again: %d writes, was %d", replay, after.Writes, before.Writes)
		}
		if !reflect.DeepEqual(after.Intents, before.Intents) {
			t.Errorf("replay %d changed the intents:\n got %+v\nwant %+v", replay, after.Intents, before.Intents)
		}
	}
	for _, id := range ids {
		d, err := h.store.Delivery(ctx, id)
		if err != nil || d.State != app.StateDone {
			t.Errorf("after replaying, %s is %s (%v), want done", id, d.State, err)
		}
	}
}
