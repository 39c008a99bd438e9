// Package memory is an app.Store held in maps behind one mutex. It keeps the
// exact semantics of the contract in package app (deduplication, claim order,
// leases, Key exclusion, ErrLeaseLost, Attempts) so that handlers, the
// webhook ingress and the worker can be tested without a database. It is not
// durable: everything is lost when the process ends, so backstory serve never
// uses it.
package memory

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// errClosed is returned by every method of a closed Store.
var errClosed = errors.New("memory store: closed")

// Store is an in-memory app.Store. The zero value is not ready: use New.
type Store struct {
	d      *data
	closed atomic.Bool
}

// data is what a Store holds; Reopen shares it between handles, as two
// connections share a database file.
type data struct {
	mu  sync.Mutex
	seq uint64 // enqueue order, to break ReceivedAt ties stably

	deliveries map[string]*entry
	// active holds the deliveries that Claim may still hand out (pending or
	// claimed), so that a long-lived store full of done deliveries claims
	// as fast as an empty one.
	active map[string]*entry

	checkRuns map[checkRunKey]app.CheckRun
	waivers   map[prKey]app.Waiver
	openPRs   map[string]map[int][]app.RecordNumber
	// intents are keyed by repository lower-cased (repoKey) and PR.
	intents map[prKey]app.Intent
	// repos and reviews are keyed by repository lower-cased too.
	repos   map[string]*repo
	reviews map[reviewKey]app.ReviewIssue
}

type entry struct {
	d          app.Delivery
	seq        uint64
	worker     string
	leaseUntil time.Time
}

type checkRunKey struct{ repo, sha, name string }

type prKey struct {
	repo string
	pr   int
}

// New returns an empty Store.
func New() *Store {
	return &Store{d: &data{
		deliveries: make(map[string]*entry),
		active:     make(map[string]*entry),
		checkRuns:  make(map[checkRunKey]app.CheckRun),
		waivers:    make(map[prKey]app.Waiver),
		openPRs:    make(map[string]map[int][]app.RecordNumber),
		intents:    make(map[prKey]app.Intent),
		repos:      make(map[string]*repo),
		reviews:    make(map[reviewKey]app.ReviewIssue),
	}}
}

// Reopen returns a new, open Store over the same data, as reopening a
// database would after a restart: leases, attempts and check state are all
// still there. The receiver may be closed.
func (s *Store) Reopen() *Store {
	return &Store{d: s.d}
}

var _ app.Store = (*Store)(nil)

// lock takes the mutex and reports whether the store is usable; on error the
// mutex is already released.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return errClosed
	}
	s.d.mu.Lock()
	return nil
}

// Enqueue stores d as pending, due at once. The payload is copied: the
// caller may reuse its buffer.
func (s *Store) Enqueue(ctx context.Context, d app.Delivery) (bool, error) {
	if d.ID == "" {
		return false, errors.New("memory store: enqueue: delivery has no id")
	}
	if err := s.lock(ctx); err != nil {
		return false, err
	}
	defer s.d.mu.Unlock()
	if _, ok := s.d.deliveries[d.ID]; ok {
		return false, nil
	}
	d.Payload = slices.Clone(d.Payload)
	d.State = app.StatePending
	d.Attempts = 0
	// Due at once whatever clock the claimer uses: tests drive Claim with
	// fixed times that may precede the wall-clock ReceivedAt.
	d.NextAttempt = time.Time{}
	d.LastError = ""
	d.DoneAt = time.Time{}
	s.d.seq++
	e := &entry{d: d, seq: s.d.seq}
	s.d.deliveries[d.ID] = e
	s.d.active[d.ID] = e
	return true, nil
}

