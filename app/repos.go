package app

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backstory-dev/backstory/app/check"
	"github.com/backstory-dev/backstory/content"
)

// repoState is what a check needs from a repository's default branch, as of
// one tree: its configuration, its records and its pull request template.
type repoState struct {
	Repo    string
	Branch  string
	TreeSHA string
	// Config is the check's configuration, the org's defaults merged under
	// the repository's; Problems are what was wrong with either file.
	Config   check.Config
	Problems []content.Problem
	// Records is the repository as content sees it (record folders, id
	// pattern); Corpus its records.
	Records  *content.Repo
	Corpus   *content.Corpus
	Governs  *content.GovernIndex
	Template string
	// ConfigData is the repository's own .github/backstory.yml (nil: none),
	// read when the state was built; ConfigName is its path.
	ConfigData []byte
	ConfigName string
	checked    time.Time
	// readAt is when the tree was asked of GitHub, here or by the replica
	// that stored it.
	readAt time.Time
	// FilesHash identifies the files read (their paths and blob ids): it
	// changes when a record, the configuration or the template does, not
	// when other code does.
	FilesHash string
}

// templatePaths are where GitHub looks for a pull request template,
// compared case-insensitively.
var templatePaths = []string{
	".github/pull_request_template.md", "pull_request_template.md", "docs/pull_request_template.md",
}

// archiveThreshold is how many changed files make one tarball cheaper than
// one request per file.
const archiveThreshold = 25

// maxRecordBytes is the largest file read as a record.
const maxRecordBytes = 1 << 20

// repoCache keeps, per repository, a mirror on disk of the files a check
// reads (configuration, records, PR template) and the state built from them.
// A state is reused while it is younger than ttl and no push invalidated it;
// after that the default branch's tree is asked for again, conditionally, and
// only files whose blob changed are fetched.
type repoCache struct {
	dir    string
	ttl    time.Duration
	now    func() time.Time
	webURL string
	// store shares what one replica read with the others (nil: this
	// process's mirror only). maxStoredAge is how long a site build
	// trusts a stored snapshot without asking GitHub again.
	store        RepoStore
	maxStoredAge time.Duration

	mu    sync.Mutex
	repos map[string]*repoEntry
	orgs  map[string]*orgEntry
}

type repoEntry struct {
	mu     sync.Mutex
	state  *repoState
	blobs  map[string]string // path in the mirror → blob sha
	stale  atomic.Bool       // set by Invalidate without waiting for mu
	loader content.Loader
	used   atomic.Int64 // when State last used it (unix nanoseconds), for eviction
	gone   bool         // evicted: whoever holds it must look the repository up again
	// rejected is the ReadAt of the last stored snapshot found unusable.
	rejected time.Time
	// id is GitHub's id of the repository, 0 until known.
	id int64
}

// maxCachedRepos bounds the repositories whose state and mirror are kept;
// the least recently used beyond it are dropped (and read again if needed).
const maxCachedRepos = 512

type orgEntry struct {
	mu      sync.Mutex
	data    []byte
	checked time.Time
	stale   atomic.Bool
}

// defaultMaxStoredAge is how long a site build trusts the stored files of
// a repository that no push refreshed. It is shorter than the day between
// daily builds, so a push whose delivery was lost is picked up by the next
// daily build at the latest.
const defaultMaxStoredAge = 20 * time.Hour

func newRepoCache(dir string, ttl time.Duration, now func() time.Time, webURL string, store RepoStore) *repoCache {
	// A mirror left by an earlier process may hold files its blob ids no
	// longer account for (a record deleted while it was down): start from
	// nothing; the store and GitHub hold everything.
	os.RemoveAll(filepath.Join(dir, "repos"))
	return &repoCache{dir: dir, ttl: ttl, now: now, webURL: strings.TrimSuffix(webURL, "/"),
		store: store, maxStoredAge: defaultMaxStoredAge,
		repos: map[string]*repoEntry{}, orgs: map[string]*orgEntry{}}
}

// Invalidate makes the next State of repo look at GitHub again; a push to
// owner/.github also invalidates the org's defaults. It never waits for a
// refresh in progress.
func (rc *repoCache) Invalidate(repo string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	key := strings.ToLower(repo)
	if e, ok := rc.repos[key]; ok {
		e.stale.Store(true)
	}
	if owner, name, ok := strings.Cut(key, "/"); ok && name == ".github" {
		if o, ok := rc.orgs[owner]; ok {
			o.stale.Store(true)
		}
	}
}

