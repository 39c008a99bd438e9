package github

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"

	"github.com/backstory-dev/backstory/app"
)

// GitHub's limits that shape the requests.
const (
	perPage = 100
	// maxPRFiles is where GitHub stops listing a pull request's files.
	maxPRFiles = 3000
	// maxFileBytes is the largest file the contents and blob APIs serve.
	maxFileBytes = 100 << 20
)

// installation is app.Client for one installation of the App.
type installation struct {
	app *App
	id  int64
	// auth adds the installation token to what it sends. api is go-github
	// over the cache over auth.
	auth *tokenTransport
	api  *gh.Client
	// known are the blobs PublishBranch uploaded lately, by repository.
	known knownBlobs
}

var _ app.Client = (*installation)(nil)

func (a *App) newInstallation(id int64) *installation {
	auth := &tokenTransport{newToken: func() *ghinstallation.Transport {
		// One AppsTransport per token transport: ghinstallation writes its
		// BaseURL and Client on every refresh, which would race if shared.
		atr := ghinstallation.NewAppsTransportFromPrivateKey(a.sent, a.appID, a.key)
		atr.BaseURL = a.tokenBaseURL()
		t := ghinstallation.NewFromAppsTransport(atr, id)
		t.BaseURL = a.tokenBaseURL()
		// Without options ghinstallation sends the JSON body "null", which
		// GitHub's description does not allow (an object is).
		t.InstallationTokenOptions = &gh.InstallationTokenOptions{}
		return t
	}}
	auth.cur = auth.newToken()
	var rt http.RoundTripper = &rateLimitTransport{app: a, installation: id, next: auth}
	if a.cache != nil {
		rt = &cachingTransport{cache: a.cache, installation: id, next: rt}
	}
	return &installation{
		app:  a,
		id:   id,
		auth: auth,
		api:  a.newGitHubClient(&http.Client{Transport: rt, Timeout: a.timeout, CheckRedirect: sameHostRedirects}),
	}
}

// tokenTransport is ghinstallation's transport, replaced by a fresh one
// (with no token) when GitHub answers 401. ghinstallation keeps a token
// until shortly before it expires, an hour after issue; a token revoked
// before that (the installation suspended and restored, its permissions
// changed) would otherwise fail every call until then.
type tokenTransport struct {
	newToken func() *ghinstallation.Transport
	mu       sync.Mutex
	cur      *ghinstallation.Transport
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	cur := t.cur
	t.mu.Unlock()
	resp, err := cur.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.mu.Lock()
		if t.cur == cur {
			t.cur = t.newToken()
		}
		t.mu.Unlock()
	}
	return resp, err
}

// mapError is App.mapError, with a 401 made temporary: the token is
// renewed (tokenTransport) and a retry has a fair chance.
func (c *installation) mapError(err error, what string) error {
	mapped := c.app.mapError(err, what)
	var resp *gh.ErrorResponse
	if errors.As(err, &resp) && resp.Response != nil && resp.Response.StatusCode == http.StatusUnauthorized {
		return &app.TemporaryError{Err: fmt.Errorf("%w (token renewed)", mapped)}
	}
	return mapped
}

var repoPart = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// splitRepo checks and splits "owner/name". Both parts go into URL paths
// unescaped by go-github, so anything but GitHub's name characters is
// refused here.
func splitRepo(repo string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || !repoPart.MatchString(owner) || !repoPart.MatchString(name) || checkSegments("", repo) != nil {
		return "", "", fmt.Errorf("repository %q: want owner/name", repo)
	}
	return owner, name, nil
}

// checkSegments refuses a ref or path with "." or ".." segments: go-github
// resolves the URL against the API base, so "contents/../../user" would
// reach another endpoint with the installation's token. Git allows neither
// in a ref or a tracked path.
func checkSegments(kind, s string) error {
	for _, seg := range strings.Split(s, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%s %q: has a %q segment", kind, s, seg)
		}
	}
	return nil
}

// escapeRef escapes a ref or path for a URL path, keeping its slashes: a
// branch may be named "a#b".
func escapeRef(ref string) string {
	parts := strings.Split(ref, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// Repository fetches a repository's name, default branch and visibility
// (repos/get).
func (c *installation) Repository(ctx context.Context, repo string) (app.Repository, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return app.Repository{}, err
	}
	ctx = withOperation(ctx, "repos/get")
	r, _, err := c.api.Repositories.Get(ctx, owner, name)
	if err != nil {
		return app.Repository{}, c.mapError(err, "get repository "+repo)
	}
	return app.Repository{ID: r.GetID(), FullName: r.GetFullName(), DefaultBranch: r.GetDefaultBranch(), Private: r.GetPrivate()}, nil
}

// PullRequest fetches one pull request (pulls/get).
func (c *installation) PullRequest(ctx context.Context, repo string, number int) (app.PullRequest, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return app.PullRequest{}, err
	}
	ctx = withOperation(ctx, "pulls/get")
	pr, _, err := c.api.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return app.PullRequest{}, c.mapError(err, fmt.Sprintf("get pull request %s#%d", repo, number))
	}
	return pullRequest(pr, repo), nil
}

