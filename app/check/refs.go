package check

import (
	"cmp"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/backstory-dev/backstory/content"
)

var (
	// A markdown link: its text, and its destination with an optional title.
	mdLink  = regexp.MustCompile(`\[([^\[\]]*)\]\(\s*<?([^()\s<>]+)>?(?:\s+"[^"]*")?\s*\)`)
	bareURL = regexp.MustCompile("https?://[^\\s<>()\\[\\]\"'`]+")
	// A path to a markdown file with at least one folder.
	mdPath = regexp.MustCompile(`(?:^|[\s("'\x60\[])((?:\./)?(?:[\w.-]+/)+[\w.-]+\.md)\b`)
	// owner/repo#ADR-12 and owner/repo:ADR-0012.
	crossRef = regexp.MustCompile(`(?:^|[^\w/.-])([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)[#:]([A-Za-z]+)([-_]?)(\d{1,7})\b`)
	// The kinds that number their own records (content.RepoConfig.FormatIDFor).
	kindRef = regexp.MustCompile(`(?:^|[^\w/#-])(#?)(PROCESS|VALUE|INTENT)-(\d{1,7})\b`)
)

// refFinder finds references to records in text: it knows this
// repository's id prefix.
type refFinder struct {
	// loose: the prefix in any case, then "-" or "_" ("adr-12", "ADR_12").
	// exact: the prefix as configured, then nothing or a space ("ADR12",
	// "ADR 12"): prose such as "the adr 5 days ago" is not a reference.
	loose, exact *regexp.Regexp
}

func newRefFinder(prefix string) *refFinder {
	alts := []string{"ADR"}
	if prefix != "" && !strings.EqualFold(prefix, "ADR") {
		alts = append(alts, regexp.QuoteMeta(prefix))
	}
	p := strings.Join(alts, "|")
	f := &refFinder{loose: regexp.MustCompile(`(?i)(?:^|[^\w/#-])(#?)(` + p + `)[-_](\d{1,7})\b`)}
	var long []string
	for _, a := range alts {
		// Short prefixes ("D12") are too easily ordinary words.
		if len(a) >= 3 {
			long = append(long, a)
		}
	}
	if len(long) > 0 {
		f.exact = regexp.MustCompile(`(?:^|[^\w/#-])(#?)(` + strings.Join(long, "|") + `) ?(\d{1,7})\b`)
	}
	return f
}

// candidate is something in the text that points at a record.
type candidate struct {
	ref  string // as written
	repo string // the repository it names; "" for this one
	// lookup is what Corpus.Resolve is given.
	lookup string
	// unchecked: it names a repository the corpus does not hold.
	unchecked bool
	// number is the record number it gives, -1 when none.
	number int
	// at is where it starts in its line.
	at int
}

type span struct{ from, to int }

func overlaps(spans []span, from, to int) bool {
	for _, s := range spans {
		if from < s.to && s.from < to {
			return true
		}
	}
	return false
}

// findReferences finds and resolves the references of the title and body.
func (e *evaluation) findReferences() {
	finder := newRefFinder(e.repoConfig.IDPrefix)
	lines := strings.Split(e.body, "\n")
	_, fenced := parseHeadings(lines)
	text := []string{e.in.PR.Title}
	for i, l := range lines {
		if !fenced[i] && !e.template[lineKey(l)] {
			text = append(text, l)
		}
	}
	seen := map[string]bool{}
	linked := map[*content.Record]bool{}
	for _, line := range text {
		for _, c := range e.candidates(line, finder) {
			key := strings.ToLower(c.repo + " " + c.lookup)
			if seen[key] {
				continue
			}
			seen[key] = true
			if c.unchecked {
				e.v.Unchecked = append(e.v.Unchecked, c.ref)
				continue
			}
			r, inPR := e.resolve(c.lookup)
			if r == nil {
				repo := c.repo
				if repo == "" {
					repo = e.repo
				}
				e.v.BadRefs = append(e.v.BadRefs, BadRef{Ref: c.ref, Repo: repo, Nearest: e.nearest(repo, c.number)})
				continue
			}
			if !linked[r] {
				linked[r] = true
				e.v.Linked = append(e.v.Linked, Reference{Ref: c.ref, Record: r, InPR: inPR})
			}
		}
	}
}

