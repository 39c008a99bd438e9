// Package localpr reads a pull request from a local git checkout, so that
// `backstory check` can run the App's context check in any CI or on a
// laptop: the pull request's fields come from a GitHub Actions event file
// or from flags, its changed files from git diff, and the records and
// configuration from the base branch, as the App reads them from GitHub.
package localpr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/backstory-dev/backstory/app/check"
	"github.com/backstory-dev/backstory/content"
)

// Options say where the pull request comes from. Empty fields are not
// given: they come from the GitHub Actions event when there is one, else
// from git.
type Options struct {
	// Dir is a folder inside the checkout; "" means the current one.
	Dir string
	// Getenv reads the environment (GITHUB_ACTIONS, GITHUB_EVENT_NAME,
	// GITHUB_EVENT_PATH, GITHUB_SERVER_URL); nil means os.Getenv.
	Getenv func(string) string
	// Stdin is read when BodyFile is "-".
	Stdin io.Reader

	// Base is the branch the pull request merges into (default: the
	// event's base commit, else the remote's default branch); Head its
	// last commit (default: the event's head commit, else HEAD).
	Base, Head string
	// BodyFile holds the pull request's description; "-" is Stdin.
	BodyFile string
	Title    string
	Author   string
	// Labels replace the event's labels when not nil.
	Labels []string
	// Repository is "owner/name" (default: the event's, else the git
	// remote's).
	Repository string
	// Draft marks the pull request a draft.
	Draft bool
	// OrgConfig is a file of organisation defaults, the .github/backstory.yml
	// of the org's .github repository.
	OrgConfig string
}

// PR is a pull request read from a checkout: what check.Evaluate needs.
type PR struct {
	PullRequest check.PullRequest
	// Corpus holds the records of the base branch; Repo is that branch
	// as content sees it (record folders, id pattern).
	Corpus *content.Corpus
	Repo   *content.Repo
	// RepoConfig is the base branch's .github/backstory.yml (Data nil
	// when it has none); OrgConfig the --org-config file.
	RepoConfig check.ConfigFile
	OrgConfig  check.ConfigFile
	// Base, MergeBase and Head are commit ids; BaseRef is the base as
	// named ("origin/main", or the event's base branch).
	Base, MergeBase, Head string
	BaseRef               string
	// Event is the GitHub Actions event the pull request was read from
	// ("pull_request"), "" when it came from flags.
	Event string
	// Notes are things the user should know about what was assumed.
	Notes []string
}

// ErrNoPullRequest is returned in GitHub Actions for an event that has no
// pull request to check and no --base to make one from.
var ErrNoPullRequest = errors.New("no pull request to check")

// SkipEvents are GitHub Actions events where there is nothing to check:
// the pull requests in a merge group were checked before they were queued.
var SkipEvents = map[string]bool{"merge_group": true}

// maxRecordBytes is the largest file read as a record, as the App reads.
const maxRecordBytes = 1 << 20

// templatePaths are where GitHub looks for a pull request template,
// compared case-insensitively, in order.
var templatePaths = []string{".github/pull_request_template.md", "pull_request_template.md", "docs/pull_request_template.md"}

// configPaths are where a repository's configuration lives, in order.
var configPaths = []string{content.ConfigPath, ".github/backstory.yaml"}

