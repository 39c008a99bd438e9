package githubtest

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Issues and organisation membership, as an installation sees them.
//
// Issues share their numbers with the repository's pull requests, and the
// issues list shows pull requests too (with a pull_request key), as on
// GitHub. Opening an issue needs issues: write; reading the issues of a
// private repository, issues: read. A repository whose issues are turned
// off (DisableIssues) answers 410 to both. Assignees and milestones in a
// new issue are accepted and dropped (GitHub drops them silently for
// callers without push access); labels that do not exist yet are made, as
// GitHub makes them.
//
// Membership (GET /orgs/{org}/members/{username}) needs members: read. An
// installation on org sees every member: 204, or 404 for anyone else. A
// requester that is no member of org (an installation on another account,
// a signed-in user who is no member, no credentials at all) gets GitHub's
// 302 to the public membership check, which the fake does not implement.

// Issue is an issue of a repository.
type Issue struct {
	Number int
	Title  string
	Body   string
	Labels []string
	// State is "open" (default) or "closed"; StateReason "completed",
	// "not_planned", "reopened" or "".
	State       string
	StateReason string
	// User is the author's login (default "octocat"); the App's bot login
	// for issues the App opened.
	User      string
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  time.Time

	id int64
}

// issueSet is what the fake keeps of one repository's issues.
type issueSet struct {
	byNumber map[int]*Issue
	disabled bool
}

// issueSet returns r's issues, made on first use. The caller holds s.mu.
func (s *Server) issueSet(r *repo) *issueSet {
	if s.issues == nil {
		s.issues = map[string]*issueSet{}
	}
	key := strings.ToLower(r.fullName())
	set := s.issues[key]
	if set == nil {
		set = &issueSet{byNumber: map[int]*Issue{}}
		s.issues[key] = set
	}
	return set
}

func init() {
	opPermissions["issues/create"] = [][2]string{{"issues", "write"}}
	opPermissions["issues/list-for-repo"] = [][2]string{{"issues", "read"}}
}

// AddIssue adds an issue to repo ("owner/name", added when missing) and
// returns its number: the next free one, shared with pull requests, when
// is.Number is 0. Times default to the fake's clock.
func (s *Server) AddIssue(repoName string, is Issue) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOrAdd(repoName)
	set := s.issueSet(r)
	if is.Number == 0 {
		is.Number = r.nextNumber + 1
	}
	if set.byNumber[is.Number] != nil || r.pulls[is.Number] != nil {
		panic(fmt.Sprintf("githubtest: AddIssue(%q): #%d is taken", repoName, is.Number))
	}
	r.nextNumber = max(r.nextNumber, is.Number)
	now := s.now().Truncate(time.Second)
	if is.CreatedAt.IsZero() {
		is.CreatedAt = now
	}
	if is.UpdatedAt.IsZero() {
		is.UpdatedAt = is.CreatedAt
	}
	if is.State == "" {
		is.State = "open"
	}
	if is.State == "closed" && is.ClosedAt.IsZero() {
		is.ClosedAt = is.UpdatedAt
	}
	if is.User == "" {
		is.User = "octocat"
	}
	if is.Title == "" {
		is.Title = fmt.Sprintf("Issue #%d", is.Number)
	}
	is.Labels = append([]string(nil), is.Labels...)
	is.id = s.newID()
	set.byNumber[is.Number] = &is
	return is.Number
}

// UpdateIssue changes an issue: update receives a copy to edit. Its
// updated_at moves to the fake's clock; closing sets closed_at.
func (s *Server) UpdateIssue(repoName string, number int, update func(is *Issue)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(repoName)]
	var is *Issue
	if r != nil {
		is = s.issueSet(r).byNumber[number]
	}
	if is == nil {
		panic(fmt.Sprintf("githubtest: UpdateIssue(%q, %d): no such issue", repoName, number))
	}
	c := *is
	c.Labels = append([]string(nil), is.Labels...)
	update(&c)
	c.Number = number
	c.UpdatedAt = s.now().Truncate(time.Second)
	if c.State == "closed" && is.State != "closed" {
		c.ClosedAt = c.UpdatedAt
	}
	if c.State != "closed" {
		c.ClosedAt = time.Time{}
	}
	*is = c
}

