// Package status is the operator's status page of `backstory serve`: how
// deep the inbox is and how old its oldest delivery, what fails and why,
// the dead letters, the last build and publication of every organisation's
// site, GitHub's rate-limit headroom per installation, the version and the
// uptime. Every problem it shows says what to do about it.
//
//	/status        one HTML page, readable on a phone, refreshed every 30 s
//	/status.json   the same Report, for scripts
//
// The page shows repository names and error messages, so it is never
// public: `backstory serve` serves it without sign-in only on a separate
// listener bound to the loopback interface (server.admin_listen), and on
// its main listener only to the admins of the organisations the App is
// installed on (ForAdmins, GitHubAdmins), who sign in with GitHub.
package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// Paths of the page and of its JSON.
const (
	Path     = "/status"
	JSONPath = "/status.json"
)

// What the page looks at, and when it calls something a problem.
const (
	// Window is how far back the page looks for the newest failures and
	// dead letters (the inbox lists deliveries oldest first, so it looks
	// through the most recent ones first).
	Window = 7 * 24 * time.Hour
	// Newest is how many failures and dead letters it lists.
	Newest = 20
	// LateAfter is the age past which the oldest waiting delivery is a
	// problem: the workers are not keeping up, or it keeps failing.
	LateAfter = 15 * time.Minute
	// LowHeadroom is the share of a rate limit left under which it is a
	// problem.
	LowHeadroom = 0.10
	// Refresh is how often the HTML page reloads itself.
	Refresh = 30 * time.Second
)

// scanLimit bounds each listing of the inbox, so that a backlog of
// thousands of deliveries (and their payloads) is never read whole; a
// section that hit it says it may be incomplete.
const scanLimit = 500

// Options are what a Handler reads.
type Options struct {
	// Inbox is the store's inbox (only Counts and Deliveries are used).
	Inbox app.Inbox
	// SiteDir holds the sites and their app.SiteMeta
	// (app.SiteOptions.Dir); "" when serve keeps no sites.
	SiteDir string
	// RateLimits returns GitHub's rate limits as last seen
	// ((*github.App).RateLimits). Nil: none are shown.
	RateLimits func() []app.RateLimit
	// Installations lists the App's installations: the accounts that have
	// no site yet, and the account of each rate limit. Nil: only the sites
	// in SiteDir are shown. Pass a cached list (CachedInstallations): the
	// page is read every 30 s.
	Installations func(ctx context.Context) ([]app.InstallationInfo, error)
	// Version is backstory's version; Started when serve started.
	Version string
	Started time.Time
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log may be nil: slog.Default().
	Log *slog.Logger
}

// Handler serves the page and its JSON. It is safe for concurrent use.
type Handler struct {
	opts Options
	now  func() time.Time
	log  *slog.Logger
}

// New checks opts and returns a Handler.
func New(opts Options) (*Handler, error) {
	if opts.Inbox == nil {
		return nil, errors.New("status: no inbox to report on")
	}
	h := &Handler{opts: opts, now: opts.Now, log: opts.Log}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h, nil
}

// Report is everything the page shows, as /status.json has it.
type Report struct {
	GeneratedAt   time.Time `json:"generated_at"`
	Version       string    `json:"version"`
	StartedAt     time.Time `json:"started_at"`
	UptimeSeconds int64     `json:"uptime_seconds"`
	// Problems are what needs the operator, each with what to do; empty
	// when all is well.
	Problems    []Problem   `json:"problems"`
	Inbox       InboxReport `json:"inbox"`
	Failures    Failures    `json:"failures"`
	DeadLetters DeadLetters `json:"dead_letters"`
	Sites       Sites       `json:"sites"`
	RateLimits  []RateLimit `json:"rate_limits"`
}

// Problem is one thing that needs the operator.
type Problem struct {
	// Section is where the page shows it: "inbox", "failures",
	// "dead_letters", "sites" or "rate_limits".
	Section string `json:"section"`
	What    string `json:"what"`
	// Do says what to do, in plain words: a command or a setting.
	Do string `json:"do"`
}

// InboxReport is how much work waits.
type InboxReport struct {
	// Counts has every state: pending, claimed, done and dead.
	Counts map[app.DeliveryState]int `json:"counts"`
	// Oldest is the oldest pending or claimed delivery; nil when none
	// waits.
	Oldest *Delivery `json:"oldest,omitempty"`
	// Late is true when Oldest has waited longer than LateAfter.
	Late bool `json:"late"`
	// Error says why the inbox could not be read.
	Error string `json:"error,omitempty"`
}

