package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/memory"
	"github.com/backstory-dev/backstory/app/store"
)

// openStore opens a fresh, empty store of kind through app/store, as
// backstory serve does, and returns a function that closes it and removes
// what the bench created (the SQLite folder, the PostgreSQL schema).
func openStore(ctx context.Context, kind, pgURL string) (app.Store, func(), error) {
	switch kind {
	case "memory":
		s := memory.New()
		return s, func() { s.Close() }, nil

	case "sqlite":
		dir, err := os.MkdirTemp("", "ingestbench-")
		if err != nil {
			return nil, nil, err
		}
		s, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "backstory.db"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, fmt.Errorf("opening SQLite in %s: %w", dir, err)
		}
		return s, func() { s.Close(); os.RemoveAll(dir) }, nil

	case "postgres":
		u, err := url.Parse(pgURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, nil, fmt.Errorf("-postgres must be a postgres:// URL")
		}
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			return nil, nil, fmt.Errorf("connecting to PostgreSQL at %s: %w (is the server running?)", u.Redacted(), err)
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		schema := "bs_ingestbench_" + hex.EncodeToString(b[:])
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			conn.Close(ctx)
			return nil, nil, fmt.Errorf("creating schema %s: %w", schema, err)
		}
		drop := func() {
			if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				fmt.Fprintf(os.Stderr, "ingestbench: dropping schema %s: %v\n", schema, err)
			}
			conn.Close(context.Background())
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		s, err := store.Open(ctx, u.String())
		if err != nil {
			drop()
			return nil, nil, fmt.Errorf("opening the PostgreSQL store in schema %s: %w", schema, err)
		}
		return s, func() { s.Close(); drop() }, nil
	}
	return nil, nil, fmt.Errorf("-store %q: want sqlite, postgres or memory", kind)
}
