package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/storetest"
)

// dirs gives each test its own folder, the same on every open of the test,
// so that the suite's second open reopens the file.
var dirs sync.Map // *testing.T → string

func openStore(t *testing.T) app.Store {
	dir, _ := dirs.LoadOrStore(t, t.TempDir())
	s, err := Open(context.Background(), filepath.Join(dir.(string), "backstory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, openStore)
}

func TestOpenCreatesPrivateFileAndFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "nested", "backstory.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Enqueue(context.Background(), storetest.NewDelivery("x", "", storetest.T0)); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{
		path:                       0o600,
		path + "-wal":              0o600,
		filepath.Dir(path):         0o700 | os.ModeDir,
		filepath.Dir(path) + "/..": 0o700 | os.ModeDir,
	} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), want)
		}
	}
	var mode string
	if err := s.rdb.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?#%", "back story.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the path given: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("this is not a database\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{"", "empty database path"},
		{filepath.Join(notDir, "x.db"), notDir},
		{garbage, "garbage.db"},
	} {
		s, err := Open(context.Background(), tc.path)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q): no error", tc.path)
			continue
		}
		t.Log(err)
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q) = %v, want it to mention %q", tc.path, err, tc.want)
		}
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backstory.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.write(context.Background(), 0, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO backstory_schema_migrations (version, name, applied_at) VALUES (99, 'from the future', 0)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(context.Background(), path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a newer schema: no error")
	}
	for _, want := range []string{"version 99", "newer than this backstory knows", path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestMigrationsApplyOnceWhenOpenedTogether(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backstory.db")
	const n = 6
	errs := make(chan error, n)
	stores := make(chan *Store, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			s, err := Open(context.Background(), path)
			errs <- err
			if err == nil {
				stores <- s
			}
		})
	}
	wg.Wait()
	close(errs)
	close(stores)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for s := range stores {
		var count, max int
		if err := s.rdb.QueryRow(`SELECT count(*), max(version) FROM backstory_schema_migrations`).Scan(&count, &max); err != nil {
			t.Fatal(err)
		}
		if count != len(migrations) || max != migrations[len(migrations)-1].version {
			t.Errorf("migrations recorded: %d up to %d, want %d", count, max, len(migrations))
		}
		s.Close()
	}
}

