package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/backstory-dev/backstory/app/check"
	"github.com/backstory-dev/backstory/app/localpr"
	"github.com/backstory-dev/backstory/content"
)

// checkAnnotation is an annotation in `check --format json`.
type checkAnnotation struct {
	Path      string `json:"path"`
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
	Level     string `json:"level"`
	Title     string `json:"title"`
	Message   string `json:"message"`
}

// checkReport is what `check --format json` prints.
type checkReport struct {
	Repository     string            `json:"repository"`
	Number         int               `json:"number,omitempty"`
	HeadSHA        string            `json:"head_sha"`
	Base           string            `json:"base"`
	MergeBase      string            `json:"merge_base"`
	Conclusion     check.Conclusion  `json:"conclusion"`
	Title          string            `json:"title"`
	Need           check.Need        `json:"need"`
	Missing        check.Need        `json:"missing"`
	Skipped        string            `json:"skipped,omitempty"`
	Files          int               `json:"files"`
	Records        []string          `json:"records"`
	Annotations    []checkAnnotation `json:"annotations"`
	ConfigProblems []content.Problem `json:"config_problems"`
	Notes          []string          `json:"notes"`
	Markdown       string            `json:"markdown"`
}

func (c *cli) checkCommand() *cobra.Command {
	var o localpr.Options
	var format, siteURL, modeFlag string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Run the App's context check on a branch or pull request, in any CI",
		Long: `Run the context check the backstory App posts on pull requests, without the
App: on a laptop, or in any CI. It reads the rules from .github/backstory.yml
and the records on the base branch, the changed files from git (the diff
GitHub shows: merge base to head), and prints what the App would say.

In GitHub Actions, on a pull_request or pull_request_target event, the pull
request (title, body, author, labels, base and head) comes from the event;
the checkout needs the base's history (actions/checkout with fetch-depth: 0).
The markdown is also added to the job summary, and each governed file gets
an annotation. On a merge_group event there is nothing to check.

Elsewhere, flags describe the pull request; the base defaults to the remote's
default branch and the head to HEAD.

--mode overrides the configuration's check.mode: advise to try backstory in
CI without blocking merges, enforce to make it a required check.

With GITHUB_OUTPUT set (GitHub Actions), the step's output conclusion is
success, failure or neutral.

Exit status: 0 when the check passes (or only advises), 1 when it fails, 2
when the pull request cannot be read (not a git repository, a base not in
the clone, a bad flag).`,
		Example: `  backstory check --body-file pr.md
  backstory check --base origin/main --title "Move sessions to Redis" --label needs-decision --body-file - < pr.md
  backstory check --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return c.usageError(fmt.Errorf("--format %q is not supported: use text or json", format))
			}
			var mode check.Mode
			if modeFlag != "" {
				m, err := check.ParseMode(modeFlag)
				if err != nil {
					return c.usageError(fmt.Errorf("--mode: %w", err))
				}
				mode = m
			}
			if !cmd.Flags().Changed("label") {
				o.Labels = nil
			}
			if name := os.Getenv("GITHUB_EVENT_NAME"); os.Getenv("GITHUB_ACTIONS") == "true" && localpr.SkipEvents[name] && o.Base == "" {
				fmt.Fprintf(c.stderr, "backstory: nothing to check on a %s event: its pull requests were checked before they were queued\n", name)
				return nil
			}
			o.Stdin = c.stdin
			pr, err := localpr.Read(cmd.Context(), o)
			if err != nil {
				if cmd.Context().Err() != nil {
					return err
				}
				return c.usageError(err)
			}
			for _, n := range pr.Notes {
				fmt.Fprintf(c.stderr, "backstory: %s\n", n)
			}
			in := pr.Input(time.Now(), siteURL)
			if mode != "" {
				in.Config.Mode = mode
			}
			v := check.Evaluate(in)
			md := v.Markdown()
			if format == "json" {
				if err := c.printCheckJSON(pr, v, md); err != nil {
					return err
				}
			} else {
				fmt.Fprint(c.stdout, md)
				if os.Getenv("GITHUB_ACTIONS") == "true" {
					for _, a := range v.Annotations {
						fmt.Fprintln(c.stdout, workflowCommand(a))
					}
				}
			}
			if os.Getenv("GITHUB_ACTIONS") == "true" {
				if summary := os.Getenv("GITHUB_STEP_SUMMARY"); summary != "" {
					if err := appendFile(summary, md+"\n"); err != nil {
						fmt.Fprintf(c.stderr, "backstory: could not add to the job summary: %v\n", err)
					}
				}
				if output := os.Getenv("GITHUB_OUTPUT"); output != "" {
					if err := appendFile(output, "conclusion="+string(v.Conclusion)+"\n"); err != nil {
						fmt.Fprintf(c.stderr, "backstory: could not set the step's output: %v\n", err)
					}
				}
			}
			if v.Conclusion == check.Failure {
				return exitError{code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", ".", "a folder inside the git checkout")
	f.StringVar(&o.Base, "base", "", "the branch or commit the pull request merges into (default: the event's base, else origin/HEAD, main or master)")
	f.StringVar(&o.Head, "head", "", "the pull request's last commit (default: the event's head, else HEAD)")
	f.StringVar(&o.BodyFile, "body-file", "", "file holding the pull request's description; - reads standard input")
	f.StringVar(&o.Title, "title", "", "the pull request's title (default: the event's, else the head commit's subject)")
	f.StringVar(&o.Author, "author", "", "the author's GitHub login (a login ending in [bot] is a bot)")
	f.StringArrayVar(&o.Labels, "label", nil, "a label on the pull request (repeat for several; replaces the event's)")
	f.StringVar(&o.Repository, "repo", "", "the repository, owner/name (default: the event's, else the git remote's)")
	f.BoolVar(&o.Draft, "draft", false, "the pull request is a draft")
	f.StringVar(&o.OrgConfig, "org-config", "", "the organisation's defaults: a copy of .github/backstory.yml from its .github repository")
	f.StringVar(&modeFlag, "mode", "", "enforce (fail when context is missing) or advise (only say so); default: the configuration's check.mode")
	f.StringVar(&siteURL, "site-url", "", "the published site's URL, to link records to their pages")
	f.StringVar(&format, "format", "text", "output format: text (markdown) or json")
	return cmd
}

func (c *cli) printCheckJSON(pr *localpr.PR, v check.Verdict, md string) error {
	r := checkReport{
		Repository: pr.PullRequest.Repository, Number: pr.PullRequest.Number, HeadSHA: pr.Head, Base: pr.Base, MergeBase: pr.MergeBase,
		Conclusion: v.Conclusion, Title: v.Title, Need: v.Need, Missing: v.Missing, Skipped: v.Skipped,
		Files: len(pr.PullRequest.Files), Records: []string{}, Annotations: []checkAnnotation{}, ConfigProblems: v.ConfigProblems,
		Notes: pr.Notes, Markdown: md,
	}
	for _, rec := range pr.PullRequest.Records {
		r.Records = append(r.Records, rec.Path)
	}
	for _, a := range v.Annotations {
		r.Annotations = append(r.Annotations, checkAnnotation{Path: a.Path, StartLine: a.StartLine, EndLine: a.EndLine, Level: a.Level, Title: a.Title, Message: a.Message})
	}
	if r.ConfigProblems == nil {
		r.ConfigProblems = []content.Problem{}
	}
	if r.Notes == nil {
		r.Notes = []string{}
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// workflowCommand is an annotation as a GitHub Actions workflow command,
// which Actions shows on the pull request's diff.
func workflowCommand(a check.Annotation) string {
	level := a.Level
	switch level {
	case "failure":
		level = "error"
	case "notice", "warning":
	default:
		level = "notice"
	}
	props := []string{"file=" + escapeProperty(a.Path)}
	if a.StartLine > 0 {
		props = append(props, fmt.Sprintf("line=%d", a.StartLine))
		if a.EndLine > a.StartLine {
			props = append(props, fmt.Sprintf("endLine=%d", a.EndLine))
		}
	}
	if a.Title != "" {
		props = append(props, "title="+escapeProperty(a.Title))
	}
	return "::" + level + " " + strings.Join(props, ",") + "::" + escapeData(a.Message)
}

// escapeData and escapeProperty escape as the Actions runner unescapes, so a
// message cannot end the command early or start another.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
