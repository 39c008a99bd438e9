package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/backstory-dev/backstory/app"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// deliveryColumns are read by scanDelivery, in its order.
const deliveryColumns = `seq, id, event, action, installation_id, repository, key, received_at,
	state, attempts, next_attempt, last_error, done_at, payload`

func scanDelivery(row pgx.Row) (app.Delivery, int64, error) {
	var (
		d                             app.Delivery
		seq                           int64
		state                         string
		received, nextAttempt, doneAt pgtype.Timestamptz
	)
	err := row.Scan(&seq, &d.ID, &d.Event, &d.Action, &d.InstallationID, &d.Repository, &d.Key, &received,
		&state, &d.Attempts, &nextAttempt, &d.LastError, &doneAt, &d.Payload)
	if err != nil {
		return app.Delivery{}, 0, err
	}
	d.ReceivedAt = timeOf(received)
	d.State = app.DeliveryState(state)
	d.NextAttempt = timeOf(nextAttempt)
	d.DoneAt = timeOf(doneAt)
	if d.Payload == nil {
		d.Payload = []byte{}
	}
	return d, seq, nil
}

// validate refuses what PostgreSQL text cannot hold (NUL, invalid UTF-8)
// with an error that says which field, instead of the server's.
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
	if err := s.check(); err != nil {
		return false, err
	}
	if err := validate(d); err != nil {
		return false, fmt.Errorf("postgres store: enqueue: %w", err)
	}
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = time.Now()
	}
	payload := d.Payload
	if payload == nil {
		payload = []byte{}
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO deliveries (id, event, action, installation_id, repository, key, received_at, state, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) ON CONFLICT (id) DO NOTHING`,
		d.ID, d.Event, d.Action, d.InstallationID, d.Repository, d.Key, d.ReceivedAt, payload)
	if err != nil {
		return false, fmt.Errorf("postgres %s: enqueue %s: %w", s.where, d.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// candidate is a due delivery Claim may hand out.
type candidate struct {
	seq      int64
	key      string
	received time.Time
}

func (a candidate) compare(b candidate) int {
	return cmp.Or(a.received.Compare(b.received), cmp.Compare(a.seq, b.seq))
}

// Claim leases up to n due deliveries to worker until now+lease, oldest
// ReceivedAt first, enqueue order among equals.
//
// Claims of every replica take turns on an advisory lock of the schema:
// the Key rule reads other leases, and two claims that each saw the key free
// before the other committed would both take it. Row locks (FOR UPDATE SKIP
// LOCKED) keep a claim from waiting on a row that a worker is finishing,
// and the final UPDATE checks each row is still due, so a delivery its old
// worker finished in the meantime is not handed out again.
func (s *Store) Claim(ctx context.Context, worker string, n int, now time.Time, lease time.Duration) ([]app.Delivery, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if worker == "" {
		return nil, errors.New("postgres store: claim: empty worker name")
	}
	if lease <= 0 {
		return nil, fmt.Errorf("postgres store: claim: lease must be positive, got %s", lease)
	}
	if n <= 0 {
		return nil, nil
	}
	var out []app.Delivery
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.claimLock); err != nil {
			return err
		}
		picked, err := pick(ctx, tx, n, now)
		if err != nil || len(picked) == 0 {
			return err
		}
		seqs := make([]int64, len(picked))
		for i, c := range picked {
			seqs[i] = c.seq
		}
		rows, err := tx.Query(ctx, `UPDATE deliveries SET state = 'claimed', lease_owner = $1, lease_until = $2
			WHERE seq = ANY($3) AND (
				(state = 'pending' AND (next_attempt IS NULL OR next_attempt <= $4))
				OR (state = 'claimed' AND lease_until <= $4))
			RETURNING `+deliveryColumns, worker, now.Add(lease), seqs, now)
		if err != nil {
			return err
		}
		defer rows.Close()
		order := map[int64]int{}
		for i, c := range picked {
			order[c.seq] = i
		}
		seqOf := map[string]int64{}
		for rows.Next() {
			d, seq, err := scanDelivery(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
			seqOf[d.ID] = seq
		}
		if err := rows.Err(); err != nil {
			return err
		}
		slices.SortFunc(out, func(a, b app.Delivery) int { return cmp.Compare(order[seqOf[a.ID]], order[seqOf[b.ID]]) })
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres %s: claim: %w", s.where, err)
	}
	return out, nil
}

// pick chooses what Claim hands out. The claimed deliveries are few (what
// workers hold now), so they are read whole; the pending ones are read
// oldest first through a partial index, a page at a time, only as far as
// needed, so that a long backlog does not slow every claim down.
func pick(ctx context.Context, tx pgx.Tx, n int, now time.Time) ([]candidate, error) {
	busy := map[string]bool{}
	var expired []candidate
	rows, err := tx.Query(ctx, `SELECT seq, key, received_at, lease_until FROM deliveries WHERE state = 'claimed'`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c candidate
		var until time.Time
		if err := rows.Scan(&c.seq, &c.key, &c.received, &until); err != nil {
			rows.Close()
			return nil, err
		}
		if until.After(now) {
			if c.key != "" {
				busy[c.key] = true
			}
		} else {
			expired = append(expired, c)
		}
	}
	if rows.Close(); rows.Err() != nil {
		return nil, rows.Err()
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
	page := 4*n + 16
	var after *candidate
	for len(picked) < n {
		keys := make([]string, 0, len(busy))
		for k := range busy {
			keys = append(keys, k)
		}
		query, args := pendingFirstPage, []any{now, keys, page}
		if after != nil {
			query, args = pendingNextPage, append(args, after.received, after.seq)
		}
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		var got []candidate
		for rows.Next() {
			var c candidate
			if err := rows.Scan(&c.seq, &c.key, &c.received); err != nil {
				rows.Close()
				return nil, err
			}
			got = append(got, c)
		}
		if rows.Close(); rows.Err() != nil {
			return nil, rows.Err()
		}
		for _, c := range got {
			for len(expired) > 0 && len(picked) < n && expired[0].compare(c) < 0 {
				take(expired[0])
				expired = expired[1:]
			}
			if len(picked) < n {
				take(c)
			}
		}
		if len(got) < page {
			break
		}
		after = &got[len(got)-1]
	}
	for len(expired) > 0 && len(picked) < n {
		take(expired[0])
		expired = expired[1:]
	}
	return picked, nil
}

// pendingFirstPage and pendingNextPage read due pending deliveries in claim
// order, skipping busy keys and rows another transaction has locked.
const (
	pendingFirstPage = `SELECT seq, key, received_at FROM deliveries
		WHERE state = 'pending' AND (next_attempt IS NULL OR next_attempt <= $1) AND NOT (key = ANY($2))
		ORDER BY received_at, seq
		LIMIT $3
		FOR UPDATE SKIP LOCKED`
	pendingNextPage = `SELECT seq, key, received_at FROM deliveries
		WHERE state = 'pending' AND (next_attempt IS NULL OR next_attempt <= $1) AND NOT (key = ANY($2))
			AND (received_at, seq) > ($4, $5)
		ORDER BY received_at, seq
		LIMIT $3
		FOR UPDATE SKIP LOCKED`
)

// Complete marks a delivery claimed by worker done.
func (s *Store) Complete(ctx context.Context, id, worker string, now time.Time) error {
	return s.finish(ctx, "complete", id, worker, `state = 'done', done_at = $3`, ts(now))
}

// Retry puts a delivery claimed by worker back as pending, due at at.
func (s *Store) Retry(ctx context.Context, id, worker string, at time.Time, reason string) error {
	return s.finish(ctx, "retry", id, worker, `state = 'pending', next_attempt = $3, attempts = attempts + 1, last_error = $4`,
		ts(at), cleanText(reason))
}

// Release puts a delivery claimed by worker back, due at at, without
// counting an attempt.
func (s *Store) Release(ctx context.Context, id, worker string, at time.Time) error {
	return s.finish(ctx, "release", id, worker, `state = 'pending', next_attempt = $3`, ts(at))
}

// Bury makes a delivery claimed by worker dead, with DoneAt now.
func (s *Store) Bury(ctx context.Context, id, worker string, now time.Time, reason string) error {
	return s.finish(ctx, "bury", id, worker, `state = 'dead', done_at = $3, attempts = attempts + 1, last_error = $4`,
		ts(now), cleanText(reason))
}

// finish applies set to a delivery worker holds. A lease that expired is
// still held until another worker claims the delivery: nobody else has
// started on it.
func (s *Store) finish(ctx context.Context, verb, id, worker, set string, args ...any) error {
	if err := s.check(); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE deliveries SET `+set+`, lease_owner = '', lease_until = NULL
		WHERE id = $1 AND state = 'claimed' AND lease_owner = $2`, append([]any{id, worker}, args...)...)
	if err != nil {
		return fmt.Errorf("postgres %s: %s %s: %w", s.where, verb, id, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return s.notHeld(ctx, s.pool, verb, id, worker)
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// notHeld says why worker could not change delivery id: it is not stored
// (app.ErrNotFound) or worker does not hold it (app.ErrLeaseLost).
func (s *Store) notHeld(ctx context.Context, q querier, verb, id, worker string) error {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM deliveries WHERE id = $1`, id).Scan(&one)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres store: %s delivery %q: %w", verb, id, app.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres %s: %s %s: %w", s.where, verb, id, err)
	}
	return fmt.Errorf("postgres store: %s delivery %q as %q: %w", verb, id, worker, app.ErrLeaseLost)
}

// Extend moves the lease of a delivery claimed by worker to until. Like
// Complete, it succeeds on an expired lease nobody has taken over. It takes
// the claims' advisory lock: a Claim that read the lease as expired before
// Extend moved it could otherwise hand the delivery's Key to another
// delivery while this worker keeps working.
func (s *Store) Extend(ctx context.Context, id, worker string, until time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	if until.IsZero() {
		return fmt.Errorf("postgres store: extend delivery %q: no lease end", id)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.claimLock); err != nil {
			return fmt.Errorf("postgres %s: extend %s: %w", s.where, id, err)
		}
		tag, err := tx.Exec(ctx, `UPDATE deliveries SET lease_until = $3 WHERE id = $1 AND state = 'claimed' AND lease_owner = $2`,
			id, worker, until)
		if err != nil {
			return fmt.Errorf("postgres %s: extend %s: %w", s.where, id, err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		return s.notHeld(ctx, tx, "extend", id, worker)
	})
}

// Deliveries lists the deliveries that match f, oldest ReceivedAt first,
// then by ID (by bytes), each with its payload.
func (s *Store) Deliveries(ctx context.Context, f app.DeliveryFilter) ([]app.Delivery, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = cleanText(string(st))
		}
		where = append(where, `state = ANY(`+arg(states)+`)`)
	}
	if f.Repository != "" {
		where = append(where, `lower(repository) = lower(`+arg(cleanText(f.Repository))+`)`)
	}
	if f.Event != "" {
		where = append(where, `event = `+arg(cleanText(f.Event)))
	}
	if !f.Since.IsZero() {
		where = append(where, `received_at >= `+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `received_at < `+arg(f.Until))
	}
	query := `SELECT ` + deliveryColumns + ` FROM deliveries`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY received_at, id COLLATE "C"`
	if f.Limit > 0 {
		query += ` LIMIT ` + arg(f.Limit)
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: deliveries: %w", s.where, err)
	}
	defer rows.Close()
	out := []app.Delivery{}
	for rows.Next() {
		d, _, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres %s: deliveries: %w", s.where, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres %s: deliveries: %w", s.where, err)
	}
	return out, nil
}

// Requeue makes the listed dead and done deliveries pending, due at now,
// with no attempts counted; it returns their ids in the order listed.
func (s *Store) Requeue(ctx context.Context, ids []string, now time.Time) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	// An id that is not text was never stored, and PostgreSQL would refuse
	// the whole list for it.
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !utf8.ValidString(id) || strings.ContainsRune(id, 0) })
	out := []string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt = $2, done_at = NULL
		WHERE id = ANY($1) AND state IN ('dead', 'done') RETURNING id`, ids, ts(now))
	if err != nil {
		return nil, fmt.Errorf("postgres %s: requeue: %w", s.where, err)
	}
	defer rows.Close()
	requeued := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("postgres %s: requeue: %w", s.where, err)
		}
		requeued[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres %s: requeue: %w", s.where, err)
	}
	for _, id := range ids {
		if requeued[id] {
			out = append(out, id)
			delete(requeued, id)
		}
	}
	return out, nil
}

// Prune deletes the done deliveries whose DoneAt is before before, and
// returns how many. A pruned delivery is forgotten entirely: Known no
// longer reports it, so if GitHub redelivers it, Enqueue stores it again as
// new.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	if before.IsZero() {
		return 0, nil // nothing is before the zero time
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM deliveries WHERE state = 'done' AND done_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("postgres %s: prune: %w", s.where, err)
	}
	return int(tag.RowsAffected()), nil
}

// Delivery returns one delivery by id, or app.ErrNotFound.
func (s *Store) Delivery(ctx context.Context, id string) (app.Delivery, error) {
	if err := s.check(); err != nil {
		return app.Delivery{}, err
	}
	d, _, err := scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return app.Delivery{}, fmt.Errorf("postgres store: delivery %q: %w", id, app.ErrNotFound)
	}
	if err != nil {
		return app.Delivery{}, fmt.Errorf("postgres %s: delivery %s: %w", s.where, id, err)
	}
	return d, nil
}

// Known reports which of ids are stored, in any state.
func (s *Store) Known(ctx context.Context, ids []string) (map[string]bool, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return known, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM deliveries WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: known: %w", s.where, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("postgres %s: known: %w", s.where, err)
		}
		known[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres %s: known: %w", s.where, err)
	}
	return known, nil
}

// Counts returns how many deliveries are in each state.
func (s *Store) Counts(ctx context.Context) (map[app.DeliveryState]int, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM deliveries GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: counts: %w", s.where, err)
	}
	defer rows.Close()
	counts := map[app.DeliveryState]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("postgres %s: counts: %w", s.where, err)
		}
		counts[app.DeliveryState(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres %s: counts: %w", s.where, err)
	}
	return counts, nil
}
