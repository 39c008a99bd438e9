package doctor_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/doctor"
	"github.com/backstory-dev/backstory/app/github"
	"github.com/backstory-dev/backstory/app/github/githubtest"
	"github.com/backstory-dev/backstory/app/manifest"
	"github.com/backstory-dev/backstory/app/store"
)

// wanted are the permissions backstory asks for, as GitHub lists them.
func wanted() map[string]string {
	out := map[string]string{}
	for _, g := range manifest.Grants {
		out[g.Name] = g.Level
	}
	return out
}

type setup struct {
	gh  *githubtest.Server
	cfg doctor.Config
}

func newSetup(t *testing.T, opts ...githubtest.Option) *setup {
	gh := githubtest.New(t, append([]githubtest.Option{githubtest.WithAppPermissions(wanted())}, opts...)...)
	gh.AddRepo("octo-org/hello", githubtest.RepoOptions{})
	gh.AddInstallation(7, "octo-org", "octo-org/hello")
	dir := t.TempDir()
	return &setup{gh: gh, cfg: doctor.Config{
		AppID: gh.AppID, PrivateKeyPath: "app.pem", PrivateKey: gh.PrivateKeyPEM(), WebhookSecret: strings.Repeat("s", 32),
		APIURL: gh.URL(), StoreURL: filepath.Join(dir, "backstory.db"), SiteDir: filepath.Join(dir, "sites"),
		ClientID: "Iv1.abc", ClientSecret: "secret", PublicURL: "https://backstory.example.com",
	}}
}

func (s *setup) deps() doctor.Deps {
	return doctor.Deps{NewGitHub: func(cfg doctor.Config) (doctor.GitHub, error) {
		return github.New(github.Options{AppID: cfg.AppID, PrivateKey: cfg.PrivateKey, BaseURL: cfg.APIURL, HTTPClient: s.gh.Client()})
	}}
}

func result(t *testing.T, results []doctor.Result, check string) doctor.Result {
	t.Helper()
	for _, r := range results {
		if r.Check == check {
			return r
		}
	}
	t.Fatalf("no %q check in %+v", check, results)
	return doctor.Result{}
}

func TestEverythingInPlace(t *testing.T) {
	s := newSetup(t)
	results := doctor.Run(context.Background(), s.cfg, s.deps())
	for _, r := range results {
		if r.Status != doctor.OK {
			t.Errorf("%s: %s: %s (%s)", r.Check, r.Status, r.Detail, r.Fix)
		}
	}
	if doctor.Failed(results) {
		t.Error("Failed with nothing wrong")
	}
	if r := result(t, results, "installation octo-org (7)"); !strings.Contains(r.Detail, "1 repositories") {
		t.Errorf("installation: %s", r.Detail)
	}
	if _, err := os.Stat(s.cfg.StoreURL); !os.IsNotExist(err) {
		t.Error("doctor created the store")
	}
}

func TestAKeyOfAnotherApp(t *testing.T) {
	s := newSetup(t)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	s.cfg.PrivateKey = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	results := doctor.Run(context.Background(), s.cfg, s.deps())
	r := result(t, results, "private key")
	if r.Status != doctor.Fail || !strings.Contains(r.Fix, "key") {
		t.Errorf("private key: %+v", r)
	}
	if !doctor.Failed(results) {
		t.Error("not Failed")
	}
	if r := result(t, results, "installations"); r.Status != doctor.Skip {
		t.Errorf("installations were checked without a working key: %+v", r)
	}
}

func TestGarbageKey(t *testing.T) {
	s := newSetup(t)
	s.cfg.PrivateKey = []byte("hello")
	r := result(t, doctor.Run(context.Background(), s.cfg, s.deps()), "private key")
	if r.Status != doctor.Fail || !strings.Contains(r.Fix, "Private keys") {
		t.Errorf("private key: %+v", r)
	}
}

func TestMissingPermissionAndNoInstallation(t *testing.T) {
	perms := wanted()
	delete(perms, "members")
	delete(perms, "contents")
	s := newSetup(t, githubtest.WithAppPermissions(perms))
	s.gh.AddInstallation(7, "octo-org")
	results := doctor.Run(context.Background(), s.cfg, s.deps())
	r := result(t, results, "App permissions")
	if r.Status != doctor.Fail || !strings.Contains(r.Detail, "Members") || !strings.Contains(r.Detail, "Contents: read (has none)") {
		t.Errorf("permissions: %+v", r)
	}
}

