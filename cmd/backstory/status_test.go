package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// TestStatusPage runs serve with an admin listener and sign-in: the admin
// listener shows the inbox after a delivery, without sign-in; on the main
// listener the page sends a reader to sign in, shows itself to an admin of
// the organisation, and refuses a plain member.
func TestStatusPage(t *testing.T) {
	e := newE2E(t)
	e.gh.AddOrgAdmin("octo-org", "alice")
	e.gh.AddMember("octo-org", "bob")
	public := "http://" + e.addr
	admin := "http://" + freeAddr(t)
	e.gh.SetOAuthApp("Iv1.e2e", "oauth-secret")
	e.gh.SetOAuthCallbackURLs(public + "/auth/callback")
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(cfg), "github:\n", "github:\n  client_id: Iv1.e2e\n  client_secret: oauth-secret\n", 1)
	text = strings.Replace(text, "server:\n", "server:\n  public_url: "+public+"\n  admin_listen: "+strings.TrimPrefix(admin, "http://")+"\n", 1)
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	child := e.start()

	n, sha := e.openPR("status")
	if got := e.post("pull_request", "status-1", e.opened(n, sha), e2eSecret); got != http.StatusAccepted {
		t.Fatalf("delivery: %d", got)
	}
	var rep struct {
		Version string                          `json:"version"`
		Inbox   struct{ Counts map[string]int } `json:"inbox"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		body := get(t, admin+"/status.json")
		rep.Inbox.Counts = nil
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Fatalf("/status.json: %v\n%s", err, body)
		}
		if rep.Inbox.Counts["done"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery is not done on the status page: %s\n%s", body, child.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rep.Version != version {
		t.Errorf("version %q, want %q", rep.Version, version)
	}
	page := get(t, admin+"/status")
	for _, want := range []string{`<th scope="row">done</th><td class="n">1</td>`, "No delivery waits", "<dt>Version</dt><dd>" + version + "</dd>",
		`<td>7 (octo-org)</td><td>core</td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the admin listener's page lacks %q:\n%s", want, page)
		}
	}
	if metrics := get(t, admin+"/metrics"); !strings.Contains(metrics, "backstory_deliveries_processed_total") {
		t.Errorf("the admin listener has no metrics:\n%.500s", metrics)
	}

	// The main listener: sign in first.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(public + "/status")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/auth/login?next=%2Fstatus" || strings.Contains(string(b), "octo-org") {
		t.Fatalf("not signed in: %d, Location %q\n%s", resp.StatusCode, resp.Header.Get("Location"), b)
	}

	e.gh.SetSignedInUser("alice")
	resp, page = browse(t, public+"/status")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/status" || !strings.Contains(page, `<th scope="row">done</th><td class="n">1</td>`) {
		t.Fatalf("admin: %d at %s\n%.800s\n%s", resp.StatusCode, resp.Request.URL, page, child.out.String())
	}

	e.gh.SetSignedInUser("bob")
	resp, page = browse(t, public+"/status")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "signed in as bob") || strings.Contains(page, "octo-org/hello") {
		t.Fatalf("member: %d\n%s", resp.StatusCode, page)
	}
	if n := e.gh.CountCalls("orgs/get-membership-for-user"); n != 2 {
		t.Errorf("roles asked %d times, want 2 (alice, bob)", n)
	}
}

func TestStatusAdminListenSettings(t *testing.T) {
	for _, tt := range []struct {
		addr   string
		public bool
		ok     bool
	}{
		{"127.0.0.1:9091", false, true},
		{"[::1]:9091", false, true},
		{"localhost:9091", false, true},
		{"0.0.0.0:9091", false, false},
		{":9091", false, false},
		{"10.0.0.5:9091", false, false},
		{"0.0.0.0:9091", true, true},
		{"9091", true, false},
	} {
		err := checkAdminListen(tt.addr, tt.public)
		if (err == nil) != tt.ok {
			t.Errorf("%q, public %v: %v", tt.addr, tt.public, err)
		}
		if err != nil && tt.addr != "9091" && !strings.Contains(err.Error(), "server.admin_listen_public") {
			t.Errorf("%q: the refusal does not say how to allow it: %v", tt.addr, err)
		}
	}

	// serve refuses to start with a public address.
	e := newE2E(t)
	e.editConfig("server:\n", "server:\n  admin_listen: 0.0.0.0:9091\n")
	var stderr strings.Builder
	if code := run(t.Context(), []string{"serve", "--config", e.config}, strings.NewReader(""), io.Discard, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), "repository names and errors") {
		t.Errorf("exit %d, want a refusal saying why:\n%s", code, stderr.String())
	}
}

// TestStatusMounts mounts the page on the main listener: a 404 saying how
// to see it without sign-in; with sign-in, beside the sites (which mount
// /auth/ themselves) or alone (the page mounts it).
func TestStatusMounts(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "the status page") })
	mux := http.NewServeMux()
	if err := mountStatus(mux, serverConfig{}, page, nil, nil, log); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/status", "/status.json"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if body := rec.Body.String(); rec.Code != http.StatusNotFound || !strings.Contains(body, "server.admin_listen") ||
			!strings.Contains(body, "github.client_id") || strings.Contains(body, "the status page") {
			t.Errorf("%s without sign-in: %d\n%s", path, rec.Code, body)
		}
	}

	cfg := serverConfig{SiteDir: t.TempDir(), SitePrefix: "/sites/", APIURL: "https://api.github.com/", WebURL: "https://github.com",
		PublicURL: "https://backstory.example.com", ClientID: "Iv1.x", ClientSecret: "secret"}
	for _, sites := range []bool{true, false} {
		cfg.SiteServe = sites
		mux := http.NewServeMux()
		if sites {
			if err := mountSites(mux, cfg, nil, log); err != nil {
				t.Fatal(err)
			}
		}
		if err := mountStatus(mux, cfg, page, nil, nil, log); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/status", nil))
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/auth/login?next=%2Fstatus" {
			t.Errorf("sites %v: /status: %d, Location %q", sites, rec.Code, rec.Header().Get("Location"))
		}
		rec = httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/auth/login?next=/status", nil))
		if loc := rec.Header().Get("Location"); rec.Code != http.StatusFound || !strings.HasPrefix(loc, "https://github.com/login/oauth/authorize?client_id=Iv1.x") {
			t.Errorf("sites %v: /auth/login: %d, Location %q", sites, rec.Code, loc)
		}
	}
}
