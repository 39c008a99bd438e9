package content

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// file is one record file found on disk.
type file struct {
	repo    int // index into the repos given to Load
	rel     string
	abs     string
	size    int64
	modTime time.Time
}

// Load reads every record of the given repositories. It never fails: a
// file that cannot be read is reported in Corpus.Problems and skipped.
func Load(repos []*Repo) *Corpus {
	return (&Loader{}).Load(repos)
}

// Loader loads corpora repeatedly, re-parsing only the files whose size or
// modification time changed since the last Load (the preview's live reload).
// It is safe for concurrent use, though loads are serialised.
type Loader struct {
	mu    sync.Mutex
	cache map[cacheKey]cacheEntry
	// Parsed counts the files parsed (not served from the cache) by the
	// last Load.
	Parsed int
}

type cacheKey struct {
	repo string // name and config: both change what Parse derives
	abs  string
}

type cacheEntry struct {
	size    int64
	modTime time.Time
	rec     *Record
}

// Load reads the repositories, reusing the records of unchanged files.
func (l *Loader) Load(repos []*Repo) *Corpus {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &Corpus{Repos: repos}
	for _, r := range repos {
		c.Problems = append(c.Problems, r.Problems...)
	}
	files, problems := findFiles(repos)
	c.Problems = append(c.Problems, problems...)

	recs := make([]*Record, len(files))
	fileProblems := make([][]Problem, len(files))
	next := make(map[cacheKey]cacheEntry, len(files))
	var todo []int
	for i, f := range files {
		key := cacheKey{repo: repoCacheKey(repos[f.repo]), abs: f.abs}
		if e, ok := l.cache[key]; ok && e.size == f.size && e.modTime.Equal(f.modTime) {
			recs[i] = e.rec
			next[key] = e
			continue
		}
		todo = append(todo, i)
	}

	workers := min(runtime.GOMAXPROCS(0), len(todo))
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				recs[i], fileProblems[i] = parseFile(repos[files[i].repo], files[i])
			}
		}()
	}
	for _, i := range todo {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	l.Parsed = len(todo)

	for _, i := range todo {
		if recs[i] != nil {
			f := files[i]
			next[cacheKey{repo: repoCacheKey(repos[f.repo]), abs: f.abs}] = cacheEntry{size: f.size, modTime: f.modTime, rec: recs[i]}
		}
	}
	l.cache = next

	for i, r := range recs {
		c.Problems = append(c.Problems, fileProblems[i]...)
		if r == nil {
			continue
		}
		c.Records = append(c.Records, r)
		c.Problems = append(c.Problems, r.Problems...)
	}
	c.index()
	return c
}

func repoCacheKey(r *Repo) string {
	return fmt.Sprintf("%s\x00%s\x00%d", r.Name, r.Config.IDPrefix, r.Config.IDDigits)
}

// parseFile reads and parses one file; a panic in the parser (a bug, but
// one bad file must not stop a build) becomes a Problem.
func parseFile(repo *Repo, f file) (rec *Record, problems []Problem) {
	defer func() {
		if v := recover(); v != nil {
			rec = nil
			problems = []Problem{{Repo: repo.Name, File: f.rel, Severity: SeverityError, Code: "unreadable",
				Message: fmt.Sprintf("could not parse this file (skipped): %v", v)}}
		}
	}()
	data, err := os.ReadFile(f.abs)
	if err != nil {
		return nil, []Problem{{Repo: repo.Name, File: f.rel, Severity: SeverityError, Code: "unreadable",
			Message: fmt.Sprintf("could not read this file (skipped): %v", err)}}
	}
	return Parse(repo, f.rel, data), nil
}

// findFiles walks the record folders of every repository, in a
// deterministic order: repositories as given, paths sorted.
func findFiles(repos []*Repo) ([]file, []Problem) {
	var files []file
	var problems []Problem
	for ri, repo := range repos {
		seen := map[string]bool{}
		var repoFiles []file
		for _, dir := range repo.Dirs {
			base := joinOS(repo.Root, dir)
			err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					rel := relSlash(repo.Root, p)
					problems = append(problems, Problem{Repo: repo.Name, File: rel, Severity: SeverityError, Code: "unreadable",
						Message: fmt.Sprintf("could not read (skipped): %v", err)})
					if d != nil && d.IsDir() && p != base {
						return fs.SkipDir
					}
					return nil
				}
				if d.IsDir() {
					if p != base && skipDir(d.Name()) {
						return fs.SkipDir
					}
					return nil
				}
				atRoot := filepath.Dir(p) == base
				if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
					return nil
				}
				if !isRecordFile(d.Name(), atRoot) {
					return nil
				}
				rel := relSlash(repo.Root, p)
				if seen[rel] {
					return nil
				}
				seen[rel] = true
				fi, err := os.Stat(p)
				if err != nil || fi.IsDir() {
					return nil
				}
				if d.Type()&fs.ModeSymlink != 0 && !linksInside(repo.Root, p) {
					// A symlink may point anywhere on the machine that builds
					// the site: only records inside the repository are read.
					problems = append(problems, Problem{Repo: repo.Name, File: rel, Severity: SeverityWarning, Code: "symlink-outside",
						Message: "this file is a link to a file outside the repository; it is not read"})
					return nil
				}
				repoFiles = append(repoFiles, file{repo: ri, rel: rel, abs: p, size: fi.Size(), modTime: fi.ModTime()})
				return nil
			})
			if err != nil {
				problems = append(problems, Problem{Repo: repo.Name, File: dir, Severity: SeverityError, Code: "unreadable",
					Message: fmt.Sprintf("could not walk the record folder: %v", err)})
			}
		}
		sort.Slice(repoFiles, func(i, j int) bool { return repoFiles[i].rel < repoFiles[j].rel })
		files = append(files, repoFiles...)
	}
	return files, problems
}

func relSlash(root, p string) string {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return path.Clean(filepath.ToSlash(rel))
}

// hasPathPrefix says whether p is dir or inside it.
func hasPathPrefix(p, dir string) bool {
	if dir == "." || dir == "" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// linksInside reports whether the symlink at p resolves to a file inside
// root.
func linksInside(root, p string) bool {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(realRoot, real)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
