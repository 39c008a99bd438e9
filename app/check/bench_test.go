package check

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/content"
)

// benchCorpus is a monorepo with n decisions, most of them governing part of
// one of 400 services, the rest Terraform environments and libraries, and
// one in 250 a folder of every service or a file type everywhere; one in
// ten supersedes an older one.
func benchCorpus(n int) *content.Corpus {
	r := rand.New(rand.NewPCG(1, 2))
	var records []*content.Record
	for i := 1; i <= n; i++ {
		rec := &content.Record{
			Repo: "acme/mono", Path: fmt.Sprintf("docs/decisions/%05d-decision.md", i), ID: fmt.Sprintf("ADR-%05d", i), Number: i,
			Kind: content.KindDecision, Title: fmt.Sprintf("Decision number %d", i), Status: content.StatusAccepted,
			Date: content.Date{Time: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/3)},
		}
		svc := fmt.Sprintf("svc%03d", r.IntN(400))
		switch r.IntN(20) {
		case 0, 1, 2, 3, 4, 5, 6, 7:
			rec.Governs = []string{"services/" + svc + "/**"}
		case 8, 9, 10, 11:
			rec.Governs = []string{"services/" + svc + "/api/*.proto", "services/" + svc + "/cmd/**/*.go"}
		case 12, 13:
			rec.Governs = []string{fmt.Sprintf("infra/env%02d/*.tf", r.IntN(40))}
		case 14, 15:
			rec.Governs = []string{fmt.Sprintf("{libs,pkg}/lib%03d/**/*.go", r.IntN(200))}
		case 16:
			// Broad globs are few: a handful of organisation-wide choices.
			if r.IntN(25) == 0 {
				rec.Governs = []string{[]string{"services/*/migrations/**", "services/*/Dockerfile", "services/*/api/**"}[r.IntN(3)]}
			} else {
				rec.Governs = []string{"services/" + svc + "/internal/**"}
			}
		case 17:
			if r.IntN(25) == 0 {
				rec.Governs = []string{[]string{"**/*.proto", "**/Makefile", "**/*.sql"}[r.IntN(3)]}
			} else {
				rec.Governs = []string{"services/" + svc + "/migrations/*.sql"}
			}
		}
		if i > 1 && r.IntN(10) == 0 {
			rec.Supersedes = []string{fmt.Sprintf("ADR-%05d", i-1-r.IntN(min(i-1, 50)))}
		}
		records = append(records, rec)
	}
	// A superseded record says so, as content would read it.
	byID := map[string]*content.Record{}
	for _, rec := range records {
		byID[rec.ID] = rec
	}
	for _, rec := range records {
		for _, s := range rec.Supersedes {
			byID[s].Status = content.StatusSuperseded
		}
	}
	return content.NewCorpus([]*content.Repo{{Name: "acme/mono", Config: content.DefaultConfig()}}, records)
}

// benchPR changes 3,000 files across 150 services, libraries and
// environments, each with a small patch.
func benchPR() PullRequest {
	r := rand.New(rand.NewPCG(3, 4))
	pr := PullRequest{Repository: "acme/mono", Number: 42, Title: "Move every service to the new logger", Author: "alice", HeadSHA: "feedface",
		Body: "## Why\n\nThe old logger drops lines under load, so incidents are debugged blind.\n\nDecision: ADR-09000, ADR-09999 and acme/mono#ADR-12.\n"}
	shapes := []string{"cmd/server/main.go", "internal/handler/%d.go", "api/v%d.proto", "migrations/%04d.sql", "Dockerfile", "README.md"}
	seen := map[string]bool{}
	for len(pr.Files) < 3000 {
		var p string
		switch k := r.IntN(10); {
		case k < 7:
			shape := shapes[r.IntN(len(shapes))]
			if shape[len(shape)-1] != 'e' && shape != "README.md" && shape != "cmd/server/main.go" {
				shape = fmt.Sprintf(shape, r.IntN(40))
			}
			p = fmt.Sprintf("services/svc%03d/%s", r.IntN(150), shape)
		case k < 8:
			p = fmt.Sprintf("libs/lib%03d/log/%d.go", r.IntN(200), r.IntN(20))
		case k < 9:
			p = fmt.Sprintf("infra/env%02d/main.tf", r.IntN(40))
		default:
			p = fmt.Sprintf("web/src/components/c%04d.tsx", r.IntN(5000))
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		pr.Files = append(pr.Files, File{Path: p, Status: "modified", Additions: 3, Deletions: 2,
			Patch: "@@ -10,6 +10,7 @@ func run() {\n \tctx := context.Background()\n-\tlog.Printf(\"start\")\n+\tlogger.Info(\"start\")\n+\tdefer logger.Sync()\n \treturn nil\n }"})
	}
	// GitHub lists a pull request's files in path order.
	slices.SortFunc(pr.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return pr
}

func benchInput(b *testing.B) Input {
	c := benchCorpus(10000)
	cfg, problems := LoadConfig(ConfigFile{}, ConfigFile{Name: "acme/mono: .github/backstory.yml", Data: []byte(`check:
  mode: enforce
  ignore: ["**/*.lock", "go.sum", "**/*_gen.go", "web/dist/**"]
  rules:
    - name: api
      paths: ["services/*/api/**", "**/*.proto"]
      need: decision
    - name: big
      min_lines: 2000
      need: decision
    - name: infra
      paths: ["infra/**"]
      labels: [infra]
      need: decision
`)})
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	return Input{PR: benchPR(), Config: cfg, Corpus: c, Governs: c.GovernIndex(), Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), SiteURL: "https://why.acme.dev"}
}

// BenchmarkEvaluate3000Files10kRecords is the App's worst case: GitHub lists
// at most 3,000 files of a pull request, checked against an organisation's
// worth of decisions, with the governs index prebuilt (the App caches it per
// corpus).
func BenchmarkEvaluate3000Files10kRecords(b *testing.B) {
	in := benchInput(b)
	v := Evaluate(in)
	if len(v.Governing) < 1000 || len(v.Annotations) != MaxAnnotations || len(v.Linked) != 3 {
		b.Fatalf("the benchmark's pull request should be governed: %d governed files, %d annotations, %d linked", len(v.Governing), len(v.Annotations), len(v.Linked))
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(in)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/evaluate")
}

// BenchmarkGovernIndexBuild10kRecords measures what the App pays once per
// corpus: indexing the governs globs of 10,000 decisions.
func BenchmarkGovernIndexBuild10kRecords(b *testing.B) {
	c := benchCorpus(10000)
	b.ReportAllocs()
	for b.Loop() {
		content.NewGovernIndex(c)
	}
}
