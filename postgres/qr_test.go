package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/qr/qrbench"
	"github.com/socialpay/socialpay/qr/qrtest"
)

// TestQRStore runs the QR conformance suite on PostgreSQL, each subtest on
// a schema of its own (the suite wants an empty store).
func TestQRStore(t *testing.T) {
	qrtest.Run(t, func(t testing.TB) qr.Store { return NewQRStore(freshDB(t)) })
}

// TestQRService runs the QR service suite (races at every boundary) on
// PostgreSQL: the ledger and the QR store in one schema per subtest, so
// that charges are one transaction (QRStore.ChargePaid).
func TestQRService(t *testing.T) {
	qrtest.RunService(t, func(t testing.TB) qrtest.Env {
		db := freshDB(t)
		s, ls := NewQRStore(db), NewLedgerStore(db)
		if !s.PaysOn(ls) {
			t.Fatal("QRStore does not pay on the LedgerStore of its schema")
		}
		return qrtest.Env{Store: s, Ledger: ls}
	})
}

// TestQRServiceUncapped runs the service suite with no daily cap on
// payment-code charges: QRStore.ChargePaid then decides genuine codes on
// the records of attempts read without locks (qr.Lockout.Passes).
func TestQRServiceUncapped(t *testing.T) {
	qrtest.RunService(t, func(t testing.TB) qrtest.Env {
		db := freshDB(t)
		return qrtest.Env{Store: NewQRStore(db), Ledger: NewLedgerStore(db),
			Edit: func(c *qr.Config) { c.DeviceDailyCaps = []ledger.Money{} }}
	})
}

// TestQRServiceSlowerPath runs the service suite with the ledger in
// another schema than the QR store: PaysOn refuses it, and charges take
// the slower path of one step per store call.
func TestQRServiceSlowerPath(t *testing.T) {
	qrtest.RunService(t, func(t testing.TB) qrtest.Env {
		s, ls := NewQRStore(freshDB(t)), NewLedgerStore(freshDB(t))
		if s.PaysOn(ls) {
			t.Fatal("QRStore pays on a LedgerStore of another schema")
		}
		return qrtest.Env{Store: s, Ledger: ls}
	})
}

// TestQRStoreUnstorable: text PostgreSQL cannot hold is refused as an
// invalid value, not as a database failure.
func TestQRStoreUnstorable(t *testing.T) {
	s := NewQRStore(freshDB(t))
	ctx := context.Background()
	at := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	c := qr.DynamicCode{ID: uuid.New(), Payee: "shop\x00", Reference: "r", Amount: ledger.NewMoney(1, ledger.MustCurrency("CNY")), Expires: at}
	if err := s.RegisterCode(ctx, c); !errors.Is(err, qr.ErrInvalidValue) {
		t.Errorf("payee with NUL: %v", err)
	}
	d := qr.Device{ID: "\xff", Account: uuid.New(), Serial: 1, Secret: make([]byte, 32), CreatedAt: at}
	if err := s.CreateDevice(ctx, d); !errors.Is(err, qr.ErrInvalidValue) {
		t.Errorf("device ID not UTF-8: %v", err)
	}
}