func (rc *repoCache) entry(repo string) *repoEntry {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	key := strings.ToLower(repo)
	e, ok := rc.repos[key]
	if !ok {
		e = &repoEntry{blobs: map[string]string{}}
		rc.repos[key] = e
		if len(rc.repos) > maxCachedRepos {
			rc.evictLocked(key)
		}
	}
	e.used.Store(rc.now().UnixNano())
	return e
}

// evictLocked drops the least recently used repository that nobody is
// refreshing, with its mirror. rc.mu is held.
func (rc *repoCache) evictLocked(keep string) {
	oldest, oldestKey := int64(0), ""
	for k, e := range rc.repos {
		if k == keep {
			continue
		}
		if u := e.used.Load(); oldestKey == "" || u < oldest {
			oldest, oldestKey = u, k
		}
	}
	if oldestKey == "" {
		return
	}
	e := rc.repos[oldestKey]
	if !e.mu.TryLock() {
		return // in use: the next new repository tries again
	}
	delete(rc.repos, oldestKey)
	os.RemoveAll(rc.mirror(oldestKey))
	e.state, e.gone = nil, true
	e.mu.Unlock()
}

func (rc *repoCache) org(owner string) *orgEntry {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	key := strings.ToLower(owner)
	o, ok := rc.orgs[key]
	if !ok {
		o = &orgEntry{}
		rc.orgs[key] = o
	}
	return o
}

// Forget drops a repository's state and mirror (the App was removed from
// it).
func (rc *repoCache) Forget(repo string) {
	key := strings.ToLower(repo)
	rc.mu.Lock()
	e, ok := rc.repos[key]
	delete(rc.repos, key)
	rc.mu.Unlock()
	if ok {
		// Not under rc.mu: a refresh in progress may hold e.mu a while.
		e.mu.Lock()
		e.state, e.gone = nil, true
		defer e.mu.Unlock()
	}
	os.RemoveAll(rc.mirror(key))
}

// freshOrgConfig reads the org's defaults again, through c (the org's own
// installation when building its site: a 404 read through another
// installation's token must not stand for it).
func (rc *repoCache) freshOrgConfig(ctx context.Context, c Client, owner string) ([]byte, error) {
	rc.org(owner).stale.Store(true)
	return rc.orgConfig(ctx, c, owner)
}

// orgConfig returns the org's .github/backstory.yml from its .github
// repository, nil when there is none (or the App cannot see it).
func (rc *repoCache) orgConfig(ctx context.Context, c Client, owner string) ([]byte, error) {
	o := rc.org(owner)
	o.mu.Lock()
	defer o.mu.Unlock()
	now := rc.now()
	if !o.stale.Load() && !o.checked.IsZero() && now.Sub(o.checked) < rc.ttl {
		return o.data, nil
	}
	o.stale.Store(false) // a push from now on invalidates what is read next
	data, err := c.FileContent(ctx, owner+"/.github", "", content.ConfigPath)
	if errors.Is(err, ErrNotFound) {
		data, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the org defaults %s/.github: %s: %w", owner, content.ConfigPath, err)
	}
	o.data, o.checked = data, now
	return data, nil
}

// How a state is looked up.
type stateMode int

const (
	// modeTTL (checks): the state in memory while younger than the TTL,
	// unless a push invalidated it or the store holds a newer tree read by
	// another replica; else ask GitHub.
	modeTTL stateMode = iota
	// modeFresh (pushes, resync): always ask GitHub (conditionally: a 304
	// when the branch has not moved), and record in the store that the
	// files were current then.
	modeFresh
	// modeStored (site builds): the store's snapshot when it is younger
	// than maxStoredAge; else ask GitHub.
	modeStored
)

// State returns the state of repo's default branch, refreshing it when it
// is older than the cache's ttl, a push made it stale, or another replica
// stored a newer tree.
func (rc *repoCache) State(ctx context.Context, c Client, repo, branch string) (*repoState, error) {
	return rc.state(ctx, c, repo, branch, 0, modeTTL, nil)
}

// Fresh is State without the TTL: the default branch's tree is always asked
// for again (conditionally: a 304 when it has not moved) and the store
// records what it holds. A push to the default branch uses it, so that
// every replica's next build sees the push.
func (rc *repoCache) Fresh(ctx context.Context, c Client, repo, branch string, id int64) (*repoState, error) {
	return rc.state(ctx, c, repo, branch, id, modeFresh, nil)
}

