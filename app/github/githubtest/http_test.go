package githubtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestConditionalRequests(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	s.Commit("acme/widgets", "feature", map[string][]byte{"a.txt": []byte("a\n")})
	n := s.AddPullRequest("acme/widgets", PullRequest{HeadRef: "feature", Title: "First"})
	path := fmt.Sprintf("repos/acme/widgets/pulls/%d", n)

	first := c.get(path)
	want(t, first, http.StatusOK)
	etag := first.Header.Get("ETag")
	if !strings.HasPrefix(etag, `W/"`) || !strings.HasSuffix(etag, `"`) {
		t.Fatalf("ETag %q: want a weak ETag", etag)
	}
	if first.Header.Get("Last-Modified") == "" {
		t.Error("no Last-Modified on a pull request")
	}
	remaining := first.Header.Get("X-RateLimit-Remaining")

	again := c.get(path, "If-None-Match", etag)
	want(t, again, http.StatusNotModified)
	if len(again.body) != 0 {
		t.Errorf("a 304 with a body of %d bytes", len(again.body))
	}
	if got := again.Header.Get("X-RateLimit-Remaining"); got != remaining {
		t.Errorf("a 304 counted against the rate limit: remaining %s, was %s", got, remaining)
	}
	if again.Header.Get("ETag") != etag {
		t.Errorf("304 ETag %q", again.Header.Get("ETag"))
	}
	// The same ETag sent strong, or in a list, still matches.
	want(t, c.get(path, "If-None-Match", `"nope", `+strings.TrimPrefix(etag, "W/")), http.StatusNotModified)
	want(t, c.get(path, "If-Modified-Since", first.Header.Get("Last-Modified")), http.StatusNotModified)

	// A change makes a new ETag and a 200.
	s.Advance(time.Second)
	s.UpdatePullRequest("acme/widgets", n, func(pr *PullRequest) { pr.Title = "Second" })
	changed := c.get(path, "If-None-Match", etag)
	want(t, changed, http.StatusOK)
	if changed.Header.Get("ETag") == etag {
		t.Error("the ETag did not change with the pull request")
	}
	if got := changed.Header.Get("X-RateLimit-Remaining"); got == remaining {
		t.Error("a 200 did not count against the rate limit")
	}
	want(t, c.get(path, "If-Modified-Since", first.Header.Get("Last-Modified")), http.StatusOK)

	calls := s.Calls()
	var conditional, notModified int
	for _, call := range calls {
		if call.Conditional {
			conditional++
		}
		if call.NotModified {
			notModified++
		}
	}
	if conditional != 5 || notModified != 3 {
		t.Errorf("calls: %d conditional, %d not modified; want 5 and 3", conditional, notModified)
	}
}

func TestRateLimit(t *testing.T) {
	start := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	s := fixture(t, WithRateLimit(3), WithNow(func() time.Time { return start }))
	c := s.asInstallation(t, 42)
	for i := 1; i <= 3; i++ {
		r := c.get("repos/acme/widgets")
		want(t, r, http.StatusOK)
		h := r.Header
		if h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Used") != strconv.Itoa(i) ||
			h.Get("X-RateLimit-Remaining") != strconv.Itoa(3-i) || h.Get("X-RateLimit-Resource") != "core" {
			t.Errorf("call %d: headers %v", i, h)
		}
		if h.Get("X-RateLimit-Reset") != strconv.FormatInt(start.Add(time.Hour).Unix(), 10) {
			t.Errorf("reset %s", h.Get("X-RateLimit-Reset"))
		}
	}
	r := c.get("repos/acme/widgets")
	want(t, r, http.StatusForbidden)
	if r.Header.Get("X-RateLimit-Remaining") != "0" || !strings.HasPrefix(r.message(t), "API rate limit exceeded for installation ID 42.") {
		t.Errorf("exhausted: remaining %q, message %q", r.Header.Get("X-RateLimit-Remaining"), r.message(t))
	}
	// The App's JWT has its own limit.
	want(t, s.asApp(t).get("app"), http.StatusOK)
	// Another installation too.
	s.AddInstallation(43, "other")
	want(t, s.asInstallation(t, 43).get("installation/repositories"), http.StatusOK)

	s.Advance(time.Hour)
	want(t, c.get("repos/acme/widgets"), http.StatusUnauthorized) // the token's hour is over too
	c = s.asInstallation(t, 42)
	want(t, c.get("repos/acme/widgets"), http.StatusOK)
	// Errors carry the headers too.
	nf := c.get("repos/acme/nothing")
	want(t, nf, http.StatusNotFound)
	if nf.Header.Get("X-RateLimit-Limit") == "" {
		t.Error("a 404 without rate-limit headers")
	}
	un := (&apiClient{t: t, s: s, auth: "token bad"}).get("repos/acme/widgets")
	if un.Header.Get("X-RateLimit-Limit") == "" || un.Header.Get("X-GitHub-Request-Id") == "" {
		t.Errorf("a 401 without GitHub's headers: %v", un.Header)
	}
}

