package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// handlers answer the operations the fake implements, by operationId. They
// run with the server's lock held, after authentication and validation.
var handlers map[string]func(*Server, *request) reply

func init() {
	handlers = map[string]func(*Server, *request) reply{
		"apps/get-authenticated":                     (*Server).getApp,
		"apps/create-from-manifest":                  (*Server).convertManifest,
		"apps/list-webhook-deliveries":               (*Server).listDeliveries,
		"apps/get-webhook-delivery":                  (*Server).getDelivery,
		"apps/redeliver-webhook-delivery":            (*Server).redeliver,
		"apps/create-installation-access-token":      (*Server).createToken,
		"apps/get-installation":                      (*Server).getInstallation,
		"apps/list-installations":                    (*Server).listInstallations,
		"apps/get-repo-installation":                 (*Server).getRepoInstallation,
		"apps/list-repos-accessible-to-installation": (*Server).listInstallationRepos,
		"repos/get":                      (*Server).getRepo,
		"repos/get-content":              (*Server).getContent,
		"git/get-tree":                   (*Server).getTree,
		"git/create-tree":                (*Server).createTree,
		"git/create-blob":                (*Server).createBlob,
		"git/get-blob":                   (*Server).getBlob,
		"git/create-commit":              (*Server).createCommit,
		"git/get-commit":                 (*Server).getGitCommit,
		"git/get-ref":                    (*Server).getRef,
		"git/create-ref":                 (*Server).createRef,
		"git/update-ref":                 (*Server).updateRef,
		"repos/download-tarball-archive": (*Server).tarballLink,
		"pulls/get":                      (*Server).getPull,
		"pulls/list":                     (*Server).listPulls,
		"pulls/list-files":               (*Server).listPullFiles,
		"repos/list-pull-requests-associated-with-commit": (*Server).pullsForCommit,
		"checks/create":                           (*Server).createCheckRun,
		"checks/update":                           (*Server).updateCheckRun,
		"checks/get":                              (*Server).getCheckRun,
		"checks/list-for-ref":                     (*Server).listCheckRuns,
		"checks/list-annotations":                 (*Server).listAnnotations,
		"repos/get-collaborator-permission-level": (*Server).getPermission,
		"issues/create-comment":                   (*Server).createComment,
		"issues/create":                           (*Server).createIssue,
		"issues/list-for-repo":                    (*Server).listIssues,
		"orgs/check-membership-for-user":          (*Server).checkMembership,
		"orgs/get-membership-for-user":            (*Server).getOrgMembership,
		"users/get-authenticated":                 (*Server).getAuthenticatedUser,
	}
}

// refuse answers 422 for a request the description allows but GitHub
// rejects, and records it as a violation.
func (s *Server) refuse(req *request, msg string) reply {
	s.violate(req, strings.TrimPrefix(msg, "Invalid request.\n\n"))
	return errorReply(http.StatusUnprocessableEntity, msg, req.op.DocURL)
}

func intParam(req *request, name string) int64 {
	n, _ := strconv.ParseInt(req.params[name], 10, 64)
	return n
}

