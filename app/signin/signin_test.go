package signin

import (
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app/github/githubtest"
)

// clock is a settable clock for the handler.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// site is backstory serve as far as sign-in goes: the /auth/ routes and a
// page that says who reads it, in front of a fake GitHub.
type site struct {
	gh    *githubtest.Server
	h     *Handler
	srv   *httptest.Server
	clock *clock
}

func newSite(t *testing.T, mod func(*Config)) *site {
	t.Helper()
	gh := githubtest.New(t)
	gh.SetOAuthApp("Iv1.backstory", "s3cret")
	s := &site{gh: gh, clock: &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}}
	mux := http.NewServeMux()
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	gh.SetOAuthCallbackURLs(s.srv.URL + CallbackPath)
	cfg := Config{ClientID: "Iv1.backstory", ClientSecret: "s3cret", WebURL: strings.TrimSuffix(gh.URL(), "/"), APIURL: gh.URL(),
		PublicURL: s.srv.URL, Now: s.clock.now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.h = h
	mux.Handle("/auth/", h)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if login, ok := h.User(r); ok {
			io.WriteString(w, "reader: "+login)
			return
		}
		io.WriteString(w, "reader: nobody")
	})
	return s
}

// browser is a client with cookies that follows redirects, as a browser.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn goes through the whole flow as login and returns the browser.
func (s *site) signIn(t *testing.T, login, next string) (*http.Client, *http.Response, string) {
	t.Helper()
	s.gh.SetSignedInUser(login)
	c := browser(t)
	resp, body := get(t, c, s.srv.URL+LoginPath+"?next="+url.QueryEscape(next))
	return c, resp, body
}

