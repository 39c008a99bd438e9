package content

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sharedCorpus is the team's collection of real ADR repositories.
const sharedCorpus = "../../shared/corpus/adrs"

// TestSharedCorpus reads every real collection and checks the figures that
// matter against what the files say.
func TestSharedCorpus(t *testing.T) {
	if _, err := os.Stat(filepath.Join(sharedCorpus, "SOURCES.tsv")); err != nil {
		t.Skipf("shared corpus not found at %s", sharedCorpus)
	}
	wantCounts := readSourceCounts(t)
	var repos []*Repo
	for name := range wantCounts {
		r, err := OpenRepo(name + "=" + filepath.Join(sharedCorpus, strings.ReplaceAll(name, "/", "__")))
		if err != nil {
			t.Fatal(err)
		}
		repos = append(repos, r)
	}
	c := Load(repos)

	total := 0
	for name, want := range wantCounts {
		total += want
		if got := len(c.InRepo(name)); got != want {
			t.Errorf("%s: %d records, SOURCES.tsv says %d", name, got, want)
		}
	}
	if len(c.Records) != total || total != 280 {
		t.Errorf("%d records, want %d (280)", len(c.Records), total)
	}
	for _, r := range c.Records {
		if strings.TrimSpace(r.Title) == "" {
			t.Errorf("%s %s: empty title", r.Repo, r.Path)
		}
		for _, p := range r.Problems {
			if p.Severity == SeverityError {
				t.Errorf("%s: unexpected error %s", r.Repo, p)
			}
		}
	}

	get := func(repo, file string) *Record {
		t.Helper()
		for _, r := range c.InRepo(repo) {
			if r.Path == file {
				return r
			}
		}
		t.Fatalf("%s: no record %s", repo, file)
		return nil
	}
	type fig struct {
		repo, file, title string
		status            Status
		raw, date         string
	}
	for _, f := range []fig{
		{"alphagov/govuk-aws", "0015-dns-infrastructure.md", "DNS infrastructure", StatusAccepted, "Accepted", "2018-03-06"},
		{"alphagov/govuk-aws", "0003-aws-networking-outline.md", "Networking Outline", StatusSuperseded, "Partly superseded", "2017-06-30"},
		{"alphagov/govuk-aws", "0038-mongo_replacement_by_documentdb.md", "Mongo Replacement by DocumentDB", StatusAccepted, "Approved", "2019-10-17"},
		{"GSA-TTS/FAC", "0012-migration-plan.md", "FAC Migration Plan", StatusAccepted, "Approved", "2022-05-13"},
		{"GSA-TTS/FAC", "0013-submission-statuses.md", "Proposed user-visible submission statuses", StatusAccepted, "Accepted.", "2022-05-16"},
		{"GSA-TTS/FAC", "0016-file-uploads.md", "File Uploads", StatusProposed, "Pending review", "2022-08-01"},
		{"GSA-TTS/FAC", "0042-gracefully-handle-samgov-4xx-errors.md", "In-Progress Audit Deletion Workflow", StatusAccepted, "Accepted", "2025-04-10"},
		{"arachne-framework/architecture", "adr-006-core-runtime.md", "Core Runtime", StatusProposed, "PROPOSED", ""},
		{"arachne-framework/architecture", "adr-001-use-adrs.md", "Use ADRs", StatusAccepted, "Accepted", ""},
		{"theupdateframework/python-tuf", "0008-accept-unrecognised-fields.md", "Accept metadata that includes unrecognized fields", StatusAccepted, "accepted", "2021-04-08"},
		{"theupdateframework/python-tuf", "0005-use-google-python-style-guide.md", "Use Google Python style guide with minimal refinements", StatusUnknown, "", ""},
		{"elastisys/compliantkubernetes", "0016-gid-0-is-okey-but-not-by-default.md", "gid=0 is okay, but not by default", StatusSuperseded, "superseded by ADR-0040", "2021-08-23"},
		{"elastisys/compliantkubernetes", "0010-run-managed-services-in-workload-cluster.md", "Run managed services in Workload Cluster", StatusProposed, "", "2021-04-29"},
		{"thomvaill/log4brains", "20200926-use-the-adr-number-as-its-unique-id.md", "Use the ADR number as its unique ID", StatusSuperseded, "", "2020-09-26"},
		{"adr/madr", "0003-provide-own-madr-tools.md", "Write Own MADR Tooling", StatusProposed, "on hold", ""},
		{"JabRef/jabref", "0045-use-input-flag-always-for-input-files.md", "", StatusSuperseded, "superseded by ADR-0057", ""},
		{"JabRef/jabref", "0047-use-references-heading-in-citations-tab.md", "Use References Headings in Citations Tab", StatusAccepted, "accepted", "2025-07-31"},
		{"JabRef/jabref", "0001-use-crowdin-for-translations.md", "Use Crowdin for translations", StatusUnknown, "", ""},
		{"DFE-Digital/find-a-tuition-partner", "0001-use-gpaas-hosting-environment.md", "Service Hosting Environment", StatusProposed, "proposed", "2022-05-27"},
		{"DFE-Digital/find-a-tuition-partner", "0003-vertical-slice-architecture.md", "Organise code in vertical slices", StatusRejected, "rejected", "2022-06-22"},
		{"SocialGouv/pass-emploi-api", "ADR-004-pipeline-analytics.md", "Pipeline Analytics", StatusDraft, "brouillon", "2023-04-04"},
		{"SocialGouv/pass-emploi-api", "ADR-001-service-notifications.md", "Harmonisation Domaine: Repository Service Factory", StatusAccepted, "mergé", "2022-06-15"},
	} {
		r := get(f.repo, f.file)
		if f.title != "" && r.Title != f.title {
			t.Errorf("%s %s: title %q, want %q", f.repo, f.file, r.Title, f.title)
		}
		if r.Status != f.status || (f.raw != "" && r.StatusRaw != f.raw) {
			t.Errorf("%s %s: status %s (%q), want %s (%q)", f.repo, f.file, r.Status, r.StatusRaw, f.status, f.raw)
		}
		if r.Date.String() != f.date {
			t.Errorf("%s %s: date %q, want %q", f.repo, f.file, r.Date, f.date)
		}
	}

	// Supersession links resolve, from whichever side says so.
	for _, s := range [][3]string{
		{"alphagov/govuk-aws", "0004-dns-definitions-for-hosts-and-services.md", "0015-dns-infrastructure.md"},
		{"elastisys/compliantkubernetes", "0016-gid-0-is-okey-but-not-by-default.md", "0040-allow-group-id-0.md"},
		{"elastisys/compliantkubernetes", "0003-push-metrics-via-influxdb.md", "0019-push-metrics-via-thanos.md"},
		{"JabRef/jabref", "0045-use-input-flag-always-for-input-files.md", "0057-allow-positional-input-file-argument.md"},
		{"thomvaill/log4brains", "20200926-use-the-adr-number-as-its-unique-id.md", "20201016-use-the-adr-slug-as-its-unique-id.md"},
	} {
		old, nw := get(s[0], s[1]), get(s[0], s[2])
		if got := c.SupersededBy(old); len(got) != 1 || got[0] != nw {
			t.Errorf("%s %s: superseded by %v, want %s", s[0], s[1], paths(got), s[2])
		}
		if chain := c.Chain(nw); len(chain) < 2 || chain[len(chain)-1] != nw {
			t.Errorf("%s %s: chain %v should end with it", s[0], s[2], paths(chain))
		}
	}
	if !c.says(get("JabRef/jabref", "0057-allow-positional-input-file-argument.md"), get("JabRef/jabref", "0045-use-input-flag-always-for-input-files.md")) {
		t.Error(`JabRef 0057's "accepted; supersedes ADR-0045" should count as saying so`)
	}

	// GSA 0042's heading was copied from 0041: reported, with the line.
	found := false
	for _, p := range get("GSA-TTS/FAC", "0042-gracefully-handle-samgov-4xx-errors.md").Problems {
		found = found || (p.Code == "title-number" && p.Line == 1)
	}
	if !found {
		t.Error("GSA 0042: the copied title number should be a problem on line 1")
	}

	// arachne keeps its status at the end of the file.
	if r := get("arachne-framework/architecture", "adr-006-core-runtime.md"); r.Lines["status"] < 60 {
		t.Errorf("arachne adr-006: status read from line %d, want the section near the end", r.Lines["status"])
	}

	// log4brains: the file name gives the date even without a Date bullet.
	for _, r := range c.InRepo("thomvaill/log4brains") {
		data, err := os.ReadFile(r.Source)
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, l := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(l, "- Date:") {
				kept = append(kept, l)
			}
		}
		undated := Parse(repos[0], r.Path, []byte(strings.Join(kept, "\n")))
		if want := r.Path[:4] + "-" + r.Path[4:6] + "-" + r.Path[6:8]; undated.Date.String() != want || r.Date.String() != want {
			t.Errorf("log4brains %s: date %s / %s, want %s from the file name", r.Path, r.Date, undated.Date, want)
		}
	}

	// DFE's template (invalid YAML) is not a record; its records' unquoted
	// front-matter dates are read.
	for _, r := range c.InRepo("DFE-Digital/find-a-tuition-partner") {
		if strings.Contains(r.Path, "template") {
			t.Errorf("DFE template read as a record: %s", r.Path)
		}
		if r.Number >= 1 && r.Date.IsZero() {
			t.Errorf("DFE %s: no date", r.Path)
		}
	}
	dfe := Parse(nil, "adr-template.md", mustRead(t, filepath.Join(sharedCorpus, "DFE-Digital__find-a-tuition-partner", "adr-template.md")))
	if len(dfe.Problems) == 0 || dfe.Problems[0].Code != "front-matter" || dfe.Problems[0].Line != 3 {
		t.Errorf("DFE template problems = %v, want invalid front matter on line 3", dfe.Problems)
	}

	// Lint runs over the whole corpus and finds the broken GSA link.
	broken := false
	for _, p := range c.Lint(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		broken = broken || (p.Code == "missing-reference" && p.File == "0014-compliance-documentation.md")
	}
	if !broken {
		t.Error("lint should report GSA 0014's link to a missing 0016-compliance-documentation.md")
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// readSourceCounts reads repo → adr_count from SOURCES.tsv.
func readSourceCounts(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedCorpus, "SOURCES.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]int{}
	repoName := regexp.MustCompile(`^[\w.-]+/[\w.-]+$`)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 5 || !repoName.MatchString(cols[0]) {
			continue
		}
		n, err := strconv.Atoi(cols[4])
		if err != nil {
			continue
		}
		counts[cols[0]] = n
	}
	return counts
}
