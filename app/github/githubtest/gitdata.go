package githubtest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The Git Data API: blobs, trees, commits and refs, as a client that
// writes a branch without a clone uses them. Objects are git's (shas
// computed as git computes them) and shared with the rest of the fake: a
// branch moved by a ref update shows its new files through the contents,
// trees and tarball endpoints.
//
// GitHub's rules kept here beyond the schemas:
//
//   - A repository without any commit answers 409 "Git Repository is
//     empty." to every Git Data operation: the API cannot write a first
//     commit.
//   - A tree entry, base tree or commit parent must name an object the
//     repository has, of the right kind: 422 (GitHub's "GitRPC::BadObjectState",
//     "Tree SHA does not exist", "Parent SHA does not exist or is not a
//     commit object"); a ref must point at a commit ("Object does not
//     exist"). These are recorded as violations.
//   - Creating a ref that exists is 422 "Reference already exists";
//     updating one that is missing, 422 "Reference does not exist"; a
//     non-forced update that is not a fast forward, 422 "Update is not a
//     fast forward". These answer races between writers, which a correct
//     client meets, and are not recorded as violations.
//
// The fake models branches only (refs/heads/…), single-parent commits, and
// blob and tree entries (modes 100644, 100755, 040000): tags, merge
// commits, symlinks (120000) and submodules (160000) are answered 501 and
// recorded as violations.

// maxBlobBytes is the largest blob the API writes (GitHub: 100 MB).
const maxBlobBytes = 100 << 20

func emptyRepo(req *request) reply {
	return errorReply(http.StatusConflict, "Git Repository is empty.", req.op.DocURL)
}

// unmodelled answers what the fake does not model, and records it.
func (s *Server) unmodelled(req *request, what string) reply {
	s.violate(req, "githubtest does not model "+what)
	return errorReply(http.StatusNotImplemented, "githubtest: "+what+" is not modelled", req.op.DocURL)
}

// plainRefusal is a 422 that answers a race between writers: not a
// violation.
func plainRefusal(req *request, msg string) reply {
	return errorReply(http.StatusUnprocessableEntity, msg, req.op.DocURL)
}

// visible is every object r can reach: its commits, their trees and
// blobs, and the blobs and trees written to it through the API.
func (s *Server) visible(r *repo) map[string]bool {
	seen := map[string]bool{}
	var walk func(tree string)
	walk = func(tree string) {
		if seen[tree] {
			return
		}
		seen[tree] = true
		for _, it := range s.objects.trees[tree] {
			if it.isTree() {
				walk(it.sha)
			} else {
				seen[it.sha] = true
			}
		}
	}
	for sha := range r.commits {
		seen[sha] = true
		if c := s.objects.commits[sha]; c != nil {
			walk(c.tree)
		}
	}
	for sha := range r.created {
		if _, ok := s.objects.trees[sha]; ok {
			walk(sha)
		} else {
			seen[sha] = true
		}
	}
	return seen
}

func isSHA(s string) bool {
	return len(s) == 40 && strings.Trim(s, "0123456789abcdef") == ""
}

func gitNodeID(kind string, r *repo, key string) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("0%d:%s%d:%s", len(kind), kind, r.id, key)))
}

func (s *Server) gitURL(req *request, r *repo, kind, sha string) string {
	return req.base + "repos/" + r.fullName() + "/git/" + kind + "/" + sha
}

func created(status int, location string, v any) reply {
	rep := jsonReply(status, v)
	rep.header = http.Header{}
	rep.header.Set("Location", location)
	return rep
}

// --- Blobs ---

func (s *Server) createBlob(req *request) reply {
	r := req.repo
	if len(r.branches) == 0 {
		return emptyRepo(req)
	}
	body := bodyMap(req)
	content, _ := str(body, "content")
	enc, ok := str(body, "encoding")
	if !ok {
		enc = "utf-8"
	}
	var data []byte
	switch strings.ToLower(enc) {
	case "utf-8", "utf8":
		data = []byte(content)
	case "base64":
		// GitHub reads base64 with or without line breaks.
		clean := strings.Map(func(c rune) rune {
			if c == '\n' || c == '\r' || c == ' ' || c == '\t' {
				return -1
			}
			return c
		}, content)
		var err error
		if data, err = base64.StdEncoding.DecodeString(clean); err != nil {
			return s.refuse(req, "Invalid request.\n\ncontent is not valid Base64: "+err.Error())
		}
	default:
		return s.refuse(req, fmt.Sprintf("Invalid request.\n\nencoding %q is not supported: use utf-8 or base64.", enc))
	}
	if len(data) > maxBlobBytes {
		return s.refuse(req, fmt.Sprintf("Invalid request.\n\nThe blob is %d bytes, over GitHub's limit of %d.", len(data), maxBlobBytes))
	}
	sha := s.objects.putBlob(data)
	r.created[sha] = true
	u := s.gitURL(req, r, "blobs", sha)
	return created(http.StatusCreated, u, map[string]any{"sha": sha, "url": u})
}

