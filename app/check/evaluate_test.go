package check

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/content"
)

func TestNeedsAndEscapeHatches(t *testing.T) {
	decisionOnQueues := Rule{Name: "queues", Paths: []string{"services/*/queue/**"}, Need: NeedDecision}
	tests := []struct {
		name       string
		change     func(in *Input)
		need       Need
		missing    Need
		skipped    string
		conclusion Conclusion
		rules      []string
	}{
		{
			name:   "the default asks for a why, and the body has one",
			change: func(in *Input) {}, need: NeedIntent, conclusion: Success,
		},
		{
			name:   "no why in advise mode is neutral",
			change: func(in *Input) { in.PR.Body = "Faster." }, need: NeedIntent, missing: NeedIntent, conclusion: Neutral,
		},
		{
			name: "no why in enforce mode fails",
			change: func(in *Input) {
				in.PR.Body = ""
				in.Config.Mode = ModeEnforce
			}, need: NeedIntent, missing: NeedIntent, conclusion: Failure,
		},
		{
			name: "a skip label, in any case",
			change: func(in *Input) {
				in.PR.Body = ""
				in.PR.Labels = []string{"bug", "No-Backstory"}
			}, need: NeedIntent, missing: NeedIntent, skipped: "label No-Backstory", conclusion: Success,
		},
		{
			name: "a bot author",
			change: func(in *Input) {
				in.PR.Body, in.PR.Author, in.PR.AuthorIsBot = "", "renovate[bot]", true
			}, need: NeedIntent, missing: NeedIntent, skipped: "@renovate[bot] is a bot", conclusion: Success,
		},
		{
			name: "a bot author when bots are checked",
			change: func(in *Input) {
				in.PR.Body, in.PR.Author, in.PR.AuthorIsBot = "", "renovate[bot]", true
				in.Config.Skip.Bots = false
			}, need: NeedIntent, missing: NeedIntent, conclusion: Neutral,
		},
		{
			name: "a draft",
			change: func(in *Input) {
				in.PR.Body, in.PR.Draft = "", true
			}, need: NeedIntent, missing: NeedIntent, skipped: "draft", conclusion: Success,
		},
		{
			name: "a draft when drafts are checked",
			change: func(in *Input) {
				in.PR.Body, in.PR.Draft = "", true
				in.Config.Skip.Drafts = false
			}, need: NeedIntent, missing: NeedIntent, conclusion: Neutral,
		},
		{
			name: "an author glob, with [bot] as plain text",
			change: func(in *Input) {
				in.PR.Body, in.PR.Author = "", "Dependabot[bot]"
				in.Config.Skip.Authors = []string{"release-*", "dependabot[bot]"}
			}, need: NeedIntent, missing: NeedIntent, skipped: "author @Dependabot[bot] matches dependabot[bot]", conclusion: Success,
		},
		{
			name: "an author glob that does not match",
			change: func(in *Input) {
				in.PR.Body, in.PR.Author = "", "alice"
				in.Config.Skip.Authors = []string{"release-*", "*[bot]"}
			}, need: NeedIntent, missing: NeedIntent, conclusion: Neutral,
		},
		{
			name: "a waiver",
			change: func(in *Input) {
				in.PR.Body = ""
				in.Config.Mode = ModeEnforce
				in.PR.Waiver = &Waiver{By: "bob", At: time.Date(2025, 1, 2, 15, 4, 0, 0, time.UTC)}
			}, need: NeedIntent, missing: NeedIntent, conclusion: Success,
		},
		{
			name: "a waiver does not hide configuration errors",
			change: func(in *Input) {
				in.PR.Waiver = &Waiver{By: "bob", At: now}
				in.ConfigProblems = []content.Problem{{File: "acme/shop: .github/backstory.yml", Line: 3, Severity: content.SeverityError, Message: "check.mode: bad"}}
			}, need: NeedIntent, conclusion: Failure,
		},
		{
			name: "only ignored files need nothing",
			change: func(in *Input) {
				in.PR.Body = ""
				in.Config.Ignore = []string{"**/*.lock", "go.sum"}
				in.PR.Files = []File{{Path: "go.sum", Additions: 900}, {Path: "web/yarn.lock", Additions: 40}}
			}, need: NeedNothing, conclusion: Success,
		},
		{
			name: "ignored files are left out of min_lines",
			change: func(in *Input) {
				in.Config.Ignore = []string{"go.sum"}
				in.Config.Rules = []Rule{{Name: "big", MinLines: 100, Need: NeedDecision}}
				in.PR.Files = []File{{Path: "go.sum", Additions: 900}, {Path: "main.go", Additions: 10}}
			}, need: NeedIntent, conclusion: Success,
		},
		{
			name: "min_lines counts additions and deletions",
			change: func(in *Input) {
				in.Config.Rules = []Rule{{Name: "big", MinLines: 100, Need: NeedDecision}}
				in.PR.Files = []File{{Path: "a.go", Additions: 60}, {Path: "b.go", Deletions: 40}}
			}, need: NeedDecision, missing: NeedDecision, conclusion: Neutral, rules: []string{"big"},
		},
		{
			name: "min_files counts files not ignored",
			change: func(in *Input) {
				in.Config.Ignore = []string{"gen/**"}
				in.Config.Rules = []Rule{{Name: "wide", MinFiles: 3, Need: NeedDecision}}
				in.PR.Files = []File{{Path: "a.go"}, {Path: "b.go"}, {Path: "gen/c.go"}}
			}, need: NeedIntent, conclusion: Success,
		},
		{
			name: "min_files reached",
			change: func(in *Input) {
				in.Config.Rules = []Rule{{Name: "wide", MinFiles: 3, Need: NeedDecision}}
				in.PR.Files = []File{{Path: "a.go"}, {Path: "b.go"}, {Path: "gen/c.go"}}
			}, need: NeedDecision, missing: NeedDecision, conclusion: Neutral, rules: []string{"wide"},
		},
		{
			name: "paths match a changed file",
			change: func(in *Input) {
				in.Config.Rules = []Rule{decisionOnQueues}
				in.PR.Files = []File{{Path: "services/cart/queue/consumer.go"}}
			}, need: NeedDecision, missing: NeedDecision, conclusion: Neutral, rules: []string{"queues"},
		},
		{
			name: "paths match the old path of a renamed file",
			change: func(in *Input) {
				in.Config.Rules = []Rule{decisionOnQueues}
				in.PR.Files = []File{{Path: "services/cart/events/consumer.go", PreviousPath: "services/cart/queue/consumer.go", Status: "renamed"}}
			}, need: NeedDecision, missing: NeedDecision, conclusion: Neutral, rules: []string{"queues"},
		},
		{
			name: "paths of ignored files do not count",
			change: func(in *Input) {
				in.Config.Ignore = []string{"**/*_gen.go"}
				in.Config.Rules = []Rule{decisionOnQueues}
				in.PR.Files = []File{{Path: "services/cart/queue/types_gen.go"}, {Path: "main.go"}}
			}, need: NeedIntent, conclusion: Success,
		},
		{
			name: "labels: any of them, in any case",
			change: func(in *Input) {
				in.Config.Rules = []Rule{{Name: "arch", Labels: []string{"architecture", "rfc"}, Need: NeedDecision}}
				in.PR.Labels = []string{"RFC"}
			}, need: NeedDecision, missing: NeedDecision, conclusion: Neutral, rules: []string{"arch"},
		},
		{
			name: "authors: any glob",
			change: func(in *Input) {
				in.Config.Rules = []Rule{{Name: "interns", Authors: []string{"intern-*"}, Need: NeedDecision}}
				in.PR.Author = "Intern-Zoe"
			}, need: NeedDecision, missing: NeedDecision, conclusion: Neutral, rules: []string{"interns"},
		},
		{
			name: "conditions are AND-ed",
			change: func(in *Input) {
				in.Config.Rules = []Rule{{Name: "both", Labels: []string{"architecture"}, MinLines: 500, Need: NeedDecision}}
				in.PR.Labels = []string{"architecture"}
			}, need: NeedIntent, conclusion: Success,
		},
		{
			name: "the highest need of the matching rules wins",
			change: func(in *Input) {
				in.Config.Rules = []Rule{{Name: "docs", Paths: []string{"**/*.md"}, Need: NeedNothing}, {Name: "all", Need: NeedDecision}, {Name: "some", Need: NeedIntent}}
			}, need: NeedDecision, missing: NeedDecision, conclusion: Neutral, rules: []string{"docs", "all", "some"},
		},
		{
			name: "a rule can lower the need when it alone matches",
			change: func(in *Input) {
				in.PR.Body = ""
				in.Config.Rules = []Rule{{Name: "docs", Paths: []string{"**/*.md"}, Need: NeedNothing}}
			}, need: NeedNothing, conclusion: Success, rules: []string{"docs"},
		},
		{
			name: "a rule without conditions matches every pull request",
			change: func(in *Input) {
				in.Config.Rules = []Rule{{Need: NeedDecision}}
			}, need: NeedDecision, missing: NeedDecision, conclusion: Neutral, rules: []string{"rule 1"},
		},
		{
			name: "the default applies when no rule matches",
			change: func(in *Input) {
				in.PR.Body = ""
				in.Config.Default = NeedNothing
				in.Config.Rules = []Rule{decisionOnQueues}
			}, need: NeedNothing, conclusion: Success,
		},
		{
			name: "without a file list, path and size rules cannot match but label rules can",
			change: func(in *Input) {
				in.PR.Files = nil
				in.PR.Labels = []string{"architecture"}
				in.Config.Rules = []Rule{{Name: "any-path", Paths: []string{"**"}, Need: NeedDecision}, {Name: "small", MinLines: 0, MinFiles: 1, Need: NeedDecision}, {Name: "arch", Labels: []string{"architecture"}, Need: NeedIntent}}
			}, need: NeedIntent, conclusion: Success, rules: []string{"arch"},
		},
		{
			name: "a decision need is not met by a why",
			change: func(in *Input) {
				in.Config.Default = NeedDecision
			}, need: NeedDecision, missing: NeedDecision, conclusion: Neutral,
		},
		{
			name: "an intent need is met by a linked decision",
			change: func(in *Input) {
				in.PR.Body = "Implements ADR-0005."
			}, need: NeedIntent, conclusion: Success,
		},
		{
			name: "an intent need is met by an intent record the pull request adds",
			change: func(in *Input) {
				in.PR.Body = ""
				in.PR.Records = []*content.Record{record(t, "acme/shop", "docs/intents/faster-checkout.md", "---\nkind: intent\n---\n# Faster checkout\n")}
			}, need: NeedIntent, conclusion: Success,
		},
		{
			name: "a decision need is met by a decision record the pull request adds",
			change: func(in *Input) {
				in.Config.Default = NeedDecision
				in.PR.Records = []*content.Record{record(t, "acme/shop", "docs/decisions/0009-cache-prices.md", "# Cache prices\n\nStatus: proposed\n")}
			}, need: NeedDecision, conclusion: Success,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input(t)
			tt.change(&in)
			v := Evaluate(in)
			if v.Need != tt.need || v.Missing != tt.missing || v.Skipped != tt.skipped || v.Conclusion != tt.conclusion {
				t.Errorf("need %s, missing %s, skipped %q, conclusion %s; want %s, %s, %q, %s\n%s",
					v.Need, v.Missing, v.Skipped, v.Conclusion, tt.need, tt.missing, tt.skipped, tt.conclusion, v.Markdown())
			}
			var rules []string
			for _, m := range v.Rules {
				rules = append(rules, m.Name)
			}
			if !reflect.DeepEqual(rules, tt.rules) {
				t.Errorf("rules that matched = %q, want %q", rules, tt.rules)
			}
		})
	}
}

