package acceptance

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/backstory-dev/backstory/site"
)

// browserSite builds one site from backstory's own docs, one real collection
// with supersession chains, and a fixture of hostile records, and serves it
// under a sub-path, as GitHub Pages serves a project site.
func browserSite(t *testing.T) (base string, pages map[string]string) {
	t.Helper()
	out := t.TempDir()
	elastisys, err := filepath.Abs(filepath.Join(shared, "corpus", "adrs", "elastisys__compliantkubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	res := backstory(t, "", "build", "-o", out, "--base-url", "/story/",
		"backstory-dev/backstory=..", "elastisys/compliantkubernetes="+elastisys, "acme/hostile=testdata/hostile")
	if res.code != 0 {
		t.Fatalf("build exited %d: %s", res.code, res.stderr)
	}
	for _, b := range site.CheckLinksBase(out, "/story/") {
		t.Errorf("broken link: %v", b)
	}
	data, err := os.ReadFile(filepath.Join(out, "search.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index []struct {
		URL   string `json:"u"`
		Title string `json:"t"`
	}
	if err := json.Unmarshal(data, &index); err != nil {
		t.Fatal(err)
	}
	pages = map[string]string{}
	for _, e := range index {
		pages[e.Title] = e.URL
	}
	srv := httptest.NewServer(http.StripPrefix("/story", http.FileServer(http.Dir(out))))
	t.Cleanup(srv.Close)
	return srv.URL + "/story", pages
}

// newBrowser starts headless chromium and fails the test on any uncaught
// script error on any page.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (apt-get install chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel3)
	var mu sync.Mutex
	var errs []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			msg := e.ExceptionDetails.Text
			if ex := e.ExceptionDetails.Exception; ex != nil && ex.Description != "" {
				msg += " " + ex.Description
			}
			errs = append(errs, msg)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range errs {
			t.Errorf("script error in the page: %s", e)
		}
	})
	return ctx
}

// page wraps one browser tab with the few actions the tests need, failing
// the test on any error.
type page struct {
	t   *testing.T
	ctx context.Context
}

// do runs steps in order.
func (p page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

// waitFor waits until the tab has navigated to path and shows its heading.
// The page's scripts are being replaced meanwhile, so errors are retried.
func (p page) waitFor(path string) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		loc, err := chromedp.Run(p.ctx, chromedp.Location())
		if err == nil && strings.HasSuffix(strings.SplitN(loc, "?", 2)[0], path) {
			break
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the browser did not reach %s (at %s, %v)", path, loc, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.do(chromedp.WaitVisible(chromedp.CSS("main h1")))
}

func (p page) text(sel string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("reading %s: %v", sel, err)
	}
	return v
}

