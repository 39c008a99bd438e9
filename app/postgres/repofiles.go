package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/backstory-dev/backstory/app"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// SaveRepoFiles records snap and, in the same transaction, stores changed
// and deletes removed (with snap.Complete, every other file of the
// repository), unless the stored snapshot of the repository
// (compared without case) was read later: then it changes nothing and
// returns false. The snapshot's row stays locked until the commit, so two
// replicas saving one repository take turns, and the later read wins
// whatever the order of the commits. The file count is counted again after
// the changes, so it never drifts from the rows.
func (s *Store) SaveRepoFiles(ctx context.Context, snap app.RepoSnapshot, changed []app.RepoFile, removed []string) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	snap, changed, removed, err := app.StoredRepoFiles(snap, changed, removed)
	if err != nil {
		return false, fmt.Errorf("postgres store: %w", err)
	}
	key := repoKey(snap.Repository)
	saved := false
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `INSERT INTO repo_snapshots (repo_key, repository, repository_id, installation, branch, tree_sha, read_at, files)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 0)
			ON CONFLICT (repo_key) DO UPDATE SET
				repository = excluded.repository, repository_id = excluded.repository_id, installation = excluded.installation,
				branch = excluded.branch, tree_sha = excluded.tree_sha, read_at = excluded.read_at
			WHERE repo_snapshots.read_at <= excluded.read_at
			RETURNING 1`, key, snap.Repository, snap.RepositoryID, snap.Installation, snap.Branch, snap.TreeSHA, snap.ReadAt).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // a later snapshot is stored
		}
		if err != nil {
			return fmt.Errorf("postgres %s: save files of %s: %w", s.where, snap.Repository, err)
		}
		if len(changed) > 0 {
			paths, blobs, data := make([]string, len(changed)), make([]string, len(changed)), make([][]byte, len(changed))
			for i, f := range changed {
				paths[i], blobs[i], data[i] = f.Path, f.Blob, f.Data
				if data[i] == nil {
					data[i] = []byte{} // bytea, not NULL
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO repo_files (repo_key, path, blob, data)
				SELECT $1, f.path, f.blob, f.data FROM unnest($2::text[], $3::text[], $4::bytea[]) AS f (path, blob, data)
				ON CONFLICT (repo_key, path) DO UPDATE SET blob = excluded.blob, data = excluded.data`,
				key, paths, blobs, data); err != nil {
				return fmt.Errorf("postgres %s: save files of %s: %w", s.where, snap.Repository, err)
			}
		}
		if snap.Complete {
			// Never nil: pgx sends a nil slice as NULL, and <> ALL(NULL)
			// would delete nothing.
			paths := make([]string, len(changed))
			for i, f := range changed {
				paths[i] = f.Path
			}
			if _, err := tx.Exec(ctx, replaceFilesDelete, key, paths); err != nil {
				return fmt.Errorf("postgres %s: remove other files of %s: %w", s.where, snap.Repository, err)
			}
		}
		if len(removed) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM repo_files WHERE repo_key = $1 AND path = ANY($2)`, key, removed); err != nil {
				return fmt.Errorf("postgres %s: remove files of %s: %w", s.where, snap.Repository, err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE repo_snapshots SET files = (SELECT count(*) FROM repo_files WHERE repo_key = $1) WHERE repo_key = $1`, key); err != nil {
			return fmt.Errorf("postgres %s: count files of %s: %w", s.where, snap.Repository, err)
		}
		saved = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return saved, nil
}

// replaceFilesDelete deletes the files of a repository key whose paths
// are not in a list: what a Complete save leaves of the stored files is
// exactly the files it lists.
const replaceFilesDelete = `DELETE FROM repo_files WHERE repo_key = $1 AND path <> ALL($2::text[])`

// snapshotColumns are read by scanSnapshot, in its order.
const snapshotColumns = `s.repository, s.repository_id, s.installation, s.branch, s.tree_sha, s.read_at, s.files`

func scanSnapshot(snap *app.RepoSnapshot, readAt *pgtype.Timestamptz) []any {
	return []any{&snap.Repository, &snap.RepositoryID, &snap.Installation, &snap.Branch, &snap.TreeSHA, readAt, &snap.Files}
}

// RepoSnapshots returns the stored snapshots of repos, keyed by
// app.RepositoryKey, in one query whatever their number.
func (s *Store) RepoSnapshots(ctx context.Context, repos []string) (map[string]app.RepoSnapshot, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	out := make(map[string]app.RepoSnapshot, len(repos))
	if len(repos) == 0 {
		return out, nil
	}
	keys := make([]string, len(repos))
	for k, r := range repos {
		keys[k] = repoKey(r)
	}
	rows, err := s.pool.Query(ctx, `SELECT s.repo_key, `+snapshotColumns+` FROM repo_snapshots s WHERE s.repo_key = ANY($1)`, keys)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: snapshots of %d repositories: %w", s.where, len(repos), err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key    string
			snap   app.RepoSnapshot
			readAt pgtype.Timestamptz
		)
		if err := rows.Scan(append([]any{&key}, scanSnapshot(&snap, &readAt)...)...); err != nil {
			return nil, fmt.Errorf("postgres %s: snapshots of %d repositories: %w", s.where, len(repos), err)
		}
		snap.ReadAt = timeOf(readAt)
		out[key] = snap
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres %s: snapshots of %d repositories: %w", s.where, len(repos), err)
	}
	return out, nil
}

// RepoFiles returns the snapshot and the stored files of repo, sorted by
// path (by bytes); app.ErrNotFound when it has no snapshot. One query
// reads both, so they are of the same save.
func (s *Store) RepoFiles(ctx context.Context, repo string) (app.RepoSnapshot, []app.RepoFile, error) {
	if err := s.check(); err != nil {
		return app.RepoSnapshot{}, nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+snapshotColumns+`, f.path, f.blob, f.data
		FROM repo_snapshots s LEFT JOIN repo_files f ON f.repo_key = s.repo_key
		WHERE s.repo_key = $1 ORDER BY f.path`, repoKey(repo))
	if err != nil {
		return app.RepoSnapshot{}, nil, fmt.Errorf("postgres %s: files of %s: %w", s.where, repo, err)
	}
	defer rows.Close()
	var (
		snap  app.RepoSnapshot
		files = []app.RepoFile{}
		found bool
	)
	for rows.Next() {
		var (
			readAt     pgtype.Timestamptz
			path, blob pgtype.Text
			data       []byte
		)
		if err := rows.Scan(append(scanSnapshot(&snap, &readAt), &path, &blob, &data)...); err != nil {
			return app.RepoSnapshot{}, nil, fmt.Errorf("postgres %s: files of %s: %w", s.where, repo, err)
		}
		snap.ReadAt = timeOf(readAt)
		found = true
		if !path.Valid {
			continue // a snapshot without files
		}
		if data == nil {
			data = []byte{}
		}
		files = append(files, app.RepoFile{Path: path.String, Blob: blob.String, Data: data})
	}
	if err := rows.Err(); err != nil {
		return app.RepoSnapshot{}, nil, fmt.Errorf("postgres %s: files of %s: %w", s.where, repo, err)
	}
	if !found {
		return app.RepoSnapshot{}, nil, fmt.Errorf("postgres store: files of %s: %w", repo, app.ErrNotFound)
	}
	return snap, files, nil
}

// DeleteRepo forgets repo's snapshot and files (compared without case).
func (s *Store) DeleteRepo(ctx context.Context, repo string) error {
	if err := s.check(); err != nil {
		return err
	}
	key := repoKey(repo)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM repo_files WHERE repo_key = $1`, key); err != nil {
			return fmt.Errorf("postgres %s: delete files of %s: %w", s.where, repo, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM repo_snapshots WHERE repo_key = $1`, key); err != nil {
			return fmt.Errorf("postgres %s: delete snapshot of %s: %w", s.where, repo, err)
		}
		return nil
	})
}
