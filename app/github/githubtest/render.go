package githubtest

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// The JSON shapes below follow the schemas of GitHub's description (every
// required field, with GitHub's URL templates); the tests validate each
// against its response schema.

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func nodeID(kind string, id int64) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("0%d:%s%d", len(kind), kind, id)))
}

// escapePath escapes each segment of a slash-separated path.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func (s *Server) userType(login string) string {
	if t, ok := s.users[strings.ToLower(login)]; ok {
		return t
	}
	if strings.HasSuffix(login, "[bot]") {
		return "Bot"
	}
	return "User"
}

func userJSON(req *request, login, typ string) map[string]any {
	id := userID(login)
	u := req.base + "users/" + url.PathEscape(login)
	html := req.root + url.PathEscape(login)
	if typ == "Bot" {
		html = req.root + "apps/" + url.PathEscape(strings.TrimSuffix(login, "[bot]"))
	}
	return map[string]any{
		"login":               login,
		"id":                  id,
		"node_id":             nodeID(typ, id),
		"avatar_url":          fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		"gravatar_id":         "",
		"url":                 u,
		"html_url":            html,
		"followers_url":       u + "/followers",
		"following_url":       u + "/following{/other_user}",
		"gists_url":           u + "/gists{/gist_id}",
		"starred_url":         u + "/starred{/owner}{/repo}",
		"subscriptions_url":   u + "/subscriptions",
		"organizations_url":   u + "/orgs",
		"repos_url":           u + "/repos",
		"events_url":          u + "/events{/privacy}",
		"received_events_url": u + "/received_events",
		"type":                typ,
		"site_admin":          false,
	}
}

func (s *Server) repoJSON(req *request, r *repo, full bool) map[string]any {
	api := req.base + "repos/" + url.PathEscape(r.owner) + "/" + url.PathEscape(r.name)
	html := req.root + url.PathEscape(r.owner) + "/" + url.PathEscape(r.name)
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(req.root, "http://"), "https://"), "/")
	visibility := "public"
	if r.private {
		visibility = "private"
	}
	openPRs := 0
	for _, p := range r.pulls {
		if p.State == "open" {
			openPRs++
		}
	}
	m := map[string]any{
		"id":                             r.id,
		"node_id":                        nodeID("Repository", r.id),
		"name":                           r.name,
		"full_name":                      r.fullName(),
		"owner":                          userJSON(req, r.owner, r.ownerType),
		"private":                        r.private,
		"html_url":                       html,
		"description":                    nil,
		"fork":                           r.forkOf != "",
		"url":                            api,
		"archive_url":                    api + "/{archive_format}{/ref}",
		"assignees_url":                  api + "/assignees{/user}",
		"blobs_url":                      api + "/git/blobs{/sha}",
		"branches_url":                   api + "/branches{/branch}",
		"collaborators_url":              api + "/collaborators{/collaborator}",
		"comments_url":                   api + "/comments{/number}",
		"commits_url":                    api + "/commits{/sha}",
		"compare_url":                    api + "/compare/{base}...{head}",
		"contents_url":                   api + "/contents/{+path}",
		"contributors_url":               api + "/contributors",
		"deployments_url":                api + "/deployments",
		"downloads_url":                  api + "/downloads",
		"events_url":                     api + "/events",
		"forks_url":                      api + "/forks",
		"git_commits_url":                api + "/git/commits{/sha}",
		"git_refs_url":                   api + "/git/refs{/sha}",
		"git_tags_url":                   api + "/git/tags{/sha}",
		"git_url":                        "git://" + host + "/" + r.fullName() + ".git",
		"issue_comment_url":              api + "/issues/comments{/number}",
		"issue_events_url":               api + "/issues/events{/number}",
		"issues_url":                     api + "/issues{/number}",
		"keys_url":                       api + "/keys{/key_id}",
		"labels_url":                     api + "/labels{/name}",
		"languages_url":                  api + "/languages",
		"merges_url":                     api + "/merges",
		"milestones_url":                 api + "/milestones{/number}",
		"notifications_url":              api + "/notifications{?since,all,participating}",
		"pulls_url":                      api + "/pulls{/number}",
		"releases_url":                   api + "/releases{/id}",
		"ssh_url":                        "git@" + host + ":" + r.fullName() + ".git",
		"stargazers_url":                 api + "/stargazers",
		"statuses_url":                   api + "/statuses/{sha}",
		"subscribers_url":                api + "/subscribers",
		"subscription_url":               api + "/subscription",
		"tags_url":                       api + "/tags",
		"teams_url":                      api + "/teams",
		"trees_url":                      api + "/git/trees{/sha}",
		"clone_url":                      html + ".git",
		"mirror_url":                     nil,
		"hooks_url":                      api + "/hooks",
		"svn_url":                        html,
		"homepage":                       nil,
		"language":                       nil,
		"forks_count":                    0,
		"forks":                          0,
		"stargazers_count":               0,
		"watchers_count":                 0,
		"watchers":                       0,
		"size":                           0,
		"default_branch":                 r.defaultBranch,
		"open_issues_count":              openPRs,
		"open_issues":                    openPRs,
		"is_template":                    false,
		"topics":                         []string{},
		"has_issues":                     true,
		"has_projects":                   true,
		"has_wiki":                       true,
		"has_pages":                      false,
		"has_downloads":                  true,
		"has_discussions":                false,
		"archived":                       false,
		"disabled":                       false,
		"visibility":                     visibility,
		"pushed_at":                      ts(r.pushedAt),
		"created_at":                     ts(r.createdAt),
		"updated_at":                     ts(r.updatedAt),
		"permissions":                    map[string]any{"admin": false, "maintain": false, "push": false, "triage": false, "pull": true},
		"allow_forking":                  true,
		"web_commit_signoff_required":    false,
		"license":                        nil,
		"allow_rebase_merge":             true,
		"allow_squash_merge":             true,
		"allow_merge_commit":             true,
		"allow_auto_merge":               false,
		"delete_branch_on_merge":         false,
		"allow_update_branch":            false,
		"use_squash_pr_title_as_default": false,
	}
	if full {
		m["network_count"] = 0
		m["subscribers_count"] = 0
		m["temp_clone_token"] = nil
		if r.ownerType == "Organization" {
			m["organization"] = userJSON(req, r.owner, "Organization")
		}
		if parent := s.repos[strings.ToLower(r.forkOf)]; parent != nil && parent != r {
			m["parent"] = s.repoJSON(req, parent, false)
			m["source"] = s.repoJSON(req, parent, false)
		}
	}
	return m
}

