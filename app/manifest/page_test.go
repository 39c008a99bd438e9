package manifest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/backstory-dev/backstory/app/check"
)

// The last page says what to do next, in order, and what the check asks
// before anyone configures it: the defaults it states are the check's.
func TestTheDonePageSaysWhatComesNext(t *testing.T) {
	f := goldenFlow(t, "acme", Webhook{URL: "https://backstory.example.com/webhooks/github"})
	f.result = &Result{App: testApp(), Files: f.opts.Files}
	page := get(t, f, "/").Body.String()

	start, install := strings.Index(page, "<pre>backstory serve --config"), strings.Index(page, ">Install backstory-acme</a>")
	if start < 0 || install < 0 || start > install {
		t.Errorf("the page should say to start backstory serve before installing the App:\n%s", page)
	}
	def := check.DefaultConfig()
	if def.Mode != check.ModeAdvise || def.Default != check.NeedIntent || !def.Skip.Bots || !def.Skip.Drafts {
		t.Fatalf("the check's defaults changed (%+v): update page.html's \"What the check asks out of the box\", then this test", def)
	}
	says := []string{
		"<strong>Advise mode</strong>", "It never blocks a merge.",
		fmt.Sprintf("of at least %d words", def.Intent.MinWords),
		"Drafts and pull requests by bots are skipped",
		"<code>.github/backstory.yml</code>", "the organisation's <code>.github</code> repository",
		"<code>mode: enforce</code>", "branch-protection rule", "requires the <code>" + def.Name + "</code> status check",
	}
	for _, h := range def.Intent.Headings {
		says = append(says, "<em>"+h+"</em>")
	}
	for _, l := range def.Skip.Labels {
		says = append(says, "<code>"+l+"</code>")
	}
	for _, s := range says {
		if !strings.Contains(page, s) {
			t.Errorf("the page does not say %q", s)
		}
	}
}
