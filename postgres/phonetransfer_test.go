package postgres

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/transferbench"
	"github.com/socialpay/socialpay/transfer/transfertest"
)

// TestPhoneTransferStores runs the transfer conformance suite on
// PostgreSQL: the record store, the directory and the ledger all on one
// schema per subtest (the sweeps of the service tests must see only their
// own records), so the service scenarios — cancel racing release, accept,
// decline and expiry racing, crashes between the stores — run on the
// database end to end. The record store pays on the ledger (Paying): a
// send is one transaction.
func TestPhoneTransferStores(t *testing.T) {
	transfertest.Run(t, func(t testing.TB) transfertest.Env {
		db := freshDB(t)
		// Each race iteration is some 80 commits: 8 keep the suite's race
		// cases near 8 s under -race; SOCIALPAY_RACE_ITERATIONS runs more.
		return transfertest.Env{Store: NewPhoneTransferStore(db), Directory: NewPhoneDirectory(db), Ledger: NewLedgerStore(db), RaceIterations: 8,
			Paying:     true,
			NewLimiter: func(rc transfer.RateConfig) (transfer.Limiter, error) { return NewLookupLimiter(db, rc) }}
	})
}

// TestPhoneTransferStoresSlowPath runs the suite with the ledger on
// another schema than the records: PaysOn refuses it, and the Service
// creates, pays and marks in three transactions.
func TestPhoneTransferStoresSlowPath(t *testing.T) {
	transfertest.Run(t, func(t testing.TB) transfertest.Env {
		db, ldb := freshDB(t), freshDB(t)
		return transfertest.Env{Store: NewPhoneTransferStore(db), Directory: NewPhoneDirectory(db), Ledger: NewLedgerStore(ldb), RaceIterations: 8,
			NewLimiter: func(rc transfer.RateConfig) (transfer.Limiter, error) { return NewLookupLimiter(db, rc) }}
	})
}

// Text PostgreSQL cannot hold is refused as invalid input, not as a
// database failure.
func TestPhoneTransferUnstorable(t *testing.T) {
	db := freshDB(t)
	ctx := context.Background()
	s, d := NewPhoneTransferStore(db), NewPhoneDirectory(db)
	r := transfertest.NewRecord(uid("alice"), uid("bob"), ledger.NewMoney(1, ledger.MustCurrency("CNY")), transfer.ArriveNow)
	r.Memo = "a\x00b"
	if _, _, err := s.Create(ctx, r, transfer.DefaultLimits()); !errors.Is(err, transfer.ErrInvalidRecord) {
		t.Fatalf("memo with NUL: %v", err)
	}
	b := transfer.Binding{Phone: "+8613800138000", Holder: uid("bob"), Account: uuid.New(), Name: "Bob\x00", VerifiedAt: time.Now(), UpdatedAt: time.Now()}
	if _, err := d.Bind(ctx, b, false); !errors.Is(err, transfer.ErrInvalidBinding) {
		t.Fatalf("name with NUL: %v", err)
	}
}

