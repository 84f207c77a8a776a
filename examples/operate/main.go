// Command operate runs socialpay the way a bank runs it: two instances of
// a service on one PostgreSQL schema, an owner role that migrates and a
// service role that may only read and write rows, ledger entries sealed
// with a key the database never holds, and one phone-lookup budget shared
// by every instance.
//
//	go run ./examples/operate -dsn 'postgres://root@127.0.0.1:5432/test?sslmode=disable'
//
// The DSN's role must be able to create schemas and roles; the program
// creates a schema and a role of its own and drops both at the end. It
// then plays an insider with the service's own rights: switching off the
// append-only triggers is refused, and a forged transfer written around
// the store, with every SHA-256 chain hash recomputed, is reported by
// Verify because it carries no seal.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
	"github.com/socialpay/socialpay/transfer"
)

func main() {
	dsn := flag.String("dsn", cmp.Or(os.Getenv("SOCIALPAY_PG"), "postgres://root@127.0.0.1:5432/test?sslmode=disable"),
		"PostgreSQL connection string of a role that may create schemas and roles")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *dsn); err != nil {
		fmt.Fprintln(os.Stderr, "operate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, dsn string) (err error) {
	suffix := hex.EncodeToString(random(4))
	schema, role := "socialpay_operate_"+suffix, "socialpay_app_"+suffix

	// Deployment: the owner role migrates and grants the service role its
	// rights on rows.
	owner, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer owner.Close(ctx)
	cfg, err := postgres.ParseConfig(dsn)
	if err != nil {
		return err
	}
	cfg.Schema = schema
	if err := postgres.Migrate(ctx, cfg); err != nil {
		return err
	}
	defer func() {
		_, e1 := owner.Exec(ctx, "drop schema "+schema+" cascade")
		_, e2 := owner.Exec(ctx, "drop owned by "+role)
		_, e3 := owner.Exec(ctx, "drop role "+role)
		err = errors.Join(err, e1, e2, e3)
	}()
	for _, sql := range []string{
		"create role " + role + " login",
		"grant usage on schema " + schema + " to " + role,
		"grant select, insert, update, delete on all tables in schema " + schema + " to " + role,
		"revoke insert, update, delete on " + schema + ".schema_migrations from " + role,
	} {
		if _, err := owner.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	fmt.Fprintf(out, "owner migrated schema %s; service role %s may read and write rows only\n", strings.TrimSuffix(schema, "_"+suffix), "socialpay_app")

	// Every instance gets the same configuration: the service role, no
	// migrations, the seal key (a bank unwraps it from its KMS at start-up;
	// here one is made up for the run).
	sealer, err := postgres.NewHMACSealer(postgres.SealKey{ID: 1, Secret: random(32)})
	if err != nil {
		return err
	}
	instance := func() (*postgres.DB, error) {
		c, err := postgres.ParseConfig(dsn)
		if err != nil {
			return nil, err
		}
		c.Pool.ConnConfig.User, c.Schema, c.NoMigrate, c.Sealer = role, schema, true, sealer
		return postgres.OpenConfig(ctx, c)
	}
	a, err := instance()
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := instance()
	if err != nil {
		return err
	}
	defer b.Close()
	la, lb := ledger.New(postgres.NewLedgerStore(a), ledger.Options{}), ledger.New(postgres.NewLedgerStore(b), ledger.Options{})

	cny := ledger.MustCurrency("CNY")
	bank, err := la.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		return err
	}
	wallet, err := la.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
	if err != nil {
		return err
	}
	deposit := ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: wallet.ID, Amount: ledger.NewMoney(8888, cny)}
	if _, err := la.Transfer(ctx, deposit); err != nil {
		return err
	}
	// A client's retry reaches the other instance: the same transfer, once.
	if _, err := lb.Transfer(ctx, deposit); err != nil {
		return err
	}
	w, err := lb.Account(ctx, wallet.ID)
	if err != nil {
		return err
	}
	r, err := lb.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "a deposit sent to instance A and retried on B: the wallet holds %s; Verify: %d accounts, %d sealed entries\n",
		w.NetMoney(), r.Accounts, r.Entries)

	// One lookup budget for every instance: a prober alternating between
	// them gets the PIX budget once (100 tokens at 20 a miss).
	rate := transfer.DefaultRateConfig()
	admitted := 0
	var limiters []transfer.Limiter
	for _, db := range []*postgres.DB{a, b} {
		l, err := postgres.NewLookupLimiter(db, rate)
		if err != nil {
			return err
		}
		limiters = append(limiters, l)
	}
	prober := uuid.New() // a user: the bank's ID of a customer
	for i := range 20 {
		_, err := limiters[i%2].ChargeLookup(ctx, prober, uuid.Nil, false) // a miss: every one charged
		switch {
		case err == nil:
			admitted++
		case !errors.Is(err, transfer.ErrRateLimited):
			return err
		}
	}
	fmt.Fprintf(out, "a prober's 20 misses spread over both instances: %d admitted, one budget\n", admitted)

	// The insider, with the service role's rights.
	conn, err := a.Pool().Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	_, err = conn.Exec(ctx, "alter table "+schema+".entries disable trigger user")
	fmt.Fprintf(out, "insider switches off the append-only triggers: refused: %v\n", err != nil)
	_, err = conn.Exec(ctx, "update "+schema+".entries set posted_delta = 0")
	fmt.Fprintf(out, "insider edits an entry: refused: %v\n", err != nil)
	if err := forge(ctx, conn.Conn(), schema, bank.ID, wallet.ID, 1_000_000_00); err != nil {
		return err
	}
	w, _ = la.Account(ctx, wallet.ID)
	_, err = la.Verify(ctx)
	fmt.Fprintf(out, "insider appends a forged deposit with recomputed hashes: the wallet shows %s, Verify: %v\n",
		w.NetMoney(), verdict(err))
	return nil
}