// linkNext returns the rel="next" URL of a Link header, "" if none.
func linkNext(t testing.TB, h http.Header) string {
	for _, part := range strings.Split(h.Get("Link"), ",") {
		segs := strings.Split(strings.TrimSpace(part), ";")
		if len(segs) == 2 && strings.TrimSpace(segs[1]) == `rel="next"` {
			return strings.Trim(segs[0], "<>")
		}
	}
	return ""
}

func TestPullRequestFilesPagination(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	files := make([]PRFile, 3500)
	for i := range files {
		files[i] = PRFile{Filename: fmt.Sprintf("f/%04d.txt", i), Status: "added", Additions: 1, Patch: "@@ -0,0 +1 @@\n+x"}
	}
	n := s.AddPullRequest("acme/widgets", PullRequest{HeadSHA: s.Branch("acme/widgets", "main"), Files: files[:250]})

	var got []string
	next := s.URL() + fmt.Sprintf("repos/acme/widgets/pulls/%d/files?per_page=100", n)
	pages := 0
	for next != "" {
		u, _ := url.Parse(next)
		r := c.get(strings.TrimPrefix(u.RequestURI(), "/"))
		want(t, r, http.StatusOK)
		for _, f := range r.array(t) {
			got = append(got, fieldString(t, f, "filename"))
		}
		if pages == 0 && !strings.Contains(r.Header.Get("Link"), `page=3&per_page=100>; rel="last"`) {
			t.Errorf("first page Link %q", r.Header.Get("Link"))
		}
		next = linkNext(t, r.Header)
		pages++
	}
	if pages != 3 || len(got) != 250 || got[0] != "f/0000.txt" || got[249] != "f/0249.txt" {
		t.Errorf("%d pages, %d files", pages, len(got))
	}

	// per_page above 100 is clamped, not refused.
	r := c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d/files?per_page=500", n))
	want(t, r, http.StatusOK)
	if len(r.array(t)) != 100 {
		t.Errorf("per_page=500 gave %d", len(r.array(t)))
	}
	// Past the end: an empty page.
	r = c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d/files?page=99", n))
	want(t, r, http.StatusOK)
	if len(r.array(t)) != 0 {
		t.Errorf("page 99 has %d files", len(r.array(t)))
	}
	// A malformed page is refused.
	s.ExpectViolation(`For 'page', "two" is not an integer.`)
	want(t, c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d/files?page=two", n)), http.StatusUnprocessableEntity)

	// GitHub lists at most 3,000 files.
	big := s.AddPullRequest("acme/widgets", PullRequest{HeadSHA: s.Branch("acme/widgets", "main"), Files: files})
	r = c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d/files?per_page=100&page=30", big))
	want(t, r, http.StatusOK)
	if len(r.array(t)) != 100 || linkNext(t, r.Header) != "" {
		t.Errorf("page 30 of a 3,500-file PR: %d files, next %q", len(r.array(t)), linkNext(t, r.Header))
	}
	r = c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d/files?per_page=100&page=31", big))
	if len(r.array(t)) != 0 {
		t.Errorf("page 31: %d files, want none past 3,000", len(r.array(t)))
	}
	full := c.get(fmt.Sprintf("repos/acme/widgets/pulls/%d", big))
	if fieldInt(t, full.object(t), "changed_files") != 3500 {
		t.Errorf("changed_files %d", fieldInt(t, full.object(t), "changed_files"))
	}
}

func TestHookDeliveriesCursor(t *testing.T) {
	s := fixture(t)
	base := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := range 5 {
		s.AddHookDelivery(HookDelivery{ID: int64(100 + i), GUID: fmt.Sprintf("guid-%d", i), Event: "pull_request", Action: "opened",
			StatusCode: 200 + 300*(i%2), DeliveredAt: base.Add(time.Duration(i) * time.Minute), InstallationID: 42})
	}
	app := s.asApp(t)
	var ids []int64
	next := s.URL() + "app/hook/deliveries?per_page=2"
	pages := 0
	for next != "" {
		u, _ := url.Parse(next)
		if pages > 0 && !strings.HasPrefix(u.Query().Get("cursor"), "v1_") {
			t.Errorf("next link %q has no cursor", next)
		}
		r := app.get(strings.TrimPrefix(u.RequestURI(), "/"))
		want(t, r, http.StatusOK)
		for _, d := range r.array(t) {
			ids = append(ids, fieldInt(t, d, "id"))
		}
		next = linkNext(t, r.Header)
		pages++
	}
	if fmt.Sprint(ids) != "[104 103 102 101 100]" || pages != 3 {
		t.Errorf("deliveries %v in %d pages, want newest first in 3", ids, pages)
	}
	r := app.get("app/hook/deliveries?per_page=1")
	d := r.array(t)[0]
	if fieldString(t, d, "status") != "OK" || fieldInt(t, d, "status_code") != 200 || fieldString(t, d, "guid") != "guid-4" {
		t.Errorf("delivery %s", show(d))
	}
	r = app.get("app/hook/deliveries?per_page=1&cursor=v1_103")
	if fieldString(t, r.array(t)[0], "status") != "Invalid HTTP Response: 500" {
		t.Errorf("a failed delivery: %s", show(r.array(t)[0]))
	}
	s.ExpectViolation(`cursor "bogus" names no delivery`)
	want(t, app.get("app/hook/deliveries?cursor=bogus"), http.StatusUnprocessableEntity)
}

func TestFaults(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	head := s.Branch("acme/widgets", "main")
	body := map[string]any{"name": "backstory", "head_sha": head}

	s.FailNext("checks/create", 2, ServerError(502))
	for range 2 {
		r := c.do("POST", "repos/acme/widgets/check-runs", body)
		want(t, r, http.StatusBadGateway)
		if !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("502 Content-Type %q", r.Header.Get("Content-Type"))
		}
	}
	want(t, c.get("repos/acme/widgets"), http.StatusOK) // other operations are not affected
	want(t, c.do("POST", "repos/acme/widgets/check-runs", body), http.StatusCreated)
	if n := len(s.CheckRuns("acme/widgets")); n != 1 {
		t.Errorf("%d check runs after two faults and a success", n)
	}

	s.FailNext("", 1, ServerError(500))
	r := c.get("repos/acme/widgets")
	want(t, r, http.StatusInternalServerError)
	if r.message(t) != "Server Error" {
		t.Errorf("500 message %q", r.message(t))
	}

	reset := time.Now().Add(17 * time.Minute).Truncate(time.Second)
	s.FailNext("pulls/get", 1, RateLimited(reset))
	s.AddPullRequest("acme/widgets", PullRequest{HeadSHA: head})
	r = c.get("repos/acme/widgets/pulls/1")
	want(t, r, http.StatusForbidden)
	if r.Header.Get("X-RateLimit-Remaining") != "0" || r.Header.Get("X-RateLimit-Reset") != strconv.FormatInt(reset.Unix(), 10) {
		t.Errorf("primary rate limit headers %v", r.Header)
	}
	if !strings.HasPrefix(r.message(t), "API rate limit exceeded for installation ID 42.") {
		t.Errorf("primary rate limit message %q", r.message(t))
	}

	s.FailNext("pulls/get", 1, SecondaryRateLimited(90*time.Second))
	r = c.get("repos/acme/widgets/pulls/1")
	want(t, r, http.StatusForbidden)
	if r.Header.Get("Retry-After") != "90" || r.Header.Get("X-RateLimit-Remaining") == "0" {
		t.Errorf("secondary rate limit headers %v", r.Header)
	}
	if !strings.HasPrefix(r.message(t), "You have exceeded a secondary rate limit") ||
		!strings.HasSuffix(fieldString(t, r.object(t), "documentation_url"), "secondary-rate-limits") {
		t.Errorf("secondary rate limit body %s", r.body)
	}
	f := SecondaryRateLimited(time.Minute)
	f.Status = http.StatusTooManyRequests
	s.FailNext("pulls/get", 1, f)
	want(t, c.get("repos/acme/widgets/pulls/1"), http.StatusTooManyRequests)
	want(t, c.get("repos/acme/widgets/pulls/1"), http.StatusOK)

	var statuses []int
	for _, call := range s.Calls() {
		if call.Operation == "checks/create" {
			statuses = append(statuses, call.Status)
		}
	}
	if fmt.Sprint(statuses) != "[502 502 201]" {
		t.Errorf("checks/create calls %v", statuses)
	}
	if s.CountCalls("pulls/get") != 4 || s.CountCalls("") != len(s.Calls()) {
		t.Errorf("CountCalls pulls/get %d, all %d of %d", s.CountCalls("pulls/get"), s.CountCalls(""), len(s.Calls()))
	}
	s.ResetCalls()
	if len(s.Calls()) != 0 {
		t.Error("ResetCalls kept calls")
	}
}

