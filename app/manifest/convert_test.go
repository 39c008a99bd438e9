package manifest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// testPEM is a freshly made RSA key, as GitHub's answer carries one.
var testPEM = sync.OnceValue(func() string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
})

// conversion is GitHub's 201 answer for a code, shaped like the example in
// GitHub's REST description (apps/create-from-manifest).
func conversion(webhookSecret any) map[string]any {
	return map[string]any{
		"id": 123456, "slug": "backstory-acme", "node_id": "MDxOkludGVncmF0aW9uMQ==", "name": "backstory-acme",
		"owner":       map[string]any{"login": "acme", "id": 1, "type": "Organization"},
		"description": "", "external_url": "https://backstory.example.com", "html_url": "https://github.com/apps/backstory-acme",
		"created_at": "2017-07-08T16:18:44-04:00", "updated_at": "2017-07-08T16:18:44-04:00",
		"permissions": map[string]any{"checks": "write", "metadata": "read"},
		"events":      []string{"pull_request"},
		"client_id":   "Iv1.8a61f9b3a7aba766", "client_secret": "1726be1638095a19edd134c77bde3aa2ece1e5d8",
		"webhook_secret": webhookSecret, "pem": testPEM(),
	}
}

// fakeConversions plays GitHub's POST /app-manifests/{code}/conversions:
// each code in codes converts once; a code in failing answers its status.
type fakeConversions struct {
	t       *testing.T
	mu      sync.Mutex
	codes   map[string]bool // unspent codes
	failing map[string]int
	secret  any
	calls   int
}

func newFakeConversions(t *testing.T, codes ...string) (*fakeConversions, *httptest.Server) {
	f := &fakeConversions{t: t, codes: map[string]bool{}, failing: map[string]int{}, secret: "e340154128314309424b7c8e90325147d99fdafa"}
	for _, c := range codes {
		f.codes[c] = true
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeConversions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	code, ok := strings.CutPrefix(r.URL.Path, "/app-manifests/")
	code, ok2 := strings.CutSuffix(code, "/conversions")
	if !ok || !ok2 || r.Method != http.MethodPost {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if r.Header.Get("Authorization") != "" {
		f.t.Errorf("the conversion request carries credentials: %q", r.Header.Get("Authorization"))
	}
	if got := r.Header.Get("Accept"); got != "application/vnd.github+json" {
		f.t.Errorf("Accept = %q", got)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if status, bad := f.failing[code]; bad {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"message": "Server Error", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	if !f.codes[code] {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest"})
		return
	}
	delete(f.codes, code)
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(conversion(f.secret))
}

func TestConvert(t *testing.T) {
	fake, srv := newFakeConversions(t, "good")
	app, err := Convert(context.Background(), srv.Client(), srv.URL+"/", "good")
	if err != nil {
		t.Fatal(err)
	}
	if app.ID != 123456 || app.Slug != "backstory-acme" || app.WebhookSecret != "e340154128314309424b7c8e90325147d99fdafa" ||
		app.ClientID != "Iv1.8a61f9b3a7aba766" || app.ClientSecret == "" || app.Owner.Login != "acme" || app.PEM != testPEM() {
		t.Errorf("Convert = %+v", app)
	}
	if got := app.InstallURL(); got != "https://github.com/apps/backstory-acme/installations/new" {
		t.Errorf("InstallURL = %q", got)
	}

	// The code works once.
	_, err = Convert(context.Background(), srv.Client(), srv.URL, "good")
	var ce *ConversionError
	if !errors.As(err, &ce) || ce.Status != 404 || !ce.Final() || !strings.Contains(err.Error(), "works once and expires after an hour") {
		t.Errorf("second Convert error = %v", err)
	}

	fake.failing["flaky"] = http.StatusBadGateway
	_, err = Convert(context.Background(), srv.Client(), srv.URL, "flaky")
	if !errors.As(err, &ce) || ce.Status != 502 || ce.Final() {
		t.Errorf("Convert on a 502 error = %v (final %v)", err, ce != nil && ce.Final())
	}
}

func TestConvertRefusesBadAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"validation", 422, `{"message":"Validation Failed","errors":["code is invalid"],"documentation_url":"x"}`, "refused the code (422): Validation Failed (code is invalid)"},
		{"not json", 201, `<html>`, "not the expected JSON"},
		{"no pem", 201, `{"id":1,"slug":"a","html_url":"https://github.com/apps/a","client_id":"c","client_secret":"s"}`, "lacks pem"},
		{"garbage pem", 201, `{"id":1,"slug":"a","html_url":"https://github.com/apps/a","client_id":"c","client_secret":"s","pem":"hello"}`, "no PEM private key"},
		{"slug escapes", 201, `{"id":1,"slug":"../x","html_url":"h","client_id":"c","client_secret":"s","pem":` + jsonString(testPEM()) + `}`, "unusable slug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			_, err := Convert(context.Background(), srv.Client(), srv.URL, "c")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Convert error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestConvertEscapesTheCode(t *testing.T) {
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.EscapedPath()
		w.WriteHeader(404)
	}))
	defer srv.Close()
	Convert(context.Background(), srv.Client(), srv.URL+"/api/v3/", "a/../b?c")
	if path != "/api/v3/app-manifests/a%2F..%2Fb%3Fc/conversions" {
		t.Errorf("request path = %q", path)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestPublicURLIsTheRootOfBackstoryServe(t *testing.T) {
	for external, want := range map[string]string{
		"https://backstory.acme.dev":      "https://backstory.acme.dev",
		"https://backstory.acme.dev/":     "https://backstory.acme.dev",
		"http://10.0.0.7:8080":            "http://10.0.0.7:8080",
		Homepage:                          "", // setup was given a relay: the manifest's url is ours
		"https://acme.dev/backstory":      "", // sign-in needs the root
		"":                                "",
		"https://smee.io/abc?x=1":         "",
		"ftp://backstory.acme.dev":        "",
		"https://backstory.acme.dev/#top": "",
	} {
		if got := (App{ExternalURL: external}).PublicURL(); got != want {
			t.Errorf("PublicURL of %q = %q, want %q", external, got, want)
		}
	}
}
