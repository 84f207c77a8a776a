package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testPG returns the test server's DSN and a fresh schema name, dropped
// when the test ends; it skips (fails under CI) without a server.
func testPG(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = cmp.Or(os.Getenv("SOCIALPAY_TEST_PG"), "postgres://root@127.0.0.1:5432/test?sslmode=disable")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and no PostgreSQL at %s: %v", dsn, err)
		}
		t.Skipf("no PostgreSQL at %s (set SOCIALPAY_TEST_PG): %v", dsn, err)
	}
	conn.Close(ctx)
	b := make([]byte, 4)
	rand.Read(b)
	schema = "bankd_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "drop schema if exists "+schema+" cascade"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return dsn, schema
}
