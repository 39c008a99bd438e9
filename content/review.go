package content

import (
	"strings"
	"unicode"

	"github.com/yuin/goldmark/ast"
	"gopkg.in/yaml.v3"
)

// Outcome is the canonical verdict of a decision's review: was the decision
// right? The text as written is kept in Review.OutcomeRaw.
type Outcome string

// The canonical outcomes.
const (
	OutcomeRight   Outcome = "right"
	OutcomeWrong   Outcome = "wrong"
	OutcomeMixed   Outcome = "mixed"
	OutcomeUnknown Outcome = "unknown"
)

// Review is what the team found when it reviewed a decision against its
// "How we will know" section. It is read from front matter (review:
// {outcome, date, notes}, or the flat keys review_outcome, reviewed and
// review_notes) or from a body section titled Review, Review outcome,
// Outcome, Retrospective or "Review YYYY-MM-DD" that starts with the
// outcome. When a record holds several reviews, the most recent is kept.
type Review struct {
	// Outcome is canonical; OutcomeRaw is the text as written.
	Outcome    Outcome
	OutcomeRaw string
	// Date is the day of the review; zero when the record does not say.
	Date Date
	// Notes is the markdown the team wrote about the review (the section
	// without its outcome and date lines), "" when none.
	Notes string
	// Section is the heading of the body section the review was read
	// from, "" when it came from front matter. A section's notes are part
	// of Record.Body too.
	Section string
	// Line is the file line of the outcome; DateLine of the date, 0 when
	// there is none.
	Line     int
	DateLine int
}

// Reviewed reports whether the record's review answers its review_by: it
// has a review dated on or after review_by (any dated review when there is
// no review_by). An undated review answers nothing: nobody can tell which
// review date it was for.
func (r *Record) Reviewed() bool {
	if r.Review == nil || r.Review.Date.IsZero() {
		return false
	}
	return r.ReviewBy.IsZero() || !r.Review.Date.Before(r.ReviewBy.Time)
}

// outcomeSynonyms maps the lower-cased words teams write to canonical
// outcomes. Multi-word keys are tried before their first words.
var outcomeSynonyms = map[string]Outcome{
	"right": OutcomeRight, "correct": OutcomeRight, "confirmed": OutcomeRight, "validated": OutcomeRight,
	"good": OutcomeRight, "success": OutcomeRight, "successful": OutcomeRight, "kept": OutcomeRight,
	"wrong": OutcomeWrong, "incorrect": OutcomeWrong, "mistaken": OutcomeWrong, "failed": OutcomeWrong,
	"failure": OutcomeWrong, "reverted": OutcomeWrong, "bad": OutcomeWrong,
	"mixed": OutcomeMixed, "partial": OutcomeMixed, "partially": OutcomeMixed, "partly": OutcomeMixed,
	"both": OutcomeMixed, "right and wrong": OutcomeMixed,
}

// outcomeClauseEnd are the characters that end the clause naming an outcome
// ("Wrong — latency doubled", "right, as we hoped", "mixed: …").
const outcomeClauseEnd = ".;,:!?()[]|*_`—–<"

// NormaliseOutcome maps an outcome as written ("Right.", "✅ confirmed",
// "wrong — we reverted it", "Partly") to its canonical Outcome. Only the
// first line and the first clause count; case, decoration and trailing
// punctuation are ignored. Anything not understood is OutcomeUnknown.
func NormaliseOutcome(raw string) Outcome {
	words := strings.Fields(strings.ToLower(outcomeClause(raw)))
	for n := min(3, len(words)); n > 0; n-- {
		if o, ok := outcomeSynonyms[strings.Join(words[:n], " ")]; ok {
			return o
		}
	}
	return OutcomeUnknown
}

// outcomeClause returns the first clause of the first line of s, as
// written, without leading decoration (emoji, emphasis, bullets) or
// trailing punctuation.
func outcomeClause(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimLeftFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	if i := strings.IndexAny(s, outcomeClauseEnd); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, " - "); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimRightFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	return strings.Join(strings.Fields(s), " ")
}

// leadingOutcome reads an outcome given without a label, as the first
// words of a review section ("Right.", "Mixed: throughput is better…"). The
// whole first clause must be an outcome, so prose that merely starts with
// "Both" or "Good" is not read as one. raw is the clause as written.
func leadingOutcome(line string) (raw string, ok bool) {
	raw = outcomeClause(line)
	_, ok = outcomeSynonyms[strings.ToLower(raw)]
	return raw, ok
}

