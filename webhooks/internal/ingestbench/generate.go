package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is what the generator measured.
type result struct {
	Rate     float64
	Open     openResult
	Peak     peakResult
	Accepted int // 202 answers in every phase, warm-up included
}

type openResult struct {
	Sent, Errors       int
	FirstError         string
	Elapsed            time.Duration
	Achieved           float64 // deliveries sent per second
	P50, P90, P99, Max time.Duration
	LagP99, LagMax     time.Duration // how late the generator sent
	StatusCounts       map[int]int
}

type peakStep struct {
	Concurrency int
	PerSecond   float64
	P99         time.Duration
	Errors      int
}

type peakResult struct {
	Steps []peakStep
	Best  peakStep
}

// generator sends signed deliveries built from GitHub's example payloads.
type generator struct {
	cfg       config
	secret    []byte
	client    *http.Client
	templates []template
	prefix    [12]byte // makes this run's ids and SHAs unique
	n         atomic.Uint64
	accepted  atomic.Int64
}

// template is one example payload and where its head SHA sits, so that
// each delivery can carry a SHA of its own (a Key of its own) cheaply.
type template struct {
	name string
	body []byte
	shas []int // offsets of every occurrence of the head SHA
}

func generate() error {
	var cfg config
	if err := json.Unmarshal([]byte(os.Getenv(configEnv)), &cfg); err != nil {
		return fmt.Errorf("reading %s: %w", configEnv, err)
	}
	secret, err := hex.DecodeString(cfg.Secret)
	if err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	templates, err := loadTemplates(cfg.Corpus)
	if err != nil {
		return err
	}
	g := &generator{
		cfg: cfg, secret: secret, templates: templates,
		client: &http.Client{
			// GitHub gives up after 10 s: so does the generator, and counts
			// it as an error.
			Timeout: cfg.RequestLimit,
			Transport: &http.Transport{
				MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute,
				DisableCompression: true,
			},
		},
	}
	_, _ = rand.Read(g.prefix[:])
	ctx := context.Background()

	res := result{Rate: cfg.Rate}
	if cfg.Warmup > 0 {
		fmt.Fprintf(os.Stderr, "warming up for %s at %.0f/s…\n", cfg.Warmup, cfg.Rate)
		g.openLoop(ctx, "warmup", cfg.Rate, cfg.Warmup)
	}
	fmt.Fprintf(os.Stderr, "open loop: %.0f/s for %s…\n", cfg.Rate, cfg.Duration)
	res.Open = g.openLoop(ctx, "open", cfg.Rate, cfg.Duration)
	if !cfg.SkipPeak {
		res.Peak = g.peak(ctx)
	}
	res.Accepted = int(g.accepted.Load())
	return json.NewEncoder(os.Stdout).Encode(res)
}

// loadTemplates reads the pull_request examples that an App receives (with
// an installation).
func loadTemplates(corpus string) ([]template, error) {
	paths, err := filepath.Glob(filepath.Join(corpus, "pull_request", "*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no pull_request payloads in %s: point -corpus at shared/corpus/webhooks", corpus)
	}
	var out []template
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var head struct {
			Installation *struct{ ID int64 } `json:"installation"`
			PullRequest  struct {
				Head struct {
					SHA string `json:"sha"`
				} `json:"head"`
			} `json:"pull_request"`
		}
		if err := json.Unmarshal(body, &head); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		sha := []byte(head.PullRequest.Head.SHA)
		if head.Installation == nil || len(sha) != 40 {
			continue
		}
		t := template{name: filepath.Base(p), body: body}
		for i := 0; ; {
			j := bytes.Index(body[i:], sha)
			if j < 0 {
				break
			}
			t.shas = append(t.shas, i+j)
			i += j + len(sha)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no pull_request payload with an installation in %s", corpus)
	}
	return out, nil
}

