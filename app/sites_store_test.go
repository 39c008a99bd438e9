package app_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github"
	"github.com/backstory-dev/backstory/app/github/githubtest"
)

// repoCalls counts the calls that read one repository's files (its tree,
// contents or tarball), by repository.
func repoCalls(calls []githubtest.Call) map[string]int {
	out := map[string]int{}
	for _, c := range calls {
		switch {
		case c.Operation == "repos/get-content" && strings.HasSuffix(c.Path, "/.github/contents/.github/backstory.yml"):
			// The org's defaults: read once per build.
		case c.Operation == "git/get-tree" && !strings.HasSuffix(c.Path, "/git/trees/main"):
			// Publishing to Pages reads the branch's tree by sha.
		case c.Operation == "git/get-tree", c.Operation == "repos/get-content", c.Operation == "repos/download-tarball-archive":
			parts := strings.SplitN(strings.TrimPrefix(c.Path, "/repos/"), "/", 3)
			if len(parts) >= 2 {
				out[strings.ToLower(parts[0]+"/"+parts[1])]++
			}
		}
	}
	return out
}

// replica is a second App on the same store and GitHub, with caches of its
// own.
func (h *siteHarness) replica() *app.App {
	h.t.Helper()
	gh, err := github.New(github.Options{AppID: h.gh.AppID, PrivateKey: h.gh.PrivateKeyPEM(), BaseURL: h.gh.URL(), HTTPClient: h.gh.Client()})
	if err != nil {
		h.t.Fatal(err)
	}
	other, err := app.New(app.Options{GitHub: gh, Store: h.store, AppID: h.gh.AppID, CacheDir: h.t.TempDir(),
		Sites: app.SiteOptions{Build: h.build.build, Dir: h.dir}})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { other.Close() })
	return other
}

func (h *siteHarness) pushRecord(path, body string) {
	h.t.Helper()
	h.gh.Commit(repoName, "main", map[string][]byte{path: []byte(body)})
	push := payload(h.t, "push", "with-installation.payload.json", func(m map[string]any) {
		m["ref"] = "refs/heads/main"
		m["commits"] = []any{map[string]any{"added": []any{path}, "modified": []any{}, "removed": []any{}}}
	})
	if err := h.process("push", push); err != nil {
		h.t.Fatal(err)
	}
}

const otelRecord = "---\nid: ADR-0004\ntitle: Adopt OpenTelemetry\nstatus: accepted\ndate: 2025-02-01\n---\n# Adopt OpenTelemetry\n"

func TestABuildAfterAPushReadsOnlyThePushedRepositoryFromGitHub(t *testing.T) {
	h := newSiteHarness(t)
	h.install()
	h.runQueued()
	h.gh.ResetCalls()

	h.pushRecord("docs/decisions/0004-adopt-otel.md", otelRecord)
	h.runQueued()

	if got := h.siteKeys(); !contains(got, "octo-org/hello:ADR-0004") {
		t.Fatalf("the pushed record is not on the site: %v", got)
	}
	calls := repoCalls(h.gh.Calls())
	for repo, n := range calls {
		if repo != repoName {
			t.Errorf("the build read %s from GitHub (%d calls) though no push touched it: its stored files were current", repo, n)
		}
	}
	if calls[repoName] == 0 {
		t.Error("the push did not read the pushed repository")
	}
}

func TestAReplicaBuildsFromWhatAnotherStored(t *testing.T) {
	h := newSiteHarness(t)
	h.install()
	h.runQueued()
	other := h.replica()

	// Replica A handles the push; replica B, whose caches never saw this
	// organisation, builds.
	h.pushRecord("docs/decisions/0004-adopt-otel.md", otelRecord)
	h.gh.ResetCalls()
	ds, err := h.store.Claim(context.Background(), "b", 10, time.Now().Add(time.Hour), time.Minute)
	if err != nil || len(ds) != 1 || ds[0].Event != app.EventBuild {
		t.Fatalf("claim the build: %v %v", ds, err)
	}
	if err := other.Process(context.Background(), ds[0]); err != nil {
		t.Fatal(err)
	}
	if got := h.siteKeys(); !contains(got, "octo-org/hello:ADR-0004") {
		t.Errorf("replica B built without replica A's push: %v", got)
	}
	if calls := repoCalls(h.gh.Calls()); len(calls) != 0 {
		t.Errorf("replica B read repositories from GitHub (%v) though the store held them", calls)
	}
}

