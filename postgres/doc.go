// Package postgres keeps socialpay's ledger in PostgreSQL: a ledger.Store
// that passes the same conformance suite (ledgertest.Run) as the memory
// store, on one pool of pgx connections, with SQL migrations embedded in
// the binary.
//
//	cfg, err := postgres.ParseConfig("postgres://app@db/bank?pool_max_conns=32")
//	cfg.Schema = "socialpay"
//	db, err := postgres.OpenConfig(ctx, cfg) // applies migrations
//	defer db.Close()
//	l := ledger.New(postgres.NewStore(db), ledger.Options{})
//
// # Who decides
//
// The store locks, loads and persists; it decides nothing. A batch of
// transfers (or a single one) is one transaction of two round trips: the
// first begins, locks every account involved with SELECT … ORDER BY id
// FOR UPDATE (one stable order for every writer, so writers queue instead
// of deadlocking) and then loads the transfers the batch names or refers
// to, so their status is read after the locks; ledger.ApplyBatch decides
// against exactly those rows; the second round trip inserts transfers and
// entries and updates accounts and referenced transfers with one
// unnest(array) statement per table, and commits. No balance is checked
// outside the transaction that writes it. Account events use
// ledger.ApplyAccountEvent, expiry ledger.ExpireStep, verification
// ledger.Verifier fed from one REPEATABLE READ snapshot.
//
// The schema enforces what it can on its own: positive amounts,
// non-negative balance totals, the balance-limit flags, foreign keys,
// unique transfer IDs, unique (account, seq) entries, a pending transfer
// resolved and a transfer reversed at most once, and an append-only
// journal (triggers reject UPDATE, DELETE and TRUNCATE of entries; of a
// transfer only status, resolved_by and reversed_by change, each once; an
// account's identity never changes). Its refusal of a write the rules
// allowed is ErrIntegrity.
//
// # Throughput and hot accounts
//
// The commit (a WAL flush) bounds a store that commits once per transfer,
// as it bounds pgbench. Two ways go past it, both one commit for many
// transfers: Ledger.Batch / Store.CreateTransfers with independent
// transfers (each with its own Result, one transaction).
//
// Hot accounts are handled by batching, not sharding: a system account
// that every transfer touches (a fee income account, a settlement account)
// is locked once per batch and written once per batch however many
// transfers of the batch touch it, so a hot account costs one row lock per
// commit, not per transfer. Its entries still form one hash chain, in
// order. Sharding a hot account into sub-accounts remains possible on top
// (the bank creates N accounts and picks one by hashing the payer), and
// helps a hot account under single-transfer load, at the price of summing
// N balances to read it; nothing in the store needs it.
//
// # Scaling out
//
// The library holds no state outside the database, so a bank runs many
// service instances over one PostgreSQL primary. Correctness rests on row
// locks taken inside each transaction and on constraints, never on session
// state: no advisory locks or temporary tables carry business rules (the
// only advisory lock is transaction-scoped and serializes migrations), and
// every connection can be replaced between transactions. Every operation
// is idempotent (transfers and accounts by ID, account events by state),
// so an operation whose commit acknowledgement was lost is simply run
// again, and serialization failures (40001) and deadlocks (40P01) are
// retried with bounded, jittered backoff. That is what a
// PostgreSQL-compatible distributed engine (serializable by default,
// retrying 40001) asks of its clients, so the same SQL should move there.
//
// Tested: PostgreSQL 15, one primary, many concurrent connections of one
// process in the conformance suite, several processes migrating at once.
// Not tested: read
// replicas, failover to a standby, connection poolers (PgBouncer in
// transaction mode should work: nothing relies on session state, though
// prepared statements need its prepared-statement support), and any
// distributed engine.
//
// # Errors
//
// Business outcomes are the ledger's: in ledger.Result.Err for transfers,
// as the error for account operations (ledger.ErrAccountNotFound,
// ledger.ErrIdempotencyConflict…); each method's doc lists them. The
// errors of this package mean the database could not do its part:
// ErrInvalidConfig and ErrMigration from Open, OpenConfig and WithSchema;
// ErrUnavailable (the connection failed: the outcome is unknown, retry with
// the same IDs), ErrRetriesExhausted (retryable failures up to
// Config.MaxAttempts; it wraps the last one), ErrIntegrity (the database
// refused a write the rules allowed, or holds a row the ledger cannot
// read: a bug or tampering), and the context's error, from every Store
// method. The underlying *pgconn.PgError stays wrapped, so its SQLSTATE
// can be inspected with errors.As.
//
// # Connections
//
// The DB keeps a small pool of pgx connections of its own (Config.MaxConns,
// or pool_max_conns in the connection string). pgxpool would serve, but
// its dependency is not in this module's go.sum yet.
package postgres
