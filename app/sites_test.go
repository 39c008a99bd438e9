package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github"
	"github.com/backstory-dev/backstory/app/github/githubtest"
	"github.com/backstory-dev/backstory/app/memory"
	"github.com/backstory-dev/backstory/content"
)

// fakeBuild stands in for site.Build (Hugo is kept out of this package's
// tests): it writes the corpus's record keys to records.json, and like
// site.Build replaces outDir only when it succeeds.
type fakeBuild struct {
	fail  error
	count int // builds of the org's own site (the Pages copy not counted)
}

func (f *fakeBuild) build(ctx context.Context, corpus *content.Corpus, outDir, baseURL string) error {
	if f.fail != nil {
		return f.fail
	}
	if !strings.Contains(outDir, ".pages") {
		f.count++
	}
	var keys []string
	for _, r := range corpus.Records {
		keys = append(keys, r.Repo+":"+r.ID)
	}
	sort.Strings(keys)
	tmp := outDir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	data, _ := json.Marshal(keys)
	if err := os.WriteFile(filepath.Join(tmp, "records.json"), data, 0o644); err != nil {
		return err
	}
	os.RemoveAll(outDir)
	return os.Rename(tmp, outDir)
}

func readKeys(t testing.TB, data []byte) []string {
	t.Helper()
	var keys []string
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatalf("records.json: %v", err)
	}
	return keys
}

type siteHarness struct {
	*harness
	build *fakeBuild
	dir   string
}

const org = "octo-org"

