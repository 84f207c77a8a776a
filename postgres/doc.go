// Package postgres keeps socialpay's state in PostgreSQL: the ledger and
// the stores of the three features, on one pgxpool pool of pgx/v5
// connections, with SQL migrations embedded in the binary.
//
//	db, err := postgres.Open(ctx, "postgres://app@db/bank?pool_max_conns=32", sealer) // applies migrations
//	defer db.Close()
//	l := ledger.New(postgres.NewLedgerStore(db), ledger.Options{})
//
// or, with a pgxpool configuration of the service's own (hooks, tracers,
// TLS, lifetimes) and a schema of its choice:
//
//	pc, err := pgxpool.ParseConfig(dsn)
//	pc.AfterConnect = …
//	db, err := postgres.OpenConfig(ctx, &postgres.Config{Pool: pc, Schema: "socialpay", Sealer: sealer})
//
// The stores share a DB: Store (a ledger.Store), RedPacketStore (a
// redpacket.PayingStore: with the ledger on the same database, a claim and
// its payment are one transaction), PhoneTransferStore and PhoneDirectory,
// QRStore, CampaignStore, PointsStore, CollectStore and CellStore, and the
// state service instances share (Members, LookupLimiter, TaskLease). Each
// passes its package's conformance suite and is safe for use by many
// processes; each locks, reads and persists while the feature's pure rules
// decide, in one transaction per operation (or per batch of concurrent
// operations), retried on serialization failures and lost connections:
// every operation is idempotent. Each store's type doc says how it locks.
//
// Open applies the embedded migrations (each feature owns a range of
// versions) under an advisory lock and checks their checksums; a service's
// own tables migrate the same way (DB.MigrateApp).
//
// # Security
//
// Run the service with a role that may only read and write rows, and open
// the schema with Config.NoMigrate: the append-only triggers then hold
// against it. Config.Sealer (NewHMACSealer, with the bank's keys) seals
// every ledger entry with a key the database never holds, and Verify checks
// the seals, so a transfer forged around the store is reported; OpenConfig
// refuses to start without one unless Config.Unsealed says so.
//
// # Errors
//
// Business outcomes are the features' own, listed in each method's doc.
// The errors of this package mean the database could not do its part:
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
// docs/postgres.md has the rest: each store, the migrations and their
// version ranges, the grants, how the ledger store locks and decides, the
// schema's constraints, throughput and hot accounts, connections and
// retries, scaling out and cells, and what is tested.
package postgres
