package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultSchema is the schema a DB uses when Config.Schema is empty.
const DefaultSchema = "socialpay"

// Config configures a DB. Build one with ParseConfig, adjust it, and pass it
// to OpenConfig.
type Config struct {
	// ConnConfig configures each connection (host, user, TLS, runtime
	// parameters…), as pgx.ParseConfig returns it. Unless it sets
	// plan_cache_mode, the DB's connections use force_generic_plan.
	ConnConfig *pgx.ConnConfig

	// MaxConns bounds the connections open at once. Default: the
	// connection string's pool_max_conns, else the greater of 4 and
	// GOMAXPROCS.
	MaxConns int

	// Schema is the PostgreSQL schema holding socialpay's tables; it is
	// created if missing. Names are lower-case letters, digits and '_',
	// starting with a letter or '_', at most 63 bytes. Default DefaultSchema.
	Schema string

	// MaxAttempts bounds how often an operation runs when it fails in a way
	// that is safe to retry: serialization failures (40001), deadlocks
	// (40P01), a transfer ID inserted concurrently (23505), and lost
	// connections. Default 10.
	MaxAttempts int

	// RetryBase and RetryMax shape the backoff between attempts: attempt n
	// waits a random time in [0, min(RetryMax, RetryBase·2ⁿ⁻¹)] (full
	// jitter). Defaults 2 ms and 500 ms.
	RetryBase, RetryMax time.Duration
}

// ParseConfig parses a PostgreSQL connection string (URL or key=value form,
// as pgx.ParseConfig accepts, plus pool_max_conns as pgxpool reads it) into
// a Config with the default schema and retry settings.
//
// Errors: ErrInvalidConfig wrapping the parse error.
func ParseConfig(dsn string) (*Config, error) {
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	cfg := &Config{ConnConfig: cc, Schema: DefaultSchema}
	if v, ok := cc.RuntimeParams["pool_max_conns"]; ok {
		delete(cc.RuntimeParams, "pool_max_conns") // not a server parameter
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%w: pool_max_conns %q", ErrInvalidConfig, v)
		}
		cfg.MaxConns = n
	}
	return cfg, nil
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.ConnConfig == nil {
		return out, fmt.Errorf("%w: no connection configuration (use ParseConfig)", ErrInvalidConfig)
	}
	if out.MaxConns <= 0 {
		out.MaxConns = max(4, runtime.GOMAXPROCS(0))
	}
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

// DB is socialpay's handle on one PostgreSQL database: one pool of pgx
// connections and one schema whose migrations have been applied. The
// stores of this package are built on a DB; it is safe for concurrent use
// and keeps no business state.
type DB struct {
	pool   *pool
	owned  bool // Close closes pool
	schema string
	cfg    Config
}

// Open connects to the database named by dsn, applies the embedded
// migrations to the default schema, and returns the DB.
//
// Errors: ErrInvalidConfig, ErrMigration, and connection errors.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig creates the pool described by cfg, applies the embedded
// migrations to cfg.Schema (creating it if needed; safe to run from many
// processes at once), and returns the DB.
//
// Errors: ErrInvalidConfig, ErrMigration, and connection errors.
func OpenConfig(ctx context.Context, cfg *Config) (*DB, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cc := c.ConnConfig.Copy()
	if _, set := cc.RuntimeParams["plan_cache_mode"]; !set {
		// The stores' statements are prepared once per connection and take
		// arrays whose length the planner cannot know: with custom plans
		// PostgreSQL re-plans a one-transfer batch at every execution
		// (measured: a quarter of the server's time per single transfer).
		cc.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	db := &DB{pool: newPool(cc, c.MaxConns), owned: true, schema: c.Schema, cfg: c}
	if err := db.migrate(ctx); err != nil {
		db.pool.close()
		return nil, err
	}
	return db, nil
}

// WithSchema returns a DB on the same pool for another schema, applying the
// migrations to it first. Closing the returned DB leaves the pool open. It
// lets one process serve several isolated ledgers (tenants, tests).
//
// Errors: ErrInvalidConfig, ErrMigration, and connection errors.
func (db *DB) WithSchema(ctx context.Context, schema string) (*DB, error) {
	c := db.cfg
	c.Schema = schema
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	out := &DB{pool: db.pool, schema: c.Schema, cfg: c}
	if err := out.migrate(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// Close closes the pool, unless the DB came from WithSchema.
func (db *DB) Close() {
	if db.owned {
		db.pool.close()
	}
}

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
	var last error
	for attempt := 1; ; attempt++ {
		err := db.attempt(ctx, fn)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("postgres: %s: %w", op, ctx.Err())
		}
		if !retryable(err) {
			return translate(op, err)
		}
		last = err
		if attempt >= db.cfg.MaxAttempts {
			return fmt.Errorf("postgres: %s: %w after %d attempts: %w", op, ErrRetriesExhausted, attempt, classify(last))
		}
		if errors.Is(err, errRerun) || isUniqueViolation(err, "transfers_pkey") {
			continue // nothing to wait for: state moved on, decide again
		}
		if err := sleep(ctx, db.backoff(attempt)); err != nil {
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
	}
}

func (db *DB) attempt(ctx context.Context, fn func(ctx context.Context, conn *pgx.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	conn, err := db.pool.acquire(ctx)
	if err != nil {
		return err
	}
	defer db.pool.release(conn)
	err = fn(ctx, conn)
	if conn.PgConn().TxStatus() != 'I' && !conn.IsClosed() {
		// fn failed or decided to write nothing: roll back, leaving the
		// connection clean for the pool. If even that fails, the pool
		// discards the connection (Release checks the status).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, _ = conn.Exec(rctx, "rollback")
		cancel()
	}
	return err
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
