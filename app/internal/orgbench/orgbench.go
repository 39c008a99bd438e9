// Package orgbench measures how the App keeps an organisation's site
// current, on the fake GitHub: the first full sync and build of every
// repository, then a push that changes one record until the site is built
// again. The app package runs it with a stand-in build (reading GitHub and
// assembling the corpus); this package's own benchmark runs it with the
// real Hugo build.
package orgbench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github"
	"github.com/backstory-dev/backstory/app/github/githubtest"
	"github.com/backstory-dev/backstory/app/memory"
	"github.com/backstory-dev/backstory/content"
)

// Build is app.SiteOptions.Build.
type Build = func(ctx context.Context, corpus *content.Corpus, outDir, baseURL string) error

// Run benchmarks an organisation of repos repositories with records records
// each, built by build, and reports:
//
//   - s/first-sync and calls/first-sync: from installation to the site built;
//   - ms/push-to-site, calls/push and counted-calls/push (those not
//     answered 304, which GitHub counts against the rate limit): from the
//     push of one changed record to the site built again.
func Run(b *testing.B, repos, records int, build Build) {
	for range b.N {
		b.StopTimer()
		fake := githubtest.New(b, githubtest.WithRateLimit(1_000_000))
		names := []string{"bench-org/.github"}
		fake.AddRepo("bench-org/.github", githubtest.RepoOptions{})
		fake.Commit("bench-org/.github", "main", map[string][]byte{".github/backstory.yml": []byte("check:\n  mode: advise\n")})
		for r := range repos {
			name := fmt.Sprintf("bench-org/service-%03d", r)
			fake.AddRepo(name, githubtest.RepoOptions{})
			files := map[string][]byte{"README.md": []byte("# service\n"), "main.go": []byte("package main\n")}
			for i := range records {
				files[fmt.Sprintf("docs/decisions/%04d-decision-%d.md", i+1, i+1)] = []byte(fmt.Sprintf(
					"---\nid: ADR-%04d\ntitle: Decision %d of %s\nstatus: accepted\ndate: 2024-01-%02d\ngoverns: [\"svc%d/**\"]\n---\n# Decision %d\n\n## Why\n\nBecause of reasons number %d.\n",
					i+1, i+1, name, i%28+1, i, i+1, i))
			}
			fake.Commit(name, "main", files)
			names = append(names, name)
		}
		fake.AddInstallation(7, "bench-org", names...)
		gh, err := github.New(github.Options{AppID: fake.AppID, PrivateKey: fake.PrivateKeyPEM(), BaseURL: fake.URL(), HTTPClient: fake.Client()})
		if err != nil {
			b.Fatal(err)
		}
		st := memory.New()
		a, err := app.New(app.Options{GitHub: gh, Store: st, AppID: fake.AppID, CacheDir: b.TempDir(),
			Sites: app.SiteOptions{Build: build, Dir: b.TempDir()}})
		if err != nil {
			b.Fatal(err)
		}
		run := func() {
			for {
				ds, err := st.Claim(context.Background(), "bench", 10, time.Now().Add(time.Hour), time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				if len(ds) == 0 {
					return
				}
				for _, d := range ds {
					if err := a.Process(context.Background(), d); err != nil {
						b.Fatal(err)
					}
					st.Complete(context.Background(), d.ID, "bench", time.Now())
				}
			}
		}
		fake.ResetCalls()
		b.StartTimer()
		start := time.Now()
		if err := a.RequestBuild(context.Background(), 7, "bench-org", "installed"); err != nil {
			b.Fatal(err)
		}
		run()
		first := time.Since(start)
		firstCalls := len(fake.Calls())

		b.StopTimer()
		target := fmt.Sprintf("bench-org/service-%03d", repos/2)
		fake.Commit(target, "main", map[string][]byte{"docs/decisions/0007-decision-7.md": []byte("---\nid: ADR-0007\ntitle: Decision 7, revised\nstatus: accepted\ndate: 2024-01-08\n---\n# Decision 7, revised\n")})
		fake.ResetCalls()
		push := fmt.Sprintf(`{"ref":"refs/heads/main","installation":{"id":7},"repository":{"full_name":%q,"default_branch":"main","owner":{"login":"bench-org"}},"commits":[{"added":[],"modified":["docs/decisions/0007-decision-7.md"],"removed":[]}]}`, target)
		b.StartTimer()
		start = time.Now()
		if err := a.Process(context.Background(), app.Delivery{ID: "push", Event: "push", Payload: []byte(push)}); err != nil {
			b.Fatal(err)
		}
		run()
		incremental := time.Since(start)
		b.StopTimer()
		b.ReportMetric(first.Seconds(), "s/first-sync")
		b.ReportMetric(float64(firstCalls), "calls/first-sync")
		b.ReportMetric(incremental.Seconds()*1000, "ms/push-to-site")
		b.ReportMetric(float64(len(fake.Calls())), "calls/push")
		b.ReportMetric(float64(fake.CountCallsFunc(func(c githubtest.Call) bool { return !c.NotModified })), "counted-calls/push")
		a.Close()
	}
}
