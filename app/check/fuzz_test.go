package check

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstory-dev/backstory/content"
)

// The fuzzers of this file read what the check reads from outside: the
// configuration files anyone with write access commits, and pull request
// bodies anyone can write. Whatever they say, the check must not panic,
// must point every configuration problem at its file and a line of it, and
// must keep its output within GitHub's limits.

// configLines is how many lines a configuration file has, as YAML counts
// them ("\r\n", "\r" and "\n" end a line): a final line break does not
// start another line.
func configLines(data []byte) int {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// fuzzPR is the pull request the fuzzers evaluate: it changes a file a
// decision of acme/shop governs, a lockfile and a record.
func fuzzPR(t testing.TB) Input {
	in := input(t)
	in.PR.Files = []File{
		{Path: "services/payments/consumer/main.go", Status: "modified", Additions: 40, Deletions: 2, Patch: "@@ -1,2 +1,40 @@\n+package main\n"},
		{Path: "go.sum", Status: "modified", Additions: 300},
		{Path: "docs/decisions/0009-new.md", Status: "added", Additions: 12},
	}
	in.PR.Labels = []string{"architecture"}
	in.PR.Records = []*content.Record{record(t, "acme/shop", "docs/decisions/0009-new.md",
		"# 9. Retry payments\n\nDate: 2025-01-10\n\n## Status\n\nProposed\n\n## Context\n\nPayments fail when the bank is slow.\n")}
	return in
}

// checkVerdict checks what every verdict keeps to, whatever its input.
func checkVerdict(t *testing.T, v Verdict) {
	t.Helper()
	switch v.Conclusion {
	case Success, Failure, Neutral:
	default:
		t.Fatalf("conclusion %q", v.Conclusion)
	}
	if len(v.Summary) > MaxOutput || len(v.Text) > MaxOutput {
		t.Fatalf("summary of %d bytes, text of %d: the limit is %d", len(v.Summary), len(v.Text), MaxOutput)
	}
	if len(v.Annotations) > MaxAnnotations {
		t.Fatalf("%d annotations: the limit is %d", len(v.Annotations), MaxAnnotations)
	}
	if strings.Contains(v.Title, "\n") {
		t.Fatalf("title of more than one line: %q", v.Title)
	}
	_ = v.Markdown()
}

// FuzzLoadConfig reads fuzzed organisation and repository configurations
// and evaluates a pull request with what they give: every problem names
// one of the two files and a line of it.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		"",
		"check:\n  mode: enforce\n  rules:\n    - name: payments need a decision\n      paths: [\"services/payments/**\"]\n      need: decision\nrecords:\n  paths: [docs/decisions]\n",
		"check:\n  intent:\n    min_words: 5\n    headings: [Why, Rationale]\n  skip:\n    labels: [trivial]\n    authors: [\"release-*\", \"renovate[bot]\"]\n    bots: false\n    drafts: true\n",
		"check:\n  name: shop-context\n  default: nothing\n  ignore: [\"**/*.lock\", \"go.sum\"]\n  rules:\n    - {labels: [architecture], need: decision}\n    - {min_lines: 200, min_files: 3, need: intent}\n",
		"check:\n  mode: [enforce\n",
		"check: enforce\n",
		"check:\n  rule:\n    - need: decision\n  colour: blue\n",
		"check:\n  name: [a, b]\n  intent:\n    min_words: ten\n    headings: []\n  skip: {bots: yes, drafts: 1, labels: {a: b}}\n",
		"check:\n  rules:\n    - paths: []\n      need: decision\n    - paths: [\"{a,b\", \"[x\", \"\"]\n      need: everything\n    - name: x\n    - 7\n",
		"x: &r {paths: [\"a/**\"], need: decision}\ncheck:\n  rules: [*r, *r]\n  ignore: *r\n",
		"check:\n  rules: ~\n  intent: ~\n  skip: []\n",
		"- check\n",
		"check:\n\tmode: enforce\n",
		"\xef\xbb\xbfcheck:\r\n  mode: advise\r\n",
		"\u0085check:\u2028  mode: [\n",
		"\xfe\xff\x00\x85\x00c\x00h\x00e\x00c\x00k\x00:\x00 \x00[",
	} {
		f.Add([]byte(s), []byte(s))
		f.Add([]byte(s), []byte(nil))
	}
	if b, err := os.ReadFile(filepath.Join("..", "..", "content", "testdata", "repo", ".github", "backstory.yml")); err == nil {
		f.Add(b, []byte("check:\n  mode: enforce\n"))
	}
	pr := fuzzPR(f)
	f.Fuzz(func(t *testing.T, org, repo []byte) {
		files := map[string][]byte{orgName: org, repoName: repo}
		cfg, problems := LoadConfig(ConfigFile{Name: orgName, Data: org}, ConfigFile{Name: repoName, Data: repo})
		for _, p := range problems {
			data, ok := files[p.File]
			if !ok {
				t.Fatalf("the problem names no file of the two: %+v", p)
			}
			if n := configLines(data); p.Line < 1 || p.Line > n {
				if p.Line != 0 || p.Code != "config-yaml" {
					t.Fatalf("problem on line %d of a %d-line file: %+v", p.Line, n, p)
				}
			}
		}
		if cfg.Mode != ModeEnforce && cfg.Mode != ModeAdvise {
			t.Fatalf("mode %q", cfg.Mode)
		}
		if cfg.Name == "" || strings.ContainsAny(cfg.Name, "\r\n") {
			t.Fatalf("check name %q", cfg.Name)
		}
		for _, g := range append(append([]string(nil), cfg.Ignore...), rulePaths(cfg)...) {
			if err := content.CheckGlob(g); err != nil {
				t.Fatalf("an invalid glob was kept: %q: %v", g, err)
			}
		}
		in := pr
		in.Config, in.ConfigProblems = cfg, problems
		checkVerdict(t, Evaluate(in))
	})
}