func (s *Server) appJSON(req *request, appID int64) map[string]any {
	a := s.app
	if appID != s.AppID {
		// Another App: only its id is known.
		a = appInfo{slug: fmt.Sprintf("app-%d", appID), name: fmt.Sprintf("App %d", appID), owner: "other-owner",
			perms: map[string]string{"checks": "write", "metadata": "read"}, events: []string{}, createdAt: s.app.createdAt}
	}
	perms := map[string]any{}
	for k, v := range a.perms {
		perms[k] = v
	}
	installs := 0
	if appID == s.AppID {
		installs = len(s.installations)
	}
	return map[string]any{
		"id":                  appID,
		"slug":                a.slug,
		"node_id":             nodeID("App", appID),
		"owner":               userJSON(req, a.owner, s.userTypeOr(a.owner, "Organization")),
		"name":                a.name,
		"description":         nil,
		"external_url":        req.root + "apps/" + a.slug + "/home",
		"html_url":            req.root + "apps/" + a.slug,
		"created_at":          ts(a.createdAt),
		"updated_at":          ts(a.createdAt),
		"permissions":         perms,
		"events":              append([]string{}, a.events...),
		"installations_count": installs,
	}
}

func (s *Server) userTypeOr(login, def string) string {
	if t, ok := s.users[strings.ToLower(login)]; ok {
		return t
	}
	return def
}

func (s *Server) botLogin() string { return s.app.slug + "[bot]" }

func (s *Server) installationJSON(req *request, in *installation) map[string]any {
	sel := "all"
	if in.repos != nil {
		sel = "selected"
	}
	perms := map[string]any{}
	for k, v := range in.perms {
		perms[k] = v
	}
	htmlURL := req.root + "organizations/" + url.PathEscape(in.account) + "/settings/installations/" + fmt.Sprint(in.id)
	if in.accountType == "User" {
		htmlURL = req.root + "settings/installations/" + fmt.Sprint(in.id)
	}
	return map[string]any{
		"id":                        in.id,
		"account":                   userJSON(req, in.account, in.accountType),
		"repository_selection":      sel,
		"access_tokens_url":         fmt.Sprintf("%sapp/installations/%d/access_tokens", req.base, in.id),
		"repositories_url":          req.base + "installation/repositories",
		"html_url":                  htmlURL,
		"app_id":                    s.AppID,
		"app_slug":                  s.app.slug,
		"target_id":                 userID(in.account),
		"target_type":               in.accountType,
		"permissions":               perms,
		"events":                    append([]string{}, s.app.events...),
		"created_at":                ts(in.createdAt),
		"updated_at":                ts(in.createdAt),
		"single_file_name":          nil,
		"has_multiple_single_files": false,
		"single_file_paths":         []string{},
		"suspended_by":              nil,
		"suspended_at":              nil,
	}
}

