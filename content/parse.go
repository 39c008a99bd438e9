package content

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	"gopkg.in/yaml.v3"
)

// mdParser is CommonMark without extensions and without the inline raw
// HTML parser: records are read here, not rendered, so inline tags (and
// placeholders such as <number>) stay plain text, and the raw HTML parser's
// multi-line regular expressions, the costliest part of a parse, never run.
// HTML comments are dropped from plain text by plain. goldmark parsers are
// safe for concurrent use: every Parse call has its own context.
var mdParser = newMarkdownParser()

func newMarkdownParser() parser.Parser {
	var inlines []util.PrioritizedValue
	for _, v := range parser.DefaultInlineParsers() {
		if fmt.Sprintf("%T", v.Value) == "*parser.rawHTMLParser" {
			continue
		}
		inlines = append(inlines, v)
	}
	return parser.NewParser(
		parser.WithBlockParsers(parser.DefaultBlockParsers()...),
		parser.WithInlineParsers(inlines...),
		parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
	)
}

// linkSpan is a link found in a piece of plain text: where its text starts
// and where it points.
type linkSpan struct {
	start int
	dest  string
}

// parseState holds what one Parse call needs while it walks a file.
type parseState struct {
	rec        *Record
	src        []byte // the body given to goldmark (front matter cut off)
	lineStarts []int  // offsets in src where each line starts
	firstLine  int    // file line of src[0]
	cfg        RepoConfig

	// Where each field came from; front matter wins over the body.
	fromFrontMatter map[string]bool
	titleNumber     int
	titleLine       int
	h1Title         string

	// The review as the front matter gives it, and the body sections
	// whose headings name one.
	fmReview   reviewDraft
	reviewSecs []reviewSection
}

