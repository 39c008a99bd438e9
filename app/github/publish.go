package github

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"

	"github.com/backstory-dev/backstory/app"
)

// Publishing through the Git Data API.
const (
	// publishConcurrency bounds the blob uploads of one PublishBranch.
	publishConcurrency = 4
	// knownBlobTTL is how long a blob uploaded by a publish that did not
	// finish is taken to be on GitHub still: a retry within it does not
	// send the blob again. GitHub keeps unreachable objects for weeks;
	// the hour covers the retries after a secondary rate limit.
	knownBlobTTL = time.Hour
	// maxKnownBlobs bounds the blobs remembered for one repository.
	maxKnownBlobs = 200_000
	// maxInlineFileBytes is the largest file sent inline, as the content
	// of a git/create-tree entry, rather than uploaded as a blob: text
	// (UTF-8 without NUL) only, as the JSON string content is.
	maxInlineFileBytes = 512 << 10
	// maxInlineRequestBytes bounds the inline content of one
	// git/create-tree request, counted as encoded in JSON; more is sent
	// in further requests over the tree of the previous one (base_tree).
	maxInlineRequestBytes = 8 << 20
)

// Git's file modes.
const (
	gitModeFile       = "100644"
	gitModeExecutable = "100755"
)

// siteFile is one file to publish.
type siteFile struct {
	path string // slash-separated, relative to the published folder
	abs  string // the file read: a symbolic link's target
	size int64
	mode string // gitModeFile or gitModeExecutable
	sha  string // git's blob id of the content
	// inline is the length of the content as a JSON string when the file
	// may be sent inline in a tree (text of at most maxInlineFileBytes,
	// not empty), 0 otherwise.
	inline int64
}

