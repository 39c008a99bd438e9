package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migration is one step of the schema. Steps are never edited once
// released: a change is a new step.
type migration struct {
	version int
	name    string
	sql     string
}

var migrations = []migration{
	{1, "inbox and check state", `
CREATE TABLE deliveries (
	seq             INTEGER PRIMARY KEY,
	id              TEXT    NOT NULL UNIQUE,
	event           TEXT    NOT NULL,
	action          TEXT    NOT NULL,
	installation_id INTEGER NOT NULL,
	repository      TEXT    NOT NULL,
	key             TEXT    NOT NULL,
	received_at     INTEGER NOT NULL,
	state           TEXT    NOT NULL CHECK (state IN ('pending', 'claimed', 'done', 'dead')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt    INTEGER,
	lease_owner     TEXT    NOT NULL DEFAULT '',
	lease_until     INTEGER,
	last_error      TEXT    NOT NULL DEFAULT '',
	done_at         INTEGER,
	payload         BLOB    NOT NULL
);
CREATE INDEX deliveries_state_next_attempt ON deliveries (state, next_attempt);
CREATE INDEX deliveries_pending_order ON deliveries (received_at) WHERE state = 'pending';
CREATE INDEX deliveries_claimed_key ON deliveries (key, lease_until) WHERE state = 'claimed';

CREATE TABLE check_runs (
	repository       TEXT    NOT NULL,
	head_sha         TEXT    NOT NULL,
	name             TEXT    NOT NULL,
	id               INTEGER NOT NULL,
	content_hash     TEXT    NOT NULL,
	annotations_hash TEXT    NOT NULL,
	updated_at       INTEGER,
	PRIMARY KEY (repository, head_sha, name)
);

CREATE TABLE waivers (
	repository TEXT    NOT NULL,
	pr         INTEGER NOT NULL,
	by_login   TEXT    NOT NULL,
	at         INTEGER,
	PRIMARY KEY (repository, pr)
);

CREATE TABLE open_pr_records (
	repository TEXT    NOT NULL,
	pr         INTEGER NOT NULL,
	position   INTEGER NOT NULL,
	folder     TEXT    NOT NULL,
	number     INTEGER NOT NULL,
	path       TEXT    NOT NULL,
	PRIMARY KEY (repository, pr, position)
);
`},
	{2, "intents", `
CREATE TABLE intents (
	repo_key   TEXT    NOT NULL, -- the repository lower-cased: names compare without case
	pr         INTEGER NOT NULL,
	repository TEXT    NOT NULL, -- as last saved
	title      TEXT    NOT NULL,
	author     TEXT    NOT NULL,
	url        TEXT    NOT NULL,
	merged_at  INTEGER,
	merge_sha  TEXT    NOT NULL,
	why        TEXT    NOT NULL,
	records    TEXT    NOT NULL, -- a JSON array of strings
	paths      TEXT    NOT NULL, -- a JSON array of strings
	PRIMARY KEY (repo_key, pr)
);
`},
	{3, "repository files, review issues, inbox listing and pruning", `
CREATE TABLE repo_snapshots (
	repo_key      TEXT    PRIMARY KEY,        -- the repository lower-cased: names compare without case
	repository    TEXT    NOT NULL,           -- as last saved
	repository_id INTEGER NOT NULL DEFAULT 0, -- GitHub's id; 0: unknown
	installation  INTEGER NOT NULL,
	branch        TEXT    NOT NULL,
	tree_sha      TEXT    NOT NULL,
	read_at       INTEGER NOT NULL,
	files         INTEGER NOT NULL            -- how many rows repo_files holds for it
);

CREATE TABLE repo_files (
	repo_key TEXT NOT NULL,
	path     TEXT NOT NULL,
	blob     TEXT NOT NULL,
	data     BLOB NOT NULL,
	PRIMARY KEY (repo_key, path)
);

CREATE TABLE review_issues (
	repo_key    TEXT    NOT NULL,
	record      TEXT    NOT NULL,
	review_by   TEXT    NOT NULL,
	repository  TEXT    NOT NULL, -- as reserved
	number      INTEGER NOT NULL, -- 0 while the issue is being opened
	reserved_at INTEGER,
	PRIMARY KEY (repo_key, record, review_by)
);

-- Deliveries lists in this order, and filters on repository; Prune finds
-- the done deliveries by age.
CREATE INDEX deliveries_received ON deliveries (received_at, id);
CREATE INDEX deliveries_repository ON deliveries (lower(repository), received_at);
CREATE INDEX deliveries_done_at ON deliveries (done_at) WHERE state = 'done';
`},
}

// migrate brings the schema up to date in one IMMEDIATE transaction: the
// write lock it takes first makes a second process that opens the file at
// the same moment wait, then find the work done.
func migrate(ctx context.Context, conn *sql.Conn, path string, steps []migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite %s: begin migration: %w", path, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS backstory_schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at INTEGER NOT NULL
)`); err != nil {
		return fmt.Errorf("sqlite %s: create the migrations table: %w", path, err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM backstory_schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("sqlite %s: read the schema version: %w", path, err)
	}
	known := steps[len(steps)-1].version
	if current > known {
		return fmt.Errorf("sqlite %s: the schema is at version %d, newer than this backstory knows (%d): run a newer backstory, or point it at another database", path, current, known)
	}
	for _, m := range steps {
		if m.version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("sqlite %s: migration %d (%s): %w", path, m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO backstory_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("sqlite %s: record migration %d: %w", path, m.version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite %s: commit migrations: %w", path, err)
	}
	return nil
}
