package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/backstory-dev/backstory/app/check"
	"github.com/backstory-dev/backstory/content"
)

// EventBuild is the event of the deliveries backstory puts in its own inbox
// to rebuild an installation's story site. All builds of one installation
// share a Key, so they never run at once, and a build that is not the
// newest one asked for is skipped: bursts of pushes end in one build of the
// latest state. Like EventRecheck it never comes from outside.
const EventBuild = "backstory.build"

// SiteOptions make the App keep one story site per installation
// (organisation) current: built on installation, when a push to a default
// branch touches records or the configuration, and when a pull request
// merges; then published.
type SiteOptions struct {
	// Build builds corpus into outDir and replaces outDir only when the
	// build succeeded (site.Build does). Nil: the App keeps no site.
	Build func(ctx context.Context, corpus *content.Corpus, outDir string) error
	// Dir holds the sites: <Dir>/<account>/ for each installation, the
	// directory target (and what `backstory serve` serves).
	Dir string
}

// siteConfig is the "site" part of the org's .github/backstory.yml:
//
//	site:
//	  pages:
//	    repository: acme/acme.github.io
//	    branch: gh-pages
//	  publish_private: false
type siteConfig struct {
	Pages struct {
		Repository string `yaml:"repository"`
		Branch     string `yaml:"branch"`
	} `yaml:"pages"`
	// PublishPrivate allows records of private repositories on a public
	// Pages repository. Off by default: privacy first.
	PublishPrivate bool `yaml:"publish_private"`
}