// Parse reads one record file. relPath is the path relative to the
// repository root, with forward slashes. Parse never fails: what it cannot
// read becomes a Problem on the record, and missing fields degrade (a title
// from the file name, status unknown). repo may be nil (defaults apply).
func Parse(repo *Repo, relPath string, data []byte) *Record {
	cfg := DefaultConfig()
	r := &Record{Path: path.Clean(strings.ReplaceAll(relPath, "\\", "/"))}
	if repo != nil {
		r.Repo = repo.Name
		cfg = repo.Config
		if repo.Root != "" {
			r.Source = joinOS(repo.Root, r.Path)
		}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.IndexByte(data, '\r') >= 0 {
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	}
	p := &parseState{rec: r, cfg: cfg, fromFrontMatter: map[string]bool{}}
	r.Lines = map[string]int{}

	body, bodyLine := data, 1
	if fm, fmEnd, closeLine, ok := splitFrontMatter(data); ok {
		p.frontMatter(fm)
		body, bodyLine = data[fmEnd:], closeLine+1
	} else if first, _, _ := bytes.Cut(data, []byte("\n")); string(bytes.TrimRight(first, " \t")) == "---" && bytes.Contains(data, []byte("\n")) {
		r.Problems = append(r.Problems, Problem{Repo: r.Repo, File: r.Path, Line: 1, Severity: SeverityError, Code: "front-matter",
			Message: "the front matter that starts here is never closed: add a line with --- after its last key"})
	}
	p.src = body
	p.firstLine = bodyLine
	p.lineStarts = lineStarts(body)
	p.body()
	p.finish()
	return r
}

// splitFrontMatter finds a YAML front matter block: "---" on the first line,
// closed by "---" or "..." on a line of its own. end is the offset just after
// the closing line; closeLine its 1-based line number.
func splitFrontMatter(data []byte) (fm []byte, end, closeLine int, ok bool) {
	first, rest, found := bytes.Cut(data, []byte("\n"))
	if !found || string(bytes.TrimRight(first, " \t")) != "---" {
		return nil, 0, 0, false
	}
	off := len(first) + 1
	line := 2
	for len(rest) > 0 {
		l, next, hasNext := bytes.Cut(rest, []byte("\n"))
		t := string(bytes.TrimRight(l, " \t"))
		if t == "---" || t == "..." {
			end = off + len(l)
			if hasNext {
				end++
			}
			return data[len(first)+1 : off], end, line, true
		}
		off += len(l) + 1
		line++
		rest = next
		if !hasNext {
			break
		}
	}
	return nil, 0, 0, false
}

func lineStarts(src []byte) []int {
	starts := make([]int, 1, bytes.Count(src, []byte("\n"))+1)
	for i, b := range src {
		if b == '\n' && i+1 < len(src) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineOf returns the file line of an offset in p.src.
func (p *parseState) lineOf(off int) int {
	if off < 0 {
		return 0
	}
	i := sort.SearchInts(p.lineStarts, off+1) - 1
	if i < 0 {
		i = 0
	}
	return p.firstLine + i
}

// lineEnd returns the offset just after the line holding off.
func (p *parseState) lineEnd(off int) int {
	if off < 0 || off >= len(p.src) {
		return len(p.src)
	}
	if i := bytes.IndexByte(p.src[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(p.src)
}

func (p *parseState) lineStart(off int) int {
	i := sort.SearchInts(p.lineStarts, off+1) - 1
	if i < 0 {
		return 0
	}
	return p.lineStarts[i]
}

func (p *parseState) problem(line int, sev Severity, code, format string, args ...any) {
	p.rec.Problems = append(p.rec.Problems, Problem{
		Repo: p.rec.Repo, File: p.rec.Path, Line: line, Severity: sev, Code: code,
		Message: fmt.Sprintf(format, args...),
	})
}

// frontMatterKeys maps the keys teams use to the field they set.
var frontMatterKeys = map[string]string{
	"id": "id", "title": "title", "kind": "kind", "status": "status", "date": "date",
	"deciders": "deciders", "decision-makers": "deciders", "decision_makers": "deciders", "decisionmakers": "deciders",
	"tags":       "tags",
	"supersedes": "supersedes", "superseded_by": "superseded_by", "superseded-by": "superseded_by", "supersededby": "superseded_by",
	"amends": "amends", "amended_by": "amended_by", "amended-by": "amended_by",
	"relates_to": "relates_to", "relates-to": "relates_to", "related_to": "relates_to", "related": "relates_to",
	"values": "values", "governs": "governs", "review_by": "review_by", "review-by": "review_by",
	"review": "review", "review_outcome": "review_outcome", "review-outcome": "review_outcome",
	"reviewed": "review_date", "reviewed_on": "review_date", "reviewed-on": "review_date",
	"review_notes": "review_notes", "review-notes": "review_notes",
}

// frontMatter reads the YAML block. Keys it does not know (Jekyll's parent,
// nav_order, layout…) are ignored.
func (p *parseState) frontMatter(fm []byte) {
	r := p.rec
	var doc yaml.Node
	fm = YAMLLines(fm)
	if err := yaml.Unmarshal(fm, &doc); err != nil {
		line, msg := YAMLErrorLine(err, fm)
		if line > 0 {
			line++ // the front matter starts on line 2
		} else {
			line = 1
		}
		p.problem(line, SeverityError, "front-matter", "invalid YAML front matter: %s", msg)
		return
	}
	if len(doc.Content) == 0 {
		return
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		p.problem(m.Line+1, SeverityError, "front-matter", "front matter is not a set of key: value pairs")
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		field, ok := frontMatterKeys[strings.ToLower(strings.TrimSpace(k.Value))]
		if !ok {
			continue
		}
		line := k.Line + 1
		if reviewFields[field] {
			p.frontMatterReview(&p.fmReview, field, k.Value, v, line)
			continue
		}
		if v.Kind == yaml.MappingNode {
			p.problem(line, SeverityError, "front-matter", "%s: expected a value or a list, found a mapping", k.Value)
			continue
		}
		r.Lines[field] = line
		p.fromFrontMatter[field] = true
		switch field {
		case "id":
			r.ID = yamlScalar(v)
		case "title":
			r.Title = cleanInline(yamlScalar(v))
		case "kind":
			s := strings.ToLower(yamlScalar(v))
			if k, ok := parseKind(s); ok {
				r.Kind = k
			} else {
				if s != "" {
					p.problem(line, SeverityWarning, "kind", "unknown kind %q (want decision, intent, process or value); ignored", s)
				}
				delete(p.fromFrontMatter, field)
			}
		case "status":
			p.setStatus(yamlScalar(v), nil, line)
		case "date", "review_by":
			s := yamlScalar(v)
			if s == "" {
				delete(p.fromFrontMatter, field)
				continue
			}
			d, ok := ParseDate(s)
			if !ok {
				p.problem(line, SeverityWarning, "date", "%s %q is not a date (write YYYY-MM-DD)", k.Value, s)
				delete(p.fromFrontMatter, field)
				continue
			}
			if field == "date" {
				r.Date = d
			} else {
				r.ReviewBy = d
			}
		case "deciders":
			r.Deciders = yamlList(v, true)
		case "tags":
			r.Tags = yamlList(v, true)
		case "supersedes":
			r.Supersedes = append(r.Supersedes, yamlList(v, true)...)
		case "superseded_by":
			r.SupersededBy = append(r.SupersededBy, yamlList(v, true)...)
		case "amends":
			r.Amends = append(r.Amends, yamlList(v, true)...)
		case "amended_by":
			r.AmendedBy = append(r.AmendedBy, yamlList(v, true)...)
		case "relates_to":
			r.RelatesTo = append(r.RelatesTo, yamlList(v, true)...)
		case "values":
			r.Values = yamlList(v, true)
		case "governs":
			r.Governs = yamlList(v, false)
		}
	}
}

// YAMLLines returns data with the line breaks YAML knows and markdown and
// editors do not (NEL, U+2028, U+2029) made spaces, so that the lines
// yaml.v3 reports are the lines of the file. UTF-16 with a byte order
// mark, which yaml.v3 reads too, is made UTF-8 first. Every reader of YAML
// in backstory (front matter, .github/backstory.yml) goes through it.
func YAMLLines(data []byte) []byte {
	if len(data) >= 2 && (data[0] == 0xfe && data[1] == 0xff || data[0] == 0xff && data[1] == 0xfe) {
		var order binary.ByteOrder = binary.BigEndian
		if data[0] == 0xff {
			order = binary.LittleEndian
		}
		units := make([]uint16, (len(data)-2)/2)
		for i := range units {
			units[i] = order.Uint16(data[2+2*i:])
		}
		data = []byte(string(utf16.Decode(units)))
	}
	if !bytes.ContainsAny(data, "\u0085\u2028\u2029") {
		return data
	}
	return []byte(yamlBreaks.Replace(string(data)))
}

var yamlBreaks = strings.NewReplacer("\u0085", " ", "\u2028", " ", "\u2029", " ")

// YAMLErrorLine pulls the line (1-based; 0 when the error names none) and
// the message out of a yaml.v3 error about data (as YAMLLines returned
// it). yaml.v3 reports an error inside a collection at the collection's
// mark, counted from 0; and an error at the end of data (a collection never
// closed) is on its last line, not on the line after it.
func YAMLErrorLine(err error, data []byte) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	rest, ok := strings.CutPrefix(msg, "line ")
	if !ok {
		return 0, msg
	}
	n, i := 0, 0
	for i < len(rest) && isDigit(rest[i]) {
		n = n*10 + int(rest[i]-'0')
		i++
	}
	msg = strings.TrimSpace(strings.TrimPrefix(rest[i:], ":"))
	if strings.HasPrefix(msg, "did not find expected") {
		n++
	}
	last := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		last++
	}
	return min(n, max(last, 1)), msg
}

func yamlScalar(v *yaml.Node) string {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return ""
		}
		return strings.TrimSpace(v.Value)
	case yaml.SequenceNode:
		if len(v.Content) > 0 {
			return yamlScalar(v.Content[0])
		}
	case yaml.AliasNode:
		if v.Alias != nil {
			return yamlScalar(v.Alias)
		}
	}
	return ""
}

// yamlList reads a list, or a single value; split says a plain string may
// hold several comma-separated items ("tags: a, b").
func yamlList(v *yaml.Node, split bool) []string {
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" {
			out = append(out, s)
		}
	}
	switch v.Kind {
	case yaml.SequenceNode:
		for _, c := range v.Content {
			if s := yamlScalar(c); s != "" {
				add(s)
			}
		}
	case yaml.ScalarNode, yaml.AliasNode:
		s := yamlScalar(v)
		if split && strings.Contains(s, ",") {
			for _, part := range strings.Split(s, ",") {
				add(part)
			}
		} else {
			add(s)
		}
	}
	return uniqueStrings(out)
}

