package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/backstory-dev/backstory/app"
)

// SaveRepoFiles records snap and, in the same transaction, stores changed
// and deletes removed (with snap.Complete, every other file of the
// repository), unless the stored snapshot of the repository (compared
// without case) was read later: then it changes nothing and returns false.
// The snapshot's file count is counted again after the changes, so it never
// drifts from the rows.
func (s *Store) SaveRepoFiles(ctx context.Context, snap app.RepoSnapshot, changed []app.RepoFile, removed []string) (bool, error) {
	snap, changed, removed, err := app.StoredRepoFiles(snap, changed, removed)
	if err != nil {
		return false, fmt.Errorf("sqlite store: %w", err)
	}
	key, size := repoKey(snap.Repository), 0
	for _, f := range changed {
		size += len(f.Data)
	}
	var saved bool
	err = s.write(ctx, size, func(tx *sql.Tx) error {
		saved = false
		res, err := tx.Exec(`INSERT INTO repo_snapshots (repo_key, repository, repository_id, installation, branch, tree_sha, read_at, files)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0)
			ON CONFLICT (repo_key) DO UPDATE SET
				repository = excluded.repository, repository_id = excluded.repository_id, installation = excluded.installation,
				branch = excluded.branch, tree_sha = excluded.tree_sha, read_at = excluded.read_at
			WHERE repo_snapshots.read_at <= excluded.read_at`,
			key, snap.Repository, snap.RepositoryID, snap.Installation, snap.Branch, snap.TreeSHA, snap.ReadAt.UnixNano())
		if err != nil {
			return fmt.Errorf("sqlite %s: save files of %s: %w", s.path, snap.Repository, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // a later snapshot is stored
		}
		if len(changed) > 0 {
			upsert, err := tx.Prepare(`INSERT INTO repo_files (repo_key, path, blob, data) VALUES (?, ?, ?, ?)
				ON CONFLICT (repo_key, path) DO UPDATE SET blob = excluded.blob, data = excluded.data`)
			if err != nil {
				return fmt.Errorf("sqlite %s: save files of %s: %w", s.path, snap.Repository, err)
			}
			defer upsert.Close()
			for _, f := range changed {
				data := f.Data
				if data == nil {
					data = []byte{} // a blob, not NULL
				}
				if _, err := upsert.Exec(key, f.Path, f.Blob, data); err != nil {
					return fmt.Errorf("sqlite %s: save %s of %s: %w", s.path, f.Path, snap.Repository, err)
				}
			}
		}
		if snap.Complete {
			// Never nil: json_each('null') is one NULL row, and NOT IN
			// (NULL) would delete nothing.
			paths := make([]string, len(changed))
			for i, f := range changed {
				paths[i] = f.Path
			}
			list, err := json.Marshal(paths)
			if err != nil {
				return fmt.Errorf("sqlite store: save files of %s: %w", snap.Repository, err)
			}
			if _, err := tx.Exec(replaceFilesDelete, key, string(list)); err != nil {
				return fmt.Errorf("sqlite %s: remove other files of %s: %w", s.path, snap.Repository, err)
			}
		}
		if len(removed) > 0 {
			list, err := json.Marshal(removed)
			if err != nil {
				return fmt.Errorf("sqlite store: save files of %s: %w", snap.Repository, err)
			}
			if _, err := tx.Exec(`DELETE FROM repo_files WHERE repo_key = ? AND path IN (SELECT value FROM json_each(?))`, key, string(list)); err != nil {
				return fmt.Errorf("sqlite %s: remove files of %s: %w", s.path, snap.Repository, err)
			}
		}
		if _, err := tx.Exec(`UPDATE repo_snapshots SET files = (SELECT count(*) FROM repo_files WHERE repo_key = ?1) WHERE repo_key = ?1`, key); err != nil {
			return fmt.Errorf("sqlite %s: count files of %s: %w", s.path, snap.Repository, err)
		}
		saved = true
		return nil
	})
	return saved && err == nil, err
}

// replaceFilesDelete deletes the files of a repository key whose paths
// are not in a JSON list: what a Complete save leaves of the stored files
// is exactly the files it lists. One parameter whatever their number, as
// SQLite caps them.
const replaceFilesDelete = `DELETE FROM repo_files WHERE repo_key = ? AND path NOT IN (SELECT value FROM json_each(?))`

// snapshotColumns are read by scanSnapshot, in its order.
const snapshotColumns = `s.repository, s.repository_id, s.installation, s.branch, s.tree_sha, s.read_at, s.files`

// snapshotsQuery reads the snapshots of a JSON list of repository keys:
// one parameter whatever their number, as SQLite caps them.
const snapshotsQuery = `SELECT s.repo_key, ` + snapshotColumns + `
	FROM repo_snapshots s WHERE s.repo_key IN (SELECT value FROM json_each(?))`

// filesQuery reads the snapshot of a repository key and its files, in
// order.
const filesQuery = `SELECT ` + snapshotColumns + `, f.path, f.blob, f.data
	FROM repo_snapshots s LEFT JOIN repo_files f ON f.repo_key = s.repo_key
	WHERE s.repo_key = ? ORDER BY f.path`

func scanSnapshot(snap *app.RepoSnapshot, readAt *int64) []any {
	return []any{&snap.Repository, &snap.RepositoryID, &snap.Installation, &snap.Branch, &snap.TreeSHA, readAt, &snap.Files}
}

// RepoSnapshots returns the stored snapshots of repos, keyed by
// app.RepositoryKey, in one query whatever their number.
func (s *Store) RepoSnapshots(ctx context.Context, repos []string) (map[string]app.RepoSnapshot, error) {
	if s.isClosed() {
		return nil, errClosed
	}
	out := make(map[string]app.RepoSnapshot, len(repos))
	if len(repos) == 0 {
		return out, nil
	}
	keys := make([]string, len(repos))
	for k, r := range repos {
		keys[k] = repoKey(r)
	}
	list, err := json.Marshal(keys)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: snapshots of %q: %w", repos, err)
	}
	rows, err := s.rdb.QueryContext(ctx, snapshotsQuery, string(list))
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: snapshots of %d repositories: %w", s.path, len(repos), err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key    string
			snap   app.RepoSnapshot
			readAt int64
		)
		if err := rows.Scan(append([]any{&key}, scanSnapshot(&snap, &readAt)...)...); err != nil {
			return nil, fmt.Errorf("sqlite %s: snapshots of %d repositories: %w", s.path, len(repos), err)
		}
		snap.ReadAt = timeOf(sql.NullInt64{Int64: readAt, Valid: true})
		out[key] = snap
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite %s: snapshots of %d repositories: %w", s.path, len(repos), err)
	}
	return out, nil
}

