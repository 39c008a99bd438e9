package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstory-dev/backstory/app/sqlite"
	"github.com/backstory-dev/backstory/app/storetest"
)

func TestLocate(t *testing.T) {
	for _, tc := range []struct {
		url    string
		kind   kind
		target string
	}{
		{"", kindSQLite, "backstory.db"},
		{"sqlite:state/backstory.db", kindSQLite, "state/backstory.db"},
		{"sqlite:/var/lib/backstory/state.db", kindSQLite, "/var/lib/backstory/state.db"},
		{"sqlite://relative/dir/x.db", kindSQLite, "relative/dir/x.db"},
		{"sqlite:///abs/dir/x.db", kindSQLite, "/abs/dir/x.db"},
		{"SQLite:x", kindSQLite, "x"},
		{"file:data/x", kindSQLite, "data/x"},
		{"file:///srv/backstory.db", kindSQLite, "/srv/backstory.db"},
		{"backstory.db", kindSQLite, "backstory.db"},
		{"/tmp/Backstory.DB", kindSQLite, "/tmp/Backstory.DB"},
		{"./state.sqlite3", kindSQLite, "./state.sqlite3"},
		{"postgres://u:pw@db:5432/backstory?sslmode=require", kindPostgres, "postgres://u:pw@db:5432/backstory?sslmode=require"},
		{"postgresql://db/backstory", kindPostgres, "postgresql://db/backstory"},
		{"POSTGRES://db/backstory", kindPostgres, "POSTGRES://db/backstory"},
	} {
		k, target, err := locate(tc.url)
		if err != nil || k != tc.kind || target != tc.target {
			t.Errorf("locate(%q) = %v, %q, %v; want %v, %q", tc.url, k, target, err, tc.kind, tc.target)
		}
	}
}

func TestLocateRefuses(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"mysql://root:hunter2@db/backstory", "mysql://root:xxxxx@db/backstory"},
		{"redis://:hunter2@cache:6379", "redis://:xxxxx@cache:6379"},
		{"mysql://root:hunter2@db:bad port/x", "mysql://root:xxxxx@db:bad port/x"},
		{"backstory.json", "backstory.json"},
		{"http://example.com/x.db", "http://example.com/x.db"},
		{"sqlite:", "no database path"},
		{"sqlite://", "no database path"},
	} {
		_, _, err := locate(tc.url)
		if err == nil {
			t.Errorf("locate(%q): no error", tc.url)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "hunter2") {
			t.Errorf("locate(%q) error shows the password: %s", tc.url, msg)
		}
		if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "postgres://") || !strings.Contains(msg, "sqlite:PATH") {
			t.Errorf("locate(%q) = %q, want it to mention %q and the accepted forms", tc.url, msg, tc.want)
		}
	}
}

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, u := range []string{"", "sqlite:nested/a.db", "file://b.db", "c.sqlite"} {
		s, err := Open(context.Background(), u)
		if err != nil {
			t.Fatalf("Open(%q): %v", u, err)
		}
		if _, ok := s.(*sqlite.Store); !ok {
			t.Errorf("Open(%q) = %T, want *sqlite.Store", u, s)
		}
		if ok, err := s.Enqueue(context.Background(), storetest.NewDelivery("x", "", storetest.T0)); err != nil || !ok {
			t.Errorf("Open(%q): Enqueue = %v, %v", u, ok, err)
		}
		s.Close()
	}
	for _, f := range []string{"backstory.db", "nested/a.db", "b.db", "c.sqlite"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("no database at %s: %v", f, err)
		}
	}
}

func TestOpenPostgres(t *testing.T) {
	u := os.Getenv("BACKSTORY_TEST_POSTGRES")
	if u == "skip" {
		t.Skip("BACKSTORY_TEST_POSTGRES=skip")
	}
	if u == "" {
		u = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	// A schema that does not exist: Open reaches the server, so it chose
	// PostgreSQL, and fails without touching the database.
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	s, err := Open(context.Background(), u+sep+"search_path=bs_test_store_nowhere")
	if err == nil {
		s.Close()
		t.Fatal("Open with a missing schema: no error")
	}
	if !strings.Contains(err.Error(), "bs_test_store_nowhere") {
		t.Errorf("Open = %v, want the PostgreSQL store's error about the schema", err)
	}
	_, err = Open(context.Background(), "postgres://backstory:hunter2@127.0.0.1:1/x?connect_timeout=2")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("Open of an unreachable server = %v, want an error naming it without the password", err)
	}
}
