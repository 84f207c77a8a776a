package main

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"strings"
	"testing"
)

// The story runs to the end on in-memory ledgers, and on PostgreSQL
// schemas when a server answers (SOCIALPAY_TEST_PG, else the local one).
func TestRun(t *testing.T) {
	t.Run("memory", func(t *testing.T) { check(t, "") })
	t.Run("postgres", func(t *testing.T) {
		dsn := cmp.Or(os.Getenv("SOCIALPAY_TEST_PG"), "postgres://root@127.0.0.1:5432/test?sslmode=disable")
		var out bytes.Buffer
		if err := run(context.Background(), &out, dsn); err != nil {
			if os.Getenv("CI") == "" && strings.Contains(err.Error(), "connect") {
				t.Skipf("no PostgreSQL at %s: %v", dsn, err)
			}
			t.Fatalf("run: %v\n%s", err, out.String())
		}
		want(t, out.String())
	})
}

func check(t *testing.T, dsn string) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, dsn); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	want(t, out.String())
}

func want(t *testing.T, text string) {
	t.Helper()
	for _, w := range []string{
		"张三 → 李四 (cell_2 → cell_0) 88.88: completed <nil>",
		"张三 → 吴九 (cell_2 → cell_2) 120.00: completed <nil>",
		"50.00: reversed, reversed true, because closed true",
		"cell_0 is down; 张三 → 李四 10.00: open, in flight true",
		"clearing in flight: held 10.00 CNY, settled false",
		"cell_0 is back; reconcile completed 1",
		"  张三 holds 781.12 CNY",
		"  李四 holds 98.88 CNY",
		"吴九 (cell_2) claims 张三's red packet: 8.88 CNY, paid in cell_2",
		"李四 (cell_0) claims 张三's red packet: 8.88 CNY, forwarded cell_2 → cell_0: completed",
		"  张三 holds 763.36 CNY",
		"  李四 holds 107.76 CNY",
		"  吴九 holds 128.88 CNY",
		"clearing: posted 107.76 CNY, credited 107.76 CNY, settled true",
		"every cell's ledger verified",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q:\n%s", w, text)
		}
	}
}