// The whole QR service on PostgreSQL (ledger and QR store): payers racing
// for one dynamic code, static payments racing against the daily cap, and
// merchants racing for one payment code.
func TestQRServiceOnPostgres(t *testing.T) {
	db := freshDB(t)
	ctx := context.Background()
	l := ledger.New(NewLedgerStore(db), ledger.Options{})
	store := NewQRStore(db)
	cny := ledger.MustCurrency("CNY")
	open := func(fen int64) uuid.UUID {
		t.Helper()
		a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	bank, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	fund := func(id uuid.UUID, fen int64) {
		t.Helper()
		if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: id, Amount: ledger.NewMoney(fen, cny)}); err != nil {
			t.Fatal(err)
		}
	}
	balance := func(id uuid.UUID) int64 {
		t.Helper()
		a, err := l.Account(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Balance.DebitsPending != 0 {
			t.Fatalf("account %s still holds %d", id, a.Balance.DebitsPending)
		}
		return a.Balance.Net()
	}

	secret := []byte("postgres test HMAC secret 32 b..")
	signer, _ := qr.NewHMACSigner("k", secret)
	keys, _ := qr.NewKeys(qr.Key{ID: "k", HMAC: secret})
	receive, _ := qr.NewReceiveCodes(qr.ReceiveConfig{Signer: signer, Keys: keys})
	codes, _ := qr.NewPaymentCodes(qr.PaymentCodeConfig{Prefix: "28", Key: []byte("postgres test permutation key...")})
	dir := &qr.MemoryDirectory{}
	shop := open(0)
	if err := dir.Put(qr.Payee{Alias: "shop-1", Account: shop, Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	kek, _ := qr.NewLocalKeyWrapper([]byte("postgres test key-encryption key"), nil)
	svc, err := qr.New(qr.Config{Ledger: l, Store: store, Directory: dir, Receive: receive, PaymentCodes: codes, DeviceKeys: kek})
	if err != nil {
		t.Fatal(err)
	}

	// Eight payers race for one dynamic code of 30.00.
	code, err := svc.Issue(ctx, qr.ReceiveCode{Payee: "shop-1", Initiation: qr.Dynamic, Amount: ledger.NewMoney(30_00, cny),
		Reference: "ORDER-1", Expires: time.Now().Add(time.Hour), City: "C"})
	if err != nil {
		t.Fatal(err)
	}
	payers := make([]uuid.UUID, 8)
	for i := range payers {
		payers[i] = open(0)
		fund(payers[i], 1000_00)
	}
	paid := race(t, len(payers), qr.ErrCodePaid, func(i int) error {
		_, err := svc.Pay(ctx, qr.PayRequest{User: uuid.New(), From: payers[i], Payload: code, Key: "k"})
		return err
	})
	if paid != 1 || balance(shop) != 30_00 {
		t.Fatalf("%d payments of the dynamic code, shop has %d", paid, balance(shop))
	}

	// One payer, twelve static payments of 50.00 at once: the 500.00 cap
	// lets ten through.
	static, err := svc.Issue(ctx, qr.ReceiveCode{Payee: "shop-1", Initiation: qr.Static, Currency: cny, City: "C"})
	if err != nil {
		t.Fatal(err)
	}
	alice, aliceUser := open(0), uuid.New()
	fund(alice, 1000_00)
	paid = race(t, 12, qr.ErrDailyCap, func(i int) error {
		_, err := svc.Pay(ctx, qr.PayRequest{User: aliceUser, From: alice, Payload: static, Amount: ledger.NewMoney(50_00, cny), Key: fmt.Sprint("s", i)})
		return err
	})
	if paid != 10 || balance(alice) != 500_00 {
		t.Fatalf("%d static payments, alice has %d", paid, balance(alice))
	}

	// Eight merchants scan one payment code at once.
	phone, err := svc.RegisterDevice(ctx, "alice-phone", alice)
	if err != nil {
		t.Fatal(err)
	}
	pcode, err := codes.Generate(phone, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	charged := race(t, 8, qr.ErrReplay, func(i int) error {
		_, err := svc.Charge(ctx, qr.ChargeRequest{Merchant: shop, Code: pcode, Amount: ledger.NewMoney(1_00, cny), Order: fmt.Sprint("o", i)})
		return err
	})
	if charged != 1 || balance(alice) != 499_00 {
		t.Fatalf("%d charges, alice has %d", charged, balance(alice))
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

// race runs f(0) … f(n-1) at once and counts those that succeed; an error
// other than lost fails the test.
func race(t *testing.T, n int, lost error, f func(i int) error) int {
	t.Helper()
	var won atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			switch err := f(i); {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, lost):
				t.Errorf("call %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	return int(won.Load())
}

// The payment-code scenario of the load generator on PostgreSQL: each
// charge is one transaction and one commit (QRStore.ChargePaid).
func BenchmarkQRChargePostgres(b *testing.B) {
	db := freshDB(b)
	ctx := context.Background()
	const parallelism = 4 // goroutines per core: the database is the bottleneck
	workers := parallelism * runtime.GOMAXPROCS(0)
	c, err := qrbench.NewCharges(ctx, qrbench.Config{
		Ledger: ledger.New(NewLedgerStore(db), ledger.Options{}), Store: NewQRStore(db), Payers: 200, Merchants: 20,
		Prepare: b.N + workers, Workers: workers,
	})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int32
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(parallelism)
	b.RunParallel(func(pb *testing.PB) {
		w := c.Worker(int(next.Add(1) - 1))
		for pb.Next() {
			if _, err := w.Charge(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// Static-code payments on PostgreSQL: each reserves against its payer's
// daily cap (ReserveCap) between the hold and the post.
func BenchmarkQRPayStaticPostgres(b *testing.B) {
	db := freshDB(b)
	ctx := context.Background()
	const parallelism = 4 // goroutines per core: the database is the bottleneck
	p, err := qrbench.NewPayments(ctx, qrbench.Config{
		Ledger: ledger.New(NewLedgerStore(db), ledger.Options{}), Store: NewQRStore(db), Payers: 200, Merchants: 20,
	}, false)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(parallelism)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Pay(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// Records edited in the database so that they disagree with the ledger:
// Service.Check reports each, Reconcile leaves them (which side is right
// needs a person) and says so.
func TestQRCheckFindsEditedRecords(t *testing.T) {
	db := freshDB(t)
	ctx := context.Background()
	l := ledger.New(NewLedgerStore(db), ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	bank, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	open := func(fen int64) uuid.UUID {
		t.Helper()
		a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
		if err != nil {
			t.Fatal(err)
		}
		if fen > 0 {
			if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: a.ID, Amount: ledger.NewMoney(fen, cny)}); err != nil {
				t.Fatal(err)
			}
		}
		return a.ID
	}
	secret := []byte("postgres test HMAC secret 32 b..")
	signer, _ := qr.NewHMACSigner("k", secret)
	keys, _ := qr.NewKeys(qr.Key{ID: "k", HMAC: secret})
	receive, _ := qr.NewReceiveCodes(qr.ReceiveConfig{Signer: signer, Keys: keys})
	dir := &qr.MemoryDirectory{}
	if err := dir.Put(qr.Payee{Alias: "shop", Account: open(0), Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	svc, err := qr.New(qr.Config{Ledger: l, Store: NewQRStore(db), Directory: dir, Receive: receive})
	if err != nil {
		t.Fatal(err)
	}
	static, err := svc.Issue(ctx, qr.ReceiveCode{Payee: "shop", Initiation: qr.Static, Currency: cny, City: "C"})
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := open(100_00), open(100_00)
	users := map[uuid.UUID]uuid.UUID{alice: uuid.New(), bob: uuid.New()} // account → its user
	for _, payer := range []uuid.UUID{alice, bob} {
		if _, err := svc.Pay(ctx, qr.PayRequest{User: users[payer], From: payer, Payload: static, Amount: ledger.NewMoney(10_00, cny), Key: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := svc.Check(ctx); err != nil || rep.Reservations != 2 || rep.Totals != 2 {
		t.Fatalf("Check before the edits: %+v, %v", rep, err)
	}
	edit := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.exec(ctx, "edit", db.qualify(sql), args...); err != nil {
			t.Fatal(err)
		}
	}
	// Alice's reservation says 10.01 (and her total with it); Bob's total
	// says 10.01 over one reservation of 10.00.
	edit(`update $S.qr_cap_totals set total = total + 1 where user_id = $1`, [16]byte(users[alice]))
	edit(`update $S.qr_cap_reservations set amount = amount + 1 where user_id = $1`, [16]byte(users[alice]))
	edit(`update $S.qr_cap_totals set total = total + 1 where user_id = $1`, [16]byte(users[bob]))
	rep, err := svc.Check(ctx)
	if !errors.Is(err, qr.ErrRecordMismatch) || len(rep.Problems) != 2 {
		t.Fatalf("Check after the edits: %+v, %v", rep.Problems, err)
	}
	for _, p := range rep.Problems {
		switch {
		case p.Kind == qr.ProblemTerms && p.Payment == svc.PaymentID(users[alice], "k"):
		case p.Kind == qr.ProblemCapTotal && p.User == users[bob]:
		default:
			t.Errorf("unexpected problem %v", p)
		}
	}
	rrep, err := svc.Reconcile(ctx, time.Now())
	if !errors.Is(err, qr.ErrRecordMismatch) || rrep != (qr.ReconcileReport{Unrepaired: 2}) {
		t.Fatalf("Reconcile: %+v, %v", rrep, err)
	}
}

// A genuine code with nothing to count is decided on one read and writes
// no attempt rows; failures still lock the serial under the rows' locks,
// and the serial's genuine code is then refused and counted against the
// merchant.
func TestQRBeginTryReadsGenuineCodes(t *testing.T) {
	db := freshDB(t)
	s := NewQRStore(db)
	ctx := context.Background()
	p := qr.Lockout{DeviceFailures: 2, DeviceWindow: time.Hour, MerchantFailures: 10, MerchantWindow: time.Hour}
	at := time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)
	shop := uuid.New()
	try := func(ok bool) qr.CodeTry {
		return qr.CodeTry{Charge: uuid.New(), Serial: 42, Merchant: shop, At: at, Day: "2026-02-16",
			Amount: ledger.NewMoney(100, ledger.MustCurrency("CNY")), CodeOK: ok}
	}
	rows := func() (n int) {
		t.Helper()
		err := db.Pool().QueryRow(ctx, db.qualify(`select (select count(*) from $S.qr_serial_tries) + (select count(*) from $S.qr_merchant_tries)`)).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 3 {
		if r, err := s.BeginTry(ctx, try(true), p); err != nil || r.Outcome != qr.TryAllowed {
			t.Fatalf("genuine code: %+v, %v", r, err)
		}
	}
	if n := rows(); n != 0 {
		t.Fatalf("genuine codes wrote %d attempt rows, want none", n)
	}
	for i := range 2 {
		if r, err := s.BeginTry(ctx, try(false), p); err != nil || r.Outcome != qr.TryFailed {
			t.Fatalf("failure %d: %+v, %v", i, r, err)
		}
	}
	if r, err := s.BeginTry(ctx, try(true), p); err != nil || r.Outcome != qr.TryLocked {
		t.Fatalf("genuine code of a locked serial: %+v, %v", r, err)
	}
	var count int
	if err := db.Pool().QueryRow(ctx, db.qualify(`select count from $S.qr_merchant_tries where merchant = $1`), [16]byte(shop)).Scan(&count); err != nil || count != 3 {
		t.Fatalf("merchant's failures: %d, %v; want 3", count, err)
	}
}