// Stored is the state a site build uses: from snap, the stored snapshot
// (nil when there is none), without asking GitHub, when it is of branch and
// younger than maxStoredAge; else as Fresh. Pushes keep the stored
// snapshots current, so a build asks GitHub only about repositories it has
// never read or has not heard of for a day.
func (rc *repoCache) Stored(ctx context.Context, c Client, repo, branch string, id int64, snap *RepoSnapshot) (*repoState, error) {
	return rc.state(ctx, c, repo, branch, id, modeStored, snap)
}

// state looks the state of repo up as mode says. id is GitHub's id of the
// repository when the caller knows it (0 otherwise): stored files of
// another repository of the same name are never used.
func (rc *repoCache) state(ctx context.Context, c Client, repo, branch string, id int64, mode stateMode, snap *RepoSnapshot) (*repoState, error) {
	owner, _, _ := strings.Cut(repo, "/")
	orgData, err := rc.orgConfig(ctx, c, owner)
	if err != nil {
		return nil, err
	}
	e := rc.entry(repo)
	e.mu.Lock()
	for e.gone { // evicted between the lookup and the lock
		e.mu.Unlock()
		e = rc.entry(repo)
		e.mu.Lock()
	}
	defer e.mu.Unlock()
	if id != 0 && e.id != id {
		if e.id != 0 {
			// Deleted and created again under the same name: nothing
			// read of the old one holds.
			e.state = nil
		}
		e.id = id
	}
	now := rc.now()
	switch mode {
	case modeTTL:
		if s := e.state; s != nil && !e.stale.Load() && s.Branch == branch && now.Sub(s.checked) < rc.ttl {
			newer, err := rc.newerStored(ctx, e, repo, branch)
			if err == nil && newer != nil {
				return rc.withOrg(newer, orgData), nil
			}
			if err == nil && e.state != nil {
				return rc.withOrg(e.state, orgData), nil
			}
			// The store's newer files could not be loaded: ask GitHub.
		}
	case modeStored:
		if snap != nil && snap.TreeSHA != "" && strings.EqualFold(snap.Branch, branch) && now.Sub(snap.ReadAt) < rc.maxStoredAge &&
			(id == 0 || snap.RepositoryID == 0 || snap.RepositoryID == id) {
			if s := e.state; s != nil && s.Branch == branch && s.TreeSHA == snap.TreeSHA {
				return rc.withOrg(s, orgData), nil
			}
			s, err := rc.fromStore(ctx, e, repo, branch, id)
			if err != nil {
				return nil, err
			}
			if s != nil {
				return rc.withOrg(s, orgData), nil
			}
			// The stored files are not usable: read GitHub.
		}
	}
	e.stale.Store(false) // a push from now on invalidates what is read next
	tree, err := c.Tree(ctx, repo, branch)
	if err != nil {
		e.stale.Store(true)
		return nil, fmt.Errorf("list the files of %s at %s: %w", repo, branch, err)
	}
	// The replicas order what they store by GitHub's clock, not their own.
	readAt := tree.Date
	if readAt.IsZero() {
		readAt = now
	}
	if s := e.state; s != nil && s.Branch == branch && s.TreeSHA == tree.SHA {
		s.checked = now
		if mode != modeTTL {
			// Tell the other replicas the files were current now.
			if _, err := rc.syncStore(ctx, e, repo, branch, tree.SHA, readAt); err != nil {
				return nil, err
			}
			s.readAt = readAt
		}
		return rc.withOrg(s, orgData), nil
	}
	stored, err := rc.storedFiles(ctx, repo)
	if err != nil {
		return nil, err
	}
	s, err := rc.refresh(ctx, c, e, repo, branch, tree, stored)
	if err != nil {
		// The mirror may be half updated: its blobs say which files are
		// current, and the next refresh fetches the rest. The state in
		// memory no longer describes the mirror.
		e.stale.Store(true)
		e.state = nil
		return nil, err
	}
	s.checked, s.readAt = now, readAt
	e.state = s
	if _, err := rc.syncStore(ctx, e, repo, branch, s.TreeSHA, readAt); err != nil {
		return nil, err
	}
	return rc.withOrg(s, orgData), nil
}

