package manifest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseWebhook(t *testing.T) {
	tests := []struct {
		in       string
		url      string
		base     string
		errWants string
	}{
		{in: "https://backstory.example.com", url: "https://backstory.example.com/webhooks/github", base: "https://backstory.example.com"},
		{in: "https://backstory.example.com/", url: "https://backstory.example.com/webhooks/github", base: "https://backstory.example.com"},
		{in: "https://example.com:8443/backstory/webhooks/github/", url: "https://example.com:8443/backstory/webhooks/github", base: "https://example.com:8443/backstory"},
		{in: " https://smee.io/AbC123 ", url: "https://smee.io/AbC123"},
		{in: "http://10.0.0.5:8080", url: "http://10.0.0.5:8080/webhooks/github", base: "http://10.0.0.5:8080"},
		{in: "backstory.example.com", errWants: "absolute http(s) URL"},
		{in: "ftp://example.com", errWants: "absolute http(s) URL"},
		{in: "https://example.com/?a=b", errWants: "query"},
		{in: "https://user:pw@example.com/", errWants: "user"},
		{in: "http://localhost:8080", errWants: "loopback"},
		{in: "http://127.0.0.1:8080", errWants: "loopback"},
		{in: "http://[::1]:8080", errWants: "loopback"},
	}
	for _, tt := range tests {
		got, err := ParseWebhook(tt.in)
		if tt.errWants != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errWants) {
				t.Errorf("ParseWebhook(%q) error = %v, want one mentioning %q", tt.in, err, tt.errWants)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseWebhook(%q): %v", tt.in, err)
			continue
		}
		if got.URL != tt.url || got.Base != tt.base {
			t.Errorf("ParseWebhook(%q) = %+v, want URL %q, Base %q", tt.in, got, tt.url, tt.base)
		}
	}
}

func TestParseHost(t *testing.T) {
	tests := []struct {
		web, api       string
		wantWeb, wantA string
		errWants       string
	}{
		{web: "https://github.com", wantWeb: "https://github.com", wantA: "https://api.github.com/"},
		{web: "https://github.com/", wantWeb: "https://github.com", wantA: "https://api.github.com/"},
		{web: "https://GitHub.com", wantWeb: "https://github.com", wantA: "https://api.github.com/"},
		{web: "https://github.example.com", wantWeb: "https://github.example.com", wantA: "https://github.example.com/api/v3/"},
		{web: "http://ghes.internal:8080/", wantWeb: "http://ghes.internal:8080", wantA: "http://ghes.internal:8080/api/v3/"},
		{web: "https://octo.ghe.com", wantWeb: "https://octo.ghe.com", wantA: "https://api.octo.ghe.com/"},
		{web: "https://github.com", api: "http://127.0.0.1:9999", wantWeb: "https://github.com", wantA: "http://127.0.0.1:9999/"},
		{web: "github.com", errWants: "web address"},
		{web: "https://github.com/acme", errWants: "without a path"},
		{web: "https://github.com", api: "api.github.com", errWants: "API URL"},
	}
	for _, tt := range tests {
		h, err := ParseHost(tt.web, tt.api)
		if tt.errWants != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errWants) {
				t.Errorf("ParseHost(%q, %q) error = %v, want one mentioning %q", tt.web, tt.api, err, tt.errWants)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseHost(%q, %q): %v", tt.web, tt.api, err)
			continue
		}
		if h.Web != tt.wantWeb || h.API != tt.wantA {
			t.Errorf("ParseHost(%q, %q) = %+v, want Web %q, API %q", tt.web, tt.api, h, tt.wantWeb, tt.wantA)
		}
	}
}

