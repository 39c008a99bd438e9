package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/backstory-dev/backstory/app"
	"github.com/jackc/pgx/v5/pgtype"
)

// SaveIntent stores i, replacing an intent of the same repository (compared
// without case) and PR.
func (s *Store) SaveIntent(ctx context.Context, i app.Intent) error {
	if err := s.check(); err != nil {
		return err
	}
	if i.Repository == "" || i.PR <= 0 {
		return fmt.Errorf("postgres store: save intent: no repository or PR number (%q#%d)", i.Repository, i.PR)
	}
	if i.PR > math.MaxInt32 {
		return fmt.Errorf("postgres store: save intent of %s#%d: PR number out of range", i.Repository, i.PR)
	}
	i = cleanIntent(i)
	_, err := s.pool.Exec(ctx, `INSERT INTO intents (repo_key, pr, repository, title, author, url, merged_at, merge_sha, why, records, paths)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (repo_key, pr) DO UPDATE SET
			repository = excluded.repository, title = excluded.title, author = excluded.author,
			url = excluded.url, merged_at = excluded.merged_at, merge_sha = excluded.merge_sha,
			why = excluded.why, records = excluded.records, paths = excluded.paths`,
		repoKey(i.Repository), i.PR, i.Repository, i.Title, i.Author, i.URL, ts(i.MergedAt), i.MergeSHA, i.Why, i.Records, i.Paths)
	if err != nil {
		return fmt.Errorf("postgres %s: save intent of %s#%d: %w", s.where, i.Repository, i.PR, err)
	}
	return nil
}

// Intents returns the intents of repos (compared without case), oldest
// merge first, then by repository and PR. Repositories are ordered by their
// lower-cased names' bytes (COLLATE "C"), as in the other stores, not by
// the database's locale.
func (s *Store) Intents(ctx context.Context, repos []string) ([]app.Intent, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	out := []app.Intent{}
	if len(repos) == 0 {
		return out, nil
	}
	keys := make([]string, len(repos))
	for k, r := range repos {
		keys[k] = repoKey(r)
	}
	rows, err := s.pool.Query(ctx, `SELECT repository, pr, title, author, url, merged_at, merge_sha, why, records, paths
		FROM intents WHERE repo_key = ANY($1)
		ORDER BY merged_at NULLS FIRST, repo_key COLLATE "C", pr`, keys)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: intents of %q: %w", s.where, repos, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			i      app.Intent
			merged pgtype.Timestamptz
		)
		if err := rows.Scan(&i.Repository, &i.PR, &i.Title, &i.Author, &i.URL, &merged, &i.MergeSHA, &i.Why, &i.Records, &i.Paths); err != nil {
			return nil, fmt.Errorf("postgres %s: intents of %q: %w", s.where, repos, err)
		}
		i.MergedAt = timeOf(merged)
		if i.Records == nil {
			i.Records = []string{}
		}
		if i.Paths == nil {
			i.Paths = []string{}
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres %s: intents of %q: %w", s.where, repos, err)
	}
	return out, nil
}

// DeleteIntents forgets every intent of repo (compared without case).
func (s *Store) DeleteIntents(ctx context.Context, repo string) error {
	if err := s.check(); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM intents WHERE repo_key = $1`, repoKey(repo)); err != nil {
		return fmt.Errorf("postgres %s: delete intents of %s: %w", s.where, repo, err)
	}
	return nil
}

// The stores keep texts and compare repository names alike (app.StoredText).
var (
	cleanText   = app.StoredText
	cleanIntent = app.StoredIntent
	repoKey     = app.RepositoryKey
)
