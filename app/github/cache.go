package github

import (
	"bytes"
	"container/list"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// etagCache keeps GET responses that carry a validator (ETag or
// Last-Modified), least recently used first out, within a byte budget. It
// never serves a response without asking GitHub: every hit is revalidated,
// because a PR body edited a second ago must be seen, and a 304 costs no
// rate limit.
type etagCache struct {
	mu       sync.Mutex
	budget   int64
	maxEntry int64 // larger responses pass through uncached
	used     int64
	lru      *list.List // of *cacheEntry, most recent at the front
	items    map[string]*list.Element
}

type cacheEntry struct {
	key    string
	header http.Header
	body   []byte
	size   int64
}

func newETagCache(budget int64) *etagCache {
	// One large response (a raw blob) must not flush every PR's entries.
	maxEntry := budget / 8
	if maxEntry < 1 {
		maxEntry = 1
	}
	return &etagCache{budget: budget, maxEntry: maxEntry, lru: list.New(), items: map[string]*list.Element{}}
}

func (c *etagCache) get(key string) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry)
}

func (c *etagCache) put(key string, header http.Header, body []byte) {
	e := &cacheEntry{key: key, header: header, body: body}
	e.size = int64(len(key) + len(body))
	for k, vs := range header {
		e.size += int64(len(k))
		for _, v := range vs {
			e.size += int64(len(v))
		}
	}
	if e.size > c.maxEntry {
		c.remove(key)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.used -= el.Value.(*cacheEntry).size
		c.lru.Remove(el)
	}
	c.items[key] = c.lru.PushFront(e)
	c.used += e.size
	for c.used > c.budget {
		last := c.lru.Back()
		old := last.Value.(*cacheEntry)
		c.lru.Remove(last)
		delete(c.items, old.key)
		c.used -= old.size
	}
}

func (c *etagCache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.used -= el.Value.(*cacheEntry).size
		c.lru.Remove(el)
		delete(c.items, key)
	}
}

// stats reports the entries and bytes held (for tests).
func (c *etagCache) stats() (entries int, used int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.used
}

// cachingTransport makes an installation's GETs conditional. It sits above
// the token transport, so the key needs no token; it holds the
// installation id instead, since two installations may see different
// things at the same URL.
type cachingTransport struct {
	cache        *etagCache
	installation int64
	next         http.RoundTripper
}

func (t *cachingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.cache == nil || req.Method != http.MethodGet || req.Header.Get("Range") != "" ||
		req.Header.Get("If-None-Match") != "" || req.Header.Get("If-Modified-Since") != "" {
		return t.next.RoundTrip(req)
	}
	key := strconv.FormatInt(t.installation, 10) + "\x00" + req.URL.String() + "\x00" + req.Header.Get("Accept")
	cached := t.cache.get(key)
	sent := req
	if cached != nil {
		sent = req.Clone(req.Context())
		if v := cached.header.Get("ETag"); v != "" {
			sent.Header.Set("If-None-Match", v)
		}
		if v := cached.header.Get("Last-Modified"); v != "" {
			sent.Header.Set("If-Modified-Since", v)
		}
	}
	resp, err := t.next.RoundTrip(sent)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && cached != nil:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		header := revalidatedHeader(cached.header, resp.Header)
		if header.Get("ETag") != cached.header.Get("ETag") || header.Get("Last-Modified") != cached.header.Get("Last-Modified") {
			t.cache.put(key, header, cached.body)
		}
		return &http.Response{
			Status:        "200 OK",
			StatusCode:    http.StatusOK,
			Proto:         resp.Proto,
			ProtoMajor:    resp.ProtoMajor,
			ProtoMinor:    resp.ProtoMinor,
			Header:        header,
			Body:          io.NopCloser(bytes.NewReader(cached.body)),
			ContentLength: int64(len(cached.body)),
			Request:       req,
			TLS:           resp.TLS,
		}, nil
	case resp.StatusCode != http.StatusOK:
		return resp, nil
	case resp.Header.Get("ETag") == "" && resp.Header.Get("Last-Modified") == "":
		// Nothing to revalidate with: an entry from before is stale.
		t.cache.remove(key)
		return resp, nil
	case resp.ContentLength > t.cache.maxEntry:
		t.cache.remove(key)
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, t.cache.maxEntry+1))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if int64(len(body)) > t.cache.maxEntry {
		t.cache.remove(key)
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	t.cache.put(key, resp.Header.Clone(), body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// revalidatedHeader is the stored header updated by a 304's, as RFC 9111
// (4.3.4) says: fresh rate-limit figures and validators, the stored
// description of the body.
func revalidatedHeader(stored, fresh http.Header) http.Header {
	h := stored.Clone()
	for k, vs := range fresh {
		switch k {
		case "Content-Length", "Content-Encoding", "Content-Type", "Transfer-Encoding":
			continue
		}
		h[k] = append([]string(nil), vs...)
	}
	return h
}
