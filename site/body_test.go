package site

import (
	"strings"
	"testing"
)

// keepLinks leaves every destination as written.
func keepLinks(dest string, image bool) linkTarget { return linkTarget{URL: dest} }

func TestSanitiseBody(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string // substrings of the output
		notWant []string
	}{
		{"placeholder stays visible", "Poll every <number> seconds.\n", []string{"&lt;number&gt;"}, []string{"<number>"}},
		{"placeholder in code untouched", "Run `make ENV=<env>`.\n\n```\ncp <src> <dst>\n```\n", []string{"`make ENV=<env>`", "cp <src> <dst>"}, nil},
		{"script block escaped", "<script>alert(1)</script>\n", []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}, []string{"<script"}},
		{"inline script escaped", "Hi <script>alert(1)</script> there\n", []string{"&lt;script&gt;"}, []string{"<script"}},
		{"comment dropped", "Text <!-- secret --> more\n\n<!--\nblock comment\n-->\n", []string{"Text  more"}, []string{"secret", "block comment", "<!--"}},
		{"allowed tags kept", "<details><summary>More</summary>\n\nBody\n\n</details>\n", []string{"<details><summary>More</summary>", "</details>"}, nil},
		{"br in table kept", "| a | b |\n| --- | --- |\n| x<br>y | z |\n", []string{"x<br>y"}, nil},
		{"event handlers dropped", `<img src="a.png" onerror="alert(1)" alt="A" width="20">` + "\n", []string{`<img src="a.png" alt="A" width="20">`}, []string{"onerror"}},
		{"javascript href dropped", `<a href="javascript:alert(1)" title="t">x</a>` + "\n", []string{`<a title="t">x</a>`}, []string{"javascript"}},
		{"entity-encoded javascript dropped", `<a href="&#106;avascript:alert(1)">x</a>` + "\n", []string{"<a>x</a>"}, []string{"avascript"}},
		{"data image allowed", `<img src="data:image/png;base64,AAAA">` + "\n", []string{`src="data:image/png;base64,AAAA"`}, nil},
		{"data html dropped", `<a href="data:text/html,<b>x</b>">x</a>` + "\n", nil, []string{"data:text"}},
		{"markdown javascript link unlinked", "[click](javascript:alert(1)) now\n", []string{"click now"}, []string{"javascript"}},
		{"markdown javascript image unlinked", "![alt](javascript:alert(1))\n", []string{"alt"}, []string{"javascript"}},
		{"iframe escaped", "<iframe src=\"https://evil\"></iframe>\n", []string{"&lt;iframe"}, []string{"<iframe"}},
		{"style escaped", "<style>body{display:none}</style>\n", []string{"&lt;style&gt;"}, []string{"<style>"}},
		{"raw text in escaped script cannot become a tag", "<script><img src=x onerror=alert(1)></script>\n", []string{"&lt;img"}, []string{"<img"}},
		{"markdown link inside escaped tag stays text", "<x title=\"[a](javascript:alert(1))\">\n", []string{"&#91;a&#93;"}, []string{"[a](javascript"}},
		{"shortcodes defused", "{{< foo >}} and {{% bar %}}\n", []string{"{{\u200b<", "{{\u200b%"}, []string{"{{<", "{{%"}},
		{"uppercase tags", "<B>bold</B> <SCRIPT>x</SCRIPT>\n", []string{"<b>bold</b>", "&lt;SCRIPT&gt;"}, nil},
		{"self-closing br", "a<br/>b\n", []string{"a<br>b"}, nil},
		{"dropped comment cannot join a tag", "Inline: <<!-- -->img src=x onerror=alert(1)<!-- -->> done.\n\n<<!-- -->script>alert(2)<<!-- -->/script>\n",
			[]string{"&lt;img src=x onerror", "&lt;script&gt;alert(2)"}, []string{"<img", "<script"}},
		{"unlinked link cannot join a tag", "Text <[img](javascript:void) src=x onerror=alert(11)> end.\n\n<[s](../../../nowhere)cript>alert(12)<[/](javascript:x)script>\n",
			[]string{"&lt;img src=x onerror"}, []string{"<img", "<script"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(sanitiseBody([]byte(tt.in), keepLinks, "/").Markdown)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, nw := range tt.notWant {
				if strings.Contains(got, nw) {
					t.Errorf("output contains %q:\n%s", nw, got)
				}
			}
		})
	}
}

