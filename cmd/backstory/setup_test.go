package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/backstory-dev/backstory/app/github/githubtest"
)

// syncBuffer is a buffer a running command writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runningSetup is `backstory setup` running in-process.
type runningSetup struct {
	url    string // the setup page
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

var setupURL = regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)

// startSetup runs setup with args and waits until it prints its address.
func startSetup(t *testing.T, args ...string) *runningSetup {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &runningSetup{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		s.done <- run(ctx, append([]string{"setup"}, args...), strings.NewReader(""), s.stdout, s.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Error("setup did not stop after its context was cancelled")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if u := setupURL.FindString(s.stdout.String()); u != "" {
			s.url = u
			return s
		}
		select {
		case code := <-s.done:
			s.done <- code
			t.Fatalf("setup exited %d before serving:\nstdout: %s\nstderr: %s", code, s.stdout, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("setup printed no address:\n%s", s.stdout)
	return nil
}

// exit waits for setup to finish and returns its exit status.
func (s *runningSetup) exit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-s.done:
		s.done <- code
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("setup did not finish")
		return -1
	}
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var (
	setupFormAction   = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	setupFormManifest = regexp.MustCompile(`<input type="hidden" name="manifest" value="([^"]*)">`)
)

// setupForm reads the form of the setup page: where it posts and the
// manifest it sends.
func setupForm(t *testing.T, s *runningSetup) (*url.URL, map[string]any) {
	t.Helper()
	status, page := httpGet(t, s.url)
	if status != 200 {
		t.Fatalf("GET %s = %d\n%s", s.url, status, page)
	}
	a, m := setupFormAction.FindStringSubmatch(page), setupFormManifest.FindStringSubmatch(page)
	if a == nil || m == nil {
		t.Fatalf("the setup page has no manifest form:\n%s", page)
	}
	action, err := url.Parse(html.UnescapeString(a[1]))
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string]any
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &manifest); err != nil {
		t.Fatalf("the manifest field is not JSON: %v\n%s", err, m[1])
	}
	return action, manifest
}

func TestSetupCreatesTheApp(t *testing.T) {
	gh := githubtest.New(t)
	gh.AddManifestCode("one-time-code", githubtest.ManifestApp{ID: 987, Slug: "backstory-acme", Owner: "acme",
		ClientID: "Iv1.0123456789abcdef", ClientSecret: "cs-secret", WebhookSecret: "wh-secret",
		ExternalURL: "https://backstory.acme.dev"}) // GitHub keeps the manifest's url
	conversions := func() int {
		n := 0
		for _, c := range gh.Calls() {
			if strings.HasSuffix(c.Path, "/conversions") {
				n++
			}
		}
		return n
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "conf", "backstory.yml")
	os.Mkdir(filepath.Dir(config), 0o755)
	s := startSetup(t, "--org", "acme", "--webhook-url", "https://backstory.acme.dev", "--api-url", gh.URL()+"api/v3",
		"--config", config, "--serve-listen", ":9090")

	action, manifest := setupForm(t, s)
	state := action.Query().Get("state")
	if action.Scheme+"://"+action.Host+action.Path != "https://github.com/organizations/acme/settings/apps/new" || len(state) != 64 {
		t.Errorf("the form posts to %s", action)
	}
	wantPerms := map[string]any{"checks": "write", "contents": "read", "pull_requests": "read", "metadata": "read", "members": "read", "merge_queues": "read", "issues": "write"}
	if !reflect.DeepEqual(manifest["default_permissions"], wantPerms) {
		t.Errorf("permissions = %v", manifest["default_permissions"])
	}
	if !reflect.DeepEqual(manifest["default_events"], []any{"check_run", "check_suite", "merge_group", "pull_request", "push"}) {
		t.Errorf("events = %v", manifest["default_events"])
	}
	hook, _ := manifest["hook_attributes"].(map[string]any)
	if manifest["name"] != "backstory-acme" || manifest["redirect_url"] != s.url+"callback" || manifest["public"] != false ||
		hook["url"] != "https://backstory.acme.dev/webhooks/github" || hook["active"] != true ||
		!reflect.DeepEqual(manifest["callback_urls"], []any{"https://backstory.acme.dev/auth/callback"}) {
		t.Errorf("manifest = %v", manifest)
	}

	// GitHub's redirect with another state is refused, and nothing is
	// written or spent.
	status, body := httpGet(t, s.url+"callback?code=one-time-code&state=forged")
	if status != http.StatusBadRequest {
		t.Errorf("callback with a wrong state = %d\n%s", status, body)
	}
	if conversions() != 0 {
		t.Error("the code was sent to GitHub after a wrong state")
	}
	if entries, _ := os.ReadDir(filepath.Dir(config)); len(entries) != 0 {
		t.Errorf("files were written after a wrong state: %v", entries)
	}

	status, body = httpGet(t, s.url+"callback?code=one-time-code&state="+state)
	if status != 200 || !strings.Contains(body, "https://github.com/apps/backstory-acme/installations/new") {
		t.Fatalf("callback = %d\n%s", status, body)
	}
	if code := s.exit(t); code != 0 {
		t.Fatalf("setup exited %d\n%s", code, s.stderr)
	}
	out := s.stdout.String()
	for _, want := range []string{"https://github.com/apps/backstory-acme/installations/new", "backstory serve --config " + config, "id 987"} {
		if !strings.Contains(out, want) {
			t.Errorf("setup's output lacks %q:\n%s", want, out)
		}
	}

	key := filepath.Join(filepath.Dir(config), "backstory-acme.private-key.pem")
	for _, p := range []string{config, key} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	// Read the file as backstory serve does.
	v := viper.New()
	v.SetConfigFile(config)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"github.app_id": "987", "github.private_key_path": key, "github.webhook_secret": "wh-secret",
		"github.api_url": gh.URL() + "api/v3/", "github.client_id": "Iv1.0123456789abcdef", "github.client_secret": "cs-secret",
		"github.app_slug": "backstory-acme", "server.listen": ":9090",
		// With the OAuth credentials, the sign-in to private sites is on.
		"server.public_url": "https://backstory.acme.dev",
	}
	for k, w := range want {
		if got := v.GetString(k); got != w {
			t.Errorf("%s = %q, want %q", k, got, w)
		}
	}
	if pemData, _ := os.ReadFile(key); !bytes.Equal(pemData, gh.PrivateKeyPEM()) {
		t.Errorf("the key file holds %q, not the key GitHub gave", pemData)
	}
	if n := conversions(); n != 1 {
		t.Errorf("the code was converted %d times", n)
	}
}

