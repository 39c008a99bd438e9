package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github/githubtest"
)

// TestServeShowsAPrivateSiteToMembersOnly runs serve with a site folder and
// sign-in configured: the site the App builds of a private repository is
// refused to a reader who has not signed in, shown to a member of the
// organisation once signed in with GitHub, and refused to anyone else.
func TestServeShowsAPrivateSiteToMembersOnly(t *testing.T) {
	e := newE2E(t)
	e.gh.AddRepo(e2eRepo, githubtest.RepoOptions{Private: true})
	e.gh.AddMember("octo-org", "alice")
	public := "http://" + e.addr
	e.gh.SetOAuthApp("Iv1.e2e", "oauth-secret")
	e.gh.SetOAuthCallbackURLs(public + "/auth/callback")
	sites := t.TempDir()
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(cfg), "github:\n", "github:\n  client_id: Iv1.e2e\n  client_secret: oauth-secret\n", 1)
	text = strings.Replace(text, "server:\n", "server:\n  public_url: "+public+"\n", 1)
	text += "site:\n  dir: " + sites + "\n"
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	child := e.start()

	data, err := githubtest.Payload("installation", "created.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	m["installation"] = map[string]any{"id": 7, "account": map[string]any{"login": "octo-org", "type": "Organization"}}
	body, _ := json.Marshal(m)
	if got := e.post("installation", "install-private", body, e2eSecret); got != http.StatusAccepted {
		t.Fatalf("installation delivery: %d", got)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		meta, err := app.ReadSiteMeta(sites, "octo-org")
		page, _ := os.ReadFile(filepath.Join(sites, "octo-org", "index.html"))
		if err == nil && meta.Private && !meta.BuiltAt.IsZero() && strings.Contains(string(page), "Keep a changelog") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no private site of octo-org after the installation (meta %+v, %v)\n%s", meta, err, child.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Not signed in: sent to sign in, and nothing of the site shown.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(public + "/sites/octo-org/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/auth/login?next=%2Fsites%2Focto-org%2F" || strings.Contains(string(b), "Keep a changelog") {
		t.Fatalf("not signed in: %d, Location %q\n%s", resp.StatusCode, resp.Header.Get("Location"), b)
	}

	// A member signs in with GitHub and lands on the site.
	e.gh.SetSignedInUser("alice")
	resp, page := browse(t, public+"/sites/octo-org/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Keep a changelog") || resp.Request.URL.Path != "/sites/octo-org/" {
		t.Fatalf("member: %d at %s\n%.500s\n%s", resp.StatusCode, resp.Request.URL, page, child.out.String())
	}
	if resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("member: Cache-Control %q", resp.Header.Get("Cache-Control"))
	}

	// Someone else signs in, and is refused.
	e.gh.SetSignedInUser("mallory")
	resp, page = browse(t, public+"/sites/octo-org/")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "signed in as mallory") || strings.Contains(page, "Keep a changelog") {
		t.Fatalf("non-member: %d\n%s", resp.StatusCode, page)
	}
	if n := e.gh.CountCallsFunc(func(c githubtest.Call) bool {
		return c.Operation == "orgs/check-membership-for-user" && c.Installation == 7
	}); n != 2 {
		t.Errorf("membership asked %d times through installation 7, want 2 (alice, mallory)", n)
	}

	// The list of sites marks the site as for members.
	if index := get(t, public+"/sites/"); !strings.Contains(index, `href="/sites/octo-org/"`) || !strings.Contains(index, "members only") {
		t.Errorf("/sites/:\n%s", index)
	}
}

// browse follows redirects with cookies, as a browser, and returns where it
// ended.
func browse(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServeSiteSettings(t *testing.T) {
	e := newE2E(t)
	base, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, extra, want string
	}{
		{"serve without a folder", "site:\n  serve: true\n", "site.serve is on but site.dir is not set"},
		{"public URL with a path", "site:\n  dir: /tmp/sites\n", "server.public_url"},
	} {
		text := string(base) + tt.extra
		if tt.name == "public URL with a path" {
			text = strings.Replace(text, "server:\n", "server:\n  public_url: https://example.com/backstory\n", 1)
		}
		if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		if code := run(t.Context(), []string{"serve", "--config", e.config}, strings.NewReader(""), io.Discard, &stderr); code == 0 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%s: exit %d, want a refusal naming %q:\n%s", tt.name, code, tt.want, stderr.String())
		}
	}
}

func TestServeSitesWithoutSignIn(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "acme"), 0o755)
	os.WriteFile(filepath.Join(dir, "acme", "index.html"), []byte("<h1>acme's secrets</h1>"), 0o644)
	os.MkdirAll(filepath.Join(dir, ".backstory"), 0o755)
	os.WriteFile(filepath.Join(dir, ".backstory", "acme.json"), []byte(`{"account":"acme","installation":1,"private":true}`), 0o644)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := serverConfig{SiteDir: dir, SiteServe: true, SitePrefix: "/sites/", APIURL: "https://api.github.com/", WebURL: "https://github.com",
		ClientID: "Iv1.x", ClientSecret: "secret"}

	mux := http.NewServeMux()
	if err := mountSites(mux, cfg, nil, log); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/sites/acme/", nil))
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "server.public_url") || strings.Contains(rec.Body.String(), "secrets") {
		t.Errorf("without server.public_url: %d\n%s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/auth/login", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("/auth/login without sign-in: %d", rec.Code)
	}

	cfg.PublicURL = "https://backstory.example.com"
	mux = http.NewServeMux()
	if err := mountSites(mux, cfg, nil, log); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/sites/acme/", nil))
	if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), "/auth/login?next=") {
		t.Errorf("with sign-in: %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/auth/login?next=/sites/acme/", nil))
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusFound || !strings.HasPrefix(loc, "https://github.com/login/oauth/authorize?client_id=Iv1.x") {
		t.Errorf("/auth/login: %d, Location %q", rec.Code, loc)
	}
}