// newerStored returns the state of a tree another replica stored after
// this one read its own, loaded from the store; nil when there is none (or
// the store cannot say: the state in memory is then used until its TTL).
func (rc *repoCache) newerStored(ctx context.Context, e *repoEntry, repo, branch string) (*repoState, error) {
	if rc.store == nil {
		return nil, nil
	}
	snaps, err := rc.store.RepoSnapshots(ctx, []string{repo})
	if err != nil {
		// The store cannot say: the state in memory holds until its TTL.
		return nil, nil
	}
	snap, ok := snaps[RepositoryKey(repo)]
	// GitHub's clock counts seconds: a tree stored in the same second as
	// ours is taken as the newer (the store is what every replica agreed
	// on; a pusher checks that its tree is there).
	if !ok || snap.TreeSHA == "" || snap.TreeSHA == e.state.TreeSHA || snap.ReadAt.Before(e.state.readAt) ||
		snap.ReadAt.Equal(e.rejected) {
		return nil, nil
	}
	s, err := rc.fromStore(ctx, e, repo, branch, 0)
	if err == nil && s == nil {
		// Not usable (another branch, a blob that does not match): do not
		// read it again at every check.
		e.rejected = snap.ReadAt
	}
	return s, err
}

// storedFiles returns the files the store holds for repo, by path (none
// without a store).
func (rc *repoCache) storedFiles(ctx context.Context, repo string) (map[string]RepoFile, error) {
	out := map[string]RepoFile{}
	if rc.store == nil {
		return out, nil
	}
	_, files, err := rc.store.RepoFiles(ctx, repo)
	if errors.Is(err, ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the stored files of %s: %w", repo, err)
	}
	for _, f := range files {
		out[f.Path] = f
	}
	return out, nil
}

// fromStore brings the mirror to the files the store holds for repo and
// loads them; nil when the store has none of branch, or they do not match
// their blob ids (the caller then reads GitHub).
func (rc *repoCache) fromStore(ctx context.Context, e *repoEntry, repo, branch string, id int64) (_ *repoState, err error) {
	if rc.store == nil {
		return nil, nil
	}
	snap, files, err := rc.store.RepoFiles(ctx, repo)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the stored files of %s: %w", repo, err)
	}
	if snap.TreeSHA == "" || !strings.EqualFold(snap.Branch, branch) || (id != 0 && snap.RepositoryID != 0 && snap.RepositoryID != id) {
		return nil, nil
	}
	defer func() {
		if err != nil {
			// The mirror is half written: the state no longer describes it.
			e.state = nil
		}
	}()
	for _, f := range files {
		if gitBlobSHA(f.Data) != f.Blob || !safeRelPath(f.Path) {
			return nil, nil
		}
	}
	dir := rc.mirror(repo)
	keep := map[string]bool{}
	for _, f := range files {
		keep[f.Path] = true
		if e.blobs[f.Path] == f.Blob {
			continue
		}
		if err := writeFileAtomic(filepath.Join(dir, filepath.FromSlash(f.Path)), f.Data); err != nil {
			return nil, err
		}
		e.blobs[f.Path] = f.Blob
	}
	for p := range e.blobs {
		if !keep[p] {
			os.Remove(filepath.Join(dir, filepath.FromSlash(p)))
			delete(e.blobs, p)
		}
	}
	cfgPath, template := "", ""
	for _, f := range files {
		if isConfigPath(f.Path) && (cfgPath == "" || f.Path == content.ConfigPath) {
			cfgPath = f.Path
		}
		if template == "" && isTemplatePath(f.Path) {
			template = f.Path
		}
	}
	s, err := rc.load(e, repo, branch, snap.TreeSHA, cfgPath, template)
	if err != nil {
		return nil, err
	}
	s.checked, s.readAt = rc.now(), snap.ReadAt
	e.state = s
	return s, nil
}

// syncStore makes the store hold the mirror's files of repo, all of them
// (a complete save: the store drops any other), as the tree treeSHA read at
// readAt. It reports false when the store holds a snapshot read later.
func (rc *repoCache) syncStore(ctx context.Context, e *repoEntry, repo, branch, treeSHA string, readAt time.Time) (bool, error) {
	if rc.store == nil {
		return true, nil
	}
	dir := rc.mirror(repo)
	files := make([]RepoFile, 0, len(e.blobs))
	for p, blob := range e.blobs {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return false, fmt.Errorf("read the mirrored %s of %s: %w", p, repo, err)
		}
		files = append(files, RepoFile{Path: p, Blob: blob, Data: data})
	}
	snap := RepoSnapshot{Repository: repo, RepositoryID: e.id, Branch: branch, TreeSHA: treeSHA, ReadAt: readAt, Complete: true}
	saved, err := rc.store.SaveRepoFiles(ctx, snap, files, nil)
	if err != nil {
		return false, fmt.Errorf("store the files of %s: %w", repo, err)
	}
	return saved, nil
}

