package content

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Glob is a compiled path glob. It matches exactly what MatchGlob matches
// for the same pattern, without expanding braces and splitting the pattern
// again on every call: the check matches every changed file of a pull
// request against every configured glob.
type Glob struct {
	pattern string
	alts    []segPattern
}

// segPattern is one brace alternative of a glob, split into segments.
type segPattern struct {
	segs []string
	// matchers[i] matches one path segment against segs[i] ("**" aside).
	matchers []segMatcher
	// stars counts the "**" segments; star is the index of the first.
	stars, star int
}

// segMatcher matches one path segment as path.Match(pattern, segment)
// would, taking shortcuts for the common shapes of glob segments: plain
// text, "*", "*.go", "api-*". Path segments never hold a slash, so a "*"
// there matches anything.
type segMatcher struct {
	kind    segKind
	pattern string
	text    string // the literal part, for exact, suffix and prefix
}

type segKind uint8

const (
	segExact  segKind = iota // no wildcard
	segAny                   // "*"
	segSuffix                // "*" then text
	segPrefix                // text then "*"
	segGlob                  // anything else: path.Match
)

func compileSegment(s string) segMatcher {
	m := segMatcher{kind: segGlob, pattern: s}
	switch {
	case isLiteralSegment(s):
		m.kind, m.text = segExact, s
	case s == "*":
		m.kind = segAny
	case s[0] == '*' && isLiteralSegment(s[1:]):
		m.kind, m.text = segSuffix, s[1:]
	case s[len(s)-1] == '*' && isLiteralSegment(s[:len(s)-1]):
		m.kind, m.text = segPrefix, s[:len(s)-1]
	}
	return m
}

func (m *segMatcher) matches(s string) bool {
	switch m.kind {
	case segExact:
		return s == m.text
	case segAny:
		return true
	case segSuffix:
		return strings.HasSuffix(s, m.text)
	case segPrefix:
		return strings.HasPrefix(s, m.text)
	}
	ok, err := path.Match(m.pattern, s)
	return err == nil && ok
}

func compileSegments(segs []string) segPattern {
	sp := segPattern{segs: segs, matchers: make([]segMatcher, len(segs)), star: -1}
	for i, s := range segs {
		if s == "**" {
			sp.stars++
			if sp.star < 0 {
				sp.star = i
			}
			continue
		}
		sp.matchers[i] = compileSegment(s)
	}
	return sp
}

