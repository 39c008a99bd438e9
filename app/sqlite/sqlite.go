package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backstory-dev/backstory/app"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// errClosed is returned by every method of a closed Store.
var errClosed = errors.New("sqlite store: closed")

// Store is an app.Store in one SQLite file. Every write goes through one
// goroutine that owns the only writing connection and commits the writes
// that arrive together in one transaction (group commit); reads use a pool
// of their own, which WAL lets run beside the writer.
type Store struct {
	path string
	opts options

	wdb    *sql.DB
	conn   *sql.Conn // wdb's only connection, used by the writer goroutine alone
	rdb    *sql.DB
	cdb    *sql.DB // the checkpointer's connection, when checkpoints run in the background
	ops    chan *op
	quit   chan struct{}
	exited chan struct{}

	mu     sync.RWMutex // write lock: Close; read lock: handing an op to the writer
	closed bool

	checkpointed chan struct{} // closed when the checkpointer has stopped

	// transactions and writes count what the writer committed: their
	// ratio is the size of the average group commit.
	transactions, writes atomic.Int64
}

var _ app.Store = (*Store)(nil)

// options are the knobs the benchmarks turn to compare the choices made.
type options struct {
	synchronous string // SQLite's PRAGMA synchronous: FULL or NORMAL
	maxBatch    int    // most writes one transaction commits; 1: no group commit
	maxBytes    int    // most payload bytes one transaction commits
	// checkpointEvery, if positive, is how often a goroutine of its own
	// runs a PASSIVE checkpoint. Zero leaves checkpoints to SQLite alone.
	checkpointEvery time.Duration
}

var defaults = options{synchronous: "FULL", maxBatch: 256, maxBytes: 32 << 20, checkpointEvery: 250 * time.Millisecond}

// Open opens the SQLite database at path, creating the file (mode 0600) and
// its folder (0700) if missing, and brings its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, defaults, migrations)
}

func open(ctx context.Context, path string, opts options, steps []migration) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite store: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite %s: create its folder: %w", path, err)
	}
	// SQLite would create the file with the umask's mode (often 0644); the
	// inbox holds payloads of private repositories. SQLite gives the -wal
	// and -shm files the database file's mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	f.Close()

	started := time.Now()
	s := &Store{path: path, opts: opts, ops: make(chan *op, opts.maxBatch), quit: make(chan struct{}), exited: make(chan struct{})}
	if s.wdb, err = sql.Open("sqlite", dsn(abs, opts, false)); err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	// Opening sets WAL mode, which takes a lock that SQLite's busy timeout
	// does not wait for: when several processes open a new file at once,
	// one may be told "database is locked". Try again for a while.
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		s.conn, err = s.wdb.Conn(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Since(started) > 10*time.Second {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(wait):
			continue
		}
		break
	}
	if err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite %s: open: %w", path, err)
	}
	if err := migrate(ctx, s.conn, path, steps); err != nil {
		s.conn.Close()
		s.wdb.Close()
		return nil, err
	}
	if s.rdb, err = sql.Open("sqlite", dsn(abs, opts, true)); err != nil {
		s.conn.Close()
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	s.rdb.SetMaxOpenConns(4)
	s.rdb.SetMaxIdleConns(4)
	s.rdb.SetConnMaxIdleTime(0)
	if opts.checkpointEvery > 0 {
		if s.cdb, err = sql.Open("sqlite", dsn(abs, opts, false)); err != nil {
			s.rdb.Close()
			s.conn.Close()
			s.wdb.Close()
			return nil, fmt.Errorf("sqlite %s: %w", path, err)
		}
		s.cdb.SetMaxOpenConns(1)
		s.checkpointed = make(chan struct{})
		go s.checkpointer()
	}
	go s.writer()
	return s, nil
}

// dsn is the driver's name for the database: a file: URI, so that any
// character in the path is escaped.
func dsn(abs string, opts options, readOnly bool) string {
	q := url.Values{}
	// IMMEDIATE takes the write lock at BEGIN: a transaction that reads
	// then writes cannot fail halfway with SQLITE_BUSY when another process
	// writes the same file.
	q.Set("_txlock", "immediate")
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", opts.synchronous)
	q.Set("_foreign_keys", "1")
	if readOnly {
		q.Set("_query_only", "1")
	}
	// The WAL file keeps the size of its largest burst unless told.
	q.Add("_pragma", "journal_size_limit(67108864)")
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
}

