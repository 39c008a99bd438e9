package content

import (
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Corpus is every record of a set of repositories, indexed: references
// resolve, relations are derived in both directions, paths map to the
// decisions that govern them. A Corpus is read-only once loaded and safe for
// concurrent use.
type Corpus struct {
	Repos []*Repo
	// Records are sorted by repository (in the order given), then path.
	Records []*Record
	// Problems are every problem found while loading: configuration,
	// unreadable files, and each record's parse problems.
	Problems []Problem

	order      map[*Record]int
	repos      map[string]*repoIndex // by lower-cased repo name
	repoSlugs  map[string]*repoIndex
	byKey      map[string]*Record
	byURL      map[string]*Record // records that live elsewhere, by URL
	citedBy    map[*Record][]*Record
	recordSlug map[*Record]string
	rels       map[*Record]*relations
	values     map[*Record][]ValueRef
	valueBy    map[string]*Record // value records by every slug they answer to
	tracedBy   map[string]*traced // by value slug

	// chains holds each record's supersession chain, computed once for
	// every chain on the first call to Chain (the site asks for every
	// record's, from several goroutines).
	chainsOnce sync.Once
	chains     map[*Record][]*Record

	// governs is the index of governs globs, built on first use.
	governsOnce sync.Once
	governs     *GovernIndex
}

type repoIndex struct {
	repo      *Repo
	records   []*Record
	byID      map[string]*Record // lower-cased id
	byNumber  map[int][]*Record
	byPath    map[string]*Record
	byLower   map[string]*Record // lower-cased path
	bySlug    map[string]*Record // lower-cased file slug and record slug
	slugTaken map[string]bool
}

type relations struct {
	supersedes, supersededBy, amends, amendedBy, relatesTo []*Record
}

type traced struct {
	decisions, processes []*Record
}

// ValueRef is a value a record serves: its name as written, its slug, and
// the value record that defines it (nil when no record does).
type ValueRef struct {
	Name   string
	Slug   string
	Record *Record
}

// NewCorpus indexes records that were read some other way (tests, the
// App's store). Records are sorted by repository, then path.
func NewCorpus(repos []*Repo, records []*Record) *Corpus {
	c := &Corpus{Repos: repos, Records: append([]*Record(nil), records...)}
	repoOrder := map[string]int{}
	for i, r := range repos {
		repoOrder[r.Name] = i
	}
	sort.SliceStable(c.Records, func(i, j int) bool {
		a, b := c.Records[i], c.Records[j]
		if repoOrder[a.Repo] != repoOrder[b.Repo] {
			return repoOrder[a.Repo] < repoOrder[b.Repo]
		}
		return a.Path < b.Path
	})
	for _, r := range c.Records {
		c.Problems = append(c.Problems, r.Problems...)
	}
	c.index()
	return c
}

func (c *Corpus) index() {
	c.order = make(map[*Record]int, len(c.Records))
	c.repos = map[string]*repoIndex{}
	c.repoSlugs = map[string]*repoIndex{}
	c.byKey = make(map[string]*Record, len(c.Records))
	c.byURL = map[string]*Record{}
	c.recordSlug = make(map[*Record]string, len(c.Records))
	c.rels = map[*Record]*relations{}
	for _, repo := range c.Repos {
		c.repoIndex(repo.Name).repo = repo
	}
	for i, r := range c.Records {
		c.order[r] = i
		idx := c.repoIndex(r.Repo)
		idx.records = append(idx.records, r)
		if _, ok := c.byKey[r.Key()]; !ok {
			c.byKey[r.Key()] = r
		}
		if id := strings.ToLower(r.ID); id != "" {
			if _, ok := idx.byID[id]; !ok {
				idx.byID[id] = r
			}
		}
		if r.Kind == KindDecision && (r.Number > 0 || strings.EqualFold(r.ID, idx.config().FormatID(0))) {
			idx.byNumber[r.Number] = append(idx.byNumber[r.Number], r)
		}
		if u := urlKey(r.URL); u != "" {
			if _, ok := c.byURL[u]; !ok {
				c.byURL[u] = r
			}
		}
		idx.byPath[r.Path] = r
		if _, ok := idx.byLower[strings.ToLower(r.Path)]; !ok {
			idx.byLower[strings.ToLower(r.Path)] = r
		}
		slug := slugify(FileSlug(r.Path), false)
		if r.URL != "" && slugify(r.ID, false) != "" {
			// A record that lives elsewhere has a synthetic path: its id
			// (PR-123) names it better than the made-up file name.
			slug = slugify(r.ID, false)
		}
		if slug == "" {
			slug = "record"
		}
		unique := slug
		for n := 2; idx.slugTaken[unique]; n++ {
			unique = slug + "-" + strconv.Itoa(n)
		}
		idx.slugTaken[unique] = true
		c.recordSlug[r] = unique
		for _, s := range []string{unique, strings.ToLower(FileSlug(r.Path))} {
			if _, ok := idx.bySlug[s]; !ok {
				idx.bySlug[s] = r
			}
		}
	}
	c.relate()
	c.traceValues()
}

func (c *Corpus) repoIndex(name string) *repoIndex {
	key := strings.ToLower(name)
	if idx, ok := c.repos[key]; ok {
		return idx
	}
	idx := &repoIndex{
		byID: map[string]*Record{}, byNumber: map[int][]*Record{}, byPath: map[string]*Record{},
		byLower: map[string]*Record{}, bySlug: map[string]*Record{}, slugTaken: map[string]bool{},
	}
	c.repos[key] = idx
	c.repoSlugs[RepoSlug(name)] = idx
	return idx
}

func (idx *repoIndex) config() RepoConfig {
	if idx.repo != nil {
		return idx.repo.Config
	}
	return DefaultConfig()
}

// Repo returns the repository of that name, or nil.
func (c *Corpus) Repo(name string) *Repo {
	if idx, ok := c.repos[strings.ToLower(name)]; ok {
		return idx.repo
	}
	return nil
}

// ByKey returns the record with the global key "repo:id", or nil.
func (c *Corpus) ByKey(key string) *Record { return c.byKey[key] }

// InRepo returns the records of one repository, sorted by path.
func (c *Corpus) InRepo(name string) []*Record {
	if idx, ok := c.repos[strings.ToLower(name)]; ok {
		return append([]*Record(nil), idx.records...)
	}
	return nil
}

// Resolve finds the record a reference points at, or nil. A reference is an
// id ("ADR-0012"), a number in the repository's pattern ("ADR-12", "#ADR-12",
// "12", "ADR 12"), a path relative to the referring record or to the root
// (with ../ and #anchors), a GitHub blob URL, the record's site URL
// (/repos/<repo-slug>/<record-slug>/), the URL of a record that lives
// elsewhere (a merged pull request's), a file slug, a markdown link
// ("[ADR-0017](0017-persist-dex.md)"), or any of these prefixed with another
// repository ("owner/repo#ADR-12", "owner/repo:ADR-0012"). from gives the
// repository and folder relative references start from; with from nil every
// repository is tried in order.
func (c *Corpus) Resolve(ref string, from *Record) *Record {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil
	}
	// A markdown link: its destination, else its text.
	if strings.HasPrefix(ref, "[") && strings.HasSuffix(ref, ")") {
		if i := strings.Index(ref, "]("); i > 0 {
			if r := c.Resolve(ref[i+2:len(ref)-1], from); r != nil {
				return r
			}
			return c.Resolve(ref[1:i], from)
		}
	}
	ref = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(ref, "<"), ">"))
	if strings.Contains(ref, "://") {
		if r, ok := c.byURL[urlKey(ref)]; ok {
			return r
		}
		if r := c.resolveURL(ref, from); r != nil {
			return r
		}
	}
	// The record's page on the site, wherever the site is served.
	if i := strings.Index(ref, "/repos/"); i >= 0 {
		parts := strings.Split(strings.Trim(ref[i+len("/repos/"):], "/"), "/")
		if len(parts) >= 2 {
			if idx, ok := c.repoSlugs[parts[0]]; ok {
				if r, ok := idx.bySlug[strings.SplitN(parts[1], "#", 2)[0]]; ok {
					return r
				}
			}
		}
	}
	if strings.Contains(ref, "://") {
		return nil
	}
	if k := c.byKey[ref]; k != nil {
		return k
	}
	if i := strings.LastIndexAny(ref, "#:"); i > 0 {
		if idx, ok := c.repos[strings.ToLower(ref[:i])]; ok {
			return c.resolveIn(idx, ref[i+1:], ".")
		}
	}
	if from != nil {
		idx, ok := c.repos[strings.ToLower(from.Repo)]
		if !ok {
			return nil
		}
		return c.resolveIn(idx, ref, path.Dir(from.Path))
	}
	for _, repo := range c.Repos {
		if r := c.resolveIn(c.repos[strings.ToLower(repo.Name)], ref, "."); r != nil {
			return r
		}
	}
	return nil
}

