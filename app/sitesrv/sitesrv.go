// Package sitesrv serves the story sites the App builds (app.SiteOptions.Dir:
// one folder per account) from `backstory serve`, under /sites/.
//
//	/sites/                the accounts that have a site, marked when
//	                       reading it needs a sign-in
//	/sites/<account>/…     the files of Dir/<account>/
//
// A site whose app.SiteMeta says it holds private records, or whose
// SiteMeta cannot be read (it fails closed), is shown only to a signed-in
// member of the account: a reader who is not signed in is sent to sign in
// (Readers.LoginURL), a signed-in reader who is no member gets 403, and
// when membership cannot be checked the answer is 503, never the page.
// Answers of Member are kept five minutes per account and login. The
// check comes before the path is looked at, so that what a private site
// holds, even which paths exist, stays private. Public sites need no
// sign-in.
//
// Files are served as a static file server should: index.html for a
// folder, the site's own 404.html (else a plain page) for what is missing,
// no folder listings, no dot-files, nothing outside the site's folder
// (through ".." or a symbolic link), the Content-Type of the file name,
// and ETag and Last-Modified for conditional requests. Private sites are
// sent with Cache-Control: private, no-store, so that no shared cache
// keeps them.
package sitesrv

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// DefaultPrefix is where the sites are served.
const DefaultPrefix = "/sites/"

// DefaultMemberTTL is how long an answer of Member is kept.
const DefaultMemberTTL = 5 * time.Minute

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

// MemberFunc reports whether login may read the private site of account:
// whether they are a member of the organisation.
type MemberFunc func(ctx context.Context, account, login string) (bool, error)

// Options configure a Server.
type Options struct {
	// Dir holds the sites (app.SiteOptions.Dir).
	Dir string
	// Prefix is where they are served; DefaultPrefix when empty.
	Prefix string
	// Readers tells who reads. Nil: sign-in is off, and private sites are
	// refused with a page saying SignInOff.
	Readers Readers
	// SignInOff says what the operator must configure to turn sign-in on.
	SignInOff string
	// Member decides who reads a private site. Required with Readers.
	Member MemberFunc
	// MemberTTL is how long answers of Member are kept; DefaultMemberTTL
	// when 0.
	MemberTTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log may be nil: slog.Default().
	Log *slog.Logger
}

// Server serves the sites. It is safe for concurrent use.
type Server struct {
	opts   Options
	prefix string
	now    func() time.Time
	log    *slog.Logger

	mu      sync.Mutex
	members map[memberKey]memberAnswer
}

type memberKey struct{ account, login string }

type memberAnswer struct {
	member bool
	at     time.Time
}

// New checks opts and returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("sitesrv: no folder of sites given")
	}
	if opts.Readers != nil && opts.Member == nil {
		return nil, errors.New("sitesrv: with sign-in on, Member must say who may read a private site")
	}
	s := &Server{opts: opts, prefix: opts.Prefix, now: opts.Now, log: opts.Log, members: map[memberKey]memberAnswer{}}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if !strings.HasPrefix(s.prefix, "/") || !strings.HasSuffix(s.prefix, "/") {
		return nil, fmt.Errorf("sitesrv: prefix %q must start and end with a slash", s.prefix)
	}
	if s.opts.MemberTTL <= 0 {
		s.opts.MemberTTL = DefaultMemberTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.opts.SignInOff == "" {
		s.opts.SignInOff = "Sign-in with GitHub is not configured on this server."
	}
	return s, nil
}

// accountPattern is a folder name the App gives a site: a lower-case
// GitHub login.
var accountPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// ServeHTTP serves the sites under the prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.page(w, http.StatusMethodNotAllowed, pageData{Title: "Method not allowed", Text: "The sites are read with GET."})
		return
	}
	p := r.URL.Path
	if p+"/" == s.prefix {
		http.Redirect(w, r, s.prefix, http.StatusMovedPermanently)
		return
	}
	rest, ok := strings.CutPrefix(p, s.prefix)
	if !ok {
		s.notFound(w)
		return
	}
	if rest == "" {
		s.index(w, r)
		return
	}
	account, file, hasSlash := strings.Cut(rest, "/")
	if !accountPattern.MatchString(strings.ToLower(account)) {
		s.notFound(w)
		return
	}
	if lower := strings.ToLower(account); lower != account || !hasSlash {
		// One address per page: /sites/ACME and /sites/acme go to
		// /sites/acme/.
		target := s.prefix + lower + "/" + file
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	siteDir := filepath.Join(s.opts.Dir, account)
	if fi, err := os.Stat(siteDir); err != nil || !fi.IsDir() {
		s.notFound(w)
		return
	}
	if !s.allowed(w, r, account) {
		return
	}
	s.serveFile(w, r, siteDir, file)
}

