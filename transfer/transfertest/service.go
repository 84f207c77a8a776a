package transfertest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

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

func testImmediate(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice Smith", yuan(t, "1000")), w.user("王小明", ledger.Money{})
	res, err := w.svc.Resolve(w.ctx, alice.id, bob.phone)
	must(t, err)
	if res.MaskedName != "**明" || res.Institution != transfer.DefaultInstitution || res.Token == "" {
		t.Fatalf("resolution %+v", res)
	}
	r, err := w.svc.Send(w.ctx, transfer.Request{Key: "k1", Payer: alice.id, From: alice.acct, Token: res.Token,
		Amount: yuan(t, "88.88"), Memo: "午饭"})
	must(t, err)
	if r.State != transfer.StateSettled || !r.FirstPayee || r.PayeeName != "**明" || r.Amount != yuan(t, "88.88") ||
		r.ID != w.svc.RecordID(alice.id, "k1") || !r.ResolvedAt.Equal(ledger.Timestamp(Start)) {
		t.Fatalf("receipt %+v", r)
	}
	if w.net(alice.acct) != 911_12 || w.net(bob.acct) != 88_88 {
		t.Fatalf("balances alice %d bob %d", w.net(alice.acct), w.net(bob.acct))
	}
	lt, err := w.l.LookupTransfer(w.ctx, r.LedgerID)
	if err != nil || lt.DebitAccountID != alice.acct || lt.CreditAccountID != bob.acct || lt.Amount != yuan(t, "88.88") {
		t.Fatalf("ledger transfer %+v: %v", lt, err)
	}
	if tot, _ := w.env.Store.DailyTotal(w.ctx, alice.id, w.svc.Day(Start), cny); tot != yuan(t, "88.88") {
		t.Fatalf("daily total %v", tot)
	}
	// Payer and payee can read it; no one else.
	for _, party := range []uuid.UUID{alice.id, bob.id} {
		got, err := w.svc.Get(w.ctx, party, r.ID)
		if err != nil || got != r {
			t.Fatalf("Get by %s: %v %+v", party, err, got)
		}
	}
	_, err = w.svc.Get(w.ctx, uid("mallory"), r.ID)
	want(t, err, transfer.ErrRecordNotFound)
	// Paying by number (looked up at once) works too, and bob is known now.
	r2, err := w.svc.Send(w.ctx, transfer.Request{Key: "k2", Payer: alice.id, From: alice.acct, Phone: "+86" + bob.phone, Amount: yuan(t, "1")})
	must(t, err)
	if r2.State != transfer.StateSettled || r2.FirstPayee {
		t.Fatalf("second receipt %+v", r2)
	}
	// Paying oneself is refused.
	_, err = w.svc.Send(w.ctx, transfer.Request{Key: "k3", Payer: bob.id, From: bob.acct, Phone: bob.phone, Amount: yuan(t, "1")})
	want(t, err, transfer.ErrSelfTransfer)
	w.verify()
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

func testIdempotentRetries(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "1000")), w.user("Bob", ledger.Money{})
	req := w.request(alice, bob, yuan(t, "10"), transfer.ArriveNow)
	first, err := w.svc.Send(w.ctx, req)
	must(t, err)
	// Retries return the same receipt and move nothing, even after the
	// token expired.
	w.clock.Advance(time.Hour)
	for range 3 {
		again, err := w.svc.Send(w.ctx, req)
		if err != nil || again != first {
			t.Fatalf("retry: %v\n%+v\nwant\n%+v", err, again, first)
		}
	}
	if w.net(bob.acct) != 10_00 {
		t.Fatalf("bob has %d after retries", w.net(bob.acct))
	}
	// The key with another request is refused.
	other := req
	other.Amount = yuan(t, "11")
	_, err = w.svc.Send(w.ctx, other)
	want(t, err, transfer.ErrIdempotencyConflict)
	other = req
	other.Memo = "changed"
	_, err = w.svc.Send(w.ctx, other)
	want(t, err, transfer.ErrIdempotencyConflict)
	// A token pays once: under another key it is refused.
	reuse := w.request(alice, bob, yuan(t, "1"), transfer.ArriveNow)
	_, err = w.svc.Send(w.ctx, reuse)
	must(t, err)
	reuse.Key = unique("key")
	_, err = w.svc.Send(w.ctx, reuse)
	want(t, err, transfer.ErrLookupUsed)
	// Keys belong to payers: bob may use alice's key for his own transfer.
	carol := w.user("Carol", ledger.Money{})
	breq := w.request(bob, carol, yuan(t, "5"), transfer.ArriveNow)
	breq.Key = req.Key
	br, err := w.svc.Send(w.ctx, breq)
	must(t, err)
	if br.ID == first.ID || w.net(carol.acct) != 5_00 {
		t.Fatalf("bob's transfer under alice's key: %+v, carol %d", br, w.net(carol.acct))
	}
	w.verify()
}

