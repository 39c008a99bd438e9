// Package signin lets readers of backstory's web pages sign in with GitHub:
// the sites that hold private records now, the operator's pages later. It
// runs GitHub's web flow with the App's own OAuth credentials (the client
// id and secret the manifest flow gave), learns who the reader is from GET
// /user, and remembers them in a signed cookie. Whether that reader may
// read a page is the caller's business (sitesrv asks GitHub whether they
// belong to the organisation).
//
// Routes, under /auth/:
//
//	GET  /auth/login?next=/path  a random state in a short-lived signed
//	                             cookie, then off to GitHub's authorize page
//	GET  /auth/callback          back from GitHub: the state checked, the
//	                             code traded for a user token, GET /user,
//	                             the session cookie set, then on to next
//	POST /auth/logout            the session cookie cleared
//
// The session cookie holds the login and its expiry (8 hours), signed with
// HMAC-SHA256 under a key derived from the client secret, so that every
// replica that shares the App's credentials accepts it, and a new secret
// signs everyone out. No server-side state is kept, and the user token is
// dropped once the callback knows the login: backstory never acts as the
// reader. next is followed only when it is a path on this server, never
// another site (no open redirect).
package signin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Paths of the routes, and where GitHub sends the reader back (register
// PublicURL + CallbackPath as a callback URL of the App).
const (
	LoginPath    = "/auth/login"
	CallbackPath = "/auth/callback"
	LogoutPath   = "/auth/logout"
)

// SessionLifetime is how long a sign-in lasts.
const SessionLifetime = 8 * time.Hour

// stateLifetime bounds the round trip to GitHub: GitHub's codes live ten
// minutes.
const stateLifetime = 10 * time.Minute

// Cookie names.
const (
	sessionCookie = "backstory_session"
	stateCookie   = "backstory_signin"
)

// Config configures a Handler.
type Config struct {
	// ClientID and ClientSecret are the App's OAuth credentials (github.client_id
	// and github.client_secret, which `backstory setup` writes).
	ClientID     string
	ClientSecret string
	// WebURL is GitHub's web address: https://github.com, or a GitHub
	// Enterprise Server's.
	WebURL string
	// APIURL is GitHub's API base, for GET /user: https://api.github.com/.
	APIURL string
	// PublicURL is where readers reach `backstory serve`
	// (https://backstory.example.com); GitHub sends them back to
	// PublicURL + CallbackPath. With https, cookies are Secure.
	PublicURL string
	// HTTPClient talks to GitHub; nil: a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log may be nil: slog.Default().
	Log *slog.Logger
}

// Handler serves the sign-in routes and says who is signed in. It is safe
// for concurrent use.
type Handler struct {
	cfg        Config
	web, api   string // without and with a trailing slash
	callback   string
	secure     bool
	sessionKey []byte
	stateKey   []byte
	hc         *http.Client
	now        func() time.Time
	log        *slog.Logger
}

// New checks cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("sign-in: the App's OAuth client id and secret are both needed (github.client_id, github.client_secret; `backstory setup` writes them)")
	}
	pub, err := absoluteURL("the public URL", cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if pub.RawQuery != "" || pub.Fragment != "" || strings.Trim(pub.Path, "/") != "" {
		// Cookies and redirects are set for paths at the root.
		return nil, fmt.Errorf("sign-in: the public URL %q must be the server's root address, with no path, query or fragment", cfg.PublicURL)
	}
	web, err := absoluteURL("GitHub's web URL", cfg.WebURL)
	if err != nil {
		return nil, err
	}
	api, err := absoluteURL("GitHub's API URL", cfg.APIURL)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		cfg:        cfg,
		web:        strings.TrimRight(web.String(), "/"),
		api:        strings.TrimRight(api.String(), "/") + "/",
		callback:   strings.TrimRight(pub.String(), "/") + CallbackPath,
		secure:     pub.Scheme == "https",
		sessionKey: deriveKey(cfg.ClientSecret, "session"),
		stateKey:   deriveKey(cfg.ClientSecret, "state"),
		hc:         cfg.HTTPClient,
		now:        cfg.Now,
		log:        cfg.Log,
	}
	if h.hc == nil {
		h.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h, nil
}

func absoluteURL(what, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sign-in: %s %q is not an absolute http(s) URL", what, s)
	}
	return u, nil
}

// deriveKey makes the key of one cookie from the client secret, so that
// replicas sharing the App's credentials share it, and one cookie's
// signature is never valid for another.
func deriveKey(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	io.WriteString(m, "backstory sign-in cookie key: "+purpose)
	return m.Sum(nil)
}

// CallbackURL is where GitHub sends readers back: it must be one of the
// App's callback URLs.
func (h *Handler) CallbackURL() string { return h.callback }

// LoginURL is where to send a reader to sign in and come back to next (a
// local path).
func (h *Handler) LoginURL(next string) string {
	return LoginPath + "?next=" + url.QueryEscape(next)
}

// LogoutURL is where a form posts to sign out.
func (h *Handler) LogoutURL() string { return LogoutPath }