func TestUnreachableGitHub(t *testing.T) {
	s := newSetup(t)
	s.cfg.APIURL = "http://127.0.0.1:1/"
	r := result(t, doctor.Run(context.Background(), s.cfg, s.deps()), "GitHub")
	if r.Status != doctor.Fail || !strings.Contains(r.Fix, "github.api_url") {
		t.Errorf("GitHub: %+v", r)
	}
}

// stub is a GitHub that describes an App without some events and lists
// installations as given.
type stub struct {
	info          app.AppInfo
	installations []app.InstallationInfo
	err           error
}

func (s stub) App(ctx context.Context) (app.AppInfo, error) { return s.info, s.err }
func (s stub) Installations(ctx context.Context) ([]app.InstallationInfo, error) {
	return s.installations, nil
}
func (s stub) Installation(id int64) app.Client { return nil }

func TestMissingEventsAndNoInstallations(t *testing.T) {
	s := newSetup(t)
	deps := doctor.Deps{NewGitHub: func(doctor.Config) (doctor.GitHub, error) {
		return stub{info: app.AppInfo{ID: s.cfg.AppID, Slug: "backstory", Permissions: wanted(), Events: []string{"pull_request"},
			HTMLURL: "https://github.com/apps/backstory"}}, nil
	}}
	results := doctor.Run(context.Background(), s.cfg, deps)
	if r := result(t, results, "App events"); r.Status != doctor.Fail || !strings.Contains(r.Detail, "push") || strings.Contains(r.Detail, "pull_request (") {
		t.Errorf("events: %+v", r)
	}
	if r := result(t, results, "installations"); r.Status != doctor.Warn || !strings.Contains(r.Fix, "https://github.com/apps/backstory/installations/new") {
		t.Errorf("installations: %+v", r)
	}
}

func TestRefusedKey(t *testing.T) {
	s := newSetup(t)
	deps := doctor.Deps{NewGitHub: func(doctor.Config) (doctor.GitHub, error) {
		return stub{err: &app.RejectedError{Status: 401, Err: errors.New("GitHub answered 401: A JSON web token could not be decoded")}}, nil
	}}
	if r := result(t, doctor.Run(context.Background(), s.cfg, deps), "private key"); r.Status != doctor.Fail || !strings.Contains(r.Fix, "github.app_id") {
		t.Errorf("private key: %+v", r)
	}
}

func TestANewerStore(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	st, err := store.Open(ctx, s.cfg.StoreURL)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", s.cfg.StoreURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO backstory_schema_migrations (version, name, applied_at) VALUES (999, 'from the future', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r := result(t, doctor.Run(ctx, s.cfg, s.deps()), "store")
	if r.Status != doctor.Fail || !strings.Contains(r.Detail, "999") || !strings.Contains(r.Fix, "newer backstory") {
		t.Errorf("store: %+v", r)
	}
}

func TestSettingsMissingAndSiteDirNotWritable(t *testing.T) {
	s := newSetup(t)
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, nil, 0o644)
	s.cfg.SiteDir = filepath.Join(file, "sites")
	s.cfg.WebhookSecret = ""
	s.cfg.Missing = []string{"the webhook secret: set github.webhook_secret"}
	s.cfg.ClientID = ""
	results := doctor.Run(context.Background(), s.cfg, s.deps())
	for check, want := range map[string]doctor.Status{"settings": doctor.Fail, "webhook secret": doctor.Fail, "sites": doctor.Fail} {
		if r := result(t, results, check); r.Status != want {
			t.Errorf("%s: %+v, want %s", check, r, want)
		}
	}
	s.cfg.SiteDir = t.TempDir()
	if r := result(t, doctor.Run(context.Background(), s.cfg, s.deps()), "sign-in"); r.Status != doctor.Warn || !strings.Contains(r.Fix, "github.client_id") {
		t.Errorf("sign-in: %+v", r)
	}
}
