package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// testRedPacketKey is the password key of every red-packet Service in
// these tests, shared as a bank's instances share theirs.
var testRedPacketKey = func() *redpacket.PasswordKey {
	k, err := redpacket.NewPasswordKey([]byte("postgres tests: a key for tests only, never for money"))
	if err != nil {
		panic(err)
	}
	return k
}()

// rowsText returns every row of the red-packet tables as PostgreSQL prints
// a row: every column.
func rowsText(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), db.qualify(
		`select r::text from $S.redpackets r union all select c::text from $S.redpacket_claims c`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRedPacketPasswordNotInDatabase is the attack of anyone who can read
// the database (a read-only role, a replica, a backup): select the
// red-packet rows and find a password packet's phrase. The rows hold a
// keyed hash of it, and the service still checks claims against it.
func TestRedPacketPasswordNotInDatabase(t *testing.T) {
	w := newPayWorld(t, func(db *DB) ledger.Store { return NewLedgerStore(db) })
	sender, wallet := w.member()
	claimer, cwallet := w.member()
	w.member()
	if _, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: wallet, Amount: ledger.NewMoney(500, cnyTest)}); err != nil {
		t.Fatal(err)
	}
	p, err := w.svc.Send(w.ctx, redpacket.SendRequest{
		Key: uuid.NewString(), Kind: redpacket.Password, Sender: sender, SenderAccount: wallet, Group: w.group,
		Amount: ledger.NewMoney(500, cnyTest), Count: 2, Password: "芝麻开门",
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := rowsText(t, w.db)
	if len(rows) != 1 {
		t.Fatalf("rows %v, want the packet", rows)
	}
	for _, r := range rows {
		if strings.Contains(r, "芝麻") || strings.Contains(r, "开门") {
			t.Fatalf("a row holds the phrase: %s", r)
		}
	}
	stored, err := w.store.Packet(w.ctx, p.ID)
	if err != nil || !testRedPacketKey.Matches(p.ID, stored.PasswordHash, "芝麻开门") {
		t.Fatalf("stored hash %x (%v) does not match the phrase", stored.PasswordHash, err)
	}
	_, err = w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: claimer, Account: cwallet, Password: "芝麻关门"})
	if !errors.Is(err, redpacket.ErrWrongPassword) {
		t.Fatalf("claim with a wrong phrase: %v, want ErrWrongPassword", err)
	}
	if _, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: claimer, Account: cwallet, Password: " 芝麻开门　"}); err != nil {
		t.Fatalf("claim with the phrase: %v", err)
	}
	// Not a 33rd byte, not a hash on a lucky packet: the schema refuses.
	for name, sql := range map[string]string{
		"a short hash":       `update $S.redpackets set password_hash = '\x00'::bytea where id = $1`,
		"a hash on a lucky":  `update $S.redpackets set kind = 1 where id = $1`,
		"a phrase in clear?": `update $S.redpackets set password_hash = convert_to('芝麻开门', 'UTF8') where id = $1`,
	} {
		if _, err := w.db.pool.Exec(w.ctx, w.db.qualify(sql), p.ID); err == nil {
			t.Errorf("%s: the schema accepted it", name)
		}
	}
}

// TestRedPacketLegacyPasswords: a database whose packets were recorded
// with clear phrases (before migration 0102) is migrated; the phrases move
// aside, where no packet is read from, and HashLegacyPasswords replaces
// them with their hashes, so that those packets are claimable with their
// phrases again and the phrases are gone from the rows.
func TestRedPacketLegacyPasswords(t *testing.T) {
	base := testDB(t)
	ctx := context.Background()
	name := base.schema + "_legacy"
	t.Cleanup(func() { dropSchema(t, base, name) })
	old := &DB{pool: base.pool, schema: name}
	exec(t, old, `create schema `+name+`; create table $S.schema_migrations (version integer primary key,
		name text not null, checksum text not null, applied_at timestamptz not null default now())`)
	for _, m := range Migrations() {
		if m.Version >= 102 {
			break
		}
		exec(t, old, "begin; set local search_path to "+name+";\n"+m.SQL+"\ncommit")
		exec(t, old, `insert into $S.schema_migrations (version, name, checksum) values ($1, $2, $3)`, m.Version, m.Name, m.Checksum)
	}
	at := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	insert := `insert into $S.redpackets (id, kind, sender, sender_account, password, sender_may_grab, currency, total,
		count, shares, escrow, created_at, expires_at, status, claimed, posted, settled)
		values ($1, $2, $3, $3, $4, false, 'CNY', 30, 3, '{10,10,10}', $3, $5, $6, 2, 0, 0, false)`
	pw, lucky, bad := uuid.New(), uuid.New(), uuid.New()
	exec(t, old, insert, pw, 4, uuid.New(), "芝麻 开门", at, at.Add(24*time.Hour))
	exec(t, old, insert, lucky, 1, uuid.New(), "", at, at.Add(24*time.Hour))
	exec(t, old, insert, bad, 4, uuid.New(), " ", at, at.Add(24*time.Hour)) // edited: no phrase normalizes to it

	db, err := base.WithSchema(ctx, name) // migrates the rest: 0102 on
	if err != nil {
		t.Fatal(err)
	}
	s := NewRedPacketStore(db)
	p, err := s.Packet(ctx, pw)
	if err != nil || p.Kind != redpacket.Password || p.PasswordHash != nil || testRedPacketKey.Matches(pw, p.PasswordHash, "芝麻 开门") {
		t.Fatalf("a legacy packet before hashing: %+v hash %x, %v; want no hash, matching nothing", p, p.PasswordHash, err)
	}

	n, err := s.HashLegacyPasswords(ctx, testRedPacketKey)
	if n != 1 || !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), bad.String()) {
		t.Fatalf("HashLegacyPasswords: %d, %v; want 1 hashed and the edited one reported", n, err)
	}
	if n, err := s.HashLegacyPasswords(ctx, testRedPacketKey); n != 0 || !errors.Is(err, ErrIntegrity) {
		t.Fatalf("HashLegacyPasswords again: %d, %v; want nothing more hashed", n, err)
	}
	if p, err = s.Packet(ctx, pw); err != nil || !testRedPacketKey.Matches(pw, p.PasswordHash, "芝麻　开门") {
		t.Fatalf("a legacy packet after hashing: hash %x, %v; want its phrase to match", p.PasswordHash, err)
	}
	if p, err = s.Packet(ctx, lucky); err != nil || p.PasswordHash != nil {
		t.Fatalf("a legacy lucky packet: hash %x, %v", p.PasswordHash, err)
	}
	for _, r := range rowsText(t, db) {
		if strings.Contains(r, "芝麻") {
			t.Fatalf("a row still holds the phrase: %s", r)
		}
	}
}
