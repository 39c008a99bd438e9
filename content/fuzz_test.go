package content

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzzers of this file read what anyone with write access to a
// repository controls: record files, their front matter, the repository's
// configuration, the references and globs records hold. Whatever the input,
// the parsers must not panic, must point every problem at a line of the
// file, must give the same record twice, and must not allocate without
// bound: the App reads records of up to maxRecordBytes.
//
// Seeds: the format fixtures in testdata/formats, the shared corpus's real
// records when ../shared is beside the checkout (as in CI), and the copies
// of real records in testdata/fuzz/FuzzParse (see testdata/fuzz/README.md),
// so that the seed corpus is in the repository either way.

// maxRecordBytes is the largest record file the App reads.
const maxRecordBytes = 1 << 20

// maxAllocPerByte bounds what parsing a large record may allocate, in bytes
// per byte of input; allocSlack covers what any parse allocates whatever its
// size. goldmark alone allocates up to about 470 bytes for each byte of a
// record made of link brackets ("[[[…"), and yaml.v3 about 180 for each
// byte of a long front matter list: the bound is there to catch growth
// faster than the input's (block quotes nested with tabs allocated 67,000
// bytes per byte of a 256 KB record before TameMarkdown).
const (
	maxAllocPerByte = 512
	allocSlack      = 256 << 10
)

// largeInput is the size from which a fuzzed record's allocations are
// measured: smaller ones are too fast for the measure to mean anything.
const largeInput = 64 << 10

// recordSeed is one real record file: its path in its repository and its
// bytes.
type recordSeed struct {
	path string
	data []byte
}