func pullRequest(pr *gh.PullRequest, repo string) app.PullRequest {
	out := app.PullRequest{
		Repository: pr.GetBase().GetRepo().GetFullName(),
		Number:     pr.GetNumber(),
		State:      pr.GetState(),
		// The list endpoint has no "merged": merged_at says it too.
		Merged:         pr.GetMerged() || pr.MergedAt != nil,
		Draft:          pr.GetDraft(),
		Title:          pr.GetTitle(),
		Body:           pr.GetBody(),
		Author:         pr.GetUser().GetLogin(),
		AuthorType:     pr.GetUser().GetType(),
		HeadSHA:        pr.GetHead().GetSHA(),
		HeadRef:        pr.GetHead().GetRef(),
		HeadRepository: pr.GetHead().GetRepo().GetFullName(),
		BaseRef:        pr.GetBase().GetRef(),
		BaseSHA:        pr.GetBase().GetSHA(),
		DefaultBranch:  pr.GetBase().GetRepo().GetDefaultBranch(),
		HTMLURL:        pr.GetHTMLURL(),
		MergedAt:       pr.GetMergedAt().Time,
		MergeSHA:       pr.GetMergeCommitSHA(),
	}
	if out.Repository == "" {
		out.Repository = repo
	}
	for _, l := range pr.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

// PullRequestFiles lists every file a pull request changes, 100 a page, up
// to the 3,000 GitHub serves (pulls/list-files).
func (c *installation) PullRequestFiles(ctx context.Context, repo string, number int) ([]app.ChangedFile, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	ctx = withOperation(ctx, "pulls/list-files")
	var out []app.ChangedFile
	opts := &gh.ListOptions{PerPage: perPage, Page: 1}
	for {
		files, resp, err := c.api.PullRequests.ListFiles(ctx, owner, name, number, opts)
		if err != nil {
			return nil, c.mapError(err, fmt.Sprintf("list the files of pull request %s#%d (page %d)", repo, number, opts.Page))
		}
		for _, f := range files {
			out = append(out, app.ChangedFile{
				Path:         f.GetFilename(),
				PreviousPath: f.GetPreviousFilename(),
				Status:       f.GetStatus(),
				Additions:    f.GetAdditions(),
				Deletions:    f.GetDeletions(),
				Patch:        f.GetPatch(),
			})
		}
		if resp.NextPage == 0 || len(files) == 0 || len(out) >= maxPRFiles {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(out) > maxPRFiles {
		out = out[:maxPRFiles]
	}
	return out, nil
}

// OpenPullRequestsWithHead lists the open pull requests whose head is sha.
// It reads every open PR (pulls/list) because GitHub's head filter takes a
// branch, not a commit, and check_run.pull_requests is empty for forks.
func (c *installation) OpenPullRequestsWithHead(ctx context.Context, repo, sha string) ([]app.PullRequest, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	ctx = withOperation(ctx, "pulls/list")
	var out []app.PullRequest
	opts := &gh.PullRequestListOptions{State: "open", ListOptions: gh.ListOptions{PerPage: perPage, Page: 1}}
	for {
		prs, resp, err := c.api.PullRequests.List(ctx, owner, name, opts)
		if err != nil {
			return nil, c.mapError(err, fmt.Sprintf("list the open pull requests of %s (page %d)", repo, opts.Page))
		}
		for _, pr := range prs {
			if strings.EqualFold(pr.GetHead().GetSHA(), sha) {
				out = append(out, pullRequest(pr, repo))
			}
		}
		if resp.NextPage == 0 || len(prs) == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Tree lists the blobs of repo at ref, recursively (git/get-tree): no
// folders, no submodules.
func (c *installation) Tree(ctx context.Context, repo, ref string) (app.Tree, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return app.Tree{}, err
	}
	if ref == "" {
		return app.Tree{}, fmt.Errorf("tree of %s: empty ref: give a branch, tag or commit", repo)
	}
	if err := checkSegments("ref", ref); err != nil {
		return app.Tree{}, fmt.Errorf("tree of %s: %w", repo, err)
	}
	ctx = withOperation(ctx, "git/get-tree")
	t, resp, err := c.api.Git.GetTree(ctx, owner, name, escapeRef(ref), true)
	if err != nil {
		return app.Tree{}, c.mapError(err, fmt.Sprintf("get the tree of %s at %s", repo, ref))
	}
	out := app.Tree{SHA: t.GetSHA(), Truncated: t.GetTruncated()}
	if resp != nil && resp.Response != nil {
		// A 304 revalidation carries the fresh Date (revalidatedHeader).
		if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			out.Date = d
		}
	}
	for _, e := range t.Entries {
		if e.GetType() != "blob" {
			continue
		}
		out.Entries = append(out.Entries, app.TreeEntry{Path: e.GetPath(), SHA: e.GetSHA(), Size: int64(e.GetSize())})
	}
	return out, nil
}

// FileContent returns one file's bytes at ref (repos/get-content). Files of
// 1 to 100 MB, which that API describes without content, are fetched raw
// through their blob (git/get-blob).
func (c *installation) FileContent(ctx context.Context, repo, ref, path string) ([]byte, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	clean := strings.Trim(path, "/")
	if clean == "" {
		return nil, fmt.Errorf("content of %s: empty path: give a file path relative to the repository root", repo)
	}
	what := fmt.Sprintf("get %s from %s at %s", clean, repo, ref)
	if err := checkSegments("path", clean); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	u := fmt.Sprintf("repos/%s/%s/contents/%s", owner, name, escapeRef(clean))
	if ref != "" {
		u += "?ref=" + url.QueryEscape(ref)
	}
	req, err := c.api.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var raw json.RawMessage
	if _, err := c.api.Do(withOperation(ctx, "repos/get-content"), req, &raw); err != nil {
		return nil, c.mapError(err, what)
	}
	if strings.HasPrefix(strings.TrimSpace(string(raw)), "[") {
		return nil, fmt.Errorf("%s: it is a directory, not a file", what)
	}
	var file gh.RepositoryContent
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("%s: reading GitHub's answer: %w", what, err)
	}
	if t := file.GetType(); t != "file" {
		return nil, fmt.Errorf("%s: it is a %s, not a file", what, t)
	}
	switch file.GetEncoding() {
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(deref(file.Content), "\n", ""))
		if err != nil {
			return nil, fmt.Errorf("%s: decoding base64 content: %w", what, err)
		}
		return b, nil
	case "none", "":
		if file.GetSize() == 0 {
			return []byte{}, nil
		}
		// Over 1 MB the contents API gives no content.
		return c.blob(ctx, owner, name, file.GetSHA(), int64(file.GetSize()), what)
	default:
		return nil, fmt.Errorf("%s: unknown content encoding %q", what, file.GetEncoding())
	}
}

func (c *installation) blob(ctx context.Context, owner, name, sha string, size int64, what string) ([]byte, error) {
	if size > maxFileBytes {
		return nil, fmt.Errorf("%s: %d bytes, over GitHub's %d-byte limit for one file: read it from Archive", what, size, maxFileBytes)
	}
	if sha == "" {
		return nil, fmt.Errorf("%s: GitHub gave neither content nor blob sha", what)
	}
	req, err := c.api.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/git/blobs/%s", owner, name, url.PathEscape(sha)), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Accept", "application/vnd.github.raw")
	var buf limitedBuffer
	buf.max = maxFileBytes
	if _, err := c.api.Do(withOperation(ctx, "git/get-blob"), req, &buf); err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, fmt.Errorf("%s: over %d bytes", what, maxFileBytes)
		}
		return nil, c.mapError(err, what+" (raw blob)")
	}
	return buf.b, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

