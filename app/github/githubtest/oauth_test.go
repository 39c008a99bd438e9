package githubtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// browser follows nothing: the tests look at each redirect.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize opens the authorization page and returns the redirect's query.
func authorize(t *testing.T, s *Server, clientID, redirect, state string) (*http.Response, url.Values) {
	t.Helper()
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "state": {state}}
	resp, err := browser.Get(s.URL() + "login/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return resp, nil
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return resp, loc.Query()
}

// exchange posts the code as a form, asking for JSON.
func exchange(t *testing.T, s *Server, form url.Values) map[string]string {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL()+"login/oauth/access_token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("access_token: %d, want 200 (GitHub answers 200 even when it refuses)", resp.StatusCode)
	}
	var out map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOAuthWebFlow(t *testing.T) {
	s := fixture(t)
	s.SetOAuthApp("Iv1.client", "s3cret")
	const back = "https://backstory.example.com/auth/callback"

	resp, _ := authorize(t, s, "Iv1.client", back, "st")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("nobody signed in: %d, want 403", resp.StatusCode)
	}
	if resp, _ := authorize(t, s, "Iv1.other", back, "st"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown client id: %d, want 404", resp.StatusCode)
	}

	s.SetSignedInUser("alice")
	_, q := authorize(t, s, "Iv1.client", back, "st-1")
	code := q.Get("code")
	if code == "" || q.Get("state") != "st-1" {
		t.Fatalf("redirect query %v: want a code and the state", q)
	}
	form := url.Values{"client_id": {"Iv1.client"}, "client_secret": {"s3cret"}, "code": {code}, "redirect_uri": {back}}
	for _, tt := range []struct {
		name, key, value, err string
	}{
		{"wrong secret", "client_secret", "nope", "incorrect_client_credentials"},
		{"wrong client", "client_id", "Iv1.other", "incorrect_client_credentials"},
		{"wrong code", "code", "0000", "bad_verification_code"},
		{"other redirect", "redirect_uri", "https://evil.example/cb", "redirect_uri_mismatch"},
	} {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set(tt.key, tt.value)
		if got := exchange(t, s, bad); got["error"] != tt.err || got["error_description"] == "" || got["access_token"] != "" {
			t.Errorf("%s: %v, want error %s", tt.name, got, tt.err)
		}
	}
	got := exchange(t, s, form)
	tok := got["access_token"]
	if !strings.HasPrefix(tok, "ghu_") || got["token_type"] != "bearer" || got["error"] != "" {
		t.Fatalf("exchange: %v", got)
	}
	if again := exchange(t, s, form); again["error"] != "bad_verification_code" {
		t.Errorf("a code used twice: %v, want bad_verification_code", again)
	}

	// The token names the user; an installation token names nobody.
	user := &apiClient{t: t, s: s, auth: "Bearer " + tok}
	r := user.get("user")
	want(t, r, http.StatusOK)
	if fieldString(t, r.object(t), "login") != "alice" || fieldString(t, r.object(t), "type") != "User" {
		t.Errorf("GET /user: %s", r.body)
	}
	want(t, s.asInstallation(t, 42).get("user"), http.StatusForbidden)
	want(t, s.anonymous(t).get("user"), http.StatusUnauthorized)
	want(t, (&apiClient{t: t, s: s, auth: "Bearer ghu_forged"}).get("user"), http.StatusUnauthorized)
	want(t, user.get("repos/acme/secret"), http.StatusForbidden)

	// A code expires after ten minutes.
	_, q = authorize(t, s, "Iv1.client", back, "st-2")
	s.Advance(10*time.Minute + time.Second)
	form.Set("code", q.Get("code"))
	if got := exchange(t, s, form); got["error"] != "bad_verification_code" {
		t.Errorf("an expired code: %v", got)
	}

	calls := s.CountCallsFunc(func(c Call) bool { return c.Operation == "oauth/access-token" })
	if calls != 7 {
		t.Errorf("%d access-token calls recorded, want 7", calls)
	}
}

func TestOAuthAnswersAsAskedAndFromJSON(t *testing.T) {
	s := fixture(t)
	client, secret := s.OAuthApp()
	if !strings.HasPrefix(client, "Iv1.") || len(secret) != 40 {
		t.Errorf("generated credentials %q %q", client, secret)
	}
	s.SetSignedInUser("bob")
	_, q := authorize(t, s, client, "http://127.0.0.1:8080/auth/callback?keep=1", "x")
	if q.Get("keep") != "1" {
		t.Errorf("the redirect_uri's own query was lost: %v", q)
	}
	body, _ := json.Marshal(map[string]string{"client_id": client, "client_secret": secret, "code": q.Get("code")})
	req, _ := http.NewRequest("POST", s.URL()+"login/oauth/access_token", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form, err := url.ParseQuery(string(data))
	if err != nil || !strings.HasPrefix(form.Get("access_token"), "ghu_") || form.Get("token_type") != "bearer" {
		t.Errorf("without Accept: application/json: %q (%s), want a form", data, resp.Header.Get("Content-Type"))
	}
	resp, err = browser.Get(s.URL() + "login/oauth/access_token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET access_token: %d, want 404", resp.StatusCode)
	}
}

func TestOAuthCallbackURLsAndDenial(t *testing.T) {
	s := fixture(t)
	client, _ := s.OAuthApp()
	const back = "https://backstory.example.com/auth/callback"
	s.SetOAuthCallbackURLs(back)
	s.SetSignedInUser("alice")

	_, q := authorize(t, s, client, "https://evil.example/cb", "st")
	if q.Get("error") != "redirect_uri_mismatch" || q.Get("code") != "" {
		t.Errorf("unregistered redirect_uri: %v", q)
	}
	resp, q := authorize(t, s, client, back, "st")
	if loc, _ := resp.Location(); q.Get("code") == "" || !strings.HasPrefix(loc.String(), back+"?") {
		t.Errorf("registered redirect_uri: %v", q)
	}

	s.SetAuthorizationDenied(true)
	_, q = authorize(t, s, client, back, "st")
	if q.Get("error") != "access_denied" || q.Get("state") != "st" || q.Get("code") != "" {
		t.Errorf("denied: %v", q)
	}
}
