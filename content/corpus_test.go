package content

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func loadTestRepo(t *testing.T) (*Corpus, *Repo) {
	t.Helper()
	repo, err := OpenRepo("acme/shop=" + filepath.Join("testdata", "repo"))
	if err != nil {
		t.Fatal(err)
	}
	return Load([]*Repo{repo}), repo
}

func paths(list []*Record) []string {
	var out []string
	for _, r := range list {
		out = append(out, r.Path)
	}
	return out
}

func TestLoadRepo(t *testing.T) {
	c, repo := loadTestRepo(t)
	if repo.Name != "acme/shop" {
		t.Errorf("Name = %q", repo.Name)
	}
	if want := []string{"docs/decisions", "docs/values", "docs/processes"}; !reflect.DeepEqual(repo.Dirs, want) {
		t.Errorf("Dirs = %q, want %q", repo.Dirs, want)
	}
	want := []string{
		"docs/decisions/0001-record-decisions.md", "docs/decisions/0002-use-postgres.md", "docs/decisions/0003-use-cockroach.md",
		"docs/decisions/0004-pin-versions.md", "docs/decisions/kafka/README.md", "docs/decisions/sub/0005-nested.md",
		"docs/processes/0001-on-call.md", "docs/processes/0002-code-review.md", "docs/values/availability.md",
	}
	if got := paths(c.Records); !reflect.DeepEqual(got, want) {
		t.Errorf("records:\n got %q\nwant %q", got, want)
	}
	kinds := map[string]Kind{}
	for _, r := range c.Records {
		kinds[r.ID] = r.Kind
	}
	if kinds["PROCESS-0001"] != KindProcess || kinds["availability"] != KindValue || kinds["ADR-0003"] != KindDecision || kinds["kafka"] != KindDecision {
		t.Errorf("kinds by id = %v", kinds)
	}
	if len(c.Problems) != 0 {
		t.Errorf("problems = %v", c.Problems)
	}
}

func TestResolve(t *testing.T) {
	c, _ := loadTestRepo(t)
	from := c.ByKey("acme/shop:ADR-0005")
	if from == nil {
		t.Fatal("ByKey(acme/shop:ADR-0005) = nil")
	}
	tests := map[string]string{
		"ADR-0003":                             "docs/decisions/0003-use-cockroach.md",
		"ADR-3":                                "docs/decisions/0003-use-cockroach.md",
		"adr-03":                               "docs/decisions/0003-use-cockroach.md",
		"#ADR-3":                               "docs/decisions/0003-use-cockroach.md",
		"3":                                    "docs/decisions/0003-use-cockroach.md",
		"ADR 3":                                "docs/decisions/0003-use-cockroach.md",
		"../0003-use-cockroach.md":             "docs/decisions/0003-use-cockroach.md",
		"../0003-use-cockroach.md#why":         "docs/decisions/0003-use-cockroach.md",
		"/docs/decisions/0002-use-postgres.md": "docs/decisions/0002-use-postgres.md",
		"0005-nested.md":                       "docs/decisions/sub/0005-nested.md",
		"../kafka/":                            "docs/decisions/kafka/README.md",
		"kafka":                                "docs/decisions/kafka/README.md",
		"acme/shop#ADR-1":                      "docs/decisions/0001-record-decisions.md",
		"acme/shop:ADR-0001":                   "docs/decisions/0001-record-decisions.md",
		"[ADR-0002](../0002-use-postgres.md)":  "docs/decisions/0002-use-postgres.md",
		"/repos/acme-shop/0004-pin-versions/":  "docs/decisions/0004-pin-versions.md",
		"https://story.example.com/repos/acme-shop/0004-pin-versions/":                          "docs/decisions/0004-pin-versions.md",
		"https://github.com/acme/shop/blob/main/docs/decisions/0001-record-decisions.md#status": "docs/decisions/0001-record-decisions.md",
		"PROCESS-0002":     "docs/processes/0002-code-review.md",
		"ADR-0099":         "",
		"missing.md":       "",
		"other/repo#ADR-1": "",
	}
	for ref, want := range tests {
		got := ""
		if r := c.Resolve(ref, from); r != nil {
			got = r.Path
		}
		if got != want {
			t.Errorf("Resolve(%q) = %q, want %q", ref, got, want)
		}
	}
	if r := c.Resolve("ADR-2", nil); r == nil || r.ID != "ADR-0002" {
		t.Errorf("Resolve without a referrer = %v", r)
	}
	for _, r := range c.Records {
		if got := c.Resolve(c.URL(r), nil); got != r {
			t.Errorf("Resolve(URL(%s)) = %v", r.Path, got)
		}
	}
}

