package githubtest

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"
)

// repo is one repository and everything the fake keeps about it.
type repo struct {
	id            int64
	owner, name   string
	ownerType     string
	private       bool
	defaultBranch string
	forkOf        string            // full name of the parent, "" when not a fork
	branches      map[string]string // branch -> head commit sha
	commits       map[string]bool   // commits made on this repository
	created       map[string]bool   // blobs and trees written through the Git Data API
	pulls         map[int]*pull
	nextNumber    int
	checkRuns     []*checkRun
	suites        map[string]int64 // head sha + app id -> check suite id
	comments      map[int][]Comment
	perms         map[string]string // lower login -> role
	createdAt     time.Time
	updatedAt     time.Time
	pushedAt      time.Time
}

func (r *repo) fullName() string { return r.owner + "/" + r.name }

// RepoOptions describe a repository made by AddRepo.
type RepoOptions struct {
	// DefaultBranch defaults to "main".
	DefaultBranch string
	Private       bool
	// OwnerType is "Organization" (the default) or "User".
	OwnerType string
	// ForkOf is the full name of the repository this one is a fork of
	// (added when missing). A new fork starts with its parent's branches
	// and history.
	ForkOf string
}

func splitFullName(fullName string) (owner, name string, ok bool) {
	owner, name, ok = strings.Cut(fullName, "/")
	return owner, name, ok && owner != "" && name != "" && !strings.Contains(name, "/")
}

// RepoID returns GitHub's id of a repository the fake holds (what webhook
// payloads carry as repository.id), 0 when there is none.
func (s *Server) RepoID(fullName string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[strings.ToLower(fullName)]; r != nil {
		return r.id
	}
	return 0
}

// AddRepo adds a repository named "owner/name". Adding one that exists
// changes its options.
func (s *Server) AddRepo(fullName string, opts RepoOptions) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addRepo(fullName, opts)
}

func (s *Server) addRepo(fullName string, opts RepoOptions) *repo {
	owner, name, ok := splitFullName(fullName)
	if !ok {
		panic(fmt.Sprintf("githubtest: AddRepo(%q): want owner/name", fullName))
	}
	if opts.DefaultBranch == "" {
		opts.DefaultBranch = "main"
	}
	if opts.OwnerType == "" {
		opts.OwnerType = "Organization"
	}
	r := s.repos[strings.ToLower(fullName)]
	if r == nil {
		now := s.now().Truncate(time.Second)
		r = &repo{
			id:        s.newID(),
			owner:     owner,
			name:      name,
			branches:  map[string]string{},
			commits:   map[string]bool{},
			created:   map[string]bool{},
			pulls:     map[int]*pull{},
			suites:    map[string]int64{},
			comments:  map[int][]Comment{},
			perms:     map[string]string{},
			createdAt: now,
			updatedAt: now,
			pushedAt:  now,
		}
		s.repos[strings.ToLower(fullName)] = r
	}
	r.private, r.defaultBranch, r.ownerType = opts.Private, opts.DefaultBranch, opts.OwnerType
	if opts.ForkOf != "" {
		s.fork(r, s.repoOrAdd(opts.ForkOf))
	}
	s.users[strings.ToLower(owner)] = opts.OwnerType
	return r
}

// fork makes r a fork of parent: a fork starts with its parent's branches
// and history, as forking on GitHub does.
func (s *Server) fork(r, parent *repo) {
	if r == parent {
		return
	}
	r.forkOf = parent.fullName()
	if len(r.branches) > 0 {
		return
	}
	for b, sha := range parent.branches {
		r.branches[b] = sha
	}
	for sha := range parent.commits {
		r.commits[sha] = true
	}
	if r.defaultBranch == "main" && parent.defaultBranch != "main" {
		r.defaultBranch = parent.defaultBranch
	}
}

// repoOrAdd finds a repository, adding a public one when a test names one
// it has not added.
func (s *Server) repoOrAdd(fullName string) *repo {
	if r := s.repos[strings.ToLower(fullName)]; r != nil {
		return r
	}
	return s.addRepo(fullName, RepoOptions{})
}

func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}

