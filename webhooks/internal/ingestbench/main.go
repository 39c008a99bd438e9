// Command ingestbench measures webhook ingest end to end: the real
// webhooks.Handler on a real loopback HTTP listener, storing into a real
// store opened by app/store, fed signed pull_request deliveries (GitHub's
// own example payloads, each with a fresh delivery id and head SHA).
//
//	go run ./webhooks/internal/ingestbench -store sqlite -rate 500 -duration 60s
//	go run ./webhooks/internal/ingestbench -store postgres -postgres postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// Two phases:
//
//  1. Open loop: deliveries arrive at -rate per second whatever the server
//     does, as GitHub sends them; latency runs from when a delivery was due
//     to when its acknowledgement was read, so a server that falls behind
//     shows its queueing instead of slowing the arrivals (no coordinated
//     omission). A request over 10 s counts as an error, as GitHub counts
//     it as a failed delivery.
//  2. Peak: closed loop, doubling the number of concurrent senders until
//     throughput stops rising; reports the best deliveries per second.
//
// The load generator runs in a second process (this binary, re-executed):
// on two cores the server and the generator compete for CPU either way, but
// in one process they would also share a heap, a garbage collector and a
// scheduler, and the generator's allocations would be billed to ingest. The
// generator reports how late it sent each request, to show it kept up.
//
// The worker does not run (ingest alone) unless -worker is given: then it
// processes what arrives with a simulated handler (decode the payload, wait
// -process-delay as if calling GitHub), so that claims and completions
// compete with the inserts, as in production.
//
// Output: a summary on stderr and a markdown table row on stdout, for
// BENCHMARKS.md.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/webhooks"
)

// config is what the server side passes to the generator process.
type config struct {
	URL          string
	Secret       string // hex
	Corpus       string
	Rate         float64
	Warmup       time.Duration
	Duration     time.Duration
	PeakStep     time.Duration
	PeakMax      int
	SkipPeak     bool
	RequestLimit time.Duration
}

// configEnv carries the config to the generator process, so that the
// secret never appears in a process listing.
const configEnv = "BACKSTORY_INGESTBENCH_CONFIG"