func TestRelations(t *testing.T) {
	c, _ := loadTestRepo(t)
	get := func(id string) *Record {
		r := c.ByKey("acme/shop:" + id)
		if r == nil {
			t.Fatalf("no %s", id)
		}
		return r
	}
	a1, a2, a3, a4 := get("ADR-0001"), get("ADR-0002"), get("ADR-0003"), get("ADR-0004")
	if got := c.SupersededBy(a2); len(got) != 1 || got[0] != a3 {
		t.Errorf("SupersededBy(ADR-0002) = %v, want ADR-0003 (derived from the other side)", paths(got))
	}
	if got := c.Supersedes(a3); len(got) != 1 || got[0] != a2 {
		t.Errorf("Supersedes(ADR-0003) = %v", paths(got))
	}
	if got := c.AmendedBy(a3); len(got) != 1 || got[0] != a4 {
		t.Errorf("AmendedBy(ADR-0003) = %v", paths(got))
	}
	if got := c.RelatesTo(a1); len(got) != 1 || got[0] != a4 {
		t.Errorf("RelatesTo(ADR-0001) = %v (relates-to goes both ways)", paths(got))
	}
	if got := c.Chain(a3); len(got) != 2 || got[0] != a2 || got[1] != a3 {
		t.Errorf("Chain(ADR-0003) = %v, want oldest first", paths(got))
	}
	if got := c.Chain(a1); len(got) != 1 || got[0] != a1 {
		t.Errorf("Chain(ADR-0001) = %v, want itself", paths(got))
	}
}

func TestValues(t *testing.T) {
	c, _ := loadTestRepo(t)
	value := c.ByKey("acme/shop:availability")
	if value == nil || value.Kind != KindValue {
		t.Fatalf("value record = %+v", value)
	}
	decisions, processes := c.TracesTo(value)
	if got := paths(decisions); !reflect.DeepEqual(got, []string{"docs/decisions/0003-use-cockroach.md"}) {
		t.Errorf("decisions tracing to Availability = %q", got)
	}
	if got := paths(processes); !reflect.DeepEqual(got, []string{"docs/processes/0001-on-call.md"}) {
		t.Errorf("processes tracing to Availability = %q", got)
	}
	if v := c.Values(c.ByKey("acme/shop:ADR-0003")); len(v) != 1 || v[0].Record != value || v[0].Slug != "availability" {
		t.Errorf("Values(ADR-0003) = %+v", v)
	}
	if got := c.UndefinedValues(); len(got) != 0 {
		t.Errorf("UndefinedValues = %+v", got)
	}
	if got := ValueSlug("Écoute & Availability first!"); got != "écoute-availability-first" {
		t.Errorf("ValueSlug = %q", got)
	}
}

