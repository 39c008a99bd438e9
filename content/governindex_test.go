package content

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// scanGoverning is what Corpus.Governing did before the index: every glob
// of every record, tried in turn. The index must agree with it exactly.
func scanGoverning(c *Corpus, repo, p string) []*Record {
	p = cleanRel(p)
	var out []*Record
	for _, r := range c.recordsOf(repo) {
		for _, g := range r.Governs {
			if GovernsPath(g, p) {
				out = append(out, r)
				break
			}
		}
	}
	c.newestFirst(out)
	return out
}

// scanGoverningFile is GoverningFile by brute force: a glob governs a file
// when it matches it, folders aside.
func scanGoverningFile(c *Corpus, repo, p string) []*Record {
	p = cleanRel(p)
	var out []*Record
	for _, r := range c.recordsOf(repo) {
		for _, g := range r.Governs {
			if MatchGlob(cleanRel(g), p) {
				out = append(out, r)
				break
			}
		}
	}
	c.newestFirst(out)
	return out
}

// globGen makes globs and paths from a small alphabet, so that they often
// meet: literal segments, every wildcard, braces (nested, empty, too many),
// classes, malformed classes, dots and stray slashes.
type globGen struct{ r *rand.Rand }

var genWords = []string{"a", "b", "svc", "cart", "api", "x.go", "y.tf", "main.go", "Dockerfile", "c_test.go", "v1.2", "a.tar.gz", "..", "."}

func (g globGen) word() string { return genWords[g.r.IntN(len(genWords))] }

func (g globGen) segment() string {
	switch g.r.IntN(16) {
	case 0, 1:
		return "**"
	case 2:
		return "*"
	case 3:
		return "*.go"
	case 4:
		return "?"
	case 5:
		return "{a,b}"
	case 6:
		return "{svc,cart/api}"
	case 7:
		return "[ab]"
	case 8:
		return "*_test.go"
	case 9:
		return "{,a}"
	case 10:
		if g.r.IntN(4) == 0 {
			return "[" // malformed: matches nothing
		}
		return "c*"
	case 11:
		return "{x.go,{y,z}.tf}"
	default:
		return g.word()
	}
}

func (g globGen) glob() string {
	if g.r.IntN(40) == 0 {
		return strings.Repeat("{a,b}", 7) // too many alternatives: literal braces
	}
	n := 1 + g.r.IntN(4)
	segs := make([]string, n)
	for i := range segs {
		segs[i] = g.segment()
	}
	s := strings.Join(segs, "/")
	switch g.r.IntN(10) {
	case 0:
		s = "/" + s
	case 1:
		s += "/"
	case 2:
		s = "./" + s
	}
	return s
}

func (g globGen) path() string {
	switch g.r.IntN(20) {
	case 0:
		return ""
	case 1:
		return "."
	case 2:
		return "/"
	}
	n := 1 + g.r.IntN(5)
	segs := make([]string, n)
	for i := range segs {
		segs[i] = g.word()
	}
	s := strings.Join(segs, "/")
	switch g.r.IntN(10) {
	case 0:
		s = "./" + s
	case 1:
		s += "/"
	case 2:
		s = strings.Replace(s, "/", "//", 1)
	}
	return s
}

func (g globGen) corpus(repos, records int) *Corpus {
	var rs []*Repo
	for i := range repos {
		rs = append(rs, &Repo{Name: fmt.Sprintf("acme/r%d", i), Config: DefaultConfig()})
	}
	var recs []*Record
	for i := range records {
		repo := rs[g.r.IntN(len(rs))].Name
		if g.r.IntN(5) == 0 {
			repo = strings.ToUpper(repo) // the same repository, named in another case
		}
		r := &Record{Repo: repo, Path: fmt.Sprintf("docs/decisions/%04d-r.md", i), ID: fmt.Sprintf("ADR-%04d", i), Kind: KindDecision}
		r.Number = g.r.IntN(20)
		if g.r.IntN(3) > 0 {
			r.Date = Date{time.Date(2020+g.r.IntN(3), time.Month(1+g.r.IntN(2)), 1, 0, 0, 0, 0, time.UTC)}
		}
		for range g.r.IntN(4) {
			r.Governs = append(r.Governs, g.glob())
		}
		recs = append(recs, r)
	}
	return NewCorpus(rs, recs)
}

