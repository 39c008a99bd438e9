package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github"
	"github.com/backstory-dev/backstory/app/postgres"
	"github.com/backstory-dev/backstory/app/signin"
	"github.com/backstory-dev/backstory/app/sitesrv"
	"github.com/backstory-dev/backstory/app/status"
	"github.com/backstory-dev/backstory/app/store"
	"github.com/backstory-dev/backstory/content"
	"github.com/backstory-dev/backstory/site"
	"github.com/backstory-dev/backstory/webhooks"
)

// serveDefaults are the settings `backstory serve` has without a config
// file, environment variable or flag.
var serveDefaults = map[string]any{
	"github.api_url":       "https://api.github.com/",
	"server.listen":        ":8080",
	"server.workers":       4,
	"store.url":            "",
	"store.retention":      "720h",
	"log.level":            "info",
	"log.format":           "json",
	"redeliver.interval":   "5m",
	"redeliver.window":     "72h",
	"cache.ttl":            "10m",
	"server.shutdown_wait": "20s",
	"server.lease":         "2m",
	"server.retry_max":     "30m",
	"site.dir":             "",
	"site.base_url":        "/sites/",

	// The operator's status page without sign-in (off by default).
	"server.admin_listen":        "",
	"server.admin_listen_public": false,
}

func (c *cli) serveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the GitHub App: receive webhooks and check every pull request",
		Long: `Run the GitHub App. It receives GitHub's webhooks at POST /webhooks/github,
stores each delivery durably before acknowledging it, and checks pull requests
from that inbox, retrying what fails. It also serves /healthz, /readyz and
/metrics (Prometheus).

Settings come from a config file (--config, written by "backstory setup"),
environment variables and flags, in that order of precedence reversed (flags
win):

  github.app_id            BACKSTORY_GITHUB_APP_ID
  github.private_key_path  BACKSTORY_GITHUB_PRIVATE_KEY_PATH
  github.webhook_secret    BACKSTORY_GITHUB_WEBHOOK_SECRET
  github.api_url           BACKSTORY_GITHUB_API_URL   (default https://api.github.com/)
  server.listen            BACKSTORY_SERVER_LISTEN    (default :8080)
  server.workers           BACKSTORY_SERVER_WORKERS   (default 4; 0 = receive only)
  store.url                BACKSTORY_STORE_URL        (default SQLite backstory.db here;
                                                       postgres://… for PostgreSQL)
  store.retention          BACKSTORY_STORE_RETENTION  (default 720h: done deliveries older
                                                       than this are pruned hourly; 0 keeps
                                                       them forever)
  server.lease             BACKSTORY_SERVER_LEASE     (default 2m: how long a delivery
                                                       stays with a worker that died)
  server.retry_max         BACKSTORY_SERVER_RETRY_MAX (default 30m: the longest wait between two
                                                       attempts of a failing delivery; GitHub's own
                                                       retry times are kept past it)
  site.dir                 BACKSTORY_SITE_DIR         (default none: keep no sites; else each
                                                       organisation's story site is built in
                                                       DIR/<account>/ and, when the org's
                                                       .github/backstory.yml says site.pages,
                                                       published to a Pages branch)
  site.serve               BACKSTORY_SITE_SERVE       (default true when site.dir is set: serve
                                                       the sites at /sites/<account>/, the
                                                       path of site.base_url)
  server.public_url        BACKSTORY_SERVER_PUBLIC_URL
                                                      (default none: where readers reach serve,
                                                       such as https://backstory.example.com)
  github.client_id         BACKSTORY_GITHUB_CLIENT_ID
  github.client_secret     BACKSTORY_GITHUB_CLIENT_SECRET
                                                      (the App's OAuth credentials, which
                                                       "backstory setup" writes)
  server.admin_listen      BACKSTORY_SERVER_ADMIN_LISTEN
                                                      (default none: such as 127.0.0.1:9091, a
                                                       second listener serving /status,
                                                       /status.json and /metrics without
                                                       sign-in; a loopback address only, unless
                                                       server.admin_listen_public is true)

A site that holds records of private repositories is shown only to members
of its organisation, who sign in with GitHub at /auth/login. Sign-in needs
server.public_url, github.client_id and github.client_secret, and the App's
callback URL set to <server.public_url>/auth/callback; without them such a
site answers 403 with what to configure. Sites of public repositories need
no sign-in.

The operator's status page, /status (and /status.json for scripts), shows the
inbox and its oldest delivery, the deliveries that fail and why, the dead
letters, each organisation's last site build and publication, GitHub's rate
limits, the version and the uptime. On server.listen it is shown to the admins
of the organisations the App is installed on, who sign in with GitHub (the
same settings); on server.admin_listen to anyone who reaches it.

It refuses to start without an app id, a readable private key and a webhook
secret.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.serveConfig(cmd)
			if err != nil {
				return err
			}
			return runServer(cmd.Context(), cfg, c.stderr, nil)
		},
	}
	cmd.Flags().String("config", "", "config file (YAML) written by backstory setup; default backstory.yml here if it exists")
	cmd.Flags().String("listen", "", "address to listen on (server.listen)")
	cmd.Flags().Int("workers", -1, "deliveries processed at once (server.workers); 0 only receives")
	cmd.Flags().String("store", "", "store URL (store.url): a SQLite file, or postgres://…")
	cmd.Flags().String("log-level", "", "debug, info, warn or error (log.level)")
	return cmd
}

// serverConfig is everything `backstory serve` needs, checked.
type serverConfig struct {
	AppID          int64
	PrivateKey     []byte
	PrivateKeyPath string
	WebhookSecret  []byte
	APIURL         string
	WebURL         string
	SiteURL        string
	Listen         string
	Workers        int
	StoreURL       string
	CacheDir       string
	CacheTTL       time.Duration
	LogLevel       slog.Level
	LogFormat      string
	Redeliver      time.Duration
	RedeliverOver  time.Duration
	ShutdownWait   time.Duration
	Lease          time.Duration
	RetryMax       time.Duration
	Retention      time.Duration
	SiteDir        string
	SiteBaseURL    string
	// SiteServe serves the sites under SitePrefix, the path of
	// SiteBaseURL.
	SiteServe  bool
	SitePrefix string
	// PublicURL is where readers reach serve; with ClientID and
	// ClientSecret (the App's OAuth credentials) it turns sign-in on.
	PublicURL    string
	ClientID     string
	ClientSecret string

	// AdminListen is the address of the listener that serves the status
	// page and the metrics without sign-in; "" for none.
	AdminListen string
}

// serveSettings reads the settings of serve and of the commands that share
// its config (doctor, deliveries, replay, resync, recheck): serve's
// defaults, the config file (--config, BACKSTORY_CONFIG, or backstory.yml
// here), BACKSTORY_* variables, and the flags the command has of --listen,
// --store, --log-level and --workers.
func (c *cli) serveSettings(cmd *cobra.Command) (*viper.Viper, error) {
	v := c.config
	for k, d := range serveDefaults {
		v.SetDefault(k, d)
	}
	for name, key := range map[string]string{"listen": "server.listen", "store": "store.url", "log-level": "log.level", "workers": "server.workers"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			v.Set(key, f.Value.String())
		}
	}
	file := ""
	if f := cmd.Flags().Lookup("config"); f != nil {
		file = f.Value.String()
	}
	if file == "" {
		file = os.Getenv("BACKSTORY_CONFIG")
	}
	if file == "" {
		if _, err := os.Stat("backstory.yml"); err == nil {
			file = "backstory.yml"
		}
	}
	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("read the config file %s: %w", file, err)
		}
	}
	return v, nil
}

// serveConfig reads the settings and refuses, with what to do, when the
// App cannot run safely.
func (c *cli) serveConfig(cmd *cobra.Command) (serverConfig, error) {
	v, err := c.serveSettings(cmd)
	if err != nil {
		return serverConfig{}, err
	}
	var cfg serverConfig
	var missing []string
	switch id := strings.TrimSpace(v.GetString("github.app_id")); {
	case id == "":
		missing = append(missing, "the App's id: set github.app_id in the config file or BACKSTORY_GITHUB_APP_ID (run `backstory setup` to create the App)")
	default:
		var n int64
		if _, err := fmt.Sscan(id, &n); err != nil || n <= 0 {
			missing = append(missing, fmt.Sprintf("github.app_id must be the App's number, found %q", id))
		}
		cfg.AppID = n
	}
	cfg.PrivateKeyPath = v.GetString("github.private_key_path")
	if cfg.PrivateKeyPath == "" {
		missing = append(missing, "the App's private key: set github.private_key_path or BACKSTORY_GITHUB_PRIVATE_KEY_PATH to the .pem file GitHub gave")
	} else if key, err := os.ReadFile(cfg.PrivateKeyPath); err != nil {
		missing = append(missing, fmt.Sprintf("the private key cannot be read: %v", err))
	} else {
		cfg.PrivateKey = key
	}
	cfg.WebhookSecret = []byte(v.GetString("github.webhook_secret"))
	if len(cfg.WebhookSecret) == 0 {
		missing = append(missing, "the webhook secret: set github.webhook_secret or BACKSTORY_GITHUB_WEBHOOK_SECRET (without it anyone could send forged events)")
	}
	cfg.APIURL = v.GetString("github.api_url")
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	u, err := url.Parse(cfg.APIURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return cfg, fmt.Errorf("github.api_url: %q is not a URL such as https://api.github.com/ or https://github.example.com/api/v3/", cfg.APIURL)
	}
	cfg.WebURL = v.GetString("github.web_url")
	if cfg.WebURL == "" {
		cfg.WebURL = webURLFor(u)
	}
	cfg.SiteURL = v.GetString("site.url")
	cfg.SiteDir = v.GetString("site.dir")
	cfg.SiteBaseURL = v.GetString("site.base_url")
	cfg.SiteServe = cfg.SiteDir != ""
	if v.IsSet("site.serve") {
		cfg.SiteServe = v.GetBool("site.serve")
		if cfg.SiteServe && cfg.SiteDir == "" {
			return cfg, errors.New("site.serve is on but site.dir is not set: give the folder of the sites, or turn site.serve off")
		}
	}
	cfg.SitePrefix = "/sites/"
	if b, err := url.Parse(cfg.SiteBaseURL); err == nil && strings.HasPrefix(b.Path, "/") {
		cfg.SitePrefix = strings.TrimRight(b.Path, "/") + "/"
	}
	cfg.PublicURL = strings.TrimRight(v.GetString("server.public_url"), "/")
	if cfg.PublicURL != "" {
		p, err := url.Parse(cfg.PublicURL)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.Path != "" || p.RawQuery != "" || p.Fragment != "" {
			return cfg, fmt.Errorf("server.public_url: %q is not the root address readers use, such as https://backstory.example.com", cfg.PublicURL)
		}
	}
	cfg.ClientID = v.GetString("github.client_id")
	cfg.ClientSecret = v.GetString("github.client_secret")
	cfg.Listen = v.GetString("server.listen")
	cfg.AdminListen = v.GetString("server.admin_listen")
	if err := checkAdminListen(cfg.AdminListen, v.GetBool("server.admin_listen_public")); err != nil {
		return cfg, err
	}
	cfg.Workers = v.GetInt("server.workers")
	cfg.StoreURL = v.GetString("store.url")
	cfg.CacheDir = v.GetString("cache.dir")
	cfg.LogFormat = v.GetString("log.format")
	if err := cfg.LogLevel.UnmarshalText([]byte(v.GetString("log.level"))); err != nil {
		return cfg, fmt.Errorf("log.level: %q is not one of debug, info, warn, error", v.GetString("log.level"))
	}
	for key, dst := range map[string]*time.Duration{"redeliver.interval": &cfg.Redeliver, "redeliver.window": &cfg.RedeliverOver,
		"cache.ttl": &cfg.CacheTTL, "server.shutdown_wait": &cfg.ShutdownWait, "server.lease": &cfg.Lease, "server.retry_max": &cfg.RetryMax} {
		d, err := time.ParseDuration(v.GetString(key))
		if err != nil {
			return cfg, fmt.Errorf("%s: %q is not a duration such as 5m", key, v.GetString(key))
		}
		*dst = d
	}
	if cfg.Retention, err = time.ParseDuration(v.GetString("store.retention")); err != nil || cfg.Retention < 0 {
		return cfg, fmt.Errorf("store.retention: %q is not a duration such as 720h (0 keeps done deliveries forever)", v.GetString("store.retention"))
	}
	if len(missing) > 0 {
		return cfg, &missingSettings{items: missing}
	}
	return cfg, nil
}

// missingSettings is serveConfig's error when settings serve cannot run
// without are missing; the rest of the config is read all the same (for
// backstory doctor).
type missingSettings struct{ items []string }

func (m *missingSettings) Error() string {
	return "serve cannot start:\n  - " + strings.Join(m.items, "\n  - ")
}

// webURLFor derives GitHub's web address from its API address:
// api.github.com → github.com; https://HOST/api/v3/ → https://HOST.
func webURLFor(api *url.URL) string {
	if api.Host == "api.github.com" {
		return "https://github.com"
	}
	return api.Scheme + "://" + api.Host
}

// runServer runs the App until ctx is done. ready, when not nil, receives
// the address it listens on.
func runServer(ctx context.Context, cfg serverConfig, logOut io.Writer, ready chan<- string) error {
	var handler slog.Handler
	if cfg.LogFormat == "text" {
		handler = slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: cfg.LogLevel})
	} else {
		handler = slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: cfg.LogLevel})
	}
	log := slog.New(handler)
	started := time.Now()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := app.NewMetrics(reg)
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "backstory_build_info",
		Help: "1, labelled with the running backstory's version (watch upgrades)."}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(buildInfo)

	st, err := store.Open(ctx, cfg.StoreURL)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer st.Close()
	reg.MustRegister(app.NewInboxCollector(st))
	gh, err := github.New(github.Options{AppID: cfg.AppID, PrivateKey: cfg.PrivateKey, BaseURL: cfg.APIURL, Metrics: metrics,
		UserAgent: "backstory/" + version})
	if err != nil {
		return fmt.Errorf("github: %w", err)
	}
	var worker *app.Worker
	sites := app.SiteOptions{}
	if cfg.SiteDir != "" {
		sites = app.SiteOptions{Dir: cfg.SiteDir, BaseURL: cfg.SiteBaseURL, Build: func(ctx context.Context, corpus *content.Corpus, out, baseURL string) error {
			_, err := site.Build(ctx, corpus, site.Options{OutputDir: out, BaseURL: baseURL, Title: filepath.Base(out)})
			return err
		}}
	}
	a, err := app.New(app.Options{GitHub: gh, Store: st, Log: log, Metrics: metrics, AppID: cfg.AppID,
		WebURL: cfg.WebURL, SiteURL: cfg.SiteURL, CacheDir: cfg.CacheDir, CacheTTL: cfg.CacheTTL,
		Notify: func() { worker.Notify() }, Sites: sites})
	if err != nil {
		return err
	}
	defer a.Close()

	worker = &app.Worker{Inbox: st, Processor: a, Name: app.NewWorkerName(), Concurrency: cfg.Workers,
		Lease: cfg.Lease, MaxBackoff: cfg.RetryMax, Metrics: metrics, Log: log}
	hook, err := webhooks.New(webhooks.Config{Secret: cfg.WebhookSecret, Inbox: st, Events: app.HandledEvents,
		Metrics: metrics, Log: log, Notify: worker.Notify})
	if err != nil {
		return err
	}

	// Listen before any work starts: a port already taken must stop serve
	// before it asks GitHub to redeliver anything.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	var adminLn net.Listener
	if cfg.AdminListen != "" {
		if adminLn, err = net.Listen("tcp", cfg.AdminListen); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (server.admin_listen): %w", cfg.AdminListen, err)
		}
		defer adminLn.Close()
	}
	var workerRunning sync.WaitGroup
	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	if cfg.Workers > 0 {
		workerRunning.Add(2)
		go func() {
			defer workerRunning.Done()
			if err := worker.Run(workCtx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("worker stopped", "err", err)
			}
		}()
		redeliver := &app.Redeliverer{GitHub: gh, Inbox: st, Interval: cfg.Redeliver, Window: cfg.RedeliverOver, Log: log, Metrics: metrics}
		go func() {
			defer workerRunning.Done()
			redeliver.Run(workCtx)
		}()
		prune := &app.Pruner{Inbox: st, Retention: cfg.Retention, Log: log}
		workerRunning.Add(1)
		go func() {
			defer workerRunning.Done()
			prune.Run(workCtx)
		}()
		if cfg.SiteDir != "" {
			// Review dates pass without a push: each site is built once a
			// day (once in all, whatever the number of replicas).
			daily := &app.Daily{App: a, GitHub: gh, Log: log}
			workerRunning.Add(1)
			go func() {
				defer workerRunning.Done()
				daily.Run(workCtx)
			}()
		}
	}

	mux := http.NewServeMux()
	mux.Handle("/webhooks/github", hook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		pingCtx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(pingCtx); err != nil {
			log.Warn("not ready: the store does not answer", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "store unavailable\n")
			return
		}
		io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if cfg.SiteServe {
		if err := mountSites(mux, cfg, gh, log); err != nil {
			return err
		}
	}
	installations := status.CachedInstallations(gh.Installations, nil)
	statusPage, err := status.New(status.Options{Inbox: st, SiteDir: cfg.SiteDir, RateLimits: gh.RateLimits,
		Installations: installations, Version: version, Started: started, Log: log})
	if err != nil {
		return err
	}
	if err := mountStatus(mux, cfg, statusPage, gh, installations, log); err != nil {
		return err
	}

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	log.Info("backstory serve: listening", "addr", ln.Addr().String(), "app_id", cfg.AppID, "api", cfg.APIURL,
		"workers", cfg.Workers, "store", redactURL(cfg.StoreURL))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	var adminSrv *http.Server
	if adminLn != nil {
		admin := http.NewServeMux()
		admin.Handle(status.Path, statusPage)
		admin.Handle(status.JSONPath, statusPage)
		admin.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		adminSrv = &http.Server{Handler: admin, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
		defer adminSrv.Close()
		log.Info("the status page and the metrics are served without sign-in on the admin listener", "addr", adminLn.Addr().String())
		go func() {
			if err := adminSrv.Serve(adminLn); !errors.Is(err, http.ErrServerClosed) {
				select {
				case serveErr <- fmt.Errorf("admin listener: %w", err):
				default:
				}
			}
		}()
	}
	select {
	case err := <-serveErr:
		stopWork()
		workerRunning.Wait()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests and work in progress")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownWait)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("requests still open at shutdown", "err", err)
	}
	if adminSrv != nil {
		if err := adminSrv.Shutdown(shutdownCtx); err != nil {
			log.Warn("requests to the admin listener still open at shutdown", "err", err)
		}
	}
	stopWork()
	workerRunning.Wait()
	return nil
}

// mountSites serves the sites under cfg.SitePrefix and, when it is
// configured, GitHub sign-in under /auth/.
func mountSites(mux *http.ServeMux, cfg serverConfig, gh app.GitHub, log *slog.Logger) error {
	opts := sitesrv.Options{Dir: cfg.SiteDir, Prefix: cfg.SitePrefix, Member: sitesrv.GitHubMembers(gh, cfg.SiteDir, nil), Log: log}
	var missing []string
	if cfg.PublicURL == "" {
		missing = append(missing, "server.public_url (the address readers use)")
	}
	if cfg.ClientID == "" {
		missing = append(missing, "github.client_id")
	}
	if cfg.ClientSecret == "" {
		missing = append(missing, "github.client_secret")
	}
	if len(missing) == 0 {
		h, err := signin.New(signin.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, WebURL: cfg.WebURL,
			APIURL: cfg.APIURL, PublicURL: cfg.PublicURL, Log: log})
		if err != nil {
			return err
		}
		mux.Handle("/auth/", h)
		opts.Readers = h
		log.Info("sites served; private ones to members who sign in with GitHub", "sites", cfg.SitePrefix, "callback", h.CallbackURL())
	} else {
		opts.SignInOff = "The operator must set " + strings.Join(missing, ", ") +
			" (github.client_id and github.client_secret are the App's OAuth credentials, which backstory setup writes), and register <server.public_url>/auth/callback as the App's callback URL."
		log.Warn("sign-in with GitHub is off: sites with private records answer 403", "missing", strings.Join(missing, ", "))
	}
	srv, err := sitesrv.New(opts)
	if err != nil {
		return err
	}
	mux.Handle(cfg.SitePrefix, srv)
	return nil
}

// checkAdminListen refuses an admin listener others can reach, unless
// public says the operator means it: it serves the status page without
// sign-in, and the page shows repository names and errors.
func checkAdminListen(addr string, public bool) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("server.admin_listen: %q is not host:port, such as 127.0.0.1:9091", addr)
	}
	if ip := net.ParseIP(host); public || host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("server.admin_listen: %q is not a loopback address, and the admin listener serves the status page "+
		"without sign-in: anyone who reaches it would see repository names and errors. Bind it to 127.0.0.1 or [::1] "+
		"(such as 127.0.0.1:9091), or, when a firewall or a private network keeps strangers out, also set "+
		"server.admin_listen_public: true", addr)
}

// mountStatus serves the operator's status page on the main listener to
// the admins of the App's organisations who sign in with GitHub; without
// sign-in, a 404 that says how to see it.
func mountStatus(mux *http.ServeMux, cfg serverConfig, page http.Handler, gh app.GitHub,
	installations func(context.Context) ([]app.InstallationInfo, error), log *slog.Logger) error {
	h := status.NotServed()
	if cfg.PublicURL != "" && cfg.ClientID != "" && cfg.ClientSecret != "" {
		// A signin.Handler keeps no state: this one accepts the sessions
		// of the one mountSites made from the same credentials.
		in, err := signin.New(signin.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, WebURL: cfg.WebURL,
			APIURL: cfg.APIURL, PublicURL: cfg.PublicURL, Log: log})
		if err != nil {
			return err
		}
		if !cfg.SiteServe {
			mux.Handle("/auth/", in)
		}
		if h, err = status.ForAdmins(page, status.AccessOptions{Readers: in, Admin: status.GitHubAdmins(gh, installations), Log: log}); err != nil {
			return err
		}
	}
	mux.Handle(status.Path, h)
	mux.Handle(status.JSONPath, h)
	return nil
}

// redactURL hides a password in a store URL for logs, in the user part or
// in a password= parameter.
func redactURL(s string) string {
	return postgres.Redact(s)
}