// isLiteralSegment reports whether path.Match would treat s as plain text.
func isLiteralSegment(s string) bool { return !strings.ContainsAny(s, `*?[\`) }

// CompileGlob compiles pattern (MatchGlob syntax). It never fails: a
// malformed pattern, like in MatchGlob, matches nothing. Use CheckGlob to
// tell a user what is wrong with one.
func CompileGlob(pattern string) *Glob {
	g := &Glob{pattern: pattern}
	for _, alt := range expandBraces(pattern) {
		g.alts = append(g.alts, compileSegments(splitPath(alt)))
	}
	return g
}

// String returns the pattern as written.
func (g *Glob) String() string { return g.pattern }

// Match reports whether name (a slash-separated path) matches the glob,
// exactly as MatchGlob(pattern, name) does.
func (g *Glob) Match(name string) bool { return g.MatchSegments(splitPath(name)) }

// MatchSegments is Match for a path already split with SplitPath, so a
// path matched against many globs is split once.
func (g *Glob) MatchSegments(segs []string) bool {
	for i := range g.alts {
		if g.alts[i].match(segs) {
			return true
		}
	}
	return false
}

// SplitPath splits a slash-separated path into the segments globs compare:
// leading and trailing slashes are dropped, and "" or "." give none.
func SplitPath(p string) []string { return splitPath(p) }

// AppendSplitPath is SplitPath appending to dst, so that many paths can
// share one allocation.
func AppendSplitPath(dst []string, p string) []string { return splitPathInto(dst, p) }

// segment reports whether pattern segment i matches s.
func (sp *segPattern) segment(i int, s string) bool { return sp.matchers[i].matches(s) }

// matchRun reports whether segs[from:from+len(name)] match name one to one.
func (sp *segPattern) matchRun(from int, name []string) bool {
	for j, s := range name {
		if !sp.segment(from+j, s) {
			return false
		}
	}
	return true
}

// match is matchSegments(sp.segs, name) without its allocations. With no
// "**" the lengths must agree; with one, the segments before it match the
// start of name and those after it the end; only with several is the table
// of matchSegments needed.
func (sp *segPattern) match(name []string) bool {
	switch sp.stars {
	case 0:
		return len(name) == len(sp.segs) && sp.matchRun(0, name)
	case 1:
		head, tail := sp.star, len(sp.segs)-sp.star-1
		if len(name) < head+tail {
			return false
		}
		return sp.matchRun(0, name[:head]) && sp.matchRun(sp.star+1, name[len(name)-tail:])
	}
	return sp.matchTable(name)
}

// matchTable fills matchSegments' table one pattern row at a time.
func (sp *segPattern) matchTable(name []string) bool {
	n := len(name)
	const small = 32
	var buf [2 * (small + 1)]bool
	var next, cur []bool
	if n <= small {
		next, cur = buf[:n+1:n+1], buf[small+1:small+1+n+1]
	} else {
		next, cur = make([]bool, n+1), make([]bool, n+1)
	}
	next[n] = true // the empty pattern matches only the empty name
	for i := len(sp.segs) - 1; i >= 0; i-- {
		for j := n; j >= 0; j-- {
			if sp.segs[i] == "**" {
				cur[j] = next[j] || (j < n && cur[j+1])
				continue
			}
			cur[j] = j < n && next[j+1] && sp.segment(i, name[j])
		}
		next, cur = cur, next
	}
	return next[0]
}

// CheckGlob reports what is wrong with a glob a user wrote, or nil: empty,
// unbalanced braces, more alternatives than MatchGlob expands (it would
// then match the braces literally), or a segment path.Match rejects (a "["
// without "]", a trailing "\").
func CheckGlob(pattern string) error {
	if strings.TrimSpace(pattern) == "" {
		return errors.New("the glob is empty")
	}
	depth := 0
	for _, c := range pattern {
		switch c {
		case '{':
			depth++
		case '}':
			depth--
		}
		if depth < 0 {
			return errors.New(`a "}" closes no "{"`)
		}
	}
	if depth > 0 {
		return errors.New(`a "{" is never closed: write alternatives as {a,b}`)
	}
	alts := expandBraces(pattern)
	if len(alts) == 1 && alts[0] == pattern && strings.Contains(pattern, "{") && strings.Contains(pattern, ",") {
		return fmt.Errorf("the braces expand to more than %d alternatives: split the glob into several", maxBraceAlternatives)
	}
	for _, alt := range alts {
		for _, seg := range splitPath(alt) {
			if _, err := path.Match(seg, ""); err != nil {
				return fmt.Errorf("%q is malformed: a [ needs its ], and a \\ must escape a character", seg)
			}
		}
	}
	return nil
}

// GovernIndex answers "which decisions govern this path?" without trying
// every glob of every record. Globs are stored in a trie of their segments
// up to the first "**": a literal segment ("services") is an edge looked up
// by name, a wildcard segment ("*", "svc-*") an edge tried with path.Match.
// A path walks only the branches its segments match, so it meets only the
// globs that can match it; what follows a "**" is matched for those alone.
// Globs that continue past a "**" are also bucketed by the file name or
// extension their last segment requires, so "**/*.proto" is never tried
// against main.go.
//
// A GovernIndex is read-only once built and safe for concurrent use.
type GovernIndex struct {
	// records holds every record newest first, the order Governing returns;
	// the trie refers to records by their position here.
	records []*Record
	repos   map[string]*governNode // by lower-cased repository name
}

type governNode struct {
	children map[string]*governNode // literal segments
	wild     []wildEdge             // wildcard segments, one edge per pattern
	// exact: globs that end at this node.
	exact []int32
	// deep: globs whose rest is "**", so every path through here matches.
	deep []int32
	// rest: globs whose rest starts with "**" and goes on; matched against
	// the rest of a path.
	rest []governGlob
	// For files: indexes into rest, by the file name (byName) or extension
	// (byExt) the glob's last segment requires, or neither (anyFile).
	byName, byExt map[string][]int32
	anyFile       []int32
}

type wildEdge struct {
	seg   segMatcher
	child *governNode
}

type governGlob struct {
	record int32
	pat    segPattern
}

// NewGovernIndex builds the index of every governs glob in c. Prefer
// Corpus.GovernIndex, which builds it once per corpus.
func NewGovernIndex(c *Corpus) *GovernIndex {
	x := &GovernIndex{repos: map[string]*governNode{}}
	x.records = append([]*Record(nil), c.Records...)
	c.newestFirst(x.records)
	rank := make(map[*Record]int32, len(x.records))
	for i, r := range x.records {
		rank[r] = int32(i)
	}
	for _, r := range c.Records {
		if len(r.Governs) == 0 {
			continue
		}
		key := strings.ToLower(r.Repo)
		root := x.repos[key]
		if root == nil {
			root = &governNode{}
			x.repos[key] = root
		}
		for _, g := range r.Governs {
			for _, alt := range expandBraces(cleanRel(g)) {
				root.add(rank[r], splitPath(alt))
			}
		}
	}
	for _, root := range x.repos {
		root.sortByRank()
	}
	return x
}

// sortByRank orders every list of the trie newest first, so that the hits
// of a lookup come in a few sorted runs and sort cheaply.
func (n *governNode) sortByRank() {
	slices.Sort(n.exact)
	slices.Sort(n.deep)
	byRecord := func(a, b int32) int { return cmp.Compare(n.rest[a].record, n.rest[b].record) }
	slices.SortFunc(n.anyFile, byRecord)
	for _, list := range n.byName {
		slices.SortFunc(list, byRecord)
	}
	for _, list := range n.byExt {
		slices.SortFunc(list, byRecord)
	}
	for _, child := range n.children {
		child.sortByRank()
	}
	for _, w := range n.wild {
		w.child.sortByRank()
	}
}

func (n *governNode) add(record int32, segs []string) {
	for len(segs) > 0 && segs[0] != "**" {
		n, segs = n.edge(segs[0]), segs[1:]
	}
	switch {
	case len(segs) == 0:
		n.exact = append(n.exact, record)
	case len(segs) == 1:
		n.deep = append(n.deep, record)
	default:
		k := int32(len(n.rest))
		n.rest = append(n.rest, governGlob{record: record, pat: compileSegments(segs)})
		name, ext := lastSegmentNeeds(segs)
		switch {
		case name != "":
			if n.byName == nil {
				n.byName = map[string][]int32{}
			}
			n.byName[name] = append(n.byName[name], k)
		case ext != "":
			if n.byExt == nil {
				n.byExt = map[string][]int32{}
			}
			n.byExt[ext] = append(n.byExt[ext], k)
		default:
			n.anyFile = append(n.anyFile, k)
		}
	}
}

// edge returns the child for one glob segment, making it if needed.
func (n *governNode) edge(seg string) *governNode {
	if isLiteralSegment(seg) {
		child := n.children[seg]
		if child == nil {
			if n.children == nil {
				n.children = map[string]*governNode{}
			}
			child = &governNode{}
			n.children[seg] = child
		}
		return child
	}
	for _, w := range n.wild {
		if w.seg.pattern == seg {
			return w.child
		}
	}
	child := &governNode{}
	n.wild = append(n.wild, wildEdge{seg: compileSegment(seg), child: child})
	return child
}

// lastSegmentNeeds says what the last segment of a file must be for segs
// to match it: exactly name (a literal last segment), or a name with
// extension ext (the literal text after the last wildcard holds a dot: a
// name ending in "_test.go" has extension ".go"). Both are "" when the last
// segment is "**" or ends in a wildcard.
func lastSegmentNeeds(segs []string) (name, ext string) {
	last := segs[len(segs)-1]
	if last == "**" {
		return "", ""
	}
	if isLiteralSegment(last) {
		return last, ""
	}
	literal := last[strings.LastIndexAny(last, "*?[]")+1:]
	if i := strings.LastIndexByte(literal, '.'); i >= 0 {
		return "", literal[i:]
	}
	return "", ""
}

// Governing returns exactly what Corpus.Governing returns: the records of a
// repository ("" for every repository) whose governs globs match p, or,
// for a folder, reach inside it; newest first.
func (x *GovernIndex) Governing(repo, p string) []*Record {
	if x == nil {
		return nil
	}
	segs := splitPath(cleanRel(p))
	var hits []int32
	if repo == "" {
		for _, root := range x.repos {
			hits = root.folderHits(segs, 0, hits)
		}
	} else if root := x.repos[strings.ToLower(repo)]; root != nil {
		hits = root.folderHits(segs, 0, hits)
	}
	return x.collect(hits)
}

// GoverningFile returns the records of a repository ("" for every
// repository) with a governs glob that matches the file p, newest first.
// Unlike Governing it does not treat p as a folder too, so "**/*.go"
// governs main.go but not README.md, and "services/*/consumer/**" does not
// govern services/x.go.
func (x *GovernIndex) GoverningFile(repo, p string) []*Record {
	return x.AppendGoverningFile(nil, repo, p)
}

// AppendGoverningFile is GoverningFile appending to dst, so that the
// lookups of every file of a pull request can share one allocation.
func (x *GovernIndex) AppendGoverningFile(dst []*Record, repo, p string) []*Record {
	if x == nil {
		return dst
	}
	// The path's segments and the hits live on the stack unless the path
	// is deep or much governed: this runs for every file of a pull request.
	var segBuf [16]string
	var hitBuf [64]int32
	q := fileQuery{segs: splitPathInto(segBuf[:0], cleanRel(p))}
	if len(q.segs) > 0 {
		q.base = q.segs[len(q.segs)-1]
		q.ext = path.Ext(q.base)
	}
	hits := hitBuf[:0]
	if repo == "" {
		for _, root := range x.repos {
			hits = root.fileHits(&q, 0, hits)
		}
	} else if root := x.repos[strings.ToLower(repo)]; root != nil {
		hits = root.fileHits(&q, 0, hits)
	}
	return x.appendRecords(dst, hits)
}

// splitPathInto is splitPath appending to dst.
func splitPathInto(dst []string, p string) []string {
	p = strings.Trim(p, "/")
	if p == "" || p == "." {
		return dst
	}
	for {
		i := strings.IndexByte(p, '/')
		if i < 0 {
			return append(dst, p)
		}
		dst = append(dst, p[:i])
		p = p[i+1:]
	}
}

type fileQuery struct {
	segs      []string
	base, ext string
}

func (n *governNode) fileHits(q *fileQuery, d int, hits []int32) []int32 {
	hits = append(hits, n.deep...)
	rest := q.segs[d:]
	hits = n.verify(n.anyFile, rest, hits)
	if d == len(q.segs) {
		// Globs keyed by their last segment need one more segment.
		return append(hits, n.exact...)
	}
	hits = n.verify(n.byName[q.base], rest, hits)
	if q.ext != "" {
		hits = n.verify(n.byExt[q.ext], rest, hits)
	}
	seg := q.segs[d]
	if child := n.children[seg]; child != nil {
		hits = child.fileHits(q, d+1, hits)
	}
	for i := range n.wild {
		if w := &n.wild[i]; w.seg.matches(seg) {
			hits = w.child.fileHits(q, d+1, hits)
		}
	}
	return hits
}

func (n *governNode) verify(globs []int32, rest []string, hits []int32) []int32 {
	for _, k := range globs {
		if g := &n.rest[k]; g.pat.match(rest) {
			hits = append(hits, g.record)
		}
	}
	return hits
}

// folderHits follows GovernsPath: a glob governs p when it matches p or
// can match something inside p. Past a "**" anything can follow, so every
// glob of a node the path passes through governs it; where the path ends,
// every glob at or below the node does.
func (n *governNode) folderHits(segs []string, d int, hits []int32) []int32 {
	if d == len(segs) {
		return n.appendAll(hits)
	}
	hits = append(hits, n.deep...)
	for i := range n.rest {
		hits = append(hits, n.rest[i].record)
	}
	if child := n.children[segs[d]]; child != nil {
		hits = child.folderHits(segs, d+1, hits)
	}
	for i := range n.wild {
		if w := &n.wild[i]; w.seg.matches(segs[d]) {
			hits = w.child.folderHits(segs, d+1, hits)
		}
	}
	return hits
}

func (n *governNode) appendAll(hits []int32) []int32 {
	hits = append(hits, n.exact...)
	hits = append(hits, n.deep...)
	for i := range n.rest {
		hits = append(hits, n.rest[i].record)
	}
	for _, child := range n.children {
		hits = child.appendAll(hits)
	}
	for _, w := range n.wild {
		hits = w.child.appendAll(hits)
	}
	return hits
}

// collect turns hits (positions in x.records, repeated when several globs
// of a record match) into records, newest first.
func (x *GovernIndex) collect(hits []int32) []*Record { return x.appendRecords(nil, hits) }

func (x *GovernIndex) appendRecords(dst []*Record, hits []int32) []*Record {
	if len(hits) == 0 {
		return dst
	}
	if len(hits) <= 64 {
		// A few sorted runs: insertion sort beats pdqsort here.
		for i := 1; i < len(hits); i++ {
			for j := i; j > 0 && hits[j] < hits[j-1]; j-- {
				hits[j], hits[j-1] = hits[j-1], hits[j]
			}
		}
	} else {
		slices.Sort(hits)
	}
	hits = slices.Compact(hits)
	dst = slices.Grow(dst, len(hits))
	for _, h := range hits {
		dst = append(dst, x.records[h])
	}
	return dst
}
