package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// errClosed is returned by every method of a closed Store.
var errClosed = errors.New("postgres store: closed")

// Store is an app.Store in a PostgreSQL schema: the first schema of the
// connection's search_path, which a URL can set (…?search_path=backstory).
type Store struct {
	pool   *pgxpool.Pool
	where  string // the redacted URL and schema, for errors
	schema string
	// claimLock is the advisory lock that makes the claims of every
	// replica on this schema take turns.
	claimLock int64
	closed    atomic.Bool
}

var _ app.Store = (*Store)(nil)

// defaultMaxConns is the pool size when the URL does not say
// (pool_max_conns): webhook requests arrive together, and each Enqueue
// holds a connection until its commit is flushed, so pgx's default of 4 on
// a 2-core machine would queue them.
const defaultMaxConns = 20

// Open connects to the database at url (postgres://… or key=value pairs),
// creates or migrates backstory's tables in the first schema of its
// search_path, and returns the Store. Errors never show the password.
func Open(ctx context.Context, url string) (*Store, error) {
	return open(ctx, url, migrations)
}

// hidePassword returns err with every password of connString masked in its
// text. pgx masks what it can parse, but an invalid connection string may
// be quoted as it is, by pgx or by net/url inside it.
func hidePassword(err error, connString string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, pw := range passwords(connString) {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	if msg == err.Error() {
		return err
	}
	return &maskedError{msg: msg, err: err}
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

var (
	urlPassword   = regexp.MustCompile(`^[a-z]+://[^:/@?#]*:([^@/?#]+)@`)
	queryPassword = regexp.MustCompile(`[?&]password=([^&#]+)`)
)

// passwords finds what looks like a password in a connection string, in
// the forms pgx accepts, whether or not the string is otherwise valid.
func passwords(connString string) []string {
	var out []string
	for _, m := range urlPassword.FindAllStringSubmatch(connString, -1) {
		out = append(out, m[1])
	}
	for _, m := range queryPassword.FindAllStringSubmatch(connString, -1) {
		out = append(out, m[1])
	}
	for _, m := range keywordPassword.FindAllStringSubmatch(connString, -1) {
		out = append(out, strings.Trim(m[2], "'"), m[2])
	}
	var decoded []string
	for _, pw := range out {
		if d, err := url.PathUnescape(pw); err == nil && d != pw {
			decoded = append(decoded, d)
		}
	}
	out = append(out, decoded...)
	// Longest first, so that a password containing another is masked whole.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return slices.DeleteFunc(out, func(pw string) bool { return pw == "" })
}

func open(ctx context.Context, connString string, steps []migration) (*Store, error) {
	s, err := connect(ctx, connString, steps)
	return s, hidePassword(err, connString)
}

func connect(ctx context.Context, connString string, steps []migration) (*Store, error) {
	where := Redact(connString)
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: invalid connection string (postgres://user:password@host:port/database?param=value): %w", where, err)
	}
	if !strings.Contains(connString, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", where, err)
	}
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres %s: connect: %w", where, err)
	}
	if schema == nil {
		path := cfg.ConnConfig.RuntimeParams["search_path"]
		pool.Close()
		return nil, fmt.Errorf("postgres %s: no schema of the search_path (%q) exists: create it (CREATE SCHEMA …) or fix the URL's search_path", where, path)
	}
	s := &Store{pool: pool, schema: *schema, where: fmt.Sprintf("%s (schema %s)", where, *schema)}
	s.claimLock = lockID("backstory claim " + *schema)
	if err := migrate(ctx, pool, s.where, lockID("backstory migrate "+*schema), steps); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// lockID names an advisory lock. Locks are per database, not per schema:
// the schema is part of the name so that backstories in two schemas of one
// database do not take turns for nothing.
func lockID(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

var keywordPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// Redact returns a connection string fit for logs and errors: the password
// of a URL or of key=value pairs replaced by "xxxxx".
func Redact(connString string) string {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			for _, pw := range passwords(connString) {
				connString = strings.ReplaceAll(connString, pw, "xxxxx")
			}
			return connString
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return keywordPassword.ReplaceAllString(connString, "${1}xxxxx")
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres %s: ping: %w", s.where, err)
	}
	return nil
}

// Close closes the pool, waiting for the connections in use. Closing twice
// is not an error.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.pool.Close()
	return nil
}

// check fails fast once the store is closed: pgxpool would otherwise
// answer with its own, less clear, error.
func (s *Store) check() error {
	if s.closed.Load() {
		return errClosed
	}
	return nil
}

// ts stores a time, the zero time as NULL.
func ts(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// timeOf reads what ts stored, in UTC.
func timeOf(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}
