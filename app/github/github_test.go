package github

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/backstory-dev/backstory/app"
)

func TestNewChecksOptions(t *testing.T) {
	key, pkcs1 := testPrivateKey(t)
	pkcs8Bytes, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8Bytes})
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecBytes, _ := x509.MarshalECPrivateKey(ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecBytes})
	ec8Bytes, _ := x509.MarshalPKCS8PrivateKey(ec)
	ec8PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ec8Bytes})
	broken := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("not der")})

	tests := []struct {
		name    string
		opts    Options
		wantErr string // "" for success
	}{
		{"pkcs1", Options{AppID: 1, PrivateKey: pkcs1}, ""},
		{"pkcs8", Options{AppID: 1, PrivateKey: pkcs8}, ""},
		{"ghes", Options{AppID: 1, PrivateKey: pkcs1, BaseURL: "https://ghe.example.com/api/v3"}, ""},
		{"no app id", Options{PrivateKey: pkcs1}, "app id 0"},
		{"no key", Options{AppID: 1}, "private key: empty"},
		{"not pem", Options{AppID: 1, PrivateKey: []byte("ghp_notakey")}, "no PEM block"},
		{"ec key", Options{AppID: 1, PrivateKey: ecPEM}, `"EC PRIVATE KEY"`},
		{"ec pkcs8", Options{AppID: 1, PrivateKey: ec8PEM}, "ecdsa.PrivateKey"},
		{"broken der", Options{AppID: 1, PrivateKey: broken}, "RSA PRIVATE KEY block"},
		{"relative base", Options{AppID: 1, PrivateKey: pkcs1, BaseURL: "api.github.com"}, "absolute http(s) URL"},
		{"query in base", Options{AppID: 1, PrivateKey: pkcs1, BaseURL: "https://ghe.example.com/api/v3/?x=1"}, "no query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.opts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if !strings.HasSuffix(a.base.String(), "/") {
					t.Errorf("base %s has no trailing slash", a.base)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	s := newServer(t, "")
	s.handle("GET /app/hook/deliveries", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, []any{}) })
	s.handle("GET /repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"number": 1}) })
	a := s.app(t, func(o *Options) { o.UserAgent = "backstory-test/1" })
	ctx := context.Background()

	if _, err := a.HookDeliveries(ctx, time.Time{}); err != nil {
		t.Fatalf("HookDeliveries: %v", err)
	}
	if _, err := a.Installation(7).PullRequest(ctx, "o/r", 1); err != nil {
		t.Fatalf("PullRequest: %v", err)
	}

	reqs := s.recorded()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests, want 3 (deliveries, token, pull): %+v", len(reqs), reqs)
	}
	var issued string
	for _, r := range reqs {
		authz := r.Header.Get("Authorization")
		switch {
		case r.Path == "/app/hook/deliveries", r.Path == "/app/installations/7/access_tokens":
			if _, err := verifyJWT(authz); err != nil {
				t.Errorf("%s %s: %v", r.Method, r.Path, err)
			}
		case r.Path == "/repos/o/r/pulls/1":
			tok, ok := strings.CutPrefix(authz, "token ")
			if !ok || len(tok) < 500 {
				t.Errorf("%s: Authorization %.20q…, want the whole installation token", r.Path, authz)
			}
			issued = tok
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.Path)
		}
		if ua := r.Header.Get("User-Agent"); ua != "backstory-test/1" {
			t.Errorf("%s: User-Agent %q", r.Path, ua)
		}
	}
	s.mu.Lock()
	inst := s.tokens[issued]
	s.mu.Unlock()
	if inst != 7 {
		t.Errorf("token sent was not issued to installation 7")
	}
}