// TestViolationsFailTheTest checks what New reports when the test ends.
func TestViolationsFailTheTest(t *testing.T) {
	run := func(f func(s *Server)) []string {
		tb := &recordingTB{real: t}
		s := New(tb)
		s.AddRepo("acme/widgets", RepoOptions{})
		s.AddInstallation(42, "acme", "acme/widgets")
		s.Commit("acme/widgets", "main", map[string][]byte{"a": []byte("a")})
		f(s)
		return tb.finish()
	}
	bad := func(s *Server) {
		s.asInstallation(t, 42).do("POST", "repos/acme/widgets/check-runs", map[string]any{"name": "x"})
	}
	if errs := run(bad); len(errs) != 1 || !strings.Contains(errs[0], `"head_sha" wasn't supplied.`) || !strings.Contains(errs[0], "checks/create") {
		t.Errorf("an undeclared violation reported %q", errs)
	}
	if errs := run(func(s *Server) { s.ExpectViolation("head_sha"); bad(s) }); len(errs) != 0 {
		t.Errorf("a declared violation reported %q", errs)
	}
	if errs := run(func(s *Server) { s.ExpectViolation("head_sha") }); len(errs) != 1 || !strings.Contains(errs[0], "no violation matched") {
		t.Errorf("a declared violation that never happened reported %q", errs)
	}
	if errs := run(func(s *Server) { s.anonymous(t).get("repos/acme/widgets/no-such-thing") }); len(errs) != 1 || !strings.Contains(errs[0], "no operation of GitHub's API has this path") {
		t.Errorf("an unknown path reported %q", errs)
	}
	if errs := run(func(s *Server) { s.asInstallation(t, 42).get("repos/acme/widgets/branches") }); len(errs) != 1 || !strings.Contains(errs[0], "githubtest does not implement repos/list-branches") {
		t.Errorf("an unimplemented operation reported %q", errs)
	}
	if errs := run(func(s *Server) { s.FailNext("checks/make", 1, ServerError(500)) }); len(errs) != 1 || !strings.Contains(errs[0], `FailNext("checks/make")`) {
		t.Errorf("a fault for an unknown operation reported %q", errs)
	}

	// AllowViolations leaves them to the test.
	tb := &recordingTB{real: t}
	s := New(tb, AllowViolations())
	r := s.anonymous(t).get("nope")
	want(t, r, http.StatusNotFound)
	if r.message(t) != "Not Found" || fieldString(t, r.object(t), "documentation_url") == "" {
		t.Errorf("unknown path body %s", r.body)
	}
	if len(s.Violations()) != 1 {
		t.Errorf("violations %v", s.Violations())
	}
	if errs := tb.finish(); len(errs) != 0 {
		t.Errorf("AllowViolations reported %q", errs)
	}
}

