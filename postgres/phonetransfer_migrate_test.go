package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

// legacyTransferSchema returns the test DB, a schema migrated up to (not
// including) migration 0202, when transfer's users were text, and a bare
// DB on it for setting it up.
func legacyTransferSchema(t *testing.T, suffix string) (base, old *DB, name string) {
	t.Helper()
	base = testDB(t)
	name = base.schema + "_" + suffix
	t.Cleanup(func() { dropSchema(t, base, name) })
	old = &DB{pool: base.pool, schema: name}
	exec(t, old, `create schema `+name+`; create table $S.schema_migrations (version integer primary key,
		name text not null, checksum text not null, applied_at timestamptz not null default now())`)
	for _, m := range Migrations() {
		if m.Version >= 202 {
			break
		}
		exec(t, old, "begin; set local search_path to "+name+";\n"+m.SQL+"\ncommit")
		exec(t, old, `insert into $S.schema_migrations (version, name, checksum) values ($1, $2, $3)`, m.Version, m.Name, m.Checksum)
	}
	return base, old, name
}

// insertLegacyTransfer writes, as the stores before migration 0202 did, a
// binding of payee's number, payer's settled transfer to it, the payer's
// daily total and the settled pair.
func insertLegacyTransfer(t *testing.T, old *DB, id uuid.UUID, phone, payer, payee string, at time.Time) {
	t.Helper()
	exec(t, old, `insert into $S.transfer_bindings (phone, holder, account, name, masked_name, verified_at, bound_at, updated_at)
		values ($1, $2, $3, '王小明', '**明', $4, $4, $4)`, phone, payee, uuid.New(), at)
	exec(t, old, `insert into $S.transfer_records (id, idempotency_key, request_hash, payer, from_account, payee_phone,
			payee_institution, payee_holder, payee_account, payee_masked, currency, amount, arrival, memo, lookup_id,
			refund, day, first_payee, state, reason, created_at, due_at, resolved_at, attempts)
		values ($1, 'k', $2, $3, $4, $5, 'local', $6, $7, '**明', 'CNY', 100, 0, '', null,
			false, $8, true, 1, '', $9, $9, $9, 0)`,
		id, make([]byte, 32), payer, uuid.New(), phone, payee, uuid.New(), at.Truncate(24*time.Hour), at)
	exec(t, old, `insert into $S.transfer_daily_totals (payer, day, currency, total) values ($1, $2, 'CNY', 100)`, payer, at.Truncate(24*time.Hour))
	exec(t, old, `insert into $S.transfer_payees (payer, institution, holder, since) values ($1, 'local', $2, $3)`, payer, payee, at)
}