func TestTokenReusedUntilNearExpiry(t *testing.T) {
	for _, tt := range []struct {
		name       string
		ttl        time.Duration
		calls      int
		wantTokens int
	}{
		// ghinstallation refreshes a minute before expiry: an hour's token
		// serves every call, a 30-second one none after the first.
		{"fresh token reused", time.Hour, 5, 1},
		{"token near expiry refreshed", 30 * time.Second, 3, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, "")
			s.tokenTTL = tt.ttl
			s.handle("GET /repos/o/r/pulls/{n}", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, map[string]any{"number": 1})
			})
			a := s.app(t, nil)
			for i := range tt.calls {
				// A new client value each time: Installation must hand back
				// the same token cache.
				if _, err := a.Installation(3).PullRequest(context.Background(), "o/r", i+1); err != nil {
					t.Fatal(err)
				}
			}
			if got := s.count("POST", "/access_tokens"); got != tt.wantTokens {
				t.Errorf("%d token requests for %d calls, want %d", got, tt.calls, tt.wantTokens)
			}
			if got := a.Calls()["apps/create-installation-access-token"]; got != tt.wantTokens {
				t.Errorf("Calls() counts %d token requests, want %d", got, tt.wantTokens)
			}
		})
	}
}

func TestInstallationsHaveTheirOwnTokens(t *testing.T) {
	s := newServer(t, "")
	seen := map[string]int64{}
	var mu sync.Mutex
	s.handle("GET /repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "token ")
		s.mu.Lock()
		inst := s.tokens[tok]
		s.mu.Unlock()
		mu.Lock()
		seen[tok] = inst
		mu.Unlock()
		writeJSON(w, 200, map[string]any{"number": 1})
	})
	a := s.app(t, nil)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.Installation(int64(1+i%2)).PullRequest(context.Background(), "o/r", 1); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := s.count("POST", "/access_tokens"); got != 2 {
		t.Errorf("%d token requests, want 2 (one per installation)", got)
	}
	ids := map[int64]bool{}
	for _, id := range seen {
		ids[id] = true
	}
	if len(seen) != 2 || !ids[1] || !ids[2] {
		t.Errorf("tokens used: %v, want one for installation 1 and one for 2", seen)
	}
}

