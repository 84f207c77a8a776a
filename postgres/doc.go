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
// transfers (or a single one) is one transaction of two round trips. The
// first begins, loads the transfers the batch names (to find retries),
// locks every account involved with SELECT … ORDER BY id FOR UPDATE (one
// stable order for every writer, so writers queue instead of
// deadlocking), and then loads the transfers that posts, voids and
// reversals refer to, so their status is read under the locks. The pure
// rules (ledger.ApplyBatch over exactly those rows) decide. The second
// round trip inserts transfers and entries and updates accounts and
// referenced transfers, one unnest(array) statement per table whatever
// the batch's size, and commits. No balance is checked outside the
// transaction that writes it; a transfer ID inserted meanwhile by another
// transaction fails the insert (23505) and the batch is decided again, so
// the rules answer with the idempotent duplicate or the conflict. Account
// events use ledger.ApplyAccountEvent, expiry ledger.ExpireStep,
// verification ledger.Verifier fed from one REPEATABLE READ snapshot.
//
// The schema enforces what it can on its own: positive amounts,
// non-negative balance totals, the balance-limit flags, unique transfer
// IDs, unique (account, seq) entries, foreign keys from transfers to their
// accounts and to the transfers they resolve or reverse, a pending
// transfer resolved and a transfer reversed at most once, and an
// append-only journal (triggers reject UPDATE, DELETE and TRUNCATE of
// entries; of a transfer only status, resolved_by and reversed_by change,
// each once; an account's identity never changes, nor is it deleted).
// Entries carry no foreign keys: those checks cost a quarter of the
// server's work per transfer, and Verify reports an entry of an unknown
// account or transfer instead (migration 0002). The database refusing a
// write the rules allowed is ErrIntegrity.
//
// # Throughput and hot accounts
//
// The commit (a WAL flush) bounds a store that commits once per transfer,
// as it bounds pgbench. Two ways go past it, both one commit for many
// transfers: Ledger.Batch / Store.CreateTransfers with independent
// transfers (each with its own Result, one transaction), and
// ledger.NewGroupCommit, a Store in front of this one that gathers
// concurrent single transfers into such batches.
//
// Hot accounts are handled by batching: a system account that every
// transfer touches (a fee income account, a merchant, a settlement
// account) is locked once per batch and written once per batch however
// many transfers of the batch touch it, so it costs one row lock per
// commit, not per transfer. Its entries still form one hash chain, in
// order. Without batching a hot account serializes its transfers, and each
// holds the lock for two round trips and a commit: the rules and the hash
// chain need the account's current state in the process between reading
// and writing, where pgbench's single-row update needs none. When single
// transfers must stay single, shard the account instead: create N accounts
// and pay into the one the payer's ID hashes to; its balance is then the
// sum of the N (the load generator's -shards shows it). scripts/bench.sh
// measures every case against pgbench.
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
// process in the conformance suite, several sessions migrating one schema
// at once (as several processes starting together would),
// backends killed with pg_terminate_backend and the server restarted in
// immediate mode under load with every acknowledged transfer checked
// afterwards (scripts/faults.sh). Not tested: several service processes
// writing at once (each correctness argument above is per transaction,
// so nothing should differ from many connections of one), read
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
// The DB's connections are a pgxpool pool (Config.Pool, as
// pgxpool.ParseConfig returns it; pool_max_conns and the other pool_
// settings of the connection string). An attempt that leaves a
// transaction open is rolled back before its connection goes back to the
// pool; an attempt whose connection died resets the pool, so that the
// retry meets a fresh connection rather than the dead one's idle siblings.
package postgres