func TestAReplicasCheckSeesARecordAnotherStored(t *testing.T) {
	h := newSiteHarness(t)
	other := h.replica()
	// Replica B reads the repository for a check: its cache is now warm
	// for ten minutes.
	pr := h.openPR("feature", "## Why\n\nThe payment consumer loses events on restart and finance reconciles by hand.\n\nDecision: ADR-0004\n",
		map[string][]byte{"services/payments/consumer.go": []byte("package consumer\n")})
	ev := payload(t, "pull_request", "opened.payload.json", func(m map[string]any) {
		m["number"] = pr.Number
		pull := m["pull_request"].(map[string]any)
		pull["number"] = pr.Number
		pull["head"].(map[string]any)["sha"] = pr.HeadSHA
	})
	process := func(a *app.App) {
		t.Helper()
		h.seq.Add(1)
		d := app.Delivery{ID: fmt.Sprintf("d-%d", h.seq.Load()), Event: "pull_request", Action: "opened", InstallationID: installation,
			Repository: repoName, Payload: ev, ReceivedAt: time.Now()}
		if err := a.Process(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	process(other)
	if run := h.onlyRun(); !strings.Contains(run.Summary, "ADR-0004") || run.Conclusion == "success" {
		t.Fatalf("before the record exists the check should fail on the unknown ADR-0004: %s %s", run.Conclusion, run.Summary)
	}
	// Replica A handles the push that adds ADR-0004.
	h.pushRecord("docs/decisions/0004-adopt-otel.md", otelRecord)
	// B checks again within its TTL, and must see the record A stored,
	// from the store: without reading the repository from GitHub.
	h.gh.UpdatePullRequest(repoName, pr.Number, func(p *githubtest.PullRequest) { body := *p.Body + "\n"; p.Body = &body })
	h.gh.ResetCalls()
	process(other)
	if calls := repoCalls(h.gh.Calls()); len(calls) != 0 {
		t.Errorf("replica B read the repository from GitHub (%v) though the store held the newer tree", calls)
	}
	runs := h.gh.CheckRuns(repoName)
	last := runs[len(runs)-1]
	if last.Conclusion != "success" {
		t.Errorf("replica B's check did not see the record replica A stored: %s\n%s", last.Conclusion, last.Summary)
	}
}

func TestAnInterruptedFirstSyncResumes(t *testing.T) {
	h := newSiteHarness(t)
	for i := range 6 {
		name := fmt.Sprintf("octo-org/svc-%d", i)
		h.gh.AddRepo(name, githubtest.RepoOptions{})
		h.gh.Commit(name, "main", map[string][]byte{
			"docs/adr/0001-use-go.md": []byte(fmt.Sprintf("# 1. Use Go in service %d\n\nDate: 2024-01-01\n\n## Status\n\nAccepted\n", i)),
		})
	}
	repos := []string{repoName, "octo-org/.github", "octo-org/platform", "octo-org/octo-org.github.io"}
	for i := range 6 {
		repos = append(repos, fmt.Sprintf("octo-org/svc-%d", i))
	}
	h.gh.AddInstallation(installation, org, repos...)
	h.gh.SetInstallationPermissions(installation, map[string]string{"checks": "write", "contents": "write", "pull_requests": "read", "metadata": "read", "members": "read"})
	h.install()
	// GitHub fails on one repository's tree: the build fails, after the
	// others were read.
	h.gh.ResetCalls()
	h.gh.FailNext("git/get-tree", 1, githubtest.ServerError(502))
	ds, _ := h.store.Claim(context.Background(), "w", 1, time.Now().Add(time.Hour), time.Minute)
	if err := h.app.Process(context.Background(), ds[0]); err == nil {
		t.Fatal("the build succeeded though GitHub failed on one repository")
	}
	h.store.Retry(context.Background(), ds[0].ID, "w", time.Now(), "interrupted")
	if _, err := os.Stat(filepath.Join(h.dir, org, "records.json")); err == nil {
		t.Fatal("a site was built with a repository missing")
	}
	first := repoCalls(h.gh.Calls())
	h.gh.ResetCalls()
	h.runQueued()
	again := repoCalls(h.gh.Calls())
	if len(first) < len(repos) {
		t.Fatalf("the first attempt read %d repositories, want all %d (one failing)", len(first), len(repos))
	}
	if len(again) != 1 {
		t.Errorf("the retry read %v from GitHub, want only the repository that failed: the others were stored", again)
	}
	if got := h.siteKeys(); len(got) != 10 {
		t.Errorf("after resuming the site holds %d records, want 10: %v", len(got), got)
	}
}

func TestAResyncReadsEveryRepositoryAgain(t *testing.T) {
	h := newSiteHarness(t)
	h.install()
	h.runQueued()
	// A push whose delivery never arrived.
	h.gh.Commit(repoName, "main", map[string][]byte{"docs/decisions/0004-adopt-otel.md": []byte(otelRecord)})
	h.gh.ResetCalls()
	if err := h.app.RequestResync(context.Background(), installation, org); err != nil {
		t.Fatal(err)
	}
	h.runQueued()
	calls := repoCalls(h.gh.Calls())
	for _, repo := range []string{repoName, "octo-org/platform", "octo-org/octo-org.github.io"} {
		if calls[repo] == 0 {
			t.Errorf("the resync did not ask GitHub about %s", repo)
		}
	}
	if got := h.siteKeys(); !contains(got, "octo-org/hello:ADR-0004") {
		t.Errorf("the resync missed the record the lost push added: %v", got)
	}
}

func TestTheSiteSaysWhetherItHoldsPrivateRecords(t *testing.T) {
	h := newSiteHarness(t)
	h.install()
	h.runQueued()
	meta, err := app.ReadSiteMeta(h.dir, org)
	if err != nil {
		t.Fatal(err)
	}
	if !meta.Private || meta.Records != 4 || meta.Installation != installation {
		t.Errorf("site meta %+v: want private (octo-org/platform is private), 4 records, installation %d", meta, installation)
	}
	if meta.Pages == nil || meta.Pages.Commit == "" || meta.Pages.Records != 2 {
		t.Fatalf("pages outcome %+v: want a commit with the 2 public records", meta.Pages)
	}
	if strings.Join(meta.Pages.LeftOut, ",") != "octo-org/platform" {
		t.Errorf("left out %v, want the private repository named", meta.Pages.LeftOut)
	}
	if meta.Pages.URL != "https://octo-org.github.io/" {
		t.Errorf("pages URL %q", meta.Pages.URL)
	}
	commits := h.gh.Commits("octo-org/octo-org.github.io", "gh-pages")
	if msg := commits[len(commits)-1].Message; !strings.Contains(msg, "octo-org/platform") || !strings.Contains(msg, "site.publish_private") {
		t.Errorf("the Pages commit does not say which records were left out, and how to publish them: %q", msg)
	}

	// The private repository leaves the installation: the site is public.
	h.gh.AddInstallation(installation, org, repoName, "octo-org/.github", "octo-org/octo-org.github.io")
	h.gh.SetInstallationPermissions(installation, map[string]string{"checks": "write", "contents": "write", "pull_requests": "read", "metadata": "read", "members": "read"})
	ev := payload(t, "installation_repositories", "removed.payload.json", func(m map[string]any) {
		m["installation"] = map[string]any{"id": installation, "account": map[string]any{"login": org}}
		m["repositories_removed"] = []any{map[string]any{"full_name": "octo-org/platform"}}
	})
	if err := h.process("installation_repositories", ev); err != nil {
		t.Fatal(err)
	}
	h.runQueued()
	if meta, _ := app.ReadSiteMeta(h.dir, org); meta.Private {
		t.Errorf("the site still says it is private after the private repository left: %+v", meta)
	}
	if snaps, _ := h.store.RepoSnapshots(context.Background(), []string{"octo-org/platform"}); len(snaps) != 0 {
		t.Errorf("the removed repository's files are still stored: %+v", snaps)
	}
}

func TestSiteMetaIsJSON(t *testing.T) {
	dir := t.TempDir()
	if _, err := app.ReadSiteMeta(dir, "acme"); err == nil {
		t.Error("a missing meta file read without error: a server would treat an unknown site as public")
	}
	os.MkdirAll(filepath.Join(dir, ".backstory"), 0o755)
	os.WriteFile(filepath.Join(dir, ".backstory", "acme.json"), []byte("{not json"), 0o644)
	if _, err := app.ReadSiteMeta(dir, "ACME"); err == nil {
		t.Error("a corrupt meta file read without error")
	}
	data, _ := json.Marshal(app.SiteMeta{Account: "acme", Private: true})
	os.WriteFile(filepath.Join(dir, ".backstory", "acme.json"), data, 0o644)
	if m, err := app.ReadSiteMeta(dir, "Acme"); err != nil || !m.Private {
		t.Errorf("ReadSiteMeta = %+v, %v", m, err)
	}
}

func TestAFailedRefreshNeverStoresHalfATree(t *testing.T) {
	h := newSiteHarness(t)
	h.install()
	h.runQueued()
	before := storedPaths(t, h, repoName)
	// A push adds a record; reading it fails midway (the record is read,
	// the next file is not).
	h.gh.Commit(repoName, "main", map[string][]byte{
		"docs/decisions/0004-adopt-otel.md": []byte(otelRecord),
		"docs/decisions/0005-adopt-grpc.md": []byte("---\nid: ADR-0005\ntitle: Adopt gRPC\nstatus: accepted\ndate: 2025-02-02\n---\n# Adopt gRPC\n"),
	})
	fault := githubtest.ServerError(502)
	fault.After = 1
	h.gh.FailNext("repos/get-content", 1, fault)
	push := payload(h.t, "push", "with-installation.payload.json", func(m map[string]any) {
		m["ref"] = "refs/heads/main"
		m["commits"] = []any{map[string]any{"added": []any{"docs/decisions/0004-adopt-otel.md", "docs/decisions/0005-adopt-grpc.md"}, "modified": []any{}, "removed": []any{}}}
	})
	if err := h.process("push", push); err == nil {
		t.Fatal("the push was handled though reading the repository failed")
	}
	// The push is reverted: the tree is the one stored before.
	h.gh.Commit(repoName, "main", nil, "docs/decisions/0004-adopt-otel.md", "docs/decisions/0005-adopt-grpc.md")
	if err := h.process("push", push); err != nil {
		t.Fatal(err)
	}
	if after := storedPaths(t, h, repoName); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("after a failed read and a revert the store holds %v, want the tree before %v", after, before)
	}
}

func storedPaths(t *testing.T, h *siteHarness, repo string) []string {
	t.Helper()
	_, files, err := h.store.RepoFiles(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

func TestAPushToACustomRecordFolderOnAColdReplicaRebuilds(t *testing.T) {
	h := newSiteHarness(t)
	h.gh.Commit("octo-org/platform", "main", map[string][]byte{
		".github/backstory.yml":          []byte("records:\n  paths: [architecture/choices]\n"),
		"architecture/choices/0001-x.md": []byte("---\nid: ADR-0001\ntitle: Pick X\nstatus: accepted\ndate: 2024-01-01\n---\n# Pick X\n"),
	})
	h.install()
	h.runQueued()
	// A replica that never read octo-org/platform handles a push to its
	// custom folder: the push's paths mean nothing to the default folders.
	other := h.replica()
	h.gh.Commit("octo-org/platform", "main", map[string][]byte{
		"architecture/choices/0002-y.md": []byte("---\nid: ADR-0002\ntitle: Pick Y\nstatus: accepted\ndate: 2024-02-01\n---\n# Pick Y\n"),
	})
	push := payload(t, "push", "with-installation.payload.json", func(m map[string]any) {
		m["ref"] = "refs/heads/main"
		repo := m["repository"].(map[string]any)
		repo["full_name"], repo["name"] = "octo-org/platform", "platform"
		m["commits"] = []any{map[string]any{"added": []any{"architecture/choices/0002-y.md"}, "modified": []any{}, "removed": []any{}}}
	})
	d := app.Delivery{ID: "cold-push", Event: "push", InstallationID: installation, Repository: "octo-org/platform", Payload: push, ReceivedAt: time.Now()}
	if err := other.Process(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	h.runQueued()
	if got := h.siteKeys(); !contains(got, "octo-org/platform:ADR-0002") {
		t.Errorf("a push to a custom record folder, handled by a replica without the repository's configuration, did not reach the site: %v", got)
	}
}

func TestStoredFilesOfAnotherRepositoryOfTheSameNameAreNotUsed(t *testing.T) {
	h := newSiteHarness(t)
	// The store holds files of an octo-org/platform that was deleted: a
	// private repository with another id, read an hour ago.
	old := app.RepoSnapshot{Repository: "octo-org/platform", RepositoryID: 999999, Branch: "main", TreeSHA: "0123456789abcdef0123456789abcdef01234567",
		ReadAt: time.Now().Add(-time.Hour), Complete: true}
	secret := []byte("# 1. Price by the hour\n\nDate: 2024-01-01\n\n## Status\n\nAccepted\n")
	if _, err := h.store.SaveRepoFiles(context.Background(), old, []app.RepoFile{{Path: "docs/adr/0001-price-by-the-hour.md", Blob: gitBlob(secret), Data: secret}}, nil); err != nil {
		t.Fatal(err)
	}
	h.install()
	h.runQueued()
	data, err := os.ReadFile(filepath.Join(h.dir, org, "records.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := readKeys(t, data); !contains(got, "octo-org/platform:ADR-0002") {
		t.Errorf("the build used the stored files of the deleted repository instead of reading the one GitHub lists: %v", got)
	}
	if id, _ := h.store.RepoSnapshots(context.Background(), []string{"octo-org/platform"}); id["octo-org/platform"].RepositoryID != h.gh.RepoID("octo-org/platform") {
		t.Errorf("stored repository id %d, want GitHub's %d", id["octo-org/platform"].RepositoryID, h.gh.RepoID("octo-org/platform"))
	}
}

// gitBlob is git's id of data.
func gitBlob(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}