// isOutcomePlaceholder reports whether an outcome is a template's list of
// choices ("right | wrong | mixed", "right/wrong", "<right, wrong or
// mixed>") rather than a verdict.
func isOutcomePlaceholder(raw string) bool {
	s := strings.ToLower(strings.TrimSpace(raw))
	if strings.HasPrefix(s, "<") || strings.HasPrefix(s, "{") {
		return true
	}
	s = strings.TrimLeft(s, "[(")
	word := func(s string) (string, string) {
		i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
		if i < 0 {
			return s, ""
		}
		return s[:i], s[i:]
	}
	first, rest := word(s)
	rest = strings.TrimLeft(rest, " ")
	switch {
	case strings.HasPrefix(rest, "|"), strings.HasPrefix(rest, "/"), strings.HasPrefix(rest, ","):
		rest = rest[1:]
	case strings.HasPrefix(rest, "or "):
		rest = rest[3:]
	default:
		return false
	}
	second, _ := word(strings.TrimLeft(rest, " "))
	a, okA := outcomeSynonyms[first]
	b, okB := outcomeSynonyms[second]
	return okA && okB && a != b
}

// reviewDraft gathers what one source (the front matter, or one body
// section) says about a review before it is known to hold an outcome.
type reviewDraft struct {
	raw      string
	rawLine  int
	date     Date
	dateLine int
	notes    string
	section  string
	// line is where the review starts: its first key or its heading.
	line int
}

func (d *reviewDraft) empty() bool {
	return d.raw == "" && d.date.IsZero() && strings.TrimSpace(d.notes) == ""
}

// review turns a draft into a Review. A draft without an outcome is no
// review: when it says something else (a date, notes), a warning tells the
// author what to add.
func (p *parseState) review(d *reviewDraft) *Review {
	if d == nil || d.empty() {
		return nil
	}
	if d.raw != "" && isOutcomePlaceholder(d.raw) {
		return nil // a template's "right | wrong | mixed", not filled in
	}
	if d.raw == "" {
		if d.section != "" {
			p.problem(d.line, SeverityWarning, "review-outcome",
				"the %q section gives no outcome: start it with \"Outcome: right\", \"wrong\" or \"mixed\"", d.section)
		} else {
			p.problem(d.line, SeverityWarning, "review-outcome",
				"the review gives no outcome: add outcome: right, wrong or mixed (review: {outcome: right, date: YYYY-MM-DD})")
		}
		return nil
	}
	return &Review{
		Outcome: NormaliseOutcome(d.raw), OutcomeRaw: d.raw,
		Date: d.date, Notes: d.notes, Section: d.section,
		Line: d.rawLine, DateLine: d.dateLine,
	}
}

// reviewFields are the front-matter fields (values of frontMatterKeys) that
// describe a review.
var reviewFields = map[string]bool{"review": true, "review_outcome": true, "review_date": true, "review_notes": true}

// reviewMapKeys maps the keys of a review: mapping to the field they set.
var reviewMapKeys = map[string]string{
	"outcome": "review_outcome", "result": "review_outcome", "verdict": "review_outcome",
	"date": "review_date", "reviewed": "review_date", "on": "review_date",
	"notes": "review_notes", "note": "review_notes",
}

// frontMatterReview reads one review key of the front matter into d:
// review (a mapping, a list of mappings of which the most recent counts,
// or just the outcome), review_outcome, reviewed or review_notes.
func (p *parseState) frontMatterReview(d *reviewDraft, field, key string, v *yaml.Node, line int) {
	if d.line == 0 {
		d.line = line
	}
	switch field {
	case "review":
		switch v.Kind {
		case yaml.MappingNode:
			p.reviewMapping(d, v)
		case yaml.SequenceNode:
			var latest *reviewDraft
			for _, item := range v.Content {
				one := reviewDraft{}
				if item.Kind == yaml.MappingNode {
					p.reviewMapping(&one, item)
				} else {
					p.setReviewField(&one, "review_outcome", key, item, item.Line+1)
				}
				// The most recent review with an outcome; failing that, the
				// last one, so a review without an outcome is reported.
				if latest == nil || latest.raw == "" || (one.raw != "" && !one.date.Before(latest.date.Time)) {
					latest = &one
				}
			}
			if latest != nil {
				d.raw, d.rawLine, d.date, d.dateLine, d.notes = latest.raw, latest.rawLine, latest.date, latest.dateLine, latest.notes
			}
		default:
			p.setReviewField(d, "review_outcome", key, v, line)
		}
	default:
		p.setReviewField(d, field, key, v, line)
	}
}