// Migration 0202 makes transfer's users UUIDs: text that reads as a UUID
// converts as it reads, a customer number through the
// transfer_customer_ids the bank filled with its derived user ID; the
// records, bindings, totals and payees read back with those IDs, and the
// records stay frozen.
func TestTransferUsersMigration(t *testing.T) {
	ctx := context.Background()
	base, old, name := legacyTransferSchema(t, "users")
	at := time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)
	ns := uuid.MustParse("5f1d1d5e-8c1a-4b7e-9d0e-6a1f2b3c4d5e") // the bank's namespace
	alice, bob := uuid.New(), ledger.DeriveID(ns, "customer", "C-0002")
	first, second := uuid.New(), uuid.New()
	insertLegacyTransfer(t, old, first, "+8613800138000", strings.ToUpper(alice.String()), "C-0002", at)
	insertLegacyTransfer(t, old, second, "+8613900139000", "C-0002", alice.String(), at)
	exec(t, old, `create table $S.transfer_customer_ids (customer text primary key, user_id uuid not null)`)
	exec(t, old, `insert into $S.transfer_customer_ids (customer, user_id) values ('C-0002', $1)`, bob)

	db, err := base.WithSchema(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	store, dir := NewPhoneTransferStore(db), NewPhoneDirectory(db)
	for _, c := range []struct {
		id           uuid.UUID
		phone        transfer.Phone
		payer, payee uuid.UUID
	}{{first, "+8613800138000", alice, bob}, {second, "+8613900139000", bob, alice}} {
		r, err := store.Get(ctx, c.id)
		if err != nil || r.Payer != c.payer || r.Payee.Holder != c.payee {
			t.Fatalf("record %s: payer %s, payee %s, %v; want %s, %s", c.id, r.Payer, r.Payee.Holder, err, c.payer, c.payee)
		}
		b, found, err := dir.Lookup(ctx, c.phone)
		if err != nil || !found || b.Holder != c.payee {
			t.Fatalf("binding of %s: %+v %v %v; want holder %s", c.phone, b, found, err, c.payee)
		}
		if tot, err := store.DailyTotal(ctx, c.payer, transfer.DayOf(at, time.UTC), ledger.MustCurrency("CNY")); err != nil || tot.Units() != 100 {
			t.Fatalf("daily total of %s: %v %v", c.payer, tot, err)
		}
		if ok, err := store.SettledBefore(ctx, c.payer, "local", c.payee); err != nil || !ok {
			t.Fatalf("settled pair %s → %s: %v %v", c.payer, c.payee, ok, err)
		}
	}
	// The holder may unbind under its user ID.
	if err := dir.Unbind(ctx, "+8613800138000", bob); err != nil {
		t.Fatal(err)
	}
	// Still frozen: the request of a record never changes.
	if _, err := db.pool.Exec(ctx, db.qualify(`update $S.transfer_records set payer = $1 where id = $2`), uuid.New(), first); err == nil {
		t.Fatal("a record's payer was rewritten after the migration")
	}
	// The zero ID is no user.
	if _, err := db.pool.Exec(ctx, db.qualify(`insert into $S.transfer_bindings (phone, holder, account, name, masked_name, verified_at, bound_at, updated_at)
		values ('+8613700137000', $1, $2, 'x', 'x', now(), now(), now())`), uuid.Nil, uuid.New()); err == nil {
		t.Fatal("a binding to the zero user ID was stored")
	}
}

// A customer ID that is neither a UUID nor mapped stops migration 0202:
// Open fails naming it, and the schema is as it was (text users), so the
// bank can map it and open again.
func TestTransferUsersMigrationUnmapped(t *testing.T) {
	ctx := context.Background()
	base, old, name := legacyTransferSchema(t, "unmapped")
	at := time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)
	id := uuid.New()
	insertLegacyTransfer(t, old, id, "+8613800138000", "alice", uuid.NewString(), at)

	_, err := base.WithSchema(ctx, name)
	if !errors.Is(err, ErrMigration) || !strings.Contains(err.Error(), "'alice'") {
		t.Fatalf("Open = %v, want ErrMigration naming the customer ID", err)
	}
	var typ string
	if err := old.pool.QueryRow(ctx, `select data_type from information_schema.columns
		where table_schema = $1 and table_name = 'transfer_records' and column_name = 'payer'`, name).Scan(&typ); err != nil || typ != "text" {
		t.Fatalf("payer column is %q (%v) after the failed migration, want text", typ, err)
	}
	var applied bool
	if err := old.pool.QueryRow(ctx, old.qualify(`select exists (select 1 from $S.schema_migrations where version = 202)`)).Scan(&applied); err != nil || applied {
		t.Fatalf("migration 0202 recorded: %v %v", applied, err)
	}

	alice := uuid.New()
	exec(t, old, `create table $S.transfer_customer_ids (customer text primary key, user_id uuid not null)`)
	exec(t, old, `insert into $S.transfer_customer_ids (customer, user_id) values ('alice', $1)`, alice)
	db, err := base.WithSchema(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := NewPhoneTransferStore(db).Get(ctx, id); err != nil || r.Payer != alice {
		t.Fatalf("record after mapping: payer %s, %v; want %s", r.Payer, err, alice)
	}
}
