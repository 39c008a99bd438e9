package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a fake GitHub: the REST API as one GitHub App and its
// installations see it, with state, served over HTTP. Every request is
// validated against GitHub's API description; see the package doc.
//
// A Server is safe for concurrent use.
type Server struct {
	// AppID is the id of the fake's one App: the iss a JWT must carry.
	// Set it with WithAppID; it must not change once the server runs.
	AppID int64

	ts        *httptest.Server
	desc      *description
	vd        *validator
	key       *rsa.PrivateKey
	keyPEM    []byte
	logf      func(format string, args ...any)
	strict    bool
	closeOnce sync.Once
	wg        sync.WaitGroup // OnRedeliver callbacks in flight

	mu            sync.Mutex
	clock         func() time.Time
	offset        time.Duration
	app           appInfo
	installations map[int64]*installation
	repos         map[string]*repo // by lower-case full name
	objects       *objectStore
	tokens        map[string]*token
	downloads     map[string]download // tokens of codeload links
	deliveries    []HookDelivery
	redeliveries  []int64
	onRedeliver   func(HookDelivery) int
	manifestCodes map[string]ManifestApp
	users         map[string]string // lower login -> type, for users the fake has seen
	faults        []pendingFault
	rate          map[string]*rateBucket
	rateLimit     int
	treeLimit     int
	calls         []Call
	violations    []Violation
	fakeErrors    []string
	expected      []*expectation
	nextID        int64
	requestSeq    int64

	// issues by lower-case full name, and members by lower-case org
	// (issues.go); the OAuth web flow (oauth.go).
	issues  map[string]*issueSet
	members map[string]map[string]bool
	oauth   *oauthState
}

// Option configures a Server.
type Option func(*config)

type config struct {
	appID     int64
	descPath  string
	logf      func(string, ...any)
	rateLimit int
	treeLimit int
	addr      string
	tls       bool
	now       func() time.Time
	appPerms  map[string]string
	strict    bool
	keyPEM    []byte
	appSlug   string
	appOwner  string
	appEvents []string
}

// WithAppID sets the App's id (default 1001).
func WithAppID(id int64) Option { return func(c *config) { c.appID = id } }

// WithAppSlug sets the App's slug (default "backstory-test"); its bot login
// is slug + "[bot]".
func WithAppSlug(slug string) Option { return func(c *config) { c.appSlug = slug } }

// WithAppOwner sets the login of the account that owns the App (default
// "backstory-dev").
func WithAppOwner(login string) Option { return func(c *config) { c.appOwner = login } }

// WithPrivateKey makes the App's key the PEM-encoded RSA key given instead
// of a generated one, so that a separate process can be configured with a
// key file written in advance.
func WithPrivateKey(pemBytes []byte) Option { return func(c *config) { c.keyPEM = pemBytes } }

// WithDescription reads GitHub's API description from path (gzipped when
// it ends in .gz) instead of the embedded copy of the shared corpus's.
func WithDescription(path string) Option { return func(c *config) { c.descPath = path } }

// WithLogf logs every request and violation through logf (t.Logf, log.Printf).
func WithLogf(logf func(format string, args ...any)) Option {
	return func(c *config) { c.logf = logf }
}

// WithRateLimit sets the primary rate limit of installations and of the App
// per hour (GitHub's default, 5,000). When it is used up the fake answers
// 403 as GitHub does.
func WithRateLimit(n int) Option { return func(c *config) { c.rateLimit = n } }

// WithTreeLimit sets how many entries a tree lists before it is truncated
// (GitHub: 100,000 entries or 7 MB; default here 100,000).
func WithTreeLimit(n int) Option { return func(c *config) { c.treeLimit = n } }

