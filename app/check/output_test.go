package check

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/content"
)

// What pull request authors read: each case says what the summary must
// and must not say.

// snippet returns the first fenced block of lang in markdown.
func snippet(t *testing.T, md, lang string) string {
	t.Helper()
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)\n```").FindStringSubmatch(md)
	if m == nil {
		t.Fatalf("no %s snippet in:\n%s", lang, md)
	}
	return m[1]
}

func checkSays(t *testing.T, name, got string, says, not []string) {
	t.Helper()
	for _, s := range says {
		if !strings.Contains(got, s) {
			t.Errorf("%s: does not say %q:\n%s", name, s, got)
		}
	}
	for _, s := range not {
		if strings.Contains(got, s) {
			t.Errorf("%s: says %q:\n%s", name, s, got)
		}
	}
}

// The decision snippet is a placeholder that fails as it is; decisions
// are suggested only when they govern the files that asked for one.
func TestDecisionSnippetSuggestsOnlyDecisionsOfTheFilesThatNeedOne(t *testing.T) {
	queues := Rule{Name: "queues", Paths: []string{"services/*/queue/**"}, Need: NeedDecision}
	infra := Rule{Name: "infra", Paths: []string{"infra/**"}, Need: NeedDecision}
	docs := Rule{Name: "docs", Paths: []string{"docs/**"}, Need: NeedDecision}
	files := []File{
		{Path: "docs/guide.md", Status: "modified"},
		{Path: "infra/prod/main.tf", Status: "modified"},
		{Path: "services/cart/queue/consumer.go", Status: "modified"},
	}
	tests := []struct {
		name      string
		rules     []Rule
		labels    []string
		says, not []string
	}{
		{
			name:  "a paths rule: the decisions of the files it matched, newest first",
			rules: []Rule{queues},
			says: []string{
				"If this change follows one of these decisions, which govern files that rule `queues` matched, link it:",
				"- [ADR-0005](https://github.com/acme/shop/blob/main/docs/decisions/0005-use-kafka.md) Push state to consumers through Kafka, governing 1 of them: `Decision: ADR-0005`\n- [ADR-0004]",
			},
			// ADR-0003 governs a changed file the rule did not match;
			// ADR-0002 is superseded.
			not: []string{"`Decision: ADR-0003`", "`Decision: ADR-0002`"},
		},
		{
			name:  "one decision is suggested in a sentence",
			rules: []Rule{infra},
			says:  []string{"If this change follows [ADR-0003](https://github.com/acme/shop/blob/main/docs/decisions/0003-terraform-layout.md) One Terraform root per environment, which governs 1 file that rule `infra` matched, link it: `Decision: ADR-0003`"},
			not:   []string{"`Decision: ADR-0005`", "`Decision: ADR-0004`"},
		},
		{
			name:  "files no decision governs: no suggestion",
			rules: []Rule{docs},
			not:   []string{"If this change follows", "`Decision: ADR-0003`"},
		},
		{
			name:  "two rules: the files of both",
			rules: []Rule{docs, infra, queues},
			says:  []string{"which govern files that rules `docs`, `infra` and `queues` matched", "`Decision: ADR-0003`", "`Decision: ADR-0005`"},
		},
		{
			name:   "a rule without paths: every changed file",
			rules:  []Rule{{Name: "rfc", Labels: []string{"rfc"}, Need: NeedDecision}},
			labels: []string{"rfc"},
			says:   []string{"which govern files changed here", "`Decision: ADR-0003`", "`Decision: ADR-0005`"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input(t)
			in.Config.Rules, in.PR.Labels, in.PR.Files = tt.rules, tt.labels, files
			v := Evaluate(in)
			if v.Missing != NeedDecision {
				t.Fatalf("missing %s", v.Missing)
			}
			checkSays(t, tt.name, v.Summary, append(tt.says, "To link an existing decision, name it in the description, with its id in place of `ADR-NNNN`:"), tt.not)
			// The snippet itself is a placeholder: pasted as it is, the
			// check still asks for a decision.
			s := snippet(t, v.Summary, "markdown")
			if s != "Decision: ADR-NNNN" {
				t.Errorf("snippet %q", s)
			}
			in.PR.Body = goodWhy + "\n" + s + "\n"
			if again := Evaluate(in); again.Missing != NeedDecision || len(again.BadRefs) != 0 {
				t.Errorf("the snippet pasted as it is: missing %s, bad refs %v", again.Missing, again.BadRefs)
			}
		})
	}
}

func TestIDPatternFollowsTheRepository(t *testing.T) {
	for _, tt := range []struct {
		prefix string
		digits int
		want   string
	}{
		{"ADR", 4, "Decision: ADR-NNNN"},
		{"DEC", 3, "Decision: DEC-NNN"},
		{"", 2, "Decision: NN"},
	} {
		in := input(t)
		in.Config.Default = NeedDecision
		cfg := content.DefaultConfig()
		cfg.IDPrefix, cfg.IDDigits = tt.prefix, tt.digits
		in.PR.Repository = "acme/other"
		in.Corpus = content.NewCorpus([]*content.Repo{{Name: "acme/other", Config: cfg}}, nil)
		v := Evaluate(in)
		if s := snippet(t, v.Summary, "markdown"); s != tt.want {
			t.Errorf("%q/%d: snippet %q, want %q", tt.prefix, tt.digits, s, tt.want)
		}
		in.PR.Body = goodWhy + tt.want
		if again := Evaluate(in); again.Missing != NeedDecision {
			t.Errorf("%q: the snippet pasted as it is passes", tt.want)
		}
	}
}

// Besides `backstory new`, the plain file, with the next free number.
func TestNewDecisionFileHasTheNextFreeNumber(t *testing.T) {
	tests := []struct {
		name   string
		change func(in *Input)
		want   string
	}{
		{"one past the highest on the default branch", func(in *Input) {}, "`docs/decisions/0009-short-title.md`"},
		{"and past those of other open pull requests", func(in *Input) {
			in.OpenPRRecords = []Numbered{{Folder: "docs/decisions", Number: 12, Path: "docs/decisions/0012-x.md", PR: 3}, {Folder: "docs/adr", Number: 40, Path: "docs/adr/0040-y.md", PR: 4}}
		}, "`docs/decisions/0013-short-title.md`"},
		{"in the repository's own folder", func(in *Input) {
			in.PR.Repository = "acme/platform"
		}, "`docs/adr/0002-short-title.md`"},
		{"a repository without records", func(in *Input) { in.Corpus = nil }, "`docs/decisions/0001-short-title.md`"},
	}
	for _, tt := range tests {
		in := input(t)
		in.Config.Default = NeedDecision
		tt.change(&in)
		v := Evaluate(in)
		checkSays(t, tt.name, v.Summary, []string{"backstory new decision", "Or add " + tt.want + " by hand (copy an existing record)."}, nil)
	}
}

// The way out, on a check that does not pass: the button and the skip
// label in the App, the label only in `backstory check`.
func TestTheWayOutIsNamed(t *testing.T) {
	const button = "Not needed here? Press **Not needed** (people with write access) or add the label `no-backstory`."
	tests := []struct {
		name      string
		change    func(in *Input)
		says, not []string
	}{
		{"missing why, in the App", func(in *Input) { in.PR.Body = "" }, []string{button}, nil},
		{"missing why, in backstory check", func(in *Input) { in.PR.Body, in.Local = "", true },
			[]string{"Not needed here? Add the label `no-backstory` to the pull request, then run the check again."}, []string{"Press"}},
		{"a missing reference", func(in *Input) { in.PR.Body = goodWhy + "See ADR-0099." }, []string{button}, nil},
		{"the first skip label configured", func(in *Input) { in.PR.Body, in.Config.Skip.Labels = "", []string{" ", "trivial", "chore"} },
			[]string{"or add the label `trivial`."}, nil},
		{"no skip label: the button only", func(in *Input) { in.PR.Body, in.Config.Skip.Labels = "", nil },
			[]string{"Not needed here? Press **Not needed** (people with write access).\n"}, []string{"label"}},
		{"no skip label and no button", func(in *Input) { in.PR.Body, in.Config.Skip.Labels, in.Local = "", nil, true }, nil, []string{"Not needed here?"}},
		{"met", func(in *Input) {}, nil, []string{"Not needed here?"}},
		{"skipped", func(in *Input) { in.PR.Body, in.PR.Draft = "", true }, nil, []string{"Not needed here?"}},
		{"waived", func(in *Input) { in.PR.Body, in.PR.Waiver = "", &Waiver{By: "bob", At: now} }, nil, []string{"Not needed here?"}},
	}
	for _, tt := range tests {
		in := input(t)
		tt.change(&in)
		v := Evaluate(in)
		checkSays(t, tt.name, v.Summary+"\n", tt.says, tt.not)
	}
}

// Configuration errors are the maintainers' to fix: said plainly, each
// listed once, linked to its line.
func TestConfigErrorsSayWhoMustFixThem(t *testing.T) {
	org := ConfigFile{Name: "acme/.github: .github/backstory.yml", Data: []byte("check:\n  mode: enforced\n")}
	repo := ConfigFile{Name: "acme/shop: .github/backstory.yml", Data: []byte("check:\n  rule: []\n  rules:\n    - paths: [docs/**]\n      need: nothing\n")}
	in := input(t)
	in.Config, in.ConfigProblems = LoadConfig(org, repo)
	v := Evaluate(in)
	checkSays(t, "summary", v.Summary, []string{
		"**The backstory configuration has 2 errors.** This is not caused by your pull request: a maintainer must fix [`acme/.github: .github/backstory.yml`](https://github.com/acme/.github/blob/HEAD/.github/backstory.yml) and [`acme/shop: .github/backstory.yml`](https://github.com/acme/shop/blob/main/.github/backstory.yml).",
		"- [`acme/.github: .github/backstory.yml:2`](https://github.com/acme/.github/blob/HEAD/.github/backstory.yml#L2): check.mode:",
		"- [`acme/shop: .github/backstory.yml:2`](https://github.com/acme/shop/blob/main/.github/backstory.yml#L2): check: unknown key",
	}, []string{"warning"})
	md := v.Markdown()
	for _, msg := range []string{`check.mode: "enforced" is not a mode`, `unknown key "rule"`} {
		if n := strings.Count(md, msg); n != 1 {
			t.Errorf("%q is listed %d times:\n%s", msg, n, md)
		}
	}
	// Warnings are in the details.
	checkSays(t, "text", v.Text, []string{"### Configuration", "acme/shop: .github/backstory.yml:4`](https://github.com/acme/shop/blob/main/.github/backstory.yml#L4): warning: check.rules\\[0\\]"}, []string{"error:"})

	// A file backstory cannot link (backstory check --org-config) is named.
	in.ConfigProblems = []content.Problem{{File: "/tmp/org.yml", Line: 3, Severity: content.SeverityError, Message: "bad"}}
	checkSays(t, "a local file", Evaluate(in).Summary, []string{"a maintainer must fix `/tmp/org.yml`.", "- `/tmp/org.yml:3`: bad"}, []string{"](http"})
}

