package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// DefaultSchema is the schema a DB uses when Config.Schema is empty.
const DefaultSchema = "socialpay"

// Config configures a DB: the pgx pool, the schema, and the retries. Build
// one with ParseConfig, or put a *pgxpool.Config of your own in Pool, adjust
// it, and pass it to OpenConfig.
type Config struct {
	// Pool configures the pgxpool pool, as pgxpool.ParseConfig returns it
	// (a Config that did not come from there is ErrInvalidConfig):
	// Pool.ConnConfig (host, user, TLS, runtime parameters…), Pool.MaxConns,
	// connection lifetimes, health checks and hooks (AfterConnect,
	// PrepareConn…). OpenConfig works on a copy. Pool.MaxConns 0 means the
	// greater of 4 and GOMAXPROCS. Unless Pool.ConnConfig.RuntimeParams sets
	// plan_cache_mode, the DB's connections use force_generic_plan, or
	// auto on a database with the citus extension (which needs it).
	Pool *pgxpool.Config

	// Schema is the PostgreSQL schema holding socialpay's tables; it is
	// created if missing. Names are lower-case letters, digits and '_',
	// starting with a letter or '_', at most 63 bytes. Default DefaultSchema.
	Schema string

	// MaxAttempts bounds how often an operation runs when it fails in a way
	// that is safe to retry: serialization failures (40001), deadlocks
	// (40P01), a transfer ID inserted concurrently (23505), and lost
	// connections. Default 10.
	MaxAttempts int

	// NoMigrate makes OpenConfig and WithSchema check that the schema has
	// every embedded migration, with the same checksums, and change
	// nothing: for a service whose role has only the rights to read and
	// write rows (see the package doc's Security section), so that it
	// cannot alter the tables or switch off their append-only triggers. An
	// owner role applies the migrations beforehand with Migrate.
	NoMigrate bool

	// Sealer seals every ledger entry the stores write, and Verify checks
	// every entry's seal: history written around the store through the
	// tables, with recomputed hashes, no longer verifies. Every instance on
	// a schema must have it (the same keys); entries written without it
	// fail Verify once it is set. Required by OpenConfig unless Unsealed.
	Sealer Sealer
	// Unsealed says that this DB writes entries without seals, on
	// purpose: for development, tests and tools. Verify then cannot tell a
	// forgery that recomputes the hash chains from honest history (see the
	// package doc's Security section).
	Unsealed bool

	// RetryBase and RetryMax shape the backoff between attempts: attempt n
	// waits a random time in [0, min(RetryMax, RetryBase·2ⁿ⁻¹)] (full
	// jitter). Defaults 2 ms and 500 ms.
	RetryBase, RetryMax time.Duration

	// Logger, TracerProvider and MeterProvider observe the stores (see
	// docs/observability.md): every operation as a span, with its
	// duration (retries and commit included) by outcome; retries by
	// reason (serialization failures, deadlocks…); the sizes of the group
	// commits; and a Warn line when an operation runs out of retries or a
	// lost connection resets the pool. Each nil means none.
	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// ParseConfig parses a PostgreSQL connection string (URL or key=value form)
// with pgxpool.ParseConfig, so it also reads pgxpool's pool_max_conns,
// pool_max_conn_lifetime…, into a Config with the default schema and retry
// settings. Pool.MaxConns is 0 (the default) unless the string sets
// pool_max_conns.
//
// Errors: ErrInvalidConfig wrapping the parse error.
func ParseConfig(dsn string) (*Config, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if !setsMaxConns(dsn) {
		pc.MaxConns = 0 // pgxpool filled in its own default
	}
	return &Config{Pool: pc, Schema: DefaultSchema}, nil
}

// setsMaxConns reports whether a connection string that pgxpool parsed
// sets pool_max_conns (pgxpool removes it from the parameters it keeps).
func setsMaxConns(dsn string) bool {
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return false
	}
	_, ok := cc.RuntimeParams["pool_max_conns"]
	return ok
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// withDefaults checks the schema and fills in the retry settings; the pool
// configuration is newPool's.
func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.Schema == "" {
		out.Schema = DefaultSchema
	}
	if !schemaName.MatchString(out.Schema) || strings.HasPrefix(out.Schema, "pg_") {
		return out, fmt.Errorf("%w: schema name %q", ErrInvalidConfig, out.Schema)
	}
	if out.MaxAttempts <= 0 {
		out.MaxAttempts = 10
	}
	if out.RetryBase <= 0 {
		out.RetryBase = 2 * time.Millisecond
	}
	if out.RetryMax <= 0 {
		out.RetryMax = 500 * time.Millisecond
	}
	out.RetryMax = max(out.RetryMax, out.RetryBase)
	return out, nil
}

// DB is socialpay's handle on one PostgreSQL database: one pgxpool pool and
// one schema whose migrations have been applied. The stores of this
// package are built on a DB; it is safe for concurrent use and keeps no
// business state.
type DB struct {
	pool   *pgxpool.Pool
	life   *lifetime // closed by the owner's Close; shared with WithSchema's DBs
	owned  bool      // Close closes pool
	schema string
	cfg    Config
	tel    *dbTelemetry // shared with WithSchema's DBs
}

// Open connects to the database named by dsn (see ParseConfig), applies
// the embedded migrations to the default schema, and returns the DB whose
// ledger entries sealer seals (see Config.Sealer).
//
// Errors: ErrInvalidConfig (a nil sealer, too), ErrMigration (wrapping
// ErrRetriesExhausted and ErrUnavailable when the server cannot be
// reached).
func Open(ctx context.Context, dsn string, sealer Sealer) (*DB, error) {
	cfg, err := ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.Sealer = sealer
	return OpenConfig(ctx, cfg)
}

