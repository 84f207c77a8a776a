package qr

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

var errCrash = errors.New("injected crash")

func TestPayDynamic(t *testing.T) {
	e := newEnv(t, nil, nil)
	shop := e.payee("shop-8817", "便利店")
	alice := e.wallet("alice", 100_00)
	bob := e.wallet("bob", 100_00)
	code := e.issueDynamic("shop-8817", "ORDER-1", 88_00, 15*time.Minute)

	q, err := e.svc.Preview(e.ctx, userOf(alice), code)
	if err != nil || q.Payee.Account != uuid.Nil || q.Confirm == "" || q.Payee.Name != "便利店" || q.Amount != yuan(88_00) || q.NameMismatch {
		t.Fatalf("Preview = %+v, %v", q, err)
	}
	r, err := e.pay(alice, code, 0, "k1")
	if err != nil {
		t.Fatal(err)
	}
	want := Receipt{
		Payment: e.svc.PaymentID(userOf(alice), "k1"), Transfer: e.svc.TransferID(e.svc.PaymentID(userOf(alice), "k1")), Key: "k1",
		User: userOf(alice), From: alice, Payee: Payee{Alias: "shop-8817", Account: shop, Name: "便利店"}, Amount: yuan(88_00),
		Initiation: Dynamic, Reference: "ORDER-1", CodeName: "便利店", At: testNow,
	}
	if r != want {
		t.Fatalf("receipt\n %+v\nwant\n %+v", r, want)
	}
	e.wantBalance(alice, 12_00)
	e.wantBalance(shop, 88_00)
	if c, _ := e.store.Code(e.ctx, e.svc.CodeID("shop-8817", "ORDER-1")); c.Payment != r.Payment || !c.Settled {
		t.Fatalf("code after payment: %+v", c)
	}
	if tr, err := e.ledger.LookupTransfer(e.ctx, r.Transfer); err != nil || tr.Kind != ledger.KindPostPending {
		t.Fatalf("posting transfer %+v, %v", tr, err)
	}

	// Paid once: by anyone else, or by Alice under another key.
	if _, err := e.pay(bob, code, 0, "k1"); !errors.Is(err, ErrCodePaid) {
		t.Errorf("second payer: %v", err)
	}
	if _, err := e.pay(alice, code, 0, "k2"); !errors.Is(err, ErrCodePaid) {
		t.Errorf("same payer, new key: %v", err)
	}
	if _, err := e.svc.Preview(e.ctx, userOf(alice), code); !errors.Is(err, ErrCodePaid) {
		t.Errorf("Preview of a paid code: %v", err)
	}
	// The same key and request: the same receipt, with the amount or
	// without, also after the code expired.
	for _, fen := range []int64{0, 88_00} {
		if again, err := e.pay(alice, code, fen, "k1"); err != nil || again != r {
			t.Errorf("retry with %d: %+v, %v", fen, again, err)
		}
	}
	e.clock.Advance(time.Hour)
	if again, err := e.pay(alice, code, 0, "k1"); err != nil || again != r {
		t.Errorf("retry after expiry: %+v, %v", again, err)
	}
	// The same key for another request.
	if _, err := e.pay(alice, code, 87_00, "k1"); !errors.Is(err, ErrKeyReused) {
		t.Errorf("same key, other amount: %v", err)
	}
	other := e.issueDynamic("shop-8817", "ORDER-2", 88_00, 15*time.Minute)
	if _, err := e.pay(alice, other, 0, "k1"); !errors.Is(err, ErrKeyReused) {
		t.Errorf("same key, other code: %v", err)
	}
	e.wantBalance(alice, 12_00)
	e.wantBalance(bob, 100_00)
	e.wantBalance(shop, 88_00)
	e.verify()
}

