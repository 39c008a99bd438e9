// Package manifest drives GitHub's app-manifest flow for `backstory setup`:
// it describes the App backstory needs (permissions, events, webhook), shows
// a local page whose form sends that description to GitHub, and, when GitHub
// redirects back with a one-time code, trades the code for the App's
// credentials and writes them where `backstory serve` reads them.
//
// See https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest.
package manifest

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// WebhookPath is where `backstory serve` receives GitHub's deliveries.
const WebhookPath = "/webhooks/github"

// AuthCallbackPath is where `backstory serve` finishes a reader's GitHub
// sign-in (the App's OAuth credentials), for sites with private records.
const AuthCallbackPath = "/auth/callback"

// Homepage is the App's homepage when no public address of `backstory serve`
// is known.
const Homepage = "https://github.com/backstory-dev/backstory"

// MaxNameLength is the longest name GitHub accepts for an App.
const MaxNameLength = 34

// Grant is one permission the App asks for, and why backstory needs it.
type Grant struct {
	// Name is the permission's key in GitHub's API ("pull_requests").
	Name string
	// Level is "read" or "write".
	Level string
	// Title is how GitHub's settings page names it ("Pull requests").
	Title string
	// Why says what backstory does with it.
	Why string
}

// Subscription is one webhook event the App subscribes to, and why.
type Subscription struct {
	Event string
	Why   string
}

// Grants are the permissions backstory asks for: what the context check and
// the private-site sign-in need, and nothing more. merge_queues is there
// only because GitHub delivers merge_group to Apps that hold it.
var Grants = []Grant{
	{Name: "checks", Level: "write", Title: "Checks", Why: "post the backstory check run on each pull request's head commit, and update it"},
	{Name: "contents", Level: "read", Title: "Contents", Why: "read .github/backstory.yml, the decision records and the pull request template on the default branch"},
	{Name: "pull_requests", Level: "read", Title: "Pull requests", Why: "read a pull request's title, body, labels and changed files"},
	{Name: "metadata", Level: "read", Title: "Metadata", Why: "required by GitHub for any repository access"},
	{Name: "issues", Level: "write", Title: "Issues", Why: "open an issue when a decision's review is due, if the repository asks for it (reviews.open_issues)"},
	{Name: "members", Level: "read", Title: "Members (organization)", Why: "let only members of the organisation sign in to a site that holds private records"},
	{Name: "merge_queues", Level: "read", Title: "Merge queues", Why: "receive merge_group events, so the check passes on merge-queue commits"},
}

// GrantsFor returns Grants, with contents: write instead of read when
// pages: publishing the org's site to a GitHub Pages branch writes commits.
func GrantsFor(pages bool) []Grant {
	out := append([]Grant(nil), Grants...)
	if pages {
		for i, g := range out {
			if g.Name == "contents" {
				out[i].Level = "write"
				out[i].Why += "; and publish the organisation's story site to the GitHub Pages branch named in site.pages (one commit per build)"
			}
		}
	}
	return out
}

// Subscriptions are the webhook events backstory subscribes to. Installation
// events arrive without subscribing.
var Subscriptions = []Subscription{
	{Event: "pull_request", Why: "evaluate a pull request when it is opened, edited, pushed to, labelled or marked ready"},
	{Event: "check_suite", Why: "evaluate again when GitHub asks for checks on a new commit, or someone re-runs them all"},
	{Event: "check_run", Why: "re-run the check, and the \"Not needed\" button"},
	{Event: "push", Why: "refresh the records and rebuild the site when the default branch changes"},
	{Event: "merge_group", Why: "report the check on commits a merge queue builds"},
}

// Manifest is the App description GitHub's "new App" page reads from the
// form's manifest field.
type Manifest struct {
	Name               string            `json:"name"`
	URL                string            `json:"url"`
	Description        string            `json:"description"`
	HookAttributes     HookAttributes    `json:"hook_attributes"`
	RedirectURL        string            `json:"redirect_url"`
	CallbackURLs       []string          `json:"callback_urls,omitempty"`
	Public             bool              `json:"public"`
	DefaultPermissions map[string]string `json:"default_permissions"`
	DefaultEvents      []string          `json:"default_events"`
}

// HookAttributes is the App's webhook.
type HookAttributes struct {
	URL    string `json:"url"`
	Active bool   `json:"active"`
}

// Webhook is where GitHub will deliver webhooks, as given to setup.
type Webhook struct {
	// URL is the webhook's full address.
	URL string
	// Base is the public address of `backstory serve` when the address
	// given was one (its root, or its root plus WebhookPath); "" when it
	// was some other URL, such as a relay.
	Base string
}