// installationRepos lists the repositories an installation (and a token of
// it) can reach, by full name.
func (s *Server) installationRepos(t *token) []*repo {
	var out []*repo
	for _, r := range s.repos {
		if t.hasRepo(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (s *Server) labelJSON(req *request, r *repo, name string) map[string]any {
	id := userID("label:" + r.fullName() + ":" + name)
	return map[string]any{
		"id":          id,
		"node_id":     nodeID("Label", id),
		"url":         req.base + "repos/" + r.fullName() + "/labels/" + url.PathEscape(name),
		"name":        name,
		"description": "",
		"color":       "ededed",
		"default":     false,
	}
}

func (s *Server) authorAssociation(r *repo, login string) string {
	switch {
	case strings.EqualFold(login, r.owner):
		return "OWNER"
	case r.perms[strings.ToLower(login)] != "" && r.perms[strings.ToLower(login)] != "none":
		if r.ownerType == "Organization" {
			return "MEMBER"
		}
		return "COLLABORATOR"
	}
	return "NONE"
}

// pullJSON renders a pull request: the full object of pulls/get, or the
// simple one of lists.
func (s *Server) pullJSON(req *request, r *repo, p *pull, full bool) map[string]any {
	api := req.base + "repos/" + r.fullName()
	html := req.root + r.fullName() + "/pull/" + fmt.Sprint(p.Number)
	var body any
	if p.Body != nil {
		body = *p.Body
	}
	labels := []any{}
	for _, l := range p.Labels {
		labels = append(labels, s.labelJSON(req, r, l))
	}
	headRepo := s.repos[strings.ToLower(p.headRepo)]
	headOwner, _, _ := strings.Cut(p.headRepo, "/")
	baseSHA := r.branches[p.BaseRef]
	if mb := s.objects.mergeBase(baseSHA, p.HeadSHA); mb != nil && baseSHA == "" {
		baseSHA = mb.sha
	}
	if baseSHA == "" {
		baseSHA = strings.Repeat("0", 40)
	}
	head := map[string]any{
		"label": headOwner + ":" + p.HeadRef,
		"ref":   p.HeadRef,
		"sha":   p.HeadSHA,
		"user":  userJSON(req, headOwner, s.userTypeOr(headOwner, "User")),
		"repo":  s.repoJSON(req, headRepo, false),
	}
	base := map[string]any{
		"label": r.owner + ":" + p.BaseRef,
		"ref":   p.BaseRef,
		"sha":   baseSHA,
		"user":  userJSON(req, r.owner, r.ownerType),
		"repo":  s.repoJSON(req, r, false),
	}
	link := func(u string) map[string]any { return map[string]any{"href": u} }
	var mergedAt, closedAt, mergeSHA any
	if !p.closedAt.IsZero() {
		closedAt = ts(p.closedAt)
	}
	if p.Merged {
		mergedAt, mergeSHA = ts(p.mergedAt), p.mergeSHA
	}
	m := map[string]any{
		"url":                 fmt.Sprintf("%s/pulls/%d", api, p.Number),
		"id":                  p.id,
		"node_id":             nodeID("PullRequest", p.id),
		"html_url":            html,
		"diff_url":            html + ".diff",
		"patch_url":           html + ".patch",
		"issue_url":           fmt.Sprintf("%s/issues/%d", api, p.Number),
		"commits_url":         fmt.Sprintf("%s/pulls/%d/commits", api, p.Number),
		"review_comments_url": fmt.Sprintf("%s/pulls/%d/comments", api, p.Number),
		"review_comment_url":  api + "/pulls/comments{/number}",
		"comments_url":        fmt.Sprintf("%s/issues/%d/comments", api, p.Number),
		"statuses_url":        api + "/statuses/" + p.HeadSHA,
		"number":              p.Number,
		"state":               p.State,
		"locked":              false,
		"title":               p.Title,
		"user":                userJSON(req, p.User, p.UserType),
		"body":                body,
		"labels":              labels,
		"milestone":           nil,
		"active_lock_reason":  nil,
		"created_at":          ts(p.createdAt),
		"updated_at":          ts(p.updatedAt),
		"closed_at":           closedAt,
		"merged_at":           mergedAt,
		"merge_commit_sha":    mergeSHA,
		"assignee":            nil,
		"assignees":           []any{},
		"requested_reviewers": []any{},
		"requested_teams":     []any{},
		"head":                head,
		"base":                base,
		"_links": map[string]any{
			"self":            link(fmt.Sprintf("%s/pulls/%d", api, p.Number)),
			"html":            link(html),
			"issue":           link(fmt.Sprintf("%s/issues/%d", api, p.Number)),
			"comments":        link(fmt.Sprintf("%s/issues/%d/comments", api, p.Number)),
			"review_comments": link(fmt.Sprintf("%s/pulls/%d/comments", api, p.Number)),
			"review_comment":  link(api + "/pulls/comments{/number}"),
			"commits":         link(fmt.Sprintf("%s/pulls/%d/commits", api, p.Number)),
			"statuses":        link(api + "/statuses/" + p.HeadSHA),
		},
		"author_association": s.authorAssociation(r, p.User),
		"auto_merge":         nil,
		"draft":              p.Draft,
	}
	if full {
		files := s.files(r, p)
		adds, dels := 0, 0
		for _, f := range files {
			adds += f.additions
			dels += f.deletions
		}
		commits := 1
		if mb := s.objects.mergeBase(r.branches[p.BaseRef], p.HeadSHA); mb != nil {
			commits = max(len(s.objects.ancestors(p.HeadSHA))-len(s.objects.ancestors(mb.sha)), 1)
		}
		var mergedBy any
		if p.Merged {
			mergedBy = userJSON(req, r.owner, r.ownerType)
		}
		mergeableState := "unknown"
		if p.Draft {
			mergeableState = "draft"
		}
		m["merged"] = p.Merged
		m["mergeable"] = nil
		m["rebaseable"] = nil
		m["mergeable_state"] = mergeableState
		m["merged_by"] = mergedBy
		m["comments"] = len(r.comments[p.Number])
		m["review_comments"] = 0
		m["maintainer_can_modify"] = false
		m["commits"] = commits
		m["additions"] = adds
		m["deletions"] = dels
		m["changed_files"] = len(files)
	}
	return m
}

func diffEntryJSON(req *request, r *repo, headSHA string, f fileChange) map[string]any {
	m := map[string]any{
		"sha":          f.sha,
		"filename":     f.filename,
		"status":       f.status,
		"additions":    f.additions,
		"deletions":    f.deletions,
		"changes":      f.additions + f.deletions,
		"blob_url":     req.root + r.fullName() + "/blob/" + headSHA + "/" + escapePath(f.filename),
		"raw_url":      req.root + r.fullName() + "/raw/" + headSHA + "/" + escapePath(f.filename),
		"contents_url": req.base + "repos/" + r.fullName() + "/contents/" + escapePath(f.filename) + "?ref=" + headSHA,
	}
	if f.patch != "" {
		m["patch"] = f.patch
	}
	if f.previous != "" {
		m["previous_filename"] = f.previous
	}
	return m
}

func (s *Server) pullMinimalJSON(req *request, r *repo, p *pull) map[string]any {
	repoRef := func(x *repo) map[string]any {
		return map[string]any{"id": x.id, "url": req.base + "repos/" + x.fullName(), "name": x.name}
	}
	baseSHA := r.branches[p.BaseRef]
	if baseSHA == "" {
		baseSHA = strings.Repeat("0", 40)
	}
	return map[string]any{
		"id":     p.id,
		"number": p.Number,
		"url":    fmt.Sprintf("%srepos/%s/pulls/%d", req.base, r.fullName(), p.Number),
		"head":   map[string]any{"ref": p.HeadRef, "sha": p.HeadSHA, "repo": repoRef(r)},
		"base":   map[string]any{"ref": p.BaseRef, "sha": baseSHA, "repo": repoRef(r)},
	}
}

func (s *Server) checkRunJSON(req *request, r *repo, c *checkRun) map[string]any {
	api := fmt.Sprintf("%srepos/%s/check-runs/%d", req.base, r.fullName(), c.ID)
	html := fmt.Sprintf("%s%s/runs/%d", req.root, r.fullName(), c.ID)
	var conclusion any
	if c.Status == "completed" {
		conclusion = c.Conclusion
	}
	details := any(c.DetailsURL)
	if c.DetailsURL == "" {
		details = req.root + "apps/" + s.app.slug + "/home"
	}
	var title any
	if c.Title != "" {
		title = c.Title
	}
	var summary, text any
	if c.Summary != "" {
		summary = c.Summary
	}
	if c.Text != "" {
		text = c.Text
	}
	// GitHub links a run to the open pull requests of the same repository
	// whose head is the run's commit: never to PRs from forks.
	prs := []any{}
	var nums []int
	for n, p := range r.pulls {
		if p.State == "open" && strings.EqualFold(p.HeadSHA, c.HeadSHA) && strings.EqualFold(p.headRepo, r.fullName()) {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	for _, n := range nums {
		prs = append(prs, s.pullMinimalJSON(req, r, r.pulls[n]))
	}
	return map[string]any{
		"id":           c.ID,
		"head_sha":     c.HeadSHA,
		"node_id":      nodeID("CheckRun", c.ID),
		"external_id":  c.ExternalID,
		"url":          api,
		"html_url":     html,
		"details_url":  details,
		"status":       c.Status,
		"conclusion":   conclusion,
		"started_at":   ts(c.StartedAt),
		"completed_at": ts(c.CompletedAt),
		"output": map[string]any{
			"title":             title,
			"summary":           summary,
			"text":              text,
			"annotations_count": len(c.Annotations),
			"annotations_url":   api + "/annotations",
		},
		"name":          c.Name,
		"check_suite":   map[string]any{"id": c.suite},
		"app":           s.appJSON(req, c.AppID),
		"pull_requests": prs,
	}
}

func annotationJSON(req *request, r *repo, c *checkRun, a Annotation) map[string]any {
	col := func(n int) any {
		if n == 0 {
			return nil
		}
		return n
	}
	opt := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	return map[string]any{
		"path":             a.Path,
		"start_line":       a.StartLine,
		"end_line":         a.EndLine,
		"start_column":     col(a.StartColumn),
		"end_column":       col(a.EndColumn),
		"annotation_level": opt(a.Level),
		"title":            opt(a.Title),
		"message":          opt(a.Message),
		"raw_details":      opt(a.RawDetails),
		"blob_href":        req.root + r.fullName() + "/blob/" + c.HeadSHA + "/" + escapePath(a.Path),
	}
}

func (s *Server) commentJSON(req *request, r *repo, number int, c Comment) map[string]any {
	api := req.base + "repos/" + r.fullName()
	return map[string]any{
		"id":                       c.ID,
		"node_id":                  nodeID("IssueComment", c.ID),
		"url":                      fmt.Sprintf("%s/issues/comments/%d", api, c.ID),
		"html_url":                 fmt.Sprintf("%s%s/pull/%d#issuecomment-%d", req.root, r.fullName(), number, c.ID),
		"issue_url":                fmt.Sprintf("%s/issues/%d", api, number),
		"body":                     c.Body,
		"user":                     userJSON(req, c.User, s.userType(c.User)),
		"created_at":               ts(c.CreatedAt),
		"updated_at":               ts(c.CreatedAt),
		"author_association":       "NONE",
		"performed_via_github_app": s.appJSON(req, s.AppID),
		"reactions": map[string]any{
			"url":         fmt.Sprintf("%s/issues/comments/%d/reactions", api, c.ID),
			"total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "confused": 0,
			"heart": 0, "hooray": 0, "eyes": 0, "rocket": 0,
		},
	}
}

func hookDeliveryJSON(d HookDelivery) map[string]any {
	opt := func(n int64) any {
		if n == 0 {
			return nil
		}
		return n
	}
	var action any
	if d.Action != "" {
		action = d.Action
	}
	return map[string]any{
		"id":              d.ID,
		"guid":            d.GUID,
		"delivered_at":    ts(d.DeliveredAt),
		"redelivery":      d.Redelivery,
		"duration":        d.Duration,
		"status":          d.Status,
		"status_code":     d.StatusCode,
		"event":           d.Event,
		"action":          action,
		"installation_id": opt(d.InstallationID),
		"repository_id":   opt(d.RepositoryID),
	}
}

// wrapBase64 encodes as GitHub's contents API does: base64 in lines of 60
// characters, each ending in a newline.
func wrapBase64(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 60 {
		b.WriteString(enc[:60])
		b.WriteByte('\n')
		enc = enc[60:]
	}
	if enc != "" {
		b.WriteString(enc)
		b.WriteByte('\n')
	}
	return b.String()
}