// Read reads the pull request.
func Read(ctx context.Context, o Options) (*PR, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	dir := o.Dir
	if dir == "" {
		dir = "."
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a folder: give the checkout with --dir", absOr(dir))
	}
	g := git{dir: dir}
	top, err := g.line(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		var ge *gitError
		if errors.As(err, &ge) {
			return nil, fmt.Errorf("%s is not inside a git repository: run backstory check in a clone of the repository", absOr(dir))
		}
		return nil, err
	}
	g.dir = top
	pr := &PR{}

	inActions := getenv("GITHUB_ACTIONS") == "true"
	var ev *event
	if inActions && getenv("GITHUB_EVENT_PATH") != "" {
		switch name := getenv("GITHUB_EVENT_NAME"); name {
		case "pull_request", "pull_request_target":
			if ev, err = readEvent(getenv("GITHUB_EVENT_PATH")); err != nil {
				return nil, err
			}
			pr.Event = name
		default:
			if o.Base == "" {
				return nil, fmt.Errorf("%w: this is a %s event; run backstory check on pull_request or pull_request_target, or give --base to check a branch", ErrNoPullRequest, name)
			}
		}
	}

	// The commits.
	headRev := o.Head
	if headRev == "" && ev != nil {
		headRev = ev.PullRequest.Head.SHA
	}
	if headRev == "" {
		headRev = "HEAD"
	}
	head, ok, err := g.commit(ctx, headRev)
	if err != nil {
		return nil, err
	}
	if !ok {
		hint := fetchHint(ctx, g, ev != nil)
		if ev != nil {
			hint = ": check out the pull request with its history (actions/checkout with fetch-depth: 0; on pull_request_target also ref: ${{ github.event.pull_request.head.sha }})"
		}
		return nil, fmt.Errorf("head %q is not a commit in this clone%s", headRev, hint)
	}
	baseRev := o.Base
	pr.BaseRef = baseRev
	if baseRev == "" && ev != nil {
		baseRev, pr.BaseRef = ev.PullRequest.Base.SHA, ev.PullRequest.Base.Ref
	}
	if baseRev == "" {
		if baseRev, err = defaultBase(ctx, g); err != nil {
			return nil, err
		}
		pr.BaseRef = baseRev
		pr.Notes = append(pr.Notes, fmt.Sprintf("comparing with %s (name another base with --base)", baseRev))
	}
	base, ok, err := g.commit(ctx, baseRev)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("base %q is not a commit in this clone%s", baseRev, fetchHint(ctx, g, ev != nil))
	}
	mergeBase, err := g.line(ctx, "merge-base", "--end-of-options", base, head)
	var noBase *gitError
	if err != nil && !(errors.As(err, &noBase) && noBase.code == 1) {
		return nil, err
	}
	if mergeBase == "" {
		// git merge-base exits 1, saying nothing, when there is none.
		return nil, fmt.Errorf("base %s and head %s share no history in this clone%s", baseRev, headRev, fetchHint(ctx, g, ev != nil))
	}
	pr.Base, pr.MergeBase, pr.Head = base, mergeBase, head

	// What the pull request changes: the three-dot diff GitHub shows.
	changes, err := g.changes(ctx, mergeBase, head)
	if err != nil {
		return nil, fmt.Errorf("list the changed files: %w", err)
	}

	// The repository's name and links.
	name := o.Repository
	if name == "" && ev != nil {
		name = ev.Repository.FullName
	}
	checkout, err := content.OpenRepo(top)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = checkout.Name
	}
	if owner, repo, ok := strings.Cut(name, "/"); !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		if o.Repository != "" {
			return nil, fmt.Errorf("--repo %q: expected owner/name", o.Repository)
		}
		pr.Notes = append(pr.Notes, fmt.Sprintf("the repository is called %q: it has no GitHub remote (name it with --repo owner/name)", name))
	}

	// The base branch's records, configuration and template.
	if err := pr.loadBase(ctx, g, name, top); err != nil {
		return nil, err
	}
	switch {
	case ev != nil:
		if server := strings.TrimRight(getenv("GITHUB_SERVER_URL"), "/"); server != "" && ev.PullRequest.Base.Ref != "" {
			pr.Repo.Branch = ev.PullRequest.Base.Ref
			pr.Repo.SourceURL = server + "/" + name + "/blob/" + pr.Repo.Branch + "/"
			pr.Repo.EditURL = server + "/" + name + "/edit/" + pr.Repo.Branch + "/"
		}
	case checkout.Name == name && checkout.SourceURL != "":
		// The records are the base's: link to the base branch (or
		// commit), not to the branch checked out.
		web, ok := strings.CutSuffix(checkout.SourceURL, "blob/"+checkout.Branch+"/")
		if !ok {
			if i := strings.Index(checkout.SourceURL, "/blob/"); i >= 0 {
				web, ok = checkout.SourceURL[:i+1], true
			}
		}
		if !ok {
			break
		}
		branch := branchName(ctx, g, pr.BaseRef)
		pr.Repo.Branch, pr.Repo.EditURL = branch, ""
		ref := branch
		if ref == "" {
			ref = base
		} else {
			pr.Repo.EditURL = web + "edit/" + escapeRef(branch) + "/"
		}
		pr.Repo.SourceURL = web + "blob/" + escapeRef(ref) + "/"
	}

	// The records the pull request adds or changes, as they are at head.
	records, err := headRecords(ctx, g, pr.Repo, changes)
	if err != nil {
		return nil, err
	}

	if o.OrgConfig != "" {
		data, err := os.ReadFile(o.OrgConfig)
		if err != nil {
			return nil, fmt.Errorf("--org-config: %w", err)
		}
		pr.OrgConfig = check.ConfigFile{Name: o.OrgConfig, Data: data}
	}

	p := check.PullRequest{Repository: name, HeadSHA: head, Records: records, Template: pr.PullRequest.Template}
	for _, c := range changes {
		p.Files = append(p.Files, c.File)
	}
	if ev != nil {
		e := ev.PullRequest
		p.Number, p.Title, p.Author, p.Draft = e.Number, e.Title, e.User.Login, e.Draft
		p.AuthorIsBot = e.User.Type == "Bot"
		if e.Body != nil {
			p.Body = *e.Body
		}
		for _, l := range e.Labels {
			p.Labels = append(p.Labels, l.Name)
		}
	}
	if o.Title != "" {
		p.Title = o.Title
	} else if ev == nil {
		p.Title, _ = g.line(ctx, "log", "-1", "--format=%s", head, "--")
	}
	if o.Author != "" {
		p.Author, p.AuthorIsBot = o.Author, false
	}
	p.AuthorIsBot = p.AuthorIsBot || strings.HasSuffix(p.Author, "[bot]")
	if o.Labels != nil {
		p.Labels = append([]string(nil), o.Labels...)
	}
	p.Draft = p.Draft || o.Draft
	switch {
	case o.BodyFile == "-":
		if o.Stdin == nil {
			return nil, errors.New("--body-file -: there is no standard input to read")
		}
		data, err := io.ReadAll(o.Stdin)
		if err != nil {
			return nil, fmt.Errorf("--body-file -: read standard input: %w", err)
		}
		p.Body = string(data)
	case o.BodyFile != "":
		data, err := os.ReadFile(o.BodyFile)
		if err != nil {
			return nil, fmt.Errorf("--body-file: %w", err)
		}
		p.Body = string(data)
	case ev == nil:
		pr.Notes = append(pr.Notes, "no --body-file: checking an empty pull request description")
	}
	pr.PullRequest = p
	return pr, nil
}

