package content

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseFixture(t *testing.T, rel string) *Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "formats", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return Parse(&Repo{Name: "acme/formats", Config: DefaultConfig()}, rel, data)
}

func TestParseFormats(t *testing.T) {
	tests := []struct {
		file         string
		id           string
		title        string
		number       int
		status       Status
		statusRaw    string
		date         string
		supersedes   []string
		supersededBy []string
		amendedBy    []string
		deciders     []string
		tags         []string
		sections     []string
		problemCodes []string
	}{
		{file: "native.md", id: "ADR-0012", title: "Push state to consumers through Kafka", status: StatusAccepted, statusRaw: "accepted",
			date: "2024-03-01", supersedes: []string{"ADR-0007"}, deciders: []string{"alice", "bob"}, tags: []string{"availability", "kafka"},
			sections: []string{"Why", "What", "Details"}},
		{file: "nygard.md", id: "ADR-0012", title: "Use Terraform", number: 12, status: StatusSuperseded, statusRaw: "Superseded by 15. Use Pulumi",
			date: "2018-03-06", supersededBy: []string{"0015-use-pulumi.md"}, amendedBy: []string{"0013-pin-providers.md"},
			sections: []string{"Status", "Context", "Decision"}},
		{file: "status-at-end.md", id: "status-at-end", title: "Module Loading", status: StatusProposed, statusRaw: "PROPOSED",
			sections: []string{"Context", "Decision", "Status", "Consequences"}},
		{file: "madr2.md", id: "madr2", title: "Use Markdown Architectural Decision Records", status: StatusAccepted, statusRaw: "accepted",
			date: "2020-10-20", deciders: []string{"Alice", "Bob"}, tags: []string{"docs", "process"}, sections: []string{"Context and Problem Statement"}},
		{file: "madr2-french.md", id: "madr2-french", title: "Pipeline Analytics", status: StatusDraft, statusRaw: "brouillon", date: "2023-04-04",
			sections: []string{"Contexte"}},
		{file: "madr3.md", id: "madr3", title: "Use the input flag for input files", status: StatusSuperseded, statusRaw: "superseded by ADR-0057",
			date: "2025-07-31", supersededBy: []string{"ADR-0057"}, deciders: []string{"@alice", "@bob"}, sections: []string{"Context and Problem Statement"}},
		{file: "20201016-use-the-slug-as-id.md", id: "20201016-use-the-slug-as-id", title: "Use the slug as the id", status: StatusSuperseded,
			statusRaw: "superseded by 20201020-use-numbers", date: "2020-10-16", supersededBy: []string{"20201020-use-numbers.md"}, sections: []string{"Context"}},
		{file: "adr-012-cosmos.md", id: "ADR-0012", title: "Use Protobuf for state", number: 12, status: StatusAccepted, statusRaw: "Accepted",
			date: "2020-03-04", sections: []string{"Changelog", "Status", "Context"}},
		{file: "decorated.md", id: "decorated", title: "gid=0 is okay, but not by default", status: StatusSuperseded, statusRaw: "superseded by ADR-0040",
			date: "2021-08-23", supersededBy: []string{"0040-allow-gid-0.md"}, sections: []string{"Context and Problem Statement"}},
		{file: "freeform.md", id: "freeform", title: "Freeform", status: StatusUnknown, sections: []string{"Background"}},
		{file: "invalid-front-matter.md", id: "ADR-0001", title: "Service Hosting", number: 1, status: StatusUnknown, date: "2022-05-28",
			sections: []string{"Context"}, problemCodes: []string{"front-matter"}},
		{file: "0042-copied-title.md", id: "ADR-0042", title: "In-Progress Deletion Workflow", number: 42, status: StatusAccepted, statusRaw: "Accepted.",
			date: "2022-05-13", sections: []string{"Status", "Areas of impact"}, problemCodes: []string{"title-number"}},
		{file: "setext-crlf.md", id: "ADR-0007", title: "Poll consumers", number: 7, status: StatusDeprecated, statusRaw: "Deprecated ✅",
			date: "2019-01-02", sections: []string{"Section"}},
		{file: "use-kafka/README.md", id: "use-kafka", title: "Use Kafka", status: StatusAccepted, statusRaw: "approved", date: "2021-02-03",
			sections: []string{"Why"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := parseFixture(t, tt.file)
			check := func(field string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", field, got, want)
				}
			}
			check("ID", r.ID, tt.id)
			check("Title", r.Title, tt.title)
			check("Number", r.Number, tt.number)
			check("Status", r.Status, tt.status)
			check("StatusRaw", r.StatusRaw, tt.statusRaw)
			check("Date", r.Date.String(), tt.date)
			check("Supersedes", r.Supersedes, tt.supersedes)
			check("SupersededBy", r.SupersededBy, tt.supersededBy)
			check("AmendedBy", r.AmendedBy, tt.amendedBy)
			check("Deciders", r.Deciders, tt.deciders)
			check("Tags", r.Tags, tt.tags)
			var headings []string
			for _, s := range r.Sections {
				headings = append(headings, s.Heading)
			}
			check("Sections", headings, tt.sections)
			var codes []string
			for _, p := range r.Problems {
				codes = append(codes, p.Code)
			}
			check("Problems", codes, tt.problemCodes)
			if r.Kind != KindDecision {
				t.Errorf("Kind = %q, want decision", r.Kind)
			}
		})
	}
}

