package site

import (
	"bytes"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
	nethtml "golang.org/x/net/html"
)

// renderUnsafe renders markdown as Hugo does with the site's settings:
// goldmark with Hugo's default extensions and raw HTML passed through.
var renderUnsafe = goldmark.New(goldmark.WithExtensions(
	extension.Table, extension.Strikethrough, extension.Linkify,
	extension.TaskList, extension.Footnote, extension.DefinitionList,
), goldmark.WithRendererOptions(html.WithUnsafe()))

// renderedTags are the elements goldmark writes itself, on top of the
// allowedTags a body may hold as raw HTML.
var renderedTags = map[string]bool{
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"del": true, "div": true, "section": true, "input": true,
}

// fuzzRewrite rewrites links as the site does: records to their pages,
// a missing record unlinked, everything else kept.
func fuzzRewrite(dest string, image bool) linkTarget {
	switch {
	case strings.Contains(dest, "missing"):
		return linkTarget{}
	case strings.HasSuffix(dest, ".md"):
		return linkTarget{URL: "/repos/acme-shop/" + strings.TrimSuffix(path.Base(dest), ".md") + "/"}
	}
	return linkTarget{URL: dest}
}

// FuzzSanitiseBody sanitises fuzzed record bodies and renders the result as
// Hugo would: the page may hold no element outside the allow-list, no event
// handler and no link that runs script, and no shortcode for Hugo to run.
func FuzzSanitiseBody(f *testing.F) {
	for _, s := range []string{
		"Poll every <number> seconds.\n",
		"<script>alert(1)</script>\n",
		"Text <!-- secret --> more\n\n<!--\nblock comment\n-->\n",
		"<details><summary>More</summary>\n\nBody\n\n</details>\n",
		"| a | b |\n| --- | --- |\n| x<br>y | z |\n",
		`<img src="a.png" onerror="alert(1)" alt="A" width="20">` + "\n",
		`<a href="&#106;avascript:alert(1)">x</a>` + "\n",
		"[click](javascript:alert(1)) now\n\n![alt](javascript:alert(1))\n",
		"<x title=\"[a](javascript:alert(1))\">\n",
		"{{< foo >}} and {{% bar %}}\n",
		"Inline: <<!-- -->img src=x onerror=alert(1)<!-- -->> done.\n\n<<!-- -->script>alert(2)<<!-- -->/script>\n",
		"Text <[img](javascript:void) src=x onerror=alert(11)> end.\n\n<[s](../../../nowhere)cript>alert(12)<[/](javascript:x)script>\n",
		"See [the old one](0001-old.md \"Old\") and [gone](missing.md).\n\n![diagram](<img/a b.png>)\n\n[ref][r]\n\n[r]: 0001-old.md\n",
		"Footnote[^1] and www.example.com and <https://x.y/>.\n\n[^1]: See [x](javascript:y).\n\nTerm\n: Definition\n\n- [x] done\n",
		"```\n<script>x</script>\n```\n\n    <iframe>\n",
	} {
		f.Add([]byte(s))
	}
	_ = filepath.WalkDir(filepath.Join("testdata", "corpus"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, src []byte) {
		body := sanitiseBody(src, fuzzRewrite, "/base/")
		if n := utf8.RuneCountInString(body.Summary); n > summaryMax {
			t.Fatalf("a summary of %d characters", n)
		}
		if n := utf8.RuneCountInString(body.Excerpt); n > excerptMax {
			t.Fatalf("an excerpt of %d characters", n)
		}
		if bytes.Contains(body.Markdown, []byte("{{<")) || bytes.Contains(body.Markdown, []byte("{{%")) {
			t.Fatalf("a shortcode survived:\n%s", body.Markdown)
		}
		var page bytes.Buffer
		if err := renderUnsafe.Convert(body.Markdown, &page); err != nil {
			t.Fatal(err)
		}
		z := nethtml.NewTokenizer(bytes.NewReader(page.Bytes()))
		for {
			tt := z.Next()
			if tt == nethtml.ErrorToken {
				return
			}
			if tt != nethtml.StartTagToken && tt != nethtml.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			if _, ok := allowedTags[tok.Data]; !ok && !renderedTags[tok.Data] {
				t.Fatalf("<%s> on the page:\n%s\nfrom the body\n%s", tok.Data, page.Bytes(), body.Markdown)
			}
			for _, a := range tok.Attr {
				switch {
				case strings.HasPrefix(strings.ToLower(a.Key), "on"), a.Key == "srcdoc",
					a.Key == "style" && !strings.HasPrefix(a.Val, "text-align:"): // goldmark's table cells
					t.Fatalf("<%s %s=%q> on the page:\n%s", tok.Data, a.Key, a.Val, page.Bytes())
				case (a.Key == "href" || a.Key == "src") && dangerousURL(a.Val, tok.Data == "img"):
					t.Fatalf("<%s %s=%q> on the page:\n%s\nfrom the body\n%s", tok.Data, a.Key, a.Val, page.Bytes(), body.Markdown)
				}
			}
		}
	})
}
