package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SchemaVersion reports, without changing anything, the schema version of
// the database at path and the newest this backstory knows. A file that
// does not exist yet is version 0 (Open creates it); a file that is not a
// backstory database is an error.
func SchemaVersion(ctx context.Context, path string) (current, known int, err error) {
	known = migrations[len(migrations)-1].version
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, known, fmt.Errorf("sqlite %s: %w", path, err)
	}
	if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
		return 0, known, nil
	} else if err != nil {
		return 0, known, fmt.Errorf("sqlite %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn(abs, defaults, true))
	if err != nil {
		return 0, known, fmt.Errorf("sqlite %s: %w", path, err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'backstory_schema_migrations'`).Scan(&tables); err != nil {
		if strings.Contains(err.Error(), "not a database") || strings.Contains(err.Error(), "SQLITE_NOTADB") {
			return 0, known, fmt.Errorf("sqlite %s: not an SQLite database: point store.url at backstory's database file", path)
		}
		return 0, known, fmt.Errorf("sqlite %s: %w", path, err)
	}
	if tables == 0 {
		return 0, known, nil
	}
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM backstory_schema_migrations`).Scan(&current); err != nil {
		return 0, known, fmt.Errorf("sqlite %s: read the schema version: %w", path, err)
	}
	return current, known, nil
}