func main() {
	if os.Getenv(configEnv) != "" {
		if err := generate(); err != nil {
			fmt.Fprintln(os.Stderr, "ingestbench generator:", err)
			os.Exit(1)
		}
		return
	}
	if err := serve(); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

func serve() error {
	var (
		storeKind    = flag.String("store", "sqlite", "store to ingest into: sqlite, postgres or memory (the handler alone)")
		pgURL        = flag.String("postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server for -store postgres; the bench works in a fresh schema it drops afterwards")
		rate         = flag.Float64("rate", 500, "open-loop arrival rate, deliveries per second")
		duration     = flag.Duration("duration", 60*time.Second, "length of the open-loop phase")
		warmup       = flag.Duration("warmup", 3*time.Second, "open-loop warm-up before measuring, at -rate")
		peakStep     = flag.Duration("peak-step", 5*time.Second, "length of each concurrency step of the peak phase")
		peakMax      = flag.Int("peak-max", 256, "most concurrent senders the peak phase tries")
		skipPeak     = flag.Bool("no-peak", false, "skip the peak phase")
		corpus       = flag.String("corpus", "../shared/corpus/webhooks", "folder of GitHub's example payloads (shared/corpus/webhooks)")
		withWorker   = flag.Bool("worker", false, "run the worker during the bench, with a simulated processor")
		processDelay = flag.Duration("process-delay", 50*time.Millisecond, "with -worker: simulated GitHub time per delivery")
		concurrency  = flag.Int("worker-concurrency", app.DefaultConcurrency, "with -worker: deliveries processed at once")
	)
	flag.Parse()
	if *rate <= 0 || *duration <= 0 {
		return errors.New("-rate and -duration must be positive")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, closeStore, err := openStore(ctx, *storeKind, *pgURL)
	if err != nil {
		return err
	}
	defer closeStore()

	var secret [32]byte
	_, _ = rand.Read(secret[:])
	log := slog.New(slog.NewJSONHandler(io.Discard, nil)) // formatted, as in production, but not written
	var notify func()
	var worker *app.Worker
	if *withWorker {
		worker = &app.Worker{
			Inbox: store, Processor: simulatedProcessor(*processDelay), Concurrency: *concurrency,
			Poll: time.Second, Log: log,
		}
		notify = worker.Notify
	}
	h, err := webhooks.New(webhooks.Config{
		Secret: secret[:], Inbox: store, Events: map[string]bool{"pull_request": true},
		Metrics: app.NewMetrics(nil), Log: log, Notify: notify,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on loopback: %w", err)
	}
	// The timeouts backstory serve uses.
	timed := &timedHandler{next: h}
	srv := &http.Server{Handler: timed, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	workerDone := make(chan struct{})
	if worker != nil {
		go func() { defer close(workerDone); _ = worker.Run(ctx) }()
	} else {
		close(workerDone)
	}

	cfg := config{
		URL: "http://" + ln.Addr().String() + "/webhooks/github", Secret: hex.EncodeToString(secret[:]),
		Corpus: *corpus, Rate: *rate, Warmup: *warmup, Duration: *duration,
		PeakStep: *peakStep, PeakMax: *peakMax, SkipPeak: *skipPeak, RequestLimit: 10 * time.Second,
	}
	before := cpuTime()
	res, genCPU, err := runGenerator(ctx, cfg)
	serverCPU := cpuTime() - before
	if err != nil {
		return err
	}
	cancel()
	<-workerDone

	counts, err := store.Counts(context.Background())
	if err != nil {
		return fmt.Errorf("counting stored deliveries: %w", err)
	}
	stored := 0
	for _, n := range counts {
		stored += n
	}
	report(os.Stdout, os.Stderr, summary{
		store: *storeKind, worker: *withWorker, processDelay: *processDelay, res: res,
		stored: stored, counts: counts, serverCPU: serverCPU, generatorCPU: genCPU,
		serverTimes: timed.sorted(),
	})
	if stored != res.Accepted {
		return fmt.Errorf("%d deliveries acknowledged with 202 but %d stored", res.Accepted, stored)
	}
	return nil
}

// timedHandler times ServeHTTP of the open-loop phase's requests, to tell
// the server's own time from the client's view, which also holds the
// network, the generator's scheduling and the machine's other load.
type timedHandler struct {
	next  http.Handler
	mu    sync.Mutex
	times []time.Duration
}

func (t *timedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.next.ServeHTTP(w, r)
	if r.Header.Get(phaseHeader) != "open" {
		return
	}
	d := time.Since(start)
	t.mu.Lock()
	t.times = append(t.times, d)
	t.mu.Unlock()
}

func (t *timedHandler) sorted() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.times)
	slices.Sort(out)
	return out
}

// phaseHeader marks the requests of the measured open-loop phase.
const phaseHeader = "X-Ingestbench-Phase"

// runGenerator runs this binary again as the load generator and returns
// what it measured and the CPU time it used.
func runGenerator(ctx context.Context, cfg config) (result, time.Duration, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, 0, fmt.Errorf("finding this program to run the generator: %w", err)
	}
	enc, err := json.Marshal(cfg)
	if err != nil {
		return result{}, 0, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), configEnv+"="+string(enc))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return result{}, 0, fmt.Errorf("load generator: %w", err)
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return result{}, 0, fmt.Errorf("load generator's report: %w", err)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return res, cpu, nil
}

