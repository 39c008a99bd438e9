package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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
	seq             BIGINT      GENERATED ALWAYS AS IDENTITY UNIQUE,
	id              TEXT        PRIMARY KEY,
	event           TEXT        NOT NULL,
	action          TEXT        NOT NULL,
	installation_id BIGINT      NOT NULL,
	repository      TEXT        NOT NULL,
	key             TEXT        NOT NULL,
	received_at     TIMESTAMPTZ NOT NULL,
	state           TEXT        NOT NULL CHECK (state IN ('pending', 'claimed', 'done', 'dead')),
	attempts        INTEGER     NOT NULL DEFAULT 0,
	next_attempt    TIMESTAMPTZ,
	lease_owner     TEXT        NOT NULL DEFAULT '',
	lease_until     TIMESTAMPTZ,
	last_error      TEXT        NOT NULL DEFAULT '',
	done_at         TIMESTAMPTZ,
	payload         BYTEA       NOT NULL
);
CREATE INDEX deliveries_state_next_attempt ON deliveries (state, next_attempt);
CREATE INDEX deliveries_pending_order ON deliveries (received_at, seq) WHERE state = 'pending';
CREATE INDEX deliveries_claimed_key ON deliveries (key, lease_until) WHERE state = 'claimed';

CREATE TABLE check_runs (
	repository       TEXT        NOT NULL,
	head_sha         TEXT        NOT NULL,
	name             TEXT        NOT NULL,
	id               BIGINT      NOT NULL,
	content_hash     TEXT        NOT NULL,
	annotations_hash TEXT        NOT NULL,
	updated_at       TIMESTAMPTZ,
	PRIMARY KEY (repository, head_sha, name)
);

CREATE TABLE waivers (
	repository TEXT        NOT NULL,
	pr         INTEGER     NOT NULL,
	by_login   TEXT        NOT NULL,
	at         TIMESTAMPTZ,
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
	repo_key   TEXT        NOT NULL, -- the repository lower-cased: names compare without case
	pr         INTEGER     NOT NULL,
	repository TEXT        NOT NULL, -- as last saved
	title      TEXT        NOT NULL,
	author     TEXT        NOT NULL,
	url        TEXT        NOT NULL,
	merged_at  TIMESTAMPTZ,
	merge_sha  TEXT        NOT NULL,
	why        TEXT        NOT NULL,
	records    TEXT[]      NOT NULL,
	paths      TEXT[]      NOT NULL,
	PRIMARY KEY (repo_key, pr)
);
`},
	{3, "repository files, review issues, inbox listing and pruning", `
CREATE TABLE repo_snapshots (
	repo_key      TEXT        PRIMARY KEY,        -- the repository lower-cased: names compare without case
	repository    TEXT        NOT NULL,           -- as last saved
	repository_id BIGINT      NOT NULL DEFAULT 0, -- GitHub's id; 0: unknown
	installation  BIGINT      NOT NULL,
	branch        TEXT        NOT NULL,
	tree_sha      TEXT        NOT NULL,
	read_at       TIMESTAMPTZ NOT NULL,
	files         INTEGER     NOT NULL            -- how many rows repo_files holds for it
);

CREATE TABLE repo_files (
	repo_key TEXT             NOT NULL,
	path     TEXT COLLATE "C" NOT NULL, -- ordered by bytes, as in the other stores
	blob     TEXT             NOT NULL,
	data     BYTEA            NOT NULL,
	PRIMARY KEY (repo_key, path)
);

CREATE TABLE review_issues (
	repo_key    TEXT        NOT NULL,
	record      TEXT        NOT NULL,
	review_by   TEXT        NOT NULL,
	repository  TEXT        NOT NULL, -- as reserved
	number      BIGINT      NOT NULL, -- 0 while the issue is being opened
	reserved_at TIMESTAMPTZ,
	PRIMARY KEY (repo_key, record, review_by)
);

-- Deliveries lists in this order, and filters on repository; Prune finds
-- the done deliveries by age.
CREATE INDEX deliveries_received ON deliveries (received_at, id COLLATE "C");
CREATE INDEX deliveries_repository ON deliveries (lower(repository), received_at);
CREATE INDEX deliveries_done_at ON deliveries (done_at) WHERE state = 'done';
`},
}

// migrate brings the schema up to date in one transaction. Replicas that
// start together queue on an advisory lock of the schema: the first
// migrates, the others then find nothing to do. Even the migrations table
// is created under the lock, because two concurrent CREATE TABLE IF NOT
// EXISTS can both try to create it.
func migrate(ctx context.Context, pool *pgxpool.Pool, where string, lock int64, steps []migration) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return fmt.Errorf("postgres %s: begin migration: %w", where, err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lock); err != nil {
		return fmt.Errorf("postgres %s: lock for migration: %w", where, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS backstory_schema_migrations (
	version    INTEGER     PRIMARY KEY,
	name       TEXT        NOT NULL,
	applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`); err != nil {
		return fmt.Errorf("postgres %s: create the migrations table: %w", where, err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM backstory_schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("postgres %s: read the schema version: %w", where, err)
	}
	known := steps[len(steps)-1].version
	if current > known {
		return fmt.Errorf("postgres %s: the schema is at version %d, newer than this backstory knows (%d): run a newer backstory, or point it at another database or schema", where, current, known)
	}
	for _, m := range steps {
		if m.version <= current {
			continue
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("postgres %s: migration %d (%s): %w", where, m.version, m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO backstory_schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return fmt.Errorf("postgres %s: record migration %d: %w", where, m.version, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres %s: commit migrations: %w", where, err)
	}
	return nil
}
