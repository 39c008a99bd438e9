package content

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mergedPR is an intent as the App captures it from a merged pull request:
// no file behind it, a synthetic path, the pull request's URL and the files
// it changed.
func mergedPR(n int, merged time.Time, relates []string, touches ...string) *Record {
	id := "PR-" + itoa(n)
	return &Record{
		Repo: "acme/shop", Kind: KindIntent, ID: id, Title: "Change " + id, Status: StatusAccepted,
		Date: Date{merged}, Path: ".backstory/pulls/" + itoa(n) + ".md", Body: "## Why\n\nBecause.\n",
		Deciders: []string{"alice"}, RelatesTo: relates, URL: "https://github.com/acme/shop/pull/" + itoa(n),
		Touches: touches,
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// corpusWithIntents is the test repository plus three merged pull requests.
func corpusWithIntents(t *testing.T) *Corpus {
	t.Helper()
	base, _ := loadTestRepo(t)
	day := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	recs := append([]*Record(nil), base.Records...)
	recs = append(recs,
		mergedPR(7, day, []string{"acme/shop:ADR-0002"}, "services/billing/main.go", "go.mod"),
		// Merged later the same day: merge order, not the calendar date, decides.
		mergedPR(12, day.Add(5*time.Hour), []string{"acme/shop:ADR-0002", "ADR-0003"}, "services/billing/db/schema.sql"),
		mergedPR(31, day.AddDate(0, 1, 0), nil, "README.md"),
	)
	return NewCorpus(base.Repos, recs)
}

func ids(list []*Record) []string {
	var out []string
	for _, r := range list {
		out = append(out, r.ID)
	}
	return out
}

func TestIntentsCitedByAndTouching(t *testing.T) {
	c := corpusWithIntents(t)
	adr2, adr3 := c.ByKey("acme/shop:ADR-0002"), c.ByKey("acme/shop:ADR-0003")
	if adr2 == nil || adr3 == nil {
		t.Fatal("ADR-0002 or ADR-0003 missing from the test repository")
	}
	if got, want := ids(c.CitedBy(adr2)), []string{"PR-12", "PR-7"}; !reflect.DeepEqual(got, want) {
		t.Errorf("CitedBy(ADR-0002) = %v, want %v (newest first)", got, want)
	}
	if got, want := ids(c.CitedBy(adr3)), []string{"PR-12"}; !reflect.DeepEqual(got, want) {
		t.Errorf("CitedBy(ADR-0003) = %v, want %v", got, want)
	}
	if got := c.CitedBy(c.ByKey("acme/shop:PR-7")); len(got) != 0 {
		t.Errorf("CitedBy(PR-7) = %v, want nothing", ids(got))
	}

	for _, tc := range []struct {
		repo, path string
		want       []string
	}{
		{"", "services/billing/main.go", []string{"PR-7"}},
		{"acme/shop", "services/billing", []string{"PR-12", "PR-7"}},
		{"acme/shop", "./services/billing/", []string{"PR-12", "PR-7"}},
		{"", "services/billing/db", []string{"PR-12"}},
		{"", "services/bill", nil}, // a prefix of a name is not a folder
		{"", "README.md", []string{"PR-31"}},
		{"", ".", nil},
		{"acme/other", "README.md", nil},
	} {
		if got := ids(c.Touching(tc.repo, tc.path)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Touching(%q, %q) = %v, want %v", tc.repo, tc.path, got, tc.want)
		}
	}
}

func TestIntentResolveSlugAndURL(t *testing.T) {
	c := corpusWithIntents(t)
	pr := c.ByKey("acme/shop:PR-12")
	if pr == nil {
		t.Fatal("PR-12 not indexed by key")
	}
	if got := c.URL(pr); got != "/repos/acme-shop/pr-12/" {
		t.Errorf("URL(PR-12) = %q, want /repos/acme-shop/pr-12/ (from its id, not its synthetic path)", got)
	}
	for _, ref := range []string{
		"PR-12", "acme/shop:PR-12", "https://github.com/acme/shop/pull/12", "https://github.com/acme/shop/pull/12/",
		"https://github.com/acme/shop/pull/12#issuecomment-1", "/repos/acme-shop/pr-12/",
	} {
		if got := c.Resolve(ref, nil); got != pr {
			t.Errorf("Resolve(%q) = %v, want PR-12", ref, got)
		}
	}
	if got := c.Resolve("https://github.com/acme/shop/pull/99", nil); got != nil {
		t.Errorf("Resolve of an unknown pull request = %s, want nil", got.Key())
	}
	// The intent's own references resolve from it, across its synthetic folder.
	if got := ids(c.RelatesTo(pr)); !reflect.DeepEqual(got, []string{"ADR-0002", "ADR-0003"}) {
		t.Errorf("RelatesTo(PR-12) = %v", got)
	}
}

func TestIntentLintAndExport(t *testing.T) {
	c := corpusWithIntents(t)
	for _, p := range c.Lint(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)) {
		if strings.HasPrefix(p.File, ".backstory/") {
			t.Errorf("lint reports a problem on a captured pull request: %v", p)
		}
	}
	pr := c.ByKey("acme/shop:PR-7")
	data, err := json.Marshal(pr.Export(c))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"url":"https://github.com/acme/shop/pull/7"`, `"touches":["services/billing/main.go","go.mod"]`, `"kind":"intent"`, `"relates_to":["docs/decisions/0002-use-postgres.md"]`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("export of PR-7 lacks %s:\n%s", want, data)
		}
	}
	// Records read from files keep their export shape: no url, no touches.
	data, _ = json.Marshal(c.ByKey("acme/shop:ADR-0002").Export(c))
	if strings.Contains(string(data), `"url"`) || strings.Contains(string(data), `"touches"`) {
		t.Errorf("export of a file record has url or touches:\n%s", data)
	}
}

func TestIntentLintReportsUnresolvedCitation(t *testing.T) {
	base, _ := loadTestRepo(t)
	bad := mergedPR(40, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), []string{"acme/shop:ADR-0999"})
	c := NewCorpus(base.Repos, append(append([]*Record(nil), base.Records...), bad))
	var found bool
	for _, p := range c.Lint(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)) {
		if p.File == bad.Path && p.Code == "missing-reference" {
			found = true
		}
	}
	if !found {
		t.Error("a pull request citing a record that does not exist is not reported")
	}
}
