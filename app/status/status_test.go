package status

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/memory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// inbox is a memory inbox filled by the tests, at times of their choosing.
type inbox struct {
	t *testing.T
	*memory.Store
}

func newInbox(t *testing.T) *inbox { return &inbox{t: t, Store: memory.New()} }

// add stores a pending delivery received ago before now.
// addBuild stores a pending site build of installation.
func (in *inbox) addBuild(id string, installation int64, ago time.Duration) {
	in.t.Helper()
	d := app.Delivery{ID: id, Event: app.EventBuild, InstallationID: installation, Key: fmt.Sprintf("site:%d", installation),
		ReceivedAt: now.Add(-ago), Payload: []byte("{}")}
	if _, err := in.Enqueue(context.Background(), d); err != nil {
		in.t.Fatal(err)
	}
}

func (in *inbox) add(id, event, repo string, ago time.Duration) {
	in.t.Helper()
	d := app.Delivery{ID: id, Event: event, Repository: repo, ReceivedAt: now.Add(-ago), Payload: []byte("{}")}
	if e, a, ok := strings.Cut(event, "."); ok {
		d.Event, d.Action = e, a
	}
	if _, err := in.Enqueue(context.Background(), d); err != nil {
		in.t.Fatal(err)
	}
}

// take claims the only due delivery, which must be id.
func (in *inbox) take(id string) {
	in.t.Helper()
	got, err := in.Claim(context.Background(), "w", 1, now, time.Minute)
	if err != nil || len(got) != 1 || got[0].ID != id {
		in.t.Fatalf("claim %s: %v, %v", id, got, err)
	}
}

// fail fails id attempts times; after the last it is due at next.
func (in *inbox) fail(id, reason string, attempts int, next time.Time) {
	in.t.Helper()
	for i := range attempts {
		in.take(id)
		at := now.Add(-time.Hour) // due again at once
		if i == attempts-1 {
			at = next
		}
		if err := in.Retry(context.Background(), id, "w", at, reason); err != nil {
			in.t.Fatal(err)
		}
	}
}

func (in *inbox) bury(id, reason string) {
	in.t.Helper()
	in.take(id)
	if err := in.Bury(context.Background(), id, "w", now, reason); err != nil {
		in.t.Fatal(err)
	}
}

func (in *inbox) complete(id string) {
	in.t.Helper()
	in.take(id)
	if err := in.Complete(context.Background(), id, "w", now); err != nil {
		in.t.Fatal(err)
	}
}

