package app

import (
	"context"
	"time"
)

// GitHub is what the App needs from GitHub as the App itself (JWT auth).
// app/github implements it with go-github; app/github/githubtest is a fake
// GitHub server for tests.
type GitHub interface {
	// Installation returns a client acting as one installation of the App.
	Installation(id int64) Client
	// HookDeliveries lists the App's webhook deliveries delivered at or
	// after since, newest first, following every page.
	HookDeliveries(ctx context.Context, since time.Time) ([]HookDelivery, error)
	// Redeliver asks GitHub to send a delivery again.
	Redeliver(ctx context.Context, id int64) error
	// Installations lists the App's installations, following every page.
	Installations(ctx context.Context) ([]InstallationInfo, error)
	// App describes the App the private key signs for (GET /app): a
	// request that also proves the key matches the App.
	App(ctx context.Context) (AppInfo, error)
}

// AppInfo is the App as GitHub describes it.
type AppInfo struct {
	ID    int64
	Slug  string
	Name  string
	Owner string
	// Permissions are what the App asks of installations ("checks":
	// "write"); Events the webhook events it subscribes to.
	Permissions map[string]string
	Events      []string
	HTMLURL     string
}

// InstallationInfo is one installation of the App.
type InstallationInfo struct {
	ID      int64
	Account string // the organisation's or user's login
	// AccountType is "Organization" or "User".
	AccountType string
	Suspended   bool
	// Permissions are what the installation granted: fewer than the App
	// asks when an owner has not yet accepted new permissions.
	Permissions map[string]string
	// RepositorySelection is "all" or "selected".
	RepositorySelection string
}

// HookDelivery is one entry of GET /app/hook/deliveries.
type HookDelivery struct {
	ID             int64
	GUID           string // X-GitHub-Delivery of the delivery
	DeliveredAt    time.Time
	Redelivery     bool
	Status         string // "OK", "Invalid HTTP Response: 503", …
	StatusCode     int    // the HTTP status our endpoint answered, 0 if none
	Event          string
	Action         string
	InstallationID int64
	RepositoryID   int64
}

// Client is GitHub as one installation sees it. Every method returns
// ErrNotFound for a 404, a *TemporaryError for what may pass (5xx, network
// errors, rate limits: with At set from Retry-After or X-RateLimit-Reset), a
// *RejectedError for what GitHub refused and will refuse again (422, 403
// without a rate limit), and another error otherwise.
type Client interface {
	// Repositories lists every repository the installation was given.
	Repositories(ctx context.Context) ([]Repository, error)
	// Repository fetches a repository's name, default branch and
	// visibility.
	Repository(ctx context.Context, repo string) (Repository, error)
	// PullRequest fetches one pull request.
	PullRequest(ctx context.Context, repo string, number int) (PullRequest, error)
	// PullRequestFiles lists every file a pull request changes (all pages;
	// GitHub stops at 3,000).
	PullRequestFiles(ctx context.Context, repo string, number int) ([]ChangedFile, error)
	// OpenPullRequestsWithHead lists the open pull requests of repo whose
	// head commit is sha, including PRs from forks.
	OpenPullRequestsWithHead(ctx context.Context, repo, sha string) ([]PullRequest, error)
	// Tree lists every file of repo at ref (a branch, tag or commit),
	// recursively.
	Tree(ctx context.Context, repo, ref string) (Tree, error)
	// FileContent returns one file's bytes at ref, or ErrNotFound.
	FileContent(ctx context.Context, repo, ref, path string) ([]byte, error)
	// Archive downloads repo at ref as a tarball and writes the regular
	// files for which keep returns true under dir, at their paths relative
	// to the repository root. It refuses paths that would leave dir.
	Archive(ctx context.Context, repo, ref, dir string, keep func(path string, size int64) bool) error
	// FindCheckRun returns the newest check run named name on sha that this
	// App created, or ErrNotFound.
	FindCheckRun(ctx context.Context, repo, sha, name string) (FoundCheckRun, error)
	// CreateCheckRun creates a check run and returns its id. Annotations
	// beyond 50 are sent in further requests of at most 50 each.
	CreateCheckRun(ctx context.Context, repo string, run CheckRunWrite) (int64, error)
	// UpdateCheckRun rewrites check run id. GitHub appends annotations to
	// those already on the run; send them only when they changed.
	UpdateCheckRun(ctx context.Context, repo string, id int64, run CheckRunWrite) error
	// PublishBranch makes the files under dir the whole content of branch
	// of repo, as one new commit (parent: the branch's head, if it exists)
	// with message, through the Git Data API: only blobs GitHub does not
	// already have in the branch's tree are uploaded, and the branch moves
	// only once the commit exists (a failure leaves it where it was). It
	// returns the new commit's sha, or the head's when nothing changed
	// (no commit is made then).
	PublishBranch(ctx context.Context, repo, branch, dir, message string) (string, error)
	// Permission returns a user's permission on repo: "admin", "maintain",
	// "write", "triage", "read" or "none".
	Permission(ctx context.Context, repo, user string) (string, error)
	// IsMember reports whether user is a member of org (GET
	// /orgs/{org}/members/{username}: 204 yes, 404 no). It needs the
	// members: read permission.
	IsMember(ctx context.Context, org, user string) (bool, error)
	// OrgRole returns user's role in org (GET
	// /orgs/{org}/memberships/{username}): "admin" or "member" for an
	// active member, "" for anyone else (invited but not joined, or no
	// member at all). It needs the members: read permission.
	OrgRole(ctx context.Context, org, user string) (string, error)
	// CreateIssue opens an issue and returns its number.
	CreateIssue(ctx context.Context, repo string, issue IssueWrite) (int, error)
	// Issues lists the issues (not pull requests) of repo in any state
	// updated at or after since, following every page.
	Issues(ctx context.Context, repo string, since time.Time) ([]Issue, error)
}