func TestGovernIndexAgreesWithScanningEveryGlob(t *testing.T) {
	for seed := range uint64(40) {
		g := globGen{rand.New(rand.NewPCG(seed, 7))}
		c := g.corpus(1+g.r.IntN(3), 1+g.r.IntN(60))
		x := NewGovernIndex(c)
		repos := []string{"", "acme/r0", "ACME/R1", "acme/r2", "acme/none"}
		for range 300 {
			p := g.path()
			for _, repo := range repos {
				if got, want := x.Governing(repo, p), scanGoverning(c, repo, p); !reflect.DeepEqual(paths(got), paths(want)) {
					t.Fatalf("seed %d: Governing(%q, %q):\n got %q\nwant %q\nglobs: %s", seed, repo, p, paths(got), paths(want), dumpGlobs(c))
				}
				if got, want := x.GoverningFile(repo, p), scanGoverningFile(c, repo, p); !reflect.DeepEqual(paths(got), paths(want)) {
					t.Fatalf("seed %d: GoverningFile(%q, %q):\n got %q\nwant %q\nglobs: %s", seed, repo, p, paths(got), paths(want), dumpGlobs(c))
				}
			}
		}
	}
}

func dumpGlobs(c *Corpus) string {
	var b strings.Builder
	for _, r := range c.Records {
		if len(r.Governs) > 0 {
			fmt.Fprintf(&b, "\n  %s %s %q", r.Repo, r.Path, r.Governs)
		}
	}
	return b.String()
}