func rulePaths(cfg Config) []string {
	var out []string
	for _, r := range cfg.Rules {
		out = append(out, r.Paths...)
	}
	return out
}

// FuzzEvaluate evaluates a pull request whose title, body and template are
// fuzzed, against the fixed corpus of testdata/repos: the verdict keeps
// within GitHub's limits, and IntentText gives the section Evaluate finds.
func FuzzEvaluate(f *testing.F) {
	template := "## Why\n<!-- What problem does this solve? -->\nDescribe the problem this change solves for our users.\n\n## Checklist\n- [ ] I added tests\n"
	for _, body := range []string{
		"",
		goodWhy,
		goodWhy + "\nDecision: ADR-0003, acme/platform#ADR-1, ADR-0042, [the old one](docs/decisions/0002-use-postgres.md)\n",
		"## Why\n\nSupersedes ADR-0001. See https://github.com/acme/shop/blob/main/docs/decisions/0001-record-decisions.md\n",
		"**Why**:\nCarts time out.\n**Testing**\nRan it.",
		"Why\n===\n" + tenWords,
		"## Why\n<!-- " + intentPrompt + " -->\n" + intentBlank + " " + tenWords,
		"## Why\n" + tenWords + "\n```\ncode\n\n\n",
		"## Why\r\n\r\nA b.\r\n\r\nC d.\rE f.",
		"### Why\n\n_No response_\n",
		"## Why\nDescribe the problem this change solves for our users.\n" + tenWords + "\n\n## Checklist\n- [x] I added tests",
		"## Pourquoi ? Why\n购物车服务每隔几秒就轮询库存 — «café» 🚀",
		"<!-- ## Why -->\n<!-- " + tenWords + " -->",
		"## Why\n" + strings.Repeat("ADR-0001 ", 600),
	} {
		f.Add("Make checkout faster", body, template)
	}
	f.Add("", "## Why\n\n"+tenWords, "")
	base := fuzzPR(f)
	f.Fuzz(func(t *testing.T, title, body, template string) {
		in := base
		in.PR.Title, in.PR.Body, in.PR.Template = title, body, template
		v := Evaluate(in)
		checkVerdict(t, v)
		text := IntentText(body, in.Config.Intent, template)
		if found := v.Intent != nil && v.Intent.Words > 0; found != (text != "") {
			t.Fatalf("IntentText gives %q, but Evaluate finds %+v", text, v.Intent)
		}
	})
}

// FuzzIntentText reads the intent of fuzzed bodies under a fuzzed heading
// and template: the text is the author's, with plain line breaks and no
// blank line at either end, and the same twice.
func FuzzIntentText(f *testing.F) {
	for _, s := range [][3]string{
		{"## Why\n\n" + tenWords, "Why", ""},
		{"Intro.\n\n## Why\n\n" + tenWords + "\n", "Why", ""},
		{"## Why\n### In detail\n" + tenWords + "\n# Next\nOther.", "Why", ""},
		{"## Why\n<!-- Explain why. -->\nCarts time out <!-- inline -->   because pricing is slow.\n<!--\nmulti-line\n-->\nWe lose customers.", "Why", ""},
		{"## Why\n<What problem does this change solve?>\n- <For whom?>\n" + tenWords, "Why", ""},
		{"## Why\nTODO: explain\n" + tenWords + "\nFIXME later", "Why", ""},
		{"## Why\n- \n* [ ]\n- " + tenWords + "\n1.", "Why", ""},
		{"## Why\n" + tenWords + "\n\n```html\n<!-- kept -->\n\n\n<p>TODO</p>\n```\n\n\nAfter.", "Why", ""},
		{"## Why\nDescribe the problem.\n" + tenWords, "Why", "## Why\nDescribe the problem.\n"},
		{"## Pourquoi ? Why\n购物车服务每隔几秒就轮询库存 — «café» 🚀", "Pourquoi", ""},
		{"~~~\n## Why\n~~~~\n" + tenWords, "Why", ""},
		{"   ## Why ##\n\t" + tenWords, "why", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, body, heading, template string) {
		cfg := IntentConfig{Headings: []string{heading}, MinWords: 3}
		text := IntentText(body, cfg, template)
		if strings.Contains(text, "\r") {
			t.Fatalf("a carriage return in %q", text)
		}
		if text != strings.Trim(text, "\n") || strings.TrimSpace(text) == "" && text != "" {
			t.Fatalf("blank lines around %q", text)
		}
		if again := IntentText(body, cfg, template); again != text {
			t.Fatalf("IntentText gave %q, then %q", text, again)
		}
	})
}
