package githubtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Roles in an organisation (GET /orgs/{org}/memberships/{username}).
//
// The members are those of issues.go (AddMember); AddOrgAdmin makes one an
// admin. An installation on org with members: read sees every member's
// membership: 200 with state "active" and role "admin" or "member", 404
// for anyone else. Without members: read it gets 403 "Resource not
// accessible by integration"; an installation on another account gets
// GitHub's 403 for a requester who is no member of org. Invitations
// (state "pending") and billing managers are not modelled.

func init() {
	opPermissions["orgs/get-membership-for-user"] = [][2]string{{"members", "read"}}
}

// adminsKey is where the admins of org are kept in s.members, beside its
// members: a NUL never appears in a login, so the key is no
// organisation's.
func adminsKey(org string) string { return "admins\x00" + strings.ToLower(org) }

// AddOrgAdmin makes login a member of the organisation org (as AddMember)
// and one of its admins. RemoveMember removes both: an admin who is no
// member has no role.
func (s *Server) AddOrgAdmin(org, login string) {
	s.AddMember(org, login)
	s.mu.Lock()
	defer s.mu.Unlock()
	k := adminsKey(org)
	if s.members[k] == nil {
		s.members[k] = map[string]bool{}
	}
	s.members[k][strings.ToLower(login)] = true
}

// orgRole is login's role in org: "admin", "member", or "" for no member.
// The caller holds s.mu.
func (s *Server) orgRole(org, login string) string {
	switch {
	case !s.isMember(org, login):
		return ""
	case s.members[adminsKey(org)][strings.ToLower(login)]:
		return "admin"
	}
	return "member"
}

func (s *Server) getOrgMembership(req *request) reply {
	org, user := req.params["org"], req.params["username"]
	if !s.isOrganization(org) {
		return notFound()
	}
	switch req.auth {
	case authInstallation:
		if !strings.EqualFold(req.inst.account, org) {
			return errorReply(http.StatusForbidden,
				fmt.Sprintf("You must be a member of %s to see membership information for %s.", org, user), req.op.DocURL)
		}
		if !hasPermission(req.tok.perms, opPermissions[req.op.ID]) {
			return errorReply(http.StatusForbidden, "Resource not accessible by integration", req.op.DocURL)
		}
	default:
		// User tokens are refused before (userOperations does not list
		// this operation): what is left is a request without credentials.
		return errorReply(http.StatusUnauthorized, "Requires authentication", req.op.DocURL)
	}
	role := s.orgRole(org, user)
	if role == "" {
		return errorReply(http.StatusNotFound, "Not Found", req.op.DocURL)
	}
	orgURL := req.base + "orgs/" + url.PathEscape(org)
	return jsonReply(http.StatusOK, map[string]any{
		"url":              orgURL + "/memberships/" + url.PathEscape(user),
		"state":            "active",
		"role":             role,
		"organization_url": orgURL,
		"organization":     organizationJSON(req, org),
		"user":             userJSON(req, user, s.userType(user)),
	})
}

// organizationJSON renders org as the organization-simple schema has it.
func organizationJSON(req *request, org string) map[string]any {
	id := userID(org)
	u := req.base + "orgs/" + url.PathEscape(org)
	return map[string]any{
		"login":              org,
		"id":                 id,
		"node_id":            nodeID("Organization", id),
		"url":                u,
		"repos_url":          u + "/repos",
		"events_url":         u + "/events",
		"hooks_url":          u + "/hooks",
		"issues_url":         u + "/issues",
		"members_url":        u + "/members{/member}",
		"public_members_url": u + "/public_members{/member}",
		"avatar_url":         fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		"description":        nil,
	}
}