func (c *Corpus) resolveIn(idx *repoIndex, ref, fromDir string) *Record {
	s := strings.TrimSpace(ref)
	id := strings.TrimPrefix(s, "#")
	if r, ok := idx.byID[strings.ToLower(id)]; ok {
		return r
	}
	if n, ok := numberRef(id, idx.config().IDPrefix); ok {
		if rs := idx.byNumber[n]; len(rs) > 0 {
			return rs[0]
		}
		return nil
	}
	p := s
	if i := strings.IndexAny(p, "?"); i >= 0 {
		p = p[:i]
	}
	if i := strings.LastIndex(p, "#"); i >= 0 && (strings.HasSuffix(p[:i], ".md") || strings.HasSuffix(p[:i], "/")) {
		p = p[:i]
	}
	if u, err := url.PathUnescape(p); err == nil {
		p = u
	}
	if p == "" {
		return nil
	}
	var candidates []string
	if strings.HasPrefix(p, "/") {
		candidates = []string{path.Clean(strings.TrimPrefix(p, "/"))}
	} else {
		candidates = []string{path.Join(fromDir, p), path.Clean(p)}
	}
	for _, cand := range candidates {
		for _, try := range []string{cand, cand + "/README.md", cand + "/index.md", cand + ".md"} {
			if r, ok := idx.byPath[try]; ok {
				return r
			}
			if r, ok := idx.byLower[strings.ToLower(try)]; ok {
				return r
			}
		}
	}
	slug := strings.ToLower(strings.TrimSuffix(path.Base(p), ".md"))
	if r, ok := idx.bySlug[slug]; ok {
		return r
	}
	return nil
}