func testConcurrentRetries(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "1000")), w.user("Bob", ledger.Money{})
	for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h} {
		req := w.request(alice, bob, yuan(t, "7.50"), arrival)
		var wg sync.WaitGroup
		receipts := make([]transfer.Receipt, 12)
		start := make(chan struct{})
		for i := range receipts {
			wg.Go(func() {
				<-start
				r, err := w.svc.Send(w.ctx, req)
				if err != nil {
					t.Error(err)
				}
				receipts[i] = r
			})
		}
		close(start)
		wg.Wait()
		for _, r := range receipts {
			if r.ID != receipts[0].ID || r.State != receipts[0].State || r.LedgerID != receipts[0].LedgerID {
				t.Fatalf("receipts differ: %+v and %+v", r, receipts[0])
			}
		}
	}
	b := w.balance(bob.acct)
	if b.CreditsPosted != 7_50 || b.CreditsPending != 7_50 {
		t.Fatalf("bob's balance %+v: each transfer must count once", b)
	}
	if tot, _ := w.env.Store.DailyTotal(w.ctx, alice.id, w.svc.Day(Start), cny); tot != yuan(t, "15") {
		t.Fatalf("daily total %v", tot)
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

// A transfer the ledger refuses fails whole: no money, no daily total, and
// its retries say the same.
func testFailedTransfer(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "10")), w.user("Bob", ledger.Money{})
	for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h, transfer.ArriveOnAccept} {
		req := w.request(alice, bob, yuan(t, "20"), arrival)
		r, err := w.svc.Send(w.ctx, req)
		var fe *transfer.FailedError
		if !errors.As(err, &fe) || !errors.Is(err, transfer.ErrTransferFailed) || !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("%v: %v", arrival, err)
		}
		if r.State != transfer.StateFailed || r.Reason != "insufficient_funds" {
			t.Fatalf("%v: receipt %+v", arrival, r)
		}
		again, err2 := w.svc.Send(w.ctx, req)
		if again != r || !errors.Is(err2, ledger.ErrInsufficientFunds) {
			t.Fatalf("%v: retry %v %+v", arrival, err2, again)
		}
	}
	if tot, _ := w.env.Store.DailyTotal(w.ctx, alice.id, w.svc.Day(Start), cny); !tot.IsZero() {
		t.Fatalf("failed transfers counted: %v", tot)
	}
	if b := w.balance(alice.acct); b.Net() != 10_00 || b.DebitsPending != 0 || w.net(bob.acct) != 0 {
		t.Fatalf("money moved: alice %+v", b)
	}
	w.verify()
}

var errInjected = errors.New("transfertest: injected failure (outcome unknown)")

// take decrements a positive counter and reports whether it did.
func take(c *atomic.Int32) bool {
	for {
		n := c.Load()
		if n <= 0 {
			return false
		}
		if c.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// flakyLedger fails CreateTransfer calls: before applying (a crash before
// the ledger) or after (a lost answer).
type flakyLedger struct {
	ledger.Store
	before, after atomic.Int32
}

func (f *flakyLedger) CreateTransfer(ctx context.Context, t ledger.Transfer, now time.Time) (ledger.Result, error) {
	if take(&f.before) {
		return ledger.Result{}, errInjected
	}
	r, err := f.Store.CreateTransfer(ctx, t, now)
	if err == nil && take(&f.after) {
		return ledger.Result{}, errInjected
	}
	return r, err
}

// flakyStore fails transitions (a crash after the ledger, before the
// record is marked), and can run a hook before a transition.
type flakyStore struct {
	transfer.Store
	fail   atomic.Int32
	before func(id uuid.UUID, to transfer.State)
}

func (f *flakyStore) Transition(ctx context.Context, id uuid.UUID, to transfer.State, reason string, at time.Time) (transfer.Record, error) {
	if take(&f.fail) {
		return transfer.Record{}, errInjected
	}
	if f.before != nil {
		f.before(id, to)
	}
	return f.Store.Transition(ctx, id, to, reason, at)
}

func withFlakyLedger(f *flakyLedger) option {
	return func(env *Env, _ *transfer.Config) { f.Store = env.Ledger; env.Ledger = f }
}

func withFlakyStore(f *flakyStore) option {
	return func(env *Env, _ *transfer.Config) { f.Store = env.Store; env.Store = f }
}

func (w *world) state(id uuid.UUID) transfer.State { return w.record(id).State }

// A crash after the record, before the ledger transfer: retry or Reconcile
// finishes it, once.
func testCrashBeforeLedger(t *testing.T, newEnv func(testing.TB) Env) {
	fl := &flakyLedger{}
	w := newWorld(t, newEnv, withFlakyLedger(fl))
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})

	fl.before.Store(1)
	req := w.request(alice, bob, yuan(t, "10"), transfer.ArriveNow)
	_, err := w.svc.Send(w.ctx, req)
	want(t, err, errInjected)
	id := w.svc.RecordID(alice.id, req.Key)
	if w.state(id) != transfer.StatePending || w.net(bob.acct) != 0 {
		t.Fatal("after the crash: record not pending, or money moved")
	}
	// Reconcile leaves records younger than its bound alone.
	if rep, err := w.svc.Reconcile(w.ctx, Start.Add(-time.Second)); rep != (transfer.ReconcileReport{}) || err != nil {
		t.Fatalf("Reconcile of nothing old: %+v, %v", rep, err)
	}
	if rep, err := w.svc.Reconcile(w.ctx, Start); rep != (transfer.ReconcileReport{Visited: 1, Settled: 1}) || err != nil {
		t.Fatalf("Reconcile: %+v, %v", rep, err)
	}
	r, err := w.svc.Send(w.ctx, req)
	if err != nil || r.State != transfer.StateSettled || w.net(bob.acct) != 10_00 {
		t.Fatalf("retry after Reconcile: %v %v, bob %d", err, r.State, w.net(bob.acct))
	}

	// A lost answer: the ledger applied it, the caller does not know.
	fl.after.Store(1)
	req = w.request(alice, bob, yuan(t, "5"), transfer.ArriveNow)
	_, err = w.svc.Send(w.ctx, req)
	want(t, err, errInjected)
	r, err = w.svc.Send(w.ctx, req) // the caller retries
	if err != nil || r.State != transfer.StateSettled || w.net(bob.acct) != 15_00 {
		t.Fatalf("retry after a lost answer: %v %v, bob %d", err, r.State, w.net(bob.acct))
	}
	w.verify()
}

