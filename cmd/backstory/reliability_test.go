package main

// The reliability suite: backstory serve, as a separate process, under the
// faults RELIABILITY.md reports on. It runs with BACKSTORY_RELIABILITY=1
// (make reliability); the figures it logs are the ones in RELIABILITY.md.
// It is not part of make test: it stops and starts PostgreSQL, and the
// soak runs for BACKSTORY_SOAK (30m by default).

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github/githubtest"
	"github.com/backstory-dev/backstory/app/postgres/pgtest"
	"github.com/backstory-dev/backstory/app/store"
)

func reliability(t *testing.T) {
	t.Helper()
	if os.Getenv("BACKSTORY_RELIABILITY") == "" {
		t.Skip("the reliability suite runs with BACKSTORY_RELIABILITY=1 (make reliability)")
	}
}

// onStore points the e2e config at a store: "sqlite" (the default file) or
// "postgres" (a fresh schema).
func (e *e2e) onStore(kind string) {
	e.t.Helper()
	if kind != "postgres" {
		return
	}
	dsn := pgtest.Schema(e.t)
	e.editConfig("url: "+e.store, fmt.Sprintf("url: %q", dsn))
	e.store = dsn
}

// chaos stands in front of the fake GitHub and fails a share of the
// requests the way GitHub does: 502s before acting, 502s after acting (the
// answer is lost: the nastiest case, a check run created but not known to
// be), primary rate limits (403, X-RateLimit-Remaining: 0) and secondary
// ones (403 with Retry-After).
type chaos struct {
	rate                                     float64
	before, after, primary, secondary, total atomic.Int64
}

func (e *e2e) chaosGitHub(rate float64) *chaos {
	e.t.Helper()
	c := &chaos{rate: rate}
	e.proxyGitHub(func(w http.ResponseWriter, r *http.Request, proxy http.Handler) {
		c.total.Add(1)
		x := rand.Float64() / rate // below 1: a fault
		switch {
		case x < 0.40:
			c.before.Add(1)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
		case x < 0.65:
			c.after.Add(1)
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, `{"message":"Server Error"}`)
		case x < 0.85:
			c.primary.Add(1)
			w.Header().Set("X-RateLimit-Limit", "5000")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(2*time.Second).Unix(), 10))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"API rate limit exceeded for installation ID 7.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`)
		case x < 1:
			c.secondary.Add(1)
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#secondary-rate-limits"}`)
		default:
			proxy.ServeHTTP(w, r)
		}
	})
	// At most 10 s between two attempts: with one request in five failing
	// an attempt fails more often than not, and the default (doubling up
	// to 30 minutes) would measure luck, not convergence.
	e.editConfig("  lease: 3s\n", "  lease: 3s\n  retry_max: 10s\n")
	return c
}

func (c *chaos) String() string {
	return fmt.Sprintf("%d requests: %d refused with 502, %d answered 502 after acting, %d primary and %d secondary rate limits",
		c.total.Load(), c.before.Load(), c.after.Load(), c.primary.Load(), c.secondary.Load())
}

// prWith opens a PR whose body has a why (the check succeeds) or not (it
// fails), and returns its number, head and the conclusion it must end with.
func (e *e2e) prWith(branch string, why bool) (int, string, string) {
	e.gh.Branch(e2eRepo, branch)
	sha := e.gh.Commit(e2eRepo, branch, map[string][]byte{"src/main.go": []byte("package main // " + branch + "\n")})
	body := "Small fix."
	want := "failure"
	if why {
		body = "## Why\n\nThe payment consumer dropped events on restart, and finance reconciled them by hand every Friday.\n"
		want = "success"
	}
	n := e.gh.AddPullRequest(e2eRepo, githubtest.PullRequest{Title: branch, Body: &body, User: "octocat", HeadRef: branch, HeadSHA: sha})
	return n, sha, want
}

