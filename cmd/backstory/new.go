package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/backstory-dev/backstory/content"
)

// defaultDirs is where `new` puts each kind when the repository has no
// folder for it yet.
var defaultDirs = map[content.Kind]string{
	content.KindDecision: "docs/decisions",
	content.KindValue:    "docs/values",
	content.KindProcess:  "docs/processes",
	content.KindIntent:   "docs/intents",
}

func (c *cli) newCommand() *cobra.Command {
	var dir, supersedes, repoDir string
	cmd := &cobra.Command{
		Use:   "new decision|value|process|intent TITLE",
		Short: "Write a new record from the template, numbered so it never collides",
		Long: `Write a new record in the native format, from a template whose sections ask
the questions that matter (for a decision: Why, What, Risks, Mitigations,
Cost, Tradeoffs, Why now, How we will know). It is numbered one past the
highest number already in its folder, in any format. With --supersedes ID the
old record is marked superseded by the new one, and the new one says so.`,
		Example: `  backstory new decision "Push service-x state to consumers through Kafka"
  backstory new decision "Move to PostgreSQL 16" --supersedes ADR-0007
  backstory new value "Availability"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := content.Kind(strings.ToLower(args[0]))
			if _, ok := defaultDirs[kind]; !ok {
				return fmt.Errorf("unknown kind %q: use decision, value, process or intent", args[0])
			}
			title := strings.TrimSpace(args[1])
			if title == "" {
				return fmt.Errorf("the title is empty: say in a few words what was decided")
			}
			ws, err := loadWorkspace([]string{repoDir})
			if err != nil {
				return err
			}
			repo := ws.repos[0]
			if dir == "" {
				dir = folderFor(repo, kind)
			}
			if dir, err = filepath.Abs(dir); err != nil {
				return err
			}
			path, err := content.NewRecord(dir, kind, title, content.NewOptions{
				Supersedes: supersedes,
				Now:        time.Now(),
				Repo:       repo,
				Corpus:     ws.corpus,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "wrote %s\n", path)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "folder to write the record in (default: the repository's folder for that kind)")
	cmd.Flags().StringVar(&supersedes, "supersedes", "", "id of the record this one replaces; it is marked superseded")
	cmd.Flags().StringVar(&repoDir, "repo", ".", "repository root")
	return cmd
}

// folderFor picks the folder a new record of kind goes in: an existing
// record folder named for the kind, else the repository's first record
// folder for decisions, else the default.
func folderFor(repo *content.Repo, kind content.Kind) string {
	want := defaultDirs[kind]
	for _, d := range repo.Dirs {
		if d == want {
			return filepath.Join(repo.Root, filepath.FromSlash(d))
		}
	}
	if kind == content.KindDecision {
		for _, d := range repo.Dirs {
			base := filepath.Base(d)
			if base != "processes" && base != "values" && base != "intents" {
				return filepath.Join(repo.Root, filepath.FromSlash(d))
			}
		}
	}
	return filepath.Join(repo.Root, filepath.FromSlash(want))
}