// A crash after the ledger transfer, before the record is marked.
func testCrashBeforeMark(t *testing.T, newEnv func(testing.TB) Env) {
	fs := &flakyStore{}
	w := newWorld(t, newEnv, withFlakyStore(fs))
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	fs.fail.Store(1)
	req := w.request(alice, bob, yuan(t, "10"), transfer.ArriveNow)
	_, err := w.svc.Send(w.ctx, req)
	want(t, err, errInjected)
	id := w.svc.RecordID(alice.id, req.Key)
	if w.state(id) != transfer.StatePending || w.net(bob.acct) != 10_00 {
		t.Fatalf("after the crash: state %v, bob %d", w.state(id), w.net(bob.acct))
	}
	if rep, err := w.svc.Reconcile(w.ctx, Start); rep != (transfer.ReconcileReport{Visited: 1, Settled: 1}) || err != nil {
		t.Fatalf("Reconcile: %+v, %v", rep, err)
	}
	if w.state(id) != transfer.StateSettled || w.net(bob.acct) != 10_00 {
		t.Fatalf("after Reconcile: state %v, bob %d (paid twice?)", w.state(id), w.net(bob.acct))
	}
	w.verify()
}

// A crash between a delayed transfer's record and its hold: Cancel and
// ReleaseDue both cope.
func testCrashBeforeHold(t *testing.T, newEnv func(testing.TB) Env) {
	fl := &flakyLedger{}
	w := newWorld(t, newEnv, withFlakyLedger(fl))
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	var ids []uuid.UUID
	for range 2 {
		fl.before.Store(1)
		req := w.request(alice, bob, yuan(t, "10"), transfer.Arrive2h)
		_, err := w.svc.Send(w.ctx, req)
		want(t, err, errInjected)
		ids = append(ids, w.svc.RecordID(alice.id, req.Key))
	}
	if b := w.balance(alice.acct); b.DebitsPending != 0 {
		t.Fatalf("holds exist: %+v", b)
	}
	r, err := w.svc.Cancel(w.ctx, alice.id, ids[0])
	if err != nil || r.State != transfer.StateCancelled {
		t.Fatalf("cancel without a hold: %v %+v", err, r)
	}
	w.clock.Advance(2 * time.Hour)
	if n, err := w.svc.ReleaseDue(w.ctx, w.clock.Now()); n != 1 || err != nil {
		t.Fatalf("release without a hold: %d, %v", n, err)
	}
	if w.net(bob.acct) != 10_00 || w.net(alice.acct) != 90_00 || w.balance(alice.acct).DebitsPending != 0 {
		t.Fatalf("bob %d alice %+v", w.net(bob.acct), w.balance(alice.acct))
	}
	w.verify()
}

// Two advances of one record race; the ledger refuses one and lets the
// other through (the payer's balance changed in between); the record's
// failure stands and the payment that got through is undone, whichever
// advance notices.
func testLostRaceCompensated(t *testing.T, newEnv func(testing.TB) Env) {
	fs := &flakyStore{}
	w := newWorld(t, newEnv, withFlakyStore(fs))
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	var target uuid.UUID
	var once atomic.Bool
	// The advance that got through marks the record last: it finds it
	// failed by the other and undoes its payment.
	fs.before = func(id uuid.UUID, to transfer.State) {
		if id == target && to == transfer.StateSettled && once.CompareAndSwap(false, true) {
			if _, err := fs.Store.Transition(w.ctx, id, transfer.StateFailed, "insufficient_funds", w.clock.Now()); err != nil {
				t.Error(err)
			}
		}
	}
	req := w.request(alice, bob, yuan(t, "10"), transfer.ArriveNow)
	target = w.svc.RecordID(alice.id, req.Key)
	r, err := w.svc.Send(w.ctx, req)
	if !errors.Is(err, ledger.ErrInsufficientFunds) || r.State != transfer.StateFailed {
		t.Fatalf("send: %v %+v", err, r)
	}
	if w.net(alice.acct) != 100_00 || w.net(bob.acct) != 0 {
		t.Fatalf("not undone: alice %d bob %d", w.net(alice.acct), w.net(bob.acct))
	}
	// The same for a delayed transfer failed just as it is released.
	once.Store(false)
	req = w.request(alice, bob, yuan(t, "20"), transfer.Arrive2h)
	target = w.svc.RecordID(alice.id, req.Key)
	_, err = w.svc.Send(w.ctx, req)
	must(t, err)
	w.clock.Advance(2 * time.Hour)
	// The sweep posted the hold (and counts it); finding the record failed,
	// it reversed the post.
	if n, err := w.svc.ReleaseDue(w.ctx, w.clock.Now()); n != 1 || err != nil {
		t.Fatalf("release: %d %v", n, err)
	}
	if b := w.balance(alice.acct); b.Net() != 100_00 || b.DebitsPending != 0 || w.net(bob.acct) != 0 {
		t.Fatalf("not undone: alice %+v bob %d", b, w.net(bob.acct))
	}

	// The advance that was refused marks the record last, after the other
	// got through and crashed before marking: the refused one undoes it.
	poor := w.user("Poor", ledger.Money{})
	req = w.request(poor, bob, yuan(t, "10"), transfer.ArriveNow)
	target = w.svc.RecordID(poor.id, req.Key)
	once.Store(false)
	fs.before = func(id uuid.UUID, to transfer.State) {
		if id != target || to == transfer.StateSettled || !once.CompareAndSwap(false, true) {
			return
		}
		// Money arrives; a retry gets through the ledger, then crashes.
		_, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: poor.acct, Amount: yuan(t, "10")})
		must(t, err)
		fs.fail.Store(1)
		if _, err := w.svc.Send(w.ctx, req); !errors.Is(err, errInjected) {
			t.Errorf("the retry: %v, want the injected crash", err)
		}
	}
	r, err = w.svc.Send(w.ctx, req)
	if !errors.Is(err, ledger.ErrInsufficientFunds) || r.State != transfer.StateFailed {
		t.Fatalf("send: %v %+v", err, r)
	}
	if !once.Load() || w.net(poor.acct) != 10_00 || w.net(bob.acct) != 0 {
		t.Fatalf("not undone: poor %d bob %d", w.net(poor.acct), w.net(bob.acct))
	}
	w.verify()
}