var errTooLarge = errors.New("response too large")

// limitedBuffer collects a raw response body up to max bytes.
type limitedBuffer struct {
	b   []byte
	max int64
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if int64(len(l.b)+len(p)) > l.max {
		return 0, errTooLarge
	}
	l.b = append(l.b, p...)
	return len(p), nil
}

// Permission returns a user's role on repo
// (repos/get-collaborator-permission-level). GitHub's "permission" field
// folds maintain into write and triage into read; role_name keeps them, so
// it wins when it is one of the built-in roles. Someone who is not a
// collaborator has "none".
func (c *installation) Permission(ctx context.Context, repo, user string) (string, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return "", err
	}
	if user == "" || strings.ContainsAny(user, "/?#% ") {
		return "", fmt.Errorf("permission on %s: user %q is not a GitHub login", repo, user)
	}
	what := fmt.Sprintf("get %s's permission on %s", user, repo)
	req, err := c.api.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", owner, name, url.PathEscape(user)), nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	var level struct {
		Permission string `json:"permission"`
		RoleName   string `json:"role_name"`
	}
	_, err = c.api.Do(withOperation(ctx, "repos/get-collaborator-permission-level"), req, &level)
	if err != nil {
		mapped := c.app.mapError(err, what)
		if errors.Is(mapped, app.ErrNotFound) {
			return "none", nil
		}
		return "", mapped
	}
	switch level.RoleName {
	case "admin", "maintain", "write", "triage", "read":
		return level.RoleName, nil
	}
	switch level.Permission {
	case "admin", "write", "read", "none":
		return level.Permission, nil
	case "":
		return "", fmt.Errorf("%s: GitHub gave no permission", what)
	default:
		return "", fmt.Errorf("%s: unknown permission %q", what, level.Permission)
	}
}
