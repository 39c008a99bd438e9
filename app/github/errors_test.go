package github

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// fixedNow is the clock of the error tests: Retry-After is counted from it.
var fixedNow = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)

func TestErrorMapping(t *testing.T) {
	reset := time.Now().Add(20 * time.Minute).Truncate(time.Second)
	secondaryDoc := "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	tests := []struct {
		name     string
		status   int
		header   map[string]string
		body     string
		notFound bool
		temp     bool
		at       time.Time // with temp; zero: backoff
		contains string
	}{
		{name: "404", status: 404, body: `{"message":"Not Found"}`, notFound: true, contains: "get pull request o/r#1"},
		{name: "403 primary", status: 403,
			header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10)},
			body:   `{"message":"API rate limit exceeded for installation ID 1."}`, temp: true, at: reset},
		{name: "403 secondary with Retry-After", status: 403, header: map[string]string{"Retry-After": "30"},
			body: `{"message":"You have exceeded a secondary rate limit.","documentation_url":"` + secondaryDoc + `"}`,
			temp: true, at: fixedNow.Add(30 * time.Second)},
		{name: "403 secondary without Retry-After", status: 403,
			body: `{"message":"You have exceeded a secondary rate limit.","documentation_url":"` + secondaryDoc + `"}`,
			temp: true, at: fixedNow.Add(time.Minute)},
		{name: "403 secondary, other documentation url", status: 403,
			body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`,
			temp: true, at: fixedNow.Add(time.Minute)},
		{name: "429 with Retry-After", status: 429, header: map[string]string{"Retry-After": "120"},
			body: `{"message":"Too many requests"}`, temp: true, at: fixedNow.Add(2 * time.Minute)},
		{name: "429 without Retry-After", status: 429, body: `{"message":"Too many requests"}`, temp: true, at: fixedNow.Add(time.Minute)},
		{name: "429 primary", status: 429,
			header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10)},
			body:   `{"message":"API rate limit exceeded"}`, temp: true, at: reset},
		{name: "502", status: 502, body: `{"message":"Server Error"}`, temp: true},
		{name: "502 html", status: 502, body: `<html>bad gateway</html>`, temp: true},
		{name: "422", status: 422,
			body:     `{"message":"Validation Failed","errors":[{"resource":"PullRequest","field":"number","code":"invalid"}]}`,
			contains: "Validation Failed (PullRequest number: invalid)"},
		{name: "403 not a rate limit", status: 403, body: `{"message":"Resource not accessible by integration"}`,
			contains: "GitHub answered 403: Resource not accessible by integration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, "")
			s.handle("GET /repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			a := s.app(t, func(o *Options) { o.Now = func() time.Time { return fixedNow } })
			_, err := a.Installation(1).PullRequest(context.Background(), "o/r", 1)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, app.ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(ErrNotFound) = %v, want %v (%v)", got, tt.notFound, err)
			}
			at, temp := app.RetryAt(err)
			if temp != tt.temp {
				t.Fatalf("temporary = %v, want %v (%v)", temp, tt.temp, err)
			}
			if !at.Equal(tt.at) {
				t.Errorf("retry at %v, want %v", at, tt.at)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
		})
	}
}

// TestRateLimitRememberedLocally: once GitHub says the limit is spent,
// go-github refuses further calls without sending them; that refusal must
// still read as temporary, with the reset time.
func TestRateLimitRememberedLocally(t *testing.T) {
	reset := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	for _, tt := range []struct {
		name   string
		header map[string]string
		body   string
		at     func(first time.Time) time.Time
	}{
		{"primary", map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10)},
			`{"message":"API rate limit exceeded"}`, func(time.Time) time.Time { return reset }},
		{"secondary", map[string]string{"Retry-After": "600"},
			`{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
			nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, "")
			s.handle("GET /repos/o/r/pulls/{n}", func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(403)
				w.Write([]byte(tt.body))
			})
			a := s.app(t, nil)
			c := a.Installation(1)
			_, first := c.PullRequest(context.Background(), "o/r", 1)
			firstAt, temp := app.RetryAt(first)
			if !temp {
				t.Fatalf("first call: %v, want temporary", first)
			}
			sent := s.count("GET", "/pulls/1")
			_, second := c.PullRequest(context.Background(), "o/r", 2)
			if s.count("GET", "/pulls/2") != 0 {
				t.Errorf("second call was sent; go-github should have refused it locally")
			}
			at, temp := app.RetryAt(second)
			if !temp {
				t.Fatalf("local refusal: %v, want temporary", second)
			}
			want := firstAt
			if tt.at != nil {
				want = tt.at(firstAt)
			}
			if d := at.Sub(want); d < -2*time.Second || d > 2*time.Second {
				t.Errorf("local refusal retries at %v, want about %v", at, want)
			}
			if sent != 1 {
				t.Errorf("first call sent %d requests", sent)
			}
		})
	}
}