// A resolution (release, accept, decline, expiry) that reached the ledger
// and crashed before marking the record: whoever comes next learns the
// ledger's verdict and records it.
func testCrashMidResolve(t *testing.T, newEnv func(testing.TB) Env) {
	fs := &flakyStore{}
	w := newWorld(t, newEnv, withFlakyStore(fs))
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	chat := func() transfer.Receipt {
		r, err := w.send(alice, bob, yuan(t, "1"), transfer.ArriveOnAccept)
		must(t, err)
		return r
	}
	check := func(r transfer.Receipt, err, wantErr error, state transfer.State, reason string) {
		t.Helper()
		want(t, err, wantErr)
		if got := w.record(r.ID); got.State != state || got.Reason != reason {
			t.Fatalf("record %v %q, want %v %q", got.State, got.Reason, state, reason)
		}
	}

	// Released, then Cancel.
	d, err := w.send(alice, bob, yuan(t, "2"), transfer.Arrive2h)
	must(t, err)
	fs.fail.Store(1)
	if _, err := w.svc.ReleaseDue(w.ctx, d.DueAt); !errors.Is(err, errInjected) {
		t.Fatalf("release: %v", err)
	}
	_, err = w.svc.Cancel(w.ctx, alice.id, d.ID)
	check(d, err, transfer.ErrAlreadySettled, transfer.StateSettled, "")

	// Cancelled, then released.
	d, err = w.send(alice, bob, yuan(t, "2"), transfer.Arrive2h)
	must(t, err)
	fs.fail.Store(1)
	_, err = w.svc.Cancel(w.ctx, alice.id, d.ID)
	want(t, err, errInjected)
	if n, err := w.svc.ReleaseDue(w.ctx, d.DueAt); n != 0 || err != nil {
		t.Fatalf("release after a cancel: %d %v", n, err)
	}
	check(d, nil, nil, transfer.StateCancelled, transfer.ReasonCancelled)

	// Accepted, then declined.
	c := chat()
	fs.fail.Store(1)
	_, err = w.svc.Accept(w.ctx, bob.id, c.ID)
	want(t, err, errInjected)
	_, err = w.svc.Decline(w.ctx, bob.id, c.ID)
	check(c, err, transfer.ErrAlreadySettled, transfer.StateSettled, "")

	// Declined, then accepted.
	c = chat()
	fs.fail.Store(1)
	_, err = w.svc.Decline(w.ctx, bob.id, c.ID)
	want(t, err, errInjected)
	_, err = w.svc.Accept(w.ctx, bob.id, c.ID)
	check(c, err, transfer.ErrAlreadyCancelled, transfer.StateCancelled, transfer.ReasonDeclined)

	// Expired by the sweep, then accepted.
	c = chat()
	fs.fail.Store(1)
	if _, err := w.svc.ExpireChats(w.ctx, c.DueAt); !errors.Is(err, errInjected) {
		t.Fatalf("expire: %v", err)
	}
	_, err = w.svc.Accept(w.ctx, bob.id, c.ID)
	check(c, err, transfer.ErrChatExpired, transfer.StateCancelled, transfer.ReasonExpired)

	if w.net(bob.acct) != 2_00+1_00 || w.net(alice.acct) != 97_00 || w.balance(alice.acct).DebitsPending != 0 {
		t.Fatalf("alice %+v, bob %d", w.balance(alice.acct), w.net(bob.acct))
	}
	w.verify()
}

// A chat transfer whose hold a crash never placed can still not be
// accepted after its deadline.
func testChatDeadlineWithoutHold(t *testing.T, newEnv func(testing.TB) Env) {
	fl := &flakyLedger{}
	w := newWorld(t, newEnv, withFlakyLedger(fl))
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	fl.before.Store(1)
	req := w.request(alice, bob, yuan(t, "10"), transfer.ArriveOnAccept)
	_, err := w.svc.Send(w.ctx, req)
	want(t, err, errInjected)
	w.clock.Advance(24 * time.Hour)
	_, err = w.svc.Accept(w.ctx, bob.id, w.svc.RecordID(alice.id, req.Key))
	want(t, err, transfer.ErrChatExpired)
	if w.net(bob.acct) != 0 || w.balance(alice.acct).DebitsPending != 0 || w.net(alice.acct) != 100_00 {
		t.Fatalf("alice %+v, bob %d", w.balance(alice.acct), w.net(bob.acct))
	}
	w.verify()
}

