package localpr

import (
	"strings"
	"time"

	"github.com/backstory-dev/backstory/app/check"
	"github.com/backstory-dev/backstory/content"
)

// Input is what check.Evaluate reads for this pull request: the org's
// defaults merged under the repository's configuration, as the App merges
// them. There are no other open pull requests to compare numbers with, and
// no waiver: those live in the App's store. Nor is there a "Not needed"
// button: the check says so (Input.Local).
func (pr *PR) Input(now time.Time, siteURL string) check.Input {
	cfg, problems := check.LoadConfig(pr.OrgConfig, pr.RepoConfig)
	// An invalid records: section is the repository's configuration too,
	// and must fail the check as the App's does.
	for _, p := range pr.Repo.Problems {
		if p.Severity == content.SeverityError && strings.HasPrefix(p.File, ".github/backstory.y") {
			p.File = pr.Repo.Name + ": " + p.File
			problems = append(problems, p)
		}
	}
	return check.Input{
		PR:             pr.PullRequest,
		Config:         cfg,
		ConfigProblems: problems,
		Corpus:         pr.Corpus,
		Now:            now,
		SiteURL:        siteURL,
		Local:          true,
	}
}
