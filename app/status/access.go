package status

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// AdminTTL is how long an answer of an AdminFunc, and a list of the App's
// installations, is kept.
const AdminTTL = 5 * time.Minute

// Readers says who reads a page, and where to send them to sign in.
// signin.Handler is one.
type Readers interface {
	// User returns the login of the reader signed in on r.
	User(r *http.Request) (login string, ok bool)
	// LoginURL is where to sign in and come back to next (a local path).
	LoginURL(next string) string
	// LogoutURL is where a form posts to sign out.
	LogoutURL() string
}

// AdminFunc reports whether login may read the status page: whether they
// administer an account the App is installed on.
type AdminFunc func(ctx context.Context, login string) (bool, error)

// AccessOptions configure ForAdmins.
type AccessOptions struct {
	Readers Readers
	Admin   AdminFunc
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log may be nil: slog.Default().
	Log *slog.Logger
}

// ForAdmins serves page only to signed-in admins. A reader who has not
// signed in is sent to sign in (the JSON gets 401 instead: scripts cannot
// follow GitHub's sign-in), a signed-in reader who is no admin gets 403,
// and when Admin cannot answer the page is 503, never shown. Answers of
// Admin are kept AdminTTL per login; failures are not kept.
func ForAdmins(page http.Handler, opts AccessOptions) (http.Handler, error) {
	if opts.Readers == nil || opts.Admin == nil {
		return nil, errors.New("status: the page for admins needs sign-in (Readers) and a way to tell admins (Admin)")
	}
	g := &guard{page: page, opts: opts, now: opts.Now, log: opts.Log, answers: map[string]adminAnswer{}}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	return g, nil
}

type guard struct {
	page http.Handler
	opts AccessOptions
	now  func() time.Time
	log  *slog.Logger

	mu      sync.Mutex
	answers map[string]adminAnswer // by lower-case login
}

type adminAnswer struct {
	admin bool
	at    time.Time
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	login, ok := g.opts.Readers.User(r)
	if !ok {
		if r.URL.Path == JSONPath {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "Sign in with GitHub first (%s), or read it on the admin listener (server.admin_listen).\n", g.opts.Readers.LoginURL(Path))
			return
		}
		http.Redirect(w, r, g.opts.Readers.LoginURL(r.URL.RequestURI()), http.StatusFound)
		return
	}
	admin, err := g.admin(r.Context(), login)
	switch {
	case err != nil:
		g.log.Warn("status: whether the reader is an admin could not be checked", "login", login, "err", err)
		accessPage(w, http.StatusServiceUnavailable, "Cannot check your access",
			"backstory could not ask GitHub whether you are an admin of an organisation the App is installed on. Try again in a minute. "+
				"If this lasts, the operator should look at serve's log: the App needs the members: read permission on its organisations.", login, g.opts.Readers)
	case !admin:
		accessPage(w, http.StatusForbidden, "For admins only",
			"The status page is for the admins of the organisations the App is installed on (and the owners of the user accounts it is installed on).", login, g.opts.Readers)
	default:
		g.page.ServeHTTP(w, r)
	}
}

// admin asks Admin, or remembers its answer of the last AdminTTL.
func (g *guard) admin(ctx context.Context, login string) (bool, error) {
	key := strings.ToLower(login)
	now := g.now()
	g.mu.Lock()
	a, ok := g.answers[key]
	g.mu.Unlock()
	if ok && now.Sub(a.at) < AdminTTL {
		return a.admin, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	admin, err := g.opts.Admin(ctx, login)
	if err != nil {
		return false, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, old := range g.answers {
		if now.Sub(old.at) >= AdminTTL {
			delete(g.answers, k)
		}
	}
	g.answers[key] = adminAnswer{admin: admin, at: now}
	return admin, nil
}

var accessTemplate = template.Must(template.New("access").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · backstory</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}h1{font-size:1.5rem}</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
<p>You are signed in as {{.Login}}.</p>
<form method="post" action="{{.Logout}}"><input type="hidden" name="next" value="/"><button type="submit">Sign out</button></form>
</main>
</body>
</html>
`))

func accessPage(w http.ResponseWriter, status int, title, text, login string, readers Readers) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = accessTemplate.Execute(w, struct{ Title, Text, Login, Logout string }{title, text, login, readers.LogoutURL()})
}

// NotServed answers for the status page on a listener that does not serve
// it: 404, with how to see it.
func NotServed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "The status page is not served here. The operator can read it on the admin listener "+
			"(set server.admin_listen, such as 127.0.0.1:9091), or turn on sign-in with GitHub (server.public_url, "+
			"github.client_id and github.client_secret) so that the admins of the App's organisations can read it here.\n")
	})
}

// GitHubAdmins is the AdminFunc of `backstory serve`: login is an admin
// when, on one of the App's installations that is not suspended, they are
// the user account it is installed on, or an admin of the organisation it
// is installed on (Client.OrgRole, asked with that installation's token,
// which needs the members: read permission). installations lists the
// installations (CachedInstallations of app.GitHub.Installations). When
// no installation says yes and one could not answer, it returns that
// error: the reader may be an admin there.
func GitHubAdmins(gh app.GitHub, installations func(ctx context.Context) ([]app.InstallationInfo, error)) AdminFunc {
	return func(ctx context.Context, login string) (bool, error) {
		list, err := installations(ctx)
		if err != nil {
			return false, err
		}
		for _, in := range list {
			if !in.Suspended && in.AccountType == "User" && strings.EqualFold(in.Account, login) {
				return true, nil
			}
		}
		var errs []error
		for _, in := range list {
			if in.Suspended || in.AccountType == "User" {
				continue
			}
			role, err := gh.Installation(in.ID).OrgRole(ctx, in.Account, login)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s's role in %s (installation %d): %w", login, in.Account, in.ID, err))
				continue
			}
			if role == "admin" {
				return true, nil
			}
		}
		return false, errors.Join(errs...)
	}
}

// CachedInstallations returns list, remembered for AdminTTL after each
// successful call (failures are not remembered). now is the clock;
// time.Now when nil.
func CachedInstallations(list func(ctx context.Context) ([]app.InstallationInfo, error), now func() time.Time) func(ctx context.Context) ([]app.InstallationInfo, error) {
	if now == nil {
		now = time.Now
	}
	var (
		mu   sync.Mutex
		last []app.InstallationInfo
		at   time.Time
	)
	return func(ctx context.Context) ([]app.InstallationInfo, error) {
		mu.Lock()
		defer mu.Unlock()
		if last != nil && now().Sub(at) < AdminTTL {
			return last, nil
		}
		l, err := list(ctx)
		if err != nil {
			return nil, err
		}
		if l == nil {
			l = []app.InstallationInfo{}
		}
		last, at = l, now()
		return last, nil
	}
}