// urlKey is how a record's URL is looked up: without surrounding space, a
// fragment or a trailing slash.
func urlKey(u string) string {
	u = strings.TrimSpace(u)
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	return strings.TrimSuffix(u, "/")
}

// numberRef reads "12", "0012", "ADR-12", "adr 12", "ADR_0012".
func numberRef(s, prefix string) (int, bool) {
	lower := strings.ToLower(strings.TrimSpace(s))
	for _, p := range []string{strings.ToLower(prefix), "adr"} {
		if p != "" && strings.HasPrefix(lower, p) {
			lower = strings.TrimLeft(lower[len(p):], " -_#")
			break
		}
	}
	if !isDigits(lower) || len(lower) > 7 {
		return 0, false
	}
	return atoi(lower), true
}

func (c *Corpus) resolveURL(ref string, from *Record) *Record {
	u, err := url.Parse(ref)
	if err != nil {
		return nil
	}
	host := strings.ToLower(u.Host)
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if (host == "github.com" || host == "www.github.com") && len(parts) >= 5 && (parts[2] == "blob" || parts[2] == "tree" || parts[2] == "edit" || parts[2] == "raw") {
		name := parts[0] + "/" + parts[1]
		p := strings.Join(parts[4:], "/")
		if idx, ok := c.repos[strings.ToLower(name)]; ok {
			return c.resolveIn(idx, "/"+p, ".")
		}
		// A repository read from a folder without a remote still knows its
		// own files: try the path, then the file name beside the referrer.
		if from != nil {
			if idx, ok := c.repos[strings.ToLower(from.Repo)]; ok && (idx.repo == nil || idx.repo.SourceURL == "") {
				if r := c.resolveIn(idx, "/"+p, "."); r != nil {
					return r
				}
				if r, ok := idx.byPath[path.Join(path.Dir(from.Path), path.Base(p))]; ok {
					return r
				}
			}
		}
		return nil
	}
	for _, repo := range c.Repos {
		for _, prefix := range []string{repo.SourceURL, repo.EditURL} {
			if prefix != "" && strings.HasPrefix(ref, prefix) {
				return c.resolveIn(c.repos[strings.ToLower(repo.Name)], "/"+strings.TrimPrefix(ref, prefix), ".")
			}
		}
	}
	return nil
}