func TestParseNativeDetails(t *testing.T) {
	r := parseFixture(t, "native.md")
	if got, want := r.Lines["status"], 5; got != want {
		t.Errorf("status line = %d, want %d", got, want)
	}
	if got, want := r.Lines["supersedes"], 9; got != want {
		t.Errorf("supersedes line = %d, want %d", got, want)
	}
	if got, want := r.ReviewBy.String(), "2024-09-01"; got != want {
		t.Errorf("ReviewBy = %q, want %q", got, want)
	}
	if want := []string{"services/*/consumer/**", "infra/kafka/**"}; !reflect.DeepEqual(r.Governs, want) {
		t.Errorf("Governs = %q, want %q", r.Governs, want)
	}
	if want := []string{"ADR-0009"}; !reflect.DeepEqual(r.RelatesTo, want) {
		t.Errorf("RelatesTo = %q, want %q", r.RelatesTo, want)
	}
	if want := []string{"0007-poll.md", "https://kafka.apache.org"}; !reflect.DeepEqual(r.Links, want) {
		t.Errorf("Links = %q, want %q", r.Links, want)
	}
	if want := []string{"kafka.png"}; !reflect.DeepEqual(r.Images, want) {
		t.Errorf("Images = %q, want %q", r.Images, want)
	}
	wantLines := map[string]int{"Why": 18, "What": 22, "Details": 26}
	for _, s := range r.Sections {
		if s.Line != wantLines[s.Heading] {
			t.Errorf("section %q at line %d, want %d", s.Heading, s.Line, wantLines[s.Heading])
		}
	}
	if r.BodyLine != 17 || strings.Contains(r.Body, "# Push state") {
		t.Errorf("Body starts at line %d with %q; want line 17, title removed", r.BodyLine, firstLine(r.Body))
	}
	if s := r.Section("what"); s == nil || !strings.Contains(s.Body, "Details") || !strings.Contains(s.Body, "kafka.apache.org") {
		t.Errorf("section What should hold its sub-section, got %+v", s)
	}
	if s := r.Section("Why"); s == nil || strings.Contains(s.Body, "Kafka.") {
		t.Errorf("section Why should stop at the next heading, got %q", s.Body)
	}
}

func TestParseInvalidFrontMatterLine(t *testing.T) {
	r := parseFixture(t, "invalid-front-matter.md")
	if len(r.Problems) != 1 {
		t.Fatalf("problems = %v, want one", r.Problems)
	}
	p := r.Problems[0]
	if p.Severity != SeverityError || p.Line < 2 || p.Line > 4 || p.File != "invalid-front-matter.md" {
		t.Errorf("problem = %+v, want an error on lines 2-4 of the file", p)
	}
}

func TestParsePlaceholdersStayText(t *testing.T) {
	r := parseFixture(t, "0042-copied-title.md")
	if s := r.Section("Areas of impact"); s == nil || !strings.Contains(s.Body, "<delete any from the below list that do not apply>") {
		t.Errorf("placeholder lost from section body: %+v", s)
	}
	r = parseFixture(t, "freeform.md")
	if !strings.Contains(r.Body, "<number>") {
		t.Errorf("placeholder lost from body: %q", r.Body)
	}
}

