package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socialpay/socialpay/postgres"
)

// A service parses its connection string once (pgxpool's pool_ settings
// included), picks the schema its tables live in, and opens the DB with
// OpenConfig (which applies the embedded migrations); the ledger store
// sits on the DB:
//
//	db, err := postgres.OpenConfig(ctx, cfg)
//	…
//	l := ledger.New(postgres.NewLedgerStore(db), ledger.Options{})
func ExampleParseConfig() {
	cfg, err := postgres.ParseConfig("postgres://app@db.bank.example:5432/payments?sslmode=verify-full&pool_max_conns=32")
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg.Schema = "socialpay_cn"
	cfg.MaxAttempts = 5
	fmt.Println(cfg.Pool.ConnConfig.Host, cfg.Pool.ConnConfig.Database, cfg.Pool.MaxConns, cfg.Schema)

	_, err = postgres.ParseConfig("postgres://app@db.bank.example/payments?pool_max_conns=lots")
	fmt.Println(errors.Is(err, postgres.ErrInvalidConfig))
	// Output:
	// db.bank.example payments 32 socialpay_cn
	// true
}

// A service that configures pgxpool itself (hooks, tracers, TLS, lifetimes)
// hands that configuration to the DB in Config.Pool.
func ExampleConfig_pgxpool() {
	pc, err := pgxpool.ParseConfig("postgres://app@db.bank.example/payments?sslmode=verify-full")
	if err != nil {
		fmt.Println(err)
		return
	}
	pc.MaxConns = 16
	pc.MaxConnLifetime = 30 * time.Minute
	pc.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "set statement_timeout = '5s'")
		return err
	}
	cfg := &postgres.Config{Pool: pc, Schema: "socialpay"}
	fmt.Println(cfg.Pool.ConnConfig.Host, cfg.Pool.MaxConns)
	// db, err := postgres.OpenConfig(ctx, cfg)
	// Output:
	// db.bank.example 16
}

// The migrations a DB applies, in order; each is recorded with its
// checksum in the schema's schema_migrations table.
func ExampleMigrations() {
	ms := postgres.Migrations()
	fmt.Println(ms[0].Version, ms[0].Name, len(ms[0].Checksum))
	// Output:
	// 1 ledger 64
}