func TestSanitiseBodyRewritesLinks(t *testing.T) {
	rewrite := func(dest string, image bool) linkTarget {
		switch dest {
		case "0001-old.md":
			return linkTarget{URL: "/repos/x/0001-old/"}
		case "missing.md":
			return linkTarget{}
		case "img/a b.png":
			return linkTarget{URL: "a-b.png"}
		}
		return linkTarget{URL: dest}
	}
	in := "See [the old one](0001-old.md \"Old\") and [gone](missing.md).\n\n" +
		"![diagram](<img/a b.png>)\n\n[ref][r] and [kept](https://example.com/(x))\n\n[r]: 0001-old.md\n\n" +
		"```\n[r]: missing.md\n```\n"
	got := string(sanitiseBody([]byte(in), rewrite, "/").Markdown)
	for _, w := range []string{
		`[the old one](/repos/x/0001-old/ "Old")`,
		"and gone.",
		"![diagram](a-b.png)",
		"[r]: /repos/x/0001-old/",
		"[kept](https://example.com/(x))",
		"[r]: missing.md\n```", // inside code: untouched
	} {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
}

func TestSummary(t *testing.T) {
	body := sanitiseBody([]byte("## Context\n\nWe *need* a `database` for <number> users, see [docs](x.md).\n\nSecond paragraph.\n"), keepLinks, "/")
	if want := "We need a database for <number> users, see docs."; body.Summary != want {
		t.Errorf("Summary = %q, want %q", body.Summary, want)
	}
	long := strings.Repeat("word ", 200)
	if s := sanitiseBody([]byte(long), keepLinks, "/").Summary; len([]rune(s)) > summaryMax || !strings.HasSuffix(s, "…") {
		t.Errorf("long summary not truncated: %d runes", len([]rune(s)))
	}
}

func TestDangerousURL(t *testing.T) {
	for _, tt := range []struct {
		url   string
		image bool
		want  bool
	}{
		{"https://x", false, false}, {"mailto:a@b", false, false}, {"../a.md", false, false},
		{"#frag", false, false}, {"a/b:c", false, false},
		{"javascript:x", false, true}, {" JaVaScRiPt:x", false, true}, {"java\tscript:x", false, true},
		{"vbscript:x", false, true}, {"data:text/html,x", true, true},
		{"data:image/png;base64,x", true, false}, {"data:image/png;base64,x", false, true},
	} {
		if got := dangerousURL(tt.url, tt.image); got != tt.want {
			t.Errorf("dangerousURL(%q, %v) = %v, want %v", tt.url, tt.image, got, tt.want)
		}
	}
}

func TestHostileBodiesAreTamedBeforeGoldmark(t *testing.T) {
	// A megabyte of nested quotes took goldmark minutes (here and in
	// Hugo) before bodies were tamed (content.TameMarkdown): no line of
	// what reaches goldmark opens more than a few dozen quotes, and no line
	// is longer than a few kilobytes. A real record is untouched.
	hostile := []byte(strings.Repeat("> ", 1<<16))
	got := string(sanitiseBody(hostile, keepLinks, "/").Markdown)
	for i, line := range strings.Split(got, "\n") {
		opens := 0
		for rest := strings.TrimLeft(line, " "); strings.HasPrefix(rest, ">"); rest = strings.TrimLeft(rest[1:], " ") {
			opens++
		}
		if opens > 64 || len(line) > 4<<10 {
			t.Fatalf("line %d of the tamed body still opens %d quotes in %d bytes", i+1, opens, len(line))
		}
	}
	real := "## Context\n\n> We quote the incident report.\n\n- a list\n  - nested\n"
	if got := string(sanitiseBody([]byte(real), keepLinks, "/").Markdown); !strings.Contains(got, "> We quote the incident report.") || !strings.Contains(got, "  - nested") {
		t.Errorf("a real body changed: %q", got)
	}
}