// Issues returns the issues of repo (not its pull requests), by number.
func (s *Server) Issues(repoName string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(repoName)]
	if r == nil {
		return nil
	}
	var out []Issue
	for _, is := range s.issueSet(r).byNumber {
		c := *is
		c.Labels = append([]string(nil), is.Labels...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// DisableIssues turns the issues of repo off, as its settings can: the
// issues API then answers 410.
func (s *Server) DisableIssues(repoName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issueSet(s.repoOrAdd(repoName)).disabled = true
}

// AddMember makes login a member of the organisation org.
func (s *Server) AddMember(org, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.members == nil {
		s.members = map[string]map[string]bool{}
	}
	o := strings.ToLower(org)
	if s.members[o] == nil {
		s.members[o] = map[string]bool{}
	}
	s.members[o][strings.ToLower(login)] = true
	if _, ok := s.users[o]; !ok {
		s.users[o] = "Organization"
	}
}

// RemoveMember removes login from the organisation org.
func (s *Server) RemoveMember(org, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.members[strings.ToLower(org)], strings.ToLower(login))
}

func (s *Server) isMember(org, login string) bool {
	return s.members[strings.ToLower(org)][strings.ToLower(login)]
}

// isOrganization reports whether the fake knows org as an organisation:
// one that owns a repository, has members, or has the App installed.
func (s *Server) isOrganization(org string) bool {
	if t, ok := s.users[strings.ToLower(org)]; ok {
		return t == "Organization"
	}
	for _, in := range s.installations {
		if strings.EqualFold(in.account, org) {
			return in.accountType == "Organization"
		}
	}
	return false
}

func issuesDisabled() reply {
	return errorReply(http.StatusGone, "Issues are disabled for this repo", "https://docs.github.com/rest/issues/issues")
}

func (s *Server) createIssue(req *request) reply {
	r := req.repo
	set := s.issueSet(r)
	if set.disabled {
		return issuesDisabled()
	}
	body := bodyMap(req)
	var title string
	switch t := body["title"].(type) {
	case string:
		title = t
	default:
		title = fmt.Sprint(t) // the description allows an integer
	}
	if strings.TrimSpace(title) == "" {
		return s.refuse(req, "Validation Failed: the title is empty (resource Issue, field title, code missing_field)")
	}
	text, _ := str(body, "body")
	var labels []string
	seen := map[string]bool{}
	list, _ := body["labels"].([]any)
	for _, l := range list {
		var name string
		switch x := l.(type) {
		case string:
			name = x
		case map[string]any:
			name, _ = str(x, "name")
		}
		if name == "" || seen[strings.ToLower(name)] {
			continue
		}
		seen[strings.ToLower(name)] = true
		labels = append(labels, name)
	}
	now := s.now().Truncate(time.Second)
	r.nextNumber++
	is := &Issue{Number: r.nextNumber, Title: title, Body: text, Labels: labels, State: "open",
		User: s.botLogin(), CreatedAt: now, UpdatedAt: now, id: s.newID()}
	s.users[strings.ToLower(is.User)] = "Bot"
	set.byNumber[is.Number] = is
	rep := jsonReply(http.StatusCreated, s.issueJSON(req, r, is))
	rep.header = http.Header{}
	rep.header.Set("Location", fmt.Sprintf("%srepos/%s/issues/%d", req.base, r.fullName(), is.Number))
	return rep
}

// listedIssue is an issue or a pull request, as the issues list shows both.
type listedIssue struct {
	is   *Issue
	pull *pull
}

func (li listedIssue) number() int {
	if li.pull != nil {
		return li.pull.Number
	}
	return li.is.Number
}

func (li listedIssue) times() (created, updated time.Time) {
	if li.pull != nil {
		return li.pull.createdAt, li.pull.updatedAt
	}
	return li.is.CreatedAt, li.is.UpdatedAt
}

func (li listedIssue) state() string {
	if li.pull != nil {
		return li.pull.State
	}
	return li.is.State
}

func (li listedIssue) labels() []string {
	if li.pull != nil {
		return li.pull.Labels
	}
	return li.is.Labels
}

func (li listedIssue) user() string {
	if li.pull != nil {
		return li.pull.User
	}
	return li.is.User
}

func (s *Server) listIssues(req *request) reply {
	r := req.repo
	set := s.issueSet(r)
	if set.disabled {
		return issuesDisabled()
	}
	state := req.query.Get("state")
	if state == "" {
		state = "open"
	}
	var since time.Time
	if v := req.query.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return s.refuse(req, fmt.Sprintf("Invalid request.\n\nFor 'since', %q is not an ISO 8601 date-time (YYYY-MM-DDTHH:MM:SSZ).", v))
		}
		since = t
	}
	var wantLabels []string
	if v := req.query.Get("labels"); v != "" {
		for _, l := range strings.Split(v, ",") {
			if l = strings.TrimSpace(l); l != "" {
				wantLabels = append(wantLabels, l)
			}
		}
	}
	creator := req.query.Get("creator")

	var list []listedIssue
	for _, is := range set.byNumber {
		list = append(list, listedIssue{is: is})
	}
	for _, p := range r.pulls {
		list = append(list, listedIssue{pull: p})
	}
	kept := list[:0]
	for _, li := range list {
		_, updated := li.times()
		switch {
		case state != "all" && li.state() != state:
		case !since.IsZero() && updated.Before(since):
		case creator != "" && !strings.EqualFold(li.user(), creator):
		case !hasLabels(li.labels(), wantLabels):
		default:
			kept = append(kept, li)
		}
	}
	list = kept

	sortBy := req.query.Get("sort")
	desc := req.query.Get("direction") != "asc" // GitHub's default: desc
	less := func(a, b listedIssue) bool {
		ac, au := a.times()
		bc, bu := b.times()
		switch sortBy {
		case "updated":
			if !au.Equal(bu) {
				return au.Before(bu)
			}
		case "comments":
			if na, nb := len(r.comments[a.number()]), len(r.comments[b.number()]); na != nb {
				return na < nb
			}
		default:
			if !ac.Equal(bc) {
				return ac.Before(bc)
			}
		}
		return a.number() < b.number()
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
	for _, li := range list[lo:hi] {
		if li.pull != nil {
			items = append(items, s.pullIssueJSON(req, r, li.pull))
		} else {
			items = append(items, s.issueJSON(req, r, li.is))
		}
	}
	rep.value = items
	return rep
}

