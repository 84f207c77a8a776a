package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialpay/socialpay/ledger"
)

// world is a small ledger in a schema of its own: a bank account, a
// wallet with five incoming transfers, and a pending hold.
type world struct {
	db      *DB
	l       *ledger.Ledger
	bank    uuid.UUID
	wallet  uuid.UUID
	payment uuid.UUID // the third incoming transfer
	hold    uuid.UUID // the wallet's open hold
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldOn(t, freshDB(t))
}

// newWorldOn builds the world on db.
func newWorldOn(t *testing.T, db *DB) *world {
	t.Helper()
	ctx := context.Background()
	l := ledger.New(NewLedgerStore(db), ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	bank, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	w, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
	if err != nil {
		t.Fatal(err)
	}
	out := &world{db: db, l: l, bank: bank.ID, wallet: w.ID}
	for i := 1; i <= 5; i++ {
		tr, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: w.ID, Amount: ledger.NewMoney(int64(i*100), cny)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			out.payment = tr.ID
		}
	}
	hold, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: w.ID, CreditAccountID: bank.ID,
		Amount: ledger.NewMoney(50, cny), Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	out.hold = hold.ID
	if _, err := l.Verify(ctx); err != nil {
		t.Fatalf("untouched ledger: %v", err)
	}
	return out
}

// tamper runs SQL with the append-only triggers switched off, as someone
// with direct access to the database could.
func (w *world) tamper(t *testing.T, sql string, args ...any) {
	t.Helper()
	exec(t, w.db, "alter table $S.entries disable trigger user")
	exec(t, w.db, "alter table $S.transfers disable trigger user")
	exec(t, w.db, "alter table $S.accounts disable trigger user")
	exec(t, w.db, sql, args...)
	exec(t, w.db, "alter table $S.entries enable trigger user")
	exec(t, w.db, "alter table $S.transfers enable trigger user")
	exec(t, w.db, "alter table $S.accounts enable trigger user")
}

func TestVerifyDetectsTampering(t *testing.T) {
	for name, c := range map[string]struct {
		sql      string // statements separated by ";\n", each taking args
		args     func(*world) []any
		mentions string
	}{
		"edited entry amount": {
			"update $S.entries set posted_delta = posted_delta + 1 where account_id = $1 and seq = 2",
			func(w *world) []any { return []any{w.wallet} }, "hash chain broken"},
		"edited entry amount and balances": {
			`update $S.entries set posted_delta = posted_delta + 1, credits_posted = credits_posted + 1 where account_id = $1 and seq >= 5;
			 update $S.accounts set credits_posted = credits_posted + 1 where id = $1`,
			func(w *world) []any { return []any{w.wallet} }, "hash chain broken"},
		"edited entry time": {
			"update $S.entries set at = at + interval '1 second' where account_id = $1 and seq = 1",
			func(w *world) []any { return []any{w.wallet} }, "hash chain broken"},
		"edited running balance": {
			"update $S.entries set credits_posted = credits_posted + 1 where account_id = $1 and seq = 3",
			func(w *world) []any { return []any{w.wallet} }, "running balance"},
		"deleted middle entry": {
			"delete from $S.entries where account_id = $1 and seq = 3",
			func(w *world) []any { return []any{w.wallet} }, "missing"},
		"deleted last entry": {
			"delete from $S.entries where account_id = $1 and seq = 6",
			func(w *world) []any { return []any{w.wallet} }, "missing"},
		"deleted last entry, account rewound": {
			`delete from $S.entries where account_id = $1 and seq = 6;
			 update $S.accounts set seq = 5, debits_pending = 0 where id = $1`,
			func(w *world) []any { return []any{w.wallet} }, "chain head"},
		"edited account balance": {
			"update $S.accounts set credits_posted = credits_posted + 100 where id = $1",
			func(w *world) []any { return []any{w.wallet} }, "balance"},
		"edited account status": {
			"update $S.accounts set status = 1 where id = $1",
			func(w *world) []any { return []any{w.wallet} }, "status"},
		"entry of an unknown account": {
			"insert into $S.entries select gen_random_uuid(), seq, transfer_id, kind, side, posted_delta, pending_delta, at, debits_pending, debits_posted, credits_pending, credits_posted, hash from $S.entries where account_id = $1 and seq = 1",
			func(w *world) []any { return []any{w.wallet} }, "account that does not exist"},
		"deleted transfer": {
			"delete from $S.transfers where id = $1",
			func(w *world) []any { return []any{w.payment} }, "which does not exist"},
		"edited transfer amount": {
			"update $S.transfers set amount = amount + 1 where id = $1",
			func(w *world) []any { return []any{w.payment} }, "entries do not match"},
		"deleted transfer entries": {
			"delete from $S.entries where transfer_id = $1",
			func(w *world) []any { return []any{w.payment} }, "entries do not match"},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			for _, sql := range strings.Split(c.sql, ";\n") {
				w.tamper(t, sql, c.args(w)...)
			}
			_, err := w.l.Verify(context.Background())
			if !errors.Is(err, ledger.ErrVerify) {
				t.Fatalf("tampering not detected: %v", err)
			}
			if !strings.Contains(err.Error(), c.mentions) {
				t.Fatalf("verify error does not say %q: %v", c.mentions, err)
			}
		})
	}
}

