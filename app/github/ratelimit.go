package github

import (
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// rateLimits keeps, per installation and resource, GitHub's rate-limit
// headers as last seen: the operator's status page and the metrics show
// the headroom.
type rateLimits struct {
	mu   sync.Mutex
	last map[rateKey]app.RateLimit
}

type rateKey struct {
	installation int64
	resource     string
}

// rateLimitTransport reads the rate-limit headers of every answer to one
// installation's requests.
type rateLimitTransport struct {
	app          *App
	installation int64
	next         http.RoundTripper
}

func (t *rateLimitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil {
		t.app.noteRateLimit(t.installation, resp.Header)
	}
	return resp, err
}

func (a *App) noteRateLimit(installation int64, h http.Header) {
	remaining, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	limit, err2 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	if err1 != nil || err2 != nil {
		return
	}
	resource := h.Get("X-RateLimit-Resource")
	if resource == "" {
		resource = "core"
	}
	rl := app.RateLimit{Installation: installation, Resource: resource, Remaining: remaining, Limit: limit, Seen: time.Now()}
	if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		rl.Reset = time.Unix(reset, 0)
	}
	a.limits.mu.Lock()
	if a.limits.last == nil {
		a.limits.last = map[rateKey]app.RateLimit{}
	}
	a.limits.last[rateKey{installation, resource}] = rl
	a.limits.mu.Unlock()
	if a.metrics != nil && a.metrics.RateLimitRemaining != nil {
		id := strconv.FormatInt(installation, 10)
		a.metrics.RateLimitRemaining.WithLabelValues(id, resource).Set(float64(remaining))
		a.metrics.RateLimitLimit.WithLabelValues(id, resource).Set(float64(limit))
	}
}

// RateLimits returns the rate limits last seen, by installation then
// resource.
func (a *App) RateLimits() []app.RateLimit {
	a.limits.mu.Lock()
	out := make([]app.RateLimit, 0, len(a.limits.last))
	for _, rl := range a.limits.last {
		out = append(out, rl)
	}
	a.limits.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Installation != out[j].Installation {
			return out[i].Installation < out[j].Installation
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}
