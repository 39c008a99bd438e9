package site

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/backstory-dev/backstory/content"
	"github.com/fsnotify/fsnotify"
)

// eventsPath is the server-sent events endpoint that tells open pages to
// reload after a rebuild.
const eventsPath = "/__backstory/events"

// reloadScript is injected before </body> of every HTML page the preview
// serves.
const reloadScript = `<script>new EventSource("` + eventsPath + `").addEventListener("reload",function(){location.reload()})</script>`

// Preview builds the site of repos, serves it on addr and rebuilds it when a
// record changes, telling open browsers to reload. It returns when ctx is
// done, or when the first build or the server fails.
func Preview(ctx context.Context, repos []*content.Repo, opts Options, addr string) error {
	p, err := newPreviewer(repos, opts)
	if err != nil {
		return err
	}
	defer p.close()
	if err := p.rebuild(); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if p.opts.Progress != nil {
		p.opts.Progress("serving http://"+ln.Addr().String()+p.basePath(), 0, 0)
	}

	watchErr := make(chan error, 1)
	go func() { watchErr <- p.watch(ctx) }()

	select {
	case <-ctx.Done():
	case err = <-errc:
	case err = <-watchErr:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.hub.closeAll()
	_ = srv.Shutdown(shutdown)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// previewer keeps a Hugo project, its HugoSites and the published site
// between builds, so a rebuild regenerates and re-renders only what changed.
type previewer struct {
	repos   []*content.Repo
	opts    Options
	loader  content.Loader
	b       *builder
	tmpDirs []string
	publish string

	mu      sync.Mutex // serialises rebuilds
	hugo    *hugoSite
	lastErr error
	hub     hub

	// reported holds the problems already shown in the log.
	reported map[content.Problem]bool

	// timings of the last rebuild, for benchmarks
	tLoad, tGenerate, tRender time.Duration
}

func newPreviewer(repos []*content.Repo, opts Options) (*previewer, error) {
	p := &previewer{repos: repos}
	if opts.OutputDir == "" {
		dir, err := os.MkdirTemp("", "backstory-preview-")
		if err != nil {
			return nil, err
		}
		p.tmpDirs = append(p.tmpDirs, dir)
		opts.OutputDir = filepath.Join(dir, "public")
	}
	abs, err := filepath.Abs(opts.OutputDir)
	if err != nil {
		return nil, err
	}
	opts.OutputDir = abs
	var c *content.Corpus
	if len(repos) == 1 {
		c = &content.Corpus{Repos: repos}
	}
	opts.setDefaults(c)
	p.opts = opts
	p.publish = abs
	p.b = newBuilder(opts)
	p.b.bodies = &bodyCache{}
	return p, nil
}

func (p *previewer) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hugo != nil {
		hugoMu.Lock()
		p.hugo.close()
		hugoMu.Unlock()
		p.hugo = nil
	}
	for _, d := range p.tmpDirs {
		os.RemoveAll(d)
	}
}

func (p *previewer) basePath() string { return basePath(p.opts.BaseURL) }

// rebuild reloads the corpus (re-parsing changed files only), regenerates
// the project (writing changed files only) and re-renders the site with the
// long-lived HugoSites, telling Hugo which files changed.
func (p *previewer) rebuild() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := time.Now()
	c := p.loader.Load(p.repos)
	p.tLoad = time.Since(start)
	changed, err := p.b.generate(c)
	p.tGenerate = time.Since(start) - p.tLoad
	if err != nil {
		p.lastErr = err
		return err
	}
	defer func() { p.tRender = time.Since(start) - p.tLoad - p.tGenerate }()
	hugoMu.Lock()
	defer hugoMu.Unlock()
	if p.hugo == nil || p.lastErr != nil {
		// First build, or recovering from a failed one: start afresh.
		if p.hugo != nil {
			p.hugo.close()
			p.hugo = nil
		}
		if err := os.RemoveAll(p.publish); err != nil {
			return err
		}
		s, err := newHugoSite(p.b.fs, p.b.workDir, p.publish, true)
		if err != nil {
			p.lastErr = err
			return err
		}
		p.hugo = s
		err = s.build()
		p.lastErr = err
	} else if len(changed) > 0 && !onlyStatic(changed, filepath.Join(p.b.workDir, "static")) {
		events := make([]fsnotify.Event, 0, len(changed))
		staticDir := filepath.Join(p.b.workDir, "static")
		for _, f := range changed {
			if isInside(staticDir, f) {
				continue // copied by copyStatic; Hugo does not publish static files here
			}
			op := fsnotify.Write
			if _, err := p.b.fs.Stat(f); err != nil {
				op = fsnotify.Remove
				p.removePublished(f)
			}
			events = append(events, fsnotify.Event{Name: f, Op: op})
		}
		err = p.hugo.build(events...)
		p.lastErr = err
	}
	if err != nil {
		return err
	}
	if err := p.b.copyStatic(p.publish); err != nil {
		return err
	}
	if p.opts.Progress != nil {
		p.opts.Progress(fmt.Sprintf("built %d records in %s", len(c.Records), time.Since(start).Round(time.Millisecond)), len(changed), 0)
	}
	p.report(c, len(changed), time.Since(start))
	return nil
}