func TestNewAppURL(t *testing.T) {
	gh := Host{Web: "https://github.com", API: "https://api.github.com/"}
	ghes := Host{Web: "https://github.example.com", API: "https://github.example.com/api/v3/"}
	tests := []struct {
		host       Host
		org, state string
		want       string
	}{
		{gh, "", "abc", "https://github.com/settings/apps/new?state=abc"},
		{gh, "acme-corp", "abc", "https://github.com/organizations/acme-corp/settings/apps/new?state=abc"},
		{ghes, "", "s t", "https://github.example.com/settings/apps/new?state=s+t"},
		{ghes, "platform", "abc", "https://github.example.com/organizations/platform/settings/apps/new?state=abc"},
	}
	for _, tt := range tests {
		if got := tt.host.NewAppURL(tt.org, tt.state); got != tt.want {
			t.Errorf("NewAppURL(%q, %q) on %s = %q, want %q", tt.org, tt.state, tt.host.Web, got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	if got := DefaultName(""); got != "backstory" {
		t.Errorf("DefaultName(\"\") = %q", got)
	}
	if got := DefaultName("Acme"); got != "backstory-acme" {
		t.Errorf("DefaultName(Acme) = %q", got)
	}
	long := DefaultName("a-very-long-organisation-name-indeed-yes")
	if len(long) > MaxNameLength || strings.HasSuffix(long, "-") || ValidName(long) != nil {
		t.Errorf("DefaultName of a long org = %q (%d characters)", long, len(long))
	}
	if err := ValidName(strings.Repeat("x", 35)); err == nil || !strings.Contains(err.Error(), "at most 34") {
		t.Errorf("ValidName(35 characters) = %v", err)
	}
	if err := ValidName("  "); err == nil {
		t.Error("ValidName(blank) accepted")
	}
	for _, bad := range []string{"-acme", "acme-", "ac--me", "acme_corp", "acme/x", strings.Repeat("a", 40)} {
		if ValidOrg(bad) == nil {
			t.Errorf("ValidOrg(%q) accepted", bad)
		}
	}
	for _, good := range []string{"", "acme", "Acme-Corp-2", strings.Repeat("a", 39)} {
		if err := ValidOrg(good); err != nil {
			t.Errorf("ValidOrg(%q): %v", good, err)
		}
	}
	slugs := map[string]string{
		"backstory":          "backstory",
		"Backstory (Acme)":   "backstory-acme",
		"  ACME  story!! ":   "acme-story",
		"../../etc/passwd":   "etc-passwd",
		"???":                "app",
		"backstory-acme-dev": "backstory-acme-dev",
	}
	for in, want := range slugs {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewManifest(t *testing.T) {
	hook, err := ParseWebhook("https://backstory.example.com")
	if err != nil {
		t.Fatal(err)
	}
	m := New("backstory-acme", hook, "http://127.0.0.1:5555/callback", false)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	// Read it back as GitHub does: by its JSON keys.
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	wantPerms := map[string]any{"checks": "write", "contents": "read", "pull_requests": "read", "metadata": "read", "issues": "write", "members": "read", "merge_queues": "read"}
	if !reflect.DeepEqual(got["default_permissions"], wantPerms) {
		t.Errorf("default_permissions = %v, want exactly %v", got["default_permissions"], wantPerms)
	}
	wantEvents := []any{"check_run", "check_suite", "merge_group", "pull_request", "push"}
	if !reflect.DeepEqual(got["default_events"], wantEvents) {
		t.Errorf("default_events = %v, want %v", got["default_events"], wantEvents)
	}
	wantHook := map[string]any{"url": "https://backstory.example.com/webhooks/github", "active": true}
	if !reflect.DeepEqual(got["hook_attributes"], wantHook) {
		t.Errorf("hook_attributes = %v, want %v", got["hook_attributes"], wantHook)
	}
	for key, want := range map[string]any{
		"name": "backstory-acme", "url": "https://backstory.example.com", "redirect_url": "http://127.0.0.1:5555/callback", "public": false,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	if cb := got["callback_urls"]; !reflect.DeepEqual(cb, []any{"https://backstory.example.com/auth/callback"}) {
		t.Errorf("callback_urls = %v", cb)
	}

	// A relay gives no public base: no sign-in callback, the project's
	// homepage.
	relay, _ := ParseWebhook("https://smee.io/xyz")
	m = New("backstory", relay, "http://127.0.0.1:5555/callback", true)
	if m.CallbackURLs != nil || m.URL != Homepage || !m.Public || m.HookAttributes.URL != "https://smee.io/xyz" {
		t.Errorf("manifest for a relay = %+v", m)
	}
	data, _ = json.Marshal(m)
	if strings.Contains(string(data), "callback_urls") {
		t.Errorf("empty callback_urls is sent: %s", data)
	}
}

func TestEveryEventHasItsPermission(t *testing.T) {
	// GitHub only delivers an event to an App holding the permission it
	// belongs to; an event without one is silently never sent.
	needs := map[string]string{
		"check_run": "checks", "check_suite": "checks", "pull_request": "pull_requests",
		"push": "contents", "merge_group": "merge_queues",
	}
	perms := map[string]bool{}
	for _, g := range Grants {
		perms[g.Name] = true
	}
	for _, s := range Subscriptions {
		p, ok := needs[s.Event]
		if !ok {
			t.Errorf("event %s: say here which permission it needs", s.Event)
			continue
		}
		if !perms[p] {
			t.Errorf("event %s needs permission %s, which the manifest does not ask for", s.Event, p)
		}
	}
}