// AddInstallation installs the App on account with the App's permissions,
// for the repositories named ("owner/name", added when missing), or for
// every repository of the account when none is named. Adding an
// installation that exists replaces it, for the tokens already issued too.
func (s *Server) AddInstallation(id int64, account string, repos ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := &installation{
		id:          id,
		account:     account,
		accountType: "Organization",
		perms:       copyPerms(s.app.perms),
		createdAt:   s.now().Truncate(time.Second),
	}
	if t, ok := s.users[strings.ToLower(account)]; ok {
		in.accountType = t
	}
	if len(repos) > 0 {
		in.repos = map[string]bool{}
		for _, name := range repos {
			s.repoOrAdd(name)
			in.repos[strings.ToLower(name)] = true
		}
	}
	if old, ok := s.installations[id]; ok {
		// Tokens already issued follow the installation as GitHub's do: a
		// repository taken away is out of their reach at once.
		*old = *in
		return
	}
	s.installations[id] = in
}

// SetInstallationPermissions replaces the permissions an installation
// granted ("checks": "write", …). Tokens issued later carry them.
func (s *Server) SetInstallationPermissions(id int64, perms map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.installations[id]
	if !ok {
		panic(fmt.Sprintf("githubtest: SetInstallationPermissions(%d): no such installation", id))
	}
	in.perms = copyPerms(perms)
}

func copyPerms(p map[string]string) map[string]string {
	out := make(map[string]string, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// Commit adds a commit to branch of repo (both made when missing; repo as
// "owner/name"): the branch's files, with files written over them and
// deletes removed. It returns the commit's sha. Blob and tree shas are
// git's, so an unchanged file keeps its sha. Open pull requests whose head
// is the branch move to the new commit, as a push moves them on GitHub.
func (s *Server) Commit(repoName, branch string, files map[string][]byte, deletes ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOrAdd(repoName)
	if branch == "" {
		branch = r.defaultBranch
	}
	var parent *commitObj
	tree, modes := map[string]string{}, map[string]string{}
	if head, ok := r.branches[branch]; ok {
		parent = s.objects.commits[head]
	} else if head, ok := r.branches[r.defaultBranch]; ok {
		// A new branch starts from the default branch, as "git checkout -b".
		parent = s.objects.commits[head]
	}
	if parent != nil {
		for p, sha := range parent.files {
			tree[p] = sha
		}
		for p, m := range parent.modes {
			modes[p] = m // a rewritten file keeps its mode, as in git
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		clean := strings.Trim(p, "/")
		if clean == "" || strings.Contains(clean, "//") {
			panic(fmt.Sprintf("githubtest: Commit: bad path %q", p))
		}
		tree[clean] = s.objects.putBlob(files[p])
	}
	for _, p := range deletes {
		delete(tree, strings.Trim(p, "/"))
	}
	for p := range modes {
		if _, ok := tree[p]; !ok {
			delete(modes, p)
		}
	}
	now := s.now()
	msg := fmt.Sprintf("Commit %d to %s", len(s.objects.commits)+1, branch)
	c := s.objects.putCommit(parent, tree, modes, msg, now)
	r.commits[c.sha] = true
	s.moveBranch(r, branch, c.sha)
	return c.sha
}

// moveBranch points branch of r at commit sha (creating the branch), as a
// push does: the repository's pushed_at moves on, and the open pull
// requests whose head is the branch follow it.
func (s *Server) moveBranch(r *repo, branch, sha string) {
	now := s.now().Truncate(time.Second)
	r.branches[branch] = sha
	r.pushedAt, r.updatedAt = now, now
	for _, other := range s.repos {
		for _, p := range other.pulls {
			if p.State == "open" && strings.EqualFold(p.headRepo, r.fullName()) && p.HeadRef == branch && p.followsBranch {
				p.HeadSHA = sha
				p.updatedAt = now
			}
		}
	}
}

// Files returns the files of branch of repo (repo as "owner/name") by
// path, as its head commit has them; nil when there is no such branch.
func (s *Server) Files(repoName, branch string) map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(repoName)]
	if r == nil {
		return nil
	}
	c := s.objects.commits[r.branches[branch]]
	if c == nil {
		return nil
	}
	out := make(map[string][]byte, len(c.files))
	for p, sha := range c.files {
		out[p] = append([]byte{}, s.objects.blobs[sha]...)
	}
	return out
}

// FileMode returns the git mode of a file of branch ("100644", "100755"),
// "" when the branch has no such file.
func (s *Server) FileMode(repoName, branch, path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(repoName)]
	if r == nil {
		return ""
	}
	c := s.objects.commits[r.branches[branch]]
	if c == nil {
		return ""
	}
	if _, ok := c.files[path]; !ok {
		return ""
	}
	if m := c.modes[path]; m != "" {
		return m
	}
	return modeFile
}