// private reports whether reading account's site needs a member: when its
// SiteMeta says so, or cannot be read.
func (s *Server) private(account string) bool {
	meta, err := app.ReadSiteMeta(s.opts.Dir, account)
	return err != nil || meta.Private
}

// allowed lets the reader through to account's site, or answers for it.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request, account string) bool {
	if !s.private(account) {
		return true
	}
	w.Header().Set("Cache-Control", "private, no-store")
	if s.opts.Readers == nil {
		s.page(w, http.StatusForbidden, pageData{Title: "This site needs a sign-in",
			Text:   fmt.Sprintf("The site of %s holds records of private repositories, and only members of %s may read it; but sign-in is off on this server.", account, account),
			Advice: []string{s.opts.SignInOff}})
		return false
	}
	login, ok := s.opts.Readers.User(r)
	if !ok {
		http.Redirect(w, r, s.opts.Readers.LoginURL(r.URL.RequestURI()), http.StatusFound)
		return false
	}
	member, err := s.member(r.Context(), account, login)
	if err != nil {
		s.log.Error("membership could not be checked: the private site is refused", "account", account, "login", login, "err", err)
		w.Header().Set("Retry-After", "30")
		s.page(w, http.StatusServiceUnavailable, pageData{Title: "Membership could not be checked",
			Text:  fmt.Sprintf("GitHub could not confirm whether %s is a member of %s. Try again in a moment.", login, account),
			Login: login, Logout: s.opts.Readers.LogoutURL()})
		return false
	}
	if !member {
		s.log.Info("a reader who is no member was refused a private site", "account", account, "login", login)
		s.page(w, http.StatusForbidden, pageData{Title: "Only members of " + account,
			Text:  fmt.Sprintf("You are signed in as %s. Only members of %s can read this site.", login, account),
			Login: login, Logout: s.opts.Readers.LogoutURL()})
		return false
	}
	return true
}

// member asks Member, or remembers its answer of the last MemberTTL.
// Errors are not remembered.
func (s *Server) member(ctx context.Context, account, login string) (bool, error) {
	key := memberKey{account: strings.ToLower(account), login: strings.ToLower(login)}
	now := s.now()
	s.mu.Lock()
	a, ok := s.members[key]
	s.mu.Unlock()
	if ok && now.Sub(a.at) < s.opts.MemberTTL && !now.Before(a.at) {
		return a.member, nil
	}
	member, err := s.opts.Member(ctx, account, login)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.members) >= 10000 {
		for k, old := range s.members {
			if now.Sub(old.at) >= s.opts.MemberTTL {
				delete(s.members, k)
			}
		}
	}
	s.members[key] = memberAnswer{member: member, at: now}
	return member, nil
}