// forge writes, with plain SQL, an immediate transfer from debit to credit
// that no rule decided: the transfer row, an entry on each account with
// its SHA-256 chain hash computed as the ledger computes it, and the
// accounts' new balances and heads. It writes no seal: it has no key.
func forge(ctx context.Context, conn *pgx.Conn, schema string, debit, credit uuid.UUID, units int64) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	at := time.Now().UTC().Truncate(time.Microsecond)
	id := uuid.New()
	if _, err := tx.Exec(ctx, "insert into "+schema+`.transfers (id, kind, debit_account_id, credit_account_id, amount,
		currency, timeout_ns, code, reference, ts, status) values ($1, 0, $2, $3, $4, 'CNY', 0, 0, '', $5, 0)`,
		id, debit, credit, units, at); err != nil {
		return err
	}
	for _, leg := range []struct {
		account uuid.UUID
		side    ledger.Side
	}{{debit, ledger.SideDebit}, {credit, ledger.SideCredit}} {
		var seq int64
		var head []byte
		var b ledger.Balance
		if err := tx.QueryRow(ctx, "select seq, head, debits_pending, debits_posted, credits_pending, credits_posted from "+
			schema+".accounts where id = $1 for update", leg.account).Scan(&seq, &head, &b.DebitsPending, &b.DebitsPosted,
			&b.CreditsPending, &b.CreditsPosted); err != nil {
			return err
		}
		if leg.side == ledger.SideDebit {
			b.DebitsPosted += units
		} else {
			b.CreditsPosted += units
		}
		e := ledger.Entry{AccountID: leg.account, Seq: uint64(seq) + 1, TransferID: id, Kind: ledger.EntryPosted, Side: leg.side,
			PostedDelta: units, Time: at, Balance: b}
		e.Hash = ledger.ChainHash(ledger.Hash(head), &e)
		if _, err := tx.Exec(ctx, "insert into "+schema+`.entries (account_id, seq, transfer_id, kind, side, posted_delta,
			pending_delta, at, debits_pending, debits_posted, credits_pending, credits_posted, hash)
			values ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11, $12)`, leg.account, int64(e.Seq), id, int16(e.Kind),
			int16(e.Side), units, at, b.DebitsPending, b.DebitsPosted, b.CreditsPending, b.CreditsPosted, e.Hash[:]); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "update "+schema+`.accounts set seq = $2, head = $3, last_time = $4,
			debits_posted = $5, credits_posted = $6 where id = $1`, leg.account, int64(e.Seq), e.Hash[:], at,
			b.DebitsPosted, b.CreditsPosted); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

func verdict(err error) string {
	switch {
	case err == nil:
		return "passes"
	case errors.Is(err, ledger.ErrVerify) && strings.Contains(err.Error(), "is not sealed"):
		return "fails: entries not sealed"
	}
	return "fails: " + err.Error()
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