func (p page) truth(js string) bool {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

func TestSiteInBrowser(t *testing.T) {
	base, pages := browserSite(t)
	ctx := newBrowser(t)
	url := func(p string) string { return base + strings.TrimPrefix(p, "/story") }

	t.Run("home", func(t *testing.T) {
		p := page{t, ctx}
		p.do(chromedp.Navigate(base + "/"))
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil || title == "" {
			t.Errorf("the home page has no title (%v)", err)
		}
		if !p.truth(`["header", "nav", "main", "footer"].every(s => document.querySelector(s))`) {
			t.Error("the home page lacks one of the landmarks header, nav, main, footer")
		}
		if !p.truth(`document.querySelectorAll('main a[href*="/repos/"]').length >= 5`) {
			t.Errorf("the home page links to fewer than five records; main reads: %.300s", p.text("main"))
		}
	})

	t.Run("record page and its supersession link", func(t *testing.T) {
		p := page{t, ctx}
		old, next := pages["Do not persist Dex"], pages["Persist Dex"]
		if old == "" || next == "" {
			t.Fatalf("the search index lacks the Dex records: %q %q", old, next)
		}
		p.do(chromedp.Navigate(url(old)), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if h1 := p.text("main h1"); !strings.Contains(h1, "Do not persist Dex") {
			t.Errorf("record page h1 = %q", h1)
		}
		if !strings.Contains(strings.ToLower(p.text("main")), "superseded") {
			t.Error("the superseded record does not say it is superseded")
		}
		p.do(chromedp.Click(chromedp.CSS(`main a[href$="` + strings.TrimPrefix(next, "/story") + `"]`)))
		p.waitFor(next)
		if h1 := p.text("main h1"); !strings.Contains(h1, "Persist Dex") || strings.Contains(h1, "Do not") {
			t.Errorf("following the supersession link led to h1 %q", h1)
		}
	})

	t.Run("timeline", func(t *testing.T) {
		p := page{t, ctx}
		p.do(chromedp.Navigate(base + "/timeline/"))
		text := p.text("main")
		for _, want := range []string{"2021", "Persist Dex", "Draw the flow again", "Build the site with Hugo, embedded in the binary"} {
			if !strings.Contains(text, want) {
				t.Errorf("the timeline does not show %q", want)
			}
		}
	})

	t.Run("search", func(t *testing.T) {
		p := page{t, ctx}
		p.do(
			chromedp.Navigate(base+"/search/"),
			chromedp.WaitVisible(chromedp.CSS(`main input[type="search"]`)),
			chromedp.SendKeys(chromedp.CSS(`main input[type="search"]`), "dex"),
			chromedp.Poll[chromedp.Void](`[...document.querySelectorAll("main a")].some(a => a.textContent.includes("Persist Dex"))`,
				chromedp.WithPollingTimeout(10*time.Second)),
		)
		if results := p.text("main"); !strings.Contains(results, "Do not persist Dex") {
			t.Errorf("search for dex misses 'Do not persist Dex': %.300s", results)
		}
	})

	t.Run("why is this code like this", func(t *testing.T) {
		p := page{t, ctx}
		p.do(
			chromedp.Navigate(base+"/why/?path=site/site.go"),
			chromedp.Poll[chromedp.Void](`[...document.querySelectorAll("[data-why-results] a")].some(a => a.textContent.includes("Build the site with Hugo"))`,
				chromedp.WithPollingTimeout(10*time.Second)),
		)
		if text := p.text("[data-why-results]"); strings.Contains(text, "Record backstory's own decisions") {
			t.Errorf("the why page lists a decision that governs docs/** only:\n%.500s", text)
		}
	})

	t.Run("hostile record", func(t *testing.T) {
		p := page{t, ctx}
		hostile := pages["Keep placeholders visible"]
		if hostile == "" {
			t.Fatal("the hostile fixture is not in the search index")
		}
		p.do(chromedp.Navigate(url(hostile)), chromedp.Sleep(500*time.Millisecond))
		if p.truth(`window.__pwned !== undefined`) {
			t.Error("script in a record ran on the site")
		}
		text, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector("main").textContent`))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"<number>", "<title>", "Kept, because details is harmless."} {
			if !strings.Contains(text, want) {
				t.Errorf("the record page does not show %q", want)
			}
		}
		if !p.truth(`!!document.querySelector("script[src*=mermaid]")`) {
			t.Error("a page with a mermaid diagram does not load the diagram script")
		}
		p.do(chromedp.Navigate(url(pages["Draw the flow"])))
		if p.truth(`!!document.querySelector("script[src*=mermaid]")`) {
			t.Error("a page without diagrams loads the diagram script")
		}
	})

	t.Run("phone", func(t *testing.T) {
		p := page{t, ctx}
		p.do(chromedp.EmulateViewport(390, 844), chromedp.Navigate(url(pages["Do not persist Dex"])))
		if p.truth(`document.documentElement.scrollWidth > window.innerWidth + 1`) {
			t.Error("a record page scrolls sideways on a phone-sized screen")
		}
	})
}