func (s *Server) getBlob(req *request) reply {
	r := req.repo
	if len(r.branches) == 0 {
		return emptyRepo(req)
	}
	sha := strings.ToLower(req.params["file_sha"])
	data, ok := s.objects.blobs[sha]
	if !ok || !s.visible(r)[sha] {
		return notFound()
	}
	if rawMediaType(req.r) {
		h := http.Header{}
		h.Set("Content-Type", "application/vnd.github.raw; charset=utf-8")
		return reply{status: http.StatusOK, header: h, body: append([]byte{}, data...)}
	}
	return jsonReply(http.StatusOK, map[string]any{
		"sha":      sha,
		"node_id":  gitNodeID("Blob", r, sha),
		"size":     len(data),
		"url":      s.gitURL(req, r, "blobs", sha),
		"content":  wrapBase64(data),
		"encoding": "base64",
	})
}

// --- Trees ---

// badTreePath reports a tree entry path git refuses: empty, ".", ".." or
// ".git" components, a leading or trailing slash, a NUL.
func badTreePath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return true
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.EqualFold(seg, ".git") || strings.ContainsRune(seg, 0) {
			return true
		}
	}
	return false
}

func (s *Server) createTree(req *request) reply {
	r := req.repo
	if len(r.branches) == 0 {
		return emptyRepo(req)
	}
	body := bodyMap(req)
	visible := s.visible(r)
	files, modes := map[string]string{}, map[string]string{}
	if base, ok := str(body, "base_tree"); ok {
		base = strings.ToLower(base)
		if _, isTree := s.objects.trees[base]; !isTree || !visible[base] {
			return s.refuse(req, "GitRPC::BadObjectState (base_tree "+base+" is not a tree of this repository)")
		}
		files, modes = s.objects.flatten(base)
	}
	removeUnder := func(p string) {
		delete(files, p)
		delete(modes, p)
		for f := range files {
			if strings.HasPrefix(f, p+"/") {
				delete(files, f)
				delete(modes, f)
			}
		}
	}
	entries, _ := body["tree"].([]any)
	for i, e := range entries {
		m, _ := e.(map[string]any)
		p, _ := str(m, "path")
		if badTreePath(p) {
			return s.refuse(req, fmt.Sprintf("tree.path contains a malformed path component (entry %d: %q)", i, p))
		}
		mode, hasMode := str(m, "mode")
		typ, hasType := str(m, "type")
		switch mode {
		case "160000":
			return s.unmodelled(req, "submodules (mode 160000) in trees")
		case "120000":
			return s.unmodelled(req, "symbolic links (mode 120000) in trees")
		case "":
			if !hasMode {
				return s.refuse(req, fmt.Sprintf("Invalid request.\n\nFor 'tree/%d', \"mode\" wasn't supplied.", i))
			}
		}
		wantType := "blob"
		if mode == modeTree {
			wantType = "tree"
		}
		if hasType && typ != wantType {
			return s.refuse(req, fmt.Sprintf("Invalid request.\n\nFor 'tree/%d', type %q does not go with mode %s.", i, typ, mode))
		}
		shaV, hasSHA := m["sha"]
		content, hasContent := str(m, "content")
		if hasSHA && shaV != nil && hasContent {
			return s.refuse(req, fmt.Sprintf("Invalid request.\n\nFor 'tree/%d', use either tree.sha or tree.content, not both.", i))
		}
		switch {
		case hasContent:
			if wantType != "blob" {
				return s.refuse(req, fmt.Sprintf("Invalid request.\n\nFor 'tree/%d', content is for blobs, not mode %s.", i, mode))
			}
			removeUnder(p)
			files[p] = s.objects.putBlob([]byte(content))
			r.created[files[p]] = true
		case hasSHA && shaV == nil:
			removeUnder(p) // a deletion: nothing when the path is not there
		case hasSHA:
			sha, _ := shaV.(string)
			sha = strings.ToLower(sha)
			_, isTree := s.objects.trees[sha]
			_, isBlob := s.objects.blobs[sha]
			if !isSHA(sha) || !visible[sha] || wantType == "tree" && !isTree || wantType == "blob" && !isBlob {
				return s.refuse(req, fmt.Sprintf("GitRPC::BadObjectState (tree/%d: %s is not a %s of this repository)", i, sha, wantType))
			}
			removeUnder(p)
			if isTree && wantType == "tree" {
				sub, subModes := s.objects.flatten(sha)
				for f, b := range sub {
					files[p+"/"+f] = b
				}
				for f, md := range subModes {
					modes[p+"/"+f] = md
				}
			} else {
				files[p] = sha
			}
		default:
			return s.refuse(req, fmt.Sprintf("Invalid request.\n\nFor 'tree/%d', supply tree.sha or tree.content.", i))
		}
		if wantType == "blob" && mode != modeFile && (hasContent || hasSHA && shaV != nil) {
			modes[p] = mode
		}
	}
	// A path that is a file and a folder at once cannot be written.
	for f := range files {
		for dir := f; ; {
			i := strings.LastIndexByte(dir, '/')
			if i < 0 {
				break
			}
			dir = dir[:i]
			if _, clash := files[dir]; clash {
				return s.refuse(req, fmt.Sprintf("GitRPC::BadObjectState (%q is both a file and a folder)", dir))
			}
		}
	}
	sha := s.objects.putTreeModes(files, modes)
	r.created[sha] = true
	return created(http.StatusCreated, s.gitURL(req, r, "trees", sha), s.treeJSON(req, r, sha, false))
}

