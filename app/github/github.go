// Package github is the App's adapter to GitHub's REST API: it implements
// app.GitHub and app.Client with go-github and ghinstallation.
//
// Under go-github, every installation's requests pass through three layers:
// a cache of GET responses that turns them into conditional requests (a 304
// does not count against the rate limit), ghinstallation's token transport
// (one installation token, reused until shortly before it expires), and a
// counter of the requests that actually leave the process, by operation.
// Errors come back in the contract's terms: app.ErrNotFound for a 404, an
// *app.TemporaryError for what may pass (rate limits, 5xx, network
// failures), a plain error carrying GitHub's message for the rest.
package github

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"

	"github.com/backstory-dev/backstory/app"
)

// DefaultBaseURL is the API base of github.com.
const DefaultBaseURL = "https://api.github.com/"

// Defaults of Options.
const (
	DefaultCacheBytes   = 64 << 20
	DefaultArchiveBytes = 1 << 30
	DefaultUserAgent    = "backstory"
)

// Options configure an App.
type Options struct {
	// AppID is the GitHub App's id (the iss of its JWTs).
	AppID int64
	// PrivateKey is the App's RSA private key, PEM encoded, as GitHub
	// generates it.
	PrivateKey []byte
	// BaseURL is the API base: DefaultBaseURL when empty; for GitHub
	// Enterprise Server "https://HOST/api/v3/".
	BaseURL string
	// Metrics, when not nil, counts every request sent in GitHubCalls.
	Metrics *app.Metrics
	// HTTPClient gives the base transport and the timeout of API requests;
	// its other fields are not used. Archive downloads are bounded by their
	// context only, as a large repository takes longer than any sensible
	// API timeout. Nil: NewHTTPClient.
	HTTPClient *http.Client
	// UserAgent is sent with every request; DefaultUserAgent when empty.
	UserAgent string
	// Now is the clock for Retry-After and completed_at; time.Now when nil.
	// Tokens expire by the real clock: ghinstallation reads it directly.
	Now func() time.Time
	// CacheBytes bounds the conditional-request cache shared by every
	// installation; DefaultCacheBytes when 0, no cache when negative.
	CacheBytes int64
	// ArchiveBytes bounds one Archive call, both the download and the bytes
	// written; DefaultArchiveBytes when 0.
	ArchiveBytes int64
}

// App is GitHub as the App sees it. It is safe for concurrent use.
type App struct {
	appID        int64
	key          *rsa.PrivateKey
	base         *url.URL // API base, with a trailing slash
	userAgent    string
	now          func() time.Time
	metrics      *app.Metrics
	limits       rateLimits
	timeout      time.Duration
	sent         http.RoundTripper // counts, then the caller's transport
	cache        *etagCache
	archiveBytes int64

	jwtClient *gh.Client // authenticates as the App

	mu            sync.Mutex
	installations map[int64]*installation

	callsMu sync.Mutex
	calls   map[string]int
}

var _ app.GitHub = (*App)(nil)

// NewHTTPClient returns the HTTP client New uses when Options.HTTPClient is
// nil: bounded connection, TLS and header waits, and a minute per request.
func NewHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = 30 * time.Second
	tr.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// New returns an App. It checks that the private key is an RSA key in PEM
// form and that the base URL is absolute; it sends no request.
func New(opts Options) (*App, error) {
	if opts.AppID <= 0 {
		return nil, fmt.Errorf("github app: app id %d: want the App's numeric id from its settings page", opts.AppID)
	}
	key, err := parsePrivateKey(opts.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("github app: private key: %w", err)
	}
	base, err := parseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("github app: base url: %w", err)
	}
	a := &App{
		appID:         opts.AppID,
		key:           key,
		base:          base,
		userAgent:     opts.UserAgent,
		now:           opts.Now,
		metrics:       opts.Metrics,
		archiveBytes:  opts.ArchiveBytes,
		installations: map[int64]*installation{},
		calls:         map[string]int{},
	}
	if a.userAgent == "" {
		a.userAgent = DefaultUserAgent
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.archiveBytes <= 0 {
		a.archiveBytes = DefaultArchiveBytes
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = NewHTTPClient()
	}
	a.timeout = hc.Timeout
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	a.sent = &countingTransport{app: a, next: next}
	switch {
	case opts.CacheBytes == 0:
		a.cache = newETagCache(DefaultCacheBytes)
	case opts.CacheBytes > 0:
		a.cache = newETagCache(opts.CacheBytes)
	}

	atr := ghinstallation.NewAppsTransportFromPrivateKey(a.sent, a.appID, key)
	atr.BaseURL = a.tokenBaseURL()
	a.jwtClient = a.newGitHubClient(&http.Client{Transport: atr, Timeout: a.timeout, CheckRedirect: sameHostRedirects})
	return a, nil
}