func TestPayDynamicRefusals(t *testing.T) {
	e := newEnv(t, nil, nil)
	shop := e.payee("shop-1", "Shop One")
	alice := e.wallet("alice", 100_00)
	code := e.issueDynamic("shop-1", "ORDER-1", 50_00, 15*time.Minute)

	tampered, _ := Parse(code)
	tampered.Set(54, "5.00")
	unregistered, err := e.receive.Issue(e.ctx, ReceiveCode{Payee: "shop-1", Initiation: Dynamic, Amount: yuan(10_00),
		Reference: "ORDER-9", Expires: testNow.Add(time.Minute), Name: "Shop One", City: "C"})
	if err != nil {
		t.Fatal(err)
	}
	otherTerms, err := e.receive.Issue(e.ctx, ReceiveCode{Payee: "shop-1", Initiation: Dynamic, Amount: yuan(1_00),
		Reference: "ORDER-1", Expires: testNow.Add(15 * time.Minute), Name: "Shop One", City: "C"})
	if err != nil {
		t.Fatal(err)
	}
	short := e.issueDynamic("shop-1", "ORDER-2", 50_00, time.Minute)

	for _, tc := range []struct {
		name    string
		payer   uuid.UUID
		payload string
		fen     int64
		key     string
		want    error
	}{
		{"tampered amount, CRC recomputed", alice, tampered.String(), 0, "t1", ErrBadSignature},
		{"a PIX code", alice, publishedPayloads[1].payload, 10_00, "t2", ErrNotOurs},
		{"not registered", alice, unregistered, 0, "t3", ErrUnknownCode},
		{"other terms than registered", alice, otherTerms, 0, "t4", ErrUnknownCode},
		{"other amount", alice, code, 49_00, "t5", ErrAmountMismatch},
		{"more than the wallet holds", alice, e.issueDynamic("shop-1", "ORDER-3", 100_01, time.Hour), 0, "t6", ledger.ErrInsufficientFunds},
		{"no key", alice, code, 0, "", ErrInvalidValue},
		{"key with NUL", alice, code, 0, "k\x00", ErrInvalidValue},
		{"key not UTF-8", alice, code, 0, "k\xff", ErrInvalidValue},
		{"no payer", uuid.Nil, code, 0, "t7", ErrInvalidValue},
		{"paying oneself", shop, code, 0, "t8", ledger.ErrSameAccount},
	} {
		if _, err := e.pay(tc.payer, tc.payload, tc.fen, tc.key); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// Keys are checked by the one check every feature uses.
	for _, key := range []string{"", "k\x00", "k\tk", "k\n", strings.Repeat("k", ledger.MaxKeyLen+1)} {
		if _, err := e.pay(alice, code, 0, key); !errors.Is(err, ErrInvalidValue) || !errors.Is(err, ledger.ErrInvalidKey) {
			t.Errorf("key %q: %v, want ErrInvalidValue and ledger.ErrInvalidKey", key, err)
		} else if code, _ := errcode.Of(err); code != "invalid_idempotency_key" {
			t.Errorf("key %q: code %s, want the key's", key, code)
		}
	}
	e.clock.Advance(time.Minute)
	if _, err := e.pay(alice, short, 0, "t9"); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	e.dir.Remove("shop-1")
	if _, err := e.pay(alice, code, 0, "t10"); !errors.Is(err, ErrUnknownPayee) {
		t.Errorf("payee gone from the directory: %v", err)
	}
	// Nothing moved, nothing held, every code still open.
	e.wantBalance(alice, 100_00)
	e.wantBalance(shop, 0)
	if list, _ := e.store.ClaimedCodes(e.ctx, testNow.Add(time.Hour), 10); len(list) != 0 {
		t.Errorf("claims left: %+v", list)
	}
	e.verify()
}

// Field 59 is never the payee: a renamed payee is paid under the
// directory's name with the mismatch reported; the codes of an alias
// moved to another account no longer pay (ErrBindingChanged).
func TestPayNameFromDirectory(t *testing.T) {
	e := newEnv(t, nil, nil)
	old := e.payee("shop-7", "老王烧烤")
	alice := e.wallet("alice", 100_00)
	code := e.issueDynamic("shop-7", "ORDER-1", 10_00, time.Hour)
	static := e.issueStatic("shop-7")
	if p, _ := Parse(code); p.MerchantName() != "老王烧烤" {
		t.Fatalf("59 = %q, want the directory's name", p.MerchantName())
	}
	if err := e.dir.Put(Payee{Alias: "shop-7", Account: old, Name: "王记烧烤"}); err != nil {
		t.Fatal(err)
	}
	q, err := e.svc.Preview(e.ctx, userOf(alice), code)
	if err != nil || q.Payee.Name != "王记烧烤" || q.CodeName != "老王烧烤" || !q.NameMismatch {
		t.Fatalf("Preview after rename = %+v, %v", q, err)
	}
	r, err := e.svc.Pay(e.ctx, PayRequest{User: userOf(alice), From: alice, Payload: code, Key: "k1", PayeeConfirm: q.Confirm})
	if err != nil || r.Payee.Name != "王记烧烤" || r.CodeName != "老王烧烤" || !r.NameMismatch || r.Payee.Account != old {
		t.Fatalf("Pay after rename = %+v, %v", r, err)
	}
	// The alias now points at another account: the codes issued for the
	// old binding no longer pay; a new code does.
	moved := e.payee("shop-7", "王记烧烤")
	if _, err := e.svc.Pay(e.ctx, PayRequest{User: userOf(alice), From: alice, Payload: static, Amount: yuan(5_00), Key: "k2", PayeeAccount: old}); !errors.Is(err, ErrBindingChanged) {
		t.Fatalf("confirmed account moved: %v", err)
	}
	if _, err := e.pay(alice, static, 5_00, "k3"); !errors.Is(err, ErrBindingChanged) {
		t.Fatalf("static code after the move: %v", err)
	}
	r, err = e.pay(alice, e.issueStatic("shop-7"), 5_00, "k4")
	if err != nil || r.Payee.Account != moved {
		t.Fatalf("new static code after the move: %+v, %v", r, err)
	}
	e.wantBalance(old, 10_00)
	e.wantBalance(moved, 5_00)
	e.verify()
}

func TestPayStaticDailyCap(t *testing.T) {
	e := newEnv(t, nil, nil)
	shop := e.payee("shop-1", "Shop")
	alice := e.wallet("alice", 2000_00)
	code := e.issueStatic("shop-1")
	// 20:00 UTC is 04:00 in Shanghai: the day is 2026-02-17 there.
	day := e.svc.Day(e.clock.Now())
	if day != "2026-02-17" {
		t.Fatalf("day %s", day)
	}
	if _, err := e.pay(alice, code, 300_00, "a"); err != nil {
		t.Fatal(err)
	}
	r, err := e.pay(alice, code, 200_00, "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pay(alice, code, 1, "c"); !errors.Is(err, ErrDailyCap) {
		t.Fatalf("0.01 over the cap: %v", err)
	} else if code, class := errcode.Of(err); code != "daily_cap" || class != errcode.Conflict {
		t.Errorf("0.01 over the cap: errcode.Of = %s, %v; want daily_cap, conflict", code, class)
	}
	// A retry at the cap returns the receipt.
	if again, err := e.pay(alice, code, 200_00, "b"); err != nil || again != r {
		t.Fatalf("retry at the cap: %v", err)
	}
	if used, _ := e.store.CapUsed(e.ctx, userOf(alice), day, cny); used != yuan(500_00) {
		t.Fatalf("used %v", used)
	}
	// Until 23:59:59 Shanghai time (15:59:59 UTC) it is the same day.
	e.clock.Set(time.Date(2026, 2, 17, 15, 59, 59, 0, time.UTC))
	if _, err := e.pay(alice, code, 1, "d"); !errors.Is(err, ErrDailyCap) {
		t.Fatalf("23:59:59 in Shanghai: %v", err)
	}
	e.clock.Set(time.Date(2026, 2, 17, 16, 0, 0, 0, time.UTC))
	if _, err := e.pay(alice, code, 500_00, "e"); err != nil {
		t.Fatalf("00:00 in Shanghai, a new day: %v", err)
	}
	// The amount must be positive and in the code's currency.
	for _, amount := range []ledger.Money{{}, yuan(0), yuan(-1), ledger.NewMoney(1_00, ledger.MustCurrency("USD"))} {
		if _, err := e.svc.Pay(e.ctx, PayRequest{User: userOf(alice), From: alice, Payload: code, Amount: amount, Key: "f"}); !errors.Is(err, ErrAmountMismatch) {
			t.Errorf("amount %v: %v", amount, err)
		}
	}
	e.wantBalance(alice, 1000_00)
	e.wantBalance(shop, 1000_00)
	// Dynamic codes are not capped.
	big := e.issueDynamic("shop-1", "BIG", 900_00, time.Hour)
	if _, err := e.pay(alice, big, 0, "g"); err != nil {
		t.Fatalf("dynamic code over the static cap: %v", err)
	}
	e.verify()
}

func TestPayStaticCapConfig(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.StaticDailyCaps = []ledger.Money{yuan(100_00)}
		c.Location = time.UTC
	}, nil)
	e.payee("shop-1", "Shop")
	alice := e.wallet("alice", 1000_00)
	code := e.issueStatic("shop-1")
	if _, err := e.pay(alice, code, 100_01, "a"); !errors.Is(err, ErrDailyCap) {
		t.Fatalf("over a 100.00 cap: %v", err)
	}
	if _, err := e.pay(alice, code, 100_00, "b"); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 2, 17, 0, 0, 0, 0, time.UTC)) // midnight UTC
	if _, err := e.pay(alice, code, 100_00, "c"); err != nil {
		t.Fatalf("new UTC day: %v", err)
	}
	// No caps at all; a zero cap forbids static payments.
	for _, tc := range []struct {
		caps []ledger.Money
		want error
	}{{[]ledger.Money{}, nil}, {[]ledger.Money{yuan(0)}, ErrDailyCap}} {
		e := newEnv(t, func(c *Config) { c.StaticDailyCaps = tc.caps }, nil)
		e.payee("shop-1", "Shop")
		alice := e.wallet("alice", 1000_00)
		if _, err := e.pay(alice, e.issueStatic("shop-1"), 1000_00, "a"); !errors.Is(err, tc.want) {
			t.Errorf("caps %v: %v, want %v", tc.caps, err, tc.want)
		}
	}
	for _, caps := range [][]ledger.Money{{yuan(-1)}, {yuan(1), yuan(2)}, {{}}} {
		if _, err := New(Config{Ledger: e.ledger, StaticDailyCaps: caps, SingleProcess: true}); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("caps %v: %v", caps, err)
		}
	}
	if _, err := New(Config{Ledger: e.ledger, HoldTimeout: time.Minute, ReconcileAfter: time.Minute, SingleProcess: true}); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("ReconcileAfter not below HoldTimeout: %v", err)
	}
	if _, err := New(Config{}); !errors.Is(err, ErrMissing) {
		t.Errorf("no ledger: %v", err)
	}
}

