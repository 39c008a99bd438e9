package orgbench_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/backstory-dev/backstory/app/internal/orgbench"
	"github.com/backstory-dev/backstory/content"
	"github.com/backstory-dev/backstory/site"
)

// BenchmarkOrgSiteHugo is the org benchmark with the real site build:
// 200 repositories of 50 records, 10,000 record pages and the rest of the
// story.
func BenchmarkOrgSiteHugo(b *testing.B) {
	orgbench.Run(b, 200, 50, func(ctx context.Context, corpus *content.Corpus, out, baseURL string) error {
		_, err := site.Build(ctx, corpus, site.Options{OutputDir: out, BaseURL: baseURL, Title: filepath.Base(out)})
		return err
	})
}
