package storetest

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
)

//go:embed testdata/pull_request.opened.json
var pullRequestPayload []byte

// PullRequestPayload returns a real pull_request "opened" payload (28 KB,
// GitHub's documentation example from octokit/webhooks): what most
// deliveries look like.
func PullRequestPayload() []byte { return slices.Clone(pullRequestPayload) }

// runs tells the deliveries of one benchmark run from those of earlier runs
// on the same store.
var runs atomic.Int64

// deliveries makes realistic deliveries with ids unique in this process:
// a UUID-shaped id like X-GitHub-Delivery, and keys spread over 50 pull
// requests.
type deliveries struct {
	run     int64
	n       atomic.Int64
	payload []byte
}

func newDeliveries() *deliveries {
	return &deliveries{run: runs.Add(1) + time.Now().UnixNano()%1e6*1000, payload: PullRequestPayload()}
}

func (g *deliveries) next() app.Delivery {
	i := g.n.Add(1)
	return app.Delivery{
		ID:             fmt.Sprintf("%08x-%04x-11ef-8000-%012x", g.run&0xffffffff, (g.run>>32)&0xffff, i),
		Event:          "pull_request",
		Action:         "opened",
		InstallationID: 1234567,
		Repository:     "Codertocat/Hello-World",
		Key:            fmt.Sprintf("Codertocat/Hello-World@%040x", i%50),
		Payload:        g.payload,
		ReceivedAt:     time.Now(),
	}
}

// BenchmarkEnqueue measures Enqueue of realistic pull_request deliveries, one
// caller at a time.
func BenchmarkEnqueue(b *testing.B, in app.Inbox) {
	ctx := context.Background()
	g := newDeliveries()
	b.SetBytes(int64(len(g.payload)))
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := in.Enqueue(ctx, g.next()); err != nil || !ok {
			b.Fatalf("Enqueue = %v, %v", ok, err)
		}
	}
}

// BenchmarkEnqueueParallel measures Enqueue with 8 callers per CPU, as
// webhook requests arrive together: its ns/op is the inverse of the peak
// ingest rate.
func BenchmarkEnqueueParallel(b *testing.B, in app.Inbox) {
	ctx := context.Background()
	g := newDeliveries()
	b.SetBytes(int64(len(g.payload)))
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := in.Enqueue(ctx, g.next()); err != nil || !ok {
				b.Errorf("Enqueue = %v, %v", ok, err)
				return
			}
		}
	})
}

// BenchmarkClaimComplete measures processing bookkeeping: one op is one
// delivery claimed (in batches of 10) and completed. The backlog is
// refilled with the timer stopped.
func BenchmarkClaimComplete(b *testing.B, in app.Inbox) {
	ctx := context.Background()
	g := newDeliveries()
	worker := fmt.Sprintf("bench-%d", g.run)
	now := time.Now().Add(time.Hour) // after every ReceivedAt, so all are due
	backlog := 0
	var batch []app.Delivery
	b.ReportAllocs()
	for b.Loop() {
		if len(batch) == 0 {
			if backlog < 10 {
				b.StopTimer()
				for range 500 {
					d := g.next()
					d.Key = "" // keys would limit a batch to one per key
					if _, err := in.Enqueue(ctx, d); err != nil {
						b.Fatal(err)
					}
				}
				backlog += 500
				b.StartTimer()
			}
			ds, err := in.Claim(ctx, worker, 10, now, time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			if len(ds) == 0 {
				b.Fatalf("Claim returned nothing with a backlog of %d", backlog)
			}
			batch = ds
			backlog -= len(ds)
		}
		if err := in.Complete(ctx, batch[0].ID, worker, now); err != nil {
			b.Fatal(err)
		}
		batch = batch[1:]
	}
}

// Latencies are what OpenLoop measured.
type Latencies struct {
	Rate           float64 // arrivals per second asked for
	Sent, Failed   int
	P50, P99, Max  time.Duration
	Elapsed        time.Duration
	AchievedPerSec float64
}

func (l Latencies) String() string {
	return fmt.Sprintf("%d enqueues at %.0f/s (achieved %.0f/s, %d failed): p50 %s, p99 %s, max %s",
		l.Sent, l.Rate, l.AchievedPerSec, l.Failed, l.P50.Round(time.Microsecond), l.P99.Round(time.Microsecond), l.Max.Round(time.Microsecond))
}

// OpenLoop enqueues realistic pull_request deliveries at a fixed arrival
// rate for duration, through callers concurrent goroutines (the webhook
// handlers), and returns the latency percentiles. It is open loop: arrivals
// do not wait for earlier enqueues, and latency runs from when a delivery
// was due to arrive, so a store that falls behind shows its queueing
// instead of slowing the arrivals down.
func OpenLoop(ctx context.Context, in app.Inbox, rate float64, duration time.Duration, callers int) (Latencies, error) {
	n := int(rate * duration.Seconds())
	if n <= 0 || callers <= 0 {
		return Latencies{}, fmt.Errorf("open loop: need a positive rate, duration and callers, got %.1f/s for %s with %d", rate, duration, callers)
	}
	g := newDeliveries()
	lat := make([]time.Duration, n)
	arrivals := make(chan int, n)
	var failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	due := func(i int) time.Time { return start.Add(time.Duration(float64(i) / rate * float64(time.Second))) }

	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for i := range arrivals {
				d := g.next()
				ok, err := in.Enqueue(ctx, d)
				lat[i] = time.Since(due(i))
				if err != nil || !ok {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Errorf("enqueue %s: %v, %w", d.ID, ok, err))
				}
			}
		})
	}
	for i := range n {
		if wait := time.Until(due(i)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			n = i
			break
		}
		arrivals <- i
	}
	close(arrivals)
	wg.Wait()
	elapsed := time.Since(start)
	lat = lat[:n]
	slices.Sort(lat)
	l := Latencies{Rate: rate, Sent: n, Failed: int(failed.Load()), Elapsed: elapsed}
	if n > 0 {
		l.P50, l.P99, l.Max = lat[n/2], lat[min(n-1, n*99/100)], lat[n-1]
		l.AchievedPerSec = float64(n) / elapsed.Seconds()
	}
	if err, _ := firstErr.Load().(error); err != nil {
		return l, fmt.Errorf("open loop: %d of %d enqueues failed, first: %w", l.Failed, n, err)
	}
	return l, ctx.Err()
}

// BenchmarkOpenLoop runs OpenLoop once per iteration (use -benchtime 1x) and
// reports its percentiles as p50-ms, p99-ms and max-ms.
func BenchmarkOpenLoop(b *testing.B, in app.Inbox, rate float64, duration time.Duration, callers int) {
	var worst Latencies
	for b.Loop() {
		l, err := OpenLoop(context.Background(), in, rate, duration, callers)
		if err != nil {
			b.Fatal(err)
		}
		b.Log(l)
		if l.P99 > worst.P99 {
			worst = l
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(worst.P50), "p50-ms")
	b.ReportMetric(ms(worst.P99), "p99-ms")
	b.ReportMetric(ms(worst.Max), "max-ms")
	b.ReportMetric(0, "ns/op")
}
