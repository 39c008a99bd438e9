package githubtest

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// objectStore holds git objects by sha, shared by every repository as a
// fork network shares them on GitHub: a fork's commit is readable from the
// base repository of its pull request.
type objectStore struct {
	blobs   map[string][]byte
	trees   map[string][]treeItem
	commits map[string]*commitObj
}

// treeItem is one entry of a git tree object.
type treeItem struct {
	name string
	mode string // "100644" for a file, "100755" for an executable, "040000" for a tree (written "40000")
	sha  string
}

func (t treeItem) isTree() bool { return t.mode == "040000" }

// Git's file modes, as the Git Data API spells them.
const (
	modeFile       = "100644"
	modeExecutable = "100755"
	modeTree       = "040000"
)

// signature is a commit's author or committer.
type signature struct {
	name, email string
	when        time.Time
}

func (g signature) String() string {
	return fmt.Sprintf("%s <%s> %d +0000", g.name, g.email, g.when.Unix())
}

type commitObj struct {
	sha       string
	tree      string
	parent    string // "" for a root commit
	message   string // as written in the commit object
	time      time.Time
	author    signature
	committer signature
	files     map[string]string // path -> blob sha, flattened
	modes     map[string]string // path -> mode, for files not "100644"
}

func newObjectStore() *objectStore {
	return &objectStore{blobs: map[string][]byte{}, trees: map[string][]treeItem{}, commits: map[string]*commitObj{}}
}

// gitHash is git's object id: sha1 of "<kind> <len>\x00<data>".
func gitHash(kind string, data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", kind, len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

func (o *objectStore) putBlob(data []byte) string {
	sha := gitHash("blob", data)
	if _, ok := o.blobs[sha]; !ok {
		o.blobs[sha] = append([]byte(nil), data...)
	}
	return sha
}

// putTree writes the tree of a flattened file list and its subtrees, and
// returns its sha.
func (o *objectStore) putTree(files map[string]string) string {
	return o.putTreeModes(files, nil)
}

// putTreeModes is putTree with the modes of the files that are not plain
// files ("100755"); a path modes does not name is "100644".
func (o *objectStore) putTreeModes(files, modes map[string]string) string {
	type dir struct {
		files map[string]treeItem
		dirs  map[string]*dir
	}
	root := &dir{files: map[string]treeItem{}, dirs: map[string]*dir{}}
	for p, sha := range files {
		d := root
		parts := strings.Split(p, "/")
		for _, part := range parts[:len(parts)-1] {
			sub := d.dirs[part]
			if sub == nil {
				sub = &dir{files: map[string]treeItem{}, dirs: map[string]*dir{}}
				d.dirs[part] = sub
			}
			d = sub
		}
		mode := modes[p]
		if mode == "" {
			mode = modeFile
		}
		name := parts[len(parts)-1]
		d.files[name] = treeItem{name: name, mode: mode, sha: sha}
	}
	var write func(d *dir) string
	write = func(d *dir) string {
		var items []treeItem
		for _, it := range d.files {
			items = append(items, it)
		}
		for name, sub := range d.dirs {
			items = append(items, treeItem{name: name, mode: "040000", sha: write(sub)})
		}
		sortTree(items)
		var buf bytes.Buffer
		for _, it := range items {
			mode := it.mode
			if it.isTree() {
				mode = "40000"
			}
			raw, _ := hex.DecodeString(it.sha)
			fmt.Fprintf(&buf, "%s %s\x00", mode, it.name)
			buf.Write(raw)
		}
		sha := gitHash("tree", buf.Bytes())
		o.trees[sha] = items
		return sha
	}
	return write(root)
}

// sortTree orders entries as git does: by name, a tree compared as if its
// name ended in "/".
func sortTree(items []treeItem) {
	key := func(t treeItem) string {
		if t.isTree() {
			return t.name + "/"
		}
		return t.name
	}
	sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
}

// putCommit writes a commit over parent with files (modes as putTreeModes
// takes them), and returns it.
func (o *objectStore) putCommit(parent *commitObj, files, modes map[string]string, message string, when time.Time) *commitObj {
	tree := o.putTreeModes(files, modes)
	parentSHA := ""
	if parent != nil {
		parentSHA = parent.sha
	}
	who := signature{name: "githubtest", email: "githubtest@example.com", when: when}
	return o.writeCommit(tree, parentSHA, who, who, message+"\n")
}

// writeCommit writes a commit of tree (which must exist) over parent (""
// for a root commit), with message exactly as given, and returns it.
func (o *objectStore) writeCommit(tree, parent string, author, committer signature, message string) *commitObj {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "tree %s\n", tree)
	if parent != "" {
		fmt.Fprintf(&buf, "parent %s\n", parent)
	}
	fmt.Fprintf(&buf, "author %s\ncommitter %s\n\n%s", author, committer, message)
	sha := gitHash("commit", buf.Bytes())
	if c, ok := o.commits[sha]; ok {
		return c
	}
	files, modes := o.flatten(tree)
	c := &commitObj{sha: sha, tree: tree, parent: parent, message: message, time: committer.when,
		author: author, committer: committer, files: files, modes: modes}
	o.commits[c.sha] = c
	return c
}