// ServeHTTP serves the routes under /auth/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch r.URL.Path {
	case LoginPath:
		if !allow(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		h.login(w, r)
	case CallbackPath:
		if !allow(w, r, http.MethodGet) {
			return
		}
		h.finish(w, r)
	case LogoutPath:
		if !allow(w, r, http.MethodPost) {
			return
		}
		h.logout(w, r)
	default:
		page(w, http.StatusNotFound, "Not found", "There is no such sign-in page.")
	}
}

func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	page(w, http.StatusMethodNotAllowed, "Method not allowed", r.Method+" is not how this page is used.")
	return false
}

// User returns the login of the reader signed in on r.
func (h *Handler) User(r *http.Request) (login string, ok bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	fields, ok := h.open(h.sessionKey, c.Value)
	if !ok || len(fields) != 2 {
		return "", false
	}
	if !h.live(fields[1]) || fields[0] == "" {
		return "", false
	}
	return fields[0], true
}

// live reports whether an expiry (Unix seconds) is still ahead.
func (h *Handler) live(expiry string) bool {
	exp, err := strconv.ParseInt(expiry, 10, 64)
	return err == nil && h.now().Before(time.Unix(exp, 0))
}

// seal signs fields (none may hold a newline) into a cookie value.
func (h *Handler) seal(key []byte, fields ...string) string {
	payload := []byte(strings.Join(fields, "\n"))
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(m.Sum(nil))
}

// open checks a value made by seal and returns its fields.
func (h *Handler) open(key []byte, value string) ([]string, bool) {
	p, s, ok := strings.Cut(value, ".")
	if !ok {
		return nil, false
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	sig, err2 := enc.DecodeString(s)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return nil, false
	}
	return strings.Split(string(payload), "\n"), true
}

func (h *Handler) cookie(name, value, path string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
		c.Expires = h.now().Add(maxAge)
	} else {
		c.MaxAge = -1
	}
	return c
}

// LocalPath returns next when it is a path on this server, and "/"
// otherwise: "//evil.example", "https://evil.example" and "/\evil.example"
// would take the reader elsewhere.
func LocalPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\x00\t\r\n") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return next
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	next := LocalPath(r.URL.Query().Get("next"))
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		h.log.Error("sign-in: no randomness for the state", "err", err)
		page(w, http.StatusInternalServerError, "Internal error", "The sign-in could not start. Try again later.")
		return
	}
	state := base64.RawURLEncoding.EncodeToString(raw)
	exp := strconv.FormatInt(h.now().Add(stateLifetime).Unix(), 10)
	http.SetCookie(w, h.cookie(stateCookie, h.seal(h.stateKey, state, next, exp), "/auth/", stateLifetime))
	q := url.Values{"client_id": {h.cfg.ClientID}, "redirect_uri": {h.callback}, "state": {state}}
	http.Redirect(w, r, h.web+"/login/oauth/authorize?"+q.Encode(), http.StatusFound)
}

// failure is a sign-in that did not work: the status and page the reader
// gets, and the cause for the log.
type failure struct {
	status int
	title  string
	text   string
	advice []string
	cause  error
}

