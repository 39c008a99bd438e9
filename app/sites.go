package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

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
	// Build builds corpus, for a site at baseURL, into outDir and replaces
	// outDir only when the build succeeded (site.Build does). Nil: the App
	// keeps no site.
	Build func(ctx context.Context, corpus *content.Corpus, outDir, baseURL string) error
	// Dir holds the sites: <Dir>/<account>/ for each installation, the
	// directory target (and what `backstory serve` serves), and
	// <Dir>/.backstory/<account>.json, what each holds (SiteMeta).
	Dir string
	// BaseURL is where Dir is served: the site of an account is at
	// BaseURL + account + "/" ("/sites/" by default, where `backstory
	// serve` serves them).
	BaseURL string
}

// SiteMeta says what the site of one account in SiteOptions.Dir holds, for
// whoever serves it: a site with private records must only be shown to the
// organisation's members.
type SiteMeta struct {
	Account      string `json:"account"`
	Installation int64  `json:"installation"`
	// Private is true when the site holds records of private
	// repositories (or may: it is set before such a build replaces the
	// site, and cleared only after a build without them).
	Private      bool      `json:"private"`
	BuiltAt      time.Time `json:"built_at"`
	Records      int       `json:"records"`
	Repositories int       `json:"repositories"`
	// Pages is the last publication to GitHub Pages, nil when the org's
	// configuration names none.
	Pages *PagesOutcome `json:"pages,omitempty"`
	// Reviews is what the build did about decisions due for review.
	Reviews ReviewsOutcome `json:"reviews"`
}

// PagesOutcome is how the last publication of a site to a Pages branch
// went.
type PagesOutcome struct {
	Repository string `json:"repository"`
	Branch     string `json:"branch"`
	URL        string `json:"url"`
	// Commit is the branch's head after publishing; "" when it failed.
	Commit      string    `json:"commit,omitempty"`
	PublishedAt time.Time `json:"published_at,omitzero"`
	Records     int       `json:"records"`
	// LeftOut are the private repositories whose records were kept off the
	// public site (site.publish_private is off).
	LeftOut []string `json:"left_out,omitempty"`
	// Error says why it was not published, "" when it was.
	Error string `json:"error,omitempty"`
}

// siteMetaPath is where the SiteMeta of account's site is kept.
func siteMetaPath(dir, account string) string {
	return filepath.Join(dir, ".backstory", strings.ToLower(account)+".json")
}

// ReadSiteMeta reads what the site of account in dir holds. A missing or
// unreadable file is an error: whoever serves the site must then treat it
// as private.
func ReadSiteMeta(dir, account string) (SiteMeta, error) {
	data, err := os.ReadFile(siteMetaPath(dir, account))
	if err != nil {
		return SiteMeta{}, err
	}
	var m SiteMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return SiteMeta{}, fmt.Errorf("%s: %w", siteMetaPath(dir, account), err)
	}
	return m, nil
}

func writeSiteMeta(dir string, m SiteMeta) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(siteMetaPath(dir, m.Account), append(data, '\n'))
}

