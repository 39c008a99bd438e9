package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// apiClient calls the fake with plain net/http, so that these tests do not
// depend on the go-github adapter written beside them.
type apiClient struct {
	t     testing.TB
	s     *Server
	auth  string // the Authorization header; "" for none
	extra http.Header
}

func (s *Server) asApp(t testing.TB) *apiClient {
	return &apiClient{t: t, s: s, auth: "Bearer " + s.AppJWT()}
}

func (s *Server) asInstallation(t testing.TB, id int64) *apiClient {
	return &apiClient{t: t, s: s, auth: "token " + s.InstallationToken(id)}
}

func (s *Server) anonymous(t testing.TB) *apiClient { return &apiClient{t: t, s: s} }

// answer is a response, with its body read.
type answer struct {
	*http.Response
	body []byte
}

func (r answer) json(t testing.TB) any {
	t.Helper()
	v, err := decodeJSON(r.body)
	if err != nil {
		t.Fatalf("%s %s: body is not JSON: %v\n%s", r.Request.Method, r.Request.URL, err, r.body)
	}
	return v
}

func (r answer) object(t testing.TB) map[string]any {
	t.Helper()
	m, ok := r.json(t).(map[string]any)
	if !ok {
		t.Fatalf("%s %s: body is not an object: %s", r.Request.Method, r.Request.URL, r.body)
	}
	return m
}

func (r answer) array(t testing.TB) []any {
	t.Helper()
	a, ok := r.json(t).([]any)
	if !ok {
		t.Fatalf("%s %s: body is not an array: %s", r.Request.Method, r.Request.URL, r.body)
	}
	return a
}

func (r answer) message(t testing.TB) string {
	t.Helper()
	msg, _ := r.object(t)["message"].(string)
	return msg
}

// do sends a request; body is JSON-encoded unless it is a string or []byte.
// headers are name, value pairs.
func (c *apiClient) do(method, path string, body any, headers ...string) answer {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.s.URL()+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	// Redirects are the client's business: the tests look at the 302.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return answer{Response: resp, body: data}
}

func (c *apiClient) get(path string, headers ...string) answer {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, headers...)
}

// want fails the test unless the answer has status.
func want(t testing.TB, r answer, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body: %.600s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
}

// field walks a decoded JSON value by keys and indexes ("head/repo/full_name", "0/sha").
func field(t testing.TB, v any, path string) any {
	t.Helper()
	for _, k := range strings.Split(path, "/") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				t.Fatalf("no %q in %s", k, show(x))
			}
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i >= len(x) {
				t.Fatalf("no index %q in an array of %d", k, len(x))
			}
			v = x[i]
		default:
			t.Fatalf("cannot take %q of %s", k, show(v))
		}
	}
	return v
}

func fieldString(t testing.TB, v any, path string) string {
	t.Helper()
	s, ok := field(t, v, path).(string)
	if !ok {
		t.Fatalf("%s is %s, not a string", path, show(field(t, v, path)))
	}
	return s
}

func fieldInt(t testing.TB, v any, path string) int64 {
	t.Helper()
	n, ok := field(t, v, path).(json.Number)
	if !ok {
		t.Fatalf("%s is %s, not a number", path, show(field(t, v, path)))
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return i
}

// fixture is a server with an installation (42, on acme) of the public
// repository acme/widgets and the private acme/secret, each with a commit
// on main.
func fixture(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := New(t, opts...)
	s.AddRepo("acme/widgets", RepoOptions{})
	s.AddRepo("acme/secret", RepoOptions{Private: true})
	s.AddInstallation(42, "acme", "acme/widgets", "acme/secret")
	s.Commit("acme/widgets", "main", map[string][]byte{
		"README.md":                     []byte("# Widgets\n"),
		"docs/decisions/0001-record.md": []byte("# 1. Record decisions\n\nWe record them.\n"),
		"src/main.go":                   []byte("package main\n\nfunc main() {}\n"),
	})
	s.Commit("acme/secret", "main", map[string][]byte{"secret.txt": []byte("hush\n")})
	return s
}

// recordingTB stands in for a test, to observe what New reports at the end
// of one. Calling a testing.TB method it does not override panics (the
// embedded interface is nil), which shows a missing override at once.
type recordingTB struct {
	testing.TB
	real     testing.TB
	errors   []string
	cleanups []func()
}

func (r *recordingTB) Helper()                      {}
func (r *recordingTB) Logf(format string, a ...any) { r.real.Logf(format, a...) }
func (r *recordingTB) Errorf(format string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, a...))
}

// Fatalf records and stops the caller, as a test's Fatalf does, with a
// panic that fatal recovers.
func (r *recordingTB) Fatalf(format string, a ...any) {
	r.errors = append(r.errors, "FATAL: "+fmt.Sprintf(format, a...))
	panic(fatalStop{})
}

type fatalStop struct{}

// fatal runs f, and reports whether it stopped on Fatalf.
func (r *recordingTB) fatal(f func()) (stopped bool) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(fatalStop); !ok {
				panic(v)
			}
			stopped = true
		}
	}()
	f()
	return false
}
func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// finish runs the cleanups as the end of a test does, and returns what was
// reported.
func (r *recordingTB) finish() []string {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
	return r.errors
}

// grant adds one permission to an installation's.
func grant(s *Server, installation int64, name, level string) {
	s.mu.Lock()
	perms := copyPerms(s.installations[installation].perms)
	s.mu.Unlock()
	perms[name] = level
	s.SetInstallationPermissions(installation, perms)
}