// Commits returns the commits of branch of repo, newest first, following
// first parents: each with its message, tree and parent.
func (s *Server) Commits(repoName, branch string) []GitCommit {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(repoName)]
	if r == nil {
		return nil
	}
	var out []GitCommit
	for c := s.objects.commits[r.branches[branch]]; c != nil; c = s.objects.commits[c.parent] {
		out = append(out, GitCommit{SHA: c.sha, Tree: c.tree, Parent: c.parent, Message: c.message,
			Author: c.author.name, AuthorEmail: c.author.email})
	}
	return out
}

// GitCommit is a commit as Commits lists it.
type GitCommit struct {
	SHA     string
	Tree    string
	Parent  string // "" for a root commit
	Message string
	Author  string
	// AuthorEmail is the author's email: for a commit made through the
	// API without an author, the App's bot's noreply address.
	AuthorEmail string
}

// Branch returns the head commit of a branch, "" when there is none.
func (s *Server) Branch(repoName, branch string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[strings.ToLower(repoName)]; r != nil {
		return r.branches[branch]
	}
	return ""
}

// resolveCommit finds the commit a ref names in r: a branch, "refs/heads/…",
// a full or abbreviated (7+) commit sha of r, or the head of a pull
// request into r (a fork's commit is readable there).
func (s *Server) resolveCommit(r *repo, ref string) *commitObj {
	if ref == "" {
		ref = r.defaultBranch
	}
	ref = strings.TrimPrefix(ref, "refs/heads/")
	if sha, ok := r.branches[ref]; ok {
		return s.objects.commits[sha]
	}
	if len(ref) < 7 || len(ref) > 40 || strings.Trim(strings.ToLower(ref), "0123456789abcdef") != "" {
		return nil
	}
	ref = strings.ToLower(ref)
	visible := func(sha string) bool {
		if r.commits[sha] {
			return true
		}
		for _, p := range r.pulls {
			if hr := s.repos[strings.ToLower(p.headRepo)]; hr != nil && hr.commits[sha] {
				return true
			}
		}
		return false
	}
	for sha, c := range s.objects.commits {
		if strings.HasPrefix(sha, ref) && visible(sha) {
			return c
		}
	}
	return nil
}

// knownSHA reports whether sha is a commit GitHub would accept for a check
// run on r: one of its commits, or a pull request's head.
func (s *Server) knownSHA(r *repo, sha string) bool {
	if len(sha) == 40 && s.resolveCommit(r, sha) != nil {
		return true
	}
	for _, p := range r.pulls {
		if strings.EqualFold(p.HeadSHA, sha) {
			return true
		}
	}
	return false
}

// PullRequest describes a pull request for AddPullRequest.
type PullRequest struct {
	// Number is the PR's number; 0 takes the next free one.
	Number int
	Title  string
	// Body is nil for a PR without a description (GitHub sends null).
	Body *string
	// User is the author's login; UserType "User" (default) or "Bot".
	User     string
	UserType string
	Draft    bool
	Labels   []string
	// HeadSHA is the head commit; when empty it is the head of HeadRef in
	// HeadRepo, and follows that branch as Commit adds to it.
	HeadSHA string
	HeadRef string
	// HeadRepo is "owner/name" of the head: another repository for a PR
	// from a fork; empty for the base repository.
	HeadRepo string
	// BaseRef defaults to the repository's default branch.
	BaseRef string
	// State is "open" (default) or "closed".
	State  string
	Merged bool
	// Files are what GitHub lists as the PR's changes. When nil, they are
	// computed from the commits: HeadSHA against its merge base with
	// BaseRef, with unified-diff patches.
	Files []PRFile
}

// PRFile is one changed file of a pull request.
type PRFile struct {
	Filename         string
	PreviousFilename string
	// Status is added, removed, modified, renamed, copied, changed or
	// unchanged.
	Status    string
	Additions int
	Deletions int
	Patch     string
}