// Delivery is one delivery of the inbox, without its payload.
type Delivery struct {
	ID           string            `json:"id"`
	Event        string            `json:"event"`
	Action       string            `json:"action,omitempty"`
	Repository   string            `json:"repository,omitempty"`
	Installation int64             `json:"installation,omitempty"`
	State        app.DeliveryState `json:"state"`
	ReceivedAt   time.Time         `json:"received_at"`
	AgeSeconds   int64             `json:"age_seconds"`
	Attempts     int               `json:"attempts"`
	NextAttempt  time.Time         `json:"next_attempt,omitzero"`
	LastError    string            `json:"last_error,omitempty"`
}

// Failures are the pending deliveries whose last attempt failed: backstory
// retries them by itself.
type Failures struct {
	// Deliveries are the Newest of them received since Since, newest
	// first.
	Deliveries []Delivery `json:"deliveries"`
	Since      time.Time  `json:"since"`
	// Partial is true when there were too many pending deliveries to look
	// through them all: some failures may be missing.
	Partial bool   `json:"partial,omitempty"`
	Error   string `json:"error,omitempty"`
}

// DeadLetters are the deliveries backstory gave up on.
type DeadLetters struct {
	// Total counts every dead letter, of any age.
	Total int `json:"total"`
	// Deliveries are the Newest received since Since, newest first.
	Deliveries []Delivery `json:"deliveries"`
	Since      time.Time  `json:"since"`
	Partial    bool       `json:"partial,omitempty"`
	Error      string     `json:"error,omitempty"`
}

// Sites are the organisations' sites.
type Sites struct {
	// Enabled is false when serve keeps no sites (site.dir is not set).
	Enabled bool   `json:"enabled"`
	Sites   []Site `json:"sites"`
	// Error says why the sites or the App's installations could not be
	// read.
	Error string `json:"error,omitempty"`
}

// Site is the site of one account, as its app.SiteMeta says.
type Site struct {
	Account      string `json:"account"`
	Installation int64  `json:"installation,omitempty"`
	// Built is false when no site was built yet (there is no SiteMeta).
	Built        bool      `json:"built"`
	BuiltAt      time.Time `json:"built_at,omitzero"`
	AgeSeconds   int64     `json:"age_seconds,omitempty"`
	Records      int       `json:"records"`
	Repositories int       `json:"repositories"`
	Private      bool      `json:"private"`
	// Pages is the last publication to a Pages branch, nil when the
	// organisation's configuration names none.
	Pages   *app.PagesOutcome  `json:"pages,omitempty"`
	Reviews app.ReviewsOutcome `json:"reviews"`
	// BuildFailure is the newest failing or dead build of this site among
	// the failures and dead letters listed.
	BuildFailure *Delivery `json:"build_failure,omitempty"`
	// Error says why its SiteMeta could not be read.
	Error string `json:"error,omitempty"`
}

// RateLimit is GitHub's rate limit of one installation and resource, as
// its last answer said.
type RateLimit struct {
	Installation int64     `json:"installation"`
	Account      string    `json:"account,omitempty"`
	Resource     string    `json:"resource"`
	Remaining    int       `json:"remaining"`
	Limit        int       `json:"limit"`
	Percent      float64   `json:"percent"`
	Reset        time.Time `json:"reset,omitzero"`
	Seen         time.Time `json:"seen"`
	// Low is true when less than LowHeadroom is left until a reset still
	// ahead.
	Low bool `json:"low"`
}

// ServeHTTP serves Path as HTML and JSONPath as JSON.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Path != Path && r.URL.Path != JSONPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "The status page is read with GET.", http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	rep := h.Report(ctx)
	if r.URL.Path == JSONPath {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := render(w, rep); err != nil {
		h.log.Warn("status: the page could not be written", "err", err)
	}
}