// delivery builds the i-th delivery: a template with a head SHA of its
// own, a fresh UUID-shaped delivery id, and its signature.
func (g *generator) delivery() (id string, body []byte, sig string) {
	i := g.n.Add(1)
	t := g.templates[i%uint64(len(g.templates))]
	body = bytes.Clone(t.body)
	var raw [20]byte
	copy(raw[:12], g.prefix[:])
	binary.BigEndian.PutUint64(raw[12:], i)
	sha := hex.EncodeToString(raw[:])
	for _, at := range t.shas {
		copy(body[at:], sha)
	}
	var u [16]byte
	copy(u[:8], g.prefix[:8])
	binary.BigEndian.PutUint64(u[8:], i)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	id = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	mac := hmac.New(sha256.New, g.secret)
	mac.Write(body)
	return id, body, "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// send posts one delivery as GitHub does and returns the status; phase
// tells the server which phase it belongs to.
func (g *generator) send(ctx context.Context, phase, id string, body []byte, sig string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/ingestbench")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-GitHub-Hook-ID", "123456789")
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	req.Header.Set("X-Hub-Signature-256", sig)
	req.Header.Set(phaseHeader, phase)
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusAccepted {
		g.accepted.Add(1)
		return resp.StatusCode, nil
	}
	return resp.StatusCode, fmt.Errorf("status %d", resp.StatusCode)
}

// openLoop sends rate deliveries per second for d, each on its own
// goroutine at its due time, whatever happened to the earlier ones.
func (g *generator) openLoop(ctx context.Context, phase string, rate float64, d time.Duration) openResult {
	n := int(rate * d.Seconds())
	lat := make([]time.Duration, n)
	lag := make([]time.Duration, n)
	codes := make([]int, n)
	var errCount atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now().Add(5 * time.Millisecond)
	due := func(i int) time.Time { return start.Add(time.Duration(float64(i) / rate * float64(time.Second))) }
	for i := range n {
		if wait := time.Until(due(i)); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := due(i)
			id, body, sig := g.delivery()
			lag[i] = time.Since(at)
			code, err := g.send(ctx, phase, id, body, sig)
			lat[i] = time.Since(at)
			codes[i] = code
			if err != nil {
				errCount.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}()
	}
	sent := time.Since(start)
	wg.Wait()
	r := openResult{
		Sent: n, Errors: int(errCount.Load()), Elapsed: time.Since(start),
		Achieved: float64(n) / sent.Seconds(), StatusCounts: map[int]int{},
	}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	for _, c := range codes {
		r.StatusCounts[c]++
	}
	slices.Sort(lat)
	slices.Sort(lag)
	r.P50, r.P90, r.P99, r.Max = percentile(lat, 0.50), percentile(lat, 0.90), percentile(lat, 0.99), percentile(lat, 1)
	r.LagP99, r.LagMax = percentile(lag, 0.99), percentile(lag, 1)
	return r
}

// peak finds the most deliveries per second the server acknowledges:
// closed loop, doubling the senders until two steps in a row gain less
// than 5% over the best.
func (g *generator) peak(ctx context.Context) peakResult {
	var res peakResult
	flat := 0
	for c := 1; c <= g.cfg.PeakMax; c *= 2 {
		fmt.Fprintf(os.Stderr, "peak: %d senders for %s…\n", c, g.cfg.PeakStep)
		step := g.closedLoop(ctx, c, g.cfg.PeakStep)
		res.Steps = append(res.Steps, step)
		if step.PerSecond > res.Best.PerSecond*1.05 {
			flat = 0
		} else if flat++; flat == 2 {
			break
		}
		if step.PerSecond > res.Best.PerSecond {
			res.Best = step
		}
	}
	return res
}

func (g *generator) closedLoop(ctx context.Context, senders int, d time.Duration) peakStep {
	var (
		mu     sync.Mutex
		lat    []time.Duration
		errs   int
		wg     sync.WaitGroup
		start  = time.Now()
		finish = start.Add(d)
	)
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for time.Now().Before(finish) {
				id, body, sig := g.delivery()
				t := time.Now()
				if _, err := g.send(ctx, "peak", id, body, sig); err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	return peakStep{Concurrency: senders, PerSecond: float64(len(lat)) / elapsed.Seconds(), P99: percentile(lat, 0.99), Errors: errs}
}

// percentile is the nearest-rank percentile of sorted values (p in (0, 1]).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