// report tells the log what a rebuild did, and each problem once, so an
// author sees at once what the record they just saved got wrong.
func (p *previewer) report(c *content.Corpus, changed int, took time.Duration) {
	if p.opts.Log == nil {
		return
	}
	if p.reported == nil {
		p.reported = map[content.Problem]bool{}
	} else {
		fmt.Fprintf(p.opts.Log, "%s rebuilt: %d files changed, %d records, in %s\n",
			time.Now().Format("15:04:05"), changed, len(c.Records), took.Round(time.Millisecond))
	}
	seen := map[content.Problem]bool{}
	for _, pr := range c.Problems {
		seen[pr] = true
		if !p.reported[pr] {
			where := pr.File
			if r := c.Repo(pr.Repo); r != nil && where != "" {
				if rel, err := filepath.Rel(".", filepath.Join(r.Root, filepath.FromSlash(pr.File))); err == nil {
					where = rel
				}
			}
			if pr.Line > 0 {
				where = fmt.Sprintf("%s:%d", where, pr.Line)
			}
			fmt.Fprintf(p.opts.Log, "%s: %s: %s\n", where, pr.Severity, pr.Message)
		}
	}
	p.reported = seen
}

// removePublished deletes the published page of a content file that is
// gone: Hugo never deletes what it published before.
func (p *previewer) removePublished(projectFile string) {
	contentDir := filepath.Join(p.b.workDir, "content")
	rel, err := filepath.Rel(contentDir, projectFile)
	if err != nil || strings.HasPrefix(rel, "..") {
		return
	}
	dir := filepath.Dir(rel)
	switch filepath.Base(rel) {
	case "index.md", "_index.md":
		os.RemoveAll(filepath.Join(p.publish, dir))
	default:
		if strings.HasSuffix(rel, ".md") {
			os.RemoveAll(filepath.Join(p.publish, strings.TrimSuffix(rel, ".md")))
		} else {
			os.Remove(filepath.Join(p.publish, rel))
		}
	}
}

// watch rebuilds when files under the repositories' record folders change,
// coalescing bursts of events.
func (p *previewer) watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return p.poll(ctx)
	}
	defer w.Close()
	for _, dir := range p.watchDirs() {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				if werr := w.Add(path); werr != nil {
					return werr
				}
			}
			return nil
		})
	}
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					_ = w.Add(ev.Name)
				}
			}
			if ev.Has(fsnotify.Chmod) && !ev.Has(fsnotify.Write) {
				continue
			}
			timer = time.After(100 * time.Millisecond)
		case err := <-w.Errors:
			if err != nil {
				p.logf("preview: watching for changes: %v", err)
			}
		case <-timer:
			timer = nil
			p.rebuildAndNotify()
		}
	}
}

// poll is the fallback where the OS gives no file events: it compares
// sizes and modification times every second.
func (p *previewer) poll(ctx context.Context) error {
	last := p.snapshot()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if now := p.snapshot(); now != last {
				last = now
				p.rebuildAndNotify()
			}
		}
	}
}