// relate derives the relation graph from both sides.
func (c *Corpus) relate() {
	rel := func(r *Record) *relations {
		x, ok := c.rels[r]
		if !ok {
			x = &relations{}
			c.rels[r] = x
		}
		return x
	}
	add := func(list *[]*Record, r *Record) {
		for _, x := range *list {
			if x == r {
				return
			}
		}
		*list = append(*list, r)
	}
	c.citedBy = map[*Record][]*Record{}
	for _, r := range c.Records {
		if r.Kind == KindIntent {
			for _, ref := range r.RelatesTo {
				if t := c.Resolve(ref, r); t != nil && t != r {
					list := c.citedBy[t]
					add(&list, r)
					c.citedBy[t] = list
				}
			}
		}
		// Each relation as written, the list it fills on the record, and the
		// opposite list it fills on the record it names.
		for _, e := range []struct {
			refs          []string
			fwd, backward func(*relations) *[]*Record
		}{
			{r.Supersedes, func(x *relations) *[]*Record { return &x.supersedes }, func(x *relations) *[]*Record { return &x.supersededBy }},
			{r.SupersededBy, func(x *relations) *[]*Record { return &x.supersededBy }, func(x *relations) *[]*Record { return &x.supersedes }},
			{r.Amends, func(x *relations) *[]*Record { return &x.amends }, func(x *relations) *[]*Record { return &x.amendedBy }},
			{r.AmendedBy, func(x *relations) *[]*Record { return &x.amendedBy }, func(x *relations) *[]*Record { return &x.amends }},
			{r.RelatesTo, func(x *relations) *[]*Record { return &x.relatesTo }, func(x *relations) *[]*Record { return &x.relatesTo }},
		} {
			for _, ref := range e.refs {
				if t := c.Resolve(ref, r); t != nil && t != r {
					add(e.fwd(rel(r)), t)
					add(e.backward(rel(t)), r)
				}
			}
		}
	}
	for _, list := range c.citedBy {
		c.newestFirst(list)
	}
	for _, x := range c.rels {
		for _, list := range []*[]*Record{&x.supersedes, &x.supersededBy, &x.amends, &x.amendedBy, &x.relatesTo} {
			c.sortByOrder(*list)
		}
	}
}

func (c *Corpus) sortByOrder(list []*Record) {
	sort.Slice(list, func(i, j int) bool { return c.order[list[i]] < c.order[list[j]] })
}

func (c *Corpus) relationsOf(r *Record) *relations {
	if x, ok := c.rels[r]; ok {
		return x
	}
	return &relations{}
}

func clone(list []*Record) []*Record { return append([]*Record(nil), list...) }

// Supersedes returns the records r replaces, whichever side says so.
func (c *Corpus) Supersedes(r *Record) []*Record { return clone(c.relationsOf(r).supersedes) }

