// Package store opens backstory's app.Store from one setting, a URL: SQLite
// by default, PostgreSQL when several replicas share the state.
package store

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/postgres"
	"github.com/backstory-dev/backstory/app/sqlite"
)

// DefaultSQLite is the database file used when no URL is given, relative to
// the working directory.
const DefaultSQLite = "backstory.db"

// Forms lists the URLs Open accepts, for help texts and errors.
const Forms = `"" (` + DefaultSQLite + ` in the working directory), sqlite:PATH, sqlite://PATH, file:PATH, a PATH ending in .db, .sqlite or .sqlite3, or postgres://user:password@host:port/database (also postgresql://)`

type kind int

const (
	kindSQLite kind = iota
	kindPostgres
)

// Open opens the store that url names:
//
//   - "": the SQLite file backstory.db in the working directory;
//   - sqlite:PATH, sqlite://PATH, file:PATH, file://PATH: the SQLite file
//     PATH (relative to the working directory unless it starts with /, as
//     in sqlite:///var/lib/backstory/state.db); everything after the
//     scheme is the path, with no query parameters;
//   - a path ending in .db, .sqlite or .sqlite3: that SQLite file;
//   - postgres://… or postgresql://…: PostgreSQL, any URL pgx accepts
//     (…?search_path=backstory picks the schema, pool_max_conns the pool).
//
// Errors never show a password.
func Open(ctx context.Context, url string) (app.Store, error) {
	k, target, err := locate(url)
	if err != nil {
		return nil, err
	}
	switch k {
	case kindPostgres:
		s, err := postgres.Open(ctx, target)
		if err != nil {
			return nil, err
		}
		return s, nil
	default:
		s, err := sqlite.Open(ctx, target)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// locate tells which store a URL names, and the path or URL to give it.
func locate(raw string) (kind, string, error) {
	if raw == "" {
		return kindSQLite, DefaultSQLite, nil
	}
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return kindPostgres, raw, nil
	}
	for _, scheme := range []string{"sqlite://", "sqlite:", "file://", "file:"} {
		if strings.HasPrefix(lower, scheme) {
			path := raw[len(scheme):]
			if path == "" {
				return 0, "", fmt.Errorf("store %q: no database path after %q: use %s", raw, scheme, Forms)
			}
			return kindSQLite, path, nil
		}
	}
	if !strings.Contains(raw, "://") {
		for _, ext := range []string{".db", ".sqlite", ".sqlite3"} {
			if strings.HasSuffix(lower, ext) {
				return kindSQLite, raw, nil
			}
		}
	}
	return 0, "", fmt.Errorf("store %q: not a store URL backstory knows: use %s", redact(raw), Forms)
}

var userinfo = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://[^:/@?#]*):[^@/?#]*@`)

// redact masks the password of a URL that Open refuses (mysql://u:pw@h).
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	return userinfo.ReplaceAllString(raw, "${1}:xxxxx@")
}

// Schema says where a store's schema stands, for backstory doctor.
type Schema struct {
	// Kind is "sqlite" or "postgres"; Where the file or the redacted URL.
	Kind  string
	Where string
	// Current is the store's schema version (0: not created yet); Known
	// the newest this backstory knows. Current > Known means a newer
	// backstory migrated it: this one refuses to open it.
	Current, Known int
}

// SchemaVersion reads the schema version of the store url names, without
// creating or migrating anything.
func SchemaVersion(ctx context.Context, url string) (Schema, error) {
	k, target, err := locate(url)
	if err != nil {
		return Schema{}, err
	}
	if k == kindPostgres {
		s := Schema{Kind: "postgres", Where: postgres.Redact(target)}
		s.Current, s.Known, err = postgres.SchemaVersion(ctx, target)
		return s, err
	}
	s := Schema{Kind: "sqlite", Where: target}
	s.Current, s.Known, err = sqlite.SchemaVersion(ctx, target)
	return s, err
}
