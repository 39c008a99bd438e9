package site

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/backstory-dev/backstory/content"
	"github.com/spf13/afero"
)

// ref is how a page names another record in its front matter.
type ref struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	URL    string `json:"url"`
	Status string `json:"status"`
	Date   string `json:"date,omitempty"`
	Repo   string `json:"repo"`
}

type chainItem struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	URL     string `json:"url"`
	Status  string `json:"status"`
	Date    string `json:"date,omitempty"`
	Current bool   `json:"current"`
}

// citation is an intent that cited a record: a merged pull request, with
// its page on the site (URL) and the pull request itself (PR).
type citation struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	URL   string `json:"url"`
	PR    string `json:"pr,omitempty"`
	Date  string `json:"date,omitempty"`
	Repo  string `json:"repo"`
}

type valueLink struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

type tracedBy struct {
	Decisions []ref `json:"decisions"`
	Processes []ref `json:"processes"`
}

type problemNote struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// recordPage is the front matter of one record's page: everything the theme
// shows, computed here so templates never search the corpus.
type recordPage struct {
	Title        string      `json:"title"`
	Date         string      `json:"date,omitempty"`
	Tags         []string    `json:"tags,omitempty"`
	Kind         string      `json:"kind"`
	Status       string      `json:"status"`
	StatusRaw    string      `json:"status_raw"`
	RecordID     string      `json:"record_id"`
	Key          string      `json:"key"`
	Number       int         `json:"number,omitempty"`
	Repo         string      `json:"repo"`
	RepoURL      string      `json:"repo_url"`
	SourcePath   string      `json:"source_path"`
	SourceURL    string      `json:"source_url"`
	EditURL      string      `json:"edit_url"`
	Deciders     []string    `json:"deciders,omitempty"`
	ReviewBy     string      `json:"review_by,omitempty"`
	ReviewDue    bool        `json:"review_due"`
	Chain        []chainItem `json:"chain,omitempty"`
	Supersedes   []ref       `json:"supersedes,omitempty"`
	SupersededBy []ref       `json:"superseded_by,omitempty"`
	Amends       []ref       `json:"amends,omitempty"`
	AmendedBy    []ref       `json:"amended_by,omitempty"`
	RelatesTo    []ref       `json:"relates_to,omitempty"`
	// Row is the record's row in every list, as ready HTML: the lists of a
	// 10,000-record site hold tens of thousands of rows, and a row built in
	// the template costs Hugo about 45 µs (ADR-0007).
	Row      string        `json:"row"`
	Values   []valueLink   `json:"values,omitempty"`
	Governs  []string      `json:"governs,omitempty"`
	TracedBy *tracedBy     `json:"traced_by,omitempty"`
	Sections []string      `json:"sections,omitempty"`
	Problems []problemNote `json:"problems,omitempty"`
	Summary  string        `json:"summary"`
	// ExternalURL is the record's own page elsewhere (Record.URL: a merged
	// pull request), http(s) only; when set, SourcePath and EditURL are
	// empty and SourceURL is the same URL.
	ExternalURL string `json:"external_url,omitempty"`
	// Touches are the files an intent's change touched.
	Touches []string `json:"touches,omitempty"`
	// CitedBy are the intents (merged pull requests) that cited the record,
	// newest first. They are left out of RelatesTo.
	CitedBy []citation `json:"cited_by,omitempty"`
	// The outcome of the decision's review (content.Review): canonical and
	// as written, and its date. ReviewNotes are its notes as sanitised
	// markdown when the body does not hold them already (a review in front
	// matter); ReviewSection names the body section that holds them
	// otherwise.
	ReviewOutcome    string `json:"review_outcome,omitempty"`
	ReviewOutcomeRaw string `json:"review_outcome_raw,omitempty"`
	ReviewDate       string `json:"review_date,omitempty"`
	ReviewNotes      string `json:"review_notes,omitempty"`
	ReviewSection    string `json:"review_section,omitempty"`
}

// searchEntry is one record in search.json; keys are short because the
// file is downloaded whole.
type searchEntry struct {
	T string   `json:"t"`
	U string   `json:"u"`
	I string   `json:"i"`
	R string   `json:"r"`
	S string   `json:"s"`
	K string   `json:"k"`
	D string   `json:"d"`
	G []string `json:"g"`
	X string   `json:"x"`
}