func (p *parseState) reviewMapping(d *reviewDraft, m *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if field, ok := reviewMapKeys[strings.ToLower(strings.TrimSpace(k.Value))]; ok {
			p.setReviewField(d, field, "review "+k.Value, v, k.Line+1)
		}
	}
}

func (p *parseState) setReviewField(d *reviewDraft, field, key string, v *yaml.Node, line int) {
	s := yamlScalar(v)
	if s == "" {
		return
	}
	switch field {
	case "review_outcome":
		d.raw, d.rawLine = s, line
	case "review_date":
		date, ok := ParseDate(s)
		if !ok {
			p.problem(line, SeverityWarning, "date", "%s %q is not a date (write YYYY-MM-DD)", key, s)
			return
		}
		d.date, d.dateLine = date, line
	case "review_notes":
		d.notes = s
	}
}

// reviewHeading reports whether a section heading names a review: Review,
// Review outcome, Outcome or Retrospective, alone or followed by the
// review's date ("Review 2025-03-01", "Retrospective (2025-03-01)").
func reviewHeading(heading string) (Date, bool) {
	h := normaliseHeading(heading)
	for _, name := range []string{"review outcome", "review", "outcome", "retrospective"} {
		if h == name {
			return Date{}, true
		}
		if rest, ok := strings.CutPrefix(h, name+" "); ok {
			if d, ok := ParseDate(strings.Trim(rest, " :-–—()[]")); ok {
				return d, true
			}
		}
	}
	return Date{}, false
}

// reviewOutcomeKeys and reviewDateKeys are the labels of the lines that
// open a review section ("Outcome: right", "- Reviewed: 2025-03-01").
var (
	reviewOutcomeKeys = map[string]bool{"outcome": true, "review outcome": true, "result": true, "verdict": true}
	reviewDateKeys    = map[string]bool{"date": true, "reviewed": true, "reviewed on": true, "review date": true, "on": true}
)

// reviewSection is a body section whose heading names a review, with the
// first block under it (where the outcome is written) and its body's
// offsets in parseState.src.
type reviewSection struct {
	section    int // index in Record.Sections
	first      ast.Node
	start, end int
	// headDate is the date in the heading (or, for a section nested in
	// another review section, its parent's date), and headDateLine its line.
	headDate     Date
	headDateLine int
}

// nestedReview returns the first review section inside the i-th one, or
// nil. Review sections are in the order of the file, so only the next one
// can be the first inside.
func (p *parseState) nestedReview(i int) *reviewSection {
	outer := p.reviewSecs[i]
	if j := i + 1; j < len(p.reviewSecs) {
		if in := &p.reviewSecs[j]; in.start >= outer.start && in.start < outer.end {
			return in
		}
	}
	return nil
}

// metaLine is one line (or list item) of a review section's first block:
// its text without markdown, its file line and its source offsets.
type metaLine struct {
	text       string
	line       int
	start, end int
}

// blockLines splits the first block of a review section into its lines:
// one per list item, or one per line of a paragraph.
func (p *parseState) blockLines(n ast.Node, sectionEnd int) []metaLine {
	blockEnd := sectionEnd
	if next := n.NextSibling(); next != nil && next.Pos() >= 0 && p.lineStart(next.Pos()) < sectionEnd {
		blockEnd = p.lineStart(next.Pos())
	}
	var out []metaLine
	if l, ok := n.(*ast.List); ok {
		for item := l.FirstChild(); item != nil; item = item.NextSibling() {
			txt, _ := p.plain(item)
			start := p.lineStart(item.Pos())
			end := blockEnd
			if next := item.NextSibling(); next != nil {
				end = p.lineStart(next.Pos())
			}
			out = append(out, metaLine{text: firstLine(txt), line: p.lineOf(item.Pos()), start: start, end: end})
		}
		return out
	}
	txt, _ := p.plain(n)
	lines := strings.Split(strings.TrimSpace(txt), "\n")
	segs := n.Lines()
	if _, isPara := n.(*ast.Paragraph); !isPara || segs == nil || segs.Len() != len(lines) {
		// A block quote, or text whose lines do not map one to one onto the
		// source: only its first line counts, and it stays in the notes.
		return []metaLine{{text: firstLine(txt), line: p.lineOf(n.Pos()), start: -1, end: -1}}
	}
	for i, l := range lines {
		start := p.lineStart(segs.At(i).Start)
		end := p.lineEnd(segs.At(i).Start)
		if i == len(lines)-1 {
			end = blockEnd
		}
		out = append(out, metaLine{text: strings.TrimSpace(l), line: p.lineOf(segs.At(i).Start), start: start, end: end})
	}
	return out
}