// setStatus records a status as written and the relations it names
// ("superseded by X", "accepted; supersedes Y").
func (p *parseState) setStatus(raw string, links []linkSpan, line int) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return
	}
	r := p.rec
	r.StatusRaw = raw
	r.Status = NormaliseStatus(raw)
	r.Lines["status"] = line
	p.statusRelations(raw, links, line)
}

func (p *parseState) statusRelations(text string, links []linkSpan, line int) {
	r := p.rec
	for field, refs := range relationsInText(text, links) {
		r.addRefs(field, refs)
		if _, ok := r.Lines[field]; !ok {
			r.Lines[field] = line
		}
	}
}

// body walks the markdown once: the title, the sections, the metadata lines
// under the title (MADR bullets, Nygard's "Date:"), the Status and Changelog
// sections, and every link.
func (p *parseState) body() {
	r := p.rec
	doc := mdParser.Parse(text.NewReader(TameMarkdown(p.src)))

	type heading struct {
		node  *ast.Heading
		start int // offset of the heading's line
		end   int // offset after the heading (and a setext underline)
	}
	var headings []heading
	var titleH *heading
	current := -1 // index into r.Sections of the section being read
	statusTaken := false
	changelogDated := false

	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if h, ok := n.(*ast.Heading); ok {
			hd := heading{node: h, start: p.lineStart(n.Pos())}
			hd.end = p.lineEnd(n.Pos())
			if p.src[p.lineStart(n.Pos())+leadingSpaces(p.src[p.lineStart(n.Pos()):])] != '#' {
				// Setext: the text lines, then the underline.
				if l := h.Lines(); l.Len() > 0 {
					hd.end = p.lineEnd(p.lineEnd(l.At(l.Len() - 1).Start))
				}
			}
			txt, _ := p.plain(h)
			txt = strings.TrimSpace(txt)
			line := p.lineOf(n.Pos())
			if h.Level == 1 && titleH == nil && len(r.Sections) == 0 {
				headings = append(headings, hd)
				titleH = &headings[len(headings)-1]
				p.h1Title = txt
				p.titleLine = line
				continue
			}
			headings = append(headings, hd)
			r.Sections = append(r.Sections, Section{Heading: txt, Level: h.Level, Line: line})
			current = len(r.Sections) - 1
			if d, ok := reviewHeading(txt); ok {
				p.reviewSecs = append(p.reviewSecs, reviewSection{section: current, headDate: d, headDateLine: line})
			}
			continue
		}
		switch n.(type) {
		case *ast.Paragraph, *ast.TextBlock, *ast.List, *ast.Blockquote:
		default:
			continue
		}
		if current < 0 {
			p.metadataBlock(n)
			continue
		}
		if k := len(p.reviewSecs) - 1; k >= 0 && p.reviewSecs[k].section == current && p.reviewSecs[k].first == nil {
			p.reviewSecs[k].first = n
		}
		switch normaliseHeading(r.Sections[current].Heading) {
		case "status", "statut", "state", "estado", "decision status":
			txt, links := p.plain(n)
			line := p.lineOf(n.Pos())
			if !statusTaken {
				statusTaken = true
				first := firstLine(txt)
				if !p.fromFrontMatter["status"] && r.Lines["status"] == 0 {
					p.setStatus(first, links, line)
				}
			}
			p.statusRelations(txt, links, line)
		case "links", "related decisions", "related adrs", "related records":
			// MADR 2 and log4brains: "- Supersedes [title](file.md)".
			txt, links := p.plain(n)
			p.statusRelations(txt, links, p.lineOf(n.Pos()))
		case "date":
			if r.Date.IsZero() {
				txt, _ := p.plain(n)
				if d, ok := ParseDate(firstLine(txt)); ok {
					r.Date = d
					r.Lines["date"] = p.lineOf(n.Pos())
				}
			}
		case "changelog", "change log", "history", "revision history":
			if !changelogDated && r.Date.IsZero() {
				txt, _ := p.plain(n)
				if d, ok := findDate(txt); ok {
					changelogDated = true
					r.Date = d
					r.Lines["date"] = p.lineOf(n.Pos())
				}
			}
		}
	}

	// Links, images: every destination in the body, in order.
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			r.Links = append(r.Links, string(n.Destination))
		case *ast.Image:
			r.Images = append(r.Images, string(n.Destination))
		case *ast.AutoLink:
			r.Links = append(r.Links, string(n.URL(p.src)))
		}
		return ast.WalkContinue, nil
	})

	// Body and section bodies, by offsets.
	src := string(p.src)
	si, rs := 0, 0 // the section, and the first review section not before it
	for i, h := range headings {
		if titleH != nil && h.node == titleH.node {
			continue
		}
		end := len(src)
		for _, next := range headings[i+1:] {
			if next.node.Level <= h.node.Level {
				end = next.start
				break
			}
		}
		if h.end > end {
			end = h.end
		}
		r.Sections[si].Body = src[h.end:end]
		for rs < len(p.reviewSecs) && p.reviewSecs[rs].section < si {
			rs++
		}
		if rs < len(p.reviewSecs) && p.reviewSecs[rs].section == si {
			p.reviewSecs[rs].start, p.reviewSecs[rs].end = h.end, end
		}
		si++
	}
	if titleH == nil {
		r.Body = src
		r.BodyLine = p.firstLine
		return
	}
	if strings.TrimSpace(src[:titleH.start]) == "" {
		r.Body = src[titleH.end:]
		r.BodyLine = p.lineOf(titleH.end)
		if titleH.end >= len(src) {
			r.BodyLine = p.lineOf(len(src)-1) + 1
		}
		return
	}
	r.Body = src[:titleH.start] + src[titleH.end:]
	r.BodyLine = p.firstLine
}

