package transfertest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

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
