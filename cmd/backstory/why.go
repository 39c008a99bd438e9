package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/backstory-dev/backstory/content"
)

// whyEntry is one record in `why --format json`.
type whyEntry struct {
	ID           string   `json:"id"`
	Title        string   `json:"title"`
	Status       string   `json:"status"`
	Date         string   `json:"date"`
	Path         string   `json:"path"`
	Globs        []string `json:"globs,omitempty"`
	SupersededBy []string `json:"superseded_by,omitempty"`
}

func (c *cli) whyCommand() *cobra.Command {
	var repoDir, format string
	cmd := &cobra.Command{
		Use:   "why PATH",
		Short: "Tell the story of a file or folder: the decisions that govern it",
		Long: `Print the decisions that govern a file or folder (their governs globs match
it), newest first, with status and date, and the records that mention it.
The repository is the one PATH is in (found by walking up to .git), or --repo.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q is not supported: use text or json", format)
			}
			abs, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			if repoDir == "" {
				repoDir = repoRootOf(abs)
			}
			ws, err := loadWorkspace([]string{repoDir})
			if err != nil {
				return err
			}
			repo := ws.repos[0]
			rel, err := filepath.Rel(repo.Root, abs)
			if err != nil || strings.HasPrefix(rel, "..") {
				return fmt.Errorf("%s is outside the repository %s: name the repository with --repo", args[0], repo.Root)
			}
			rel = filepath.ToSlash(rel)
			// A file is governed by the globs that match it; a folder (or a
			// path not on disk) also by those that reach inside it.
			governing := ws.corpus.Governing(repo.Name, rel)
			if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
				governing = ws.corpus.GovernIndex().GoverningFile(repo.Name, rel)
			}
			mentioning := ws.corpus.Mentioning(repo.Name, rel)
			if format == "json" {
				out := struct {
					Path       string     `json:"path"`
					Governing  []whyEntry `json:"governing"`
					Mentioning []whyEntry `json:"mentioning"`
				}{Path: rel, Governing: whyEntries(ws.corpus, governing, rel), Mentioning: whyEntries(ws.corpus, mentioning, "")}
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			c.printWhy(ws.corpus, rel, governing, mentioning)
			return nil
		},
	}
	cmd.Flags().StringVar(&repoDir, "repo", "", "repository root (default: found from PATH)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func whyEntries(c *content.Corpus, records []*content.Record, path string) []whyEntry {
	out := make([]whyEntry, 0, len(records))
	for _, r := range records {
		e := whyEntry{ID: r.ID, Title: r.Title, Status: string(r.Status), Date: r.Date.String(), Path: r.Path}
		if path != "" {
			e.Globs = matchingGlobs(r, path)
		}
		for _, s := range c.SupersededBy(r) {
			e.SupersededBy = append(e.SupersededBy, s.ID)
		}
		out = append(out, e)
	}
	return out
}

func matchingGlobs(r *content.Record, path string) []string {
	var globs []string
	for _, g := range r.Governs {
		if content.GovernsPath(g, path) {
			globs = append(globs, g)
		}
	}
	return globs
}

func (c *cli) printWhy(corpus *content.Corpus, path string, governing, mentioning []*content.Record) {
	w := c.stdout
	fmt.Fprintf(w, "Why is %s like this?\n\n", path)
	if len(governing) == 0 && len(mentioning) == 0 {
		fmt.Fprintln(w, "No decision governs it and no record mentions it.")
		fmt.Fprintln(w, "Record one with:  backstory new decision \"Title\"  and list the path under governs:.")
		return
	}
	if len(governing) > 0 {
		fmt.Fprintln(w, "Governed by (newest first):")
		for _, r := range governing {
			c.printWhyLine(corpus, r)
			fmt.Fprintf(w, "      %s  (governs %s)\n", r.Path, strings.Join(matchingGlobs(r, path), ", "))
		}
	}
	if len(mentioning) > 0 {
		if len(governing) > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, "Mentioned in:")
		for _, r := range mentioning {
			c.printWhyLine(corpus, r)
			fmt.Fprintf(w, "      %s\n", r.Path)
		}
	}
}

func (c *cli) printWhyLine(corpus *content.Corpus, r *content.Record) {
	date := r.Date.String()
	if date == "" {
		date = "undated"
	}
	fmt.Fprintf(c.stdout, "  %-10s %-11s %-10s %s\n", r.ID, r.Status, date, r.Title)
	if next := corpus.SupersededBy(r); len(next) > 0 {
		ids := make([]string, len(next))
		for i, n := range next {
			ids[i] = n.ID + " " + n.Title
		}
		fmt.Fprintf(c.stdout, "      superseded by %s\n", strings.Join(ids, "; "))
	}
}

// repoRootOf walks up from path to the folder holding .git, or returns the
// current directory when there is none.
func repoRootOf(path string) string {
	for dir := path; ; {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}
