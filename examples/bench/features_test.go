package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
	"github.com/socialpay/socialpay/qr"
)

// started sets scenario name up on the memory store and runs it briefly,
// without verifying: the tests below then break something and verify.
func started(t *testing.T, name string) (*Env, Scenario) {
	t.Helper()
	ctx := context.Background()
	c := testConfig(name, &bytes.Buffer{})
	env := newEnv(c, ledger.NewMemoryStore(), nil)
	sc := scenarios[name].make()
	if err := sc.Setup(ctx, env); err != nil {
		t.Fatal(err)
	}
	if st := drive(ctx, c, sc, 0); st.err != nil || st.transfers == 0 {
		t.Fatalf("run: %d operations, %v", st.transfers, st.err)
	}
	return env, sc
}

// firstReceipt returns the first acknowledged charge of a qr run and its
// client (under load a client may have had no charge acknowledged).
func firstReceipt(t *testing.T, sc Scenario) (int, qr.ChargeReceipt) {
	t.Helper()
	for c, rs := range sc.(*qrCharges).receipts {
		if len(rs) > 0 {
			return c, rs[0]
		}
	}
	t.Fatal("no charge acknowledged")
	return 0, qr.ChargeReceipt{}
}

// mustFail checks that the scenario's Verify finds something wrong, and
// names it.
func mustFail(t *testing.T, sc Scenario, what string) {
	t.Helper()
	report, err := sc.(Verifier).Verify(context.Background())
	if err == nil || !strings.Contains(err.Error(), what) {
		t.Fatalf("Verify = %v, want an error about %q (report: %s)", err, what, report)
	}
}

// pay moves 1 fen between two accounts behind the scenario's back.
func pay(t *testing.T, env *Env, from, to uuid.UUID) {
	t.Helper()
	_, err := env.Ledger.Transfer(context.Background(), ledger.Transfer{ID: uuid.New(), DebitAccountID: from, CreditAccountID: to,
		Amount: ledger.NewMoney(1, env.Currency)})
	if err != nil {
		t.Fatal(err)
	}
}

// Each scenario's Verify passes on a sound run (TestScenariosVerify) and
// fails when money moved that no operation accounts for, or when an
// acknowledged operation is not on the ledger.
func TestVerifyFindsDamage(t *testing.T) {
	ctx := context.Background()
	t.Run("qr/unacknowledged-money", func(t *testing.T) {
		env, sc := started(t, "qr")
		_, r := firstReceipt(t, sc)
		pay(t, env, r.Payer, r.Merchant)
		mustFail(t, sc, "balance")
	})
	t.Run("qr/lost-charge", func(t *testing.T) {
		_, sc := started(t, "qr")
		q := sc.(*qrCharges)
		c, r := firstReceipt(t, sc)
		r.Transfer = uuid.New()
		q.receipts[c] = append(q.receipts[c], r)
		q.acked.Add(1)
		mustFail(t, sc, "not stored")
	})
	t.Run("phone/unacknowledged-money", func(t *testing.T) {
		env, sc := started(t, "phone")
		tr := sc.(*phones).tap.transfers()[0]
		pay(t, env, tr.DebitAccountID, tr.CreditAccountID)
		mustFail(t, sc, "moved")
	})
	t.Run("phone/lost-transfer", func(t *testing.T) {
		_, sc := started(t, "phone")
		p := sc.(*phones)
		tr := p.tap.transfers()[0]
		tr.ID = uuid.New()
		p.tap.acked = append(p.tap.acked, tr)
		mustFail(t, sc, "not stored")
	})
	// An operation left unknown may have moved its amount unseen, no more:
	// balances are then not checked, only what the ledger moved.
	t.Run("qr/unknown-charge", func(t *testing.T) {
		env, sc := started(t, "qr")
		_, r := firstReceipt(t, sc)
		env.unknown.Add(1)
		for range qrAmount {
			pay(t, env, r.Payer, r.Merchant)
		}
		if report, err := sc.(Verifier).Verify(ctx); err != nil {
			t.Fatalf("one unknown charge's amount moved: %v (report: %s)", err, report)
		}
		pay(t, env, r.Payer, r.Merchant)
		mustFail(t, sc, "moved")
	})
	for _, name := range []string{"redpacket", "redpacket-soldout"} {
		t.Run(name+"/unacknowledged-money", func(t *testing.T) {
			env, sc := started(t, name)
			s := sc.(*redPackets)
			// A claimer's wallet pays 1 fen to another's, or, if a slow
			// run made one claim only, to the first packet's sender.
			store := s.w.Service.Store()
			first, err := store.Packet(ctx, s.w.Packets()[0])
			if err != nil {
				t.Fatal(err)
			}
			var wallets []uuid.UUID
			for _, id := range s.w.Packets() {
				cl, err := store.Claims(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cl {
					wallets = append(wallets, c.Account)
				}
				if len(wallets) >= 2 {
					break
				}
			}
			if len(wallets) == 0 {
				t.Fatal("the run made no claim")
			}
			wallets = append(wallets, first.SenderAccount)
			pay(t, env, wallets[0], wallets[1])
			mustFail(t, sc, "moved")
		})
	}
	t.Run("redpacket/lost-claim", func(t *testing.T) {
		_, sc := started(t, "redpacket")
		sc.(*redPackets).acked.Add(1) // a claim answered that the store does not have
		mustFail(t, sc, "claims recorded")
	})
}

// failing is a scenario whose clients fail after a few operations.
type failing struct{ n atomic.Int64 }

func (f *failing) Setup(context.Context, *Env) error { return nil }
func (f *failing) Client(int, *mrand.Rand) Client    { return f }
func (f *failing) Do(ctx context.Context) (int, error) {
	if f.n.Add(1) > 10 {
		return 0, errors.New("boom")
	}
	return 1, nil
}

// A client's error ends the run and is reported; running out of prepared
// operations ends it early, counting every one.
func TestDriveEnds(t *testing.T) {
	ctx := context.Background()
	c := config{clients: 3, duration: time.Minute, progress: time.Hour, out: &bytes.Buffer{}}
	st := drive(ctx, c, &failing{}, 0)
	if st.err == nil || !strings.Contains(st.err.Error(), "boom") || st.transfers != 10 {
		t.Fatalf("stats %+v", st)
	}
	var out bytes.Buffer
	c = testConfig("redpacket", &out)
	c.duration, c.ops = time.Minute, 500
	start := time.Now()
	if err := bench(ctx, c, ledger.NewMemoryStore(), nil); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), " claims=500 ") || !strings.Contains(out.String(), "note: the prepared operations were used up") ||
		time.Since(start) > 30*time.Second {
		t.Fatalf("a run of 500 prepared claims:\n%s", out.String())
	}
}