func (h *Handler) finish(w http.ResponseWriter, r *http.Request) {
	login, next, f := h.callbackLogin(r)
	// The state is spent either way.
	http.SetCookie(w, h.cookie(stateCookie, "", "/auth/", 0))
	if f != nil {
		h.log.Warn("sign-in failed", "reason", f.title, "err", f.cause)
		again := h.LoginURL(next)
		pageWith(w, f.status, f.title, f.text, f.advice, again)
		return
	}
	exp := strconv.FormatInt(h.now().Add(SessionLifetime).Unix(), 10)
	http.SetCookie(w, h.cookie(sessionCookie, h.seal(h.sessionKey, login, exp), "/", SessionLifetime))
	h.log.Info("signed in with GitHub", "login", login)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// callbackLogin checks the state of the callback, trades its code for a
// user token and asks GitHub whose it is.
func (h *Handler) callbackLogin(r *http.Request) (login, next string, f *failure) {
	q := r.URL.Query()
	next = "/"
	c, err := r.Cookie(stateCookie)
	if err != nil {
		return "", next, &failure{status: http.StatusBadRequest, title: "Sign-in expired",
			text:  "This sign-in was not started here, or took longer than 10 minutes (or the browser refuses cookies). Sign in again.",
			cause: errors.New("no state cookie")}
	}
	fields, ok := h.open(h.stateKey, c.Value)
	if !ok || len(fields) != 3 || !h.live(fields[2]) {
		return "", next, &failure{status: http.StatusBadRequest, title: "Sign-in expired",
			text: "This sign-in took longer than 10 minutes, or its cookie was altered. Sign in again.", cause: errors.New("state cookie invalid or expired")}
	}
	next = LocalPath(fields[1])
	if st := q.Get("state"); st == "" || !hmac.Equal([]byte(st), []byte(fields[0])) {
		return "", next, &failure{status: http.StatusBadRequest, title: "Sign-in refused",
			text: "GitHub's answer does not belong to the sign-in this browser started. Sign in again.", cause: errors.New("state mismatch")}
	}
	if e := q.Get("error"); e != "" {
		return "", next, h.githubRefused("authorize", e, q.Get("error_description"))
	}
	code := q.Get("code")
	if code == "" {
		return "", next, &failure{status: http.StatusBadRequest, title: "Sign-in refused", text: "GitHub sent no code back. Sign in again.",
			cause: errors.New("no code in the callback")}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	token, f := h.exchange(ctx, code)
	if f != nil {
		return "", next, f
	}
	login, f = h.whoIs(ctx, token)
	return login, next, f
}

// githubRefused explains an error GitHub answered, at step authorize or
// access_token, with what the operator should check.
func (h *Handler) githubRefused(step, code, description string) *failure {
	f := &failure{status: http.StatusBadGateway, title: "GitHub refused the sign-in",
		text:  fmt.Sprintf("GitHub answered %q: %s", code, description),
		cause: fmt.Errorf("github %s: %s: %s", step, code, description)}
	switch code {
	case "access_denied":
		f.status, f.title, f.text = http.StatusForbidden, "Sign-in cancelled", "You did not authorize the App on GitHub, so backstory cannot tell who you are."
	case "incorrect_client_credentials":
		f.advice = []string{
			"The operator should check github.client_id and github.client_secret: they must be the Client ID and a client secret of the App (its settings page on GitHub, \"Client secrets\").",
		}
	case "redirect_uri_mismatch":
		f.advice = []string{
			fmt.Sprintf("The operator should add %s as a callback URL of the App (its settings page on GitHub, \"Callback URL\"), or set server.public_url to the address readers use.", h.callback),
		}
	case "bad_verification_code":
		f.status, f.title, f.text = http.StatusBadRequest, "Sign-in expired", "GitHub's code was used already or is too old. Sign in again."
	case "application_suspended":
		f.advice = []string{"The App is suspended on GitHub: the operator should restore it."}
	}
	return f
}

// exchange trades a code for a user token (POST /login/oauth/access_token).
func (h *Handler) exchange(ctx context.Context, code string) (string, *failure) {
	form := url.Values{"client_id": {h.cfg.ClientID}, "client_secret": {h.cfg.ClientSecret}, "code": {code}, "redirect_uri": {h.callback}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.web+"/login/oauth/access_token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", unreachable(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := h.hc.Do(req)
	if err != nil {
		return "", unreachable(err)
	}
	defer resp.Body.Close()
	var answer struct {
		AccessToken      string `json:"access_token"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &answer) != nil {
		return "", &failure{status: http.StatusBadGateway, title: "GitHub could not sign you in",
			text:   fmt.Sprintf("GitHub answered %s to the token request.", resp.Status),
			advice: []string{fmt.Sprintf("The operator should check that GitHub's web address (%s) is right: it is github.web_url, or derived from github.api_url.", h.web)},
			cause:  fmt.Errorf("access_token: %s: %.200s", resp.Status, data)}
	}
	if answer.Error != "" {
		return "", h.githubRefused("access_token", answer.Error, answer.ErrorDescription)
	}
	if answer.AccessToken == "" {
		return "", &failure{status: http.StatusBadGateway, title: "GitHub could not sign you in", text: "GitHub gave no token.",
			cause: errors.New("access_token: no token in the answer")}
	}
	return answer.AccessToken, nil
}

// whoIs asks GitHub whose token it is (GET /user).
func (h *Handler) whoIs(ctx context.Context, token string) (string, *failure) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.api+"user", nil)
	if err != nil {
		return "", unreachable(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := h.hc.Do(req)
	if err != nil {
		return "", unreachable(err)
	}
	defer resp.Body.Close()
	var user struct {
		Login   string `json:"login"`
		Message string `json:"message"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = json.Unmarshal(data, &user)
	if resp.StatusCode != http.StatusOK || user.Login == "" {
		return "", &failure{status: http.StatusBadGateway, title: "GitHub could not say who you are",
			text:   fmt.Sprintf("GitHub answered %s to GET /user: %s", resp.Status, user.Message),
			advice: []string{fmt.Sprintf("The operator should check github.api_url (%s).", h.api)},
			cause:  fmt.Errorf("GET /user: %s: %.200s", resp.Status, data)}
	}
	return user.Login, nil
}

func unreachable(err error) *failure {
	return &failure{status: http.StatusBadGateway, title: "GitHub cannot be reached",
		text: "backstory could not reach GitHub to finish the sign-in. Try again in a moment.", cause: err}
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, h.cookie(sessionCookie, "", "/", 0))
	next := LocalPath(r.FormValue("next"))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · backstory</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1f2328}h1{font-size:1.5rem}</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{if .Advice}}<ul>{{range .Advice}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Again}}<p><a href="{{.Again}}">Sign in again</a></p>{{end}}
</main>
</body>
</html>
`))

func page(w http.ResponseWriter, status int, title, text string) {
	pageWith(w, status, title, text, nil, "")
}

func pageWith(w http.ResponseWriter, status int, title, text string, advice []string, again string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, struct {
		Title, Text string
		Advice      []string
		Again       string
	}{title, text, advice, again})
}
