package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/backstory-dev/backstory/app"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// ReserveReview records r, Number 0, unless the same repository (compared
// without case), record and review date is stored: then it returns that one
// and false. Of two replicas reserving at once, one inserts; the other waits
// for its commit, then reads what it stored.
func (s *Store) ReserveReview(ctx context.Context, r app.ReviewIssue) (app.ReviewIssue, bool, error) {
	if err := s.check(); err != nil {
		return app.ReviewIssue{}, false, err
	}
	r, err := app.StoredReview(r)
	if err != nil {
		return app.ReviewIssue{}, false, fmt.Errorf("postgres store: reserve %w", err)
	}
	if r.Number != 0 {
		return app.ReviewIssue{}, false, fmt.Errorf("postgres store: reserve review of %s %s: issue number %d before the issue is opened", r.Repository, r.Record, r.Number)
	}
	key := repoKey(r.Repository)
	tag, err := s.pool.Exec(ctx, `INSERT INTO review_issues (repo_key, record, review_by, repository, number, reserved_at)
		VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT DO NOTHING`, key, r.Record, r.ReviewBy, r.Repository, ts(r.ReservedAt))
	if err != nil {
		return app.ReviewIssue{}, false, fmt.Errorf("postgres %s: reserve review of %s %s: %w", s.where, r.Repository, r.Record, err)
	}
	if tag.RowsAffected() == 1 {
		return r, true, nil
	}
	var (
		stored app.ReviewIssue
		at     pgtype.Timestamptz
	)
	err = s.pool.QueryRow(ctx, `SELECT repository, record, review_by, number, reserved_at FROM review_issues
		WHERE repo_key = $1 AND record = $2 AND review_by = $3`, key, r.Record, r.ReviewBy).
		Scan(&stored.Repository, &stored.Record, &stored.ReviewBy, &stored.Number, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		// Reviews are never deleted: a conflict without a row is a bug.
		return app.ReviewIssue{}, false, fmt.Errorf("postgres %s: reserve review of %s %s: conflicting reservation vanished", s.where, r.Repository, r.Record)
	}
	if err != nil {
		return app.ReviewIssue{}, false, fmt.Errorf("postgres %s: read the review of %s %s: %w", s.where, r.Repository, r.Record, err)
	}
	stored.ReservedAt = timeOf(at)
	return stored, false, nil
}

// SaveReview sets the issue number of a reserved review; app.ErrNotFound
// when it was not reserved.
func (s *Store) SaveReview(ctx context.Context, r app.ReviewIssue) error {
	if err := s.check(); err != nil {
		return err
	}
	r, err := app.StoredReview(r)
	if err != nil {
		return fmt.Errorf("postgres store: save %w", err)
	}
	if r.Number <= 0 {
		return fmt.Errorf("postgres store: save review of %s %s: issue number %d, want 1 or more", r.Repository, r.Record, r.Number)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE review_issues SET number = $4 WHERE repo_key = $1 AND record = $2 AND review_by = $3`,
		repoKey(r.Repository), r.Record, r.ReviewBy, r.Number)
	if err != nil {
		return fmt.Errorf("postgres %s: save review of %s %s: %w", s.where, r.Repository, r.Record, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres store: save review of %s %s by %s: %w", r.Repository, r.Record, r.ReviewBy, app.ErrNotFound)
	}
	return nil
}