// Claim leases up to n due deliveries to worker, oldest ReceivedAt first
// (enqueue order among equal times), never two with the same non-empty Key
// and none whose Key another unexpired lease holds.
func (s *Store) Claim(ctx context.Context, worker string, n int, now time.Time, lease time.Duration) ([]app.Delivery, error) {
	if worker == "" {
		return nil, errors.New("memory store: claim: empty worker name")
	}
	if lease <= 0 {
		return nil, fmt.Errorf("memory store: claim: lease must be positive, got %s", lease)
	}
	if n <= 0 {
		return nil, nil
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.d.mu.Unlock()

	held := make(map[string]bool)
	var due []*entry
	for _, e := range s.d.active {
		switch {
		case e.d.State == app.StateClaimed && e.leaseUntil.After(now):
			if e.d.Key != "" {
				held[e.d.Key] = true
			}
		case e.d.State == app.StateClaimed, !e.d.NextAttempt.After(now):
			due = append(due, e)
		}
	}
	slices.SortFunc(due, func(a, b *entry) int {
		if c := a.d.ReceivedAt.Compare(b.d.ReceivedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})

	var out []app.Delivery
	for _, e := range due {
		if len(out) == n {
			break
		}
		if e.d.Key != "" {
			if held[e.d.Key] {
				continue
			}
			held[e.d.Key] = true
		}
		e.d.State = app.StateClaimed
		e.worker = worker
		e.leaseUntil = now.Add(lease)
		out = append(out, e.copy())
	}
	return out, nil
}

// holder returns the entry of id if worker holds its claim. A lease that
// expired is still held until another worker claims the delivery: nobody
// else has started on it, so finishing is safe.
func (s *Store) holder(id, worker string) (*entry, error) {
	e, ok := s.d.deliveries[id]
	if !ok {
		return nil, fmt.Errorf("memory store: delivery %q: %w", id, app.ErrNotFound)
	}
	if e.d.State != app.StateClaimed || e.worker != worker {
		return nil, fmt.Errorf("memory store: delivery %q, worker %q: %w", id, worker, app.ErrLeaseLost)
	}
	return e, nil
}

// Complete marks a delivery claimed by worker done.
func (s *Store) Complete(ctx context.Context, id, worker string, now time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	e, err := s.holder(id, worker)
	if err != nil {
		return err
	}
	e.d.State = app.StateDone
	e.d.DoneAt = now
	e.release()
	delete(s.d.active, id)
	return nil
}

// Retry puts a delivery claimed by worker back as pending, due at at.
func (s *Store) Retry(ctx context.Context, id, worker string, at time.Time, reason string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	e, err := s.holder(id, worker)
	if err != nil {
		return err
	}
	e.d.State = app.StatePending
	e.d.NextAttempt = at
	e.d.Attempts++
	e.d.LastError = reason
	e.release()
	return nil
}

// Release puts a delivery claimed by worker back, due at at, without
// counting an attempt.
func (s *Store) Release(ctx context.Context, id, worker string, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	e, err := s.holder(id, worker)
	if err != nil {
		return err
	}
	e.d.State = app.StatePending
	e.d.NextAttempt = at
	e.release()
	return nil
}

// Bury makes a delivery claimed by worker dead: it is never claimed again.
func (s *Store) Bury(ctx context.Context, id, worker string, now time.Time, reason string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	e, err := s.holder(id, worker)
	if err != nil {
		return err
	}
	e.d.State = app.StateDead
	e.d.Attempts++
	e.d.LastError = reason
	e.d.DoneAt = now
	e.release()
	delete(s.d.active, id)
	return nil
}

func (e *entry) release() {
	e.worker = ""
	e.leaseUntil = time.Time{}
}

// copy returns the delivery with its own payload, so that callers cannot
// change what the store holds.
func (e *entry) copy() app.Delivery {
	d := e.d
	d.Payload = slices.Clone(d.Payload)
	return d
}

// Delivery returns one delivery by id, or app.ErrNotFound.
func (s *Store) Delivery(ctx context.Context, id string) (app.Delivery, error) {
	if err := s.lock(ctx); err != nil {
		return app.Delivery{}, err
	}
	defer s.d.mu.Unlock()
	e, ok := s.d.deliveries[id]
	if !ok {
		return app.Delivery{}, fmt.Errorf("memory store: delivery %q: %w", id, app.ErrNotFound)
	}
	return e.copy(), nil
}

// Known reports which of ids are stored, in any state.
func (s *Store) Known(ctx context.Context, ids []string) (map[string]bool, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.d.mu.Unlock()
	known := make(map[string]bool, len(ids))
	for _, id := range ids {
		if _, ok := s.d.deliveries[id]; ok {
			known[id] = true
		}
	}
	return known, nil
}

// Counts returns how many deliveries are in each state. A claimed delivery
// counts as claimed until someone finishes or reclaims it, even once its
// lease has expired.
func (s *Store) Counts(ctx context.Context) (map[app.DeliveryState]int, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.d.mu.Unlock()
	counts := make(map[app.DeliveryState]int)
	for _, e := range s.d.deliveries {
		counts[e.d.State]++
	}
	return counts, nil
}

// Extend moves the lease of a delivery claimed by worker to until. Like
// Complete, it succeeds on an expired lease nobody has taken over.
func (s *Store) Extend(ctx context.Context, id, worker string, until time.Time) error {
	if until.IsZero() {
		return fmt.Errorf("memory store: extend delivery %q: no lease end", id)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	e, err := s.holder(id, worker)
	if err != nil {
		return err
	}
	e.leaseUntil = until
	return nil
}

// Deliveries lists the deliveries that match f, oldest ReceivedAt first,
// then by ID, each with its payload.
func (s *Store) Deliveries(ctx context.Context, f app.DeliveryFilter) ([]app.Delivery, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.d.mu.Unlock()
	var match []*entry
	for _, e := range s.d.deliveries {
		if matches(e.d, f) {
			match = append(match, e)
		}
	}
	slices.SortFunc(match, func(a, b *entry) int {
		return cmp.Or(a.d.ReceivedAt.Compare(b.d.ReceivedAt), cmp.Compare(a.d.ID, b.d.ID))
	})
	if f.Limit > 0 && len(match) > f.Limit {
		match = match[:f.Limit]
	}
	out := make([]app.Delivery, len(match))
	for i, e := range match {
		out[i] = e.copy()
	}
	return out, nil
}

// matches reports whether d is one f selects.
func matches(d app.Delivery, f app.DeliveryFilter) bool {
	switch {
	case len(f.States) > 0 && !slices.Contains(f.States, d.State),
		f.Repository != "" && repoKey(d.Repository) != repoKey(f.Repository),
		f.Event != "" && d.Event != f.Event,
		!f.Since.IsZero() && d.ReceivedAt.Before(f.Since),
		!f.Until.IsZero() && !d.ReceivedAt.Before(f.Until):
		return false
	}
	return true
}

// Requeue makes the listed dead and done deliveries pending, due at now,
// with no attempts counted; it returns their ids in the order listed.
func (s *Store) Requeue(ctx context.Context, ids []string, now time.Time) ([]string, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.d.mu.Unlock()
	out := []string{}
	for _, id := range ids {
		e, ok := s.d.deliveries[id]
		if !ok || (e.d.State != app.StateDead && e.d.State != app.StateDone) {
			continue
		}
		e.d.State = app.StatePending
		e.d.Attempts = 0
		e.d.NextAttempt = now
		e.d.DoneAt = time.Time{}
		s.d.active[id] = e
		out = append(out, id)
	}
	return out, nil
}

// Prune deletes the done deliveries whose DoneAt is before before. A pruned
// delivery is forgotten entirely: Known no longer reports it, so if GitHub
// redelivers it, Enqueue stores it again as new.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.d.mu.Unlock()
	n := 0
	for id, e := range s.d.deliveries {
		// A zero DoneAt is never before anything, as NULL in SQL.
		if e.d.State == app.StateDone && !e.d.DoneAt.IsZero() && e.d.DoneAt.Before(before) {
			delete(s.d.deliveries, id)
			n++
		}
	}
	return n, nil
}

// CheckRun returns the stored check run for repo, sha and name, or
// app.ErrNotFound.
func (s *Store) CheckRun(ctx context.Context, repo, sha, name string) (app.CheckRun, error) {
	if err := s.lock(ctx); err != nil {
		return app.CheckRun{}, err
	}
	defer s.d.mu.Unlock()
	r, ok := s.d.checkRuns[checkRunKey{repo, sha, name}]
	if !ok {
		return app.CheckRun{}, fmt.Errorf("memory store: check run %q on %s@%s: %w", name, repo, sha, app.ErrNotFound)
	}
	return r, nil
}

// SaveCheckRun stores r, replacing any with the same repo, sha and name.
func (s *Store) SaveCheckRun(ctx context.Context, r app.CheckRun) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	s.d.checkRuns[checkRunKey{r.Repository, r.HeadSHA, r.Name}] = r
	return nil
}

// Waiver returns the waiver of a pull request, or app.ErrNotFound.
func (s *Store) Waiver(ctx context.Context, repo string, pr int) (app.Waiver, error) {
	if err := s.lock(ctx); err != nil {
		return app.Waiver{}, err
	}
	defer s.d.mu.Unlock()
	w, ok := s.d.waivers[prKey{repo, pr}]
	if !ok {
		return app.Waiver{}, fmt.Errorf("memory store: waiver of %s#%d: %w", repo, pr, app.ErrNotFound)
	}
	return w, nil
}

// SaveWaiver stores w, replacing any earlier waiver of the same PR.
func (s *Store) SaveWaiver(ctx context.Context, w app.Waiver) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	s.d.waivers[prKey{w.Repository, w.PR}] = w
	return nil
}

