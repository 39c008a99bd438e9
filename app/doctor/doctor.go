// Package doctor checks, before the first webhook arrives and whenever
// something seems wrong, that everything backstory serve needs is in place:
// the settings, the App's key and what GitHub says of the App, each
// installation's access, the store and the site's folder. Each check says
// in plain words what it found and, when it failed, what to do.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/manifest"
	"github.com/backstory-dev/backstory/app/store"
)

// Status is a check's outcome.
type Status string

// The outcomes. Only Fail makes backstory doctor exit non-zero.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip" // could not be checked because an earlier check failed
)

// Result is one check's outcome.
type Result struct {
	Check  string `json:"check"`
	Status Status `json:"status"`
	// Detail says what was found; Fix what to do about it ("" when
	// nothing needs doing).
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Config is what backstory serve would run with. Missing lists the
// settings it would refuse to start without, as serve words them.
type Config struct {
	AppID          int64
	PrivateKeyPath string
	PrivateKey     []byte
	WebhookSecret  string
	APIURL         string
	StoreURL       string
	SiteDir        string
	// The sign-in to private sites: the App's OAuth credentials and the
	// address backstory serve is reached at.
	ClientID, ClientSecret, PublicURL string
	Missing                           []string
}

// GitHub is what the checks ask of GitHub, as the App.
type GitHub interface {
	App(ctx context.Context) (app.AppInfo, error)
	Installations(ctx context.Context) ([]app.InstallationInfo, error)
	Installation(id int64) app.Client
}

// Deps are how the checks reach the world; tests replace them.
type Deps struct {
	// NewGitHub makes the App's GitHub client from the key; an error means
	// the key cannot be used.
	NewGitHub func(cfg Config) (GitHub, error)
	// Schema reads the store's schema version without changing it
	// (default store.SchemaVersion).
	Schema func(ctx context.Context, url string) (store.Schema, error)
	// Timeout bounds each network check (default 20s).
	Timeout time.Duration
}

// Run runs every check, in order, and returns their results.
func Run(ctx context.Context, cfg Config, deps Deps) []Result {
	if deps.Schema == nil {
		deps.Schema = store.SchemaVersion
	}
	if deps.Timeout <= 0 {
		deps.Timeout = 20 * time.Second
	}
	var out []Result
	add := func(r Result) { out = append(out, r) }

	// 1. The settings serve cannot start without.
	if len(cfg.Missing) > 0 {
		add(Result{Check: "settings", Status: Fail, Detail: "backstory serve would refuse to start: " + strings.Join(cfg.Missing, "; "),
			Fix: "set them in the config file (backstory setup writes one), as BACKSTORY_* variables or flags"})
	} else {
		add(Result{Check: "settings", Status: OK, Detail: fmt.Sprintf("App %d, key %s, API %s", cfg.AppID, cfg.PrivateKeyPath, cfg.APIURL)})
	}

	// 2. The webhook secret.
	switch n := len(cfg.WebhookSecret); {
	case n == 0:
		add(Result{Check: "webhook secret", Status: Fail, Detail: "not set: serve refuses to run without one, or anyone could send forged events",
			Fix: "set github.webhook_secret to the secret in the App's settings (General → Webhook secret)"})
	case n < 20:
		add(Result{Check: "webhook secret", Status: Warn, Detail: fmt.Sprintf("only %d characters: easy to guess", n),
			Fix: "generate a long random secret (openssl rand -hex 32), set it in the App's settings and in github.webhook_secret"})
	default:
		add(Result{Check: "webhook secret", Status: OK, Detail: fmt.Sprintf("set (%d characters)", n)})
	}

	// 3. The key, GitHub, the App's permissions and events.
	gh, info := checkGitHub(ctx, cfg, deps, add)

	// 4. The installations.
	checkInstallations(ctx, gh, info, deps, add)

	// 5. The store.
	checkStore(ctx, cfg, deps, add)

	// 6. The sites' folder and the sign-in.
	checkSites(cfg, add)
	return out
}

// Failed reports whether any result failed.
func Failed(results []Result) bool {
	for _, r := range results {
		if r.Status == Fail {
			return true
		}
	}
	return false
}

func checkGitHub(ctx context.Context, cfg Config, deps Deps, add func(Result)) (GitHub, *app.AppInfo) {
	if cfg.AppID == 0 || len(cfg.PrivateKey) == 0 {
		add(Result{Check: "private key", Status: Skip, Detail: "no App id or no readable key: see settings"})
		add(Result{Check: "GitHub", Status: Skip, Detail: "needs the App id and key"})
		return nil, nil
	}
	gh, err := deps.NewGitHub(cfg)
	if err != nil {
		add(Result{Check: "private key", Status: Fail, Detail: fmt.Sprintf("%s cannot be used: %v", cfg.PrivateKeyPath, err),
			Fix: "download a new private key from the App's settings (General → Private keys) and point github.private_key_path at the .pem file"})
		add(Result{Check: "GitHub", Status: Skip, Detail: "needs a usable key"})
		return nil, nil
	}
	cctx, cancel := context.WithTimeout(ctx, deps.Timeout)
	defer cancel()
	info, err := gh.App(cctx)
	switch {
	case err == nil:
	case isUnauthorized(err):
		add(Result{Check: "private key", Status: Fail, Detail: fmt.Sprintf("GitHub refuses the key for App %d: %v", cfg.AppID, err),
			Fix: "check github.app_id is the App's id (its settings page, About) and that the key belongs to that App and was not revoked; download a new one if needed"})
		add(Result{Check: "GitHub", Status: Skip, Detail: "the key was refused"})
		return nil, nil
	default:
		add(Result{Check: "GitHub", Status: Fail, Detail: fmt.Sprintf("%s does not answer: %v", cfg.APIURL, err),
			Fix: "check github.api_url (https://api.github.com/, or https://HOST/api/v3/ for GitHub Enterprise Server), the network, proxies and firewalls"})
		return nil, nil
	}
	if info.ID != 0 && info.ID != cfg.AppID {
		add(Result{Check: "private key", Status: Fail, Detail: fmt.Sprintf("the key signs for App %d (%s), not for github.app_id %d", info.ID, info.Slug, cfg.AppID),
			Fix: "set github.app_id to the App the key belongs to, or use that App's key"})
	} else {
		add(Result{Check: "private key", Status: OK, Detail: fmt.Sprintf("matches App %d (%s)", cfg.AppID, info.Slug)})
	}
	add(Result{Check: "GitHub", Status: OK, Detail: fmt.Sprintf("%s answers; the App is %q, owned by %s", cfg.APIURL, info.Name, info.Owner)})

	var missing []string
	for _, g := range manifest.Grants {
		if !atLeast(info.Permissions[g.Name], g.Level) {
			have := info.Permissions[g.Name]
			if have == "" {
				have = "none"
			}
			missing = append(missing, fmt.Sprintf("%s: %s (has %s) to %s", g.Title, g.Level, have, g.Why))
		}
	}
	settings := strings.TrimRight(info.HTMLURL, "/")
	if len(missing) > 0 {
		add(Result{Check: "App permissions", Status: Fail, Detail: "the App lacks: " + strings.Join(missing, "; "),
			Fix: "in the App's settings (Permissions & events) grant them; each installation's owner must then accept the new permissions"})
	} else {
		add(Result{Check: "App permissions", Status: OK, Detail: "every permission backstory needs"})
	}
	events := map[string]bool{}
	for _, e := range info.Events {
		events[e] = true
	}
	var lack []string
	for _, s := range manifest.Subscriptions {
		if !events[s.Event] {
			lack = append(lack, fmt.Sprintf("%s (to %s)", s.Event, s.Why))
		}
	}
	if len(lack) > 0 {
		add(Result{Check: "App events", Status: Fail, Detail: "the App does not subscribe to: " + strings.Join(lack, "; "),
			Fix: "in the App's settings (Permissions & events → Subscribe to events) tick them" + hint(settings)})
	} else {
		add(Result{Check: "App events", Status: OK, Detail: "subscribed to every event backstory handles"})
	}
	return gh, &info
}

func hint(url string) string {
	if url == "" {
		return ""
	}
	return " (" + url + ")"
}

func checkInstallations(ctx context.Context, gh GitHub, info *app.AppInfo, deps Deps, add func(Result)) {
	if gh == nil {
		add(Result{Check: "installations", Status: Skip, Detail: "needs GitHub"})
		return
	}
	cctx, cancel := context.WithTimeout(ctx, deps.Timeout)
	defer cancel()
	list, err := gh.Installations(cctx)
	if err != nil {
		add(Result{Check: "installations", Status: Fail, Detail: fmt.Sprintf("cannot list them: %v", err), Fix: "see the GitHub check above"})
		return
	}
	if len(list) == 0 {
		add(Result{Check: "installations", Status: Warn, Detail: "the App is not installed anywhere yet: no pull request will be checked",
			Fix: "install it on your organisation: " + strings.TrimRight(info.HTMLURL, "/") + "/installations/new"})
		return
	}
	sort.Slice(list, func(i, j int) bool { return strings.ToLower(list[i].Account) < strings.ToLower(list[j].Account) })
	for _, in := range list {
		name := fmt.Sprintf("installation %s (%d)", in.Account, in.ID)
		if in.Suspended {
			add(Result{Check: name, Status: Warn, Detail: "suspended: GitHub sends it no events and refuses its requests",
				Fix: "an owner of " + in.Account + " can unsuspend it in the organisation's settings (GitHub Apps → Configure)"})
			continue
		}
		var lacking []string
		if in.Permissions != nil {
			for _, g := range manifest.Grants {
				if !atLeast(in.Permissions[g.Name], g.Level) && atLeast(info.Permissions[g.Name], g.Level) {
					lacking = append(lacking, g.Title+": "+g.Level)
				}
			}
		}
		ictx, cancel := context.WithTimeout(ctx, deps.Timeout)
		repos, err := gh.Installation(in.ID).Repositories(ictx)
		cancel()
		switch {
		case err != nil:
			add(Result{Check: name, Status: Fail, Detail: fmt.Sprintf("cannot list its repositories: %v", err),
				Fix: "check it is not suspended and that the key works (above); if GitHub refuses the token, reinstall the App on " + in.Account})
		case len(lacking) > 0:
			add(Result{Check: name, Status: Warn, Detail: fmt.Sprintf("%d repositories; the owner has not accepted: %s", len(repos), strings.Join(lacking, ", ")),
				Fix: "an owner of " + in.Account + " must review and accept the App's new permissions (organisation settings → GitHub Apps → Configure)"})
		case len(repos) == 0:
			add(Result{Check: name, Status: Warn, Detail: "no repository selected: nothing will be checked there",
				Fix: "choose repositories in the organisation's settings (GitHub Apps → Configure → Repository access)"})
		default:
			add(Result{Check: name, Status: OK, Detail: fmt.Sprintf("%d repositories (%s)", len(repos), orAll(in.RepositorySelection))})
		}
	}
}

func orAll(sel string) string {
	if sel == "" {
		return "access as granted"
	}
	return sel
}

func checkStore(ctx context.Context, cfg Config, deps Deps, add func(Result)) {
	cctx, cancel := context.WithTimeout(ctx, deps.Timeout)
	defer cancel()
	s, err := deps.Schema(cctx, cfg.StoreURL)
	switch {
	case err != nil:
		add(Result{Check: "store", Status: Fail, Detail: fmt.Sprintf("cannot be read: %v", err),
			Fix: "check store.url (" + store.Forms + "), that the database answers and that backstory may read it"})
	case s.Current > s.Known:
		add(Result{Check: "store", Status: Fail, Detail: fmt.Sprintf("%s %s is at schema version %d, newer than this backstory knows (%d): a newer backstory migrated it", s.Kind, s.Where, s.Current, s.Known),
			Fix: "run the newer backstory (serve refuses to start with this one), or restore the backup taken before the upgrade"})
	case s.Current == 0:
		add(Result{Check: "store", Status: OK, Detail: fmt.Sprintf("%s %s answers; backstory serve creates its tables on start", s.Kind, s.Where)})
	case s.Current < s.Known:
		add(Result{Check: "store", Status: OK, Detail: fmt.Sprintf("%s %s is at schema version %d; backstory serve migrates it to %d on start (back it up first)", s.Kind, s.Where, s.Current, s.Known)})
	default:
		add(Result{Check: "store", Status: OK, Detail: fmt.Sprintf("%s %s answers, schema version %d (current)", s.Kind, s.Where, s.Current)})
	}
}

func checkSites(cfg Config, add func(Result)) {
	if cfg.SiteDir == "" {
		add(Result{Check: "sites", Status: Warn, Detail: "site.dir is not set: no organisation site is built or published",
			Fix: "set site.dir to a folder backstory may write (each organisation's story is built in DIR/<account>/)"})
		return
	}
	if err := writable(cfg.SiteDir); err != nil {
		add(Result{Check: "sites", Status: Fail, Detail: fmt.Sprintf("%s is not writable: %v", cfg.SiteDir, err),
			Fix: "create the folder and give the user backstory runs as write access, or point site.dir elsewhere"})
		return
	}
	add(Result{Check: "sites", Status: OK, Detail: cfg.SiteDir + " is writable"})
	switch {
	case cfg.ClientID == "" || cfg.ClientSecret == "":
		add(Result{Check: "sign-in", Status: Warn, Detail: "no OAuth credentials (github.client_id, github.client_secret): sites that hold private records cannot be served",
			Fix: "copy the Client ID and a client secret from the App's settings (General) into github.client_id and github.client_secret"})
	case cfg.PublicURL == "":
		add(Result{Check: "sign-in", Status: Warn, Detail: "server.public_url is not set: GitHub cannot send readers back after they sign in",
			Fix: "set server.public_url to the address readers reach backstory serve at, and add PUBLIC_URL/auth/callback as the App's callback URL"})
	default:
		add(Result{Check: "sign-in", Status: OK, Detail: "readers sign in through " + strings.TrimRight(cfg.PublicURL, "/") + "/auth/callback (it must be one of the App's callback URLs)"})
	}
}

// writable reports whether dir exists or can be made, and takes a file.
func writable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".backstory-doctor-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(filepath.Clean(name))
}

var levels = map[string]int{"": 0, "none": 0, "read": 1, "write": 2, "admin": 3}

func atLeast(have, want string) bool { return levels[have] >= levels[want] }

// isUnauthorized reports whether GitHub refused the App's JWT (401).
func isUnauthorized(err error) bool {
	var rejected *app.RejectedError
	return errors.As(err, &rejected) && rejected.Status == 401
}