// op is one write: fn runs inside the writer's transaction, under a
// savepoint of its own, so that an op that fails leaves the batch intact.
type op struct {
	ctx   context.Context
	fn    func(tx *sql.Tx) error
	bytes int
	err   error
	done  chan struct{}
}

// write runs fn in the writer's transaction and returns once that
// transaction committed (or failed). If ctx ends first, write returns its
// error; fn may then still have run and committed.
func (s *Store) write(ctx context.Context, bytes int, fn func(tx *sql.Tx) error) error {
	o := &op{ctx: ctx, fn: fn, bytes: bytes, done: make(chan struct{})}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	select {
	case s.ops <- o:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer commits the writes handed to it. It takes whatever is waiting when
// a transaction starts: under load, one fsync commits many deliveries;
// alone, a write commits at once, with no timer to wait for.
func (s *Store) writer() {
	defer close(s.exited)
	batch := make([]*op, 0, s.opts.maxBatch)
	for {
		select {
		case o := <-s.ops:
			batch = append(batch[:0], o)
		case <-s.quit:
			// Close has stopped new writes; those already queued were
			// accepted, and are committed before the database closes.
			select {
			case o := <-s.ops:
				batch = append(batch[:0], o)
			default:
				return
			}
		}
		bytes := batch[0].bytes
	more:
		for len(batch) < s.opts.maxBatch && bytes < s.opts.maxBytes {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
				bytes += o.bytes
			default:
				break more
			}
		}
		s.commit(batch)
		for _, o := range batch {
			close(o.done)
		}
		clear(batch)
	}
}

// commit runs a batch of ops in one transaction.
func (s *Store) commit(batch []*op) {
	// The callers' contexts govern how long they wait, not the
	// transaction: one caller giving up must not roll back the others.
	ctx := context.Background()
	fail := func(err error) {
		for _, o := range batch {
			if o.err == nil {
				o.err = err
			}
		}
	}
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("sqlite %s: begin: %w", s.path, err))
		return
	}
	ran := 0
	for _, o := range batch {
		if err := o.ctx.Err(); err != nil {
			o.err = err
			continue
		}
		if len(batch) == 1 {
			if o.err = o.fn(tx); o.err != nil {
				tx.Rollback()
				return
			}
			ran++
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("sqlite %s: savepoint: %w", s.path, err))
			return
		}
		if o.err = o.fn(tx); o.err != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO op"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("sqlite %s: roll back to savepoint: %w", s.path, err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE op"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("sqlite %s: release savepoint: %w", s.path, err))
			return
		}
		ran++
	}
	if ran == 0 {
		tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("sqlite %s: commit: %w", s.path, err))
		return
	}
	s.transactions.Add(1)
	s.writes.Add(int64(ran))
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.isClosed() {
		return errClosed
	}
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite %s: ping: %w", s.path, err)
	}
	return nil
}

// Close refuses new writes, commits those already queued, then closes the
// database. Closing twice is not an error.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.quit)
	<-s.exited
	var errs []error
	if s.cdb != nil {
		<-s.checkpointed
		errs = append(errs, s.cdb.Close())
	}
	return errors.Join(append(errs, s.rdb.Close(), s.conn.Close(), s.wdb.Close())...)
}

// checkpointer copies the WAL back into the database file in the
// background. SQLite's automatic checkpoint, run by the committing
// connection every 1,000 pages (4 MB, 140 deliveries), copies all of them
// and fsyncs the database file while every write queued behind that commit
// waits. A PASSIVE checkpoint never blocks the writer, but alone it never
// catches up with a steady stream of commits, and the WAL can only restart
// from its beginning once a checkpoint has caught up: measured, the WAL
// grew to 232 MB in 10 s at 500 deliveries/s. Together, the background does
// most of the copying and the automatic checkpoint, with no write beside
// it, copies the little left and lets the WAL restart.
func (s *Store) checkpointer() {
	defer close(s.checkpointed)
	tick := time.NewTicker(s.opts.checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			// An error (SQLITE_BUSY when another process checkpoints)
			// only means this round copied nothing: the next one will.
			s.cdb.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		case <-s.quit:
			return
		}
	}
}

// nanos stores a time as Unix nanoseconds, the zero time as NULL.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// timeOf reads what nanos stored.
func timeOf(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
