package check

import (
	"regexp"
	"strings"
	"unicode"
)

func normaliseNewlines(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// blankComments replaces HTML comments with spaces, keeping their line
// breaks so line numbers stay true. An unclosed comment runs to the end, as
// GitHub renders it.
func blankComments(s string) string {
	i := strings.Index(s, "<!--")
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		end := strings.Index(s[i+4:], "-->")
		var comment string
		if end < 0 {
			comment, s = s[i:], ""
		} else {
			comment, s = s[i:i+4+end+3], s[i+4+end+3:]
		}
		for _, c := range comment {
			if c == '\n' {
				b.WriteByte('\n')
			}
		}
		b.WriteByte(' ')
		i = strings.Index(s, "<!--")
	}
	b.WriteString(s)
	return b.String()
}

var (
	listMarker = regexp.MustCompile(`^(?:[-*+]|\d{1,9}[.)])\s+`)
	taskBox    = regexp.MustCompile(`^\[[ xX]\]\s*`)
)

// lineKey is how a body line is compared with the template's: list markers
// and task boxes (ticked or not) dropped, spaces collapsed, case ignored.
func lineKey(line string) string {
	s := strings.TrimSpace(line)
	s = listMarker.ReplaceAllString(s, "")
	s = taskBox.ReplaceAllString(s, "")
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

func templateLines(template string) map[string]bool {
	keys := map[string]bool{}
	for _, l := range strings.Split(blankComments(normaliseNewlines(template)), "\n") {
		if k := lineKey(l); k != "" {
			keys[k] = true
		}
	}
	return keys
}

// heading is a heading of the body: ATX or setext (levels 1 to 6) or a
// line of bold text (level 7, below every real heading).
type heading struct {
	text  string
	level int
	line  int // index of its first line
	body  int // index of the first line under it
}

const boldLevel = 7

var (
	atxHeading    = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	setextLine    = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	boldLine      = regexp.MustCompile(`^ {0,3}(?:\*\*([^*]+?)\*\*|__([^_]+?)__)[ \t]*:?[ \t]*$`)
	fenceLine     = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
	fenceClose    = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})[ \t]*$")
	notParagraph  = regexp.MustCompile(`^ {0,3}(?:[-*+>|]|\d{1,9}[.)](?:\s|$))`)
	linkTarget    = regexp.MustCompile(`\]\([^()\s]*\)`)
	noResponse    = regexp.MustCompile(`(?i)_no response_`)
	todoLine      = regexp.MustCompile(`(?i)^(?:todo|tbd|fixme)\b`)
	notWordTokens = map[string]bool{"todo": true, "tbd": true, "fixme": true, "xxx": true}
)

// What is in a line of the body but is not the author's words.
var (
	// placeholder is a template's <Describe the change> when it is the
	// whole line or the whole list item (lineKey's text): inside a
	// sentence, <…> is more often a type such as Vec<u8> than a blank to
	// fill in.
	placeholder = regexp.MustCompile(`^<[^\s<>][^<>\n]*>$`)
	// htmlTag is a tag of the HTML GitHub renders in a description: not
	// words, though the text between tags is.
	htmlTag = regexp.MustCompile(`(?i)</?(?:a|abbr|b|bdi|bdo|blockquote|br|caption|cite|code|dd|del|details|dfn|div|dl|dt|em|figcaption|figure|h[1-6]|hr|i|img|ins|kbd|li|mark|ol|p|picture|pre|q|rp|rt|ruby|s|samp|small|source|span|strike|strong|sub|summary|sup|table|tbody|td|tfoot|th|thead|time|tr|tt|u|ul|var|wbr)(?:\s[^<>]*)?/?>`)
	// snippetPrompts are the prompts of the snippet the check suggests
	// (see missingIntent): pasted and left as they are, they are not the
	// author's words, whatever is written around them.
	snippetPrompts = regexp.MustCompile(`(?i)write here,? replacing this line\.?|what problem does this change solve,? for whom,? and why now\??`)
)