func TestRuleReasonsSayWhatMatched(t *testing.T) {
	in := input(t)
	in.Config.Rules = []Rule{{Name: "queues", Paths: []string{"services/*/queue/**"}, MinLines: 10, Labels: []string{"kafka"}, Authors: []string{"ali*"}, Need: NeedDecision, Source: "acme/shop: .github/backstory.yml:9"}}
	in.PR.Labels = []string{"kafka"}
	in.PR.Files = []File{{Path: "services/cart/queue/a.go", Additions: 8}, {Path: "services/cart/queue/b.go", Additions: 4}, {Path: "main.go"}}
	v := Evaluate(in)
	if len(v.Rules) != 1 {
		t.Fatalf("rules = %+v", v.Rules)
	}
	want := []string{
		"changes 2 files that match its paths, such as services/cart/queue/a.go (services/*/queue/**)",
		"changes 12 lines (min_lines: 10)",
		"has the label kafka",
		"is by @alice (authors: ali*)",
	}
	if got := v.Rules[0].Because; !reflect.DeepEqual(got, want) {
		t.Errorf("because =\n%q\nwant\n%q", got, want)
	}
	if !strings.Contains(v.Summary, "acme/shop: .github/backstory.yml:9") {
		t.Errorf("the summary does not say where the rule is:\n%s", v.Summary)
	}
}

