package githubtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestContents(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	long := bytes.Repeat([]byte("0123456789"), 20) // 200 bytes: several base64 lines
	first := s.Commit("acme/widgets", "main", map[string][]byte{"docs/long.txt": long})
	second := s.Commit("acme/widgets", "main", map[string][]byte{"docs/long.txt": []byte("short\n")})

	r := c.get("repos/acme/widgets/contents/docs/long.txt?ref=" + first)
	want(t, r, http.StatusOK)
	f := r.object(t)
	content := fieldString(t, f, "content")
	for _, line := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		if len(line) > 60 {
			t.Fatalf("base64 line of %d characters: GitHub wraps at 60", len(line))
		}
	}
	data, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(content, "\n", ""))
	if err != nil || !bytes.Equal(data, long) {
		t.Errorf("content decodes to %q (%v)", data, err)
	}
	if fieldString(t, f, "sha") != gitHash("blob", long) || fieldInt(t, f, "size") != 200 ||
		fieldString(t, f, "encoding") != "base64" || fieldString(t, f, "type") != "file" || fieldString(t, f, "name") != "long.txt" {
		t.Errorf("file %s", r.body)
	}
	// Without a ref: the default branch.
	r = c.get("repos/acme/widgets/contents/docs/long.txt")
	if fieldString(t, r.object(t), "sha") != gitHash("blob", []byte("short\n")) {
		t.Error("no ref did not read the default branch")
	}
	want(t, c.get("repos/acme/widgets/contents/docs/long.txt?ref="+second[:7]), http.StatusOK)
	want(t, c.get("repos/acme/widgets/contents/nope.md"), http.StatusNotFound)
	want(t, c.get("repos/acme/widgets/contents/README.md?ref=no-branch"), http.StatusNotFound)

	// A directory lists its entries.
	r = c.get("repos/acme/widgets/contents/docs")
	want(t, r, http.StatusOK)
	var names []string
	for _, e := range r.array(t) {
		names = append(names, fieldString(t, e, "type")+":"+fieldString(t, e, "name"))
	}
	if strings.Join(names, " ") != "dir:decisions file:long.txt" {
		t.Errorf("directory entries %v", names)
	}

	// The raw media type gives the bytes.
	r = c.get("repos/acme/widgets/contents/README.md", "Accept", "application/vnd.github.raw")
	want(t, r, http.StatusOK)
	if string(r.body) != "# Widgets\n" {
		t.Errorf("raw body %q", r.body)
	}

	// Beyond 1 MB the JSON carries no content, as GitHub's.
	s.Commit("acme/widgets", "main", map[string][]byte{"big.bin": bytes.Repeat([]byte("x"), maxContentBytes+1)})
	r = c.get("repos/acme/widgets/contents/big.bin")
	want(t, r, http.StatusOK)
	if fieldString(t, r.object(t), "encoding") != "none" || fieldString(t, r.object(t), "content") != "" {
		t.Errorf("a 1 MB+ file: encoding %q", fieldString(t, r.object(t), "encoding"))
	}
}

func TestDownloadURL(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	for _, repo := range []string{"acme/widgets", "acme/secret"} {
		path := "README.md"
		if repo == "acme/secret" {
			path = "secret.txt"
		}
		r := c.get("repos/" + repo + "/contents/" + path)
		want(t, r, http.StatusOK)
		dl := fieldString(t, r.object(t), "download_url")
		resp, err := http.Get(dl) // no credentials: a private link carries a token
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("%s: download_url %s: %d %q", repo, dl, resp.StatusCode, body)
		}
		// The link, and so the ETag, is stable.
		if again := c.get("repos/" + repo + "/contents/" + path); again.Header.Get("ETag") != r.Header.Get("ETag") {
			t.Errorf("%s: the ETag of a file changed between two reads", repo)
		}
		if repo == "acme/secret" {
			u, _ := url.Parse(dl)
			u.RawQuery = ""
			resp, err := http.Get(u.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("a private raw link without its token: %d", resp.StatusCode)
			}
		}
	}
}

func TestTree(t *testing.T) {
	s := fixture(t, WithTreeLimit(4))
	c := s.asInstallation(t, 42)
	sha := s.Commit("acme/widgets", "feature/x", map[string][]byte{"src/util/strings.go": []byte("package util\n")})

	r := c.get("repos/acme/widgets/git/trees/feature/x?recursive=1")
	want(t, r, http.StatusOK)
	tree := r.object(t)
	var paths []string
	for _, e := range field(t, tree, "tree").([]any) {
		paths = append(paths, fieldString(t, e, "type")+" "+fieldString(t, e, "path"))
		if fieldString(t, e, "type") == "blob" && fieldString(t, e, "mode") != "100644" {
			t.Errorf("blob mode %s", fieldString(t, e, "mode"))
		}
	}
	wantPaths := "blob README.md,tree docs,tree docs/decisions,blob docs/decisions/0001-record.md"
	if strings.Join(paths, ",") != wantPaths || field(t, tree, "truncated") != true {
		t.Errorf("truncated tree %v (truncated %v), want %s", paths, field(t, tree, "truncated"), wantPaths)
	}

	s2 := fixture(t)
	c2 := s2.asInstallation(t, 42)
	sha2 := s2.Commit("acme/widgets", "feature/x", map[string][]byte{"src/util/strings.go": []byte("package util\n")})
	byBranch := c2.get("repos/acme/widgets/git/trees/feature/x?recursive=1")
	byCommit := c2.get("repos/acme/widgets/git/trees/" + sha2 + "?recursive=1")
	want(t, byBranch, http.StatusOK)
	want(t, byCommit, http.StatusOK)
	treeSHA := fieldString(t, byBranch.object(t), "sha")
	byTree := c2.get("repos/acme/widgets/git/trees/" + treeSHA + "?recursive=1")
	want(t, byTree, http.StatusOK)
	if string(byBranch.body) != string(byCommit.body) || string(byTree.body) != string(byBranch.body) {
		t.Error("a tree read by branch, commit and tree sha differs")
	}
	entries := field(t, byBranch.object(t), "tree").([]any)
	if len(entries) != 8 || field(t, byBranch.object(t), "truncated") != false {
		t.Errorf("%d entries", len(entries))
	}
	for _, e := range entries {
		if fieldString(t, e, "path") == "src/util/strings.go" {
			if fieldString(t, e, "sha") != gitHash("blob", []byte("package util\n")) || fieldInt(t, e, "size") != 13 {
				t.Errorf("entry %s", show(e))
			}
		}
	}
	top := c2.get("repos/acme/widgets/git/trees/" + sha2)
	if n := len(field(t, top.object(t), "tree").([]any)); n != 3 {
		t.Errorf("a tree without recursive lists %d entries, want the 3 at the top", n)
	}
	want(t, c2.get("repos/acme/widgets/git/trees/"+strings.Repeat("a", 40)), http.StatusNotFound)
	_ = sha
}

