package check

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/backstory-dev/backstory/content"
)

// Limits on what one part of the output shows before it says "and N more":
// the summary stays readable, and the text holds the rest.
const (
	summaryDecisions = 30 // rows of the governing table
	summaryFiles     = 3  // files named in one row
	listItems        = 50 // bad references, collisions, problems
	annotationItems  = 5  // decisions named in one annotation
)

// Markdown is the verdict as `backstory check` prints it: the title, the
// conclusion, the summary and the text.
func (v Verdict) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\nConclusion: **%s**\n\n%s\n", v.Title, v.Conclusion, v.Summary)
	if v.Text != "" {
		fmt.Fprintf(&b, "\n%s\n", v.Text)
	}
	return b.String()
}

func (e *evaluation) render() {
	e.v.Title = e.title()
	summary, text := newDoc(MaxOutput), newDoc(MaxOutput)
	e.summary(summary)
	e.text(text)
	e.v.Summary = summary.String()
	e.v.Text = text.String()
	e.v.Annotations = e.annotations()
}

// doc is markdown built line by line, so it can be cut short between
// lines (never inside a fenced block, which is one item). Once a line does
// not fit in limit, it and every later one are only counted: a pull request
// of 3,000 files does not pay for text GitHub would not take.
type doc struct {
	limit   int
	items   []string
	size    int
	omitted int
}

// noteRoom is kept free for the note that says what was left out.
const noteRoom = 200

func newDoc(limit int) *doc { return &doc{limit: limit} }

// full reports whether lines are now only counted; loops that build
// costly lines check it first and call omit instead.
func (d *doc) full() bool { return d.omitted > 0 }

func (d *doc) omit() { d.omitted++ }

func (d *doc) add(s string) {
	if d.omitted > 0 || d.size+len(s)+1 > d.limit-noteRoom {
		d.omitted++
		return
	}
	d.items = append(d.items, s)
	d.size += len(s) + 1
}

func (d *doc) line(format string, args ...any) {
	if d.full() {
		d.omit()
		return
	}
	d.add(fmt.Sprintf(format, args...))
}

// para starts a new paragraph.
func (d *doc) para() {
	if d.omitted == 0 && len(d.items) > 0 && d.items[len(d.items)-1] != "" {
		d.add("")
	}
}

func (d *doc) fence(lang string, lines ...string) {
	d.para()
	d.add("```" + lang + "\n" + strings.Join(lines, "\n") + "\n```")
	d.para()
}

// String joins the lines, with a note saying how many were left out.
func (d *doc) String() string {
	items := d.items
	for len(items) > 0 && items[len(items)-1] == "" {
		items = items[:len(items)-1]
	}
	s := strings.Join(items, "\n")
	if d.omitted > 0 {
		s += fmt.Sprintf("\n\n_… %s not shown: a check run holds at most %d characters. Run `backstory check` to see everything._", plural(d.omitted, "more line"), MaxOutput)
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// inline escapes untrusted text (titles, paths, messages) for one line of
// markdown: no line breaks, no emphasis, links or HTML of its own.
func inline(s string) string {
	if plainText(s) {
		return s
	}
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:199]) + "…"
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|#~!", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// special marks the bytes inline escapes or rewrites: markdown's own,
// controls, and those of non-ASCII text.
var special = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c < ' ' || c >= 0x7f || strings.IndexByte("\\`*_[]<>|#~!", byte(c)) >= 0
	}
	return t
}()

// plainText reports whether s needs nothing from inline: short, ASCII,
// single spaces, nothing markdown reads.
func plainText(s string) bool {
	if len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if special[s[i]] || (s[i] == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' ')) {
			return false
		}
	}
	return true
}

// code makes a code span that holds s whatever backticks it contains.
func code(s string) string {
	if len(s) <= 200 && !strings.ContainsAny(s, "`\t\n\r") && !strings.Contains(s, "  ") && !strings.HasPrefix(s, " ") && !strings.HasSuffix(s, " ") {
		return "`" + s + "`"
	}
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:199]) + "…"
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// plain shortens untrusted text for a title or an annotation, which are
// not markdown.
func plain(s string, n int) string {
	if len(s) <= n && plainText(s) {
		return s
	}
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n-1]) + "…"
	}
	return s
}

