package site

import (
	"bytes"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/backstory-dev/backstory/content"
)

// A linkTarget says what a link in a record's body becomes on the site.
type linkTarget struct {
	// URL is the destination to write; "" means unlink (keep the text).
	URL string
}

// linkRewriter maps a destination as written in a record to its place on the
// site. image is true for image sources.
type linkRewriter func(dest string, image bool) linkTarget

// renderedBody is a record body made safe to hand to Hugo, with the plain text
// the site shows in lists and search.
type renderedBody struct {
	Markdown []byte
	Summary  string // first paragraph, plain text, ≤ 280 characters
	Excerpt  string // plain text, ≤ 600 characters
}

const (
	summaryMax = 280
	excerptMax = 600
)

// The parser matches the extensions Hugo enables by default, so both see the
// same raw HTML and links.
var bodyParser = goldmark.New(goldmark.WithExtensions(
	extension.Table, extension.Strikethrough, extension.Linkify,
	extension.TaskList, extension.Footnote, extension.DefinitionList,
), goldmark.WithParserOptions(
	parser.WithInlineParsers(util.Prioritized(&endMarkingLinkParser{parser.NewLinkParser()}, 199)),
)).Parser()

// endMarkingLinkParser wraps goldmark's link parser to record, on each inline
// link, the offset of the "]" that closes its text, so its destination can be
// rewritten by byte range.
type endMarkingLinkParser struct{ parser.InlineParser }

var closeAttr = []byte("backstory-close")

func (p *endMarkingLinkParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, seg := block.PeekLine()
	n := p.InlineParser.Parse(parent, block, pc)
	if n != nil && len(line) > 0 && line[0] == ']' {
		n.SetAttribute(closeAttr, seg.Start)
	}
	return n
}

// edit replaces source[start:end] with repl.
type edit struct {
	start, end int
	repl       string
}

// sanitiseBody returns a record body that is safe to render with goldmark's
// unsafe mode: raw HTML is reduced to an allow-list, comments are dropped,
// every other tag is escaped so it shows as text, link destinations are
// rewritten by rewrite, and Hugo shortcode delimiters are defused.
//
// Rewritten links to the site are site-relative ("/repos/…/"): the theme's
// render hooks resolve markdown links against the base URL, and links in
// raw HTML, which no hook sees, get base (the base URL's path) here.
func sanitiseBody(src []byte, rewrite linkRewriter, base string) renderedBody {
	// Bounded work for goldmark, here and in Hugo: real records are
	// untouched.
	src = content.TameMarkdown(src)
	htmlRewrite := func(dest string, image bool) linkTarget {
		t := rewrite(dest, image)
		if strings.HasPrefix(t.URL, "/") && !strings.HasPrefix(t.URL, "//") && t.URL != dest {
			t.URL = base + strings.TrimPrefix(t.URL, "/")
		}
		return t
	}
	reader := text.NewReader(src)
	pc := parser.NewContext()
	doc := bodyParser.Parse(reader, parser.WithContext(pc))

	var edits []edit
	var summary string
	var plain strings.Builder

	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.HTMLBlock:
			lines := n.Lines()
			if lines.Len() == 0 {
				return ast.WalkSkipChildren, nil
			}
			start, end := lines.At(0).Start, lines.At(lines.Len()-1).Stop
			if n.HasClosure() {
				end = n.ClosureLine.Stop
			}
			edits = append(edits, edit{start, end, sanitiseHTML(src[start:end], htmlRewrite, true)})
			return ast.WalkSkipChildren, nil
		case *ast.RawHTML:
			if n.Segments.Len() == 0 {
				return ast.WalkSkipChildren, nil
			}
			start, end := n.Segments.At(0).Start, n.Segments.At(n.Segments.Len()-1).Stop
			edits = append(edits, edit{start, end, sanitiseHTML(src[start:end], htmlRewrite, false)})
			return ast.WalkSkipChildren, nil
		case *ast.Link:
			if e, ok := destinationEdit(src, n, n.Destination, false, rewrite); ok {
				edits = append(edits, e...)
			}
		case *ast.Image:
			if e, ok := destinationEdit(src, n, n.Destination, true, rewrite); ok {
				edits = append(edits, e...)
			}
		case *ast.LinkReferenceDefinition:
			if e, ok := definitionEdit(src, n, rewrite); ok {
				edits = append(edits, e)
			}
			return ast.WalkSkipChildren, nil
		case *ast.AutoLink:
			if dangerousURL(string(n.URL(src)), false) {
				seg := n.Label(src)
				edits = append(edits, edit{n.Pos(), n.Pos() + len(seg) + 2, inertText(string(seg))})
			}
		case *ast.Paragraph, *ast.Heading, *east.TableCell:
			t := plainText(n, src)
			if _, ok := n.(*ast.Paragraph); ok && summary == "" && t != "" {
				summary = truncate(t, summaryMax)
			}
			if plain.Len() < excerptMax*2 && t != "" {
				if plain.Len() > 0 {
					plain.WriteByte(' ')
				}
				plain.WriteString(t)
			}
			return ast.WalkContinue, nil
		}
		return ast.WalkContinue, nil
	})
	out := src
	if len(edits) > 0 {
		// Only an edit can join text into a new tag; an unedited body was
		// checked whole above.
		out = resanitise(applyEdits(src, edits))
	}
	out = defuseShortcodes(out)
	return renderedBody{Markdown: out, Summary: summary, Excerpt: truncate(plain.String(), excerptMax)}
}

