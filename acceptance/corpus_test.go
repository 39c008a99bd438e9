package acceptance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstory-dev/backstory/site"
)

// exported is one record of `backstory export --format json`.
type exported struct {
	Repo         string   `json:"repo"`
	Path         string   `json:"path"`
	ID           string   `json:"id"`
	Kind         string   `json:"kind"`
	Title        string   `json:"title"`
	Status       string   `json:"status"`
	StatusRaw    string   `json:"status_raw"`
	Date         string   `json:"date"`
	Number       int      `json:"number"`
	Supersedes   []string `json:"supersedes"`
	SupersededBy []string `json:"superseded_by"`
	Sections     []string `json:"sections"`
}

// wantCounts is each collection's number of records, from SOURCES.tsv's
// adr_count (templates, indexes and fixtures are not records).
var wantCounts = map[string]int{
	"alphagov/govuk-aws":                 38,
	"GSA-TTS/FAC":                        46,
	"arachne-framework/architecture":     17,
	"theupdateframework/python-tuf":      10,
	"elastisys/compliantkubernetes":      57,
	"thomvaill/log4brains":               9,
	"adr/madr":                           19,
	"JabRef/jabref":                      70,
	"DFE-Digital/find-a-tuition-partner": 10,
	"SocialGouv/pass-emploi-api":         4,
}

func TestSharedCorpusExport(t *testing.T) {
	res := backstory(t, "", append([]string{"export", "--format", "json"}, corpusArgs(t)...)...)
	if res.code != 0 {
		t.Fatalf("export exited %d: %s", res.code, res.stderr)
	}
	var records []exported
	if err := json.Unmarshal([]byte(res.stdout), &records); err != nil {
		t.Fatalf("export printed invalid JSON: %v", err)
	}
	counts := map[string]int{}
	byPath := map[string]exported{}
	for _, r := range records {
		counts[r.Repo]++
		byPath[r.Repo+"/"+r.Path] = r
		if strings.TrimSpace(r.Title) == "" {
			t.Errorf("%s/%s has no title", r.Repo, r.Path)
		}
	}
	for repo, want := range wantCounts {
		if counts[repo] != want {
			t.Errorf("%s: %d records, want %d", repo, counts[repo], want)
		}
	}

	checks := []struct {
		path, title, status, date string
		supersededBy              string
	}{
		{path: "alphagov/govuk-aws/0015-dns-infrastructure.md", title: "DNS infrastructure", status: "accepted", date: "2018-03-06"},
		{path: "alphagov/govuk-aws/0004-dns-definitions-for-hosts-and-services.md", status: "superseded", supersededBy: "0015-dns-infrastructure.md"},
		{path: "elastisys/compliantkubernetes/0016-gid-0-is-okey-but-not-by-default.md", title: "gid=0 is okay, but not by default", status: "superseded", date: "2021-08-23", supersededBy: "0040-allow-group-id-0.md"},
		{path: "elastisys/compliantkubernetes/0012-do-not-persist-dex.md", title: "Do not persist Dex", status: "superseded", date: "2021-04-29", supersededBy: "0017-persist-dex.md"},
		{path: "thomvaill/log4brains/20200926-use-the-adr-number-as-its-unique-id.md", status: "superseded", date: "2020-09-26", supersededBy: "20201016-use-the-adr-slug-as-its-unique-id.md"},
		{path: "thomvaill/log4brains/20201103-use-lunr-for-search.md", date: "2020-11-03"},
		{path: "JabRef/jabref/0045-use-input-flag-always-for-input-files.md", status: "superseded", supersededBy: "0057-allow-positional-input-file-argument.md"},
		{path: "SocialGouv/pass-emploi-api/ADR-004-pipeline-analytics.md", title: "Pipeline Analytics", status: "draft"},
		{path: "theupdateframework/python-tuf/0001-python-version-3-6-plus.md", title: "Default to Python 3.6 or newer for new development", status: "accepted", date: "2020-10-20"},
		{path: "DFE-Digital/find-a-tuition-partner/0001-use-gpaas-hosting-environment.md", title: "Service Hosting Environment", status: "proposed", date: "2022-05-27"},
		{path: "adr/madr/0013-use-yaml-front-matter-for-meta-data.md", title: "Use YAML front matter for metadata", status: "unknown"},
	}
	for _, c := range checks {
		r, ok := byPath[c.path]
		if !ok {
			t.Errorf("%s: not exported", c.path)
			continue
		}
		if c.title != "" && r.Title != c.title {
			t.Errorf("%s: title %q, want %q", c.path, r.Title, c.title)
		}
		if c.status != "" && r.Status != c.status {
			t.Errorf("%s: status %q (raw %q), want %q", c.path, r.Status, r.StatusRaw, c.status)
		}
		if c.date != "" && r.Date != c.date {
			t.Errorf("%s: date %q, want %q", c.path, r.Date, c.date)
		}
		if c.supersededBy != "" && !contains(r.SupersededBy, c.supersededBy) {
			t.Errorf("%s: superseded_by %v, want it to hold %s", c.path, r.SupersededBy, c.supersededBy)
		}
	}
	// Supersession is derived from either side: the successor says so too.
	if r := byPath["elastisys/compliantkubernetes/0040-allow-group-id-0.md"]; !contains(r.Supersedes, "0016-gid-0-is-okey-but-not-by-default.md") {
		t.Errorf("elastisys 0040 supersedes %v, want it to hold 0016", r.Supersedes)
	}
}