// OpenConfig creates the pool described by cfg.Pool, applies the embedded
// migrations to cfg.Schema (creating it if needed; safe to run from many
// processes at once) or, with cfg.NoMigrate, checks that they were
// applied, and returns the DB.
//
// Errors: ErrInvalidConfig (no Sealer without Unsealed, too),
// ErrMigration (wrapping ErrRetriesExhausted and ErrUnavailable when the
// server cannot be reached).
func OpenConfig(ctx context.Context, cfg *Config) (*DB, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if c.Sealer == nil && !c.Unsealed {
		return nil, fmt.Errorf("%w: no Sealer: give every instance the bank's seal keys (NewHMACSealer), or set Config.Unsealed for development and tests", ErrInvalidConfig)
	}
	pool, err := newPool(ctx, c.Pool)
	if err != nil {
		return nil, err
	}
	c.Pool = pool.Config()
	db := &DB{pool: pool, life: new(lifetime), owned: true, schema: c.Schema, cfg: c, tel: newDBTelemetry(&c)}
	if err := db.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Migrate applies the embedded migrations to cfg.Schema, as OpenConfig
// does, and closes its connections: the step an owner role runs (at
// deployment, from one process or many at once) before services open the
// schema with Config.NoMigrate. cfg.NoMigrate is ignored.
//
// Errors: those of OpenConfig.
func Migrate(ctx context.Context, cfg *Config) error {
	c := *cfg
	c.NoMigrate = false
	c.Unsealed = c.Sealer == nil // migrations write no entries
	db, err := OpenConfig(ctx, &c)
	if err != nil {
		return err
	}
	db.Close()
	return nil
}

// prepare migrates the schema, or with NoMigrate checks that it is
// migrated.
func (db *DB) prepare(ctx context.Context) error {
	if db.cfg.NoMigrate {
		return db.checkMigrated(ctx)
	}
	return db.migrate(ctx)
}

// WithSchema returns a DB on the same pool for another schema, applying the
// migrations to it first (checking them, with Config.NoMigrate). Closing the returned DB leaves the pool open. It
// lets one process serve several isolated ledgers (tenants, tests).
//
// Errors: ErrInvalidConfig, ErrMigration.
func (db *DB) WithSchema(ctx context.Context, schema string) (*DB, error) {
	c := db.cfg
	c.Schema = schema
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	out := &DB{pool: db.pool, life: db.life, schema: c.Schema, cfg: c, tel: db.tel}
	if err := out.prepare(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// Close closes the pool, unless the DB came from WithSchema: it closes
// the group commit of every store on the pool (see RedPacketStore.Close),
// waits for connections in use to be released, and closes them.
// Operations started afterwards fail. Calling it again is a no-op.
func (db *DB) Close() {
	if db.owned {
		db.life.Close()
		db.pool.Close()
	}
}

// Pool returns the pool the stores use, for the service's own queries and
// transactions on the same connections (one pool per process, not two).
// Name tables with the schema (Schema); do not close it: Close does.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Schema returns the schema the DB works in.
func (db *DB) Schema() string { return db.schema }

// qualify rewrites "$S." in a query to the quoted schema name, so that every
// query names its tables explicitly and several schemas can share a pool.
func (db *DB) qualify(query string) string {
	return strings.ReplaceAll(query, "$S.", pgx.Identifier{db.schema}.Sanitize()+".")
}

// run runs fn with a pooled connection, and again when it fails in a way
// that is safe to retry (see Config.MaxAttempts). Every operation of the
// stores is idempotent (transfers and accounts by ID, account events by
// state, reads), so an attempt whose commit may or may not have happened
// can be run again: it finds its own work done. op names the operation in
// errors.
func (db *DB) run(ctx context.Context, op string, fn func(ctx context.Context, conn *pgx.Conn) error) error {
	ctx, o := db.tel.start(ctx, op)
	attempts, err := db.retry(ctx, op, fn)
	db.tel.end(ctx, o, op, attempts, err)
	return err
}

// retry is run's loop; it returns how many attempts it made.
func (db *DB) retry(ctx context.Context, op string, fn func(ctx context.Context, conn *pgx.Conn) error) (int, error) {
	var last error
	for attempt := 1; ; attempt++ {
		err := db.attempt(ctx, fn)
		if err == nil {
			return attempt, nil
		}
		if ctx.Err() != nil {
			return attempt, fmt.Errorf("postgres: %s: %w", op, ctx.Err())
		}
		if !retryable(err) {
			return attempt, translate(op, err)
		}
		last = err
		if attempt >= db.cfg.MaxAttempts {
			db.tel.exhausted(ctx, op, attempt, last)
			return attempt, fmt.Errorf("postgres: %s: %w after %d attempts: %w", op, ErrRetriesExhausted, attempt, classify(last))
		}
		db.tel.retry(ctx, op, err)
		if errors.Is(err, errRerun) || isUniqueViolation(err, "transfers_pkey") {
			continue // nothing to wait for: state moved on, decide again
		}
		if err := sleep(ctx, db.backoff(attempt)); err != nil {
			return attempt, fmt.Errorf("postgres: %s: %w", op, err)
		}
	}
}

// backoff returns a full-jitter wait before attempt+1.
func (db *DB) backoff(attempt int) time.Duration {
	ceil := db.cfg.RetryBase << min(attempt-1, 30)
	if ceil <= 0 || ceil > db.cfg.RetryMax {
		ceil = db.cfg.RetryMax
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