func leadingSpaces(b []byte) int {
	i := 0
	for i < len(b) && i < 3 && b[i] == ' ' {
		i++
	}
	return i
}

// metadataKeys maps the labels of metadata lines under the title ("*
// Status: accepted", "Date: 2018-03-06", "* Statut : brouillon") to fields.
var metadataKeys = map[string]string{
	"status": "status", "statut": "status", "state": "status", "estado": "status", "decision status": "status",
	"date": "date", "introduced": "date", "decision date": "date", "datum": "date", "fecha": "date",
	"deciders": "deciders", "décideurs": "deciders", "decideurs": "deciders", "decision-makers": "deciders",
	"decision makers": "deciders", "decision-maker": "deciders", "decision makers(s)": "deciders",
	"tags": "tags", "supersedes": "supersedes", "superseded by": "superseded_by", "superceded by": "superseded_by",
	"amends": "amends", "amended by": "amended_by", "relates to": "relates_to", "related to": "relates_to",
	"values": "values", "governs": "governs", "review by": "review_by", "review date": "review_by", "kind": "kind",
}

// metadataBlock reads "Key: value" lines in a paragraph or list that comes
// before the first section.
func (p *parseState) metadataBlock(n ast.Node) {
	if l, ok := n.(*ast.List); ok {
		for item := l.FirstChild(); item != nil; item = item.NextSibling() {
			txt, links := p.plain(item)
			p.metadataLines(txt, links, p.lineOf(item.Pos()))
		}
		return
	}
	txt, links := p.plain(n)
	p.metadataLines(txt, links, p.lineOf(n.Pos()))
}

