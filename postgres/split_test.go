package postgres

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestSplitStatements(t *testing.T) {
	for _, tc := range []struct {
		name string
		sql  string
		want []string
	}{
		{"plain", "create table a (x int); create index on a (x);", []string{"create table a (x int)", "create index on a (x)"}},
		{"no final semicolon", "select 1;\nselect 2", []string{"select 1", "select 2"}},
		{"empty and comments only", " ;; -- nothing\n /* here */ ;", nil},
		{"line comment with semicolon", "select 1 -- a; b\n, 2;", []string{"select 1 -- a; b\n, 2"}},
		{"nested block comment", "select /* a /* b; */ c; */ 1; select 2", []string{"select /* a /* b; */ c; */ 1", "select 2"}},
		{"string", "insert into t values ('a;b', 'it''s;'); select 1", []string{"insert into t values ('a;b', 'it''s;')", "select 1"}},
		{"escape string", `select E'a\';b'; select 2`, []string{`select E'a\';b'`, "select 2"}},
		{"backslash in plain string", `select 'a\'; select 2`, []string{`select 'a\'`, "select 2"}},
		{"quoted identifier", `create table "a;""b" (x int); select 1`, []string{`create table "a;""b" (x int)`, "select 1"}},
		{"dollar body", "create function f() returns trigger language plpgsql as $$\nbegin\n  raise exception 'x;y';\nend\n$$;\ncreate trigger t before update on a for each row execute function f();",
			[]string{"create function f() returns trigger language plpgsql as $$\nbegin\n  raise exception 'x;y';\nend\n$$", "create trigger t before update on a for each row execute function f()"}},
		{"tagged dollar body", "do $x$ begin perform 1; perform '$$;'; end $x$; select 1", []string{"do $x$ begin perform 1; perform '$$;'; end $x$", "select 1"}},
		{"parameter is no dollar quote", "select $1; select $2", []string{"select $1", "select $2"}},
		{"dollar inside identifier", "select a$b$ from t; select 1", []string{"select a$b$ from t", "select 1"}},
		{"begin atomic", "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC select case when x > 0 then 1 else 0 end; select 2; END; select 3",
			[]string{"CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC select case when x > 0 then 1 else 0 end; select 2; END", "select 3"}},
		{"procedure", "create procedure p() begin atomic insert into t values (1); end; select 1", []string{"create procedure p() begin atomic insert into t values (1); end", "select 1"}},
		{"begin outside a routine", "begin; select 1; commit", []string{"begin", "select 1", "commit"}},
		{"unterminated string", "select 'a; select 2", []string{"select 'a; select 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := splitStatements(tc.sql); !slices.Equal(got, tc.want) {
				t.Fatalf("split %q\n got %q\nwant %q", tc.sql, got, tc.want)
			}
		})
	}
}

// Every embedded migration splits into statements that each hold code,
// and putting them back together splits the same way: nothing is lost or
// cut inside a body.
func TestSplitMigrations(t *testing.T) {
	for _, m := range Migrations() {
		stmts := splitStatements(m.SQL)
		if len(stmts) == 0 {
			t.Fatalf("migration %d: no statements", m.Version)
		}
		for _, s := range stmts {
			if strings.Count(s, "$$")%2 != 0 {
				t.Fatalf("migration %d: statement cut inside a dollar-quoted body: %q", m.Version, s)
			}
		}
		if again := splitStatements(strings.Join(stmts, ";\n")); !slices.Equal(again, stmts) {
			t.Fatalf("migration %d: rejoined statements split differently", m.Version)
		}
	}
	// 0001 holds a function with a dollar-quoted body and its triggers.
	var fn string
	for _, s := range splitStatements(Migrations()[0].SQL) {
		if strings.Contains(s, "CREATE FUNCTION socialpay_reject_change") {
			fn = s
		}
	}
	if !strings.HasSuffix(fn, "END\n$$") {
		t.Fatalf("the trigger function was not kept whole: %q", fn)
	}
}

// Duplicate keys are recognised in PostgreSQL's form and in Citus' (a
// shard's constraint, and a worker's error relayed as XX000), so the
// idempotency path fires on both.
func TestUniqueViolationForms(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "23505", ConstraintName: "transfers_pkey"}, true},
		{&pgconn.PgError{Code: "23505", ConstraintName: "transfers_pkey_102008"}, true},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "23505", ConstraintName: "transfers_pkey_7"}), true},
		{&pgconn.PgError{Code: "XX000", Message: `duplicate key value violates unique constraint "transfers_pkey_102008"`}, true},
		{&pgconn.PgError{Code: "XX000", Message: `duplicate key value violates unique constraint "transfers_pkey"`}, true},
		{&pgconn.PgError{Code: "23505", ConstraintName: "transfers_pkey_x1"}, false},
		{&pgconn.PgError{Code: "23505", ConstraintName: "transfers_pkey_"}, false},
		{&pgconn.PgError{Code: "23505", ConstraintName: "transfers_resolve_once"}, false},
		{&pgconn.PgError{Code: "XX000", Message: `duplicate key value violates unique constraint "accounts_pkey_102008"`}, false},
		{&pgconn.PgError{Code: "XX000", Message: "could not create distributed plan"}, false},
		{&pgconn.PgError{Code: "23503", ConstraintName: "transfers_pkey"}, false},
		{errors.New("transfers_pkey"), false},
	} {
		if got := isUniqueViolation(tc.err, "transfers_pkey"); got != tc.want {
			t.Errorf("isUniqueViolation(%v) = %v, want %v", tc.err, got, tc.want)
		}
		if tc.want && (!retryable(tc.err) || !errors.Is(classify(tc.err), ErrIntegrity)) {
			t.Errorf("%v: retryable %v, classified %v", tc.err, retryable(tc.err), classify(tc.err))
		}
	}
}
