package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github/githubtest"
	"github.com/backstory-dev/backstory/app/memory"
)

var (
	testSecret = []byte("s3cr3t, not the App's")
	received   = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	// handled is what backstory's serve is expected to register; the test
	// only needs a realistic mix of handled and ignored events.
	handled = map[string]bool{
		"pull_request": true, "check_suite": true, "check_run": true, "merge_group": true,
		"push": true, "installation": true, "installation_repositories": true,
	}
)

func sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// syncBuffer collects logs written from handler goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	h        *Handler
	store    *memory.Store
	metrics  *app.Metrics
	logs     *syncBuffer
	notified atomic.Int32
}

func newFixture(t testing.TB, change func(*Config)) *fixture {
	t.Helper()
	f := &fixture{store: memory.New(), metrics: app.NewMetrics(nil), logs: &syncBuffer{}}
	cfg := Config{
		Secret:  testSecret,
		Inbox:   f.store,
		Events:  handled,
		Metrics: f.metrics,
		Log:     slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:     func() time.Time { return received },
		Notify:  func() { f.notified.Add(1) },
	}
	if change != nil {
		change(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

// request is one delivery as GitHub would send it.
type request struct {
	method      string
	event, id   string
	signature   string // "": signed with testSecret; "-": no header
	contentType string // "": application/json
	body        []byte
	chunked     bool // no Content-Length
}

func (f *fixture) do(r request) *httptest.ResponseRecorder {
	if r.method == "" {
		r.method = http.MethodPost
	}
	var body io.Reader = bytes.NewReader(r.body)
	if r.chunked {
		body = io.MultiReader(body) // hides the length from NewRequest
	}
	req := httptest.NewRequest(r.method, "/webhooks/github", body)
	if r.chunked {
		req.ContentLength = -1
	}
	if r.event != "" {
		req.Header.Set("X-GitHub-Event", r.event)
	}
	if r.id != "" {
		req.Header.Set("X-GitHub-Delivery", r.id)
	}
	switch r.signature {
	case "":
		req.Header.Set("X-Hub-Signature-256", sign(testSecret, r.body))
	case "-":
	default:
		req.Header.Set("X-Hub-Signature-256", r.signature)
	}
	if r.contentType == "" {
		r.contentType = "application/json"
	}
	req.Header.Set("Content-Type", r.contentType)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) stored(t *testing.T) int {
	t.Helper()
	counts, err := f.store.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

func (f *fixture) requests(t *testing.T, event, outcome string) float64 {
	t.Helper()
	var m dto.Metric
	if err := f.metrics.WebhookRequests.WithLabelValues(event, outcome).(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestSignatureTestVectorFromGitHubDocs(t *testing.T) {
	h, err := New(Config{Secret: []byte("It's a Secret to Everybody"), Inbox: memory.New(), Events: handled})
	if err != nil {
		t.Fatal(err)
	}
	const good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if msg := h.verify(good, []byte("Hello, World!")); msg != "" {
		t.Errorf("GitHub's test vector rejected: %s", msg)
	}
	if msg := h.verify(good, []byte("Hello, World?")); msg == "" {
		t.Error("a changed payload was accepted")
	}
	if msg := h.verify(strings.ToUpper(good[:7])+good[7:], []byte("Hello, World!")); msg == "" {
		t.Error("a prefix other than sha256= was accepted")
	}
}

// readCorpus returns every one of GitHub's example payloads (from
// octokit/webhooks, as the shared corpus holds them).
func readCorpus(t *testing.T) []githubtest.PayloadFile {
	t.Helper()
	files, err := githubtest.Payloads()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// corpusPayload returns the example payload file of event.
func corpusPayload(tb testing.TB, event, file string) []byte {
	tb.Helper()
	body, err := githubtest.Payload(event, file)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// expect works out, independently of the handler's decoding, what a
// payload's delivery must hold.
func expect(t *testing.T, event string, body []byte) (action string, installation int64, repo, key string) {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	str := func(m any, path ...string) string {
		for _, k := range path {
			obj, _ := m.(map[string]any)
			m = obj[k]
		}
		s, _ := m.(string)
		return s
	}
	action = str(p, "action")
	if inst, ok := p["installation"].(map[string]any); ok {
		installation = int64(inst["id"].(float64))
	}
	repo = str(p, "repository", "full_name")
	var sha string
	switch event {
	case "pull_request":
		sha = str(p, "pull_request", "head", "sha")
	case "check_suite", "check_run", "merge_group":
		sha = str(p, event, "head_sha")
	}
	if sha != "" {
		key = repo + "@" + sha
	}
	return action, installation, repo, key
}

func TestCorpusPayloads(t *testing.T) {
	f := newFixture(t, nil)
	files := readCorpus(t)
	ctx := context.Background()
	wantStored := 0
	for i, c := range files {
		id := fmt.Sprintf("d%03d-%s", i, strings.TrimSuffix(c.Name, ".json"))
		rec := f.do(request{event: c.Event, id: id, body: c.Body})
		d, err := f.store.Delivery(ctx, id)
		switch {
		case c.Event == "ping":
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"pong"`) {
				t.Errorf("%s/%s: %d %s, want 200 pong", c.Event, c.Name, rec.Code, rec.Body)
			}
			if err == nil {
				t.Errorf("%s/%s: a ping was stored", c.Event, c.Name)
			}
		case !handled[c.Event]:
			if rec.Code != http.StatusOK {
				t.Errorf("%s/%s: %d %s, want 200 (ignored)", c.Event, c.Name, rec.Code, rec.Body)
			}
			if err == nil {
				t.Errorf("%s/%s: an unhandled event was stored", c.Event, c.Name)
			}
		default:
			wantStored++
			if rec.Code != http.StatusAccepted {
				t.Errorf("%s/%s: %d %s, want 202", c.Event, c.Name, rec.Code, rec.Body)
				continue
			}
			if err != nil {
				t.Errorf("%s/%s: not stored: %v", c.Event, c.Name, err)
				continue
			}
			action, inst, repo, key := expect(t, c.Event, c.Body)
			if d.Event != c.Event || d.Action != action || d.InstallationID != inst || d.Repository != repo || d.Key != key {
				t.Errorf("%s/%s: stored event=%q action=%q installation=%d repository=%q key=%q; want %q %q %d %q %q",
					c.Event, c.Name, d.Event, d.Action, d.InstallationID, d.Repository, d.Key, c.Event, action, inst, repo, key)
			}
			if !bytes.Equal(d.Payload, c.Body) || !d.ReceivedAt.Equal(received) || d.State != app.StatePending {
				t.Errorf("%s/%s: payload, time or state changed: %v %s", c.Event, c.Name, d.ReceivedAt, d.State)
			}
		}
	}
	if got := f.stored(t); got != wantStored || wantStored < 40 {
		t.Errorf("%d deliveries stored, want %d (and at least 40)", got, wantStored)
	}
	if got := int(f.notified.Load()); got != wantStored {
		t.Errorf("Notify called %d times, want %d", got, wantStored)
	}
	if got := f.requests(t, "pull_request", "accepted"); got != 28 {
		t.Errorf("pull_request accepted = %v, want 28", got)
	}
	if got := f.requests(t, "other", "ignored"); got == 0 {
		t.Error("no ignored events counted")
	}
}

// TestCorpusKnownValues pins a few payloads to values read by hand, in case
// the test's own decoding and the handler's were wrong the same way.
func TestCorpusKnownValues(t *testing.T) {
	tests := []struct {
		file                string
		action              string
		installation        int64
		repository, key     string
		wantIgnoredOrStored int
	}{
		{"pull_request/opened.payload.json", "opened", 1, "Codertocat/Hello-World", "Codertocat/Hello-World@ec26c3e57ca3a959ca5aad62de7213c562f8c821", 202},
		{"pull_request/ready_for_review.payload.json", "ready_for_review", 0, "Codertocat/Hello-World", "Codertocat/Hello-World@ec26c3e57ca3a959ca5aad62de7213c562f8c821", 202},
		{"check_run/requested_action.payload.json", "requested_action", 690857, "electron/electron", "electron/electron@5bd5f196a46b8222fb7484f05faba41a73cf34bd", 202},
		{"check_suite/requested.payload.json", "requested", 957387, "Codertocat/Hello-World", "Codertocat/Hello-World@f95f852bd8fca8fcc58a9a2d6c842781e32a215e", 202},
		{"merge_group/checks_requested.payload.json", "checks_requested", 1, "octo-org/octo-repo", "octo-org/octo-repo@2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d", 202},
		{"push/with-installation.payload.json", "", 1, "Codertocat/Hello-World", "", 202},
		{"installation/suspend.payload.json", "suspend", 16598467, "", "", 202},
		{"pull_request_review/submitted.payload.json", "", 0, "", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			event, file, _ := strings.Cut(tt.file, "/")
			body := corpusPayload(t, event, file)
			f := newFixture(t, nil)
			rec := f.do(request{event: event, id: "x", body: body})
			if rec.Code != tt.wantIgnoredOrStored {
				t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, tt.wantIgnoredOrStored)
			}
			if rec.Code != http.StatusAccepted {
				return
			}
			d, err := f.store.Delivery(context.Background(), "x")
			if err != nil {
				t.Fatal(err)
			}
			if d.Action != tt.action || d.InstallationID != tt.installation || d.Repository != tt.repository || d.Key != tt.key {
				t.Errorf("got %q %d %q %q", d.Action, d.InstallationID, d.Repository, d.Key)
			}
		})
	}
}

func TestAcceptedLogAndAnswer(t *testing.T) {
	f := newFixture(t, nil)
	body := []byte(`{"action":"opened","installation":{"id":42},"repository":{"full_name":"o/r"},"pull_request":{"head":{"sha":"abc"}}}`)
	rec := f.do(request{event: "pull_request", id: "72d3162e-cc78-11e3-81ab-4c9367dc0958", body: body})
	if rec.Code != http.StatusAccepted || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	var answer map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || answer["ok"] != "accepted" {
		t.Errorf("answer %s: %v", rec.Body, err)
	}
	logs := f.logs.String()
	for _, want := range []string{"delivery=72d3162e-cc78-11e3-81ab-4c9367dc0958", "event=pull_request", "action=opened", "installation=42", "repository=o/r"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	var m dto.Metric
	if err := f.metrics.WebhookAckSeconds.(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("ack histogram count = %d, want 1", m.GetHistogram().GetSampleCount())
	}
}

func TestRejections(t *testing.T) {
	pr := []byte(`{"action":"opened","repository":{"full_name":"o/r"},"pull_request":{"head":{"sha":"abc"}}}`)
	tests := []struct {
		name    string
		req     request
		status  int
		outcome string
		label   string // metric event label
		answer  string // in the body
	}{
		{"GET", request{method: http.MethodGet, event: "pull_request", id: "1", body: nil}, 405, "bad_request", "pull_request", "only POST"},
		{"no signature", request{event: "pull_request", id: "1", signature: "-", body: pr}, 401, "bad_signature", "pull_request", "no X-Hub-Signature-256"},
		{"other secret", request{event: "pull_request", id: "1", signature: sign([]byte("other"), pr), body: pr}, 401, "bad_signature", "pull_request", "does not match"},
		{"sha1 signature", request{event: "pull_request", id: "1", signature: "sha1=0123456789abcdef0123456789abcdef01234567", body: pr}, 401, "bad_signature", "pull_request", "sha256="},
		{"not hex", request{event: "pull_request", id: "1", signature: "sha256=" + strings.Repeat("zz", 32), body: pr}, 401, "bad_signature", "pull_request", "not a hex"},
		{"short signature", request{event: "pull_request", id: "1", signature: sign(testSecret, pr)[:40], body: pr}, 401, "bad_signature", "pull_request", "not a hex"},
		{"tampered body", request{event: "pull_request", id: "1", signature: sign(testSecret, pr), body: bytes.Replace(pr, []byte("abc"), []byte("abd"), 1)}, 401, "bad_signature", "pull_request", "does not match"},
		{"bad signature and no headers", request{signature: "sha256=00", body: pr}, 401, "bad_signature", "other", ""},
		{"unknown event unsigned", request{event: "made_up_event", id: "1", signature: "-", body: pr}, 401, "bad_signature", "other", ""},
		{"too large by Content-Length", request{event: "pull_request", id: "1", body: bytes.Repeat([]byte(" "), 2049)}, 413, "too_large", "pull_request", "over 2048 bytes"},
		{"too large while reading", request{event: "pull_request", id: "1", body: bytes.Repeat([]byte(" "), 2049), chunked: true}, 413, "too_large", "pull_request", "over 2048 bytes"},
		{"no event", request{id: "1", body: pr}, 400, "bad_request", "other", "no X-GitHub-Event"},
		{"no delivery id", request{event: "pull_request", body: pr}, 400, "bad_request", "pull_request", "no X-GitHub-Delivery"},
		{"delivery id with a newline", request{event: "pull_request", id: "1\nlevel=ERROR", body: pr}, 400, "bad_request", "pull_request", "not a delivery id"},
		{"delivery id too long", request{event: "pull_request", id: strings.Repeat("a", 129), body: pr}, 400, "bad_request", "pull_request", "not a delivery id"},
		{"event with a space", request{event: "pull request", id: "1", body: pr}, 400, "bad_request", "other", "not an event name"},
		{"malformed JSON", request{event: "pull_request", id: "1", body: []byte(`{"action":`)}, 400, "bad_request", "pull_request", "not valid JSON"},
		{"trailing garbage", request{event: "pull_request", id: "1", body: []byte(`{"action":"opened"} x`)}, 400, "bad_request", "pull_request", "not valid JSON"},
		{"JSON array", request{event: "pull_request", id: "1", body: []byte(`[1,2]`)}, 400, "bad_request", "pull_request", "not a JSON object"},
		{"JSON null", request{event: "pull_request", id: "1", body: []byte(`null`)}, 400, "bad_request", "pull_request", "not a JSON object"},
		{"empty body", request{event: "pull_request", id: "1", body: []byte{}}, 400, "bad_request", "pull_request", "not a JSON object"},
		{"installation id a string", request{event: "pull_request", id: "1", body: []byte(`{"installation":{"id":"1"}}`)}, 400, "bad_request", "pull_request", "installation.id is not an integer"},
		{"form encoded", request{event: "pull_request", id: "1", contentType: "application/x-www-form-urlencoded", body: []byte("payload=" + string(pr))}, 415, "bad_request", "pull_request", "application/json"},
		{"unhandled event", request{event: "issue_comment", id: "1", body: []byte(`not even JSON`)}, 200, "ignored", "other", "ignored"},
		{"ping", request{event: "ping", id: "1", body: []byte(`{"zen":"Design for failure."}`)}, 200, "ignored", "ping", "pong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.MaxBody = 2048 })
			rec := f.do(tt.req)
			if rec.Code != tt.status {
				t.Errorf("status %d %s, want %d", rec.Code, rec.Body, tt.status)
			}
			if !strings.Contains(rec.Body.String(), tt.answer) || !json.Valid(rec.Body.Bytes()) {
				t.Errorf("answer %s, want JSON with %q", rec.Body, tt.answer)
			}
			if tt.status == 405 && rec.Header().Get("Allow") != "POST" {
				t.Errorf("Allow: %q", rec.Header().Get("Allow"))
			}
			if n := f.stored(t); n != 0 {
				t.Errorf("%d deliveries stored", n)
			}
			if f.notified.Load() != 0 {
				t.Error("the worker was notified")
			}
			if got := f.requests(t, tt.label, tt.outcome); got != 1 {
				t.Errorf("requests{%s,%s} = %v, want 1", tt.label, tt.outcome, got)
			}
		})
	}
}

func TestDuplicateDelivery(t *testing.T) {
	f := newFixture(t, nil)
	body := []byte(`{"action":"opened","repository":{"full_name":"o/r"}}`)
	first := f.do(request{event: "pull_request", id: "same", body: body})
	again := f.do(request{event: "pull_request", id: "same", body: body})
	if first.Code != http.StatusAccepted || again.Code != http.StatusAccepted {
		t.Fatalf("statuses %d, %d; want 202 twice", first.Code, again.Code)
	}
	if !strings.Contains(again.Body.String(), "already received") {
		t.Errorf("second answer %s", again.Body)
	}
	if f.stored(t) != 1 || f.notified.Load() != 1 {
		t.Errorf("stored %d, notified %d; want 1, 1", f.stored(t), f.notified.Load())
	}
	if f.requests(t, "pull_request", "accepted") != 1 || f.requests(t, "pull_request", "duplicate") != 1 {
		t.Error("accepted and duplicate not counted once each")
	}
}

// brokenInbox fails every write, and remembers the context it was given.
type brokenInbox struct {
	app.Inbox
	ctxErr error
}

func (b *brokenInbox) Enqueue(ctx context.Context, d app.Delivery) (bool, error) {
	b.ctxErr = ctx.Err()
	return false, errors.New("database is locked")
}

func TestStoreErrorIs503(t *testing.T) {
	inbox := &brokenInbox{Inbox: memory.New()}
	f := newFixture(t, func(c *Config) { c.Inbox = inbox })
	rec := f.do(request{event: "pull_request", id: "1", body: []byte(`{}`)})
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "locked") {
		t.Errorf("the store's error reached the client: %s", rec.Body)
	}
	if !strings.Contains(f.logs.String(), "database is locked") || !strings.Contains(f.logs.String(), "delivery=1") {
		t.Errorf("the cause is not logged:\n%s", f.logs)
	}
	if f.requests(t, "pull_request", "store_error") != 1 || f.notified.Load() != 0 {
		t.Error("store error not counted, or the worker notified")
	}
}

func TestStoreWriteOutlivesTheRequest(t *testing.T) {
	inbox := &brokenInbox{Inbox: memory.New()}
	f := newFixture(t, func(c *Config) { c.Inbox = inbox })
	body := []byte(`{}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // GitHub hung up
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/webhooks/github", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", "1")
	req.Header.Set("X-Hub-Signature-256", sign(testSecret, body))
	f.h.ServeHTTP(httptest.NewRecorder(), req)
	if inbox.ctxErr != nil {
		t.Errorf("the store write got a cancelled context: %v", inbox.ctxErr)
	}
}

func TestNewRefuses(t *testing.T) {
	inbox := memory.New()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no secret", Config{Inbox: inbox, Events: handled}, "no webhook secret"},
		{"empty secret", Config{Secret: []byte{}, Inbox: inbox, Events: handled}, "no webhook secret"},
		{"no inbox", Config{Secret: testSecret, Events: handled}, "no inbox"},
		{"no events", Config{Secret: testSecret, Inbox: inbox}, "no events"},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}

func TestSecretIsCopied(t *testing.T) {
	secret := []byte("abc")
	h, err := New(Config{Secret: secret, Inbox: memory.New(), Events: handled})
	if err != nil {
		t.Fatal(err)
	}
	secret[0] = 'X'
	if msg := h.verify(sign([]byte("abc"), []byte("{}")), []byte("{}")); msg != "" {
		t.Error("changing the caller's slice changed the secret")
	}
}

// TestOverHTTP drives a real server, where Content-Length, chunked bodies
// and connection handling are real.
func TestOverHTTP(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxBody = 64 << 10 })
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	body := corpusPayload(t, "pull_request", "synchronize.payload.json")
	post := func(id string, r io.Reader, length int64, sig string) (int, error) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/github", r)
		if err != nil {
			return 0, err
		}
		req.ContentLength = length
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := srv.Client().Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if code, err := post("a", bytes.NewReader(body), int64(len(body)), sign(testSecret, body)); err != nil || code != 202 {
		t.Errorf("with Content-Length: %d %v", code, err)
	}
	if code, err := post("b", io.MultiReader(bytes.NewReader(body)), -1, sign(testSecret, body)); err != nil || code != 202 {
		t.Errorf("chunked: %d %v", code, err)
	}
	// 1 MB chunked over a 64 KB limit: refused while reading. The server
	// may close the connection before the client has sent everything.
	big := bytes.Repeat([]byte("x"), 1<<20)
	if code, err := post("c", io.MultiReader(bytes.NewReader(big)), -1, sign(testSecret, big)); err == nil && code != 413 {
		t.Errorf("oversized chunked body: %d, want 413", code)
	}
	if code, err := post("d", bytes.NewReader(big), int64(len(big)), sign(testSecret, big)); err == nil && code != 413 {
		t.Errorf("oversized body: %d, want 413", code)
	}
	if n := f.stored(t); n != 2 {
		t.Errorf("%d stored, want 2", n)
	}
	if f.requests(t, "pull_request", "too_large") != 2 {
		t.Error("oversized bodies not counted")
	}
}

// FuzzHandler throws arbitrary headers and bodies at the handler: it must
// never panic, never answer 5xx to input (the memory store does not fail),
// never store what is not signed with the secret, and store exactly what a
// signed, well-formed delivery says.
func FuzzHandler(f *testing.F) {
	seed := func(event string, body []byte) {
		f.Add("POST", event, "id-1", true, "", "application/json", body)
		f.Add("POST", event, "id-1", false, sign([]byte("other"), body), "application/json", body)
	}
	files, err := githubtest.Payloads()
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files[:min(len(files), 12)] {
		seed(p.Event, p.Body)
	}
	seed("pull_request", []byte(`{"action":"opened","installation":{"id":1},"repository":{"full_name":"o/r"},"pull_request":{"head":{"sha":"a"}}}`))
	seed("check_run", []byte(`{"check_run":{"head_sha":7}}`))
	seed("ping", []byte(`{}`))
	seed("push", []byte(`[]`))
	f.Add("GET", "pull_request", "", false, "sha256=", "text/plain", []byte("\x00"))
	f.Add("POST", "pull_request", "id", true, "", "application/x-www-form-urlencoded; charset=utf-8", []byte("payload=%7B%7D"))

	f.Fuzz(func(t *testing.T, method, event, id string, signed bool, signature, contentType string, body []byte) {
		store := memory.New()
		h, err := New(Config{
			Secret: testSecret, Inbox: store, Events: handled, MaxBody: 1 << 20,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return received },
		})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(body))
		req.Method = method
		req.Header["X-Github-Event"] = []string{event}
		req.Header["X-Github-Delivery"] = []string{id}
		req.Header["Content-Type"] = []string{contentType}
		if signed {
			signature = sign(testSecret, body)
		}
		req.Header["X-Hub-Signature-256"] = []string{signature}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		counts, _ := store.Counts(context.Background())
		n := counts[app.StatePending]
		valid := h.verify(signature, body) == ""
		switch {
		case rec.Code >= 500:
			t.Fatalf("status %d for input: %s", rec.Code, rec.Body)
		case !valid && n != 0:
			t.Fatal("stored a delivery without a valid signature")
		case !valid && rec.Code != 401 && rec.Code != 405:
			t.Fatalf("invalid signature answered %d", rec.Code)
		case rec.Code == http.StatusAccepted && n != 1, rec.Code != http.StatusAccepted && n != 0:
			t.Fatalf("status %d with %d stored", rec.Code, n)
		}
		if n == 1 {
			d, err := store.Delivery(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			want, err := parse(event, body)
			if err != nil {
				t.Fatalf("stored a payload that does not parse: %v", err)
			}
			if !handled[event] || !bytes.Equal(d.Payload, body) || d.Event != event || d.Action != want.Action ||
				d.InstallationID != want.InstallationID || d.Repository != want.Repository || d.Key != want.Key {
				t.Fatalf("stored %+v for event %q", d, event)
			}
		}
	})
}

func BenchmarkHandler(b *testing.B) {
	body := corpusPayload(b, "pull_request", "labeled.payload.json")
	h, err := New(Config{
		Secret: testSecret, Inbox: nopInbox{}, Events: handled,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	sig := sign(testSecret, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
		req.Header.Set("X-Hub-Signature-256", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatal(rec.Code)
		}
	}
}

// nopInbox accepts everything and keeps nothing, to time the handler alone.
type nopInbox struct{ app.Inbox }

func (nopInbox) Enqueue(context.Context, app.Delivery) (bool, error) { return true, nil }

// TestHandlerWakesWorker wires the handler to a worker as backstory serve
// does: a stored delivery is processed at once, though the worker's poll
// interval is an hour.
func TestHandlerWakesWorker(t *testing.T) {
	store := memory.New()
	processed := make(chan app.Delivery, 1)
	w := &app.Worker{
		Inbox: store, Name: "w", Poll: time.Hour,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Processor: app.ProcessorFunc(func(ctx context.Context, d app.Delivery) error {
			processed <- d
			return nil
		}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(10 * time.Millisecond) // let the worker go idle first

	f := newFixture(t, func(c *Config) { c.Inbox, c.Notify = store, w.Notify })
	body := []byte(`{"action":"synchronize","installation":{"id":9},"repository":{"full_name":"o/r"},"pull_request":{"head":{"sha":"abc"}}}`)
	if rec := f.do(request{event: "pull_request", id: "e2e", body: body}); rec.Code != http.StatusAccepted {
		t.Fatalf("status %d", rec.Code)
	}
	select {
	case d := <-processed:
		if d.ID != "e2e" || d.Key != "o/r@abc" || d.InstallationID != 9 || !bytes.Equal(d.Payload, body) {
			t.Errorf("processed %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the worker did not wake up")
	}
}
