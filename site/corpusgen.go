package site

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// GenerateCorpus writes a synthetic corpus of about records records spread
// over repos repositories under dir, one folder per repository, for
// benchmarks. The records are realistic in shape and size: a third of the
// repositories use backstory's native format (with values, processes,
// governs globs and review dates), a third Nygard/adr-tools records, a third
// MADR; records are 2–5 KB, tagged, and some supersede older ones in chains.
// The output is deterministic.
func GenerateCorpus(dir string, records, repos int) error {
	if repos < 1 {
		repos = 1
	}
	rng := rand.New(rand.NewPCG(uint64(records), uint64(repos)))
	for i := range repos {
		n := records / repos
		if i < records%repos {
			n++
		}
		root := filepath.Join(dir, fmt.Sprintf("repo-%02d", i+1))
		var err error
		switch i % 3 {
		case 0:
			err = genNative(rng, root, i, n)
		case 1:
			err = genNygard(rng, root, i, n)
		default:
			err = genMADR(rng, root, i, n)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var (
	genTags = []string{"availability", "security", "kafka", "dns", "terraform", "aws", "api", "database",
		"frontend", "observability", "ci", "cost", "privacy", "performance", "testing", "k8s"}
	genValues = []string{"availability", "security", "simplicity", "privacy", "cost-awareness", "autonomy"}
	genNouns  = []string{"message broker", "service mesh", "DNS provider", "CI pipeline", "feature flags", "object storage",
		"search index", "session store", "logging stack", "metrics backend", "deploy tool", "API gateway",
		"cache layer", "schema registry", "secrets manager", "job scheduler"}
	genWords = strings.Fields(`the service team consumers state platform latency we need to because of our
	requests data each migration operational cost risk option chosen rejected would make it easier for
	engineers support incident on call load throughput failure retries queue database backups region
	vendor lock-in contract budget quarter roadmap customers traffic peak scaling observability alerting`)
	genStatuses = []string{"accepted", "accepted", "accepted", "proposed", "deprecated", "rejected", "draft"}
)

func sentence(rng *rand.Rand, words int) string {
	var b strings.Builder
	for i := range words {
		w := genWords[rng.IntN(len(genWords))]
		if i == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	b.WriteString(". ")
	return b.String()
}

func paragraph(rng *rand.Rand) string {
	var b strings.Builder
	for range 3 + rng.IntN(4) {
		b.WriteString(sentence(rng, 8+rng.IntN(10)))
	}
	return strings.TrimSpace(b.String()) + "\n\n"
}

func genDate(rng *rand.Rand, i, n int) time.Time {
	start := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	days := 3600 * i / max(n, 1)
	return start.AddDate(0, 0, days+rng.IntN(10))
}

func pickTags(rng *rand.Rand) []string {
	k := 1 + rng.IntN(3)
	seen := map[string]bool{}
	var out []string
	for len(out) < k {
		t := genTags[rng.IntN(len(genTags))]
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

func title(rng *rand.Rand, i int) string {
	verbs := []string{"Use", "Adopt", "Replace", "Move to", "Introduce", "Retire", "Standardise on"}
	return fmt.Sprintf("%s %s %d", verbs[rng.IntN(len(verbs))], genNouns[rng.IntN(len(genNouns))], i)
}

func writeGen(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// genNative writes native records: decisions, plus a few values and
// processes that decisions trace to.
func genNative(rng *rand.Rand, root string, repo, n int) error {
	dir := filepath.Join(root, "docs", "decisions")
	for i := 1; i <= n; i++ {
		kind := "decision"
		switch {
		case i%25 == 0:
			kind = "process"
		case repo == 0 && i <= len(genValues):
			// The organisation's values live in one repository.
			kind = "value"
		}
		t := title(rng, i)
		if kind == "value" {
			t = valueTitle(genValues[i-1])
		}
		status := genStatuses[rng.IntN(len(genStatuses))]
		var fm strings.Builder
		fmt.Fprintf(&fm, "---\nid: ADR-%04d\ntitle: %q\nkind: %s\nstatus: %s\ndate: %s\n", i, t, kind, status, genDate(rng, i, n).Format("2006-01-02"))
		fmt.Fprintf(&fm, "deciders: [alice, bob]\ntags: [%s]\n", strings.Join(pickTags(rng), ", "))
		if kind == "process" || kind == "decision" && rng.IntN(3) == 0 {
			fmt.Fprintf(&fm, "values: [%s]\n", genValues[rng.IntN(len(genValues))])
		}
		if kind == "decision" {
			fmt.Fprintf(&fm, "governs: [\"services/svc-%d/**\", \"infra/%s/**\"]\n", i%40, genTags[i%len(genTags)])
			if i > 10 && i%7 == 0 {
				fmt.Fprintf(&fm, "supersedes: [ADR-%04d]\n", i-7)
			}
			if status == "accepted" && i%5 == 0 {
				fmt.Fprintf(&fm, "review_by: %s\n", genDate(rng, i, n).AddDate(1, 0, 0).Format("2006-01-02"))
			}
		}
		fm.WriteString("---\n")
		var b strings.Builder
		b.WriteString(fm.String())
		fmt.Fprintf(&b, "# %s\n\n", t)
		for _, h := range []string{"Why", "What", "Risks", "Mitigations", "Cost", "Tradeoffs", "Why now", "How we will know"} {
			fmt.Fprintf(&b, "## %s\n\n%s", h, paragraph(rng))
			if h == "Tradeoffs" {
				b.WriteString("- Keep the current setup: " + sentence(rng, 8) + "\n- Build our own: " + sentence(rng, 8) + "\n\n")
			}
		}
		if i > 1 {
			fmt.Fprintf(&b, "See also [ADR-%04d](%04d-%s.md).\n", i-1, i-1, "record")
		}
		name := fmt.Sprintf("%04d-record.md", i)
		if err := writeGen(filepath.Join(dir, name), b.String()); err != nil {
			return err
		}
	}
	return nil
}

// genNygard writes adr-tools records: "# N. Title", a Date line, a Status
// section, and "Superseded by" links.
func genNygard(rng *rand.Rand, root string, repo, n int) error {
	dir := filepath.Join(root, "doc", "adr")
	names := make([]string, n+1)
	successor := func(i int) bool { return i > 5 && (i-5)%9 == 0 }
	name := func(i int, t string) string {
		if successor(i) {
			return fmt.Sprintf("%04d-successor-%d.md", i, i)
		}
		return fmt.Sprintf("%04d-%s.md", i, slugify(t))
	}
	for i := 1; i <= n; i++ {
		t := title(rng, i)
		names[i] = name(i, t)
		status := "Accepted"
		if i+5 <= n && successor(i+5) {
			status = fmt.Sprintf("Superseded by [%d. Successor %d](%04d-successor-%d.md)", i+5, i+5, i+5, i+5)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "# %d. %s\n\nDate: %s\n\n## Status\n\n%s\n\n", i, t, genDate(rng, i, n).Format("2006-01-02"), status)
		if successor(i) {
			fmt.Fprintf(&b, "Supersedes [%d. Predecessor](%s)\n\n", i-5, names[i-5])
		}
		fmt.Fprintf(&b, "## Context\n\n%s%s## Decision\n\n%s", paragraph(rng), paragraph(rng), paragraph(rng))
		b.WriteString("```\n$ make deploy ENV=<environment>\n```\n\n")
		fmt.Fprintf(&b, "## Consequences\n\n%s%s", paragraph(rng), paragraph(rng))
		if err := writeGen(filepath.Join(dir, names[i]), b.String()); err != nil {
			return err
		}
	}
	return nil
}

// genMADR writes MADR 3 records: YAML front matter with status, date and
// decision-makers, and the MADR sections.
func genMADR(rng *rand.Rand, root string, repo, n int) error {
	dir := filepath.Join(root, "docs", "adr")
	for i := 1; i <= n; i++ {
		t := title(rng, i)
		status := genStatuses[rng.IntN(len(genStatuses))]
		var b strings.Builder
		fmt.Fprintf(&b, "---\nstatus: %s\ndate: %s\ndecision-makers: [carol, dan]\ntags: [%s]\n---\n", status, genDate(rng, i, n).Format("2006-01-02"), strings.Join(pickTags(rng), ", "))
		fmt.Fprintf(&b, "# %s\n\n## Context and Problem Statement\n\n%s", t, paragraph(rng))
		b.WriteString("## Decision Drivers\n\n* " + sentence(rng, 6) + "\n* " + sentence(rng, 6) + "\n\n")
		b.WriteString("## Considered Options\n\n* Option A\n* Option B\n* Option C\n\n")
		fmt.Fprintf(&b, "## Decision Outcome\n\nChosen option: \"Option A\", because %s\n\n", sentence(rng, 10))
		fmt.Fprintf(&b, "### Consequences\n\n* Good, because %s\n* Bad, because %s\n\n", sentence(rng, 8), sentence(rng, 8))
		fmt.Fprintf(&b, "## Pros and Cons of the Options\n\n### Option A\n\n%s| Criterion | Score |\n| --- | --- |\n| Cost | 3 |\n| Risk | 2 |\n\n", paragraph(rng))
		name := fmt.Sprintf("%04d-%s.md", i, slugify(t))
		if err := writeGen(filepath.Join(dir, name), b.String()); err != nil {
			return err
		}
	}
	return nil
}

// floorLayout is the one template of the plain Hugo build the benchmarks
// compare against.
const floorLayout = `<!doctype html><html><head><title>{{ .Title }}</title></head><body><main>{{ .Content }}{{ range .Pages }}<a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ end }}</main></body></html>
`

// WriteFloorProject writes a plain Hugo project with one simple page per
// markdown file under corpusDir (its text as the page body) and a minimal
// one-template theme: the floor that backstory's build is measured against.
func WriteFloorProject(corpusDir, projectDir string) (pages int, err error) {
	if err := writeGen(filepath.Join(projectDir, "hugo.json"), `{"baseURL":"/","title":"floor","buildFuture":true,"enableGitInfo":false}`+"\n"); err != nil {
		return 0, err
	}
	if err := writeGen(filepath.Join(projectDir, "layouts", "all.html"), floorLayout); err != nil {
		return 0, err
	}
	err = filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".md") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(data, []byte("---\n")) {
			if i := bytes.Index(data[4:], []byte("\n---\n")); i >= 0 {
				data = data[4+i+5:]
			}
		}
		pages++
		fm, _ := json.Marshal(map[string]string{"title": fmt.Sprintf("Page %d", pages)})
		out := append(append(fm, '\n', '\n'), data...)
		return writeGen(filepath.Join(projectDir, "content", "posts", fmt.Sprintf("p%05d.md", pages)), string(out))
	})
	return pages, err
}
