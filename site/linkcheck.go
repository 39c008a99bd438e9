package site

import (
	"bytes"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/net/html"
)

// BrokenLink is an href or src in a built site that points at a page or
// file the site does not have.
type BrokenLink struct {
	Page string // the page's file, relative to the site root
	URL  string // the link as written
}

func (b BrokenLink) String() string { return b.Page + ": " + b.URL }

// CheckLinks reads every HTML file of a built site in dir and returns the
// internal links that lead nowhere. Root-relative links must carry the
// site's base path, which CheckLinks infers from the home page; use
// CheckLinksBase to give it.
func CheckLinks(dir string) []BrokenLink {
	return CheckLinksBase(dir, detectBase(dir))
}

// detectBase guesses the base path of a built site: of "/" and the first
// segments of the home page's root-relative links, the one under which most
// of those links resolve.
func detectBase(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		return "/"
	}
	links := pageLinks(data)
	candidates := []string{"/"}
	for _, l := range links {
		if strings.HasPrefix(l, "/") && !strings.HasPrefix(l, "//") {
			if seg, _, ok := strings.Cut(strings.TrimPrefix(l, "/"), "/"); ok && seg != "" {
				candidates = append(candidates, "/"+seg+"/")
			}
		}
	}
	best, bestN := "/", -1
	for _, c := range candidates {
		n := 0
		for _, l := range links {
			if strings.HasPrefix(l, "/") && resolves(dir, c, "index.html", l) {
				n++
			}
		}
		if n > bestN {
			best, bestN = c, n
		}
	}
	return best
}

// CheckLinksBase is CheckLinks for a site whose base URL has the path base,
// such as "/docs/": root-relative links must start with it.
func CheckLinksBase(dir, base string) []BrokenLink {
	base = basePath(base)
	var broken []BrokenLink
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, link := range pageLinks(data) {
			if !resolves(dir, base, rel, link) {
				broken = append(broken, BrokenLink{Page: rel, URL: link})
			}
		}
		return nil
	})
	sort.Slice(broken, func(i, j int) bool {
		if broken[i].Page != broken[j].Page {
			return broken[i].Page < broken[j].Page
		}
		return broken[i].URL < broken[j].URL
	})
	return broken
}

// pageLinks returns the href and src values of a page, and srcset's URLs.
func pageLinks(data []byte) []string {
	var links []string
	z := html.NewTokenizer(bytes.NewReader(data))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return links
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		for hasAttr {
			var k, v []byte
			k, v, hasAttr = z.TagAttr()
			switch string(k) {
			case "href", "src":
				if string(name) == "base" {
					continue
				}
				links = append(links, string(v))
			case "srcset":
				for _, part := range strings.Split(string(v), ",") {
					if f := strings.Fields(part); len(f) > 0 {
						links = append(links, f[0])
					}
				}
			}
		}
	}
}

// resolves reports whether a link from page (a path relative to the site
// root) reaches a file of the site; external links count as resolving.
func resolves(dir, base, page, link string) bool {
	link = strings.TrimSpace(link)
	if link == "" || strings.HasPrefix(link, "#") {
		return true
	}
	u, err := url.Parse(link)
	if err != nil {
		return false
	}
	if u.Scheme != "" || u.Host != "" {
		return true // external, or a full URL we cannot tell apart from one
	}
	p := u.Path
	if p == "" {
		return true
	}
	if strings.HasPrefix(p, "/") {
		if !strings.HasPrefix(p+"/", base) && p != strings.TrimSuffix(base, "/") {
			return false // outside the site's base path
		}
		p = strings.TrimPrefix(p, strings.TrimSuffix(base, "/"))
	} else {
		p = path.Join("/", path.Dir(page), p)
	}
	target := filepath.Join(dir, filepath.FromSlash(path.Clean(p)))
	fi, err := os.Stat(target)
	if err != nil {
		return false
	}
	if fi.IsDir() {
		_, err = os.Stat(filepath.Join(target, "index.html"))
		return err == nil
	}
	return true
}