// candidates lists the references in one line, links first so that the
// ids inside them are not counted twice.
func (e *evaluation) candidates(line string, finder *refFinder) []candidate {
	var out []candidate
	var taken []span
	add := func(from, to int, c candidate) {
		taken = append(taken, span{from, to})
		c.at = from
		out = append(out, c)
	}
	for _, m := range mdLink.FindAllStringSubmatchIndex(line, -1) {
		// A link to a record is one reference, whatever its text says;
		// another link's text may still name one.
		if c, ok := e.linkCandidate(line[m[4]:m[5]]); ok {
			add(m[0], m[1], c)
		} else {
			taken = append(taken, span{m[3], m[1]})
		}
	}
	for _, m := range bareURL.FindAllStringIndex(line, -1) {
		if overlaps(taken, m[0], m[1]) {
			continue
		}
		u := strings.TrimRight(line[m[0]:m[1]], ".,;:!?")
		if c, ok := e.linkCandidate(u); ok {
			add(m[0], m[1], c)
		} else {
			taken = append(taken, span{m[0], m[1]})
		}
	}
	for _, m := range mdPath.FindAllStringSubmatchIndex(line, -1) {
		if overlaps(taken, m[2], m[3]) {
			continue
		}
		if c, ok := e.linkCandidate(line[m[2]:m[3]]); ok {
			add(m[2], m[3], c)
		}
	}
	for _, m := range crossRef.FindAllStringSubmatchIndex(line, -1) {
		if overlaps(taken, m[2], m[1]) {
			continue
		}
		repo, prefix := line[m[2]:m[3]], line[m[4]:m[5]]
		ref := line[m[2]:m[1]]
		id := line[m[4]:m[1]]
		number, _ := strconv.Atoi(line[m[8]:m[9]])
		if strings.EqualFold(repo, e.repo) {
			if e.knownPrefix(e.repoConfig, prefix) {
				add(m[2], m[1], candidate{ref: ref, lookup: id, number: number})
			}
			continue
		}
		var cfg content.RepoConfig
		known := e.corpus != nil && e.corpus.Repo(repo) != nil
		if known {
			cfg = e.corpus.Repo(repo).Config
		} else {
			cfg = content.DefaultConfig()
		}
		if !e.knownPrefix(cfg, prefix) {
			continue
		}
		add(m[2], m[1], candidate{ref: ref, repo: repo, lookup: repo + "#" + id, unchecked: !known, number: number})
	}
	for _, re := range []*regexp.Regexp{finder.loose, finder.exact, kindRef} {
		if re == nil {
			continue
		}
		for _, m := range re.FindAllStringSubmatchIndex(line, -1) {
			from := m[2] // the optional "#"
			if overlaps(taken, from, m[1]) {
				continue
			}
			ref := line[from:m[1]]
			number, _ := strconv.Atoi(line[m[len(m)-2]:m[len(m)-1]])
			add(from, m[1], candidate{ref: ref, lookup: strings.TrimPrefix(ref, "#"), number: number})
		}
	}
	// In the order they are written.
	slices.SortStableFunc(out, func(a, b candidate) int { return cmp.Compare(a.at, b.at) })
	return out
}

// knownPrefix: prefix starts ids in a repository configured with cfg.
func (e *evaluation) knownPrefix(cfg content.RepoConfig, prefix string) bool {
	for _, p := range []string{cfg.IDPrefix, "ADR", "PROCESS", "VALUE", "INTENT"} {
		if p != "" && strings.EqualFold(p, prefix) {
			return true
		}
	}
	return false
}

// linkCandidate decides whether a link or path points at a record: a page
// of the site, or a markdown file in a record folder of a repository the
// corpus holds (GitHub blob links) or of this one (relative paths).
func (e *evaluation) linkCandidate(dest string) (candidate, bool) {
	if strings.HasPrefix(dest, "#") || strings.HasPrefix(dest, "mailto:") {
		return candidate{}, false
	}
	if strings.Contains(dest, "://") {
		u, err := url.Parse(dest)
		if err != nil {
			return candidate{}, false
		}
		if site := strings.TrimRight(e.in.SiteURL, "/"); site != "" && strings.HasPrefix(dest, site+"/") && strings.Contains(u.Path, "/repos/") {
			parts := strings.Split(strings.Trim(u.Path[strings.Index(u.Path, "/repos/")+len("/repos/"):], "/"), "/")
			repo := e.repoBySlug(parts[0])
			if len(parts) < 2 {
				return candidate{}, false // the repository's page, not a record's
			}
			return candidate{ref: dest, repo: repo, lookup: dest, unchecked: repo == "", number: fileNumber(parts[1])}, true
		}
		host := strings.ToLower(u.Host)
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if (host != "github.com" && host != "www.github.com") || len(parts) < 5 {
			return candidate{}, false
		}
		switch parts[2] {
		case "blob", "tree", "edit", "raw":
		default:
			return candidate{}, false
		}
		repo := parts[0] + "/" + parts[1]
		p := strings.Join(parts[4:], "/")
		if !e.recordLike(repo, p) {
			return candidate{}, false
		}
		if strings.EqualFold(repo, e.repo) {
			return candidate{ref: dest, lookup: dest, number: fileNumber(p)}, true
		}
		known := e.corpus != nil && e.corpus.Repo(repo) != nil
		return candidate{ref: dest, repo: repo, lookup: dest, unchecked: !known, number: fileNumber(p)}, true
	}
	p := dest
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if u, err := url.PathUnescape(p); err == nil {
		p = u
	}
	p = path.Clean("/" + p)[1:]
	if !e.recordLike(e.repo, p) {
		return candidate{}, false
	}
	return candidate{ref: dest, lookup: "/" + p, number: fileNumber(p)}, true
}

