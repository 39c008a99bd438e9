package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github"
	"github.com/backstory-dev/backstory/app/github/githubtest"
	"github.com/backstory-dev/backstory/app/memory"
)

// fuzzEvents are the events FuzzProcess delivers: every event the App
// handles, and the two it puts in its own inbox.
var fuzzEvents = func() []string {
	events := []string{app.EventBuild, app.EventRecheck}
	for e := range app.HandledEvents {
		events = append(events, e)
	}
	sort.Strings(events)
	return events
}()

// fuzzEpoch is when the fuzzers' repositories were committed.
var fuzzEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// fuzzTimeout bounds one delivery: Process gets a context that ends after
// it, and must have returned a little after that.
const fuzzTimeout = 5 * time.Second

// newFuzzHarness is newHarness for a fuzzer: the fake GitHub logs nothing
// and has no rate limit (a fuzzer makes millions of requests), the App keeps
// a site, and the repository has an open pull request changing a governed
// file and adding a record, and a merged one. The commits are dated
// fuzzEpoch, so that their shas, which the seeds name, are the same in the
// fuzzing process that adds the seeds and in the workers that run them.
func newFuzzHarness(tb testing.TB) (h *harness, open, merged githubtest.PullRequest) {
	tb.Helper()
	var settingUp atomic.Bool
	settingUp.Store(true)
	clock := func() time.Time {
		if settingUp.Load() {
			return fuzzEpoch
		}
		return time.Now()
	}
	defer settingUp.Store(false)
	fake := githubtest.New(tb, githubtest.WithRateLimit(1<<40), githubtest.WithLogf(func(string, ...any) {}), githubtest.WithNow(clock))
	fake.AddRepo(repoName, githubtest.RepoOptions{})
	fake.AddRepo("octo-org/.github", githubtest.RepoOptions{})
	fake.AddInstallation(installation, "octo-org", repoName, "octo-org/.github")
	fake.Commit("octo-org/.github", "main", map[string][]byte{
		".github/backstory.yml": []byte("check:\n  intent:\n    min_words: 5\n"),
	})
	fake.Commit(repoName, "main", map[string][]byte{
		".github/backstory.yml":              []byte(repoConfig),
		"docs/decisions/0001-use-kafka.md":   []byte(decisionKafka),
		"docs/decisions/0002-poll-ledger.md": []byte(decisionOld),
		"services/payments/consumer/main.go": []byte("package main\n"),
		"README.md":                          []byte("# hello\n"),
		".github/pull_request_template.md":   []byte("## Why\n\n<!-- what problem does this solve? -->\n"),
	})
	gh, err := github.New(github.Options{AppID: fake.AppID, PrivateKey: fake.PrivateKeyPEM(), BaseURL: fake.URL(), HTTPClient: fake.Client()})
	if err != nil {
		tb.Fatal(err)
	}
	st := memory.New()
	a, err := app.New(app.Options{GitHub: gh, Store: st, AppID: fake.AppID, CacheDir: tb.TempDir(),
		Sites: app.SiteOptions{Build: (&fakeBuild{}).build, Dir: tb.TempDir()}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	h = &harness{t: tb, gh: fake, store: st, app: a}
	open = h.openPR("fuzz-open", goodWhy, map[string][]byte{
		"services/payments/consumer/main.go": []byte("package main\n\nfunc main() {}\n"),
		"docs/decisions/0003-retry.md":       []byte("# 3. Retry payments\n\n## Status\n\nProposed\n\n## Context\n\nSlow banks.\n"),
	})
	merged = h.openPR("fuzz-merged", goodWhy, map[string][]byte{"README.md": []byte("# hello, again\n")})
	fake.UpdatePullRequest(repoName, merged.Number, func(p *githubtest.PullRequest) { p.State, p.Merged = "closed", true })
	return h, open, merged
}

// fuzzSeeds returns, for each event, GitHub's example payloads as they are
// and pointed at the harness's installation, repository and pull requests.
func fuzzSeeds(tb testing.TB, h *harness, open, merged githubtest.PullRequest) map[string][][]byte {
	tb.Helper()
	files, err := githubtest.Payloads()
	if err != nil {
		tb.Fatal(err)
	}
	seeds := map[string][][]byte{}
	for _, p := range files {
		if !app.HandledEvents[p.Event] {
			continue
		}
		seeds[p.Event] = append(seeds[p.Event], p.Body)
		pr := open
		if p.Name == "closed.payload.json" {
			pr = merged
		}
		seeds[p.Event] = append(seeds[p.Event], payload(tb, p.Event, p.Name, func(m map[string]any) {
			pointAt(m, h, pr)
		}))
	}
	for _, pr := range []githubtest.PullRequest{open, merged} {
		recheck := fmt.Sprintf(`{"installation":{"id":%d},"repository":{"full_name":%q},"pull_request_number":%d,"head_sha":%q,"reason":"fuzz"}`,
			installation, repoName, pr.Number, pr.HeadSHA)
		seeds[app.EventRecheck] = append(seeds[app.EventRecheck], []byte(recheck))
	}
	seeds[app.EventBuild] = append(seeds[app.EventBuild],
		[]byte(fmt.Sprintf(`{"installation":{"id":%d},"account":"octo-org","reason":"fuzz"}`, installation)),
		[]byte(fmt.Sprintf(`{"installation":{"id":%d},"account":"octo-org","reason":"resync","full":true}`, installation)))
	for _, e := range fuzzEvents {
		seeds[e] = append(seeds[e], []byte(`{}`), []byte(`[]`), []byte(`null`), []byte(`{"installation":{"id":"42"}}`), []byte("{"))
	}
	return seeds
}

// pointAt edits a payload to name pr of the harness wherever it names a
// pull request, a head commit or an App.
func pointAt(m map[string]any, h *harness, pr githubtest.PullRequest) {
	if p, ok := m["pull_request"].(map[string]any); ok {
		setPR(m, pr, goodWhy)
		p["merged"] = pr.Merged
	}
	links := []any{map[string]any{"number": pr.Number}}
	if s, ok := m["check_suite"].(map[string]any); ok {
		s["head_sha"], s["pull_requests"] = pr.HeadSHA, links
	}
	if r, ok := m["check_run"].(map[string]any); ok {
		r["head_sha"], r["pull_requests"] = pr.HeadSHA, links
		r["app"] = map[string]any{"id": h.gh.AppID}
	}
	if g, ok := m["merge_group"].(map[string]any); ok {
		g["head_sha"], g["base_ref"] = pr.HeadSHA, "refs/heads/main"
	}
	if _, ok := m["commits"]; ok {
		m["ref"] = "refs/heads/main"
		m["commits"] = []any{map[string]any{"added": []any{"docs/decisions/0003-retry.md"}, "modified": []any{}, "removed": []any{}}}
	}
	if i, ok := m["installation"].(map[string]any); ok {
		i["account"] = map[string]any{"login": "octo-org", "type": "Organization"}
	}
}

// FuzzProcess delivers fuzzed payloads of every event the App handles to
// an App on the fake GitHub. Whatever the payload, Process must return in
// time, a payload that is not JSON must be a permanent error (retrying
// cannot fix it), and nothing the App sends may be refused by GitHub's API
// description.
func FuzzProcess(f *testing.F) {
	h, open, merged := newFuzzHarness(f)
	seeds := fuzzSeeds(f, h, open, merged)
	for i, e := range fuzzEvents {
		for _, body := range seeds[e] {
			f.Add(uint8(i), body)
		}
	}
	f.Fuzz(func(t *testing.T, event uint8, body []byte) {
		d := app.Delivery{ID: fmt.Sprintf("fuzz-%d", h.seq.Add(1)), Event: fuzzEvents[int(event)%len(fuzzEvents)],
			InstallationID: installation, Repository: repoName, Payload: body, ReceivedAt: time.Now()}
		var m struct {
			Action string `json:"action"`
		}
		if json.Unmarshal(body, &m) == nil {
			d.Action = m.Action
		}
		violations := len(h.gh.Violations())
		ctx, cancel := context.WithTimeout(context.Background(), fuzzTimeout)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- h.app.Process(ctx, d) }()
		var err error
		select {
		case err = <-done:
		case <-time.After(2 * fuzzTimeout):
			t.Fatalf("%s: Process has not returned after %v", d.Event, 2*fuzzTimeout)
		}
		if !json.Valid(body) && !app.IsPermanent(err) {
			t.Fatalf("%s: a payload that is not JSON gave %v, want a permanent error", d.Event, err)
		}
		for _, v := range h.gh.Violations()[violations:] {
			// A payload naming a commit GitHub does not have is one GitHub
			// never sends: what the App asks about it is refused, rightly.
			if !strings.HasPrefix(v.Message, "No commit found for SHA") {
				t.Fatalf("%s: GitHub would refuse what the App sent: %v", d.Event, v)
			}
		}
		h.gh.ResetCalls() // the fake keeps every call: a fuzzer makes millions
	})
}