// treeJSON is a tree as git/get-tree and git/create-tree answer it.
func (s *Server) treeJSON(req *request, r *repo, sha string, recursive bool) map[string]any {
	entries := s.objects.walkTree(sha, recursive)
	truncated := len(entries) > s.treeLimit
	if truncated {
		entries = entries[:s.treeLimit]
	}
	items := []any{}
	for _, e := range entries {
		it := map[string]any{"path": e.path, "mode": e.item.mode, "sha": e.item.sha}
		if e.item.isTree() {
			it["type"] = "tree"
			it["url"] = s.gitURL(req, r, "trees", e.item.sha)
		} else {
			it["type"] = "blob"
			it["size"] = e.size
			it["url"] = s.gitURL(req, r, "blobs", e.item.sha)
		}
		items = append(items, it)
	}
	return map[string]any{
		"sha":       sha,
		"url":       s.gitURL(req, r, "trees", sha),
		"tree":      items,
		"truncated": truncated,
	}
}

// --- Commits ---

// signatureOf reads an author or committer object; ok is false when the
// body has none.
func signatureOf(v any, now time.Time) (signature, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return signature{}, false
	}
	g := signature{when: now}
	g.name, _ = str(m, "name")
	g.email, _ = str(m, "email")
	if d, ok := str(m, "date"); ok {
		if t, err := time.Parse(time.RFC3339, d); err == nil {
			g.when = t
		}
	}
	return g, true
}

func (s *Server) createCommit(req *request) reply {
	r := req.repo
	if len(r.branches) == 0 {
		return emptyRepo(req)
	}
	body := bodyMap(req)
	visible := s.visible(r)
	tree, _ := str(body, "tree")
	tree = strings.ToLower(tree)
	if _, ok := s.objects.trees[tree]; !ok || !visible[tree] {
		return s.refuse(req, "Tree SHA does not exist")
	}
	parents, _ := body["parents"].([]any)
	if len(parents) > 1 {
		return s.unmodelled(req, "merge commits (more than one parent)")
	}
	parent := ""
	if len(parents) == 1 {
		parent, _ = parents[0].(string)
		parent = strings.ToLower(parent)
		if _, ok := s.objects.commits[parent]; !ok || !visible[parent] {
			return s.refuse(req, "Parent SHA does not exist or is not a commit object")
		}
	}
	message, _ := str(body, "message")
	now := s.now().Truncate(time.Second)
	// Without an author, GitHub writes the commit as the App's bot.
	bot := s.botLogin()
	author := signature{name: bot, email: fmt.Sprintf("%d+%s@users.noreply.github.com", userID(bot), bot), when: now}
	if a, ok := signatureOf(body["author"], now); ok {
		author = a
	}
	committer := author
	if c, ok := signatureOf(body["committer"], now); ok {
		committer = c
	}
	c := s.objects.writeCommit(tree, parent, author, committer, message)
	r.commits[c.sha] = true
	return created(http.StatusCreated, s.gitURL(req, r, "commits", c.sha), s.gitCommitJSON(req, r, c))
}

func (s *Server) getGitCommit(req *request) reply {
	r := req.repo
	if len(r.branches) == 0 {
		return emptyRepo(req)
	}
	sha := strings.ToLower(req.params["commit_sha"])
	c := s.objects.commits[sha]
	if c == nil || !r.commits[sha] {
		return notFound()
	}
	return jsonReply(http.StatusOK, s.gitCommitJSON(req, r, c))
}