func (p *parseState) metadataLines(txt string, links []linkSpan, line int) {
	r := p.rec
	off := 0
	for i, l := range strings.Split(txt, "\n") {
		lineLinks := linksIn(links, off, off+len(l))
		off += len(l) + 1
		key, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.Join(strings.Fields(key), " "))
		field, known := metadataKeys[key]
		if !known {
			continue
		}
		// Link offsets become offsets in the trimmed value.
		valueStart := strings.IndexByte(l, ':') + 1 + len(value) - len(strings.TrimLeft(value, " \t"))
		for j := range lineLinks {
			lineLinks[j].start -= valueStart
		}
		value = strings.TrimSpace(value)
		if value == "" {
			continue
		}
		ln := line + i
		if p.fromFrontMatter[field] {
			continue
		}
		switch field {
		case "status":
			if r.Lines["status"] == 0 {
				p.setStatus(value, lineLinks, ln)
			}
		case "date", "review_by":
			d, ok := ParseDate(value)
			if !ok {
				continue
			}
			if field == "date" && r.Date.IsZero() {
				r.Date = d
				r.Lines["date"] = ln
			} else if field == "review_by" && r.ReviewBy.IsZero() {
				r.ReviewBy = d
				r.Lines["review_by"] = ln
			}
		case "deciders":
			r.Deciders = splitList(value)
		case "tags":
			r.Tags = splitTags(value)
		case "values":
			r.Values = splitList(value)
		case "governs":
			r.Governs = splitList(value)
		case "kind":
			if k, ok := parseKind(value); ok {
				r.Kind = k
			}
		default:
			r.addRefs(field, refsIn(value, lineLinks))
			if r.Lines[field] == 0 {
				r.Lines[field] = ln
			}
		}
	}
}

// refsIn returns the link destinations in a value, or its comma-separated
// items when it has no links.
func refsIn(value string, links []linkSpan) []string {
	if len(links) > 0 {
		out := make([]string, 0, len(links))
		for _, l := range links {
			out = append(out, l.dest)
		}
		return uniqueStrings(out)
	}
	return splitList(value)
}

func linksIn(links []linkSpan, from, to int) []linkSpan {
	var out []linkSpan
	for _, l := range links {
		if l.start >= from && l.start <= to {
			out = append(out, linkSpan{start: l.start - from, dest: l.dest})
		}
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(strings.Trim(strings.TrimSpace(part), "[]"))
		if part != "" {
			out = append(out, part)
		}
	}
	return uniqueStrings(out)
}

func splitTags(s string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		part = strings.Trim(part, "[]#")
		if part != "" {
			out = append(out, part)
		}
	}
	return uniqueStrings(out)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// findDate returns the first date in a changelog: the first token on a line
// that parses as a date, or a date after a colon or dash.
func findDate(txt string) (Date, bool) {
	for _, l := range strings.Split(txt, "\n") {
		l = strings.TrimSpace(l)
		for i := 0; i+8 <= len(l); i++ {
			if isDigit(l[i]) && (i == 0 || !isDigit(l[i-1])) {
				if d, ok := ParseDate(l[i:]); ok {
					return d, true
				}
			}
		}
	}
	return Date{}, false
}

