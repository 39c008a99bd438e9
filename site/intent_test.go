package site

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/content"
	"github.com/spf13/afero"
)

// intentCorpus is the fixture corpus plus merged pull requests, as the App
// hands them to the site: intents with a synthetic path, the pull request's
// URL and the files it changed.
func intentCorpus(t *testing.T) *content.Corpus {
	t.Helper()
	c := fixtureCorpus(t)
	merged := time.Date(2024, 1, 10, 9, 30, 0, 0, time.UTC)
	pr := func(n string, at time.Time, url, body string, relates []string, touches ...string) *content.Record {
		return &content.Record{
			Repo: "acme/platform", Kind: content.KindIntent, ID: "PR-" + n, Title: "Pull request " + n,
			Status: content.StatusAccepted, Date: content.Date{Time: at}, Path: ".backstory/pulls/" + n + ".md",
			Body: body, Deciders: []string{"carol"}, RelatesTo: relates, URL: url, Touches: touches,
		}
	}
	recs := append([]*content.Record(nil), c.Records...)
	recs = append(recs,
		pr("5", merged, "https://github.com/acme/platform/pull/5", "## Why\n\nProducers must not block.\n",
			[]string{"acme/platform:ADR-0002"}, "services/billing/events/producer.go"),
		// Merged later the same day, citing by GitHub URL: listed first.
		pr("9", merged.Add(4*time.Hour), "https://github.com/acme/platform/pull/9",
			"## Why\n\nSee [the runbook](ops/runbook.md).\n\n<script>alert(\"pr\")</script> <img src=x onerror=alert(1)>\n",
			[]string{"ADR-0002", "https://github.com/acme/platform/blob/main/docs/decisions/0001-use-rabbitmq.md"},
			"services/billing/events/consumer.go", "infra/kafka/topics.tf"),
		// A hostile URL is never linked.
		pr("10", merged.Add(-48*time.Hour), "javascript:alert(1)", "## Why\n\nNo.\n", nil, "README.md"),
	)
	return content.NewCorpus(c.Repos, recs)
}