// SupersededBy returns the records that replace r, whichever side says so.
func (c *Corpus) SupersededBy(r *Record) []*Record { return clone(c.relationsOf(r).supersededBy) }

// Amends returns the records r amends, whichever side says so.
func (c *Corpus) Amends(r *Record) []*Record { return clone(c.relationsOf(r).amends) }

// AmendedBy returns the records that amend r, whichever side says so.
func (c *Corpus) AmendedBy(r *Record) []*Record { return clone(c.relationsOf(r).amendedBy) }

// RelatesTo returns the records related to r, in either direction.
func (c *Corpus) RelatesTo(r *Record) []*Record { return clone(c.relationsOf(r).relatesTo) }

// CitedBy returns the intents that cite r in their relates_to (for a
// captured pull request: the records its body linked to), newest first.
func (c *Corpus) CitedBy(r *Record) []*Record { return clone(c.citedBy[r]) }

// Chain returns the supersession chain through r, oldest first: every record
// connected to r by supersession, each after the records it supersedes
// (ties by date, then number, then path). A record in no chain gives [r].
// Records of one chain share the returned slice: do not modify it.
func (c *Corpus) Chain(r *Record) []*Record {
	c.chainsOnce.Do(func() {
		c.chains = map[*Record][]*Record{}
		for _, x := range c.Records {
			if _, done := c.chains[x]; done {
				continue
			}
			if chain := c.chainOf(x); len(chain) > 1 {
				for _, y := range chain {
					c.chains[y] = chain
				}
			}
		}
	})
	if chain, ok := c.chains[r]; ok {
		return chain
	}
	return []*Record{r}
}

// chainOf computes the supersession chain through r.
func (c *Corpus) chainOf(r *Record) []*Record {
	seen := map[*Record]bool{r: true}
	queue := []*Record{r}
	for i := 0; i < len(queue); i++ {
		x := c.relationsOf(queue[i])
		for _, list := range [][]*Record{x.supersedes, x.supersededBy} {
			for _, y := range list {
				if !seen[y] {
					seen[y] = true
					queue = append(queue, y)
				}
			}
		}
	}
	if len(queue) == 1 {
		return queue
	}
	less := func(a, b *Record) bool {
		if !a.Date.Equal(b.Date.Time) {
			if a.Date.IsZero() || b.Date.IsZero() {
				return !a.Date.IsZero() && b.Date.IsZero()
			}
			return a.Date.Before(b.Date.Time)
		}
		if a.Number != b.Number {
			return a.Number < b.Number
		}
		return c.order[a] < c.order[b]
	}
	// Kahn's algorithm: a record comes after every record it supersedes.
	indeg := map[*Record]int{}
	for _, x := range queue {
		indeg[x] = len(c.relationsOf(x).supersedes)
	}
	var out []*Record
	done := map[*Record]bool{}
	for len(out) < len(queue) {
		var next *Record
		for _, x := range queue {
			if !done[x] && indeg[x] == 0 && (next == nil || less(x, next)) {
				next = x
			}
		}
		if next == nil { // a cycle: take the oldest remaining
			for _, x := range queue {
				if !done[x] && (next == nil || less(x, next)) {
					next = x
				}
			}
		}
		done[next] = true
		out = append(out, next)
		for _, y := range c.relationsOf(next).supersededBy {
			indeg[y]--
		}
	}
	return out
}