// plain returns the text of an inline container with markdown removed (link
// text kept, raw HTML such as <number> kept as written, HTML comments
// dropped), soft line breaks as "\n", and the links found in it.
func (p *parseState) plain(n ast.Node) (string, []linkSpan) {
	var b strings.Builder
	var links []linkSpan
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			switch c := c.(type) {
			case *ast.Text:
				b.Write(c.Segment.Value(p.src))
				if c.SoftLineBreak() || c.HardLineBreak() {
					b.WriteByte('\n')
				}
			case *ast.String:
				b.Write(c.Value)
			case *ast.Link:
				links = append(links, linkSpan{start: b.Len(), dest: string(c.Destination)})
				walk(c)
			case *ast.AutoLink:
				u := string(c.URL(p.src))
				links = append(links, linkSpan{start: b.Len(), dest: u})
				b.WriteString(u)
			case *ast.RawHTML:
				var raw []byte
				for i := 0; i < c.Segments.Len(); i++ {
					seg := c.Segments.At(i)
					raw = append(raw, seg.Value(p.src)...)
				}
				if !bytes.HasPrefix(raw, []byte("<!--")) {
					b.Write(raw)
				}
			case *ast.Paragraph, *ast.TextBlock:
				if b.Len() > 0 {
					b.WriteByte('\n')
				}
				walk(c)
			case *ast.List, *ast.ListItem:
				if b.Len() > 0 {
					b.WriteByte('\n')
				}
				walk(c)
			default:
				walk(c)
			}
		}
	}
	walk(n)
	return stripComments(b.String(), links)
}

// stripComments removes HTML comments ("<!-- optional -->") from plain
// text, moving the link offsets that follow them.
func stripComments(s string, links []linkSpan) (string, []linkSpan) {
	if !strings.Contains(s, "<!--") {
		return s, links
	}
	type cut struct{ start, end int }
	var cuts []cut
	for from := 0; ; {
		i := strings.Index(s[from:], "<!--")
		if i < 0 {
			break
		}
		j := strings.Index(s[from+i+4:], "-->")
		if j < 0 {
			break
		}
		cuts = append(cuts, cut{from + i, from + i + 4 + j + 3})
		from = from + i + 4 + j + 3
	}
	var b strings.Builder
	prev := 0
	for _, c := range cuts {
		b.WriteString(s[prev:c.start])
		prev = c.end
	}
	b.WriteString(s[prev:])
	for k := range links {
		shift := 0
		for _, c := range cuts {
			if c.start >= links[k].start {
				break
			}
			shift += min(c.end, links[k].start) - c.start
		}
		links[k].start -= shift
	}
	return b.String(), links
}

// finish derives what comes from several places: title, number, id, kind,
// date from the file name.
func (p *parseState) finish() {
	r := p.rec
	slug := FileSlug(r.Path)
	fileNumber, fileDate := numberFromName(slug)

	// Title.
	if p.h1Title != "" {
		t, n := cleanTitle(p.h1Title, fileNumber)
		p.titleNumber = n
		if r.Title == "" {
			r.Title = t
			r.Lines["title"] = p.titleLine
		}
	}
	if isPlaceholderTitle(r.Title) {
		p.problem(r.Lines["title"], SeverityWarning, "title", "the title %q is the template's placeholder; using the file name", r.Title)
		r.Title = ""
	}
	if r.Title == "" {
		r.Title = titleFromSlug(slug)
	}

	// Number.
	switch {
	case fileNumber > 0:
		r.Number = fileNumber
		if p.titleNumber > 0 && p.titleNumber != fileNumber && !p.fromFrontMatter["title"] {
			p.problem(p.titleLine, SeverityWarning, "title-number",
				"the title is numbered %d but the file name says %d (copied from another record?)", p.titleNumber, fileNumber)
		}
	case p.titleNumber > 0:
		r.Number = p.titleNumber
	}
	// A zero-numbered record (0000-use-markdown-adrs.md) has number 0 but
	// still an id derived from it.
	zeroNumbered := fileNumber == 0 && hasZeroNumber(slug)

	// Kind.
	if r.Kind == "" {
		r.Kind = kindFromPath(r.Path)
	}

	// ID.
	if r.ID == "" {
		if r.Number > 0 || zeroNumbered {
			r.ID = p.cfg.FormatIDFor(r.Kind, r.Number)
		} else {
			r.ID = slug
		}
	}

	// Date from the file or folder name (log4brains' 20201016-slug.md).
	if r.Date.IsZero() && !fileDate.IsZero() {
		r.Date = fileDate
	}

	if r.Status == "" {
		r.Status = StatusUnknown
	}

	// Relations gather from every place that names them, so they are made
	// unique once, here: checking each as it is added made a record with
	// thousands of references take quadratic time.
	for _, refs := range []*[]string{&r.Supersedes, &r.SupersededBy, &r.Amends, &r.AmendedBy, &r.RelatesTo} {
		*refs = uniqueStrings(*refs)
	}

	// Review: the most recent the record gives; front matter wins a tie.
	// Only a decision's sections are read as reviews: a process's "##
	// Review" is more likely a step of the process than a verdict.
	var reviews []*Review
	if r.Kind != KindDecision {
		p.reviewSecs = nil
	}
	for i, rs := range p.reviewSecs {
		d := p.sectionReview(rs)
		if child := p.nestedReview(i); child != nil {
			// "## Review 2025-03-01" over "### Outcome": the sub-section
			// holds the outcome, and takes the date from its parent.
			if child.headDate.IsZero() {
				child.headDate, child.headDateLine = d.date, d.dateLine
			}
			if d.raw == "" {
				continue
			}
		}
		reviews = append(reviews, p.review(d))
	}
	reviews = append(reviews, p.review(&p.fmReview))
	if r.Review = latestReview(reviews); r.Review != nil {
		r.Lines["review"] = r.Review.Line
	}
}

