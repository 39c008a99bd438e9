package github

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const testAppID = 4242

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
	keyPEM  []byte
)

// testPrivateKey is one RSA key for the whole test binary: generating one
// takes a noticeable fraction of a second.
func testPrivateKey(t testing.TB) (*rsa.PrivateKey, []byte) {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	})
	return testKey, keyPEM
}

// request is what the test server saw of one request.
type request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// server is a small GitHub for tests that need precise control of the
// answers: it issues installation tokens against a verified JWT, checks
// the token on every other request, and records everything.
type server struct {
	t      *testing.T
	srv    *httptest.Server
	mux    *http.ServeMux
	prefix string // "/api/v3" for GitHub Enterprise Server

	mu          sync.Mutex
	requests    []request
	tokens      map[string]int64 // issued token → installation
	tokenTTL    time.Duration
	tokenStatus int // non-zero: access_tokens answers this
}

func newServer(t *testing.T, prefix string) *server {
	t.Helper()
	s := &server{t: t, mux: http.NewServeMux(), prefix: prefix, tokens: map[string]int64{}, tokenTTL: time.Hour}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.mux.HandleFunc("POST "+prefix+"/app/installations/{id}/access_tokens", s.accessToken)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.requests = append(s.requests, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()
	if r.Header.Get("User-Agent") == "" {
		http.Error(w, `{"message":"no user agent"}`, http.StatusForbidden)
		return
	}
	if strings.HasPrefix(r.URL.Path, s.prefix+"/app") {
		if _, err := verifyJWT(r.Header.Get("Authorization")); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"message":%q}`, err.Error())
			return
		}
	} else if strings.HasPrefix(r.URL.Path, s.prefix+"/repos/") {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "token ")
		s.mu.Lock()
		_, known := s.tokens[tok]
		s.mu.Unlock()
		if !ok || !known {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"Bad credentials"}`)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func (s *server) accessToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	status, ttl := s.tokenStatus, s.tokenTTL
	s.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":"token status %d"}`, status)
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	// Real tokens are opaque and long (about 520 characters): nothing may
	// assume "ghs_" and 40 characters.
	raw := make([]byte, 390)
	_, _ = rand.Read(raw)
	tok := "ghs_" + base64.RawURLEncoding.EncodeToString(raw)
	s.mu.Lock()
	s.tokens[tok] = id
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_at": time.Now().Add(ttl).UTC().Format(time.RFC3339)})
}

// handle adds a handler; pattern is "METHOD /path" without the prefix.
func (s *server) handle(pattern string, h http.HandlerFunc) {
	method, p, _ := strings.Cut(pattern, " ")
	s.mux.HandleFunc(method+" "+s.prefix+p, h)
}

// baseURL is the API base to give Options.BaseURL.
func (s *server) baseURL() string { return s.srv.URL + s.prefix + "/" }

func (s *server) recorded() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.requests...)
}

// count counts the recorded requests of method on paths ending in suffix.
func (s *server) count(method, suffix string) int {
	n := 0
	for _, r := range s.recorded() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

func (s *server) app(t *testing.T, mod func(*Options)) *App {
	t.Helper()
	_, pemBytes := testPrivateKey(t)
	opts := Options{AppID: testAppID, PrivateKey: pemBytes, BaseURL: s.baseURL(), HTTPClient: s.srv.Client()}
	if mod != nil {
		mod(&opts)
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// verifyJWT checks an App JWT the way GitHub does: RS256 with the App's
// key, issuer the App id, issued in the past, expiring within ten minutes.
func verifyJWT(authz string) (map[string]any, error) {
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		return nil, fmt.Errorf("want a Bearer JWT, got %.12q", authz)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("JWT has %d parts", len(parts))
	}
	var head struct{ Alg string }
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(hb, &head); err != nil || head.Alg != "RS256" {
		return nil, fmt.Errorf("JWT header %s: want alg RS256", hb)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&testKey.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return nil, fmt.Errorf("JWT signature: %w", err)
	}
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(cb, &claims); err != nil {
		return nil, err
	}
	if claims["iss"] != strconv.Itoa(testAppID) {
		return nil, fmt.Errorf("JWT iss %v, want %d", claims["iss"], testAppID)
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	now := float64(time.Now().Unix())
	if iat > now || exp < now || exp-iat > 600 {
		return nil, fmt.Errorf("JWT iat %v exp %v, now %v", iat, exp, now)
	}
	return claims, nil
}

// writeJSON answers v as JSON with status 200 unless told otherwise.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
