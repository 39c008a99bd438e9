package app

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRepoCacheKeepsAtMostMaxCachedRepos(t *testing.T) {
	dir := t.TempDir()
	clock := time.Unix(0, 0)
	rc := newRepoCache(dir, time.Minute, func() time.Time { clock = clock.Add(time.Second); return clock }, "https://github.com", nil)
	for i := range maxCachedRepos + 10 {
		repo := fmt.Sprintf("o/r%d", i)
		rc.entry(repo)
		os.MkdirAll(rc.mirror(repo), 0o755)
	}
	if n := len(rc.repos); n != maxCachedRepos {
		t.Fatalf("%d repositories cached, want at most %d", n, maxCachedRepos)
	}
	if _, ok := rc.repos["o/r0"]; ok {
		t.Error("the least recently used repository was kept")
	}
	if _, err := os.Stat(filepath.Join(dir, "repos", "o", "r0")); !os.IsNotExist(err) {
		t.Errorf("the evicted repository's mirror is still on disk: %v", err)
	}
	if _, ok := rc.repos[fmt.Sprintf("o/r%d", maxCachedRepos+9)]; !ok {
		t.Error("the newest repository was evicted")
	}
}