func newSiteHarness(t *testing.T) *siteHarness {
	h := newHarness(t)
	h.gh.AddRepo("octo-org/platform", githubtest.RepoOptions{Private: true})
	h.gh.AddRepo("octo-org/octo-org.github.io", githubtest.RepoOptions{})
	h.gh.AddInstallation(installation, org, repoName, "octo-org/.github", "octo-org/platform", "octo-org/octo-org.github.io")
	h.gh.SetInstallationPermissions(installation, map[string]string{"checks": "write", "contents": "write", "pull_requests": "read", "metadata": "read", "members": "read"})
	h.gh.Commit("octo-org/platform", "main", map[string][]byte{
		"docs/adr/0001-record-architecture-decisions.md": []byte("# 1. Record architecture decisions\n\nDate: 2023-05-01\n\n## Status\n\nAccepted\n\n## Context\n\nWe forget.\n"),
		"docs/adr/0002-share-one-vpc.md":                 []byte("# 2. Share one VPC\n\nDate: 2024-01-01\n\n## Status\n\nAccepted\n\n## Context\n\nCost.\n"),
	})
	h.gh.Commit("octo-org/octo-org.github.io", "main", map[string][]byte{"README.md": []byte("# Our story\n")})
	h.gh.Commit("octo-org/.github", "main", map[string][]byte{
		".github/backstory.yml": []byte("check:\n  intent:\n    min_words: 5\nsite:\n  pages:\n    repository: octo-org/octo-org.github.io\n    branch: gh-pages\n"),
	})
	fb := &fakeBuild{}
	dir := t.TempDir()
	gh, err := github.New(github.Options{AppID: h.gh.AppID, PrivateKey: h.gh.PrivateKeyPEM(), BaseURL: h.gh.URL(), HTTPClient: h.gh.Client()})
	if err != nil {
		t.Fatal(err)
	}
	h.store = memory.New()
	a, err := app.New(app.Options{GitHub: gh, Store: h.store, AppID: h.gh.AppID, CacheDir: t.TempDir(),
		Sites: app.SiteOptions{Build: fb.build, Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	h.app = a
	return &siteHarness{harness: h, build: fb, dir: dir}
}

// runQueued processes what the App put in its own inbox, as the worker
// would, and returns how many deliveries ran.
func (h *siteHarness) runQueued() int {
	h.t.Helper()
	n := 0
	for {
		ds, err := h.store.Claim(context.Background(), "test", 10, time.Now().Add(time.Hour), time.Minute)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(ds) == 0 {
			return n
		}
		for _, d := range ds {
			n++
			if err := h.app.Process(context.Background(), d); err != nil {
				h.store.Retry(context.Background(), d.ID, "test", time.Now(), err.Error())
				if _, temporary := app.RetryAt(err); !temporary || n > 50 {
					h.t.Fatalf("%s: %v", d.Event, err)
				}
				continue // as the worker would, try again
			}
			h.store.Complete(context.Background(), d.ID, "test", time.Now())
		}
	}
}

func (h *siteHarness) install() {
	h.t.Helper()
	ev := payload(h.t, "installation", "created.payload.json", func(m map[string]any) {
		m["installation"] = map[string]any{"id": installation, "account": map[string]any{"login": org, "type": "Organization"}}
	})
	if err := h.process("installation", ev); err != nil {
		h.t.Fatal(err)
	}
}

func (h *siteHarness) siteKeys() []string {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.dir, org, "records.json"))
	if err != nil {
		h.t.Fatalf("the org's site: %v", err)
	}
	return readKeys(h.t, data)
}

func TestInstallationBuildsAndPublishesTheOrgSite(t *testing.T) {
	h := newSiteHarness(t)
	h.install()
	h.runQueued()

	want := []string{"octo-org/hello:ADR-0001", "octo-org/hello:ADR-0002", "octo-org/platform:ADR-0001", "octo-org/platform:ADR-0002"}
	if got := h.siteKeys(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the org's site holds %v, want every repository's records %v", got, want)
	}
	pages := h.gh.Files("octo-org/octo-org.github.io", "gh-pages")
	if _, ok := pages[".nojekyll"]; !ok {
		t.Errorf("the Pages branch has no .nojekyll: %v", keysOf(pages))
	}
	got := readKeys(t, pages["records.json"])
	for _, k := range got {
		if strings.HasPrefix(k, "octo-org/platform:") {
			t.Errorf("a private repository's record reached the public Pages site: %s", k)
		}
	}
	if len(got) != 2 {
		t.Errorf("the public Pages site holds %v, want the public repository's 2 records", got)
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestAPushThatChangesARecordRebuildsTheSite(t *testing.T) {
	h := newSiteHarness(t)
	h.install()
	h.runQueued()
	h.gh.Commit(repoName, "main", map[string][]byte{"docs/decisions/0003-adopt-grpc.md": []byte("---\nid: ADR-0003\ntitle: Adopt gRPC\nstatus: accepted\ndate: 2025-01-01\n---\n# Adopt gRPC\n")})
	push := payload(t, "push", "with-installation.payload.json", func(m map[string]any) {
		m["ref"] = "refs/heads/main"
		m["repository"].(map[string]any)["owner"] = map[string]any{"login": org}
		m["commits"] = []any{map[string]any{"added": []any{"docs/decisions/0003-adopt-grpc.md"}, "modified": []any{}, "removed": []any{}}}
	})
	if err := h.process("push", push); err != nil {
		t.Fatal(err)
	}
	h.runQueued()
	if got := h.siteKeys(); !contains(got, "octo-org/hello:ADR-0003") {
		t.Errorf("after a push adding ADR-0003 the site holds %v", got)
	}
	// A push that touches no record asks for no build.
	push = payload(t, "push", "with-installation.payload.json", func(m map[string]any) {
		m["ref"] = "refs/heads/main"
		m["commits"] = []any{map[string]any{"added": []any{"src/main.go"}, "modified": []any{}, "removed": []any{}}}
	})
	if err := h.process("push", push); err != nil {
		t.Fatal(err)
	}
	if n := h.runQueued(); n != 0 {
		t.Errorf("a push touching no record ran %d builds", n)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestBurstsOfBuildsEndInOneBuildOfTheLatestState(t *testing.T) {
	h := newSiteHarness(t)
	for range 5 {
		if err := h.app.RequestBuild(context.Background(), installation, org, "burst"); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.runQueued(); n != 5 {
		t.Fatalf("%d deliveries ran, want the 5 queued", n)
	}
	if h.build.count != 1 {
		t.Errorf("a burst of 5 build requests built %d times, want once", h.build.count)
	}
	if _, err := os.Stat(filepath.Join(h.dir, org, "records.json")); err != nil {
		t.Fatalf("no site after the burst: %v", err)
	}
}

func TestAFailedBuildLeavesThePreviousSite(t *testing.T) {
	h := newSiteHarness(t)
	h.install()
	h.runQueued()
	before := h.siteKeys()
	h.build.fail = errors.New("hugo: template error")
	if err := h.app.RequestBuild(context.Background(), installation, org, "test"); err != nil {
		t.Fatal(err)
	}
	ds, _ := h.store.Claim(context.Background(), "test", 10, time.Now().Add(time.Hour), time.Minute)
	if len(ds) != 1 {
		t.Fatalf("want one build queued, got %d", len(ds))
	}
	if err := h.app.Process(context.Background(), ds[0]); err == nil {
		t.Fatal("a failed build reported success")
	}
	if got := h.siteKeys(); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Errorf("after a failed build the site changed: %v, was %v", got, before)
	}
}

func TestAMergedPullRequestsIntentIsCaptured(t *testing.T) {
	h := newSiteHarness(t)
	pr := h.openPR("merge-me", goodWhy, map[string][]byte{"services/payments/consumer/main.go": []byte("package main // merged\n")})
	h.gh.UpdatePullRequest(repoName, pr.Number, func(p *githubtest.PullRequest) { p.State, p.Merged = "closed", true })
	closed := payload(t, "pull_request", "closed.payload.json", func(m map[string]any) {
		setPR(m, pr, goodWhy)
		m["pull_request"].(map[string]any)["state"] = "closed"
		m["pull_request"].(map[string]any)["merged"] = true
	})
	if err := h.process("pull_request", closed); err != nil {
		t.Fatal(err)
	}
	intents, err := h.store.Intents(context.Background(), []string{repoName})
	if err != nil {
		t.Fatal(err)
	}
	if len(intents) != 1 {
		t.Fatalf("want the merged PR's intent, got %+v", intents)
	}
	it := intents[0]
	if !strings.Contains(it.Why, "finance had to reconcile") || !contains(it.Records, "octo-org/hello:ADR-0001") ||
		!contains(it.Paths, "services/payments/consumer/main.go") {
		t.Errorf("captured intent %+v: want its why, the decision it linked and the path it changed", it)
	}
	if n := h.runQueued(); n != 1 {
		t.Errorf("a merge ran %d builds, want 1", n)
	}
	if got := h.siteKeys(); !contains(got, "octo-org/hello:PR-"+fmt.Sprint(pr.Number)) {
		t.Errorf("the merged pull request is not on the site: %v", got)
	}
}

func TestARemovedRepositoryIsForgotten(t *testing.T) {
	h := newSiteHarness(t)
	h.install()
	h.runQueued()
	h.gh.AddInstallation(installation, org, repoName, "octo-org/.github", "octo-org/octo-org.github.io")
	h.gh.SetInstallationPermissions(installation, map[string]string{"checks": "write", "contents": "write", "pull_requests": "read", "metadata": "read", "members": "read"})
	h.gh.ExpireTokens()
	h.store.SaveIntent(context.Background(), app.Intent{Repository: "octo-org/platform", PR: 3, Title: "t"})
	ev := payload(t, "installation_repositories", "removed.payload.json", func(m map[string]any) {
		m["installation"] = map[string]any{"id": installation, "account": map[string]any{"login": org}}
		m["repositories_removed"] = []any{map[string]any{"full_name": "octo-org/platform"}}
	})
	if err := h.process("installation_repositories", ev); err != nil {
		t.Fatal(err)
	}
	h.runQueued()
	for _, k := range h.siteKeys() {
		if strings.HasPrefix(k, "octo-org/platform:") {
			t.Errorf("a removed repository's record is still on the site: %s", k)
		}
	}
	if its, _ := h.store.Intents(context.Background(), []string{"octo-org/platform"}); len(its) != 0 {
		t.Errorf("a removed repository's intents are kept: %+v", its)
	}
}

func TestTwoReplicasNeitherLoseNorStaleABuild(t *testing.T) {
	h := newSiteHarness(t)
	h.install()
	h.runQueued()
	// A second replica on the same store and GitHub, with its own caches,
	// already warm.
	gh, err := github.New(github.Options{AppID: h.gh.AppID, PrivateKey: h.gh.PrivateKeyPEM(), BaseURL: h.gh.URL(), HTTPClient: h.gh.Client()})
	if err != nil {
		t.Fatal(err)
	}
	other, err := app.New(app.Options{GitHub: gh, Store: h.store, AppID: h.gh.AppID, CacheDir: t.TempDir(),
		Sites: app.SiteOptions{Build: h.build.build, Dir: h.dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.RequestBuild(context.Background(), installation, org, "warm up"); err != nil {
		t.Fatal(err)
	}
	ds, _ := h.store.Claim(context.Background(), "b", 1, time.Now().Add(time.Hour), time.Minute)
	if err := other.Process(context.Background(), ds[0]); err != nil {
		t.Fatal(err)
	}
	h.store.Complete(context.Background(), ds[0].ID, "b", time.Now())

	// Replica A handles a push adding a record and asks for a build;
	// replica B asks for one too. B takes A's build, A takes B's.
	h.gh.Commit(repoName, "main", map[string][]byte{"docs/decisions/0004-adopt-otel.md": []byte("---\nid: ADR-0004\ntitle: Adopt OpenTelemetry\nstatus: accepted\ndate: 2025-02-01\n---\n# Adopt OpenTelemetry\n")})
	push := payload(t, "push", "with-installation.payload.json", func(m map[string]any) {
		m["ref"] = "refs/heads/main"
		m["commits"] = []any{map[string]any{"added": []any{"docs/decisions/0004-adopt-otel.md"}, "modified": []any{}, "removed": []any{}}}
	})
	if err := h.process("push", push); err != nil {
		t.Fatal(err)
	}
	if err := other.RequestBuild(context.Background(), installation, org, "replica B"); err != nil {
		t.Fatal(err)
	}
	before := h.build.count
	for _, replica := range []*app.App{other, h.app} {
		ds, err := h.store.Claim(context.Background(), "w", 1, time.Now().Add(time.Hour), time.Minute)
		if err != nil || len(ds) != 1 {
			t.Fatalf("claim: %v %v", ds, err)
		}
		if err := replica.Process(context.Background(), ds[0]); err != nil {
			t.Fatal(err)
		}
		h.store.Complete(context.Background(), ds[0].ID, "w", time.Now())
	}
	if h.build.count == before {
		t.Fatal("two replicas each skipped the other's build: nothing was built")
	}
	if got := h.siteKeys(); !contains(got, "octo-org/hello:ADR-0004") {
		t.Errorf("a replica that did not see the push built a stale site: %v", got)
	}
}
