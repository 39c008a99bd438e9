package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/backstory-dev/backstory/content"
)

// evaluation is one run of Evaluate: the input, normalised, and the
// verdict as it is filled in.
type evaluation struct {
	in  Input
	cfg Config
	v   Verdict

	repo       string
	repoConfig content.RepoConfig
	corpus     *content.Corpus // nil: no records on the default branch
	governs    *content.GovernIndex
	// overlay indexes the records the pull request adds or changes, so
	// references to them resolve; nil when there are none.
	overlay   *content.Corpus
	prRecords map[*content.Record]bool

	files   []File     // sorted by path
	counted []*File    // files not ignored
	segs    []fileSegs // counted files' paths, split
	body    string     // newlines normalised, comments blanked
	// template holds the template's lines, normalised (lineKey).
	template map[string]bool
	// folders caches recordFolders, by lower-cased repository name.
	folders map[string]map[string]bool
	// links and annotationLines cache link and annotationLine, by record;
	// sitePrefix the site's URL of each repository's records.
	links, annotationLines map[*content.Record]string
	sitePrefix             map[string]string

	configErrors int
	// skipKind is why the check was skipped: label, author, bot or draft.
	skipKind string
	// matched are the rules that matched, in Verdict.Rules's order, with
	// the files their paths matched.
	matched []ruleMatch
	// rows are the first rows of the governing table (governingRows);
	// rowsTotal how many there are, rowsFlagged whether a decision no
	// longer holds; annotationFiles how many files are worth an
	// annotation, made or not.
	rows            []*governingRow
	rowsTotal       int
	rowsFlagged     bool
	annotationFiles int
}

// ruleMatch is a rule that matched and, when it has paths, the positions
// in evaluation.counted of the files they matched.
type ruleMatch struct {
	rule  Rule
	files []int32
}

func newEvaluation(in Input) *evaluation {
	e := &evaluation{in: in, cfg: in.Config, repo: in.PR.Repository, corpus: in.Corpus, governs: in.Governs}
	if e.cfg.Name == "" {
		e.cfg.Name = DefaultConfig().Name
	}
	if e.cfg.Mode != ModeEnforce {
		e.cfg.Mode = ModeAdvise
	}
	e.cfg.Intent.MinWords = max(e.cfg.Intent.MinWords, 1)
	if e.governs == nil && e.corpus != nil {
		e.governs = e.corpus.GovernIndex()
	}

	e.v.ConfigProblems = append([]content.Problem(nil), in.ConfigProblems...)
	slices.SortStableFunc(e.v.ConfigProblems, func(a, b content.Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	for _, p := range e.v.ConfigProblems {
		if p.Severity == content.SeverityError {
			e.configErrors++
		}
	}

	e.repoConfig = content.DefaultConfig()
	var repo *content.Repo
	if e.corpus != nil {
		repo = e.corpus.Repo(e.repo)
	}
	if repo != nil {
		e.repoConfig = repo.Config
	} else {
		repo = &content.Repo{Name: e.repo, Config: e.repoConfig}
	}
	e.prRecords = map[*content.Record]bool{}
	for _, r := range in.PR.Records {
		e.prRecords[r] = true
	}
	if len(in.PR.Records) > 0 {
		e.overlay = content.NewCorpus([]*content.Repo{repo}, in.PR.Records)
	}

	e.files = sortedFiles(in.PR.Files)
	e.body = blankComments(normaliseNewlines(in.PR.Body))
	e.template = templateLines(in.PR.Template)
	return e
}

// sortedFiles returns files in path order, sorting a copy if needed. GitHub lists them so already;
// others may not, and sorting positions moves less than sorting files.
func sortedFiles(files []File) []File {
	less := func(a, b *File) int {
		if a.Path != b.Path {
			return strings.Compare(a.Path, b.Path)
		}
		if a.PreviousPath != b.PreviousPath {
			return strings.Compare(a.PreviousPath, b.PreviousPath)
		}
		return strings.Compare(a.Status, b.Status)
	}
	sorted := true
	for i := 1; i < len(files) && sorted; i++ {
		sorted = less(&files[i-1], &files[i]) <= 0
	}
	if sorted {
		return files // read, never written
	}
	order := make([]int32, len(files))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return less(&files[a], &files[b]) })
	out := make([]File, len(files))
	for i, k := range order {
		out[i] = files[k]
	}
	return out
}

