package acceptance

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/backstory-dev/backstory/content"
	"github.com/backstory-dev/backstory/site"
)

// TestWhyIntentsInBrowser builds a site holding merged pull requests, as the
// App hands them over (intents with a URL and the files they touched), and
// asks the why page about a folder: the governing decision comes first, then
// the pull requests that changed files inside it, most recently merged
// first, and none of their untrusted text runs as script.
func TestWhyIntentsInBrowser(t *testing.T) {
	repo := &content.Repo{Name: "acme/shop", SourceURL: "https://github.com/acme/shop/blob/main/"}
	decided := time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC)
	adr := &content.Record{
		Repo: "acme/shop", Kind: content.KindDecision, ID: "ADR-0012", Number: 12, Title: "Bill through the ledger service",
		Status: content.StatusAccepted, StatusRaw: "accepted", Date: content.Date{Time: decided},
		Path: "docs/decisions/0012-ledger.md", Body: "## Why\n\nOne source of truth.\n", Governs: []string{"services/billing/**"},
	}
	merged := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	pr := func(n, title string, at time.Time, touches ...string) *content.Record {
		return &content.Record{
			Repo: "acme/shop", Kind: content.KindIntent, ID: "PR-" + n, Title: title, Status: content.StatusAccepted,
			Date: content.Date{Time: at}, Path: ".backstory/pulls/" + n + ".md", Body: "## Why\n\n<script>window.__pwned=1</script>Because.\n",
			Deciders: []string{"alice"}, RelatesTo: []string{"acme/shop:ADR-0012"}, URL: "https://github.com/acme/shop/pull/" + n, Touches: touches,
		}
	}
	c := content.NewCorpus([]*content.Repo{repo}, []*content.Record{adr,
		pr("7", "Retry ledger writes", merged, "services/billing/ledger.go"),
		pr("12", `Batch invoices <img src=x onerror="window.__pwned=1">`, merged.Add(3*time.Hour), "services/billing/invoice/batch.go"),
		pr("20", "Unrelated docs", merged.Add(24*time.Hour), "README.md"),
	})
	out := t.TempDir()
	if _, err := site.Build(context.Background(), c, site.Options{OutputDir: out, BaseURL: "/story/", Now: merged}); err != nil {
		t.Fatal(err)
	}
	for _, b := range site.CheckLinksBase(out, "/story/") {
		t.Errorf("broken link: %v", b)
	}
	srv := httptest.NewServer(http.StripPrefix("/story", http.FileServer(http.Dir(out))))
	t.Cleanup(srv.Close)
	base := srv.URL + "/story"

	p := page{t, newBrowser(t)}
	p.do(
		chromedp.Navigate(base+"/why/?path=services/billing"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("[data-why-results] .why-intents li").length >= 2`,
			chromedp.WithPollingTimeout(10*time.Second)),
	)
	text := p.text("[data-why-results]")
	iADR, i12, i7 := strings.Index(text, "Bill through the ledger service"), strings.Index(text, "Batch invoices"), strings.Index(text, "Retry ledger writes")
	if iADR < 0 || i12 < 0 || i7 < 0 || !(iADR < i12 && i12 < i7) {
		t.Errorf("the why page does not list the decision, then PR-12, then PR-7:\n%.800s", text)
	}
	if strings.Contains(text, "Unrelated docs") {
		t.Errorf("the why page lists a pull request that touched no file in the folder:\n%.800s", text)
	}
	if !p.truth(`[...document.querySelectorAll("[data-why-results] .why-intents a")].some(a => a.href === "https://github.com/acme/shop/pull/12")`) {
		t.Error("the why page does not link to the pull request itself")
	}

	// The decision's page lists the pull requests that cited it; the
	// intent's page links to its pull request and not to a file.
	p.do(chromedp.Navigate(base + "/repos/acme-shop/0012-ledger/"))
	if text := p.text("main"); !strings.Contains(strings.ToLower(text), "pull requests that cited it") || !strings.Contains(text, "Retry ledger writes") {
		t.Errorf("the decision's page does not list the pull requests that cited it:\n%.800s", text)
	}
	p.do(chromedp.Navigate(base + "/repos/acme-shop/pr-12/"))
	if !p.truth(`[...document.querySelectorAll("main a")].some(a => a.textContent === "View the pull request" && a.href === "https://github.com/acme/shop/pull/12")`) {
		t.Error("the intent's page does not link to its pull request")
	}
	if p.truth(`window.__pwned !== undefined`) {
		t.Error("script in a pull request ran on the site")
	}
}