func TestWaiverIsShownWithWhoAndWhen(t *testing.T) {
	in := input(t)
	in.PR.Body = ""
	in.PR.Waiver = &Waiver{By: "bob", At: time.Date(2025, 1, 2, 15, 4, 0, 0, time.FixedZone("CET", 3600))}
	v := Evaluate(in)
	if v.Waived == nil || v.Waived.By != "bob" {
		t.Fatalf("Waived = %+v", v.Waived)
	}
	if v.Title != "Waived by @bob" || !strings.Contains(v.Summary, "Waived by @bob on 2025-01-02 14:04 UTC") {
		t.Errorf("title %q, summary:\n%s", v.Title, v.Summary)
	}
	if len(v.Actions) != 0 {
		t.Errorf("a waived check offers %+v", v.Actions)
	}
}

func TestWaiveButton(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*Input)
		want   bool
	}{
		{"met", func(in *Input) {}, false},
		{"missing why", func(in *Input) { in.PR.Body = "" }, true},
		{"missing reference", func(in *Input) { in.PR.Body = goodWhy + "\nSee ADR-0099." }, true},
		{"skipped", func(in *Input) { in.PR.Body, in.PR.Draft = "", true }, false},
		{"only a configuration error", func(in *Input) {
			in.ConfigProblems = []content.Problem{{File: "x", Line: 1, Severity: content.SeverityError, Message: "bad"}}
		}, false},
	} {
		v := Evaluate(func() Input { in := input(t); tt.change(&in); return in }())
		if got := len(v.Actions) == 1; got != tt.want {
			t.Errorf("%s: actions %+v, want the button: %v", tt.name, v.Actions, tt.want)
			continue
		}
		for _, a := range v.Actions {
			if a.Identifier != ActionWaive || len(a.Label) > 20 || len(a.Description) > 40 || len(a.Identifier) > 20 {
				t.Errorf("%s: action %+v breaks GitHub's limits", tt.name, a)
			}
		}
	}
}

