// Package app is the GitHub App: the durable inbox of webhook deliveries, the
// handlers that turn an event into a context check, and the interfaces of the
// technologies around them (the store, GitHub). The rule engine itself is
// pure and lives in app/check; the store implementations in app/sqlite and
// app/postgres; the GitHub adapter in app/github.
//
// Nothing here imports go-github or a database driver: adapters convert at
// the edge (docs/decisions, "Package layout").
package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Delivery is one webhook delivery as GitHub sent it, and where it stands in
// the inbox.
type Delivery struct {
	// ID is X-GitHub-Delivery: the same on a redelivery, so it deduplicates.
	ID string
	// Event is X-GitHub-Event ("pull_request"); Action is the payload's
	// "action" ("opened"), "" when it has none.
	Event  string
	Action string
	// InstallationID is payload.installation.id, 0 when absent.
	InstallationID int64
	// Repository is payload.repository.full_name ("owner/repo"), "" when
	// absent.
	Repository string
	// Key orders work: two deliveries with the same non-empty Key are never
	// processed at the same time, by any replica ("owner/repo@<head sha>").
	Key string
	// Payload is the body exactly as received.
	Payload    []byte
	ReceivedAt time.Time

	// Set by the store.
	State       DeliveryState
	Attempts    int       // processing attempts that ended in Retry or Bury
	NextAttempt time.Time // when a pending delivery becomes due
	LastError   string
	DoneAt      time.Time
}

// DeliveryState is where a delivery stands in the inbox.
type DeliveryState string

// The states of a delivery. A claimed delivery whose lease expires (its
// worker died) is due again, as if pending.
const (
	StatePending DeliveryState = "pending"
	StateClaimed DeliveryState = "claimed"
	StateDone    DeliveryState = "done"
	StateDead    DeliveryState = "dead" // gave up: a dead letter
)

// ErrLeaseLost is returned by Complete, Retry and Bury when the worker no
// longer holds the delivery's lease (it expired and another worker took it).
var ErrLeaseLost = errors.New("lease lost: another worker holds this delivery")

// ErrNotFound is returned when a stored thing does not exist.
var ErrNotFound = errors.New("not found")

// Inbox is the durable queue of deliveries. Implementations must be safe for
// concurrent use by several goroutines and, for PostgreSQL, several processes
// sharing one database. Every method that returns nil has made its change
// durable (committed, fsynced as the database does).
type Inbox interface {
	// Enqueue stores d as pending, due now. It reports false, and changes
	// nothing, when a delivery with the same ID is already stored, in any
	// state.
	Enqueue(ctx context.Context, d Delivery) (bool, error)
	// Claim leases up to n due deliveries to worker until now+lease, oldest
	// ReceivedAt first. Due means pending with NextAttempt <= now, or claimed
	// with an expired lease. A delivery whose non-empty Key is shared with
	// another delivery under an unexpired lease is not due; one Claim never
	// returns two deliveries with the same non-empty Key.
	Claim(ctx context.Context, worker string, n int, now time.Time, lease time.Duration) ([]Delivery, error)
	// Complete marks a delivery claimed by worker done.
	Complete(ctx context.Context, id, worker string, now time.Time) error
	// Retry puts a delivery claimed by worker back as pending, due at at,
	// with Attempts incremented and reason kept as LastError.
	Retry(ctx context.Context, id, worker string, at time.Time, reason string) error
	// Release puts a delivery claimed by worker back as pending, due at at,
	// without counting an attempt and keeping LastError: the work was
	// interrupted (shutdown), not failed.
	Release(ctx context.Context, id, worker string, at time.Time) error
	// Bury gives up on a delivery claimed by worker: it becomes dead, with
	// Attempts incremented and reason kept, and is never claimed again.
	Bury(ctx context.Context, id, worker string, now time.Time, reason string) error
	// Delivery returns one delivery by id, or ErrNotFound.
	Delivery(ctx context.Context, id string) (Delivery, error)
	// Known reports which of ids are stored, in any state.
	Known(ctx context.Context, ids []string) (map[string]bool, error)
	// Counts returns how many deliveries are in each state.
	Counts(ctx context.Context) (map[DeliveryState]int, error)
	// Extend moves the lease of a delivery claimed by worker to until (a
	// long site build keeps its claim); ErrLeaseLost when worker no longer
	// holds it.
	Extend(ctx context.Context, id, worker string, until time.Time) error
	// Deliveries lists stored deliveries that match f, oldest ReceivedAt
	// first (then by ID); with f.Limit > 0, at most that many.
	Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// Requeue makes the listed deliveries pending again, due at now, with
	// Attempts back to 0 and LastError kept: a dead letter retried by an
	// operator, or a done delivery replayed. Claimed deliveries (someone is
	// working on them) and unknown ids are left alone. It returns the ids
	// it requeued.
	Requeue(ctx context.Context, ids []string, now time.Time) ([]string, error)
	// Prune deletes done deliveries whose DoneAt is before before, and
	// returns how many. Pending, claimed and dead ones are never pruned.
	Prune(ctx context.Context, before time.Time) (int, error)
}