func bodyMap(req *request) map[string]any {
	m, _ := req.body.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

func str(m map[string]any, k string) (string, bool) {
	v, ok := m[k].(string)
	return v, ok
}

func num(m map[string]any, k string) int {
	n, _ := m[k].(json.Number)
	i, _ := n.Int64()
	return int(i)
}

// --- The App ---

func (s *Server) getApp(req *request) reply {
	return jsonReply(http.StatusOK, s.appJSON(req, s.AppID))
}

func (s *Server) convertManifest(req *request) reply {
	code := req.params["code"]
	app, ok := s.manifestCodes[code]
	if !ok {
		return notFound()
	}
	delete(s.manifestCodes, code) // a code converts once
	m := s.appJSON(req, s.AppID)
	m["id"] = app.ID
	m["slug"] = app.Slug
	m["name"] = app.Name
	m["node_id"] = nodeID("App", app.ID)
	m["owner"] = userJSON(req, app.Owner, s.userTypeOr(app.Owner, "Organization"))
	m["html_url"] = app.HTMLURL
	if app.ExternalURL != "" {
		m["external_url"] = app.ExternalURL
	}
	m["client_id"] = app.ClientID
	m["client_secret"] = app.ClientSecret
	m["webhook_secret"] = app.WebhookSecret
	m["pem"] = app.PEM
	m["installations_count"] = 0
	return jsonReply(http.StatusCreated, m)
}

// sortedDeliveries are the deliveries newest first, as GitHub lists them.
func (s *Server) sortedDeliveries() []HookDelivery {
	ds := append([]HookDelivery(nil), s.deliveries...)
	sort.SliceStable(ds, func(i, j int) bool {
		if !ds[i].DeliveredAt.Equal(ds[j].DeliveredAt) {
			return ds[i].DeliveredAt.After(ds[j].DeliveredAt)
		}
		return ds[i].ID > ds[j].ID
	})
	return ds
}

// listDeliveries pages with a cursor, as GitHub does: the Link header's
// next URL carries the cursor of the next page's first delivery.
func (s *Server) listDeliveries(req *request) reply {
	_, perPage := pageOf(req)
	ds := s.sortedDeliveries()
	start := 0
	if c := req.query.Get("cursor"); c != "" {
		id, err := strconv.ParseInt(strings.TrimPrefix(c, "v1_"), 10, 64)
		found := false
		for i, d := range ds {
			if err == nil && strings.HasPrefix(c, "v1_") && d.ID == id {
				start, found = i, true
				break
			}
		}
		if !found {
			return s.refuse(req, fmt.Sprintf("cursor %q names no delivery: pass the cursor of a Link header unchanged", c))
		}
	}
	end := min(start+perPage, len(ds))
	items := []any{}
	for _, d := range ds[start:end] {
		items = append(items, hookDeliveryJSON(d))
	}
	rep := jsonReply(http.StatusOK, items)
	if end < len(ds) {
		q := url.Values{}
		q.Set("per_page", strconv.Itoa(perPage))
		q.Set("cursor", fmt.Sprintf("v1_%d", ds[end].ID))
		rep.header = http.Header{}
		rep.header.Set("Link", fmt.Sprintf(`<%sapp/hook/deliveries?%s>; rel="next"`, req.base, q.Encode()))
	}
	return rep
}

func (s *Server) findDelivery(id int64) (HookDelivery, bool) {
	for _, d := range s.deliveries {
		if d.ID == id {
			return d, true
		}
	}
	return HookDelivery{}, false
}

func (s *Server) getDelivery(req *request) reply {
	d, ok := s.findDelivery(intParam(req, "delivery_id"))
	if !ok {
		return notFound()
	}
	m := hookDeliveryJSON(d)
	var payload any = map[string]any{}
	if len(d.Payload) > 0 {
		if v, err := decodeJSON(d.Payload); err == nil {
			payload = v
		}
	}
	m["url"] = ""
	m["request"] = map[string]any{
		"headers": map[string]any{
			"X-GitHub-Delivery": d.GUID,
			"X-GitHub-Event":    d.Event,
			"Content-Type":      "application/json",
		},
		"payload": payload,
	}
	m["response"] = map[string]any{"headers": map[string]any{}, "payload": nil}
	return jsonReply(http.StatusOK, m)
}

func (s *Server) redeliver(req *request) reply {
	d, ok := s.findDelivery(intParam(req, "delivery_id"))
	if !ok {
		return notFound()
	}
	s.redeliveries = append(s.redeliveries, d.ID)
	again := d
	again.ID, again.Redelivery, again.DeliveredAt = 0, true, time.Time{}
	again.StatusCode, again.Status = http.StatusOK, ""
	f := s.onRedeliver
	if f == nil {
		s.addHookDelivery(again)
		return jsonReply(http.StatusAccepted, map[string]any{})
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		code := f(again)
		s.mu.Lock()
		defer s.mu.Unlock()
		again.StatusCode, again.Status = code, ""
		s.addHookDelivery(again)
	}()
	return jsonReply(http.StatusAccepted, map[string]any{})
}

func (s *Server) createToken(req *request) reply {
	in, ok := s.installations[intParam(req, "installation_id")]
	if !ok {
		return notFound()
	}
	body := bodyMap(req)
	perms := copyPerms(in.perms)
	if want, ok := body["permissions"].(map[string]any); ok && len(want) > 0 {
		perms = map[string]string{}
		for k, v := range want {
			level, _ := v.(string)
			if levels[in.perms[k]] < levels[level] {
				return s.refuse(req, fmt.Sprintf("The permissions requested are not granted to this installation. (%s: %s)", k, level))
			}
			perms[k] = level
		}
	}
	var restrict map[string]bool
	names, _ := body["repositories"].([]any)
	ids, _ := body["repository_ids"].([]any)
	if len(names)+len(ids) > 0 {
		restrict = map[string]bool{}
		for _, n := range names {
			name, _ := n.(string)
			r := s.repos[strings.ToLower(in.account+"/"+name)]
			if r == nil || !in.hasRepo(r) {
				return s.refuse(req, fmt.Sprintf("There is at least one repository that does not exist or is not accessible to the parent installation. (%s)", name))
			}
			restrict[strings.ToLower(r.fullName())] = true
		}
		for _, v := range ids {
			n, _ := v.(json.Number)
			id, _ := n.Int64()
			var found *repo
			for _, r := range s.repos {
				if r.id == id && in.hasRepo(r) {
					found = r
				}
			}
			if found == nil {
				return s.refuse(req, fmt.Sprintf("There is at least one repository that does not exist or is not accessible to the parent installation. (id %d)", id))
			}
			restrict[strings.ToLower(found.fullName())] = true
		}
	}
	t := s.issueToken(in, perms, restrict)
	pm := map[string]any{}
	for k, v := range perms {
		pm[k] = v
	}
	sel := "all"
	if in.repos != nil || restrict != nil {
		sel = "selected"
	}
	m := map[string]any{
		"token":                t.value,
		"expires_at":           t.expires.UTC().Format(time.RFC3339),
		"permissions":          pm,
		"repository_selection": sel,
	}
	if restrict != nil {
		repos := []any{}
		for _, r := range s.installationRepos(t) {
			repos = append(repos, s.repoJSON(req, r, false))
		}
		m["repositories"] = repos
	}
	return jsonReply(http.StatusCreated, m)
}

func (s *Server) getInstallation(req *request) reply {
	in, ok := s.installations[intParam(req, "installation_id")]
	if !ok {
		return notFound()
	}
	return jsonReply(http.StatusOK, s.installationJSON(req, in))
}

func (s *Server) listInstallations(req *request) reply {
	var ids []int64
	for id := range s.installations {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	rep := reply{status: http.StatusOK}
	lo, hi := paginate(req, &rep, len(ids))
	items := []any{}
	for _, id := range ids[lo:hi] {
		items = append(items, s.installationJSON(req, s.installations[id]))
	}
	rep.value = items
	return rep
}

func (s *Server) getRepoInstallation(req *request) reply {
	var ids []int64
	for id, in := range s.installations {
		if in.hasRepo(req.repo) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return notFound()
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return jsonReply(http.StatusOK, s.installationJSON(req, s.installations[ids[0]]))
}

func (s *Server) listInstallationRepos(req *request) reply {
	repos := s.installationRepos(req.tok)
	rep := reply{status: http.StatusOK}
	lo, hi := paginate(req, &rep, len(repos))
	items := []any{}
	for _, r := range repos[lo:hi] {
		items = append(items, s.repoJSON(req, r, false))
	}
	sel := "all"
	if req.inst.repos != nil || req.tok.repos != nil {
		sel = "selected"
	}
	rep.value = map[string]any{"total_count": len(repos), "repositories": items, "repository_selection": sel}
	return rep
}

// --- Repositories and their files ---

func (s *Server) getRepo(req *request) reply {
	rep := jsonReply(http.StatusOK, s.repoJSON(req, req.repo, true))
	rep.lastModified = req.repo.updatedAt
	return rep
}

func noCommit(ref string) reply {
	return errorReply(http.StatusNotFound, "No commit found for the ref "+ref, "https://docs.github.com/rest/repos/contents#get-repository-content")
}

// maxContentBytes is the largest file whose content the contents API
// inlines as base64; larger files come with encoding "none" (GitHub: 1 MB).
const maxContentBytes = 1 << 20

// rawMediaType reports whether the client asked for a file's bytes
// rather than JSON.
func rawMediaType(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/vnd.github.raw") || strings.Contains(a, "application/vnd.github.v3.raw")
}

func (s *Server) getContent(req *request) reply {
	r := req.repo
	ref := req.query.Get("ref")
	c := s.resolveCommit(r, ref)
	if c == nil {
		return noCommit(ref)
	}
	p := strings.Trim(req.params["path"], "/")
	if sha, ok := c.files[p]; ok {
		data := s.objects.blobs[sha]
		if rawMediaType(req.r) {
			h := http.Header{}
			h.Set("Content-Type", "application/vnd.github.raw; charset=utf-8")
			return reply{status: http.StatusOK, header: h, body: append([]byte{}, data...)}
		}
		m := s.contentEntry(req, r, c, p, sha, false)
		m["content"], m["encoding"] = wrapBase64(data), "base64"
		if len(data) > maxContentBytes {
			m["content"], m["encoding"] = "", "none"
		}
		return jsonReply(http.StatusOK, m)
	}
	// A directory lists its entries.
	prefix := p + "/"
	seen := map[string]bool{}
	items := []map[string]any{}
	for fp, sha := range c.files {
		rest, ok := strings.CutPrefix(fp, prefix)
		if !ok {
			continue
		}
		name, _, isDir := strings.Cut(rest, "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		if isDir {
			items = append(items, s.contentEntry(req, r, c, prefix+name, s.subtreeSHA(c, prefix+name), true))
		} else {
			items = append(items, s.contentEntry(req, r, c, fp, sha, false))
		}
	}
	if len(items) == 0 {
		return notFound()
	}
	sort.Slice(items, func(i, j int) bool { return items[i]["name"].(string) < items[j]["name"].(string) })
	list := make([]any, len(items))
	for i, it := range items {
		list[i] = it
	}
	return jsonReply(http.StatusOK, list)
}

// subtreeSHA finds the sha of the tree at dir in commit c.
func (s *Server) subtreeSHA(c *commitObj, dir string) string {
	sha := c.tree
	for _, part := range strings.Split(dir, "/") {
		next := ""
		for _, it := range s.objects.trees[sha] {
			if it.name == part && it.isTree() {
				next = it.sha
			}
		}
		sha = next
	}
	return sha
}

func (s *Server) contentEntry(req *request, r *repo, c *commitObj, p, sha string, dir bool) map[string]any {
	self := req.base + "repos/" + r.fullName() + "/contents/" + escapePath(p) + "?ref=" + c.sha
	kind, gitKind, htmlKind := "file", "blobs", "blob"
	if dir {
		kind, gitKind, htmlKind = "dir", "trees", "tree"
	}
	gitURL := req.base + "repos/" + r.fullName() + "/git/" + gitKind + "/" + sha
	html := req.root + r.fullName() + "/" + htmlKind + "/" + c.sha + "/" + escapePath(p)
	var download any
	size := 0
	if !dir {
		download = s.downloadURL(req, "_raw", r, c.sha, p)
		size = len(s.objects.blobs[sha])
	}
	return map[string]any{
		"type":         kind,
		"size":         size,
		"name":         path.Base(p),
		"path":         p,
		"sha":          sha,
		"url":          self,
		"git_url":      gitURL,
		"html_url":     html,
		"download_url": download,
		"_links":       map[string]any{"self": self, "git": gitURL, "html": html},
	}
}

func (s *Server) getTree(req *request) reply {
	r := req.repo
	ref := req.params["tree_sha"]
	sha := ""
	if _, ok := s.objects.trees[strings.ToLower(ref)]; ok && s.visible(r)[strings.ToLower(ref)] {
		sha = strings.ToLower(ref)
	} else if c := s.resolveCommit(r, ref); c != nil {
		sha = c.tree
	}
	if sha == "" {
		return notFound()
	}
	_, recursive := req.query["recursive"]
	return jsonReply(http.StatusOK, s.treeJSON(req, r, sha, recursive))
}

func (s *Server) tarballLink(req *request) reply {
	c := s.resolveCommit(req.repo, req.params["ref"])
	if c == nil {
		return notFound()
	}
	h := http.Header{}
	h.Set("Location", s.downloadURL(req, "_codeload", req.repo, c.sha, "legacy.tar.gz"))
	return reply{status: http.StatusFound, header: h, body: []byte{}}
}

// --- Pull requests ---

func (s *Server) getPull(req *request) reply {
	p := req.repo.pulls[int(intParam(req, "pull_number"))]
	if p == nil {
		return notFound()
	}
	rep := jsonReply(http.StatusOK, s.pullJSON(req, req.repo, p, true))
	rep.lastModified = p.updatedAt
	return rep
}

func (s *Server) listPulls(req *request) reply {
	r := req.repo
	state := req.query.Get("state")
	if state == "" {
		state = "open"
	}
	var headOwner, headRef string
	if h := req.query.Get("head"); h != "" {
		var ok bool
		headOwner, headRef, ok = strings.Cut(h, ":")
		if !ok {
			// GitHub reads a head without an owner as the base owner's branch.
			headOwner, headRef = r.owner, h
		}
	}
	base := req.query.Get("base")
	var list []*pull
	for _, p := range r.pulls {
		if state != "all" && p.State != state {
			continue
		}
		if headRef != "" {
			owner, _, _ := strings.Cut(p.headRepo, "/")
			if !strings.EqualFold(owner, headOwner) || p.HeadRef != headRef {
				continue
			}
		}
		if base != "" && p.BaseRef != base {
			continue
		}
		list = append(list, p)
	}
	sortBy := req.query.Get("sort")
	// GitHub's default direction: desc for created, asc for the others.
	desc := req.query.Get("direction") == "desc"
	if req.query.Get("direction") == "" {
		desc = sortBy == "" || sortBy == "created"
	}
	less := func(a, b *pull) bool {
		switch sortBy {
		case "updated":
			return a.updatedAt.Before(b.updatedAt) || a.updatedAt.Equal(b.updatedAt) && a.Number < b.Number
		case "long-running":
			return a.createdAt.After(b.createdAt) || a.createdAt.Equal(b.createdAt) && a.Number > b.Number
		}
		return a.createdAt.Before(b.createdAt) || a.createdAt.Equal(b.createdAt) && a.Number < b.Number
	}
	sort.Slice(list, func(i, j int) bool {
		if desc {
			return less(list[j], list[i])
		}
		return less(list[i], list[j])
	})
	rep := reply{status: http.StatusOK}
	lo, hi := paginate(req, &rep, len(list))
	items := []any{}
	for _, p := range list[lo:hi] {
		items = append(items, s.pullJSON(req, r, p, false))
	}
	rep.value = items
	return rep
}

// maxPullFiles is how many files GitHub lists for a pull request at most.
const maxPullFiles = 3000

func (s *Server) listPullFiles(req *request) reply {
	r := req.repo
	p := r.pulls[int(intParam(req, "pull_number"))]
	if p == nil {
		return notFound()
	}
	files := s.files(r, p)
	if len(files) > maxPullFiles {
		files = files[:maxPullFiles]
	}
	rep := reply{status: http.StatusOK}
	lo, hi := paginate(req, &rep, len(files))
	items := []any{}
	for _, f := range files[lo:hi] {
		items = append(items, diffEntryJSON(req, r, p.HeadSHA, f))
	}
	rep.value = items
	return rep
}

// pullsForCommit lists the pull requests whose commits include sha.
func (s *Server) pullsForCommit(req *request) reply {
	r := req.repo
	sha := strings.ToLower(req.params["commit_sha"])
	c := s.resolveCommit(r, sha)
	if c == nil {
		found := false
		for _, p := range r.pulls {
			found = found || strings.EqualFold(p.HeadSHA, sha)
		}
		if !found {
			return s.refuse(req, "No commit found for SHA: "+req.params["commit_sha"])
		}
	} else {
		sha = c.sha
	}
	var list []*pull
	for _, p := range r.pulls {
		in := strings.EqualFold(p.HeadSHA, sha)
		if !in && c != nil {
			own := s.objects.ancestors(p.HeadSHA)
			if own[sha] {
				in = true
				if mb := s.objects.mergeBase(r.branches[p.BaseRef], p.HeadSHA); mb != nil && s.objects.ancestors(mb.sha)[sha] {
					in = false // already on the base branch before the PR
				}
			}
		}
		if in {
			list = append(list, p)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Number > list[j].Number })
	rep := reply{status: http.StatusOK}
	lo, hi := paginate(req, &rep, len(list))
	items := []any{}
	for _, p := range list[lo:hi] {
		items = append(items, s.pullJSON(req, r, p, false))
	}
	rep.value = items
	return rep
}

// --- Check runs ---

// checkRunSemantics refuses what GitHub refuses beyond the schema.
func (s *Server) checkRunSemantics(req *request, body map[string]any) (reply, bool) {
	if c, _ := str(body, "conclusion"); c == "stale" {
		return s.refuse(req, "Invalid request.\n\nA check run's conclusion cannot be set to stale: only GitHub sets it."), false
	}
	out, _ := body["output"].(map[string]any)
	anns, _ := out["annotations"].([]any)
	for i, a := range anns {
		m, _ := a.(map[string]any)
		start, end := num(m, "start_line"), num(m, "end_line")
		if start < 1 || end < start {
			return s.refuse(req, fmt.Sprintf("Invalid request.\n\nFor 'output/annotations/%d', start_line %d and end_line %d must be lines from 1 with start_line <= end_line.", i, start, end)), false
		}
		_, sc := m["start_column"]
		_, ec := m["end_column"]
		if (sc || ec) && start != end {
			return s.refuse(req, fmt.Sprintf("Invalid request.\n\nFor 'output/annotations/%d', start_column and end_column are only allowed when start_line equals end_line.", i)), false
		}
	}
	return reply{}, true
}

func (s *Server) applyCheckRun(c *checkRun, body map[string]any, now time.Time) {
	if v, ok := str(body, "name"); ok {
		c.Name = v
	}
	if v, ok := str(body, "details_url"); ok {
		c.DetailsURL = v
	}
	if v, ok := str(body, "external_id"); ok {
		c.ExternalID = v
	}
	if v, ok := str(body, "started_at"); ok {
		c.StartedAt, _ = time.Parse(time.RFC3339, v)
	}
	if v, ok := str(body, "status"); ok {
		c.Status = v
		if v != "completed" {
			c.Conclusion, c.CompletedAt = "", time.Time{}
		}
	}
	if v, ok := str(body, "conclusion"); ok {
		c.Conclusion, c.Status = v, "completed" // a conclusion completes the run
	}
	if v, ok := str(body, "completed_at"); ok {
		c.CompletedAt, _ = time.Parse(time.RFC3339, v)
	}
	if c.Status == "completed" && c.CompletedAt.IsZero() {
		c.CompletedAt = now
	}
	if out, ok := body["output"].(map[string]any); ok {
		if v, ok := str(out, "title"); ok {
			c.Title = v
		}
		if v, ok := str(out, "summary"); ok {
			c.Summary = v
		}
		if v, ok := str(out, "text"); ok {
			c.Text = v
		}
		anns, _ := out["annotations"].([]any)
		for _, a := range anns {
			m, _ := a.(map[string]any)
			ann := Annotation{StartLine: num(m, "start_line"), EndLine: num(m, "end_line"),
				StartColumn: num(m, "start_column"), EndColumn: num(m, "end_column")}
			ann.Path, _ = str(m, "path")
			ann.Level, _ = str(m, "annotation_level")
			ann.Title, _ = str(m, "title")
			ann.Message, _ = str(m, "message")
			ann.RawDetails, _ = str(m, "raw_details")
			c.Annotations = append(c.Annotations, ann)
		}
	}
	if acts, ok := body["actions"].([]any); ok {
		c.Actions = nil
		for _, a := range acts {
			m, _ := a.(map[string]any)
			var act Action
			act.Label, _ = str(m, "label")
			act.Description, _ = str(m, "description")
			act.Identifier, _ = str(m, "identifier")
			c.Actions = append(c.Actions, act)
		}
	}
	c.updatedAt = now
}

func (s *Server) createCheckRun(req *request) reply {
	r := req.repo
	body := bodyMap(req)
	if rep, ok := s.checkRunSemantics(req, body); !ok {
		return rep
	}
	sha, _ := str(body, "head_sha")
	if !s.knownSHA(r, sha) {
		return s.refuse(req, "No commit found for SHA: "+sha)
	}
	now := s.now().Truncate(time.Second)
	c := &checkRun{CheckRun: CheckRun{ID: s.newID(), AppID: s.AppID, HeadSHA: strings.ToLower(sha), Status: "queued", StartedAt: now}}
	c.suite = s.suite(r, c.HeadSHA, s.AppID)
	s.applyCheckRun(c, body, now)
	r.checkRuns = append(r.checkRuns, c)
	return jsonReply(http.StatusCreated, s.checkRunJSON(req, r, c))
}

func (s *Server) findCheckRun(r *repo, id int64) *checkRun {
	for _, c := range r.checkRuns {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func (s *Server) updateCheckRun(req *request) reply {
	r := req.repo
	c := s.findCheckRun(r, intParam(req, "check_run_id"))
	if c == nil {
		return notFound()
	}
	if c.AppID != s.AppID {
		return errorReply(http.StatusForbidden, "Invalid app_id `"+strconv.FormatInt(s.AppID, 10)+"` - check run can only be modified by the GitHub App that created it.", req.op.DocURL)
	}
	body := bodyMap(req)
	if rep, ok := s.checkRunSemantics(req, body); !ok {
		return rep
	}
	s.applyCheckRun(c, body, s.now().Truncate(time.Second))
	c.Updates++
	return jsonReply(http.StatusOK, s.checkRunJSON(req, r, c))
}

func (s *Server) getCheckRun(req *request) reply {
	r := req.repo
	c := s.findCheckRun(r, intParam(req, "check_run_id"))
	if c == nil {
		return notFound()
	}
	rep := jsonReply(http.StatusOK, s.checkRunJSON(req, r, c))
	rep.lastModified = c.updatedAt
	return rep
}

func (s *Server) listAnnotations(req *request) reply {
	r := req.repo
	c := s.findCheckRun(r, intParam(req, "check_run_id"))
	if c == nil {
		return notFound()
	}
	rep := reply{status: http.StatusOK}
	lo, hi := paginate(req, &rep, len(c.Annotations))
	items := []any{}
	for _, a := range c.Annotations[lo:hi] {
		items = append(items, annotationJSON(req, r, c, a))
	}
	rep.value = items
	return rep
}

func (s *Server) listCheckRuns(req *request) reply {
	r := req.repo
	ref := req.params["ref"]
	sha := ""
	if c := s.resolveCommit(r, ref); c != nil {
		sha = c.sha
	} else if s.knownSHA(r, ref) {
		sha = strings.ToLower(ref)
	} else {
		return s.refuse(req, "No commit found for SHA: "+ref)
	}
	name, status := req.query.Get("check_name"), req.query.Get("status")
	var appID int64
	if v := req.query.Get("app_id"); v != "" {
		appID, _ = strconv.ParseInt(v, 10, 64)
	}
	latest := req.query.Get("filter") != "all"
	var runs []*checkRun
	newest := map[string]*checkRun{}
	for _, c := range r.checkRuns {
		if c.HeadSHA != sha || name != "" && c.Name != name || status != "" && c.Status != status || appID != 0 && c.AppID != appID {
			continue
		}
		runs = append(runs, c)
		k := fmt.Sprintf("%d/%s", c.AppID, c.Name)
		if n := newest[k]; n == nil || c.ID > n.ID {
			newest[k] = c
		}
	}
	if latest {
		var kept []*checkRun
		for _, c := range runs {
			if newest[fmt.Sprintf("%d/%s", c.AppID, c.Name)] == c {
				kept = append(kept, c)
			}
		}
		runs = kept
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID > runs[j].ID })
	rep := reply{status: http.StatusOK}
	lo, hi := paginate(req, &rep, len(runs))
	items := []any{}
	for _, c := range runs[lo:hi] {
		items = append(items, s.checkRunJSON(req, r, c))
	}
	rep.value = map[string]any{"total_count": len(runs), "check_runs": items}
	return rep
}

// --- People and comments ---

// legacyPermission is the "permission" field: GitHub folds maintain into
// write and triage into read there, and names the role in role_name.
var legacyPermission = map[string]string{
	"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none",
}

func (s *Server) getPermission(req *request) reply {
	r := req.repo
	user := req.params["username"]
	role, ok := r.perms[strings.ToLower(user)]
	if !ok {
		role = "read"
		if r.private {
			role = "none"
		}
	}
	u := userJSON(req, user, s.userType(user))
	u["permissions"] = map[string]any{
		"pull":     role != "none",
		"triage":   levelAtLeast(role, "triage"),
		"push":     levelAtLeast(role, "write"),
		"maintain": levelAtLeast(role, "maintain"),
		"admin":    role == "admin",
	}
	u["role_name"] = role
	return jsonReply(http.StatusOK, map[string]any{
		"permission": legacyPermission[role],
		"role_name":  role,
		"user":       u,
	})
}

var roleRank = map[string]int{"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}

func levelAtLeast(role, min string) bool { return roleRank[role] >= roleRank[min] }

func (s *Server) createComment(req *request) reply {
	r := req.repo
	n := int(intParam(req, "issue_number"))
	if r.pulls[n] == nil {
		return notFound()
	}
	body, _ := str(bodyMap(req), "body")
	c := Comment{ID: s.newID(), Body: body, User: s.botLogin(), CreatedAt: s.now().Truncate(time.Second)}
	s.users[strings.ToLower(c.User)] = "Bot"
	r.comments[n] = append(r.comments[n], c)
	return jsonReply(http.StatusCreated, s.commentJSON(req, r, n, c))
}