// whyData is why.json: the governs globs, newest decision first, and the
// merged intents with the paths they touched, newest first (by merge time).
type whyData struct {
	Governs []whyEntry  `json:"governs"`
	Intents []whyIntent `json:"intents"`
}

// whyIntent is one intent that touched files, in why.json.
type whyIntent struct {
	Repo  string   `json:"repo"`
	ID    string   `json:"id"`
	Title string   `json:"title"`
	URL   string   `json:"url"`
	PR    string   `json:"pr,omitempty"`
	Date  string   `json:"date"`
	Paths []string `json:"paths"`
}

// whyEntry is one governs glob of one record in why.json.
type whyEntry struct {
	Repo   string `json:"repo"`
	Glob   string `json:"glob"`
	ID     string `json:"id"`
	Title  string `json:"title"`
	URL    string `json:"url"`
	Status string `json:"status"`
	Date   string `json:"date"`
}

// generator turns a corpus into the content of a Hugo project.
type generator struct {
	c        *content.Corpus
	opts     Options
	basePath string // the path of BaseURL, "/" or "/docs/"
	now      time.Time

	repos  map[string]*content.Repo
	recURL map[*content.Record]string

	summaries []string // per record index, filled by the page workers
	excerpts  []string

	bodies *bodyCache // nil: no cache
}

// bodyCache keeps the sanitised bodies of records between the builds of a
// preview: the loader hands back the same *Record for an unchanged file, and
// a body's rewriting depends only on the record and on which records exist
// where, which fingerprint captures.
type bodyCache struct {
	mu          sync.Mutex
	fingerprint uint64
	entries     map[*content.Record]cachedBody
}

type cachedBody struct {
	body   renderedBody
	notes  string      // the review's notes, sanitised
	copies [][2]string // files copied into the bundle: project path, source
}

// reset empties the cache unless the corpus has the same records at the
// same URLs as when it was filled.
func (bc *bodyCache) reset(g *generator) {
	var b bytes.Buffer
	b.WriteString(g.basePath)
	for _, r := range g.c.Records {
		b.WriteString(r.Repo + "\x00" + r.Path + "\x00" + r.ID + "\x00" + g.recURL[r] + "\n")
	}
	fp := hash64(b.Bytes())
	if fp != bc.fingerprint || bc.entries == nil {
		bc.fingerprint = fp
		bc.entries = map[*content.Record]cachedBody{}
		return
	}
	// Drop the records that are gone, so the cache does not grow.
	live := make(map[*content.Record]bool, len(g.c.Records))
	for _, r := range g.c.Records {
		live[r] = true
	}
	for r := range bc.entries {
		if !live[r] {
			delete(bc.entries, r)
		}
	}
}

func newGenerator(c *content.Corpus, opts Options) *generator {
	g := &generator{
		c: c, opts: opts, now: opts.Now,
		basePath: basePath(opts.BaseURL),
		repos:    map[string]*content.Repo{},
		recURL:   make(map[*content.Record]string, len(c.Records)),
	}
	if g.now.IsZero() {
		g.now = time.Now()
	}
	for _, r := range c.Repos {
		g.repos[r.Name] = r
	}
	for _, r := range c.Records {
		g.recURL[r] = c.URL(r)
	}
	return g
}

