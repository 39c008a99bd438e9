package site

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/bep/logg"
	"github.com/fsnotify/fsnotify"
	"github.com/gohugoio/hugo/common/hmaps"
	"github.com/gohugoio/hugo/common/loggers"
	"github.com/gohugoio/hugo/common/types"
	"github.com/gohugoio/hugo/config"
	"github.com/gohugoio/hugo/config/allconfig"
	"github.com/gohugoio/hugo/deps"
	"github.com/gohugoio/hugo/hugofs"
	"github.com/gohugoio/hugo/hugolib"
	"github.com/gohugoio/hugo/resources/page"
	"github.com/spf13/afero"
)

// hugoMu serialises Hugo builds in this process: Hugo keeps some caches in
// package state (page.Clear empties them).
var hugoMu sync.Mutex

// hugoSite is one in-process Hugo build of a project into a publish
// directory.
type hugoSite struct {
	h   *hugolib.HugoSites
	log *bytes.Buffer
	// visited holds the pages a preview reader opened lately (their paths
	// with the base path). A watching site renders only these on a rebuild
	// and the rest when they are asked for (ADR-0008); nil for a one-off
	// build, which renders everything.
	visited *types.EvictingQueue[string]
}

// newHugoSite loads the project's configuration and creates the sites.
// publishDir overrides the configuration's.
func newHugoSite(fsys afero.Fs, projectDir, publishDir string, watching bool) (*hugoSite, error) {
	flags := config.New()
	flags.Set("workingDir", projectDir)
	flags.Set("publishDir", publishDir)
	// The lock file guards against two hugo processes; builds here are
	// serialised by hugoMu, and the project may live in memory.
	flags.Set("noBuildLock", true)
	if watching {
		flags.Set("internal", hmaps.Params{"running": true, "watch": true, "fastRenderMode": true})
		// Preview injects its own reload script; Hugo's would ask for a
		// livereload.js that nothing serves.
		flags.Set("disableLiveReload", true)
	}
	logbuf := &bytes.Buffer{}
	var stdout io.Writer = io.Discard
	if os.Getenv("BACKSTORY_TEMPLATE_METRICS") != "" {
		// For tuning the theme: Hugo prints which templates cost what.
		flags.Set("templateMetrics", true)
		flags.Set("templateMetricsHints", true)
		stdout = os.Stderr
	}
	logger := loggers.New(loggers.Options{
		Level: logg.LevelWarn, StdOut: stdout, StdErr: logbuf, DistinctLevel: logg.LevelWarn,
	})
	configs, err := allconfig.LoadConfig(allconfig.ConfigSourceDescriptor{
		Fs:          fsys,
		Flags:       flags,
		Filename:    filepath.Join(projectDir, "hugo.json"),
		Logger:      logger,
		Environment: "production",
		Environ:     environ(),
	})
	if err != nil {
		return nil, fmt.Errorf("load hugo config: %w", err)
	}
	fs := hugofs.NewFromSourceAndDestination(fsys, hugofs.Os, flags)
	h, err := hugolib.NewHugoSites(deps.DepsCfg{
		Configs:  configs,
		Fs:       fs,
		LogLevel: logg.LevelWarn,
		StdOut:   stdout,
		StdErr:   logbuf,
	})
	if err != nil {
		return nil, fmt.Errorf("create hugo sites: %w", err)
	}
	s := &hugoSite{h: h, log: logbuf}
	if watching {
		s.visited = types.NewEvictingQueue[string](visitedPages)
	}
	return s, nil
}

// visitedPages is how many recently opened pages a preview re-renders at
// once after a change.
const visitedPages = 32

// environ is the process environment without HUGO_ variables, which would
// otherwise override the generated configuration.
func environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HUGO_") && !strings.HasPrefix(kv, "HUGO") {
			out = append(out, kv)
		}
	}
	return out
}

// build renders the site; events name the files that changed since the
// last build of the same hugoSite (none for a first build). On a rebuild of
// a watching site only the visited pages are rendered again; the others are
// marked stale and rendered by renderPage when asked for.
func (s *hugoSite) build(events ...fsnotify.Event) error {
	s.log.Reset()
	cfg := hugolib.BuildCfg{}
	if len(events) > 0 && s.visited != nil {
		cfg.RecentlyTouched = s.visited
	}
	err := s.h.Build(cfg, events...)
	if err != nil || s.h.NumLogErrors() > 0 {
		return hugoError(err, s.log.String())
	}
	return nil
}

// renderPage renders the page at path (with the base path) if a rebuild
// left it stale, as `hugo server` does for a page it is asked for, and
// remembers it as visited.
func (s *hugoSite) renderPage(path string) error {
	if s.visited == nil || s.visited.Contains(path) {
		return nil
	}
	s.log.Reset()
	one := types.NewEvictingQueue[string](1).Add(path)
	err := s.h.Build(hugolib.BuildCfg{RecentlyTouched: one, PartialReRender: true})
	if err != nil || s.h.NumLogErrors() > 0 {
		return hugoError(err, s.log.String())
	}
	s.visited.Add(path)
	return nil
}

// warnings returns the warnings the last build logged.
func (s *hugoSite) warnings() []string {
	var out []string
	for _, line := range strings.Split(s.log.String(), "\n") {
		if strings.HasPrefix(line, "WARN") {
			out = append(out, strings.TrimSpace(strings.TrimPrefix(line, "WARN")))
		}
	}
	return out
}

func (s *hugoSite) close() {
	if s.h != nil {
		s.h.Close()
		s.h = nil
	}
	_ = page.Clear()
}

// hugoError joins Hugo's returned error with the errors it only logged:
// template errorf calls, for one, reach the log and nothing else.
func hugoError(err error, log string) error {
	var msgs []string
	for _, line := range strings.Split(log, "\n") {
		if strings.HasPrefix(line, "ERROR") {
			msgs = append(msgs, strings.TrimSpace(strings.TrimPrefix(line, "ERROR")))
		}
	}
	if len(msgs) == 0 {
		if err == nil {
			err = errors.New("hugo logged errors")
		}
		return fmt.Errorf("render site: %w", err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "logged ") {
		msgs = append([]string{err.Error()}, msgs...)
	}
	return fmt.Errorf("render site: %s", strings.Join(msgs, "; "))
}

// runHugo builds a project once with a fresh HugoSites and frees it.
func runHugo(fsys afero.Fs, projectDir, publishDir string) (warnings []string, err error) {
	hugoMu.Lock()
	defer hugoMu.Unlock()
	s, err := newHugoSite(fsys, projectDir, publishDir, false)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := s.build(); err != nil {
		return nil, err
	}
	return s.warnings(), nil
}
