package check

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
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
	// Annotations first: the text says how many files they leave out.
	e.v.Annotations = e.annotations()
	e.rows, e.rowsTotal, e.rowsFlagged = e.governingRows()
	summary, text := newDoc(MaxOutput), newDoc(MaxOutput)
	e.summary(summary)
	e.text(text)
	e.v.Summary = summary.String()
	e.v.Text = text.String()
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
// on GitHub (at the head for a record of this pull request), on the host
// its repository's SourceURL names; "" when neither is known.
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
	escaped := escapePath(r.Path)
	if inPR {
		if web := e.repoWeb(r.Repo); web != "" && e.in.PR.HeadSHA != "" {
			return web + "blob/" + e.in.PR.HeadSHA + "/" + escaped
		}
		return ""
	}
	if e.corpus != nil {
		if repo := e.corpus.Repo(r.Repo); repo != nil && repo.SourceURL != "" {
			return repo.SourceURL + escaped
		}
	}
	return ""
}

// escapePath makes a repository path part of a URL in a markdown link:
// parentheses would end the link early.
func escapePath(p string) string {
	return strings.NewReplacer("(", "%28", ")", "%29").Replace((&url.URL{Path: p}).EscapedPath())
}

// repoWeb is a repository's address on GitHub ("https://github.com/acme/shop/"),
// from its SourceURL ("…/acme/shop/blob/main/"); "" when unknown.
func (e *evaluation) repoWeb(name string) string {
	if e.corpus == nil {
		return ""
	}
	r := e.corpus.Repo(name)
	if r == nil || r.SourceURL == "" {
		return ""
	}
	src := r.SourceURL
	if r.Branch != "" {
		if web, ok := strings.CutSuffix(src, "blob/"+r.Branch+"/"); ok && strings.HasSuffix(web, "/") {
			return web
		}
	}
	if i := strings.Index(src, "/blob/"); i >= 0 {
		return src[:i+1]
	}
	return ""
}

// fileURL links to a file of a repository on its default branch, at a
// line when line > 0; "" when the repository's host is unknown.
func (e *evaluation) fileURL(repo, file string, line int) string {
	var u string
	if e.corpus != nil {
		if r := e.corpus.Repo(repo); r != nil && r.SourceURL != "" {
			u = r.SourceURL + escapePath(file)
		}
	}
	if u == "" {
		// Another repository of the same host, such as the organisation's
		// .github: its default branch is HEAD.
		web := e.repoWeb(e.repo)
		host, ok := strings.CutSuffix(strings.ToLower(web), strings.ToLower(e.repo)+"/")
		if !ok || strings.Count(repo, "/") != 1 {
			return ""
		}
		u = web[:len(host)] + repo + "/blob/HEAD/" + escapePath(file)
	}
	if line > 0 {
		u += fmt.Sprintf("#L%d", line)
	}
	return u
}

// configLocation is a place in a configuration file ("acme/shop:
// .github/backstory.yml", line 3), linked when its repository's host is
// known.
func (e *evaluation) configLocation(file string, line int) string {
	if file == "" {
		return "the configuration"
	}
	text := file
	if line > 0 {
		text = fmt.Sprintf("%s:%d", file, line)
	}
	if repo, p, ok := strings.Cut(file, ": "); ok {
		if u := e.fileURL(repo, p, line); u != "" {
			return "[" + code(text) + "](" + u + ")"
		}
	}
	return code(text)
}