// Where the need comes from, in words: the rule that asked for it, or the
// default and who set it.
func TestTheNeedIsExplained(t *testing.T) {
	tests := []struct {
		name      string
		config    string // .github/backstory.yml of acme/shop; "" for none
		rules     []Rule
		labels    []string
		author    string
		files     []File
		says, not []string
	}{
		{
			name: "no configuration",
			says: []string{"This repository asks every pull request for its why (backstory's default; set `check.default` in `.github/backstory.yml` to change it)."},
			not:  []string{"None of its rules", "`default: intent`"},
		},
		{
			name:   "the configuration sets the default",
			config: "check:\n  default: decision\n",
			says:   []string{"This repository asks every pull request for a linked decision record (`check.default: decision` in [`acme/shop: .github/backstory.yml:2`](https://github.com/acme/shop/blob/main/.github/backstory.yml#L2))."},
			not:    []string{"backstory's default"},
		},
		{
			name:   "rules that do not match",
			config: "check:\n  rules:\n    - paths: [\"db/**\"]\n      need: decision\n",
			says:   []string{"This repository asks every pull request for its why (backstory's default; set `check.default` in `.github/backstory.yml` to change it). None of its rules matched this one."},
		},
		{
			name:  "a paths rule, after the rule",
			rules: []Rule{{Name: "payments need a decision", Paths: []string{"services/payments/**"}, Need: NeedDecision, Source: "acme/shop: .github/backstory.yml:7"}},
			files: []File{{Path: "services/payments/refund.go", Additions: 3}},
			says:  []string{"Changes to `services/payments/**` need a linked decision record (rule `payments need a decision`, [`acme/shop: .github/backstory.yml:7`](https://github.com/acme/shop/blob/main/.github/backstory.yml#L7)); this pull request changes services/payments/refund.go (paths: services/payments/\\*\\*)."},
			not:   []string{"weight", "outlives"},
		},
		{
			name:   "labels and size",
			rules:  []Rule{{Name: "big rfc", Labels: []string{"rfc", "design"}, MinLines: 100, Need: NeedDecision}},
			labels: []string{"RFC"},
			files:  []File{{Path: "main.go", Additions: 150}},
			says:   []string{"Pull requests of 100 lines or more labelled `rfc` or `design` need a linked decision record (rule `big rfc`); this pull request changes 150 lines (min\\_lines: 100) and has the label RFC."},
		},
		{
			name:   "authors and files",
			rules:  []Rule{{Name: "interns", Authors: []string{"intern-*"}, MinFiles: 2, Need: NeedIntent}},
			author: "intern-zoe",
			files:  []File{{Path: "a.go"}, {Path: "b.go"}},
			says:   []string{"Pull requests that change 2 files or more by `intern-*` need their why (rule `interns`); this pull request changes 2 files (min\\_files: 2) and is by @intern-zoe (authors: intern-\\*)."},
		},
		{
			name:  "a rule without conditions",
			rules: []Rule{{Name: "all", Need: NeedDecision}},
			says:  []string{"Every pull request needs a linked decision record (rule `all`)."},
			not:   []string{"this pull request applies"},
		},
	}
	for _, tt := range tests {
		in := input(t)
		in.PR.Body = ""
		if tt.config != "" {
			var problems []content.Problem
			in.Config, problems = LoadConfig(ConfigFile{}, ConfigFile{Name: "acme/shop: .github/backstory.yml", Data: []byte(tt.config)})
			if len(problems) > 0 {
				t.Fatal(problems)
			}
		}
		if tt.rules != nil {
			in.Config.Rules = tt.rules
		}
		if tt.files != nil {
			in.PR.Files = tt.files
		}
		if tt.author != "" {
			in.PR.Author = tt.author
		}
		in.PR.Labels = tt.labels
		v := Evaluate(in)
		checkSays(t, tt.name, v.Summary, tt.says, tt.not)
	}

	// Nothing needed, by default.
	in := input(t)
	in.Config, _ = LoadConfig(ConfigFile{}, ConfigFile{Name: "acme/shop: .github/backstory.yml", Data: []byte("check:\n  default: nothing\n")})
	checkSays(t, "default nothing", Evaluate(in).Summary, []string{"**No context needed**: this repository asks nothing of pull requests by default (`check.default: nothing` in [`acme/shop: .github/backstory.yml:2`]"}, nil)
}