func TestNormaliseStatus(t *testing.T) {
	tests := map[string]Status{
		"Accepted": StatusAccepted, "accepted.": StatusAccepted, "ACCEPTED": StatusAccepted, "✅ Approved": StatusAccepted,
		"**Decided**": StatusAccepted, "accepted; supersedes ADR-0045": StatusAccepted, "Implemented": StatusAccepted,
		"Pending review": StatusProposed, "In review": StatusProposed, "on hold": StatusProposed, "RFC": StatusProposed,
		"proposed. **This ADR did not reach consensus**": StatusProposed, "Proposed.": StatusProposed,
		"Superseded by [ADR-0019](0019-x.md)": StatusSuperseded, "Superceded by 3": StatusSuperseded, "Partly superseded": StatusSuperseded,
		"replaced by ADR-9": StatusSuperseded, "Deprecated": StatusDeprecated, "obsolete": StatusDeprecated, "Archived": StatusDeprecated,
		"Rejected": StatusRejected, "won't do": StatusRejected, "Declined.": StatusRejected, "abandoned": StatusRejected,
		"WIP": StatusDraft, "brouillon": StatusDraft, "Draft 🚧": StatusDraft,
		"": StatusUnknown, "maybe later": StatusUnknown, "{proposed | rejected}": StatusProposed,
	}
	for raw, want := range tests {
		if got := NormaliseStatus(raw); got != want {
			t.Errorf("NormaliseStatus(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := map[string]string{
		"2018-03-06": "2018-03-06", "2022-05-16.": "2022-05-16", "20220513": "2022-05-13", "2018/03/06": "2018-03-06",
		"2024-03-01T10:00:00Z": "2024-03-01", "2018-3-6": "2018-03-06", "25/12/2020": "2020-12-25", "12/25/2020": "2020-12-25",
		"03/04/2020": "", "6 March 2018": "2018-03-06", "March 6, 2018": "2018-03-06", "YYYY-MM-DD": "", "2021-02-30": "",
		"[YYYY-MM-DD when the decision was last updated]": "", "2018-03-06 (updated 2019)": "2018-03-06",
	}
	for in, want := range tests {
		d, ok := ParseDate(in)
		if got := d.String(); got != want || ok != (want != "") {
			t.Errorf("ParseDate(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestCleanTitle(t *testing.T) {
	tests := []struct {
		in, want string
		num      int
	}{
		{"3. Use Terraform", "Use Terraform", 3},
		{"ADR 012: Foo", "Foo", 12},
		{"ADR-0012 - Foo", "Foo", 12},
		{"ADR-12: Foo", "Foo", 12},
		{"0012 Foo", "Foo", 12},
		{"12: Foo", "Foo", 12},
		{"Architecture Decision Record: Use ADRs", "Use ADRs", 0},
		{"[Pipeline Analytics]", "Pipeline Analytics", 0},
		{"[Superseded by ADR-0040] Old", "Old", 0},
		{"3D printing for parts", "3D printing for parts", 0},
		{"2020 vision", "2020 vision", 0},
		{"Use Python 3.6 or newer", "Use Python 3.6 or newer", 0},
	}
	for _, tt := range tests {
		got, num := cleanTitle(tt.in, 0)
		if got != tt.want || num != tt.num {
			t.Errorf("cleanTitle(%q) = %q, %d; want %q, %d", tt.in, got, num, tt.want, tt.num)
		}
	}
}

func TestNumberFromName(t *testing.T) {
	tests := map[string]int{
		"0012-foo": 12, "adr-012-foo": 12, "ADR-001-foo": 1, "12_foo": 12, "0000-use-markdown": 0,
		"20201016-use-slug": 0, "foo": 0, "3d-printing": 0, "adr_0007": 7,
	}
	for in, want := range tests {
		if got, _ := numberFromName(in); got != want {
			t.Errorf("numberFromName(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestStatusRelations(t *testing.T) {
	for _, tc := range []struct {
		name, src    string
		supersededBy []string
	}{
		{"two ids", "# 1. A\n\n## Status\n\nSuperseded by ADR-0019 and ADR-0020\n", []string{"ADR-0019", "ADR-0020"}},
		{"two links", "# 1. A\n\n## Status\n\nSuperseded by [X](0002-x.md), [Y](0003-y.md)\n", []string{"0002-x.md", "0003-y.md"}},
		{"spaced colon", "# A\n\n* Status  :  Superseded by [X](0002-x.md)\n", []string{"0002-x.md"}},
		{"non-ASCII before", "# A\n\n* Status: İptal — superseded by ADR-0003\n", []string{"ADR-0003"}},
		{"invalid UTF-8", "# A\n\n## StAtus\n\n\xddsuperCeded BY ADR-0004\n", []string{"ADR-0004"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Parse(nil, "docs/adr/0001-a.md", []byte(tc.src))
			if !reflect.DeepEqual(r.SupersededBy, tc.supersededBy) {
				t.Errorf("SupersededBy = %q, want %q", r.SupersededBy, tc.supersededBy)
			}
		})
	}
}

func TestParseLinksSectionAndUnclosedFrontMatter(t *testing.T) {
	r := Parse(nil, "docs/adr/20201016-b.md", []byte("# B\n\n- Status: accepted\n\n## Links\n\n- Supersedes [A](20200926-a.md)\n"))
	if !reflect.DeepEqual(r.Supersedes, []string{"20200926-a.md"}) {
		t.Errorf("Supersedes = %q, want the link under ## Links", r.Supersedes)
	}
	r = Parse(nil, "docs/adr/0001-x.md", []byte("---\ntitle: X\nstatus: accepted\n# Y\n"))
	if len(r.Problems) != 1 || r.Problems[0].Line != 1 || r.Problems[0].Severity != SeverityError {
		t.Errorf("unclosed front matter: problems %v", r.Problems)
	}
}
