package check

import (
	"testing"
	"time"

	"github.com/backstory-dev/backstory/content"
)

// TestGolden renders representative verdicts; testdata/golden holds what a
// reviewer approved. Run with -update to rewrite them after a deliberate
// change, and read the diff.
func TestGolden(t *testing.T) {
	queueFiles := []File{
		{Path: "services/cart/queue/consumer.go", Status: "modified", Additions: 120, Deletions: 30, Patch: "@@ -10,3 +10,4 @@\n ctx\n-old()\n+new()\n ctx"},
		{Path: "services/cart/queue/consumer_test.go", Status: "added", Additions: 90},
		{Path: "services/legacy/soap.go", Status: "modified", Additions: 2, Deletions: 2},
		{Path: "infra/prod/main.tf", Status: "modified", Additions: 4},
		{Path: "go.sum", Status: "modified", Additions: 40, Deletions: 12},
	}
	withRules := func(in *Input) {
		cfg, problems := LoadConfig(
			ConfigFile{Name: "acme/.github: .github/backstory.yml", Data: []byte("check:\n  mode: enforce\n  ignore: [go.sum]\n")},
			ConfigFile{Name: "acme/shop: .github/backstory.yml", Data: []byte("check:\n  rules:\n    - name: queues\n      paths: [\"services/*/queue/**\"]\n      min_lines: 200\n      need: decision\n")},
		)
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		in.Config = cfg
	}
	tests := []struct {
		name   string
		change func(in *Input)
	}{
		{"missing-intent-enforce", func(in *Input) {
			in.Config.Mode = ModeEnforce
			in.PR.Body = "## Why\n\n<!-- Tell reviewers why. -->\nFaster.\n\n## Testing\n\nUnit tests."
			in.PR.Files = queueFiles
		}},
		{"intent-given", func(in *Input) {
			in.PR.Files = queueFiles[3:]
		}},
		{"missing-decision-advise", func(in *Input) {
			withRules(in)
			in.Config.Mode = ModeAdvise
			in.PR.Files = queueFiles
		}},
		{"decision-linked", func(in *Input) {
			withRules(in)
			in.SiteURL = "https://why.acme.dev"
			in.PR.Body = goodWhy + "\nDecision: [ADR-0005](https://why.acme.dev/repos/acme-shop/0005-use-kafka/), within acme/platform#ADR-1.\n"
			in.PR.Files = queueFiles
		}},
		{"bad-references", func(in *Input) {
			in.Config.Mode = ModeEnforce
			in.PR.Body = goodWhy + "\nSee ADR-0007, acme/platform#ADR-4 and acme/billing#ADR-2.\n"
		}},
		{"collisions", func(in *Input) {
			in.Config.Mode = ModeEnforce
			in.PR.Records = []*content.Record{
				record(t, "acme/shop", "docs/decisions/0005-cache-prices.md", "---\nid: ADR-0005\ntitle: Cache prices\nstatus: proposed\n---\n# Cache prices\n"),
				record(t, "acme/shop", "docs/decisions/0009-drop-soap/README.md", "# Drop SOAP\n\nStatus: proposed\n"),
			}
			in.PR.Files = append(in.PR.Files, File{Path: "docs/decisions/0005-cache-prices.md", Status: "added", Additions: 30}, File{Path: "docs/decisions/0009-drop-soap/README.md", Status: "added", Additions: 20})
			in.OpenPRRecords = []Numbered{{Folder: "docs/decisions", Number: 9, Path: "docs/decisions/0009-retire-soap-now.md", PR: 12}}
		}},
		{"config-errors", func(in *Input) {
			cfg, problems := LoadConfig(ConfigFile{Name: "acme/.github: .github/backstory.yml"},
				ConfigFile{Name: "acme/shop: .github/backstory.yml", Data: []byte("check:\n  mode: enforced\n  rule:\n    - need: decision\n  intent:\n    min_words: 0\n")})
			in.Config, in.ConfigProblems = cfg, problems
			in.PR.Body = "## Why\n\nFaster."
		}},
		{"skipped-draft", func(in *Input) {
			in.PR.Draft = true
			in.PR.Body = ""
			in.PR.Files = queueFiles[:1]
		}},
		{"waived", func(in *Input) {
			in.Config.Mode = ModeEnforce
			in.PR.Body = ""
			in.PR.Waiver = &Waiver{By: "bob", At: time.Date(2025, 1, 14, 16, 20, 0, 0, time.UTC)}
		}},
		{"only-ignored", func(in *Input) {
			in.Config.Ignore = []string{"go.sum", "**/*.lock"}
			in.PR.Body = ""
			in.PR.Files = []File{{Path: "go.sum", Additions: 300}, {Path: "web/yarn.lock", Additions: 20}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input(t)
			tt.change(&in)
			golden(t, tt.name+".md", Evaluate(in).Markdown())
		})
	}
}