// cpuTime is the user and system CPU this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// simulatedProcessor stands in for the App: it decodes the whole payload,
// as the real handler does, then waits as if calling GitHub.
func simulatedProcessor(delay time.Duration) app.Processor {
	return app.ProcessorFunc(func(ctx context.Context, d app.Delivery) error {
		var payload map[string]any
		if err := json.Unmarshal(d.Payload, &payload); err != nil {
			return app.Permanent(err)
		}
		select {
		case <-time.After(delay):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// summary is what one run measured, for the report.
type summary struct {
	store        string
	worker       bool
	processDelay time.Duration
	res          result
	stored       int
	counts       map[app.DeliveryState]int
	serverCPU    time.Duration
	generatorCPU time.Duration
	serverTimes  []time.Duration // sorted
}

func report(table, human io.Writer, s summary) {
	o := s.res.Open
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	host, _ := os.Hostname()
	fmt.Fprintf(human, "\ningest into %s on %s (%d CPUs, %s), %s\n", s.store, host, runtime.NumCPU(), runtime.Version(), time.Now().Format("2006-01-02"))
	fmt.Fprintf(human, "open loop: %d deliveries at %.0f/s over %s (achieved %.1f/s), %d errors%s\n",
		o.Sent, s.res.Rate, o.Elapsed.Round(time.Millisecond), o.Achieved, o.Errors, firstError(o.FirstError))
	fmt.Fprintf(human, "  acknowledgement latency: p50 %s, p90 %s, p99 %s, max %s\n", ms(o.P50), ms(o.P90), ms(o.P99), ms(o.Max))
	st := s.serverTimes
	fmt.Fprintf(human, "  server side (ServeHTTP, %d requests): p50 %s, p90 %s, p99 %s, max %s\n", len(st),
		ms(percentile(st, 0.5)), ms(percentile(st, 0.9)), ms(percentile(st, 0.99)), ms(percentile(st, 1)))
	fmt.Fprintf(human, "  generator lateness (send time - due time): p99 %s, max %s\n", ms(o.LagP99), ms(o.LagMax))
	if p := s.res.Peak; len(p.Steps) > 0 {
		for _, st := range p.Steps {
			fmt.Fprintf(human, "  peak step: %3d senders: %7.1f deliveries/s, p99 %s, %d errors\n", st.Concurrency, st.PerSecond, ms(st.P99), st.Errors)
		}
		fmt.Fprintf(human, "peak: %.0f deliveries/s with %d concurrent senders\n", p.Best.PerSecond, p.Best.Concurrency)
	}
	fmt.Fprintf(human, "CPU: server %s, generator %s (%d deliveries in all: server %.0f µs each)\n",
		s.serverCPU.Round(time.Millisecond), s.generatorCPU.Round(time.Millisecond), s.res.Accepted,
		float64(s.serverCPU.Microseconds())/float64(max(s.res.Accepted, 1)))
	fmt.Fprintf(human, "stored: %d (acknowledged %d), by state %v\n\n", s.stored, s.res.Accepted, s.counts)

	worker := "off"
	if s.worker {
		worker = fmt.Sprintf("on (%s/delivery)", s.processDelay)
	}
	peak := "—"
	if p := s.res.Peak; len(p.Steps) > 0 {
		peak = fmt.Sprintf("%.0f/s (%d senders)", p.Best.PerSecond, p.Best.Concurrency)
	}
	fmt.Fprintln(table, "| store | worker | rate | deliveries | errors | p50 | p90 | p99 | max | server p99 | peak | server CPU/delivery |")
	fmt.Fprintln(table, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Fprintf(table, "| %s | %s | %.0f/s | %d | %d | %s | %s | %s | %s | %s | %s | %.0f µs |\n",
		s.store, worker, s.res.Rate, o.Sent, o.Errors, ms(o.P50), ms(o.P90), ms(o.P99), ms(o.Max), ms(percentile(st, 0.99)), peak,
		float64(s.serverCPU.Microseconds())/float64(max(s.res.Accepted, 1)))
}

func firstError(e string) string {
	if e == "" {
		return ""
	}
	return " (first: " + strings.TrimSpace(e) + ")"
}
