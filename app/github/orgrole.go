package github

import (
	"context"
	"errors"
	"fmt"

	"github.com/backstory-dev/backstory/app"
)

// OrgRole returns user's role in org (orgs/get-membership-for-user):
// "admin" or "member" for an active member, and "" for anyone else: GitHub
// answers 404 for a user who is no member, and 200 with state "pending"
// for one invited who has not joined yet, and with role "billing_manager"
// for a billing manager, who is no member either. It needs the members:
// read permission; without it GitHub answers 403, a *app.RejectedError.
func (c *installation) OrgRole(ctx context.Context, org, user string) (string, error) {
	if !loginPattern.MatchString(org) {
		return "", fmt.Errorf("membership: organisation %q is not a GitHub login", org)
	}
	// An empty user would ask for the requester's own membership
	// (/user/memberships/orgs/{org}), which an installation has none of.
	if !loginPattern.MatchString(user) {
		return "", fmt.Errorf("membership of %s: user %q is not a GitHub login", org, user)
	}
	ctx = withOperation(ctx, "orgs/get-membership-for-user")
	m, _, err := c.api.Organizations.GetOrgMembership(ctx, user, org)
	if err != nil {
		err = c.mapError(err, fmt.Sprintf("ask GitHub for %s's role in %s", user, org))
		if errors.Is(err, app.ErrNotFound) {
			return "", nil
		}
		return "", err
	}
	if m.GetState() != "active" {
		return "", nil
	}
	switch role := m.GetRole(); role {
	case "admin", "member":
		return role, nil
	}
	return "", nil
}
