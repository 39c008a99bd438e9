package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github"
	"github.com/backstory-dev/backstory/app/github/githubtest"
	"github.com/backstory-dev/backstory/app/memory"
)

const (
	repoName     = "octo-org/hello"
	installation = 42
)

// harness is the App wired to a fake GitHub and an in-memory store.
type harness struct {
	t     testing.TB
	gh    *githubtest.Server
	store *memory.Store
	app   *app.App
	seq   atomic.Int64
}

const repoConfig = `check:
  mode: enforce
  rules:
    - name: payments need a decision
      paths: ["services/payments/**"]
      need: decision
records:
  paths: [docs/decisions]
`

const decisionKafka = `---
id: ADR-0001
title: Use Kafka for payment events
status: accepted
date: 2024-03-01
governs: ["services/payments/**"]
---
# Use Kafka for payment events

## Why

Payments must not be lost.
`

const decisionOld = `---
id: ADR-0002
title: Poll the ledger every minute
status: superseded
date: 2023-01-01
superseded_by: [ADR-0001]
governs: ["services/ledger/**"]
---
# Poll the ledger every minute

## Why

It was simple.
`

func newHarness(t testing.TB) *harness {
	t.Helper()
	fake := githubtest.New(t)
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
		"services/ledger/poll.go":            []byte("package ledger\n"),
		"README.md":                          []byte("# hello\n"),
		".github/pull_request_template.md":   []byte("## Why\n\n<!-- what problem does this solve? -->\n"),
	})
	gh, err := github.New(github.Options{AppID: fake.AppID, PrivateKey: fake.PrivateKeyPEM(), BaseURL: fake.URL(), HTTPClient: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	a, err := app.New(app.Options{GitHub: gh, Store: st, AppID: fake.AppID, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &harness{t: t, gh: fake, store: st, app: a}
}

// openPR pushes a branch changing files and opens a PR from it.
func (h *harness) openPR(branch, body string, files map[string][]byte) githubtest.PullRequest {
	h.t.Helper()
	h.gh.Branch(repoName, branch)
	sha := h.gh.Commit(repoName, branch, files)
	pr := githubtest.PullRequest{Title: "Change " + branch, Body: &body, User: "octocat", HeadRef: branch, HeadSHA: sha}
	pr.Number = h.gh.AddPullRequest(repoName, pr)
	return pr
}

// payload loads one of GitHub's example webhook payloads and points it at
// the harness's repository, installation and PR.
func payload(t testing.TB, event, file string, edit func(m map[string]any)) []byte {
	t.Helper()
	data, err := githubtest.Payload(event, file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["installation"] = map[string]any{"id": installation, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI="}
	if repo, ok := m["repository"].(map[string]any); ok {
		repo["full_name"], repo["name"], repo["default_branch"] = repoName, "hello", "main"
		// The example's id is not the fake's: say none (tests that need it
		// set githubtest's RepoID).
		delete(repo, "id")
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func setPR(m map[string]any, pr githubtest.PullRequest, body string) {
	p := m["pull_request"].(map[string]any)
	p["number"], p["body"], p["draft"], p["state"], p["labels"] = pr.Number, body, false, "open", []any{}
	p["user"] = map[string]any{"login": pr.User, "type": "User"}
	p["head"].(map[string]any)["sha"] = pr.HeadSHA
	p["head"].(map[string]any)["ref"] = pr.HeadRef
	base := p["base"].(map[string]any)
	base["ref"] = "main"
	base["repo"].(map[string]any)["full_name"] = repoName
	base["repo"].(map[string]any)["default_branch"] = "main"
}

// process runs one delivery through the App as the worker would.
func (h *harness) process(event string, body []byte) error {
	h.t.Helper()
	var m struct {
		Action string `json:"action"`
	}
	json.Unmarshal(body, &m)
	d := app.Delivery{ID: fmt.Sprintf("d-%d", h.seq.Add(1)), Event: event, Action: m.Action, InstallationID: installation,
		Repository: repoName, Payload: body, ReceivedAt: time.Now()}
	return h.app.Process(context.Background(), d)
}

func (h *harness) onlyRun() githubtest.CheckRun {
	h.t.Helper()
	runs := h.gh.CheckRuns(repoName)
	if len(runs) != 1 {
		h.t.Fatalf("want exactly one check run, have %d: %+v", len(runs), runs)
	}
	return runs[0]
}

const goodWhy = "## Why\n\nPayment events were lost when the consumer restarted, and finance had to reconcile by hand every week.\n\nDecision: ADR-0001\n"

func TestPullRequestGetsOneCheckRunThatFollowsTheBody(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR("fix-consumer", "Fixes the consumer.", map[string][]byte{
		"services/payments/consumer/main.go": []byte("package main\n\nfunc main() {}\n"),
	})
	opened := payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, pr, "Fixes the consumer.") })
	if err := h.process("pull_request", opened); err != nil {
		t.Fatal(err)
	}
	run := h.onlyRun()
	if run.Conclusion != "failure" || run.HeadSHA != pr.HeadSHA || run.Name != "backstory" {
		t.Fatalf("want a failing backstory run on %s, got %s %q on %s", pr.HeadSHA, run.Conclusion, run.Name, run.HeadSHA)
	}
	if len(run.Annotations) == 0 || run.Annotations[0].Path != "services/payments/consumer/main.go" ||
		!strings.Contains(run.Annotations[0].Message, "Use Kafka for payment events") {
		t.Errorf("want an annotation naming the governing decision on the touched file, got %+v", run.Annotations)
	}
	if len(run.Actions) != 1 || run.Actions[0].Identifier != "waive" {
		t.Errorf("want the Not needed button, got %+v", run.Actions)
	}

	// The same event again changes nothing on GitHub.
	writes := h.gh.CountCalls("checks/update") + h.gh.CountCalls("checks/create")
	if err := h.process("pull_request", opened); err != nil {
		t.Fatal(err)
	}
	if now := h.gh.CountCalls("checks/update") + h.gh.CountCalls("checks/create"); now != writes {
		t.Errorf("an unchanged verdict was written again: %d writes, want %d", now, writes)
	}

	// The author adds the why and links the decision: the same run passes.
	h.gh.UpdatePullRequest(repoName, pr.Number, func(p *githubtest.PullRequest) { body := goodWhy; p.Body = &body })
	edited := payload(t, "pull_request", "opened.payload.json", func(m map[string]any) {
		setPR(m, pr, goodWhy)
		m["action"] = "edited"
	})
	if err := h.process("pull_request", edited); err != nil {
		t.Fatal(err)
	}
	run = h.onlyRun()
	if run.Conclusion != "success" {
		t.Fatalf("after adding the why: conclusion %s, want success\n%s", run.Conclusion, run.Summary)
	}
	if n := len(run.Annotations); n != 1 {
		t.Errorf("unchanged annotations were sent again: %d on the run, want 1", n)
	}
}

func TestWarmEvaluationCostsFewCalls(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR("warm", goodWhy, map[string][]byte{"services/payments/consumer/main.go": []byte("package main // warm\n")})
	ev := payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, pr, goodWhy) })
	if err := h.process("pull_request", ev); err != nil {
		t.Fatal(err)
	}
	cold := len(h.gh.Calls())
	h.gh.ResetCalls()
	ev = payload(t, "pull_request", "opened.payload.json", func(m map[string]any) {
		setPR(m, pr, goodWhy+"\nMore words.")
		m["action"] = "edited"
	})
	if err := h.process("pull_request", ev); err != nil {
		t.Fatal(err)
	}
	warm := h.gh.Calls()
	if len(warm) > 1 {
		t.Errorf("a warm evaluation made %d calls, want 1 (the pull request, revalidated): %+v", len(warm), warm)
	}
	t.Logf("API calls per PR evaluation: cold %d, warm %d", cold, len(warm))
}

func TestWaiverNeedsWriteAccess(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR("nowhy", "", map[string][]byte{"services/payments/consumer/main.go": []byte("package main // x\n")})
	if err := h.process("pull_request", payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, pr, "") })); err != nil {
		t.Fatal(err)
	}
	run := h.onlyRun()
	press := func(who string) {
		ev := payload(t, "check_run", "requested_action.payload.json", func(m map[string]any) {
			cr := m["check_run"].(map[string]any)
			cr["id"], cr["name"], cr["head_sha"] = run.ID, "backstory", pr.HeadSHA
			cr["pull_requests"] = []any{map[string]any{"number": pr.Number}}
			cr["app"] = map[string]any{"id": h.gh.AppID}
			m["requested_action"] = map[string]any{"identifier": "waive"}
			m["sender"] = map[string]any{"login": who, "type": "User"}
		})
		if err := h.process("check_run", ev); err != nil {
			t.Fatal(err)
		}
	}
	h.gh.SetPermission(repoName, "reader", "read")
	press("reader")
	if run := h.onlyRun(); run.Conclusion != "failure" || !strings.Contains(run.Text+run.Summary, "only people with write access") {
		t.Fatalf("a reader's waiver: conclusion %s, want failure with a refusal note\n%s", run.Conclusion, run.Text)
	}
	h.gh.SetPermission(repoName, "maintainer", "maintain")
	press("maintainer")
	run = h.onlyRun()
	if run.Conclusion != "success" || !strings.Contains(run.Summary, "maintainer") {
		t.Fatalf("a maintainer's waiver: conclusion %s, want success naming who waived\n%s", run.Conclusion, run.Summary)
	}
}

