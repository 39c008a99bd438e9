package check

import (
	"regexp"
	"strings"
	"testing"
)

// tenWords is the author's own why, exactly ten words.
const tenWords = "Carts time out because pricing calls run one by one."

func TestIntentDetection(t *testing.T) {
	template := strings.Join([]string{
		"## Why",
		"<!-- What problem does this solve? -->",
		"Describe the problem this change solves for our users.",
		"",
		"## Checklist",
		"- [ ] I added tests for this change",
		"- [ ] I updated the documentation where it was needed",
	}, "\n")
	tests := []struct {
		name     string
		body     string
		template string
		met      bool
		heading  string // "" when no section is found
		words    int
	}{
		{name: "empty body", body: "", met: false},
		{name: "no heading", body: tenWords, met: false},
		{name: "ATX heading", body: "## Why\n\n" + tenWords, met: true, heading: "Why", words: 10},
		{name: "any level, case and trailing colon", body: "#### WHY:\n" + tenWords, met: true, heading: "WHY:", words: 10},
		{name: "closing hashes and a question mark", body: "# Why? #\n" + tenWords, met: true, heading: "Why?", words: 10},
		{name: "setext level 1", body: "Why\n===\n" + tenWords, met: true, heading: "Why", words: 10},
		{name: "setext level 2", body: "Intro line.\n\nMotivation\n----------\n" + tenWords, met: true, heading: "Motivation", words: 10},
		{name: "a bold line", body: "**Why**\n" + tenWords, met: true, heading: "Why", words: 10},
		{name: "a bold line with a colon inside", body: "__Context:__\n" + tenWords, met: true, heading: "Context:", words: 10},
		{name: "a bold line with a colon after", body: "**Why**:\n" + tenWords, met: true, heading: "Why", words: 10},
		{name: "a heading that starts with the words", body: "## Motivation and Context\n" + tenWords, met: true, heading: "Motivation and Context", words: 10},
		{name: "a heading that only starts with the letters", body: "## Whyever\n" + tenWords, met: false},
		{name: "a heading with no space is not one", body: "##Why\n" + tenWords, met: false},
		{name: "too few words", body: "## Why\n\nCarts time out because pricing is slow.", met: false, heading: "Why", words: 7},
		{name: "the section ends at the next heading of the same level", body: "## Why\nSlow carts.\n## Testing\n" + tenWords, met: false, heading: "Why", words: 2},
		{name: "the section holds lower headings", body: "## Why\n### In detail\n" + tenWords, met: true, heading: "Why", words: 12},
		{name: "a bold heading ends at the next bold line", body: "**Why**\nSlow carts.\n**Testing**\n" + tenWords, met: false, heading: "Why", words: 2},
		{name: "a bold line inside a real section is text", body: "## Why\n**Problem**\n" + tenWords, met: true, heading: "Why", words: 11},
		{name: "HTML comments do not count", body: "## Why\n<!-- Explain why this change is needed, in ten words or more. -->\n", met: false, heading: "Why", words: 0},
		{name: "multi-line and unclosed comments do not count", body: "## Why\n<!--\nExplain why this change is needed,\nin ten words or more.\n-->\nShort.\n<!-- " + tenWords, met: false, heading: "Why", words: 1},
		{name: "placeholders do not count", body: "## Why\n<What problem does this change solve, for whom, and why now? Ten words at least.>", met: false, heading: "Why", words: 0},
		{name: "a placeholder as a list item does not count", body: "## Why\n- <What problem does this change solve, for whom?>\n- [ ] <And why now, rather than later on?>", met: false, heading: "Why", words: 0},
		{name: "angle brackets inside a sentence are words", body: "## Why\nParsing into Vec<u8> then Map<String, X> costs two allocations per request.", met: true, heading: "Why", words: 11},
		{name: "a comparison is words", body: "## Why\nRetries run when x<y and y>z hold, which loses every request.", met: true, heading: "Why", words: 11},
		{name: "inline HTML tags are not words but their text is", body: "## Why\n<details><summary>Why</summary>" + tenWords + "</details>", met: true, heading: "Why", words: 11},
		{name: "issue forms' empty answers do not count", body: "### Why\n\n_No response_\n", met: false, heading: "Why", words: 0},
		{name: "a TODO line does not count", body: "## Why\nTODO: explain why this change matters for the people using the cart", met: false, heading: "Why", words: 0},
		{name: "TBD and FIXME are not words", body: "## Why\nSlow carts lose TBD customers TBD every FIXME day todo", met: false, heading: "Why", words: 6},
		{name: "link targets are not words", body: "## Why\nSee [the incident](https://status.acme.dev/incidents/2024/11/03/cart-timeouts) and [the graph](https://grafana.acme.dev/d/x).", met: false, heading: "Why", words: 6},
		{name: "a heading in fenced code is not one", body: "```\n## Why\n" + tenWords + "\n```", met: false},
		{name: "code in the section counts", body: "## Why\n```\n" + tenWords + "\n```", met: true, heading: "Why", words: 10},
		{name: "CRLF line endings", body: "## Why\r\n\r\n" + tenWords + "\r\n", met: true, heading: "Why", words: 10},
		{name: "each Chinese character is a word", body: "## Why\n购物车服务每隔几秒就轮询库存", met: true, heading: "Why", words: 14},
		{name: "the best section counts", body: "## Context\nSlow carts.\n## Why\n" + tenWords, met: true, heading: "Why", words: 10},
		{
			name: "template lines do not count, ticked or not",
			body: strings.Join([]string{
				"## Why", "Describe the problem this change solves for our users.", "",
				"## Checklist", "- [x] I added tests for this change", "* [ ] I updated the documentation where it was needed",
			}, "\n"),
			template: template, met: false, heading: "Why", words: 0,
		},
		{
			name: "the author's words under the template's count",
			body: strings.Join([]string{
				"## Why", "<!-- What problem does this solve? -->", "Describe the problem this change solves for our users.", tenWords,
			}, "\r\n"),
			template: template, met: true, heading: "Why", words: 10,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input(t)
			in.PR.Body, in.PR.Template = tt.body, tt.template
			v := Evaluate(in)
			if met := v.Missing == NeedNothing; met != tt.met {
				t.Errorf("met = %v, want %v (intent %+v)", met, tt.met, v.Intent)
			}
			switch {
			case tt.heading == "" && v.Intent != nil:
				t.Errorf("found %+v, want no intent section", *v.Intent)
			case tt.heading != "" && v.Intent == nil:
				t.Errorf("found no intent section, want %q", tt.heading)
			case tt.heading != "" && (v.Intent.Heading != tt.heading || v.Intent.Words != tt.words):
				t.Errorf("found %q with %d words, want %q with %d", v.Intent.Heading, v.Intent.Words, tt.heading, tt.words)
			}
		})
	}
}