func (p *previewer) snapshot() string {
	var b strings.Builder
	for _, dir := range p.watchDirs() {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if fi, err := d.Info(); err == nil {
				fmt.Fprintf(&b, "%s %d %d\n", path, fi.Size(), fi.ModTime().UnixNano())
			}
			return nil
		})
	}
	return b.String()
}

func (p *previewer) watchDirs() []string {
	var dirs []string
	for _, r := range p.repos {
		for _, d := range r.Dirs {
			dirs = append(dirs, filepath.Join(r.Root, filepath.FromSlash(d)))
		}
		dirs = append(dirs, filepath.Join(r.Root, ".github"))
	}
	return dirs
}

func (p *previewer) logf(format string, args ...any) {
	if p.opts.Log == nil {
		log.Printf(format, args...)
		return
	}
	fmt.Fprintf(p.opts.Log, format+"\n", args...)
}

// renderStale renders the page at path if the last rebuild left it stale:
// rebuilds render only the pages opened lately, the rest on demand here.
func (p *previewer) renderStale(path string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hugo == nil || p.lastErr != nil {
		return nil
	}
	hugoMu.Lock()
	defer hugoMu.Unlock()
	return p.hugo.renderPage(path)
}

func (p *previewer) rebuildAndNotify() {
	if err := p.rebuild(); err != nil {
		p.logf("preview: the site was not rebuilt: %v", err)
		p.hub.send("error", err.Error())
		return
	}
	p.hub.send("reload", "")
}

// ServeHTTP serves the published site, with the reload script injected
// into HTML pages, and the reload events.
func (p *previewer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == eventsPath {
		p.hub.serve(w, r)
		return
	}
	base := p.basePath()
	if !strings.HasPrefix(r.URL.Path, base) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, base, http.StatusFound)
			return
		}
		http.NotFound(w, r)
		return
	}
	rel := strings.TrimPrefix(r.URL.Path, base)
	file := filepath.Join(p.publish, filepath.FromSlash(rel))
	if !isInside(p.publish, file) {
		http.NotFound(w, r)
		return
	}
	if fi, err := os.Stat(file); err == nil && fi.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			// Never "//host/…": that would send the reader to another site.
			http.Redirect(w, r, "/"+strings.TrimLeft(r.URL.Path, "/")+"/", http.StatusMovedPermanently)
			return
		}
		file = filepath.Join(file, "index.html")
	}
	if !strings.HasSuffix(file, ".html") {
		http.ServeFile(w, r, file)
		return
	}
	if err := p.renderStale(r.URL.Path); err != nil {
		p.logf("preview: rendering %s: %v", r.URL.Path, err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		if nf, err := os.ReadFile(filepath.Join(p.publish, "404.html")); err == nil {
			data = nf
		} else {
			data = []byte("<!doctype html><title>Not found</title><body><p>Not found</p></body>")
		}
	}
	if i := bytes.LastIndex(data, []byte("</body>")); i >= 0 {
		data = append(data[:i:i], append([]byte(reloadScript), data[i:]...)...)
	} else {
		data = append(data, reloadScript...)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}

// hub fans server-sent events out to the open pages.
type hub struct {
	mu      sync.Mutex
	clients map[chan string]bool
	closed  bool
}

func (h *hub) serve(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch := make(chan string, 4)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	if h.clients == nil {
		h.clients = map[chan string]bool{}
	}
	h.clients[ch] = true
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.clients, ch)
		h.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, "retry: 1000\n\n")
	flusher.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			fmt.Fprint(w, msg)
			flusher.Flush()
		}
	}
}

func (h *hub) send(event, data string) {
	// Every line of data gets its own "data:" field; a bare CR also ends a
	// line in an event stream, so it is folded into LF first.
	data = strings.ReplaceAll(strings.ReplaceAll(data, "\r\n", "\n"), "\r", "\n")
	msg := "event: " + event + "\ndata: " + strings.ReplaceAll(data, "\n", "\ndata: ") + "\n\n"
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.clients {
		select {
		case ch <- msg:
		default: // a slow client misses an event; the next one reloads it
		}
	}
}

func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.clients {
		close(ch)
		delete(h.clients, ch)
	}
}

func onlyStatic(changed []string, staticDir string) bool {
	for _, f := range changed {
		if !isInside(staticDir, f) {
			return false
		}
	}
	return true
}