func TestForkPullRequestIsFoundByHeadSHA(t *testing.T) {
	h := newHarness(t)
	h.gh.AddRepo("someone/hello", githubtest.RepoOptions{ForkOf: repoName})
	h.gh.Branch("someone/hello", "patch")
	sha := h.gh.Commit("someone/hello", "patch", map[string][]byte{"services/ledger/poll.go": []byte("package ledger // fork\n")})
	body := goodWhy
	n := h.gh.AddPullRequest(repoName, githubtest.PullRequest{Title: "From a fork", Body: &body, User: "someone", HeadRepo: "someone/hello", HeadRef: "patch", HeadSHA: sha})
	ev := payload(t, "check_suite", "requested.payload.json", func(m map[string]any) {
		cs := m["check_suite"].(map[string]any)
		cs["head_sha"], cs["pull_requests"] = sha, []any{}
	})
	if err := h.process("check_suite", ev); err != nil {
		t.Fatal(err)
	}
	run := h.onlyRun()
	if run.HeadSHA != sha {
		t.Fatalf("check run on %s, want the fork PR #%d's head %s", run.HeadSHA, n, sha)
	}
	found := false
	for _, a := range run.Annotations {
		if a.Path == "services/ledger/poll.go" && a.Level == "warning" {
			found = true
		}
	}
	if !found {
		t.Errorf("want a warning annotation: the ledger's governing decision is superseded; got %+v", run.Annotations)
	}
}

