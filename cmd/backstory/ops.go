package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github"
	"github.com/backstory-dev/backstory/app/store"
	"github.com/backstory-dev/backstory/content"
)

// The operator's commands (deliveries, replay, resync, recheck) run beside
// `backstory serve`, on the operator's machine or in the server's
// container, with the same settings: they open the same store and put work
// in its inbox, and the running server's workers do it. They never process
// anything themselves.

// opsSettingsHelp is the part of the operator commands' help that says
// where their settings come from.
const opsSettingsHelp = `Settings are those of backstory serve, read the same way: --config FILE
(default backstory.yml here, or BACKSTORY_CONFIG), BACKSTORY_* variables, and
--store. The work is done by the running backstory serve, whose workers look
at the inbox every second: run this where serve's store is reachable (the
SQLite file, or the same PostgreSQL URL).`

// addOpsFlags adds the flags every operator command has.
func addOpsFlags(cmd *cobra.Command) {
	cmd.Flags().String("config", "", "config file (YAML) of backstory serve; default backstory.yml here if it exists")
	cmd.Flags().String("store", "", "store URL (store.url): a SQLite file, or postgres://…")
}

// opsSettings reads the settings of an operator command as serve reads
// its own.
func (c *cli) opsSettings(cmd *cobra.Command) (*viper.Viper, error) {
	return c.serveSettings(cmd)
}

// opsStore reads the settings and opens serve's store.
func (c *cli) opsStore(cmd *cobra.Command) (app.Store, *viper.Viper, error) {
	v, err := c.opsSettings(cmd)
	if err != nil {
		return nil, nil, err
	}
	st, err := openOpsStore(cmd.Context(), v)
	if err != nil {
		return nil, nil, err
	}
	return st, v, nil
}

// openOpsStore opens the store that serve uses. A SQLite file that does
// not exist is refused rather than created: an empty new store would only
// mislead ("no dead deliveries") an operator in the wrong folder.
func openOpsStore(ctx context.Context, v *viper.Viper) (app.Store, error) {
	raw := v.GetString("store.url")
	if path, ok := sqlitePath(raw); ok {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no store at %s: run this where backstory serve keeps its store, or say where it is with --store PATH, "+
				"BACKSTORY_STORE_URL or --config FILE (store.url)", path)
		}
	}
	st, err := store.Open(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("open the store %s: %w", redactURL(raw), err)
	}
	return st, nil
}

// sqlitePath is the file a SQLite store URL names (see store.Open), and
// false for PostgreSQL or a URL store.Open refuses.
func sqlitePath(raw string) (string, bool) {
	if raw == "" {
		return store.DefaultSQLite, true
	}
	lower := strings.ToLower(raw)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		return "", false
	}
	for _, scheme := range []string{"sqlite://", "sqlite:", "file://", "file:"} {
		if strings.HasPrefix(lower, scheme) {
			return raw[len(scheme):], raw != scheme
		}
	}
	if strings.Contains(raw, "://") {
		return "", false
	}
	return raw, true
}

// opsApp is the App as `backstory serve` builds it, for commands that put
// the App's own work (a recheck, a resync) in the inbox. It runs no
// workers: serve's do the work.
type opsApp struct {
	app     *app.App
	gh      app.GitHub
	store   app.Store
	siteDir string
}

// Close closes the App and the store.
func (o *opsApp) Close() {
	o.app.Close()
	o.store.Close()
}

// openOpsApp reads the GitHub settings, opens the store and makes the App.
func openOpsApp(ctx context.Context, v *viper.Viper) (*opsApp, error) {
	var problems []string
	var appID int64
	switch id := strings.TrimSpace(v.GetString("github.app_id")); {
	case id == "":
		problems = append(problems, "the App's id: set github.app_id in the config file or BACKSTORY_GITHUB_APP_ID, as for backstory serve")
	default:
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			problems = append(problems, fmt.Sprintf("github.app_id must be the App's number, found %q", id))
		}
		appID = n
	}
	var key []byte
	if path := v.GetString("github.private_key_path"); path == "" {
		problems = append(problems, "the App's private key: set github.private_key_path or BACKSTORY_GITHUB_PRIVATE_KEY_PATH to the .pem file GitHub gave")
	} else if data, err := os.ReadFile(path); err != nil {
		problems = append(problems, fmt.Sprintf("the private key cannot be read: %v", err))
	} else {
		key = data
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("cannot reach GitHub as the App:\n  - %s", strings.Join(problems, "\n  - "))
	}
	apiURL := v.GetString("github.api_url")
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	u, err := url.Parse(apiURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("github.api_url: %q is not a URL such as https://api.github.com/ or https://github.example.com/api/v3/", apiURL)
	}
	webURL := v.GetString("github.web_url")
	if webURL == "" {
		webURL = webURLFor(u)
	}
	gh, err := github.New(github.Options{AppID: appID, PrivateKey: key, BaseURL: apiURL, UserAgent: "backstory/" + version})
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	st, err := openOpsStore(ctx, v)
	if err != nil {
		return nil, err
	}
	siteDir := v.GetString("site.dir")
	sites := app.SiteOptions{}
	if siteDir != "" {
		// Only serve's workers build: this App just asks for builds, which
		// it does only when it keeps sites.
		sites = app.SiteOptions{Dir: siteDir, BaseURL: v.GetString("site.base_url"),
			Build: func(context.Context, *content.Corpus, string, string) error {
				return errors.New("sites are built by backstory serve, not by an operator command")
			}}
	}
	a, err := app.New(app.Options{GitHub: gh, Store: st, AppID: appID, WebURL: webURL, SiteURL: v.GetString("site.url"), Sites: sites})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &opsApp{app: a, gh: gh, store: st, siteDir: siteDir}, nil
}