// FileSlug is a record's name from its path: the file name without ".md",
// or the folder's name for slug/README.md and slug/index.md.
func FileSlug(p string) string {
	dir, base := path.Split(p)
	name := strings.TrimSuffix(base, path.Ext(base))
	if l := strings.ToLower(name); (l == "readme" || l == "index") && dir != "" {
		return path.Base(strings.TrimSuffix(dir, "/"))
	}
	return name
}

// numberFromName reads 0012-foo, adr-012-foo, ADR-001-foo, 12_foo; a
// leading YYYYMMDD or YYYY-MM-DD is a date, not a number.
func numberFromName(slug string) (int, Date) {
	if len(slug) >= 8 && isDigits(slug[:8]) && (len(slug) == 8 || !isDigit(slug[8])) {
		if d, ok := makeDate(atoi(slug[0:4]), atoi(slug[4:6]), atoi(slug[6:8])); ok {
			return 0, d
		}
	}
	if len(slug) >= 10 && slug[4] == '-' && slug[7] == '-' && isDigits(slug[0:4]) && isDigits(slug[5:7]) && isDigits(slug[8:10]) {
		if d, ok := makeDate(atoi(slug[0:4]), atoi(slug[5:7]), atoi(slug[8:10])); ok {
			return 0, d
		}
	}
	s := slug
	lower := strings.ToLower(s)
	for _, prefix := range []string{"adr", "rfc", "dr", "decision", "record"} {
		if strings.HasPrefix(lower, prefix) && len(s) > len(prefix) && !unicode.IsLetter(rune(s[len(prefix)])) {
			s = strings.TrimLeft(s[len(prefix):], "-_ .#")
			break
		}
	}
	i := 0
	for i < len(s) && isDigit(s[i]) && i < 7 {
		i++
	}
	if i == 0 || (i < len(s) && isDigit(s[i])) {
		return 0, Date{}
	}
	if i < len(s) && !strings.ContainsRune("-_. ", rune(s[i])) {
		return 0, Date{}
	}
	return atoi(s[:i]), Date{}
}

func hasZeroNumber(slug string) bool {
	n, d := numberFromName(slug)
	if n != 0 || !d.IsZero() {
		return false
	}
	s := strings.TrimLeft(strings.ToLower(slug), "adr-_")
	i := 0
	for i < len(s) && s[i] == '0' {
		i++
	}
	return i > 0 && (i == len(s) || !isDigit(s[i]))
}

// cleanTitle removes decoration and numbering boilerplate from an H1:
// "3. Use Terraform", "ADR 012: Foo", "ADR-0012 - Foo", "0012 Foo",
// "Architecture Decision Record: Foo", "[Foo]", "[Superseded by ADR-0040] Foo".
// It returns the title and the number the heading carried, if any.
func cleanTitle(s string, fileNumber int) (string, int) {
	orig := strings.TrimSpace(s)
	s = strings.Join(strings.Fields(orig), " ")
	if strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") {
		open, closeCh := s[0], byte(']')
		if open == '{' {
			closeCh = '}'
		}
		depth, j := 0, -1
		for i := 0; i < len(s); i++ {
			if s[i] == open {
				depth++
			} else if s[i] == closeCh {
				depth--
				if depth == 0 {
					j = i
					break
				}
			}
		}
		if j > 0 {
			inner, rest := strings.TrimSpace(s[1:j]), strings.TrimSpace(s[j+1:])
			if rest == "" {
				s = inner
			} else if isStatusDecoration(inner) {
				s = rest
			}
		}
	}
	lower := strings.ToLower(s)
	for _, prefix := range []string{"architecture decision record", "architectural decision record", "any decision record", "decision record"} {
		if strings.HasPrefix(lower, prefix) {
			rest := strings.TrimSpace(s[len(prefix):])
			if r, ok := trimSeparator(rest); ok {
				s = r
				lower = strings.ToLower(s)
			}
			break
		}
	}
	num := 0
	if strings.HasPrefix(lower, "adr") && (len(s) == 3 || !unicode.IsLetter(rune(s[3]))) {
		rest := strings.TrimLeft(s[3:], " -_#")
		i := 0
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
		if i > 0 {
			after := strings.TrimSpace(rest[i:])
			if r, ok := trimSeparator(after); ok {
				num, s = atoi(rest[:i]), r
			} else if after != "" && !isDigit(after[0]) {
				num, s = atoi(rest[:i]), after
			}
		} else if r, ok := trimSeparator(strings.TrimSpace(s[3:])); ok {
			s = r
		}
	} else {
		i := 0
		for i < len(s) && isDigit(s[i]) && i < 7 {
			i++
		}
		if i > 0 && i < len(s) {
			n, after := atoi(s[:i]), s[i:]
			if after[0] == ' ' {
				rest := strings.TrimSpace(after)
				if r, ok := trimSeparator(rest); ok {
					num, s = n, r // "12 - Foo"
				} else if s[0] == '0' || n == fileNumber {
					num, s = n, rest // "0012 Foo"
				}
			} else if !unicode.IsLetter(rune(after[0])) {
				if r, ok := trimSeparator(after); ok {
					num, s = n, r // "12. Foo", "12: Foo"
				}
			}
		}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return orig, num
	}
	return s, num
}