// forged is a transfer no rule decided.
type forged struct {
	debit, credit uuid.UUID
	units         int64
}

// forge writes, through the store's own statements with the triggers on
// (what the service's everyday role may do), immediate transfers that no
// rule decided, in one transaction, with entries whose hashes are
// recomputed as the ledger computes them: a forger who knows the chain's
// construction, without any key (it writes no seals, even where the
// world's DB has a Sealer). Only the accounts' final states are written,
// as the store writes a batch.
func (w *world) forge(t *testing.T, fs ...forged) {
	t.Helper()
	ctx := context.Background()
	keyless := *w.db
	keyless.cfg.Sealer = nil
	s := NewLedgerStore(&keyless)
	states := map[uuid.UUID]*ledger.AccountState{}
	var out writes
	at := time.Now().UTC().Truncate(time.Microsecond)
	for _, f := range fs {
		tr := ledger.Transfer{ID: uuid.New(), DebitAccountID: f.debit, CreditAccountID: f.credit,
			Amount: ledger.NewMoney(f.units, ledger.MustCurrency("CNY")), Timestamp: at}
		out.created = append(out.created, tr)
		for _, leg := range []struct {
			id   uuid.UUID
			side ledger.Side
		}{{f.debit, ledger.SideDebit}, {f.credit, ledger.SideCredit}} {
			st := states[leg.id]
			if st == nil {
				loaded, err := s.Account(ctx, leg.id)
				if err != nil {
					t.Fatal(err)
				}
				st = &loaded
				states[leg.id] = st
			}
			b := st.Account.Balance
			if leg.side == ledger.SideDebit {
				b.DebitsPosted += f.units
			} else {
				b.CreditsPosted += f.units
			}
			e := ledger.Entry{AccountID: leg.id, Seq: st.Seq + 1, TransferID: tr.ID, Kind: ledger.EntryPosted, Side: leg.side,
				PostedDelta: f.units, Time: at, Balance: b}
			e.Hash = ledger.ChainHash(st.Head, &e)
			st.Account.Balance, st.Seq, st.Head, st.LastTime = b, e.Seq, e.Hash, e.Time
			out.entries = append(out.entries, e)
		}
	}
	for _, st := range states {
		out.accounts = append(out.accounts, *st)
	}
	err := keyless.run(ctx, "forge", func(ctx context.Context, conn *pgx.Conn) error {
		b := txBatch()
		s.queueWrites(b, &out)
		queueCommit(b)
		return conn.SendBatch(ctx, b).Close()
	})
	if err != nil {
		t.Fatalf("forging: %v", err)
	}
}

// Tampering that keeps every hash chain and sum consistent, done with the
// triggers on: Verify finds it from the rules the history must obey.
func TestVerifyDetectsConsistentForgery(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]struct {
		tamper   func(t *testing.T, w *world)
		mentions string
	}{
		"hold marked posted without a post": {func(t *testing.T, w *world) {
			exec(t, w.db, "update $S.transfers set status = 2 where id = $1", w.hold)
		}, "hold is posted"},
		"hold marked voided, resolver invented": {func(t *testing.T, w *world) {
			exec(t, w.db, "update $S.transfers set status = 3, resolved_by = $2 where id = $1", w.hold, w.payment)
		}, "hold is voided"},
		"transfer marked reversed without a reversal": {func(t *testing.T, w *world) {
			exec(t, w.db, "update $S.transfers set reversed_by = $2 where id = $1", w.payment, w.hold)
		}, "does not name it"},
		"wallet overdrawn and refilled, hashes recomputed": {func(t *testing.T, w *world) {
			// The account row ends within its limit, as its CHECK
			// constraint demands; a running balance in between did not.
			w.forge(t, forged{w.wallet, w.bank, 100_00}, forged{w.bank, w.wallet, 100_00})
		}, "breaks the account's flags"},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			c.tamper(t, w)
			_, err := w.l.Verify(ctx)
			if !errors.Is(err, ledger.ErrVerify) || !strings.Contains(err.Error(), c.mentions) {
				t.Fatalf("forgery not detected (want %q): %v", c.mentions, err)
			}
		})
	}
}