// link is where a record can be read: its page on the site, else its file
// on GitHub (at the head for a record of this pull request).
func (e *evaluation) link(r *content.Record) string {
	if l, ok := e.links[r]; ok {
		return l
	}
	l := e.linkOf(r)
	if e.links == nil {
		e.links = map[*content.Record]string{}
	}
	e.links[r] = l
	return l
}

func (e *evaluation) linkOf(r *content.Record) string {
	inPR := e.prRecords[r]
	if site := strings.TrimRight(e.in.SiteURL, "/"); site != "" && !inPR && e.corpus != nil {
		// corpus.URL(r), with the repository's part made once.
		prefix, ok := e.sitePrefix[r.Repo]
		if !ok {
			prefix = site + "/repos/" + content.RepoSlug(r.Repo) + "/"
			if e.sitePrefix == nil {
				e.sitePrefix = map[string]string{}
			}
			e.sitePrefix[r.Repo] = prefix
		}
		return prefix + e.corpus.RecordSlug(r) + "/"
	}
	// Parentheses would end a markdown link early.
	escaped := strings.NewReplacer("(", "%28", ")", "%29").Replace((&url.URL{Path: r.Path}).EscapedPath())
	if inPR && e.in.PR.HeadSHA != "" && strings.Count(e.repo, "/") == 1 {
		return "https://github.com/" + e.repo + "/blob/" + e.in.PR.HeadSHA + "/" + escaped
	}
	if e.corpus != nil {
		if repo := e.corpus.Repo(r.Repo); repo != nil && repo.SourceURL != "" {
			return repo.SourceURL + escaped
		}
	}
	if strings.Count(r.Repo, "/") == 1 {
		return "https://github.com/" + r.Repo + "/blob/HEAD/" + escaped
	}
	return ""
}

// ref is a record in markdown: its linked id and its title.
func (e *evaluation) ref(r *content.Record) string {
	id := inline(r.ID)
	if l := e.link(r); l != "" {
		id = "[" + id + "](" + l + ")"
	}
	if !strings.EqualFold(r.Repo, e.repo) {
		id = inline(r.Repo) + " " + id
	}
	return id + " " + inline(r.Title)
}

// refID is a record's linked id alone.
func (e *evaluation) refID(r *content.Record) string {
	id := inline(r.ID)
	if l := e.link(r); l != "" {
		return "[" + id + "](" + l + ")"
	}
	return id
}

func (e *evaluation) title() string {
	if e.configErrors > 0 {
		return fmt.Sprintf("The backstory configuration has %s", plural(e.configErrors, "error"))
	}
	if e.v.Skipped != "" {
		return "Skipped: " + plain(e.v.Skipped, 100)
	}
	if e.v.Waived != nil {
		return "Waived by @" + plain(e.v.Waived.By, 60)
	}
	var issues []string
	switch e.v.Missing {
	case NeedIntent:
		issues = append(issues, "Missing: the why of this change")
	case NeedDecision:
		issues = append(issues, "Missing: a linked decision record")
	}
	switch n := len(e.v.BadRefs); {
	case n == 1:
		issues = append(issues, plain(e.v.BadRefs[0].Ref, 60)+" does not exist")
	case n > 1:
		issues = append(issues, fmt.Sprintf("%d linked records do not exist", n))
	}
	switch n := len(e.v.Collisions); {
	case n == 1:
		c := e.v.Collisions[0]
		issues = append(issues, fmt.Sprintf("Number %d is already taken in %s", c.Number, plain(c.Folder, 60)))
	case n > 1:
		issues = append(issues, fmt.Sprintf("%d record numbers are already taken", n))
	}
	if len(issues) > 1 {
		return fmt.Sprintf("%s (and %s)", issues[0], plural(len(issues)-1, "more problem"))
	}
	if len(issues) == 1 {
		return issues[0]
	}
	return e.metTitle()
}

// metTitle says how the need was met.
func (e *evaluation) metTitle() string {
	if e.v.OnlyIgnored {
		return "No context needed: only ignored files changed"
	}
	if e.v.Need == NeedNothing {
		return "No context needed"
	}
	if d := e.decisions(); len(d) > 0 {
		t := "Decision linked: " + plain(d[0].ID, 40) + " " + plain(d[0].Title, 60)
		if len(d) > 1 {
			t += fmt.Sprintf(" (and %d more)", len(d)-1)
		}
		return t
	}
	if e.v.Intent != nil && e.v.Intent.Words >= e.cfg.Intent.MinWords {
		return "The why of this change is given"
	}
	if len(e.v.IntentRecords) > 0 {
		return "Intent recorded: " + plain(e.v.IntentRecords[0].Path, 80)
	}
	return "No context needed"
}

