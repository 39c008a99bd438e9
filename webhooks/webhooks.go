// Package webhooks is backstory's HTTP ingress for GitHub webhooks
// (POST /webhooks/github): it verifies a delivery's signature, stores it in
// the durable inbox, and acknowledges it. Processing happens later, from the
// inbox (app.Worker): GitHub waits only 10 seconds for an answer and never
// retries on its own, so the answer must not wait for GitHub API calls.
//
// What a delivery gets:
//
//	405 not POST
//	413 body over MaxBody (from Content-Length, or while reading); nothing stored
//	401 X-Hub-Signature-256 missing or wrong (checked before anything is parsed)
//	400 X-GitHub-Event or X-GitHub-Delivery missing or malformed; body not a JSON object
//	415 form-encoded payload: the webhook must send application/json
//	200 ping; an event backstory does not handle (nothing stored)
//	202 stored, or already stored (a redelivery)
//	503 the store failed: GitHub marks the delivery failed, and backstory's
//	    redelivery sweep asks for it again
//
// Bad input never gets a 5xx: a 5xx means "try again", and trying again
// cannot fix it.
//
// The payload is read once, by a small JSON scanner (payload.go) that checks
// the whole body and picks out the few fields ingress needs, about four
// times faster than json.Unmarshal into a struct; a fuzz test holds it to
// encoding/json's verdicts and values.
//
// Form-encoded payloads (GitHub's other webhook content type) are refused
// with 415, not decoded. The App that backstory setup creates sends JSON; a
// form payload means someone changed the App's webhook content type (the
// "content_type": "form" of GET /app/hook/config) or pointed a repository
// or organisation webhook here by hand. The answer, which GitHub shows in
// the App's "Recent Deliveries", says to set it back to JSON: decoding
// instead would store a body other than the one received and signed, which
// app.Delivery.Payload promises to keep.
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
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// DefaultMaxBody is GitHub's own cap on a webhook payload: larger payloads
// are never sent.
const DefaultMaxBody = 25 << 20

// DefaultEnqueueTimeout bounds the store write so that a stuck store answers
// 503 before GitHub gives up at 10 s: a recorded failure is one the
// redelivery sweep finds.
const DefaultEnqueueTimeout = 8 * time.Second

// Config configures a Handler.
type Config struct {
	// Secret is the App's webhook secret. Required.
	Secret []byte
	// Inbox stores accepted deliveries. Required.
	Inbox app.Inbox
	// Events are the X-GitHub-Event values backstory handles; deliveries of
	// other events are answered 200 and not stored. Required.
	Events map[string]bool
	// Metrics may be nil.
	Metrics *app.Metrics
	// Log may be nil: slog.Default().
	Log *slog.Logger
	// MaxBody is the largest body accepted, in bytes (default 25 MB).
	MaxBody int64
	// EnqueueTimeout bounds the store write (default 8 s).
	EnqueueTimeout time.Duration
	// Now stamps Delivery.ReceivedAt (default time.Now).
	Now func() time.Time
	// Notify, if set, is called after a new delivery is stored, to wake the
	// worker (app.Worker.Notify).
	Notify func()
}

// Handler serves POST /webhooks/github. Make one with New.
type Handler struct {
	secret         []byte
	inbox          app.Inbox
	events         map[string]bool
	metrics        *app.Metrics
	log            *slog.Logger
	maxBody        int64
	enqueueTimeout time.Duration
	now            func() time.Time
	notify         func()
}