// ParseWebhook reads --webhook-url: either the public address of `backstory
// serve` ("https://backstory.example.com", to which WebhookPath is added) or
// a full webhook URL of any path (a relay such as smee.io).
func ParseWebhook(raw string) (Webhook, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Webhook{}, fmt.Errorf("webhook URL %q: expected an absolute http(s) URL such as https://backstory.example.com", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Webhook{}, fmt.Errorf("webhook URL %q: must not hold a user, query or fragment", raw)
	}
	if isLoopback(u.Hostname()) {
		return Webhook{}, fmt.Errorf("webhook URL %q: GitHub cannot reach this machine's loopback address; give the public address of backstory serve, or a relay such as https://smee.io/…", raw)
	}
	path := strings.TrimRight(u.Path, "/")
	switch {
	case path == "":
		base := u.Scheme + "://" + u.Host
		return Webhook{URL: base + WebhookPath, Base: base}, nil
	case strings.HasSuffix(path, WebhookPath):
		u.Path = path
		base := u.Scheme + "://" + u.Host + strings.TrimSuffix(path, WebhookPath)
		return Webhook{URL: u.String(), Base: base}, nil
	default:
		return Webhook{URL: u.String()}, nil
	}
}

func isLoopback(host string) bool {
	host = strings.ToLower(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasPrefix(host, "127.") || host == "::1"
}

// Host is a GitHub: github.com, a GitHub Enterprise Server, or a GHE.com
// tenant.
type Host struct {
	// Web is the web address, without a trailing slash
	// ("https://github.com").
	Web string
	// API is the REST API's base URL, with a trailing slash.
	API string
}

// ParseHost reads --github-url and derives the API's address: api.github.com
// for github.com, api.<tenant>.ghe.com for GHE.com, and /api/v3/ on the same
// host for GitHub Enterprise Server. api, when not empty, overrides the
// derived API address.
func ParseHost(web, api string) (Host, error) {
	web = strings.TrimSpace(web)
	u, err := url.Parse(web)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Host{}, fmt.Errorf("GitHub URL %q: expected the web address of GitHub, such as https://github.com or https://github.example.com", web)
	}
	if p := strings.TrimRight(u.Path, "/"); p != "" {
		return Host{}, fmt.Errorf("GitHub URL %q: give the host only, without a path (%s)", web, p)
	}
	h := Host{Web: u.Scheme + "://" + u.Host}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "github.com" || host == "www.github.com":
		h.Web = "https://github.com"
		h.API = "https://api.github.com/"
	case strings.HasSuffix(host, ".ghe.com"):
		h.API = u.Scheme + "://api." + u.Host + "/"
	default:
		h.API = h.Web + "/api/v3/"
	}
	if api = strings.TrimSpace(api); api != "" {
		a, err := url.Parse(api)
		if err != nil || (a.Scheme != "https" && a.Scheme != "http") || a.Host == "" {
			return Host{}, fmt.Errorf("API URL %q: expected an absolute http(s) URL such as https://api.github.com/", api)
		}
		h.API = strings.TrimRight(api, "/") + "/"
	}
	return h, nil
}

var loginPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)

// ValidOrg reports an error when org cannot be a GitHub organisation login.
func ValidOrg(org string) error {
	if org != "" && !loginPattern.MatchString(org) {
		return fmt.Errorf("organisation %q: expected a GitHub login (letters, digits and single hyphens, at most 39 characters)", org)
	}
	return nil
}

// NewAppURL is where the form posts: the "new App" page of the user who
// submits it, or of organisation org. state comes back on the redirect.
func (h Host) NewAppURL(org, state string) string {
	path := "/settings/apps/new"
	if org != "" {
		path = "/organizations/" + url.PathEscape(org) + path
	}
	return h.Web + path + "?state=" + url.QueryEscape(state)
}

// DefaultName is the App's name when none is given: "backstory", or
// "backstory-<org>" so that several organisations can each create theirs
// (App names are unique on a GitHub).
func DefaultName(org string) string {
	name := "backstory"
	if org != "" {
		name += "-" + strings.ToLower(org)
	}
	if len(name) > MaxNameLength {
		name = strings.TrimRight(name[:MaxNameLength], "-")
	}
	return name
}

// ValidName reports an error when GitHub would refuse name.
func ValidName(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("the App's name is empty")
	}
	if n := len([]rune(name)); n > MaxNameLength {
		return fmt.Errorf("the App's name %q has %d characters: GitHub allows at most %d", name, n, MaxNameLength)
	}
	return nil
}

// Slug makes a file-name-safe form of an App's name, as GitHub makes the
// App's slug: lower case, runs of other characters turned into one hyphen.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if s == "" {
		return "app"
	}
	return s
}

// New describes the App. redirect is the local setup server's callback URL,
// where GitHub sends the browser back with the code.
func New(name string, hook Webhook, redirect string, public bool) Manifest {
	m := Manifest{
		Name:               name,
		URL:                Homepage,
		Description:        "Asks every pull request for its why, and keeps the story of your decisions.",
		HookAttributes:     HookAttributes{URL: hook.URL, Active: true},
		RedirectURL:        redirect,
		Public:             public,
		DefaultPermissions: map[string]string{},
	}
	if hook.Base != "" {
		m.URL = hook.Base
		m.CallbackURLs = []string{hook.Base + AuthCallbackPath}
	}
	for _, g := range Grants {
		m.DefaultPermissions[g.Name] = g.Level
	}
	for _, s := range Subscriptions {
		m.DefaultEvents = append(m.DefaultEvents, s.Event)
	}
	sort.Strings(m.DefaultEvents)
	return m
}