func TestMergeGroupPasses(t *testing.T) {
	h := newHarness(t)
	sha := h.gh.Commit(repoName, "gh-readonly-queue/main/pr-1", map[string][]byte{"x.txt": []byte("x")})
	ev := payload(t, "merge_group", "checks_requested.payload.json", func(m map[string]any) {
		m["merge_group"].(map[string]any)["head_sha"] = sha
	})
	if err := h.process("merge_group", ev); err != nil {
		t.Fatal(err)
	}
	if run := h.onlyRun(); run.Conclusion != "success" || run.HeadSHA != sha {
		t.Fatalf("merge group: %s on %s, want success on %s", run.Conclusion, run.HeadSHA, sha)
	}
}

func TestBrokenConfigIsReportedInTheCheck(t *testing.T) {
	h := newHarness(t)
	h.gh.Commit(repoName, "main", map[string][]byte{".github/backstory.yml": []byte("check:\n  mode: enforced\n  rules: 12\n")})
	pr := h.openPR("cfg", goodWhy, map[string][]byte{"README.md": []byte("# hello again\n")})
	if err := h.process("pull_request", payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, pr, goodWhy) })); err != nil {
		t.Fatal(err)
	}
	run := h.onlyRun()
	if run.Conclusion != "failure" || !strings.Contains(run.Summary, ".github/backstory.yml:2") {
		t.Fatalf("a broken config: %s, want failure naming .github/backstory.yml:2\n%s", run.Conclusion, run.Summary)
	}
}