// siteBase is the base URL of account's site in Dir.
func (a *App) siteBase(account string) string {
	base := a.sites.BaseURL
	if base == "" {
		base = "/sites/"
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base + strings.ToLower(account) + "/"
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
		// URL is where GitHub serves the Pages site; by default
		// https://OWNER.github.io/ for OWNER/OWNER.github.io, else
		// https://OWNER.github.io/REPO/. Set it for a custom domain or
		// GitHub Enterprise Server.
		URL string `yaml:"url"`
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
	if cfg.Pages.URL != "" {
		u, err := url.Parse(cfg.Pages.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return siteConfig{}, fmt.Errorf(".github/backstory.yml: site.pages.url: %q is not an http(s) URL", cfg.Pages.URL)
		}
		if !strings.HasSuffix(cfg.Pages.URL, "/") {
			cfg.Pages.URL += "/"
		}
	} else if cfg.Pages.Repository != "" {
		owner, name, _ := strings.Cut(strings.ToLower(cfg.Pages.Repository), "/")
		if name == owner+".github.io" {
			cfg.Pages.URL = "https://" + name + "/"
		} else {
			cfg.Pages.URL = "https://" + owner + ".github.io/" + name + "/"
		}
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
	// Full reads every repository from GitHub again instead of trusting
	// the stored files (backstory resync).
	Full bool `json:"full,omitempty"`
}

// builds remembers, per installation, the newest build asked for in this
// process, so that older queued builds are skipped.
type builds struct {
	mu     sync.Mutex
	latest map[int64]string
}

// RequestBuild puts a build of installation's site in the inbox.
func (a *App) RequestBuild(ctx context.Context, installation int64, account, reason string) error {
	var req buildRequest
	req.Installation.ID, req.Account, req.Reason = installation, account, reason
	return a.requestBuild(ctx, req)
}

// RequestResync puts in the inbox a build of installation's site that
// reads every repository from GitHub again (conditionally: unchanged ones
// cost nothing) instead of trusting the stored files: what an operator asks
// for when a push was missed.
func (a *App) RequestResync(ctx context.Context, installation int64, account string) error {
	var req buildRequest
	req.Installation.ID, req.Account, req.Reason, req.Full = installation, account, "resync", true
	return a.requestBuild(ctx, req)
}

// requestDailyBuild puts in the inbox the build of installation's site for
// day (UTC), once: its delivery id names the day, so replicas and restarts
// asking again are deduplicated by the inbox.
func (a *App) requestDailyBuild(ctx context.Context, installation int64, account string, day time.Time) error {
	var req buildRequest
	req.Installation.ID, req.Account, req.Reason = installation, account, "daily"
	return a.requestBuildID(ctx, req, fmt.Sprintf("backstory-daily-%d-%s", installation, day.UTC().Format("2006-01-02")))
}

func (a *App) requestBuild(ctx context.Context, req buildRequest) error {
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	return a.requestBuildID(ctx, req, "backstory-build-"+hex.EncodeToString(id[:]))
}

func (a *App) requestBuildID(ctx context.Context, req buildRequest, deliveryID string) error {
	if a.sites.Build == nil {
		return nil
	}
	installation := req.Installation.ID
	payload, err := json.Marshal(req)
	if err != nil {
		return err
	}
	d := Delivery{ID: deliveryID, Event: EventBuild, InstallationID: installation,
		Key: fmt.Sprintf("site:%d", installation), Payload: payload, ReceivedAt: a.now()}
	// Newest before it is stored, so that a worker taking it at once does
	// not skip it; put back if it could not be stored, so that the builds
	// already queued are not skipped for one that does not exist.
	a.builds.mu.Lock()
	previous, had := a.builds.latest[installation]
	a.builds.latest[installation] = d.ID
	a.builds.mu.Unlock()
	inserted, err := a.store.Enqueue(ctx, d)
	if err != nil || !inserted {
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
		if err == nil {
			return nil // asked for already (a daily build)
		}
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
	if known && latest != d.ID && !req.Full {
		// Skip only for a newer build this process asked for that is still
		// waiting: it will build the same or a later state. (Another
		// replica's builds are never skipped for one of ours that already
		// ran.)
		if newer, err := a.store.Delivery(ctx, latest); err == nil && newer.State == StatePending {
			log.Info("build skipped: a newer one is queued", "reason", req.Reason)
			a.metrics.SiteBuilds.WithLabelValues(strings.ToLower(req.Account), "skipped").Inc()
			return nil
		}
	}
	start := time.Now()
	err := a.buildSite(ctx, log, req)
	a.metrics.SiteBuildSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		a.metrics.SiteBuilds.WithLabelValues(strings.ToLower(req.Account), "failed").Inc()
		return err
	}
	a.metrics.SiteBuilds.WithLabelValues(strings.ToLower(req.Account), "built").Inc()
	return nil
}

// buildSite reads every repository of the installation, builds its site
// and publishes it.
func (a *App) buildSite(ctx context.Context, log *slog.Logger, req buildRequest) error {
	inst := req.Installation.ID
	c := a.gh.Installation(inst)
	// The repositories and the org's defaults are asked for again,
	// conditionally (304s are free): a repository made private or an
	// installation change may have been handled by another replica. The
	// repositories' files come from the store, kept current by pushes
	// (docs/decisions/0017).
	repos, err := c.Repositories(ctx)
	if err != nil {
		return fmt.Errorf("list installation %d's repositories: %w", inst, err)
	}
	sort.Slice(repos, func(i, j int) bool { return strings.ToLower(repos[i].FullName) < strings.ToLower(repos[j].FullName) })
	orgData, err := a.repos.freshOrgConfig(ctx, c, req.Account)
	if err != nil {
		return err
	}
	states, err := a.readRepos(ctx, log, c, repos, req.Full)
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
	private := map[string]bool{}
	for _, r := range repos {
		if r.Private {
			private[strings.ToLower(r.FullName)] = true
		}
	}
	meta := SiteMeta{Account: req.Account, Installation: inst, Records: len(all.Records), Repositories: len(states)}
	for _, st := range states {
		if private[strings.ToLower(st.Repo)] {
			meta.Private = true
		}
	}
	// A site about to hold private records is marked private before it
	// does; one that no longer holds them is marked public only after.
	if old, err := ReadSiteMeta(a.sites.Dir, req.Account); meta.Private && (err != nil || !old.Private) {
		early := old
		early.Account, early.Installation, early.Private = req.Account, inst, true
		if err := writeSiteMeta(a.sites.Dir, early); err != nil {
			return fmt.Errorf("mark the site of %s private: %w", req.Account, err)
		}
	}
	if err := a.sites.Build(ctx, all, a.siteDir(req.Account), a.siteBase(req.Account)); err != nil {
		return fmt.Errorf("build the site of %s: %w", req.Account, err)
	}
	meta.BuiltAt = a.now().UTC()
	a.metrics.SiteLastBuilt.WithLabelValues(strings.ToLower(req.Account)).Set(float64(meta.BuiltAt.Unix()))
	meta.Reviews = a.openReviewIssues(ctx, log, c, states, orgData)
	if err := writeSiteMeta(a.sites.Dir, meta); err != nil {
		return fmt.Errorf("record what the site of %s holds: %w", req.Account, err)
	}
	log.Info("site built", "repositories", len(states), "records", len(all.Records), "dir", a.siteDir(req.Account), "reason", req.Reason)

	if cfgErr != nil || cfg.Pages.Repository == "" {
		return nil
	}
	outcome, err := a.publishPages(ctx, log, c, req.Account, cfg, states, pulls, private)
	switch {
	case err != nil:
		a.metrics.SitePublishes.WithLabelValues("pages", "failed").Inc()
	case outcome != nil && outcome.Error != "":
		a.metrics.SitePublishes.WithLabelValues("pages", "refused").Inc()
	default:
		a.metrics.SitePublishes.WithLabelValues("pages", "published").Inc()
	}
	if outcome != nil {
		meta.Pages = outcome
		if err := writeSiteMeta(a.sites.Dir, meta); err != nil {
			log.Warn("could not record the Pages outcome", "err", err)
		}
	}
	return err
}

// readRepos reads the records of every repository, from the store when a
// push or an earlier build stored them recently, else from GitHub (a few at
// a time; what is read is stored at once, so an interrupted first sync
// resumes where it stopped). full asks GitHub about every repository
// (resync), conditionally. A repository that is gone or that GitHub refuses
// to serve is left out and logged; any other failure fails the build, which
// is retried, so a site is never published with records missing by
// accident.
func (a *App) readRepos(ctx context.Context, log *slog.Logger, c Client, repos []Repository, full bool) ([]*repoState, error) {
	names := make([]string, len(repos))
	for i, r := range repos {
		names[i] = r.FullName
	}
	snaps, err := a.store.RepoSnapshots(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("read the stored snapshots: %w", err)
	}
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
			if full {
				states[i], errs[i] = a.repos.Fresh(ctx, c, r.FullName, r.DefaultBranch, r.ID)
				return
			}
			var snap *RepoSnapshot
			if sn, ok := snaps[RepositoryKey(r.FullName)]; ok {
				snap = &sn
			}
			states[i], errs[i] = a.repos.Stored(ctx, c, r.FullName, r.DefaultBranch, r.ID, snap)
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
func (a *App) publishPages(ctx context.Context, log *slog.Logger, c Client, account string, cfg siteConfig, states []*repoState, pulls map[string][]*content.Record, private map[string]bool) (*PagesOutcome, error) {
	out := &PagesOutcome{Repository: cfg.Pages.Repository, Branch: cfg.Pages.Branch, URL: cfg.Pages.URL}
	target, err := c.Repository(ctx, cfg.Pages.Repository)
	if err != nil {
		out.Error = fmt.Sprintf("the Pages repository %s cannot be read: %v", cfg.Pages.Repository, err)
		if _, temporary := RetryAt(err); temporary {
			return out, err
		}
		log.Warn("the Pages repository cannot be read: the site is not published there", "pages", cfg.Pages.Repository, "err", err)
		return out, nil
	}
	out.Repository = target.FullName
	leave := map[string]bool{}
	if !cfg.PublishPrivate {
		for _, s := range states {
			if private[strings.ToLower(s.Repo)] {
				out.LeftOut = append(out.LeftOut, s.Repo)
				leave[strings.ToLower(s.Repo)] = true
			}
		}
	}
	if len(out.LeftOut) > 0 {
		log.Warn("records of private repositories left out of the Pages site (set site.publish_private: true in the org's .github/backstory.yml to publish them)",
			"pages", target.FullName, "private_repositories", strings.Join(out.LeftOut, ", "))
	}
	// Pages serves the site at another address than Dir: a build of its
	// own, with only what Pages may show.
	dir := filepath.Join(a.sites.Dir, ".pages", strings.ToLower(account))
	corpus := corpusOf(states, pulls, leave)
	out.Records = len(corpus.Records)
	if err := a.sites.Build(ctx, corpus, dir, cfg.Pages.URL); err != nil {
		out.Error = "the build failed: " + err.Error()
		return out, fmt.Errorf("build the Pages site of %s: %w", account, err)
	}
	// GitHub Pages would run Jekyll over the site, hiding files that start
	// with an underscore.
	if err := os.WriteFile(filepath.Join(dir, ".nojekyll"), nil, 0o644); err != nil {
		out.Error = err.Error()
		return out, err
	}
	msg := fmt.Sprintf("backstory: the story of %s (%d records)", account, out.Records)
	if len(out.LeftOut) > 0 {
		msg += fmt.Sprintf("\n\nThe records of %d private repositories are left out: %s.\nSet site.publish_private: true in %s/.github's .github/backstory.yml to publish them.",
			len(out.LeftOut), strings.Join(out.LeftOut, ", "), account)
	}
	sha, err := c.PublishBranch(ctx, target.FullName, cfg.Pages.Branch, dir, msg)
	if err != nil {
		out.Error = err.Error()
		return out, fmt.Errorf("publish to %s@%s: %w", target.FullName, cfg.Pages.Branch, err)
	}
	out.Commit, out.PublishedAt = sha, a.now().UTC()
	log.Info("site published to Pages", "pages", target.FullName, "branch", cfg.Pages.Branch, "commit", sha, "records", out.Records)
	return out, nil
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
			if err := a.store.DeleteRepo(ctx, r.FullName); err != nil {
				return err
			}
			a.repos.Forget(r.FullName)
		}
	}
	return a.RequestBuild(ctx, ev.Installation.ID, ev.account(), event+"."+ev.Action)
}

// refreshPushed reads a pushed repository from GitHub and stores it, and
// reports whether the files backstory reads (records, configuration,
// template) changed. The store orders snapshots by when GitHub answered; two
// replicas reading in the same second, or a slower one saving last, could
// leave an older tree stored, so it checks that the store holds the tree it
// read (or a later one) and reads again otherwise.
func (a *App) refreshPushed(ctx context.Context, log *slog.Logger, c Client, repo, branch string, id int64) (bool, error) {
	before := a.repos.filesHash(repo)
	if before == "" {
		// Not in this replica's memory: what the store holds is what the
		// last build read.
		stored, err := a.repos.storedFiles(ctx, repo)
		if err != nil {
			return false, err
		}
		if len(stored) > 0 {
			blobs := make(map[string]string, len(stored))
			for p, f := range stored {
				blobs[p] = f.Blob
			}
			before = blobsHash(blobs)
		}
	}
	for attempt := 0; ; attempt++ {
		st, err := a.repos.Fresh(ctx, c, repo, branch, id)
		if err != nil {
			return false, err
		}
		snaps, err := a.store.RepoSnapshots(ctx, []string{repo})
		if err != nil {
			return false, fmt.Errorf("read the stored snapshot of %s: %w", repo, err)
		}
		snap, ok := snaps[RepositoryKey(repo)]
		if ok && (snap.TreeSHA == st.TreeSHA || snap.ReadAt.After(st.readAt)) {
			return before == "" || before != st.FilesHash, nil
		}
		if attempt == 2 {
			return false, &TemporaryError{Err: fmt.Errorf("the stored files of %s keep being replaced by another tree (%s, not %s): trying again later", repo, snap.TreeSHA, st.TreeSHA)}
		}
		log.Info("another replica stored an older tree of the pushed repository at the same moment: reading it again", "stored", snap.TreeSHA, "read", st.TreeSHA)
	}
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
