// Package pgtest gives each test its own schema on the PostgreSQL server
// the tests use (BACKSTORY_TEST_POSTGRES, else the local server), dropped
// when the test ends, so tests run in parallel and leave nothing behind.
package pgtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

const defaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// ServerURL is the test server: BACKSTORY_TEST_POSTGRES, or the local one.
// Tests fail, not skip, when it is down, so that a broken setup is not
// mistaken for a pass; BACKSTORY_TEST_POSTGRES=skip skips them on purpose.
func ServerURL(t testing.TB) string {
	u := os.Getenv("BACKSTORY_TEST_POSTGRES")
	if u == "skip" {
		t.Skip("BACKSTORY_TEST_POSTGRES=skip")
	}
	if u == "" {
		u = defaultTestURL
	}
	return u
}

// Schema creates an empty schema for one test, dropped when it ends, and
// returns a URL whose search_path selects it: tests run in parallel and
// leave nothing behind.
func Schema(t testing.TB) string {
	t.Helper()
	base := ServerURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("the PostgreSQL server for tests does not answer at %s: %v\n"+
			"Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"+
			"or set BACKSTORY_TEST_POSTGRES to another server's URL, or to skip to skip these tests.", redact(base), err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("bs_test_%016x", rand.Uint64())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return WithSearchPath(t, base, name)
}

// WithSearchPath returns base with its search_path set to schema.
func WithSearchPath(t testing.TB, base, schema string) string {
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		return base + " search_path=" + schema
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("BACKSTORY_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// redact hides a password in a URL for messages.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}
