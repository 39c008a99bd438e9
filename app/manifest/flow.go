package manifest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

//go:embed page.html
var pageFS embed.FS

var pages = template.Must(template.ParseFS(pageFS, "page.html"))

// Options configure a Flow.
type Options struct {
	// Host is the GitHub the App is created on.
	Host Host
	// Org is the organisation that will own the App; "" for the account of
	// whoever submits the form.
	Org string
	// Name is the App's name (GitHub lets the user change it before
	// creating the App).
	Name string
	// Webhook is where GitHub will deliver events. When its URL is empty,
	// the page asks for it first.
	Webhook Webhook
	Public  bool
	// PublishPages asks for contents: write instead of read, so that the
	// App can publish the org's site to a GitHub Pages branch.
	PublishPages bool
	// Files are where the credentials are written; Force replaces existing
	// files.
	Files Files
	Force bool
	// Listen is the address written as server.listen, where `backstory
	// serve` will listen.
	Listen string
	// LocalURL is this setup server's own address as the browser reaches
	// it ("http://127.0.0.1:8123"): GitHub redirects there.
	LocalURL string
	// Client makes the request to GitHub's API; nil means a client with a
	// 30-second timeout.
	Client *http.Client
	// Rand is where the state comes from; nil means crypto/rand.
	Rand io.Reader
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Result is a finished setup: the App GitHub created and where its
// credentials were written.
type Result struct {
	App   App
	Files Files
}

// Flow is the local web server of `backstory setup`: GET / shows what will
// be created and the form that sends the manifest to GitHub; GET /callback
// receives GitHub's redirect, checks the state, trades the code for the
// App's credentials and writes them.
type Flow struct {
	opts     Options
	state    string
	callback string
	hosts    map[string]bool
	done     chan Result

	mu       sync.Mutex
	result   *Result
	byCode   map[string]App // converted codes whose files are not written yet
	lastCode string
}

// NewFlow prepares a setup flow served at opts.LocalURL.
func NewFlow(opts Options) (*Flow, error) {
	local, err := url.Parse(opts.LocalURL)
	if err != nil || local.Host == "" || (local.Scheme != "http" && local.Scheme != "https") {
		return nil, fmt.Errorf("local URL %q: expected http://HOST:PORT", opts.LocalURL)
	}
	if err := ValidName(opts.Name); err != nil {
		return nil, err
	}
	if err := ValidOrg(opts.Org); err != nil {
		return nil, err
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var b [32]byte
	if _, err := io.ReadFull(opts.Rand, b[:]); err != nil {
		return nil, fmt.Errorf("make the setup state: %w", err)
	}
	base := strings.TrimRight(local.Scheme+"://"+local.Host, "/")
	return &Flow{
		opts:     opts,
		state:    hex.EncodeToString(b[:]),
		callback: base + "/callback",
		hosts:    allowedHosts(local.Host),
		done:     make(chan Result, 1),
		byCode:   map[string]App{},
	}, nil
}

// allowedHosts are the Host headers the flow answers: its own address, and
// for a loopback address the other loopback names of the same port. Any
// other Host is a page loaded through a name that merely resolves here (DNS
// rebinding), which must never see the state.
func allowedHosts(hostport string) map[string]bool {
	hosts := map[string]bool{strings.ToLower(hostport): true}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hosts
	}
	if isLoopback(host) {
		for _, h := range []string{"127.0.0.1", "localhost", "[::1]"} {
			hosts[h+":"+port] = true
		}
	}
	return hosts
}

// Done delivers the result once the credentials are written.
func (f *Flow) Done() <-chan Result { return f.done }

// CallbackURL is where GitHub sends the browser back.
func (f *Flow) CallbackURL() string { return f.callback }

// ServeHTTP answers the setup pages.
func (f *Flow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// No form-action: browsers apply it to the redirects that follow a
	// form, and GitHub may send the form on to a SAML identity provider.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	if !f.hosts[strings.ToLower(r.Host)] {
		f.problem(w, http.StatusMisdirectedRequest, "Wrong address",
			fmt.Sprintf("This setup page answers only at %s.", strings.TrimSuffix(f.callback, "/callback")), "")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		f.problem(w, http.StatusMethodNotAllowed, "Method not allowed", "The setup pages are read with GET.", "")
		return
	}
	switch r.URL.Path {
	case "/":
		f.start(w, r)
	case "/callback":
		f.finish(r.Context(), w, r)
	default:
		f.problem(w, http.StatusNotFound, "Not found", "There is no such setup page.", "/")
	}
}

// startPage is what the start page shows.
type startPage struct {
	Name          string
	Org           string
	Web           string
	Action        string
	Manifest      string
	Webhook       string
	CallbackURLs  []string
	Public        bool
	Grants        []Grant
	Subscriptions []Subscription
	Files         Files
	Force         bool
	// AskWebhook is set when no webhook URL is known yet; WebhookError
	// says why the one typed was refused.
	AskWebhook   bool
	WebhookValue string
	WebhookError string
}