func TestSignInRoundTrip(t *testing.T) {
	s := newSite(t, nil)
	c, resp, body := s.signIn(t, "alice", "/sites/acme/decisions/?tag=kafka")
	if resp.StatusCode != 200 || body != "reader: alice" {
		t.Fatalf("after sign-in: %d %q", resp.StatusCode, body)
	}
	if got := resp.Request.URL.RequestURI(); got != "/sites/acme/decisions/?tag=kafka" {
		t.Errorf("landed on %s, want next", got)
	}
	// GitHub was asked once for the token and once who it is.
	if n := s.gh.CountCalls("oauth/access-token"); n != 1 {
		t.Errorf("%d token requests", n)
	}
	if n := s.gh.CountCalls("users/get-authenticated"); n != 1 {
		t.Errorf("%d GET /user", n)
	}
	u, _ := url.Parse(s.srv.URL)
	var session *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}

	// Signing out forgets the reader.
	resp, err := c.PostForm(s.srv.URL+LogoutPath, url.Values{"next": {"/bye"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "reader: nobody" || resp.Request.URL.Path != "/bye" {
		t.Errorf("after logout: %q at %s", b, resp.Request.URL)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	s := newSite(t, nil)
	s.gh.SetSignedInUser("alice")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(s.srv.URL + LoginPath + "?next=/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	state := resp.Cookies()
	if len(state) != 1 || !state[0].HttpOnly || state[0].SameSite != http.SameSiteLaxMode || state[0].Secure {
		t.Errorf("state cookie %+v", state)
	}
	loc, _ := resp.Location()
	if !strings.HasPrefix(loc.String(), s.gh.URL()+"login/oauth/authorize?") || loc.Query().Get("redirect_uri") != s.srv.URL+CallbackPath ||
		loc.Query().Get("client_id") != "Iv1.backstory" || len(loc.Query().Get("state")) < 40 {
		t.Errorf("sent to %s", loc)
	}
	// GitHub sends the browser back.
	resp, err = noFollow.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := resp.Location()
	req, _ := http.NewRequest("GET", back.String(), nil)
	req.AddCookie(state[0])
	resp, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("callback: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.MaxAge != int(SessionLifetime/time.Second) || session.Secure {
		t.Errorf("session cookie %+v", session)
	}
	if strings.Contains(session.Value, "ghu_") {
		t.Errorf("the user token is in the cookie: %s", session.Value)
	}

	// Behind https, cookies are Secure.
	h, err := New(Config{ClientID: "c", ClientSecret: "s", WebURL: "https://github.com", APIURL: "https://api.github.com/", PublicURL: "https://backstory.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", LoginPath, nil))
	if c := rec.Result().Cookies(); len(c) != 1 || !c[0].Secure {
		t.Errorf("https state cookie %+v", c)
	}
	if loc := rec.Header().Get("Location"); !strings.Contains(loc, url.QueryEscape("https://backstory.example.com/auth/callback")) {
		t.Errorf("redirect_uri in %s", loc)
	}
}

func TestTamperedAndExpiredSessions(t *testing.T) {
	s := newSite(t, nil)
	c, _, body := s.signIn(t, "alice", "/")
	if body != "reader: alice" {
		t.Fatalf("sign-in: %q", body)
	}
	u, _ := url.Parse(s.srv.URL)
	var value string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			value = ck.Value
		}
	}
	reader := func(cookie string) string {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
		login, _ := s.h.User(req)
		return login
	}
	if got := reader(value); got != "alice" {
		t.Fatalf("the genuine cookie reads %q", got)
	}
	payload, sig, _ := strings.Cut(value, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "alice", "admin", 1)))
	farFuture := base64.RawURLEncoding.EncodeToString([]byte("alice\n99999999999"))
	for name, v := range map[string]string{
		"another login":       forged + "." + sig,
		"a later expiry":      farFuture + "." + sig,
		"no signature":        payload,
		"a broken signature":  payload + "." + sig[:len(sig)-2] + "AA",
		"another key's":       (&Handler{}).seal(deriveKey("other secret", "session"), "alice", "99999999999"),
		"the state cookie's":  s.h.seal(s.h.stateKey, "alice", "99999999999"),
		"not base64":          "!!!.!!!",
		"empty":               "",
		"a session of nobody": s.h.seal(s.h.sessionKey, "", "99999999999"),
	} {
		if got := reader(v); got != "" {
			t.Errorf("%s: read as %q", name, got)
		}
	}

	s.clock.advance(SessionLifetime - time.Second)
	if got := reader(value); got != "alice" {
		t.Errorf("just before expiry: %q", got)
	}
	s.clock.advance(time.Second)
	if got := reader(value); got != "" {
		t.Errorf("after 8 hours: still %q", got)
	}
	// A replica with the same secret accepts the cookie; another secret
	// does not.
	s.clock.advance(-time.Hour)
	same, _ := New(Config{ClientID: "Iv1.backstory", ClientSecret: "s3cret", WebURL: "https://github.com", APIURL: "https://api.github.com/", PublicURL: "http://x", Now: s.clock.now})
	other, _ := New(Config{ClientID: "Iv1.backstory", ClientSecret: "new", WebURL: "https://github.com", APIURL: "https://api.github.com/", PublicURL: "http://x", Now: s.clock.now})
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: value})
	if login, ok := same.User(req); !ok || login != "alice" {
		t.Errorf("a replica reads %q, %v", login, ok)
	}
	if _, ok := other.User(req); ok {
		t.Error("a cookie signed under another secret is accepted")
	}
}