// flatten lists the files of a tree by path, with the modes of those that
// are not "100644".
func (o *objectStore) flatten(tree string) (files, modes map[string]string) {
	files, modes = map[string]string{}, map[string]string{}
	for _, e := range o.walkTree(tree, true) {
		if e.item.isTree() {
			continue
		}
		files[e.path] = e.item.sha
		if e.item.mode != modeFile {
			modes[e.path] = e.item.mode
		}
	}
	return files, modes
}

// walkEntry is one entry of a recursive tree listing.
type walkEntry struct {
	path string
	item treeItem
	size int
}

// walkTree lists a tree as git ls-tree -r -t does: each tree before its
// entries, recursively when recursive is set.
func (o *objectStore) walkTree(sha string, recursive bool) []walkEntry {
	var out []walkEntry
	var walk func(sha, prefix string)
	walk = func(sha, prefix string) {
		for _, it := range o.trees[sha] {
			p := path.Join(prefix, it.name)
			e := walkEntry{path: p, item: it}
			if !it.isTree() {
				e.size = len(o.blobs[it.sha])
			}
			out = append(out, e)
			if it.isTree() && recursive {
				walk(it.sha, p)
			}
		}
	}
	walk(sha, "")
	return out
}

// isAncestor reports whether commit a is b or one of b's ancestors.
func (o *objectStore) isAncestor(a, b string) bool {
	return o.ancestors(b)[a]
}

// ancestors returns the commits reachable from sha, itself included.
func (o *objectStore) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	for c := o.commits[sha]; c != nil && !seen[c.sha]; c = o.commits[c.parent] {
		seen[c.sha] = true
	}
	return seen
}

// mergeBase is the newest common ancestor of two commits (the history here
// is linear per branch, so one walk suffices), or nil.
func (o *objectStore) mergeBase(a, b string) *commitObj {
	inA := o.ancestors(a)
	for c := o.commits[b]; c != nil; c = o.commits[c.parent] {
		if inA[c.sha] {
			return c
		}
	}
	return nil
}

// fileChange is one file a pull request changes.
type fileChange struct {
	filename, previous, status string
	sha                        string
	additions, deletions       int
	patch                      string
	binary                     bool
}