// hasLabels reports whether have holds every label of want, without case.
func hasLabels(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || strings.EqualFold(h, w)
		}
		if !found {
			return false
		}
	}
	return true
}

func (s *Server) checkMembership(req *request) reply {
	org, user := req.params["org"], req.params["username"]
	if !s.isOrganization(org) {
		return notFound()
	}
	// A requester who is no member of org is sent to the public
	// membership check.
	public := reply{status: http.StatusFound, header: http.Header{}}
	public.header.Set("Location", fmt.Sprintf("%sorgs/%s/public_members/%s", req.base, url.PathEscape(org), url.PathEscape(user)))
	switch req.auth {
	case authInstallation:
		if !strings.EqualFold(req.inst.account, org) {
			return public
		}
		if !hasPermission(req.tok.perms, [][2]string{{"members", "read"}}) {
			return errorReply(http.StatusForbidden, "Resource not accessible by integration", req.op.DocURL)
		}
	case authUser:
		if !s.isMember(org, s.userTokenLogin(req)) {
			return public
		}
	default:
		return public
	}
	if s.isMember(org, user) {
		return reply{status: http.StatusNoContent}
	}
	return errorReply(http.StatusNotFound, "User does not exist or is not a member of the organization", req.op.DocURL)
}

// issueJSON renders an issue as GitHub's issue schema has it.
func (s *Server) issueJSON(req *request, r *repo, is *Issue) map[string]any {
	api := req.base + "repos/" + r.fullName()
	id := is.id
	labels := []any{}
	for _, l := range is.Labels {
		labels = append(labels, s.labelJSON(req, r, l))
	}
	var body, reason any
	if is.Body != "" {
		body = is.Body
	}
	if is.StateReason != "" {
		reason = is.StateReason
	}
	m := issueCommon(req, r, api, id, is.Number)
	for k, v := range map[string]any{
		"node_id":            nodeID("Issue", id),
		"html_url":           fmt.Sprintf("%s%s/issues/%d", req.root, r.fullName(), is.Number),
		"state":              is.State,
		"state_reason":       reason,
		"title":              is.Title,
		"body":               body,
		"user":               userJSON(req, is.User, s.userType(is.User)),
		"labels":             labels,
		"comments":           len(r.comments[is.Number]),
		"closed_at":          ts(is.ClosedAt),
		"created_at":         ts(is.CreatedAt),
		"updated_at":         ts(is.UpdatedAt),
		"author_association": s.authorAssociation(r, is.User),
	} {
		m[k] = v
	}
	return m
}