// traceValues links records to the values they name.
func (c *Corpus) traceValues() {
	c.values = map[*Record][]ValueRef{}
	c.valueBy = map[string]*Record{}
	c.tracedBy = map[string]*traced{}
	for _, r := range c.Records {
		if r.Kind != KindValue {
			continue
		}
		for _, s := range []string{ValueSlug(r.Title), ValueSlug(r.ID), ValueSlug(FileSlug(r.Path)), ValueSlug(titleFromSlug(FileSlug(r.Path)))} {
			if _, ok := c.valueBy[s]; !ok && s != "" {
				c.valueBy[s] = r
			}
		}
	}
	for _, r := range c.Records {
		for _, name := range r.Values {
			ref := ValueRef{Name: name, Slug: ValueSlug(name)}
			if t := c.Resolve(name, r); t != nil && t.Kind == KindValue {
				ref.Record = t
			} else if t, ok := c.valueBy[ref.Slug]; ok {
				ref.Record = t
			}
			if ref.Record != nil {
				ref.Slug = c.ValueSlugOf(ref.Record)
			}
			if ref.Slug == "" {
				continue
			}
			c.values[r] = append(c.values[r], ref)
			t, ok := c.tracedBy[ref.Slug]
			if !ok {
				t = &traced{}
				c.tracedBy[ref.Slug] = t
			}
			if r.Kind == KindProcess {
				t.processes = append(t.processes, r)
			} else if r.Kind != KindValue {
				t.decisions = append(t.decisions, r)
			}
		}
	}
}

// ValueSlugOf is the slug of a value record: from its title.
func (c *Corpus) ValueSlugOf(value *Record) string {
	if s := ValueSlug(value.Title); s != "" {
		return s
	}
	return ValueSlug(FileSlug(value.Path))
}

// Values returns the values r serves, resolved to value records when one
// defines them.
func (c *Corpus) Values(r *Record) []ValueRef { return append([]ValueRef(nil), c.values[r]...) }

// ValueRecords returns the records of kind value.
func (c *Corpus) ValueRecords() []*Record {
	var out []*Record
	for _, r := range c.Records {
		if r.Kind == KindValue {
			out = append(out, r)
		}
	}
	return out
}

// TracesTo returns the decisions (and intents) and processes that name the
// value record in their values.
func (c *Corpus) TracesTo(value *Record) (decisions, processes []*Record) {
	return c.TracedBy(c.ValueSlugOf(value))
}

// TracedBy is TracesTo by value slug; it also answers for values that no
// record defines.
func (c *Corpus) TracedBy(slug string) (decisions, processes []*Record) {
	t, ok := c.tracedBy[slug]
	if !ok {
		return nil, nil
	}
	return clone(t.decisions), clone(t.processes)
}