// DeleteWaiver removes a PR's waiver, if any.
func (s *Store) DeleteWaiver(ctx context.Context, repo string, pr int) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	delete(s.d.waivers, prKey{repo, pr})
	return nil
}

// SetOpenPRRecords replaces the numbered records open PR pr of repo adds;
// an empty list forgets the PR.
func (s *Store) SetOpenPRRecords(ctx context.Context, repo string, pr int, records []app.RecordNumber) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	prs := s.d.openPRs[repo]
	if len(records) == 0 {
		delete(prs, pr)
		if len(prs) == 0 {
			delete(s.d.openPRs, repo)
		}
		return nil
	}
	if prs == nil {
		prs = make(map[int][]app.RecordNumber)
		s.d.openPRs[repo] = prs
	}
	prs[pr] = slices.Clone(records)
	return nil
}

// OpenPRRecords returns the numbered records every open PR of repo adds.
func (s *Store) OpenPRRecords(ctx context.Context, repo string) (map[int][]app.RecordNumber, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.d.mu.Unlock()
	out := make(map[int][]app.RecordNumber, len(s.d.openPRs[repo]))
	for pr, recs := range s.d.openPRs[repo] {
		out[pr] = slices.Clone(recs)
	}
	return out, nil
}

// The stores keep texts and compare repository names alike (app.StoredText).
var (
	cleanText   = app.StoredText
	cleanIntent = app.StoredIntent
	repoKey     = app.RepositoryKey
)

