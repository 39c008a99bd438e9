package githubtest

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GitHub's web flow for a GitHub App's user tokens ("Sign in with
// GitHub"), served by the same server as the API, as github.com serves it
// beside api.github.com:
//
//   - GET /login/oauth/authorize?client_id&redirect_uri&state signs in the
//     user set with SetSignedInUser (a 403 page when none is) and sends the
//     browser back to redirect_uri with a code and the state. A user who
//     cancels (SetAuthorizationDenied) is sent back with
//     error=access_denied.
//   - POST /login/oauth/access_token trades the code for a user token
//     ("ghu_…"). Its parameters come as a form, as JSON or in the query;
//     it answers 200 even when it refuses, with error
//     incorrect_client_credentials, bad_verification_code or
//     redirect_uri_mismatch, in JSON when asked with Accept:
//     application/json and form-encoded otherwise. A code works once, for
//     the App it was issued to, within 10 minutes of the fake's clock.
//   - GET /user with Authorization: Bearer <user token> answers the user.
//     The membership check takes a user token too (a member sees who else
//     is one); other operations refuse it with 403, as the fake does not
//     model what a user may reach.
//
// The App's client id and secret are generated; SetOAuthApp sets them.
// When callback URLs are registered (SetOAuthCallbackURLs), redirect_uri
// must be one of them exactly, as GitHub Apps require; without any, every
// redirect_uri is taken.

// codeLifetime is how long an authorization code can be traded.
const codeLifetime = 10 * time.Minute

// oauthState is the fake's OAuth side: the App's credentials, who is
// signed in to the fake's web pages, the codes and the user tokens issued.
type oauthState struct {
	clientID, secret string
	callbacks        []string
	signedIn         string
	denied           bool
	codes            map[string]*oauthCode
	userTokens       map[string]string // token -> login
}

type oauthCode struct {
	login, clientID, redirectURI string
	expires                      time.Time
}

// oauthApp returns the OAuth state, made on first use. The caller holds
// s.mu.
func (s *Server) oauthApp() *oauthState {
	if s.oauth == nil {
		s.oauth = &oauthState{
			clientID:   "Iv1." + randomString("0123456789abcdef", 16),
			secret:     randomString("0123456789abcdef", 40),
			codes:      map[string]*oauthCode{},
			userTokens: map[string]string{},
		}
	}
	return s.oauth
}

// SetOAuthApp sets the App's OAuth client id and secret.
func (s *Server) SetOAuthApp(clientID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.oauthApp()
	o.clientID, o.secret = clientID, secret
}

// OAuthApp returns the App's OAuth client id and secret.
func (s *Server) OAuthApp() (clientID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.oauthApp()
	return o.clientID, o.secret
}

// SetOAuthCallbackURLs registers the App's callback URLs; none accepts
// any redirect_uri.
func (s *Server) SetOAuthCallbackURLs(urls ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauthApp().callbacks = append([]string(nil), urls...)
}

// SetSignedInUser signs login in to the fake's web pages: the next
// authorizations are that user's. "" signs out.
func (s *Server) SetSignedInUser(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauthApp().signedIn = login
	if login != "" {
		if _, ok := s.users[strings.ToLower(login)]; !ok {
			s.users[strings.ToLower(login)] = "User"
		}
	}
}

// SetAuthorizationDenied makes the signed-in user cancel the next
// authorizations (true) or accept them (false, the default).
func (s *Server) SetAuthorizationDenied(denied bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauthApp().denied = denied
}

// UserToken issues a user token for login directly, for tests that do not
// go through the web flow.
func (s *Server) UserToken(login string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueUserToken(login)
}

func (s *Server) issueUserToken(login string) string {
	tok := "ghu_" + randomString(base62, 36)
	s.oauthApp().userTokens[tok] = login
	return tok
}

// userTokenLogin is the login of the user whose token authenticated req.
func (s *Server) userTokenLogin(req *request) string {
	if s.oauth == nil {
		return ""
	}
	return s.oauth.userTokens[credential(req.r)]
}

// userOperations take a user token.
var userOperations = map[string]bool{
	"users/get-authenticated":        true,
	"orgs/check-membership-for-user": true,
}

// authenticateUser finishes authenticate for a user token, or reports
// that cred is none.
func (s *Server) authenticateUser(req *request, cred string) (reply, bool, bool) {
	if s.oauth == nil {
		return reply{}, false, false
	}
	if _, ok := s.oauth.userTokens[cred]; !ok {
		return reply{}, false, false
	}
	if !userOperations[req.op.ID] {
		return errorReply(http.StatusForbidden, "Resource not accessible by integration", req.op.DocURL), false, true
	}
	req.auth = authUser
	return reply{}, true, true
}

// getAuthenticatedUser answers GET /user: only a user token names a user.
func (s *Server) getAuthenticatedUser(req *request) reply {
	switch req.auth {
	case authUser:
	case authNone:
		return errorReply(http.StatusUnauthorized, "Requires authentication", req.op.DocURL)
	default:
		return errorReply(http.StatusForbidden, "Resource not accessible by integration", req.op.DocURL)
	}
	login := s.userTokenLogin(req)
	u := userJSON(req, login, "User")
	created := ts(s.app.createdAt)
	for k, v := range map[string]any{
		"name": nil, "company": nil, "blog": "", "location": nil, "email": nil, "hireable": nil, "bio": nil,
		"twitter_username": nil, "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
		"created_at": created, "updated_at": created, "private_gists": 0, "total_private_repos": 0,
		"owned_private_repos": 0, "disk_usage": 0, "collaborators": 0, "two_factor_authentication": true,
	} {
		u[k] = v
	}
	return jsonReply(http.StatusOK, u)
}

// isWebFlow reports the paths of the OAuth web flow, which GitHub serves
// on its web host and its API description does not have.
func isWebFlow(path string) bool {
	return path == "/login/oauth/authorize" || path == "/login/oauth/access_token"
}

// serveWebFlow answers the OAuth web flow.
func (s *Server) serveWebFlow(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{At: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	switch r.URL.Path {
	case "/login/oauth/authorize":
		call.Operation = "oauth/authorize"
		s.authorizeUser(rec, r)
	default:
		call.Operation = "oauth/access-token"
		s.exchangeCode(rec, r)
	}
	call.Status = rec.status
	s.calls = append(s.calls, call)
	s.logf("githubtest: %s %s -> %d", r.Method, r.URL.Path, rec.status)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// webPage answers an HTML page, as GitHub's web host does.
func webPage(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%s</title></head><body><h1>%s</h1><p>%s</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}

func (s *Server) authorizeUser(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		webPage(w, http.StatusNotFound, "Page not found", "The OAuth authorization page takes GET.")
		return
	}
	o := s.oauthApp()
	q := r.URL.Query()
	if q.Get("client_id") != o.clientID {
		webPage(w, http.StatusNotFound, "Page not found", fmt.Sprintf("No GitHub App has the client id %q.", q.Get("client_id")))
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" && len(o.callbacks) > 0 {
		redirect = o.callbacks[0]
	}
	back, err := url.Parse(redirect)
	if redirect == "" || err != nil || (back.Scheme != "http" && back.Scheme != "https") || back.Host == "" {
		webPage(w, http.StatusBadRequest, "Invalid redirect URI", fmt.Sprintf("redirect_uri %q is not an absolute http(s) URL, and the App registers no callback URL.", redirect))
		return
	}
	answer := url.Values{}
	if len(o.callbacks) > 0 && !contains(o.callbacks, redirect) {
		back, _ = url.Parse(o.callbacks[0])
		answer.Set("error", "redirect_uri_mismatch")
		answer.Set("error_description", "The redirect_uri MUST match the registered callback URL for this application.")
		answer.Set("error_uri", "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch")
	} else if o.signedIn == "" {
		webPage(w, http.StatusForbidden, "Sign in to GitHub", "Nobody is signed in to the fake GitHub: the test calls SetSignedInUser first.")
		return
	} else if o.denied {
		answer.Set("error", "access_denied")
		answer.Set("error_description", "The user has denied your application access.")
		answer.Set("error_uri", "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied")
	} else {
		code := randomString("0123456789abcdef", 20)
		o.codes[code] = &oauthCode{login: o.signedIn, clientID: o.clientID, redirectURI: redirect, expires: s.now().Add(codeLifetime)}
		answer.Set("code", code)
	}
	if st := q.Get("state"); st != "" {
		answer.Set("state", st)
	}
	merged := back.Query()
	for k, vs := range answer {
		merged[k] = vs
	}
	back.RawQuery = merged.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// tokenParams reads the access-token request: a form, JSON, or the query.
func tokenParams(r *http.Request) url.Values {
	out := r.URL.Query()
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	data, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	switch mt {
	case "application/json":
		var m map[string]any
		if json.Unmarshal(data, &m) == nil {
			for k, v := range m {
				if s, ok := v.(string); ok {
					out.Set(k, s)
				}
			}
		}
	default:
		if form, err := url.ParseQuery(string(data)); err == nil {
			for k, vs := range form {
				out[k] = vs
			}
		}
	}
	return out
}

func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		webPage(w, http.StatusNotFound, "Page not found", "The access token is asked for with POST.")
		return
	}
	o := s.oauthApp()
	p := tokenParams(r)
	answer := func(v map[string]string) {
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_ = json.NewEncoder(w).Encode(v)
			return
		}
		form := url.Values{}
		for k, x := range v {
			form.Set(k, x)
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, form.Encode())
	}
	refuse := func(code, description, anchor string) {
		answer(map[string]string{"error": code, "error_description": description,
			"error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#" + anchor})
	}
	if p.Get("client_id") != o.clientID || p.Get("client_secret") != o.secret {
		refuse("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.", "incorrect-client-credentials")
		return
	}
	c := o.codes[p.Get("code")]
	if c == nil || c.clientID != o.clientID || !s.now().Before(c.expires) {
		refuse("bad_verification_code", "The code passed is incorrect or expired.", "bad-verification-code")
		return
	}
	if ru := p.Get("redirect_uri"); ru != "" && ru != c.redirectURI {
		refuse("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.", "redirect-uri-mismatch")
		return
	}
	delete(o.codes, p.Get("code"))
	answer(map[string]string{"access_token": s.issueUserToken(c.login), "token_type": "bearer", "scope": ""})
}
