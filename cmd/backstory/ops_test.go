package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github/githubtest"
	"github.com/backstory-dev/backstory/app/store"
)

// ops is a SQLite store and a fake GitHub with the App installed on
// octo-org, and a config file pointing at both, as an operator of
// `backstory serve` has them.
type ops struct {
	t      *testing.T
	gh     *githubtest.Server
	st     app.Store
	config string
	dir    string
}

func newOps(t *testing.T) *ops {
	t.Helper()
	gh := githubtest.New(t)
	gh.AddRepo(e2eRepo, githubtest.RepoOptions{})
	gh.AddInstallation(7, "octo-org", e2eRepo)
	gh.Commit(e2eRepo, "main", map[string][]byte{"src/main.go": []byte("package main\n")})
	dir := t.TempDir()
	key := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(key, gh.PrivateKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &ops{t: t, gh: gh, dir: dir, config: filepath.Join(dir, "backstory.yml")}
	o.writeConfig(fmt.Sprintf("github:\n  app_id: %d\n  private_key_path: %s\n  api_url: %s\nstore:\n  url: %s\nsite:\n  dir: %s\n",
		gh.AppID, key, gh.URL(), filepath.Join(dir, "backstory.db"), filepath.Join(dir, "sites")))
	st, err := store.Open(context.Background(), filepath.Join(dir, "backstory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o.st = st
	return o
}

func (o *ops) writeConfig(body string) {
	o.t.Helper()
	if err := os.WriteFile(o.config, []byte(body), 0o600); err != nil {
		o.t.Fatal(err)
	}
}

// run runs one backstory command with the fixture's config; the store
// stays open meanwhile, as serve's would.
func (o *ops) run(args ...string) (stdout, stderr string, code int) {
	o.t.Helper()
	return cliRun(o.t, append(args, "--config", o.config)...)
}

// put stores a delivery received ago before now and brings it to state
// (claimed: held by a worker for an hour). Deliveries must be put with
// every pending one last: each is claimed as the only one due.
func (o *ops) put(id, event, action, repo string, ago time.Duration, state app.DeliveryState, lastError string) app.Delivery {
	o.t.Helper()
	ctx := context.Background()
	payload := fmt.Sprintf(`{"action":%q,"installation":{"id":7},"repository":{"full_name":%q},"note":"for %s"}`, action, repo, id)
	d := app.Delivery{ID: id, Event: event, Action: action, InstallationID: 7, Repository: repo, Key: repo + "@" + id,
		Payload: []byte(payload), ReceivedAt: time.Now().Add(-ago)}
	if _, err := o.st.Enqueue(ctx, d); err != nil {
		o.t.Fatal(err)
	}
	if state == app.StatePending {
		return d
	}
	ds, err := o.st.Claim(ctx, "test-worker", 1, time.Now(), time.Hour)
	if err != nil || len(ds) != 1 || ds[0].ID != id {
		o.t.Fatalf("claiming %s: got %+v (%v); put the pending deliveries last", id, ds, err)
	}
	switch state {
	case app.StateDone:
		err = o.st.Complete(ctx, id, "test-worker", time.Now())
	case app.StateDead:
		err = o.st.Bury(ctx, id, "test-worker", time.Now(), lastError)
	}
	if err != nil {
		o.t.Fatal(err)
	}
	return d
}

func (o *ops) state(id string) app.Delivery {
	o.t.Helper()
	d, err := o.st.Delivery(context.Background(), id)
	if err != nil {
		o.t.Fatalf("delivery %s: %v", id, err)
	}
	return d
}

// fill puts one delivery in each state, two of them dead.
func (o *ops) fill() {
	o.put("dead-1", "pull_request", "opened", "octo-org/hello", 3*time.Hour, app.StateDead,
		"failed 10 times: read octo-org/hello#1: boom\ngoroutine 7 [running]")
	o.put("dead-2", "push", "", "octo-org/other", 30*time.Hour, app.StateDead, "temporary: 502 Bad Gateway")
	o.put("done-1", "pull_request", "synchronize", "octo-org/hello", 2*time.Hour, app.StateDone, "")
	o.put("claimed-1", "check_suite", "requested", "octo-org/hello", time.Hour, app.StateClaimed, "")
	o.put("pending-1", "pull_request", "edited", "octo-org/hello", time.Minute, app.StatePending, "")
}

func TestOpsDeliveriesList(t *testing.T) {
	o := newOps(t)
	o.fill()

	out, errs, code := o.run("deliveries", "list")
	if code != 0 {
		t.Fatalf("deliveries list exited %d: %s", code, errs)
	}
	for _, want := range []string{"ID", "LAST ERROR", "dead-1", "pull_request.opened", "octo-org/hello", "dead-2", "push",
		"boom…", "2 dead deliveries.", "The inbox holds 1 pending, 1 claimed (being processed), 1 done and 2 dead.",
		"backstory deliveries retry"} {
		if !strings.Contains(out, want) {
			t.Errorf("deliveries list lacks %q:\n%s", want, out)
		}
	}
	for _, not := range []string{"done-1", "pending-1", "claimed-1", "goroutine 7"} {
		if strings.Contains(out, not) {
			t.Errorf("deliveries list shows %q, which is not a dead delivery's line:\n%s", not, out)
		}
	}
	if strings.Index(out, "dead-2") > strings.Index(out, "dead-1") {
		t.Errorf("deliveries list is not oldest first:\n%s", out)
	}

	out, _, _ = o.run("deliveries", "list", "--repo", "octo-org/hello")
	if !strings.Contains(out, "dead-1") || strings.Contains(out, "dead-2") || !strings.Contains(out, "1 dead delivery.") {
		t.Errorf("deliveries list --repo octo-org/hello:\n%s", out)
	}
	out, _, _ = o.run("deliveries", "list", "--since", "4h")
	if !strings.Contains(out, "dead-1") || strings.Contains(out, "dead-2") {
		t.Errorf("deliveries list --since 4h:\n%s", out)
	}
	out, _, _ = o.run("deliveries", "list", "--until", time.Now().Add(-10*time.Hour).UTC().Format(time.RFC3339))
	if strings.Contains(out, "dead-1") || !strings.Contains(out, "dead-2") {
		t.Errorf("deliveries list --until 10 hours ago:\n%s", out)
	}
	out, _, _ = o.run("deliveries", "list", "--limit", "1")
	if !strings.Contains(out, "dead-2") || strings.Contains(out, "dead-1") || !strings.Contains(out, "there are more") {
		t.Errorf("deliveries list --limit 1:\n%s", out)
	}
	out, _, _ = o.run("deliveries", "list", "--state", "pending,claimed")
	if !strings.Contains(out, "pending-1") || !strings.Contains(out, "claimed-1") || strings.Contains(out, "dead-1") {
		t.Errorf("deliveries list --state pending,claimed:\n%s", out)
	}

	out, errs, code = o.run("deliveries", "list", "--state", "all", "--json")
	if code != 0 {
		t.Fatalf("deliveries list --json exited %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("deliveries list --state all --json printed %d lines, want 5:\n%s", len(lines), out)
	}
	states := map[string]string{}
	for _, l := range lines {
		var d struct {
			ID, State, LastError string
			Attempts             int
			ReceivedAt           time.Time `json:"received_at"`
		}
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		states[d.ID] = d.State
		if d.ReceivedAt.IsZero() {
			t.Errorf("%s has no received_at: %s", d.ID, l)
		}
	}
	if states["dead-1"] != "dead" || states["done-1"] != "done" || states["pending-1"] != "pending" || states["claimed-1"] != "claimed" {
		t.Errorf("JSON states: %v", states)
	}

	for _, bad := range []struct {
		args []string
		want []string
	}{
		{[]string{"--state", "buried"}, []string{"--state", `"buried"`, "--state dead"}},
		{[]string{"--since", "yesterday"}, []string{"--since", `"yesterday"`, "--since 2h"}},
		{[]string{"--until", "2026-13-40"}, []string{"--until", "2026-11-21"}},
		{[]string{"--repo", "hello"}, []string{"--repo", "OWNER/REPO", "--repo octo-org/hello"}},
		{[]string{"--limit", "-3"}, []string{"--limit"}},
	} {
		_, errs, code := o.run(append([]string{"deliveries", "list"}, bad.args...)...)
		if code == 0 {
			t.Errorf("deliveries list %v succeeded", bad.args)
		}
		for _, w := range bad.want {
			if !strings.Contains(errs, w) {
				t.Errorf("deliveries list %v: the error lacks %q: %s", bad.args, w, errs)
			}
		}
	}
}

func TestOpsDeliveriesListRefusesAMissingStore(t *testing.T) {
	o := newOps(t)
	missing := filepath.Join(t.TempDir(), "nope.db")
	_, errs, code := cliRun(t, "deliveries", "list", "--config", o.config, "--store", missing)
	if code == 0 || !strings.Contains(errs, "no store at "+missing) || !strings.Contains(errs, "--store") {
		t.Errorf("deliveries list on a missing store: exit %d, %s", code, errs)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("deliveries list created a store that did not exist")
	}
}

func TestOpsDeliveriesShow(t *testing.T) {
	o := newOps(t)
	o.fill()
	out, errs, code := o.run("deliveries", "show", "dead-1")
	if code != 0 {
		t.Fatalf("deliveries show exited %d: %s", code, errs)
	}
	for _, want := range []string{"dead-1", "pull_request.opened", "octo-org/hello", "Installation:", "dead", "1 failed",
		"Last error:", "boom", "goroutine 7 [running]", `  "action": "opened",`, "backstory deliveries retry dead-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("deliveries show lacks %q:\n%s", want, out)
		}
	}
	out, _, _ = o.run("deliveries", "show", "done-1")
	if !strings.Contains(out, "Done:") || !strings.Contains(out, "retry --state done done-1") {
		t.Errorf("deliveries show of a done delivery:\n%s", out)
	}
	out, _, _ = o.run("deliveries", "show", "dead-1", "--raw")
	if out != string(o.state("dead-1").Payload) {
		t.Errorf("deliveries show --raw printed %q, want the payload's exact bytes %q", out, o.state("dead-1").Payload)
	}
	_, errs, code = o.run("deliveries", "show", "nope")
	if code == 0 || !strings.Contains(errs, `no delivery "nope"`) {
		t.Errorf("deliveries show nope: exit %d, %s", code, errs)
	}
}

func TestOpsDeliveriesRetry(t *testing.T) {
	o := newOps(t)
	o.put("waiver", "check_run", "requested_action", "octo-org/hello", 4*time.Hour, app.StateDone, "")
	o.fill()

	_, errs, code := o.run("deliveries", "retry")
	if code == 0 || !strings.Contains(errs, "--all") {
		t.Errorf("retry without a selector: exit %d, %s", code, errs)
	}
	_, errs, code = o.run("deliveries", "retry", "dead-1", "--all")
	if code == 0 || !strings.Contains(errs, "not both") {
		t.Errorf("retry with IDs and --all: exit %d, %s", code, errs)
	}
	_, errs, code = o.run("deliveries", "retry", "--all", "--state", "pending")
	if code == 0 || !strings.Contains(errs, "--state") {
		t.Errorf("retry --state pending: exit %d, %s", code, errs)
	}

	out, errs, code := o.run("deliveries", "retry", "dead-1", "done-1", "claimed-1", "nope")
	if code == 0 || !strings.Contains(errs, "nope") {
		t.Errorf("retry of an unknown id: exit %d, %s", code, errs)
	}
	for _, want := range []string{"Requeued 1 dead delivery: dead-1.", "done-1 (done: to process it again, add --state done)",
		"claimed-1 (claimed: a worker is processing it)", "backstory deliveries list"} {
		if !strings.Contains(out, want) {
			t.Errorf("retry by id lacks %q:\n%s", want, out)
		}
	}
	if d := o.state("dead-1"); d.State != app.StatePending || d.Attempts != 0 {
		t.Errorf("dead-1 after retry: %s with %d attempts, want pending with 0", d.State, d.Attempts)
	}
	if d := o.state("done-1"); d.State != app.StateDone {
		t.Errorf("retry requeued a done delivery without --state done: %s", d.State)
	}

	out, errs, code = o.run("deliveries", "retry", "--repo", "octo-org/other")
	if code != 0 || !strings.Contains(out, "Requeued 1 dead delivery: dead-2.") || o.state("dead-2").State != app.StatePending {
		t.Errorf("retry --repo: exit %d, %s%s", code, out, errs)
	}
	out, _, code = o.run("deliveries", "retry", "--all")
	if code != 0 || !strings.Contains(out, "Requeued nothing") {
		t.Errorf("retry --all with nothing dead: exit %d, %s", code, out)
	}

	out, errs, code = o.run("deliveries", "retry", "--all", "--state", "done")
	if code != 0 {
		t.Fatalf("retry --all --state done exited %d: %s", code, errs)
	}
	if !strings.Contains(out, "Requeued 1 done delivery: done-1.") || !strings.Contains(out, "Not needed") {
		t.Errorf("retry --all --state done:\n%s", out)
	}
	if o.state("waiver").State != app.StateDone {
		t.Error("a bulk retry pressed Not needed again")
	}
}

func TestOpsReplay(t *testing.T) {
	o := newOps(t)
	o.put("old", "pull_request", "opened", "octo-org/hello", 10*24*time.Hour, app.StateDone, "")
	o.put("opened", "pull_request", "opened", "octo-org/hello", 3*time.Hour, app.StateDone, "")
	o.put("waiver", "check_run", "requested_action", "octo-org/hello", 170*time.Minute, app.StateDone, "")
	o.put("build", app.EventBuild, "", "", 160*time.Minute, app.StateDone, "")
	o.put("installed", "installation", "created", "", 150*time.Minute, app.StateDone, "")
	o.put("closed", "pull_request", "closed", "octo-org/hello", 2*time.Hour, app.StateDead, "failed 10 times: boom")
	o.put("pushed", "push", "", "octo-org/other", time.Hour, app.StateDone, "")
	o.put("working", "check_suite", "requested", "octo-org/hello", 50*time.Minute, app.StateClaimed, "")

	_, errs, code := o.run("replay")
	if code == 0 || !strings.Contains(errs, "--since") {
		t.Errorf("replay without --since: exit %d, %s", code, errs)
	}

	out, errs, code := o.run("replay", "--since", "4h", "--dry-run")
	if code != 0 {
		t.Fatalf("replay --dry-run exited %d: %s", code, errs)
	}
	if !strings.Contains(out, "Dry run: nothing was requeued. 3 deliveries") || !strings.Contains(out, "(2 pull_request, 1 push)") {
		t.Errorf("replay --dry-run:\n%s", out)
	}
	if o.state("opened").State != app.StateDone {
		t.Fatal("a dry run requeued a delivery")
	}

	out, errs, code = o.run("replay", "--since", "4h")
	if code != 0 {
		t.Fatalf("replay exited %d: %s", code, errs)
	}
	for _, want := range []string{"Replaying 3 deliveries", "(2 pull_request, 1 push)", "Skipped 1 check_run.requested_action delivery",
		"Not needed", "Skipped 1 installation event", "backstory resync", "Skipped 1 delivery of backstory's own",
		"Left alone 1 delivery already queued or being processed"} {
		if !strings.Contains(out, want) {
			t.Errorf("replay output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Note:") {
		t.Errorf("replay within the retention warns about it:\n%s", out)
	}
	for id, want := range map[string]app.DeliveryState{"opened": app.StatePending, "closed": app.StatePending, "pushed": app.StatePending,
		"waiver": app.StateDone, "build": app.StateDone, "installed": app.StateDone, "old": app.StateDone, "working": app.StateClaimed} {
		if got := o.state(id).State; got != want {
			t.Errorf("after replay %s is %s, want %s", id, got, want)
		}
	}
	// Workers take them oldest first: the order they were received in.
	due, err := o.st.Claim(context.Background(), "replayer", 10, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, d := range due {
		order = append(order, d.ID)
	}
	if strings.Join(order, " ") != "opened closed pushed" {
		t.Errorf("replayed deliveries come back as %v, want in the order received", order)
	}

	out, _, _ = o.run("replay", "--since", "40d", "--repo", "octo-org/hello", "--event", "pull_request", "--dry-run")
	if !strings.Contains(out, "Note: done deliveries are kept for 720h (store.retention)") || !strings.Contains(out, "1 delivery") {
		t.Errorf("replay beyond the retention does not say so, or selects wrongly:\n%s", out)
	}
	_, errs, code = o.run("replay", "--since", "2h", "--until", "3h")
	if code == 0 || !strings.Contains(errs, "--until") {
		t.Errorf("replay with --until before --since: exit %d, %s", code, errs)
	}
}

// queued returns the pending deliveries of event.
func (o *ops) queued(event string) []app.Delivery {
	o.t.Helper()
	ds, err := o.st.Deliveries(context.Background(), app.DeliveryFilter{States: []app.DeliveryState{app.StatePending}, Event: event})
	if err != nil {
		o.t.Fatal(err)
	}
	return ds
}

func TestOpsResync(t *testing.T) {
	o := newOps(t)
	out, errs, code := o.run("resync", "octo-org")
	if code != 0 {
		t.Fatalf("resync exited %d: %s", code, errs)
	}
	if !strings.Contains(out, "Queued a resync of octo-org (installation 7)") || !strings.Contains(out, "rebuild the whole site") {
		t.Errorf("resync output:\n%s", out)
	}
	builds := o.queued(app.EventBuild)
	if len(builds) != 1 || builds[0].InstallationID != 7 {
		t.Fatalf("want one build of installation 7 queued, got %+v", builds)
	}
	var req struct {
		Account string `json:"account"`
		Full    bool   `json:"full"`
	}
	if err := json.Unmarshal(builds[0].Payload, &req); err != nil || req.Account != "octo-org" || !req.Full {
		t.Errorf("the queued build is %s, want a full one of octo-org", builds[0].Payload)
	}

	out, errs, code = o.run("resync", "OCTO-ORG/hello")
	if code != 0 || !strings.Contains(out, "not only OCTO-ORG/hello") || len(o.queued(app.EventBuild)) != 2 {
		t.Errorf("resync OWNER/REPO: exit %d, %s%s", code, out, errs)
	}

	for _, bad := range []struct{ arg, want string }{
		{"other-org", "not installed on other-org (it is installed only on octo-org)"},
		{"octo-org/missing", "cannot see octo-org/missing"},
		{"octo-org/hello/extra", "backstory resync octo-org"},
		{"-x", "unknown shorthand"},
	} {
		_, errs, code := o.run("resync", bad.arg)
		if code == 0 || !strings.Contains(errs, bad.want) {
			t.Errorf("resync %s: exit %d, want an error saying %q: %s", bad.arg, code, bad.want, errs)
		}
	}

	// Without site.dir there is no site to rebuild.
	cfg, _ := os.ReadFile(o.config)
	o.writeConfig(strings.Split(string(cfg), "site:")[0])
	_, errs, code = o.run("resync", "octo-org")
	if code == 0 || !strings.Contains(errs, "site.dir is not set") || !strings.Contains(errs, "no site to rebuild") {
		t.Errorf("resync without site.dir: exit %d, %s", code, errs)
	}
}

func TestOpsRecheck(t *testing.T) {
	o := newOps(t)
	o.gh.Branch(e2eRepo, "fix")
	sha := o.gh.Commit(e2eRepo, "fix", map[string][]byte{"src/main.go": []byte("package main // fix\n")})
	body := "Small fix."
	open := o.gh.AddPullRequest(e2eRepo, githubtest.PullRequest{Title: "fix", Body: &body, HeadRef: "fix", HeadSHA: sha})
	merged := o.gh.AddPullRequest(e2eRepo, githubtest.PullRequest{Title: "old", Body: &body, HeadRef: "fix", HeadSHA: sha, Merged: true})

	out, errs, code := o.run("recheck", fmt.Sprintf("octo-org/hello#%d", open))
	if code != 0 {
		t.Fatalf("recheck exited %d: %s", code, errs)
	}
	if !strings.Contains(out, fmt.Sprintf("Queued a new check of octo-org/hello#%d on its head %s", open, sha[:7])) {
		t.Errorf("recheck output:\n%s", out)
	}
	rechecks := o.queued(app.EventRecheck)
	if len(rechecks) != 1 || rechecks[0].Key != e2eRepo+"@"+sha || rechecks[0].InstallationID != 7 {
		t.Fatalf("want one recheck queued on the PR's head, got %+v", rechecks)
	}
	var p struct {
		PR      int    `json:"pull_request_number"`
		HeadSHA string `json:"head_sha"`
	}
	if err := json.Unmarshal(rechecks[0].Payload, &p); err != nil || p.PR != open || p.HeadSHA != sha {
		t.Errorf("the queued recheck is %s", rechecks[0].Payload)
	}
	// A pull request URL works too.
	if _, errs, code := o.run("recheck", fmt.Sprintf("https://github.com/octo-org/hello/pull/%d", open)); code != 0 {
		t.Errorf("recheck by URL exited %d: %s", code, errs)
	}

	for _, bad := range []struct{ arg, want string }{
		{fmt.Sprintf("octo-org/hello#%d", merged), "is merged: a closed pull request is not checked"},
		{"octo-org/hello#999", "no pull request octo-org/hello#999"},
		{"other-org/hello#1", "not installed on other-org"},
		{"octo-org/hello", "backstory recheck octo-org/hello#42"},
		{"octo-org/hello#0", "OWNER/REPO#N"},
	} {
		_, errs, code := o.run("recheck", bad.arg)
		if code == 0 || !strings.Contains(errs, bad.want) {
			t.Errorf("recheck %s: exit %d, want an error saying %q: %s", bad.arg, code, bad.want, errs)
		}
	}
	if n := len(o.queued(app.EventRecheck)); n != 2 {
		t.Errorf("%d rechecks queued, want the 2 asked for", n)
	}

	// Without the App's credentials it cannot find the installation.
	o.writeConfig(fmt.Sprintf("store:\n  url: %s\n", filepath.Join(o.dir, "backstory.db")))
	_, errs, code = o.run("recheck", fmt.Sprintf("octo-org/hello#%d", open))
	if code == 0 || !strings.Contains(errs, "github.app_id") || !strings.Contains(errs, "github.private_key_path") {
		t.Errorf("recheck without credentials: exit %d, %s", code, errs)
	}
}

// TestOpsRecoverWhileServeRuns runs the operator's commands against the
// store of a `backstory serve` running in another process: a recheck
// picks up an edit whose webhook was missed, and a replay of everything
// changes nothing more.
func TestOpsRecoverWhileServeRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts backstory serve")
	}
	e := newE2E(t)
	e.start()
	n, sha := e.openPR("missed-edit")
	if got := e.post("pull_request", "ops-1", e.opened(n, sha), e2eSecret); got != http.StatusAccepted {
		t.Fatalf("delivery: %d, want 202", got)
	}
	runs := e.runsOn([]string{sha}, 30*time.Second)[sha]
	if len(runs) != 1 || runs[0].Conclusion != "failure" {
		t.Fatalf("want one failing check run, got %+v", runs)
	}
	// The author adds a why, and GitHub's "edited" webhook never arrives.
	why := "## Why\n\nReaders of the changelog could not tell which release fixed the crash, so support answered the same question every week.\n"
	e.gh.UpdatePullRequest(e2eRepo, n, func(p *githubtest.PullRequest) { p.Body = &why })

	out, errs, code := cliRun(t, "recheck", fmt.Sprintf("%s#%d", e2eRepo, n), "--config", e.config)
	if code != 0 {
		t.Fatalf("recheck exited %d: %s", code, errs)
	}
	conclusion := func() string {
		for _, r := range e.gh.CheckRuns(e2eRepo) {
			if r.HeadSHA == sha {
				return r.Conclusion
			}
		}
		return ""
	}
	deadline := time.Now().Add(30 * time.Second)
	for conclusion() != "success" {
		if time.Now().After(deadline) {
			t.Fatalf("the check is still %s after backstory recheck (%s)", conclusion(), out)
		}
		time.Sleep(50 * time.Millisecond)
	}

	writes := e.gh.CountCalls("checks/create") + e.gh.CountCalls("checks/update")
	before := e.gh.CheckRuns(e2eRepo)
	out, errs, code = cliRun(t, "replay", "--since", "1h", "--config", e.config)
	if code != 0 || !strings.Contains(out, "Replaying 1 delivery") {
		t.Fatalf("replay: exit %d, %s%s", code, out, errs)
	}
	// The replayed delivery is done again, and changed nothing.
	st, err := store.Open(context.Background(), e.store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline = time.Now().Add(30 * time.Second)
	for {
		d, err := st.Delivery(context.Background(), "ops-1")
		if err == nil && d.State == app.StateDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replayed delivery is still %s (%v)", d.State, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	after := e.gh.CheckRuns(e2eRepo)
	if now := e.gh.CountCalls("checks/create") + e.gh.CountCalls("checks/update"); now != writes || len(after) != len(before) || conclusion() != "success" {
		t.Errorf("the replay changed the checks: %d writes (was %d), %d runs (was %d), %s", now, writes, len(after), len(before), conclusion())
	}
}

func TestOpsServeRefusesABadRetention(t *testing.T) {
	o := newOps(t)
	cfg, err := os.ReadFile(o.config)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(cfg), "github:\n", "github:\n  webhook_secret: s3cret\n", 1)
	o.writeConfig(strings.Replace(bad, "store:\n", "store:\n  retention: forever\n", 1))
	_, errs, code := cliRun(t, "serve", "--config", o.config, "--listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errs, "store.retention") || !strings.Contains(errs, "720h") {
		t.Errorf("serve with store.retention: forever: exit %d, %s", code, errs)
	}
}
