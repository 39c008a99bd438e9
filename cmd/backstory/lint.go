package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/backstory-dev/backstory/content"
)

// lintFinding is one problem as `lint --format json` prints it.
type lintFinding struct {
	content.Problem
	Where string `json:"where"`
}

func (c *cli) lintCommand() *cobra.Command {
	var format string
	var strict bool
	cmd := &cobra.Command{
		Use:   "lint [PATH | NAME=PATH]...",
		Short: "Check records: broken references, duplicates, cycles, overdue reviews",
		Long: `Check the records of one or more repositories and report, with file:line,
errors (duplicate ids or numbers, references to records that do not exist,
supersession cycles, invalid front matter) and warnings (a process that traces
to no value, an accepted decision past its review_by date, a superseded record
whose successor does not say so). Exits 1 when there are errors (or warnings,
with --strict).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q is not supported: use text or json", format)
			}
			ws, err := loadWorkspace(args)
			if err != nil {
				return err
			}
			problems := append(append([]content.Problem(nil), ws.corpus.Problems...), ws.corpus.Lint(time.Now())...)
			problems = dedupeProblems(problems)
			content.SortProblems(problems)
			var errs, warns int
			for _, p := range problems {
				if p.Severity == content.SeverityError {
					errs++
				} else {
					warns++
				}
			}
			if format == "json" {
				out := make([]lintFinding, 0, len(problems))
				for _, p := range problems {
					out = append(out, lintFinding{Problem: p, Where: ws.where(p)})
				}
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			} else {
				for _, p := range problems {
					fmt.Fprintf(c.stdout, "%s: %s: %s\n", ws.where(p), p.Severity, p.Message)
				}
				fmt.Fprintf(c.stderr, "%d records checked: %d errors, %d warnings\n", len(ws.corpus.Records), errs, warns)
			}
			if errs > 0 || (strict && warns > 0) {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&strict, "strict", false, "fail on warnings too")
	return cmd
}

// dedupeProblems drops exact repeats, which arise when a parse problem is
// also found again by the corpus-wide checks.
func dedupeProblems(in []content.Problem) []content.Problem {
	seen := map[content.Problem]bool{}
	out := in[:0]
	for _, p := range in {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
