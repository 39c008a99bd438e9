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
			errs = append(errs, e.ExceptionDetails.Error())
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
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

func TestSiteInBrowser(t *testing.T) {
	base, pages := browserSite(t)
	ctx := newBrowser(t)
	url := func(page string) string { return base + strings.TrimPrefix(page, "/story") }

	t.Run("home", func(t *testing.T) {
		var title string
		var landmarks int
		if err := chromedp.Run(ctx,
			chromedp.Navigate(base+"/"),
			chromedp.Title(&title),
			chromedp.Evaluate(`document.querySelectorAll("header, nav, main, footer").length`, &landmarks),
		); err != nil {
			t.Fatal(err)
		}
		if title == "" {
			t.Error("the home page has no title")
		}
		if landmarks < 4 {
			t.Errorf("the home page has %d of the landmarks header, nav, main, footer", landmarks)
		}
		var text string
		if err := chromedp.Run(ctx, chromedp.Text("main", &text, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "Persist Dex") && !strings.Contains(text, "Draw the flow again") {
			t.Errorf("the home page lists no recent decision; main reads: %.300s", text)
		}
	})

	t.Run("record page and its supersession link", func(t *testing.T) {
		old, next := pages["Do not persist Dex"], pages["Persist Dex"]
		if old == "" || next == "" {
			t.Fatalf("the search index lacks the Dex records: %v %v", old, next)
		}
		var h1, mainText string
		if err := chromedp.Run(ctx,
			chromedp.Navigate(url(old)),
			chromedp.Text("main h1", &h1, chromedp.ByQuery),
			chromedp.Text("main", &mainText, chromedp.ByQuery),
		); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(h1, "Do not persist Dex") {
			t.Errorf("record page h1 = %q", h1)
		}
		if !strings.Contains(strings.ToLower(mainText), "superseded") {
			t.Error("the superseded record does not say it is superseded")
		}
		var h1After, location string
		if err := chromedp.Run(ctx,
			chromedp.Click(`main a[href$="`+strings.TrimPrefix(next, "/story")+`"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`main h1`, chromedp.ByQuery),
			chromedp.Sleep(200*time.Millisecond),
			chromedp.Location(&location),
			chromedp.Text("main h1", &h1After, chromedp.ByQuery),
		); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(h1After, "Persist Dex") || strings.Contains(h1After, "Do not") {
			t.Errorf("following the supersession link led to %s with h1 %q", location, h1After)
		}
	})

	t.Run("timeline", func(t *testing.T) {
		var text string
		if err := chromedp.Run(ctx,
			chromedp.Navigate(base+"/timeline/"),
			chromedp.Text("main", &text, chromedp.ByQuery),
		); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"2021", "Persist Dex", "Draw the flow again", "Build the site with Hugo, embedded in the binary"} {
			if !strings.Contains(text, want) {
				t.Errorf("the timeline does not show %q", want)
			}
		}
	})

	t.Run("search", func(t *testing.T) {
		var results string
		if err := chromedp.Run(ctx,
			chromedp.Navigate(base+"/search/"),
			chromedp.WaitVisible(`main input[type="search"]`, chromedp.ByQuery),
			chromedp.SendKeys(`main input[type="search"]`, "dex", chromedp.ByQuery),
			chromedp.Poll(`[...document.querySelectorAll("main a")].some(a => a.textContent.includes("Persist Dex"))`, nil,
				chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Text("main", &results, chromedp.ByQuery),
		); err != nil {
			t.Fatalf("searching for dex: %v", err)
		}
		if !strings.Contains(results, "Do not persist Dex") {
			t.Errorf("search for dex misses 'Do not persist Dex': %.300s", results)
		}
	})

	t.Run("hostile record", func(t *testing.T) {
		page := pages["Keep placeholders visible"]
		if page == "" {
			t.Fatal("the hostile fixture is not in the search index")
		}
		var pwned bool
		var text string
		var mermaid bool
		if err := chromedp.Run(ctx,
			chromedp.Navigate(url(page)),
			chromedp.Sleep(500*time.Millisecond),
			chromedp.Evaluate(`window.__pwned !== undefined`, &pwned),
			chromedp.Text("main", &text, chromedp.ByQuery),
			chromedp.Evaluate(`!!document.querySelector("script[src*=mermaid]")`, &mermaid),
		); err != nil {
			t.Fatal(err)
		}
		if pwned {
			t.Error("script in a record ran on the site")
		}
		for _, want := range []string{"<number>", "<title>", "Kept, because details is harmless."} {
			if !strings.Contains(text, want) {
				t.Errorf("the record page does not show %q", want)
			}
		}
		if !mermaid {
			t.Error("a page with a mermaid diagram does not load the diagram script")
		}
		var plainHasMermaid bool
		if err := chromedp.Run(ctx,
			chromedp.Navigate(url(pages["Draw the flow"])),
			chromedp.Evaluate(`!!document.querySelector("script[src*=mermaid]")`, &plainHasMermaid),
		); err != nil {
			t.Fatal(err)
		}
		if plainHasMermaid {
			t.Error("a page without diagrams loads the diagram script")
		}
	})

	t.Run("phone", func(t *testing.T) {
		var overflow bool
		if err := chromedp.Run(ctx,
			chromedp.EmulateViewport(390, 844),
			chromedp.Navigate(url(pages["Do not persist Dex"])),
			chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow),
		); err != nil {
			t.Fatal(err)
		}
		if overflow {
			t.Error("a record page scrolls sideways on a phone-sized screen")
		}
	})
}