// destinationEdit rewrites the destination of an inline link or image.
// Reference links are rewritten at their definition instead.
func destinationEdit(src []byte, n ast.Node, dest []byte, image bool, rewrite linkRewriter) ([]edit, bool) {
	v, ok := n.AttributeString("backstory-close")
	if !ok {
		return nil, false
	}
	close := v.(int)
	if close+1 >= len(src) || src[close+1] != '(' {
		return nil, false // a reference link
	}
	ds, de := scanDestination(src, close+2)
	if ds < 0 {
		return nil, false
	}
	target := safeTarget(string(dest), image, rewrite)
	if target.URL == string(dest) {
		return nil, false
	}
	if target.URL == "" {
		// Unlink: keep the text, drop the brackets and destination.
		start := n.Pos()
		end := closingParen(src, de)
		if end < 0 {
			return nil, false
		}
		textStart := start + 1
		if image {
			textStart = start + 2
		}
		return []edit{{start, textStart, ""}, {close, end, ""}}, true
	}
	return []edit{{ds, de, markdownDestination(target.URL)}}, true
}

// scanDestination finds the link destination starting at or after i (after
// optional whitespace), returning its byte range, <…> included.
func scanDestination(src []byte, i int) (int, int) {
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
		i++
	}
	if i >= len(src) {
		return -1, -1
	}
	start := i
	if src[i] == '<' {
		for i < len(src) && src[i] != '>' && src[i] != '\n' {
			if src[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(src) || src[i] != '>' {
			return -1, -1
		}
		return start, i + 1
	}
	depth := 0
	for i < len(src) {
		c := src[i]
		if c == '\\' && i+1 < len(src) {
			i += 2
			continue
		}
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c < 0x20 {
			break
		}
		if c == '(' {
			depth++
		} else if c == ')' {
			if depth == 0 {
				break
			}
			depth--
		}
		i++
	}
	return start, i
}

// closingParen returns the offset just after the ")" that ends an inline
// link whose destination ends at i, skipping an optional title.
func closingParen(src []byte, i int) int {
	var quote byte
	for ; i < len(src); i++ {
		c := src[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			quote = ')'
		case c == ')':
			return i + 1
		}
	}
	return -1
}

// markdownDestination writes a URL as a link destination that needs no
// escaping.
func markdownDestination(u string) string {
	if strings.ContainsAny(u, " ()<>\\") {
		r := strings.NewReplacer("<", "%3C", ">", "%3E", "\\", "%5C", "\n", "%0A")
		return "<" + r.Replace(u) + ">"
	}
	return u
}

// definitionEdit rewrites the destination of a "[label]: destination"
// definition.
func definitionEdit(src []byte, n *ast.LinkReferenceDefinition, rewrite linkRewriter) (edit, bool) {
	lines := n.Lines()
	if lines.Len() == 0 {
		return edit{}, false
	}
	start, end := lines.At(0).Start, lines.At(lines.Len()-1).Stop
	close := bytes.Index(src[start:end], []byte("]:"))
	if close < 0 {
		return edit{}, false
	}
	ds, de := scanDestination(src, start+close+2)
	if ds < 0 || de > end {
		return edit{}, false
	}
	dest := string(n.Destination)
	target := safeTarget(dest, false, rewrite)
	if target.URL == dest {
		return edit{}, false
	}
	if target.URL == "" {
		target.URL = "#" // a definition cannot unlink its uses; point them nowhere
	}
	return edit{ds, de, markdownDestination(target.URL)}, true
}

// safeTarget rewrites a destination, refusing script and data URLs
// whatever the rewriter says.
func safeTarget(dest string, image bool, rewrite linkRewriter) linkTarget {
	if dangerousURL(dest, image) {
		return linkTarget{}
	}
	t := rewrite(dest, image)
	if dangerousURL(t.URL, image) {
		return linkTarget{}
	}
	return t
}

func applyEdits(src []byte, edits []edit) []byte {
	if len(edits) == 0 {
		return src
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var b bytes.Buffer
	b.Grow(len(src) + 64)
	pos := 0
	for _, e := range edits {
		if e.start < pos { // overlapping: the outer edit already covers it
			continue
		}
		b.Write(src[pos:e.start])
		b.WriteString(e.repl)
		pos = e.end
	}
	b.Write(src[pos:])
	return b.Bytes()
}

// defuseShortcodes breaks "{{<" and "{{%" with a zero-width space: Hugo
// would run them as shortcodes, even inside code blocks.
func defuseShortcodes(b []byte) []byte {
	if !bytes.Contains(b, []byte("{{<")) && !bytes.Contains(b, []byte("{{%")) {
		return b
	}
	b = bytes.ReplaceAll(b, []byte("{{<"), []byte("{{\u200b<"))
	return bytes.ReplaceAll(b, []byte("{{%"), []byte("{{\u200b%"))
}

// plainText is the text of a block, with inline markup removed.
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	var walk func(ast.Node)
	walk = func(n ast.Node) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			switch c := c.(type) {
			case *ast.Text:
				b.Write(c.Value(src))
				if c.SoftLineBreak() || c.HardLineBreak() {
					b.WriteByte(' ')
				}
			case *ast.String:
				b.Write(c.Value)
			case *ast.RawHTML:
				// Tags are markup, but a placeholder such as <number> is
				// text the author meant to show.
				if c.Segments.Len() > 0 {
					raw := src[c.Segments.At(0).Start:c.Segments.At(c.Segments.Len()-1).Stop]
					if name := tagName(raw); name != "" && !bytes.HasPrefix(raw, []byte("<!")) && !bytes.HasPrefix(raw, []byte("</")) {
						if _, known := allowedTags[name]; !known {
							b.Write(raw)
						}
					}
				}
			case *ast.AutoLink:
				b.Write(c.Label(src))
			default:
				walk(c)
			}
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// truncate shortens s to at most n characters, on a word boundary, with an
// ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)[:n-1]
	cut := string(runes)
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:.") + "…"
}

// tagName is the lower-cased element name of a start tag.
func tagName(raw []byte) string {
	i := 1
	for i < len(raw) && (raw[i] >= 'a' && raw[i] <= 'z' || raw[i] >= 'A' && raw[i] <= 'Z' || raw[i] >= '0' && raw[i] <= '9' || raw[i] == '-') {
		i++
	}
	return strings.ToLower(string(raw[1:i]))
}

// resanitise re-parses an edited body until its raw HTML is stable: dropping
// a comment or unlinking joins the bytes either side, which can form a tag
// ("<<!-- -->script>") the first walk never saw. Such tags become text.
func resanitise(b []byte) []byte {
	keep := func(dest string, image bool) linkTarget { return linkTarget{URL: dest} }
	for i := 0; i < 8; i++ {
		var edits []edit
		doc := bodyParser.Parse(text.NewReader(b))
		_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
			if !entering {
				return ast.WalkContinue, nil
			}
			var start, end int
			block := false
			switch n := n.(type) {
			case *ast.HTMLBlock:
				lines := n.Lines()
				if lines.Len() == 0 {
					return ast.WalkSkipChildren, nil
				}
				start, end, block = lines.At(0).Start, lines.At(lines.Len()-1).Stop, true
				if n.HasClosure() {
					end = n.ClosureLine.Stop
				}
			case *ast.RawHTML:
				if n.Segments.Len() == 0 {
					return ast.WalkSkipChildren, nil
				}
				start, end = n.Segments.At(0).Start, n.Segments.At(n.Segments.Len()-1).Stop
			default:
				return ast.WalkContinue, nil
			}
			// HTML the first pass wrote is stable; HTML that changes now
			// was formed by joining text, so it is shown as text.
			if s := sanitiseHTML(b[start:end], keep, block); s != string(b[start:end]) {
				edits = append(edits, edit{start, end, inertText(string(b[start:end]))})
			}
			return ast.WalkSkipChildren, nil
		})
		if len(edits) == 0 {
			return b
		}
		b = applyEdits(b, edits)
	}
	return []byte(inertText(string(b))) // never stable: show it all as text
}