// DeliveryFilter selects deliveries. Zero fields match everything.
type DeliveryFilter struct {
	// States: any of these (empty: all states).
	States []DeliveryState
	// Repository compares without case; Event exactly.
	Repository string
	Event      string
	// Since and Until bound ReceivedAt: Since <= ReceivedAt < Until.
	Since, Until time.Time
	Limit        int
}

// CheckRun is what backstory last wrote for one check run, so that an
// unchanged verdict is not written again and a check run is found by head
// SHA and name instead of being created twice.
type CheckRun struct {
	Repository string // owner/repo
	HeadSHA    string
	Name       string
	// ID is GitHub's check run id.
	ID int64
	// ContentHash identifies the status, conclusion, title, summary, text
	// and actions last written; AnnotationsHash the annotations.
	ContentHash     string
	AnnotationsHash string
	UpdatedAt       time.Time
}

// Waiver is a "Not needed" press on a pull request's check.
type Waiver struct {
	Repository string
	PR         int
	By         string // GitHub login
	At         time.Time
}

// RecordNumber is a numbered record a pull request adds, for catching two
// open PRs that take the same number.
type RecordNumber struct {
	Folder string // the record's folder relative to the repository root
	Number int
	Path   string
}

// CheckState is what the check remembers between evaluations.
type CheckState interface {
	// CheckRun returns the stored check run for repo, sha and name, or
	// ErrNotFound.
	CheckRun(ctx context.Context, repo, sha, name string) (CheckRun, error)
	// SaveCheckRun stores r, replacing any with the same repo, sha and name.
	SaveCheckRun(ctx context.Context, r CheckRun) error
	// Waiver returns the waiver of a pull request, or ErrNotFound.
	Waiver(ctx context.Context, repo string, pr int) (Waiver, error)
	// SaveWaiver stores w, replacing any earlier waiver of the same PR.
	SaveWaiver(ctx context.Context, w Waiver) error
	// DeleteWaiver removes a PR's waiver; no error when there is none.
	DeleteWaiver(ctx context.Context, repo string, pr int) error
	// SetOpenPRRecords replaces the numbered records that open PR pr of repo
	// adds; an empty list removes the PR (closed, merged, or none added).
	SetOpenPRRecords(ctx context.Context, repo string, pr int, records []RecordNumber) error
	// OpenPRRecords returns the numbered records every open PR of repo adds.
	OpenPRRecords(ctx context.Context, repo string) (map[int][]RecordNumber, error)
}

// Intent is the why of one merged pull request, captured when it merged:
// the site tells it with the records it cited and the paths it changed.
type Intent struct {
	Repository string // owner/repo
	PR         int
	Title      string
	Author     string
	URL        string // the PR's page on GitHub
	MergedAt   time.Time
	MergeSHA   string
	// Why is the markdown of the PR body's why section (the intent
	// headings of the repository's check configuration), "" when it has
	// none.
	Why string
	// Records are the records the PR cited or changed, as global keys
	// ("owner/repo:ADR-0012").
	Records []string
	// Paths are the files the PR changed (at most 3,000, as GitHub lists).
	Paths []string
}

// IntentStore keeps the intents of merged pull requests.
type IntentStore interface {
	// SaveIntent stores i, replacing an intent of the same repository and
	// PR (a redelivered "closed" event captures it again).
	SaveIntent(ctx context.Context, i Intent) error
	// Intents returns the intents of the given repositories (compared
	// without case), oldest merge first, then by repository and PR.
	Intents(ctx context.Context, repos []string) ([]Intent, error)
	// DeleteIntents forgets every intent of a repository (the App was
	// removed from it).
	DeleteIntents(ctx context.Context, repo string) error
}

