// Package postgres keeps socialpay's state in PostgreSQL: the ledger and
// the stores of the three features, on one pgxpool pool of pgx/v5
// connections, with SQL migrations embedded in the binary.
//
//	db, err := postgres.Open(ctx, "postgres://app@db/bank?pool_max_conns=32", sealer) // applies migrations
//	defer db.Close()
//	l := ledger.New(postgres.NewStore(db), ledger.Options{})
//
// or, with a pgxpool configuration of the service's own (hooks, tracers,
// TLS, lifetimes) and a schema of its choice:
//
//	pc, err := pgxpool.ParseConfig(dsn)
//	pc.AfterConnect = …
//	db, err := postgres.OpenConfig(ctx, &postgres.Config{Pool: pc, Schema: "socialpay", Sealer: sealer})
//
// The sealer (NewHMACSealer, with the bank's keys) is required: see
// Security below; Config.Unsealed opts out for development and tests.
//
// # Stores
//
// The stores share a DB, each passing its package's conformance suite,
// each safe for concurrent use by many goroutines and many processes, each
// locking, reading and persisting while the feature's pure rules decide:
//
//   - Store, a ledger.Store (ledgertest.Run): accounts, transfers, entries
//     with their hash chains, two-phase transfers, batches, Verify.
//   - RedPacketStore, a redpacket.Store and redpacket.PayingStore
//     (redpackettest.RunPaying): packets with their pre-split shares and
//     state, one row per claim; concurrent claims and paid marks share
//     transactions (group commit). With the ledger Store on the same DB,
//     a claim and its payment are one transaction (ClaimPaid: the packets
//     locked, then the ledger's accounts in ID order, the ledger's own
//     lock, ApplyBatch and write code, one commit), which
//     redpacket.Service uses for its claims.
//   - PhoneTransferStore, a transfer.Store, and PhoneDirectory, a
//     transfer.Directory (transfertest.Run): transfer records, each payer's
//     daily totals and settled payees; numbers bound to accounts.
//   - QRStore, a qr.Store (qrtest.Run): dynamic receive codes, daily cap
//     reservations, devices, redeemed payment codes.
//   - CampaignStore, PointsStore and CollectStore (campaigntest,
//     pointstest, collecttest).
//   - CellStore, a cell.Store (celltest.Run): the records of payments
//     between cells, in the payer's cell.
//   - State that several instances of a service share: Members (group
//     membership, a redpacket.Members and collect.Members; its suite is
//     redpackettest.RunMembers), LookupLimiter (transfer's lookup
//     budget) and TaskLease (one instance at a time runs a maintenance
//     task of package maintain).
//
// Each store's type doc says how it locks; its methods say which errors
// they return. The stores that group concurrent calls into one
// transaction (red packets, points, campaigns) run the batches on
// goroutines of their own: Close stops them, and DB.Close does it for
// every store on its pool.
//
// # Migrations
//
// The migrations (Migrations) are files NNNN_name.sql, applied in version
// order when a DB is opened, each in its own transaction under a
// transaction-scoped advisory lock of the schema, so that processes
// starting together take turns and the later ones find the work done. Each
// is recorded with its SHA-256 in the schema's schema_migrations table; an
// applied migration whose checksum differs from the embedded one (and from
// the texts it had before an equivalent rewrite, Migration.Earlier) stops
// Open (ErrMigration); versions a newer build applied are left alone. Each
// statement of a migration goes to the server on its own, as Citus needs.
// A service's own tables migrate the same way, under the same lock:
// DB.MigrateApp applies its NNNN_name.sql files, recorded apart from the
// library's; DB.Pool gives its queries the stores' pool.
// Every feature owns a range of versions, so that features add migrations
// without renumbering each other's: ledger 0001–0099, red packets
// 0100–0199, phone transfers 0200–0299, QR 0300–0399, campaigns
// 0400–0499, points 0500–0599, bill splitting 0600–0699, shared state
// 0700–0799, cells 0800–0899.
//
// # Security: roles and seals
//
// Run the service with a role that may only read and write rows, so that
// it cannot alter the tables or switch off their append-only triggers: an
// owner role applies the migrations at deployment (Migrate), then grants
//
//	GRANT USAGE ON SCHEMA socialpay TO app;
//	GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA socialpay TO app;
//	REVOKE INSERT, UPDATE, DELETE ON socialpay.schema_migrations FROM app;
//
// and services open the schema with Config.NoMigrate, which checks the
// migrations and changes nothing. The triggers then hold against the
// service's own role: entries cannot be edited or deleted, transfers only
// move from pending to resolved.
//
// Such a role can still append rows, and SHA-256 chain hashes can be
// recomputed by anyone. Config.Sealer seals each entry with a key the
// database never holds (HMACSealer; keys unwrapped from the bank's KMS at
// start-up, rotated by ID), and Verify checks every seal, so a forged
// transfer written around the store is reported. What the seals assume:
// the key is not on the database's side, and every instance on a schema
// has it. OpenConfig refuses to start without a Sealer unless
// Config.Unsealed says so; unsealed, Verify still checks the chains, the
// sums, the links of holds and reversals and the balance limits, which
// catches careless edits, not a forger who knows the rules.
//
// # The ledger: who decides
//
// The ledger store locks, loads and persists; it decides nothing. A batch
// of transfers (or a single one) is one transaction of two round trips.
// The first begins, loads the transfers the batch names (to find retries),
// locks every account involved with SELECT … ORDER BY id FOR UPDATE (one
// stable order for every writer, so writers queue instead of deadlocking),
// and then loads the transfers that posts, voids and reversals refer to,
// so their status is read under the locks. The pure rules
// (ledger.ApplyBatch over exactly those rows) decide. The second round
// trip inserts transfers and entries and updates accounts and referenced
// transfers, one unnest(array) statement per table whatever the batch's
// size, and commits. No balance is checked outside the transaction that
// writes it; a transfer ID inserted meanwhile by another transaction fails
// the insert (23505) and the batch is decided again, so the rules answer
// with the idempotent duplicate or the conflict. Account events use
// ledger.ApplyAccountEvent, expiry ledger.ExpireStep, verification
// ledger.Verifier fed from one REPEATABLE READ snapshot. Requests are
// validated by ledger.Ledger (ledger.ValidateTransfer, ValidateAccount);
// the store checks them again with the same functions, so that a direct
// caller can never store text PostgreSQL would not keep exactly.
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
// measures every case against pgbench. Red packets need no hot account:
// each packet holds its money in an escrow account of its own.
//
// # Connections and retries
//
// The pool is pgxpool's (Config.Pool; pool_max_conns and the other pool_
// settings of the connection string). It hands out at most MaxConns
// connections (default: the greater of 4 and GOMAXPROCS), pings one that
// sat idle for more than a second before handing it out, and destroys one
// released closed, busy or inside a transaction. Connections use
// plan_cache_mode=force_generic_plan unless the configuration sets it: the
// stores' statements are prepared once per connection and take arrays
// whose length the planner cannot know, and custom plans were re-planned
// at every execution. On a database with the citus extension they use
// auto, which Citus needs to plan its distributed tables' statements.
//
// Every operation runs through one retry loop. An attempt that leaves a
// transaction open (it failed, or decided to write nothing) is rolled back
// before its connection goes back to the pool. An attempt whose connection
// died (a killed backend, a restarted server) resets the pool, so the
// retry meets a fresh connection rather than the dead one's idle siblings.
// Serialization failures (40001), deadlocks (40P01), lost connections and
// a server shutting down or starting (08…, 57P01–57P03, 53300) are retried
// after a full-jitter backoff (Config.RetryBase, RetryMax); a transfer ID
// inserted concurrently (23505) and state that moved between reading and
// locking are decided again at once. After Config.MaxAttempts attempts the
// operation fails with ErrRetriesExhausted. Retrying is safe because every
// operation is idempotent (transfers, accounts, packets, records, codes by
// ID; claims by (packet, user); events by state) or answers for its own
// earlier commit, so an attempt whose commit acknowledgement was lost finds
// its work done.
//
// # Scaling out
//
// The library holds no state outside the database, so a bank runs many
// service instances over one PostgreSQL primary. Correctness rests on row
// locks taken inside each transaction and on constraints, never on session
// state: no advisory locks or temporary tables carry business rules (the
// only advisory lock is transaction-scoped and serializes migrations), and
// every connection can be replaced between transactions. Together with
// the retries above, that is what a PostgreSQL-compatible distributed
// engine (serializable by default, retrying 40001) asks of its clients, so
// the same SQL should move there.
//
// Past one server, a bank runs cells (package cell): one ledger and its
// features' tables per schema, each user in one cell, payments between
// cells settled by the ledger's own two-phase transfers. On PostgreSQL the
// cells are schemas of one database (DB.WithSchema); on Citus with
// schema-based sharding (citus.enable_schema_based_sharding) each is a
// distributed schema, one shard group placed on one node with every
// constraint and trigger, and a cell's service may open it on that node
// with Config.NoMigrate once the owner migrated it through the
// coordinator. For Citus the store sends migrations one statement per
// Exec, sets citus.enable_unsafe_triggers while migrating, recognises
// Citus' forms of a duplicate key, and uses plan_cache_mode=auto there.
// docs/scaling.md has the measured costs.
//
// Tested: PostgreSQL 15, one primary, many concurrent connections of one
// process in the conformance suites, several sessions migrating one schema
// at once (as several processes starting together would), backends killed
// with pg_terminate_backend and the server restarted in immediate mode
// under load with every acknowledged transfer checked afterwards
// (scripts/faults.sh). Not tested: several service processes writing at
// once (each correctness argument above is per transaction, so nothing
// should differ from many connections of one), read replicas, failover to
// a standby, connection poolers (PgBouncer in transaction mode should
// work: nothing relies on session state, though pgx's per-connection
// prepared statements need its prepared-statement support), and
// distributed engines other than Citus 13.2 with schema-based sharding
// (scripts/citus.sh runs the cell and ledger suites there, a cell per
// distributed schema).
//
// # Errors
//
// Business outcomes are the features' own, listed in each method's doc:
// ledger errors in ledger.Result.Err for transfers and as the error of
// account operations (ledger.ErrAccountNotFound,
// ledger.ErrIdempotencyConflict…); redpacket, transfer and qr sentinels
// (redpacket.ErrSoldOut, transfer.ErrStateConflict, qr.ErrCodePaid…) from
// their stores. The errors of this package mean the database could not do
// its part:
//
//   - ErrInvalidConfig from ParseConfig, Open, OpenConfig and WithSchema:
//     a configuration that cannot work.
//   - ErrMigration from Open, OpenConfig and WithSchema: the schema could
//     not be brought up to date; it wraps the cause (ErrRetriesExhausted
//     and ErrUnavailable when the server cannot be reached).
//   - From every store method: ErrUnavailable (the connection failed: the
//     outcome is unknown, retry with the same IDs), ErrRetriesExhausted
//     (retryable failures up to Config.MaxAttempts; it wraps the last
//     one), ErrIntegrity (the database refused a write the rules allowed,
//     or holds a row the rules cannot read: a bug or tampering), and the
//     context's error.
//
// The underlying *pgconn.PgError stays wrapped, so its SQLSTATE can be
// inspected with errors.As. errcode.Of answers ErrUnavailable,
// ErrRetriesExhausted and a closed pool as Unavailable (retry the same
// request), the others as Internal.
package postgres