// IssueWrite is an issue to open.
type IssueWrite struct {
	Title  string
	Body   string
	Labels []string
}

// Issue is an issue as the App sees it.
type Issue struct {
	Number int
	Title  string
	Body   string
	State  string // "open" or "closed"
	Author string
}

// Repository is a repository as the App sees it.
type Repository struct {
	// ID is GitHub's id: a repository deleted and created again under the
	// same name has another.
	ID            int64
	FullName      string
	DefaultBranch string
	Private       bool
}

// FoundCheckRun is a check run found on GitHub.
type FoundCheckRun struct {
	ID int64
	// Annotations is how many annotations the run carries.
	Annotations int
}

// PullRequest is a pull request as the App sees it.
type PullRequest struct {
	Repository string // base repository, owner/repo
	Number     int
	State      string // "open" or "closed"
	Merged     bool
	MergedAt   time.Time
	MergeSHA   string
	Draft      bool
	Title      string
	Body       string
	Author     string
	AuthorType string // "User", "Bot", "Organization"
	Labels     []string
	HeadSHA    string
	HeadRef    string
	// HeadRepository is the head's owner/repo: another one for a fork.
	HeadRepository string
	BaseRef        string
	BaseSHA        string
	DefaultBranch  string
	HTMLURL        string
}

// ChangedFile is one entry of a pull request's files.
type ChangedFile struct {
	Path         string
	PreviousPath string // for renames
	Status       string // added, removed, modified, renamed, copied, changed, unchanged
	Additions    int
	Deletions    int
	// Patch is the unified diff GitHub gives (may be empty for large or
	// binary files); annotations are placed on lines it adds.
	Patch string
}

// Tree is a repository's file list at one commit.
type Tree struct {
	SHA       string // the tree's sha
	Truncated bool   // GitHub cut the list short: use Archive
	Entries   []TreeEntry
	// Date is when GitHub answered (its Date header; zero when it gave
	// none): one clock for every replica, to order what they read.
	Date time.Time
}

// TreeEntry is one blob of a Tree.
type TreeEntry struct {
	Path string
	SHA  string // blob sha: unchanged content keeps its sha
	Size int64
}

// CheckRunWrite is the content of a check run, created or updated.
type CheckRunWrite struct {
	Name        string
	HeadSHA     string
	Status      string // "queued", "in_progress" or "completed"
	Conclusion  string // with completed: success, failure, neutral, …
	DetailsURL  string
	ExternalID  string
	Title       string
	Summary     string // at most 65,535 characters
	Text        string // at most 65,535 characters
	Annotations []Annotation
	Actions     []Action // at most 3
	CompletedAt time.Time
}

// Annotation is a note on lines of a file in a check run.
type Annotation struct {
	Path      string
	StartLine int
	EndLine   int
	Level     string // notice, warning or failure
	Title     string
	Message   string
}

// Action is a button on a check run (requested_action).
type Action struct {
	Label       string // at most 20 characters
	Description string // at most 40 characters
	Identifier  string // at most 20 characters
}

// RateLimit is GitHub's rate limit for one installation and resource, as
// its last answer said.
type RateLimit struct {
	Installation int64
	Resource     string // "core", "search", "graphql", …
	Remaining    int
	Limit        int
	Reset        time.Time
	Seen         time.Time
}