func TestWrongMethodAndPathParameter(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	s.ExpectViolation("GitHub's API has this path but no PUT operation on it")
	want(t, c.do("PUT", "repos/acme/widgets/check-runs", map[string]any{}), http.StatusNotFound)
	s.ExpectViolation(`path parameter pull_number: "abc" is not an integer.`)
	want(t, c.get("repos/acme/widgets/pulls/abc"), http.StatusNotFound)
	s.ExpectViolation(`For 'state', "merged" is not a member of ["open", "closed", "all"].`)
	r := c.get("repos/acme/widgets/pulls?state=merged")
	want(t, r, http.StatusUnprocessableEntity)
	if !strings.HasPrefix(r.message(t), "Invalid request.\n\n") {
		t.Errorf("message %q", r.message(t))
	}
}

func TestEnterprisePrefix(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	r := c.get("api/v3/repos/acme/widgets")
	want(t, r, http.StatusOK)
	if u := fieldString(t, r.object(t), "url"); !strings.HasSuffix(u, "/api/v3/repos/acme/widgets") {
		t.Errorf("url %q does not keep the /api/v3 base the client used", u)
	}
}

// BenchmarkRequests measures a validated round trip: a check-run update
// with 50 annotations (the largest body the App sends) and a pull request
// read (the largest response it reads).
func BenchmarkRequests(b *testing.B) {
	s := fixture(b, WithLogf(func(string, ...any) {}), WithRateLimit(1<<30))
	c := s.asInstallation(b, 42)
	head := s.Branch("acme/widgets", "main")
	r := c.do("POST", "repos/acme/widgets/check-runs", map[string]any{"name": "backstory", "head_sha": head})
	id := fieldInt(b, r.object(b), "id")
	s.AddPullRequest("acme/widgets", PullRequest{HeadSHA: head})
	update := map[string]any{"output": map[string]any{"title": "t", "summary": strings.Repeat("s", 4000), "annotations": annotations(50)}}
	b.Run("update-check-run-50-annotations", func(b *testing.B) {
		for b.Loop() {
			want(b, c.do("PATCH", fmt.Sprintf("repos/acme/widgets/check-runs/%d", id), update), http.StatusOK)
		}
	})
	b.Run("get-pull-request", func(b *testing.B) {
		for b.Loop() {
			want(b, c.get("repos/acme/widgets/pulls/1"), http.StatusOK)
		}
	})
}