func TestConfiguredHeadingsAndMinWords(t *testing.T) {
	in := input(t)
	in.Config.Intent = IntentConfig{Headings: []string{"Rationale"}, MinWords: 3}
	in.PR.Body = "## Why\n" + tenWords + "\n\n## Rationale\nCarts time out."
	v := Evaluate(in)
	if v.Missing != NeedNothing || v.Intent == nil || v.Intent.Heading != "Rationale" || v.Intent.Line != 4 {
		t.Errorf("intent %+v, missing %s", v.Intent, v.Missing)
	}
}

// The snippet the check offers must not pass as it is: its placeholder is
// for the author to replace.
func TestTheIntentSnippetDoesNotPassAsItIs(t *testing.T) {
	for _, headings := range [][]string{nil, {"Why"}, {"Motivation", "Why"}} {
		in := input(t)
		in.PR.Body = ""
		if headings != nil {
			in.Config.Intent.Headings = headings
		}
		v := Evaluate(in)
		m := regexp.MustCompile("(?s)```markdown\n(.*?)\n```").FindStringSubmatch(v.Summary)
		if m == nil {
			t.Fatalf("no markdown snippet in:\n%s", v.Summary)
		}
		in.PR.Body = m[1]
		again := Evaluate(in)
		if again.Missing != NeedIntent {
			t.Errorf("the snippet %q passes", m[1])
		}
		if again.Intent == nil {
			t.Errorf("the snippet %q is not even seen as a section", m[1])
		}
		// However the author writes in it, their words count, and only
		// theirs.
		for _, edit := range []struct {
			name  string
			body  string
			words int
		}{
			{"the line replaced", strings.Replace(m[1], intentBlank, tenWords, 1), 10},
			{"written after the line's text", strings.Replace(m[1], intentBlank, intentBlank+" "+tenWords, 1), 10},
			{"written under the line", m[1] + "\n" + tenWords, 10},
			{"written over the comment", strings.Replace(m[1], "<!-- "+intentPrompt+" -->", tenWords, 1), 10},
			{"the comment's markers removed", strings.NewReplacer("<!-- ", "", " -->", "").Replace(m[1]), 0},
			{"the line shortened", strings.Replace(m[1], intentBlank, "Write here", 1), 2},
		} {
			in.PR.Body = edit.body
			got := Evaluate(in)
			if got.Intent == nil || got.Intent.Words != edit.words || (got.Missing == NeedNothing) != (edit.words >= 10) {
				t.Errorf("%s: %q counts %+v, missing %s; want %d words", edit.name, edit.body, got.Intent, got.Missing, edit.words)
			}
		}
	}
}