// verdicts waits until every sha has a completed check run with the
// conclusion wanted, or within passes; it returns how long that took and
// the runs per sha.
func (e *e2e) verdicts(want map[string]string, within time.Duration) (time.Duration, map[string][]githubtest.CheckRun) {
	start := time.Now()
	for {
		by := map[string][]githubtest.CheckRun{}
		for _, r := range e.gh.CheckRuns(e2eRepo) {
			by[r.HeadSHA] = append(by[r.HeadSHA], r)
		}
		done := true
		for sha, conclusion := range want {
			if runs := by[sha]; len(runs) == 0 || runs[len(runs)-1].Conclusion != conclusion {
				done = false
			}
		}
		if done || time.Since(start) > within {
			return time.Since(start), by
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func checkVerdicts(t *testing.T, want map[string]string, by map[string][]githubtest.CheckRun) {
	t.Helper()
	for sha, conclusion := range want {
		runs := by[sha]
		switch {
		case len(runs) == 0:
			t.Errorf("commit %s: no check run", sha[:7])
		case len(runs) > 1:
			t.Errorf("commit %s: %d check runs, want exactly 1", sha[:7], len(runs))
		case runs[0].Conclusion != conclusion:
			t.Errorf("commit %s: %s, want %s", sha[:7], runs[0].Conclusion, conclusion)
		}
	}
}

func TestReliabilityGitHubFaults(t *testing.T) {
	reliability(t)
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e := newE2E(t)
			e.onStore(kind)
			c := e.chaosGitHub(0.20)
			e.start()
			want := map[string]string{}
			const prs = 30
			for i := range prs {
				n, sha, conclusion := e.prWith(fmt.Sprintf("chaos-%d", i), i%2 == 0)
				want[sha] = conclusion
				if got := e.post("pull_request", fmt.Sprintf("chaos-%d", i), e.opened(n, sha), e2eSecret); got != http.StatusAccepted {
					t.Fatalf("delivery %d: %d", i, got)
				}
			}
			took, by := e.verdicts(want, 10*time.Minute)
			checkVerdicts(t, want, by)
			t.Logf("RELIABILITY faults %s: %d pull requests converged in %s, each with exactly one check run of the right conclusion; %s",
				kind, prs, took.Round(100*time.Millisecond), c)
		})
	}
}

// stream posts pull_request deliveries for new PRs at rate per second until
// stop is closed; it returns the deliveries GitHub would consider delivered
// (202) and those it would redeliver (anything else).
type stream struct {
	mu                  sync.Mutex
	acked, refused      map[string][]byte // delivery id → body
	want                map[string]string // sha → conclusion
	idOf                map[string]string // delivery id → sha
	sent, acks, refuses int
}

func (e *e2e) stream(rate int, stop <-chan struct{}, addrs func() string) *stream {
	s := &stream{acked: map[string][]byte{}, refused: map[string][]byte{}, want: map[string]string{}, idOf: map[string]string{}}
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			n, sha, conclusion := e.prWith(fmt.Sprintf("stream-%d", i), i%3 == 0)
			id := fmt.Sprintf("stream-%d", i)
			body := e.opened(n, sha)
			code := e.postTo(addrs(), "pull_request", id, body)
			s.mu.Lock()
			s.sent++
			s.want[sha], s.idOf[id] = conclusion, sha
			if code == http.StatusAccepted {
				s.acks++
				s.acked[id] = body
			} else {
				s.refuses++
				s.refused[id] = body
			}
			s.mu.Unlock()
		}
	}()
	return s
}

// postTo is post to another address.
func (e *e2e) postTo(addr, event, id string, body []byte) int {
	saved := e.addr
	e.addr = addr
	defer func() { e.addr = saved }()
	return e.post(event, id, body, e2eSecret)
}

// redeliverRefused posts again what was refused, as GitHub's redelivery
// (asked by backstory's sweep, or by an operator) would.
func (e *e2e) redeliverRefused(s *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, body := range s.refused {
		if e.post("pull_request", id, body, e2eSecret) == http.StatusAccepted {
			delete(s.refused, id)
			s.acked[id] = body
		}
	}
}