func TestGoverningAndMentioning(t *testing.T) {
	c, _ := loadTestRepo(t)
	tests := []struct {
		path string
		want []string
	}{
		{"db/schema.sql", []string{"docs/decisions/0003-use-cockroach.md", "docs/decisions/0002-use-postgres.md"}},
		{"services/cart/store/x.go", []string{"docs/decisions/0003-use-cockroach.md"}},
		{"services", []string{"docs/decisions/0003-use-cockroach.md"}},
		{"services/cart/api/x.go", nil},
	}
	for _, tt := range tests {
		if got := paths(c.Governing("acme/shop", tt.path)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Governing(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	got := paths(c.Mentioning("acme/shop", "db/schema.sql"))
	want := []string{"docs/decisions/sub/0005-nested.md", "docs/decisions/0004-pin-versions.md"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Mentioning(db/schema.sql) = %q, want %q", got, want)
	}
	if got := paths(c.Mentioning("acme/shop", "docs/decisions/0003-use-cockroach.md")); !reflect.DeepEqual(got, []string{"docs/decisions/sub/0005-nested.md", "docs/decisions/0004-pin-versions.md"}) {
		t.Errorf("Mentioning(0003) = %q", got)
	}
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"services/*/consumer/**", "services/a/consumer/x/y.go", true},
		{"services/*/consumer/**", "services/a/consumer", true},
		{"services/*/consumer/**", "services/a/b/consumer/x", false},
		{"**/*.go", "a/b/c.go", true},
		{"**/*.go", "c.go", true},
		{"*.go", "a/c.go", false},
		{"infra/{kafka,zk}/**", "infra/zk/conf", true},
		{"docs/?.md", "docs/a.md", true},
		{"[", "x", false},
	}
	for _, tt := range tests {
		if got := MatchGlob(tt.pattern, tt.name); got != tt.want {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestLint(t *testing.T) {
	c, _ := loadTestRepo(t)
	got := map[string]Problem{}
	for _, p := range c.Lint(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		got[p.Code+" "+p.File] = p
	}
	want := map[string]int{
		"review-due docs/decisions/0003-use-cockroach.md":          9,
		"missing-reference docs/decisions/sub/0005-nested.md":      4,
		"process-without-value docs/processes/0002-code-review.md": 0,
	}
	for k, line := range want {
		p, ok := got[k]
		if !ok {
			t.Errorf("missing problem %s", k)
			continue
		}
		if p.Line != line {
			t.Errorf("%s at line %d, want %d", k, p.Line, line)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems = %v", got)
	}
}

func TestLintCyclesDuplicatesSilentSuccessors(t *testing.T) {
	repo := &Repo{Name: "acme/cycle", Config: DefaultConfig()}
	recs := []*Record{
		Parse(repo, "d/0001-a.md", []byte("---\nsupersedes: [ADR-0002]\nstatus: accepted\n---\n# A\n")),
		Parse(repo, "d/0002-b.md", []byte("---\nsupersedes: [ADR-0001]\nstatus: superseded\n---\n# B\n")),
		Parse(repo, "d/0003-c.md", []byte("# 3. C\n\n## Status\n\nSuperseded by [D](0004-d.md)\n")),
		Parse(repo, "d/0004-d.md", []byte("# 4. D\n\n## Status\n\nAccepted\n")),
		Parse(repo, "d/0004-e.md", []byte("# 4. E\n\n## Status\n\nAccepted\n")),
		Parse(repo, "d/x.md", []byte("---\nid: X\nstatus: accepted\n---\n# X\n")),
		Parse(repo, "d/y.md", []byte("---\nid: X\nstatus: accepted\n---\n# Y\n")),
	}
	c := NewCorpus([]*Repo{repo}, recs)
	codes := map[string]int{}
	for _, p := range c.Lint(time.Now()) {
		codes[p.Code]++
	}
	if codes["supersession-cycle"] != 1 || codes["duplicate-number"] != 2 || codes["duplicate-id"] != 2 || codes["successor-silent"] != 1 {
		t.Errorf("lint codes = %v", codes)
	}
	if got := c.Chain(recs[0]); len(got) != 2 {
		t.Errorf("Chain in a cycle = %v", paths(got))
	}
}

func TestExportGolden(t *testing.T) {
	c, _ := loadTestRepo(t)
	got, err := json.MarshalIndent(c.Export(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "export.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("export differs from %s (run go test ./content -update and review the diff):\n%s", golden, got)
	}
	var parsed []map[string]any
	if err := json.Unmarshal(got, &parsed); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"repo", "path", "id", "kind", "title", "status", "status_raw", "date", "number", "tags", "supersedes", "superseded_by", "values", "governs", "review_by", "review", "sections", "problems"} {
		if _, ok := parsed[0][key]; !ok {
			t.Errorf("export lacks %q", key)
		}
	}
	if !strings.Contains(string(got), `"superseded_by": [
      "docs/decisions/0003-use-cockroach.md"`) {
		t.Errorf("ADR-0002's superseded_by should be derived and given as a path")
	}
}

func TestMatchGlobHostilePatternsAreCheap(t *testing.T) {
	deep := strings.Repeat("d/", 40) + "x"
	for _, pat := range []string{
		strings.Repeat("{a,b}", 22) + "/x",
		strings.Repeat("**/x/", 12) + "y",
		strings.Repeat("*/", 30) + "**/z",
	} {
		done := make(chan bool, 1)
		go func() { done <- MatchGlob(pat, deep) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("MatchGlob(%.40q…) did not finish in 10 s", pat)
		}
	}
	if !MatchGlob("a/**/b/**/c", "a/x/b/y/z/c") || MatchGlob("a/**/b/**/c", "a/x/c") {
		t.Error("the table matcher gets ** wrong")
	}
}

func TestLintDuplicateNumbersInFolderPerDecisionAndAcrossFolders(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"docs/adr/0001-a/README.md":   "# A\n\nStatus: accepted\n",
		"docs/adr/0001-b/README.md":   "# B\n\nStatus: accepted\n",
		"docs/decisions/0002-c.md":    "# 2. C\n\nStatus: accepted\n",
		"docs/adr/0002-d/README.md":   "# D\n\nStatus: accepted\n",
		"docs/decisions/0003-fine.md": "# 3. Fine\n\nStatus: accepted\n",
	})
	r, err := OpenRepo("acme/x=" + root)
	if err != nil {
		t.Fatal(err)
	}
	problems := map[string][]string{}
	for _, p := range Load([]*Repo{r}).Lint(time.Now()) {
		if p.Code == "duplicate-number" || p.Code == "duplicate-id" {
			problems[p.File] = append(problems[p.File], p.Code)
		}
	}
	for _, f := range []string{"docs/adr/0001-a/README.md", "docs/adr/0001-b/README.md", "docs/decisions/0002-c.md", "docs/adr/0002-d/README.md"} {
		if len(problems[f]) == 0 {
			t.Errorf("%s: no duplicate reported (all: %v)", f, problems)
		}
	}
	if len(problems["docs/decisions/0003-fine.md"]) != 0 {
		t.Errorf("0003-fine.md: %v", problems["docs/decisions/0003-fine.md"])
	}
}
