package localpr

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app/check"
)

// testRepo is a real git repository in a temporary folder.
type testRepo struct {
	t   *testing.T
	dir string
}

// isolateGit keeps the user's and the system's git configuration out of
// the tests.
func isolateGit(t *testing.T) {
	t.Helper()
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_AUTHOR_NAME", "Test")
	t.Setenv("GIT_AUTHOR_EMAIL", "test@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "Test")
	t.Setenv("GIT_COMMITTER_EMAIL", "test@example.com")
	for _, k := range []string{"GITHUB_ACTIONS", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_SERVER_URL", "GITHUB_STEP_SUMMARY"} {
		t.Setenv(k, "")
	}
}

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	isolateGit(t)
	r := &testRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// write creates or replaces files; an empty content removes the file.
func (r *testRepo) write(files map[string]string) {
	r.t.Helper()
	for name, body := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if body == "" {
			if err := os.Remove(p); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *testRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	r.write(files)
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

const (
	postgresRecord = `---
id: ADR-0001
title: Use PostgreSQL
status: accepted
date: 2024-01-10
governs: ["db/**"]
---
# Use PostgreSQL

## Why

We need a database.
`
	redisRecord = `---
title: Cache sessions in Redis
status: proposed
date: 2024-05-01
governs: ["services/session/**"]
---
# Cache sessions in Redis

## Why

Sessions are slow.
`
	repoConfig = `records:
  paths: [docs/decisions]
check:
  mode: enforce
`
	template = `## Why

<!-- Why is this change needed? -->
`
)

// mainAndBranch makes main with a record, a config and a template, then a
// branch "feature" that changes governed files, adds a record, renames and
// removes files; main moves on after the branch starts.
func mainAndBranch(t *testing.T) (r *testRepo, forkPoint, head, mainTip string) {
	r = newTestRepo(t)
	forkPoint = r.commit("Start", map[string]string{
		"docs/decisions/0001-use-postgresql.md": postgresRecord,
		".github/backstory.yml":                 repoConfig,
		".github/PULL_REQUEST_TEMPLATE.md":      template,
		"db/schema.sql":                         "create table a (id int);\n",
		"old/name.txt":                          "one\ntwo\nthree\nfour\nfive\n",
		"gone.txt":                              "bye\n",
		"README.md":                             "# Demo\n",
	})
	r.git("checkout", "-q", "-b", "feature")
	r.commit("Touch the schema", map[string]string{
		"db/schema.sql": "create table a (id int);\ncreate table b (id int);\n",
		"docs/decisions/0002-cache-sessions-in-redis.md": redisRecord,
		"docs/notes.txt": "not a record\n",
	})
	head = r.commit("Rename and remove", map[string]string{
		"old/name.txt": "", "new/name.txt": "one\ntwo\nthree\nfour\nfive\n", "gone.txt": "", "bin.dat": "a\x00b",
	})
	r.git("checkout", "-q", "main")
	mainTip = r.commit("Main moves on", map[string]string{
		"docs/decisions/0003-use-kafka.md": "# 3. Use Kafka\n\nDate: 2024-06-01\n\n## Status\n\nAccepted\n",
		"README.md":                        "# Demo\n\nMore.\n",
	})
	r.git("checkout", "-q", "feature")
	return r, forkPoint, head, mainTip
}

func TestReadFromFlags(t *testing.T) {
	r, forkPoint, head, mainTip := mainAndBranch(t)
	body := filepath.Join(t.TempDir(), "body.md")
	os.WriteFile(body, []byte("## Why\n\nSessions are slow: see ADR-0002.\n"), 0o644)

	pr, err := Read(context.Background(), Options{Dir: filepath.Join(r.dir, "db"), BodyFile: body, Repository: "acme/demo",
		Labels: []string{"backend"}, Author: "dependabot[bot]"})
	if err != nil {
		t.Fatal(err)
	}
	if pr.Base != mainTip || pr.MergeBase != forkPoint || pr.Head != head || pr.BaseRef != "main" || pr.Event != "" {
		t.Errorf("commits: base %s merge-base %s head %s (ref %q), want %s %s %s", pr.Base, pr.MergeBase, pr.Head, pr.BaseRef, mainTip, forkPoint, head)
	}
	p := pr.PullRequest
	if p.Repository != "acme/demo" || p.HeadSHA != head || p.Title != "Rename and remove" || p.Author != "dependabot[bot]" || !p.AuthorIsBot ||
		!reflect.DeepEqual(p.Labels, []string{"backend"}) || p.Body != "## Why\n\nSessions are slow: see ADR-0002.\n" || p.Number != 0 {
		t.Errorf("pull request fields: %+v", p)
	}
	if p.Template != template {
		t.Errorf("template = %q: the differently cased .github/PULL_REQUEST_TEMPLATE.md was not found", p.Template)
	}

	// The three-dot diff: main's own later changes (README.md, 0003) are
	// not the pull request's.
	got := map[string]check.File{}
	for _, f := range p.Files {
		got[f.Path] = f
	}
	wantStatus := map[string]string{
		"db/schema.sql": "modified", "docs/decisions/0002-cache-sessions-in-redis.md": "added", "docs/notes.txt": "added",
		"new/name.txt": "renamed", "gone.txt": "removed", "bin.dat": "added",
	}
	if len(got) != len(wantStatus) {
		t.Errorf("files = %v, want %v", keys(got), wantStatus)
	}
	for path, status := range wantStatus {
		if got[path].Status != status {
			t.Errorf("%s: status %q, want %q", path, got[path].Status, status)
		}
	}
	schema := got["db/schema.sql"]
	// git, like GitHub, may add the enclosing line after the hunk header.
	if schema.Additions != 1 || schema.Deletions != 0 || !strings.HasPrefix(schema.Patch, "@@ -1,0 +2 @@") ||
		!strings.HasSuffix(schema.Patch, "\n+create table b (id int);") || strings.Count(schema.Patch, "\n") != 1 {
		t.Errorf("db/schema.sql = %+v", schema)
	}
	if rn := got["new/name.txt"]; rn.PreviousPath != "old/name.txt" || rn.Additions != 0 || rn.Patch != "" {
		t.Errorf("rename = %+v", rn)
	}
	if g := got["gone.txt"]; g.Deletions != 1 || g.Patch != "@@ -1 +0,0 @@\n-bye" {
		t.Errorf("removal = %+v", g)
	}
	if b := got["bin.dat"]; b.Additions != 0 || b.Patch != "" {
		t.Errorf("binary file = %+v", b)
	}

	// The corpus is the base branch's: 0001 and main's 0003, not the PR's
	// 0002, which is among the PR's records instead.
	var corpus []string
	for _, rec := range pr.Corpus.Records {
		corpus = append(corpus, rec.ID)
		if rec.Repo != "acme/demo" || rec.Source != "" {
			t.Errorf("corpus record %s: repo %q, source %q", rec.Path, rec.Repo, rec.Source)
		}
	}
	if !reflect.DeepEqual(corpus, []string{"ADR-0001", "ADR-0003"}) {
		t.Errorf("corpus = %v", corpus)
	}
	if len(p.Records) != 1 || p.Records[0].Path != "docs/decisions/0002-cache-sessions-in-redis.md" || p.Records[0].ID != "ADR-0002" ||
		p.Records[0].Repo != "acme/demo" || p.Records[0].Title != "Cache sessions in Redis" {
		t.Errorf("the PR's records = %+v", p.Records)
	}
	if string(pr.RepoConfig.Data) != repoConfig || pr.RepoConfig.Name != "acme/demo: .github/backstory.yml" {
		t.Errorf("repo config = %q %q", pr.RepoConfig.Name, pr.RepoConfig.Data)
	}
	if pr.Repo.Root != r.dir {
		t.Errorf("repo root = %s, want the checkout %s", pr.Repo.Root, r.dir)
	}
	if len(pr.Notes) != 1 || !strings.Contains(pr.Notes[0], "comparing with main") {
		t.Errorf("notes = %q", pr.Notes)
	}
}

func TestReadDefaultsToOriginHead(t *testing.T) {
	upstream, _, _, mainTip := mainAndBranch(t)
	// The remote's default branch is the branch its HEAD names.
	upstream.git("checkout", "-q", "main")
	clone := t.TempDir()
	if out, err := exec.Command("git", "clone", "-q", upstream.dir, clone).CombinedOutput(); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	r := &testRepo{t: t, dir: clone}
	r.git("checkout", "-q", "feature")
	// A local main that lags behind must not be taken for the base.
	r.git("branch", "-f", "main", "HEAD~2")
	pr, err := Read(context.Background(), Options{Dir: clone, Stdin: strings.NewReader("## Why\n\nstdin body\n"), BodyFile: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if pr.BaseRef != "origin/main" || pr.Base != mainTip {
		t.Errorf("base = %s (%s), want origin/main at %s", pr.BaseRef, pr.Base, mainTip)
	}
	if pr.PullRequest.Body != "## Why\n\nstdin body\n" {
		t.Errorf("body = %q", pr.PullRequest.Body)
	}
	// The name comes from the remote; a local path is no GitHub remote, so
	// it is the folder's name.
	if pr.PullRequest.Repository == "" {
		t.Error("no repository name")
	}
}

func TestReadExplainsWhatIsMissing(t *testing.T) {
	r, _, _, _ := mainAndBranch(t)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"not a repository", Options{Dir: t.TempDir()}, "is not inside a git repository"},
		{"no such folder", Options{Dir: filepath.Join(r.dir, "nope")}, "is not a folder"},
		{"unknown base", Options{Dir: r.dir, Base: "origin/nope"}, `base "origin/nope" is not a commit in this clone: fetch it`},
		{"unknown head", Options{Dir: r.dir, Head: "deadbeef"}, `head "deadbeef" is not a commit`},
		{"option-like base", Options{Dir: r.dir, Base: "--output=x"}, "is not a commit"},
		{"missing body file", Options{Dir: r.dir, BodyFile: filepath.Join(r.dir, "nope.md")}, "--body-file"},
		{"bad repo name", Options{Dir: r.dir, Repository: "acme"}, "expected owner/name"},
		{"missing org config", Options{Dir: r.dir, OrgConfig: "/nonexistent/backstory.yml"}, "--org-config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read error = %v, want one containing %q", err, tt.want)
			}
		})
	}

	r.git("checkout", "-q", "--orphan", "unrelated")
	r.commit("Unrelated", map[string]string{"x.txt": "x\n"})
	_, err := Read(context.Background(), Options{Dir: r.dir, Base: "main"})
	if err == nil || !strings.Contains(err.Error(), "share no history") {
		t.Errorf("unrelated histories: %v", err)
	}
}