// processedTwice counts, in logs, the deliveries logged as processed more
// than once.
var processedLine = regexp.MustCompile(`"msg":"delivery processed".*?"delivery":"([^"]+)"`)

func processedTwice(logs ...string) []string {
	seen := map[string]int{}
	for _, l := range logs {
		for _, m := range processedLine.FindAllStringSubmatch(l, -1) {
			seen[m[1]]++
		}
	}
	var twice []string
	for id, n := range seen {
		if n > 1 {
			twice = append(twice, id)
		}
	}
	sort.Strings(twice)
	return twice
}

func TestReliabilitySIGKILLDuringAStream(t *testing.T) {
	reliability(t)
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e := newE2E(t)
			e.onStore(kind)
			e.slowGitHub(30 * time.Millisecond) // so that kills land mid-processing
			stop := make(chan struct{})
			var mu sync.Mutex
			current := e.start()
			var logs []string
			s := e.stream(20, stop, func() string { return e.addr })
			const kills = 10
			for k := range kills {
				time.Sleep(time.Duration(1000+rand.IntN(2500)) * time.Millisecond)
				mu.Lock()
				current.kill()
				logs = append(logs, current.out.String())
				current = e.start()
				mu.Unlock()
				t.Logf("kill %d: %d check runs so far", k+1, len(e.gh.CheckRuns(e2eRepo)))
			}
			close(stop)
			time.Sleep(200 * time.Millisecond)
			e.redeliverRefused(s)
			took, by := e.verdicts(s.want, 5*time.Minute)
			checkVerdicts(t, s.want, by)
			logs = append(logs, current.out.String())
			if twice := processedTwice(logs...); len(twice) > 0 {
				t.Errorf("deliveries completed twice: %v", twice)
			}
			current.kill()
			lost := notDone(t, e.store)
			if len(lost) > 0 {
				t.Errorf("acknowledged deliveries not done in the store: %v", lost)
			}
			t.Logf("RELIABILITY sigkill %s: %d deliveries sent at 20/s, %d acknowledged, %d refused while the process was down (sent again, as GitHub's redelivery would); %d SIGKILLs; all %d pull requests checked once, %s after the stream stopped; none lost, none completed twice",
				kind, s.sent, s.acks, s.refuses, kills, len(s.want), took.Round(100*time.Millisecond))
		})
	}
}

// notDone opens the store after the processes are gone and lists the
// deliveries that are not done.
func notDone(t *testing.T, url string) []string {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	defer st.Close()
	ds, err := st.Deliveries(context.Background(), app.DeliveryFilter{States: []app.DeliveryState{app.StatePending, app.StateClaimed, app.StateDead}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s (%s: %s)", d.ID, d.State, d.LastError))
	}
	return out
}

// pgCluster stops and starts the local PostgreSQL cluster.
func pgCluster(t *testing.T, action string) {
	t.Helper()
	versions, _ := filepath.Glob("/etc/postgresql/*")
	if len(versions) == 0 {
		t.Fatal("no PostgreSQL cluster under /etc/postgresql to stop and start")
	}
	out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", filepath.Base(versions[0]), "main", action).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_ctlcluster %s: %v\n%s", action, err, out)
	}
}

