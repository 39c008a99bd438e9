package app_test

import (
	"fmt"
	"testing"

	"github.com/backstory-dev/backstory/app/internal/orgbench"
)

// BenchmarkOrgSync measures, on the fake GitHub, organisations of 20 and
// 200 repositories with 50 records each: the first full sync and build,
// then a push that changes one record until the site is built again. The
// build is the stand-in one (Hugo is measured by the site benchmarks and
// app/internal/orgbench): what is measured here is reading GitHub and the
// store, and assembling the corpus. The push's calls must not grow with the
// number of repositories (docs/decisions/0017).
func BenchmarkOrgSync(b *testing.B) {
	for _, repos := range []int{20, 200} {
		b.Run(fmt.Sprintf("repos=%d", repos), func(b *testing.B) {
			orgbench.Run(b, repos, 50, (&fakeBuild{}).build)
		})
	}
}