func TestGitHubFailuresAreTemporary(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR("flaky", goodWhy, map[string][]byte{"README.md": []byte("# flaky\n")})
	ev := payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, pr, goodWhy) })
	h.gh.FailNext("checks/create", 1, githubtest.ServerError(502))
	err := h.process("pull_request", ev)
	if _, temporary := app.RetryAt(err); !temporary {
		t.Fatalf("a 502 from GitHub: got %v, want a temporary error", err)
	}
	h.gh.FailNext("checks/create", 1, githubtest.SecondaryRateLimited(time.Second))
	err = h.process("pull_request", ev)
	at, temporary := app.RetryAt(err)
	if !temporary || time.Until(at) < 500*time.Millisecond {
		t.Fatalf("a secondary rate limit: got %v (retry at %v), want a retry a second later", err, at)
	}
	time.Sleep(time.Until(at) + 50*time.Millisecond)
	if err := h.process("pull_request", ev); err != nil {
		t.Fatal(err)
	}
	if run := h.onlyRun(); run.Conclusion != "success" {
		t.Fatalf("after the faults: %s, want success", run.Conclusion)
	}
}

func TestNumberCollisionWithAnotherOpenPR(t *testing.T) {
	h := newHarness(t)
	rec := func(title string) []byte {
		return []byte("---\ntitle: " + title + "\nstatus: proposed\ndate: 2026-11-01\n---\n# " + title + "\n\n## Why\n\nBecause.\n")
	}
	first := h.openPR("first", goodWhy, map[string][]byte{"docs/decisions/0003-first.md": rec("First")})
	second := h.openPR("second", goodWhy, map[string][]byte{"docs/decisions/0003-second.md": rec("Second")})
	for _, pr := range []githubtest.PullRequest{first, second} {
		if err := h.process("pull_request", payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, pr, goodWhy) })); err != nil {
			t.Fatal(err)
		}
	}
	var secondRun githubtest.CheckRun
	for _, r := range h.gh.CheckRuns(repoName) {
		if r.HeadSHA == second.HeadSHA {
			secondRun = r
		}
	}
	if secondRun.Conclusion != "failure" || !strings.Contains(secondRun.Summary, "0004") {
		t.Fatalf("the second PR taking number 3: %s, want failure suggesting 0004\n%s", secondRun.Conclusion, secondRun.Summary)
	}
	// Closing the first PR frees the number.
	h.gh.UpdatePullRequest(repoName, first.Number, func(p *githubtest.PullRequest) { p.State = "closed" })
	closed := payload(t, "pull_request", "closed.payload.json", func(m map[string]any) {
		setPR(m, first, goodWhy)
		m["pull_request"].(map[string]any)["state"] = "closed"
	})
	if err := h.process("pull_request", closed); err != nil {
		t.Fatal(err)
	}
	recs, err := h.store.OpenPRRecords(context.Background(), repoName)
	if err != nil {
		t.Fatal(err)
	}
	if _, still := recs[first.Number]; still {
		t.Errorf("a closed PR still holds its record numbers: %+v", recs)
	}
	// The second PR, failing for the first's number, is checked again.
	queued, err := h.store.Claim(context.Background(), "test", 10, time.Now().Add(time.Hour), time.Minute)
	if err != nil || len(queued) != 1 || queued[0].Event != app.EventRecheck || queued[0].Key != repoName+"@"+second.HeadSHA {
		t.Fatalf("want one recheck of the second PR queued on its head, got %+v (%v)", queued, err)
	}
	if err := h.app.Process(context.Background(), queued[0]); err != nil {
		t.Fatal(err)
	}
	for _, r := range h.gh.CheckRuns(repoName) {
		if r.HeadSHA == second.HeadSHA && r.Conclusion != "success" {
			t.Errorf("after the first PR closed, the second is still %s\n%s", r.Conclusion, r.Summary)
		}
	}
}