func TestConfigErrorsFailEvenWhenEverythingElsePasses(t *testing.T) {
	in := input(t)
	in.PR.Draft = true
	in.ConfigProblems = []content.Problem{
		{File: "acme/shop: .github/backstory.yml", Line: 12, Severity: content.SeverityWarning, Code: "config-rule", Message: "a warning"},
		{File: "acme/shop: .github/backstory.yml", Line: 4, Severity: content.SeverityError, Code: "config-value", Message: "check.mode: \"enforced\" is not a mode: write enforce or advise"},
	}
	v := Evaluate(in)
	if v.Conclusion != Failure || v.Title != "The backstory configuration has 1 error" {
		t.Fatalf("conclusion %s, title %q", v.Conclusion, v.Title)
	}
	first := strings.Index(v.Summary, "acme/shop: .github/backstory.yml:4")
	if first < 0 || first > strings.Index(v.Summary, "Skipped") {
		t.Errorf("the summary does not list the error first:\n%s", v.Summary)
	}
	if strings.Contains(v.Summary, "a warning") || !strings.Contains(v.Text, "a warning") {
		t.Errorf("warnings belong in the text only")
	}
}

func TestGoverningDecisions(t *testing.T) {
	in := input(t)
	in.PR.Files = []File{
		{Path: "services/cart/queue/consumer.go", Status: "modified", Patch: "@@ -10,3 +10,4 @@ func run() {\n ctx := context.Background()\n-\told()\n+\tnew()\n }"},
		{Path: "services/legacy/soap.go", Status: "added", Patch: "@@ -0,0 +1,2 @@\n+package legacy\n+"},
		{Path: "services/cart/queue/old.go", Status: "removed"},
		{Path: "infra/prod/main.tf", Status: "modified"},
		{Path: "docs/README.md", Status: "modified"},
		{Path: "libs/log/log.go", Status: "modified"},
		{Path: "libs/log/log_test.go", Status: "modified"},
		{Path: "services/cart/pricing/price.go", Status: "modified"},
	}
	v := Evaluate(in)
	got := map[string][]string{}
	for _, g := range v.Governing {
		got[g.Path] = ids(g.Records)
	}
	want := map[string][]string{
		// Newest first; acme/platform's ADR-0001 governs services/** in
		// its own repository, not here.
		"services/cart/queue/consumer.go": {"ADR-0005", "ADR-0004", "ADR-0002"},
		"services/legacy/soap.go":         {"ADR-0006", "ADR-0004"},
		"infra/prod/main.tf":              {"ADR-0003"},
		"libs/log/log.go":                 {"ADR-0004"},
		"libs/log/log_test.go":            {"ADR-0004"},
		"services/cart/pricing/price.go":  {"ADR-0008", "ADR-0004"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("governing = %v, want %v", got, want)
	}
	// A warning on every file governed by a decision that no longer
	// holds; a notice on the first changed file of each other decision
	// only, naming the decisions not noted yet.
	ann := map[string]Annotation{}
	for _, a := range v.Annotations {
		ann[a.Path] = a
	}
	for _, tt := range []struct {
		path, level string
		line        int
		says        []string
		not         []string
	}{
		{"services/cart/queue/consumer.go", "warning", 11, []string{"ADR-0002 “Queue work through RabbitMQ” (superseded, 2023-02-01)", "Superseded by ADR-0005 “Push state to consumers through Kafka”"}, nil},
		{"services/legacy/soap.go", "warning", 1, []string{"ADR-0006", "(deprecated, 2023-06-01): it no longer holds"}, nil},
		{"infra/prod/main.tf", "notice", 1, []string{"ADR-0003 “One Terraform root per environment” (accepted, 2023-03-15)", "https://github.com/acme/shop/blob/main/docs/decisions/0003-terraform-layout.md"}, nil},
		{"libs/log/log.go", "notice", 1, []string{"ADR-0004 “Write services in Go”"}, nil},
		{"services/cart/pricing/price.go", "notice", 1, []string{"ADR-0008"}, []string{"ADR-0004"}},
	} {
		a, ok := ann[tt.path]
		if !ok {
			t.Errorf("no annotation on %s", tt.path)
			continue
		}
		if a.Level != tt.level || a.StartLine != tt.line || a.EndLine != tt.line {
			t.Errorf("%s: level %s lines %d-%d, want %s at %d", tt.path, a.Level, a.StartLine, a.EndLine, tt.level, tt.line)
		}
		for _, s := range tt.says {
			if !strings.Contains(a.Message, s) {
				t.Errorf("%s: the message does not say %q:\n%s", tt.path, s, a.Message)
			}
		}
		for _, s := range tt.not {
			if strings.Contains(a.Title+a.Message, s) {
				t.Errorf("%s: the annotation names %s again:\n%s\n%s", tt.path, s, a.Title, a.Message)
			}
		}
	}
	if len(v.Annotations) != 5 {
		t.Errorf("%d annotations, want 5 (not libs/log/log_test.go, whose ADR-0004 is noted on log.go):\n%+v", len(v.Annotations), v.Annotations)
	}
	// The review date is the maintainers' business: in the details only.
	if strings.Contains(v.Summary, "review") || !strings.Contains(v.Text, "(since 2024-03-15)") {
		t.Errorf("ADR-0003's overdue review should be in the details only:\n%s\n---\n%s", v.Summary, v.Text)
	}
	// The table cuts ADR-0004's files short, so the details list every
	// file, decisions in the table's order: those that no longer hold
	// first, then newest first.
	if !strings.Contains(v.Summary, "`libs/log/log.go`, `libs/log/log_test.go`, `services/cart/pricing/price.go` and 2 more |") ||
		!strings.Contains(v.Text, "- `services/cart/queue/consumer.go`: ADR-0002 (superseded), ADR-0005, ADR-0004\n") {
		t.Errorf("the table and the details:\n%s\n---\n%s", v.Summary, v.Text)
	}
	// When the table names every file, the details do not list them again.
	in.PR.Files = in.PR.Files[:3]
	if v := Evaluate(in); strings.Contains(v.Text, "File by file") || strings.Contains(v.Text, "- `services/legacy/soap.go`") {
		t.Errorf("the details repeat the table:\n%s\n---\n%s", v.Summary, v.Text)
	}
	// Decisions that no longer hold come first in the table.
	if i, j := strings.Index(v.Summary, "ADR-0002]"), strings.Index(v.Summary, "ADR-0003]"); i < 0 || j < 0 || i > j {
		t.Errorf("superseded ADR-0002 should be listed before ADR-0003:\n%s", v.Summary)
	}
}

func TestFirstAddedLine(t *testing.T) {
	tests := []struct {
		patch string
		want  int
	}{
		{"", 1},
		{"@@ -1,3 +1,4 @@\n a\n+b\n c", 2},
		{"@@ -10,4 +12,3 @@ func f() {\n a\n-b\n c\n d", 12},         // deletions only: where the hunk starts
		{"@@ -10 +10 @@\n-a\n+b", 10},                                // counts without commas
		{"@@ -1,2 +1,2 @@\n a\n b\n@@ -40,2 +41,3 @@\n x\n\n+y", 43}, // an empty context line
		{"@@ -0,0 +1 @@\n+new file", 1},
		{"@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b", 1},
		{"Binary files differ", 1},
	}
	for _, tt := range tests {
		if got := firstAddedLine(tt.patch); got != tt.want {
			t.Errorf("firstAddedLine(%q) = %d, want %d", tt.patch, got, tt.want)
		}
	}
}

func TestAnnotationsAreCappedAndTheTextSaysSo(t *testing.T) {
	in := input(t)
	in.PR.Files = nil
	// Every file is governed by the deprecated ADR-0006: each is worth a
	// warning.
	for i := range MaxAnnotations + 120 {
		in.PR.Files = append(in.PR.Files, File{Path: fmt.Sprintf("services/legacy/s%04d/main.go", i), Status: "added", Additions: 1})
	}
	v := Evaluate(in)
	if len(v.Governing) != MaxAnnotations+120 || len(v.Annotations) != MaxAnnotations {
		t.Fatalf("%d governed, %d annotations", len(v.Governing), len(v.Annotations))
	}
	if !strings.Contains(v.Text, "Annotations mark the first 500 of the 620 files worth a note") {
		t.Errorf("the text does not say annotations were capped:\n%s", v.Text)
	}
	if !strings.Contains(v.Summary, "`services/legacy/s0000/main.go`, `services/legacy/s0001/main.go`, `services/legacy/s0002/main.go` and 617 more") {
		t.Errorf("the summary does not list files compactly:\n%s", v.Summary)
	}
	// The table could not name them all: the details do, decisions in the
	// table's order.
	if !strings.Contains(v.Text, "File by file:") || !strings.Contains(v.Text, "- `services/legacy/s0619/main.go`: ADR-0006 (deprecated), ADR-0004") {
		t.Errorf("the details do not list every file:\n%s", v.Text)
	}
	// Decisions in force get one notice in all.
	in.PR.Files = in.PR.Files[:0]
	for i := range 50 {
		in.PR.Files = append(in.PR.Files, File{Path: fmt.Sprintf("libs/l%02d/main.go", i), Status: "added", Additions: 1})
	}
	if v := Evaluate(in); len(v.Annotations) != 1 || v.Annotations[0].Path != "libs/l00/main.go" || v.Annotations[0].Level != "notice" {
		t.Errorf("annotations of files governed by ADR-0004 alone: %+v", v.Annotations)
	}
}

func TestOutputIsCutToGitHubsLimit(t *testing.T) {
	in := input(t)
	in.PR.Files = nil
	for i := range 3000 {
		in.PR.Files = append(in.PR.Files, File{Path: fmt.Sprintf("services/some-rather-long-service-name-%04d/internal/handlers/main.go", i), Status: "added", Additions: 1})
	}
	v := Evaluate(in)
	for name, s := range map[string]string{"summary": v.Summary, "text": v.Text} {
		if len(s) > MaxOutput {
			t.Errorf("the %s has %d bytes, more than %d", name, len(s), MaxOutput)
		}
	}
	if !strings.Contains(v.Text, "more lines not shown: a check run holds at most 65535 characters") {
		t.Errorf("the text does not say it was cut:\n%s", v.Text[len(v.Text)-300:])
	}
	if strings.Count(v.Text, "```")%2 != 0 {
		t.Error("the text was cut inside a code block")
	}
}

func TestEvaluateIsDeterministic(t *testing.T) {
	in := input(t)
	in.PR.Body = "See ADR-0099, ADR-0005 and acme/platform#ADR-1."
	in.PR.Files = []File{{Path: "services/b/queue/x.go"}, {Path: "services/a/queue/y.go"}, {Path: "infra/a/main.tf"}}
	first := Evaluate(in)
	// The same pull request with its files in another order.
	in.PR.Files[0], in.PR.Files[2] = in.PR.Files[2], in.PR.Files[0]
	for range 5 {
		if again := Evaluate(in); !reflect.DeepEqual(again, first) {
			t.Fatal("two evaluations of the same input differ")
		}
	}
}

func TestEvaluateWithoutCorpus(t *testing.T) {
	in := input(t)
	in.Corpus = nil
	in.PR.Body = "## Why\n\nSee ADR-0005, which explains why consumers must not poll the cart service."
	v := Evaluate(in)
	if len(v.Governing) != 0 || len(v.BadRefs) != 1 || v.BadRefs[0].Ref != "ADR-0005" || v.Conclusion != Neutral {
		t.Errorf("without records: governing %v, bad refs %+v, conclusion %s", v.Governing, v.BadRefs, v.Conclusion)
	}
}

func TestNeedWords(t *testing.T) {
	for _, n := range []Need{NeedNothing, NeedIntent, NeedDecision} {
		got, err := ParseNeed(" " + strings.ToUpper(n.String()) + " ")
		if err != nil || got != n {
			t.Errorf("ParseNeed(%q) = %v, %v", n.String(), got, err)
		}
		var back Need
		if err := back.UnmarshalText([]byte(n.String())); err != nil || back != n {
			t.Errorf("UnmarshalText(%q) = %v, %v", n, back, err)
		}
	}
	if _, err := ParseNeed("none"); err == nil || !strings.Contains(err.Error(), "write nothing, intent or decision") {
		t.Errorf("ParseNeed(none) = %v", err)
	}
	if NeedNothing >= NeedIntent || NeedIntent >= NeedDecision {
		t.Error("needs are not ordered")
	}
	if _, err := ParseMode("enforced"); err == nil {
		t.Error("ParseMode(enforced) should fail")
	}
	if m, err := ParseMode("Advise"); err != nil || m != ModeAdvise {
		t.Errorf("ParseMode(Advise) = %v, %v", m, err)
	}
}

func TestAnnotationsNameDecisionsThatNoLongerHoldFirst(t *testing.T) {
	var records []*content.Record
	for i := 1; i <= 7; i++ {
		r := &content.Record{Repo: "acme/big", Path: fmt.Sprintf("docs/decisions/%04d-d.md", i), ID: fmt.Sprintf("ADR-%04d", i), Number: i,
			Kind: content.KindDecision, Title: fmt.Sprintf("Decision %d", i), Status: content.StatusAccepted, Governs: []string{"src/**"},
			Date: content.Date{Time: time.Date(2020, 1, i, 0, 0, 0, 0, time.UTC)}}
		if i == 1 {
			r.Status = content.StatusDeprecated // the oldest, so the last of newest first
		}
		records = append(records, r)
	}
	in := input(t)
	in.PR.Repository = "acme/big"
	in.Corpus = content.NewCorpus([]*content.Repo{{Name: "acme/big", Config: content.DefaultConfig()}}, records)
	in.PR.Files = []File{{Path: "src/main.go", Status: "modified"}}
	v := Evaluate(in)
	if len(v.Annotations) != 1 {
		t.Fatalf("annotations: %+v", v.Annotations)
	}
	a := v.Annotations[0]
	if a.Level != "warning" || !strings.HasPrefix(a.Message, "ADR-0001 “Decision 1” (deprecated, 2020-01-01): it no longer holds") ||
		!strings.HasSuffix(a.Message, "… and 2 more: see the check's details") || strings.Contains(a.Message, "ADR-0002") {
		t.Errorf("annotation %s %q:\n%s", a.Level, a.Title, a.Message)
	}
}