// fileNumber is the number a record's file (or folder) name starts with,
// as in 0012-use-kafka.md or adr-012-cosmos.md; -1 when it has none.
func fileNumber(p string) int {
	if isFolderRecord(p) {
		p = parentDir(p)
	}
	if m := fileNumberAt.FindStringSubmatch(path.Base(p)); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return -1
}

// repoBySlug finds the corpus repository whose site slug is slug, "" when
// none is.
func (e *evaluation) repoBySlug(slug string) string {
	if e.corpus == nil {
		return ""
	}
	for _, r := range e.corpus.Repos {
		if content.RepoSlug(r.Name) == slug {
			return r.Name
		}
	}
	return ""
}

// recordFolderNames are folder names that hold records in the wild, for a
// repository whose own folders are unknown.
var recordFolderNames = map[string]bool{"adr": true, "adrs": true, "decisions": true, "decision-records": true, "intents": true, "processes": true, "values": true}

// recordLike: p is a markdown file inside a record folder of repo (its
// configured or discovered folders, the folders of its records), or in a
// folder named like one.
func (e *evaluation) recordLike(repo, p string) bool {
	if !strings.EqualFold(path.Ext(p), ".md") {
		return false
	}
	dir := path.Dir(p)
	for _, seg := range strings.Split(dir, "/") {
		if recordFolderNames[strings.ToLower(seg)] {
			return true
		}
	}
	folders := e.recordFolders(repo)
	for d := dir; ; d = path.Dir(d) {
		if folders[d] {
			return true
		}
		if d == "." || d == "/" {
			return false
		}
	}
}

// recordFolders are the folders of repo that hold records: configured,
// discovered, or holding a record of the corpus or of the pull request.
func (e *evaluation) recordFolders(repo string) map[string]bool {
	key := strings.ToLower(repo)
	if f, ok := e.folders[key]; ok {
		return f
	}
	folders := map[string]bool{}
	var records []*content.Record
	if e.corpus != nil {
		if r := e.corpus.Repo(repo); r != nil {
			for _, d := range append(append([]string(nil), r.Dirs...), r.Config.Paths...) {
				folders[path.Clean(d)] = true
			}
		}
		records = e.corpus.InRepo(repo)
	}
	if strings.EqualFold(repo, e.repo) {
		records = append(records, e.in.PR.Records...)
	}
	for _, r := range records {
		folders[path.Dir(r.Path)] = true
		folders[SequenceFolder(r.Path)] = true
	}
	if e.folders == nil {
		e.folders = map[string]map[string]bool{}
	}
	e.folders[key] = folders
	return folders
}

// resolve finds the record a reference points at: first among the records
// the pull request adds or changes (their head version), then in the
// corpus.
func (e *evaluation) resolve(lookup string) (*content.Record, bool) {
	from := &content.Record{Repo: e.repo, Path: "PULL_REQUEST"}
	if e.overlay != nil {
		if r := e.overlay.Resolve(lookup, from); r != nil {
			return r, true
		}
	}
	if e.corpus != nil {
		if r := e.corpus.Resolve(lookup, from); r != nil {
			return r, false
		}
	}
	return nil, false
}

// nearest returns up to three ids of decisions of repo, still in force,
// whose numbers are nearest to want; none when the reference gives no
// number. A superseded or deprecated decision is not one to link.
func (e *evaluation) nearest(repo string, want int) []string {
	if want < 0 {
		return nil
	}
	var records []*content.Record
	if e.corpus != nil {
		records = e.corpus.InRepo(repo)
	}
	if strings.EqualFold(repo, e.repo) {
		records = append(records, e.in.PR.Records...)
	}
	var numbered []*content.Record
	for _, r := range records {
		if r.Number > 0 && r.Kind == content.KindDecision && !flagged(r) {
			numbered = append(numbered, r)
		}
	}
	dist := func(r *content.Record) int { return max(r.Number-want, want-r.Number) }
	slices.SortStableFunc(numbered, func(a, b *content.Record) int {
		return cmp.Or(cmp.Compare(dist(a), dist(b)), cmp.Compare(a.Number, b.Number), cmp.Compare(a.Path, b.Path))
	})
	var ids []string
	for _, r := range numbered {
		if len(ids) == 3 {
			break
		}
		if !slices.Contains(ids, r.ID) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}