// branchName is the branch rev names ("main" for main, origin/main or
// refs/remotes/origin/main), "" when it names a commit otherwise.
func branchName(ctx context.Context, g git, rev string) string {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return ""
	}
	full, err := g.line(ctx, "rev-parse", "--verify", "--quiet", "--symbolic-full-name", "--end-of-options", rev)
	if err != nil {
		return ""
	}
	if b, ok := strings.CutPrefix(full, "refs/heads/"); ok {
		return b
	}
	if rest, ok := strings.CutPrefix(full, "refs/remotes/"); ok {
		if _, b, ok := strings.Cut(rest, "/"); ok && b != "HEAD" {
			return b
		}
	}
	return ""
}

// escapeRef makes a branch name part of a URL path: its slashes stay.
func escapeRef(ref string) string {
	return (&url.URL{Path: ref}).EscapedPath()
}

// fetchHint says how to get missing history into the clone.
func fetchHint(ctx context.Context, g git, actions bool) string {
	switch {
	case actions:
		return ": check out the whole history (actions/checkout with fetch-depth: 0)"
	case g.shallow(ctx):
		return ": this clone is shallow (git fetch --unshallow)"
	default:
		return ": fetch it (git fetch origin), or name another with --base/--head"
	}
}

// defaultBase finds the branch pull requests merge into: the remote's
// default branch, else a main or master branch.
func defaultBase(ctx context.Context, g git) (string, error) {
	if ref, err := g.line(ctx, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"); err == nil && ref != "" {
		return ref, nil
	}
	for _, ref := range []string{"origin/main", "origin/master", "main", "master"} {
		if _, ok, err := g.commit(ctx, ref); err == nil && ok {
			return ref, nil
		}
	}
	return "", errors.New("cannot tell which branch the pull request merges into (no origin/HEAD, main or master): name it with --base")
}