// Links follow the repository's host (GitHub Enterprise Server), and none
// is made up when it is unknown.
func TestLinksFollowTheRepositorysHost(t *testing.T) {
	decision := func(path, id string) *content.Record {
		return &content.Record{Repo: "acme/shop", Path: path, ID: id, Number: 1, Kind: content.KindDecision, Title: "Use Go", Status: content.StatusAccepted, Governs: []string{"**/*.go"}}
	}
	onBranch := decision("docs/decisions/0001-use-go.md", "ADR-0001")
	inPR := record(t, "acme/shop", "docs/decisions/0002-use-rust.md", "# Use Rust\n\nStatus: proposed\n")
	for _, tt := range []struct {
		name      string
		repo      content.Repo
		says, not []string
	}{
		{
			name: "GitHub Enterprise Server",
			repo: content.Repo{Name: "acme/shop", Branch: "trunk", SourceURL: "https://git.acme.corp/acme/shop/blob/trunk/"},
			says: []string{
				"[ADR-0001](https://git.acme.corp/acme/shop/blob/trunk/docs/decisions/0001-use-go.md)",
				"[ADR-0002](https://git.acme.corp/acme/shop/blob/0123abcd/docs/decisions/0002-use-rust.md)",
				"[`acme/shop: .github/backstory.yml:4`](https://git.acme.corp/acme/shop/blob/trunk/.github/backstory.yml#L4)",
			},
			not: []string{"github.com"},
		},
		{
			name: "a host that is not known",
			repo: content.Repo{Name: "acme/shop"},
			says: []string{"| ADR-0001 Use Go |", "the decision ADR-0002 Use Rust", "`acme/shop: .github/backstory.yml:4`"},
			not:  []string{"http"},
		},
	} {
		in := input(t)
		repo := tt.repo
		repo.Config = content.DefaultConfig()
		in.Corpus = content.NewCorpus([]*content.Repo{&repo}, []*content.Record{onBranch})
		in.PR.Records = []*content.Record{inPR}
		in.PR.Files = []File{{Path: "main.go", Status: "modified"}, {Path: inPR.Path, Status: "added"}}
		in.ConfigProblems = []content.Problem{{File: "acme/shop: .github/backstory.yml", Line: 4, Severity: content.SeverityWarning, Message: "a warning"}}
		v := Evaluate(in)
		md := v.Markdown()
		for _, a := range v.Annotations {
			md += "\n" + a.Message
		}
		checkSays(t, tt.name, md, tt.says, tt.not)
	}
}