var repoName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`)

func parseSiteConfig(data []byte) (siteConfig, error) {
	var doc struct {
		Site siteConfig `yaml:"site"`
	}
	if len(data) == 0 {
		return siteConfig{}, nil
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return siteConfig{}, fmt.Errorf(".github/backstory.yml: site: %w", err)
	}
	cfg := doc.Site
	if cfg.Pages.Repository != "" && !repoName.MatchString(cfg.Pages.Repository) {
		return siteConfig{}, fmt.Errorf(".github/backstory.yml: site.pages.repository: %q is not owner/repo", cfg.Pages.Repository)
	}
	if cfg.Pages.Repository != "" && cfg.Pages.Branch == "" {
		cfg.Pages.Branch = "gh-pages"
	}
	return cfg, nil
}

// buildRequest is the payload of an EventBuild delivery.
type buildRequest struct {
	Installation struct {
		ID int64 `json:"id"`
	} `json:"installation"`
	Account string `json:"account"`
	Reason  string `json:"reason"`
}

// builds remembers, per installation, the newest build asked for in this
// process, so that older queued builds are skipped.
type builds struct {
	mu     sync.Mutex
	latest map[int64]string
}

// RequestBuild puts a build of installation's site in the inbox.
func (a *App) RequestBuild(ctx context.Context, installation int64, account, reason string) error {
	if a.sites.Build == nil {
		return nil
	}
	var req buildRequest
	req.Installation.ID, req.Account, req.Reason = installation, account, reason
	payload, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	d := Delivery{ID: "backstory-build-" + hex.EncodeToString(id[:]), Event: EventBuild, InstallationID: installation,
		Key: fmt.Sprintf("site:%d", installation), Payload: payload, ReceivedAt: a.now()}
	// Newest before it is stored, so that a worker taking it at once does
	// not skip it; put back if it could not be stored, so that the builds
	// already queued are not skipped for one that does not exist.
	a.builds.mu.Lock()
	previous, had := a.builds.latest[installation]
	a.builds.latest[installation] = d.ID
	a.builds.mu.Unlock()
	if _, err := a.store.Enqueue(ctx, d); err != nil {
		a.builds.mu.Lock()
		if a.builds.latest[installation] == d.ID {
			// Back to the build before, which was stored; with the store
			// check in onBuild, a stale entry can only cause a build, never
			// a skip of the newest.
			if had {
				a.builds.latest[installation] = previous
			} else {
				delete(a.builds.latest, installation)
			}
		}
		a.builds.mu.Unlock()
		return fmt.Errorf("enqueue a build of installation %d's site: %w", installation, err)
	}
	if a.notify != nil {
		a.notify()
	}
	return nil
}

// siteDir is where an account's site is built.
func (a *App) siteDir(account string) string {
	return filepath.Join(a.sites.Dir, strings.ToLower(account))
}

// onBuild builds and publishes an installation's site, unless a newer
// build was asked for since (it will build the same state, later).
func (a *App) onBuild(ctx context.Context, d Delivery) error {
	var req buildRequest
	if err := json.Unmarshal(d.Payload, &req); err != nil || req.Installation.ID == 0 || req.Account == "" {
		return Permanent(fmt.Errorf("delivery %s: not a build request: %v", d.ID, err))
	}
	if a.sites.Build == nil {
		return nil
	}
	inst := req.Installation.ID
	a.builds.mu.Lock()
	latest, known := a.builds.latest[inst]
	a.builds.mu.Unlock()
	log := a.log.With("delivery", d.ID, "event", d.Event, "installation", inst, "account", req.Account)
	if known && latest != d.ID {
		// Skip only for a newer build this process asked for that is still
		// waiting: it will build the same or a later state. (Another
		// replica's builds are never skipped for one of ours that already
		// ran.)
		if newer, err := a.store.Delivery(ctx, latest); err == nil && newer.State == StatePending {
			log.Info("build skipped: a newer one is queued", "reason", req.Reason)
			return nil
		}
	}
	c := a.gh.Installation(inst)
	// Everything a build reads is asked for again, conditionally (304s are
	// free): a push, a repository made private or an installation change
	// may have been handled by another replica.
	repos, err := c.Repositories(ctx)
	if err != nil {
		return fmt.Errorf("list installation %d's repositories: %w", inst, err)
	}
	sort.Slice(repos, func(i, j int) bool { return strings.ToLower(repos[i].FullName) < strings.ToLower(repos[j].FullName) })
	states, err := a.readRepos(ctx, log, c, repos)
	if err != nil {
		return err
	}
	orgData, err := a.repos.freshOrgConfig(ctx, c, req.Account)
	if err != nil {
		return err
	}
	cfg, cfgErr := parseSiteConfig(orgData)
	if cfgErr != nil {
		log.Warn("the org's site configuration is invalid: the site is built but not published to Pages", "err", cfgErr)
	}

	var names []string
	for _, st := range states {
		names = append(names, st.Repo)
	}
	intents, err := a.store.Intents(ctx, names)
	if err != nil {
		return err
	}
	pulls := intentRecords(intents)
	all := corpusOf(states, pulls, nil)
	if err := a.sites.Build(ctx, all, a.siteDir(req.Account)); err != nil {
		return fmt.Errorf("build the site of %s: %w", req.Account, err)
	}
	log.Info("site built", "repositories", len(states), "records", len(all.Records), "dir", a.siteDir(req.Account), "reason", req.Reason)

	if cfgErr != nil || cfg.Pages.Repository == "" {
		return nil
	}
	return a.publishPages(ctx, log, c, req.Account, cfg, states, pulls, repos)
}

// readRepos reads the records of every repository (a few at a time). A
// repository that is gone or that GitHub refuses to serve is left out and
// logged; any other failure fails the build, which is retried (the
// repositories already read stay cached), so a site is never published
// with records missing by accident.
func (a *App) readRepos(ctx context.Context, log *slog.Logger, c Client, repos []Repository) ([]*repoState, error) {
	const parallel = 4
	states := make([]*repoState, len(repos))
	errs := make([]error, len(repos))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, r := range repos {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			states[i], errs[i] = a.repos.Fresh(ctx, c, r.FullName, r.DefaultBranch)
		}()
	}
	wg.Wait()
	var out []*repoState
	for i, err := range errs {
		switch {
		case err == nil:
			out = append(out, states[i])
		case errors.Is(err, ErrNotFound):
			log.Info("repository is empty or gone: left out of the site", "repository", repos[i].FullName)
		case IsRejected(err):
			log.Warn("GitHub refuses to serve this repository: left out of the site", "repository", repos[i].FullName, "err", err)
		default:
			// Temporary, or local (a full disk): publishing now would drop
			// this repository's records from the site. Retry the build.
			return nil, err
		}
	}
	return out, nil
}

// corpusOf joins the records of several repositories and the intents of
// their merged pull requests; leave, when not nil, says which repositories
// to leave out.
func corpusOf(states []*repoState, pulls map[string][]*content.Record, leave map[string]bool) *content.Corpus {
	var repos []*content.Repo
	var records []*content.Record
	for _, s := range states {
		if leave[strings.ToLower(s.Repo)] {
			continue
		}
		repos = append(repos, s.Records)
		records = append(records, s.Corpus.Records...)
		records = append(records, pulls[strings.ToLower(s.Repo)]...)
	}
	return content.NewCorpus(repos, records)
}

// intentRecords turns the captured intents into records of kind intent,
// by repository, as the site tells them: the PR's why, the records it cited,
// the files it touched, and a link to the pull request.
func intentRecords(intents []Intent) map[string][]*content.Record {
	out := map[string][]*content.Record{}
	for _, it := range intents {
		r := &content.Record{
			Repo:      it.Repository,
			Kind:      content.KindIntent,
			ID:        fmt.Sprintf("PR-%d", it.PR),
			Title:     it.Title,
			Status:    content.StatusAccepted,
			StatusRaw: "merged",
			Date:      content.Date{Time: it.MergedAt.UTC()},
			Path:      fmt.Sprintf(".backstory/pulls/%d.md", it.PR),
			Body:      it.Why,
			RelatesTo: it.Records,
			URL:       it.URL,
			Touches:   it.Paths,
		}
		if it.Author != "" {
			r.Deciders = []string{it.Author}
		}
		key := strings.ToLower(it.Repository)
		out[key] = append(out[key], r)
	}
	return out
}

// publishPages publishes the site to a branch of a repository, for GitHub
// Pages. A Pages site is public whatever the repository's visibility (but
// on Enterprise plans), so records of private repositories are left out
// unless site.publish_private allows them.
func (a *App) publishPages(ctx context.Context, log *slog.Logger, c Client, account string, cfg siteConfig, states []*repoState, pulls map[string][]*content.Record, repos []Repository) error {
	target, err := c.Repository(ctx, cfg.Pages.Repository)
	if err != nil {
		if _, temporary := RetryAt(err); temporary {
			return err
		}
		log.Warn("the Pages repository cannot be read: the site is not published there", "pages", cfg.Pages.Repository, "err", err)
		return nil
	}
	private := map[string]bool{}
	for _, r := range repos {
		if r.Private {
			private[strings.ToLower(r.FullName)] = true
		}
	}
	var left []string
	if !cfg.PublishPrivate {
		for _, s := range states {
			if private[strings.ToLower(s.Repo)] {
				left = append(left, s.Repo)
			}
		}
	}
	dir := a.siteDir(account)
	records := 0
	if len(left) == 0 {
		// The site already built holds exactly what Pages may show.
		for _, s := range states {
			records += len(s.Corpus.Records)
		}
	} else {
		log.Warn("records of private repositories left out of the Pages site (set site.publish_private: true in the org's .github/backstory.yml to publish them)",
			"pages", target.FullName, "private_repositories", strings.Join(left, ", "))
		dir = filepath.Join(a.sites.Dir, ".pages", strings.ToLower(account))
		corpus := corpusOf(states, pulls, private)
		records = len(corpus.Records)
		if err := a.sites.Build(ctx, corpus, dir); err != nil {
			return fmt.Errorf("build the Pages site of %s: %w", account, err)
		}
	}
	// GitHub Pages would run Jekyll over the site, hiding files that start
	// with an underscore.
	if err := os.WriteFile(filepath.Join(dir, ".nojekyll"), nil, 0o644); err != nil {
		return err
	}
	msg := fmt.Sprintf("backstory: the story of %s (%d records)", account, records)
	sha, err := c.PublishBranch(ctx, target.FullName, cfg.Pages.Branch, dir, msg)
	if err != nil {
		return fmt.Errorf("publish to %s@%s: %w", target.FullName, cfg.Pages.Branch, err)
	}
	log.Info("site published to Pages", "pages", target.FullName, "branch", cfg.Pages.Branch, "commit", sha, "records", records)
	return nil
}

// onInstallation starts or updates an installation's site: the App was
// installed, given repositories, or had some taken away (their intents are
// forgotten; their records leave with the next build).
func (a *App) onInstallation(ctx context.Context, log *slog.Logger, event string, ev *event) error {
	log.Info("installation changed")
	if ev.Installation.ID == 0 {
		return nil
	}
	switch {
	case event == "installation" && (ev.Action == "deleted" || ev.Action == "suspend"):
		return nil
	case event == "installation_repositories":
		for _, r := range ev.RepositoriesRemoved {
			if err := a.store.DeleteIntents(ctx, r.FullName); err != nil {
				return err
			}
			a.repos.Forget(r.FullName)
		}
	}
	return a.RequestBuild(ctx, ev.Installation.ID, ev.account(), event+"."+ev.Action)
}

// pushTouchesRecords says whether a push to a default branch changed a
// record or the configuration. A push whose file lists GitHub cut (more
// than 20 commits, or none listed) counts as touching them.
func (a *App) pushTouchesRecords(repo string, ev *event) bool {
	if len(ev.Commits) == 0 || len(ev.Commits) >= 20 {
		return true
	}
	cfg := content.DefaultConfig()
	a.repos.mu.Lock()
	if e, ok := a.repos.repos[strings.ToLower(repo)]; ok && e.mu.TryLock() {
		if e.state != nil && e.state.Records != nil {
			cfg = e.state.Records.Config
		}
		e.mu.Unlock()
	}
	a.repos.mu.Unlock()
	for _, c := range ev.Commits {
		for _, list := range [][]string{c.Added, c.Modified, c.Removed} {
			for _, p := range list {
				if strings.HasPrefix(p, ".github/backstory.y") || content.MayHoldRecord(cfg, p) {
					return true
				}
			}
		}
	}
	return false
}

// captureIntent keeps the why of a merged pull request: its intent
// section, the records it cited or changed, and the files it changed.
func (a *App) captureIntent(ctx context.Context, log *slog.Logger, c Client, installation int64, account string, pr PullRequest) error {
	branch := pr.DefaultBranch
	if branch == "" {
		branch = pr.BaseRef
	}
	state, err := a.repos.State(ctx, c, pr.Repository, branch)
	if err != nil {
		return err
	}
	files, err := a.files.get(ctx, c, pr)
	if err != nil {
		return fmt.Errorf("list the files of %s#%d: %w", pr.Repository, pr.Number, err)
	}
	in := checkInput(state, pr, files)
	v := check.Evaluate(in)
	it := Intent{Repository: pr.Repository, PR: pr.Number, Title: pr.Title, Author: pr.Author, URL: pr.HTMLURL,
		MergedAt: pr.MergedAt, MergeSHA: pr.MergeSHA, Why: check.IntentText(pr.Body, state.Config.Intent, state.Template)}
	if it.MergedAt.IsZero() {
		it.MergedAt = a.now().UTC()
	}
	seen := map[string]bool{}
	for _, l := range v.Linked {
		if l.Record != nil {
			key := l.Record.Repo + ":" + l.Record.ID
			if !seen[key] {
				seen[key] = true
				it.Records = append(it.Records, key)
			}
		}
	}
	for _, f := range files {
		it.Paths = append(it.Paths, f.Path)
	}
	if err := a.store.SaveIntent(ctx, it); err != nil {
		return err
	}
	log.Info("merged pull request's intent captured", "why_words", len(strings.Fields(it.Why)), "records", len(it.Records), "paths", len(it.Paths))
	return a.RequestBuild(ctx, installation, account, fmt.Sprintf("%s#%d merged", pr.Repository, pr.Number))
}
