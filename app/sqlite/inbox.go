package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/backstory-dev/backstory/app"
)

// deliveryColumns are read by scanDelivery, in its order.
const deliveryColumns = `seq, id, event, action, installation_id, repository, key, received_at,
	state, attempts, next_attempt, last_error, done_at, payload`

type scanner interface{ Scan(dest ...any) error }

func scanDelivery(row scanner) (app.Delivery, int64, error) {
	var (
		d                   app.Delivery
		seq                 int64
		state               string
		received            int64
		nextAttempt, doneAt sql.NullInt64
	)
	err := row.Scan(&seq, &d.ID, &d.Event, &d.Action, &d.InstallationID, &d.Repository, &d.Key, &received,
		&state, &d.Attempts, &nextAttempt, &d.LastError, &doneAt, &d.Payload)
	if err != nil {
		return app.Delivery{}, 0, err
	}
	d.ReceivedAt = time.Unix(0, received).UTC()
	d.State = app.DeliveryState(state)
	d.NextAttempt = timeOf(nextAttempt)
	d.DoneAt = timeOf(doneAt)
	if d.Payload == nil {
		d.Payload = []byte{}
	}
	return d, seq, nil
}

// validate refuses what the PostgreSQL store cannot keep, so that both
// stores accept the same deliveries.
func validate(d app.Delivery) error {
	if d.ID == "" {
		return errors.New("delivery has no id (X-GitHub-Delivery)")
	}
	for _, f := range []struct{ name, v string }{
		{"id", d.ID}, {"event", d.Event}, {"action", d.Action}, {"repository", d.Repository}, {"key", d.Key},
	} {
		if !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0) {
			return fmt.Errorf("delivery %q: %s %q is not valid UTF-8 text", d.ID, f.name, f.v)
		}
	}
	return nil
}