func testDelayed(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	for _, arrival := range []transfer.Arrival{transfer.Arrive2h, transfer.Arrive24h} {
		sent := w.clock.Now()
		r, err := w.send(alice, bob, yuan(t, "30"), arrival)
		must(t, err)
		if r.State != transfer.StatePending || !r.DueAt.Equal(ledger.Timestamp(sent.Add(arrival.Delay()))) {
			t.Fatalf("%v: receipt %+v", arrival, r)
		}
		// Reserved at once: alice cannot spend it, bob does not have it.
		if b := w.balance(alice.acct); b.Available() != 70_00 || w.net(bob.acct) != 0 {
			t.Fatalf("%v: alice %+v, bob %d", arrival, b, w.net(bob.acct))
		}
		if n, err := w.svc.ReleaseDue(w.ctx, r.DueAt.Add(-time.Microsecond)); n != 0 || err != nil {
			t.Fatalf("%v: released early: %d %v", arrival, n, err)
		}
		w.clock.Set(r.DueAt)
		if n, err := w.svc.ReleaseDue(w.ctx, r.DueAt); n != 1 || err != nil {
			t.Fatalf("%v: released %d, %v", arrival, n, err)
		}
		if w.net(bob.acct) != 30_00 || w.net(alice.acct) != 70_00 {
			t.Fatalf("%v: after release alice %d bob %d", arrival, w.net(alice.acct), w.net(bob.acct))
		}
		if got, _ := w.svc.Get(w.ctx, alice.id, r.ID); got.State != transfer.StateSettled || !got.ResolvedAt.Equal(r.DueAt) {
			t.Fatalf("%v: after release %+v", arrival, got)
		}
		// Too late to cancel; releasing again does nothing.
		_, err = w.svc.Cancel(w.ctx, alice.id, r.ID)
		want(t, err, transfer.ErrAlreadySettled)
		if n, _ := w.svc.ReleaseDue(w.ctx, r.DueAt.Add(time.Hour)); n != 0 {
			t.Fatalf("released twice")
		}
		// Back to even for the next arrival.
		_, err = w.svc.Send(w.ctx, transfer.Request{Key: unique("back"), Payer: bob.id, From: bob.acct, Phone: alice.phone, Amount: yuan(t, "30")})
		must(t, err)
	}

	// Cancel before it lands.
	r, err := w.send(alice, bob, yuan(t, "40"), transfer.Arrive24h)
	must(t, err)
	_, err = w.svc.Cancel(w.ctx, bob.id, r.ID)
	want(t, err, transfer.ErrRecordNotFound) // not bob's to cancel
	c, err := w.svc.Cancel(w.ctx, alice.id, r.ID)
	if err != nil || c.State != transfer.StateCancelled || c.Reason != transfer.ReasonCancelled {
		t.Fatalf("cancel: %v %+v", err, c)
	}
	if again, err := w.svc.Cancel(w.ctx, alice.id, r.ID); err != nil || again != c {
		t.Fatalf("cancel again: %v %+v", err, again)
	}
	if b := w.balance(alice.acct); b.Available() != 100_00 || b.DebitsPending != 0 {
		t.Fatalf("after cancel: %+v", b)
	}
	if n, _ := w.svc.ReleaseDue(w.ctx, r.DueAt.Add(time.Hour)); n != 0 {
		t.Fatal("released a cancelled transfer")
	}
	// The cancelled transfer no longer counts towards alice's day (the
	// day after Start: the first loop moved the clock).
	if tot, _ := w.env.Store.DailyTotal(w.ctx, alice.id, w.svc.Day(r.CreatedAt), cny); !tot.IsZero() {
		t.Fatalf("cancelled transfer still counted: %v", tot)
	}
	// Only delayed transfers can be cancelled.
	now, err := w.send(alice, bob, yuan(t, "1"), transfer.ArriveNow)
	must(t, err)
	_, err = w.svc.Cancel(w.ctx, alice.id, now.ID)
	want(t, err, transfer.ErrNotCancellable)
	w.verify()
}

// Cancel racing release, on many transfers at once, several rounds:
// exactly one wins each transfer, and the loser learns it.
func testCancelVersusRelease(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "100000")), w.user("Bob", ledger.Money{})
	const n = 24
	var settledSum int64
	for round := range races {
		var recs []transfer.Receipt
		for i := range n {
			r, err := w.send(alice, bob, fen(int64(100+i)), transfer.Arrive2h)
			must(t, err)
			recs = append(recs, r)
		}
		due := recs[n-1].DueAt
		var cancelled [n]bool
		var released atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range recs {
			wg.Go(func() {
				<-start
				_, err := w.svc.Cancel(w.ctx, alice.id, recs[i].ID)
				switch {
				case err == nil:
					cancelled[i] = true
				case !errors.Is(err, transfer.ErrAlreadySettled):
					t.Error(err)
				}
			})
		}
		for range 3 {
			wg.Go(func() {
				<-start
				k, err := w.svc.ReleaseDue(w.ctx, due)
				if err != nil {
					t.Error(err)
				}
				released.Add(int64(k))
			})
		}
		close(start)
		wg.Wait()
		nSettled := int64(0)
		for i, r := range recs {
			st := w.state(r.ID)
			switch {
			case cancelled[i] && st != transfer.StateCancelled, !cancelled[i] && st != transfer.StateSettled:
				t.Fatalf("round %d transfer %d: cancel won %v, state %v", round, i, cancelled[i], st)
			case st == transfer.StateSettled:
				nSettled++
				settledSum += r.Amount.Units()
			}
		}
		if released.Load() != nSettled {
			t.Fatalf("round %d: sweeps counted %d releases, %d settled", round, released.Load(), nSettled)
		}
		if w.net(bob.acct) != settledSum || w.balance(alice.acct).DebitsPending != 0 {
			t.Fatalf("round %d: bob %d, want %d; alice %+v", round, w.net(bob.acct), settledSum, w.balance(alice.acct))
		}
		w.verify()
	}
}