// The append-only rules hold in the database itself, whoever writes.
func TestAppendOnly(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	conn, err := w.db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var hold uuid.UUID
	if err := conn.QueryRow(ctx, w.db.qualify("select id from $S.transfers where kind = 1")).Scan((*[16]byte)(&hold)); err != nil {
		t.Fatal(err)
	}
	other := uuid.New()
	for name, c := range map[string]struct {
		sql  string
		args []any
		code string
	}{
		"update entry":              {"update $S.entries set posted_delta = 0 where account_id = $1", []any{w.wallet}, codeAppendOnly},
		"delete entry":              {"delete from $S.entries where account_id = $1", []any{w.wallet}, codeAppendOnly},
		"truncate entries":          {"truncate $S.entries", nil, codeAppendOnly},
		"update transfer amount":    {"update $S.transfers set amount = 1 where id = $1", []any{w.payment}, codeAppendOnly},
		"update transfer reference": {"update $S.transfers set reference = 'x' where id = $1", []any{w.payment}, codeAppendOnly},
		"update transfer metadata":  {`update $S.transfers set metadata = '{"a":"b"}' where id = $1`, []any{w.payment}, codeAppendOnly},
		"status of committed":       {"update $S.transfers set status = 2 where id = $1", []any{w.payment}, codeAppendOnly},
		"hold to committed":         {"update $S.transfers set status = 0 where id = $1", []any{hold}, codeAppendOnly},
		"hold to an unknown status": {"update $S.transfers set status = 9 where id = $1", []any{hold}, codeAppendOnly},
		"delete transfer":           {"delete from $S.transfers where id = $1", []any{w.payment}, codeAppendOnly},
		"truncate transfers":        {"truncate $S.transfers cascade", nil, codeAppendOnly},
		"account currency":          {"update $S.accounts set currency = 'USD' where id = $1", []any{w.wallet}, codeAppendOnly},
		"account flags":             {"update $S.accounts set flags = 0 where id = $1", []any{w.wallet}, codeAppendOnly},
		"delete account":            {"delete from $S.accounts where id = $1", []any{w.wallet}, codeAppendOnly},
		"negative balance":          {"update $S.accounts set debits_posted = -1 where id = $1", []any{w.bank}, "23514"},
		"wallet over its limit":     {"update $S.accounts set debits_posted = credits_posted + 1 where id = $1", []any{w.wallet}, "23514"},
		"transfer ID twice":         {"insert into $S.transfers select * from $S.transfers where id = $1", []any{w.payment}, "23505"},
		"zero amount":               {"insert into $S.transfers (id, kind, debit_account_id, credit_account_id, amount, currency, timeout_ns, code, reference, ts, status) values ($1, 0, $2, $3, 0, 'CNY', 0, 0, '', now(), 0)", []any{other, w.bank, w.wallet}, "23514"},
		"resolve twice":             {"insert into $S.transfers (id, kind, debit_account_id, credit_account_id, amount, currency, pending_id, timeout_ns, code, reference, ts, status) select x, 3, debit_account_id, credit_account_id, amount, currency, id, 0, 0, '', now(), 0 from $S.transfers, unnest(array[$1::uuid, $3::uuid]) x where id = $2", []any{uuid.New(), hold, uuid.New()}, "23505"},
		"entry numbered twice":      {"insert into $S.entries select * from $S.entries where account_id = $1 and seq = 1", []any{w.wallet}, "23505"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := conn.Exec(ctx, w.db.qualify(c.sql), c.args...)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != c.code {
				t.Fatalf("got %v, want SQLSTATE %s", err, c.code)
			}
			if c.code == codeAppendOnly || c.code[:2] == "23" {
				if got := translate("test", err); !errors.Is(got, ErrIntegrity) {
					t.Fatalf("translated to %v, want ErrIntegrity", got)
				}
			}
		})
	}
	if _, err := w.l.Verify(ctx); err != nil {
		t.Fatalf("refused writes changed something: %v", err)
	}
}