func TestNoOpenRedirect(t *testing.T) {
	s := newSite(t, nil)
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "\\\\evil.example", "evil.example", "/\t/evil.example", "javascript:alert(1)", ""} {
		_, resp, body := s.signIn(t, "alice", next)
		if resp.Request.URL.Host != strings.TrimPrefix(s.srv.URL, "http://") || resp.Request.URL.Path != "/" || body != "reader: alice" {
			t.Errorf("next %q: landed on %s (%q)", next, resp.Request.URL, body)
		}
	}
	for next, want := range map[string]string{"/sites/acme/": "/sites/acme/", "/a?b=c#d": "/a?b=c#d", "/%2F%2Fevil": "/%2F%2Fevil"} {
		if got := LocalPath(next); got != want {
			t.Errorf("LocalPath(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestStateMismatchRefused(t *testing.T) {
	s := newSite(t, nil)
	s.gh.SetSignedInUser("mallory")
	// Mallory starts a sign-in and keeps GitHub's answer...
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(s.srv.URL + LoginPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	resp, err = noFollow.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := resp.Location()

	// ...and sends it to Alice, whose browser started a sign-in of its
	// own: she must not end up signed in as Mallory.
	alice := browser(t)
	aliceNoFollow := &http.Client{Jar: alice.Jar, CheckRedirect: noFollow.CheckRedirect}
	resp, err = aliceNoFollow.Get(s.srv.URL + LoginPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, body := get(t, alice, back.String())
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Sign-in refused") {
		t.Errorf("another browser's code: %d %q", resp.StatusCode, body)
	}
	if _, body := get(t, alice, s.srv.URL+"/"); body != "reader: nobody" {
		t.Errorf("alice reads as %q", body)
	}
	fresh := browser(t)
	if resp, _ := get(t, fresh, back.String()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a callback without a sign-in started: %d", resp.StatusCode)
	}
	if _, body := get(t, fresh, s.srv.URL+"/"); body != "reader: nobody" {
		t.Errorf("a refused callback signed in %q", body)
	}
	// A state cookie older than 10 minutes is refused.
	late := browser(t)
	noFollowLate := &http.Client{Jar: late.Jar, CheckRedirect: noFollow.CheckRedirect}
	resp, err = noFollowLate.Get(s.srv.URL + LoginPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ = resp.Location()
	s.clock.advance(11 * time.Minute)
	if resp, body := get(t, late, loc.String()); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Errorf("a late callback: %d %q", resp.StatusCode, body)
	}
}

func TestGitHubErrorsSayWhatToCheck(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*site)
		mod    func(*Config)
		status int
		want   string
	}{
		{"wrong secret", nil, func(c *Config) { c.ClientSecret = "stale" }, http.StatusBadGateway, "github.client_secret"},
		{"cancelled", func(s *site) { s.gh.SetAuthorizationDenied(true) }, nil, http.StatusForbidden, "did not authorize"},
		{"GitHub down", nil, func(c *Config) { c.HTTPClient = &http.Client{Transport: failing{}} }, http.StatusBadGateway, "could not reach GitHub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t, tt.mod)
			if tt.setup != nil {
				tt.setup(s)
			}
			_, resp, body := s.signIn(t, "alice", "/")
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%d, want %d with %q:\n%s", resp.StatusCode, tt.status, tt.want, body)
			}
			if strings.Contains(body, "s3cret") || strings.Contains(body, "stale") {
				t.Errorf("the page shows the secret:\n%s", body)
			}
		})
	}
}

type failing struct{}

func (failing) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("connection refused")
}

// GitHub sends the reader back with redirect_uri_mismatch when the App
// does not list backstory's callback URL.
func TestRedirectMismatchSaysWhatToRegister(t *testing.T) {
	s := newSite(t, nil)
	c := browser(t)
	noFollow := &http.Client{Jar: c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(s.srv.URL + LoginPath + "?next=/sites/acme/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	q := url.Values{"error": {"redirect_uri_mismatch"}, "error_description": {"The redirect_uri MUST match the registered callback URL for this application."},
		"state": {loc.Query().Get("state")}}
	resp, body := get(t, c, s.srv.URL+CallbackPath+"?"+q.Encode())
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, s.srv.URL+CallbackPath) || !strings.Contains(body, "callback URL of the App") {
		t.Errorf("%d:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `href="/auth/login?next=%2Fsites%2Facme%2F"`) {
		t.Errorf("no way to sign in again to the page asked for:\n%s", body)
	}
}

func TestConfigRefused(t *testing.T) {
	good := Config{ClientID: "c", ClientSecret: "s", WebURL: "https://github.com", APIURL: "https://api.github.com/", PublicURL: "https://b.example"}
	for name, mod := range map[string]func(*Config){
		"no client id":       func(c *Config) { c.ClientID = "" },
		"no secret":          func(c *Config) { c.ClientSecret = "" },
		"no public URL":      func(c *Config) { c.PublicURL = "" },
		"relative public":    func(c *Config) { c.PublicURL = "/x" },
		"public with query":  func(c *Config) { c.PublicURL = "https://b.example/?a=1" },
		"public with a path": func(c *Config) { c.PublicURL = "https://b.example/backstory" },
		"no web URL":         func(c *Config) { c.WebURL = "" },
	} {
		cfg := good
		mod(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(good); err != nil {
		t.Error(err)
	}
}