// SaveIntent stores i, replacing an intent of the same repository (compared
// without case) and PR.
func (s *Store) SaveIntent(ctx context.Context, i app.Intent) error {
	if i.Repository == "" || i.PR <= 0 {
		return fmt.Errorf("memory store: save intent: no repository or PR number (%q#%d)", i.Repository, i.PR)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	s.d.intents[prKey{repoKey(i.Repository), i.PR}] = cleanIntent(i)
	return nil
}

// Intents returns the intents of repos (compared without case), oldest
// merge first, then by repository (lower-cased) and PR.
func (s *Store) Intents(ctx context.Context, repos []string) ([]app.Intent, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.d.mu.Unlock()
	want := make(map[string]bool, len(repos))
	for _, r := range repos {
		want[repoKey(r)] = true
	}
	out := []app.Intent{}
	for k, i := range s.d.intents {
		if want[k.repo] {
			i.Records, i.Paths = slices.Clone(i.Records), slices.Clone(i.Paths)
			out = append(out, i)
		}
	}
	slices.SortFunc(out, func(a, b app.Intent) int {
		return cmp.Or(a.MergedAt.Compare(b.MergedAt), cmp.Compare(repoKey(a.Repository), repoKey(b.Repository)), cmp.Compare(a.PR, b.PR))
	})
	return out, nil
}

// DeleteIntents forgets every intent of repo (compared without case).
func (s *Store) DeleteIntents(ctx context.Context, repo string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	key := repoKey(repo)
	for k := range s.d.intents {
		if k.repo == key {
			delete(s.d.intents, k)
		}
	}
	return nil
}

// repo is what RepoStore keeps of one repository.
type repo struct {
	snap  app.RepoSnapshot
	files map[string]app.RepoFile // by path
}

// SaveRepoFiles records snap and applies changed and removed (or, with
// snap.Complete, replaces every stored file by changed) to the stored files,
// unless the stored snapshot was read later; it keeps copies of the files'
// data.
func (s *Store) SaveRepoFiles(ctx context.Context, snap app.RepoSnapshot, changed []app.RepoFile, removed []string) (bool, error) {
	snap, changed, removed, err := app.StoredRepoFiles(snap, changed, removed)
	if err != nil {
		return false, fmt.Errorf("memory store: %w", err)
	}
	if err := s.lock(ctx); err != nil {
		return false, err
	}
	defer s.d.mu.Unlock()
	key := repoKey(snap.Repository)
	r := s.d.repos[key]
	if r == nil {
		r = &repo{files: make(map[string]app.RepoFile)}
		s.d.repos[key] = r
	} else if r.snap.ReadAt.After(snap.ReadAt) {
		return false, nil
	}
	if snap.Complete {
		clear(r.files)
	}
	for _, f := range changed {
		f.Data = bytes.Clone(f.Data)
		r.files[f.Path] = f
	}
	for _, p := range removed {
		delete(r.files, p)
	}
	r.snap = snap
	r.snap.Files, r.snap.Complete = len(r.files), false
	return true, nil
}

// RepoSnapshots returns the stored snapshots of repos, keyed by
// app.RepositoryKey.
func (s *Store) RepoSnapshots(ctx context.Context, repos []string) (map[string]app.RepoSnapshot, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.d.mu.Unlock()
	out := make(map[string]app.RepoSnapshot, len(repos))
	for _, name := range repos {
		key := repoKey(name)
		if r, ok := s.d.repos[key]; ok {
			out[key] = r.snap
		}
	}
	return out, nil
}

// RepoFiles returns the snapshot and copies of the stored files of repo,
// sorted by path; app.ErrNotFound when it has no snapshot.
func (s *Store) RepoFiles(ctx context.Context, name string) (app.RepoSnapshot, []app.RepoFile, error) {
	if err := s.lock(ctx); err != nil {
		return app.RepoSnapshot{}, nil, err
	}
	defer s.d.mu.Unlock()
	r, ok := s.d.repos[repoKey(name)]
	if !ok {
		return app.RepoSnapshot{}, nil, fmt.Errorf("memory store: files of %s: %w", name, app.ErrNotFound)
	}
	files := make([]app.RepoFile, 0, len(r.files))
	for _, f := range r.files {
		f.Data = bytes.Clone(f.Data)
		if f.Data == nil {
			f.Data = []byte{}
		}
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b app.RepoFile) int { return cmp.Compare(a.Path, b.Path) })
	return r.snap, files, nil
}