func TestCountWords(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"", 0},
		{"one two  three", 3},
		{"- [ ] * ** --- | :-: |", 0},
		{"don't re-use v1.2", 3},
		{"TODO tbd: FIXME. xxx word", 1},
		{"日本語のテキスト", 8},
		{"Kafka（カフカ）", 4},
	}
	for _, tt := range tests {
		if got := countWords(tt.s); got != tt.want {
			t.Errorf("countWords(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

func TestIntentText(t *testing.T) {
	template := strings.Join([]string{
		"## Why",
		"<!-- What problem does this solve? -->",
		"Describe the problem this change solves for our users.",
		"",
		"## Checklist",
		"- [ ] I added tests for this change",
	}, "\n")
	defaults := DefaultConfig().Intent
	tests := []struct {
		name     string
		body     string
		cfg      *IntentConfig // nil: the default
		template string
		want     string
	}{
		{name: "empty body", body: "", want: ""},
		{name: "only comments", body: "<!-- ## Why -->\n<!-- " + tenWords + " -->", want: ""},
		{name: "no heading", body: tenWords, want: ""},
		{name: "a heading in fenced code is not one", body: "```\n## Why\n" + tenWords + "\n```", want: ""},
		{name: "an ATX section, without its heading", body: "Intro.\n\n## Why\n\n" + tenWords + "\n", want: tenWords},
		{name: "a setext section", body: "Why\n===\n" + tenWords, want: tenWords},
		{name: "a bold line section", body: "**Why**:\n" + tenWords + "\n**Testing**\nRan it.", want: tenWords},
		{name: "the section ends at the next heading of its level", body: "## Why\nSlow carts.\n## Testing\n" + tenWords, want: "Slow carts."},
		{name: "lower headings stay in the section", body: "## Why\n### In detail\n" + tenWords + "\n# Next\nOther.", want: "### In detail\n" + tenWords},
		{name: "the best section, not the first", body: "## Context\nSlow carts.\n\n## Why\n" + tenWords, want: tenWords},
		{name: "the first of equals", body: "## Context\nSlow carts today.\n\n## Why\nCarts are slow.", want: "Slow carts today."},
		{name: "below min_words still has its text", body: "## Why\nCarts are slow.", want: "Carts are slow."},
		{name: "a section without words", body: "## Why\n<!-- " + tenWords + " -->\n\n## Testing\nRan it.", want: ""},
		{name: "an empty answer", body: "### Why\n\n_No response_\n", want: ""},
		{
			name: "comments left out, and their spaces",
			body: "## Why\n<!-- Explain why. -->\nCarts time out <!-- inline -->   because pricing is slow.\n<!--\nmulti-line\n-->\nWe lose customers.",
			want: "Carts time out because pricing is slow.\n\nWe lose customers.",
		},
		{name: "an unclosed comment runs to the end", body: "## Why\nSlow carts.\n<!-- " + tenWords, want: "Slow carts."},
		{name: "placeholders left out", body: "## Why\n<What problem does this change solve?>\n- <For whom?>\n" + tenWords, want: tenWords},
		{name: "angle brackets in a sentence stay", body: "## Why\nParsing into Vec<u8> costs an allocation.", want: "Parsing into Vec<u8> costs an allocation."},
		{name: "TODO lines left out", body: "## Why\nTODO: explain\n" + tenWords + "\nFIXME later", want: tenWords},
		{name: "empty list items left out", body: "## Why\n- \n* [ ]\n- " + tenWords + "\n1.", want: "- " + tenWords + "\n1."},
		{
			name: "the snippet's prompts left out",
			body: "## Why\n<!-- " + intentPrompt + " -->\n" + intentBlank + " " + tenWords,
			want: tenWords,
		},
		{name: "the snippet as it is", body: "## Why\n<!-- " + intentPrompt + " -->\n" + intentBlank, want: ""},
		{
			name:     "template lines left out, ticked or not",
			body:     "## Why\nDescribe the problem this change solves for our users.\n" + tenWords + "\n\n## Checklist\n- [x] I added tests for this change",
			template: template,
			want:     tenWords,
		},
		{
			name:     "only template lines",
			body:     "## Why\nDescribe the problem this change solves for our users.\n\n## Checklist\n- [x] I added tests for this change",
			template: template,
			want:     "",
		},
		{
			name: "markdown kept as written",
			body: "## Why\n> Carts **time out**, see [the incident](https://status.acme.dev/i/1).\n\n| Service | p99 |\n| --- | --- |\n| pricing | 4 s |\n\n- one\n  - nested\n\n<details><summary>Logs</summary>timeout</details>",
			want: "> Carts **time out**, see [the incident](https://status.acme.dev/i/1).\n\n| Service | p99 |\n| --- | --- |\n| pricing | 4 s |\n\n- one\n  - nested\n\n<details><summary>Logs</summary>timeout</details>",
		},
		{
			name: "fenced code kept as written, comments and blank lines too",
			body: "## Why\n" + tenWords + "\n\n```html\n<!-- kept: it is code -->\n\n\n<p>TODO</p>\n```\n\n\nAfter.",
			want: tenWords + "\n\n```html\n<!-- kept: it is code -->\n\n\n<p>TODO</p>\n```\n\nAfter.",
		},
		{name: "an unclosed fence", body: "## Why\n" + tenWords + "\n```\ncode\n\n\n", want: tenWords + "\n```\ncode"},
		{name: "blank runs become one, ends trimmed", body: "## Why\n\n\n\nA b.\n\n\n\nC d.\n\n\n", want: "A b.\n\nC d."},
		{name: "CRLF and CR line endings", body: "## Why\r\n\r\nA b.\r\n\r\nC d.\rE f.", want: "A b.\n\nC d.\nE f."},
		{name: "unicode", body: "## Pourquoi ? Why\n购物车服务每隔几秒就轮询库存 — «café» 🚀", cfg: &IntentConfig{Headings: []string{"Pourquoi"}}, want: "购物车服务每隔几秒就轮询库存 — «café» 🚀"},
		{name: "configured headings only", body: "## Why\n" + tenWords + "\n\n## Rationale\nCarts time out.", cfg: &IntentConfig{Headings: []string{"Rationale"}}, want: "Carts time out."},
		{name: "no headings configured", body: "## Why\n" + tenWords, cfg: &IntentConfig{}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaults
			if tt.cfg != nil {
				cfg = *tt.cfg
			}
			got := IntentText(tt.body, cfg, tt.template)
			if got != tt.want {
				t.Errorf("IntentText(%q) =\n%q\nwant\n%q", tt.body, got, tt.want)
			}

			// The engine finds the same section, and counts the same
			// words in the text as in the body.
			in := input(t)
			in.Config.Intent = cfg
			in.PR.Body, in.PR.Template = tt.body, tt.template
			v := Evaluate(in)
			if found := v.Intent != nil && v.Intent.Words > 0; found != (got != "") {
				t.Fatalf("IntentText = %q, but Evaluate finds %+v", got, v.Intent)
			}
			if got == "" {
				return
			}
			in.PR.Body = "# " + v.Intent.Heading + "\n" + got
			again := Evaluate(in)
			if again.Intent == nil || again.Intent.Words != v.Intent.Words {
				t.Errorf("the text counts %+v, the body %+v", again.Intent, v.Intent)
			}
		})
	}
}