// WithAddr listens on addr ("127.0.0.1:8765") instead of a random port, for
// a fake that a separate process is configured to use.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithTLS serves HTTPS with a self-signed certificate; Client trusts it.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithNow sets the fake's clock (default time.Now).
func WithNow(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithAppPermissions sets the App's permissions, which new installations
// get (default: those backstory's manifest asks for: checks and issues
// write; contents, pull_requests, metadata, members and merge_queues read).
func WithAppPermissions(perms map[string]string) Option {
	return func(c *config) { c.appPerms = perms }
}

// AllowViolations stops New from failing the test on violations; the test
// inspects Violations itself.
func AllowViolations() Option { return func(c *config) { c.strict = false } }

// defaultAppPermissions mirror what backstory's manifest asks for
// (app/manifest Grants), so that a call the real App may not make is
// refused here as GitHub would refuse it.
var defaultAppPermissions = map[string]string{
	"checks":        "write",
	"issues":        "write",
	"contents":      "read",
	"pull_requests": "read",
	"metadata":      "read",
	"members":       "read",
	"merge_queues":  "read",
}

// New starts a fake GitHub for a test and closes it when the test ends.
// At the end it fails the test for every request that violated GitHub's
// API description and was not declared with ExpectViolation, and for every
// response of the fake that does not match the description. It fails the
// test at once when the server cannot start (a WithDescription that cannot
// be read, say).
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{func(c *config) {
		c.logf = t.Logf
		c.strict = true
	}}, opts...)
	s, err := NewServer(opts...)
	if err != nil {
		t.Fatalf("githubtest: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		for _, msg := range s.problems() {
			t.Errorf("githubtest: %s", msg)
		}
	})
	return s
}

// NewServer starts a fake GitHub outside a test (for a separate process);
// the caller closes it. Violations are answered and recorded but fail
// nothing.
func NewServer(opts ...Option) (*Server, error) {
	c := config{
		appID:     1001,
		rateLimit: 5000,
		treeLimit: 100000,
		now:       time.Now,
		appPerms:  defaultAppPermissions,
		appSlug:   "backstory-test",
		appOwner:  "backstory-dev",
		appEvents: []string{"check_run", "check_suite", "merge_group", "pull_request", "push"},
	}
	for _, o := range opts {
		o(&c)
	}
	desc, err := loadDescription(c.descPath)
	if err != nil {
		return nil, err
	}
	var key *rsa.PrivateKey
	if c.keyPEM != nil {
		key, err = parseRSAKey(c.keyPEM)
		if err != nil {
			return nil, fmt.Errorf("app private key: %w", err)
		}
	} else {
		key, err = generateKey()
		if err != nil {
			return nil, err
		}
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	perms := map[string]string{}
	for k, v := range c.appPerms {
		perms[k] = v
	}
	s := &Server{
		AppID:         c.appID,
		desc:          desc,
		vd:            &validator{d: desc},
		key:           key,
		keyPEM:        keyPEM,
		logf:          c.logf,
		strict:        c.strict,
		clock:         c.now,
		installations: map[int64]*installation{},
		repos:         map[string]*repo{},
		objects:       newObjectStore(),
		tokens:        map[string]*token{},
		downloads:     map[string]download{},
		manifestCodes: map[string]ManifestApp{},
		users:         map[string]string{},
		rate:          map[string]*rateBucket{},
		rateLimit:     c.rateLimit,
		treeLimit:     c.treeLimit,
		nextID:        1,
	}
	s.app = appInfo{
		slug:      c.appSlug,
		name:      c.appSlug,
		owner:     c.appOwner,
		perms:     perms,
		events:    c.appEvents,
		createdAt: s.clock().UTC().Truncate(time.Second),
	}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	ts := httptest.NewUnstartedServer(s)
	if c.addr != "" {
		l, err := net.Listen("tcp", c.addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", c.addr, err)
		}
		ts.Listener.Close()
		ts.Listener = l
	}
	if c.tls {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	s.ts = ts
	return s, nil
}

// sharedKey is generated once per process: 2048-bit RSA generation takes
// tens of milliseconds, and tests make many servers.
var (
	sharedKeyOnce sync.Once
	sharedKey     *rsa.PrivateKey
	sharedKeyErr  error
)

func generateKey() (*rsa.PrivateKey, error) {
	sharedKeyOnce.Do(func() {
		sharedKey, sharedKeyErr = rsa.GenerateKey(rand.Reader, 2048)
	})
	if sharedKeyErr != nil {
		return nil, fmt.Errorf("generate the App's key: %w", sharedKeyErr)
	}
	return sharedKey, nil
}

func parseRSAKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("neither PKCS#1 nor PKCS#8: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T key, not RSA", k)
	}
	return rk, nil
}

