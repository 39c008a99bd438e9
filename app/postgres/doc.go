// Package postgres is the app.Store of several backstory replicas sharing
// one PostgreSQL database (pgx v5, pgxpool).
//
// # Where the tables live
//
// In the first schema of the connection's search_path, which the URL can
// set (postgres://…/db?search_path=backstory): several backstories, or
// parallel tests, can share a database without seeing each other. The
// schema must exist; Open creates and migrates the tables in it.
//
// # Migrations
//
// Versioned steps, applied by Open in one transaction and recorded in
// backstory_schema_migrations. Replicas that start together queue on an
// advisory lock named after the schema; the first migrates, the others
// find nothing to do. A schema newer than the binary is refused with an
// error that says so.
//
// # Claims across replicas
//
// Claim must never lease one delivery twice, nor two deliveries with one
// non-empty Key under unexpired leases, whichever replicas ask. Row locks
// alone do not give the Key rule: two claims that each read the key as
// free before the other committed would both take it. So claims take
// turns on a transaction-scoped advisory lock of the schema
// (pg_advisory_xact_lock); within one, pending rows are read in claim
// order through a partial index with FOR UPDATE SKIP LOCKED, so a claim
// never waits on a row a worker is finishing, and the final UPDATE checks
// again that each row is still due, so a delivery that its old worker
// finished meanwhile is not handed out again. The lock is held for the
// few statements of one claim, not while deliveries are processed, so
// claims of all replicas form one short queue. TestClaimersInSeveralPools
// runs six pools (six replicas, as far as the server can tell) against one
// inbox and checks that no delivery or key is ever held twice and none is
// lost.
//
// # Durability
//
// A write returns once PostgreSQL committed it, with the server's
// synchronous_commit (on by default: flushed to its WAL). Concurrent
// commits share WAL flushes, so Enqueue needs no group commit of its own;
// it needs connections, so the pool defaults to 20 (pool_max_conns in the
// URL overrides it).
//
// # Figures
//
// 2026-11-22, this project's 2-core VM (AMD EPYC, Go 1.26.8), PostgreSQL
// 15 on the same machine, shared with other engineers' builds and fuzzers:
// load averages from 1 to 9 during the runs, so ranges, by load. A real
// 28 KB pull_request payload. Commands: go test -run '^$' -bench
// 'Enqueue$|EnqueueParallel|ClaimComplete' -benchmem ./app/postgres/, and
// -bench OpenLoop -benchtime 1x (500 arrivals/s for 10 s, 16 callers,
// latency from each arrival's due time).
//
//	Enqueue, 1 caller                    0.7–1.7 ms/op
//	Enqueue, 16 callers                  380–500 µs/op = 2,000–2,600/s
//	Claim (10 at a time) + Complete      0.6–1.3 ms/delivery
//	open loop 500/s: p50                 1.5–2.9 ms
//	open loop 500/s: p99, load < 2       6.3–7.3 ms
//	open loop 500/s: p99, load 3–5       9.7–15 ms
//	open loop 500/s: p99, load 6–9       21–57 ms
//
// Enqueue allocates 59 KB per call: pgx copies the payload into its write
// buffer.
package postgres
