package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/backstory-dev/backstory/app"
)

// ReserveReview records r, Number 0, unless the same repository (compared
// without case), record and review date is stored: then it returns that one
// and false.
func (s *Store) ReserveReview(ctx context.Context, r app.ReviewIssue) (app.ReviewIssue, bool, error) {
	r, err := app.StoredReview(r)
	if err != nil {
		return app.ReviewIssue{}, false, fmt.Errorf("sqlite store: reserve %w", err)
	}
	if r.Number != 0 {
		return app.ReviewIssue{}, false, fmt.Errorf("sqlite store: reserve review of %s %s: issue number %d before the issue is opened", r.Repository, r.Record, r.Number)
	}
	var (
		stored   app.ReviewIssue
		reserved bool
	)
	err = s.write(ctx, 0, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO review_issues (repo_key, record, review_by, repository, number, reserved_at)
			VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING`,
			repoKey(r.Repository), r.Record, r.ReviewBy, r.Repository, nanos(r.ReservedAt))
		if err != nil {
			return fmt.Errorf("sqlite %s: reserve review of %s %s: %w", s.path, r.Repository, r.Record, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite %s: reserve review of %s %s: %w", s.path, r.Repository, r.Record, err)
		}
		if reserved = n == 1; reserved {
			stored = r
			return nil
		}
		var at sql.NullInt64
		err = tx.QueryRow(`SELECT repository, record, review_by, number, reserved_at FROM review_issues
			WHERE repo_key = ? AND record = ? AND review_by = ?`, repoKey(r.Repository), r.Record, r.ReviewBy).
			Scan(&stored.Repository, &stored.Record, &stored.ReviewBy, &stored.Number, &at)
		if err != nil {
			return fmt.Errorf("sqlite %s: read the review of %s %s: %w", s.path, r.Repository, r.Record, err)
		}
		stored.ReservedAt = timeOf(at)
		return nil
	})
	if err != nil {
		return app.ReviewIssue{}, false, err
	}
	return stored, reserved, nil
}

// SaveReview sets the issue number of a reserved review; app.ErrNotFound
// when it was not reserved.
func (s *Store) SaveReview(ctx context.Context, r app.ReviewIssue) error {
	r, err := app.StoredReview(r)
	if err != nil {
		return fmt.Errorf("sqlite store: save %w", err)
	}
	if r.Number <= 0 {
		return fmt.Errorf("sqlite store: save review of %s %s: issue number %d, want 1 or more", r.Repository, r.Record, r.Number)
	}
	return s.write(ctx, 0, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE review_issues SET number = ? WHERE repo_key = ? AND record = ? AND review_by = ?`,
			r.Number, repoKey(r.Repository), r.Record, r.ReviewBy)
		if err != nil {
			return fmt.Errorf("sqlite %s: save review of %s %s: %w", s.path, r.Repository, r.Record, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		return fmt.Errorf("sqlite store: save review of %s %s by %s: %w", r.Repository, r.Record, r.ReviewBy, app.ErrNotFound)
	})
}