// URL is the API's base URL with a trailing slash, as "https://api.github.com/"
// is GitHub's. The same API also answers under "/api/v3/", as GitHub
// Enterprise Server does, for clients configured with enterprise URLs.
func (s *Server) URL() string { return s.ts.URL + "/" }

// Client returns an HTTP client for the server (one that trusts its
// certificate under WithTLS).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// PrivateKeyPEM is the App's private key, PEM-encoded (PKCS#1), as GitHub
// lets an App owner download it.
func (s *Server) PrivateKeyPEM() []byte { return append([]byte(nil), s.keyPEM...) }

// Close stops the server, after waiting for OnRedeliver callbacks.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.ts.Close()
		s.wg.Wait()
	})
}

// Now is the fake's current time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time { return s.clock().Add(s.offset).UTC() }

// SetNow replaces the fake's clock. Installation tokens, rate-limit windows
// and timestamps follow it. JWTs do not: a client mints them with its own
// clock, so they are checked against the wall clock.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock, s.offset = now, 0
}

// Advance moves the fake's clock forward by d (to expire tokens, or reach a
// rate-limit reset).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// Call is one request the server answered.
type Call struct {
	Method string
	Path   string // as requested, without the query
	Query  url.Values
	// Operation is the operationId of GitHub's description
	// ("checks/create"); "" when the request matched none.
	Operation string
	Status    int
	// Installation is the id of the installation whose token authenticated
	// the request; 0 for the App's JWT or none.
	Installation int64
	// App reports a request authenticated with the App's JWT.
	App bool
	// Conditional reports a request sent with If-None-Match or
	// If-Modified-Since; NotModified that it was answered 304.
	Conditional bool
	NotModified bool
	// At is when the request arrived, by the wall clock (not the fake's
	// clock), so tests can check how long a client waited between calls.
	At time.Time
}

// Calls returns every request answered since the start or ResetCalls, in
// order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ResetCalls forgets the calls answered so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// CountCalls counts the calls to an operation ("checks/update"); "" counts
// every call.
func (s *Server) CountCalls(operationID string) int {
	return s.CountCallsFunc(func(c Call) bool { return operationID == "" || c.Operation == operationID })
}

// CountCallsFunc counts the calls for which match returns true.
func (s *Server) CountCallsFunc(match func(Call) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if match(c) {
			n++
		}
	}
	return n
}

// Violation is a request that GitHub's API description forbids, or that
// the fake cannot answer.
type Violation struct {
	Method    string
	Path      string
	Operation string // "" when the path matched no operation
	Message   string
}

func (v Violation) String() string {
	op := ""
	if v.Operation != "" {
		op = " (" + v.Operation + ")"
	}
	return fmt.Sprintf("%s %s%s: %s", v.Method, v.Path, op, v.Message)
}

type expectation struct {
	substr  string
	matched bool
}

// Violations returns the violations so far, declared or not.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Violation(nil), s.violations...)
}

// ExpectViolation declares that a violation whose message contains substr
// is part of the test: New then neither fails the test for such
// violations, nor lets the test pass unless at least one happened.
func (s *Server) ExpectViolation(substr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expected = append(s.expected, &expectation{substr: substr})
}