// pull is a stored pull request.
type pull struct {
	PullRequest
	id            int64
	headRepo      string
	followsBranch bool
	createdAt     time.Time
	updatedAt     time.Time
	closedAt      time.Time
	mergedAt      time.Time
	mergeSHA      string
}

// AddPullRequest adds a pull request to repo and returns its number.
func (s *Server) AddPullRequest(repoName string, pr PullRequest) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOrAdd(repoName)
	if pr.Number == 0 {
		pr.Number = r.nextNumber + 1
	}
	if _, dup := r.pulls[pr.Number]; dup {
		panic(fmt.Sprintf("githubtest: AddPullRequest(%q): #%d exists; use UpdatePullRequest", repoName, pr.Number))
	}
	r.nextNumber = max(r.nextNumber, pr.Number)
	now := s.now().Truncate(time.Second)
	p := &pull{id: s.newID(), createdAt: now}
	s.setPull(r, p, pr, now)
	r.pulls[pr.Number] = p
	return pr.Number
}

// UpdatePullRequest changes a pull request: update receives a copy of its
// description to edit. Its updated_at moves on; closing sets closed_at, and
// merging merged_at.
func (s *Server) UpdatePullRequest(repoName string, number int, update func(pr *PullRequest)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(repoName)]
	if r == nil || r.pulls[number] == nil {
		panic(fmt.Sprintf("githubtest: UpdatePullRequest(%q, %d): no such pull request", repoName, number))
	}
	p := r.pulls[number]
	pr := p.PullRequest
	pr.Labels = append([]string(nil), pr.Labels...)
	pr.Files = append([]PRFile(nil), pr.Files...)
	if p.PullRequest.Files == nil {
		pr.Files = nil
	}
	before := pr.HeadSHA
	update(&pr)
	if p.followsBranch && pr.HeadSHA == before {
		pr.HeadSHA = "" // keep following the branch unless the update pins a commit
	}
	pr.Number = number
	s.setPull(r, p, pr, s.now().Truncate(time.Second))
}

func (s *Server) setPull(r *repo, p *pull, pr PullRequest, now time.Time) {
	if pr.State == "" {
		pr.State = "open"
	}
	if pr.Merged {
		pr.State = "closed"
	}
	if pr.User == "" {
		pr.User = "octocat"
	}
	if pr.UserType == "" {
		pr.UserType = "User"
		if strings.HasSuffix(pr.User, "[bot]") {
			pr.UserType = "Bot"
		}
	}
	if pr.BaseRef == "" {
		pr.BaseRef = r.defaultBranch
	}
	if pr.HeadRef == "" {
		pr.HeadRef = fmt.Sprintf("pr-%d", pr.Number)
	}
	if pr.Title == "" {
		pr.Title = fmt.Sprintf("Pull request #%d", pr.Number)
	}
	p.headRepo = r.fullName()
	if pr.HeadRepo != "" {
		p.headRepo = pr.HeadRepo
		if fork := s.repoOrAdd(pr.HeadRepo); fork != r && fork.forkOf == "" {
			s.fork(fork, r)
		}
	}
	p.followsBranch = pr.HeadSHA == ""
	if p.followsBranch {
		if hr := s.repos[strings.ToLower(p.headRepo)]; hr != nil {
			pr.HeadSHA = hr.branches[pr.HeadRef]
		}
		if pr.HeadSHA == "" {
			panic(fmt.Sprintf("githubtest: pull request #%d of %s: no HeadSHA, and branch %q of %s has no commit", pr.Number, r.fullName(), pr.HeadRef, p.headRepo))
		}
	}
	s.users[strings.ToLower(pr.User)] = pr.UserType
	wasClosed := p.State == "closed"
	p.PullRequest = pr
	p.updatedAt = now
	if pr.State == "closed" && !wasClosed {
		p.closedAt = now
	}
	if pr.State == "open" {
		p.closedAt, p.mergedAt = time.Time{}, time.Time{}
	}
	if pr.Merged && p.mergedAt.IsZero() {
		p.mergedAt = now
		p.mergeSHA = gitHash("commit", []byte(fmt.Sprintf("merge %s #%d %s", r.fullName(), pr.Number, pr.HeadSHA)))
	}
}