// Enqueue stores d as pending, due at once (NextAttempt zero). A zero
// ReceivedAt is taken as now.
func (s *Store) Enqueue(ctx context.Context, d app.Delivery) (bool, error) {
	if err := validate(d); err != nil {
		return false, fmt.Errorf("sqlite store: enqueue: %w", err)
	}
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = time.Now()
	}
	payload := d.Payload
	if payload == nil {
		payload = []byte{}
	}
	var inserted bool
	err := s.write(ctx, len(payload), func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO deliveries (id, event, action, installation_id, repository, key, received_at, state, payload)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT (id) DO NOTHING`,
			d.ID, d.Event, d.Action, d.InstallationID, d.Repository, d.Key, d.ReceivedAt.UnixNano(), payload)
		if err != nil {
			return fmt.Errorf("sqlite %s: enqueue %s: %w", s.path, d.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite %s: enqueue %s: %w", s.path, d.ID, err)
		}
		inserted = n == 1
		return nil
	})
	return inserted, err
}

// candidate is a due delivery Claim may hand out.
type candidate struct {
	seq      int64
	key      string
	received int64
}

func (a candidate) compare(b candidate) int {
	return cmp.Or(cmp.Compare(a.received, b.received), cmp.Compare(a.seq, b.seq))
}

// Claim leases up to n due deliveries to worker until now+lease, oldest
// ReceivedAt first, enqueue order among equals.
func (s *Store) Claim(ctx context.Context, worker string, n int, now time.Time, lease time.Duration) ([]app.Delivery, error) {
	if worker == "" {
		return nil, errors.New("sqlite store: claim: empty worker name")
	}
	if lease <= 0 {
		return nil, fmt.Errorf("sqlite store: claim: lease must be positive, got %s", lease)
	}
	if n <= 0 {
		return nil, nil
	}
	var out []app.Delivery
	err := s.write(ctx, 0, func(tx *sql.Tx) error {
		out = out[:0]
		picked, err := s.pick(tx, n, now.UnixNano())
		if err != nil {
			return fmt.Errorf("sqlite %s: claim: %w", s.path, err)
		}
		until := now.Add(lease).UnixNano()
		for _, c := range picked {
			row := tx.QueryRow(`UPDATE deliveries SET state = 'claimed', lease_owner = ?, lease_until = ?
				WHERE seq = ? RETURNING `+deliveryColumns, worker, until, c.seq)
			d, _, err := scanDelivery(row)
			if err != nil {
				return fmt.Errorf("sqlite %s: claim: %w", s.path, err)
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pick chooses what Claim hands out. The claimed deliveries are few (what
// workers hold now), so they are read whole; the pending ones are read
// oldest first through a partial index and only as far as needed, so that
// a long backlog does not slow every claim down.
func (s *Store) pick(tx *sql.Tx, n int, now int64) ([]candidate, error) {
	busy := map[string]bool{}
	var expired []candidate
	rows, err := tx.Query(`SELECT seq, key, received_at, lease_until FROM deliveries WHERE state = 'claimed'`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c candidate
		var until int64
		if err := rows.Scan(&c.seq, &c.key, &c.received, &until); err != nil {
			rows.Close()
			return nil, err
		}
		if until > now {
			if c.key != "" {
				busy[c.key] = true
			}
		} else {
			expired = append(expired, c)
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	slices.SortFunc(expired, candidate.compare)

	var picked []candidate
	take := func(c candidate) {
		if c.key != "" {
			if busy[c.key] {
				return
			}
			busy[c.key] = true
		}
		picked = append(picked, c)
	}
	rows, err = tx.Query(`SELECT seq, key, received_at FROM deliveries INDEXED BY deliveries_pending_order
		WHERE state = 'pending' AND (next_attempt IS NULL OR next_attempt <= ?)
		ORDER BY received_at, seq`, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for len(picked) < n && rows.Next() {
		var c candidate
		if err := rows.Scan(&c.seq, &c.key, &c.received); err != nil {
			return nil, err
		}
		for len(expired) > 0 && len(picked) < n && expired[0].compare(c) < 0 {
			take(expired[0])
			expired = expired[1:]
		}
		if len(picked) < n {
			take(c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for len(expired) > 0 && len(picked) < n {
		take(expired[0])
		expired = expired[1:]
	}
	return picked, nil
}

// Complete marks a delivery claimed by worker done.
func (s *Store) Complete(ctx context.Context, id, worker string, now time.Time) error {
	return s.finish(ctx, "complete", id, worker, `state = 'done', done_at = ?`, nanos(now))
}

// Retry puts a delivery claimed by worker back as pending, due at at.
func (s *Store) Retry(ctx context.Context, id, worker string, at time.Time, reason string) error {
	return s.finish(ctx, "retry", id, worker, `state = 'pending', next_attempt = ?, attempts = attempts + 1, last_error = ?`,
		nanos(at), cleanText(reason))
}

// Release puts a delivery claimed by worker back, due at at, without
// counting an attempt.
func (s *Store) Release(ctx context.Context, id, worker string, at time.Time) error {
	return s.finish(ctx, "release", id, worker, `state = 'pending', next_attempt = ?`, nanos(at))
}

// Bury makes a delivery claimed by worker dead, with DoneAt now.
func (s *Store) Bury(ctx context.Context, id, worker string, now time.Time, reason string) error {
	return s.finish(ctx, "bury", id, worker, `state = 'dead', done_at = ?, attempts = attempts + 1, last_error = ?`,
		nanos(now), cleanText(reason))
}

// finish applies set to a delivery worker holds. A lease that expired is
// still held until another worker claims the delivery: nobody else has
// started on it.
func (s *Store) finish(ctx context.Context, verb, id, worker, set string, args ...any) error {
	return s.write(ctx, 0, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE deliveries SET `+set+`, lease_owner = '', lease_until = NULL
			WHERE id = ? AND state = 'claimed' AND lease_owner = ?`, append(args, id, worker)...)
		if err != nil {
			return fmt.Errorf("sqlite %s: %s %s: %w", s.path, verb, id, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		return s.notHeld(tx, verb, id, worker)
	})
}

