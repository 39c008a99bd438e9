package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/backstory-dev/backstory/app"
)

// SaveIntent stores i, replacing an intent of the same repository (compared
// without case) and PR.
func (s *Store) SaveIntent(ctx context.Context, i app.Intent) error {
	if i.Repository == "" || i.PR <= 0 {
		return fmt.Errorf("sqlite store: save intent: no repository or PR number (%q#%d)", i.Repository, i.PR)
	}
	i = cleanIntent(i)
	records, err := json.Marshal(i.Records)
	if err != nil {
		return fmt.Errorf("sqlite store: save intent of %s#%d: %w", i.Repository, i.PR, err)
	}
	paths, err := json.Marshal(i.Paths)
	if err != nil {
		return fmt.Errorf("sqlite store: save intent of %s#%d: %w", i.Repository, i.PR, err)
	}
	size := len(i.Title) + len(i.Why) + len(records) + len(paths)
	return s.write(ctx, size, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO intents (repo_key, pr, repository, title, author, url, merged_at, merge_sha, why, records, paths)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (repo_key, pr) DO UPDATE SET
				repository = excluded.repository, title = excluded.title, author = excluded.author,
				url = excluded.url, merged_at = excluded.merged_at, merge_sha = excluded.merge_sha,
				why = excluded.why, records = excluded.records, paths = excluded.paths`,
			repoKey(i.Repository), i.PR, i.Repository, i.Title, i.Author, i.URL, nanos(i.MergedAt), i.MergeSHA, i.Why,
			string(records), string(paths))
		if err != nil {
			return fmt.Errorf("sqlite %s: save intent of %s#%d: %w", s.path, i.Repository, i.PR, err)
		}
		return nil
	})
}

// Intents returns the intents of repos (compared without case), oldest
// merge first, then by repository and PR.
func (s *Store) Intents(ctx context.Context, repos []string) ([]app.Intent, error) {
	if s.isClosed() {
		return nil, errClosed
	}
	out := []app.Intent{}
	if len(repos) == 0 {
		return out, nil
	}
	keys := make([]string, len(repos))
	for k, r := range repos {
		keys[k] = repoKey(r)
	}
	list, err := json.Marshal(keys)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: intents of %q: %w", repos, err)
	}
	// One parameter whatever the number of repositories: SQLite caps them.
	rows, err := s.rdb.QueryContext(ctx, `SELECT repository, pr, title, author, url, merged_at, merge_sha, why, records, paths
		FROM intents WHERE repo_key IN (SELECT value FROM json_each(?))
		ORDER BY merged_at NULLS FIRST, repo_key, pr`, string(list))
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: intents of %q: %w", s.path, repos, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			i              app.Intent
			merged         sql.NullInt64
			records, paths string
		)
		if err := rows.Scan(&i.Repository, &i.PR, &i.Title, &i.Author, &i.URL, &merged, &i.MergeSHA, &i.Why, &records, &paths); err != nil {
			return nil, fmt.Errorf("sqlite %s: intents of %q: %w", s.path, repos, err)
		}
		i.MergedAt = timeOf(merged)
		if i.Records, err = stringList(records); err != nil {
			return nil, fmt.Errorf("sqlite %s: intent of %s#%d: records: %w", s.path, i.Repository, i.PR, err)
		}
		if i.Paths, err = stringList(paths); err != nil {
			return nil, fmt.Errorf("sqlite %s: intent of %s#%d: paths: %w", s.path, i.Repository, i.PR, err)
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite %s: intents of %q: %w", s.path, repos, err)
	}
	return out, nil
}

// stringList reads a JSON array of strings, never nil.
func stringList(text string) ([]string, error) {
	list := []string{}
	if err := json.Unmarshal([]byte(text), &list); err != nil {
		return nil, err
	}
	if list == nil {
		return nil, errors.New("null instead of a list")
	}
	return list, nil
}

// DeleteIntents forgets every intent of repo (compared without case).
func (s *Store) DeleteIntents(ctx context.Context, repo string) error {
	return s.write(ctx, 0, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM intents WHERE repo_key = ?`, repoKey(repo)); err != nil {
			return fmt.Errorf("sqlite %s: delete intents of %s: %w", s.path, repo, err)
		}
		return nil
	})
}

// The stores keep texts and compare repository names alike (app.StoredText).
var (
	cleanText   = app.StoredText
	cleanIntent = app.StoredIntent
	repoKey     = app.RepositoryKey
)
