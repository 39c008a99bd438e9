package sitesrv

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// readers signs readers in by a header, for tests.
type readers struct{}

func (readers) User(r *http.Request) (string, bool) {
	login := r.Header.Get("X-Test-Login")
	return login, login != ""
}

func (readers) LoginURL(next string) string { return "/auth/login?next=" + next }
func (readers) LogoutURL() string           { return "/auth/logout" }

// members answers Member from a set, counting the questions.
type members struct {
	mu    sync.Mutex
	of    map[string]bool // "account/login"
	asked int
	err   error
}

func (m *members) member(ctx context.Context, account, login string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.asked++
	if m.err != nil {
		return false, m.err
	}
	return m.of[account+"/"+strings.ToLower(login)], nil
}

func (m *members) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.asked
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeMeta(t *testing.T, dir string, m app.SiteMeta) {
	t.Helper()
	data, _ := json.Marshal(m)
	write(t, dir, ".backstory/"+strings.ToLower(m.Account)+".json", string(data))
}

// sites lays out a folder as the App builds it: acme (private, with its
// own 404 page), beta (public), gamma (no SiteMeta), a folder without a
// site yet, and the App's own dot-folders.
func sites(t *testing.T) string {
	dir := t.TempDir()
	write(t, dir, "acme/index.html", "<h1>The story of acme</h1>")
	write(t, dir, "acme/decisions/adr-0001/index.html", "<h1>ADR-0001</h1>")
	write(t, dir, "acme/404.html", "<h1>acme has no such page</h1>")
	writeMeta(t, dir, app.SiteMeta{Account: "acme", Installation: 1, Private: true})
	write(t, dir, "beta/index.html", "<h1>The story of beta</h1>")
	write(t, dir, "beta/css/site.css", "body{}")
	write(t, dir, "beta/search/index.json", `{"pages":[]}`)
	write(t, dir, "beta/images/diagram.svg", `<svg xmlns="http://www.w3.org/2000/svg"></svg>`)
	write(t, dir, "beta/.secret", "hidden")
	write(t, dir, "beta/empty/.keep", "")
	writeMeta(t, dir, app.SiteMeta{Account: "beta", Installation: 2})
	write(t, dir, "gamma/index.html", "<h1>gamma</h1>")
	write(t, dir, "building/.tmp", "")
	write(t, dir, ".pages/beta/index.html", "pages copy")
	write(t, dir, "outside.txt", "not a site's")
	return dir
}

func newServer(t *testing.T, dir string, m *members, mod func(*Options)) *Server {
	t.Helper()
	opts := Options{Dir: dir, Readers: readers{}, Member: m.member, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type answer struct {
	code   int
	header http.Header
	body   string
}

func do(s http.Handler, method, target string, headers ...string) answer {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Header(), rec.Body.String()}
}

func TestPublicSite(t *testing.T) {
	s := newServer(t, sites(t), &members{}, nil)
	tests := []struct {
		target string
		code   int
		ctype  string
		body   string
		loc    string
	}{
		{"/sites/beta/", 200, "text/html; charset=utf-8", "The story of beta", ""},
		{"/sites/beta/css/site.css", 200, "text/css; charset=utf-8", "body{}", ""},
		{"/sites/beta/search/index.json", 200, "application/json", `{"pages":[]}`, ""},
		{"/sites/beta/images/diagram.svg", 200, "image/svg+xml", "<svg", ""},
		{"/sites/beta", 301, "", "", "/sites/beta/"},
		{"/sites/BETA/css/site.css?v=1", 301, "", "", "/sites/beta/css/site.css?v=1"},
		{"/sites/beta/css", 301, "", "", "/sites/beta/css/"},
		{"/sites/beta/css/", 404, "text/html; charset=utf-8", "no such page", ""},          // a folder without index.html: no listing
		{"/sites/beta/css/site.css/", 404, "text/html; charset=utf-8", "no such page", ""}, // a file is no folder
		{"/sites/beta/nope.html", 404, "text/html; charset=utf-8", "no such page", ""},
		{"/sites/beta/.secret", 404, "", "", ""},
		{"/sites/beta/empty/.keep", 404, "", "", ""},
		{"/sites/beta/%2e%2e/outside.txt", 404, "", "", ""},
		{"/sites/beta/..%2foutside.txt", 404, "", "", ""},
		{"/sites/beta/css%5c..%5c..%5coutside.txt", 404, "", "", ""},
		{"/sites/.pages/beta/", 404, "", "", ""},
		{"/sites/.backstory/beta.json", 404, "", "", ""},
		{"/sites/building/", 302, "", "", "/auth/login?next=/sites/building/"}, // no SiteMeta: private
		{"/sites/nobody/", 404, "", "", ""},
	}
	for _, tt := range tests {
		a := do(s, "GET", tt.target)
		if a.code != tt.code || tt.ctype != "" && a.header.Get("Content-Type") != tt.ctype || !strings.Contains(a.body, tt.body) ||
			a.header.Get("Location") != tt.loc {
			t.Errorf("GET %s: %d %q %q (Location %q); want %d %q %q %q", tt.target, a.code, a.header.Get("Content-Type"), a.body, a.header.Get("Location"), tt.code, tt.ctype, tt.body, tt.loc)
		}
		if a.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", tt.target)
		}
		if strings.Contains(a.body, "hidden") || strings.Contains(a.body, "not a site's") || strings.Contains(a.body, "pages copy") {
			t.Errorf("GET %s leaked %q", tt.target, a.body)
		}
	}
	if a := do(s, "POST", "/sites/beta/"); a.code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", a.code)
	}
	if a := do(s, "HEAD", "/sites/beta/css/site.css"); a.code != 200 || a.body != "" || a.header.Get("Content-Length") != "6" {
		t.Errorf("HEAD: %d %q %v", a.code, a.body, a.header)
	}
}