func isConfigPath(p string) bool {
	return p == content.ConfigPath || p == ".github/backstory.yaml"
}

// safeRelPath reports whether p is a relative path that stays inside the
// folder it is joined to.
func safeRelPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// withOrg merges the org's defaults into a state's configuration. The
// repository's own file is kept in the mirror, so this is cheap.
func (rc *repoCache) withOrg(s *repoState, orgData []byte) *repoState {
	owner, _, _ := strings.Cut(s.Repo, "/")
	cfg, problems := check.LoadConfig(
		check.ConfigFile{Name: owner + "/.github: " + content.ConfigPath, Data: orgData},
		check.ConfigFile{Name: s.Repo + ": " + s.ConfigName, Data: s.ConfigData},
	)
	for _, p := range s.Records.Problems {
		if p.Severity == content.SeverityError && strings.HasPrefix(p.File, ".github/backstory.y") {
			p.File = s.Repo + ": " + p.File
			problems = append(problems, p)
		}
	}
	out := *s
	out.Config, out.Problems = cfg, problems
	return &out
}

func (rc *repoCache) mirror(repo string) string {
	return filepath.Join(rc.dir, "repos", filepath.FromSlash(strings.ToLower(repo)))
}

// refresh brings the mirror of repo up to tree and reloads its records.
// Files whose blob the store holds (stored) are taken from it, the rest
// from GitHub.
func (rc *repoCache) refresh(ctx context.Context, c Client, e *repoEntry, repo, branch string, tree Tree, stored map[string]RepoFile) (*repoState, error) {
	dir := rc.mirror(repo)
	sha := map[string]string{}
	size := map[string]int64{}
	for _, en := range tree.Entries {
		sha[en.Path], size[en.Path] = en.SHA, en.Size
	}
	// The configuration decides which folders hold records: fetch it first.
	cfgPath := ""
	for _, p := range []string{content.ConfigPath, ".github/backstory.yaml"} {
		if _, ok := sha[p]; ok {
			cfgPath = p
			break
		}
	}
	recordCfg := content.DefaultConfig()
	if cfgPath != "" {
		data, err := rc.file(ctx, c, e, dir, repo, branch, cfgPath, sha[cfgPath])
		if err != nil {
			return nil, err
		}
		recordCfg, _ = content.ParseConfig(data)
	}
	want := map[string]bool{}
	if cfgPath != "" {
		want[cfgPath] = true
	}
	template := ""
	for _, en := range tree.Entries {
		if en.Size > maxRecordBytes {
			continue
		}
		if content.MayHoldRecord(recordCfg, en.Path) {
			want[en.Path] = true
		}
		if template == "" && isTemplatePath(en.Path) {
			template = en.Path
			want[en.Path] = true
		}
	}
	var changed []string
	for p := range want {
		if e.blobs[p] == sha[p] {
			continue
		}
		if f, ok := stored[p]; ok && f.Blob == sha[p] && gitBlobSHA(f.Data) == f.Blob {
			// Another replica read it already.
			if err := writeFileAtomic(filepath.Join(dir, filepath.FromSlash(p)), f.Data); err != nil {
				return nil, err
			}
			e.blobs[p] = f.Blob
			continue
		}
		changed = append(changed, p)
	}
	if tree.Truncated || len(changed) > archiveThreshold {
		if err := rc.replaceFromArchive(ctx, c, e, dir, repo, branch, want, sha); err != nil {
			return nil, err
		}
	} else {
		for _, p := range changed {
			if _, err := rc.file(ctx, c, e, dir, repo, branch, p, sha[p]); err != nil {
				return nil, err
			}
		}
	}
	for p := range e.blobs {
		if !want[p] {
			os.Remove(filepath.Join(dir, filepath.FromSlash(p)))
			delete(e.blobs, p)
		}
	}
	// What the mirror holds is the tree listed only if every blob matches;
	// otherwise the branch moved while it was read, and the next State
	// looks again.
	treeSHA := tree.SHA
	for p := range want {
		if e.blobs[p] != sha[p] {
			treeSHA = ""
			break
		}
	}
	return rc.load(e, repo, branch, treeSHA, cfgPath, template)
}

