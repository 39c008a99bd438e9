package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/backstory-dev/backstory/app"
)

// CheckRun returns the stored check run for repo, sha and name, or
// app.ErrNotFound.
func (s *Store) CheckRun(ctx context.Context, repo, sha, name string) (app.CheckRun, error) {
	r := app.CheckRun{Repository: repo, HeadSHA: sha, Name: name}
	var updated sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT id, content_hash, annotations_hash, updated_at FROM check_runs
		WHERE repository = ? AND head_sha = ? AND name = ?`, repo, sha, name).
		Scan(&r.ID, &r.ContentHash, &r.AnnotationsHash, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return app.CheckRun{}, fmt.Errorf("sqlite store: check run %q on %s@%s: %w", name, repo, sha, app.ErrNotFound)
	}
	if err != nil {
		return app.CheckRun{}, fmt.Errorf("sqlite %s: check run %q on %s@%s: %w", s.path, name, repo, sha, err)
	}
	r.UpdatedAt = timeOf(updated)
	return r, nil
}

// SaveCheckRun stores r, replacing any with the same repo, sha and name.
func (s *Store) SaveCheckRun(ctx context.Context, r app.CheckRun) error {
	return s.write(ctx, 0, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO check_runs (repository, head_sha, name, id, content_hash, annotations_hash, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (repository, head_sha, name) DO UPDATE SET
				id = excluded.id, content_hash = excluded.content_hash,
				annotations_hash = excluded.annotations_hash, updated_at = excluded.updated_at`,
			r.Repository, r.HeadSHA, r.Name, r.ID, r.ContentHash, r.AnnotationsHash, nanos(r.UpdatedAt))
		if err != nil {
			return fmt.Errorf("sqlite %s: save check run %q on %s@%s: %w", s.path, r.Name, r.Repository, r.HeadSHA, err)
		}
		return nil
	})
}

// Waiver returns the waiver of a pull request, or app.ErrNotFound.
func (s *Store) Waiver(ctx context.Context, repo string, pr int) (app.Waiver, error) {
	w := app.Waiver{Repository: repo, PR: pr}
	var at sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT by_login, at FROM waivers WHERE repository = ? AND pr = ?`, repo, pr).Scan(&w.By, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return app.Waiver{}, fmt.Errorf("sqlite store: waiver of %s#%d: %w", repo, pr, app.ErrNotFound)
	}
	if err != nil {
		return app.Waiver{}, fmt.Errorf("sqlite %s: waiver of %s#%d: %w", s.path, repo, pr, err)
	}
	w.At = timeOf(at)
	return w, nil
}

// SaveWaiver stores w, replacing any earlier waiver of the same PR.
func (s *Store) SaveWaiver(ctx context.Context, w app.Waiver) error {
	return s.write(ctx, 0, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO waivers (repository, pr, by_login, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (repository, pr) DO UPDATE SET by_login = excluded.by_login, at = excluded.at`,
			w.Repository, w.PR, w.By, nanos(w.At))
		if err != nil {
			return fmt.Errorf("sqlite %s: save waiver of %s#%d: %w", s.path, w.Repository, w.PR, err)
		}
		return nil
	})
}

// DeleteWaiver removes a PR's waiver; no error when there is none.
func (s *Store) DeleteWaiver(ctx context.Context, repo string, pr int) error {
	return s.write(ctx, 0, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM waivers WHERE repository = ? AND pr = ?`, repo, pr); err != nil {
			return fmt.Errorf("sqlite %s: delete waiver of %s#%d: %w", s.path, repo, pr, err)
		}
		return nil
	})
}

// SetOpenPRRecords replaces the numbered records that open PR pr of repo
// adds, in the order given; an empty list removes the PR.
func (s *Store) SetOpenPRRecords(ctx context.Context, repo string, pr int, records []app.RecordNumber) error {
	return s.write(ctx, 0, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM open_pr_records WHERE repository = ? AND pr = ?`, repo, pr); err != nil {
			return fmt.Errorf("sqlite %s: set records of %s#%d: %w", s.path, repo, pr, err)
		}
		for i, r := range records {
			if _, err := tx.Exec(`INSERT INTO open_pr_records (repository, pr, position, folder, number, path)
				VALUES (?, ?, ?, ?, ?, ?)`, repo, pr, i, r.Folder, r.Number, r.Path); err != nil {
				return fmt.Errorf("sqlite %s: set records of %s#%d: %w", s.path, repo, pr, err)
			}
		}
		return nil
	})
}

// OpenPRRecords returns the numbered records every open PR of repo adds.
func (s *Store) OpenPRRecords(ctx context.Context, repo string) (map[int][]app.RecordNumber, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT pr, folder, number, path FROM open_pr_records
		WHERE repository = ? ORDER BY pr, position`, repo)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: open PR records of %s: %w", s.path, repo, err)
	}
	defer rows.Close()
	out := map[int][]app.RecordNumber{}
	for rows.Next() {
		var pr int
		var r app.RecordNumber
		if err := rows.Scan(&pr, &r.Folder, &r.Number, &r.Path); err != nil {
			return nil, fmt.Errorf("sqlite %s: open PR records of %s: %w", s.path, repo, err)
		}
		out[pr] = append(out[pr], r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite %s: open PR records of %s: %w", s.path, repo, err)
	}
	return out, nil
}