func TestEventsWithoutAnInstallationAreIgnored(t *testing.T) {
	h := newHarness(t)
	body, err := githubtest.Payload("check_run", "created.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	d := app.Delivery{ID: "x", Event: "check_run", Action: "created", Payload: body}
	if err := h.app.Process(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if len(h.gh.Calls()) != 0 {
		t.Errorf("an event for no installation called GitHub: %+v", h.gh.Calls())
	}
	if err := h.app.Process(context.Background(), app.Delivery{ID: "y", Event: "pull_request", Payload: []byte("{")}); !app.IsPermanent(err) || errors.Is(err, app.ErrNotFound) {
		t.Errorf("a payload that is not JSON: got %v, want a permanent error", err)
	}
}

func TestRerunWritesTheCheckAgain(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR("rerun", goodWhy, map[string][]byte{"README.md": []byte("# rerun\n")})
	if err := h.process("pull_request", payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, pr, goodWhy) })); err != nil {
		t.Fatal(err)
	}
	run := h.onlyRun()
	for _, ev := range []struct{ event, file string }{{"check_run", "rerequested.payload.json"}, {"check_suite", "rerequested.payload.json"}} {
		before := h.gh.CountCalls("checks/update")
		body := payload(t, ev.event, ev.file, func(m map[string]any) {
			if cr, ok := m["check_run"].(map[string]any); ok {
				cr["id"], cr["name"], cr["head_sha"] = run.ID, "backstory", pr.HeadSHA
				cr["pull_requests"] = []any{map[string]any{"number": pr.Number}}
				cr["app"] = map[string]any{"id": h.gh.AppID}
			}
			if cs, ok := m["check_suite"].(map[string]any); ok {
				cs["head_sha"], cs["pull_requests"] = pr.HeadSHA, []any{map[string]any{"number": pr.Number}}
			}
		})
		if err := h.process(ev.event, body); err != nil {
			t.Fatal(err)
		}
		if h.gh.CountCalls("checks/update") != before+1 {
			t.Errorf("%s.rerequested: the check run was not written again", ev.event)
		}
	}
	h.onlyRun()
}

// BenchmarkEvaluationAPICalls reports the GitHub API requests one pull
// request evaluation makes, counted on the fake: cold (nothing cached),
// warm (the PR's body edited, verdict unchanged: the PR is read again,
// answered 304), warm with a new verdict (and the check run updated), and
// warm after the repository cache's ten minutes (the tree and the org
// defaults are asked for again, answered 304, and the verdict changes back).
func BenchmarkEvaluationAPICalls(b *testing.B) {
	for range b.N {
		h := newHarness(b)
		pr := h.openPR("bench", goodWhy, map[string][]byte{"services/payments/consumer/main.go": []byte("package main // bench\n")})
		send := func(body string) int {
			h.gh.UpdatePullRequest(repoName, pr.Number, func(p *githubtest.PullRequest) { p.Body = &body })
			h.gh.ResetCalls()
			ev := payload(b, "pull_request", "opened.payload.json", func(m map[string]any) {
				setPR(m, pr, body)
				m["action"] = "edited"
			})
			if err := h.process("pull_request", ev); err != nil {
				b.Fatal(err)
			}
			return len(h.gh.Calls())
		}
		b.ReportMetric(float64(send(goodWhy)), "calls/cold")
		b.ReportMetric(float64(send(goodWhy+"\nSame verdict.")), "calls/warm")
		b.ReportMetric(float64(send("No why at all.")), "calls/warm-changed")
		h.app.ExpireCache()
		b.ReportMetric(float64(send(goodWhy)), "calls/warm-revalidated")
	}
}

func TestStaleEventsDoNotOverwriteNewerState(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR("stale", "", map[string][]byte{"README.md": []byte("# stale\n")})
	// The PR's body no longer has a why; an old "opened" delivery (retried
	// or redelivered late) still carries one.
	old := payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, pr, goodWhy) })
	if err := h.process("pull_request", old); err != nil {
		t.Fatal(err)
	}
	if run := h.onlyRun(); run.Conclusion != "failure" {
		t.Fatalf("an old payload with a why decided the check: %s, want failure (the PR has no why now)", run.Conclusion)
	}
	// The branch moved on: an event for the old head writes nothing.
	newSHA := h.gh.Commit(repoName, pr.HeadRef, map[string][]byte{"README.md": []byte("# stale 2\n")})
	before := len(h.gh.CheckRuns(repoName))
	if err := h.process("pull_request", old); err != nil {
		t.Fatal(err)
	}
	for _, r := range h.gh.CheckRuns(repoName) {
		if r.HeadSHA == newSHA {
			t.Errorf("an event for the old head wrote a check on the new one")
		}
	}
	if after := len(h.gh.CheckRuns(repoName)); after != before {
		t.Errorf("an event for a head the PR no longer has wrote %d check runs", after-before)
	}
}