// A transfer that cannot land now (its payee's account is frozen) does not
// hold up the others, however many there are; it lands once it can.
func testReleasePastStuck(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, frozen, bob := w.user("Alice", yuan(t, "1000")), w.user("Frozen", ledger.Money{}), w.user("Bob", ledger.Money{})
	for range 12 { // more than a sweep reports
		_, err := w.send(alice, frozen, yuan(t, "1"), transfer.Arrive2h)
		must(t, err)
	}
	w.clock.Advance(time.Minute)
	last, err := w.send(alice, bob, yuan(t, "2"), transfer.Arrive2h)
	must(t, err)
	_, err = w.l.Freeze(w.ctx, frozen.acct)
	must(t, err)
	n, err := w.svc.ReleaseDue(w.ctx, last.DueAt)
	if n != 1 || !errors.Is(err, ledger.ErrAccountFrozen) || w.net(bob.acct) != 2_00 {
		t.Fatalf("released %d (%v); bob %d", n, err, w.net(bob.acct))
	}
	if !strings.Contains(err.Error(), "2 more transfers failed") {
		t.Fatalf("12 stuck transfers: the first 10 errors and a count of the rest, got %v", err)
	}
	_, err = w.l.Unfreeze(w.ctx, frozen.acct)
	must(t, err)
	if n, err := w.svc.ReleaseDue(w.ctx, last.DueAt); n != 12 || err != nil || w.net(frozen.acct) != 12_00 {
		t.Fatalf("after unfreezing: released %d (%v), payee has %d", n, err, w.net(frozen.acct))
	}
	w.verify()
}

// Sweeps running at once land each transfer once.
func testConcurrentSweepers(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "10000")), w.user("Bob", ledger.Money{})
	const n = 30
	var want int64
	for i := range n {
		r, err := w.send(alice, bob, fen(int64(100+i)), transfer.Arrive24h)
		must(t, err)
		want += r.Amount.Units()
	}
	due := Start.Add(25 * time.Hour)
	var released atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			<-start
			k, err := w.svc.ReleaseDue(w.ctx, due)
			if err != nil {
				t.Error(err)
			}
			released.Add(int64(k))
		})
	}
	close(start)
	wg.Wait()
	if released.Load() != n || w.net(bob.acct) != want {
		t.Fatalf("released %d of %d; bob %d, want %d", released.Load(), n, w.net(bob.acct), want)
	}
	w.verify()
}

func testChat(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob Jones", ledger.Money{})
	chat := func(amount string) transfer.Receipt {
		t.Helper()
		r, err := w.svc.Send(w.ctx, transfer.Request{Key: unique("chat"), Payer: alice.id, From: alice.acct,
			To: transfer.Recipient{Holder: bob.id, Account: bob.acct, Name: bob.name}, Amount: yuan(t, amount), Arrival: transfer.ArriveOnAccept})
		must(t, err)
		if r.State != transfer.StatePending || r.PayeeName != "B** J****" || !r.DueAt.Equal(ledger.Timestamp(w.clock.Now().Add(24*time.Hour))) {
			t.Fatalf("chat receipt %+v", r)
		}
		return r
	}
	// Accepted: the money is bob's.
	r := chat("10")
	if b := w.balance(alice.acct); b.Available() != 90_00 || w.net(bob.acct) != 0 {
		t.Fatalf("held: alice %+v bob %d", b, w.net(bob.acct))
	}
	_, err := w.svc.Accept(w.ctx, alice.id, r.ID)
	want(t, err, transfer.ErrRecordNotFound) // only the payee accepts
	a, err := w.svc.Accept(w.ctx, bob.id, r.ID)
	if err != nil || a.State != transfer.StateSettled {
		t.Fatalf("accept: %v %+v", err, a)
	}
	if again, err := w.svc.Accept(w.ctx, bob.id, r.ID); err != nil || again != a {
		t.Fatalf("accept again: %v", err)
	}
	_, err = w.svc.Decline(w.ctx, bob.id, r.ID)
	want(t, err, transfer.ErrAlreadySettled)
	// Declined: back to alice.
	r = chat("20")
	d, err := w.svc.Decline(w.ctx, bob.id, r.ID)
	if err != nil || d.State != transfer.StateCancelled || d.Reason != transfer.ReasonDeclined {
		t.Fatalf("decline: %v %+v", err, d)
	}
	_, err = w.svc.Accept(w.ctx, bob.id, r.ID)
	want(t, err, transfer.ErrAlreadyCancelled)
	if w.net(alice.acct) != 90_00 || w.net(bob.acct) != 10_00 || w.balance(alice.acct).DebitsPending != 0 {
		t.Fatalf("after decline: alice %+v bob %d", w.balance(alice.acct), w.net(bob.acct))
	}
	// A chat transfer to a number, by token.
	tr, err := w.send(alice, bob, yuan(t, "5"), transfer.ArriveOnAccept)
	must(t, err)
	_, err = w.svc.Accept(w.ctx, bob.id, tr.ID)
	must(t, err)
	// Accept and Decline are for chat transfers; To is for chat transfers.
	dl, err := w.send(alice, bob, yuan(t, "1"), transfer.Arrive2h)
	must(t, err)
	_, err = w.svc.Accept(w.ctx, bob.id, dl.ID)
	want(t, err, transfer.ErrNotChat)
	_, err = w.svc.Send(w.ctx, transfer.Request{Key: unique("k"), Payer: alice.id, From: alice.acct,
		To: transfer.Recipient{Holder: bob.id, Account: bob.acct}, Amount: yuan(t, "1")})
	want(t, err, transfer.ErrInvalidRequest)
	w.verify()
}