// New checks cfg and returns a Handler. It refuses to make one without a
// secret: an unverified endpoint would let anyone make backstory act.
func New(cfg Config) (*Handler, error) {
	if len(cfg.Secret) == 0 {
		return nil, errors.New("webhooks: no webhook secret: set the App's webhook secret (the one GitHub signs deliveries with)")
	}
	if cfg.Inbox == nil {
		return nil, errors.New("webhooks: no inbox to store deliveries in")
	}
	if len(cfg.Events) == 0 {
		return nil, errors.New("webhooks: no events to handle: every delivery would be dropped")
	}
	h := &Handler{
		secret:         bytes.Clone(cfg.Secret),
		inbox:          cfg.Inbox,
		events:         make(map[string]bool, len(cfg.Events)),
		metrics:        cfg.Metrics,
		log:            cfg.Log,
		maxBody:        cfg.MaxBody,
		enqueueTimeout: cfg.EnqueueTimeout,
		now:            cfg.Now,
		notify:         cfg.Notify,
	}
	for e, ok := range cfg.Events {
		if ok {
			h.events[e] = true
		}
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.enqueueTimeout <= 0 {
		h.enqueueTimeout = DefaultEnqueueTimeout
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// The outcomes, as counted in app.Metrics.WebhookRequests.
const (
	outcomeAccepted     = "accepted"
	outcomeDuplicate    = "duplicate"
	outcomeIgnored      = "ignored"
	outcomeBadSignature = "bad_signature"
	outcomeTooLarge     = "too_large"
	outcomeBadRequest   = "bad_request"
	outcomeStoreError   = "store_error"
)

// Limits on the identifying headers, far above what GitHub sends (a GUID;
// an event name of a few words), so that a bad sender cannot fill the
// inbox's columns or the logs.
const (
	maxDeliveryID = 128
	maxEventName  = 64
)

// ServeHTTP answers one delivery. See the package doc for the statuses.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	event := r.Header.Get("X-GitHub-Event")
	// Before the signature is checked the header is anyone's: only known
	// events become metric labels, so that a stranger cannot mint series.
	label := h.eventLabel(event)

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, r, label, outcomeBadRequest, http.StatusMethodNotAllowed, "only POST is accepted here")
		return
	}
	body, status, err := h.readBody(w, r)
	if err != nil {
		outcome := outcomeBadRequest
		if status == http.StatusRequestEntityTooLarge {
			outcome = outcomeTooLarge
		}
		h.reject(w, r, label, outcome, status, err.Error())
		return
	}
	if msg := h.verify(r.Header.Get("X-Hub-Signature-256"), body); msg != "" {
		h.reject(w, r, label, outcomeBadSignature, http.StatusUnauthorized, msg)
		return
	}

	id := r.Header.Get("X-GitHub-Delivery")
	if msg := checkHeaders(event, id); msg != "" {
		h.reject(w, r, label, outcomeBadRequest, http.StatusBadRequest, msg)
		return
	}
	log := h.log.With("delivery", id, "event", event)
	if isForm(r.Header.Get("Content-Type")) {
		h.reject(w, r, label, outcomeBadRequest, http.StatusUnsupportedMediaType,
			"form-encoded payloads are not accepted: set the webhook's content type to application/json")
		return
	}
	if event == "ping" {
		h.count(label, outcomeIgnored)
		log.Info("webhook ping")
		writeJSON(w, http.StatusOK, `{"ok":"pong"}`)
		return
	}
	if !h.events[event] {
		h.count(label, outcomeIgnored)
		log.Debug("webhook ignored: event not handled")
		writeJSON(w, http.StatusOK, `{"ok":"ignored: backstory does not handle this event"}`)
		return
	}

	d, err := parse(event, body)
	if err != nil {
		h.reject(w, r, label, outcomeBadRequest, http.StatusBadRequest, err.Error())
		return
	}
	d.ID, d.Event, d.Payload, d.ReceivedAt = id, event, body, h.now()
	log = log.With("action", d.Action, "installation", d.InstallationID, "repository", d.Repository)

	// The write must not die with the request: GitHub may hang up at 10 s
	// while the store is still committing.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.enqueueTimeout)
	stored, err := h.inbox.Enqueue(ctx, d)
	cancel()
	if err != nil {
		h.count(label, outcomeStoreError)
		log.Error("webhook not stored; GitHub will mark the delivery failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, `{"error":"backstory could not store the delivery; it asks GitHub to redeliver failed deliveries"}`)
		return
	}
	h.observe(start)
	if !stored {
		h.count(label, outcomeDuplicate)
		log.Info("webhook already received")
		writeJSON(w, http.StatusAccepted, `{"ok":"already received"}`)
		return
	}
	h.count(label, outcomeAccepted)
	log.Info("webhook accepted", "bytes", len(body))
	writeJSON(w, http.StatusAccepted, `{"ok":"accepted"}`)
	if h.notify != nil {
		h.notify()
	}
}

// readBody reads the whole body, refusing one over maxBody before reading
// it when Content-Length says so.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	tooLarge := fmt.Errorf("payload over %d bytes", h.maxBody)
	if r.ContentLength > h.maxBody {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	// MaxBytesReader also tells the server to close the connection rather
	// than drain an oversized body.
	body := http.MaxBytesReader(w, r.Body, h.maxBody)
	// The length is the sender's word, and nothing is verified yet: trust
	// it for the first allocation only up to a megabyte, so unsigned
	// requests cannot make the server reserve 25 MB each.
	var b bytes.Buffer
	if r.ContentLength > 0 {
		b.Grow(int(min(r.ContentLength, 1<<20)) + bytes.MinRead)
	}
	_, err := b.ReadFrom(body)
	buf := b.Bytes()
	if err == nil && r.ContentLength >= 0 && int64(len(buf)) != r.ContentLength {
		err = fmt.Errorf("body is %d bytes, Content-Length said %d", len(buf), r.ContentLength)
	}
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("reading the payload: %v", err)
	}
	return buf, 0, nil
}

