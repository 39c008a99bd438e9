package manifest

import (
	"bytes"
	"encoding/json"
	"flag"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking the change):\n%s", name, got)
	}
}

// fixedRand is a Rand that makes the state predictable for golden pages.
type fixedRand struct{}

func (fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xab
	}
	return len(p), nil
}

func goldenFlow(t *testing.T, org string, hook Webhook) *Flow {
	t.Helper()
	host, _ := ParseHost("https://github.com", "")
	f, err := NewFlow(Options{
		Host: host, Org: org, Name: DefaultName(org), Webhook: hook, Listen: ":8080",
		Files:    Files{Config: "/srv/backstory/backstory.yml", Key: "/srv/backstory/" + DefaultName(org) + ".private-key.pem"},
		LocalURL: "http://127.0.0.1:5555", Rand: fixedRand{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = "127.0.0.1:5555"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPagesGolden(t *testing.T) {
	hook, _ := ParseWebhook("https://backstory.example.com")
	rec := get(t, goldenFlow(t, "acme", hook), "/")
	if rec.Code != 200 {
		t.Fatalf("GET / = %d", rec.Code)
	}
	golden(t, "start-org.html", rec.Body.Bytes())

	rec = get(t, goldenFlow(t, "", Webhook{}), "/")
	golden(t, "ask-webhook.html", rec.Body.Bytes())

	rec = get(t, goldenFlow(t, "", Webhook{}), "/?webhook_url="+url.QueryEscape("http://localhost:8080"))
	golden(t, "ask-webhook-refused.html", rec.Body.Bytes())

	f := goldenFlow(t, "acme", hook)
	app := testApp()
	app.WebhookSecret = ""
	f.result = &Result{App: app, Files: f.opts.Files}
	golden(t, "done-without-secret.html", get(t, f, "/").Body.Bytes())
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	formField  = regexp.MustCompile(`<input type="hidden" name="manifest" value="([^"]*)">`)
)

// form returns the start page's form: where it posts, and the manifest.
func form(t *testing.T, page string) (action *url.URL, manifest string) {
	t.Helper()
	a := formAction.FindStringSubmatch(page)
	m := formField.FindStringSubmatch(page)
	if a == nil || m == nil {
		t.Fatalf("the page has no manifest form:\n%s", page)
	}
	u, err := url.Parse(html.UnescapeString(a[1]))
	if err != nil {
		t.Fatal(err)
	}
	return u, html.UnescapeString(m[1])
}

func TestFormEscapesWhatItShows(t *testing.T) {
	// A relay URL with characters that mean something in HTML must reach
	// GitHub intact and never break out of the attribute.
	hook := Webhook{URL: `https://relay.example.com/a"><script>alert(1)</script>`}
	f := goldenFlow(t, "", hook)
	body := get(t, f, "/").Body.String()
	if strings.Contains(body, "<script>") {
		t.Fatalf("the page carries unescaped markup:\n%s", body)
	}
	_, m := form(t, body)
	if !strings.Contains(m, `"url":"https://relay.example.com/a\"\u003e\u003cscript\u003ealert(1)\u003c/script\u003e"`) {
		t.Errorf("manifest field = %s", m)
	}
}

type flowEnv struct {
	flow  *Flow
	fake  *fakeConversions
	files Files
	srv   *httptest.Server
}

func newFlowEnv(t *testing.T, force bool) *flowEnv {
	t.Helper()
	fake, gh := newFakeConversions(t, "code-1")
	host, err := ParseHost(gh.URL, gh.URL)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := PlanFiles(filepath.Join(t.TempDir(), "backstory.yml"), "backstory")
	env := &flowEnv{fake: fake, files: files}
	env.srv = httptest.NewUnstartedServer(nil)
	env.flow, err = NewFlow(Options{Host: host, Name: "backstory", Webhook: Webhook{URL: "https://smee.io/x"}, Listen: ":9000",
		Files: files, Force: force, LocalURL: "http://" + env.srv.Listener.Addr().String(), Client: gh.Client(),
		Now: func() time.Time { return time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	env.srv.Config.Handler = env.flow
	env.srv.Start()
	t.Cleanup(env.srv.Close)
	return env
}

func (e *flowEnv) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (e *flowEnv) state(t *testing.T) string {
	t.Helper()
	_, page := e.get(t, "/")
	action, _ := form(t, page)
	return action.Query().Get("state")
}

func TestFlowRefusesAWrongState(t *testing.T) {
	env := newFlowEnv(t, false)
	state := env.state(t)
	if len(state) != 64 {
		t.Errorf("state %q: want 32 random bytes in hex", state)
	}
	for _, q := range []string{"?code=code-1&state=nope", "?code=code-1", "?code=code-1&state=" + state[:63]} {
		status, body := env.get(t, "/callback"+q)
		if status != http.StatusBadRequest || !strings.Contains(body, "nothing was written") {
			t.Errorf("callback%s = %d\n%s", q, status, body)
		}
	}
	if env.fake.calls != 0 {
		t.Errorf("GitHub was asked %d times after a wrong state", env.fake.calls)
	}
	if _, err := os.Stat(env.files.Config); !os.IsNotExist(err) {
		t.Errorf("a configuration was written: %v", err)
	}
	status, _ := env.get(t, "/callback?state="+state)
	if status != http.StatusBadRequest {
		t.Errorf("callback without a code = %d", status)
	}
}

func TestFlowWritesOnceAndFinishes(t *testing.T) {
	env := newFlowEnv(t, false)
	state := env.state(t)
	status, body := env.get(t, "/callback?code=code-1&state="+state)
	if status != 200 || !strings.Contains(body, "https://github.com/apps/backstory-acme/installations/new") ||
		!strings.Contains(body, "backstory serve --config "+env.files.Config) {
		t.Fatalf("callback = %d\n%s", status, body)
	}
	select {
	case res := <-env.flow.Done():
		if res.App.ID != 123456 || res.Files != env.files {
			t.Errorf("Done delivered %+v", res)
		}
	default:
		t.Fatal("Done delivered nothing")
	}
	if strings.Contains(body, "1726be1638095a19edd134c77bde3aa2ece1e5d8") || strings.Contains(body, "PRIVATE KEY") {
		t.Error("the page shows a secret")
	}
	cfg, _ := os.ReadFile(env.files.Config)
	if !strings.Contains(string(cfg), "listen: :9000") || !strings.Contains(string(cfg), "client_secret: 1726be1638095a19edd134c77bde3aa2ece1e5d8") {
		t.Errorf("configuration:\n%s", cfg)
	}

	// A reload shows the result again without asking GitHub.
	status, body = env.get(t, "/callback?code=code-1&state="+state)
	if status != 200 || !strings.Contains(body, "is ready") || env.fake.calls != 1 {
		t.Errorf("reload = %d after %d calls\n%s", status, env.fake.calls, body)
	}
	if _, page := env.get(t, "/"); !strings.Contains(page, "is ready") {
		t.Error("the start page does not show the finished setup")
	}
}

func TestFlowExplainsASpentCode(t *testing.T) {
	env := newFlowEnv(t, false)
	state := env.state(t)
	status, body := env.get(t, "/callback?code=old-code&state="+state)
	if status != http.StatusBadGateway || !strings.Contains(body, "works once and expires after an hour") ||
		!strings.Contains(body, "/settings/apps") {
		t.Errorf("callback with a spent code = %d\n%s", status, body)
	}
	if _, err := os.Stat(env.files.Key); !os.IsNotExist(err) {
		t.Error("a key was written for a refused code")
	}
}

func TestFlowRetriesWhenGitHubFails(t *testing.T) {
	env := newFlowEnv(t, false)
	state := env.state(t)
	env.fake.failing["code-1"] = http.StatusServiceUnavailable
	status, body := env.get(t, "/callback?code=code-1&state="+state)
	if status != http.StatusBadGateway || !strings.Contains(body, "reload this page") {
		t.Fatalf("callback while GitHub fails = %d\n%s", status, body)
	}
	delete(env.fake.failing, "code-1")
	if status, body := env.get(t, "/callback?code=code-1&state="+state); status != 200 {
		t.Fatalf("reload after GitHub recovered = %d\n%s", status, body)
	}
}

func TestFlowChecksFilesBeforeSpendingTheCode(t *testing.T) {
	env := newFlowEnv(t, false)
	state := env.state(t)
	os.WriteFile(env.files.Config, []byte("github: {}\n"), 0o600)
	status, body := env.get(t, "/callback?code=code-1&state="+state)
	if status != http.StatusConflict || !strings.Contains(body, "already exists") || !strings.Contains(body, "still unspent") {
		t.Fatalf("callback over an existing configuration = %d\n%s", status, body)
	}
	if env.fake.calls != 0 {
		t.Error("the code was spent although the files could not be written")
	}
	os.Remove(env.files.Config)
	if status, body := env.get(t, "/callback?code=code-1&state="+state); status != 200 {
		t.Fatalf("reload after moving the file away = %d\n%s", status, body)
	}
}

func TestFlowKeepsTheCredentialsWhenWritingFails(t *testing.T) {
	env := newFlowEnv(t, false)
	state := env.state(t)
	// Check passes but the key cannot be written: the converted
	// credentials are kept for a reload, so the spent code is not lost.
	env.flow.opts.Files.Key = filepath.Join(filepath.Dir(env.files.Key), "missing", "k.pem")
	status, body := env.get(t, "/callback?code=code-1&state="+state)
	if status != http.StatusInternalServerError || !strings.Contains(body, "kept in memory") {
		t.Fatalf("callback writing into a missing folder = %d\n%s", status, body)
	}
	env.flow.opts.Files.Key = env.files.Key
	status, body = env.get(t, "/callback?code=code-1&state="+state)
	if status != 200 || env.fake.calls != 1 {
		t.Fatalf("reload = %d after %d calls to GitHub\n%s", status, env.fake.calls, body)
	}
}

func TestFlowGuards(t *testing.T) {
	env := newFlowEnv(t, false)
	resp, err := http.Post(env.srv.URL+"/callback", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST = %d", resp.StatusCode)
	}
	if status, _ := env.get(t, "/favicon.ico"); status != http.StatusNotFound {
		t.Errorf("unknown page = %d", status)
	}

	// A page reached through another name (DNS rebinding) never sees the
	// state.
	req, _ := http.NewRequest(http.MethodGet, env.srv.URL+"/", nil)
	req.Host = "evil.example.com"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest || strings.Contains(string(body), "state=") {
		t.Errorf("GET with a foreign Host = %d\n%s", resp.StatusCode, body)
	}
	for _, h := range []string{"Content-Security-Policy", "Referrer-Policy", "Cache-Control"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if _, err := NewFlow(Options{Name: strings.Repeat("n", 40), LocalURL: "http://127.0.0.1:1"}); err == nil {
		t.Error("NewFlow accepted a name GitHub refuses")
	}
}

func TestPublishingPagesAsksToWriteContents(t *testing.T) {
	hook, _ := ParseWebhook("https://backstory.example.com")
	f := goldenFlow(t, "acme", hook)
	f.opts.PublishPages = true
	rec := get(t, f, "/")
	_, manifest := form(t, rec.Body.String())
	var m Manifest
	if err := json.Unmarshal([]byte(manifest), &m); err != nil {
		t.Fatal(err)
	}
	if m.DefaultPermissions["contents"] != "write" {
		t.Errorf("contents: %q with PublishPages, want write", m.DefaultPermissions["contents"])
	}
	if !strings.Contains(rec.Body.String(), "GitHub Pages branch") {
		t.Error("the page does not say why contents: write is asked")
	}
	for _, g := range Grants {
		if g.Name == "contents" && g.Level != "read" {
			t.Errorf("GrantsFor changed the package's Grants: contents %s", g.Level)
		}
	}
}