// configSource reads a Rule.Source ("acme/shop: .github/backstory.yml:3")
// as a linked location.
func (e *evaluation) configSource(src string) string {
	if i := strings.LastIndexByte(src, ':'); i > 0 {
		if n, err := strconv.Atoi(src[i+1:]); err == nil && n > 0 {
			return e.configLocation(src[:i], n)
		}
	}
	return code(src)
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

func (e *evaluation) summary(d *doc) {
	if e.configErrors > 0 {
		e.configSummary(d)
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
	e.wayOut(d)
	e.governingSummary(d)
}

// configSummary says that the configuration, not the pull request, is
// broken, and lists its errors (only here: the text lists the warnings).
func (e *evaluation) configSummary(d *doc) {
	var files []string
	for _, p := range e.v.ConfigProblems {
		if p.Severity == content.SeverityError && !slices.Contains(files, p.File) {
			files = append(files, p.File)
		}
	}
	var links []string
	for _, f := range files {
		links = append(links, e.configLocation(f, 0))
	}
	d.line("**The backstory configuration has %s.** This is not caused by your pull request: a maintainer must fix %s. Until then this check fails; the rest of it ran with the defaults in place of the broken parts.",
		plural(e.configErrors, "error"), joinWords(links, "and"))
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
		d.line("- %s: %s", e.configLocation(p.File, p.Line), inline(p.Message))
	}
	d.para()
}

// joinWords joins "a", "b" and "c" as "a, b and c" (or with "or").
func joinWords(items []string, and string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + and + " " + items[len(items)-1]
}

// wayOut says how to waive a check that does not pass for a reason a
// waiver clears: the button (not in `backstory check`) or a skip label.
func (e *evaluation) wayOut(d *doc) {
	if len(e.v.Actions) == 0 {
		return
	}
	label := ""
	for _, l := range e.cfg.Skip.Labels {
		if strings.TrimSpace(l) != "" {
			label = strings.TrimSpace(l)
			break
		}
	}
	switch {
	case e.in.Local && label == "":
		return
	case e.in.Local:
		d.line("Not needed here? Add the label %s to the pull request, then run the check again.", code(label))
	case label == "":
		d.line("Not needed here? Press **Not needed** (people with write access).")
	default:
		d.line("Not needed here? Press **Not needed** (people with write access) or add the label %s.", code(label))
	}
	d.para()
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

// needBecause says where the need comes from, in sentences: the rules
// that set it, or the default.
func (e *evaluation) needBecause() string {
	var parts []string
	for i, m := range e.v.Rules {
		if m.Need == e.v.Need {
			parts = append(parts, e.ruleReason(i))
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, " ")
	}
	what := needWords(e.cfg.Default)
	if e.cfg.Default == NeedIntent {
		what = "its why"
	}
	s := "This repository asks every pull request for " + what + " " + e.defaultSource() + "."
	if len(e.cfg.Rules) > 0 {
		s += " None of its rules matched this one."
	}
	return s
}

// defaultSource says, in parentheses, where Config.Default comes from.
func (e *evaluation) defaultSource() string {
	if f, ok := e.cfg.File["default"]; ok {
		return fmt.Sprintf("(%s in %s)", code("check.default: "+e.cfg.Default.String()), e.configLocation(f, e.cfg.Line["default"]))
	}
	return fmt.Sprintf("(backstory's default; set %s in %s to change it)", code("check.default"), code(content.ConfigPath))
}

// ruleReason says, after the rule, what kind of pull request needs what,
// and what in this one matched: "Changes to `services/payments/**` need a
// decision record (rule `payments`, file:line); this pull request changes
// …".
func (e *evaluation) ruleReason(i int) string {
	m, r := e.v.Rules[i], e.matched[i].rule
	var subject []string
	every := false
	if len(r.Paths) > 0 {
		var globs []string
		for k, g := range r.Paths {
			if k == 3 {
				globs = append(globs, fmt.Sprintf("%d more", len(r.Paths)-3))
				break
			}
			globs = append(globs, code(g))
		}
		subject = append(subject, "Changes to "+joinWords(globs, "or"))
	} else {
		subject = append(subject, "Pull requests")
	}
	if r.MinLines > 0 {
		subject = append(subject, fmt.Sprintf("of %d lines or more", r.MinLines))
	}
	if r.MinFiles > 0 {
		subject = append(subject, fmt.Sprintf("that change %d files or more", r.MinFiles))
	}
	if len(r.Labels) > 0 {
		var labels []string
		for _, l := range r.Labels {
			labels = append(labels, code(l))
		}
		subject = append(subject, "labelled "+joinWords(labels, "or"))
	}
	if len(r.Authors) > 0 {
		var authors []string
		for _, a := range r.Authors {
			authors = append(authors, code(a))
		}
		subject = append(subject, "by "+joinWords(authors, "or"))
	}
	verb := "need"
	if len(subject) == 1 && len(r.Paths) == 0 {
		subject, verb, every = []string{"Every pull request"}, "needs", true
	}
	what := needWords(m.Need)
	if m.Need == NeedIntent {
		what = "its why"
		if !every {
			what = "their why"
		}
	}
	where := "rule " + code(m.Name)
	if m.Source != "" {
		where += ", " + e.configSource(m.Source)
	}
	s := fmt.Sprintf("%s %s %s (%s)", strings.Join(subject, " "), verb, what, where)
	if !every {
		s += "; this pull request " + inline(joinWords(m.Because, "and"))
	}
	return s + "."
}

// The intent snippet's prompt, in a comment, and the line to write over:
// both are left out of the word count (intent.go, snippetPrompts), so the
// snippet pasted as it is does not pass, and an answer written beside them
// counts.
const (
	intentPrompt = "What problem does this change solve, for whom, and why now?"
	intentBlank  = "Write here, replacing this line."
)

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
	d.line("Add this to the description, and write the why in place of its last line:")
	d.fence("markdown", "## "+strings.Join(strings.Fields(first), " "), "", "<!-- "+intentPrompt+" -->", intentBlank)
}

func (e *evaluation) missingDecision(d *doc) {
	d.line("**Missing: a linked decision record.** Name an existing decision in the description, or add a new one to this pull request; the why of the change alone is not enough here. %s", e.needBecause())
	d.para()
	d.line("A decision record says what was chosen, what was rejected and why, so that the change can be understood and revisited.")
	d.para()
	d.line("To link an existing decision, name it in the description, with its id in place of %s:", code(e.idPattern()))
	d.fence("markdown", "Decision: "+e.idPattern())
	e.suggestDecisions(d)
	d.line("To record a new one, run this in the repository, fill the record in, and commit it in this pull request:")
	d.fence("sh", `backstory new decision "Title of the decision"`)
	d.line("Or add %s by hand (copy an existing record).", code(e.newDecisionPath()))
	d.para()
}

// idPattern is the repository's id pattern with N for digits: ADR-NNNN.
// It resolves to nothing, so the snippet pasted as it is does not pass.
func (e *evaluation) idPattern() string {
	n := strings.Repeat("N", max(e.repoConfig.IDDigits, 1))
	if e.repoConfig.IDPrefix == "" {
		return n
	}
	return e.repoConfig.IDPrefix + "-" + n
}

// suggestDecisions names the decisions, still in force, that govern the
// files that made this pull request need a decision (those its decision
// rules' paths matched; every changed file for other rules and the
// default), as ones the change may follow.
func (e *evaluation) suggestDecisions(d *doc) {
	const most = 3
	var names []string
	every := len(e.matched) == 0
	paths := map[string]bool{}
	for i, m := range e.matched {
		if e.v.Rules[i].Need != NeedDecision {
			continue
		}
		names = append(names, code(e.v.Rules[i].Name))
		if len(m.rule.Paths) == 0 {
			every = true
			continue
		}
		for _, k := range m.files {
			paths[e.counted[k].Path] = true
		}
	}
	if every {
		for _, f := range e.counted {
			paths[f.Path] = true
		}
	}
	counts := map[*content.Record]int{}
	var found []*content.Record
	for _, g := range e.v.Governing {
		if !paths[g.Path] {
			continue
		}
		for _, r := range g.Records {
			if flagged(r) || r.Kind != content.KindDecision {
				continue
			}
			if counts[r] == 0 {
				found = append(found, r)
			}
			counts[r]++
		}
	}
	if len(found) == 0 {
		return
	}
	slices.SortFunc(found, func(a, b *content.Record) int {
		switch {
		case a == b:
			return 0
		case newer(a, b):
			return -1
		}
		return 1
	})
	scope := "changed here"
	if !every {
		if len(names) == 1 {
			scope = "that rule " + names[0] + " matched"
		} else {
			scope = "that rules " + joinWords(names, "and") + " matched"
		}
	}
	if len(found) == 1 {
		r := found[0]
		d.line("If this change follows %s %s, which governs %s %s, link it: %s", e.refID(r), inline(r.Title), plural(counts[r], "file"), scope, code("Decision: "+r.ID))
		d.para()
		return
	}
	d.line("If this change follows one of these decisions, which govern files %s, link it:", scope)
	d.para()
	for i, r := range found {
		if i == most {
			d.line("- … and %s: see the table below", plural(len(found)-most, "more decision"))
			break
		}
		d.line("- %s %s, governing %d of them: %s", e.refID(r), inline(r.Title), counts[r], code("Decision: "+r.ID))
	}
	d.para()
}

// newDecisionPath is where a new decision record goes, with the next free
// number: the folder that holds the repository's decisions, as `backstory
// new` would name it.
func (e *evaluation) newDecisionPath() string {
	var records []*content.Record
	if e.corpus != nil {
		records = e.corpus.InRepo(e.repo)
	}
	records = append(records, e.in.PR.Records...)
	counts := map[string]int{}
	folder := ""
	for _, r := range records {
		if r.Kind != content.KindDecision {
			continue
		}
		f := SequenceFolder(r.Path)
		counts[f]++
		if folder == "" || counts[f] > counts[folder] || (counts[f] == counts[folder] && f < folder) {
			folder = f
		}
	}
	if folder == "" {
		folder = "docs/decisions"
		if e.corpus != nil {
			if repo := e.corpus.Repo(e.repo); repo != nil && !slices.Contains(repo.Dirs, folder) {
				for _, dir := range repo.Dirs {
					if base := path.Base(dir); dir != "." && base != "processes" && base != "values" && base != "intents" {
						folder = dir
						break
					}
				}
			}
		}
	}
	highest := 0
	for _, r := range records {
		if SequenceFolder(r.Path) == folder {
			highest = max(highest, r.Number)
		}
	}
	for _, o := range e.in.OpenPRRecords {
		if o.PR != e.in.PR.Number && (o.Folder == folder || (o.Path != "" && SequenceFolder(o.Path) == folder)) {
			highest = max(highest, o.Number)
		}
	}
	return path.Join(folder, pad(highest+1, max(e.repoConfig.IDDigits, 4))+"-short-title.md")
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
		if len(e.v.Rules) > 0 {
			d.line("**No context needed**: %s", e.needBecause())
		} else {
			d.line("**No context needed**: this repository asks nothing of pull requests by default %s.", e.defaultSource())
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
	d.line("**Linked records that do not exist**: fix these references or remove them. If a record is being added in another open pull request, merge that one first, or add the record in this one.")
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
// the first summaryDecisions of them in order (governOrder) with how many
// there are and whether any no longer holds.
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
	before := func(a, b *governingRow) bool { return governOrder(a.record, b.record) }
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

// governOrder is the order governing decisions are listed in, in the
// table, the details and the annotations: those that no longer hold
// first, then newest first.
func governOrder(a, b *content.Record) bool {
	if fa, fb := flagged(a), flagged(b); fa != fb {
		return fa
	}
	if a == b {
		return false
	}
	if a.Path == b.Path {
		return a.Repo < b.Repo
	}
	return newer(a, b)
}

// inGovernOrder returns records, which are newest first, in governOrder:
// those that no longer hold moved to the front. It returns records itself
// when none does.
func inGovernOrder(records []*content.Record) []*content.Record {
	if !slices.ContainsFunc(records, flagged) {
		return records
	}
	out := make([]*content.Record, 0, len(records))
	for _, r := range records {
		if flagged(r) {
			out = append(out, r)
		}
	}
	for _, r := range records {
		if !flagged(r) {
			out = append(out, r)
		}
	}
	return out
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
	return s
}

// cell makes markdown fit a table cell: a | ends the cell even inside a
// code span, unless escaped. Only for text whose | are not escaped yet
// (code spans; inline escapes its own).
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// tableComplete: the governing table names every governed file, so the
// details need not list them again.
func (e *evaluation) tableComplete() bool {
	if e.rowsTotal > summaryDecisions {
		return false
	}
	for _, row := range e.rows {
		if row.count > summaryFiles {
			return false
		}
	}
	return true
}

func (e *evaluation) governingSummary(d *doc) {
	if len(e.v.Governing) == 0 {
		return
	}
	d.line("### Decisions that govern the files changed here")
	d.para()
	d.line("| Decision | Status | Changed files |")
	d.line("| --- | --- | --- |")
	for _, row := range e.rows {
		var names []string
		for _, k := range row.files[:min(row.count, summaryFiles)] {
			names = append(names, cell(code(e.v.Governing[k].Path)))
		}
		c := strings.Join(names, ", ")
		if row.count > summaryFiles {
			c += fmt.Sprintf(" and %d more", row.count-summaryFiles)
		}
		d.line("| %s | %s | %s |", e.ref(row.record), e.statusCell(row.record), c)
	}
	d.para()
	if e.rowsTotal > summaryDecisions {
		d.line("… and %s: see the details.", plural(e.rowsTotal-summaryDecisions, "more decision"))
		d.para()
	}
	if e.rowsFlagged {
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
		d.line("No rule matched, so the default applies: %s %s.", code(e.cfg.Default.String()), e.defaultSource())
	default:
		for _, m := range e.v.Rules {
			src := ""
			if m.Source != "" {
				src = " (" + e.configSource(m.Source) + ")"
			}
			d.line("- Rule %s%s needs %s: it %s.", code(m.Name), src, code(m.Need.String()), inline(strings.Join(m.Because, ", ")))
		}
		d.para()
		d.line("The highest need of the rules that match applies: %s.", code(e.v.Need.String()))
	}
	d.para()

	// Missing references are listed in the summary; here only those it
	// had no room for.
	moreBad := e.v.BadRefs[min(len(e.v.BadRefs), listItems):]
	if len(e.v.Linked)+len(moreBad)+len(e.v.Unchecked) > 0 || len(e.v.Decisions)+len(e.v.IntentRecords) > 0 {
		d.line("### Records")
		d.para()
		for _, l := range e.v.Linked {
			where := ""
			if l.InPR {
				where = ", as this pull request leaves it"
			}
			d.line("- %s is %s (%s, %s%s)", code(l.Ref), e.ref(l.Record), inline(string(l.Record.Kind)), inline(string(l.Record.Status)), where)
		}
		for _, b := range moreBad {
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
		e.governingText(d)
	}

	// Errors are listed in the summary; here the warnings, and the errors
	// it had no room for.
	var problems []string
	errs := 0
	for _, p := range e.v.ConfigProblems {
		if p.Severity == content.SeverityError {
			if errs++; errs <= listItems {
				continue
			}
		}
		problems = append(problems, fmt.Sprintf("- %s: %s: %s", e.configLocation(p.File, p.Line), p.Severity, inline(p.Message)))
	}
	if len(problems) > 0 {
		d.line("### Configuration")
		d.para()
		for _, p := range problems {
			d.line("%s", p)
		}
		d.para()
	}
}

// governingText is the details of the governing decisions: which
// annotations were left out, which decisions are due for review, and,
// when the summary's table could not name every file, every governed file.
func (e *evaluation) governingText(d *doc) {
	capped := e.annotationFiles > len(e.v.Annotations)
	var due []string
	if !e.in.Now.IsZero() {
		for _, row := range e.rows {
			r := row.record
			if r.Status == content.StatusAccepted && !r.ReviewBy.IsZero() && r.ReviewBy.Before(e.in.Now) && !r.Reviewed() {
				due = append(due, e.refID(r)+" (since "+r.ReviewBy.String()+")")
			}
		}
	}
	complete := e.tableComplete()
	if !capped && len(due) == 0 && complete {
		return
	}
	d.line("### Governing decisions")
	d.para()
	if capped {
		d.line("Annotations mark the first %d of the %d files worth a note (governed by a decision that no longer holds, or the first changed file of a decision); the others are listed here only.", len(e.v.Annotations), e.annotationFiles)
		d.para()
	}
	if len(due) > 0 {
		d.line("Due for review, for the maintainers of these decisions (nothing for this pull request to do): %s.", strings.Join(due, ", "))
		d.para()
	}
	if complete {
		return
	}
	d.line("File by file:")
	d.para()
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
			for _, r := range inGovernOrder(g.Records) {
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

// annotations put a note on the files worth one, up to MaxAnnotations: a
// warning on every file governed by a decision that no longer holds, and a
// notice on the first changed file (by path) of every other decision.
func (e *evaluation) annotations() []Annotation {
	var out []Annotation
	noted := map[*content.Record]bool{}
	// Files side by side often have the same decisions, and then the same
	// warning: it is made once.
	var prev []*content.Record
	var prevFlagged bool
	var title, message string
	var fresh []*content.Record
	for _, g := range e.v.Governing {
		// The same decisions as the file before: the same warning, or
		// nothing new to note.
		if prev != nil && slices.Equal(g.Records, prev) {
			if prevFlagged {
				e.annotationFiles++
				if len(out) < MaxAnnotations {
					out = append(out, Annotation{Path: g.Path, StartLine: g.Line, EndLine: g.Line, Level: "warning", Title: title, Message: message})
				}
			}
			continue
		}
		prev, prevFlagged = g.Records, slices.ContainsFunc(g.Records, flagged)
		if prevFlagged {
			e.annotationFiles++
			for _, r := range g.Records {
				noted[r] = true
			}
			if len(out) < MaxAnnotations {
				title, message = e.annotationNote(g.Records)
				out = append(out, Annotation{Path: g.Path, StartLine: g.Line, EndLine: g.Line, Level: "warning", Title: title, Message: message})
			}
			continue
		}
		fresh = fresh[:0]
		for _, r := range g.Records {
			if !noted[r] {
				noted[r] = true
				fresh = append(fresh, r)
			}
		}
		if len(fresh) == 0 {
			continue
		}
		e.annotationFiles++
		if len(out) == MaxAnnotations {
			continue
		}
		t, m := e.annotationNote(fresh)
		out = append(out, Annotation{Path: g.Path, StartLine: g.Line, EndLine: g.Line, Level: "notice", Title: t, Message: m})
	}
	return out
}

// annotationNote is the title and message of the annotation on a file
// governed by records (newest first).
func (e *evaluation) annotationNote(records []*content.Record) (title, message string) {
	var stale *content.Record
	for _, r := range records {
		if flagged(r) {
			stale = r
			break
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
	shown := inGovernOrder(records)
	var msgs []string
	for i, r := range shown {
		if i == annotationItems {
			msgs = append(msgs, fmt.Sprintf("… and %d more: see the check's details", len(shown)-annotationItems))
			break
		}
		msgs = append(msgs, e.annotationLine(r))
	}
	return title, strings.Join(msgs, "\n\n")
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