// installationOf finds the App's installation on account (an organisation
// or user login, compared without case).
func (o *opsApp) installationOf(ctx context.Context, account string) (app.InstallationInfo, error) {
	list, err := o.gh.Installations(ctx)
	if err != nil {
		return app.InstallationInfo{}, fmt.Errorf("list the App's installations: %w", err)
	}
	var names []string
	for _, in := range list {
		if strings.EqualFold(in.Account, account) {
			if in.Suspended {
				return in, fmt.Errorf("the App's installation on %s (%d) is suspended: GitHub sends it nothing and refuses its requests; "+
					"unsuspend it in %s's settings (GitHub Apps) first", in.Account, in.ID, in.Account)
			}
			return in, nil
		}
		names = append(names, in.Account)
	}
	where := "nowhere yet"
	if len(names) > 0 {
		where = "only on " + strings.Join(names, ", ")
	}
	return app.InstallationInfo{}, fmt.Errorf("the App is not installed on %s (it is installed %s): install it on %s first, from the App's page on GitHub (Install App)",
		account, where, account)
}

var (
	ownerPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
	repoPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`)
	prPattern    = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)#([0-9]+)$`)
	prURLPattern = regexp.MustCompile(`^https?://[^/]+/([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)/pull/([0-9]+)/?$`)
)

// checkRepoFlag validates an OWNER/REPO flag value.
func checkRepoFlag(flag, value string) error {
	if value != "" && !repoPattern.MatchString(value) {
		return fmt.Errorf("%s: %q is not OWNER/REPO, such as %s octo-org/hello", flag, value, flag)
	}
	return nil
}

// parseOpsTime reads the time an operator gives in flag: RFC 3339
// (2026-11-21T09:00:00Z), a date (2026-11-21, midnight UTC; with
// endOfDay, the midnight after it, so that --until DATE includes that
// day), or a duration ago (90m, 2h, 3d, 1w, 1d12h).
func parseOpsTime(flag, s string, now time.Time, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if d, ok := parseAgo(s); ok {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%s: %q is not a time: give RFC 3339 (%s 2026-11-21T09:00:00Z), a date (%s 2026-11-21) or a duration ago (%s 2h, %s 3d)",
		flag, s, flag, flag, flag, flag)
}

var daysPattern = regexp.MustCompile(`^([0-9]+)([dw])(.*)$`)

// parseAgo reads a positive duration, with days (d) and weeks (w) besides
// what time.ParseDuration knows.
func parseAgo(s string) (time.Duration, bool) {
	var d time.Duration
	if m := daysPattern.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 100*365 {
			return 0, false
		}
		unit := 24 * time.Hour
		if m[2] == "w" {
			unit *= 7
		}
		d, s = time.Duration(n)*unit, m[3]
		if s == "" {
			return d, true
		}
	}
	rest, err := time.ParseDuration(s)
	if err != nil || rest < 0 || (rest == 0 && d == 0) {
		return 0, false
	}
	return d + rest, true
}

// ago says how long before now t was, roughly ("3h ago").
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