// diffCommits lists the files head changes since its merge base with base,
// as GitHub's pull request files do, with exact renames detected.
func (o *objectStore) diffCommits(base, head string) []fileChange {
	var from map[string]string
	if mb := o.mergeBase(base, head); mb != nil {
		from = mb.files
	}
	to := map[string]string{}
	if h := o.commits[head]; h != nil {
		to = h.files
	}
	var added, removed []string
	var out []fileChange
	for p, sha := range to {
		old, ok := from[p]
		switch {
		case !ok:
			added = append(added, p)
		case old != sha:
			out = append(out, o.change(p, "", "modified", old, sha))
		}
	}
	for p := range from {
		if _, ok := to[p]; !ok {
			removed = append(removed, p)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	used := map[string]bool{}
	for _, p := range added {
		renamed := false
		for _, q := range removed {
			if !used[q] && from[q] == to[p] {
				used[q], renamed = true, true
				c := o.change(p, q, "renamed", from[q], to[p])
				out = append(out, c)
				break
			}
		}
		if !renamed {
			out = append(out, o.change(p, "", "added", "", to[p]))
		}
	}
	for _, q := range removed {
		if !used[q] {
			out = append(out, o.change(q, "", "removed", from[q], ""))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].filename < out[j].filename })
	return out
}

func (o *objectStore) change(p, prev, status, oldSHA, newSHA string) fileChange {
	c := fileChange{filename: p, previous: prev, status: status, sha: newSHA}
	if newSHA == "" {
		c.sha = oldSHA
	}
	a, b := o.blobs[oldSHA], o.blobs[newSHA]
	if bytes.IndexByte(a, 0) >= 0 || bytes.IndexByte(b, 0) >= 0 {
		c.binary = true
		return c
	}
	if oldSHA == newSHA {
		return c
	}
	c.patch, c.additions, c.deletions = unifiedDiff(string(a), string(b))
	return c
}

// maxDiffCells bounds the line-diff table; beyond it a file is shown as
// wholly replaced (GitHub also gives up on diffs of large files).
const maxDiffCells = 4_000_000

// unifiedDiff returns the hunks of a unified diff from a to b with three
// lines of context (GitHub's patch field: no file headers), and the
// counts of added and deleted lines.
func unifiedDiff(a, b string) (string, int, int) {
	al, aNL := splitLines(a)
	bl, bNL := splitLines(b)
	// Lines that lack a final newline differ from the same text with one.
	if len(al) > 0 && !aNL {
		al[len(al)-1] += "\x00nonl"
	}
	if len(bl) > 0 && !bNL {
		bl[len(bl)-1] += "\x00nonl"
	}
	type op struct {
		kind byte // ' ', '-', '+'
		text string
	}
	var ops []op
	if len(al)*len(bl) > maxDiffCells {
		for _, l := range al {
			ops = append(ops, op{'-', l})
		}
		for _, l := range bl {
			ops = append(ops, op{'+', l})
		}
	} else {
		// lcs[i][j] is the longest common subsequence of al[i:] and bl[j:].
		lcs := make([][]int32, len(al)+1)
		for i := range lcs {
			lcs[i] = make([]int32, len(bl)+1)
		}
		for i := len(al) - 1; i >= 0; i-- {
			for j := len(bl) - 1; j >= 0; j-- {
				if al[i] == bl[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(al) || j < len(bl) {
			switch {
			case i < len(al) && j < len(bl) && al[i] == bl[j]:
				ops = append(ops, op{' ', al[i]})
				i++
				j++
			case j < len(bl) && (i == len(al) || lcs[i][j+1] >= lcs[i+1][j]):
				ops = append(ops, op{'+', bl[j]})
				j++
			default:
				ops = append(ops, op{'-', al[i]})
				i++
			}
		}
		// Deletions before additions within a run, as git prints them.
		for k := 0; k < len(ops); {
			if ops[k].kind == ' ' {
				k++
				continue
			}
			e := k
			for e < len(ops) && ops[e].kind != ' ' {
				e++
			}
			run := append([]op(nil), ops[k:e]...)
			sort.SliceStable(run, func(x, y int) bool { return run[x].kind == '-' && run[y].kind == '+' })
			copy(ops[k:e], run)
			k = e
		}
	}
	const context = 3
	var out strings.Builder
	adds, dels := 0, 0
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		// A hunk: from context lines before the change to context lines
		// after the last change that is within 2*context of the next.
		start := max(k-context, 0)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*context {
				break
			}
			end = run
		}
		stop := min(end+context, len(ops))
		aStart, bStart := 1, 1
		for _, o := range ops[:start] {
			if o.kind != '+' {
				aStart++
			}
			if o.kind != '-' {
				bStart++
			}
		}
		aCount, bCount := 0, 0
		var body strings.Builder
		for _, o := range ops[start:stop] {
			text, nonl := strings.CutSuffix(o.text, "\x00nonl")
			body.WriteByte(o.kind)
			body.WriteString(text)
			body.WriteByte('\n')
			if nonl {
				body.WriteString("\\ No newline at end of file\n")
			}
			switch o.kind {
			case ' ':
				aCount++
				bCount++
			case '-':
				aCount++
				dels++
			case '+':
				bCount++
				adds++
			}
		}
		if aCount == 0 {
			aStart--
		}
		if bCount == 0 {
			bStart--
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n%s", hunkRange(aStart, aCount), hunkRange(bStart, bCount), body.String())
		k = stop
	}
	return strings.TrimSuffix(out.String(), "\n"), adds, dels
}

func hunkRange(start, count int) string {
	if count == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, count)
}

// splitLines splits text into lines without their newlines, and reports
// whether it ended with one.
func splitLines(s string) ([]string, bool) {
	if s == "" {
		return nil, true
	}
	nl := strings.HasSuffix(s, "\n")
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n"), nl
}
