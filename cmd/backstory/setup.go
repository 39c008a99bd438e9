package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/backstory-dev/backstory/app/manifest"
)

// usageError reports a command line or setup that cannot work, and exits 2:
// nothing was attempted.
func (c *cli) usageError(err error) error {
	fmt.Fprintf(c.stderr, "backstory: %v\n", err)
	return exitError{code: 2}
}

func (c *cli) setupCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Create the backstory GitHub App in one click (GitHub's app-manifest flow)",
		Long: `Create the GitHub App that backstory serve runs as, with exactly the
permissions and events it needs, through GitHub's app-manifest flow.

setup starts a small web server on this machine and prints its address. Open
it in a browser signed in to GitHub: the page lists what will be created and
sends you to GitHub to confirm. GitHub then sends you back, and setup writes
the App's credentials, readable by you only:

  --config FILE                  (default backstory.yml) the settings backstory
                                 serve reads: github.app_id, github.private_key_path,
                                 github.webhook_secret, github.client_id, …
  <name>.private-key.pem         the App's private key, beside FILE

and prints the link that installs the App, and the command that starts it.

--webhook-url is where GitHub will send events: the public address of
backstory serve (https://backstory.example.com; /webhooks/github is added),
or any full webhook URL, such as a relay (https://smee.io/…) while trying it
out. Without it, the page asks.

To run setup on a remote machine, forward its port:
  ssh -L 8123:127.0.0.1:8123 HOST backstory setup --listen 127.0.0.1:8123`,
		Example: `  backstory setup --org acme --webhook-url https://backstory.acme.dev
  backstory setup --github-url https://github.acme.internal --org platform --config /etc/backstory/backstory.yml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runSetup(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.String("org", "", "organisation that will own the App (default: your own account)")
	f.String("github-url", "https://github.com", "web address of GitHub, or of a GitHub Enterprise Server")
	f.String("api-url", "", "GitHub's REST API (default: derived from --github-url: https://api.github.com/, or HOST/api/v3/)")
	f.String("webhook-url", "", "public address of backstory serve, or a full webhook URL (default: the page asks)")
	f.String("name", "", "the App's name, at most 34 characters (default backstory, or backstory-ORG)")
	f.String("listen", "127.0.0.1:0", "address of setup's own web server (port 0: any free port)")
	f.String("config", "backstory.yml", "configuration file to write; the private key goes beside it")
	f.String("serve-listen", ":8080", "address backstory serve will listen on, written as server.listen")
	f.Bool("public", false, "let any account install the App (default: only the owner)")
	f.Bool("pages", false, "ask for contents: write, to publish the organisation's site to a GitHub Pages branch (site.pages)")
	f.Bool("force", false, "replace an existing configuration file and private key")
	c.bindFlags(cmd, "setup")
	return cmd
}

func (c *cli) runSetup(ctx context.Context) error {
	v := c.config
	host, err := manifest.ParseHost(v.GetString("setup.github_url"), v.GetString("setup.api_url"))
	if err != nil {
		return c.usageError(err)
	}
	org := v.GetString("setup.org")
	if err := manifest.ValidOrg(org); err != nil {
		return c.usageError(err)
	}
	name := v.GetString("setup.name")
	if name == "" {
		name = manifest.DefaultName(org)
	}
	if err := manifest.ValidName(name); err != nil {
		return c.usageError(fmt.Errorf("--name: %w", err))
	}
	var hook manifest.Webhook
	if raw := v.GetString("setup.webhook_url"); raw != "" {
		if hook, err = manifest.ParseWebhook(raw); err != nil {
			return c.usageError(fmt.Errorf("--webhook-url: %w", err))
		}
	}
	force := v.GetBool("setup.force")
	files, err := manifest.PlanFiles(v.GetString("setup.config"), name)
	if err != nil {
		return c.usageError(err)
	}
	// Refuse now rather than after the App exists on GitHub.
	if err := files.Check(force); err != nil {
		return c.usageError(err)
	}

	ln, err := net.Listen("tcp", v.GetString("setup.listen"))
	if err != nil {
		return c.usageError(fmt.Errorf("--listen: %w", err))
	}
	local := localURL(ln.Addr())
	flow, err := manifest.NewFlow(manifest.Options{
		Host: host, Org: org, Name: name, Webhook: hook, Public: v.GetBool("setup.public"), PublishPages: v.GetBool("setup.pages"),
		Files: files, Force: force, Listen: v.GetString("setup.serve_listen"), LocalURL: local,
	})
	if err != nil {
		ln.Close()
		return c.usageError(err)
	}
	srv := &http.Server{Handler: flow, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	owner := "your account"
	if org != "" {
		owner = "the organisation " + org
	}
	fmt.Fprintf(c.stdout, "To create the GitHub App %s for %s on %s, open:\n\n  %s/\n\n", name, owner, host.Web, local)
	fmt.Fprintln(c.stdout, "in a browser signed in to GitHub. Waiting for GitHub to send you back (Ctrl-C to stop)…")

	var res manifest.Result
	select {
	case res = <-flow.Done():
	case err := <-served:
		return fmt.Errorf("setup's web server stopped: %w", err)
	case <-ctx.Done():
		shutdown(srv)
		fmt.Fprintln(c.stderr, "backstory: setup stopped before GitHub sent the App back; nothing was written")
		return exitError{code: 1}
	}
	// Let the browser receive the success page before stopping.
	shutdown(srv)

	app := res.App
	fmt.Fprintf(c.stdout, "\nGitHub created the App %s (id %d)", app.Slug, app.ID)
	if app.Owner.Login != "" {
		fmt.Fprintf(c.stdout, ", owned by %s", app.Owner.Login)
	}
	fmt.Fprintf(c.stdout, ".\nIts credentials, readable by you only:\n  %s\n  %s\n\n", res.Files.Config, res.Files.Key)
	fmt.Fprintf(c.stdout, "Next:\n  1. install it:  %s\n  2. start it:    backstory serve --config %s\n", app.InstallURL(), res.Files.Config)
	if app.WebhookSecret == "" {
		fmt.Fprintln(c.stderr, "warning: GitHub made no webhook secret, and backstory serve refuses to start without one: set one in the App's settings and write it as github.webhook_secret")
	}
	return nil
}

// localURL is how a browser on this machine reaches the listener: a
// wildcard address is reached through the loopback one.
func localURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return "http://" + net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
}
