package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/backstory-dev/backstory/app"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// CheckRun returns the stored check run for repo, sha and name, or
// app.ErrNotFound.
func (s *Store) CheckRun(ctx context.Context, repo, sha, name string) (app.CheckRun, error) {
	if err := s.check(); err != nil {
		return app.CheckRun{}, err
	}
	r := app.CheckRun{Repository: repo, HeadSHA: sha, Name: name}
	var updated pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, `SELECT id, content_hash, annotations_hash, updated_at FROM check_runs
		WHERE repository = $1 AND head_sha = $2 AND name = $3`, repo, sha, name).
		Scan(&r.ID, &r.ContentHash, &r.AnnotationsHash, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return app.CheckRun{}, fmt.Errorf("postgres store: check run %q on %s@%s: %w", name, repo, sha, app.ErrNotFound)
	}
	if err != nil {
		return app.CheckRun{}, fmt.Errorf("postgres %s: check run %q on %s@%s: %w", s.where, name, repo, sha, err)
	}
	r.UpdatedAt = timeOf(updated)
	return r, nil
}

// SaveCheckRun stores r, replacing any with the same repo, sha and name.
func (s *Store) SaveCheckRun(ctx context.Context, r app.CheckRun) error {
	if err := s.check(); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO check_runs (repository, head_sha, name, id, content_hash, annotations_hash, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (repository, head_sha, name) DO UPDATE SET
			id = excluded.id, content_hash = excluded.content_hash,
			annotations_hash = excluded.annotations_hash, updated_at = excluded.updated_at`,
		r.Repository, r.HeadSHA, r.Name, r.ID, r.ContentHash, r.AnnotationsHash, ts(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("postgres %s: save check run %q on %s@%s: %w", s.where, r.Name, r.Repository, r.HeadSHA, err)
	}
	return nil
}

// Waiver returns the waiver of a pull request, or app.ErrNotFound.
func (s *Store) Waiver(ctx context.Context, repo string, pr int) (app.Waiver, error) {
	if err := s.check(); err != nil {
		return app.Waiver{}, err
	}
	w := app.Waiver{Repository: repo, PR: pr}
	var at pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, `SELECT by_login, at FROM waivers WHERE repository = $1 AND pr = $2`, repo, pr).Scan(&w.By, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return app.Waiver{}, fmt.Errorf("postgres store: waiver of %s#%d: %w", repo, pr, app.ErrNotFound)
	}
	if err != nil {
		return app.Waiver{}, fmt.Errorf("postgres %s: waiver of %s#%d: %w", s.where, repo, pr, err)
	}
	w.At = timeOf(at)
	return w, nil
}

// SaveWaiver stores w, replacing any earlier waiver of the same PR.
func (s *Store) SaveWaiver(ctx context.Context, w app.Waiver) error {
	if err := s.check(); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO waivers (repository, pr, by_login, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (repository, pr) DO UPDATE SET by_login = excluded.by_login, at = excluded.at`,
		w.Repository, w.PR, w.By, ts(w.At))
	if err != nil {
		return fmt.Errorf("postgres %s: save waiver of %s#%d: %w", s.where, w.Repository, w.PR, err)
	}
	return nil
}

// DeleteWaiver removes a PR's waiver; no error when there is none.
func (s *Store) DeleteWaiver(ctx context.Context, repo string, pr int) error {
	if err := s.check(); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM waivers WHERE repository = $1 AND pr = $2`, repo, pr); err != nil {
		return fmt.Errorf("postgres %s: delete waiver of %s#%d: %w", s.where, repo, pr, err)
	}
	return nil
}

// SetOpenPRRecords replaces the numbered records that open PR pr of repo
// adds, in the order given; an empty list removes the PR.
func (s *Store) SetOpenPRRecords(ctx context.Context, repo string, pr int, records []app.RecordNumber) error {
	if err := s.check(); err != nil {
		return err
	}
	folders := make([]string, len(records))
	numbers := make([]int32, len(records))
	paths := make([]string, len(records))
	for i, r := range records {
		if r.Number < 0 || r.Number > math.MaxInt32 {
			return fmt.Errorf("postgres store: set records of %s#%d: record number %d of %s is out of range", repo, pr, r.Number, r.Path)
		}
		folders[i], numbers[i], paths[i] = r.Folder, int32(r.Number), r.Path
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM open_pr_records WHERE repository = $1 AND pr = $2`, repo, pr); err != nil {
			return err
		}
		if len(records) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO open_pr_records (repository, pr, position, folder, number, path)
			SELECT $1, $2, r.ord - 1, r.folder, r.number, r.path
			FROM unnest($3::text[], $4::int[], $5::text[]) WITH ORDINALITY AS r(folder, number, path, ord)`,
			repo, pr, folders, numbers, paths)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres %s: set records of %s#%d: %w", s.where, repo, pr, err)
	}
	return nil
}

// OpenPRRecords returns the numbered records every open PR of repo adds.
func (s *Store) OpenPRRecords(ctx context.Context, repo string) (map[int][]app.RecordNumber, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT pr, folder, number, path FROM open_pr_records
		WHERE repository = $1 ORDER BY pr, position`, repo)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: open PR records of %s: %w", s.where, repo, err)
	}
	defer rows.Close()
	out := map[int][]app.RecordNumber{}
	for rows.Next() {
		var pr int
		var r app.RecordNumber
		if err := rows.Scan(&pr, &r.Folder, &r.Number, &r.Path); err != nil {
			return nil, fmt.Errorf("postgres %s: open PR records of %s: %w", s.where, repo, err)
		}
		out[pr] = append(out[pr], r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres %s: open PR records of %s: %w", s.where, repo, err)
	}
	return out, nil
}
