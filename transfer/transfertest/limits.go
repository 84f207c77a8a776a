package transfertest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

// smallLimits: 1,000.00 per transfer, 1,500.00 a day, 100.00 to a
// first-time payee.
func smallLimits() option { return withLimits(testLimits()) }

// befriend settles a 1.00 transfer from a to b, so that b is no longer a
// first-time payee of a.
func (w *world) befriend(a, b user) {
	w.t.Helper()
	r, err := w.send(a, b, fen(1_00), transfer.ArriveNow)
	must(w.t, err)
	if r.State != transfer.StateSettled {
		w.t.Fatalf("befriend: %v", r.State)
	}
}

func testLimitsThroughSend(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv, smallLimits())
	alice, bob := w.user("Alice", yuan(t, "10000")), w.user("Bob", ledger.Money{})
	try := func(amount string, wantErr error) {
		t.Helper()
		before := w.net(bob.acct)
		r, err := w.send(alice, bob, yuan(t, amount), transfer.ArriveNow)
		if wantErr == nil {
			if err != nil || r.State != transfer.StateSettled {
				t.Fatalf("%s: %v (%v), want settled", amount, err, r.State)
			}
			return
		}
		want(t, err, wantErr)
		if w.net(bob.acct) != before {
			t.Fatalf("%s: refused, yet money moved", amount)
		}
	}
	// First-time payee: above, at; then below once known.
	try("100.01", transfer.ErrOverFirstPayeeLimit)
	try("100.00", nil)
	try("99.99", nil)
	// Per transfer: above, at, below.
	try("1000.01", transfer.ErrOverTransferLimit)
	try("1000.00", nil)
	// Daily: 1,199.99 sent; 300.01 remain.
	try("300.02", transfer.ErrOverDailyLimit)
	try("300.00", nil)
	try("0.02", transfer.ErrOverDailyLimit)
	try("0.01", nil) // at the cap
	try("0.01", transfer.ErrOverDailyLimit)
	if tot, _ := w.env.Store.DailyTotal(w.ctx, alice.id, w.svc.Day(Start), cny); tot != yuan(t, "1500") {
		t.Fatalf("daily total %v, want the cap", tot)
	}
	if w.net(bob.acct) != 1_500_00 {
		t.Fatalf("bob has %d", w.net(bob.acct))
	}
	// Amounts in another currency, or not positive, never reach a lookup.
	for _, m := range []ledger.Money{ledger.NewMoney(1, ledger.MustCurrency("USD")), fen(0), fen(-5)} {
		_, err := w.svc.Send(w.ctx, transfer.Request{Key: unique("k"), Payer: alice.id, From: alice.acct, Phone: bob.phone, Amount: m})
		if !errors.Is(err, transfer.ErrCurrencyMismatch) && !errors.Is(err, transfer.ErrInvalidAmount) {
			t.Fatalf("amount %v: %v", m, err)
		}
	}
	w.verify()
}

// The default per-transfer cap, CNY 50,000.00, through Send.
func testDefaultPerTransferCap(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "200000")), w.user("Bob", ledger.Money{})
	w.befriend(alice, bob)
	_, err := w.send(alice, bob, yuan(t, "50000.01"), transfer.ArriveNow)
	var le *transfer.LimitError
	if !errors.As(err, &le) || !errors.Is(err, transfer.ErrOverTransferLimit) || le.Limit != yuan(t, "50000") {
		t.Fatalf("50,000.01: %v", err)
	}
	for _, amount := range []string{"50000.00", "49999.99"} {
		if r, err := w.send(alice, bob, yuan(t, amount), transfer.ArriveNow); err != nil || r.State != transfer.StateSettled {
			t.Fatalf("%s: %v", amount, err)
		}
	}
	if w.net(bob.acct) != 1_00+50_000_00+49_999_99 {
		t.Fatalf("bob has %d", w.net(bob.acct))
	}
	w.verify()
}

// The daily cap restarts at midnight in Shanghai, not in UTC.
func testDayBoundary(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv, smallLimits())
	alice, bob := w.user("Alice", yuan(t, "10000")), w.user("Bob", ledger.Money{})
	w.befriend(alice, bob)
	// 23:59:59 in Shanghai is 15:59:59 UTC.
	w.clock.Set(time.Date(2026, 2, 16, 15, 59, 59, 0, time.UTC))
	for _, a := range []string{"1000", "499"} {
		_, err := w.send(alice, bob, yuan(t, a), transfer.ArriveNow)
		must(t, err)
	}
	_, err := w.send(alice, bob, yuan(t, "0.01"), transfer.ArriveNow)
	want(t, err, transfer.ErrOverDailyLimit)
	w.clock.Advance(time.Second) // midnight in Shanghai
	r, err := w.send(alice, bob, yuan(t, "1000"), transfer.ArriveNow)
	must(t, err)
	w.clock.Set(time.Date(2026, 2, 17, 0, 0, 1, 0, time.UTC)) // midnight UTC: still the same day in Shanghai
	_, err = w.send(alice, bob, yuan(t, "500.01"), transfer.ArriveNow)
	want(t, err, transfer.ErrOverDailyLimit)
	if w.svc.Day(r.CreatedAt) != w.svc.Day(Start)+1 || w.svc.Day(r.CreatedAt).String() != "2026-02-17" {
		t.Fatalf("day of %v: %v", r.CreatedAt, w.svc.Day(r.CreatedAt))
	}
	old, _ := w.env.Store.DailyTotal(w.ctx, alice.id, w.svc.Day(Start), cny)
	cur, _ := w.env.Store.DailyTotal(w.ctx, alice.id, w.svc.Day(r.CreatedAt), cny)
	if old != yuan(t, "1500") || cur != yuan(t, "1000") {
		t.Fatalf("totals %v and %v", old, cur)
	}
	w.verify()
}

// Concurrent sends of one payer: exactly as many as the daily cap allows.
func testConcurrentDailyLimit(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv, smallLimits())
	alice, bob := w.user("Alice", yuan(t, "10000")), w.user("Bob", ledger.Money{})
	w.befriend(alice, bob) // 1.00 of the 1,500.00 used
	const n, amount = 32, 70_00
	reqs := make([]transfer.Request, n)
	for i := range reqs {
		reqs[i] = w.request(alice, bob, fen(amount), transfer.ArriveNow)
	}
	var ok, over atomic.Int64
	var wg sync.WaitGroup
	for _, req := range reqs {
		wg.Go(func() {
			_, err := w.svc.Send(w.ctx, req)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, transfer.ErrOverDailyLimit):
				over.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	fit := int64(1_499_00 / amount)
	if ok.Load() != fit || over.Load() != n-fit {
		t.Fatalf("%d sent, %d refused; want %d and %d", ok.Load(), over.Load(), fit, n-fit)
	}
	if w.net(bob.acct) != 1_00+fit*amount {
		t.Fatalf("bob has %d", w.net(bob.acct))
	}
	w.verify()
}