func (f *Flow) start(w http.ResponseWriter, r *http.Request) {
	if res := f.finished(); res != nil {
		f.render(w, http.StatusOK, "done", res)
		return
	}
	p := startPage{
		Name: f.opts.Name, Org: f.opts.Org, Web: f.opts.Host.Web, Public: f.opts.Public,
		Grants: GrantsFor(f.opts.PublishPages), Subscriptions: Subscriptions, Files: f.opts.Files, Force: f.opts.Force,
	}
	hook := f.opts.Webhook
	if hook.URL == "" {
		typed := r.URL.Query().Get("webhook_url")
		p.WebhookValue = typed
		if typed == "" {
			p.AskWebhook = true
		} else if parsed, err := ParseWebhook(typed); err != nil {
			p.AskWebhook, p.WebhookError = true, err.Error()
		} else {
			hook = parsed
		}
	}
	if !p.AskWebhook {
		m := New(f.opts.Name, hook, f.callback, f.opts.Public)
		for _, g := range p.Grants {
			m.DefaultPermissions[g.Name] = g.Level
		}
		data, err := json.Marshal(m)
		if err != nil {
			f.problem(w, http.StatusInternalServerError, "Internal error", "The manifest could not be encoded: "+err.Error(), "")
			return
		}
		p.Manifest = string(data)
		p.Action = f.opts.Host.NewAppURL(f.opts.Org, f.state)
		p.Webhook = hook.URL
		p.CallbackURLs = m.CallbackURLs
	}
	f.render(w, http.StatusOK, "start", p)
}

func (f *Flow) finished() *Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.result
}

func (f *Flow) finish(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if subtle.ConstantTimeCompare([]byte(state), []byte(f.state)) != 1 {
		f.problem(w, http.StatusBadRequest, "This is not the answer to this setup",
			"GitHub's redirect carries a state that this setup did not issue, so nothing was written. Start again from this setup's own page.", "/")
		return
	}
	code := q.Get("code")
	if code == "" {
		f.problem(w, http.StatusBadRequest, "No code from GitHub",
			"GitHub sends a code back once it has created the App; this address has none. Start again from the setup page.", "/")
		return
	}

	// One callback at a time: a double click or a reload must not spend the
	// code twice or write the files twice.
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.result != nil {
		f.render(w, http.StatusOK, "done", f.result)
		return
	}
	if err := f.opts.Files.Check(f.opts.Force); err != nil {
		f.problem(w, http.StatusConflict, "The credentials cannot be written",
			err.Error()+". GitHub's code is still unspent: fix this, then reload this page (the code expires an hour after GitHub issued it).", "")
		return
	}
	app, ok := f.byCode[code]
	if !ok {
		var err error
		// A browser that gives up waiting must not cancel the request:
		// GitHub may spend the code all the same.
		app, err = Convert(context.WithoutCancel(ctx), f.opts.Client, f.opts.Host.API, code)
		if err != nil {
			var ce *ConversionError
			if errors.As(err, &ce) && ce.Final() {
				f.problem(w, http.StatusBadGateway, "GitHub did not hand over the App's credentials",
					err.Error()+". GitHub may have created the App all the same: look under "+f.settingsURL()+
						", delete it, and create it again from the setup page.", "/")
				return
			}
			f.problem(w, http.StatusBadGateway, "GitHub could not be reached",
				err.Error()+". The code may still be valid for up to an hour after GitHub issued it: reload this page to try again.", "")
			return
		}
		f.byCode[code] = app
	}
	cfg := ConfigFor(app, f.opts.Host, f.opts.Files.Key, f.opts.Listen)
	if err := f.opts.Files.Write(cfg, app.PEM, f.opts.Now(), f.opts.Force); err != nil {
		f.problem(w, http.StatusInternalServerError, "The credentials could not be written",
			fmt.Sprintf("GitHub created the App %s, but %v. The credentials are kept in memory until this setup stops: fix the problem and reload this page.", app.Slug, err), "")
		return
	}
	delete(f.byCode, code)
	res := &Result{App: app, Files: f.opts.Files}
	f.result = res
	f.done <- *res
	f.render(w, http.StatusOK, "done", res)
}

// settingsURL is where the user sees the Apps they (or the organisation)
// own.
func (f *Flow) settingsURL() string {
	if f.opts.Org != "" {
		return f.opts.Host.Web + "/organizations/" + url.PathEscape(f.opts.Org) + "/settings/apps"
	}
	return f.opts.Host.Web + "/settings/apps"
}

type problemPage struct {
	Title   string
	Message string
	Back    string
}

func (f *Flow) problem(w http.ResponseWriter, status int, title, message, back string) {
	f.render(w, status, "problem", problemPage{Title: title, Message: message, Back: back})
}

func (f *Flow) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "internal error: the page could not be drawn", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