func TestChangedAnnotationsReplaceTheRun(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR("retitle", goodWhy, map[string][]byte{"services/payments/consumer/main.go": []byte("package main // retitle\n")})
	ev := payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, pr, goodWhy) })
	if err := h.process("pull_request", ev); err != nil {
		t.Fatal(err)
	}
	// The governing decision is retitled on main: the annotation's text
	// changes, and GitHub would append the new one to the old.
	h.gh.Commit(repoName, "main", map[string][]byte{"docs/decisions/0001-use-kafka.md": []byte(strings.Replace(decisionKafka, "Use Kafka for payment events", "Use Kafka for every payment event", 2))})
	h.app.ExpireCache()
	if err := h.process("pull_request", ev); err != nil {
		t.Fatal(err)
	}
	runs := h.gh.CheckRuns(repoName)
	latest := runs[len(runs)-1]
	if len(latest.Annotations) != 1 || !strings.Contains(latest.Annotations[0].Message, "every payment event") {
		t.Fatalf("the newest run should carry only the new annotation, got %+v", latest.Annotations)
	}
}

func TestARunCreatedButNotRecordedIsFoundNotDuplicated(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR("lost", "", map[string][]byte{"services/payments/consumer/main.go": []byte("package main // lost\n")})
	ev := payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, pr, "") })
	if err := h.process("pull_request", ev); err != nil {
		t.Fatal(err)
	}
	// The process died after GitHub created the run and before the store
	// recorded it: a new App on an empty store sees the same GitHub.
	gh, err := github.New(github.Options{AppID: h.gh.AppID, PrivateKey: h.gh.PrivateKeyPEM(), BaseURL: h.gh.URL(), HTTPClient: h.gh.Client()})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := app.New(app.Options{GitHub: gh, Store: memory.New(), AppID: h.gh.AppID, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	h.app = fresh
	h.gh.UpdatePullRequest(repoName, pr.Number, func(p *githubtest.PullRequest) { body := goodWhy; p.Body = &body })
	if err := h.process("pull_request", ev); err != nil {
		t.Fatal(err)
	}
	run := h.onlyRun()
	if run.Conclusion != "success" || len(run.Annotations) != 1 {
		t.Fatalf("want the one run updated to success with its one annotation, got %s with %d annotations", run.Conclusion, len(run.Annotations))
	}
}

func TestReferencesIntoOtherRepositoriesAreChecked(t *testing.T) {
	h := newHarness(t)
	h.gh.AddRepo("octo-org/platform", githubtest.RepoOptions{})
	h.gh.AddInstallation(installation, "octo-org", repoName, "octo-org/.github", "octo-org/platform")
	h.gh.Commit("octo-org/platform", "main", map[string][]byte{
		"docs/adr/0007-shared-vpc.md": []byte("# 7. Share one VPC\n\nDate: 2024-01-01\n\n## Status\n\nAccepted\n\n## Context\n\nCost.\n"),
	})
	body := "## Why\n\nPayments move into the shared network so that the platform team can patch it once for everyone.\n\nDecision: octo-org/platform#ADR-7\n"
	pr := h.openPR("vpc", body, map[string][]byte{"services/payments/consumer/main.go": []byte("package main // vpc\n")})
	if err := h.process("pull_request", payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, pr, body) })); err != nil {
		t.Fatal(err)
	}
	if run := h.onlyRun(); run.Conclusion != "success" {
		t.Fatalf("a decision linked in another repository: %s, want success\n%s", run.Conclusion, run.Summary)
	}
	bad := strings.Replace(body, "ADR-7", "ADR-70", 1)
	h.gh.UpdatePullRequest(repoName, pr.Number, func(p *githubtest.PullRequest) { p.Body = &bad })
	if err := h.process("pull_request", payload(t, "pull_request", "opened.payload.json", func(m map[string]any) { setPR(m, pr, bad) })); err != nil {
		t.Fatal(err)
	}
	if run := h.onlyRun(); run.Conclusion != "failure" || !strings.Contains(run.Summary, "ADR-70") {
		t.Fatalf("a reference to a record missing from another repository: %s, want failure naming it\n%s", run.Conclusion, run.Summary)
	}
}
