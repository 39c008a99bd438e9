package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/backstory-dev/backstory/site"
)

func (c *cli) previewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "preview [PATH | NAME=PATH]...",
		Short: "Build the site, serve it locally, and rebuild when a record changes",
		Long: `Build the story site, serve it on a local address, and rebuild it when a
record changes; open pages reload by themselves. PATHs are read as by
"backstory build". No PATH means the current directory.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			repos, _, err := openRepos(args)
			if err != nil {
				return err
			}
			opts := c.siteOptions()
			opts.Log = c.stderr
			if !cmd.Flags().Changed("output") {
				opts.OutputDir = "" // a temporary folder, removed on exit
			}
			addr := c.config.GetString("preview.addr")
			fmt.Fprintf(c.stdout, "backstory preview: serving http://%s/ (Ctrl-C to stop)\n", addr)
			return site.Preview(cmd.Context(), repos, opts, addr)
		},
	}
	cmd.Flags().String("addr", "127.0.0.1:1414", "address to serve on")
	c.bindFlags(cmd, "preview")
	c.siteFlags(cmd)
	return cmd
}
