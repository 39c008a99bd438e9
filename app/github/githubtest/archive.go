package githubtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// codeloadTTL is how long a tarball link stays valid: GitHub's codeload
// links for private repositories carry a token that expires in minutes.
const codeloadTTL = 5 * time.Minute

// download is a token in a codeload link.
type download struct {
	repo    string
	sha     string
	expires time.Time
}

// downloadURL is where a file (kind "_raw", raw.githubusercontent.com on
// GitHub) or a tarball (kind "_codeload", codeload.github.com) of a commit
// is served. Links to private repositories carry a token, as GitHub's do:
// the client must not need to send its credentials to another host.
func (s *Server) downloadURL(req *request, kind string, r *repo, sha, p string) string {
	u := req.root + kind + "/" + r.fullName() + "/"
	if kind == "_codeload" {
		u += "legacy.tar.gz/" + sha
	} else {
		u += sha + "/" + escapePath(p)
	}
	if !r.private {
		return u
	}
	if kind == "_codeload" {
		t := randomString(base62, 40)
		s.downloads[t] = download{repo: strings.ToLower(r.fullName()), sha: sha, expires: s.now().Add(codeloadTTL)}
		return u + "?token=" + t
	}
	// A raw link's token is derived, not stored, so that the contents
	// response that carries it keeps its ETag.
	return u + "?token=" + s.rawToken(r, sha, p)
}

func (s *Server) rawToken(r *repo, sha, p string) string {
	mac := hmac.New(sha256.New, s.keyPEM)
	fmt.Fprintf(mac, "%s\x00%s\x00%s", strings.ToLower(r.fullName()), sha, p)
	return hex.EncodeToString(mac.Sum(nil))[:40]
}

// serveDownload serves the codeload and raw links. They are not API
// operations: they are not validated, and are recorded in Calls with the
// operation "codeload" or "raw".
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/_"), "/")
	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Operation: kind}
	fail := func(status int) {
		call.Status = status
		s.calls = append(s.calls, call)
		http.Error(w, fmt.Sprintf("%d: %s", status, http.StatusText(status)), status)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		fail(http.StatusMethodNotAllowed)
		return
	}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) < 4 {
		fail(http.StatusNotFound)
		return
	}
	rp := s.repos[strings.ToLower(parts[0]+"/"+parts[1])]
	if rp == nil {
		fail(http.StatusNotFound)
		return
	}
	var sha, filePath string
	switch kind {
	case "codeload":
		if parts[2] != "legacy.tar.gz" {
			fail(http.StatusNotFound)
			return
		}
		sha = parts[3]
	case "raw":
		sha, filePath = parts[2], parts[3]
	default:
		fail(http.StatusNotFound)
		return
	}
	if rp.private {
		tok := r.URL.Query().Get("token")
		switch kind {
		case "codeload":
			d, ok := s.downloads[tok]
			if !ok || d.repo != strings.ToLower(rp.fullName()) || d.sha != sha || !s.now().Before(d.expires) {
				fail(http.StatusNotFound)
				return
			}
		case "raw":
			if !hmac.Equal([]byte(tok), []byte(s.rawToken(rp, sha, filePath))) {
				fail(http.StatusNotFound)
				return
			}
		}
	}
	c := s.resolveCommit(rp, sha)
	if c == nil {
		fail(http.StatusNotFound)
		return
	}
	var body []byte
	if kind == "raw" {
		blob, ok := c.files[filePath]
		if !ok {
			fail(http.StatusNotFound)
			return
		}
		body = s.objects.blobs[blob]
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		var err error
		body, err = s.tarball(rp, c)
		if err != nil {
			s.fakeErrors = append(s.fakeErrors, fmt.Sprintf("tarball of %s@%s: %v", rp.fullName(), c.sha, err))
			fail(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-gzip")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%s-%s-%s.tar.gz", rp.owner, rp.name, c.sha[:7]))
	}
	call.Status = http.StatusOK
	s.calls = append(s.calls, call)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// tarball builds a commit's archive as GitHub's codeload does (git
// archive): a pax global header carrying the commit sha, then one top
// folder "<owner>-<repo>-<short sha>/" holding the tree.
func (s *Server) tarball(r *repo, c *commitObj) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	top := fmt.Sprintf("%s-%s-%s/", r.owner, r.name, c.sha[:7])
	mod := c.time.Truncate(time.Second)
	if err := tw.WriteHeader(&tar.Header{
		Typeflag:   tar.TypeXGlobalHeader,
		Name:       "pax_global_header",
		PAXRecords: map[string]string{"comment": c.sha},
		Format:     tar.FormatPAX,
	}); err != nil {
		return nil, err
	}
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o775, ModTime: mod, Uname: "root", Gname: "root"})
	}
	if err := dir(top); err != nil {
		return nil, err
	}
	for _, e := range s.objects.walkTree(c.tree, true) {
		if e.item.isTree() {
			if err := dir(top + e.path + "/"); err != nil {
				return nil, err
			}
			continue
		}
		data := s.objects.blobs[e.item.sha]
		perm := int64(0o664)
		if e.item.mode == modeExecutable {
			perm = 0o775
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: top + e.path, Mode: perm, Size: int64(len(data)), ModTime: mod, Uname: "root", Gname: "root"}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