// UndefinedValues returns the values named in records' values that no value
// record defines, sorted by slug; the site generates a page for each.
func (c *Corpus) UndefinedValues() []ValueRef {
	seen := map[string]bool{}
	var out []ValueRef
	for _, r := range c.Records {
		for _, v := range c.values[r] {
			if v.Record == nil && !seen[v.Slug] {
				seen[v.Slug] = true
				out = append(out, v)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out
}

// Governing returns the records of a repository ("" for every repository)
// whose governs globs match path, newest first. path is relative to the
// repository root; a folder matches the globs that reach inside it.
func (c *Corpus) Governing(repo, p string) []*Record {
	return c.GovernIndex().Governing(repo, p)
}

// GovernIndex returns the index of the corpus's governs globs, built on the
// first call and shared by every later one.
func (c *Corpus) GovernIndex() *GovernIndex {
	c.governsOnce.Do(func() { c.governs = NewGovernIndex(c) })
	return c.governs
}

// Mentioning returns the records of a repository ("" for every repository)
// whose body links to path (or into it, for a folder) or names it, newest
// first.
func (c *Corpus) Mentioning(repo, p string) []*Record {
	p = cleanRel(p)
	var out []*Record
	for _, r := range c.recordsOf(repo) {
		if r.Path == p {
			continue
		}
		if mentions(r, p) {
			out = append(out, r)
		}
	}
	c.newestFirst(out)
	return out
}

// Touching returns the intents of a repository ("" for every repository)
// whose changes touched path, or a file inside it for a folder, newest
// first (by merge time). The root folder matches nothing.
func (c *Corpus) Touching(repo, p string) []*Record {
	p = cleanRel(p)
	if p == "." || p == "" {
		return nil
	}
	var out []*Record
	for _, r := range c.recordsOf(repo) {
		if r.Kind != KindIntent {
			continue
		}
		for _, t := range r.Touches {
			if hasPathPrefix(cleanRel(t), p) {
				out = append(out, r)
				break
			}
		}
	}
	c.newestFirst(out)
	return out
}

func mentions(r *Record, p string) bool {
	dir := path.Dir(r.Path)
	for _, l := range r.Links {
		if strings.Contains(l, "://") || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "mailto:") {
			continue
		}
		l, _, _ = strings.Cut(l, "#")
		if u, err := url.PathUnescape(l); err == nil {
			l = u
		}
		if l == "" {
			continue
		}
		target := path.Join(dir, l)
		if strings.HasPrefix(l, "/") {
			target = path.Clean(strings.TrimPrefix(l, "/"))
		}
		if p != "." && hasPathPrefix(target, p) {
			return true
		}
	}
	if len(p) < 3 || p == "." {
		return false
	}
	i := strings.Index(r.Body, p)
	for i >= 0 {
		end := i + len(p)
		before := i == 0 || !isPathChar(r.Body[i-1])
		after := end == len(r.Body) || !isPathChar(r.Body[end]) || r.Body[end] == '/'
		if before && after {
			return true
		}
		j := strings.Index(r.Body[i+1:], p)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func isPathChar(b byte) bool {
	return b == '_' || b == '-' || b == '.' || b == '/' || (b >= '0' && b <= '9') || (b|0x20 >= 'a' && b|0x20 <= 'z')
}

func (c *Corpus) recordsOf(repo string) []*Record {
	if repo == "" {
		return c.Records
	}
	if idx, ok := c.repos[strings.ToLower(repo)]; ok {
		return idx.records
	}
	return nil
}

func (c *Corpus) newestFirst(list []*Record) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if !a.Date.Equal(b.Date.Time) {
			return a.Date.After(b.Date.Time)
		}
		if a.Number != b.Number {
			return a.Number > b.Number
		}
		return c.order[a] < c.order[b]
	})
}

// cleanRel makes a path as written (in a record, a glob, a changed file)
// relative to the repository root: forward slashes, no surrounding spaces,
// no leading slash, cleaned. Cleaning again changes nothing ("/ a", "\\ a"
// and "x/../ a" are all "a"), so a path cleaned twice matches the same
// globs as one cleaned once.
func cleanRel(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	for {
		q := path.Clean(strings.TrimPrefix(strings.TrimSpace(p), "/"))
		if q == p {
			return p
		}
		p = q
	}
}

// RepoSlug is a repository's folder in site URLs: "alphagov/govuk-aws" →
// "alphagov-govuk-aws".
func RepoSlug(name string) string { return slugify(name, false) }

// RecordSlug is a record's folder in site URLs, from its file name (or its
// folder's, for slug/README.md), lower-cased and unique within its
// repository.
func (c *Corpus) RecordSlug(r *Record) string {
	if s, ok := c.recordSlug[r]; ok {
		return s
	}
	return slugify(FileSlug(r.Path), false)
}

// URL is a record's page on the site, relative to the site root:
// "/repos/<repo-slug>/<record-slug>/".
func (c *Corpus) URL(r *Record) string {
	return "/repos/" + RepoSlug(r.Repo) + "/" + c.RecordSlug(r) + "/"
}

// ValueSlug is a value's name in URLs: "Availability first!" →
// "availability-first". Letters of any script are kept.
func ValueSlug(name string) string { return slugify(name, true) }

// slugify lower-cases s and turns every run of other characters into one
// dash. unicodeLetters keeps non-ASCII letters (values are words people
// write); otherwise only a-z and 0-9 survive.
func slugify(s string, unicodeLetters bool) string {
	var b strings.Builder
	b.Grow(len(s))
	dash := false
	for _, r := range strings.ToLower(s) {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		if !ok && unicodeLetters && r > 127 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			ok = true
		}
		if ok {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	return b.String()
}
