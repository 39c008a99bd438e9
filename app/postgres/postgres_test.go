package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/postgres/pgtest"
	"github.com/backstory-dev/backstory/app/storetest"
	"github.com/jackc/pgx/v5"
)

// serverURL and newSchema are pgtest's, for the tests of this package.
func serverURL(t testing.TB) string { return pgtest.ServerURL(t) }

func newSchema(t testing.TB) string { return pgtest.Schema(t) }

func openURL(t testing.TB, u string) *Store {
	t.Helper()
	s, err := Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// schemas gives each test one schema, the same on every open of the test,
// so that the suite's second open is a new pool on the same data.
var schemas sync.Map // *testing.T → URL

func openStore(t *testing.T) app.Store {
	u, ok := schemas.Load(t)
	if !ok {
		u, _ = schemas.LoadOrStore(t, newSchema(t))
	}
	return openURL(t, u.(string))
}

func TestContract(t *testing.T) {
	storetest.Run(t, openStore)
}

// TestClaimersInSeveralPools is several replicas claiming from one inbox:
// each worker has its own pool, so its own sessions, as another process
// would.
func TestClaimersInSeveralPools(t *testing.T) {
	u := newSchema(t)
	first := openURL(t, u)
	const total, workers = 600, 6
	for i := range total {
		key := ""
		if i%5 != 0 {
			key = fmt.Sprintf("o/r@%02d", i%17)
		}
		d := storetest.NewDelivery(fmt.Sprintf("r%04d", i), key, storetest.T0)
		if ok, err := first.Enqueue(context.Background(), d); err != nil || !ok {
			t.Fatalf("Enqueue: %v, %v", ok, err)
		}
	}
	stores := make([]*Store, workers)
	for i := range stores {
		stores[i] = openURL(t, u)
	}
	storetest.ClaimConcurrently(t, workers, total, func(i int) app.Inbox { return stores[i] })
	c, err := first.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c[app.StateDone] != total {
		t.Errorf("counts %v, want %d done", c, total)
	}
}

func TestMigrationsApplyOnceWhenOpenedTogether(t *testing.T) {
	u := newSchema(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := Open(context.Background(), u)
			errs[i] = err
			if err == nil {
				s.Close()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s := openURL(t, u)
	var count, max int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*), max(version) FROM backstory_schema_migrations`).Scan(&count, &max); err != nil {
		t.Fatal(err)
	}
	if count != len(migrations) || max != migrations[len(migrations)-1].version {
		t.Errorf("migrations recorded: %d up to %d, want %d", count, max, len(migrations))
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	u := newSchema(t)
	s := openURL(t, u)
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO backstory_schema_migrations (version, name) VALUES (99, 'from the future')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(context.Background(), u)
	if err == nil {
		s.Close()
		t.Fatal("Open of a newer schema: no error")
	}
	for _, want := range []string{"version 99", "newer than this backstory knows", "schema bs_test_"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestMigrationFromVersion1 opens a schema made before intents: it gains
// them and keeps what it held.
func TestMigrationFromVersion1(t *testing.T) {
	ctx := context.Background()
	u := newSchema(t)
	s, err := open(ctx, u, migrations[:1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, storetest.NewDelivery("old", "", storetest.T0)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openURL(t, u)
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
	u := newSchema(t)
	steps := append(migrations[:len(migrations):len(migrations)], migration{len(migrations) + 1, "broken", `CREATE TABLE extra (x int); SELECT nonsense FROM nowhere;`})
	if _, err := open(context.Background(), u, steps); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d (broken)", len(migrations)+1)) {
		t.Fatalf("Open with a broken migration = %v, want an error naming it", err)
	}
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var tables int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("a failed migration left %d tables behind", tables)
	}
}

func TestSearchPathWithoutSchema(t *testing.T) {
	u := pgtest.WithSearchPath(t, serverURL(t), "bs_test_does_not_exist")
	s, err := Open(context.Background(), u)
	if err == nil {
		s.Close()
		t.Fatal("Open with a search_path naming no schema: no error")
	}
	if !strings.Contains(err.Error(), "bs_test_does_not_exist") || !strings.Contains(err.Error(), "CREATE SCHEMA") {
		t.Errorf("error %q should name the search_path and say what to do", err)
	}
}

func TestSchemasAreIsolated(t *testing.T) {
	a, b := openURL(t, newSchema(t)), openURL(t, newSchema(t))
	ctx := context.Background()
	if _, err := a.Enqueue(ctx, storetest.NewDelivery("x", "k", storetest.T0)); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Enqueue(ctx, storetest.NewDelivery("x", "k", storetest.T0)); err != nil || !ok {
		t.Errorf("Enqueue in another schema = %v, %v; want true", ok, err)
	}
	if a.claimLock == b.claimLock {
		t.Error("two schemas share one claim lock")
	}
}

func TestErrorsHideThePassword(t *testing.T) {
	for _, u := range []string{
		"postgres://backstory:s3cret-pw@127.0.0.1:1/test?sslmode=disable&connect_timeout=2",
		"postgres://backstory@127.0.0.1:1/test?password=s3cret-pw&sslmode=disable",
		"postgres://backstory:s3cret-pw@127.0.0.1:notaport/test",
		"host=127.0.0.1 port=1 user=backstory password=s3cret-pw sslmode=disable connect_timeout=2",
		"host=127.0.0.1 port=1 password='s3cret-pw' sslmode=bogus",
	} {
		s, err := Open(context.Background(), u)
		if err == nil {
			s.Close()
			t.Errorf("Open(%s): no error", Redact(u))
			continue
		}
		t.Log(err)
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("error %q does not say which server", err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgresql://u@h/db?password=pw":           "postgresql://u@h/db?password=xxxxx",
		"postgres://u@h/db":                         "postgres://u@h/db",
		"host=h password=pw user=u":                 "host=h password=xxxxx user=u",
		"host=h password = 'p w\\' x' user=u":       "host=h password = xxxxx user=u",
		"postgres://u:pw@h:notaport/db":             "postgres://u:xxxxx@h:notaport/db",
		"postgres://u:p%40w@h:5432/db\x7f%zz":       "postgres://u:xxxxx@h:5432/db\x7f%zz",
		"host=h user=u":                             "host=h user=u",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnqueueRejectsWhatPostgresCannotStore(t *testing.T) {
	s := openStore(t)
	for _, d := range []app.Delivery{
		storetest.NewDelivery("nul\x00id", "", storetest.T0),
		storetest.NewDelivery("bad-key", "o/r@\xff", storetest.T0),
	} {
		ok, err := s.Enqueue(context.Background(), d)
		if err == nil || ok {
			t.Errorf("Enqueue(%q, key %q) = %v, %v; want an error", d.ID, d.Key, ok, err)
		} else if !strings.Contains(err.Error(), "not valid UTF-8") {
			t.Errorf("Enqueue(%q): %v, want it to say which field is wrong", d.ID, err)
		}
	}
}

func TestCanceledEnqueue(t *testing.T) {
	s := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Enqueue(ctx, storetest.NewDelivery("x", "", storetest.T0)); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue with a canceled context = %v", err)
	}
}

// TestCompleteSaveDeleteUsesIndex guards the plan of a Complete save's
// delete on a large organisation: it finds the repository's files through
// the primary key, never by reading every repository's files.
func TestCompleteSaveDeleteUsesIndex(t *testing.T) {
	ctx := context.Background()
	s := openURL(t, newSchema(t))
	if _, err := s.pool.Exec(ctx, `INSERT INTO repo_files (repo_key, path, blob, data)
		SELECT 'o/r' || r, 'docs/adr/' || f || '.md', 'blob', '\x00'::bytea
		FROM generate_series(1, 2000) AS r, generate_series(1, 10) AS f`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE repo_files`); err != nil {
		t.Fatal(err)
	}
	rows, err := s.pool.Query(ctx, `EXPLAIN `+replaceFilesDelete, "o/r7", []string{"docs/adr/1.md", "docs/adr/2.md"})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(plan, "; ")
	if !strings.Contains(got, "repo_files_pkey") || strings.Contains(got, "Seq Scan") {
		t.Errorf("plan %q: want index repo_files_pkey and no table scan", got)
	}
}