func TestCompiledGlobAgreesWithMatchGlob(t *testing.T) {
	g := globGen{rand.New(rand.NewPCG(1, 2))}
	extra := []string{`a\*`, `\`, `**/**/x.go`, `a/**/b/**/c`, `**`, ``, `*/**/*`, `{a,b}/**/{x,main}.go`}
	for i := range 20000 {
		pattern := g.glob()
		if i < len(extra) {
			pattern = extra[i]
		}
		compiled := CompileGlob(pattern)
		for range 5 {
			name := g.path()
			if got, want := compiled.Match(name), MatchGlob(pattern, name); got != want {
				t.Fatalf("CompileGlob(%q).Match(%q) = %v, MatchGlob says %v", pattern, name, got, want)
			}
		}
	}
	// Long names take the allocating path of the table.
	deep := strings.Repeat("d/", 50) + "x.go"
	for _, pattern := range []string{"**/d/**/x.go", "d/**/**/*.go", "**/e/**/x.go"} {
		if got, want := CompileGlob(pattern).Match(deep), MatchGlob(pattern, deep); got != want {
			t.Errorf("CompileGlob(%q).Match(deep) = %v, want %v", pattern, got, want)
		}
	}
}

func TestGoverningFileIsNotAFolderQuery(t *testing.T) {
	c := NewCorpus([]*Repo{{Name: "acme/shop"}}, []*Record{
		{Repo: "acme/shop", Path: "d/0001-go.md", ID: "ADR-0001", Number: 1, Governs: []string{"**/*.go"}},
		{Repo: "acme/shop", Path: "d/0002-consumer.md", ID: "ADR-0002", Number: 2, Governs: []string{"services/*/consumer/**"}},
		{Repo: "acme/shop", Path: "d/0003-tf.md", ID: "ADR-0003", Number: 3, Governs: []string{"infra/{kafka,zk}/*.tf", "Makefile"}},
	})
	x := c.GovernIndex()
	tests := []struct {
		path         string
		file, folder []string
	}{
		{"README.md", nil, []string{"d/0001-go.md"}},
		{"main.go", []string{"d/0001-go.md"}, []string{"d/0001-go.md"}},
		{"services/x.go", []string{"d/0001-go.md"}, []string{"d/0002-consumer.md", "d/0001-go.md"}},
		{"services/cart/consumer/run.go", []string{"d/0002-consumer.md", "d/0001-go.md"}, []string{"d/0002-consumer.md", "d/0001-go.md"}},
		{"infra/zk/main.tf", []string{"d/0003-tf.md"}, []string{"d/0003-tf.md", "d/0001-go.md"}},
		{"infra/zk/main.tf.bak", nil, []string{"d/0001-go.md"}},
		{"Makefile", []string{"d/0003-tf.md"}, []string{"d/0003-tf.md", "d/0001-go.md"}},
		{"sub/Makefile", nil, []string{"d/0001-go.md"}},
	}
	for _, tt := range tests {
		if got := paths(x.GoverningFile("acme/shop", tt.path)); !reflect.DeepEqual(got, tt.file) {
			t.Errorf("GoverningFile(%q) = %q, want %q", tt.path, got, tt.file)
		}
		if got := paths(c.Governing("acme/shop", tt.path)); !reflect.DeepEqual(got, tt.folder) {
			t.Errorf("Governing(%q) = %q, want %q", tt.path, got, tt.folder)
		}
	}
	var nilIndex *GovernIndex
	if nilIndex.Governing("acme/shop", "main.go") != nil || nilIndex.GoverningFile("", "main.go") != nil {
		t.Error("a nil index should govern nothing")
	}
}

func TestGovernIndexIsBuiltOnceAndSafeForConcurrentUse(t *testing.T) {
	g := globGen{rand.New(rand.NewPCG(9, 9))}
	c := g.corpus(2, 200)
	var wg sync.WaitGroup
	indexes := make([]*GovernIndex, 8)
	for i := range indexes {
		wg.Go(func() {
			indexes[i] = c.GovernIndex()
			for range 200 {
				indexes[i].GoverningFile("", "svc/cart/x.go")
				indexes[i].Governing("acme/r1", "a/b")
			}
		})
	}
	wg.Wait()
	for _, x := range indexes {
		if x != indexes[0] {
			t.Fatal("GovernIndex built more than once")
		}
	}
}

func TestCheckGlob(t *testing.T) {
	tests := []struct {
		pattern string
		wantErr string
	}{
		{"services/*/consumer/**", ""},
		{"{a,b}/**/*.go", ""},
		{"infra/{kafka,{zk,etcd}}/*.tf", ""},
		{"docs/[a-c]*.md", ""},
		{"", "empty"},
		{"  ", "empty"},
		{"{a,b", "never closed"},
		{"a,b}", "closes no"},
		{"docs/[a-c.md", "malformed"},
		{`docs\`, "malformed"},
		{strings.Repeat("{a,b}", 7), "more than 64"},
	}
	for _, tt := range tests {
		err := CheckGlob(tt.pattern)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("CheckGlob(%q) = %v, want nil", tt.pattern, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("CheckGlob(%q) = %v, want an error saying %q", tt.pattern, err, tt.wantErr)
		}
	}
}

// benchGovernCorpus is an organisation-sized repository: n decisions, each
// governing a service, a Terraform folder, or a language across folders.
func benchGovernCorpus(n int) *Corpus {
	r := rand.New(rand.NewPCG(1, 1))
	var recs []*Record
	for i := range n {
		rec := &Record{Repo: "acme/mono", Path: fmt.Sprintf("docs/decisions/%05d-d.md", i+1), ID: fmt.Sprintf("ADR-%05d", i+1), Number: i + 1, Kind: KindDecision,
			Date: Date{time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/3)}}
		svc := fmt.Sprintf("svc%03d", r.IntN(400))
		switch r.IntN(10) {
		case 0, 1, 2, 3:
			rec.Governs = []string{"services/" + svc + "/**"}
		case 4, 5:
			rec.Governs = []string{"services/" + svc + "/api/*.proto", "services/" + svc + "/cmd/**/*.go"}
		case 6:
			rec.Governs = []string{fmt.Sprintf("infra/env%02d/*.tf", r.IntN(40))}
		case 7:
			rec.Governs = []string{fmt.Sprintf("{libs,pkg}/lib%03d/**/*.go", r.IntN(200))}
		case 8:
			rec.Governs = []string{fmt.Sprintf("services/*/lib%03d/**", r.IntN(200))}
		default:
			if r.IntN(20) == 0 {
				rec.Governs = []string{fmt.Sprintf("**/*.ext%d", r.IntN(50))}
			}
		}
		recs = append(recs, rec)
	}
	return NewCorpus([]*Repo{{Name: "acme/mono", Config: DefaultConfig()}}, recs)
}

// BenchmarkGovernIndexBuild measures building the index of 10,000 decisions.
func BenchmarkGovernIndexBuild(b *testing.B) {
	c := benchGovernCorpus(10000)
	b.ReportAllocs()
	for b.Loop() {
		NewGovernIndex(c)
	}
}

// BenchmarkGoverningFile measures one lookup among 10,000 decisions.
func BenchmarkGoverningFile(b *testing.B) {
	x := NewGovernIndex(benchGovernCorpus(10000))
	files := []string{"services/svc042/cmd/server/main.go", "services/svc042/api/v1.proto", "infra/env07/main.tf", "libs/lib017/x/y.go", "README.md"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x.GoverningFile("acme/mono", files[i%len(files)])
		i++
	}
}