// problems lists what New's cleanup reports.
func (s *Server) problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if s.strict {
		for _, v := range s.violations {
			declared := false
			for _, e := range s.expected {
				if strings.Contains(v.String(), e.substr) {
					e.matched, declared = true, true
				}
			}
			if !declared {
				out = append(out, "request violates GitHub's API description: "+v.String()+" (declare it with ExpectViolation if the test means it)")
			}
		}
		for _, e := range s.expected {
			if !e.matched {
				out = append(out, fmt.Sprintf("ExpectViolation(%q): no violation matched", e.substr))
			}
		}
	}
	for _, f := range s.fakeErrors {
		out = append(out, "bug in the fake: "+f)
	}
	return out
}

// Fault is an error answer the server gives instead of serving a request.
type Fault struct {
	Status int
	Header http.Header
	// Body is sent as is; when empty, a JSON error as GitHub writes one for
	// Status.
	Body string
	// After lets that many matching requests through (answered normally)
	// before the fault is taken: "the second file read fails".
	After int
	kind  faultKind
}

type faultKind int

const (
	faultPlain faultKind = iota
	faultPrimary
	faultSecondary
)

type pendingFault struct {
	match string
	fault Fault
}

// FailNext makes the next n requests to operation match (an operationId
// such as "checks/create", or "" for any request) answer f instead. Faults
// queue in order; a request takes the first that matches it. Requests that
// violate the description are still recorded as violations.
func (s *Server) FailNext(match string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if match != "" {
		if _, ok := s.desc.byID[match]; !ok {
			s.fakeErrors = append(s.fakeErrors, fmt.Sprintf("FailNext(%q): no such operation in GitHub's description", match))
		}
	}
	for range n {
		s.faults = append(s.faults, pendingFault{match: match, fault: f})
	}
}

// RateLimited is GitHub's primary rate limit: 403 with
// X-RateLimit-Remaining: 0 and the reset time.
func RateLimited(reset time.Time) Fault {
	h := http.Header{}
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	return Fault{Status: http.StatusForbidden, Header: h, kind: faultPrimary}
}

// SecondaryRateLimited is GitHub's secondary rate limit: 403 with
// Retry-After and the "You have exceeded a secondary rate limit" message.
// GitHub sometimes answers 429 instead: set Status.
func SecondaryRateLimited(retryAfter time.Duration) Fault {
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(int(retryAfter.Round(time.Second)/time.Second)))
	return Fault{Status: http.StatusForbidden, Header: h, kind: faultSecondary}
}

// ServerError is a failure of GitHub's own: 500 with GitHub's JSON body;
// 502, 503 and 504 with the HTML page its front end serves.
func ServerError(status int) Fault {
	f := Fault{Status: status, Header: http.Header{}}
	if status >= 502 && status <= 504 {
		f.Header.Set("Content-Type", "text/html; charset=utf-8")
		f.Body = fmt.Sprintf("<html><body><h1>%d %s</h1><p>We couldn't respond to your request in time.</p></body></html>\n", status, http.StatusText(status))
	}
	return f
}

// takeFault removes and returns the first fault queued for op.
func (s *Server) takeFault(op string) (Fault, bool) {
	for i, f := range s.faults {
		if f.match == "" || f.match == op {
			if f.fault.After > 0 {
				s.faults[i].fault.After--
				return Fault{}, false
			}
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return f.fault, true
		}
	}
	return Fault{}, false
}

// rateBucket is one primary rate-limit window.
type rateBucket struct {
	limit int
	used  int
	reset time.Time
}

func (s *Server) bucket(key string, limit int) *rateBucket {
	b := s.rate[key]
	now := s.now()
	if b == nil || !now.Before(b.reset) {
		b = &rateBucket{limit: limit, reset: now.Add(time.Hour).Truncate(time.Second)}
		s.rate[key] = b
	}
	return b
}