func TestSharedCorpusSite(t *testing.T) {
	out := t.TempDir()
	res := backstory(t, "", append([]string{"build", "-o", out}, corpusArgs(t)...)...)
	if res.code != 0 {
		t.Fatalf("build exited %d: %s", res.code, res.stderr)
	}
	var index []struct {
		URL   string `json:"u"`
		Title string `json:"t"`
		Repo  string `json:"r"`
	}
	data, err := os.ReadFile(filepath.Join(out, "search.json"))
	if err != nil {
		t.Fatalf("no search index: %v", err)
	}
	if err := json.Unmarshal(data, &index); err != nil {
		t.Fatalf("search.json: %v", err)
	}
	total := 0
	for _, n := range wantCounts {
		total += n
	}
	if len(index) != total {
		t.Errorf("search index holds %d records, want %d", len(index), total)
	}
	for _, e := range index {
		page := filepath.Join(out, filepath.FromSlash(strings.TrimPrefix(e.URL, "/")), "index.html")
		if _, err := os.Stat(page); err != nil {
			t.Errorf("%s (%s): no page at %s", e.Title, e.Repo, e.URL)
		}
	}
	for _, page := range []string{"index.html", "timeline/index.html", "values/index.html", "processes/index.html", "repos/index.html", "tags/index.html", "review/index.html", "why/index.html", "search/index.html", "index.xml", "atom.xml"} {
		if _, err := os.Stat(filepath.Join(out, page)); err != nil {
			t.Errorf("the site has no %s", page)
		}
	}
	for _, b := range site.CheckLinks(out) {
		t.Errorf("broken link: %v", b)
	}
	// An angle-bracket placeholder in a real record stays visible as text.
	found := false
	for _, e := range index {
		if e.Repo != "GSA-TTS/FAC" || !strings.HasPrefix(e.Title, "Convert dissemination_combined") {
			continue
		}
		found = true
		html, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(strings.TrimPrefix(e.URL, "/")), "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(html), "&lt;delete any from the below list that do not apply&gt;") {
			t.Errorf("%s: the placeholder <delete any from the below list that do not apply> is not shown as text", e.URL)
		}
	}
	if !found {
		t.Error("GSA-TTS/FAC 0046 is not in the search index")
	}
}

func contains(list []string, want string) bool {
	for _, s := range list {
		if s == want || strings.HasSuffix(s, "/"+want) {
			return true
		}
	}
	return false
}
