package github

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"

	gh "github.com/google/go-github/v60/github"
)

// maxArchiveHops bounds the redirects of one download: GitHub answers the
// tarball request with one 302 to its archive host.
const maxArchiveHops = 5

var errArchiveTooLarge = errors.New("archive too large")

// Archive downloads repo at ref as a tarball
// (repos/download-tarball-archive) and writes the regular files keep
// accepts under dir, at their paths relative to the repository root. The
// redirect to the archive host is followed without the installation token,
// which stays on the API host. An entry whose path is absolute or climbs
// out with ".." fails the whole call (GitHub never makes one; whoever did
// is hostile), and what was written so far should be discarded; symbolic
// links and other non-regular entries are skipped.
func (c *installation) Archive(ctx context.Context, repo, ref, dir string, keep func(path string, size int64) bool) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("download %s at %s", repo, ref)
	if keep == nil {
		keep = func(string, int64) bool { return true }
	}
	if err := checkSegments("ref", ref); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	u := fmt.Sprintf("repos/%s/%s/tarball", owner, name)
	if ref != "" {
		u += "/" + escapeRef(ref)
	}
	req, err := c.api.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	req = req.WithContext(withOperation(ctx, "repos/download-tarball-archive"))

	resp, err := c.followArchive(req)
	if err != nil {
		return c.mapError(err, what)
	}
	defer resp.Body.Close()
	body := &cappedReader{r: resp.Body, left: c.app.archiveBytes}
	if err := extractTarGz(body, dir, keep, c.app.archiveBytes); err != nil {
		if errors.Is(err, errArchiveTooLarge) {
			return fmt.Errorf("%s: over %d bytes: raise the archive limit or keep fewer files", what, c.app.archiveBytes)
		}
		if isTransient(err) {
			return c.mapError(err, what)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// followArchive sends req with the installation token and follows
// redirects itself: with the token while they stay on the API host,
// without it from the first hop elsewhere on (the archive host's URL
// carries its own short-lived token).
func (c *installation) followArchive(req *http.Request) (*http.Response, error) {
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	authed := &http.Client{Transport: c.auth, CheckRedirect: noFollow}
	plain := &http.Client{Transport: c.app.sent, CheckRedirect: noFollow}
	client := authed
	for hop := 0; ; hop++ {
		resp, err := client.Do(req)
		if err != nil {
			return nil, redactURLError(err)
		}
		switch resp.StatusCode {
		case http.StatusOK:
			return resp, nil
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			defer resp.Body.Close()
			if err := gh.CheckResponse(resp); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("unexpected answer %s from %s", resp.Status, redact(req.URL))
		}
		loc, err := resp.Location()
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("redirect from %s: %w", redact(req.URL), err)
		}
		if hop+1 >= maxArchiveHops {
			return nil, fmt.Errorf("stopped after %d redirects, at %s", maxArchiveHops, redact(loc))
		}
		op := "repos/download-tarball-archive"
		if client == plain || loc.Scheme != c.app.base.Scheme || loc.Host != c.app.base.Host {
			client, op = plain, "archive/download"
		}
		next, err := http.NewRequestWithContext(withOperation(req.Context(), op), http.MethodGet, loc.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("redirect to %s: %w", redact(loc), err)
		}
		next.Header.Set("User-Agent", c.app.userAgent)
		req = next
	}
}

// redact drops the query, which on the archive host holds a token.
func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + u.Path
}

func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return fmt.Errorf("%s %s: %w", ue.Op, redact(u), ue.Err)
		}
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// cappedReader fails once more than left bytes are read.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errArchiveTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errArchiveTooLarge
	}
	return n, err
}

// extractTarGz writes the regular files of a GitHub tarball under dir,
// without the archive's top folder ("owner-repo-sha/"). Files are opened
// through an os.Root, so that even a symbolic link already in dir cannot
// lead a write outside it.
func extractTarGz(r io.Reader, dir string, keep func(string, int64) bool, limit int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("reading the archive: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var written int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // GitHub's pax header holds the commit sha
		}
		rel, err := archivePath(h.Name)
		if err != nil {
			return fmt.Errorf("archive entry %q: %w; refusing the archive", h.Name, err)
		}
		if rel == "" || h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size < 0 || !keep(rel, h.Size) {
			continue
		}
		if written+h.Size > limit {
			return errArchiveTooLarge
		}
		n, err := writeFile(root, rel, tr, h.Size)
		written += n
		if err != nil {
			return fmt.Errorf("write %s: %w", rel, err)
		}
	}
}

// archivePath is an entry's path relative to the repository root: "" for
// the top folder itself, an error for a path that would leave it.
func archivePath(name string) (string, error) {
	switch {
	case strings.ContainsRune(name, 0):
		return "", errors.New("path holds a NUL byte")
	case strings.HasPrefix(name, "/"):
		return "", errors.New("absolute path")
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "", errors.New("path climbs out with ..")
		}
	}
	_, rel, ok := strings.Cut(name, "/")
	if !ok {
		return "", nil
	}
	rel = path.Clean(rel)
	if rel == "." {
		return "", nil
	}
	return rel, nil
}

func writeFile(root *os.Root, rel string, r io.Reader, size int64) (int64, error) {
	if d := path.Dir(rel); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
	}
	f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, io.LimitReader(r, size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
