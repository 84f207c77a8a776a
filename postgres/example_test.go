package postgres_test

import (
	"fmt"

	"github.com/socialpay/socialpay/postgres"
)

// A service parses its connection string once, picks the schema its
// tables live in, and opens the DB with OpenConfig (which applies the
// embedded migrations); the ledger store sits on the DB:
//
//	db, err := postgres.OpenConfig(ctx, cfg)
//	…
//	l := ledger.New(postgres.NewStore(db), ledger.Options{})
func ExampleParseConfig() {
	cfg, err := postgres.ParseConfig("postgres://app@db.bank.example:5432/payments?sslmode=verify-full&pool_max_conns=32")
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg.Schema = "socialpay_cn"
	fmt.Println(cfg.ConnConfig.Host, cfg.ConnConfig.Database, cfg.MaxConns, cfg.Schema)

	_, err = postgres.ParseConfig("postgres://app@db.bank.example/payments?pool_max_conns=lots")
	fmt.Println(err)
	// Output:
	// db.bank.example payments 32 socialpay_cn
	// postgres: invalid configuration: pool_max_conns "lots"
}

// The migrations a DB applies, in order; each is recorded with its
// checksum in the schema's schema_migrations table.
func ExampleMigrations() {
	ms := postgres.Migrations()
	fmt.Println(ms[0].Version, ms[0].Name, len(ms[0].Checksum))
	// Output:
	// 1 ledger 64
}