func TestTokenFailures(t *testing.T) {
	for _, tt := range []struct {
		status   int
		temp     bool
		contains string
	}{
		{404, false, "is the App still installed?"},
		{401, false, "check the App id and private key"},
		{500, true, "installation 1"},
		{429, true, "rate limited"},
	} {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			s := newServer(t, "")
			s.tokenStatus = tt.status
			a := s.app(t, nil)
			_, err := a.Installation(1).FileContent(context.Background(), "o/r", "main", ".github/backstory.yml")
			if err == nil {
				t.Fatal("no error")
			}
			// A missing installation must never look like a missing file:
			// the caller would fall back to default config.
			if errors.Is(err, app.ErrNotFound) {
				t.Errorf("token failure reads as ErrNotFound: %v", err)
			}
			if _, temp := app.RetryAt(err); temp != tt.temp {
				t.Errorf("temporary = %v, want %v (%v)", temp, tt.temp, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
			if s.count("GET", "/contents/.github/backstory.yml") != 0 {
				t.Errorf("the request went out without a token")
			}
		})
	}
}

func TestNetworkFailuresAreTemporary(t *testing.T) {
	_, pemBytes := testPrivateKey(t)
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		a, err := New(Options{AppID: testAppID, PrivateKey: pemBytes, BaseURL: "http://" + addr + "/"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.HookDeliveries(context.Background(), time.Time{})
		if _, temp := app.RetryAt(err); !temp {
			t.Errorf("connection refused: %v, want temporary", err)
		}
		_, err = a.Installation(1).PullRequest(context.Background(), "o/r", 1)
		if _, temp := app.RetryAt(err); !temp {
			t.Errorf("connection refused during token request: %v, want temporary", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		s := newServer(t, "")
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		s.handle("GET /repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		a := s.app(t, func(o *Options) {
			hc := *s.srv.Client()
			hc.Timeout = 200 * time.Millisecond
			o.HTTPClient = &hc
		})
		_, err := a.Installation(1).PullRequest(context.Background(), "o/r", 1)
		if _, temp := app.RetryAt(err); !temp {
			t.Errorf("timeout: %v, want temporary", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		s := newServer(t, "")
		a := s.app(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := a.Installation(1).PullRequest(ctx, "o/r", 1)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v, want context.Canceled", err)
		}
	})
}

func TestRetryAfterHTTPDate(t *testing.T) {
	at := fixedNow.Add(90 * time.Second)
	h := http.Header{"Retry-After": {at.Format(http.TimeFormat)}}
	if got := retryAfter(h, fixedNow); !got.Equal(at) {
		t.Errorf("retryAfter(date) = %v, want %v", got, at)
	}
	if got := retryAfter(http.Header{"Retry-After": {"soon"}}, fixedNow); !got.IsZero() {
		t.Errorf("retryAfter(soon) = %v, want zero", got)
	}
}
