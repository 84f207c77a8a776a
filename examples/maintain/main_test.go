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

// The program runs to the end on the test server: both instances' rounds
// give Alice her unclaimed shares back once, and the ledger verifies.
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
		"Alice sent 3 packets of 2.00 CNY, Bob grabbed 1.00 CNY; Alice holds 94.00 CNY",
		"after both instances' rounds: Alice holds 99.00 CNY",
		"ledger verified",
		"instance A's last results: 2 tasks",
		`msg="maintain: task done" instance=`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "task failed") {
		t.Errorf("a task failed:\n%s", out.String())
	}
}