// filesHash is the FilesHash of repo's state in memory, "" when none.
func (rc *repoCache) filesHash(repo string) string {
	rc.mu.Lock()
	e, ok := rc.repos[strings.ToLower(repo)]
	rc.mu.Unlock()
	if !ok {
		return ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == nil {
		return ""
	}
	return e.state.FilesHash
}

// blobsHash identifies a mirror's files by their paths and blob ids.
func blobsHash(blobs map[string]string) string {
	paths := make([]string, 0, len(blobs))
	for p := range blobs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha1.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%s\x00%s\n", p, blobs[p])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// load reads the records of the mirror of repo, as the tree treeSHA.
func (rc *repoCache) load(e *repoEntry, repo, branch, treeSHA, cfgPath, template string) (*repoState, error) {
	dir := rc.mirror(repo)
	// A repository without records or configuration has an empty mirror.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r, err := content.OpenRepo(repo + "=" + dir)
	if err != nil {
		return nil, fmt.Errorf("open the records of %s: %w", repo, err)
	}
	r.Branch = branch
	if rc.webURL != "" {
		r.SourceURL = rc.webURL + "/" + repo + "/blob/" + branch + "/"
		r.EditURL = rc.webURL + "/" + repo + "/edit/" + branch + "/"
	}
	corpus := e.loader.Load([]*content.Repo{r})
	s := &repoState{Repo: repo, Branch: branch, TreeSHA: treeSHA, Records: r, Corpus: corpus, Governs: corpus.GovernIndex(),
		ConfigName: content.ConfigPath, FilesHash: blobsHash(e.blobs)}
	if cfgPath != "" {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(cfgPath)))
		if err != nil {
			return nil, fmt.Errorf("read the mirrored %s of %s: %w", cfgPath, repo, err)
		}
		s.ConfigData, s.ConfigName = data, cfgPath
	}
	if template != "" {
		data, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(template)))
		s.Template = string(data)
	}
	return s, nil
}

func isTemplatePath(p string) bool {
	for _, t := range templatePaths {
		if strings.EqualFold(p, t) {
			return true
		}
	}
	return false
}

// file fetches one file into the mirror unless the mirror already holds
// that blob, and returns its bytes.
func (rc *repoCache) file(ctx context.Context, c Client, e *repoEntry, dir, repo, ref, p, blob string) ([]byte, error) {
	dst := filepath.Join(dir, filepath.FromSlash(p))
	if e.blobs[p] == blob && blob != "" {
		if data, err := os.ReadFile(dst); err == nil {
			return data, nil
		}
	}
	data, err := c.FileContent(ctx, repo, ref, p)
	if errors.Is(err, ErrNotFound) {
		// Deleted between listing the tree and reading it: the next
		// refresh sees the new tree.
		os.Remove(dst)
		delete(e.blobs, p)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", p, repo, err)
	}
	if err := writeFileAtomic(dst, data); err != nil {
		return nil, err
	}
	// Read by branch, the file may be newer than the tree listed: record
	// the blob it really is, so a mismatch is fetched again.
	e.blobs[p] = gitBlobSHA(data)
	return data, nil
}

// replaceFromArchive downloads the repository once and replaces the mirror
// with the wanted files.
func (rc *repoCache) replaceFromArchive(ctx context.Context, c Client, e *repoEntry, dir, repo, ref string, want map[string]bool, sha map[string]string) error {
	// Downloads and old mirrors live outside repos/, where no repository's
	// mirror can be named like them.
	staging := filepath.Join(rc.dir, "staging")
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(staging, "download-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	err = c.Archive(ctx, repo, ref, tmp, func(p string, size int64) bool {
		return want[p] && size <= maxRecordBytes
	})
	if err != nil {
		return fmt.Errorf("download %s at %s: %w", repo, ref, err)
	}
	old, err := os.MkdirTemp(staging, "old-*")
	if err != nil {
		return err
	}
	os.Remove(old)
	defer os.RemoveAll(old)
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	e.blobs = map[string]string{}
	for p := range want {
		if data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p))); err == nil {
			e.blobs[p] = gitBlobSHA(data)
		}
	}
	return nil
}

// gitBlobSHA is the id git (and GitHub's tree) gives a file's content.
func gitBlobSHA(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// writeFileAtomic writes data to name through a temporary file and a
// rename, so a reader never sees half a file.
func writeFileAtomic(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+path.Base(filepath.ToSlash(name))+".*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), name)
}
