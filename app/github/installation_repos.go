package github

import (
	"context"
	"fmt"

	gh "github.com/google/go-github/v60/github"

	"github.com/backstory-dev/backstory/app"
)

// Repositories lists every repository the installation was given
// (apps/list-repos-accessible-to-installation), all pages.
func (c *installation) Repositories(ctx context.Context) ([]app.Repository, error) {
	ctx = withOperation(ctx, "apps/list-repos-accessible-to-installation")
	var out []app.Repository
	opts := &gh.ListOptions{PerPage: perPage, Page: 1}
	for {
		list, resp, err := c.api.Apps.ListRepos(ctx, opts)
		if err != nil {
			return nil, c.mapError(err, fmt.Sprintf("list the installation's repositories (page %d)", opts.Page))
		}
		for _, r := range list.Repositories {
			out = append(out, app.Repository{ID: r.GetID(), FullName: r.GetFullName(), DefaultBranch: r.GetDefaultBranch(), Private: r.GetPrivate()})
		}
		if resp.NextPage == 0 || len(list.Repositories) == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}
