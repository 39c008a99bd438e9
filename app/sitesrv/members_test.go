package sitesrv

import (
	"context"
	"testing"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github"
	"github.com/backstory-dev/backstory/app/github/githubtest"
)

func TestGitHubMembers(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.New(t)
	fake.AddRepo("acme/widgets", githubtest.RepoOptions{Private: true})
	fake.AddInstallation(1, "acme", "acme/widgets")
	fake.AddRepo("solo/notes", githubtest.RepoOptions{OwnerType: "User", Private: true})
	fake.AddInstallation(2, "solo", "solo/notes")
	fake.AddMember("acme", "alice")
	gh, err := github.New(github.Options{AppID: fake.AppID, PrivateKey: fake.PrivateKeyPEM(), BaseURL: fake.URL(), HTTPClient: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeMeta(t, dir, app.SiteMeta{Account: "acme", Installation: 1, Private: true})
	writeMeta(t, dir, app.SiteMeta{Account: "solo", Installation: 2, Private: true})
	member := GitHubMembers(gh, dir, nil)

	for _, tt := range []struct {
		account, login string
		want           bool
	}{
		{"acme", "alice", true},
		{"acme", "Alice", true},
		{"acme", "bob", false},
		{"solo", "solo", true},
		{"solo", "SOLO", true},
		{"solo", "alice", false},
	} {
		got, err := member(ctx, tt.account, tt.login)
		if err != nil || got != tt.want {
			t.Errorf("member(%s, %s) = %v, %v; want %v", tt.account, tt.login, got, err, tt.want)
		}
	}
	if n := fake.CountCalls("apps/list-installations"); n != 1 {
		t.Errorf("installations listed %d times, want once", n)
	}

	// Without a SiteMeta the installation is found by account.
	if got, err := member(ctx, "ACME", "alice"); err != nil || !got {
		t.Errorf("by account name: %v, %v", got, err)
	}
	// A site of an account the App is not installed on: no answer, so
	// the site is refused.
	if _, err := member(ctx, "elsewhere", "alice"); err == nil {
		t.Error("an account without the App: no error")
	}
	writeMeta(t, dir, app.SiteMeta{Account: "gone", Installation: 99, Private: true})
	if _, err := member(ctx, "gone", "alice"); err == nil {
		t.Error("an installation that is gone: no error")
	}
}