// parseHeadings finds the headings of a body split into lines, outside
// fenced code. fenced[i] is set for lines inside or delimiting a fence.
func parseHeadings(lines []string) (hs []heading, fenced []bool) {
	fenced = make([]bool, len(lines))
	var fence string
	paraStart := -1 // first line of the paragraph in progress
	for i, l := range lines {
		if fence != "" {
			fenced[i] = true
			if m := fenceClose.FindStringSubmatch(l); m != nil && m[1][0] == fence[0] && len(m[1]) >= len(fence) {
				fence = ""
			}
			continue
		}
		if m := fenceLine.FindStringSubmatch(l); m != nil {
			fence, fenced[i], paraStart = m[1], true, -1
			continue
		}
		if m := atxHeading.FindStringSubmatch(l); m != nil {
			hs = append(hs, heading{text: m[2], level: len(m[1]), line: i, body: i + 1})
			paraStart = -1
			continue
		}
		if strings.TrimSpace(l) == "" {
			paraStart = -1
			continue
		}
		if m := setextLine.FindStringSubmatch(l); m != nil && paraStart >= 0 {
			level := 2
			if m[1][0] == '=' {
				level = 1
			}
			text := strings.Join(lines[paraStart:i], " ")
			hs = append(hs, heading{text: text, level: level, line: paraStart, body: i + 1})
			paraStart = -1
			continue
		}
		if m := boldLine.FindStringSubmatch(l); m != nil {
			hs = append(hs, heading{text: m[1] + m[2], level: boldLevel, line: i, body: i + 1})
			paraStart = -1
			continue
		}
		if paraStart < 0 && !notParagraph.MatchString(l) {
			paraStart = i
		}
	}
	return hs, fenced
}

// normaliseHeading compares headings: case, surrounding punctuation and
// emphasis ignored, spaces collapsed.
func normaliseHeading(s string) string {
	s = strings.ToLower(s)
	s = strings.TrimFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	return strings.Join(strings.Fields(s), " ")
}

// isIntentHeading: the heading is one of names, or starts with one of them
// as whole words ("Motivation and Context").
func isIntentHeading(text string, names []string) bool {
	h := normaliseHeading(text)
	if h == "" {
		return false
	}
	for _, n := range names {
		want := normaliseHeading(n)
		if want != "" && (h == want || strings.HasPrefix(h, want+" ")) {
			return true
		}
	}
	return false
}

// findIntent finds the body's best section under an intent heading.
func (e *evaluation) findIntent() {
	if strings.TrimSpace(e.body) == "" {
		return
	}
	lines := strings.Split(e.body, "\n")
	hs, fenced := parseHeadings(lines)
	if best, ok := bestIntent(lines, hs, fenced, e.cfg.Intent.Headings, e.template); ok {
		e.v.Intent = &IntentSection{Heading: strings.TrimSpace(best.h.text), Line: best.h.line + 1, Words: best.words}
	}
}

// intentSpan is a section under an intent heading: the lines from h.body
// to end (excluded), and how many of their words are the author's own.
type intentSpan struct {
	h     heading
	end   int
	words int
}

// bestIntent finds the best section of a body's lines (newlines
// normalised, comments blanked) under one of headings: the one with the
// most words of the author's own, the first among equals. ok is false when
// there is none.
func bestIntent(lines []string, hs []heading, fenced []bool, headings []string, template map[string]bool) (best intentSpan, ok bool) {
	for k, h := range hs {
		if !isIntentHeading(h.text, headings) {
			continue
		}
		end := len(lines)
		for _, next := range hs[k+1:] {
			if next.level <= h.level {
				end = next.line
				break
			}
		}
		words := 0
		for i := h.body; i < end; i++ {
			if fenced[i] && fenceLine.MatchString(lines[i]) {
				continue // a fence's delimiter, such as ```go
			}
			words += lineWords(lines[i], template)
		}
		if !ok || words > best.words {
			best, ok = intentSpan{h: h, end: end, words: words}, true
		}
	}
	return best, ok
}

