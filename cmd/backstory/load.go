package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/backstory-dev/backstory/content"
)

// workspace is the repositories named on a command line and their records.
type workspace struct {
	repos  []*content.Repo
	corpus *content.Corpus
	// shown maps a repository name to the path the user gave for it, so
	// problems are reported with paths the user can open.
	shown map[string]string
}

// openRepos opens every PATH or NAME=PATH argument; no argument means the
// current directory.
func openRepos(args []string) ([]*content.Repo, map[string]string, error) {
	if len(args) == 0 {
		args = []string{"."}
	}
	var repos []*content.Repo
	shown := map[string]string{}
	seen := map[string]string{}
	for _, arg := range args {
		repo, err := content.OpenRepo(arg)
		if err != nil {
			return nil, nil, err
		}
		if prev, ok := seen[repo.Name]; ok {
			return nil, nil, fmt.Errorf("%s and %s are both named %q: name one of them with NAME=PATH", prev, arg, repo.Name)
		}
		seen[repo.Name] = arg
		path := arg
		if i := strings.Index(arg, "="); i > 0 {
			path = arg[i+1:]
		}
		shown[repo.Name] = path
		repos = append(repos, repo)
	}
	return repos, shown, nil
}

// loadWorkspace opens the repositories and parses their records. Files that
// cannot be read are reported by the caller from corpus.Problems; only a
// PATH that does not exist stops it.
func loadWorkspace(args []string) (*workspace, error) {
	repos, shown, err := openRepos(args)
	if err != nil {
		return nil, err
	}
	return &workspace{repos: repos, corpus: content.Load(repos), shown: shown}, nil
}

// where returns the path of a problem's file as the user can open it.
func (w *workspace) where(p content.Problem) string {
	file := p.File
	if base, ok := w.shown[p.Repo]; ok && file != "" {
		file = filepath.Join(base, filepath.FromSlash(file))
	}
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", file, p.Line)
	}
	return file
}

// isTerminal reports whether f is a terminal, where progress is worth drawing.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	info, err := file.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