// TestMigrationFromVersion1 opens a database made before intents: it gains
// them and keeps what it held.
func TestMigrationFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "backstory.db")
	s, err := open(ctx, path, defaults, migrations[:1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, storetest.NewDelivery("old", "", storetest.T0)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Delivery(ctx, "old"); err != nil {
		t.Errorf("the delivery stored before the migration: %v", err)
	}
	i := storetest.NewIntent("o/r", 1, storetest.T0)
	if err := s.SaveIntent(ctx, i); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Intents(ctx, []string{"o/r"}); err != nil || len(got) != 1 {
		t.Errorf("Intents after the migration = %d intents, %v; want 1", len(got), err)
	}
}

func TestMigrationFailureLeavesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backstory.db")
	steps := append(migrations[:len(migrations):len(migrations)], migration{len(migrations) + 1, "broken", `CREATE TABLE extra (x); SELECT nonsense FROM nowhere;`})
	_, err := open(context.Background(), path, defaults, steps)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d (broken)", len(migrations)+1)) {
		t.Fatalf("Open with a broken migration = %v, want an error naming it", err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('deliveries', 'extra', 'backstory_schema_migrations')`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("a failed migration left %d tables behind", tables)
	}
}

func TestEnqueueRejectsWhatPostgresCannotStore(t *testing.T) {
	s := openStore(t)
	for _, d := range []app.Delivery{
		storetest.NewDelivery("nul\x00id", "", storetest.T0),
		storetest.NewDelivery("bad-key", "o/r@\xff", storetest.T0),
	} {
		if ok, err := s.Enqueue(context.Background(), d); err == nil || ok {
			t.Errorf("Enqueue(%q, key %q) = %v, %v; want an error", d.ID, d.Key, ok, err)
		}
	}
}

// hold blocks the writer until release is closed, so that the writes
// that follow queue up, and returns once it does.
func hold(t *testing.T, s *Store) (release func()) {
	ch := make(chan struct{})
	held := make(chan struct{})
	go s.write(context.Background(), 0, func(*sql.Tx) error { close(held); <-ch; return nil })
	<-held
	return func() { close(ch) }
}

// waitQueued waits until n writes wait for the writer.
func waitQueued(t *testing.T, s *Store, n int) {
	deadline := time.Now().Add(10 * time.Second)
	for len(s.ops) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", len(s.ops), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommitIsolatesFailures checks that writes queued together commit
// in one transaction, and that one failing write does not undo the others.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := openStore(t).(*Store)
	ctx := context.Background()
	boom := errors.New("boom")
	before := s.transactions.Load()
	release := hold(t, s)
	results := make(chan error, 3)
	var wg sync.WaitGroup
	for _, id := range []string{"a", "fail", "b"} {
		wg.Go(func() {
			results <- s.write(ctx, 0, func(tx *sql.Tx) error {
				if _, err := tx.Exec(`INSERT INTO waivers (repository, pr, by_login) VALUES (?, 1, 'x')`, id); err != nil {
					return err
				}
				if id == "fail" {
					return boom
				}
				return nil
			})
		})
	}
	waitQueued(t, s, 3)
	release()
	wg.Wait()
	close(results)
	var failed int
	for err := range results {
		if errors.Is(err, boom) {
			failed++
		} else if err != nil {
			t.Error(err)
		}
	}
	if failed != 1 {
		t.Errorf("%d writes failed, want 1", failed)
	}
	if n := s.transactions.Load() - before; n != 2 {
		t.Errorf("%d transactions for the held write and three queued ones, want 2", n)
	}
	var repos []string
	rows, err := s.rdb.Query(`SELECT repository FROM waivers ORDER BY repository`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r string
		rows.Scan(&r)
		repos = append(repos, r)
	}
	if strings.Join(repos, ",") != "a,b" {
		t.Errorf("committed %q, want a and b only", repos)
	}
}

// TestCloseCommitsQueuedWrites checks that Close finishes the writes it
// accepted, rather than failing requests that are about to be answered.
func TestCloseCommitsQueuedWrites(t *testing.T) {
	s := openStore(t).(*Store)
	release := hold(t, s)
	errs := make(chan error, 2)
	for _, id := range []string{"q1", "q2"} {
		go func() {
			_, err := s.Enqueue(context.Background(), storetest.NewDelivery(id, "", storetest.T0))
			errs <- err
		}()
	}
	waitQueued(t, s, 2)
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	for !s.isClosed() {
		time.Sleep(time.Millisecond)
	}
	if _, err := s.Enqueue(context.Background(), storetest.NewDelivery("late", "", storetest.T0)); !errors.Is(err, errClosed) {
		t.Errorf("Enqueue once Close began = %v, want errClosed", err)
	}
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("Enqueue queued before Close = %v, want nil", err)
		}
	}
	s2 := openStore(t)
	known, err := s2.Known(context.Background(), []string{"q1", "q2", "late"})
	if err != nil {
		t.Fatal(err)
	}
	if !known["q1"] || !known["q2"] || known["late"] {
		t.Errorf("after Close and reopen, known = %v; want q1 and q2", known)
	}
}

// TestCanceledWriteChangesNothing checks that a caller that gave up before
// its write ran does not get it committed behind its back.
func TestCanceledWriteChangesNothing(t *testing.T) {
	s := openStore(t).(*Store)
	release := hold(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := s.Enqueue(ctx, storetest.NewDelivery("gave-up", "", storetest.T0))
		done <- err
	}()
	waitQueued(t, s, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue with a canceled context = %v", err)
	}
	release()
	// A write after it goes through the same queue: once it is done, the
	// canceled one has been dropped.
	if err := s.SaveWaiver(context.Background(), app.Waiver{Repository: "o/r", PR: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delivery(context.Background(), "gave-up"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("Delivery of a canceled enqueue = %v, want ErrNotFound", err)
	}
}

// TestClaimUsesThePendingIndex guards the plan that keeps Claim fast with a
// long backlog: pending rows read in order through the partial index, not
// sorted.
func TestClaimUsesThePendingIndex(t *testing.T) {
	s := openStore(t).(*Store)
	rows, err := s.rdb.Query(`EXPLAIN QUERY PLAN SELECT seq, key, received_at FROM deliveries INDEXED BY deliveries_pending_order
		WHERE state = 'pending' AND (next_attempt IS NULL OR next_attempt <= ?) ORDER BY received_at, seq`, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	got := strings.Join(plan, "; ")
	if !strings.Contains(got, "deliveries_pending_order") || strings.Contains(got, "TEMP B-TREE") {
		t.Errorf("plan %q: want the partial index and no sort", got)
	}
}

// TestNewQueriesUseIndexes guards the plans of the queries that must stay
// fast on a large inbox or organisation: each finds its rows through an
// index, never by reading a whole table.
func TestNewQueriesUseIndexes(t *testing.T) {
	s := openStore(t).(*Store)
	byRepo, byRepoArgs, err := deliveriesQuery(app.DeliveryFilter{Repository: "o/r", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	bySince, bySinceArgs, err := deliveriesQuery(app.DeliveryFilter{Since: storetest.T0, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, query string
		args        []any
		index       string
	}{
		{"RepoSnapshots", snapshotsQuery, []any{`["o/a","o/b"]`}, "sqlite_autoindex_repo_snapshots_1"},
		{"RepoFiles", filesQuery, []any{"o/r"}, "sqlite_autoindex_repo_files_1"},
		{"A Complete save's delete", replaceFilesDelete, []any{"o/r", `["a.md","b.md"]`}, "sqlite_autoindex_repo_files_1"},
		{"Requeue", requeueUpdate, []any{0, `["x","y"]`}, "sqlite_autoindex_deliveries_1"},
		{"Prune", pruneDelete, []any{0, pruneBatch}, "deliveries_done_at"},
		{"Deliveries of a repository", byRepo, byRepoArgs, "deliveries_repository"},
		{"Deliveries since", bySince, bySinceArgs, "deliveries_received"},
	} {
		rows, err := s.rdb.Query(`EXPLAIN QUERY PLAN `+tc.query, tc.args...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		if !strings.Contains(got, tc.index) || strings.Contains(got, "SCAN deliveries ") ||
			strings.Contains(got, "SCAN repo_") || strings.Contains(got, "SCAN s ") || strings.Contains(got, "SCAN f ") {
			t.Errorf("%s: plan %q: want index %s and no table scan", tc.name, got, tc.index)
		}
	}
}