func TestSetupFormTargets(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"user on github.com", nil, "https://github.com/settings/apps/new"},
		{"organisation", []string{"--org", "acme"}, "https://github.com/organizations/acme/settings/apps/new"},
		{"enterprise server", []string{"--github-url", "https://ghe.example.com/", "--org", "platform"}, "https://ghe.example.com/organizations/platform/settings/apps/new"},
		{"enterprise server, user", []string{"--github-url", "https://ghe.example.com"}, "https://ghe.example.com/settings/apps/new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--webhook-url", "https://smee.io/abc", "--config", filepath.Join(t.TempDir(), "b.yml"), "--public"}, tt.args...)
			s := startSetup(t, args...)
			action, manifest := setupForm(t, s)
			if got := action.Scheme + "://" + action.Host + action.Path; got != tt.want {
				t.Errorf("form posts to %s, want %s", got, tt.want)
			}
			if manifest["public"] != true || manifest["url"] != "https://github.com/backstory-dev/backstory" || manifest["callback_urls"] != nil {
				t.Errorf("manifest for a relay: %v", manifest)
			}
			s.cancel()
			if code := s.exit(t); code != 1 || !strings.Contains(s.stderr.String(), "nothing was written") {
				t.Errorf("stopped setup exited %d: %s", code, s.stderr)
			}
		})
	}
}

func TestSetupAsksForTheWebhookURL(t *testing.T) {
	s := startSetup(t, "--config", filepath.Join(t.TempDir(), "b.yml"))
	_, page := httpGet(t, s.url)
	if setupFormAction.MatchString(page) || !strings.Contains(page, `name="webhook_url"`) {
		t.Fatalf("without --webhook-url the page should ask for it:\n%s", page)
	}
	_, page = httpGet(t, s.url+"?webhook_url="+url.QueryEscape("https://backstory.example.com"))
	if !strings.Contains(page, "https://backstory.example.com/webhooks/github") || !setupFormAction.MatchString(page) {
		t.Errorf("after the address is given the form should appear:\n%s", page)
	}
}

func TestSetupRefusesBadInput(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "backstory.yml")
	os.WriteFile(existing, []byte("github: {}\n"), 0o600)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--config", existing}, "already exists"},
		{[]string{"--org", "not_an_org"}, "organisation"},
		{[]string{"--webhook-url", "http://localhost:8080"}, "loopback"},
		{[]string{"--name", strings.Repeat("n", 35)}, "at most 34"},
		{[]string{"--github-url", "github.com"}, "web address"},
		{[]string{"--listen", "256.0.0.1:1"}, "--listen"},
		{[]string{"--config", filepath.Join(t.TempDir(), "missing", "b.yml")}, "missing"},
	}
	for _, tt := range tests {
		_, errs, code := cliRun(t, append([]string{"setup"}, tt.args...)...)
		if code != 2 || !strings.Contains(errs, tt.want) {
			t.Errorf("setup %v: exit %d, stderr %q; want 2 and %q", tt.args, code, errs, tt.want)
		}
	}
	if data, _ := os.ReadFile(existing); string(data) != "github: {}\n" {
		t.Errorf("the existing configuration was changed: %q", data)
	}
}