// parsePrivateKey reads the App's key: PKCS #1 ("RSA PRIVATE KEY", what
// GitHub hands out) or PKCS #8 ("PRIVATE KEY") holding an RSA key.
func parsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	if len(strings.TrimSpace(string(pemBytes))) == 0 {
		return nil, errors.New("empty: give the .pem file GitHub generated for the App (Settings → Developer settings → GitHub Apps → Private keys)")
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found: want the .pem file GitHub generated for the App, starting with -----BEGIN RSA PRIVATE KEY-----")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("RSA PRIVATE KEY block: %w", err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PRIVATE KEY block: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("PRIVATE KEY block holds a %T: GitHub Apps sign with RSA keys", k)
		}
		return rk, nil
	default:
		return nil, fmt.Errorf("PEM block is %q: want an RSA private key (\"RSA PRIVATE KEY\" or \"PRIVATE KEY\")", block.Type)
	}
}

func parseBaseURL(s string) (*url.URL, error) {
	if s == "" {
		s = DefaultBaseURL
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%q: want an absolute http(s) URL such as %s or https://HOST/api/v3/", s, DefaultBaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q: want no query or fragment", s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// tokenBaseURL is the base as ghinstallation wants it: it appends
// "/app/installations/…" itself.
func (a *App) tokenBaseURL() string {
	return strings.TrimSuffix(a.base.String(), "/")
}

func (a *App) newGitHubClient(hc *http.Client) *gh.Client {
	c := gh.NewClient(hc)
	base := *a.base
	c.BaseURL = &base
	upload := *a.base
	c.UploadURL = &upload
	c.UserAgent = a.userAgent
	return c
}

// sameHostRedirects follows redirects on the host of the first request (a
// renamed repository answers 301) and stops at any other, so that the
// installation token, which the transport adds to every request, never
// reaches another host.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
		return http.ErrUseLastResponse
	}
	return nil
}

// Installation returns a client acting as one installation of the App. The
// client, its token and its rate-limit state are kept for the App's
// lifetime, so asking twice costs nothing.
func (a *App) Installation(id int64) app.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.installations[id]; ok {
		return c
	}
	c := a.newInstallation(id)
	a.installations[id] = c
	return c
}

// HookDeliveries lists the App's webhook deliveries delivered at or after
// since, newest first, following every page until they get older.
func (a *App) HookDeliveries(ctx context.Context, since time.Time) ([]app.HookDelivery, error) {
	ctx = withOperation(ctx, "apps/list-webhook-deliveries")
	var out []app.HookDelivery
	opts := &gh.ListCursorOptions{PerPage: 100}
	for page := 1; ; page++ {
		list, resp, err := a.jwtClient.Apps.ListHookDeliveries(ctx, opts)
		if err != nil {
			return nil, a.mapError(err, fmt.Sprintf("list the App's webhook deliveries (page %d)", page))
		}
		older := false
		for _, d := range list {
			at := d.GetDeliveredAt().Time
			if at.Before(since) {
				older = true
				continue
			}
			out = append(out, app.HookDelivery{
				ID:             d.GetID(),
				GUID:           d.GetGUID(),
				DeliveredAt:    at,
				Redelivery:     d.GetRedelivery(),
				Status:         d.GetStatus(),
				StatusCode:     d.GetStatusCode(),
				Event:          d.GetEvent(),
				Action:         d.GetAction(),
				InstallationID: d.GetInstallationID(),
				RepositoryID:   d.GetRepositoryID(),
			})
		}
		if older || resp.Cursor == "" || len(list) == 0 {
			return out, nil
		}
		opts.Cursor = resp.Cursor
	}
}

// Redeliver asks GitHub to send delivery id again.
func (a *App) Redeliver(ctx context.Context, id int64) error {
	ctx = withOperation(ctx, "apps/redeliver-webhook-delivery")
	_, _, err := a.jwtClient.Apps.RedeliverHookDelivery(ctx, id)
	var accepted *gh.AcceptedError
	if err == nil || errors.As(err, &accepted) {
		// 202 is GitHub's answer: the attempt is queued.
		return nil
	}
	return a.mapError(err, fmt.Sprintf("redeliver webhook delivery %d", id))
}

// Calls returns how many requests were sent to GitHub, by operation
// (304s and token requests included, requests go-github refused locally
// while rate limited not).
func (a *App) Calls() map[string]int {
	a.callsMu.Lock()
	defer a.callsMu.Unlock()
	out := make(map[string]int, len(a.calls))
	for k, v := range a.calls {
		out[k] = v
	}
	return out
}

func (a *App) countCall(op, class string) {
	a.callsMu.Lock()
	a.calls[op]++
	a.callsMu.Unlock()
	if a.metrics != nil && a.metrics.GitHubCalls != nil {
		a.metrics.GitHubCalls.WithLabelValues(op, class).Inc()
	}
}