// recordSeeds returns the format fixtures and, when present, the shared
// corpus's records.
func recordSeeds(tb testing.TB) []recordSeed {
	tb.Helper()
	var seeds []recordSeed
	add := func(root, prefix string) {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".md") {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			seeds = append(seeds, recordSeed{path: prefix + filepath.ToSlash(rel), data: data})
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	add(filepath.Join("testdata", "formats"), "docs/decisions/")
	if _, err := os.Stat(filepath.Join(sharedCorpus, "SOURCES.tsv")); err == nil {
		add(sharedCorpus, "")
	}
	return seeds
}

// fileLines is how many lines a record file has, as Parse numbers them: a
// BOM is dropped and "\r\n" and "\r" end lines like "\n". A final line
// break does not start another line, but an empty file has one line.
func fileLines(data []byte) int {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	n := bytes.Count(data, []byte("\n"))
	if len(data) == 0 || data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// fuzzRepo is the repository fuzzed records belong to.
var fuzzRepo = &Repo{Name: "acme/shop", Config: DefaultConfig()}

// checkParse parses one record file and checks what holds for any input:
// every line Parse reports is within the file, and a second parse gives the
// same record. It returns the record.
func checkParse(t *testing.T, relPath string, data []byte) *Record {
	t.Helper()
	if len(data) >= largeInput {
		// One parse, measured: a second one of a large file costs more
		// than it finds.
		r := parseMeasured(t, relPath, data)
		checkLines(t, r, fileLines(data))
		return r
	}
	r := Parse(fuzzRepo, relPath, data)
	checkLines(t, r, fileLines(data))
	if again := Parse(fuzzRepo, relPath, data); !reflect.DeepEqual(r, again) {
		t.Fatalf("two parses of the same file differ:\n first %+v\nsecond %+v", r, again)
	}
	return r
}

// checkLines checks that every line a record gives is one of its file's n
// lines (0 where it may say "no line").
func checkLines(t *testing.T, r *Record, n int) {
	t.Helper()
	for _, p := range r.Problems {
		if p.Line < 0 || p.Line > n {
			t.Fatalf("problem on line %d of a %d-line file: %s", p.Line, n, p)
		}
		if p.File != r.Path {
			t.Fatalf("problem names file %q, the record is %q: %s", p.File, r.Path, p)
		}
	}
	for field, line := range r.Lines {
		if line < 0 || line > n {
			t.Fatalf("Lines[%q] = %d in a %d-line file", field, line, n)
		}
	}
	for _, s := range r.Sections {
		if s.Line < 1 || s.Line > n {
			t.Fatalf("section %q on line %d of a %d-line file", s.Heading, s.Line, n)
		}
	}
	if r.BodyLine < 1 || r.BodyLine > n+1 {
		t.Fatalf("BodyLine %d in a %d-line file", r.BodyLine, n)
	}
	if rv := r.Review; rv != nil {
		if rv.Line < 0 || rv.Line > n || rv.DateLine < 0 || rv.DateLine > n {
			t.Fatalf("review outcome on line %d, date on line %d, of a %d-line file", rv.Line, rv.DateLine, n)
		}
	}
}

// parseMeasured parses data and fails when that allocated more than
// maxAllocPerByte bytes per byte of input.
func parseMeasured(t *testing.T, relPath string, data []byte) *Record {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := Parse(fuzzRepo, relPath, data)
	runtime.ReadMemStats(&after)
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(maxAllocPerByte*len(data)+allocSlack); got > limit {
		t.Fatalf("parsing %d bytes allocated %d bytes (%.0f per byte; the bound is %d)", len(data), got, float64(got)/float64(len(data)), maxAllocPerByte)
	}
	return r
}

// FuzzParse parses arbitrary record files under arbitrary paths (the path
// gives the number, the kind and the id).
func FuzzParse(f *testing.F) {
	for _, s := range recordSeeds(f) {
		f.Add(s.path, s.data)
	}
	f.Add("docs/decisions/0001-x.md", []byte("---\n"))
	f.Add("docs/decisions/0001-x.md", []byte("---\n---"))
	f.Add("README.md", []byte("\xef\xbb\xbf# T\r\r\n## Status\r\rAccepted\r"))
	f.Fuzz(func(t *testing.T, relPath string, data []byte) {
		checkParse(t, relPath, data)
	})
}

// FuzzParseLarge parses records of maxRecordBytes: a fuzzed head, a fuzzed
// fragment repeated, a fuzzed tail. Repeated structure (deep nesting, many
// headings, links, list items or front matter keys) is what makes a
// parser's time or memory grow faster than its input.
func FuzzParseLarge(f *testing.F) {
	for _, s := range [][3]string{
		{"# Use Kafka\n\n", "## Status\n\nAccepted\n\n", ""},
		{"", "> ", ""},
		{"", ">\t", ""},
		{"", "1. ", "x"},
		{"# T\n\n", "[a](", ""},
		{"# T\n\n", "a*b_", ""},
		{"# T\n\n* Status: ", "superseded by [ADR-1](0001-a.md), ", "\n"},
		{"---\ntags:\n", "  - a\n", "---\n# T\n"},
		{"# T\n\n", "## Review 2025-01-01\n\n### Outcome\n\nRight\n\n", ""},
		{"", "<!-- ", "-->"},
		{"", "Title\n===\n", ""},
	} {
		f.Add(s[0], []byte(s[1]), s[2])
	}
	f.Fuzz(func(t *testing.T, head string, unit []byte, tail string) {
		if len(unit) == 0 || len(head)+len(tail) > maxRecordBytes/2 {
			return
		}
		data := make([]byte, 0, maxRecordBytes)
		data = append(data, head...)
		for len(data)+len(unit)+len(tail) <= maxRecordBytes {
			data = append(data, unit...)
		}
		data = append(data, tail...)
		checkParse(t, "docs/decisions/0001-large.md", data)
	})
}

// FuzzFrontMatter parses records whose YAML front matter is fuzzed apart
// from the body, so that mutations land in the YAML.
func FuzzFrontMatter(f *testing.F) {
	for _, s := range recordSeeds(f) {
		if fm, end, _, ok := splitFrontMatter(bytes.ReplaceAll(s.data, []byte("\r\n"), []byte("\n"))); ok {
			f.Add(string(fm), string(s.data[min(end, len(s.data)):]))
		}
	}
	for _, fm := range []string{
		"id: ADR-1\nstatus: accepted\ndate: 2024-03-01\n",
		"status: {proposed | rejected | accepted}\n",
		"a: &x [1, 2]\nsupersedes: *x\ntags: *x\n",
		"<<: {status: accepted}\nstatus: [superseded by ADR-2]\n",
		"review:\n  - {outcome: right, date: 2024-01-01}\n  - outcome: wrong\n    date: 2025-01-01\n    notes: |\n      Reverted.\n",
		"review: {outcome: mixed, on: 2025-02-30}\nreview_outcome: right\nreviewed: yesterday\n",
		"title: !!binary aGVsbG8=\ndate: 2024-13-01\nreview_by: 9999-12-31\n",
		"governs: ['services/**', '{a,b}/*.go']\nvalues: a, b\n",
		"- not\n- a\n- mapping\n",
		"kind: process\nid: ''\n",
		"\u0085\u0085kind: nonsense\n\u2028date: [\n",
		"\t\n",
	} {
		f.Add(fm, "# Title\n\n## Status\n\nAccepted\n")
	}
	f.Fuzz(func(t *testing.T, frontMatter, body string) {
		data := []byte("---\n" + frontMatter + "\n---\n" + body)
		checkParse(t, "docs/decisions/0007-front-matter.md", data)
	})
}

// FuzzReview parses decisions with a fuzzed review section, and reads
// fuzzed outcomes: a review's outcome is always the canonical reading of
// what it says.
func FuzzReview(f *testing.F) {
	f.Add("Review", "Outcome: right\nDate: 2025-03-01\n\nLatency halved.\n")
	f.Add("Review 2025-03-01", "Right.\n")
	f.Add("Retrospective (2025-03-01)", "**Outcome:** wrong — we reverted it\n- Reviewed: 2024-06-12\n")
	f.Add("Review outcome", "<right | wrong | mixed>\n")
	f.Add("Outcome", "> Mixed: throughput is better, cost is not\n")
	f.Add("Review", "- Outcome: partly\n- Date: yyyy-mm-dd\n\n### Outcome\n\nGood\n")
	f.Add("Review 2024-01-01", "### Review 2025-01-01\n\nOutcome: both\n\n## Review\n\n<!-- notes -->\n")
	f.Add("Review", "Right: latency halved.\n\n```\nOutcome: wrong\n```\n")
	if data, err := os.ReadDir(filepath.Join("testdata", "formats", "review")); err == nil {
		for _, e := range data {
			b, err := os.ReadFile(filepath.Join("testdata", "formats", "review", e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			for _, part := range strings.Split(string(b), "\n## ")[1:] {
				heading, body, _ := strings.Cut(part, "\n")
				f.Add(heading, body)
			}
		}
	}
	outcomes := map[Outcome]bool{OutcomeRight: true, OutcomeWrong: true, OutcomeMixed: true, OutcomeUnknown: true}
	f.Fuzz(func(t *testing.T, heading, body string) {
		for _, s := range []string{heading, body} {
			if o := NormaliseOutcome(s); !outcomes[o] {
				t.Fatalf("NormaliseOutcome(%q) = %q, not a canonical outcome", s, o)
			}
		}
		data := []byte("# Use Kafka\n\n## Status\n\nAccepted\n\n## " + heading + "\n\n" + body)
		r := checkParse(t, "docs/decisions/0001-use-kafka.md", data)
		if rv := r.Review; rv != nil {
			if rv.OutcomeRaw == "" || rv.Outcome != NormaliseOutcome(rv.OutcomeRaw) {
				t.Fatalf("review outcome %q read as %q, NormaliseOutcome says %q", rv.OutcomeRaw, rv.Outcome, NormaliseOutcome(rv.OutcomeRaw))
			}
			r.Reviewed()
		}
	})
}

// FuzzParseConfig reads arbitrary .github/backstory.yml files: the
// configuration is valid whatever the file says, and every problem names a
// line of it.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"records:\n  paths: [docs/decisions, docs/values]\n  id_prefix: ADR\n  id_digits: 4\n",
		"repository: acme/story\nrecords:\n  paths: records\n",
		"records:\n  paths: [decisions]\n  id_digits: many\n  colour: blue\n",
		"records: [\n",
		"records:\n  paths: \"oops\n",
		"records:\n  paths: [/etc, ../x, a/../../b, './']\n  id_prefix: [a]\n  id_digits: 10\n",
		"repository: [a/b]\nrepository: a/b/c\nrecords: ~\n",
		"x: &a {paths: [a]}\nrecords: *a\n",
		"check:\n  mode: enforce\nrecords:\n  id_prefix: DEC-\n",
		"- a\n",
		"\xff",
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "repo", ".github", "backstory.yml")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, problems := ParseConfig(data)
		n := fileLines(data)
		for _, p := range problems {
			if p.Line < 0 || p.Line > n {
				t.Fatalf("problem on line %d of a %d-line file: %s", p.Line, n, p)
			}
		}
		if cfg.IDDigits < 1 || cfg.IDDigits > 9 {
			t.Fatalf("id_digits %d", cfg.IDDigits)
		}
		for _, p := range cfg.Paths {
			if strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") {
				t.Fatalf("records.paths holds %q, outside the repository", p)
			}
		}
		if again, _ := ParseConfig(data); !reflect.DeepEqual(cfg, again) {
			t.Fatalf("two reads differ: %+v, %+v", cfg, again)
		}
	})
}

