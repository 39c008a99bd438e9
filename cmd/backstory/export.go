package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/backstory-dev/backstory/content"
)

func (c *cli) exportCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export [PATH | NAME=PATH]...",
		Short: "Print every record as JSON, for other tools to build on",
		Long: `Print a JSON array with one object per record: repo, path (relative to its
PATH argument), id, kind, title, status (canonical), status_raw, date
(YYYY-MM-DD or empty), number, tags, supersedes and superseded_by (as record
paths), values, governs, review_by, sections (headings) and problems (what
could not be parsed, with line).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "json" {
				return fmt.Errorf("--format %q is not supported: use --format json", format)
			}
			ws, err := loadWorkspace(args)
			if err != nil {
				return err
			}
			out := make([]content.ExportRecord, 0, len(ws.corpus.Records))
			for _, r := range ws.corpus.Records {
				out = append(out, r.Export(ws.corpus))
			}
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(out)
		},
	}
	cmd.Flags().StringVar(&format, "format", "json", "output format (json)")
	return cmd
}
