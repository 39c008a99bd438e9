package sitesrv

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// installationsTTL is how long the list of the App's installations is
// trusted before a site it does not explain makes it read again.
const installationsTTL = 10 * time.Minute

// GitHubMembers is the MemberFunc of `backstory serve`. The site of an
// organisation is for its members, as the App's installation there sees
// them (IsMember, with the members: read permission the manifest asks
// for); the site of a user account is for that user. The installation is
// the one the site's SiteMeta names, or, when that cannot be read, the
// one on the account of that name; the App's installations say which kind
// of account it is.
func GitHubMembers(gh app.GitHub, dir string, now func() time.Time) MemberFunc {
	if now == nil {
		now = time.Now
	}
	m := &githubMembers{gh: gh, dir: dir, now: now}
	return m.member
}

type githubMembers struct {
	gh  app.GitHub
	dir string
	now func() time.Time

	mu   sync.Mutex
	list []app.InstallationInfo
	at   time.Time
}

func (m *githubMembers) member(ctx context.Context, account, login string) (bool, error) {
	var id int64
	if meta, err := app.ReadSiteMeta(m.dir, account); err == nil {
		id = meta.Installation
	}
	in, err := m.installation(ctx, account, id)
	if err != nil {
		return false, err
	}
	if in.Suspended {
		return false, fmt.Errorf("the App's installation on %s (%d) is suspended: membership cannot be checked", in.Account, in.ID)
	}
	if in.AccountType == "User" {
		return strings.EqualFold(login, in.Account), nil
	}
	return m.gh.Installation(in.ID).IsMember(ctx, in.Account, login)
}

// installation finds the installation with id, or (id 0) on account,
// reading the App's installations again when they are old or do not have
// it.
func (m *githubMembers) installation(ctx context.Context, account string, id int64) (app.InstallationInfo, error) {
	find := func() (app.InstallationInfo, bool) {
		for _, in := range m.list {
			if id != 0 && in.ID == id || id == 0 && strings.EqualFold(in.Account, account) {
				return in, true
			}
		}
		return app.InstallationInfo{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if in, ok := find(); ok && m.now().Sub(m.at) < installationsTTL {
		return in, nil
	}
	list, err := m.gh.Installations(ctx)
	if err != nil {
		return app.InstallationInfo{}, fmt.Errorf("list the App's installations: %w", err)
	}
	m.list, m.at = list, m.now()
	if in, ok := find(); ok {
		return in, nil
	}
	if id != 0 {
		return app.InstallationInfo{}, fmt.Errorf("the site of %s was built for installation %d, which the App no longer has", account, id)
	}
	return app.InstallationInfo{}, fmt.Errorf("the App is not installed on %s", account)
}