// Report gathers what the page shows. A part that cannot be read says why
// in its Error, and is a problem; the rest is still reported.
func (h *Handler) Report(ctx context.Context) Report {
	now := h.now().UTC()
	rep := Report{GeneratedAt: now, Version: h.opts.Version, StartedAt: h.opts.Started.UTC()}
	if !h.opts.Started.IsZero() {
		rep.UptimeSeconds = int64(now.Sub(h.opts.Started) / time.Second)
	}
	var installations []app.InstallationInfo
	var installErr error
	if h.opts.Installations != nil {
		installations, installErr = h.opts.Installations(ctx)
	}

	rep.Inbox = h.inbox(ctx, now)
	rep.Failures = h.failures(ctx, now)
	rep.DeadLetters = h.deadLetters(ctx, now, rep.Inbox)
	rep.Sites = h.sites(installations, installErr, now, append(append([]Delivery(nil), rep.Failures.Deliveries...), rep.DeadLetters.Deliveries...))
	rep.RateLimits = h.rateLimits(installations, now)
	rep.Problems = problems(rep)
	for _, e := range []string{rep.Inbox.Error, rep.Failures.Error, rep.DeadLetters.Error, rep.Sites.Error} {
		if e != "" {
			h.log.Warn("status: part of the page could not be read", "err", e)
		}
	}
	return rep
}

func (h *Handler) inbox(ctx context.Context, now time.Time) InboxReport {
	ir := InboxReport{Counts: map[app.DeliveryState]int{app.StatePending: 0, app.StateClaimed: 0, app.StateDone: 0, app.StateDead: 0}}
	counts, err := h.opts.Inbox.Counts(ctx)
	if err != nil {
		ir.Error = fmt.Sprintf("count the deliveries: %v", err)
		return ir
	}
	for s, n := range counts {
		ir.Counts[s] = n
	}
	oldest, err := h.opts.Inbox.Deliveries(ctx, app.DeliveryFilter{States: []app.DeliveryState{app.StatePending, app.StateClaimed}, Limit: 1})
	if err != nil {
		ir.Error = fmt.Sprintf("find the oldest waiting delivery: %v", err)
		return ir
	}
	if len(oldest) == 1 {
		d := deliveryOf(oldest[0], now)
		ir.Oldest = &d
		ir.Late = now.Sub(d.ReceivedAt) > LateAfter
	}
	return ir
}

func (h *Handler) failures(ctx context.Context, now time.Time) Failures {
	f := Failures{Since: now.Add(-Window), Deliveries: []Delivery{}}
	list, partial, err := h.newest(ctx, app.StatePending, f.Since, now, func(d app.Delivery) bool { return d.Attempts > 0 })
	if err != nil {
		f.Error = fmt.Sprintf("list the pending deliveries: %v", err)
	}
	f.Partial = partial
	for _, d := range list {
		f.Deliveries = append(f.Deliveries, deliveryOf(d, now))
	}
	return f
}

// deadLetters lists the newest dead letters; ir has their total.
func (h *Handler) deadLetters(ctx context.Context, now time.Time, ir InboxReport) DeadLetters {
	dl := DeadLetters{Since: now.Add(-Window), Deliveries: []Delivery{}, Total: ir.Counts[app.StateDead]}
	if ir.Error != "" {
		dl.Error = ir.Error
		return dl
	}
	if dl.Total == 0 {
		return dl
	}
	list, partial, err := h.newest(ctx, app.StateDead, dl.Since, now, nil)
	if err != nil {
		dl.Error = fmt.Sprintf("list the dead letters: %v", err)
	}
	dl.Partial = partial
	for _, d := range list {
		dl.Deliveries = append(dl.Deliveries, deliveryOf(d, now))
	}
	return dl
}

// newest returns up to Newest deliveries in state received since since
// for which keep (nil: all) is true, newest first. The inbox lists oldest
// first, so it looks through time windows from the most recent back,
// each listed up to scanLimit; partial is true when a window had more.
func (h *Handler) newest(ctx context.Context, state app.DeliveryState, since, now time.Time, keep func(app.Delivery) bool) (out []app.Delivery, partial bool, err error) {
	// The first window has no upper bound: a replica whose clock runs
	// ahead may have received a delivery "later" than now.
	edges := []time.Time{{}}
	for _, back := range []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour} {
		if t := now.Add(-back); t.After(since) {
			edges = append(edges, t)
		}
	}
	edges = append(edges, since)
	for i := 0; i+1 < len(edges); i++ {
		list, err := h.opts.Inbox.Deliveries(ctx, app.DeliveryFilter{States: []app.DeliveryState{state},
			Since: edges[i+1], Until: edges[i], Limit: scanLimit})
		if err != nil {
			return out, partial, err
		}
		if len(list) == scanLimit {
			partial = true
		}
		for k := len(list) - 1; k >= 0; k-- {
			if keep == nil || keep(list[k]) {
				out = append(out, list[k])
				if len(out) == Newest {
					return out, partial, nil
				}
			}
		}
	}
	return out, partial, nil
}