// StoredText is s as every store keeps it: invalid UTF-8 and NUL bytes
// (which PostgreSQL cannot store) become U+FFFD, in every store alike.
func StoredText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// StoredIntent is i as every store keeps it: its texts through StoredText,
// its lists copies and never nil.
func StoredIntent(i Intent) Intent {
	i.Repository, i.Title, i.Author, i.URL = StoredText(i.Repository), StoredText(i.Title), StoredText(i.Author), StoredText(i.URL)
	i.MergeSHA, i.Why = StoredText(i.MergeSHA), StoredText(i.Why)
	for _, list := range []*[]string{&i.Records, &i.Paths} {
		out := make([]string, len(*list))
		for k, v := range *list {
			out[k] = StoredText(v)
		}
		*list = out
	}
	return i
}

// StoredRepoFiles is a SaveRepoFiles call as every store keeps it: its
// texts through StoredText, Files zeroed (the store counts) and, for a
// Complete save, no removed paths (they are ignored, so never refused), or
// an error for a save that cannot be stored as asked: no repository or read
// time, a file without a path, a path changed twice or both changed and
// removed.
func StoredRepoFiles(snap RepoSnapshot, changed []RepoFile, removed []string) (RepoSnapshot, []RepoFile, []string, error) {
	if snap.Repository == "" || snap.ReadAt.IsZero() {
		return snap, nil, nil, fmt.Errorf("save files of %q: no repository or read time (ReadAt %s)", snap.Repository, snap.ReadAt)
	}
	if snap.Complete {
		removed = nil
	}
	snap.Repository, snap.Branch, snap.TreeSHA = StoredText(snap.Repository), StoredText(snap.Branch), StoredText(snap.TreeSHA)
	snap.Files = 0
	seen := make(map[string]bool, len(changed))
	files := make([]RepoFile, len(changed))
	for i, f := range changed {
		f.Path, f.Blob = StoredText(f.Path), StoredText(f.Blob)
		if f.Path == "" {
			return snap, nil, nil, fmt.Errorf("save files of %s: changed file %d has no path", snap.Repository, i)
		}
		if seen[f.Path] {
			return snap, nil, nil, fmt.Errorf("save files of %s: %q is changed twice", snap.Repository, f.Path)
		}
		seen[f.Path] = true
		files[i] = f
	}
	gone := make([]string, len(removed))
	for i, p := range removed {
		gone[i] = StoredText(p)
		if seen[gone[i]] {
			return snap, nil, nil, fmt.Errorf("save files of %s: %q is both changed and removed", snap.Repository, gone[i])
		}
	}
	return snap, files, gone, nil
}

// StoredReview is r as every store keeps it, its texts through StoredText,
// or an error when it lacks what identifies it.
func StoredReview(r ReviewIssue) (ReviewIssue, error) {
	r.Repository, r.Record, r.ReviewBy = StoredText(r.Repository), StoredText(r.Record), StoredText(r.ReviewBy)
	if r.Repository == "" || r.Record == "" || r.ReviewBy == "" {
		return r, fmt.Errorf("review: no repository, record or review date (%q, %q, %q)", r.Repository, r.Record, r.ReviewBy)
	}
	return r, nil
}

// RepositoryKey is how the stores compare intents' repository names:
// without case, as GitHub does.
func RepositoryKey(repo string) string {
	return strings.ToLower(StoredText(repo))
}

// RepoFile is one file of a repository's default branch that backstory
// keeps: a record, the configuration or the pull request template.
type RepoFile struct {
	Path string // slash-separated, relative to the repository root
	Blob string // its git blob SHA
	Data []byte
}

// RepoSnapshot says what the stored files of a repository are: its default
// branch as read at ReadAt.
type RepoSnapshot struct {
	Repository string // owner/repo as last saved
	// RepositoryID is GitHub's id of the repository (0: unknown): a
	// repository deleted and created again under the same name is another
	// repository, and its stored files are not used for it.
	RepositoryID int64
	Installation int64
	Branch       string
	// TreeSHA is the tree the files are; "" when the branch moved while
	// they were read (they are then read again when next needed).
	TreeSHA string
	// ReadAt is when the tree was asked of GitHub. A snapshot is replaced
	// only by one read later, so a slow reader never undoes a newer one.
	ReadAt time.Time
	// Files is how many files are stored (set by the store).
	Files int
	// Complete says that a save's changed files are every file of the
	// tree: the store deletes, in the same transaction, every stored file
	// of the repository that is not among them (removed is then ignored).
	// A save computed from what another replica stored a moment ago could
	// otherwise leave files of another tree behind.
	Complete bool
}