// cleanPath checks the path of a file below the site's folder: no empty,
// "." or ".." segment, no dot-file, no backslash or NUL. It returns the
// slash-separated relative name ("." for the folder itself).
func cleanPath(file string) (string, bool) {
	if file == "" {
		return ".", true
	}
	if strings.ContainsAny(file, "\\\x00") {
		return "", false
	}
	segs := strings.Split(strings.TrimSuffix(file, "/"), "/")
	for _, seg := range segs {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	return path.Join(segs...), true
}

// serveFile serves file (the URL path below the site's folder).
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, siteDir, file string) {
	name, ok := cleanPath(file)
	if !ok {
		s.siteNotFound(w, r, siteDir)
		return
	}
	// A Root per request: a build replaces the site's folder, and a Root
	// would follow the old one.
	root, err := os.OpenRoot(siteDir)
	if err != nil {
		s.siteNotFound(w, r, siteDir)
		return
	}
	defer root.Close()
	f, fi, err := openRegular(root, name)
	folder := err == errIsDir
	if folder {
		if !strings.HasSuffix(r.URL.Path, "/") {
			target := r.URL.Path + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
		name = path.Join(name, "index.html")
		f, fi, err = openRegular(root, name)
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && err != errIsDir && !errors.Is(err, errNotRegular) {
			s.log.Debug("site file refused", "path", r.URL.Path, "err", err)
		}
		s.siteNotFound(w, r, siteDir)
		return
	}
	defer f.Close()
	if strings.HasSuffix(r.URL.Path, "/") && !folder {
		// /sites/acme/style.css/ is not the stylesheet.
		s.siteNotFound(w, r, siteDir)
		return
	}
	w.Header().Set("ETag", etag(fi))
	http.ServeContent(w, r, path.Base(name), fi.ModTime(), f)
}

var (
	errIsDir      = errors.New("is a folder")
	errNotRegular = errors.New("not a regular file")
)

// openRegular opens name in root when it is a regular file (a symbolic
// link to one inside root counts); errIsDir for a folder.
func openRegular(root *os.Root, name string) (*os.File, fs.FileInfo, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	switch {
	case fi.IsDir():
		f.Close()
		return nil, nil, errIsDir
	case !fi.Mode().IsRegular():
		f.Close()
		return nil, nil, errNotRegular
	}
	return f, fi, nil
}

// etag is a validator from the file's size and modification time: a build
// rewrites what changed.
func etag(fi fs.FileInfo) string {
	return `"` + strconv.FormatInt(fi.ModTime().UnixNano(), 36) + "-" + strconv.FormatInt(fi.Size(), 36) + `"`
}

// siteNotFound answers 404 with the site's own 404.html when it has one.
func (s *Server) siteNotFound(w http.ResponseWriter, r *http.Request, siteDir string) {
	root, err := os.OpenRoot(siteDir)
	if err == nil {
		defer root.Close()
		if f, _, err := openRegular(root, "404.html"); err == nil {
			defer f.Close()
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			if r.Method != http.MethodHead {
				_, _ = f.WriteTo(w)
			}
			return
		}
	}
	s.notFound(w)
}

func (s *Server) notFound(w http.ResponseWriter) {
	s.page(w, http.StatusNotFound, pageData{Title: "Not found", Text: "There is no such page.", Back: s.prefix})
}

// site is one entry of the index.
type site struct {
	Account string
	URL     string
	Private bool
}

// index lists the accounts that have a site: names only, as the sites of
// private organisations are private.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	entries, err := os.ReadDir(s.opts.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error("the folder of sites cannot be read", "dir", s.opts.Dir, "err", err)
	}
	var sites []site
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !accountPattern.MatchString(name) {
			continue
		}
		if fi, err := os.Stat(filepath.Join(s.opts.Dir, name, "index.html")); err != nil || !fi.Mode().IsRegular() {
			continue // not built yet
		}
		sites = append(sites, site{Account: name, URL: s.prefix + name + "/", Private: s.private(name)})
	}
	sort.Slice(sites, func(i, j int) bool { return sites[i].Account < sites[j].Account })
	d := pageData{Title: "Story sites", Sites: sites, Index: true}
	if s.opts.Readers != nil {
		d.Login, _ = s.opts.Readers.User(r)
		d.Logout = s.opts.Readers.LogoutURL()
	}
	if len(sites) == 0 {
		d.Text = "No site has been built yet."
	}
	w.Header().Set("Cache-Control", "no-cache")
	s.page(w, http.StatusOK, d)
}

type pageData struct {
	Title  string
	Text   string
	Advice []string
	// Login is the signed-in reader, offered a sign-out at Logout.
	Login  string
	Logout string
	Back   string
	Index  bool
	Sites  []site
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · backstory</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1f2328}h1{font-size:1.5rem}
.badge{font-size:.8rem;border:1px solid #999;border-radius:1rem;padding:0 .5rem;margin-left:.5rem}form{display:inline}</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Text}}<p>{{.Text}}</p>{{end}}
{{if .Advice}}<ul>{{range .Advice}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Index}}{{if .Sites}}<ul>
{{range .Sites}}<li><a href="{{.URL}}">{{.Account}}</a>{{if .Private}}<span class="badge">members only: sign in with GitHub</span>{{end}}</li>
{{end}}</ul>{{end}}{{end}}
{{if .Login}}<p>Signed in as <strong>{{.Login}}</strong>. <form method="post" action="{{.Logout}}"><button type="submit">Sign out</button></form></p>{{end}}
{{if .Back}}<p><a href="{{.Back}}">All sites</a></p>{{end}}
</main>
</body>
</html>
`))

func (s *Server) page(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, d); err != nil {
		s.log.Warn("a page could not be written", "err", err)
	}
}