// trimSeparator strips a leading ". ", ": ", " - ", ") " and reports whether
// there was one.
func trimSeparator(s string) (string, bool) {
	s = strings.TrimLeft(s, " ")
	for _, sep := range []string{":", ".", "-", "–", "—", ")"} {
		if strings.HasPrefix(s, sep) {
			rest := strings.TrimSpace(s[len(sep):])
			if rest == "" {
				return "", false
			}
			// "3.5 inch floppy": a dot followed by a digit is not numbering.
			if sep == "." && isDigit(rest[0]) && !strings.HasPrefix(s[1:], " ") {
				return "", false
			}
			return rest, true
		}
	}
	return "", false
}

func isStatusDecoration(s string) bool {
	l := strings.ToLower(s)
	for _, w := range []string{"superseded", "superceded", "deprecated", "replaced", "rejected", "draft", "proposed", "accepted", "obsolete", "wip", "amended", "retired", "archived"} {
		if strings.HasPrefix(l, w) {
			return true
		}
	}
	return false
}

var placeholderTitles = map[string]bool{
	"short title of solved problem and solution":                       true,
	"titre du problème résolu et de sa solution":                       true,
	"short title, representative of solved problem and found solution": true,
	"<title>": true, "title": true, "<number>. <title>": true,
}

func isPlaceholderTitle(t string) bool {
	return placeholderTitles[strings.ToLower(strings.TrimSpace(t))]
}

// titleFromSlug makes a readable title from a file name: numbering and date
// prefixes dropped, dashes to spaces, first letter capitalised.
func titleFromSlug(slug string) string {
	s := slug
	lower := strings.ToLower(s)
	for _, prefix := range []string{"adr", "rfc"} {
		if strings.HasPrefix(lower, prefix) && len(s) > len(prefix) && (s[len(prefix)] == '-' || s[len(prefix)] == '_') {
			s = s[len(prefix)+1:]
			break
		}
	}
	s = strings.TrimLeft(s, "0123456789")
	s = strings.TrimLeft(s, "-_ .")
	if s == "" {
		s = slug
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == ' ' }), " ")
	if s == "" {
		return slug
	}
	first, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(first)) + s[size:]
}

// kindFromPath reads the kind from the nearest folder named for one
// (processes/, values/, intents/, decisions/).
func kindFromPath(p string) Kind {
	parts := strings.Split(path.Dir(p), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		switch strings.ToLower(parts[i]) {
		case "processes", "process":
			return KindProcess
		case "values", "value":
			return KindValue
		case "intents", "intent":
			return KindIntent
		case "decisions", "decision", "adr", "adrs":
			return KindDecision
		}
	}
	return KindDecision
}

// cleanInline strips simple markdown decoration from a front-matter title.
func cleanInline(s string) string {
	return strings.TrimSpace(s)
}

// normaliseHeading lower-cases a heading and drops surrounding punctuation,
// decoration and whitespace, so "## Status:" and "## **status**" compare equal.
func normaliseHeading(s string) string {
	s = strings.ToLower(s)
	s = strings.TrimFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	return strings.Join(strings.Fields(s), " ")
}

// parseKind reads a kind, singular or plural, in any case.
func parseKind(s string) (Kind, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "decision", "decisions", "adr":
		return KindDecision, true
	case "intent", "intents":
		return KindIntent, true
	case "process", "processes":
		return KindProcess, true
	case "value", "values":
		return KindValue, true
	}
	return "", false
}

// addRefs adds references to the relation named by field (the front matter
// key: supersedes, superseded_by, amends, amended_by, relates_to).
func (r *Record) addRefs(field string, refs []string) {
	switch field {
	case "supersedes":
		r.Supersedes = append(r.Supersedes, refs...)
	case "superseded_by":
		r.SupersededBy = append(r.SupersededBy, refs...)
	case "amends":
		r.Amends = append(r.Amends, refs...)
	case "amended_by":
		r.AmendedBy = append(r.AmendedBy, refs...)
	case "relates_to":
		r.RelatesTo = append(r.RelatesTo, refs...)
	}
}