func TestEnterpriseBaseURL(t *testing.T) {
	s := newServer(t, "/api/v3")
	s.handle("GET /repos/o/r/pulls/5", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"number": 5, "title": "on GHES"})
	})
	s.handle("GET /app/hook/deliveries", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, []any{}) })
	// Without the trailing slash, as people write it.
	a := s.app(t, func(o *Options) { o.BaseURL = strings.TrimSuffix(s.baseURL(), "/") })
	pr, err := a.Installation(1).PullRequest(context.Background(), "o/r", 5)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Title != "on GHES" {
		t.Errorf("title %q", pr.Title)
	}
	if _, err := a.HookDeliveries(context.Background(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.recorded() {
		if !strings.HasPrefix(r.Path, "/api/v3/") {
			t.Errorf("%s %s: not under /api/v3/", r.Method, r.Path)
		}
	}
	if s.count("POST", "/api/v3/app/installations/1/access_tokens") != 1 {
		t.Errorf("no token request under /api/v3/: %+v", s.recorded())
	}
}

func TestMetricsCountEveryRequest(t *testing.T) {
	s := newServer(t, "")
	s.handle("GET /repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		writeJSON(w, 200, map[string]any{"number": 1})
	})
	s.handle("GET /repos/o/r/pulls/2", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 502, map[string]any{"message": "Server Error"})
	})
	m := app.NewMetrics(nil)
	a := s.app(t, func(o *Options) { o.Metrics = m })
	c := a.Installation(1)
	ctx := context.Background()
	for range 3 {
		if _, err := c.PullRequest(ctx, "o/r", 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PullRequest(ctx, "o/r", 2); err == nil {
		t.Fatal("502: no error")
	}
	for _, tt := range []struct {
		op, class string
		want      float64
	}{
		{"pulls/get", "2xx", 1},
		{"pulls/get", "304", 2},
		{"pulls/get", "5xx", 1},
		{"apps/create-installation-access-token", "2xx", 1},
	} {
		if got := counterValue(t, m.GitHubCalls.WithLabelValues(tt.op, tt.class)); got != tt.want {
			t.Errorf("GitHubCalls{%s,%s} = %v, want %v", tt.op, tt.class, got, tt.want)
		}
	}
	if got := a.Calls(); got["pulls/get"] != 4 || got["apps/create-installation-access-token"] != 1 || len(got) != 2 {
		t.Errorf("Calls() = %v", got)
	}
}

func TestHookDeliveries(t *testing.T) {
	s := newServer(t, "")
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	// Three pages, newest first, one delivery a minute.
	delivery := func(i int) map[string]any {
		return map[string]any{
			"id": 1000 - i, "guid": fmt.Sprintf("guid-%d", i), "delivered_at": base.Add(-time.Duration(i) * time.Minute).Format(time.RFC3339),
			"redelivery": i%2 == 0, "duration": 0.1, "status": "Invalid HTTP Response: 503", "status_code": 503,
			"event": "pull_request", "action": "opened", "installation_id": 9, "repository_id": 77,
		}
	}
	s.handle("GET /app/hook/deliveries", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("per_page") != "100" {
			t.Errorf("per_page %q", r.URL.Query().Get("per_page"))
		}
		page := 0
		fmt.Sscan(r.URL.Query().Get("cursor"), &page)
		var list []any
		for i := page * 3; i < page*3+3; i++ {
			list = append(list, delivery(i))
		}
		if page < 5 {
			w.Header().Set("Link", fmt.Sprintf(`<%s/app/hook/deliveries?per_page=100&cursor=%d>; rel="next"`, s.srv.URL, page+1))
		}
		writeJSON(w, 200, list)
	})
	a := s.app(t, nil)
	// Since 7 minutes ago: deliveries 0..7, on pages 0, 1 and 2; page 3 is
	// never asked for.
	got, err := a.HookDeliveries(context.Background(), base.Add(-7*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 8 {
		t.Fatalf("got %d deliveries, want 8", len(got))
	}
	if n := s.count("GET", "/app/hook/deliveries"); n != 3 {
		t.Errorf("%d pages fetched, want 3", n)
	}
	want := app.HookDelivery{ID: 1000, GUID: "guid-0", DeliveredAt: base, Redelivery: true, Status: "Invalid HTTP Response: 503",
		StatusCode: 503, Event: "pull_request", Action: "opened", InstallationID: 9, RepositoryID: 77}
	if !got[0].DeliveredAt.Equal(want.DeliveredAt) {
		t.Errorf("DeliveredAt %v", got[0].DeliveredAt)
	}
	got[0].DeliveredAt = base
	if got[0] != want {
		t.Errorf("first delivery\n got %+v\nwant %+v", got[0], want)
	}
	if got[7].GUID != "guid-7" {
		t.Errorf("last delivery %q, want guid-7", got[7].GUID)
	}
}

func TestRedeliver(t *testing.T) {
	s := newServer(t, "")
	s.handle("POST /app/hook/deliveries/{id}/attempts", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "13" {
			writeJSON(w, 422, map[string]any{"message": "Validation Failed", "errors": []any{map[string]any{"message": "too old"}}})
			return
		}
		writeJSON(w, 202, map[string]any{})
	})
	a := s.app(t, nil)
	if err := a.Redeliver(context.Background(), 12); err != nil {
		t.Errorf("Redeliver(12) = %v, want nil on 202", err)
	}
	err := a.Redeliver(context.Background(), 13)
	if err == nil || !strings.Contains(err.Error(), "too old") || !strings.Contains(err.Error(), "13") {
		t.Errorf("Redeliver(13) = %v, want GitHub's message", err)
	}
	if _, temp := app.RetryAt(err); temp {
		t.Errorf("422 is not temporary")
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestRevokedTokenRenewed: a token GitHub stops accepting before it expires
// is dropped on the first 401, and the retry gets a new one.
func TestRevokedTokenRenewed(t *testing.T) {
	s := newServer(t, "")
	s.handle("GET /repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"number": 1}) })
	a := s.app(t, nil)
	c := a.Installation(1)
	if _, err := c.PullRequest(context.Background(), "o/r", 1); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	clear(s.tokens) // revoked
	s.mu.Unlock()
	_, err := c.PullRequest(context.Background(), "o/r", 1)
	if _, temp := app.RetryAt(err); !temp {
		t.Fatalf("401: %v, want temporary", err)
	}
	if _, err := c.PullRequest(context.Background(), "o/r", 1); err != nil {
		t.Fatalf("retry after 401: %v", err)
	}
	if n := s.count("POST", "/access_tokens"); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}
