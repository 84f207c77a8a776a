package postgres

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socialpay/socialpay/errcode"
)

// The connections are pgxpool's. It hands out idle connections and dials
// new ones up to MaxConns, pings a connection that sat idle for more than
// a second before handing it out, and destroys a connection released
// closed, busy or inside a transaction. This file adds what the stores'
// retries need on top: a failed attempt's transaction is rolled back so the
// connection stays pooled, and a connection found dead resets the pool.

var errPoolClosed = errcode.New("pool_closed", errcode.Unavailable, "postgres: pool closed")

// citusPlanCache switches a new connection to plan_cache_mode auto when
// the database has the citus extension, and does nothing otherwise.
const citusPlanCache = "select set_config('plan_cache_mode', 'auto', false) from pg_extension where extname = 'citus'"

// newPool creates the pool pc describes (a copy of it) with the DB's
// defaults: MaxConns the greater of 4 and GOMAXPROCS unless set, and
// plan_cache_mode=force_generic_plan (auto with Citus) unless pc sets it.
//
// Errors: ErrInvalidConfig.
func newPool(ctx context.Context, pc *pgxpool.Config) (p *pgxpool.Pool, err error) {
	if pc == nil || pc.ConnConfig == nil {
		return nil, fmt.Errorf("%w: no pool configuration (use ParseConfig or pgxpool.ParseConfig)", ErrInvalidConfig)
	}
	pc = pc.Copy()
	if pc.MaxConns <= 0 {
		pc.MaxConns = int32(max(4, runtime.GOMAXPROCS(0)))
	}
	if pc.ConnConfig.RuntimeParams == nil {
		pc.ConnConfig.RuntimeParams = map[string]string{}
	}
	if _, set := pc.ConnConfig.RuntimeParams["plan_cache_mode"]; !set {
		// The stores' statements are prepared once per connection and take
		// arrays whose length the planner cannot know: with custom plans
		// PostgreSQL re-plans a one-transfer batch at every execution
		// (measured: a quarter of the server's time per single transfer;
		// auto, 12% fewer transfers per second than generic plans).
		pc.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
		// Citus plans a statement on its distributed tables only once its
		// parameters are known: it prices a generic plan out of reach, so
		// that auto falls back to custom plans, and force_generic_plan
		// leaves it nothing it can run. A database with Citus gets auto.
		user := pc.AfterConnect
		pc.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
			if _, err := conn.Exec(ctx, citusPlanCache); err != nil {
				return err
			}
			if user != nil {
				return user(ctx, conn)
			}
			return nil
		}
	}
	defer func() {
		// pgxpool panics on a Config that pgxpool.ParseConfig did not make
		// (a struct literal): bad input, so an error here.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("%w: %v (build it with pgxpool.ParseConfig)", ErrInvalidConfig, r)
		}
	}()
	p, err = pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return p, nil
}

// attempt runs fn once on a pooled connection. fn may leave a transaction
// open (having decided to write nothing, or failed): it is rolled back
// here, so the connection goes back to the pool clean rather than being
// destroyed. A connection that died under fn (a killed backend, a server
// restart) resets the pool: its idle siblings are most likely dead too,
// and handing them out one by one would burn the operations' retries.
func (db *DB) attempt(ctx context.Context, fn func(ctx context.Context, conn *pgx.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		if db.life.Closed() {
			return errPoolClosed
		}
		return err
	}
	defer pc.Release()
	conn := pc.Conn()
	err = fn(ctx, conn)
	switch {
	case conn.IsClosed():
		if err != nil && ctx.Err() == nil && isConnectionError(err) {
			db.pool.Reset() // connections in use are closed when released
			db.tel.poolReset(ctx, err)
		}
	case conn.PgConn().TxStatus() != 'I':
		// If even the rollback fails, Release sees the transaction and
		// destroys the connection.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, _ = conn.Exec(rctx, "rollback")
		cancel()
	}
	return err
}