// formatTime is how the operator commands show a time: RFC 3339 in UTC.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func (c *cli) resyncCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resync OWNER[/REPO]",
		Short: "Read OWNER's records from GitHub again, and rebuild and republish its site",
		Long: `Ask backstory serve to read every repository of OWNER's installation from
GitHub again (conditionally: unchanged ones cost nothing) instead of trusting
the records it stored, then rebuild the organisation's site and republish it:
what to do when a push was missed or the stored records are in doubt.

A site covers the whole organisation, so OWNER/REPO rebuilds all of it too; it
only checks first that the App can see REPO.

` + opsSettingsHelp + `

It needs the App's id and private key (github.app_id, github.private_key_path)
to find OWNER's installation, and site.dir: without it backstory serve keeps no
site, and there is nothing to rebuild.`,
		Example: "  backstory resync octo-org\n  backstory resync octo-org/hello --config /etc/backstory/backstory.yml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := args[0]
			owner, repo := target, ""
			if strings.Contains(target, "/") {
				if !repoPattern.MatchString(target) {
					return fmt.Errorf("resync: %q is not OWNER or OWNER/REPO, such as: backstory resync octo-org", target)
				}
				owner, repo = strings.Split(target, "/")[0], target
			} else if !ownerPattern.MatchString(target) {
				return fmt.Errorf("resync: %q is not OWNER or OWNER/REPO, such as: backstory resync octo-org", target)
			}
			v, err := c.opsSettings(cmd)
			if err != nil {
				return err
			}
			if v.GetString("site.dir") == "" {
				return errors.New("site.dir is not set, so backstory serve keeps no site and there is no site to rebuild: " +
					"set site.dir (BACKSTORY_SITE_DIR) as backstory serve has it; records are read again for each pull request's check anyway")
			}
			ctx := cmd.Context()
			o, err := openOpsApp(ctx, v)
			if err != nil {
				return err
			}
			defer o.Close()
			in, err := o.installationOf(ctx, owner)
			if err != nil {
				return err
			}
			if repo != "" {
				if _, err := o.gh.Installation(in.ID).Repository(ctx, repo); errors.Is(err, app.ErrNotFound) {
					return fmt.Errorf("the App cannot see %s: it does not exist, or %s did not give it to the App (installation %d)", repo, in.Account, in.ID)
				} else if err != nil {
					return fmt.Errorf("read %s: %w", repo, err)
				}
			}
			if err := o.app.RequestResync(ctx, in.ID, in.Account); err != nil {
				return err
			}
			out := c.stdout
			fmt.Fprintf(out, "Queued a resync of %s (installation %d).\n", in.Account, in.ID)
			fmt.Fprintf(out, "backstory serve will read every repository of %s from GitHub again, then rebuild the whole site in %s and republish it.\n",
				in.Account, o.siteDir)
			if repo != "" {
				fmt.Fprintf(out, "A site covers the whole organisation: all of %s's site is rebuilt, not only %s.\n", in.Account, repo)
			}
			fmt.Fprintf(out, "Follow it with: backstory deliveries list --state all --event %s --since 1h\n", app.EventBuild)
			return nil
		},
	}
	addOpsFlags(cmd)
	return cmd
}

func (c *cli) recheckCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "recheck OWNER/REPO#N",
		Short: "Evaluate one pull request's check again",
		Long: `Ask backstory serve to evaluate the check of one open pull request again,
on its current head: what to do when an event was missed (a body edited while
the App was down) or the check looks wrong. The check run is rewritten only when
its verdict changed.

` + opsSettingsHelp + `

It needs the App's id and private key (github.app_id, github.private_key_path)
to find the installation and read the pull request.`,
		Example: "  backstory recheck octo-org/hello#42\n  backstory recheck https://github.com/octo-org/hello/pull/42",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m := prPattern.FindStringSubmatch(args[0])
			if m == nil {
				m = prURLPattern.FindStringSubmatch(args[0])
			}
			number := 0
			if m != nil {
				number, _ = strconv.Atoi(m[2])
			}
			if m == nil || number <= 0 {
				return fmt.Errorf("recheck: %q is not OWNER/REPO#N, such as: backstory recheck octo-org/hello#42", args[0])
			}
			repo := m[1]
			v, err := c.opsSettings(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			o, err := openOpsApp(ctx, v)
			if err != nil {
				return err
			}
			defer o.Close()
			in, err := o.installationOf(ctx, strings.Split(repo, "/")[0])
			if err != nil {
				return err
			}
			client := o.gh.Installation(in.ID)
			// GitHub's spelling of the name, so that the recheck is ordered
			// with the webhook deliveries of the same commit.
			r, err := client.Repository(ctx, repo)
			if errors.Is(err, app.ErrNotFound) {
				return fmt.Errorf("the App cannot see %s: it does not exist, or %s did not give it to the App (installation %d)", repo, in.Account, in.ID)
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", repo, err)
			}
			repo = r.FullName
			pr, err := client.PullRequest(ctx, repo, number)
			if errors.Is(err, app.ErrNotFound) {
				return fmt.Errorf("no pull request %s#%d (an issue number, or a typo?)", repo, number)
			}
			if err != nil {
				return fmt.Errorf("read %s#%d: %w", repo, number, err)
			}
			if pr.State != "open" {
				how := "closed"
				if pr.Merged {
					how = "merged"
				}
				return fmt.Errorf("%s#%d is %s: a closed pull request is not checked (reopen it to check it again)", repo, number, how)
			}
			if err := o.app.Recheck(ctx, in.ID, repo, number, pr.HeadSHA, "asked for by backstory recheck"); err != nil {
				return err
			}
			out := c.stdout
			fmt.Fprintf(out, "Queued a new check of %s#%d on its head %s.\n", repo, number, shortSHA(pr.HeadSHA))
			fmt.Fprintln(out, "backstory serve's workers evaluate it within seconds; the check run is rewritten only if its verdict changed.")
			if pr.HTMLURL != "" {
				fmt.Fprintf(out, "See it on %s/checks\n", strings.TrimSuffix(pr.HTMLURL, "/"))
			}
			fmt.Fprintf(out, "Follow it with: backstory deliveries list --state all --event %s --repo %s --since 1h\n", app.EventRecheck, repo)
			return nil
		},
	}
	addOpsFlags(cmd)
	return cmd
}

// shortSHA is the first 7 characters of a commit sha.
func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