// sectionReview reads the review a body section gives: the outcome from a
// labelled line ("Outcome: right", "**Outcome:** mixed", "- Outcome: wrong —
// …") or from the section's first words ("Right."), the date from the
// heading or a "Date:" or "Reviewed:" line, and the rest of the section as
// notes.
func (p *parseState) sectionReview(rs reviewSection) *reviewDraft {
	sec := p.rec.Sections[rs.section]
	d := &reviewDraft{section: sec.Heading, line: sec.Line, date: rs.headDate}
	if !rs.headDate.IsZero() {
		d.dateLine = rs.headDateLine
	}
	type cut struct{ start, end int }
	var cuts []cut
	lineDated := false // a "Date:" line wins over the heading's date
	// The outcome and date lines open the section: its first block, and
	// the blocks after it while the one before held nothing else
	// ("**Outcome:** wrong" then "- Reviewed: 2024-06-12").
	first := true
	for n := rs.first; n != nil && n.Pos() >= 0 && n.Pos() < rs.end; n = n.NextSibling() {
		if !isTextBlock(n) {
			break
		}
		lines := p.blockLines(n, rs.end)
		used := 0
		for _, ml := range lines {
			key, value, labelled := strings.Cut(ml.text, ":")
			key = strings.ToLower(strings.Join(strings.Fields(strings.Trim(key, "*_` ")), " "))
			value = strings.TrimSpace(value)
			switch {
			case labelled && reviewOutcomeKeys[key] && d.raw == "" && value != "":
				d.raw, d.rawLine = value, ml.line
			case labelled && reviewDateKeys[key] && value != "" && !lineDated:
				date, ok := ParseDate(value)
				if !ok {
					if !strings.Contains(strings.ToLower(value), "yyyy") {
						p.problem(ml.line, SeverityWarning, "date", "review date %q is not a date (write YYYY-MM-DD)", value)
					}
					continue
				}
				d.date, d.dateLine, lineDated = date, ml.line, true
			case first && d.raw == "":
				first = false
				if raw, ok := leadingOutcome(ml.text); ok {
					// "Right: latency halved." reads on as prose: the line
					// stays in the notes.
					d.raw, d.rawLine = raw, ml.line
				}
				continue
			default:
				continue
			}
			first = false
			used++
			if ml.start >= 0 {
				cuts = append(cuts, cut{ml.start, ml.end})
			}
		}
		if used < len(lines) {
			break
		}
	}
	var b strings.Builder
	pos := rs.start
	for _, c := range cuts {
		if c.start < pos {
			continue
		}
		b.Write(p.src[pos:c.start])
		pos = c.end
	}
	if pos < rs.end {
		b.Write(p.src[pos:rs.end])
	}
	d.notes = strings.TrimRight(strings.TrimLeft(b.String(), "\n"), " \t\n")
	if strings.TrimSpace(stripHTMLComments(d.notes)) == "" {
		d.notes = ""
	}
	return d
}

// isTextBlock reports whether n is a block of text a review's outcome may
// be written in.
func isTextBlock(n ast.Node) bool {
	switch n.(type) {
	case *ast.Paragraph, *ast.List, *ast.Blockquote:
		return true
	}
	return false
}

// stripHTMLComments drops "<!-- … -->" from s: a section holding only the
// template's guidance says nothing.
func stripHTMLComments(s string) string {
	out, _ := stripComments(s, nil)
	return out
}

// latestReview picks the most recent of several reviews; a later one in
// the list wins a tie, so callers list front matter last.
func latestReview(reviews []*Review) *Review {
	var best *Review
	for _, rv := range reviews {
		if rv == nil {
			continue
		}
		if best == nil || !rv.Date.Before(best.Date.Time) {
			best = rv
		}
	}
	return best
}
