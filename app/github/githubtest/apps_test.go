package githubtest

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestRedeliver(t *testing.T) {
	s := fixture(t)
	id := s.AddHookDelivery(HookDelivery{GUID: "d-1", Event: "pull_request", Action: "opened", StatusCode: 503,
		InstallationID: 42, Payload: []byte(`{"action":"opened","number":1}`)})
	var mu sync.Mutex
	var got []HookDelivery
	done := make(chan struct{})
	s.SetOnRedeliver(func(d HookDelivery) int {
		mu.Lock()
		got = append(got, d)
		mu.Unlock()
		close(done)
		return http.StatusAccepted
	})
	app := s.asApp(t)
	want(t, app.do("POST", fmt.Sprintf("app/hook/deliveries/%d/attempts", id), nil), http.StatusAccepted)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("OnRedeliver was not called")
	}
	if r := s.Redeliveries(); len(r) != 1 || r[0] != id {
		t.Errorf("redeliveries %v", r)
	}
	mu.Lock()
	if len(got) != 1 || got[0].GUID != "d-1" || !got[0].Redelivery || !bytes.Equal(got[0].Payload, []byte(`{"action":"opened","number":1}`)) {
		t.Errorf("redelivered %+v", got)
	}
	mu.Unlock()
	// The redelivery is recorded as a new delivery with the same GUID, once
	// the callback has answered.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := app.get("app/hook/deliveries")
		list := r.array(t)
		if len(list) == 2 {
			newest := list[0]
			if fieldString(t, newest, "guid") != "d-1" || field(t, newest, "redelivery") != true || fieldInt(t, newest, "status_code") != 202 {
				t.Errorf("redelivery recorded as %s", show(newest))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the redelivery was not recorded: %s", r.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := app.get(fmt.Sprintf("app/hook/deliveries/%d", id))
	want(t, r, http.StatusOK)
	if fieldInt(t, r.object(t), "request/payload/number") != 1 {
		t.Errorf("delivery %s", r.body)
	}
	want(t, app.do("POST", "app/hook/deliveries/999999/attempts", nil), http.StatusNotFound)
	want(t, s.asInstallation(t, 42).do("POST", fmt.Sprintf("app/hook/deliveries/%d/attempts", id), nil), http.StatusUnauthorized)
}

func TestManifestConversion(t *testing.T) {
	s := fixture(t)
	s.AddManifestCode("code-1", ManifestApp{})
	anon := s.anonymous(t)
	r := anon.do("POST", "app-manifests/code-1/conversions", nil)
	want(t, r, http.StatusCreated)
	m := r.object(t)
	if fieldInt(t, m, "id") != s.AppID || fieldString(t, m, "slug") != "backstory-test" || fieldString(t, m, "pem") != string(s.PrivateKeyPEM()) ||
		len(fieldString(t, m, "webhook_secret")) < 20 || fieldString(t, m, "client_id") == "" || fieldString(t, m, "client_secret") == "" {
		t.Errorf("converted app %s", r.body)
	}
	// The key it hands back authenticates as the App.
	key, err := parseRSAKey([]byte(fieldString(t, m, "pem")))
	if err != nil {
		t.Fatal(err)
	}
	jwt := SignJWT(key, map[string]any{"iat": time.Now().Unix() - 30, "exp": time.Now().Unix() + 300, "iss": fieldInt(t, m, "id")})
	want(t, (&apiClient{t: t, s: s, auth: "Bearer " + jwt}).get("app"), http.StatusOK)
	// A code converts once; an unknown code is not found.
	want(t, anon.do("POST", "app-manifests/code-1/conversions", nil), http.StatusNotFound)
	want(t, anon.do("POST", "app-manifests/nope/conversions", nil), http.StatusNotFound)

	s.AddManifestCode("code-2", ManifestApp{ID: 77, Slug: "custom", WebhookSecret: "s3cret"})
	r = anon.do("POST", "app-manifests/code-2/conversions", nil)
	want(t, r, http.StatusCreated)
	if fieldInt(t, r.object(t), "id") != 77 || fieldString(t, r.object(t), "slug") != "custom" || fieldString(t, r.object(t), "webhook_secret") != "s3cret" {
		t.Errorf("custom app %s", r.body)
	}
}

func TestPrivateKeyOption(t *testing.T) {
	first := New(t)
	second := New(t, WithPrivateKey(first.PrivateKeyPEM()), WithAppID(5))
	if !bytes.Equal(first.PrivateKeyPEM(), second.PrivateKeyPEM()) {
		t.Error("WithPrivateKey was not used")
	}
	r := second.asApp(t).get("app")
	want(t, r, http.StatusOK)
	if fieldInt(t, r.object(t), "id") != 5 {
		t.Errorf("app id %v", field(t, r.object(t), "id"))
	}
	if _, err := NewServer(WithPrivateKey([]byte("not a key"))); err == nil {
		t.Error("a bad key was accepted")
	}
}