func deliveryOf(d app.Delivery, now time.Time) Delivery {
	out := Delivery{ID: d.ID, Event: d.Event, Action: d.Action, Repository: d.Repository, Installation: d.InstallationID,
		State: d.State, ReceivedAt: d.ReceivedAt.UTC(), AgeSeconds: int64(now.Sub(d.ReceivedAt) / time.Second),
		Attempts: d.Attempts, LastError: d.LastError}
	if d.State == app.StatePending && !d.NextAttempt.IsZero() {
		out.NextAttempt = d.NextAttempt.UTC()
	}
	return out
}

// sites reads every SiteMeta in SiteDir, and adds the installations that
// have none yet. failing are the failures and dead letters listed, to find
// each site's failing build in.
func (h *Handler) sites(installations []app.InstallationInfo, installErr error, now time.Time, failing []Delivery) Sites {
	ss := Sites{Enabled: h.opts.SiteDir != "", Sites: []Site{}}
	if !ss.Enabled {
		return ss
	}
	var errs []string
	if installErr != nil {
		errs = append(errs, fmt.Sprintf("list the App's installations: %v", installErr))
	}
	byAccount := map[string]*Site{}
	files, err := filepath.Glob(filepath.Join(h.opts.SiteDir, ".backstory", "*.json"))
	if err != nil {
		errs = append(errs, err.Error())
	}
	for _, f := range files {
		account := strings.TrimSuffix(filepath.Base(f), ".json")
		s := Site{Account: account}
		meta, err := app.ReadSiteMeta(h.opts.SiteDir, account)
		switch {
		case err != nil:
			s.Error = err.Error()
		default:
			if meta.Account != "" {
				s.Account = meta.Account
			}
			s.Installation, s.Private, s.Records, s.Repositories = meta.Installation, meta.Private, meta.Records, meta.Repositories
			s.Pages, s.Reviews = meta.Pages, meta.Reviews
			if !meta.BuiltAt.IsZero() {
				s.Built, s.BuiltAt = true, meta.BuiltAt.UTC()
				s.AgeSeconds = int64(now.Sub(meta.BuiltAt) / time.Second)
			}
		}
		byAccount[strings.ToLower(account)] = &s
	}
	for _, in := range installations {
		if s, ok := byAccount[strings.ToLower(in.Account)]; ok {
			if s.Installation == 0 {
				s.Installation = in.ID
			}
			continue
		}
		byAccount[strings.ToLower(in.Account)] = &Site{Account: in.Account, Installation: in.ID}
	}
	for _, s := range byAccount {
		for _, d := range failing {
			if d.Event == app.EventBuild && s.Installation != 0 && d.Installation == s.Installation &&
				(s.BuildFailure == nil || d.ReceivedAt.After(s.BuildFailure.ReceivedAt)) {
				s.BuildFailure = &d
			}
		}
		ss.Sites = append(ss.Sites, *s)
	}
	sort.Slice(ss.Sites, func(i, j int) bool {
		return strings.ToLower(ss.Sites[i].Account) < strings.ToLower(ss.Sites[j].Account)
	})
	ss.Error = strings.Join(errs, "; ")
	return ss
}

func (h *Handler) rateLimits(installations []app.InstallationInfo, now time.Time) []RateLimit {
	out := []RateLimit{}
	if h.opts.RateLimits == nil {
		return out
	}
	accounts := map[int64]string{}
	for _, in := range installations {
		accounts[in.ID] = in.Account
	}
	for _, rl := range h.opts.RateLimits() {
		r := RateLimit{Installation: rl.Installation, Account: accounts[rl.Installation], Resource: rl.Resource,
			Remaining: rl.Remaining, Limit: rl.Limit, Seen: rl.Seen.UTC()}
		if !rl.Reset.IsZero() {
			r.Reset = rl.Reset.UTC()
		}
		if rl.Limit > 0 {
			r.Percent = float64(int(float64(rl.Remaining)*1000/float64(rl.Limit))) / 10
			r.Low = float64(rl.Remaining) < LowHeadroom*float64(rl.Limit) && (rl.Reset.IsZero() || rl.Reset.After(now))
		}
		out = append(out, r)
	}
	return out
}