func TestConditionalRequests(t *testing.T) {
	dir := sites(t)
	s := newServer(t, dir, &members{}, nil)
	a := do(s, "GET", "/sites/beta/css/site.css")
	etag, modified := a.header.Get("ETag"), a.header.Get("Last-Modified")
	if etag == "" || modified == "" || a.header.Get("Cache-Control") != "" {
		t.Fatalf("headers %v", a.header)
	}
	if a := do(s, "GET", "/sites/beta/css/site.css", "If-None-Match", etag); a.code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", a.code)
	}
	if a := do(s, "GET", "/sites/beta/css/site.css", "If-Modified-Since", modified); a.code != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", a.code)
	}
	// A rebuild that changes the file changes its validator.
	later := time.Now().Add(time.Hour)
	write(t, dir, "beta/css/site.css", "body{color:red}")
	os.Chtimes(filepath.Join(dir, "beta/css/site.css"), later, later)
	if a := do(s, "GET", "/sites/beta/css/site.css", "If-None-Match", etag); a.code != 200 || a.body != "body{color:red}" {
		t.Errorf("after a rebuild: %d %q", a.code, a.body)
	}
}

func TestSymlinksStayInTheSite(t *testing.T) {
	dir := sites(t)
	if err := os.Symlink(filepath.Join(dir, "outside.txt"), filepath.Join(dir, "beta", "escape.txt")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	os.Symlink("../acme", filepath.Join(dir, "beta", "acme"))
	os.Symlink("css/site.css", filepath.Join(dir, "beta", "style.css"))
	s := newServer(t, dir, &members{}, nil)
	for target, code := range map[string]int{
		"/sites/beta/escape.txt":       404,
		"/sites/beta/acme/index.html":  404, // the private site through a link from a public one
		"/sites/beta/acme/decisions/":  404,
		"/sites/beta/style.css":        200, // a link within the site
		"/sites/beta/css/../style.css": 404, // ServeMux cleans such paths; without it, ".." is refused
	} {
		a := do(s, "GET", target)
		if a.code != code {
			t.Errorf("GET %s: %d, want %d (%q)", target, a.code, code, a.body)
		}
		if strings.Contains(a.body, "not a site's") || strings.Contains(a.body, "story of acme") {
			t.Errorf("GET %s leaked %q", target, a.body)
		}
	}
}

func TestPrivateSite(t *testing.T) {
	m := &members{of: map[string]bool{"acme/alice": true}}
	s := newServer(t, sites(t), m, nil)

	a := do(s, "GET", "/sites/acme/decisions/adr-0001/?from=home")
	if a.code != http.StatusFound || a.header.Get("Location") != "/auth/login?next=/sites/acme/decisions/adr-0001/?from=home" {
		t.Errorf("not signed in: %d, Location %q", a.code, a.header.Get("Location"))
	}
	if strings.Contains(a.body, "ADR-0001") {
		t.Errorf("not signed in, the page leaked: %q", a.body)
	}
	// Even what is missing stays private: no 404 page, no hint.
	if a := do(s, "GET", "/sites/acme/nope"); a.code != http.StatusFound {
		t.Errorf("missing page, not signed in: %d", a.code)
	}

	a = do(s, "GET", "/sites/acme/decisions/adr-0001/", "X-Test-Login", "alice")
	if a.code != 200 || !strings.Contains(a.body, "ADR-0001") {
		t.Errorf("member: %d %q", a.code, a.body)
	}
	if a.header.Get("Cache-Control") != "private, no-store" || a.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("member: headers %v", a.header)
	}
	if a := do(s, "GET", "/sites/acme/nope", "X-Test-Login", "alice"); a.code != 404 || !strings.Contains(a.body, "acme has no such page") {
		t.Errorf("member, missing page: %d %q (want the site's 404.html)", a.code, a.body)
	}

	a = do(s, "GET", "/sites/acme/", "X-Test-Login", "mallory")
	if a.code != http.StatusForbidden || !strings.Contains(a.body, "signed in as mallory") || !strings.Contains(a.body, "Only members of acme") || strings.Contains(a.body, "story of acme") {
		t.Errorf("non-member: %d %q", a.code, a.body)
	}
	if !strings.Contains(a.body, `action="/auth/logout"`) {
		t.Errorf("non-member: no way to sign out: %q", a.body)
	}

	// gamma has no SiteMeta: it is treated as private.
	if a := do(s, "GET", "/sites/gamma/"); a.code != http.StatusFound {
		t.Errorf("site without SiteMeta, not signed in: %d", a.code)
	}
	if a := do(s, "GET", "/sites/gamma/", "X-Test-Login", "alice"); a.code != http.StatusForbidden {
		t.Errorf("site without SiteMeta, alice (no member of gamma): %d", a.code)
	}
	// beta is public: no sign-in, no question.
	before := m.count()
	if a := do(s, "GET", "/sites/beta/"); a.code != 200 || a.header.Get("Cache-Control") != "" {
		t.Errorf("public site: %d %v", a.code, a.header)
	}
	if m.count() != before {
		t.Error("Member was asked about a public site")
	}
}