// retry sends an operation again while the store fails, counting the
// failures; when the run ends first, the operation is counted unknown.
func TestRetry(t *testing.T) {
	env := &Env{}
	calls := 0
	op := func(context.Context) error {
		calls++
		if calls < 3 {
			return fmt.Errorf("charge: %w", postgres.ErrUnavailable)
		}
		return nil
	}
	ctx := context.Background()
	if err := env.retry(ctx, ctx, op(ctx), op); err != nil || calls != 3 || env.errors.Load() != 2 || env.unknown.Load() != 0 {
		t.Fatalf("err %v, %d calls, %d errors, %d unknown", err, calls, env.errors.Load(), env.unknown.Load())
	}
	refused := errors.New("refused")
	if err := env.retry(ctx, ctx, refused, op); err != refused {
		t.Fatalf("an answer is not retried: %v", err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	always := func(context.Context) error { return postgres.ErrRetriesExhausted }
	if err := env.retry(ended, ctx, always(ctx), always); !errors.Is(err, context.Canceled) || env.unknown.Load() != 1 {
		t.Fatalf("err %v, %d unknown", err, env.unknown.Load())
	}
}

// testDSN is where the PostgreSQL tests run (DESIGN.md): SOCIALPAY_TEST_PG
// or the local server's test database.
func testDSN() string {
	return cmp.Or(os.Getenv("SOCIALPAY_TEST_PG"), "postgres://root@127.0.0.1:5432/test?sslmode=disable")
}

// pgSchema returns a new schema's name and its migrated DB, dropped when
// the test ends; it skips when no server answers (fails when CI is set).
func pgSchema(t *testing.T) (string, *postgres.DB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, err := withParams(testDSN(), map[string]string{"connect_timeout": "5", "pool_max_conns": "12"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := postgres.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:])
	cfg.Schema = "sp_bench_test_" + hex.EncodeToString(b[:])
	if cfg.Sealer, err = benchSealer(true); err != nil {
		t.Fatal(err)
	}
	db, err := postgres.OpenConfig(ctx, cfg)
	if err != nil {
		msg := fmt.Sprintf("no PostgreSQL at %s (set SOCIALPAY_TEST_PG): %v", testDSN(), err)
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set and " + msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := connect(ctx, dsn)
		if err == nil {
			_, err = conn.Exec(ctx, "drop schema if exists "+pgx.Identifier{cfg.Schema}.Sanitize()+" cascade")
			conn.Close(ctx)
		}
		if err != nil {
			t.Errorf("drop schema %s: %v", cfg.Schema, err)
		}
	})
	return cfg.Schema, db
}

// withParams adds what a connection string lacks, in either form.
func TestWithParams(t *testing.T) {
	for _, c := range []struct{ dsn, want string }{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?application_name=x&pool_max_conns=9&sslmode=disable"},
		{"postgres://u@h/db?pool_max_conns=3", "postgres://u@h/db?application_name=x&pool_max_conns=3"},
		{"host=h dbname=db", "host=h dbname=db application_name=x pool_max_conns=9"},
		{"host=h pool_max_conns=3", "host=h pool_max_conns=3 application_name=x"},
	} {
		got, err := withParams(c.dsn, map[string]string{"pool_max_conns": "9", "application_name": "x"})
		if err != nil || got != c.want {
			t.Errorf("withParams(%q) = %q, %v; want %q", c.dsn, got, err, c.want)
		}
	}
}

// A short run of every scenario on PostgreSQL verifies; the feature
// scenarios run their PostgreSQL stores in the ledger's schema.
func TestScenariosPostgres(t *testing.T) {
	for _, name := range scenarioNames() {
		if drivesBankd(name) {
			continue // TestHTTPRedPacket
		}
		t.Run(name, func(t *testing.T) {
			schema, db := pgSchema(t)
			var out bytes.Buffer
			c := testConfig(name, &out)
			c.store, c.dsn, c.schema = "postgres", testDSN(), schema
			c.duration = 500 * time.Millisecond // long enough for operations to finish on a loaded 2-core CI machine
			c.ops = map[string]int{"redpacket": 400, "redpacket-soldout": 100}[name]
			if name == "phone" {
				c.warmup = 100 * time.Millisecond // and the schema analyzed after it
			}
			if err := bench(context.Background(), c, postgres.NewLedgerStore(db), db); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			checkOutput(t, name, out.String())
			if strings.HasPrefix(name, "redpacket") {
				// The same seed on the same schema would replay the
				// first run's claims: refused.
				err := bench(context.Background(), c, postgres.NewLedgerStore(db), db)
				if err == nil || !strings.Contains(err.Error(), "claimed already") {
					t.Fatalf("a second run with the same seed: %v", err)
				}
			}
		})
	}
}