func TestReadInAShallowClone(t *testing.T) {
	upstream, _, _, _ := mainAndBranch(t)
	clone := t.TempDir()
	if out, err := exec.Command("git", "clone", "-q", "--depth", "1", "--branch", "feature", "file://"+upstream.dir, clone).CombinedOutput(); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	_, err := Read(context.Background(), Options{Dir: clone, Base: "origin/main"})
	if err == nil || !strings.Contains(err.Error(), "shallow") {
		t.Errorf("Read in a shallow clone = %v, want advice about the shallow clone", err)
	}
}

// actionsEvent writes GitHub's example pull_request event, rewritten to
// describe this repository's pull request.
func actionsEvent(t *testing.T, base, head string, edit func(pr map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "pull_request.opened.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	pr := ev["pull_request"].(map[string]any)
	pr["head"].(map[string]any)["sha"] = head
	pr["base"].(map[string]any)["sha"] = base
	pr["base"].(map[string]any)["ref"] = "main"
	if edit != nil {
		edit(pr)
	}
	out, _ := json.Marshal(ev)
	path := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadFromAnActionsEvent(t *testing.T) {
	r, forkPoint, head, mainTip := mainAndBranch(t)
	// Actions checks out the merge commit: HEAD is neither base nor head.
	r.git("checkout", "-q", "--detach", "main")
	r.git("merge", "-q", "--no-ff", "-m", "Merge feature into main", "feature")
	path := actionsEvent(t, mainTip, head, func(pr map[string]any) {
		pr["body"] = "## Why\n\nBecause."
		pr["user"] = map[string]any{"login": "renovate[bot]", "type": "Bot"}
		pr["draft"] = true
	})
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": path, "GITHUB_SERVER_URL": "https://github.com"}
	pr, err := Read(context.Background(), Options{Dir: r.dir, Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	p := pr.PullRequest
	if pr.Event != "pull_request" || p.Number != 2 || p.Title != "Update the README with new information." || p.Body != "## Why\n\nBecause." ||
		p.Author != "renovate[bot]" || !p.AuthorIsBot || !p.Draft || !reflect.DeepEqual(p.Labels, []string{"bug"}) ||
		p.Repository != "Codertocat/Hello-World" || p.HeadSHA != head {
		t.Errorf("pull request from the event: %+v", p)
	}
	if pr.MergeBase != forkPoint || pr.BaseRef != "main" || len(pr.Notes) != 0 {
		t.Errorf("merge base %s (want %s), base ref %q, notes %q", pr.MergeBase, forkPoint, pr.BaseRef, pr.Notes)
	}
	if len(p.Files) != 6 {
		t.Errorf("files = %d, want the 6 the PR changes, not the merge commit's", len(p.Files))
	}
	if pr.Repo.SourceURL != "https://github.com/Codertocat/Hello-World/blob/main/" {
		t.Errorf("source URL = %q", pr.Repo.SourceURL)
	}

	// Flags still win over the event.
	pr, err = Read(context.Background(), Options{Dir: r.dir, Getenv: func(k string) string { return env[k] }, Labels: []string{}, Title: "Mine"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.PullRequest.Labels) != 0 || pr.PullRequest.Title != "Mine" {
		t.Errorf("flags over the event: labels %v, title %q", pr.PullRequest.Labels, pr.PullRequest.Title)
	}

	// A null body is an empty one.
	env["GITHUB_EVENT_PATH"] = actionsEvent(t, mainTip, head, func(pr map[string]any) { pr["body"] = nil })
	pr, err = Read(context.Background(), Options{Dir: r.dir, Getenv: func(k string) string { return env[k] }})
	if err != nil || pr.PullRequest.Body != "" {
		t.Errorf("null body: %v, %q", err, pr.PullRequest.Body)
	}

	// A base the checkout lacks asks for the whole history.
	env["GITHUB_EVENT_PATH"] = actionsEvent(t, strings.Repeat("a", 40), head, nil)
	_, err = Read(context.Background(), Options{Dir: r.dir, Getenv: func(k string) string { return env[k] }})
	if err == nil || !strings.Contains(err.Error(), "fetch-depth: 0") {
		t.Errorf("missing base in Actions: %v", err)
	}

	// Another event has no pull request.
	env["GITHUB_EVENT_NAME"] = "push"
	_, err = Read(context.Background(), Options{Dir: r.dir, Getenv: func(k string) string { return env[k] }})
	if !errors.Is(err, ErrNoPullRequest) {
		t.Errorf("push event: %v", err)
	}
}

func TestParseRawNumstat(t *testing.T) {
	z := "\x00"
	out := ":100644 100644 " + strings.Repeat("1", 40) + " " + strings.Repeat("2", 40) + " M" + z + "a b/naïve café.md" + z +
		":100644 100644 " + strings.Repeat("3", 40) + " " + strings.Repeat("4", 40) + " R087" + z + "old\tname" + z + "new\tname" + z +
		":000000 100644 " + strings.Repeat("0", 40) + " " + strings.Repeat("5", 40) + " A" + z + "bin" + z +
		":100644 000000 " + strings.Repeat("6", 40) + " " + strings.Repeat("0", 40) + " D" + z + "gone" + z +
		"3\t1\ta b/naïve café.md" + z +
		"2\t2\t" + z + "old\tname" + z + "new\tname" + z +
		"-\t-\tbin" + z +
		"0\t9\tgone" + z
	files, err := parseRawNumstat([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		status, prev, path, blob string
		add, del                 int
	}
	var got []row
	for _, f := range files {
		got = append(got, row{f.Status, f.PreviousPath, f.Path, f.blob, f.Additions, f.Deletions})
	}
	want := []row{
		{"modified", "", "a b/naïve café.md", strings.Repeat("2", 40), 3, 1},
		{"renamed", "old\tname", "new\tname", strings.Repeat("4", 40), 2, 2},
		{"added", "", "bin", strings.Repeat("5", 40), 0, 0},
		{"removed", "", "gone", "", 0, 9},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseRawNumstat:\n got %+v\nwant %+v", got, want)
	}

	for _, bad := range []string{":100644 M" + z + "x" + z, ":100644 100644 a b M" + z + "x" + z + "1\t1\ty" + z, ":100644 100644 a b M" + z + "x" + z} {
		if _, err := parseRawNumstat([]byte(bad)); err == nil {
			t.Errorf("parseRawNumstat(%q) accepted", bad)
		}
	}
}

func TestSplitPatches(t *testing.T) {
	out := `diff --git a/x b/x
index 1..2 100644
--- a/x
+++ b/x
@@ -1,0 +2 @@
+diff --git a/fake b/fake
diff --git a/bin b/bin
new file mode 100644
Binary files /dev/null and b/bin differ
diff --git a/y b/z
similarity index 100%
rename from y
rename to z
`
	got := splitPatches([]byte(out))
	want := []string{"@@ -1,0 +2 @@\n+diff --git a/fake b/fake", "", ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("splitPatches = %q, want %q", got, want)
	}
}

func keys(m map[string]check.File) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestInputMergesConfigurationsAndTheirProblems(t *testing.T) {
	r := newTestRepo(t)
	r.commit("Start", map[string]string{
		".github/backstory.yml":            "records:\n  id_digits: 99\ncheck:\n  default: decision\n",
		"docs/decisions/0001-a.md":         postgresRecord,
		"src/app.go":                       "package app\n",
		".github/pull_request_template.md": template,
	})
	r.git("checkout", "-q", "-b", "feature")
	r.commit("Change", map[string]string{"src/app.go": "package app\n\nvar x = 1\n"})
	org := filepath.Join(t.TempDir(), "org.yml")
	os.WriteFile(org, []byte("check:\n  mode: enforce\n  default: nothing\n"), 0o644)

	pr, err := Read(context.Background(), Options{Dir: r.dir, Repository: "acme/app", OrgConfig: org})
	if err != nil {
		t.Fatal(err)
	}
	in := pr.Input(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "https://story.example.com/")
	// The organisation's mode stays; the repository's default wins.
	if in.Config.Mode != check.ModeEnforce || in.Config.Default != check.NeedDecision {
		t.Errorf("merged config: mode %q, default %v", in.Config.Mode, in.Config.Default)
	}
	// The invalid records: section fails the check as the App's does,
	// named by repository and file.
	found := false
	for _, p := range in.ConfigProblems {
		if p.File == "acme/app: .github/backstory.yml" && p.Line == 2 && strings.Contains(p.Message, "id_digits") {
			found = true
		}
	}
	if !found {
		t.Errorf("config problems = %+v, want the records.id_digits error", in.ConfigProblems)
	}
	if in.Corpus != pr.Corpus || in.SiteURL != "https://story.example.com/" || in.PR.Repository != "acme/app" || in.Now.Year() != 2026 || !in.Local {
		t.Errorf("input = %+v", in)
	}
	if v := check.Evaluate(in); v.Conclusion != check.Failure {
		t.Errorf("a broken configuration concluded %s", v.Conclusion)
	}
}

// Links to the base's records point at the base branch, where they are,
// whatever branch is checked out, and at the base commit when the base is
// no branch.
func TestLinksPointAtTheBase(t *testing.T) {
	r, _, head, mainTip := mainAndBranch(t)
	r.git("remote", "add", "origin", "https://github.com/acme/demo.git")
	r.git("update-ref", "refs/remotes/origin/trunk", "main")
	for _, tt := range []struct{ base, source, edit string }{
		{"main", "https://github.com/acme/demo/blob/main/", "https://github.com/acme/demo/edit/main/"},
		{"origin/trunk", "https://github.com/acme/demo/blob/trunk/", "https://github.com/acme/demo/edit/trunk/"},
		{mainTip, "https://github.com/acme/demo/blob/" + mainTip + "/", ""},
	} {
		pr, err := Read(context.Background(), Options{Dir: r.dir, Base: tt.base})
		if err != nil {
			t.Fatal(err)
		}
		if pr.PullRequest.Repository != "acme/demo" || pr.Repo.SourceURL != tt.source || pr.Repo.EditURL != tt.edit {
			t.Errorf("base %s: repository %q, source %q, edit %q; want %q, %q", tt.base, pr.PullRequest.Repository, pr.Repo.SourceURL, pr.Repo.EditURL, tt.source, tt.edit)
		}
		// The check links the base's records there, and the pull
		// request's own at its head.
		pr.PullRequest.Body = "## Why\n\nSee ADR-0001 and ADR-0002.\n"
		v := check.Evaluate(pr.Input(time.Now(), ""))
		for _, want := range []string{tt.source + "docs/decisions/0001-use-postgresql.md", "https://github.com/acme/demo/blob/" + head + "/docs/decisions/0002-cache-sessions-in-redis.md"} {
			if !strings.Contains(v.Markdown(), "("+want+")") {
				t.Errorf("base %s: no link to %s in\n%s", tt.base, want, v.Markdown())
			}
		}
		if strings.Contains(v.Markdown(), "/blob/feature/") {
			t.Errorf("base %s: a link points at the branch checked out:\n%s", tt.base, v.Markdown())
		}
	}
}