func TestMembershipIsCachedFiveMinutes(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	m := &members{of: map[string]bool{"acme/alice": true}}
	s := newServer(t, sites(t), m, func(o *Options) { o.Now = func() time.Time { return now } })
	for range 3 {
		do(s, "GET", "/sites/acme/", "X-Test-Login", "alice")
		do(s, "GET", "/sites/acme/", "X-Test-Login", "Mallory")
		do(s, "GET", "/sites/acme/", "X-Test-Login", "mallory")
	}
	if m.count() != 2 {
		t.Errorf("Member asked %d times, want 2 (alice, mallory)", m.count())
	}
	// Alice leaves the organisation: within five minutes she is let in,
	// after them not.
	m.mu.Lock()
	delete(m.of, "acme/alice")
	m.mu.Unlock()
	now = now.Add(4 * time.Minute)
	if a := do(s, "GET", "/sites/acme/", "X-Test-Login", "alice"); a.code != 200 {
		t.Errorf("within five minutes: %d", a.code)
	}
	now = now.Add(time.Minute)
	if a := do(s, "GET", "/sites/acme/", "X-Test-Login", "alice"); a.code != http.StatusForbidden {
		t.Errorf("after five minutes: %d", a.code)
	}
}

func TestMembershipErrorRefuses(t *testing.T) {
	m := &members{err: errors.New("GitHub answered 502")}
	s := newServer(t, sites(t), m, nil)
	for range 2 {
		a := do(s, "GET", "/sites/acme/", "X-Test-Login", "alice")
		if a.code != http.StatusServiceUnavailable || strings.Contains(a.body, "story of acme") || a.header.Get("Cache-Control") != "private, no-store" {
			t.Errorf("Member failed: %d %q", a.code, a.body)
		}
	}
	if m.count() != 2 {
		t.Errorf("an error was remembered: Member asked %d times, want 2", m.count())
	}
}

func TestPrivateSiteWithoutSignIn(t *testing.T) {
	s := newServer(t, sites(t), &members{}, func(o *Options) {
		o.Readers, o.Member = nil, nil
		o.SignInOff = "Set server.public_url, github.client_id and github.client_secret."
	})
	a := do(s, "GET", "/sites/acme/")
	if a.code != http.StatusForbidden || !strings.Contains(a.body, "server.public_url") || strings.Contains(a.body, "story of acme") {
		t.Errorf("sign-in off: %d %q", a.code, a.body)
	}
	if a := do(s, "GET", "/sites/beta/"); a.code != 200 {
		t.Errorf("public site with sign-in off: %d", a.code)
	}
}

func TestIndexListsSites(t *testing.T) {
	s := newServer(t, sites(t), &members{}, nil)
	a := do(s, "GET", "/sites/", "X-Test-Login", "alice")
	if a.code != 200 {
		t.Fatalf("index: %d", a.code)
	}
	for _, want := range []string{`href="/sites/acme/"`, `href="/sites/beta/"`, `href="/sites/gamma/"`, "Signed in as <strong>alice</strong>"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("index lacks %s:\n%s", want, a.body)
		}
	}
	for _, not := range []string{"building", ".pages", ".backstory", "outside"} {
		if strings.Contains(a.body, not) {
			t.Errorf("index lists %s:\n%s", not, a.body)
		}
	}
	if n := strings.Count(a.body, "members only"); n != 2 {
		t.Errorf("%d sites marked members only, want 2 (acme, gamma):\n%s", n, a.body)
	}
	if a := do(s, "GET", "/sites"); a.code != http.StatusMovedPermanently || a.header.Get("Location") != "/sites/" {
		t.Errorf("/sites: %d %v", a.code, a.header)
	}
	empty := newServer(t, t.TempDir(), &members{}, nil)
	if a := do(empty, "GET", "/sites/"); a.code != 200 || !strings.Contains(a.body, "No site has been built yet") {
		t.Errorf("no sites: %d %q", a.code, a.body)
	}
}