// decisions are the decision records the pull request links, adds or
// changes, in that order, each once.
func (e *evaluation) decisions() []*content.Record {
	var out []*content.Record
	for _, l := range e.v.Linked {
		if l.Record.Kind == content.KindDecision && !slices.Contains(out, l.Record) {
			out = append(out, l.Record)
		}
	}
	for _, r := range e.v.Decisions {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func problemLocation(p content.Problem) string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

func (e *evaluation) summary(d *doc) {
	if e.configErrors > 0 {
		d.line("**The configuration has errors**, so this check fails until they are fixed. The rest of the check ran with the defaults in place of the broken parts.")
		d.para()
		n := 0
		for _, p := range e.v.ConfigProblems {
			if p.Severity != content.SeverityError {
				continue
			}
			if n++; n > listItems {
				d.line("- … and %s (see the details)", plural(e.configErrors-listItems, "more error"))
				break
			}
			d.line("- %s: %s", code(problemLocation(p)), inline(p.Message))
		}
		d.para()
	}
	switch {
	case e.v.Skipped != "":
		e.skippedSummary(d)
	case e.v.Waived != nil:
		d.line("**Waived by @%s on %s.** backstory asks nothing more of this pull request.", inline(e.v.Waived.By), e.v.Waived.At.UTC().Format("2006-01-02 15:04 UTC"))
		if e.v.Missing != NeedNothing {
			d.line("Without the waiver it would need %s.", needWords(e.v.Missing))
		}
		d.para()
	case e.v.Missing == NeedIntent:
		e.missingIntent(d)
	case e.v.Missing == NeedDecision:
		e.missingDecision(d)
	default:
		e.metSummary(d)
	}
	// Shown even when skipped or waived: they are worth fixing anyway.
	e.badRefsSummary(d)
	e.collisionsSummary(d)
	e.governingSummary(d)
}

func needWords(n Need) string {
	switch n {
	case NeedIntent:
		return "the why of the change"
	case NeedDecision:
		return "a linked decision record"
	}
	return "nothing"
}

func (e *evaluation) skippedSummary(d *doc) {
	var why, how string
	pr := e.in.PR
	switch e.skipKind {
	case "label":
		why, how = "it has the skip label "+code(strings.TrimPrefix(e.v.Skipped, "label ")), "Remove the label to have it checked."
	case "author":
		why, how = "its author @"+inline(pr.Author)+" is listed in skip.authors", "Change skip.authors in .github/backstory.yml to have this author's pull requests checked."
	case "bot":
		why, how = "its author @"+inline(pr.Author)+" is a bot", "Set skip.bots: false in .github/backstory.yml to check bots' pull requests."
	case "draft":
		why, how = "it is a draft", "It is checked when it is marked ready for review."
	}
	d.line("**Skipped**: backstory does not ask this pull request for context because %s. %s", why, how)
	d.para()
}

// needBecause says where the need comes from, as a sentence.
func (e *evaluation) needBecause() string {
	if rules := e.needRules(); rules != "" {
		return "Needed because " + rules + "."
	}
	src := ""
	if f, ok := e.cfg.File["default"]; ok {
		src = fmt.Sprintf(" (%s)", code(fmt.Sprintf("%s:%d", f, e.cfg.Line["default"])))
	}
	return fmt.Sprintf("No rule matched, so the default applies: `default: %s`%s.", e.cfg.Default, src)
}

// needRules names the rules that set the need and what matched them; ""
// when the default applies.
func (e *evaluation) needRules() string {
	var parts []string
	for _, m := range e.v.Rules {
		if m.Need != e.v.Need {
			continue
		}
		s := "rule " + code(m.Name)
		if m.Source != "" {
			s += " (" + code(m.Source) + ")"
		}
		s += " matched: it " + inline(strings.Join(m.Because, ", "))
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func (e *evaluation) missingIntent(d *doc) {
	headings := e.cfg.Intent.Headings
	first := "Why"
	if len(headings) > 0 && strings.TrimSpace(headings[0]) != "" {
		first = strings.TrimSpace(headings[0])
	}
	var names []string
	for _, h := range headings {
		names = append(names, code(h))
	}
	d.line("**Missing: the why of this change.** Say in the description why this change is made, under a heading such as %s, in at least %s. %s",
		code(first), plural(e.cfg.Intent.MinWords, "word"), e.needBecause())
	d.para()
	if in := e.v.Intent; in != nil {
		d.line("The %s section (line %d of the description) has %s of its own; template text, comments and placeholders do not count.",
			code(in.Heading), in.Line, plural(in.Words, "word"))
	} else {
		d.line("No section of the description has one of the headings %s.", strings.Join(names, ", "))
	}
	d.para()
	d.line("The reason for a change is easy to write down today and hard to recover later: reviewers need it now, and whoever changes this code next will look for it.")
	d.para()
	d.line("Add this to the description and replace the text in angle brackets:")
	d.fence("markdown", "## "+strings.Join(strings.Fields(first), " "), "", "<What problem does this change solve, for whom, and why now?>")
}

func (e *evaluation) missingDecision(d *doc) {
	d.line("**Missing: a linked decision record.** Name an existing decision in the description, or add a new one to this pull request; the why of the change alone is not enough here. %s", e.needBecause())
	d.para()
	d.line("A change of this weight outlives the people who make it: a decision record says what was chosen, what was rejected and why, so it can be understood and revisited.")
	d.para()
	example, note := e.exampleDecision()
	d.line("To link an existing decision, name it in the description%s:", note)
	d.fence("markdown", "Decision: "+example)
	d.line("To record a new one, run this in the repository, fill the record in, and commit it in this pull request:")
	d.fence("sh", `backstory new decision "Title of the decision"`)
}

// exampleDecision picks the id to show in the decision snippet: the newest
// decision that governs a changed file and still holds, else the
// repository's id pattern.
func (e *evaluation) exampleDecision() (id, note string) {
	counts := map[*content.Record]int{}
	var best *content.Record
	for _, g := range e.v.Governing {
		for _, r := range g.Records {
			if flagged(r) || r.Kind != content.KindDecision {
				continue
			}
			counts[r]++
			if best == nil || newer(r, best) {
				best = r
			}
		}
	}
	if best != nil {
		return best.ID, fmt.Sprintf(" (%s, %s, governs %d of the files changed here)", e.refID(best), inline(best.Title), counts[best])
	}
	digits := max(e.repoConfig.IDDigits, 1)
	if e.repoConfig.IDPrefix == "" {
		return strings.Repeat("N", digits), ""
	}
	return e.repoConfig.IDPrefix + "-" + strings.Repeat("N", digits), ""
}

// newer orders records as content does, newest first: by date, then number,
// then path.
func newer(a, b *content.Record) bool {
	if !a.Date.Equal(b.Date.Time) {
		return a.Date.After(b.Date.Time)
	}
	if a.Number != b.Number {
		return a.Number > b.Number
	}
	return a.Path < b.Path
}

func (e *evaluation) metSummary(d *doc) {
	switch {
	case e.v.OnlyIgnored:
		d.line("**No context needed**: every changed file matches `ignore`.")
	case e.v.Need == NeedNothing:
		if rules := e.needRules(); rules != "" {
			d.line("**No context needed**: %s.", rules)
		} else {
			d.line("**No context needed**: the default is `default: nothing`.")
		}
	default:
		if ds := e.decisions(); len(ds) > 0 {
			var refs []string
			for _, r := range ds {
				refs = append(refs, e.ref(r)+" ("+string(r.Status)+")")
			}
			d.line("**Decision linked**: %s.", strings.Join(refs, "; "))
		} else if in := e.v.Intent; in != nil && in.Words >= e.cfg.Intent.MinWords {
			d.line("**The why of this change is given** in the %s section of the description (%s).", code(in.Heading), plural(in.Words, "word"))
		} else if len(e.v.IntentRecords) > 0 {
			d.line("**Intent recorded** in %s.", e.ref(e.v.IntentRecords[0]))
		}
	}
	d.para()
}

func (e *evaluation) badRefsSummary(d *doc) {
	if len(e.v.BadRefs) == 0 {
		return
	}
	d.line("**Linked records that do not exist**: fix these references or remove them.")
	d.para()
	for i, b := range e.v.BadRefs {
		if i == listItems {
			d.line("- … and %d more", len(e.v.BadRefs)-listItems)
			break
		}
		s := fmt.Sprintf("- %s is not a record of %s", code(b.Ref), inline(b.Repo))
		if len(b.Nearest) > 0 {
			var ids []string
			for _, id := range b.Nearest {
				ids = append(ids, code(id))
			}
			s += " (nearest: " + strings.Join(ids, ", ") + ")"
		}
		d.line("%s", s)
	}
	d.para()
}

func (e *evaluation) collisionsSummary(d *doc) {
	if len(e.v.Collisions) == 0 {
		return
	}
	d.line("**Numbering collision**: git merges two records with the same number without a conflict, so renumber before merging.")
	d.para()
	var fixes []string
	for i, c := range e.v.Collisions {
		if i == listItems {
			d.line("- … and %d more", len(e.v.Collisions)-listItems)
			break
		}
		var by []string
		for _, t := range c.TakenBy {
			switch {
			case t.Here:
				by = append(by, code(t.Path)+" in this pull request")
			case t.PR == 0:
				by = append(by, code(t.Path)+" on the default branch")
			default:
				by = append(by, fmt.Sprintf("%s in #%d", code(t.Path), t.PR))
			}
		}
		s := fmt.Sprintf("- %s takes number %d in %s, already taken by %s. The next free number is %d.", code(c.Path), c.Number, code(c.Folder), strings.Join(by, " and "), c.Next)
		if c.NewID != "" {
			s += fmt.Sprintf(" Change its id from %s to %s too.", code(c.ID), code(c.NewID))
		}
		if c.Fix() == "" {
			s += " Its number is in its title: change it there."
		}
		d.line("%s", s)
		if f := c.Fix(); f != "" {
			fixes = append(fixes, f)
		}
	}
	if len(fixes) > 0 {
		d.para()
		d.line("To renumber:")
		d.fence("sh", fixes...)
	}
	d.para()
}

// governingRow is a decision that governs changed files, with the first
// few of them and how many there are.
type governingRow struct {
	record *content.Record
	files  [summaryFiles]int32 // positions in Verdict.Governing
	count  int32
}

// governingRows groups the governing decisions by decision, and returns
// the first summaryDecisions of them in order (those that no longer hold
// first, then by path) with how many there are and whether any no longer
// holds.
func (e *evaluation) governingRows() (top []*governingRow, total int, anyFlagged bool) {
	pairs := 0
	for _, g := range e.v.Governing {
		pairs += len(g.Records)
	}
	// Sized for a decision per few files, so the map seldom grows.
	index := make(map[*content.Record]int32, pairs/4)
	rows := make([]governingRow, 0, pairs/4)
	// Files side by side often have the same decisions: the row positions
	// of the previous file's are reused then, without a map lookup each.
	var prev []*content.Record
	var prevRows []int32
	for k, g := range e.v.Governing {
		if !slices.Equal(g.Records, prev) {
			prev, prevRows = g.Records, prevRows[:0]
			for _, r := range g.Records {
				i, ok := index[r]
				if !ok {
					i = int32(len(rows))
					index[r] = i
					rows = append(rows, governingRow{record: r})
				}
				prevRows = append(prevRows, i)
			}
		}
		for _, i := range prevRows {
			row := &rows[i]
			if row.count < summaryFiles {
				row.files[row.count] = int32(k)
			}
			row.count++
		}
	}
	before := func(a, b *governingRow) bool {
		if fa, fb := flagged(a.record), flagged(b.record); fa != fb {
			return fa
		}
		if a.record.Path != b.record.Path {
			return a.record.Path < b.record.Path
		}
		return a.record.Repo < b.record.Repo
	}
	// Only the first rows are shown: keep them sorted as the others pass
	// by, instead of sorting thousands.
	for i := range rows {
		row := &rows[i]
		anyFlagged = anyFlagged || flagged(row.record)
		if len(top) == summaryDecisions && !before(row, top[len(top)-1]) {
			continue
		}
		at, _ := slices.BinarySearchFunc(top, row, func(x, target *governingRow) int {
			if before(x, target) {
				return -1
			}
			return 1
		})
		top = slices.Insert(top, at, row)
		if len(top) > summaryDecisions {
			top = top[:summaryDecisions]
		}
	}
	return top, len(rows), anyFlagged
}

// statusCell says where a governing decision stands.
func (e *evaluation) statusCell(r *content.Record) string {
	s := inline(string(r.Status))
	if flagged(r) {
		s = "**" + s + "**"
		if e.corpus != nil {
			var by []string
			for _, x := range e.corpus.SupersededBy(r) {
				by = append(by, e.refID(x))
			}
			if len(by) > 0 {
				s += " by " + strings.Join(by, ", ")
			}
		}
	}
	if r.Status == content.StatusAccepted && !r.ReviewBy.IsZero() && !e.in.Now.IsZero() && r.ReviewBy.Before(e.in.Now) {
		s += ", review due since " + r.ReviewBy.String()
	}
	return s
}

func (e *evaluation) governingSummary(d *doc) {
	if len(e.v.Governing) == 0 {
		return
	}
	rows, total, anyFlagged := e.governingRows()
	d.line("### Decisions that govern the files changed here")
	d.para()
	d.line("| Decision | Status | Changed files |")
	d.line("| --- | --- | --- |")
	for _, row := range rows {
		var names []string
		for _, k := range row.files[:min(row.count, summaryFiles)] {
			names = append(names, code(e.v.Governing[k].Path))
		}
		cell := strings.Join(names, ", ")
		if row.count > summaryFiles {
			cell += fmt.Sprintf(" and %d more", row.count-summaryFiles)
		}
		d.line("| %s | %s | %s |", e.ref(row.record), e.statusCell(row.record), cell)
	}
	d.para()
	if total > summaryDecisions {
		d.line("… and %s: see the details.", plural(total-summaryDecisions, "more decision"))
		d.para()
	}
	if anyFlagged {
		d.line("A decision marked superseded or deprecated no longer holds: read what replaced it before relying on it, and update its `governs` if the files now follow another.")
		d.para()
	}
}

func (e *evaluation) text(d *doc) {
	d.line("### What this pull request needs")
	d.para()
	counted, lines := len(e.counted), 0
	for _, f := range e.counted {
		lines += f.Additions + f.Deletions
	}
	switch {
	case len(e.files) == 0:
		d.line("No changed files were given, so rules on paths and sizes could not match.")
	default:
		d.line("%s changed (%d ignored); %s in files not ignored.", plural(len(e.files), "file"), len(e.files)-counted, plural(lines, "line"))
	}
	d.para()
	switch {
	case e.v.OnlyIgnored:
		d.line("Every changed file matches `ignore`, so nothing is needed.")
	case len(e.v.Rules) == 0:
		d.line("No rule matched: the default applies, `default: %s`.", e.cfg.Default)
	default:
		for _, m := range e.v.Rules {
			src := ""
			if m.Source != "" {
				src = " (" + code(m.Source) + ")"
			}
			d.line("- Rule %s%s needs %s: it %s.", code(m.Name), src, code(m.Need.String()), inline(strings.Join(m.Because, ", ")))
		}
		d.para()
		d.line("The highest need of the rules that match applies: %s.", code(e.v.Need.String()))
	}
	d.para()

	if len(e.v.Linked)+len(e.v.BadRefs)+len(e.v.Unchecked) > 0 || len(e.v.Decisions)+len(e.v.IntentRecords) > 0 {
		d.line("### Records")
		d.para()
		for _, l := range e.v.Linked {
			where := ""
			if l.InPR {
				where = ", as this pull request leaves it"
			}
			d.line("- %s is %s (%s, %s%s)", code(l.Ref), e.ref(l.Record), inline(string(l.Record.Kind)), inline(string(l.Record.Status)), where)
		}
		for _, b := range e.v.BadRefs {
			d.line("- %s does not exist in %s", code(b.Ref), inline(b.Repo))
		}
		for _, u := range e.v.Unchecked {
			d.line("- %s is not checked: backstory has no records of that repository", code(u))
		}
		for _, r := range e.v.Decisions {
			d.line("- this pull request adds or changes the decision %s", e.ref(r))
		}
		for _, r := range e.v.IntentRecords {
			d.line("- this pull request adds or changes the intent %s", e.ref(r))
		}
		d.para()
	}

	if len(e.v.Governing) > 0 {
		d.line("### Governing decisions, file by file")
		d.para()
		if len(e.v.Governing) > MaxAnnotations {
			d.line("Annotations mark the first %d governed files, by path; the other %d are listed here only.", MaxAnnotations, len(e.v.Governing)-MaxAnnotations)
			d.para()
		}
		var prev []*content.Record
		var list string
		for _, g := range e.v.Governing {
			if d.full() {
				d.omit()
				continue
			}
			if prev == nil || !slices.Equal(g.Records, prev) {
				prev = g.Records
				var ids []string
				for _, r := range g.Records {
					id := inline(r.ID)
					if flagged(r) {
						id += " (" + inline(string(r.Status)) + ")"
					}
					ids = append(ids, id)
				}
				list = strings.Join(ids, ", ")
			}
			d.add("- " + code(g.Path) + ": " + list)
		}
		d.para()
	}

	if len(e.v.ConfigProblems) > 0 {
		d.line("### Configuration")
		d.para()
		for _, p := range e.v.ConfigProblems {
			d.line("- %s: %s: %s", code(problemLocation(p)), p.Severity, inline(p.Message))
		}
		d.para()
	}
}

// annotations puts a note on every governed file, up to MaxAnnotations.
func (e *evaluation) annotations() []Annotation {
	var out []Annotation
	// Files side by side often have the same decisions, and then the same
	// note: it is made once.
	var prev []*content.Record
	var level, title, message string
	for _, g := range e.v.Governing {
		if len(out) == MaxAnnotations {
			break
		}
		if prev == nil || !slices.Equal(g.Records, prev) {
			prev = g.Records
			level, title, message = e.annotationNote(g.Records)
		}
		out = append(out, Annotation{Path: g.Path, StartLine: g.Line, EndLine: g.Line, Level: level, Title: title, Message: message})
	}
	return out
}

// annotationNote is the level, title and message of the annotation on a
// file governed by records.
func (e *evaluation) annotationNote(records []*content.Record) (level, title, message string) {
	level = "notice"
	var stale *content.Record
	for _, r := range records {
		if flagged(r) {
			level = "warning"
			if stale == nil {
				stale = r
			}
		}
	}
	switch {
	case stale != nil:
		title = fmt.Sprintf("Governed by a %s decision: %s", stale.Status, plain(stale.ID+" "+stale.Title, 150))
	case len(records) == 1:
		title = "Governed by " + plain(records[0].ID+" "+records[0].Title, 200)
	default:
		title = fmt.Sprintf("Governed by %d decisions", len(records))
	}
	// Those that no longer hold first, so the cap never hides them.
	shown := records
	if stale != nil {
		shown = make([]*content.Record, 0, len(records))
		for _, r := range records {
			if flagged(r) {
				shown = append(shown, r)
			}
		}
		for _, r := range records {
			if !flagged(r) {
				shown = append(shown, r)
			}
		}
	}
	var msgs []string
	for i, r := range shown {
		if i == annotationItems {
			msgs = append(msgs, fmt.Sprintf("… and %d more: see the check's details", len(shown)-annotationItems))
			break
		}
		msgs = append(msgs, e.annotationLine(r))
	}
	return level, title, strings.Join(msgs, "\n\n")
}

// annotationLine says what one governing decision is, for the annotation
// of every file it governs (computed once per decision).
func (e *evaluation) annotationLine(r *content.Record) string {
	if s, ok := e.annotationLines[r]; ok {
		return s
	}
	s := e.annotationLineOf(r)
	if e.annotationLines == nil {
		e.annotationLines = map[*content.Record]string{}
	}
	e.annotationLines[r] = s
	return s
}

func (e *evaluation) annotationLineOf(r *content.Record) string {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(plain(r.ID, 40))
	b.WriteString(" “")
	b.WriteString(plain(r.Title, 120))
	b.WriteString("” (")
	b.WriteString(string(r.Status))
	if !r.Date.IsZero() {
		b.WriteString(", ")
		b.Write(r.Date.AppendFormat(make([]byte, 0, 10), "2006-01-02"))
	}
	b.WriteString(")")
	var successors []*content.Record
	if flagged(r) && e.corpus != nil {
		successors = e.corpus.SupersededBy(r)
	}
	if flagged(r) && len(successors) == 0 {
		b.WriteString(": it no longer holds")
	}
	if l := e.link(r); l != "" {
		b.WriteString("\n")
		b.WriteString(l)
	}
	for _, x := range successors {
		b.WriteString("\nSuperseded by " + plain(x.ID, 40) + " “" + plain(x.Title, 120) + "”: read it before relying on this one")
		if l := e.link(x); l != "" {
			b.WriteString("\n" + l)
		}
	}
	return b.String()
}