func testChatExpiry(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	send := func() transfer.Receipt {
		r, err := w.send(alice, bob, yuan(t, "10"), transfer.ArriveOnAccept)
		must(t, err)
		return r
	}
	// Not accepted in 24 hours: Accept is too late and the money goes back.
	r := send()
	w.clock.Advance(24 * time.Hour)
	_, err := w.svc.Accept(w.ctx, bob.id, r.ID)
	want(t, err, transfer.ErrChatExpired)
	if got, _ := w.svc.Get(w.ctx, bob.id, r.ID); got.State != transfer.StateCancelled || got.Reason != transfer.ReasonExpired {
		t.Fatalf("after a late accept: %+v", got)
	}
	// The sweep returns the unanswered ones, once.
	r = send()
	if n, _ := w.svc.ExpireChats(w.ctx, r.DueAt.Add(-time.Microsecond)); n != 0 {
		t.Fatal("expired early")
	}
	if n, err := w.svc.ExpireChats(w.ctx, r.DueAt); n != 1 || err != nil {
		t.Fatalf("ExpireChats: %d %v", n, err)
	}
	if n, _ := w.svc.ExpireChats(w.ctx, r.DueAt.Add(time.Hour)); n != 0 {
		t.Fatal("expired twice")
	}
	_, err = w.svc.Decline(w.ctx, bob.id, r.ID)
	want(t, err, transfer.ErrChatExpired)
	// Even with no sweep of ours, the ledger's own expiry returns the
	// money (the hold has a timeout), and the sweep then records it.
	r = send()
	w.clock.Advance(25 * time.Hour)
	if _, err := w.l.ExpirePending(w.ctx, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if b := w.balance(alice.acct); b.DebitsPending != 0 || b.Net() != 100_00 {
		t.Fatalf("after the ledger's expiry: %+v", b)
	}
	if n, err := w.svc.ExpireChats(w.ctx, w.clock.Now()); n != 0 || err != nil {
		t.Fatalf("ExpireChats after the ledger's expiry: %d %v (the ledger voided it)", n, err)
	}
	if got, _ := w.svc.Get(w.ctx, alice.id, r.ID); got.State != transfer.StateCancelled || got.Reason != transfer.ReasonExpired {
		t.Fatalf("record after the ledger's expiry: %+v", got)
	}
	if w.net(bob.acct) != 0 {
		t.Fatalf("bob got %d", w.net(bob.acct))
	}
	w.verify()
}

// Accept, Decline and the expiry sweep race on many chat transfers:
// exactly one wins each, and each loser learns who won.
func testChatRace(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "100000")), w.user("Bob", ledger.Money{})
	const n = 18
	var bobWants int64
	for round := range races {
		var recs []transfer.Receipt
		for i := range n {
			r, err := w.svc.Send(w.ctx, transfer.Request{Key: unique("chat"), Payer: alice.id, From: alice.acct,
				To: transfer.Recipient{Holder: bob.id, Account: bob.acct}, Amount: fen(int64(100 + i)), Arrival: transfer.ArriveOnAccept})
			must(t, err)
			recs = append(recs, r)
		}
		// The payee's clock is before the deadline; the sweep is told it
		// has passed: all three can win.
		due := recs[n-1].DueAt
		var accepted, declined [n]bool
		var expired atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range recs {
			wg.Go(func() {
				<-start
				_, err := w.svc.Accept(w.ctx, bob.id, recs[i].ID)
				switch {
				case err == nil:
					accepted[i] = true
				case !errors.Is(err, transfer.ErrAlreadyCancelled) && !errors.Is(err, transfer.ErrChatExpired):
					t.Error("accept:", err)
				}
			})
			wg.Go(func() {
				<-start
				_, err := w.svc.Decline(w.ctx, bob.id, recs[i].ID)
				switch {
				case err == nil:
					declined[i] = true
				case !errors.Is(err, transfer.ErrAlreadySettled) && !errors.Is(err, transfer.ErrChatExpired):
					t.Error("decline:", err)
				}
			})
		}
		for range 2 {
			wg.Go(func() {
				<-start
				k, err := w.svc.ExpireChats(w.ctx, due)
				if err != nil {
					t.Error(err)
				}
				expired.Add(int64(k))
			})
		}
		close(start)
		wg.Wait()
		nExpired := int64(0)
		for i, r := range recs {
			rec := w.record(r.ID)
			wins := 0
			for _, b := range []bool{accepted[i], declined[i], rec.Reason == transfer.ReasonExpired} {
				if b {
					wins++
				}
			}
			ok := wins == 1 &&
				accepted[i] == (rec.State == transfer.StateSettled) &&
				declined[i] == (rec.Reason == transfer.ReasonDeclined)
			if !ok {
				t.Fatalf("round %d transfer %d: accepted %v declined %v, record %v %q", round, i, accepted[i], declined[i], rec.State, rec.Reason)
			}
			if rec.Reason == transfer.ReasonExpired {
				nExpired++
			}
			if accepted[i] {
				bobWants += r.Amount.Units()
			}
		}
		if expired.Load() != nExpired {
			t.Fatalf("round %d: sweeps counted %d, %d expired", round, expired.Load(), nExpired)
		}
		if w.net(bob.acct) != bobWants || w.balance(alice.acct).DebitsPending != 0 {
			t.Fatalf("round %d: bob %d, want %d; alice %+v", round, w.net(bob.acct), bobWants, w.balance(alice.acct))
		}
		w.verify()
	}
}

