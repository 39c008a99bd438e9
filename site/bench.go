package site

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/backstory-dev/backstory/content"
	"github.com/gohugoio/hugo/hugofs"
)

// BuildFloor builds a plain Hugo project written by WriteFloorProject into
// publishDir, the same way Build runs Hugo (in-process, a fresh HugoSites),
// and returns the wall time of the build alone. It is the floor the
// benchmarks compare Build with: the project is on disk before the clock
// starts, as a Hugo user's would be.
func BuildFloor(projectDir, publishDir string) (time.Duration, error) {
	start := time.Now()
	if _, err := runHugo(hugofs.Os, projectDir, publishDir); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// RebuildPhases are the parts of a preview rebuild.
type RebuildPhases struct {
	Load, Generate, Render time.Duration
	// OpenStaleList is the time to open a list page the rebuild left stale
	// (the timeline): rendered on demand.
	OpenStaleList time.Duration
}

// MeasureRebuildPhases measures preview's first build of repos and its
// rebuild after one record changed (a line appended to a record the author
// has open), with the rebuild's phases, working under workRoot. The record
// is restored afterwards.
func MeasureRebuildPhases(repos []*content.Repo, workRoot string) (first, rebuild time.Duration, phases RebuildPhases, err error) {
	return measureRebuild(repos, workRoot)
}

func measureRebuild(repos []*content.Repo, workRoot string) (first, rebuild time.Duration, phases RebuildPhases, err error) {
	dir, err := os.MkdirTemp(workRoot, "rebuild-")
	if err != nil {
		return 0, 0, phases, err
	}
	defer os.RemoveAll(dir)
	p, err := newPreviewer(repos, Options{OutputDir: filepath.Join(dir, "public")})
	if err != nil {
		return 0, 0, phases, err
	}
	defer p.close()
	start := time.Now()
	if err := p.rebuild(); err != nil {
		return 0, 0, phases, err
	}
	first = time.Since(start)

	c := p.loader.Load(repos)
	if len(c.Records) == 0 {
		return first, 0, phases, nil
	}
	changed := c.Records[len(c.Records)/2]
	src := changed.Source
	// The author has the record open in the preview, as when editing it.
	if err := p.renderStale(basePath(p.opts.BaseURL) + strings.TrimPrefix(c.URL(changed), "/")); err != nil {
		return 0, 0, phases, err
	}
	orig, err := os.ReadFile(src)
	if err != nil {
		return 0, 0, phases, err
	}
	defer os.WriteFile(src, orig, 0o644)
	if err := os.WriteFile(src, append(append([]byte(nil), orig...), "\nOne more line, added by the rebuild benchmark.\n"...), 0o644); err != nil {
		return 0, 0, phases, err
	}
	// Make sure the loader sees a new modification time.
	later := time.Now().Add(2 * time.Second)
	_ = os.Chtimes(src, later, later)
	start = time.Now()
	if err := p.rebuild(); err != nil {
		return 0, 0, phases, err
	}
	rebuild = time.Since(start)
	phases = RebuildPhases{Load: p.tLoad, Generate: p.tGenerate, Render: p.tRender}
	// Then the reader opens the timeline, which lists every record and was
	// left stale by the rebuild.
	start = time.Now()
	if err := p.renderStale(basePath(p.opts.BaseURL) + "timeline/"); err != nil {
		return 0, 0, phases, err
	}
	phases.OpenStaleList = time.Since(start)
	return first, rebuild, phases, nil
}
