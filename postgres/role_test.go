package postgres

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialpay/socialpay/ledger"
)

// appRole creates a login role that may only read and write the rows of
// schema (what a service needs; schema_migrations it may only read), and
// drops it when t ends.
func appRole(t *testing.T, owner *DB, schema string) string {
	t.Helper()
	role := loginRole(t, owner)
	grantRows(t, owner, schema, role)
	return role
}

// loginRole creates a login role with no rights, dropped when t ends.
func loginRole(t *testing.T, owner *DB) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	role := "sp_app_" + hex.EncodeToString(b[:])
	exec(t, owner, "create role "+role+" login")
	t.Cleanup(func() {
		exec(t, owner, "drop owned by "+role)
		exec(t, owner, "drop role "+role)
	})
	return role
}

// grantRows grants role the rights a service needs on schema's tables.
func grantRows(t *testing.T, owner *DB, schema, role string) {
	t.Helper()
	exec(t, owner, "grant usage on schema "+schema+" to "+role)
	exec(t, owner, "grant select, insert, update, delete on all tables in schema "+schema+" to "+role)
	exec(t, owner, "revoke insert, update, delete on "+schema+".schema_migrations from "+role)
}

// openAs opens schema as role, with NoMigrate and the given sealer.
func openAs(t *testing.T, role, schema string, sealer Sealer) (*DB, error) {
	t.Helper()
	cfg, err := ParseConfig(cmp.Or(os.Getenv("SOCIALPAY_TEST_PG"), defaultTestDSN))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Pool.ConnConfig.User = role
	cfg.Pool.MaxConns = 4
	cfg.Schema, cfg.NoMigrate, cfg.Sealer, cfg.Unsealed = schema, true, sealer, sealer == nil
	db, err := OpenConfig(context.Background(), cfg)
	if err == nil {
		t.Cleanup(db.Close)
	}
	return db, err
}

// The owner migrates; the service runs as a role with row rights only.
// That role works the ledger, cannot alter the tables or their triggers,
// and what it can write around the store (a forged transfer with
// recomputed hashes) fails Verify once entries are sealed.
func TestServiceRole(t *testing.T) {
	ctx := context.Background()
	owner := freshDB(t)
	role := appRole(t, owner, owner.schema)
	sealer := testSealer(t, key(1, 's'))
	app, err := openAs(t, role, owner.schema, sealer)
	if err != nil {
		t.Fatalf("opening as the service role: %v", err)
	}
	w := newWorldOn(t, app) // accounts, transfers, a hold, Verify: all as the role

	for name, sql := range map[string]string{
		"switch off the triggers": "alter table $S.entries disable trigger user",
		"drop a trigger":          "drop trigger entries_append_only on $S.entries",
		"replace the guard":       "create or replace function $S.socialpay_reject_change() returns trigger language plpgsql as $$ begin return new; end $$",
		"drop a constraint":       "alter table $S.accounts drop constraint accounts_debits_limit",
		"truncate":                "truncate $S.entries",
		"edit an entry":           "update $S.entries set posted_delta = 0",
		"delete a transfer":       "delete from $S.transfers",
		"record a migration":      "delete from $S.schema_migrations",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := app.pool.Exec(ctx, app.qualify(sql))
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || (pe.Code != "42501" && pe.Code != codeAppendOnly) {
				t.Fatalf("the service role could %s: %v", name, err)
			}
		})
	}
	w.forge(t, forged{w.bank, w.wallet, 1_000_000_00})
	if _, err := w.l.Verify(ctx); !errors.Is(err, ledger.ErrVerify) || !strings.Contains(err.Error(), "is not sealed") {
		t.Fatalf("the role's forgery verified: %v", err)
	}
}

// The service role cannot migrate (it cannot create the schema), a
// NoMigrate open of a schema without every migration refuses and names
// what is missing, and after the owner's Migrate the service role opens
// it.
func TestNoMigrate(t *testing.T) {
	ctx := context.Background()
	base := testDB(t)
	schema := fmt.Sprintf("%s_%d", server.prefix, server.n.Add(1))
	t.Cleanup(func() { dropSchema(t, base, schema) })
	role := loginRole(t, base)
	exec(t, base, "grant connect on database "+base.cfg.Pool.ConnConfig.Database+" to "+role)

	open := func(noMigrate bool) error {
		cfg, err := ParseConfig(cmp.Or(os.Getenv("SOCIALPAY_TEST_PG"), defaultTestDSN))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Pool.ConnConfig.User, cfg.Schema, cfg.NoMigrate, cfg.MaxAttempts, cfg.Unsealed = role, schema, noMigrate, 1, true
		db, err := OpenConfig(ctx, cfg)
		if err == nil {
			db.Close()
		}
		return err
	}
	if err := open(false); !errors.Is(err, ErrMigration) {
		t.Fatalf("the service role migrated: %v", err)
	}
	if err := open(true); !errors.Is(err, ErrMigration) {
		t.Fatalf("a schema that does not exist opened: %v", err)
	}
	ownerCfg := *base.cfg.Pool.Copy()
	if err := Migrate(ctx, &Config{Pool: &ownerCfg, Schema: schema, NoMigrate: true}); err != nil {
		t.Fatalf("the owner's Migrate: %v", err)
	}
	owner, err := base.WithSchema(ctx, schema) // migrated already: nothing to do
	if err != nil {
		t.Fatal(err)
	}
	grantRows(t, owner, schema, role)
	if err := open(true); err != nil {
		t.Fatalf("the service role, after Migrate: %v", err)
	}
	ms := Migrations()
	last := ms[len(ms)-1]
	exec(t, owner, "delete from $S.schema_migrations where version = $1", last.Version)
	if err := open(true); !errors.Is(err, ErrMigration) || !strings.Contains(err.Error(), fmt.Sprintf("lacks version %d", last.Version)) {
		t.Fatalf("opened a schema that lacks version %d: %v", last.Version, err)
	}
}
