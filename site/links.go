package site

import (
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/backstory-dev/backstory/content"
)

// linkResolver rewrites the links of one record's body: links to records
// become their site URLs, files beside the record are copied into its page
// bundle, and links to files that do not exist go to the source on GitHub
// or are dropped, so the site never has a broken internal link.
type linkResolver struct {
	g      *generator
	r      *content.Record
	repo   *content.Repo
	bundle string // the page's folder under content/, "repos/x/y/"
	w      *projectWriter
	copied map[string]string // repo path → bundle file name
	names  map[string]bool
	copies [][2]string // project path, source path of each file copied
}

// contentExts are file types Hugo would read as pages if copied into a
// bundle; they are linked on GitHub instead.
var contentExts = map[string]bool{
	".md": true, ".markdown": true, ".mdown": true, ".html": true, ".htm": true,
	".adoc": true, ".asciidoc": true, ".org": true, ".pdc": true, ".rst": true, ".ad": true,
}

var imageExts = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".svg": true, ".webp": true, ".avif": true, ".bmp": true, ".ico": true,
}

func (l *linkResolver) rewrite(dest string, image bool) linkTarget {
	dest = strings.TrimSpace(dest)
	if dest == "" || strings.HasPrefix(dest, "#") {
		return linkTarget{URL: dest}
	}
	if dangerousURL(dest, image) {
		return linkTarget{}
	}
	u, err := url.Parse(dest)
	if err != nil {
		return linkTarget{URL: dest}
	}
	if u.Scheme != "" || u.Host != "" {
		// An absolute URL: a GitHub URL of a record becomes the record's page.
		if !image {
			if target := l.g.c.Resolve(dest, l.r); target != nil {
				return linkTarget{URL: l.g.siteURL(l.g.recURL[target], u.Fragment)}
			}
		}
		return linkTarget{URL: dest}
	}
	if u.Path == "" { // "?x" and the like
		return linkTarget{URL: dest}
	}
	// A path in the repository, relative to the record, or to the repository
	// root when it starts with "/", as GitHub reads it.
	var repoPath string
	// A record that lives elsewhere (a pull request) has a synthetic path:
	// its relative links start from the repository root.
	if strings.HasPrefix(u.Path, "/") || l.r.URL != "" {
		repoPath = path.Clean(strings.TrimPrefix(u.Path, "/"))
	} else {
		repoPath = path.Join(path.Dir(l.r.Path), u.Path)
	}
	if !image {
		if target := l.g.c.Resolve(u.Path, l.r); target != nil {
			return linkTarget{URL: l.g.siteURL(l.g.recURL[target], u.Fragment)}
		}
	}
	if repoPath == ".." || strings.HasPrefix(repoPath, "../") {
		return l.missing("")
	}
	ext := strings.ToLower(path.Ext(repoPath))
	if l.repo != nil && l.repo.Root != "" {
		abs := filepath.Join(l.repo.Root, filepath.FromSlash(repoPath))
		fi, err := os.Stat(abs)
		if err == nil {
			// A symlink may point anywhere on the build machine.
			if real, rerr := filepath.EvalSymlinks(abs); rerr != nil || !isInsideReal(l.repo.Root, real) {
				err = os.ErrNotExist
			}
		}
		switch {
		case err != nil:
			return l.missing(repoPath)
		case fi.IsDir(), contentExts[ext]:
			if l.repo.SourceURL != "" {
				return linkTarget{URL: l.repo.SourceURL + repoPath + fragment(u)}
			}
			return linkTarget{}
		case imageExts[ext] || l.besideRecord(repoPath) || l.repo.SourceURL == "":
			name := l.copy(repoPath, abs)
			if name == "" {
				return l.missing(repoPath)
			}
			return linkTarget{URL: name + fragment(u)}
		default:
			return linkTarget{URL: l.repo.SourceURL + repoPath + fragment(u)}
		}
	}
	return l.missing(repoPath)
}

// missing is where a link to a file that is not on disk goes: its source on
// GitHub when the repository has a known remote, else nowhere.
func (l *linkResolver) missing(repoPath string) linkTarget {
	if repoPath != "" && l.repo != nil && l.repo.SourceURL != "" {
		return linkTarget{URL: l.repo.SourceURL + repoPath}
	}
	return linkTarget{}
}

// besideRecord reports whether a file sits in the record's own folder or
// below it: attachments that belong with the record.
func (l *linkResolver) besideRecord(repoPath string) bool {
	dir := path.Dir(l.r.Path)
	return dir == "." || strings.HasPrefix(repoPath, dir+"/")
}

// copy copies a file into the record's bundle and returns its name there.
func (l *linkResolver) copy(repoPath, abs string) string {
	if name, ok := l.copied[repoPath]; ok {
		return name
	}
	if l.copied == nil {
		l.copied = map[string]string{}
		l.names = map[string]bool{"index.md": true}
	}
	base := path.Base(repoPath)
	name := slugFile(base)
	for i := 2; l.names[name]; i++ {
		name = strings.TrimSuffix(slugFile(base), path.Ext(base)) + "-" + strconv.Itoa(i) + strings.ToLower(path.Ext(base))
	}
	if err := l.w.copyFile("content/"+l.bundle+name, abs); err != nil {
		return ""
	}
	l.copies = append(l.copies, [2]string{"content/" + l.bundle + name, abs})
	l.names[name] = true
	l.copied[repoPath] = name
	return name
}

// slugFile makes a file name safe for a URL, keeping its extension.
func slugFile(name string) string {
	ext := strings.ToLower(path.Ext(name))
	stem := slugify(strings.TrimSuffix(name, path.Ext(name)))
	if stem == "" {
		stem = "file"
	}
	return stem + ext
}

func fragment(u *url.URL) string {
	if u.Fragment == "" {
		return ""
	}
	return "#" + u.EscapedFragment()
}

// siteURL is a record's site-relative URL with a fragment.
func (g *generator) siteURL(rel, frag string) string {
	u := rel
	if frag != "" {
		u += "#" + frag
	}
	return u
}

func isInsideReal(root, real string) bool {
	r, err := filepath.EvalSymlinks(root)
	return err == nil && isInside(r, real)
}