// DeleteRepo forgets repo's snapshot and files.
func (s *Store) DeleteRepo(ctx context.Context, name string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	delete(s.d.repos, repoKey(name))
	return nil
}

type reviewKey struct{ repo, record, reviewBy string }

// ReserveReview records r, Number 0, unless the same repository (compared
// without case), record and review date is stored: then it returns that one
// and false.
func (s *Store) ReserveReview(ctx context.Context, r app.ReviewIssue) (app.ReviewIssue, bool, error) {
	r, err := app.StoredReview(r)
	if err != nil {
		return app.ReviewIssue{}, false, fmt.Errorf("memory store: reserve %w", err)
	}
	if r.Number != 0 {
		return app.ReviewIssue{}, false, fmt.Errorf("memory store: reserve review of %s %s: issue number %d before the issue is opened", r.Repository, r.Record, r.Number)
	}
	if err := s.lock(ctx); err != nil {
		return app.ReviewIssue{}, false, err
	}
	defer s.d.mu.Unlock()
	key := reviewKey{repoKey(r.Repository), r.Record, r.ReviewBy}
	if stored, ok := s.d.reviews[key]; ok {
		return stored, false, nil
	}
	s.d.reviews[key] = r
	return r, true, nil
}

// SaveReview sets the issue number of a reserved review; app.ErrNotFound
// when it was not reserved.
func (s *Store) SaveReview(ctx context.Context, r app.ReviewIssue) error {
	r, err := app.StoredReview(r)
	if err != nil {
		return fmt.Errorf("memory store: save %w", err)
	}
	if r.Number <= 0 {
		return fmt.Errorf("memory store: save review of %s %s: issue number %d, want 1 or more", r.Repository, r.Record, r.Number)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.d.mu.Unlock()
	key := reviewKey{repoKey(r.Repository), r.Record, r.ReviewBy}
	stored, ok := s.d.reviews[key]
	if !ok {
		return fmt.Errorf("memory store: save review of %s %s by %s: %w", r.Repository, r.Record, r.ReviewBy, app.ErrNotFound)
	}
	stored.Number = r.Number
	s.d.reviews[key] = stored
	return nil
}

// Ping reports an error once the store is closed.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	s.d.mu.Unlock()
	return nil
}

// Close makes every later call through this Store fail; handles made by
// Reopen are not affected. Closing twice is not an error.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}