// resolveCorpus is testdata/repo, loaded once per fuzzing process.
func resolveCorpus(tb testing.TB) *Corpus {
	tb.Helper()
	repo, err := OpenRepo("acme/shop=" + filepath.Join("testdata", "repo"))
	if err != nil {
		tb.Fatal(err)
	}
	repo.SourceURL = "https://github.com/acme/shop/blob/main/"
	repo.EditURL = "https://github.com/acme/shop/edit/main/"
	intent := &Record{Repo: "acme/shop", Path: "intents/pr-12.md", ID: "PR-12", Kind: KindIntent, Title: "Faster checkout",
		URL: "https://github.com/acme/shop/pull/12", Status: StatusAccepted}
	c := Load([]*Repo{repo})
	return NewCorpus(c.Repos, append(c.Records, intent))
}

// FuzzResolve resolves arbitrary references, from nowhere and from every
// record: the answer is a record of the corpus or nil, and the same twice.
func FuzzResolve(f *testing.F) {
	c := resolveCorpus(f)
	for _, r := range c.Records {
		f.Add(r.ID)
		f.Add(r.Path)
		f.Add("[" + r.Title + "](" + r.Path + "#why)")
		f.Add(c.URL(r))
	}
	for _, ref := range []string{
		"ADR-12", "#ADR-2", "adr 3", "0004", "12", "acme/shop#ADR-1", "acme/shop:ADR-0002", "ACME/SHOP#adr_0003",
		"../decisions/0002-use-postgres.md#status", "/docs/decisions/kafka/", "kafka", "0001-record-decisions",
		"https://github.com/acme/shop/blob/main/docs/decisions/0002-use-postgres.md",
		"https://github.com/acme/shop/edit/main/docs/decisions/0002-use-postgres.md?plain=1",
		"https://github.com/acme/shop/pull/12/", "https://example.com/repos/acme-shop/use-postgres/#x",
		"<docs/decisions/0003-use-cockroach.md>", "[x]()", "[](", "%zz", "a%2F..%2F..", "://", "#", ":",
	} {
		f.Add(ref)
	}
	known := map[*Record]bool{}
	for _, r := range c.Records {
		known[r] = true
	}
	froms := append([]*Record{nil}, c.Records...)
	f.Fuzz(func(t *testing.T, ref string) {
		for _, from := range froms {
			got := c.Resolve(ref, from)
			if got != nil && !known[got] {
				t.Fatalf("Resolve(%q) gave a record that is not in the corpus: %+v", ref, got)
			}
			if again := c.Resolve(ref, from); again != got {
				t.Fatalf("Resolve(%q) gave %v, then %v", ref, got, again)
			}
		}
	})
}

