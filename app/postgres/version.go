package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SchemaVersion reports, without changing anything, the schema version of
// backstory's tables in the first schema of url's search_path, and the
// newest this backstory knows. A schema without backstory's tables is
// version 0 (Open creates them).
func SchemaVersion(ctx context.Context, url string) (current, known int, err error) {
	known = migrations[len(migrations)-1].version
	where := Redact(url)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, known, hidePassword(fmt.Errorf("postgres %s: %w", where, err), url)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema *string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return 0, known, fmt.Errorf("postgres %s: %w", where, err)
	}
	if schema == nil {
		return 0, known, fmt.Errorf("postgres %s: no schema of the search_path exists: create it (CREATE SCHEMA …) or fix the URL's search_path", where)
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'backstory_schema_migrations')`, *schema).Scan(&exists); err != nil {
		return 0, known, fmt.Errorf("postgres %s: %w", where, err)
	}
	if !exists {
		return 0, known, nil
	}
	if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT coalesce(max(version), 0) FROM %s.backstory_schema_migrations`, pgx.Identifier{*schema}.Sanitize())).Scan(&current); err != nil {
		return 0, known, fmt.Errorf("postgres %s: read the schema version: %w", where, err)
	}
	return current, known, nil
}