func TestReliabilityPostgreSQLStoppedAndStarted(t *testing.T) {
	reliability(t)
	e := newE2E(t)
	e.onStore("postgres")
	child := e.start()
	stop := make(chan struct{})
	s := e.stream(10, stop, func() string { return e.addr })
	time.Sleep(3 * time.Second)

	pgCluster(t, "stop")
	stopped := true
	defer func() {
		if stopped {
			pgCluster(t, "start")
		}
	}()
	downAt := time.Now()
	s.mu.Lock()
	acksBefore, refusedBefore := s.acks, s.refuses
	s.mu.Unlock()
	time.Sleep(8 * time.Second)
	ready := e.readyz()
	s.mu.Lock()
	acksDown, refusedDown := s.acks-acksBefore, s.refuses-refusedBefore
	s.mu.Unlock()
	pgCluster(t, "start")
	stopped = false
	down := time.Since(downAt)

	// It recovers by itself: /readyz, then deliveries are stored again.
	start := time.Now()
	for e.readyz() != http.StatusOK {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("not ready 60 s after PostgreSQL came back\n%s", child.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	recovered := time.Since(start)
	time.Sleep(3 * time.Second)
	close(stop)
	time.Sleep(200 * time.Millisecond)
	e.redeliverRefused(s)
	took, by := e.verdicts(s.want, 5*time.Minute)
	checkVerdicts(t, s.want, by)
	if ready != http.StatusServiceUnavailable {
		t.Errorf("/readyz answered %d while PostgreSQL was down, want 503", ready)
	}
	if refusedDown == 0 {
		t.Errorf("no delivery was refused while PostgreSQL was down (%d acknowledged then): the test did not exercise the outage", acksDown)
	}
	if acksDown > 2 {
		// One may have been stored in the instant before the stop.
		t.Errorf("%d deliveries acknowledged while PostgreSQL was down", acksDown)
	}
	child.kill()
	if lost := notDone(t, e.store); len(lost) > 0 {
		t.Errorf("deliveries not done: %v", lost)
	}
	t.Logf("RELIABILITY store-down postgres: PostgreSQL stopped for %s; %d deliveries refused with 5xx meanwhile (%d acknowledged), /readyz 503; ready again %s after it started, without a restart; all %d pull requests checked once, %s after the stream stopped",
		down.Round(100*time.Millisecond), refusedDown, acksDown, recovered.Round(100*time.Millisecond), len(s.want), took.Round(100*time.Millisecond))
}

func (e *e2e) readyz() int {
	resp, err := http.Get("http://" + e.addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestReliabilityReplicaKilledUnderLoad(t *testing.T) {
	reliability(t)
	e := newE2E(t)
	e.onStore("postgres")
	e.slowGitHub(20 * time.Millisecond)
	first := e.addr
	a := e.start()
	e.addr = freeAddr(t)
	second := e.addr
	b := e.start("--listen", second)
	e.addr = first

	var aliveA atomic.Bool
	aliveA.Store(true)
	var turn atomic.Int64
	stop := make(chan struct{})
	s := e.stream(25, stop, func() string {
		if aliveA.Load() && turn.Add(1)%2 == 0 {
			return first
		}
		return second
	})
	time.Sleep(6 * time.Second)
	aliveA.Store(false)
	a.kill()
	killedAt := time.Now()
	time.Sleep(6 * time.Second)
	close(stop)
	time.Sleep(200 * time.Millisecond)
	e.addr = second
	e.redeliverRefused(s)
	took, by := e.verdicts(s.want, 5*time.Minute)
	checkVerdicts(t, s.want, by)
	if twice := processedTwice(a.out.String(), b.out.String()); len(twice) > 0 {
		t.Errorf("deliveries completed twice: %v", twice)
	}
	b.kill()
	if lost := notDone(t, e.store); len(lost) > 0 {
		t.Errorf("deliveries left behind: %v", lost)
	}
	if !strings.Contains(a.out.String(), "pull request checked") {
		t.Error("replica A checked nothing before it was killed: the test did not exercise two replicas")
	}
	t.Logf("RELIABILITY replicas postgres: 2 replicas, %d deliveries at 25/s spread over both, %d acknowledged; replica A SIGKILLed after 6 s (%s before the stream stopped); all %d pull requests checked once, %s after the stream stopped; none completed twice, none left behind",
		s.sent, s.acks, time.Since(killedAt).Round(time.Second), len(s.want), took.Round(100*time.Millisecond))
}

// sample is one reading of the process under soak.
type sample struct {
	at         time.Duration
	rssKB      int
	goroutines int
	heapBytes  int
}

func readSample(t *testing.T, pid int, addr string, since time.Time) sample {
	s := sample{at: time.Since(since)}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "VmRSS:"), "kB")), &s.rssKB)
			}
		}
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	for _, line := range strings.Split(b.String(), "\n") {
		var v float64
		switch {
		case strings.HasPrefix(line, "go_goroutines "):
			fmt.Sscan(strings.TrimPrefix(line, "go_goroutines "), &v)
			s.goroutines = int(v)
		case strings.HasPrefix(line, "go_memstats_heap_inuse_bytes "):
			fmt.Sscan(strings.TrimPrefix(line, "go_memstats_heap_inuse_bytes "), &v)
			s.heapBytes = int(v)
		}
	}
	return s
}