// files returns a pull request's changed files, given or computed.
func (s *Server) files(r *repo, p *pull) []fileChange {
	if p.Files != nil {
		out := make([]fileChange, len(p.Files))
		for i, f := range p.Files {
			status := f.Status
			if status == "" {
				status = "modified"
			}
			out[i] = fileChange{
				filename: f.Filename, previous: f.PreviousFilename, status: status,
				additions: f.Additions, deletions: f.Deletions, patch: f.Patch,
				sha: gitHash("blob", []byte(f.Filename+"\x00"+f.Patch)),
			}
		}
		return out
	}
	base := r.branches[p.BaseRef]
	return s.objects.diffCommits(base, p.HeadSHA)
}

// CheckRun is a check run as the fake stores it.
type CheckRun struct {
	ID          int64
	AppID       int64 // the App that made it; 0 in AddCheckRun means this App
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	ExternalID  string
	DetailsURL  string
	StartedAt   time.Time
	CompletedAt time.Time
	Title       string
	Summary     string
	Text        string
	// Annotations are every annotation written, in order: GitHub appends
	// those of each update to the ones already there.
	Annotations []Annotation
	Actions     []Action
	// Updates counts the PATCHes that changed the run after its creation.
	Updates int
}

// Annotation is a check run annotation.
type Annotation struct {
	Path        string
	StartLine   int
	EndLine     int
	StartColumn int
	EndColumn   int
	Level       string
	Title       string
	Message     string
	RawDetails  string
}

// Action is a check run's requested-action button.
type Action struct {
	Label       string
	Description string
	Identifier  string
}

type checkRun struct {
	CheckRun
	suite     int64
	updatedAt time.Time
}

// CheckRuns returns the check runs of repo, oldest first.
func (s *Server) CheckRuns(repoName string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(repoName)]
	if r == nil {
		return nil
	}
	out := make([]CheckRun, len(r.checkRuns))
	for i, c := range r.checkRuns {
		out[i] = c.CheckRun
		out[i].Annotations = append([]Annotation(nil), c.Annotations...)
		out[i].Actions = append([]Action(nil), c.Actions...)
	}
	return out
}

// AddCheckRun stores a check run as if made through the API (by another
// App when AppID is set), and returns its id.
func (s *Server) AddCheckRun(repoName string, run CheckRun) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOrAdd(repoName)
	if run.AppID == 0 {
		run.AppID = s.AppID
	}
	if run.Status == "" {
		run.Status = "queued"
		if run.Conclusion != "" {
			run.Status = "completed"
		}
	}
	now := s.now().Truncate(time.Second)
	if run.StartedAt.IsZero() {
		run.StartedAt = now
	}
	if run.Status == "completed" && run.CompletedAt.IsZero() {
		run.CompletedAt = now
	}
	run.ID = s.newID()
	c := &checkRun{CheckRun: run, suite: s.suite(r, run.HeadSHA, run.AppID), updatedAt: now}
	r.checkRuns = append(r.checkRuns, c)
	return run.ID
}

// suite is the check suite of an App's runs on a commit: GitHub makes one
// per App and head sha.
func (s *Server) suite(r *repo, sha string, appID int64) int64 {
	k := fmt.Sprintf("%s@%d", strings.ToLower(sha), appID)
	id, ok := r.suites[k]
	if !ok {
		id = s.newID()
		r.suites[k] = id
	}
	return id
}

// SetPermission gives user a role on repo: "admin", "maintain", "write",
// "triage", "read" or "none". A user given no role has "read" on a public
// repository and "none" on a private one, and GitHub's answer is a 200
// either way (it 404s only for logins that are no user at all).
func (s *Server) SetPermission(repoName, user, perm string) {
	switch perm {
	case "admin", "maintain", "write", "triage", "read", "none":
	default:
		panic(fmt.Sprintf("githubtest: SetPermission(%q, %q, %q): want admin, maintain, write, triage, read or none", repoName, user, perm))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOrAdd(repoName)
	r.perms[strings.ToLower(user)] = perm
	if _, ok := s.users[strings.ToLower(user)]; !ok {
		s.users[strings.ToLower(user)] = "User"
	}
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID        int64
	Body      string
	User      string // the App's bot login for comments it made
	CreatedAt time.Time
}

// Comments returns the comments made on issue or pull request n of repo.
func (s *Server) Comments(repoName string, n int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(repoName)]
	if r == nil {
		return nil
	}
	return append([]Comment(nil), r.comments[n]...)
}