// PublishBranch makes the files under dir the whole content of branch, as
// one commit over the branch's head (none when the branch is new), through
// the Git Data API:
//
//  1. the branch's head (git/get-ref; a 404 means a new branch) and its
//     tree, recursively (git/get-tree);
//  2. the tree of dir computed locally, git's way: when it is the head's,
//     nothing changed and the head is returned at once;
//  3. every file whose blob neither the head's tree holds nor an
//     unfinished publish sent within the hour (all of them when GitHub
//     truncated the head's tree) is sent: inline in the tree when it is
//     text (UTF-8 without NUL, not empty, at most maxInlineFileBytes),
//     GitHub writing the blob, and uploaded as a blob otherwise
//     (git/create-blob, base64, streamed from the file,
//     publishConcurrency at a time);
//  4. the tree of every file (git/create-tree): a first one without
//     base_tree, so that files gone from dir leave the branch, holding
//     every blob by id and the first inline files; then, when there is
//     more inline content than maxInlineRequestBytes, further requests
//     of at most that much, each over the tree of the one before. The
//     last tree must be the one computed in 2;
//  5. the commit (git/create-commit), written by the App's bot, and the
//     branch moved to it: created (git/create-ref) or fast-forwarded, not
//     forced (git/update-ref).
//
// Another push between 1 and 5 makes the ref update fail ("not a fast
// forward"), and so does another publish creating the branch first: that
// is a *app.TemporaryError, and a retry starts over from the new head.
// Regular files are published, with git's executable bit; a symbolic link
// is published as the file it points to when that file is inside dir, and
// refused otherwise; other kinds of files are refused, as are an empty
// folder and a ".git" path component. A repository without any commit
// cannot be written through the Git Data API (GitHub answers 409).
func (c *installation) PublishBranch(ctx context.Context, repo, branch, dir, message string) (string, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return "", err
	}
	what := fmt.Sprintf("publish %s to branch %s of %s", dir, branch, repo)
	if err := checkBranch(branch); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if strings.TrimSpace(message) == "" {
		return "", fmt.Errorf("%s: empty commit message", what)
	}
	files, err := readSite(ctx, dir)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if len(files) == 0 {
		return "", fmt.Errorf("%s: the folder holds no file: refusing to empty the branch", what)
	}
	localTree := gitTreeSHA(files)

	head, err := c.branchHead(ctx, owner, name, branch)
	if err != nil {
		return "", c.publishError(err, what+": read the branch's head")
	}
	have := map[string]bool{} // blobs the head's tree holds
	headTree := ""
	if head != "" {
		t, _, err := c.api.Git.GetTree(withOperation(ctx, "git/get-tree"), owner, name, head, true)
		if err != nil {
			return "", c.publishError(c.mapError(err, "read the tree of "+head), what)
		}
		headTree = t.GetSHA()
		if !t.GetTruncated() {
			for _, e := range t.Entries {
				if e.GetType() == "blob" {
					have[e.GetSHA()] = true
				}
			}
		}
		if headTree == localTree {
			return head, nil
		}
	}

	// Each file GitHub lacks goes inline in a tree when it is text, and
	// is uploaded as a blob otherwise: each missing blob once, whatever
	// the number of files holding it.
	var upload []siteFile
	remembered := false
	queued := map[string]bool{}
	now := c.app.now()
	c.known.prune(repo, now)
	present := func(sha string) bool { return have[sha] || queued[sha] || c.known.has(repo, sha, now) }
	for _, f := range files {
		switch {
		case have[f.sha] || queued[f.sha]:
		case c.known.has(repo, f.sha, now):
			remembered = true
		case f.inline > 0:
		default:
			queued[f.sha] = true
			upload = append(upload, f)
		}
	}
	if err := c.uploadBlobs(ctx, owner, name, repo, upload); err != nil {
		return "", c.publishError(err, what)
	}

	tree, err := c.createTrees(ctx, owner, name, repo, planTrees(files, present))
	if err != nil {
		var rej *app.RejectedError
		if remembered && errors.As(err, &rej) && rej.Status == http.StatusUnprocessableEntity {
			// A blob uploaded by an earlier attempt is gone (GitHub
			// collected it): upload everything missing again.
			c.known.forget(repo)
			return "", &app.TemporaryError{Err: fmt.Errorf("%s: %v (blobs uploaded earlier are gone: the retry uploads them again)", what, err)}
		}
		return "", c.publishError(err, what)
	}
	if tree != localTree {
		return "", fmt.Errorf("%s: GitHub made tree %s, not the tree %s of the folder: %w", what, tree, localTree, errFileChanged)
	}
	commit, err := c.createCommit(ctx, owner, name, tree, head, message)
	if err != nil {
		return "", c.publishError(err, what)
	}
	if head == "" {
		err = c.createBranch(ctx, owner, name, branch, commit)
	} else {
		err = c.moveBranch(ctx, owner, name, branch, commit)
	}
	if err != nil {
		return "", c.publishError(err, fmt.Sprintf("%s: commit %s is made", what, commit))
	}
	return commit, nil
}