// basePath is the path part of a base URL, with a leading and trailing
// slash.
func basePath(baseURL string) string {
	p := baseURL
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
		if j := strings.IndexByte(p, '/'); j >= 0 {
			p = p[j:]
		} else {
			p = "/"
		}
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// valueURL is the page of a value: the record that defines it, or the page
// the site generates for it.
func (g *generator) valueURL(v content.ValueRef) string {
	if v.Record != nil {
		return g.recURL[v.Record]
	}
	return "/values/" + v.Slug + "/"
}

func valueTitle(name string) string {
	name = strings.TrimSpace(strings.NewReplacer("-", " ", "_", " ").Replace(name))
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

func (g *generator) tracedBy(slug string) *tracedBy {
	ds, ps := g.c.TracedBy(slug)
	return &tracedBy{Decisions: g.refsOrEmpty(ds), Processes: g.refsOrEmpty(ps)}
}

func (g *generator) ref(r *content.Record) ref {
	return ref{ID: r.ID, Title: r.Title, URL: g.recURL[r], Status: shownStatus(r), Date: r.Date.String(), Repo: r.Repo}
}

func (g *generator) refs(rs []*content.Record) []ref {
	if len(rs) == 0 {
		return nil
	}
	out := make([]ref, len(rs))
	for i, r := range rs {
		out[i] = g.ref(r)
	}
	return out
}

// withUnresolved adds, after the resolved records, the references as written
// that resolve to nothing, so a reader sees them rather than losing them.
func (g *generator) withUnresolved(from *content.Record, resolved []*content.Record, written []string) []ref {
	out := g.refs(resolved)
	for _, w := range written {
		if g.c.Resolve(w, from) == nil {
			out = append(out, ref{ID: w, Title: w, Status: string(content.StatusUnknown), Repo: from.Repo})
		}
	}
	return out
}

// reviewDue reports whether an accepted decision is past its review_by and
// has not been reviewed since (content.Record.Reviewed).
func (g *generator) reviewDue(r *content.Record) bool {
	return r.Kind == content.KindDecision && r.Status == content.StatusAccepted &&
		!r.ReviewBy.IsZero() && r.ReviewBy.Before(g.now) && !r.Reviewed()
}

// reviewNotes sanitises the notes of a record's review, like its body,
// when the body does not already show them.
func (g *generator) reviewNotes(r *content.Record, links *linkResolver) string {
	rv := r.Review
	if rv == nil || rv.Section != "" || strings.TrimSpace(rv.Notes) == "" {
		return ""
	}
	return string(sanitiseBody([]byte(rv.Notes), links.rewrite, g.basePath).Markdown)
}

// page computes the front matter of a record's page; notes are the review's
// notes, sanitised.
func (g *generator) page(r *content.Record, summary, notes string) recordPage {
	repo := g.repos[r.Repo]
	p := recordPage{
		Title: r.Title, Date: r.Date.String(), Tags: r.Tags,
		Kind: string(r.Kind), Status: shownStatus(r), StatusRaw: r.StatusRaw,
		RecordID: r.ID, Key: r.Key(), Number: r.Number,
		Repo: r.Repo, RepoURL: "/repos/" + content.RepoSlug(r.Repo) + "/",
		SourcePath: r.Path, Deciders: r.Deciders, ReviewBy: r.ReviewBy.String(),
		ReviewDue: g.reviewDue(r), Governs: r.Governs, Touches: r.Touches, Summary: summary,
		Row: g.row(r),
	}
	switch {
	case r.URL != "":
		// The record is not a file: its path is synthetic, and its source
		// is its page elsewhere.
		p.SourcePath = ""
		p.ExternalURL = externalURL(r.URL)
		p.SourceURL = p.ExternalURL
	case repo != nil:
		if repo.SourceURL != "" {
			p.SourceURL = repo.SourceURL + r.Path
		}
		if repo.EditURL != "" {
			p.EditURL = repo.EditURL + r.Path
		}
	}
	if chain := g.c.Chain(r); len(chain) > 1 {
		for _, x := range chain {
			p.Chain = append(p.Chain, chainItem{ID: x.ID, Title: x.Title, URL: g.recURL[x], Status: shownStatus(x), Date: x.Date.String(), Current: x == r})
		}
	}
	p.Supersedes = g.withUnresolved(r, g.c.Supersedes(r), r.Supersedes)
	p.SupersededBy = g.withUnresolved(r, g.c.SupersededBy(r), r.SupersededBy)
	p.Amends = g.withUnresolved(r, g.c.Amends(r), r.Amends)
	p.AmendedBy = g.refs(g.c.AmendedBy(r))
	cited := g.c.CitedBy(r)
	for _, x := range cited {
		p.CitedBy = append(p.CitedBy, citation{ID: x.ID, Title: x.Title, URL: g.recURL[x], PR: externalURL(x.URL), Date: x.Date.String(), Repo: x.Repo})
	}
	p.RelatesTo = g.withUnresolved(r, without(g.c.RelatesTo(r), cited), r.RelatesTo)
	for _, v := range g.c.Values(r) {
		t := valueTitle(v.Name)
		if v.Record != nil {
			t = v.Record.Title
		}
		p.Values = append(p.Values, valueLink{Title: t, URL: g.valueURL(v)})
	}
	if r.Kind == content.KindValue {
		p.TracedBy = g.tracedBy(g.c.ValueSlugOf(r))
	}
	if rv := r.Review; rv != nil {
		p.ReviewOutcome, p.ReviewOutcomeRaw, p.ReviewDate = string(rv.Outcome), rv.OutcomeRaw, rv.Date.String()
		p.ReviewNotes, p.ReviewSection = notes, rv.Section
	}
	for _, s := range r.Sections {
		if s.Level == 2 || s.Level == 1 {
			p.Sections = append(p.Sections, s.Heading)
		}
	}
	for _, pr := range r.Problems {
		p.Problems = append(p.Problems, problemNote{Line: pr.Line, Message: pr.Message})
	}
	return p
}

// without returns list less the records in drop.
func without(list, drop []*content.Record) []*content.Record {
	if len(drop) == 0 {
		return list
	}
	out := list[:0:0]
	for _, r := range list {
		keep := true
		for _, d := range drop {
			if r == d {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	return out
}

// externalURL is a record's URL as the site may link to it: http(s) only,
// since record data is untrusted; anything else gives "".
func externalURL(u string) string {
	u = strings.TrimSpace(u)
	lower := strings.ToLower(u)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		return ""
	}
	if strings.ContainsAny(u, " \t\n\r\"'<>`") {
		return ""
	}
	return u
}

func (g *generator) refsOrEmpty(rs []*content.Record) []ref {
	if out := g.refs(rs); out != nil {
		return out
	}
	return []ref{}
}

// frontMatter writes JSON front matter followed by a body.
func frontMatter(v any, body []byte) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if len(body) > 0 {
		b.WriteByte('\n')
		b.Write(body)
		if !bytes.HasSuffix(body, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), nil
}

// generate writes the Hugo project's content, static data files and config
// through w.
func (g *generator) generate(w *projectWriter) error {
	recs := g.c.Records
	g.summaries = make([]string, len(recs))
	g.excerpts = make([]string, len(recs))
	if g.bodies != nil {
		g.bodies.reset(g)
	}

	if err := g.writeConfig(w); err != nil {
		return err
	}

	// Record pages: the bulk of the work, spread over the CPUs.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int, 256)
		done int
	)
	workers := runtime.GOMAXPROCS(0)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := g.writeRecord(w, i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				if g.opts.Progress != nil {
					mu.Lock()
					done++
					if done%200 == 0 || done == len(recs) {
						g.opts.Progress("generate", done, len(recs))
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range recs {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return g.writeLists(w)
}

func (g *generator) writeRecord(w *projectWriter, i int) error {
	r := g.c.Records[i]
	bundle := strings.TrimPrefix(g.recURL[r], "/")
	var body renderedBody
	var notes string
	cached, hit := cachedBody{}, false
	if g.bodies != nil {
		g.bodies.mu.Lock()
		cached, hit = g.bodies.entries[r]
		g.bodies.mu.Unlock()
	}
	if hit {
		body, notes = cached.body, cached.notes
		for _, c := range cached.copies {
			if err := w.copyFile(c[0], c[1]); err != nil {
				hit = false // the file went away: rewrite the links
			}
		}
	}
	if !hit {
		links := &linkResolver{g: g, r: r, repo: g.repos[r.Repo], bundle: bundle, w: w}
		body = sanitiseBody([]byte(r.Body), links.rewrite, g.basePath)
		notes = g.reviewNotes(r, links)
		if g.bodies != nil {
			g.bodies.mu.Lock()
			g.bodies.entries[r] = cachedBody{body: body, notes: notes, copies: links.copies}
			g.bodies.mu.Unlock()
		}
	}
	g.summaries[i] = body.Summary
	g.excerpts[i] = body.Excerpt
	data, err := frontMatter(g.page(r, body.Summary, notes), body.Markdown)
	if err != nil {
		return fmt.Errorf("record %s: %w", r.Path, err)
	}
	return w.write("content/"+bundle+"index.md", data)
}

type counts struct {
	Records   int `json:"records"`
	Decisions int `json:"decisions"`
	Values    int `json:"values"`
	Processes int `json:"processes"`
	Repos     int `json:"repos"`
	Due       int `json:"due"`
}

// writeLists writes the section pages, the generated value pages and the
// data files the site's scripts load.
func (g *generator) writeLists(w *projectWriter) error {
	var n counts
	n.Records = len(g.c.Records)
	undefined := g.c.UndefinedValues()
	n.Repos = len(g.repos)
	n.Values = len(g.c.ValueRecords()) + len(undefined)
	byRepoStatus := map[string]map[string]int{}
	search := make([]searchEntry, 0, len(g.c.Records))
	why := whyData{Governs: []whyEntry{}, Intents: []whyIntent{}}
	var touched []*content.Record
	for i, r := range g.c.Records {
		switch r.Kind {
		case content.KindDecision:
			n.Decisions++
		case content.KindProcess:
			n.Processes++
		}
		if g.reviewDue(r) {
			n.Due++
		}
		m := byRepoStatus[r.Repo]
		if m == nil {
			m = map[string]int{}
			byRepoStatus[r.Repo] = m
		}
		m[string(r.Status)]++
		tags := r.Tags
		if tags == nil {
			tags = []string{}
		}
		search = append(search, searchEntry{T: r.Title, U: g.recURL[r], I: r.ID, R: r.Repo, S: shownStatus(r), K: string(r.Kind), D: r.Date.String(), G: tags, X: g.excerpts[i]})
		for _, glob := range r.Governs {
			why.Governs = append(why.Governs, whyEntry{Repo: r.Repo, Glob: glob, ID: r.ID, Title: r.Title, URL: g.recURL[r], Status: shownStatus(r), Date: r.Date.String()})
		}
		if r.Kind == content.KindIntent && len(r.Touches) > 0 {
			touched = append(touched, r)
		}
	}
	sort.SliceStable(why.Governs, func(i, j int) bool { return why.Governs[i].Date > why.Governs[j].Date })
	// Merge order, newest first: the full merge time, not only the day.
	sort.SliceStable(touched, func(i, j int) bool { return touched[i].Date.After(touched[j].Date.Time) })
	for _, r := range touched {
		why.Intents = append(why.Intents, whyIntent{Repo: r.Repo, ID: r.ID, Title: r.Title, URL: g.recURL[r], PR: externalURL(r.URL), Date: r.Date.String(), Paths: r.Touches})
	}

	title := g.opts.Title
	pages := []struct {
		file string
		fm   map[string]any
	}{
		{"content/_index.md", map[string]any{"title": title, "counts": n}},
		{"content/repos/_index.md", map[string]any{"title": "Repositories"}},
		{"content/timeline/_index.md", map[string]any{"title": "Timeline", "layout": "timeline"}},
		{"content/values/_index.md", map[string]any{"title": "Values"}},
		{"content/processes/_index.md", map[string]any{"title": "Processes"}},
		{"content/decisions/_index.md", map[string]any{"title": "Decisions"}},
		{"content/intents/_index.md", map[string]any{"title": "Intents"}},
		{"content/review/_index.md", map[string]any{"title": "Due for review", "upcoming_days": 90}},
		{"content/why/_index.md", map[string]any{"title": "Why is this code like this?"}},
		{"content/search/_index.md", map[string]any{"title": "Search"}},
	}
	repoNames := map[string]*content.Repo{}
	var names []string
	for _, repo := range g.c.Repos {
		repoNames[repo.Name] = repo
		names = append(names, repo.Name)
	}
	for _, r := range g.c.Records {
		if _, ok := repoNames[r.Repo]; !ok {
			repoNames[r.Repo] = &content.Repo{Name: r.Repo}
			names = append(names, r.Repo)
		}
	}
	for _, name := range names {
		repo := repoNames[name]
		fm := map[string]any{"title": name, "repo": name, "counts": byRepoStatus[name], "outputs": []string{"html", "rss"}}
		fm["source_url"] = repo.SourceURL
		if fm["counts"] == nil {
			fm["counts"] = map[string]int{}
		}
		pages = append(pages, struct {
			file string
			fm   map[string]any
		}{"content/repos/" + content.RepoSlug(name) + "/_index.md", fm})
	}
	for _, p := range pages {
		data, err := frontMatter(p.fm, nil)
		if err != nil {
			return err
		}
		if err := w.write(p.file, data); err != nil {
			return err
		}
	}
	for _, v := range undefined {
		fm := map[string]any{"title": valueTitle(v.Name), "kind": "value", "generated": true, "traced_by": g.tracedBy(v.Slug)}
		data, err := frontMatter(fm, nil)
		if err != nil {
			return err
		}
		if err := w.write("content/values/"+v.Slug+".md", data); err != nil {
			return err
		}
	}
	for file, v := range map[string]any{"static/search.json": search, "static/why.json": why} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		if err := w.write(file, b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// hugoConfig is the site's Hugo configuration. Everything the site does not
// use is off: each output format and page kind costs time and memory per
// page.
func (g *generator) writeConfig(w *projectWriter) error {
	cfg := map[string]any{
		"baseURL":       g.opts.BaseURL,
		"title":         g.opts.Title,
		"languageCode":  "en",
		"theme":         "default",
		"themesDir":     "themes",
		"relativeURLs":  false,
		"uglyURLs":      false,
		"enableGitInfo": false,
		"buildFuture":   true,
		"buildExpired":  true,
		"buildDrafts":   true,
		"timeout":       "300s",
		"disableKinds":  []string{"sitemap", "robotsTXT"},
		"taxonomies":    map[string]string{"tag": "tags"},
		"outputs": map[string][]string{
			"home": {"html", "rss", "atom"}, "section": {"html"}, "page": {"html"},
			"taxonomy": {"html"}, "term": {"html", "rss"},
		},
		"build":      map[string]any{"buildStats": map[string]any{"enable": false}, "noJSConfigInAssets": true},
		"markup":     map[string]any{"goldmark": map[string]any{"renderer": map[string]any{"unsafe": true}, "parser": map[string]any{"attribute": map[string]any{"title": false}}}},
		"services":   map[string]any{"rss": map[string]any{"limit": 50}},
		"mediaTypes": map[string]any{"application/atom+xml": map[string]any{"suffixes": []string{"xml"}}},
		"outputFormats": map[string]any{"atom": map[string]any{
			"mediaType": "application/atom+xml", "baseName": "atom", "rel": "alternate",
		}},
		"params": map[string]any{
			"build_date":        g.now.Format("2006-01-02"),
			"backstory_version": Version,
		},
	}
	data, err := json.MarshalIndent(cfg, "", " ")
	if err != nil {
		return err
	}
	return w.write("hugo.json", append(data, '\n'))
}

// writeTheme writes the theme's files into the project.
func writeTheme(w *projectWriter, theme fs.FS) error {
	return fs.WalkDir(theme, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(theme, p)
		if err != nil {
			return err
		}
		return w.write("themes/default/"+p, data)
	})
}

// projectWriter writes the files of a Hugo project, on disk or in memory,
// touching only files whose bytes changed, so Hugo and the file watcher see
// real changes only, and removes the files a build no longer produces.
type projectWriter struct {
	fs  afero.Fs
	dir string

	mu      sync.Mutex
	known   map[string]uint64 // hash of what the last build wrote
	seen    map[string]uint64
	changed []string // absolute paths written this build
	dirs    map[string]bool
}

func newProjectWriter(fsys afero.Fs, dir string, known map[string]uint64) *projectWriter {
	return &projectWriter{fs: fsys, dir: dir, known: known, seen: map[string]uint64{}, dirs: map[string]bool{}}
}

func (w *projectWriter) write(rel string, data []byte) error {
	h := hash64(data)
	w.mu.Lock()
	w.seen[rel] = h
	old, ok := w.known[rel]
	w.mu.Unlock()
	abs := filepath.Join(w.dir, filepath.FromSlash(rel))
	if ok && old == h {
		return nil
	}
	if !ok && w.known == nil {
		// No memory of a previous build in this dir: compare with the file.
		if cur, err := afero.ReadFile(w.fs, abs); err == nil && bytes.Equal(cur, data) {
			return nil
		}
	}
	if err := w.mkdir(filepath.Dir(abs)); err != nil {
		return err
	}
	if err := afero.WriteFile(w.fs, abs, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	w.mu.Lock()
	w.changed = append(w.changed, abs)
	w.mu.Unlock()
	return nil
}

// copyFile copies a file from disk into the project, unless the copy is up
// to date.
func (w *projectWriter) copyFile(rel, src string) error {
	si, err := os.Stat(src)
	if err != nil {
		return err
	}
	key := uint64(si.Size())<<40 ^ uint64(si.ModTime().UnixNano())
	w.mu.Lock()
	if _, dup := w.seen[rel]; dup {
		w.mu.Unlock()
		return nil
	}
	w.seen[rel] = key
	old, ok := w.known[rel]
	w.mu.Unlock()
	if ok && old == key {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	abs := filepath.Join(w.dir, filepath.FromSlash(rel))
	if err := w.mkdir(filepath.Dir(abs)); err != nil {
		return err
	}
	if err := afero.WriteFile(w.fs, abs, data, 0o644); err != nil {
		return err
	}
	w.mu.Lock()
	w.changed = append(w.changed, abs)
	w.mu.Unlock()
	return nil
}

func (w *projectWriter) mkdir(dir string) error {
	w.mu.Lock()
	ok := w.dirs[dir]
	w.mu.Unlock()
	if ok {
		return nil
	}
	if err := w.fs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	w.mu.Lock()
	w.dirs[dir] = true
	w.mu.Unlock()
	return nil
}

// prune removes files under the project's generated folders that this build
// did not write, and returns their absolute paths.
func (w *projectWriter) prune() ([]string, error) {
	var removed []string
	for _, top := range []string{"content", "static", "themes"} {
		root := filepath.Join(w.dir, top)
		err := afero.Walk(w.fs, root, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if fi.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(w.dir, p)
			if _, ok := w.seen[filepath.ToSlash(rel)]; !ok {
				if err := w.fs.Remove(p); err != nil {
					return err
				}
				removed = append(removed, p)
			}
			return nil
		})
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

var hashSeed = maphash.MakeSeed()

// hash64 fingerprints a file's bytes; the fingerprints live only as long as
// the process, so a per-process seed is fine.
func hash64(b []byte) uint64 { return maphash.Bytes(hashSeed, b) }

// shownStatus is the status the site shows for r: values, processes and
// intents have no lifecycle unless their record gives one, so they show
// none rather than "unknown".
func shownStatus(r *content.Record) string {
	if r.Kind != content.KindDecision && r.StatusRaw == "" {
		return ""
	}
	return string(r.Status)
}

// row renders a record's list row: title and link, status, kind (when not a
// decision), id, repository and date, with the data attributes the list
// filters read.
func (g *generator) row(r *content.Record) string {
	esc := html.EscapeString
	var b strings.Builder
	status := shownStatus(r)
	b.WriteString(`<li class="row" data-status="`)
	b.WriteString(esc(status))
	b.WriteString(`" data-repo="`)
	b.WriteString(esc(r.Repo))
	b.WriteString(`" data-tags="`)
	b.WriteString(esc(strings.Join(r.Tags, "|")))
	b.WriteString(`"><a class="row-title" href="`)
	b.WriteString(esc(g.basePath + strings.TrimPrefix(g.recURL[r], "/")))
	b.WriteString(`">`)
	b.WriteString(esc(r.Title))
	b.WriteString(`</a> <span class="row-meta">`)
	if status != "" {
		b.WriteString(`<span class="badge">` + esc(status) + `</span>`)
	}
	if r.Kind != content.KindDecision {
		b.WriteString(` <span class="kind">` + esc(string(r.Kind)) + `</span>`)
	}
	b.WriteString(` <span class="rid">` + esc(r.ID) + `</span> <span class="rrepo">` + esc(r.Repo) + `</span> `)
	if d := r.Date.String(); d != "" {
		b.WriteString(`<time class="rdate">` + d + `</time>`)
	} else {
		b.WriteString(`<span class="rdate undated">undated</span>`)
	}
	b.WriteString(`</span></li>`)
	return b.String()
}