func TestHead(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	get := c.get("repos/acme/widgets")
	head := c.do("HEAD", "repos/acme/widgets", nil)
	want(t, head, http.StatusOK)
	if len(head.body) != 0 || head.Header.Get("ETag") != get.Header.Get("ETag") {
		t.Errorf("HEAD: %d bytes, ETag %q (GET's %q)", len(head.body), head.Header.Get("ETag"), get.Header.Get("ETag"))
	}
	if s.Calls()[1].Operation != "repos/get" {
		t.Errorf("HEAD answered as %q", s.Calls()[1].Operation)
	}
}

// TestConcurrentUse drives the fake from several goroutines while the test
// changes its state; run with -race.
func TestConcurrentUse(t *testing.T) {
	s := fixture(t)
	head := s.Branch("acme/widgets", "main")
	s.AddPullRequest("acme/widgets", PullRequest{HeadSHA: head})
	token := s.InstallationToken(42)
	const workers, each = 6, 10
	errs := make(chan error, workers*each)
	done := make(chan struct{})
	// The workers use net/http directly: t.Fatal may not be called from
	// their goroutines.
	send := func(method, path, body string) error {
		req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "token "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("%s %s: %d", method, path, resp.StatusCode)
		}
		return nil
	}
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				var err error
				if i%2 == 0 {
					err = send("POST", "repos/acme/widgets/check-runs", fmt.Sprintf(`{"name":"w%d","head_sha":%q}`, w, head))
				} else {
					err = send("GET", "repos/acme/widgets/pulls/1", "")
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
				}
			}
		}()
	}
	for i := range each {
		s.Commit("acme/widgets", "busy", map[string][]byte{"n.txt": []byte(strconv.Itoa(i))})
		s.UpdatePullRequest("acme/widgets", 1, func(pr *PullRequest) { pr.Title = strconv.Itoa(i) })
	}
	for range workers {
		<-done
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(s.CheckRuns("acme/widgets")); n != workers*each/2 {
		t.Errorf("%d check runs, want %d", n, workers*each/2)
	}
}