// skip decides whether the pull request is left alone, and why.
func (e *evaluation) skip() {
	pr, skip := e.in.PR, e.cfg.Skip
	for _, want := range skip.Labels {
		for _, l := range pr.Labels {
			if strings.EqualFold(strings.TrimSpace(l), strings.TrimSpace(want)) {
				e.skipKind, e.v.Skipped = "label", "label "+l
				return
			}
		}
	}
	for _, g := range skip.Authors {
		if matchLogin(g, pr.Author) {
			e.skipKind, e.v.Skipped = "author", fmt.Sprintf("author @%s matches %s", pr.Author, g)
			return
		}
	}
	if pr.AuthorIsBot && skip.Bots {
		e.skipKind, e.v.Skipped = "bot", fmt.Sprintf("@%s is a bot", pr.Author)
		return
	}
	if pr.Draft && skip.Drafts {
		e.skipKind, e.v.Skipped = "draft", "draft"
		return
	}
	if pr.Waiver != nil {
		w := *pr.Waiver
		e.v.Waived = &w
	}
}

// need works out what the pull request needs from the rules.
func (e *evaluation) need() {
	// Split every path once: each is matched against every glob.
	ignore := compileGlobs(e.cfg.Ignore)
	e.counted = make([]*File, 0, len(e.files))
	e.segs = make([]fileSegs, 0, len(e.files))
	var buf []string // every path's segments, in one array
	split := func(p string) []string {
		start := len(buf)
		buf = content.AppendSplitPath(buf, p)
		return buf[start:len(buf):len(buf)]
	}
	for i := range e.files {
		f := &e.files[i]
		fs := fileSegs{path: split(f.Path)}
		if f.PreviousPath != "" && f.PreviousPath != f.Path {
			fs.previous = split(f.PreviousPath)
		}
		if !fs.ignored(ignore) {
			e.counted = append(e.counted, f)
			e.segs = append(e.segs, fs)
		}
	}
	if len(e.files) > 0 && len(e.counted) == 0 {
		e.v.OnlyIgnored = true
		e.v.Need = NeedNothing
		return
	}
	lines := 0
	for _, f := range e.counted {
		lines += f.Additions + f.Deletions
	}
	for i, r := range e.cfg.Rules {
		because, files, ok := e.ruleMatches(r, lines)
		if !ok {
			continue
		}
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("rule %d", i+1)
		}
		e.v.Rules = append(e.v.Rules, MatchedRule{Name: name, Need: r.Need, Source: r.Source, Because: because})
		e.matched = append(e.matched, ruleMatch{rule: r, files: files})
	}
	if len(e.v.Rules) == 0 {
		e.v.Need = e.cfg.Default
		return
	}
	for _, m := range e.v.Rules {
		e.v.Need = max(e.v.Need, m.Need)
	}
}

// ruleMatches checks a rule's conditions and says what matched, and which
// files its paths matched.
func (e *evaluation) ruleMatches(r Rule, lines int) ([]string, []int32, bool) {
	var because []string
	var files []int32
	if len(r.Paths) > 0 {
		globs := compileGlobs(r.Paths)
		matched, first, firstGlob := 0, "", ""
		for i, fs := range e.segs {
			for _, g := range globs {
				if g.MatchSegments(fs.path) || (fs.previous != nil && g.MatchSegments(fs.previous)) {
					if matched == 0 {
						first, firstGlob = e.counted[i].Path, g.String()
					}
					matched++
					files = append(files, int32(i))
					break
				}
			}
		}
		if matched == 0 {
			return nil, nil, false
		}
		if matched == 1 {
			because = append(because, fmt.Sprintf("changes %s (paths: %s)", first, firstGlob))
		} else {
			because = append(because, fmt.Sprintf("changes %d files that match its paths, such as %s (%s)", matched, first, firstGlob))
		}
	}
	if r.MinLines > 0 {
		if len(e.files) == 0 || lines < r.MinLines {
			return nil, nil, false
		}
		because = append(because, fmt.Sprintf("changes %d lines (min_lines: %d)", lines, r.MinLines))
	}
	if r.MinFiles > 0 {
		if len(e.files) == 0 || len(e.counted) < r.MinFiles {
			return nil, nil, false
		}
		because = append(because, fmt.Sprintf("changes %d files (min_files: %d)", len(e.counted), r.MinFiles))
	}
	if len(r.Labels) > 0 {
		label := ""
		for _, want := range r.Labels {
			for _, l := range e.in.PR.Labels {
				if label == "" && strings.EqualFold(strings.TrimSpace(l), strings.TrimSpace(want)) {
					label = l
				}
			}
		}
		if label == "" {
			return nil, nil, false
		}
		because = append(because, "has the label "+label)
	}
	if len(r.Authors) > 0 {
		glob := ""
		for _, g := range r.Authors {
			if glob == "" && matchLogin(g, e.in.PR.Author) {
				glob = g
			}
		}
		if glob == "" {
			return nil, nil, false
		}
		because = append(because, fmt.Sprintf("is by @%s (authors: %s)", e.in.PR.Author, glob))
	}
	if because == nil {
		because = []string{"applies to every pull request"}
	}
	return because, files, true
}