// generated runs the generator over c and returns the project's files.
func generated(t *testing.T, c *content.Corpus) map[string][]byte {
	t.Helper()
	opts := Options{OutputDir: "unused", Now: fixtureNow, Title: "Acme"}
	opts.setDefaults(c)
	b := newBuilder(opts)
	if _, err := b.generate(c); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	err := afero.Walk(b.fs, b.workDir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(b.workDir, p)
		data, err := afero.ReadFile(b.fs, p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func pageOf(t *testing.T, files map[string][]byte, rel string) recordPage {
	t.Helper()
	data, ok := files[rel]
	if !ok {
		t.Fatalf("%s not generated", rel)
	}
	var p recordPage
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&p); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return p
}

func TestIntentFrontMatter(t *testing.T) {
	files := generated(t, intentCorpus(t))

	adr := pageOf(t, files, "content/repos/acme-platform/0002-move-to-kafka/index.md")
	want := []citation{
		{ID: "PR-9", Title: "Pull request 9", URL: "/repos/acme-platform/pr-9/", PR: "https://github.com/acme/platform/pull/9", Date: "2024-01-10", Repo: "acme/platform"},
		{ID: "PR-5", Title: "Pull request 5", URL: "/repos/acme-platform/pr-5/", PR: "https://github.com/acme/platform/pull/5", Date: "2024-01-10", Repo: "acme/platform"},
	}
	if !reflect.DeepEqual(adr.CitedBy, want) {
		t.Errorf("cited_by of ADR-0002 = %+v, want %+v", adr.CitedBy, want)
	}
	for _, r := range adr.RelatesTo {
		if strings.HasPrefix(r.ID, "PR-") {
			t.Errorf("ADR-0002 lists %s under related as well as under the pull requests that cited it", r.ID)
		}
	}
	if old := pageOf(t, files, "content/repos/acme-platform/0001-use-rabbitmq/index.md"); len(old.CitedBy) != 1 || old.CitedBy[0].ID != "PR-9" {
		t.Errorf("cited_by of ADR-0001 (cited by GitHub URL) = %+v, want PR-9", old.CitedBy)
	}

	pr := pageOf(t, files, "content/repos/acme-platform/pr-9/index.md")
	if pr.ExternalURL != "https://github.com/acme/platform/pull/9" || pr.SourceURL != pr.ExternalURL {
		t.Errorf("PR-9: external_url %q, source_url %q, want the pull request", pr.ExternalURL, pr.SourceURL)
	}
	if pr.EditURL != "" || pr.SourcePath != "" {
		t.Errorf("PR-9: edit_url %q, source_path %q, want none for a record that is not a file", pr.EditURL, pr.SourcePath)
	}
	if want := []string{"services/billing/events/consumer.go", "infra/kafka/topics.tf"}; !reflect.DeepEqual(pr.Touches, want) {
		t.Errorf("PR-9 touches %v, want %v", pr.Touches, want)
	}
	body := string(files["content/repos/acme-platform/pr-9/index.md"])
	for _, bad := range []string{"<script>", "onerror", ".backstory/pulls"} {
		if strings.Contains(body, bad) {
			t.Errorf("PR-9's page holds %q:\n%s", bad, body)
		}
	}
	// Relative links in a pull request start from the repository root.
	if !strings.Contains(body, "https://github.com/acme/platform/blob/main/ops/runbook.md") {
		t.Errorf("PR-9's link to ops/runbook.md does not go to the file at the repository root:\n%s", body)
	}
	if bad := pageOf(t, files, "content/repos/acme-platform/pr-10/index.md"); bad.ExternalURL != "" || bad.SourceURL != "" {
		t.Errorf("PR-10 with a javascript: URL links to %q / %q", bad.ExternalURL, bad.SourceURL)
	}

	var why whyData
	if err := json.Unmarshal(files["static/why.json"], &why); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range why.Intents {
		order = append(order, e.ID)
		if e.ID == "PR-10" && e.PR != "" {
			t.Errorf("why.json links PR-10 to %q", e.PR)
		}
	}
	if want := []string{"PR-9", "PR-5", "PR-10"}; !reflect.DeepEqual(order, want) {
		t.Errorf("why.json intents in order %v, want %v (most recently merged first)", order, want)
	}
	if len(why.Governs) != 3 {
		t.Errorf("why.json has %d governs entries, want 3", len(why.Governs))
	}
}

func TestBuildWithIntents(t *testing.T) {
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Build(context.Background(), intentCorpus(t), Options{OutputDir: out, Now: fixtureNow}); err != nil {
		t.Fatal(err)
	}
	read := func(rel string) string {
		data, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	adr := read("repos/acme-platform/0002-move-to-kafka/index.html")
	for _, want := range []string{"Pull requests that cited it", `href="/repos/acme-platform/pr-9/"`, `href="https://github.com/acme/platform/pull/9"`, `href="/repos/acme-platform/pr-5/"`} {
		if !strings.Contains(adr, want) {
			t.Errorf("ADR-0002's page lacks %s", want)
		}
	}
	if i, j := strings.Index(adr, "/pr-9/"), strings.Index(adr, "/pr-5/"); i < 0 || j < 0 || i > j {
		t.Error("ADR-0002's page does not list PR-9 (merged last) before PR-5")
	}
	pr := read("repos/acme-platform/pr-9/index.html")
	for _, want := range []string{`href="https://github.com/acme/platform/pull/9">View the pull request</a>`, "Files it touched", "<code>infra/kafka/topics.tf</code>", `/why/?path=infra%2fkafka%2ftopics.tf&amp;repo=acme%2fplatform`, "Merged"} {
		if !strings.Contains(pr, want) {
			t.Errorf("PR-9's page lacks %s", want)
		}
	}
	for _, bad := range []string{"Edit source", ".backstory/pulls", `<script>alert("pr")`, "onerror"} {
		if strings.Contains(pr, bad) {
			t.Errorf("PR-9's page contains %q", bad)
		}
	}
	if hostile := read("repos/acme-platform/pr-10/index.html"); strings.Contains(hostile, "javascript:") || strings.Contains(hostile, "View the pull request") {
		t.Error("PR-10's page links to its javascript: URL")
	}
	// Without JavaScript, the why page still lists the merged pull requests
	// with the paths they changed, most recent first.
	why := read("why/index.html")
	for _, want := range []string{"Merged pull requests and the paths they changed", `href="/repos/acme-platform/pr-9/"`, "<code>infra/kafka/topics.tf</code>"} {
		if !strings.Contains(why, want) {
			t.Errorf("the why page lacks %s", want)
		}
	}
	if i, j := strings.Index(why, "/pr-9/"), strings.Index(why, "/pr-5/"); i < 0 || j < 0 || i > j {
		t.Error("the why page does not list PR-9 (merged last) before PR-5")
	}
	if broken := CheckLinks(out); len(broken) > 0 {
		t.Errorf("broken links: %v", broken)
	}
}