// A | in a path or a title stays inside its table cell.
func TestTableCellsKeepTheirPipes(t *testing.T) {
	in := input(t)
	in.PR.Repository = "acme/pipes"
	r := &content.Record{Repo: "acme/pipes", Path: "docs/decisions/0001-a.md", ID: "ADR-0001", Number: 1, Kind: content.KindDecision,
		Title: "Split | join", Status: content.StatusAccepted, Governs: []string{"src/**"}, Date: content.Date{Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}
	in.Corpus = content.NewCorpus([]*content.Repo{{Name: "acme/pipes", Config: content.DefaultConfig()}}, []*content.Record{r})
	in.PR.Files = []File{{Path: "src/a|b.go", Status: "modified"}, {Path: "src/`c|d`.go", Status: "modified"}}
	v := Evaluate(in)
	unescaped := regexp.MustCompile(`(^|[^\\])\|`)
	rows := 0
	for _, l := range strings.Split(v.Summary, "\n") {
		if !strings.HasPrefix(l, "| ") {
			continue
		}
		rows++
		if n := len(unescaped.FindAllString(l, -1)); n != 4 {
			t.Errorf("a row with %d cell borders, want 4: %s", n, l)
		}
	}
	if rows != 3 || !strings.Contains(v.Summary, "`src/a\\|b.go`") || !strings.Contains(v.Summary, "Split \\| join") {
		t.Errorf("the table:\n%s", v.Summary)
	}
}