// fileSegs is a changed file's path and previous path, split.
type fileSegs struct{ path, previous []string }

func compileGlobs(patterns []string) []*content.Glob {
	globs := make([]*content.Glob, 0, len(patterns))
	for _, p := range patterns {
		globs = append(globs, content.CompileGlob(p))
	}
	return globs
}

// ignored: a renamed file is ignored only when both its paths are.
func (fs fileSegs) ignored(ignore []*content.Glob) bool {
	in := func(segs []string) bool {
		for _, g := range ignore {
			if g.MatchSegments(segs) {
				return true
			}
		}
		return false
	}
	return len(ignore) > 0 && in(fs.path) && (fs.previous == nil || in(fs.previous))
}

// matchLogin matches a GitHub login against a login glob, without case:
// "*" is any run of characters, "?" one character, everything else is
// itself ("dependabot[bot]" is a login, not a character class).
func matchLogin(glob, login string) bool {
	g, s := []rune(strings.ToLower(strings.TrimSpace(glob))), []rune(strings.ToLower(strings.TrimSpace(login)))
	if len(g) == 0 || len(s) == 0 {
		return false
	}
	// Greedy matching with one backtrack point: linear in practice.
	gi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case gi < len(g) && (g[gi] == '?' || g[gi] == s[si]):
			gi++
			si++
		case gi < len(g) && g[gi] == '*':
			star, mark = gi, si
			gi++
		case star >= 0:
			gi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for gi < len(g) && g[gi] == '*' {
		gi++
	}
	return gi == len(g)
}

// decide says which need is missing.
func (e *evaluation) decide() {
	for _, r := range e.in.PR.Records {
		switch r.Kind {
		case content.KindDecision:
			e.v.Decisions = append(e.v.Decisions, r)
		case content.KindIntent:
			e.v.IntentRecords = append(e.v.IntentRecords, r)
		}
	}
	byPath := func(a, b *content.Record) int { return cmp.Compare(a.Path, b.Path) }
	slices.SortFunc(e.v.Decisions, byPath)
	slices.SortFunc(e.v.IntentRecords, byPath)

	decision := len(e.v.Decisions) > 0
	for _, l := range e.v.Linked {
		if l.Record.Kind == content.KindDecision {
			decision = true
		}
	}
	intent := decision || len(e.v.IntentRecords) > 0 || (e.v.Intent != nil && e.v.Intent.Words >= e.cfg.Intent.MinWords)
	switch {
	case e.v.Need == NeedDecision && !decision:
		e.v.Missing = NeedDecision
	case e.v.Need == NeedIntent && !intent:
		e.v.Missing = NeedIntent
	}
}

// conclude sets the conclusion and the waive button.
func (e *evaluation) conclude() {
	waivable := e.v.Missing != NeedNothing || len(e.v.BadRefs) > 0 || len(e.v.Collisions) > 0
	switch {
	case e.configErrors > 0:
		e.v.Conclusion = Failure
	case e.v.Skipped != "" || e.v.Waived != nil || !waivable:
		e.v.Conclusion = Success
	case e.cfg.Mode == ModeEnforce:
		e.v.Conclusion = Failure
	default:
		e.v.Conclusion = Neutral
	}
	if waivable && e.v.Skipped == "" && e.v.Waived == nil {
		e.v.Actions = []Action{{Label: "Not needed", Description: "Waive this check for this pull request", Identifier: ActionWaive}}
	}
}