func (s *Server) gitCommitJSON(req *request, r *repo, c *commitObj) map[string]any {
	who := func(g signature) map[string]any {
		return map[string]any{"name": g.name, "email": g.email, "date": g.when.UTC().Format(time.RFC3339)}
	}
	parents := []any{}
	if c.parent != "" {
		parents = append(parents, map[string]any{
			"sha":      c.parent,
			"url":      s.gitURL(req, r, "commits", c.parent),
			"html_url": req.root + r.fullName() + "/commit/" + c.parent,
		})
	}
	return map[string]any{
		"sha":       c.sha,
		"node_id":   gitNodeID("Commit", r, c.sha),
		"url":       s.gitURL(req, r, "commits", c.sha),
		"html_url":  req.root + r.fullName() + "/commit/" + c.sha,
		"author":    who(c.author),
		"committer": who(c.committer),
		"message":   c.message,
		"tree":      map[string]any{"sha": c.tree, "url": s.gitURL(req, r, "trees", c.tree)},
		"parents":   parents,
		"verification": map[string]any{
			"verified": false, "reason": "unsigned", "signature": nil, "payload": nil,
		},
	}
}

// --- Refs ---

func (s *Server) gitRefJSON(req *request, r *repo, branch, sha string) map[string]any {
	ref := "refs/heads/" + branch
	return map[string]any{
		"ref":     ref,
		"node_id": gitNodeID("Ref", r, ref),
		"url":     req.base + "repos/" + r.fullName() + "/git/" + escapePath(ref),
		"object": map[string]any{
			"type": "commit",
			"sha":  sha,
			"url":  s.gitURL(req, r, "commits", sha),
		},
	}
}

// validBranchName applies git's rules for ref names (git check-ref-format)
// to a branch name.
func validBranchName(b string) bool {
	if b == "" || b == "@" || strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") || strings.HasSuffix(b, ".") ||
		strings.Contains(b, "..") || strings.Contains(b, "//") || strings.Contains(b, "@{") {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return false
		}
	}
	for _, seg := range strings.Split(b, "/") {
		if strings.HasPrefix(seg, ".") || strings.HasSuffix(seg, ".lock") {
			return false
		}
	}
	return true
}

func (s *Server) getRef(req *request) reply {
	r := req.repo
	if len(r.branches) == 0 {
		return emptyRepo(req)
	}
	branch, ok := strings.CutPrefix(req.params["ref"], "heads/")
	if !ok {
		return notFound() // the fake has no tags or other refs
	}
	sha, ok := r.branches[branch]
	if !ok {
		return notFound()
	}
	return jsonReply(http.StatusOK, s.gitRefJSON(req, r, branch, sha))
}

func (s *Server) createRef(req *request) reply {
	r := req.repo
	if len(r.branches) == 0 {
		return emptyRepo(req)
	}
	body := bodyMap(req)
	ref, _ := str(body, "ref")
	if !strings.HasPrefix(ref, "refs/") || strings.Count(ref, "/") < 2 {
		return s.refuse(req, fmt.Sprintf("Reference name %q must start with 'refs/' and have at least two slashes.", ref))
	}
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return s.unmodelled(req, "refs other than branches ("+ref+")")
	}
	if !validBranchName(branch) {
		return s.refuse(req, fmt.Sprintf("Reference name %q is not a valid ref name.", ref))
	}
	sha, _ := str(body, "sha")
	sha = strings.ToLower(sha)
	if _, ok := s.objects.commits[sha]; !ok || !r.commits[sha] {
		return s.refuse(req, "Object does not exist")
	}
	if _, exists := r.branches[branch]; exists {
		return plainRefusal(req, "Reference already exists")
	}
	s.moveBranch(r, branch, sha)
	v := s.gitRefJSON(req, r, branch, sha)
	return created(http.StatusCreated, v["url"].(string), v)
}

func (s *Server) updateRef(req *request) reply {
	r := req.repo
	if len(r.branches) == 0 {
		return emptyRepo(req)
	}
	branch, ok := strings.CutPrefix(req.params["ref"], "heads/")
	if !ok {
		return plainRefusal(req, "Reference does not exist")
	}
	head, exists := r.branches[branch]
	if !exists {
		return plainRefusal(req, "Reference does not exist")
	}
	body := bodyMap(req)
	sha, _ := str(body, "sha")
	sha = strings.ToLower(sha)
	if _, ok := s.objects.commits[sha]; !ok || !r.commits[sha] {
		return s.refuse(req, "Object does not exist")
	}
	force, _ := body["force"].(bool)
	if !force && !s.objects.isAncestor(head, sha) {
		return plainRefusal(req, "Update is not a fast forward")
	}
	s.moveBranch(r, branch, sha)
	return jsonReply(http.StatusOK, s.gitRefJSON(req, r, branch, sha))
}