// verify checks X-Hub-Signature-256 against the body and returns what is
// wrong, or "".
func (h *Handler) verify(header string, body []byte) string {
	if header == "" {
		return "no X-Hub-Signature-256 header: set a webhook secret on the GitHub App"
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return `X-Hub-Signature-256 does not start with "sha256="`
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil || len(sig) != sha256.Size {
		return "X-Hub-Signature-256 is not a hex SHA-256 HMAC"
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return "signature does not match: the App's webhook secret and backstory's differ"
	}
	return ""
}

// checkHeaders returns what is wrong with the identifying headers, or "".
func checkHeaders(event, id string) string {
	switch {
	case event == "":
		return "no X-GitHub-Event header"
	case len(event) > maxEventName || !isToken(event):
		return "X-GitHub-Event is not an event name"
	case id == "":
		return "no X-GitHub-Delivery header"
	case len(id) > maxDeliveryID || !isToken(id):
		return "X-GitHub-Delivery is not a delivery id"
	}
	return ""
}

// isToken reports whether s has only the characters of GitHub's event names
// and delivery GUIDs (and nothing that could break a log line).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

func (h *Handler) eventLabel(event string) string {
	if h.events[event] || event == "ping" {
		return event
	}
	return "other"
}

func (h *Handler) count(event, outcome string) {
	if h.metrics != nil {
		h.metrics.WebhookRequests.WithLabelValues(event, outcome).Inc()
	}
}

func (h *Handler) observe(start time.Time) {
	if h.metrics != nil {
		h.metrics.WebhookAckSeconds.Observe(time.Since(start).Seconds())
	}
}

// reject answers an error: msg is for the admin reading the delivery in
// GitHub's "Recent Deliveries", so it says what to fix.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, label, outcome string, status int, msg string) {
	h.count(label, outcome)
	h.log.Warn("webhook rejected", "status", status, "reason", msg,
		"delivery", limit(r.Header.Get("X-GitHub-Delivery")), "event", limit(r.Header.Get("X-GitHub-Event")),
		"remote", r.RemoteAddr)
	body, _ := json.Marshal(map[string]string{"error": msg})
	writeJSON(w, status, string(body))
}

// limit shortens an untrusted header for a log line.
func limit(s string) string {
	if len(s) > maxDeliveryID {
		return s[:maxDeliveryID] + "…"
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body+"\n")
}
