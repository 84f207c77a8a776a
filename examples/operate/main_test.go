package main

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The program runs to the end on the test server and says what each step
// should: one deposit for a retried request, one lookup budget across the
// instances, the insider's changes refused and the forgery reported.
func TestRun(t *testing.T) {
	dsn := cmp.Or(os.Getenv("SOCIALPAY_TEST_PG"), "postgres://root@127.0.0.1:5432/test?sslmode=disable")
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and no PostgreSQL at %s: %v", dsn, err)
		}
		t.Skipf("no PostgreSQL at %s (set SOCIALPAY_TEST_PG): %v", dsn, err)
	}
	conn.Close(context.Background())
	var out bytes.Buffer
	if err := run(context.Background(), &out, dsn); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"the wallet holds 88.88 CNY; Verify: 2 accounts, 2 sealed entries",
		"20 misses spread over both instances: 5 admitted, one budget",
		"switches off the append-only triggers: refused: true",
		"edits an entry: refused: true",
		"the wallet shows 1000088.88 CNY, Verify: fails: entries not sealed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