// The schema refuses what the rules never do: editing a record's request,
// moving its state twice, deleting it.
func TestPhoneTransferRecordFrozen(t *testing.T) {
	db := freshDB(t)
	ctx := context.Background()
	s := NewPhoneTransferStore(db)
	r, _, err := s.Create(ctx, transfertest.NewRecord(uid("alice"), uid("bob"), ledger.NewMoney(1, ledger.MustCurrency("CNY")), transfer.ArriveNow), transfer.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	try := func(sql string) error {
		_, err := conn.Exec(ctx, db.qualify(sql), [16]byte(r.ID))
		return err
	}
	for _, sql := range []string{
		"update $S.transfer_records set amount = 2 where id = $1",
		"update $S.transfer_records set payee_account = gen_random_uuid() where id = $1",
		"delete from $S.transfer_records where id = $1",
	} {
		if err := try(sql); !errors.Is(translate("tamper", err), ErrIntegrity) {
			t.Errorf("%s: %v, want ErrIntegrity", sql, err)
		}
	}
	if err := try("update $S.transfer_records set state = 1, resolved_at = now() where id = $1"); err != nil {
		t.Fatalf("the one transition: %v", err)
	}
	if err := try("update $S.transfer_records set state = 2, reason = 'cancelled' where id = $1"); !errors.Is(translate("tamper", err), ErrIntegrity) {
		t.Errorf("a second transition: %v, want ErrIntegrity", err)
	}
	// A failing record moves to failed only, keeping its reason and time.
	f, _, err := s.Create(ctx, transfertest.NewRecord(uid("alice"), uid("bob"), ledger.NewMoney(1, ledger.MustCurrency("CNY")), transfer.ArriveNow), transfer.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, f.ID, transfer.StateFailing, "insufficient_funds", time.Now()); err != nil {
		t.Fatal(err)
	}
	r = f
	for _, sql := range []string{
		"update $S.transfer_records set state = 1, reason = '' where id = $1",
		"update $S.transfer_records set state = 3, reason = 'other' where id = $1",
		"update $S.transfer_records set state = 3, resolved_at = now() + interval '1 hour' where id = $1",
	} {
		if err := try(sql); !errors.Is(translate("tamper", err), ErrIntegrity) {
			t.Errorf("%s: %v, want ErrIntegrity", sql, err)
		}
	}
	if err := try("update $S.transfer_records set state = 3 where id = $1"); err != nil {
		t.Fatalf("failing to failed: %v", err)
	}
	if err := try("update $S.transfer_records set attempts = 5 where id = $1"); !errors.Is(translate("tamper", err), ErrIntegrity) {
		t.Errorf("attempts of a failed record: %v, want ErrIntegrity", err)
	}
}

// BenchmarkPhoneResolveSend: the phone scenario (resolve a number, pay it
// at once) with the directory, the records, the lookup buckets and the
// ledger on PostgreSQL, from 8 clients. Each transfer is a directory read
// for the lookup and one for the token, two limiter transactions (admit
// the lookup, refund the found price), one transaction for the record
// (with the limits and the daily total) and its ledger transfer
// (CreatePaid), and the limiter's settlement refund after it.
func BenchmarkPhoneResolveSend(b *testing.B) {
	ctx := context.Background()
	db := freshDB(b)
	const clients = 8
	lim, err := NewLookupLimiter(db, transferbench.Rate())
	if err != nil {
		b.Fatal(err)
	}
	p, err := transferbench.Setup(ctx, transferbench.Config{
		Ledger: ledger.New(NewLedgerStore(db), ledger.Options{}), Store: NewPhoneTransferStore(db), Directory: NewPhoneDirectory(db),
		Limiter: lim, TokenKey: []byte("benchmark token key of 32 bytes!"),
		Payers: 64, Payees: 64, Clients: clients,
	})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range clients {
		wg.Go(func() {
			c := p.Client(i, rand.New(rand.NewPCG(uint64(i), 3)))
			for next.Add(1) <= int64(b.N) {
				if _, err := c.Do(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "transfers/s")
}

// CreatePaid and ResolvePaid refund on a LookupLimiter of their own
// database and schema, on another instance too, and on no other limiter.
func TestPhoneTransferRefundsOn(t *testing.T) {
	db, other := freshDB(t), freshDB(t)
	s := NewPhoneTransferStore(db)
	mem, err := transfer.NewMemoryLimiter(transfer.DefaultRateConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		lim  transfer.Limiter
		want bool
	}{
		{"same schema", newLookupLimiter(t, db, transfer.DefaultRateConfig()), true},
		{"another instance", newLookupLimiter(t, instance(t, db), transfer.DefaultRateConfig()), false},
		{"another schema", newLookupLimiter(t, other, transfer.DefaultRateConfig()), false},
		{"memory", mem, false},
		{"nil", nil, false},
	} {
		if got := s.RefundsOn(tc.lim); got != tc.want {
			t.Errorf("RefundsOn(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