// RepoFiles returns the snapshot and the stored files of repo, sorted by
// path (by bytes); app.ErrNotFound when it has no snapshot. One query
// reads both, so they are of the same save.
func (s *Store) RepoFiles(ctx context.Context, repo string) (app.RepoSnapshot, []app.RepoFile, error) {
	if s.isClosed() {
		return app.RepoSnapshot{}, nil, errClosed
	}
	rows, err := s.rdb.QueryContext(ctx, filesQuery, repoKey(repo))
	if err != nil {
		return app.RepoSnapshot{}, nil, fmt.Errorf("sqlite %s: files of %s: %w", s.path, repo, err)
	}
	defer rows.Close()
	var (
		snap  app.RepoSnapshot
		files = []app.RepoFile{}
		found bool
	)
	for rows.Next() {
		var (
			readAt     int64
			path, blob sql.NullString
			data       []byte
		)
		if err := rows.Scan(append(scanSnapshot(&snap, &readAt), &path, &blob, &data)...); err != nil {
			return app.RepoSnapshot{}, nil, fmt.Errorf("sqlite %s: files of %s: %w", s.path, repo, err)
		}
		snap.ReadAt = timeOf(sql.NullInt64{Int64: readAt, Valid: true})
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
		return app.RepoSnapshot{}, nil, fmt.Errorf("sqlite %s: files of %s: %w", s.path, repo, err)
	}
	if !found {
		return app.RepoSnapshot{}, nil, fmt.Errorf("sqlite store: files of %s: %w", repo, app.ErrNotFound)
	}
	return snap, files, nil
}

// DeleteRepo forgets repo's snapshot and files (compared without case).
func (s *Store) DeleteRepo(ctx context.Context, repo string) error {
	key := repoKey(repo)
	return s.write(ctx, 0, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM repo_files WHERE repo_key = ?`, key); err != nil {
			return fmt.Errorf("sqlite %s: delete files of %s: %w", s.path, repo, err)
		}
		if _, err := tx.Exec(`DELETE FROM repo_snapshots WHERE repo_key = ?`, key); err != nil {
			return fmt.Errorf("sqlite %s: delete snapshot of %s: %w", s.path, repo, err)
		}
		return nil
	})
}