// A delayed transfer whose arrival time has passed while the release
// sweep lags: Cancel refuses with ErrArrived and leaves the hold, the
// sweep lands it, and Cancel still refuses (ErrArrived, ErrAlreadySettled).
// At the arrival instant itself it has arrived too.
func testCancelAfterArrival(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	for _, late := range []time.Duration{0, time.Microsecond, 3 * time.Hour} {
		r, err := w.send(alice, bob, yuan(t, "10"), transfer.Arrive2h)
		must(t, err)
		w.clock.Set(r.DueAt.Add(late))
		got, err := w.svc.Cancel(w.ctx, alice.id, r.ID)
		want(t, err, transfer.ErrArrived)
		if errors.Is(err, transfer.ErrAlreadySettled) || got.State != transfer.StatePending || w.state(r.ID) != transfer.StatePending {
			t.Fatalf("late %v: cancel answered %v with %+v; record %v", late, err, got, w.state(r.ID))
		}
		if b := w.balance(alice.acct); b.DebitsPending != 10_00 {
			t.Fatalf("late %v: the hold moved: %+v", late, b)
		}
		if n, err := w.svc.ReleaseDue(w.ctx, w.clock.Now()); n != 1 || err != nil {
			t.Fatalf("late %v: released %d, %v", late, n, err)
		}
		_, err = w.svc.Cancel(w.ctx, alice.id, r.ID)
		want(t, err, transfer.ErrArrived)
		want(t, err, transfer.ErrAlreadySettled)
	}
	if w.net(bob.acct) != 30_00 {
		t.Fatalf("bob has %d", w.net(bob.acct))
	}
	// A microsecond before it lands, it is still the payer's to cancel;
	// cancelling it again after its arrival time returns the receipt.
	r, err := w.send(alice, bob, yuan(t, "10"), transfer.Arrive24h)
	must(t, err)
	w.clock.Set(r.DueAt.Add(-time.Microsecond))
	c, err := w.svc.Cancel(w.ctx, alice.id, r.ID)
	if err != nil || c.State != transfer.StateCancelled {
		t.Fatalf("cancel just in time: %v %+v", err, c)
	}
	w.clock.Set(r.DueAt.Add(time.Hour))
	if again, err := w.svc.Cancel(w.ctx, alice.id, r.ID); err != nil || again != c {
		t.Fatalf("cancel again after the arrival time: %v %+v", err, again)
	}
	w.checkSound()
}

// Idempotency keys that are not storable text (a NUL, which once made a
// record's derived ID another's post or undo ID; a control character;
// invalid UTF-8; too long) are refused by Send before any lookup, and by
// Create, on every store.
func testIdempotencyKeyText(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	bad := []string{"k\x00post", "k\x00undo", "\x00", "k\r\n", "k\x7f", "k\xc0\x80", "k\xff", strings.Repeat("k", ledger.MaxKeyLen+1)}
	for _, key := range bad {
		for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h} {
			req := w.request(alice, bob, yuan(t, "1"), arrival)
			req.Key = key
			_, err := w.svc.Send(w.ctx, req)
			want(t, err, transfer.ErrInvalidRequest)
			want(t, err, ledger.ErrInvalidKey)
			req.Token, req.Phone = "", bob.phone
			_, err = w.svc.Send(w.ctx, req)
			want(t, err, transfer.ErrInvalidRequest)
			want(t, err, ledger.ErrInvalidKey)
		}
		r := NewRecord(alice.id, bob.id, yuan(t, "1"), transfer.ArriveNow)
		r.Key = key
		_, _, err := w.env.Store.Create(w.ctx, r, testLimits())
		want(t, err, transfer.ErrInvalidRecord)
		want(t, err, ledger.ErrInvalidKey)
	}
	// The records the NUL keys would have collided with are untouched
	// and work: "k" settles and its delayed twin lands.
	for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h} {
		req := w.request(alice, bob, yuan(t, "1"), arrival)
		req.Key = "k" + arrival.String()
		if _, err := w.svc.Send(w.ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if tot, _ := w.env.Store.DailyTotal(w.ctx, alice.id, w.svc.Day(w.clock.Now()), cny); tot.Units() != 2_00 {
		t.Fatalf("refused keys counted: daily total %v", tot)
	}
	w.checkSound()
}