func TestReliabilitySoak(t *testing.T) {
	reliability(t)
	duration := 30 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("BACKSTORY_SOAK")); err == nil && d > 0 {
		duration = d
	}
	e := newE2E(t)
	child := e.start()
	stop := make(chan struct{})
	// Pull requests are reopened in a ring of 200, so the store and the
	// fake grow with deliveries, not with pull requests.
	type pr struct {
		n   int
		sha string
	}
	var ring []pr
	for i := range 200 {
		n, sha, _ := e.prWith(fmt.Sprintf("soak-%d", i), i%2 == 0)
		ring = append(ring, pr{n, sha})
	}
	var sent, acked atomic.Int64
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		tick := time.NewTicker(50 * time.Millisecond) // 20 deliveries/s
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			p := ring[i%len(ring)]
			sent.Add(1)
			if e.post("pull_request", fmt.Sprintf("soak-%d", i), e.opened(p.n, p.sha), e2eSecret) == http.StatusAccepted {
				acked.Add(1)
			}
		}
	}()
	start := time.Now()
	var samples []sample
	every := min(30*time.Second, duration/10)
	for time.Since(start) < duration {
		time.Sleep(every)
		s := readSample(t, child.cmd.Process.Pid, e.addr, start)
		samples = append(samples, s)
		t.Logf("soak %s: rss %d MB, heap in use %d MB, %d goroutines, %d deliveries acknowledged",
			s.at.Round(time.Second), s.rssKB/1024, s.heapBytes>>20, s.goroutines, acked.Load())
	}
	close(stop)
	<-senderDone // the last delivery in flight is counted
	if sent.Load() != acked.Load() {
		t.Errorf("%d deliveries sent, %d acknowledged: a steady rate must never be refused", sent.Load(), acked.Load())
	}
	if len(samples) < 4 {
		t.Fatalf("only %d samples", len(samples))
	}
	// Flat: after warming up (the first fifth), the end is no higher than
	// the warm level by more than a margin.
	warm := samples[len(samples)/5]
	last := samples[len(samples)-1]
	peak := warm
	for _, s := range samples[len(samples)/5:] {
		peak.rssKB, peak.goroutines, peak.heapBytes = max(peak.rssKB, s.rssKB), max(peak.goroutines, s.goroutines), max(peak.heapBytes, s.heapBytes)
	}
	if last.goroutines > warm.goroutines+20 {
		t.Errorf("goroutines grew from %d to %d", warm.goroutines, last.goroutines)
	}
	if last.heapBytes > warm.heapBytes*3/2+16<<20 {
		t.Errorf("heap in use grew from %d MB to %d MB", warm.heapBytes>>20, last.heapBytes>>20)
	}
	if last.rssKB > warm.rssKB*3/2+32<<10 {
		t.Errorf("RSS grew from %d MB to %d MB", warm.rssKB/1024, last.rssKB/1024)
	}
	t.Logf("RELIABILITY soak sqlite: %s at 20 deliveries/s (%d sent, %d acknowledged); after warm-up (%s): rss %d MB, heap %d MB, %d goroutines; at the end: rss %d MB, heap %d MB, %d goroutines; peak rss %d MB, heap %d MB, %d goroutines",
		duration, sent.Load(), acked.Load(), warm.at.Round(time.Second), warm.rssKB/1024, warm.heapBytes>>20, warm.goroutines,
		last.rssKB/1024, last.heapBytes>>20, last.goroutines, peak.rssKB/1024, peak.heapBytes>>20, peak.goroutines)
}