// HookDelivery is one delivery of the App's webhook, as GET
// /app/hook/deliveries lists it.
type HookDelivery struct {
	ID             int64
	GUID           string // X-GitHub-Delivery
	Event          string
	Action         string
	StatusCode     int    // what the webhook endpoint answered; 0 if nothing
	Status         string // "OK", "Invalid HTTP Response: 503", …
	DeliveredAt    time.Time
	Redelivery     bool
	InstallationID int64
	RepositoryID   int64
	Duration       float64 // seconds
	// Payload is the delivered body, for OnRedeliver to send again.
	Payload []byte
}

// AddHookDelivery records a delivery. ID 0 takes a new id, a zero
// DeliveredAt the fake's now, an empty Status one derived from StatusCode.
func (s *Server) AddHookDelivery(d HookDelivery) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addHookDelivery(d)
}

func (s *Server) addHookDelivery(d HookDelivery) int64 {
	if d.ID == 0 {
		d.ID = s.newID()
	} else if d.ID >= s.nextID {
		s.nextID = d.ID
	}
	if d.DeliveredAt.IsZero() {
		d.DeliveredAt = s.now()
	}
	if d.Status == "" {
		d.Status = deliveryStatus(d.StatusCode)
	}
	d.Payload = append([]byte(nil), d.Payload...)
	s.deliveries = append(s.deliveries, d)
	return d.ID
}

func deliveryStatus(code int) string {
	switch {
	case code == 0:
		return "failed to connect to host"
	case code >= 200 && code < 300:
		return "OK"
	}
	return fmt.Sprintf("Invalid HTTP Response: %d", code)
}

// Redeliveries returns the ids of the deliveries the App asked GitHub to
// send again, in order.
func (s *Server) Redeliveries() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.redeliveries...)
}

// SetOnRedeliver sets what a redelivery does: f receives the delivery to
// send again (Payload included), in its own goroutine as GitHub sends
// after answering 202, and returns the HTTP status the webhook endpoint
// answered (0: no answer). The new delivery GitHub records, with
// Redelivery set, carries that status. Without f a redelivery is recorded
// as answered 200.
func (s *Server) SetOnRedeliver(f func(d HookDelivery) int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRedeliver = f
}

// ManifestApp is the App that GitHub creates from a manifest, as the
// conversion of a manifest code returns it. Zero fields take the fake's
// own: its AppID, slug, owner and private key, so that the App created by
// setup can then authenticate against the same fake.
type ManifestApp struct {
	ID            int64
	Slug          string
	Name          string
	Owner         string
	ClientID      string
	ClientSecret  string
	WebhookSecret string
	PEM           string
	HTMLURL       string
	// ExternalURL is the homepage the manifest gave (its url); empty:
	// the App's page on GitHub.
	ExternalURL string
}

// AddManifestCode makes code convertible, once, into app (POST
// /app-manifests/{code}/conversions), as the code GitHub hands back after
// the manifest form.
func (s *Server) AddManifestCode(code string, app ManifestApp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if app.ID == 0 {
		app.ID = s.AppID
	}
	if app.Slug == "" {
		app.Slug = s.app.slug
	}
	if app.Name == "" {
		app.Name = app.Slug
	}
	if app.Owner == "" {
		app.Owner = s.app.owner
	}
	if app.ClientID == "" {
		app.ClientID = "Iv1." + strings.ToLower(randomString("0123456789abcdef", 16))
	}
	if app.ClientSecret == "" {
		app.ClientSecret = randomString("0123456789abcdef", 40)
	}
	if app.WebhookSecret == "" {
		app.WebhookSecret = randomString("0123456789abcdef", 40)
	}
	if app.PEM == "" {
		app.PEM = string(s.keyPEM)
	}
	if app.HTMLURL == "" {
		app.HTMLURL = "https://github.com/apps/" + app.Slug
	}
	s.manifestCodes[code] = app
}

// userID is a stable id for a login, the same in every run.
func userID(login string) int64 {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(login)))
	return int64(h.Sum32()%90_000_000) + 1_000_000
}
