package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/backstory-dev/backstory/app/check"
	"github.com/backstory-dev/backstory/content"
)

// HandledEvents are the X-GitHub-Event values the App acts on. Others are
// acknowledged and dropped at the door.
var HandledEvents = map[string]bool{
	"pull_request": true, "check_suite": true, "check_run": true, "merge_group": true,
	"push": true, "installation": true, "installation_repositories": true,
}

// EventRecheck is the event of the deliveries backstory puts in its own
// inbox to check a pull request again (after another PR that held its
// record number closed). It is not in HandledEvents: the webhook endpoint
// never accepts it from outside.
const EventRecheck = "backstory.recheck"

// recheck is the payload of an EventRecheck delivery.
type recheck struct {
	Installation struct {
		ID int64 `json:"id"`
	} `json:"installation"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	PullRequest int    `json:"pull_request_number"`
	HeadSHA     string `json:"head_sha"`
	Reason      string `json:"reason"`
}

// Options configure an App.
type Options struct {
	GitHub  GitHub
	Store   Store
	Log     *slog.Logger
	Metrics *Metrics
	Now     func() time.Time
	// AppID is the App's id: check_run events of other Apps are ignored.
	AppID int64
	// WebURL is GitHub's web address, for links to records
	// ("https://github.com", or a GitHub Enterprise Server's).
	WebURL string
	// SiteURL is where the story site is published, for the check's
	// details link; "" for none.
	SiteURL string
	// CacheDir holds mirrors of the repositories' records; "" for a
	// temporary folder removed by Close.
	CacheDir string
	// Sites, when Sites.Build is set, make the App keep each
	// installation's story site current.
	Sites SiteOptions
	// Notify, when set, is called after the App puts a delivery of its own
	// in the inbox (Worker.Notify).
	Notify func()
	// CacheTTL is how long a repository's configuration and records are
	// reused without asking GitHub whether they changed (a push to the
	// default branch invalidates them at once). Default 10 minutes.
	CacheTTL time.Duration
}

// App turns deliveries into context checks: it is the Processor the Worker
// runs.
type App struct {
	gh      GitHub
	store   Store
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
	appID   int64
	siteURL string
	repos   *repoCache
	files   *filesCache
	tmpDir  string
	notify  func()
	sites   SiteOptions
	builds  builds
}

// New makes an App.
func New(opts Options) (*App, error) {
	if opts.GitHub == nil || opts.Store == nil {
		return nil, errors.New("app: GitHub and Store are required")
	}
	a := &App{gh: opts.GitHub, store: opts.Store, log: opts.Log, metrics: opts.Metrics, now: opts.Now,
		appID: opts.AppID, siteURL: opts.SiteURL, notify: opts.Notify, sites: opts.Sites,
		builds: builds{latest: map[int64]string{}}}
	if a.sites.Build != nil && a.sites.Dir == "" {
		return nil, errors.New("app: Sites.Dir is required to keep sites")
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.metrics == nil {
		a.metrics = NewMetrics(nil)
	}
	if a.now == nil {
		a.now = time.Now
	}
	dir := opts.CacheDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "backstory-cache-")
		if err != nil {
			return nil, fmt.Errorf("app: make a cache folder: %w", err)
		}
		dir, a.tmpDir = tmp, tmp
	}
	ttl := opts.CacheTTL
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	web := opts.WebURL
	if web == "" {
		web = "https://github.com"
	}
	a.repos = newRepoCache(dir, ttl, a.now, web, opts.Store)
	a.files = &filesCache{max: 2048, entries: map[string][]ChangedFile{}}
	return a, nil
}

// ExpireCache makes every repository's state and org defaults be asked
// for again at the next evaluation, as when the cache's TTL has passed.
func (a *App) ExpireCache() {
	a.repos.mu.Lock()
	repos := make([]string, 0, len(a.repos.repos))
	for k := range a.repos.repos {
		repos = append(repos, k)
	}
	for k := range a.repos.orgs {
		repos = append(repos, k+"/.github")
	}
	a.repos.mu.Unlock()
	for _, r := range repos {
		a.repos.Invalidate(r)
	}
}

// Close removes the App's temporary cache.
func (a *App) Close() error {
	if a.tmpDir != "" {
		return os.RemoveAll(a.tmpDir)
	}
	return nil
}

// event is the part of a webhook payload the App reads.
type event struct {
	Action       string `json:"action"`
	Installation struct {
		ID      int64      `json:"id"`
		Account *eventUser `json:"account"`
	} `json:"installation"`
	Repository  *eventRepo `json:"repository"`
	Sender      eventUser  `json:"sender"`
	Ref         string     `json:"ref"`
	PullRequest *eventPR   `json:"pull_request"`
	// push
	Commits []struct {
		Added    []string `json:"added"`
		Modified []string `json:"modified"`
		Removed  []string `json:"removed"`
	} `json:"commits"`
	// installation_repositories
	RepositoriesRemoved []struct {
		FullName string `json:"full_name"`
	} `json:"repositories_removed"`
	CheckSuite *struct {
		HeadSHA      string        `json:"head_sha"`
		PullRequests []eventPRLink `json:"pull_requests"`
	} `json:"check_suite"`
	CheckRun *struct {
		ID           int64         `json:"id"`
		Name         string        `json:"name"`
		HeadSHA      string        `json:"head_sha"`
		PullRequests []eventPRLink `json:"pull_requests"`
		App          *struct {
			ID int64 `json:"id"`
		} `json:"app"`
	} `json:"check_run"`
	RequestedAction *struct {
		Identifier string `json:"identifier"`
	} `json:"requested_action"`
	MergeGroup *struct {
		HeadSHA string `json:"head_sha"`
		BaseRef string `json:"base_ref"`
	} `json:"merge_group"`
}

type eventRepo struct {
	ID            int64      `json:"id"`
	FullName      string     `json:"full_name"`
	DefaultBranch string     `json:"default_branch"`
	Owner         *eventUser `json:"owner"`
}

// account is the login of the account the event's installation belongs to.
func (ev *event) account() string {
	if ev.Installation.Account != nil && ev.Installation.Account.Login != "" {
		return ev.Installation.Account.Login
	}
	if ev.Repository != nil {
		if owner, _, ok := strings.Cut(ev.Repository.FullName, "/"); ok && owner != "" {
			return owner
		}
		if ev.Repository.Owner != nil {
			return ev.Repository.Owner.Login
		}
	}
	return ""
}

type eventUser struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

type eventPRLink struct {
	Number int `json:"number"`
}

type eventPR struct {
	Number  int     `json:"number"`
	State   string  `json:"state"`
	Merged  bool    `json:"merged"`
	Draft   bool    `json:"draft"`
	Title   string  `json:"title"`
	Body    *string `json:"body"`
	HTMLURL string  `json:"html_url"`
	User    eventUser
	Labels  []struct {
		Name string `json:"name"`
	} `json:"labels"`
	Head struct {
		SHA  string     `json:"sha"`
		Ref  string     `json:"ref"`
		Repo *eventRepo `json:"repo"`
	} `json:"head"`
	Base struct {
		Ref  string    `json:"ref"`
		Repo eventRepo `json:"repo"`
	} `json:"base"`
}

func (p *eventPR) pullRequest(repo string) PullRequest {
	pr := PullRequest{Repository: repo, Number: p.Number, State: p.State, Merged: p.Merged, Draft: p.Draft,
		Title: p.Title, Author: p.User.Login, AuthorType: p.User.Type, HeadSHA: p.Head.SHA, HeadRef: p.Head.Ref,
		BaseRef: p.Base.Ref, DefaultBranch: p.Base.Repo.DefaultBranch, HTMLURL: p.HTMLURL}
	if p.Body != nil {
		pr.Body = *p.Body
	}
	if p.Head.Repo != nil {
		pr.HeadRepository = p.Head.Repo.FullName
	}
	for _, l := range p.Labels {
		pr.Labels = append(pr.Labels, l.Name)
	}
	return pr
}

// Process handles one delivery (the Worker's Processor).
func (a *App) Process(ctx context.Context, d Delivery) error {
	switch d.Event {
	case EventRecheck:
		return a.onRecheck(ctx, d)
	case EventBuild:
		return a.onBuild(ctx, d)
	}
	var ev event
	if err := json.Unmarshal(d.Payload, &ev); err != nil {
		return Permanent(fmt.Errorf("delivery %s: payload cannot be read as a %s event (not JSON, or fields of the wrong type): %w", d.ID, d.Event, err))
	}
	repo := ""
	if ev.Repository != nil {
		repo = ev.Repository.FullName
	}
	log := a.log.With("delivery", d.ID, "event", d.Event, "action", ev.Action, "installation", ev.Installation.ID, "repository", repo)
	switch d.Event {
	case "installation", "installation_repositories":
		return a.onInstallation(ctx, log, d.Event, &ev)
	case "push":
		if ev.Repository == nil || ev.Ref != "refs/heads/"+ev.Repository.DefaultBranch {
			return nil
		}
		relevant := a.pushTouchesRecords(repo, &ev)
		a.repos.Invalidate(repo)
		log.Debug("default branch moved: configuration and records will be read again", "records_changed", relevant)
		if ev.Installation.ID == 0 {
			return nil
		}
		if a.sites.Build == nil {
			return nil
		}
		// Read the repository now (one conditional request when nothing
		// backstory reads changed) and store it: builds, on any replica,
		// read every repository from the store. Whether the push touched
		// records is decided by what was read, not guessed from its paths.
		changed, err := a.refreshPushed(ctx, log, a.gh.Installation(ev.Installation.ID), repo, ev.Repository.DefaultBranch, ev.Repository.ID)
		if errors.Is(err, ErrNotFound) {
			return nil // deleted or emptied since
		}
		if err != nil {
			return err
		}
		if !relevant && !changed {
			return nil
		}
		return a.RequestBuild(ctx, ev.Installation.ID, ev.account(), "push to "+repo)
	}
	if ev.Installation.ID == 0 || ev.Repository == nil {
		log.Info("ignored: the delivery names no installation or repository")
		return nil
	}
	c := a.gh.Installation(ev.Installation.ID)
	switch d.Event {
	case "pull_request":
		return a.onPullRequest(ctx, log, c, repo, &ev)
	case "check_suite":
		if ev.Action != "requested" && ev.Action != "rerequested" || ev.CheckSuite == nil {
			return nil
		}
		return a.evaluateSHA(ctx, log, c, repo, ev.CheckSuite.HeadSHA, ev.CheckSuite.PullRequests, evalOptions{force: ev.Action == "rerequested"})
	case "check_run":
		return a.onCheckRun(ctx, log, c, repo, &ev)
	case "merge_group":
		if ev.Action != "checks_requested" || ev.MergeGroup == nil {
			return nil
		}
		return a.onMergeGroup(ctx, log, c, repo, ev.Repository.DefaultBranch, ev.MergeGroup.HeadSHA)
	}
	return nil
}

var prActions = map[string]bool{
	"opened": true, "edited": true, "synchronize": true, "reopened": true, "ready_for_review": true,
	"labeled": true, "unlabeled": true, "converted_to_draft": true,
}

func (a *App) onPullRequest(ctx context.Context, log *slog.Logger, c Client, repo string, ev *event) error {
	if ev.PullRequest == nil {
		return Permanent(errors.New("pull_request event without a pull_request"))
	}
	sent := ev.PullRequest.pullRequest(repo)
	log = log.With("pr", sent.Number)
	if ev.Action != "closed" && !prActions[ev.Action] {
		return nil
	}
	// The payload is as of when GitHub sent it; a retried or redelivered
	// event can arrive after newer ones. The PR as it is now (a 304 when
	// unchanged) is what is checked.
	pr, err := c.PullRequest(ctx, repo, sent.Number)
	if errors.Is(err, ErrNotFound) {
		log.Info("the pull request is gone")
		return a.store.SetOpenPRRecords(ctx, repo, sent.Number, nil)
	}
	if err != nil {
		return fmt.Errorf("read %s#%d: %w", repo, sent.Number, err)
	}
	if pr.State != "open" {
		if err := a.closed(ctx, log, c, ev.Installation.ID, repo, pr.Number); err != nil {
			return err
		}
		if pr.Merged {
			return a.captureIntent(ctx, log, c, ev.Installation.ID, ev.account(), pr)
		}
		return nil
	}
	if pr.HeadSHA != sent.HeadSHA {
		// The branch moved since: the event for the new head checks it.
		log.Info("stale event: the pull request's head has moved", "sent", short(sent.HeadSHA), "now", short(pr.HeadSHA))
		return nil
	}
	if pr.DefaultBranch == "" {
		pr.DefaultBranch = ev.Repository.DefaultBranch
	}
	return a.evaluate(ctx, log, c, pr, evalOptions{})
}

// closed forgets the record numbers a closed PR held, and checks again the
// open PRs that were failing for taking the same numbers.
func (a *App) closed(ctx context.Context, log *slog.Logger, c Client, installation int64, repo string, number int) error {
	held, err := a.store.OpenPRRecords(ctx, repo)
	if err != nil {
		return err
	}
	if err := a.store.SetOpenPRRecords(ctx, repo, number, nil); err != nil {
		return err
	}
	taken := map[RecordNumber]bool{}
	for _, r := range held[number] {
		taken[RecordNumber{Folder: r.Folder, Number: r.Number}] = true
	}
	for other, list := range held {
		if other == number {
			continue
		}
		for _, r := range list {
			if !taken[RecordNumber{Folder: r.Folder, Number: r.Number}] {
				continue
			}
			pr, err := c.PullRequest(ctx, repo, other)
			if errors.Is(err, ErrNotFound) {
				break
			}
			if err != nil {
				return fmt.Errorf("read %s#%d to check it again: %w", repo, other, err)
			}
			if pr.State == "open" {
				if err := a.Recheck(ctx, installation, repo, other, pr.HeadSHA, fmt.Sprintf("#%d, which held the same record number, closed", number)); err != nil {
					return err
				}
				log.Info("checking again a pull request that collided with the closed one", "other", other)
			}
			break
		}
	}
	return nil
}

// Recheck puts a new evaluation of a pull request in the inbox, ordered
// with the other work on its head commit like any delivery.
func (a *App) Recheck(ctx context.Context, installation int64, repo string, number int, headSHA, reason string) error {
	var p recheck
	p.Installation.ID, p.Repository.FullName = installation, repo
	p.PullRequest, p.HeadSHA, p.Reason = number, headSHA, reason
	payload, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	d := Delivery{ID: "backstory-recheck-" + hex.EncodeToString(id[:]), Event: EventRecheck, InstallationID: installation,
		Repository: repo, Key: repo + "@" + headSHA, Payload: payload, ReceivedAt: a.now()}
	if _, err := a.store.Enqueue(ctx, d); err != nil {
		return fmt.Errorf("enqueue a new check of %s#%d: %w", repo, number, err)
	}
	if a.notify != nil {
		a.notify()
	}
	return nil
}

func (a *App) onRecheck(ctx context.Context, d Delivery) error {
	var p recheck
	if err := json.Unmarshal(d.Payload, &p); err != nil || p.Installation.ID == 0 || p.PullRequest == 0 {
		return Permanent(fmt.Errorf("delivery %s: not a recheck: %v", d.ID, err))
	}
	repo := p.Repository.FullName
	log := a.log.With("delivery", d.ID, "event", d.Event, "installation", p.Installation.ID, "repository", repo, "pr", p.PullRequest)
	c := a.gh.Installation(p.Installation.ID)
	pr, err := c.PullRequest(ctx, repo, p.PullRequest)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s#%d: %w", repo, p.PullRequest, err)
	}
	if pr.State != "open" || pr.HeadSHA != p.HeadSHA {
		return nil // closed since, or its new head has its own event
	}
	log.Info("checking again", "reason", p.Reason)
	return a.evaluate(ctx, log, c, pr, evalOptions{})
}

func (a *App) onCheckRun(ctx context.Context, log *slog.Logger, c Client, repo string, ev *event) error {
	run := ev.CheckRun
	if run == nil || (ev.Action != "rerequested" && ev.Action != "requested_action") {
		return nil
	}
	if a.appID != 0 && (run.App == nil || run.App.ID != a.appID) {
		return nil // another App's check run
	}
	opts := evalOptions{force: true}
	if ev.Action == "requested_action" {
		if ev.RequestedAction == nil || ev.RequestedAction.Identifier != check.ActionWaive {
			return nil
		}
		who := ev.Sender.Login
		perm, err := c.Permission(ctx, repo, who)
		if err != nil {
			return fmt.Errorf("check %s's permission on %s: %w", who, repo, err)
		}
		switch perm {
		case "admin", "maintain", "write":
			opts.waiveBy = who
			log.Info("check waived", "by", who, "permission", perm)
		default:
			opts.notice = fmt.Sprintf("@%s pressed **Not needed**, but only people with write access to %s can waive this check.", who, repo)
			log.Info("waiver refused", "by", who, "permission", perm)
		}
	}
	return a.evaluateSHA(ctx, log, c, repo, run.HeadSHA, run.PullRequests, opts)
}

// evaluateSHA evaluates the open pull requests whose head is sha: those the
// event names, or, for PRs from forks (which GitHub leaves out of check
// events), those found by their head SHA.
func (a *App) evaluateSHA(ctx context.Context, log *slog.Logger, c Client, repo, sha string, links []eventPRLink, opts evalOptions) error {
	var prs []PullRequest
	if len(links) == 0 {
		found, err := c.OpenPullRequestsWithHead(ctx, repo, sha)
		if err != nil {
			return fmt.Errorf("find the pull requests of %s@%s: %w", repo, short(sha), err)
		}
		prs = found
	} else {
		for _, l := range links {
			pr, err := c.PullRequest(ctx, repo, l.Number)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("read %s#%d: %w", repo, l.Number, err)
			}
			if pr.HeadSHA == sha {
				prs = append(prs, pr)
			}
		}
	}
	if len(prs) == 0 {
		log.Info("no open pull request has this head", "sha", sha)
		return nil
	}
	for _, pr := range prs {
		if err := a.evaluate(ctx, log.With("pr", pr.Number), c, pr, opts); err != nil {
			return err
		}
	}
	return nil
}

type evalOptions struct {
	force   bool   // write the check run even when unchanged (a re-run)
	waiveBy string // record a waiver by this user first
	notice  string // a line to add to the check's text
}

// evaluate runs the check on one pull request and writes its check run.
// When GitHub refuses what backstory sends (retrying cannot help), the check
// run says so, failing in enforce mode: a check must never be left silently
// missing, nor pass because backstory failed. Other errors are returned and
// retried.
func (a *App) evaluate(ctx context.Context, log *slog.Logger, c Client, pr PullRequest, opts evalOptions) error {
	err := a.evaluatePR(ctx, log, c, pr, opts)
	if err == nil || pr.HeadSHA == "" || !IsRejected(err) || ctx.Err() != nil {
		return err
	}
	log.Error("pull request could not be checked", "err", err)
	run := CheckRunWrite{Name: check.DefaultConfig().Name, HeadSHA: pr.HeadSHA, Status: "completed", Conclusion: string(check.Failure),
		Title:       "backstory could not check this pull request",
		Summary:     "GitHub refused what backstory sent, so this pull request was not checked. Re-run the check once the cause is fixed; the App's logs name the delivery.\n\n```\n" + truncate(err.Error(), 2000) + "\n```",
		CompletedAt: a.now().UTC()}
	if state, serr := a.repos.State(ctx, c, pr.Repository, pr.DefaultBranch); serr == nil {
		run.Name = state.Config.Name
		if state.Config.Mode == check.ModeAdvise {
			run.Conclusion = string(check.Neutral)
		}
	}
	if _, werr := a.writeCheckRun(ctx, c, pr.Repository, run, true); werr != nil {
		log.Error("the error could not be reported in a check run either", "err", werr)
		return werr
	}
	return Permanent(err)
}

// fitOutput keeps a check run's text within GitHub's 65,535 characters.
func fitOutput(s string) string {
	const suffix = "\n\n… (cut to fit GitHub's limit)"
	if utf8.RuneCountInString(s) <= check.MaxOutput {
		return s
	}
	r := []rune(s)
	return string(r[:check.MaxOutput-utf8.RuneCountInString(suffix)]) + suffix
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (a *App) evaluatePR(ctx context.Context, log *slog.Logger, c Client, pr PullRequest, opts evalOptions) error {
	repo := pr.Repository
	if pr.State == "closed" {
		return a.store.SetOpenPRRecords(ctx, repo, pr.Number, nil)
	}
	branch := pr.DefaultBranch
	if branch == "" {
		branch = pr.BaseRef
	}
	state, err := a.repos.State(ctx, c, repo, branch)
	if err != nil {
		return err
	}
	files, err := a.files.get(ctx, c, pr)
	if err != nil {
		return fmt.Errorf("list the files of %s#%d: %w", repo, pr.Number, err)
	}
	in := checkInput(state, pr, files)
	in.Now, in.SiteURL = a.now(), a.siteURL
	var added []*content.Record
	for _, f := range files {
		if f.Status == "removed" || !content.MayHoldRecord(state.Records.Config, f.Path) {
			continue
		}
		// A record the PR adds or changes, read as it is at the head.
		data, err := c.FileContent(ctx, repo, pr.HeadSHA, f.Path)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if IsRejected(err) || (err != nil && !isTemporary(err) && ctx.Err() == nil) {
			// A symlink, a submodule, a file GitHub will not serve: the
			// PR's content, not a failure of ours.
			log.Warn("a changed record file cannot be read: left out of the check", "path", f.Path, "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s at %s: %w", f.Path, short(pr.HeadSHA), err)
		}
		rec := content.Parse(state.Records, f.Path, data)
		in.PR.Records = append(in.PR.Records, rec)
		if f.Status == "added" {
			added = append(added, rec)
		}
	}
	var numbered []RecordNumber
	for _, n := range check.NumberedRecords(pr.Number, added) {
		numbered = append(numbered, RecordNumber{Folder: n.Folder, Number: n.Number, Path: n.Path})
	}
	if err := a.store.SetOpenPRRecords(ctx, repo, pr.Number, numbered); err != nil {
		return err
	}
	others, err := a.store.OpenPRRecords(ctx, repo)
	if err != nil {
		return err
	}
	for n, list := range others {
		if n == pr.Number {
			continue
		}
		for _, r := range list {
			in.OpenPRRecords = append(in.OpenPRRecords, check.Numbered{Folder: r.Folder, Number: r.Number, Path: r.Path, PR: n})
		}
	}
	sort.Slice(in.OpenPRRecords, func(i, j int) bool {
		x, y := in.OpenPRRecords[i], in.OpenPRRecords[j]
		if x.PR != y.PR {
			return x.PR < y.PR
		}
		return x.Path < y.Path
	})
	if opts.waiveBy != "" {
		if err := a.store.SaveWaiver(ctx, Waiver{Repository: repo, PR: pr.Number, By: opts.waiveBy, At: a.now().UTC()}); err != nil {
			return err
		}
	}
	switch w, err := a.store.Waiver(ctx, repo, pr.Number); {
	case err == nil:
		in.PR.Waiver = &check.Waiver{By: w.By, At: w.At}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	v := check.Evaluate(in)
	if len(v.Unchecked) > 0 {
		// References into other repositories: read those the installation
		// can see, and check again with their records.
		if corpus := a.withReferencedRepos(ctx, log, c, state, v.Unchecked); corpus != nil {
			in.Corpus = corpus
			v = check.Evaluate(in)
		}
	}
	run := CheckRunWrite{
		Name: in.Config.Name, HeadSHA: pr.HeadSHA, Status: "completed", Conclusion: string(v.Conclusion),
		DetailsURL: a.siteURL, ExternalID: fmt.Sprintf("%s#%d", repo, pr.Number),
		Title: v.Title, Summary: v.Summary, Text: v.Text, CompletedAt: a.now().UTC(),
	}
	if opts.notice != "" {
		run.Text = fitOutput(opts.notice + "\n\n" + run.Text)
	}
	for _, an := range v.Annotations {
		run.Annotations = append(run.Annotations, Annotation{Path: an.Path, StartLine: an.StartLine, EndLine: an.EndLine,
			Level: an.Level, Title: an.Title, Message: an.Message})
	}
	for _, ac := range v.Actions {
		run.Actions = append(run.Actions, Action{Label: ac.Label, Description: ac.Description, Identifier: ac.Identifier})
	}
	result, err := a.writeCheckRun(ctx, c, repo, run, opts.force)
	if err != nil {
		return err
	}
	log.Info("pull request checked", "sha", pr.HeadSHA, "conclusion", v.Conclusion, "check_run", result)
	return nil
}

// maxReferencedRepos bounds how many other repositories one check reads
// to verify references into them.
const maxReferencedRepos = 5

// crossRepoRef finds the repository a reference names: owner/repo#ADR-12,
// owner/repo:ADR-0012, or a GitHub link to a file in it.
var crossRepoRef = regexp.MustCompile(`(?:github\.[a-z.]+/|^|[^A-Za-z0-9._/-])([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+?)(?:[#:]|/blob/|/tree/)`)

// withReferencedRepos returns a corpus of the repository's records and
// those of the other repositories refs point into (as far as the
// installation can read them), or nil when none could be read.
func (a *App) withReferencedRepos(ctx context.Context, log *slog.Logger, c Client, state *repoState, refs []string) *content.Corpus {
	seen := map[string]bool{strings.ToLower(state.Repo): true}
	repos := []*content.Repo{state.Records}
	records := append([]*content.Record(nil), state.Corpus.Records...)
	for _, ref := range refs {
		m := crossRepoRef.FindStringSubmatch(ref)
		if m == nil || seen[strings.ToLower(m[1])] || len(seen) > maxReferencedRepos {
			continue
		}
		name := m[1]
		seen[strings.ToLower(name)] = true
		info, err := c.Repository(ctx, name)
		if err != nil {
			log.Info("a referenced repository cannot be read: its references stay unchecked", "referenced", name, "err", err)
			continue
		}
		other, err := a.repos.State(ctx, c, info.FullName, info.DefaultBranch)
		if err != nil {
			log.Info("a referenced repository's records cannot be read: its references stay unchecked", "referenced", name, "err", err)
			continue
		}
		repos = append(repos, other.Records)
		records = append(records, other.Corpus.Records...)
	}
	if len(repos) == 1 {
		return nil
	}
	return content.NewCorpus(repos, records)
}

// checkInput is what the check engine reads of a pull request and the
// state of its repository's default branch.
func checkInput(state *repoState, pr PullRequest, files []ChangedFile) check.Input {
	in := check.Input{Config: state.Config, ConfigProblems: state.Problems, Corpus: state.Corpus, Governs: state.Governs}
	in.PR = check.PullRequest{Repository: pr.Repository, Number: pr.Number, Title: pr.Title, Body: pr.Body, Author: pr.Author,
		AuthorIsBot: pr.AuthorType == "Bot" || strings.HasSuffix(pr.Author, "[bot]"), Draft: pr.Draft,
		Labels: pr.Labels, HeadSHA: pr.HeadSHA, Template: state.Template}
	for _, f := range files {
		in.PR.Files = append(in.PR.Files, check.File{Path: f.Path, PreviousPath: f.PreviousPath, Status: f.Status,
			Additions: f.Additions, Deletions: f.Deletions, Patch: f.Patch})
	}
	return in
}

// onMergeGroup passes the merge queue: every pull request in it was checked
// before it was queued, and a check that never reports would block the queue.
func (a *App) onMergeGroup(ctx context.Context, log *slog.Logger, c Client, repo, branch, sha string) error {
	name := check.DefaultConfig().Name
	if state, err := a.repos.State(ctx, c, repo, branch); err == nil {
		name = state.Config.Name
	} else if _, temporary := RetryAt(err); temporary {
		return err
	}
	run := CheckRunWrite{Name: name, HeadSHA: sha, Status: "completed", Conclusion: "success",
		Title:       "Merge queue: checked on each pull request",
		Summary:     "Every pull request in this merge group had its backstory check before it was queued, so the queue is not held up.",
		CompletedAt: a.now().UTC()}
	result, err := a.writeCheckRun(ctx, c, repo, run, false)
	if err != nil {
		return err
	}
	log.Info("merge group passed", "sha", sha, "check_run", result)
	return nil
}

// writeCheckRun creates or updates the check run named run.Name on
// run.HeadSHA, writing nothing when its content has not changed (unless
// force).
//
// GitHub appends annotations to a run and cannot remove them. So a run
// whose annotations are unknown (found on GitHub without a record: the
// process died between creating it and recording it, or the store was
// lost; or created with only some batches sent) has the annotations it
// lacks appended, counted from GitHub's annotations_count (batches go in
// order); and a run whose annotations must change (a governing decision
// changed for the same commit) is replaced by a new run of the same name,
// which GitHub shows, and branch protection reads, instead of the old.
func (a *App) writeCheckRun(ctx context.Context, c Client, repo string, run CheckRunWrite, force bool) (string, error) {
	contentHash, annotationsHash := hashRun(run)
	stored, err := a.store.CheckRun(ctx, repo, run.HeadSHA, run.Name)
	switch {
	case errors.Is(err, ErrNotFound) || (err == nil && stored.ID == 0):
		stored = CheckRun{Repository: repo, HeadSHA: run.HeadSHA, Name: run.Name, AnnotationsHash: unknownAnnotations}
	case err != nil:
		return "", err
	}
	sendFrom := 0 // the annotations to send: run.Annotations[sendFrom:]
	if stored.AnnotationsHash == unknownAnnotations {
		found, err := c.FindCheckRun(ctx, repo, run.HeadSHA, run.Name)
		switch {
		case errors.Is(err, ErrNotFound):
			return a.createCheckRun(ctx, c, repo, run, contentHash, annotationsHash, "created")
		case err != nil:
			return "", fmt.Errorf("find the check run on %s@%s: %w", repo, short(run.HeadSHA), err)
		}
		stored.ID, stored.ContentHash = found.ID, ""
		sendFrom = min(found.Annotations, len(run.Annotations))
	} else if stored.AnnotationsHash != annotationsHash {
		return a.createCheckRun(ctx, c, repo, run, contentHash, annotationsHash, "replaced")
	} else {
		sendFrom = len(run.Annotations)
	}
	if !force && stored.ContentHash == contentHash && sendFrom == len(run.Annotations) {
		a.metrics.CheckRuns.WithLabelValues("unchanged").Inc()
		return "unchanged", nil
	}
	run.Annotations = run.Annotations[sendFrom:]
	if err := c.UpdateCheckRun(ctx, repo, stored.ID, run); err != nil {
		if errors.Is(err, ErrNotFound) {
			// Deleted on GitHub's side: create it anew.
			return a.forgetCheckRun(ctx, repo, run, stored)
		}
		return "", fmt.Errorf("update check run %d on %s@%s: %w", stored.ID, repo, short(run.HeadSHA), err)
	}
	a.metrics.CheckRuns.WithLabelValues("updated").Inc()
	stored.ContentHash, stored.AnnotationsHash, stored.UpdatedAt = contentHash, annotationsHash, a.now().UTC()
	return "updated", a.store.SaveCheckRun(ctx, stored)
}

// forgetCheckRun forgets a run GitHub no longer has; the next attempt
// creates it with all its annotations.
func (a *App) forgetCheckRun(ctx context.Context, repo string, run CheckRunWrite, stored CheckRun) (string, error) {
	stored.ID, stored.ContentHash, stored.AnnotationsHash = 0, "", unknownAnnotations
	if err := a.store.SaveCheckRun(ctx, stored); err != nil {
		return "", err
	}
	return "", &TemporaryError{Err: fmt.Errorf("check run on %s@%s was deleted on GitHub: creating it again", repo, short(run.HeadSHA))}
}

// unknownAnnotations marks a stored run whose annotations on GitHub are not
// known to be all of those wanted.
const unknownAnnotations = "unknown"

// createCheckRun creates the run and records it at once, even when only
// part of its annotations got through, so a retry never leaves an
// unrecorded run behind.
func (a *App) createCheckRun(ctx context.Context, c Client, repo string, run CheckRunWrite, contentHash, annotationsHash, result string) (string, error) {
	id, err := c.CreateCheckRun(ctx, repo, run)
	if id == 0 && err != nil {
		return "", fmt.Errorf("create the check run on %s@%s: %w", repo, short(run.HeadSHA), err)
	}
	rec := CheckRun{Repository: repo, HeadSHA: run.HeadSHA, Name: run.Name, ID: id,
		ContentHash: contentHash, AnnotationsHash: annotationsHash, UpdatedAt: a.now().UTC()}
	if err != nil {
		rec.AnnotationsHash = unknownAnnotations
	}
	if serr := a.store.SaveCheckRun(ctx, rec); serr != nil {
		return "", serr
	}
	if err != nil {
		return "", fmt.Errorf("check run %d on %s@%s: %w", id, repo, short(run.HeadSHA), err)
	}
	a.metrics.CheckRuns.WithLabelValues(result).Inc()
	return result, nil
}

// filesCache keeps the files of pull requests by head commit: what a PR
// changes is the diff from its head to where it left its base branch, so
// it only changes when the head does, and a warm evaluation need not ask.
type filesCache struct {
	mu      sync.Mutex
	max     int
	order   []string
	entries map[string][]ChangedFile
}

func (fc *filesCache) get(ctx context.Context, c Client, pr PullRequest) ([]ChangedFile, error) {
	key := fmt.Sprintf("%s#%d@%s..%s", strings.ToLower(pr.Repository), pr.Number, pr.HeadSHA, pr.BaseRef)
	fc.mu.Lock()
	files, ok := fc.entries[key]
	fc.mu.Unlock()
	if ok {
		return files, nil
	}
	files, err := c.PullRequestFiles(ctx, pr.Repository, pr.Number)
	if err != nil {
		return nil, err
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if _, ok := fc.entries[key]; !ok {
		fc.entries[key] = files
		fc.order = append(fc.order, key)
		for len(fc.order) > fc.max {
			delete(fc.entries, fc.order[0])
			fc.order = fc.order[1:]
		}
	}
	return files, nil
}

// hashRun identifies what a check run says, apart from when it was said.
func hashRun(run CheckRunWrite) (contentHash, annotationsHash string) {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.Encode([]any{run.Status, run.Conclusion, run.DetailsURL, run.ExternalID, run.Title, run.Summary, run.Text, run.Actions})
	contentHash = hex.EncodeToString(h.Sum(nil))
	h.Reset()
	enc.Encode(run.Annotations)
	return contentHash, hex.EncodeToString(h.Sum(nil))
}

func isTemporary(err error) bool {
	_, ok := RetryAt(err)
	return ok
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