// notHeld says why worker could not change delivery id: it is not stored
// (app.ErrNotFound) or worker does not hold it (app.ErrLeaseLost).
func (s *Store) notHeld(tx *sql.Tx, verb, id, worker string) error {
	var one int
	err := tx.QueryRow(`SELECT 1 FROM deliveries WHERE id = ?`, id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlite store: %s delivery %q: %w", verb, id, app.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite %s: %s %s: %w", s.path, verb, id, err)
	}
	return fmt.Errorf("sqlite store: %s delivery %q as %q: %w", verb, id, worker, app.ErrLeaseLost)
}

// Extend moves the lease of a delivery claimed by worker to until. Like
// Complete, it succeeds on an expired lease nobody has taken over.
func (s *Store) Extend(ctx context.Context, id, worker string, until time.Time) error {
	if until.IsZero() {
		return fmt.Errorf("sqlite store: extend delivery %q: no lease end", id)
	}
	return s.write(ctx, 0, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE deliveries SET lease_until = ? WHERE id = ? AND state = 'claimed' AND lease_owner = ?`,
			until.UnixNano(), id, worker)
		if err != nil {
			return fmt.Errorf("sqlite %s: extend %s: %w", s.path, id, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		return s.notHeld(tx, "extend", id, worker)
	})
}

// Deliveries lists the deliveries that match f, oldest ReceivedAt first,
// then by ID, each with its payload. Repository names compare through
// SQLite's lower(), which folds ASCII letters only: GitHub's names are
// ASCII.
func (s *Store) Deliveries(ctx context.Context, f app.DeliveryFilter) ([]app.Delivery, error) {
	if s.isClosed() {
		return nil, errClosed
	}
	query, args, err := deliveriesQuery(f)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: deliveries: %w", err)
	}
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: deliveries: %w", s.path, err)
	}
	defer rows.Close()
	out := []app.Delivery{}
	for rows.Next() {
		d, _, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite %s: deliveries: %w", s.path, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite %s: deliveries: %w", s.path, err)
	}
	return out, nil
}

// deliveriesQuery is the query Deliveries runs for f, and its arguments.
// The matching rows are chosen and ordered without their payloads, then
// only those are read whole: SQLite's sorter copies every column it is
// given, and the oldest of a backlog of large payloads (the metrics' query)
// would otherwise copy them all.
func deliveriesQuery(f app.DeliveryFilter) (string, []any, error) {
	var (
		where []string
		args  []any
	)
	if len(f.States) > 0 {
		states, err := json.Marshal(f.States)
		if err != nil {
			return "", nil, fmt.Errorf("states %q: %w", f.States, err)
		}
		where, args = append(where, `state IN (SELECT value FROM json_each(?))`), append(args, string(states))
	}
	if f.Repository != "" {
		where, args = append(where, `lower(repository) = lower(?)`), append(args, cleanText(f.Repository))
	}
	if f.Event != "" {
		where, args = append(where, `event = ?`), append(args, f.Event)
	}
	if !f.Since.IsZero() {
		where, args = append(where, `received_at >= ?`), append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		where, args = append(where, `received_at < ?`), append(args, f.Until.UnixNano())
	}
	chosen := `SELECT seq FROM deliveries`
	if len(where) > 0 {
		chosen += ` WHERE ` + strings.Join(where, ` AND `)
	}
	chosen += ` ORDER BY received_at, id`
	if f.Limit > 0 {
		chosen, args = chosen+` LIMIT ?`, append(args, f.Limit)
	}
	return `SELECT ` + deliveryColumns + ` FROM deliveries WHERE seq IN (` + chosen + `) ORDER BY received_at, id`, args, nil
}

// Requeue makes the listed dead and done deliveries pending, due at now,
// with no attempts counted; it returns their ids in the order listed.
func (s *Store) Requeue(ctx context.Context, ids []string, now time.Time) ([]string, error) {
	// An id that is not text was never stored; JSON would change it into
	// one that might be.
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !utf8.ValidString(id) || strings.ContainsRune(id, 0) })
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: requeue %q: %w", ids, err)
	}
	requeued := map[string]bool{}
	err = s.write(ctx, 0, func(tx *sql.Tx) error {
		clear(requeued)
		rows, err := tx.Query(requeueUpdate, nanos(now), string(list))
		if err != nil {
			return fmt.Errorf("sqlite %s: requeue: %w", s.path, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("sqlite %s: requeue: %w", s.path, err)
			}
			requeued[id] = true
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite %s: requeue: %w", s.path, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inOrder(ids, requeued), nil
}

// requeueUpdate requeues the dead and done deliveries of a JSON list of
// ids. "+state" keeps SQLite from reading every done delivery through the
// state index instead of the few listed through the id's.
const requeueUpdate = `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt = ?, done_at = NULL
	WHERE id IN (SELECT value FROM json_each(?)) AND +state IN ('dead', 'done') RETURNING id`

// inOrder returns the ids of set in the order of list, each once.
func inOrder(list []string, set map[string]bool) []string {
	out := []string{}
	for _, id := range list {
		if set[id] {
			out = append(out, id)
			delete(set, id)
		}
	}
	return out
}

// pruneBatch is how many deliveries one transaction of Prune deletes: one
// long delete would hold up every other write behind the single writer.
const pruneBatch = 500

// pruneDelete deletes up to a batch of the done deliveries done before a
// time.
const pruneDelete = `DELETE FROM deliveries WHERE seq IN (
	SELECT seq FROM deliveries INDEXED BY deliveries_done_at WHERE state = 'done' AND done_at < ? LIMIT ?)`

// Prune deletes the done deliveries whose DoneAt is before before, a batch
// per transaction, and returns how many it deleted (until an error, if
// any). A pruned delivery is forgotten entirely: Known no longer reports
// it, so if GitHub redelivers it, Enqueue stores it again as new.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	if before.IsZero() {
		// Nothing is before the zero time.
		if s.isClosed() {
			return 0, errClosed
		}
		return 0, nil
	}
	total := 0
	for {
		var n int64
		err := s.write(ctx, 0, func(tx *sql.Tx) error {
			res, err := tx.Exec(pruneDelete, before.UnixNano(), pruneBatch)
			if err != nil {
				return fmt.Errorf("sqlite %s: prune: %w", s.path, err)
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < pruneBatch {
			return total, nil
		}
	}
}

// Delivery returns one delivery by id, or app.ErrNotFound.
func (s *Store) Delivery(ctx context.Context, id string) (app.Delivery, error) {
	d, _, err := scanDelivery(s.rdb.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return app.Delivery{}, fmt.Errorf("sqlite store: delivery %q: %w", id, app.ErrNotFound)
	}
	if err != nil {
		return app.Delivery{}, fmt.Errorf("sqlite %s: delivery %s: %w", s.path, id, err)
	}
	return d, nil
}

// Known reports which of ids are stored, in any state.
func (s *Store) Known(ctx context.Context, ids []string) (map[string]bool, error) {
	known := make(map[string]bool, len(ids))
	// SQLite caps the parameters of one statement.
	for chunk := range slices.Chunk(ids, 500) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.rdb.QueryContext(ctx, `SELECT id FROM deliveries WHERE id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite %s: known: %w", s.path, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite %s: known: %w", s.path, err)
			}
			known[id] = true
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("sqlite %s: known: %w", s.path, err)
		}
	}
	return known, nil
}

// Counts returns how many deliveries are in each state.
func (s *Store) Counts(ctx context.Context) (map[app.DeliveryState]int, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT state, count(*) FROM deliveries GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: counts: %w", s.path, err)
	}
	defer rows.Close()
	counts := map[app.DeliveryState]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("sqlite %s: counts: %w", s.path, err)
		}
		counts[app.DeliveryState(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite %s: counts: %w", s.path, err)
	}
	return counts, nil
}