func writeMeta(t *testing.T, dir string, m app.SiteMeta) {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".backstory"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".backstory", strings.ToLower(m.Account)+".json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

const hostile = "GitHub answered 502: <script>alert(1)</script>\n\tand a second line"

// scene is a server with something in every section: a late delivery,
// failures (one of them a site build), dead letters, three accounts (one
// without a site), a failed Pages publication, review issues, and a low
// rate limit.
func scene(t *testing.T) Options {
	t.Helper()
	in := newInbox(t)
	in.add("dead-old", "pull_request.opened", "octo-org/hello", 10*24*time.Hour)
	in.bury("dead-old", "too old to be listed")
	in.add("dead-1", "pull_request.synchronize", "octo-org/widgets", 2*time.Hour)
	in.bury("dead-1", "GitHub refused: <b>bold</b> & more")
	in.add("done-1", "push", "octo-org/hello", 50*time.Minute)
	in.complete("done-1")
	in.add("retry-1", "push", "octo-org/hello", 10*time.Minute)
	in.fail("retry-1", hostile, 3, now.Add(5*time.Minute))
	in.addBuild("build-1", 7, 5*time.Minute)
	in.fail("build-1", "build the site of octo-org: hugo failed", 1, now.Add(time.Minute))
	in.add("late-1", "pull_request.opened", "octo-org/hello", 40*time.Minute)

	dir := t.TempDir()
	writeMeta(t, dir, app.SiteMeta{Account: "octo-org", Installation: 7, Private: true, BuiltAt: now.Add(-3 * time.Hour), Records: 12, Repositories: 2,
		Pages: &app.PagesOutcome{Repository: "octo-org/octo-org.github.io", Branch: "gh-pages", URL: "https://octo-org.github.io/",
			Error: "GitHub answered 403: Resource not accessible by integration", LeftOut: []string{"octo-org/secret"}},
		Reviews: app.ReviewsOutcome{Due: 2, Opened: []string{"octo-org/hello#4"}, Failed: []string{"octo-org/widgets ADR-0003: issues are turned off"}}})
	writeMeta(t, dir, app.SiteMeta{Account: "solo", Installation: 11, BuiltAt: now.Add(-26 * time.Hour), Records: 1, Repositories: 1,
		Pages: &app.PagesOutcome{Repository: "solo/solo.github.io", Branch: "gh-pages", URL: "https://solo.github.io/", Commit: "0123456789abcdef0123456789abcdef01234567",
			PublishedAt: now.Add(-26 * time.Hour), Records: 1}})
	return Options{
		Inbox:   in,
		SiteDir: dir,
		RateLimits: func() []app.RateLimit {
			return []app.RateLimit{
				{Installation: 7, Resource: "core", Remaining: 4000, Limit: 5000, Reset: now.Add(30 * time.Minute), Seen: now.Add(-time.Minute)},
				{Installation: 7, Resource: "search", Remaining: 1, Limit: 30, Reset: now.Add(-time.Minute), Seen: now.Add(-2 * time.Minute)},
				{Installation: 9, Resource: "core", Remaining: 120, Limit: 5000, Reset: now.Add(20 * time.Minute), Seen: now.Add(-10 * time.Second)},
			}
		},
		Installations: func(context.Context) ([]app.InstallationInfo, error) {
			return []app.InstallationInfo{
				{ID: 7, Account: "octo-org", AccountType: "Organization"},
				{ID: 9, Account: "newcomer", AccountType: "Organization"},
				{ID: 11, Account: "solo", AccountType: "User"},
			}, nil
		},
		Version: "1.2.3",
		Started: now.Add(-(26*time.Hour + 5*time.Minute)),
		Now:     func() time.Time { return now },
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

func newHandler(t *testing.T, opts Options) *Handler {
	t.Helper()
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPage(t *testing.T) {
	h := newHandler(t, scene(t))
	rec := get(t, h, "/status")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	page := rec.Body.String()
	golden(t, "testdata/status.html", page)

	for _, want := range []string{
		`<meta http-equiv="refresh" content="30">`,
		`<time datetime="2026-03-02T12:00:00Z">2026-03-02 12:00:00 UTC</time>`,
		// Inbox: counts, the oldest waiting delivery, and the warning.
		`<th scope="row">pending</th><td class="n">3</td>`,
		`<th scope="row">dead</th><td class="n">2</td>`,
		`<th scope="row">done</th><td class="n">1</td>`,
		`<code>late-1</code>`,
		`<strong>Warning:</strong> it has waited 40m, more than 15m.`,
		"The workers are not keeping up, or none runs",
		// Failures, newest first, the error on one line and escaped.
		"GitHub answered 502: &lt;script&gt;alert(1)&lt;/script&gt; and a second line",
		// Dead letters: the newest, the total, the commands.
		"dead letters of the last 7 days; 2 in all",
		"GitHub refused: &lt;b&gt;bold&lt;/b&gt; &amp; more",
		"<code>backstory deliveries show ID</code>",
		"<code>backstory deliveries retry ID</code>",
		"<code>backstory deliveries retry --all</code>",
		// Sites.
		`<h3 id="site-newcomer">newcomer</h3>`,
		"no site built yet",
		"private: members of octo-org only",
		"12 records from 2 repositories",
		"<strong>not published:</strong> GitHub answered 403: Resource not accessible by integration",
		"the private repositories octo-org/secret",
		"2 decisions due for review; 1 issue opened (octo-org/hello#4); 1 could not be opened",
		"commit <code>0123456789abcdef0123456789abcdef01234567</code>, 1 record",
		"build the site of octo-org: hugo failed",
		"<code>backstory resync octo-org</code>",
		// Rate limits: the low one marked, the one whose reset passed not.
		`<tr class="low"><td>9 (newcomer)</td><td>core</td><td class="n">120 of 5000</td><td class="n">2.4% <strong>low</strong>`,
		`<td>7 (octo-org)</td><td>search</td><td class="n">1 of 30</td><td class="n">3.3%</td>`,
		"(passed: full again)",
		// Version and uptime.
		"<dt>Version</dt><dd>1.2.3</dd>",
		"<dt>Uptime</dt><dd>1d 2h</dd>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, never := range []string{"<script>", "<b>bold", "too old to be listed", "\tand a second"} {
		if strings.Contains(page, never) {
			t.Errorf("the page shows %q", never)
		}
	}
	// Newest first: the build (5 min ago) before the push (10 min ago).
	if i, j := strings.Index(page, "<code>build-1</code>"), strings.Index(page, "<code>retry-1</code>"); i < 0 || j < 0 || i > j {
		t.Errorf("failures not newest first: build-1 at %d, retry-1 at %d", i, j)
	}
}

func TestJSON(t *testing.T) {
	h := newHandler(t, scene(t))
	rec := get(t, h, "/status.json")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	var rep struct {
		GeneratedAt   time.Time `json:"generated_at"`
		Version       string    `json:"version"`
		UptimeSeconds int64     `json:"uptime_seconds"`
		Problems      []struct{ Section, What, Do string }
		Inbox         struct {
			Counts map[string]int `json:"counts"`
			Oldest struct {
				ID         string `json:"id"`
				AgeSeconds int64  `json:"age_seconds"`
			} `json:"oldest"`
			Late bool `json:"late"`
		} `json:"inbox"`
		Failures struct {
			Deliveries []struct {
				ID          string    `json:"id"`
				Attempts    int       `json:"attempts"`
				NextAttempt time.Time `json:"next_attempt"`
				LastError   string    `json:"last_error"`
			} `json:"deliveries"`
		} `json:"failures"`
		DeadLetters struct {
			Total      int `json:"total"`
			Deliveries []struct {
				ID string `json:"id"`
			} `json:"deliveries"`
		} `json:"dead_letters"`
		Sites struct {
			Enabled bool `json:"enabled"`
			Sites   []struct {
				Account      string `json:"account"`
				Built        bool   `json:"built"`
				Private      bool   `json:"private"`
				BuildFailure *struct {
					ID string `json:"id"`
				} `json:"build_failure"`
				Pages *struct {
					Error string `json:"error"`
				} `json:"pages"`
			} `json:"sites"`
		} `json:"sites"`
		RateLimits []struct {
			Installation int64   `json:"installation"`
			Account      string  `json:"account"`
			Resource     string  `json:"resource"`
			Percent      float64 `json:"percent"`
			Low          bool    `json:"low"`
		} `json:"rate_limits"`
	}
	dec := json.NewDecoder(rec.Body)
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if !rep.GeneratedAt.Equal(now) || rep.Version != "1.2.3" || rep.UptimeSeconds != 26*3600+300 {
		t.Errorf("header: %v %q %d", rep.GeneratedAt, rep.Version, rep.UptimeSeconds)
	}
	if c := rep.Inbox.Counts; c["pending"] != 3 || c["claimed"] != 0 || c["done"] != 1 || c["dead"] != 2 {
		t.Errorf("counts %v", c)
	}
	if rep.Inbox.Oldest.ID != "late-1" || rep.Inbox.Oldest.AgeSeconds != 2400 || !rep.Inbox.Late {
		t.Errorf("oldest %+v, late %v", rep.Inbox.Oldest, rep.Inbox.Late)
	}
	var ids []string
	for _, d := range rep.Failures.Deliveries {
		ids = append(ids, d.ID)
	}
	if strings.Join(ids, ",") != "build-1,retry-1" {
		t.Errorf("failures %v, want build-1,retry-1", ids)
	}
	if f := rep.Failures.Deliveries[1]; f.Attempts != 3 || f.LastError != hostile || !f.NextAttempt.Equal(now.Add(5*time.Minute)) {
		t.Errorf("retry-1: %+v", f)
	}
	if rep.DeadLetters.Total != 2 || len(rep.DeadLetters.Deliveries) != 1 || rep.DeadLetters.Deliveries[0].ID != "dead-1" {
		t.Errorf("dead letters %+v", rep.DeadLetters)
	}
	var accounts []string
	for _, s := range rep.Sites.Sites {
		accounts = append(accounts, fmt.Sprintf("%s:%v", s.Account, s.Built))
	}
	if !rep.Sites.Enabled || strings.Join(accounts, ",") != "newcomer:false,octo-org:true,solo:true" {
		t.Errorf("sites %v", accounts)
	}
	if s := rep.Sites.Sites[1]; !s.Private || s.BuildFailure == nil || s.BuildFailure.ID != "build-1" || s.Pages == nil || s.Pages.Error == "" {
		t.Errorf("octo-org's site: %+v", s)
	}
	var low []string
	for _, r := range rep.RateLimits {
		if r.Low {
			low = append(low, fmt.Sprintf("%d:%s:%s:%.1f", r.Installation, r.Account, r.Resource, r.Percent))
		}
	}
	if strings.Join(low, ",") != "9:newcomer:core:2.4" || len(rep.RateLimits) != 3 {
		t.Errorf("low rate limits %v of %+v", low, rep.RateLimits)
	}
	sections := map[string]int{}
	for _, p := range rep.Problems {
		sections[p.Section]++
		if p.What == "" || p.Do == "" {
			t.Errorf("a problem without what or what to do: %+v", p)
		}
	}
	// inbox: late; failures: 2 retried; dead letters; sites: the failing
	// build, the Pages error, the review issue; rate limits: one low.
	want := map[string]int{"inbox": 1, "failures": 1, "dead_letters": 1, "sites": 3, "rate_limits": 1}
	if fmt.Sprint(sections) != fmt.Sprint(want) {
		t.Errorf("problems by section %v, want %v: %+v", sections, want, rep.Problems)
	}
}

func TestLateWarning(t *testing.T) {
	for _, tt := range []struct {
		name  string
		ago   time.Duration
		fails bool
		late  bool
		do    string
	}{
		{"recent", 14 * time.Minute, false, false, ""},
		{"waiting", 16 * time.Minute, false, true, "The workers are not keeping up"},
		{"retried", time.Hour, true, true, "It failed 1 time and is retried by itself (next at 2026-03-02 12:10:00 UTC)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := newInbox(t)
			in.add("d", "push", "octo-org/hello", tt.ago)
			if tt.fails {
				in.fail("d", "GitHub answered 502", 1, now.Add(10*time.Minute))
			}
			rep := newHandler(t, Options{Inbox: in, Now: func() time.Time { return now }}).Report(context.Background())
			if rep.Inbox.Late != tt.late {
				t.Errorf("late %v, want %v", rep.Inbox.Late, tt.late)
			}
			var inboxProblems []Problem
			for _, p := range rep.Problems {
				if p.Section == "inbox" {
					inboxProblems = append(inboxProblems, p)
				}
			}
			page := get(t, newHandler(t, Options{Inbox: in, Now: func() time.Time { return now }}), "/status").Body.String()
			if !tt.late {
				if len(inboxProblems) != 0 || strings.Contains(page, "Warning:") {
					t.Errorf("a warning for a delivery %v old: %+v", tt.ago, inboxProblems)
				}
				return
			}
			if len(inboxProblems) != 1 || !strings.Contains(inboxProblems[0].Do, tt.do) || !strings.Contains(page, "<strong>Warning:</strong>") {
				t.Errorf("problems %+v, want one saying %q", inboxProblems, tt.do)
			}
		})
	}
}

func TestQuietServer(t *testing.T) {
	h := newHandler(t, Options{Inbox: memory.New(), Version: "dev", Now: func() time.Time { return now }})
	page := get(t, h, "/status").Body.String()
	for _, want := range []string{"Nothing needs you", "No delivery waits", "No delivery is failing", "No dead letters",
		"Sites are off: site.dir is not set", "No answer from GitHub seen since serve started"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	body := get(t, h, "/status.json").Body.String()
	for _, want := range []string{`"problems": []`, `"deliveries": []`, `"rate_limits": []`, `"sites": []`} {
		if !strings.Contains(body, want) {
			t.Errorf("the JSON lacks %s:\n%s", want, body)
		}
	}

	// A site folder without any site yet, and installations that cannot be
	// listed.
	h = newHandler(t, Options{Inbox: memory.New(), SiteDir: t.TempDir(), Now: func() time.Time { return now },
		Installations: func(context.Context) ([]app.InstallationInfo, error) { return nil, errors.New("GitHub answered 401") },
		Log:           slog.New(slog.NewTextHandler(io.Discard, nil))})
	rep := h.Report(context.Background())
	if !rep.Sites.Enabled || len(rep.Sites.Sites) != 0 || !strings.Contains(rep.Sites.Error, "GitHub answered 401") ||
		len(rep.Problems) != 1 || rep.Problems[0].Section != "sites" {
		t.Errorf("sites %+v, problems %+v", rep.Sites, rep.Problems)
	}
}

// brokenInbox cannot count.
type brokenInbox struct{ *memory.Store }

func (brokenInbox) Counts(context.Context) (map[app.DeliveryState]int, error) {
	return nil, errors.New("database is locked")
}

func TestInboxUnreadable(t *testing.T) {
	h := newHandler(t, Options{Inbox: brokenInbox{memory.New()}, Now: func() time.Time { return now },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := get(t, h, "/status")
	page := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(page, "The inbox could not be read") || !strings.Contains(page, "database is locked") ||
		!strings.Contains(page, "Check that the store answers (store.url") {
		t.Errorf("%d\n%s", rec.Code, page)
	}
}

func TestNewestFailures(t *testing.T) {
	in := newInbox(t)
	// 30 failing deliveries, one every 5 hours back from 1 hour ago: the
	// oldest ones are beyond the 7 days the page looks at, and the inbox
	// lists them oldest first.
	for i := range 30 {
		id := fmt.Sprintf("f%02d", i)
		in.add(id, "push", "octo-org/hello", time.Duration(1+5*i)*time.Hour)
	}
	for i := 29; i >= 0; i-- {
		id := fmt.Sprintf("f%02d", i)
		in.fail(id, "GitHub answered 502", 1, now.Add(time.Hour))
	}
	in.add("fresh", "push", "octo-org/hello", time.Minute) // waiting, not failing
	rep := newHandler(t, Options{Inbox: in, Now: func() time.Time { return now }}).Report(context.Background())
	var ids []string
	for _, d := range rep.Failures.Deliveries {
		ids = append(ids, d.ID)
	}
	var want []string
	for i := range Newest {
		want = append(want, fmt.Sprintf("f%02d", i))
	}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("failures %v, want %v", ids, want)
	}

	// Fewer than Newest in the window: those there are, none older.
	in = newInbox(t)
	for i := range 3 {
		id := fmt.Sprintf("g%d", i)
		in.add(id, "push", "octo-org/hello", time.Duration(1+100*i)*time.Hour)
		in.fail(id, "x", 1, now.Add(time.Hour))
	}
	rep = newHandler(t, Options{Inbox: in, Now: func() time.Time { return now }}).Report(context.Background())
	ids = nil
	for _, d := range rep.Failures.Deliveries {
		ids = append(ids, d.ID)
	}
	if strings.Join(ids, ",") != "g0,g1" {
		t.Errorf("failures %v, want g0,g1 (g2 is 201 hours old)", ids)
	}
}

func TestOnlyItsPaths(t *testing.T) {
	h := newHandler(t, Options{Inbox: memory.New()})
	if rec := get(t, h, "/status/other"); rec.Code != http.StatusNotFound {
		t.Errorf("/status/other: %d", rec.Code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/status", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New without an inbox: no error")
	}
}

func TestAge(t *testing.T) {
	for secs, want := range map[int64]string{0: "0s", -5: "0s", 59: "59s", 60: "1m", 125: "2m 5s", 3600: "1h", 3725: "1h 2m",
		86400: "1d", 86405: "1d", 93600: "1d 2h"} {
		if got := age(secs); got != want {
			t.Errorf("age(%d) = %q, want %q", secs, got, want)
		}
	}
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the page (go test -update rewrites it):\n%s", path, firstDifference(string(want), got))
	}
}

func firstDifference(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, w, g)
		}
	}
	return ""
}
