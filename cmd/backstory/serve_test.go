package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app/github/githubtest"
	"github.com/backstory-dev/backstory/app/postgres/pgtest"
)

// TestMain lets a test run `backstory` as a child process of the test
// binary (BACKSTORY_TEST_CHILD=1, arguments in BACKSTORY_TEST_ARGS), so a
// test can SIGKILL it without building a separate binary.
func TestMain(m *testing.M) {
	if os.Getenv("BACKSTORY_TEST_CHILD") == "1" {
		var args []string
		if err := json.Unmarshal([]byte(os.Getenv("BACKSTORY_TEST_ARGS")), &args); err != nil {
			fmt.Fprintln(os.Stderr, "bad BACKSTORY_TEST_ARGS:", err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, args, os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

const e2eRepo = "octo-org/hello"
const e2eSecret = "It's a Secret to Everybody"

// e2e is a fake GitHub with one installed repository and a config file for
// `backstory serve` pointing at it.
type e2e struct {
	t      *testing.T
	gh     *githubtest.Server
	config string
	store  string
	addr   string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	gh := githubtest.New(t)
	gh.AddRepo(e2eRepo, githubtest.RepoOptions{})
	gh.AddInstallation(7, "octo-org", e2eRepo)
	gh.Commit(e2eRepo, "main", map[string][]byte{
		".github/backstory.yml": []byte("check:\n  mode: enforce\n"),
		"docs/decisions/0001-keep-a-changelog.md": []byte("---\nid: ADR-0001\ntitle: Keep a changelog\nstatus: accepted\n" +
			"date: 2025-01-01\ngoverns: [\"src/**\"]\n---\n# Keep a changelog\n\n## Why\n\nReaders need it.\n"),
		"src/main.go": []byte("package main\n"),
	})
	dir := t.TempDir()
	key := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(key, gh.PrivateKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &e2e{t: t, gh: gh, store: filepath.Join(dir, "backstory.db"), addr: freeAddr(t)}
	e.config = filepath.Join(dir, "backstory.yml")
	cfg := fmt.Sprintf("github:\n  app_id: %d\n  private_key_path: %s\n  webhook_secret: %q\n  api_url: %s\n"+
		"server:\n  listen: %s\n  lease: 3s\nstore:\n  url: %s\nredeliver:\n  interval: 1h\nlog:\n  level: debug\n",
		gh.AppID, key, e2eSecret, gh.URL(), e.addr, e.store)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// openPR pushes a branch touching src/main.go and opens a PR without a why.
func (e *e2e) openPR(branch string) (number int, sha string) {
	e.gh.Branch(e2eRepo, branch)
	sha = e.gh.Commit(e2eRepo, branch, map[string][]byte{"src/main.go": []byte("package main // " + branch + "\n")})
	body := "Small fix."
	number = e.gh.AddPullRequest(e2eRepo, githubtest.PullRequest{Title: branch, Body: &body, User: "octocat", HeadRef: branch, HeadSHA: sha})
	return number, sha
}

// opened is GitHub's example pull_request.opened payload pointed at a PR.
func (e *e2e) opened(number int, sha string) []byte {
	e.t.Helper()
	data, err := githubtest.Payload("pull_request", "opened.payload.json")
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		e.t.Fatal(err)
	}
	m["installation"] = map[string]any{"id": 7}
	m["repository"].(map[string]any)["full_name"] = e2eRepo
	pr := m["pull_request"].(map[string]any)
	pr["number"], pr["body"] = number, "Small fix."
	pr["head"].(map[string]any)["sha"] = sha
	base := pr["base"].(map[string]any)
	base["ref"] = "main"
	base["repo"].(map[string]any)["full_name"] = e2eRepo
	base["repo"].(map[string]any)["default_branch"] = "main"
	out, _ := json.Marshal(m)
	return out
}

// post sends a signed delivery and returns the status.
func (e *e2e) post(event, id string, body []byte, secret string) int {
	e.t.Helper()
	req, _ := http.NewRequest("POST", "http://"+e.addr+"/webhooks/github", bytes.NewReader(body))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (e *e2e) waitReady() {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + e.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatal("backstory serve did not become ready")
}

// runsOn waits until every sha has a check run, then returns the runs per
// sha.
func (e *e2e) runsOn(shas []string, within time.Duration) map[string][]githubtest.CheckRun {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		by := map[string][]githubtest.CheckRun{}
		for _, r := range e.gh.CheckRuns(e2eRepo) {
			by[r.HeadSHA] = append(by[r.HeadSHA], r)
		}
		done := true
		for _, s := range shas {
			if len(by[s]) == 0 {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			return by
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestServeChecksAPullRequestOnce(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", e.config}, strings.NewReader(""), io.Discard, &out)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30 s of its context ending")
		}
	})
	e.waitReady()

	n, sha := e.openPR("fix")
	body := e.opened(n, sha)
	if got := e.post("pull_request", "delivery-1", body, "wrong secret"); got != http.StatusUnauthorized {
		t.Fatalf("a wrong signature: %d, want 401", got)
	}
	if got := e.post("pull_request", "delivery-1", body, e2eSecret); got != http.StatusAccepted {
		t.Fatalf("a signed delivery: %d, want 202", got)
	}
	if got := e.post("pull_request", "delivery-1", body, e2eSecret); got != http.StatusAccepted {
		t.Fatalf("the same delivery again: %d, want 202", got)
	}
	runs := e.runsOn([]string{sha}, 30*time.Second)[sha]
	if len(runs) != 1 || runs[0].Conclusion != "failure" || runs[0].Name != "backstory" {
		t.Fatalf("want one failing backstory check run on %s, got %+v\nlogs:\n%s", sha, runs, out.String())
	}
	// A redelivery under a new id (GitHub's "Redeliver" keeps the id; a
	// second event for the same commit does not) writes nothing new.
	if got := e.post("pull_request", "delivery-2", body, e2eSecret); got != http.StatusAccepted {
		t.Fatalf("a second delivery: %d", got)
	}
	time.Sleep(500 * time.Millisecond)
	if c := e.gh.CountCalls("checks/create"); c != 1 {
		t.Errorf("check runs created: %d, want 1", c)
	}
	if c := e.gh.CountCalls("checks/update"); c != 0 {
		t.Errorf("an unchanged verdict was written again: %d updates", c)
	}

	metrics := get(t, "http://"+e.addr+"/metrics")
	for _, want := range []string{`backstory_webhook_requests_total{event="pull_request",outcome="accepted"} 2`,
		`backstory_webhook_requests_total{event="pull_request",outcome="duplicate"} 1`,
		`backstory_check_runs_total{result="created"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if got := get(t, "http://"+e.addr+"/healthz"); got != "ok\n" {
		t.Errorf("/healthz: %q", got)
	}
	logs := out.String()
	if !strings.Contains(logs, `"delivery":"delivery-1"`) || !strings.Contains(logs, `"repository":"octo-org/hello"`) || !strings.Contains(logs, `"pr":`+fmt.Sprint(n)) {
		t.Errorf("logs should carry the delivery, repository and PR:\n%s", logs)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// slowGitHub puts a proxy that delays every request in front of the fake
// GitHub and points the config at it.
func (e *e2e) slowGitHub(delay time.Duration) {
	e.proxyGitHub(func(w http.ResponseWriter, r *http.Request, github http.Handler) {
		time.Sleep(delay)
		github.ServeHTTP(w, r)
	})
}

// proxyGitHub puts handle in front of the fake GitHub (github passes a
// request on to it) and points the config at it.
func (e *e2e) proxyGitHub(handle func(w http.ResponseWriter, r *http.Request, github http.Handler)) {
	e.t.Helper()
	target, _ := url.Parse(e.gh.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handle(w, r, proxy) }))
	e.t.Cleanup(srv.Close)
	e.editConfig("api_url: "+e.gh.URL(), "api_url: "+srv.URL+"/")
}

// editConfig replaces old, which must be there, in the config file; with
// old "", it appends new.
func (e *e2e) editConfig(old, new string) {
	e.t.Helper()
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	switch {
	case old == "":
		cfg = append(cfg, new...)
	case bytes.Contains(cfg, []byte(old)):
		cfg = bytes.Replace(cfg, []byte(old), []byte(new), 1)
	default:
		e.t.Fatalf("the config has no %q:\n%s", old, cfg)
	}
	if err := os.WriteFile(e.config, cfg, 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// child runs `backstory serve` in a separate process.
type child struct {
	cmd *exec.Cmd
	out *syncBuffer
}

func (e *e2e) start(extra ...string) *child {
	e.t.Helper()
	args, _ := json.Marshal(append([]string{"serve", "--config", e.config}, extra...))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BACKSTORY_TEST_CHILD=1", "BACKSTORY_TEST_ARGS="+string(args))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	c := &child{cmd: cmd, out: out}
	e.t.Cleanup(func() { c.kill() })
	e.waitReady()
	return c
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.cmd.Wait()
	}
}

func TestServeSIGKILLLosesNoAcknowledgedDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills backstory serve several times")
	}
	e := newE2E(t)
	// GitHub answers slowly here, so that the kills below land while
	// deliveries are being processed, not only between them.
	e.slowGitHub(150 * time.Millisecond)

	// 1. Killed between acknowledgement and processing: this process only
	// receives (no workers), acknowledges, and dies.
	receiver := e.start("--workers", "0")
	var shas []string
	for i := range 5 {
		n, sha := e.openPR(fmt.Sprintf("before-kill-%d", i))
		if got := e.post("pull_request", fmt.Sprintf("ack-%d", i), e.opened(n, sha), e2eSecret); got != http.StatusAccepted {
			t.Fatalf("delivery %d: %d, want 202", i, got)
		}
		shas = append(shas, sha)
	}
	receiver.kill()
	if runs := e.gh.CheckRuns(e2eRepo); len(runs) != 0 {
		t.Fatalf("a receive-only process wrote check runs: %+v", runs)
	}

	// 2. Killed at random moments while it processes.
	for round := range 3 {
		worker := e.start()
		for i := range 4 {
			n, sha := e.openPR(fmt.Sprintf("round-%d-%d", round, i))
			if got := e.post("pull_request", fmt.Sprintf("r%d-%d", round, i), e.opened(n, sha), e2eSecret); got == http.StatusAccepted {
				shas = append(shas, sha)
			}
		}
		// Early, midway and late in processing.
		time.Sleep(time.Duration(300+round*1500+rand.IntN(300)) * time.Millisecond)
		worker.kill()
		t.Logf("round %d: %d check runs when killed", round, len(e.gh.CheckRuns(e2eRepo)))
	}

	// 3. A clean start finishes everything acknowledged, once.
	final := e.start()
	by := e.runsOn(shas, 60*time.Second)
	for _, sha := range shas {
		if len(by[sha]) != 1 {
			t.Errorf("commit %s has %d check runs, want exactly 1", sha[:7], len(by[sha]))
		}
	}
	if t.Failed() {
		t.Logf("last process's output:\n%s", final.out.String())
	}
}

func TestServeRefusesToStartWithoutCredentials(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"BACKSTORY_GITHUB_APP_ID", "BACKSTORY_GITHUB_PRIVATE_KEY_PATH", "BACKSTORY_GITHUB_WEBHOOK_SECRET", "BACKSTORY_CONFIG"} {
		t.Setenv(k, "")
	}
	cfg := filepath.Join(dir, "backstory.yml")
	os.WriteFile(cfg, []byte("github:\n  private_key_path: "+filepath.Join(dir, "missing.pem")+"\n"), 0o600)
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--config", cfg}, strings.NewReader(""), io.Discard, &stderr)
	if code == 0 {
		t.Fatal("serve started without an app id, a key or a secret")
	}
	for _, want := range []string{"github.app_id", "BACKSTORY_GITHUB_APP_ID", "private key cannot be read", "webhook secret"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the refusal should mention %q:\n%s", want, stderr.String())
		}
	}
	// The environment alone is enough.
	t.Setenv("BACKSTORY_GITHUB_APP_ID", "12")
	t.Setenv("BACKSTORY_GITHUB_WEBHOOK_SECRET", "s3cret")
	t.Setenv("BACKSTORY_GITHUB_PRIVATE_KEY_PATH", filepath.Join(dir, "nope.pem"))
	stderr.Reset()
	run(context.Background(), []string{"serve", "--config", cfg}, strings.NewReader(""), io.Discard, &stderr)
	if strings.Contains(stderr.String(), "app_id") || strings.Contains(stderr.String(), "webhook secret") ||
		!strings.Contains(stderr.String(), "nope.pem") {
		t.Errorf("environment variables should set the app id and secret, and the key path:\n%s", stderr.String())
	}
}

func TestServeRetriesGitHubFailures(t *testing.T) {
	e := newE2E(t)
	child := e.start()
	n, sha := e.openPR("flaky")
	// A 502, then a secondary rate limit: both are retried, the second no
	// sooner than GitHub said.
	e.gh.FailNext("checks/create", 1, githubtest.ServerError(502))
	e.gh.FailNext("checks/create", 1, githubtest.SecondaryRateLimited(2*time.Second))
	if got := e.post("pull_request", "flaky-1", e.opened(n, sha), e2eSecret); got != http.StatusAccepted {
		t.Fatalf("delivery: %d", got)
	}
	runs := e.runsOn([]string{sha}, 60*time.Second)[sha]
	if len(runs) != 1 {
		t.Fatalf("after a 502 and a rate limit: %d check runs, want 1\n%s", len(runs), child.out.String())
	}
	var creates []time.Time
	for _, c := range e.gh.Calls() {
		if c.Operation == "checks/create" {
			creates = append(creates, c.At)
		}
	}
	if len(creates) != 3 {
		t.Fatalf("checks/create was called %d times, want 3 (502, rate limited, created)", len(creates))
	}
	if gap := creates[2].Sub(creates[1]); gap < 2*time.Second {
		t.Errorf("retried %v after a secondary rate limit asking for 2 s", gap)
	}
}

func TestServeReplicasOnOnePostgreSQLCheckEachPullRequestOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two backstory serve processes")
	}
	e := newE2E(t)
	e.slowGitHub(20 * time.Millisecond) // so that both replicas are busy at once
	e.editConfig("url: "+e.store, fmt.Sprintf("url: %q", pgtest.Schema(t)))

	first := e.addr
	a := e.start()
	e.addr = freeAddr(t)
	b := e.start("--listen", e.addr)
	replicas := []string{first, e.addr}

	var shas []string
	for i := range 12 {
		n, sha := e.openPR(fmt.Sprintf("replica-%d", i))
		body := e.opened(n, sha)
		// Each delivery reaches one replica, its duplicate the other, as a
		// load balancer and a redelivery might.
		for j := range 2 {
			e.addr = replicas[(i+j)%2]
			if got := e.post("pull_request", fmt.Sprintf("replica-delivery-%d", i), body, e2eSecret); got != http.StatusAccepted {
				t.Fatalf("delivery %d to replica %d: %d", i, (i+j)%2, got)
			}
		}
		shas = append(shas, sha)
	}
	by := e.runsOn(shas, 60*time.Second)
	for _, sha := range shas {
		if len(by[sha]) != 1 {
			t.Errorf("commit %s has %d check runs, want exactly 1", sha[:7], len(by[sha]))
		}
	}
	if creates := e.gh.CountCalls("checks/create"); creates != len(shas) {
		t.Errorf("%d check runs created for %d pull requests", creates, len(shas))
	}
	for name, r := range map[string]*child{"A": a, "B": b} {
		if !strings.Contains(r.out.String(), "pull request checked") {
			t.Errorf("replica %s checked nothing: the test did not exercise two replicas", name)
		}
	}
	if t.Failed() {
		t.Logf("replica A:\n%s\nreplica B:\n%s", a.out.String(), b.out.String())
	}
}

func TestServeKeepsTheOrgSite(t *testing.T) {
	e := newE2E(t)
	sites := t.TempDir()
	e.editConfig("", "site:\n  dir: "+sites+"\n")
	e.start()
	data, err := githubtest.Payload("installation", "created.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	m["installation"] = map[string]any{"id": 7, "account": map[string]any{"login": "octo-org", "type": "Organization"}}
	body, _ := json.Marshal(m)
	if got := e.post("installation", "install-1", body, e2eSecret); got != http.StatusAccepted {
		t.Fatalf("installation delivery: %d", got)
	}
	page := filepath.Join(sites, "octo-org", "index.html")
	deadline := time.Now().Add(90 * time.Second)
	for {
		if b, err := os.ReadFile(page); err == nil && strings.Contains(string(b), "Keep a changelog") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no site with the org's records at %s after the installation", page)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