// Many static payments of one payer at once: the cap holds to the fen and
// nothing stays held.
func TestPayStaticCapConcurrent(t *testing.T) {
	e := newEnv(t, nil, nil)
	shop := e.payee("shop-1", "Shop")
	alice := e.wallet("alice", 2000_00)
	code := e.issueStatic("shop-1")
	const n = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	paid, capped := 0, 0
	for i := range n {
		wg.Go(func() {
			_, err := e.pay(alice, code, 50_00, fmt.Sprint("k", i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				paid++
			case errors.Is(err, ErrDailyCap):
				capped++
			default:
				t.Errorf("payment %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if paid != 10 || capped != n-10 {
		t.Fatalf("%d paid, %d capped; want 10 and %d", paid, capped, n-10)
	}
	e.wantBalance(alice, 1500_00)
	e.wantBalance(shop, 500_00)
	if list, _ := e.store.ReservedCaps(e.ctx, testNow.Add(time.Hour), 100); len(list) != 0 {
		t.Fatalf("unsettled reservations: %d", len(list))
	}
	e.verify()
}

// Many payers race for one dynamic code: one pays, the others' holds are
// voided.
func TestPayDynamicConcurrent(t *testing.T) {
	e := newEnv(t, nil, nil)
	shop := e.payee("shop-1", "Shop")
	code := e.issueDynamic("shop-1", "ORDER-1", 30_00, time.Hour)
	const n = 16
	payers := make([]uuid.UUID, n)
	for i := range payers {
		payers[i] = e.wallet(fmt.Sprint("payer", i), 50_00)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []uuid.UUID
	for i := range n {
		wg.Go(func() {
			_, err := e.pay(payers[i], code, 0, "k")
			switch {
			case err == nil:
				mu.Lock()
				winners = append(winners, payers[i])
				mu.Unlock()
			case !errors.Is(err, ErrCodePaid):
				t.Errorf("payer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d payers paid", len(winners))
	}
	for _, p := range payers {
		want := int64(50_00)
		if p == winners[0] {
			want = 20_00
		}
		e.wantBalance(p, want)
	}
	e.wantBalance(shop, 30_00)
	e.verify()
}

// One payer's app sends the same payment many times at once.
func TestPaySameKeyConcurrent(t *testing.T) {
	e := newEnv(t, nil, nil)
	shop := e.payee("shop-1", "Shop")
	alice := e.wallet("alice", 100_00)
	static := e.issueStatic("shop-1")
	var wg sync.WaitGroup
	receipts := make([]Receipt, 16)
	for i := range receipts {
		wg.Go(func() {
			r, err := e.pay(alice, static, 42_00, "same")
			if err != nil {
				t.Errorf("attempt %d: %v", i, err)
			}
			receipts[i] = r
		})
	}
	wg.Wait()
	for _, r := range receipts[1:] {
		if r != receipts[0] {
			t.Fatalf("receipts differ:\n %+v\n %+v", r, receipts[0])
		}
	}
	e.wantBalance(alice, 58_00)
	e.wantBalance(shop, 42_00)
	if used, _ := e.store.CapUsed(e.ctx, userOf(alice), e.svc.Day(testNow), cny); used != yuan(42_00) {
		t.Fatalf("cap counted %v", used)
	}
}

// A crash after the code was claimed: Reconcile posts the hold; the
// payer's retry gets the receipt.
func TestPayCrashAfterClaimReconciled(t *testing.T) {
	var fs *faultyStore
	e := newEnv(t, nil, func(s Store) Store { fs = &faultyStore{Store: s}; return fs })
	shop := e.payee("shop-1", "Shop")
	alice := e.wallet("alice", 100_00)
	code := e.issueDynamic("shop-1", "ORDER-1", 30_00, time.Hour)
	fs.set(&fs.afterClaim, once(errCrash))
	if _, err := e.pay(alice, code, 0, "k"); !errors.Is(err, errCrash) {
		t.Fatalf("Pay = %v", err)
	}
	net, avail := e.balance(alice)
	if net != 100_00 || avail != 70_00 {
		t.Fatalf("after the crash: balance %d available %d, want the hold in place", net, avail)
	}
	// Too young for Reconcile: left to the payment itself.
	e.clock.Advance(30 * time.Second)
	if rep, err := e.svc.Reconcile(e.ctx, e.clock.Now()); err != nil || rep != (ReconcileReport{}) {
		t.Fatalf("early Reconcile = %+v, %v", rep, err)
	}
	e.clock.Advance(time.Minute)
	rep, err := e.svc.Reconcile(e.ctx, e.clock.Now())
	if err != nil || rep != (ReconcileReport{Completed: 1}) {
		t.Fatalf("Reconcile = %+v, %v", rep, err)
	}
	e.wantBalance(alice, 70_00)
	e.wantBalance(shop, 30_00)
	r, err := e.pay(alice, code, 0, "k")
	if err != nil || r.Amount != yuan(30_00) || !r.At.Equal(testNow) {
		t.Fatalf("retry after Reconcile: %+v, %v", r, err)
	}
	if rep, _ := e.svc.Reconcile(e.ctx, e.clock.Now()); rep != (ReconcileReport{}) {
		t.Fatalf("second Reconcile = %+v", rep)
	}
	e.verify()
}

// A crash after the claim, and the hold times out before Reconcile runs:
// the claim is released and the code can be paid again.
func TestPayCrashAfterClaimExpired(t *testing.T) {
	var fs *faultyStore
	e := newEnv(t, nil, func(s Store) Store { fs = &faultyStore{Store: s}; return fs })
	shop := e.payee("shop-1", "Shop")
	alice := e.wallet("alice", 100_00)
	bob := e.wallet("bob", 100_00)
	code := e.issueDynamic("shop-1", "ORDER-1", 30_00, time.Hour)
	fs.set(&fs.afterClaim, once(errCrash))
	if _, err := e.pay(alice, code, 0, "k"); !errors.Is(err, errCrash) {
		t.Fatalf("Pay = %v", err)
	}
	if _, err := e.pay(bob, code, 0, "k"); !errors.Is(err, ErrCodePaid) {
		t.Fatalf("claimed code paid by another: %v", err)
	}
	e.clock.Advance(11 * time.Minute)
	// Whether or not the ledger's sweep ran, a hold past its timeout is
	// dead.
	rep, err := e.svc.Reconcile(e.ctx, e.clock.Now())
	if err != nil || rep != (ReconcileReport{Cancelled: 1}) {
		t.Fatalf("Reconcile = %+v, %v", rep, err)
	}
	if _, err := e.ledger.ExpirePending(e.ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.wantBalance(alice, 100_00)
	if _, err := e.pay(alice, code, 0, "k"); !errors.Is(err, ErrPaymentAborted) {
		t.Fatalf("retry of the dead payment: %v", err)
	}
	if _, err := e.pay(bob, code, 0, "k"); err != nil {
		t.Fatalf("code released, Bob pays: %v", err)
	}
	e.wantBalance(alice, 100_00)
	e.wantBalance(bob, 70_00)
	e.wantBalance(shop, 30_00)
	e.verify()
}

// A crash after the hold, before the claim: a retry finishes the payment;
// without one, the hold's timeout undoes it.
func TestPayCrashBeforeClaim(t *testing.T) {
	var fs *faultyStore
	e := newEnv(t, nil, func(s Store) Store { fs = &faultyStore{Store: s}; return fs })
	shop := e.payee("shop-1", "Shop")
	alice := e.wallet("alice", 100_00)
	code1 := e.issueDynamic("shop-1", "ORDER-1", 30_00, time.Hour)
	code2 := e.issueDynamic("shop-1", "ORDER-2", 20_00, time.Hour)
	fs.set(&fs.beforeClaim, once(errCrash))
	if _, err := e.pay(alice, code1, 0, "k1"); !errors.Is(err, errCrash) {
		t.Fatalf("Pay = %v", err)
	}
	if _, err := e.pay(alice, code1, 0, "k1"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	fs.set(&fs.beforeClaim, once(errCrash))
	if _, err := e.pay(alice, code2, 0, "k2"); !errors.Is(err, errCrash) {
		t.Fatalf("Pay = %v", err)
	}
	if _, avail := e.balance(alice); avail != 50_00 {
		t.Fatalf("available %d, want the hold in place", avail)
	}
	e.clock.Advance(11 * time.Minute)
	if n, err := e.ledger.ExpirePending(e.ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("ExpirePending = %d, %v", n, err)
	}
	e.wantBalance(alice, 70_00)
	e.wantBalance(shop, 30_00)
	if c, _ := e.store.Code(e.ctx, e.svc.CodeID("shop-1", "ORDER-2")); c.Payment != uuid.Nil {
		t.Fatalf("code 2 claimed: %+v", c)
	}
	e.verify()
}

// A static payment crashes after its cap reservation; Reconcile posts it
// and the cap counts it once.
func TestPayStaticCrashAfterReserve(t *testing.T) {
	var fs *faultyStore
	e := newEnv(t, nil, func(s Store) Store { fs = &faultyStore{Store: s}; return fs })
	shop := e.payee("shop-1", "Shop")
	alice := e.wallet("alice", 1000_00)
	code := e.issueStatic("shop-1")
	fs.set(&fs.afterReserve, once(errCrash))
	if _, err := e.pay(alice, code, 400_00, "k"); !errors.Is(err, errCrash) {
		t.Fatalf("Pay = %v", err)
	}
	if _, err := e.pay(alice, code, 100_01, "k2"); !errors.Is(err, ErrDailyCap) {
		t.Fatalf("the reservation counts while pending: %v", err)
	}
	e.clock.Advance(2 * time.Minute)
	if rep, err := e.svc.Reconcile(e.ctx, e.clock.Now()); err != nil || rep != (ReconcileReport{Completed: 1}) {
		t.Fatalf("Reconcile = %+v, %v", rep, err)
	}
	if _, err := e.pay(alice, code, 400_00, "k"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if used, _ := e.store.CapUsed(e.ctx, userOf(alice), e.svc.Day(testNow), cny); used != yuan(400_00) {
		t.Fatalf("used %v", used)
	}
	e.wantBalance(alice, 600_00)
	e.wantBalance(shop, 400_00)
	e.verify()
}

// A payee frozen between hold and post: the hold is voided, the claim and
// the reservation released, and a retry says why.
func TestPayCancelledWhenPostFails(t *testing.T) {
	var fs *faultyStore
	e := newEnv(t, nil, func(s Store) Store { fs = &faultyStore{Store: s}; return fs })
	shop := e.payee("shop-1", "Shop")
	alice := e.wallet("alice", 1000_00)
	dynamic := e.issueDynamic("shop-1", "ORDER-1", 30_00, time.Hour)
	static := e.issueStatic("shop-1")
	freeze := func() error {
		_, err := e.ledger.Freeze(e.ctx, shop)
		return err
	}
	for _, tc := range []struct {
		payload string
		fen     int64
		hook    *func() error
	}{{dynamic, 0, &fs.afterClaim}, {static, 100_00, &fs.afterReserve}} {
		fs.set(tc.hook, freeze)
		_, err := e.pay(alice, tc.payload, tc.fen, "k-"+fmt.Sprint(tc.fen))
		if !errors.Is(err, ErrPaymentAborted) || !errors.Is(err, ledger.ErrAccountFrozen) {
			t.Fatalf("Pay = %v", err)
		}
		_, again := e.pay(alice, tc.payload, tc.fen, "k-"+fmt.Sprint(tc.fen))
		if !errors.Is(again, ErrPaymentAborted) || !errors.Is(again, ledger.ErrAccountFrozen) {
			t.Fatalf("retry = %v", again)
		}
		// The reason speaks, to the payment and to its retry alike.
		for _, err := range []error{err, again} {
			if code, class := errcode.Of(err); code != "account_frozen" || class != errcode.Conflict {
				t.Errorf("%v: errcode.Of = %s, %v; want account_frozen, conflict", err, code, class)
			}
		}
		fs.set(tc.hook, nil)
		if _, err := e.ledger.Unfreeze(e.ctx, shop); err != nil {
			t.Fatal(err)
		}
	}
	e.wantBalance(alice, 1000_00)
	if c, _ := e.store.Code(e.ctx, e.svc.CodeID("shop-1", "ORDER-1")); c.Payment != uuid.Nil {
		t.Fatalf("claim kept: %+v", c)
	}
	if used, _ := e.store.CapUsed(e.ctx, userOf(alice), e.svc.Day(testNow), cny); !used.IsZero() {
		t.Fatalf("reservation kept: %v", used)
	}
	// Both codes can still be paid.
	if _, err := e.pay(alice, dynamic, 0, "new1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pay(alice, static, 500_00, "new2"); err != nil {
		t.Fatal(err)
	}
	e.wantBalance(shop, 530_00)
	e.verify()
}

// A directory name too long for the ledger's metadata is cut for the
// receipt, at a character boundary; the payment goes through.
func TestPayLongDirectoryName(t *testing.T) {
	e := newEnv(t, nil, nil)
	name := strings.Repeat("长", 300) // 900 bytes
	e.payee("shop-1", name)
	alice := e.wallet("alice", 100_00)
	r, err := e.pay(alice, e.issueStatic("shop-1"), 1_00, "k")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Payee.Name); n > ledger.MaxMetadataValueLen || n < ledger.MaxMetadataValueLen-3 || !strings.HasPrefix(name, r.Payee.Name) {
		t.Fatalf("receipt name of %d bytes", n)
	}
	// 59 holds the name's first 25 characters: no mismatch.
	if r.NameMismatch || r.CodeName != strings.Repeat("长", 25) {
		t.Fatalf("code name %q, mismatch %v", r.CodeName, r.NameMismatch)
	}
}

func TestIssue(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.payee("shop-1", "一个名字很长很长很长很长很长很长很长很长很长的商店")
	code := e.issueDynamic("shop-1", "ORDER-1", 10_00, time.Hour)
	p, _ := Parse(code)
	if n := len([]rune(p.MerchantName())); n != 25 {
		t.Errorf("59 has %d characters, want the directory's name cut to 25", n)
	}
	// The same code again: the same payload, one registration.
	if again := e.issueDynamic("shop-1", "ORDER-1", 10_00, time.Hour); again != code {
		t.Errorf("re-issued code differs")
	}
	_, err := e.svc.Issue(e.ctx, ReceiveCode{Payee: "shop-1", Initiation: Dynamic, Amount: yuan(20_00), Reference: "ORDER-1",
		Expires: testNow.Add(time.Hour), City: "C"})
	if !errors.Is(err, ErrCodeExists) {
		t.Errorf("another code for the same order: %v", err)
	}
	_, err = e.svc.Issue(e.ctx, ReceiveCode{Payee: "nobody", Initiation: Static, Currency: cny, City: "C"})
	if !errors.Is(err, ErrUnknownPayee) {
		t.Errorf("unknown payee: %v", err)
	}
	bare, _ := New(Config{Ledger: e.ledger, SingleProcess: true})
	if _, err := bare.Issue(e.ctx, ReceiveCode{}); !errors.Is(err, ErrMissing) {
		t.Errorf("no directory: %v", err)
	}
	if _, err := bare.Pay(e.ctx, PayRequest{}); !errors.Is(err, ErrMissing) {
		t.Errorf("no directory: %v", err)
	}
	if err := e.dir.Put(Payee{Alias: "x"}); !errors.Is(err, ErrInvalidPayee) {
		t.Errorf("invalid payee: %v", err)
	}
}