func setRateHeaders(h http.Header, b *rateBucket) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(b.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(b.limit-b.used, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(b.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// request is one API request being served.
type request struct {
	r       *http.Request
	op      *operation
	params  map[string]string
	query   url.Values
	body    any
	base    string // the API base the client used, with a trailing slash
	root    string // the server's root: html_url and friends hang off it
	auth    authKind
	inst    *installation
	tok     *token
	repo    *repo
	bucket  *rateBucket
	reqID   string
	errs    []string
	pathBad bool
	jsonBad bool
}

// reply is a handler's answer, before ETags and rate-limit headers.
type reply struct {
	status       int
	header       http.Header
	value        any    // encoded as JSON when body is nil
	body         []byte // sent as is
	lastModified time.Time
}

func jsonReply(status int, v any) reply { return reply{status: status, value: v} }

func errorReply(status int, msg, doc string) reply {
	if doc == "" {
		doc = "https://docs.github.com/rest"
	}
	return reply{status: status, value: map[string]any{"message": msg, "documentation_url": doc}}
}

func notFound() reply { return errorReply(http.StatusNotFound, "Not Found", "") }

// ServeHTTP answers one request as GitHub would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_codeload/") || strings.HasPrefix(r.URL.Path, "/_raw/") {
		s.serveDownload(w, r)
		return
	}
	if isWebFlow(r.URL.Path) {
		s.serveWebFlow(w, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requestSeq++
	req := &request{
		r:     r,
		query: r.URL.Query(),
		root:  "http://" + r.Host + "/",
		reqID: fmt.Sprintf("FAKE:%04X:%06X", s.AppID%0x10000, s.requestSeq),
	}
	if r.TLS != nil {
		req.root = "https://" + r.Host + "/"
	}
	req.base = req.root
	escaped := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(escaped, "/api/v3/"); ok {
		escaped = "/" + rest
		req.base = req.root + "api/v3/"
	}
	rep := s.serve(req, escaped)
	s.write(w, req, rep)
}

func (s *Server) serve(req *request, escaped string) reply {
	r := req.r
	parts, ok := splitPath(escaped)
	if !ok {
		s.violate(req, fmt.Sprintf("the path %q is not a well-formed URL path", escaped))
		return notFound()
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet // GitHub answers HEAD as GET, without the body
	}
	op, params, pathKnown := s.desc.match(method, parts)
	if op == nil {
		if pathKnown {
			s.violate(req, fmt.Sprintf("GitHub's API has this path but no %s operation on it", r.Method))
		} else {
			s.violate(req, "no operation of GitHub's API has this path")
		}
		return notFound()
	}
	req.op, req.params = op, params
	s.validateRequest(req)

	if f, ok := s.takeFault(op.ID); ok {
		return s.faultReply(req, f)
	}
	if rep, ok := s.authenticate(req); !ok {
		return rep
	}
	if rep, ok := s.limitRate(req); !ok {
		return rep
	}
	if req.pathBad {
		return notFound() // GitHub's router matches no route: /pulls/abc
	}
	if rep, ok := s.authorize(req); !ok {
		return rep
	}
	switch {
	case req.jsonBad:
		return errorReply(http.StatusBadRequest, "Problems parsing JSON", op.DocURL)
	case len(req.errs) > 0:
		return errorReply(http.StatusUnprocessableEntity, "Invalid request.\n\n"+strings.Join(req.errs, "\n"), op.DocURL)
	}
	h, ok := handlers[op.ID]
	if !ok {
		s.violate(req, fmt.Sprintf("githubtest does not implement %s (%s %s): add it, or do not call it", op.ID, op.Method, op.Template))
		return errorReply(http.StatusNotImplemented, "githubtest: operation "+op.ID+" is not implemented", op.DocURL)
	}
	return h(s, req)
}

// splitPath splits an escaped URL path into unescaped segments.
func splitPath(escaped string) ([]string, bool) {
	if !strings.HasPrefix(escaped, "/") {
		return nil, false
	}
	raw := strings.Split(escaped[1:], "/")
	parts := make([]string, len(raw))
	for i, p := range raw {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

// violate records a violation and logs it.
func (s *Server) violate(req *request, msg string) {
	v := Violation{Method: req.r.Method, Path: req.r.URL.Path, Message: msg}
	if req.op != nil {
		v.Operation = req.op.ID
	}
	s.violations = append(s.violations, v)
	s.logf("githubtest: violation: %s", v)
}

// validateRequest checks parameters and body against the operation,
// recording each failure as a violation and keeping GitHub's answer for it.
func (s *Server) validateRequest(req *request) {
	op := req.op
	for _, p := range op.Parameters {
		switch p.In {
		case "path":
			v := req.params[p.Name]
			if errs := s.checkParam(p, v); len(errs) > 0 {
				req.pathBad = true
				s.violate(req, fmt.Sprintf("path parameter %s: %s", p.Name, joinErrors(errs)))
			}
		case "query":
			vals, present := req.query[p.Name]
			if !present {
				if p.Required {
					msg := fmt.Sprintf("%q wasn't supplied.", p.Name)
					req.errs = append(req.errs, msg)
					s.violate(req, "query parameter "+msg)
				}
				continue
			}
			for _, v := range vals {
				if errs := s.checkParam(p, v); len(errs) > 0 {
					msg := fmt.Sprintf("For '%s', %s", p.Name, joinErrors(errs))
					req.errs = append(req.errs, msg)
					s.violate(req, "query parameter "+msg)
				}
			}
		}
	}
	if op.Body == nil {
		return
	}
	mt, ok := op.Body.Content["application/json"]
	if !ok || mt.Schema == nil {
		return
	}
	data, err := io.ReadAll(io.LimitReader(req.r.Body, 64<<20))
	if err != nil {
		req.jsonBad = true
		s.violate(req, fmt.Sprintf("reading the body: %v", err))
		return
	}
	var body any
	if len(strings.TrimSpace(string(data))) == 0 {
		if op.Body.Required {
			body = map[string]any{} // GitHub reads no body as {}: the required keys are then missing
		} else {
			return
		}
	} else if body, err = decodeJSON(data); err != nil {
		req.jsonBad = true
		s.violate(req, fmt.Sprintf("the body is not JSON: %v", err))
		return
	}
	if body == nil && !op.Body.Required {
		// ghinstallation sends "null" for no token options, and GitHub
		// takes it as no body.
		return
	}
	req.body = body
	for _, e := range s.vd.validate(mt.Schema, body) {
		req.errs = append(req.errs, e.String())
		s.violate(req, "body: "+e.String())
	}
}

// checkParam validates one parameter's text as its schema's type.
func (s *Server) checkParam(p *parameter, text string) []schemaError {
	if p.Schema == nil {
		return nil
	}
	sch, err := s.vd.resolve(p.Schema)
	if err != nil || sch == nil {
		return nil
	}
	var v any = text
	switch sch.Type {
	case "integer", "number":
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return []schemaError{{Msg: fmt.Sprintf("%q is not %s.", text, article(sch.Type))}}
		}
		v = json.Number(text)
	case "boolean":
		b, err := strconv.ParseBool(text)
		if err != nil {
			return []schemaError{{Msg: fmt.Sprintf("%q is not a boolean.", text)}}
		}
		v = b
	case "array":
		items := []any{}
		for _, it := range strings.Split(text, ",") {
			items = append(items, it)
		}
		v = items
	}
	return s.vd.validate(sch, v)
}

// faultReply answers with a fault queued by FailNext.
func (s *Server) faultReply(req *request, f Fault) reply {
	rep := reply{status: f.Status, header: http.Header{}}
	for k, vs := range f.Header {
		rep.header[k] = append([]string(nil), vs...)
	}
	switch {
	case f.Body != "":
		rep.body = []byte(f.Body)
	case f.kind == faultPrimary:
		who := "your account"
		if id := s.installationFromAuth(req); id != 0 {
			who = fmt.Sprintf("installation ID %d", id)
		}
		rep.value = map[string]any{
			"message":           fmt.Sprintf("API rate limit exceeded for %s. If you reach out to GitHub Support for help, please include the request ID %s.", who, req.reqID),
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit",
		}
		if rep.header.Get("X-RateLimit-Limit") == "" {
			rep.header.Set("X-RateLimit-Limit", strconv.Itoa(s.rateLimit))
			rep.header.Set("X-RateLimit-Used", strconv.Itoa(s.rateLimit))
			rep.header.Set("X-RateLimit-Resource", "core")
		}
	case f.kind == faultSecondary:
		rep.value = map[string]any{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID " + req.reqID + ".",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		}
	default:
		rep.value = map[string]any{"message": faultMessage(f.Status), "documentation_url": "https://docs.github.com/rest"}
	}
	return rep
}

func faultMessage(status int) string {
	if status == http.StatusInternalServerError {
		return "Server Error"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

// limitRate counts a request against its primary rate limit, or refuses
// it when the limit is used up. 304s are given back in write: GitHub does
// not count them.
func (s *Server) limitRate(req *request) (reply, bool) {
	var key string
	limit := s.rateLimit
	switch {
	case req.inst != nil:
		key = fmt.Sprintf("installation:%d", req.inst.id)
	case req.auth == authApp:
		key = "app"
	case req.auth == authUser:
		key = "user:" + strings.ToLower(s.userTokenLogin(req))
	default:
		key, limit = "anonymous", 60
	}
	b := s.bucket(key, limit)
	req.bucket = b
	if b.used >= b.limit {
		who := "your IP address"
		switch {
		case req.inst != nil:
			who = fmt.Sprintf("installation ID %d", req.inst.id)
		case req.auth == authApp:
			who = fmt.Sprintf("app ID %d", s.AppID)
		}
		return errorReply(http.StatusForbidden,
			fmt.Sprintf("API rate limit exceeded for %s. If you reach out to GitHub Support for help, please include the request ID %s.", who, req.reqID),
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"), false
	}
	b.used++
	return reply{}, true
}

// write sends a reply with GitHub's headers, answers conditional requests,
// records the call and checks the response against the description.
func (s *Server) write(w http.ResponseWriter, req *request, rep reply) {
	r := req.r
	h := w.Header()
	for k, vs := range rep.header {
		h[k] = vs
	}
	body := rep.body
	if body == nil && rep.value != nil {
		var err error
		body, err = json.Marshal(rep.value)
		if err != nil {
			s.fakeErrors = append(s.fakeErrors, fmt.Sprintf("%s %s: encode the response: %v", r.Method, r.URL.Path, err))
			rep.status, body = http.StatusInternalServerError, []byte(`{"message":"Server Error"}`)
		}
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json; charset=utf-8")
		}
	}
	h.Set("X-GitHub-Request-Id", req.reqID)
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	if req.bucket != nil && h.Get("X-RateLimit-Limit") == "" {
		setRateHeaders(h, req.bucket)
	} else if req.bucket == nil && h.Get("X-RateLimit-Limit") == "" {
		setRateHeaders(h, s.bucket("anonymous", 60))
	}

	call := Call{
		At:          time.Now(),
		Method:      r.Method,
		Path:        r.URL.Path,
		Query:       r.URL.Query(),
		Status:      rep.status,
		App:         req.auth == authApp,
		Conditional: r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "",
	}
	if req.op != nil {
		call.Operation = req.op.ID
	}
	if req.inst != nil {
		call.Installation = req.inst.id
	}

	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && rep.status == http.StatusOK {
		etag := `W/"` + hashHex(body) + `"`
		h.Set("ETag", etag)
		if !rep.lastModified.IsZero() {
			h.Set("Last-Modified", rep.lastModified.UTC().Format(http.TimeFormat))
		}
		if notModified(r, etag, rep.lastModified) {
			if req.bucket != nil && req.bucket.used > 0 {
				req.bucket.used-- // GitHub does not count a 304
				setRateHeaders(h, req.bucket)
			}
			h.Del("Content-Type")
			call.Status, call.NotModified = http.StatusNotModified, true
			s.calls = append(s.calls, call)
			s.logf("githubtest: %s %s -> 304", r.Method, r.URL.RequestURI())
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
	}
	if req.op != nil && rep.value != nil {
		s.checkResponse(req, rep.status, body)
	}
	s.calls = append(s.calls, call)
	s.logf("githubtest: %s %s -> %d", r.Method, r.URL.RequestURI(), rep.status)
	w.WriteHeader(rep.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// notModified reports whether a conditional request's copy is current.
func notModified(r *http.Request, etag string, lastModified time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == strings.TrimPrefix(etag, "W/") {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !lastModified.IsZero() {
		t, err := http.ParseTime(ims)
		return err == nil && !lastModified.Truncate(time.Second).After(t)
	}
	return false
}

// checkResponse validates a JSON response of the fake against the
// operation's response schema: a mismatch is a bug in the fake.
func (s *Server) checkResponse(req *request, status int, body []byte) {
	errs := s.responseErrors(req.op, status, body)
	for _, e := range errs {
		s.fakeErrors = append(s.fakeErrors, fmt.Sprintf("response %d of %s %s (%s): %s", status, req.r.Method, req.r.URL.Path, req.op.ID, e))
	}
}

// responseErrors validates a response body against the description; none
// when the status or media type is not described.
func (s *Server) responseErrors(op *operation, status int, body []byte) []string {
	resp := s.desc.response(op, status)
	if resp == nil {
		return nil
	}
	mt, ok := resp.Content["application/json"]
	if !ok || mt.Schema == nil {
		return nil
	}
	v, err := decodeJSON(body)
	if err != nil {
		return []string{fmt.Sprintf("not JSON: %v", err)}
	}
	var out []string
	for _, e := range s.vd.validate(mt.Schema, v) {
		out = append(out, e.String())
	}
	return out
}

// linkHeader writes GitHub's Link header for page-numbered lists.
func linkHeader(req *request, page, perPage, total int) string {
	last := (total + perPage - 1) / perPage
	if last < 1 {
		last = 1
	}
	link := func(p int, rel string) string {
		q := url.Values{}
		for k, vs := range req.query {
			q[k] = vs
		}
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		return fmt.Sprintf(`<%s?%s>; rel="%s"`, req.base+strings.TrimPrefix(req.r.URL.Path, "/"), q.Encode(), rel)
	}
	var parts []string
	if page > 1 {
		parts = append(parts, link(page-1, "prev"))
	}
	if page < last {
		parts = append(parts, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		parts = append(parts, link(1, "first"))
	}
	return strings.Join(parts, ", ")
}

// pageOf reads per_page (GitHub's default 30, at most 100: more is
// clamped, not refused) and page.
func pageOf(req *request) (page, perPage int) {
	perPage = 30
	if v, err := strconv.Atoi(req.query.Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	page = 1
	if v, err := strconv.Atoi(req.query.Get("page")); err == nil && v > 0 {
		page = v
	}
	return page, perPage
}

// paginate slices n items for the request's page and sets the Link header.
func paginate(req *request, rep *reply, n int) (lo, hi int) {
	page, perPage := pageOf(req)
	lo = min((page-1)*perPage, n)
	hi = min(lo+perPage, n)
	if l := linkHeader(req, page, perPage, n); l != "" {
		if rep.header == nil {
			rep.header = http.Header{}
		}
		rep.header.Set("Link", l)
	}
	return lo, hi
}
