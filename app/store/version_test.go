package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstory-dev/backstory/app/postgres/pgtest"
	"github.com/backstory-dev/backstory/app/store"
)

func TestSchemaVersionDoesNotCreateOrMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := store.SchemaVersion(ctx, path)
	if err != nil || s.Current != 0 || s.Known < 3 || s.Kind != "sqlite" {
		t.Fatalf("a missing file: %+v, %v; want version 0 of the known %d", s, err, s.Known)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("SchemaVersion created the database file: %v", err)
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if s, err := store.SchemaVersion(ctx, path); err != nil || s.Current != s.Known {
		t.Errorf("after Open: %+v, %v; want the newest version", s, err)
	}
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("not a database ", 400)), 0o600)
	if _, err := store.SchemaVersion(ctx, junk); err == nil {
		t.Error("a file that is not a database read as a store")
	}
}

func TestSchemaVersionPostgres(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Schema(t)
	s, err := store.SchemaVersion(ctx, url)
	if err != nil || s.Current != 0 || s.Kind != "postgres" {
		t.Fatalf("an empty schema: %+v, %v; want version 0", s, err)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if s, err := store.SchemaVersion(ctx, url); err != nil || s.Current != s.Known {
		t.Errorf("after Open: %+v, %v; want the newest version", s, err)
	}
}