// lineWords counts the words of one line that are the author's own, given
// the template's lines (templateLines).
func lineWords(line string, template map[string]bool) int {
	key := lineKey(line)
	if key == "" || template[key] {
		return 0
	}
	if todoLine.MatchString(key) {
		return 0
	}
	if placeholder.MatchString(key) {
		return 0
	}
	s := htmlTag.ReplaceAllString(line, " ")
	s = snippetPrompts.ReplaceAllString(s, " ")
	s = linkTarget.ReplaceAllString(s, "]")
	s = noResponse.ReplaceAllString(s, " ")
	return countWords(s)
}

// IntentText returns the markdown of the best section of a pull request's
// body under one of cfg.Headings, the section Evaluate finds
// (Verdict.Intent) when given the same body, configuration and template
// (the repository's pull request template): the lines under its heading,
// without the heading itself, and without what is not the author's words:
// HTML comments, the template's lines, placeholders, TODO lines, "_No
// response_" and the prompts of the snippet the check suggests. A line that
// lost some of its text has its spaces collapsed; runs of blank lines
// become one; fenced code is kept as written. Newlines are "\n". It is ""
// when the body has no such section, or the best one has no word of the
// author's own; a section with fewer words than cfg.MinWords still has its
// text.
func IntentText(body string, cfg IntentConfig, template string) string {
	original := normaliseNewlines(body)
	blanked := blankComments(original)
	if strings.TrimSpace(blanked) == "" {
		return ""
	}
	lines, originalLines := strings.Split(blanked, "\n"), strings.Split(original, "\n")
	hs, fenced := parseHeadings(lines)
	tmpl := templateLines(template)
	best, ok := bestIntent(lines, hs, fenced, cfg.Headings, tmpl)
	if !ok || best.words == 0 {
		return ""
	}
	var out []string
	pendingBlank := false
	for i := best.h.body; i < best.end; i++ {
		line := originalLines[i] // blankComments keeps every line break
		if !fenced[i] {
			var keep bool
			if line, keep = authorLine(lines[i], line, tmpl); !keep {
				continue
			}
			if line == "" {
				pendingBlank = len(out) > 0
				continue
			}
		}
		if pendingBlank {
			out = append(out, "")
			pendingBlank = false
		}
		out = append(out, line)
	}
	for len(out) > 0 && strings.TrimSpace(out[len(out)-1]) == "" {
		out = out[:len(out)-1] // the blank end of an unclosed fence
	}
	return strings.Join(out, "\n")
}

// emptyItem is a bullet with nothing after it (lineKey keeps a marker that
// nothing follows). "1." is not one: the engine counts its digit as a word.
var emptyItem = regexp.MustCompile(`^[-*+]$`)

// authorLine returns what IntentText keeps of a line outside fenced code,
// given as the engine reads it (comments blanked) and as written: "" for a
// blank line, keep false for a line with nothing of the author's own.
func authorLine(line, original string, template map[string]bool) (text string, keep bool) {
	if strings.TrimSpace(line) == "" {
		return "", true
	}
	key := lineKey(line)
	if key == "" || emptyItem.MatchString(key) || template[key] || todoLine.MatchString(key) || placeholder.MatchString(key) {
		return "", false
	}
	s := snippetPrompts.ReplaceAllString(line, " ")
	s = noResponse.ReplaceAllString(s, " ")
	if strings.TrimSpace(s) == "" {
		return "", false
	}
	if s != original {
		indent := original[:len(original)-len(strings.TrimLeft(original, " \t"))]
		s = indent + strings.Join(strings.Fields(s), " ")
	}
	return s, true
}

// countWords counts runs of text that hold a letter or a digit; each
// Chinese or Japanese character counts as a word, since those scripts do
// not separate words with spaces.
func countWords(s string) int {
	n := 0
	for _, f := range strings.Fields(s) {
		token := strings.ToLower(strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
		if notWordTokens[token] {
			continue
		}
		ideographs, other := 0, false
		for _, r := range f {
			switch {
			case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana):
				ideographs++
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				other = true
			}
		}
		n += ideographs
		if other {
			n++
		}
	}
	return n
}