func TestTarball(t *testing.T) {
	s := fixture(t)
	c := s.asInstallation(t, 42)
	for _, repo := range []string{"acme/widgets", "acme/secret"} {
		r := c.get("repos/" + repo + "/tarball/main")
		want(t, r, http.StatusFound)
		loc := r.Header.Get("Location")
		if !strings.Contains(loc, "/_codeload/"+repo+"/legacy.tar.gz/") {
			t.Fatalf("Location %q", loc)
		}
		if repo == "acme/secret" && !strings.Contains(loc, "token=") {
			t.Errorf("a private repository's link has no token: %s", loc)
		}
		resp, err := http.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("codeload %d", resp.StatusCode)
		}
		head := s.Branch(repo, "main")
		owner, name, _ := strings.Cut(repo, "/")
		top := owner + "-" + name + "-" + head[:7] + "/"
		gz, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		var names []string
		files := map[string]string{}
		for i := 0; ; i++ {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				// git archive's pax global header carries the commit.
				if h.Typeflag != tar.TypeXGlobalHeader || h.PAXRecords["comment"] != head {
					t.Errorf("first entry %q type %c, comment %q", h.Name, h.Typeflag, h.PAXRecords["comment"])
				}
				continue
			}
			if !strings.HasPrefix(h.Name, top) {
				t.Errorf("entry %q outside the top folder %q", h.Name, top)
			}
			names = append(names, h.Name)
			if h.Typeflag == tar.TypeReg {
				data, _ := io.ReadAll(tr)
				files[strings.TrimPrefix(h.Name, top)] = string(data)
			}
		}
		if names[0] != top {
			t.Errorf("first folder %q, want %q", names[0], top)
		}
		if repo == "acme/widgets" {
			if files["docs/decisions/0001-record.md"] != "# 1. Record decisions\n\nWe record them.\n" || len(files) != 3 {
				t.Errorf("files %v", files)
			}
		}
	}
	// A codeload token expires.
	r := c.get("repos/acme/secret/tarball/main")
	s.Advance(codeloadTTL + time.Second)
	resp, err := http.Get(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an expired codeload link: %d", resp.StatusCode)
	}
	if n := s.CountCalls("codeload"); n != 3 {
		t.Errorf("%d codeload calls recorded", n)
	}
	want(t, s.asInstallation(t, 42).get("repos/acme/widgets/tarball/nope"), http.StatusNotFound)
}

func TestRepository(t *testing.T) {
	s := fixture(t)
	s.AddRepo("acme/legacy", RepoOptions{DefaultBranch: "master", Private: true})
	s.AddInstallation(42, "acme", "acme/widgets", "acme/legacy")
	s.AddRepo("fork/widgets", RepoOptions{ForkOf: "acme/widgets", OwnerType: "User"})
	c := s.asInstallation(t, 42)
	r := c.get("repos/acme/legacy")
	want(t, r, http.StatusOK)
	m := r.object(t)
	if fieldString(t, m, "default_branch") != "master" || field(t, m, "private") != true || fieldString(t, m, "visibility") != "private" ||
		fieldString(t, m, "full_name") != "acme/legacy" || fieldString(t, m, "owner/login") != "acme" || fieldString(t, m, "owner/type") != "Organization" {
		t.Errorf("repository %s", r.body)
	}
	r = c.get("repos/fork/widgets")
	want(t, r, http.StatusOK)
	if field(t, r.object(t), "fork") != true || fieldString(t, r.object(t), "parent/full_name") != "acme/widgets" {
		t.Errorf("fork: fork %v parent %v", field(t, r.object(t), "fork"), field(t, r.object(t), "parent"))
	}
	r = c.get("installation/repositories?per_page=1")
	want(t, r, http.StatusOK)
	if fieldInt(t, r.object(t), "total_count") != 2 || len(field(t, r.object(t), "repositories").([]any)) != 1 || linkNext(t, r.Header) == "" {
		t.Errorf("installation repositories page: %s; Link %q", r.body, r.Header.Get("Link"))
	}
	var all []string
	for _, x := range s.asInstallation(t, 42).get("installation/repositories").object(t)["repositories"].([]any) {
		all = append(all, fieldString(t, x, "full_name"))
	}
	sort.Strings(all)
	if strings.Join(all, ",") != "acme/legacy,acme/widgets" {
		t.Errorf("installation repositories %v", all)
	}
}
