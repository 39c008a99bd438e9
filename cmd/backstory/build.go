package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/backstory-dev/backstory/site"
)

func (c *cli) buildCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "build [PATH | NAME=PATH]...",
		Short: "Build the story site from one or more repositories",
		Long: `Build the story site from one or more repositories.

A PATH is a repository root (records are found in the folders named by its
.github/backstory.yml records.paths, else in the usual folders: docs/decisions,
docs/adr, doc/adr, docs/architecture/decisions, adr, decisions, …) or a folder
that holds records itself. NAME=PATH names the repository (owner/repo);
otherwise the name comes from the git remote, else the folder name. Several
PATHs build one site with one section per repository. No PATH means the
current directory.

Files that cannot be parsed are reported with file and line and left out; the
rest of the site builds.`,
		Example: `  backstory build -o public
  backstory build ../api ../web -o /tmp/site
  backstory build acme/payments=../payments/docs/adr`,
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			opts := c.siteOptions()
			if isTerminal(c.stderr) {
				opts.Progress = progressLine(c.stderr)
				opts.Progress("reading records", 0, 0)
			}
			ws, err := loadWorkspace(args)
			if err != nil {
				return err
			}
			if opts.Progress != nil && len(ws.corpus.Problems) > 0 {
				fmt.Fprint(c.stderr, "\r\033[K")
			}
			for _, p := range ws.corpus.Problems {
				fmt.Fprintf(c.stderr, "%s: %s: %s\n", ws.where(p), p.Severity, p.Message)
			}
			res, err := site.Build(cmd.Context(), ws.corpus, opts)
			if opts.Progress != nil {
				fmt.Fprint(c.stderr, "\r\033[K")
			}
			if err != nil {
				return err
			}
			out, _ := filepath.Abs(opts.OutputDir)
			for _, w := range res.Warnings {
				fmt.Fprintf(c.stderr, "warning: %s\n", w)
			}
			fmt.Fprintf(c.stdout, "built the story of %d records in %d repositories into %s in %s\n",
				res.Records, len(ws.repos), out, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	c.siteFlags(cmd)
	return cmd
}

// siteFlags adds the flags every site-building command shares.
func (c *cli) siteFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringP("output", "o", "public", "folder the site is written to (replaced whole, only when the build succeeds)")
	f.String("base-url", "/", "URL the site is served under, such as https://acme.github.io/story/")
	f.String("title", "", "site title (default: the repository name, or \"backstory\" for several)")
	c.bindFlags(cmd, "site")
}

func (c *cli) siteOptions() site.Options {
	return site.Options{
		OutputDir: c.config.GetString("site.output"),
		BaseURL:   c.config.GetString("site.base_url"),
		Title:     c.config.GetString("site.title"),
		Now:       time.Now(),
	}
}

// progressLine draws one self-overwriting status line on a terminal.
func progressLine(w io.Writer) func(stage string, done, total int) {
	return func(stage string, done, total int) {
		if total > 0 {
			fmt.Fprintf(w, "\r\033[K%s %d/%d", stage, done, total)
			return
		}
		fmt.Fprintf(w, "\r\033[K%s…", stage)
	}
}