// pullIssueJSON renders a pull request as the issues list shows it.
func (s *Server) pullIssueJSON(req *request, r *repo, p *pull) map[string]any {
	api := req.base + "repos/" + r.fullName()
	html := fmt.Sprintf("%s%s/pull/%d", req.root, r.fullName(), p.Number)
	labels := []any{}
	for _, l := range p.Labels {
		labels = append(labels, s.labelJSON(req, r, l))
	}
	var body any
	if p.Body != nil {
		body = *p.Body
	}
	m := issueCommon(req, r, api, p.id, p.Number)
	for k, v := range map[string]any{
		"node_id":            nodeID("PullRequest", p.id),
		"html_url":           html,
		"state":              p.State,
		"state_reason":       nil,
		"title":              p.Title,
		"body":               body,
		"user":               userJSON(req, p.User, p.UserType),
		"labels":             labels,
		"comments":           len(r.comments[p.Number]),
		"closed_at":          ts(p.closedAt),
		"created_at":         ts(p.createdAt),
		"updated_at":         ts(p.updatedAt),
		"author_association": s.authorAssociation(r, p.User),
		"draft":              p.Draft,
		"pull_request": map[string]any{
			"url":       fmt.Sprintf("%s/pulls/%d", api, p.Number),
			"html_url":  html,
			"diff_url":  html + ".diff",
			"patch_url": html + ".patch",
			"merged_at": ts(p.mergedAt),
		},
	} {
		m[k] = v
	}
	return m
}

// issueCommon is what issues and pull requests share in the issue schema.
func issueCommon(req *request, r *repo, api string, id int64, number int) map[string]any {
	u := fmt.Sprintf("%s/issues/%d", api, number)
	return map[string]any{
		"id":                 id,
		"url":                u,
		"repository_url":     api,
		"labels_url":         u + "/labels{/name}",
		"comments_url":       u + "/comments",
		"events_url":         u + "/events",
		"timeline_url":       u + "/timeline",
		"number":             number,
		"assignee":           nil,
		"assignees":          []any{},
		"milestone":          nil,
		"locked":             false,
		"active_lock_reason": nil,
		"reactions": map[string]any{
			"url":         u + "/reactions",
			"total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "confused": 0,
			"heart": 0, "hooray": 0, "eyes": 0, "rocket": 0,
		},
	}
}