// loadBase reads, at the base commit, the configuration, the pull request
// template and every file that may hold a record, into a temporary folder
// that content reads as it reads any checkout.
func (pr *PR) loadBase(ctx context.Context, g git, name, top string) error {
	entries, err := g.tree(ctx, pr.Base)
	if err != nil {
		return fmt.Errorf("list the files of the base: %w", err)
	}
	byPath := make(map[string]treeEntry, len(entries))
	for _, e := range entries {
		byPath[e.path] = e
	}
	cfg := content.DefaultConfig()
	for _, p := range configPaths {
		if e, ok := byPath[p]; ok {
			data, err := g.blob(ctx, e.sha)
			if err != nil {
				return err
			}
			pr.RepoConfig = check.ConfigFile{Name: name + ": " + p, Data: data}
			cfg, _ = content.ParseConfig(data)
			break
		}
	}
	if pr.RepoConfig.Name == "" {
		pr.RepoConfig.Name = name + ": " + content.ConfigPath
	}
	template := ""
	for _, t := range templatePaths {
		for _, e := range entries {
			if strings.EqualFold(e.path, t) {
				template = e.path
				break
			}
		}
		if template != "" {
			break
		}
	}

	var want []treeEntry
	for _, e := range entries {
		if (e.size <= maxRecordBytes && content.MayHoldRecord(cfg, e.path)) || e.path == template || isConfig(e.path) {
			want = append(want, e)
		}
	}
	tmp, err := os.MkdirTemp("", "backstory-check-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ids := make([]string, len(want))
	for i, e := range want {
		ids[i] = e.sha
	}
	err = g.blobs(ctx, ids, func(i int, data []byte) error {
		p := want[i].path
		if p == template {
			pr.PullRequest.Template = string(data)
		}
		if !filepath.IsLocal(filepath.FromSlash(p)) {
			return nil
		}
		dst := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o600)
	})
	if err != nil {
		return fmt.Errorf("read the records of the base: %w", err)
	}
	repo, err := content.OpenRepo(name + "=" + tmp)
	if err != nil {
		return fmt.Errorf("open the records of the base: %w", err)
	}
	corpus := content.Load([]*content.Repo{repo})
	// The temporary folder goes away: point at the checkout instead, and
	// forget paths into the folder.
	repo.Root = top
	for _, r := range corpus.Records {
		r.Source = ""
	}
	pr.Repo, pr.Corpus = repo, corpus
	return nil
}

func isConfig(p string) bool {
	for _, c := range configPaths {
		if p == c {
			return true
		}
	}
	return false
}

// headRecords parses, as they are at head, the records the pull request
// adds or changes, as the App does: the files that may hold a record under
// the base branch's configuration.
func headRecords(ctx context.Context, g git, repo *content.Repo, changes []change) ([]*content.Record, error) {
	var want []change
	for _, c := range changes {
		if c.Status != "removed" && c.blob != "" && c.mode != "120000" && c.mode != "160000" && content.MayHoldRecord(repo.Config, c.Path) {
			want = append(want, c)
		}
	}
	ids := make([]string, len(want))
	for i, c := range want {
		ids[i] = c.blob
	}
	records := make([]*content.Record, 0, len(want))
	err := g.blobs(ctx, ids, func(i int, data []byte) error {
		if len(data) > maxRecordBytes {
			return nil
		}
		r := content.Parse(repo, want[i].Path, data)
		r.Source = ""
		records = append(records, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the records the pull request changes: %w", err)
	}
	return records, nil
}

// blob reads one object.
func (g git) blob(ctx context.Context, id string) ([]byte, error) {
	var out []byte
	err := g.blobs(ctx, []string{id}, func(_ int, data []byte) error {
		out = data
		return nil
	})
	return out, err
}

func absOr(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}
