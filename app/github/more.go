package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/backstory-dev/backstory/app"
)

// Installations lists the App's installations (apps/list-installations),
// all pages, with the App's JWT.
func (a *App) Installations(ctx context.Context) ([]app.InstallationInfo, error) {
	ctx = withOperation(ctx, "apps/list-installations")
	var out []app.InstallationInfo
	for page := 1; ; {
		// Decoded here rather than by go-github, whose v60 types drop
		// permissions they do not know (merge_queues).
		req, err := a.jwtClient.NewRequest("GET", fmt.Sprintf("app/installations?per_page=%d&page=%d", perPage, page), nil)
		if err != nil {
			return nil, err
		}
		var list []struct {
			ID      int64 `json:"id"`
			Account struct {
				Login string `json:"login"`
				Type  string `json:"type"`
			} `json:"account"`
			TargetType          string            `json:"target_type"`
			SuspendedAt         *string           `json:"suspended_at"`
			Permissions         map[string]string `json:"permissions"`
			RepositorySelection string            `json:"repository_selection"`
		}
		resp, err := a.jwtClient.Do(ctx, req, &list)
		if err != nil {
			return nil, a.mapError(err, fmt.Sprintf("list the App's installations (page %d)", page))
		}
		for _, in := range list {
			typ := in.Account.Type
			if typ == "" {
				typ = in.TargetType
			}
			out = append(out, app.InstallationInfo{
				ID:                  in.ID,
				Account:             in.Account.Login,
				AccountType:         typ,
				Suspended:           in.SuspendedAt != nil,
				Permissions:         in.Permissions,
				RepositorySelection: in.RepositorySelection,
			})
		}
		if resp.NextPage == 0 || len(list) == 0 {
			return out, nil
		}
		page = resp.NextPage
	}
}

// loginPattern accepts GitHub logins, Enterprise Managed Users' included
// ("jo_acme"). Starting with a letter or digit, a login can be neither "."
// nor "..", so it is safe in a URL path.
var loginPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// IsMember reports whether user is a member of org
// (orgs/check-membership-for-user). GitHub answers 204 for a member and 404
// for anyone else; it answers 302 (to the public membership) when the
// requester is no member of org, which for an installation means it is
// installed elsewhere: then nobody is known to be a member, and the answer
// is false. The redirect is not followed, so a public member is not taken
// for a member.
func (c *installation) IsMember(ctx context.Context, org, user string) (bool, error) {
	if !loginPattern.MatchString(org) {
		return false, fmt.Errorf("membership: organisation %q is not a GitHub login", org)
	}
	if !loginPattern.MatchString(user) {
		return false, fmt.Errorf("membership of %s: user %q is not a GitHub login", org, user)
	}
	what := fmt.Sprintf("check whether %s is a member of %s", user, org)
	req, err := c.api.NewRequest(http.MethodGet, fmt.Sprintf("orgs/%s/members/%s", url.PathEscape(org), url.PathEscape(user)), nil)
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	req = req.WithContext(withOperation(ctx, "orgs/check-membership-for-user"))
	hc := c.api.Client() // a copy: its redirect policy is ours to change
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return false, c.mapError(err, what)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return true, nil
	case http.StatusNotFound, http.StatusFound:
		return false, nil
	}
	if err := gh.CheckResponse(resp); err != nil {
		return false, c.mapError(err, what)
	}
	return false, fmt.Errorf("%s: unexpected answer %s", what, resp.Status)
}

// CreateIssue opens an issue (issues/create) and returns its number. It
// needs the issues: write permission; a repository with issues turned off
// answers 410, a *app.RejectedError.
func (c *installation) CreateIssue(ctx context.Context, repo string, issue app.IssueWrite) (int, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return 0, err
	}
	if strings.TrimSpace(issue.Title) == "" {
		return 0, fmt.Errorf("open an issue on %s: the title is empty", repo)
	}
	body := &gh.IssueRequest{Title: &issue.Title}
	if issue.Body != "" {
		body.Body = &issue.Body
	}
	if len(issue.Labels) > 0 {
		labels := append([]string(nil), issue.Labels...)
		body.Labels = &labels
	}
	ctx = withOperation(ctx, "issues/create")
	created, _, err := c.api.Issues.Create(ctx, owner, name, body)
	if err != nil {
		return 0, c.mapError(err, fmt.Sprintf("open the issue %q on %s", issue.Title, repo))
	}
	return created.GetNumber(), nil
}

// Issues lists the issues of repo in any state updated at or after since
// (issues/list-for-repo), all pages, oldest first so that an issue opened
// while the pages are read cannot shift one out of sight. GitHub lists
// pull requests there too; they are left out. A repository with issues
// turned off answers 410, a *app.RejectedError.
func (c *installation) Issues(ctx context.Context, repo string, since time.Time) ([]app.Issue, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	ctx = withOperation(ctx, "issues/list-for-repo")
	opts := &gh.IssueListByRepoOptions{State: "all", Since: since.UTC(), Sort: "created", Direction: "asc",
		ListOptions: gh.ListOptions{PerPage: perPage, Page: 1}}
	var out []app.Issue
	for {
		list, resp, err := c.api.Issues.ListByRepo(ctx, owner, name, opts)
		if err != nil {
			return nil, c.mapError(err, fmt.Sprintf("list the issues of %s (page %d)", repo, opts.Page))
		}
		for _, is := range list {
			if is.IsPullRequest() {
				continue
			}
			out = append(out, app.Issue{
				Number: is.GetNumber(),
				Title:  is.GetTitle(),
				Body:   is.GetBody(),
				State:  is.GetState(),
				Author: is.GetUser().GetLogin(),
			})
		}
		if resp.NextPage == 0 || len(list) == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}