// FuzzGlob matches fuzzed paths against a fuzzed governs glob every way
// backstory does: compiled and not, through the governs index and by
// scanning, for files and folders. They must agree.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"services/payments/**", "services/payments/consumer/main.go"},
		{"services/*/consumer/**", "services"},
		{"**/*.proto", "api/v1/a.proto"},
		{"{a,b}/**/{x,main}.go", "b/c/main.go"},
		{"a/{b,{c,d}}/e", "a/d/e"},
		{"a/**/b/**/c", "a/x/b/y/b/c"},
		{"[a-", "a"},
		{`a\*`, "a*"},
		{`\`, `\`},
		{"**", ""},
		{"./x/../y/*.go", "y/z.go"},
		{"/abs/**", "/abs/x"},
		{"{,}{,}{,}{,}{,}{,}{,}", "a"},
		{"*_test.go", "x_test.go"},
		{"a/**/**/*", "a"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, p string) {
		_ = CheckGlob(pattern)
		if got, want := CompileGlob(pattern).Match(p), MatchGlob(pattern, p); got != want {
			t.Fatalf("CompileGlob(%q).Match(%q) = %v, MatchGlob says %v", pattern, p, got, want)
		}
		c := NewCorpus([]*Repo{{Name: "acme/shop", Config: DefaultConfig()}}, []*Record{
			{Repo: "acme/shop", Path: "docs/decisions/0001-a.md", ID: "ADR-0001", Number: 1, Kind: KindDecision, Governs: []string{pattern}},
		})
		x := NewGovernIndex(c)
		if got, want := paths(x.Governing("acme/shop", p)), paths(scanGoverning(c, "acme/shop", p)); !reflect.DeepEqual(got, want) {
			t.Fatalf("Governing(%q) with the glob %q = %q, scanning says %q", p, pattern, got, want)
		}
		if got, want := paths(x.GoverningFile("acme/shop", p)), paths(scanGoverningFile(c, "acme/shop", p)); !reflect.DeepEqual(got, want) {
			t.Fatalf("GoverningFile(%q) with the glob %q = %q, scanning says %q", p, pattern, got, want)
		}
	})
}

// TestTameMarkdown checks the bounds TameMarkdown keeps goldmark within,
// and that real records are left as they are.
func TestTameMarkdown(t *testing.T) {
	for _, s := range recordSeeds(t) {
		data := bytes.ReplaceAll(s.data, []byte("\r"), []byte("\n"))
		if got := TameMarkdown(data); !bytes.Equal(got, data) {
			t.Errorf("%s: a real record was changed", s.path)
		}
	}
	long := strings.Repeat("word ", 3000)
	for name, src := range map[string]string{
		"nested quotes":          strings.Repeat("> ", 50000),
		"nested quotes and tabs": strings.Repeat(">\t", 50000),
		"nested lists":           strings.Repeat("1. - ", 20000) + "\n" + strings.Repeat("  * ", 40) + "x\n",
		"link destinations":      strings.Repeat("[a](", 50000),
		"a long paragraph":       strings.Repeat("[a](\n", 20000),
		"long lines":             strings.Repeat(long+"\n", 20) + strings.Repeat("é", 9000) + "\n" + strings.Repeat("€", 9000),
		"a long line of markers": strings.Repeat("- ", 40) + long,
	} {
		got := TameMarkdown([]byte(src))
		if len(got) != len(src) {
			t.Fatalf("%s: %d bytes became %d", name, len(src), len(got))
		}
		for i := range got {
			if got[i] != src[i] && got[i] != '\n' && got[i] != '.' {
				t.Fatalf("%s: byte %d became %q", name, i, got[i])
			}
		}
		run := 0
		for i, line := range strings.Split(string(got), "\n") {
			if len(line) > maxMarkdownLine+utf8.UTFMax {
				t.Errorf("%s: line %d has %d bytes", name, i+1, len(line))
			}
			if run = run + len(line) + 1; strings.TrimSpace(line) == "" {
				run = 0
			}
			if run > maxMarkdownRun+maxMarkdownLine {
				t.Errorf("%s: line %d ends a run of %d bytes", name, i+1, run)
			}
			if j := nestingPast([]byte(line), maxMarkdownNesting); j >= 0 {
				t.Errorf("%s: line %d nests too deep at %d", name, i+1, j)
			}
			if !utf8.ValidString(line) {
				t.Errorf("%s: line %d was cut inside a character", name, i+1)
			}
		}
	}
}

// TestParseThousandsOfReferences checks that references gathered from
// every part of a record are kept once each, in order.
func TestParseThousandsOfReferences(t *testing.T) {
	var b strings.Builder
	b.WriteString("---\nsupersedes:\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "  - ADR-%d\n", i)
	}
	b.WriteString("tags: [")
	for i := range 5000 {
		fmt.Fprintf(&b, "t%d, t%d, ", i, i)
	}
	b.WriteString("]\n---\n# T\n\n## Status\n\nAccepted\n")
	for i := 4000; i < 10000; i++ {
		fmt.Fprintf(&b, "\nSupersedes ADR-%d.\n", i)
	}
	r := Parse(fuzzRepo, "docs/decisions/0001-t.md", []byte(b.String()))
	if len(r.Supersedes) != 10000 || r.Supersedes[0] != "ADR-0" || r.Supersedes[4999] != "ADR-4999" || r.Supersedes[5000] != "ADR-5000" {
		t.Errorf("%d references: %q … %q", len(r.Supersedes), r.Supersedes[:min(3, len(r.Supersedes))], r.Supersedes[max(0, len(r.Supersedes)-3):])
	}
	if len(r.Tags) != 5000 || r.Tags[1] != "t1" {
		t.Errorf("%d tags: %q…", len(r.Tags), r.Tags[:min(3, len(r.Tags))])
	}
}