// publishError adds what was being done to an error the steps returned,
// keeping its kind, and explains GitHub's 409 for an empty repository.
func (c *installation) publishError(err error, what string) error {
	var rej *app.RejectedError
	var tmp *app.TemporaryError
	switch {
	case errors.As(err, &tmp):
		return &app.TemporaryError{At: tmp.At, Err: fmt.Errorf("%s: %w", what, err)}
	case errors.As(err, &rej) && rej.Status == http.StatusConflict:
		return &app.RejectedError{Status: rej.Status, Err: fmt.Errorf("%s: %w (GitHub's Git Data API cannot write to a repository without any commit: push a first commit)", what, err)}
	case errors.As(err, &rej):
		return &app.RejectedError{Status: rej.Status, Err: fmt.Errorf("%s: %w", what, err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// checkBranch refuses a branch name git refuses (git check-ref-format) or
// that would escape its URL path.
func checkBranch(b string) error {
	bad := b == "" || b == "@" || strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") || strings.HasSuffix(b, ".") ||
		strings.HasPrefix(b, "refs/") || strings.Contains(b, "..") || strings.Contains(b, "//") || strings.Contains(b, "@{") ||
		!utf8.ValidString(b)
	for _, r := range b {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			bad = true
		}
	}
	for _, seg := range strings.Split(b, "/") {
		if strings.HasPrefix(seg, ".") || strings.HasSuffix(seg, ".lock") {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("branch %q: not a valid git branch name (give it without refs/heads/)", b)
	}
	return nil
}

// branchHead returns the commit branch points at, "" when there is no
// such branch (git/get-ref).
func (c *installation) branchHead(ctx context.Context, owner, name, branch string) (string, error) {
	req, err := c.api.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/git/ref/heads/%s", owner, name, escapeRef(branch)), nil)
	if err != nil {
		return "", err
	}
	var ref gh.Reference
	if _, err := c.api.Do(withOperation(ctx, "git/get-ref"), req, &ref); err != nil {
		mapped := c.mapError(err, "get ref heads/"+branch)
		if errors.Is(mapped, app.ErrNotFound) {
			return "", nil
		}
		return "", mapped
	}
	if got := ref.GetRef(); got != "refs/heads/"+branch {
		return "", fmt.Errorf("get ref heads/%s: GitHub answered with %q", branch, got)
	}
	if ref.GetObject().GetType() != "commit" || ref.GetObject().GetSHA() == "" {
		return "", fmt.Errorf("get ref heads/%s: it points at a %s, not a commit", branch, ref.GetObject().GetType())
	}
	return ref.GetObject().GetSHA(), nil
}

// readSite lists the files under dir with their blob ids, sorted by path.
func readSite(ctx context.Context, dir string) ([]siteFile, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(root); err != nil {
		return nil, err
	} else if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	var files []siteFile
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		slash := filepath.ToSlash(rel)
		if err := checkPublishPath(slash); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		f := siteFile{path: slash, abs: p}
		var info fs.FileInfo
		switch t := d.Type(); {
		case t.IsRegular():
			if info, err = d.Info(); err != nil {
				return err
			}
		case t&fs.ModeSymlink != 0:
			target, err := filepath.EvalSymlinks(p)
			if err != nil {
				return fmt.Errorf("%s: symbolic link: %w", slash, err)
			}
			if r, err := filepath.Rel(root, target); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
				return fmt.Errorf("%s: symbolic link to %s, outside the published folder", slash, target)
			}
			if info, err = os.Stat(target); err != nil {
				return err
			}
			if !info.Mode().IsRegular() {
				return fmt.Errorf("%s: symbolic link to a %s: only links to files are published", slash, kindOf(info.Mode()))
			}
			f.abs = target
		default:
			return fmt.Errorf("%s: a %s, not a regular file", slash, kindOf(t))
		}
		f.size = info.Size()
		if f.size > maxFileBytes {
			return &app.RejectedError{Err: fmt.Errorf("%s: %d bytes, over GitHub's %d-byte limit for one file", slash, f.size, maxFileBytes)}
		}
		f.mode = gitModeFile
		if info.Mode()&0o111 != 0 {
			f.mode = gitModeExecutable
		}
		if f.sha, f.inline, err = hashBlob(f.abs, f.size); err != nil {
			return fmt.Errorf("%s: %w", slash, err)
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	return files, nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "folder"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// checkPublishPath refuses a path GitHub would refuse in a tree.
func checkPublishPath(p string) error {
	if !utf8.ValidString(p) {
		return fmt.Errorf("%q: the name is not UTF-8", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if strings.EqualFold(seg, ".git") {
			return fmt.Errorf("%s: git refuses a .git path component", p)
		}
	}
	return nil
}

var errFileChanged = errors.New("the file changed while being published")

// hashBlob is git's blob id of the file's size bytes and, for a file that
// may go inline in a tree (see inlineLen), the length of its content as a
// JSON string (0 otherwise).
func hashBlob(path string, size int64) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	if size > 0 && size <= maxInlineFileBytes {
		// Small enough to hold: hashed and checked for text at once.
		data, err := io.ReadAll(io.LimitReader(f, size+1))
		if err != nil {
			return "", 0, err
		}
		if int64(len(data)) != size {
			return "", 0, errFileChanged
		}
		h.Write(data)
		return hex.EncodeToString(h.Sum(nil)), inlineLen(data), nil
	}
	n, err := io.Copy(h, io.LimitReader(f, size+1))
	if err != nil {
		return "", 0, err
	}
	if n != size {
		return "", 0, errFileChanged
	}
	return hex.EncodeToString(h.Sum(nil)), 0, nil
}

// inlineLen is the length of data as a JSON string, quotes included, when
// it can be sent as the content of a tree entry: not empty (an empty file
// is uploaded as a blob, GitHub's handling of an empty content being
// undocumented), at most maxInlineFileBytes, valid UTF-8 and without NUL.
// It is 0 otherwise.
func inlineLen(data []byte) int64 {
	if len(data) == 0 || len(data) > maxInlineFileBytes || !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return 0
	}
	n := int64(2)
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			n += 2
			i++
		case c < 0x20:
			n += 6 // \u00XX (\b and \f too, counted long)
			i++
		case c < utf8.RuneSelf:
			n++
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == '\u2028' || r == '\u2029' {
				n += 6 // encoding/json escapes them
			} else {
				n += int64(size)
			}
			i += size
		}
	}
	return n
}

// gitTreeSHA is git's id of the tree holding files, computed as git writes
// trees: entries sorted by name, a folder as if its name ended in "/".
func gitTreeSHA(files []siteFile) string {
	type item struct {
		name, mode string
		sha        []byte
		dir        bool
	}
	type folder struct {
		files []item
		subs  map[string]*folder
	}
	newFolder := func() *folder { return &folder{subs: map[string]*folder{}} }
	root := newFolder()
	for _, f := range files {
		d := root
		parts := strings.Split(f.path, "/")
		for _, part := range parts[:len(parts)-1] {
			sub := d.subs[part]
			if sub == nil {
				sub = newFolder()
				d.subs[part] = sub
			}
			d = sub
		}
		raw, _ := hex.DecodeString(f.sha)
		d.files = append(d.files, item{name: parts[len(parts)-1], mode: f.mode, sha: raw})
	}
	var write func(d *folder) []byte
	write = func(d *folder) []byte {
		items := append([]item(nil), d.files...)
		for name, sub := range d.subs {
			items = append(items, item{name: name, mode: "40000", sha: write(sub), dir: true})
		}
		key := func(it item) string {
			if it.dir {
				return it.name + "/"
			}
			return it.name
		}
		sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
		var buf bytes.Buffer
		for _, it := range items {
			fmt.Fprintf(&buf, "%s %s\x00", it.mode, it.name)
			buf.Write(it.sha)
		}
		h := sha1.New()
		fmt.Fprintf(h, "tree %d\x00", buf.Len())
		h.Write(buf.Bytes())
		return h.Sum(nil)
	}
	return hex.EncodeToString(write(root))
}

// uploadBlobs uploads files' contents, publishConcurrency at a time, and
// stops at the first failure.
func (c *installation) uploadBlobs(ctx context.Context, owner, name, repo string, files []siteFile) error {
	if len(files) == 0 {
		return nil
	}
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	jobs := make(chan siteFile)
	for range min(publishConcurrency, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				if inner.Err() != nil {
					continue
				}
				if err := c.uploadBlob(inner, owner, name, f); err != nil {
					once.Do(func() { first = err; cancel() })
					continue
				}
				c.known.add(repo, f.sha, c.app.now())
			}
		}()
	}
feed:
	for _, f := range files {
		select {
		case jobs <- f:
		case <-inner.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// blobBodyPrefix and blobBodySuffix frame a blob's base64 content as the
// JSON body of git/create-blob; base64 needs no JSON escaping.
const (
	blobBodyPrefix = `{"encoding":"base64","content":"`
	blobBodySuffix = `"}`
)

// uploadBlob sends one file as a blob (git/create-blob), its body streamed
// from the file, and checks that GitHub computed the id computed here.
func (c *installation) uploadBlob(ctx context.Context, owner, name string, f siteFile) error {
	what := fmt.Sprintf("upload %s (%d bytes)", f.path, f.size)
	req, err := c.api.NewRequest(http.MethodPost, fmt.Sprintf("repos/%s/%s/git/blobs", owner, name), nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var (
		mu     sync.Mutex
		bodies []*blobBody // GetBody may open the file again
	)
	open := func() (io.ReadCloser, error) {
		file, err := os.Open(f.abs)
		if err != nil {
			return nil, err
		}
		b := &blobBody{file: file}
		b.enc.src = &exactReader{r: file, left: f.size, changed: &b.changed}
		b.r = io.MultiReader(strings.NewReader(blobBodyPrefix), &b.enc, strings.NewReader(blobBodySuffix))
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		return b, nil
	}
	body, err := open()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	req.Body, req.GetBody = body, open
	req.ContentLength = int64(len(blobBodyPrefix)+len(blobBodySuffix)) + int64(base64.StdEncoding.EncodedLen(int(f.size)))
	req.Header.Set("Content-Type", "application/json")
	var created struct {
		SHA string `json:"sha"`
	}
	_, err = c.api.Do(withOperation(ctx, "git/create-blob"), req, &created)
	mu.Lock()
	changed := false
	for _, b := range bodies {
		b.Close()
		changed = changed || b.changed.Load()
	}
	mu.Unlock()
	if changed {
		return fmt.Errorf("%s: %w", what, errFileChanged)
	}
	if err != nil {
		return c.mapError(err, what)
	}
	if created.SHA != f.sha {
		return fmt.Errorf("%s: GitHub stored blob %s, not %s: %w", what, created.SHA, f.sha, errFileChanged)
	}
	return nil
}

// blobBody is the JSON body of one blob upload. The transport reads and
// closes it, possibly after Do has returned.
type blobBody struct {
	file    *os.File
	enc     base64Reader
	r       io.Reader
	changed atomic.Bool // the file was not the size it was hashed at
	mu      sync.Mutex
	done    bool
}

func (b *blobBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *blobBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	b.done = true
	return b.file.Close()
}

// base64Reader encodes what src gives, 3 KiB at a time.
type base64Reader struct {
	src io.Reader
	in  [3 << 10]byte
	buf [4 << 10]byte
	out []byte
	err error // sticky: io.EOF at the end
}

func (b *base64Reader) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		n, err := io.ReadFull(b.src, b.in[:])
		if n > 0 {
			base64.StdEncoding.Encode(b.buf[:], b.in[:n])
			b.out = b.buf[:base64.StdEncoding.EncodedLen(n)]
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			b.err = io.EOF
		case err != nil:
			b.err = err
		}
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// exactReader reads exactly left bytes from r, and fails with
// errFileChanged (setting changed) when r holds fewer or more.
type exactReader struct {
	r       io.Reader
	left    int64
	changed *atomic.Bool
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left == 0 {
		var one [1]byte
		if n, _ := e.r.Read(one[:]); n > 0 {
			e.changed.Store(true)
			return 0, errFileChanged
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		e.changed.Store(true)
		return n, errFileChanged
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// treeEntry is one entry of git/create-tree's body: a blob named by its
// id, or given by its content.
type treeEntry struct {
	Path    string  `json:"path"`
	Mode    string  `json:"mode"`
	Type    string  `json:"type"`
	SHA     string  `json:"sha,omitempty"`
	Content *string `json:"content,omitempty"`
}

// treeItem is one file of a create-tree request, inline or by blob id.
type treeItem struct {
	file   siteFile
	inline bool
}

// planTrees splits the tree of files into create-tree requests. The first
// holds every file whose blob GitHub has (present) and the first files
// sent inline; each further one, made over the tree of the one before
// (base_tree), adds more inline files. A request carries at most
// maxInlineRequestBytes of inline content, save a single file larger than
// that. A content sent inline in an earlier request is named by its blob
// id in the later ones. Files gone from the folder are in no request: the
// first tree has no base.
func planTrees(files []siteFile, present func(sha string) bool) [][]treeItem {
	var first, inline []siteFile
	for _, f := range files {
		if f.inline > 0 && !present(f.sha) {
			inline = append(inline, f)
		} else {
			first = append(first, f)
		}
	}
	reqs := [][]treeItem{nil}
	for _, f := range first {
		reqs[0] = append(reqs[0], treeItem{file: f})
	}
	sentIn := map[string]int{} // blob id → the request that sent it inline
	budget := int64(0)
	for _, f := range inline {
		last := len(reqs) - 1
		if i, ok := sentIn[f.sha]; ok && i < last {
			reqs[last] = append(reqs[last], treeItem{file: f})
			continue
		}
		if budget > 0 && budget+f.inline > maxInlineRequestBytes {
			reqs = append(reqs, nil)
			last++
			budget = 0
		}
		if _, ok := sentIn[f.sha]; !ok {
			sentIn[f.sha] = last
		}
		reqs[last] = append(reqs[last], treeItem{file: f, inline: true})
		budget += f.inline
	}
	return reqs
}

// createTrees sends the create-tree requests of plan, each over the tree
// of the one before, and returns the last tree's id. The blobs GitHub
// wrote from inline content are remembered as uploaded, so that a retry
// after a failure names them instead of sending them again.
func (c *installation) createTrees(ctx context.Context, owner, name, repo string, plan [][]treeItem) (string, error) {
	tree := ""
	for i, items := range plan {
		t, err := c.createTree(ctx, owner, name, tree, items)
		if err != nil {
			if len(plan) > 1 {
				err = fmt.Errorf("tree request %d of %d: %w", i+1, len(plan), err)
			}
			return "", err
		}
		tree = t
		now := c.app.now()
		for _, it := range items {
			if it.inline {
				c.known.add(repo, it.file.sha, now)
			}
		}
	}
	return tree, nil
}

// createTree writes a tree of items (git/create-tree), over base when it
// is not "", and returns its id. Inline files are read again and must
// still be what was hashed.
func (c *installation) createTree(ctx context.Context, owner, name, base string, items []treeItem) (string, error) {
	entries := make([]treeEntry, len(items))
	inline := 0
	for i, it := range items {
		f := it.file
		entries[i] = treeEntry{Path: f.path, Mode: f.mode, Type: "blob", SHA: f.sha}
		if it.inline {
			content, err := readInline(f)
			if err != nil {
				return "", fmt.Errorf("read %s: %w", f.path, err)
			}
			entries[i].SHA, entries[i].Content = "", &content
			inline++
		}
	}
	what := fmt.Sprintf("create a tree of %d files (%d inline)", len(items), inline)
	if base != "" {
		what += " over tree " + base
	}
	req, err := c.api.NewRequest(http.MethodPost, fmt.Sprintf("repos/%s/%s/git/trees", owner, name), struct {
		BaseTree string      `json:"base_tree,omitempty"`
		Tree     []treeEntry `json:"tree"`
	}{base, entries})
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	var tree struct {
		SHA string `json:"sha"`
	}
	if _, err := c.api.Do(withOperation(ctx, "git/create-tree"), req, &tree); err != nil {
		return "", c.mapError(err, what)
	}
	if tree.SHA == "" {
		return "", fmt.Errorf("%s: GitHub answered without a sha", what)
	}
	return tree.SHA, nil
}

// readInline reads a file to send inline, and checks it is still the
// content hashed.
func readInline(f siteFile) (string, error) {
	file, err := os.Open(f.abs)
	if err != nil {
		return "", err
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, f.size+1))
	if err != nil {
		return "", err
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	if hex.EncodeToString(h.Sum(nil)) != f.sha {
		return "", errFileChanged
	}
	return string(data), nil
}

// createCommit writes a commit of tree over parent ("" for none) and
// returns its id (git/create-commit). It names no author: GitHub writes
// the App's bot as author and committer.
func (c *installation) createCommit(ctx context.Context, owner, name, tree, parent, message string) (string, error) {
	parents := []string{}
	if parent != "" {
		parents = append(parents, parent)
	}
	what := "create the commit of tree " + tree
	req, err := c.api.NewRequest(http.MethodPost, fmt.Sprintf("repos/%s/%s/git/commits", owner, name), struct {
		Message string   `json:"message"`
		Tree    string   `json:"tree"`
		Parents []string `json:"parents"`
	}{message, tree, parents})
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	var commit struct {
		SHA string `json:"sha"`
	}
	if _, err := c.api.Do(withOperation(ctx, "git/create-commit"), req, &commit); err != nil {
		return "", c.mapError(err, what)
	}
	if commit.SHA == "" {
		return "", fmt.Errorf("%s: GitHub answered without a sha", what)
	}
	return commit.SHA, nil
}

// createBranch creates branch at commit (git/create-ref). A branch made
// meanwhile by someone else is a temporary error: the retry builds on it.
func (c *installation) createBranch(ctx context.Context, owner, name, branch, commit string) error {
	what := fmt.Sprintf("create branch %s at %s", branch, commit)
	req, err := c.api.NewRequest(http.MethodPost, fmt.Sprintf("repos/%s/%s/git/refs", owner, name), struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}{"refs/heads/" + branch, commit})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := c.api.Do(withOperation(ctx, "git/create-ref"), req, nil); err != nil {
		if msg, ok := refRace(err, "already exists"); ok {
			return &app.TemporaryError{Err: fmt.Errorf("%s: the branch was created meanwhile (GitHub: %s)", what, msg)}
		}
		return c.mapError(err, what)
	}
	return nil
}

// moveBranch fast-forwards branch to commit (git/update-ref, not forced).
// Another push since the head was read is a temporary error: the retry
// builds on it.
func (c *installation) moveBranch(ctx context.Context, owner, name, branch, commit string) error {
	what := fmt.Sprintf("move branch %s to %s", branch, commit)
	req, err := c.api.NewRequest(http.MethodPatch, fmt.Sprintf("repos/%s/%s/git/refs/heads/%s", owner, name, escapeRef(branch)), struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}{commit, false})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := c.api.Do(withOperation(ctx, "git/update-ref"), req, nil); err != nil {
		if msg, ok := refRace(err, "fast forward", "does not exist"); ok {
			return &app.TemporaryError{Err: fmt.Errorf("%s: the branch moved meanwhile (GitHub: %s)", what, msg)}
		}
		return c.mapError(err, what)
	}
	return nil
}

// refRace reports a 422 (or 409) of a ref write whose message holds one of
// hints, another writer having got there first, with GitHub's message.
func refRace(err error, hints ...string) (string, bool) {
	var resp *gh.ErrorResponse
	if !errors.As(err, &resp) || resp.Response == nil {
		return "", false
	}
	if code := resp.Response.StatusCode; code != http.StatusUnprocessableEntity && code != http.StatusConflict {
		return "", false
	}
	msg := githubMessage(resp)
	for _, h := range hints {
		if strings.Contains(strings.ToLower(msg), h) {
			return msg, true
		}
	}
	return "", false
}

// knownBlobs remembers, per repository, the blobs uploaded by publishes,
// so that a publish cut short (by a secondary rate limit, say) does not
// send them again when retried.
type knownBlobs struct {
	mu    sync.Mutex
	repos map[string]map[string]time.Time // lower-case owner/name → blob id → uploaded at
}

func (k *knownBlobs) has(repo, sha string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	at, ok := k.repos[strings.ToLower(repo)][sha]
	return ok && now.Sub(at) < knownBlobTTL
}

func (k *knownBlobs) add(repo, sha string, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.repos == nil {
		k.repos = map[string]map[string]time.Time{}
	}
	key := strings.ToLower(repo)
	m := k.repos[key]
	if m == nil {
		m = map[string]time.Time{}
		k.repos[key] = m
	}
	if len(m) >= maxKnownBlobs {
		for s, at := range m {
			if now.Sub(at) >= knownBlobTTL {
				delete(m, s)
			}
		}
		if len(m) >= maxKnownBlobs {
			clear(m)
		}
	}
	m[sha] = now
}

// prune drops the blobs of repo remembered for longer than knownBlobTTL.
func (k *knownBlobs) prune(repo string, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	m := k.repos[strings.ToLower(repo)]
	for s, at := range m {
		if now.Sub(at) >= knownBlobTTL {
			delete(m, s)
		}
	}
	if m != nil && len(m) == 0 {
		delete(k.repos, strings.ToLower(repo))
	}
}

func (k *knownBlobs) forget(repo string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.repos, strings.ToLower(repo))
}
