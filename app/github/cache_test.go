package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestConditionalRequests(t *testing.T) {
	for _, tt := range []struct {
		name      string
		validator string // response header
		value     string
		request   string // what the second request must carry
	}{
		{"etag", "ETag", `W/"abc123"`, "If-None-Match"},
		{"last-modified", "Last-Modified", "Tue, 12 May 2026 10:00:00 GMT", "If-Modified-Since"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, "")
			var full, notModified atomic.Int32
			s.handle("GET /repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(tt.validator, tt.value)
				w.Header().Set("X-RateLimit-Remaining", "4999")
				if r.Header.Get(tt.request) == tt.value {
					notModified.Add(1)
					w.WriteHeader(http.StatusNotModified)
					return
				}
				full.Add(1)
				writeJSON(w, 200, map[string]any{"number": 1, "title": "Cache me", "body": "Why: because."})
			})
			a := s.app(t, nil)
			c := a.Installation(1)
			first, err := c.PullRequest(context.Background(), "o/r", 1)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				again, err := c.PullRequest(context.Background(), "o/r", 1)
				if err != nil {
					t.Fatalf("call %d: %v", i+2, err)
				}
				if again.Title != "Cache me" || again.Body != first.Body {
					t.Errorf("call %d from a 304: %+v, want the cached pull request", i+2, again)
				}
			}
			if full.Load() != 1 || notModified.Load() != 3 {
				t.Errorf("%d full answers and %d 304s, want 1 and 3", full.Load(), notModified.Load())
			}
		})
	}
}

func TestCacheSkipsWhatCannotBeRevalidated(t *testing.T) {
	s := newServer(t, "")
	var conditional atomic.Int32
	count := func(r *http.Request) {
		if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
			conditional.Add(1)
		}
	}
	// No validator.
	s.handle("GET /repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) {
		count(r)
		writeJSON(w, 200, map[string]any{"number": 1})
	})
	// An error with a validator: not a thing to keep.
	s.handle("GET /repos/o/r/pulls/2", func(w http.ResponseWriter, r *http.Request) {
		count(r)
		w.Header().Set("ETag", `"e"`)
		writeJSON(w, 404, map[string]any{"message": "Not Found"})
	})
	a := s.app(t, nil)
	c := a.Installation(1)
	for range 2 {
		c.PullRequest(context.Background(), "o/r", 1)
		c.PullRequest(context.Background(), "o/r", 2)
	}
	if n := conditional.Load(); n != 0 {
		t.Errorf("%d conditional requests, want none", n)
	}
	if entries, _ := a.cache.stats(); entries != 0 {
		t.Errorf("cache holds %d entries, want 0", entries)
	}
}

func TestCacheIsPerInstallation(t *testing.T) {
	s := newServer(t, "")
	var conditional atomic.Int32
	s.handle("GET /repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" {
			conditional.Add(1)
		}
		w.Header().Set("ETag", `"same"`)
		writeJSON(w, 200, map[string]any{"number": 1})
	})
	a := s.app(t, nil)
	a.Installation(1).PullRequest(context.Background(), "o/r", 1)
	a.Installation(2).PullRequest(context.Background(), "o/r", 1)
	if n := conditional.Load(); n != 0 {
		t.Errorf("installation 2 revalidated installation 1's entry (%d conditional requests)", n)
	}
}

func TestCacheDisabled(t *testing.T) {
	s := newServer(t, "")
	var conditional atomic.Int32
	s.handle("GET /repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" {
			conditional.Add(1)
		}
		w.Header().Set("ETag", `"e"`)
		writeJSON(w, 200, map[string]any{"number": 1})
	})
	a := s.app(t, func(o *Options) { o.CacheBytes = -1 })
	for range 2 {
		if _, err := a.Installation(1).PullRequest(context.Background(), "o/r", 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := conditional.Load(); n != 0 {
		t.Errorf("%d conditional requests with the cache off", n)
	}
}

func TestCacheBudget(t *testing.T) {
	c := newETagCache(8 << 10) // entries up to 1 KiB
	body := []byte(strings.Repeat("x", 500))
	h := http.Header{"Etag": {`"e"`}}
	for i := range 40 {
		c.put(fmt.Sprintf("k%d", i), h, body)
		if _, used := c.stats(); used > 8<<10 {
			t.Fatalf("after %d puts the cache holds %d bytes, over its 8 KiB budget", i+1, used)
		}
	}
	// Least recently used go first: k39 stays, k0 is long gone.
	if c.get("k39") == nil || c.get("k0") != nil {
		t.Errorf("LRU order broken: k39 present=%v, k0 present=%v", c.get("k39") != nil, c.get("k0") != nil)
	}
	// A get refreshes: the oldest entry, once read, outlives the next put.
	entries, _ := c.stats()
	oldest := 40 - entries
	c.get(fmt.Sprintf("k%d", oldest))
	c.put("new", h, body)
	if c.get(fmt.Sprintf("k%d", oldest)) == nil {
		t.Errorf("k%d was read just before the put, yet evicted", oldest)
	}
	if c.get(fmt.Sprintf("k%d", oldest+1)) != nil {
		t.Errorf("k%d should have been evicted", oldest+1)
	}
	// Too large for one entry: not kept, and any older version dropped.
	c.put("big", h, []byte(strings.Repeat("y", 2<<10)))
	if c.get("big") != nil {
		t.Errorf("an entry over budget/8 was kept")
	}
}

func TestLargeResponsePassesThroughUncached(t *testing.T) {
	s := newServer(t, "")
	big := strings.Repeat("z", 64<<10)
	s.handle("GET /repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"big"`)
		// No Content-Length: the cache finds out while reading.
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"number":1,"body":%q}`, big)
		w.(http.Flusher).Flush()
	})
	a := s.app(t, func(o *Options) { o.CacheBytes = 64 << 10 }) // entries up to 8 KiB
	pr, err := a.Installation(1).PullRequest(context.Background(), "o/r", 1)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Body != big {
		t.Errorf("body of %d bytes came back as %d", len(big), len(pr.Body))
	}
	if entries, _ := a.cache.stats(); entries != 0 {
		t.Errorf("a 64 KiB response was cached in a 64 KiB cache")
	}
}
