// Package site turns a corpus of records into a static site: it generates a
// Hugo project (JSON front matter computed in Go, so templates do no work
// across the corpus), renders it with Hugo in-process, and publishes the
// result atomically. It also serves a live-reloading preview and checks a
// built site for broken links.
//
// site is the only package that imports Hugo.
package site

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/backstory-dev/backstory/content"
	"github.com/backstory-dev/backstory/themes"
	"github.com/gohugoio/hugo/hugofs"
	"github.com/spf13/afero"
)

// Version is written into the site (params.backstory_version); the CLI sets
// it at link time.
var Version = "dev"

// Options configure a build.
type Options struct {
	// OutputDir is where the site is written. It is replaced as a whole
	// once the build succeeds: stale files go, and a failed build leaves
	// the previous site in place.
	OutputDir string
	// WorkDir is the Hugo project directory; "" means a temporary directory
	// removed after the build.
	WorkDir string
	// BaseURL is the site's base URL; "/" by default. It may be a sub-path
	// such as "/docs/" or a full URL.
	BaseURL string
	// Title is the site title; by default "backstory", or the repository's
	// name when there is one.
	Title string
	// Now is "today", for review due dates; the zero value means time.Now.
	Now time.Time
	// Progress, when set, is called as the build advances.
	Progress func(stage string, done, total int)
	// Log, when set, is where Preview tells what it rebuilt and what it
	// could not read.
	Log io.Writer

	// theme overrides themes.Default, for tests.
	theme fs.FS
}

// Result describes a finished build.
type Result struct {
	OutputDir string
	Records   int
	// Warnings are what Hugo warned about; the build succeeded regardless.
	Warnings []string
	// Generate and Render are the time spent writing the Hugo project and
	// rendering it.
	Generate, Render time.Duration
}

func (o *Options) setDefaults(c *content.Corpus) {
	if o.BaseURL == "" {
		o.BaseURL = "/"
	}
	if o.Title == "" {
		o.Title = "backstory"
		if c != nil && len(c.Repos) == 1 {
			o.Title = c.Repos[0].Name
		}
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.theme == nil {
		o.theme = themes.Default
	}
}

// Build generates the site of a corpus into opts.OutputDir.
func Build(ctx context.Context, c *content.Corpus, opts Options) (*Result, error) {
	if opts.OutputDir == "" {
		return nil, errors.New("build site: no output directory")
	}
	opts.setDefaults(c)
	return newBuilder(opts).build(ctx, c)
}

// builder builds one project directory, again and again for preview,
// remembering what it wrote.
type builder struct {
	opts    Options
	fs      afero.Fs // the project's file system: in memory unless WorkDir is set
	workDir string
	known   map[string]uint64
	bodies  *bodyCache // set for preview, which builds again and again
}

// newBuilder makes a builder for opts: the project lives in WorkDir on disk
// when given (for inspection), else in memory, which spares the file system
// ten thousand folders and files per build.
func newBuilder(opts Options) *builder {
	if opts.WorkDir != "" {
		abs, err := filepath.Abs(opts.WorkDir)
		if err == nil {
			opts.WorkDir = abs
		}
		return &builder{opts: opts, fs: hugofs.Os, workDir: opts.WorkDir}
	}
	return &builder{opts: opts, fs: afero.NewMemMapFs(), workDir: filepath.Join(os.TempDir(), "backstory-project")}
}

func (b *builder) build(ctx context.Context, c *content.Corpus) (*Result, error) {
	res := &Result{OutputDir: b.opts.OutputDir, Records: len(c.Records)}
	start := time.Now()
	if _, err := b.generate(c); err != nil {
		return nil, err
	}
	res.Generate = time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	start = time.Now()
	b.progress("render", 0, 1)
	staging, err := stagingDir(b.opts.OutputDir)
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(staging)
		}
	}()
	warnings, err := runHugo(b.fs, b.workDir, staging)
	if err != nil {
		return nil, err
	}
	res.Warnings = warnings
	if err := b.copyStatic(staging); err != nil {
		return nil, err
	}
	b.progress("render", 1, 1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := swapDir(staging, b.opts.OutputDir); err != nil {
		return nil, err
	}
	keep = true
	res.Render = time.Since(start)
	return res, nil
}

func (b *builder) progress(stage string, done, total int) {
	if b.opts.Progress != nil {
		b.opts.Progress(stage, done, total)
	}
}

// generate writes the Hugo project and returns the absolute paths of the
// files it changed or removed.
func (b *builder) generate(c *content.Corpus) ([]string, error) {
	w := newProjectWriter(b.fs, b.workDir, b.known)
	if err := writeTheme(w, b.opts.theme); err != nil {
		return nil, fmt.Errorf("write theme: %w", err)
	}
	g := newGenerator(c, b.opts)
	g.bodies = b.bodies
	if err := g.generate(w); err != nil {
		return nil, fmt.Errorf("generate site: %w", err)
	}
	removed, err := w.prune()
	if err != nil {
		return nil, fmt.Errorf("generate site: %w", err)
	}
	b.known = w.seen
	return append(w.changed, removed...), nil
}

// copyStatic copies the theme's and the project's static files into the
// published site: hugolib leaves that to Hugo's command line.
func (b *builder) copyStatic(publishDir string) error {
	for _, dir := range []string{
		filepath.Join(b.workDir, "themes", "default", "static"),
		filepath.Join(b.workDir, "static"),
	} {
		if err := copyTree(b.fs, dir, publishDir); err != nil {
			return fmt.Errorf("copy static files: %w", err)
		}
	}
	return nil
}

// stagingDir makes a fresh directory beside dir, on the same file system,
// so the finished site can be renamed into place.
func stagingDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	parent := filepath.Dir(abs)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("create output directory: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(abs)+".new-")
	if err != nil {
		return "", fmt.Errorf("create output directory: %w", err)
	}
	return tmp, nil
}

// swapDir puts the built site at dir, replacing what was there. The two
// renames leave dir missing only for an instant, and never half written.
func swapDir(built, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.Chmod(built, 0o755); err != nil {
		return err
	}
	old := ""
	if _, err := os.Lstat(abs); err == nil {
		old = built + ".old"
		if err := os.Rename(abs, old); err != nil {
			return fmt.Errorf("replace %s: %w", dir, err)
		}
	}
	if err := os.Rename(built, abs); err != nil {
		if old != "" {
			_ = os.Rename(old, abs)
		}
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("remove previous site: %w", err)
		}
	}
	return nil
}

// copyTree copies the files under src in fsys into dst on disk; a missing
// src is empty.
func copyTree(fsys afero.Fs, src, dst string) error {
	return afero.Walk(fsys, src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == src {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := afero.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// isInside reports whether p is dir or below it.
func isInside(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