// RepoStore keeps the files backstory reads from each repository's default
// branch, so that a site build reads them from the store, not GitHub, and
// every replica shares what one of them read.
type RepoStore interface {
	// SaveRepoFiles records snap, and in the same transaction stores the
	// changed files (replacing those with the same path) and deletes the
	// removed paths, or with snap.Complete every other stored file. When
	// the stored snapshot of the repository (compared without case) has a
	// later ReadAt, it changes nothing and returns false. RepoSnapshots and
	// RepoFiles return Complete false.
	SaveRepoFiles(ctx context.Context, snap RepoSnapshot, changed []RepoFile, removed []string) (bool, error)
	// RepoSnapshots returns the stored snapshots of repos, keyed by
	// RepositoryKey; a repository without one is absent.
	RepoSnapshots(ctx context.Context, repos []string) (map[string]RepoSnapshot, error)
	// RepoFiles returns the snapshot and the stored files of repo, sorted by
	// path; ErrNotFound when it has no snapshot.
	RepoFiles(ctx context.Context, repo string) (RepoSnapshot, []RepoFile, error)
	// DeleteRepo forgets a repository's snapshot and files; no error when
	// there are none.
	DeleteRepo(ctx context.Context, repo string) error
}

// ReviewIssue is the issue backstory opens when a decision's review is due:
// one per record and review date, never two.
type ReviewIssue struct {
	Repository string // owner/repo
	Record     string // the record's id ("ADR-0012")
	ReviewBy   string // the review date, 2006-01-02
	// Number is the issue's number; 0 while it is being opened.
	Number     int
	ReservedAt time.Time
}

// ReviewStore remembers the review issues backstory opened.
type ReviewStore interface {
	// ReserveReview records that r (Number 0) is about to be opened. When
	// the same repository (without case), record and review date is
	// already stored, it changes nothing and returns that one and false.
	ReserveReview(ctx context.Context, r ReviewIssue) (ReviewIssue, bool, error)
	// SaveReview sets the issue number of a reserved review; ErrNotFound
	// when it was not reserved.
	SaveReview(ctx context.Context, r ReviewIssue) error
}

// Store is all of backstory's state: SQLite by default, PostgreSQL for
// several replicas. The same contract suite (app/storetest) runs against
// both.
type Store interface {
	Inbox
	CheckState
	IntentStore
	RepoStore
	ReviewStore
	// Ping reports whether the store answers (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// TemporaryError is a failure that may pass: processing is retried, at or
// after At when GitHub said when (Retry-After, X-RateLimit-Reset), else
// with exponential backoff.
type TemporaryError struct {
	Err error
	At  time.Time // zero: use backoff
}

func (e *TemporaryError) Error() string {
	if e.At.IsZero() {
		return fmt.Sprintf("temporary: %v", e.Err)
	}
	return fmt.Sprintf("temporary, retry after %s: %v", e.At.UTC().Format(time.RFC3339), e.Err)
}

func (e *TemporaryError) Unwrap() error { return e.Err }

// RejectedError is GitHub refusing a request for what it is (a 4xx other
// than 404 and the rate limits: a 422 validation failure, a 403 for a
// permission the App lacks), or backstory refusing to send what GitHub would
// refuse. Retrying the same request cannot succeed.
type RejectedError struct {
	Status int // the HTTP status; 0 when refused before sending
	Err    error
}

func (e *RejectedError) Error() string { return e.Err.Error() }

func (e *RejectedError) Unwrap() error { return e.Err }

// IsRejected reports whether err is, or wraps, a *RejectedError.
func IsRejected(err error) bool {
	var r *RejectedError
	return errors.As(err, &r)
}

// RetryAt reports whether err is temporary, and when to retry (zero: use
// backoff).
func RetryAt(err error) (time.Time, bool) {
	var t *TemporaryError
	if errors.As(err, &t) {
		return t.At, true
	}
	return time.Time{}, false
}
