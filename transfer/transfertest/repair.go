package transfertest

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

// Two Sends of one request race around a top-up (issue 10): the first is
// refused, the second gets through the ledger and crashes before marking,
// and the payee account is frozen so that undoing the payment fails. The
// record must never say failed while the ledger shows the payment, the
// payer's daily total keeps counting it, and Reconcile, once the payee
// account is unfrozen, undoes the payment and only then fails the record
// for good and releases the total.
func testDurableCompensation(t *testing.T, newEnv func(testing.TB) Env) {
	for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h} {
		fs := &flakyStore{}
		w := newWorld(t, newEnv, withFlakyStore(fs))
		poor, bob := w.user("Poor", ledger.Money{}), w.user("Bob", ledger.Money{})
		req := w.request(poor, bob, yuan(t, "10"), arrival)
		target := w.svc.RecordID(poor.id, req.IdempotencyKey)
		var once atomic.Bool
		fs.before = func(id uuid.UUID, to transfer.State) {
			if id != target || to == transfer.StateSettled || !once.CompareAndSwap(false, true) {
				return
			}
			// Money arrives; a retry gets through the ledger, then crashes
			// before marking; then the payee's account is frozen.
			_, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: poor.acct, Amount: yuan(t, "10")})
			must(t, err)
			if arrival == transfer.ArriveNow {
				fs.fail.Store(1)
				if _, err := w.svc.Send(w.ctx, req); !errors.Is(err, errInjected) {
					t.Errorf("%v: the retry: %v, want the injected crash", arrival, err)
				}
			} else {
				// The hold lands (nothing to mark), and is released by
				// hand at once.
				if r, err := w.svc.Send(w.ctx, req); err != nil || r.State != transfer.StatePending {
					t.Errorf("%v: the retry: %v %v, want the hold placed", arrival, err, r.State)
				}
				_, err = w.l.Post(w.ctx, uuid.New(), target, ledger.Money{})
				must(t, err)
			}
			_, err = w.l.Freeze(w.ctx, bob.acct)
			must(t, err)
		}
		r, err := w.svc.Send(w.ctx, req)
		if !errors.Is(err, ledger.ErrInsufficientFunds) || r.State != transfer.StateFailed {
			t.Fatalf("%v: send: %v %+v, want the refusal", arrival, err, r)
		}
		if !once.Load() || w.net(bob.acct) != 10_00 {
			t.Fatalf("%v: the scenario did not happen: bob %d", arrival, w.net(bob.acct))
		}
		// The payment stands and cannot be undone yet: the record must not
		// claim a final failure, and the daily total still counts it.
		if got := w.record(target); got.State == transfer.StateFailed {
			t.Fatalf("%v: record %v (%s) while the ledger shows the payment", arrival, got.State, got.Reason)
		}
		if tot, _ := w.env.Store.DailyTotal(w.ctx, poor.id, w.svc.Day(Start), cny); tot != yuan(t, "10") {
			t.Fatalf("%v: daily total %v while the payment stands, want 10.00", arrival, tot)
		}
		// Reconcile cannot undo it while the payee is frozen, and says so.
		if rep, err := w.svc.Reconcile(w.ctx, w.clock.Now()); err == nil || rep.Failing != 1 || rep.Failed != 0 {
			t.Fatalf("%v: Reconcile with the payee frozen: %+v, %v; want an error and 1 failing", arrival, rep, err)
		}
		// Unfinished, not wrong: Check agrees.
		if rep, err := w.svc.Check(w.ctx, time.Time{}, w.clock.Now()); err != nil || rep.Unfinished != 1 {
			t.Fatalf("%v: Check while failing: %+v, %v", arrival, rep, err)
		}
		if got := w.record(target); got.State == transfer.StateFailed {
			t.Fatalf("%v: after a failed Reconcile: record failed while the ledger shows the payment", arrival)
		}
		_, err = w.l.Unfreeze(w.ctx, bob.acct)
		must(t, err)
		w.clock.Advance(time.Minute)
		if rep, err := w.svc.Reconcile(w.ctx, w.clock.Now()); err != nil || rep != (transfer.ReconcileReport{Visited: 1, Failed: 1, Undone: 1}) {
			t.Fatalf("%v: Reconcile: %+v, %v", arrival, rep, err)
		}
		if got := w.record(target); got.State != transfer.StateFailed || got.Reason != "insufficient_funds" {
			t.Fatalf("%v: after Reconcile: %v %q, want failed", arrival, got.State, got.Reason)
		}
		if b := w.balance(poor.acct); b.Net() != 10_00 || b.DebitsPending != 0 || w.net(bob.acct) != 0 {
			t.Fatalf("%v: not undone: poor %+v bob %d", arrival, b, w.net(bob.acct))
		}
		if tot, _ := w.env.Store.DailyTotal(w.ctx, poor.id, w.svc.Day(Start), cny); !tot.IsZero() {
			t.Fatalf("%v: daily total %v once undone, want 0", arrival, tot)
		}
		if rep, err := w.svc.Check(w.ctx, time.Time{}, w.clock.Now()); err != nil || rep.Unfinished != 0 || rep.Records != 1 {
			t.Fatalf("%v: Check: %+v, %v", arrival, rep, err)
		}
		again, err := w.svc.Send(w.ctx, req)
		if !errors.Is(err, ledger.ErrInsufficientFunds) || again != r {
			t.Fatalf("%v: retry %v\n%+v\nwant\n%+v", arrival, err, again, r)
		}
		w.verify()
	}
}

// Check holds every record to the ledger: a sound history passes, and a
// ledger or a record edited to disagree is reported, naming the record.
func testCheck(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	_, err := w.send(alice, bob, yuan(t, "10"), transfer.ArriveNow)
	must(t, err)
	req := w.request(alice, bob, yuan(t, "1000"), transfer.ArriveNow)
	_, err = w.svc.Send(w.ctx, req)
	want(t, err, ledger.ErrInsufficientFunds)
	failed := w.svc.RecordID(alice.id, req.IdempotencyKey)
	_, err = w.send(alice, bob, yuan(t, "5"), transfer.Arrive2h)
	must(t, err)
	cancelled, err := w.send(alice, bob, yuan(t, "6"), transfer.Arrive24h)
	must(t, err)
	_, err = w.svc.Cancel(w.ctx, alice.id, cancelled.ID)
	must(t, err)
	check := func() (transfer.CheckReport, error) {
		t.Helper()
		return w.svc.Check(w.ctx, time.Time{}, w.clock.Now())
	}
	if rep, err := check(); err != nil || rep != (transfer.CheckReport{Records: 4, Unfinished: 1}) {
		t.Fatalf("Check of a sound history: %+v, %v", rep, err)
	}
	// The window bounds what is read.
	if rep, err := w.svc.Check(w.ctx, time.Time{}, Start.Add(-time.Second)); err != nil || rep.Records != 0 {
		t.Fatalf("Check before the first record: %+v, %v", rep, err)
	}
	if rep, err := w.svc.Check(w.ctx, Start, w.clock.Now()); err != nil || rep.Records != 0 {
		t.Fatalf("Check after the last record: %+v, %v", rep, err)
	}

	// The ledger edited: the refused payment applied by hand.
	_, err = w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: alice.acct, Amount: yuan(t, "1000")})
	must(t, err)
	_, err = w.l.Transfer(w.ctx, ledger.Transfer{ID: failed, DebitAccountID: alice.acct, CreditAccountID: bob.acct, Amount: yuan(t, "1000")})
	must(t, err)
	rep, err := check()
	var ce *transfer.CheckError
	if !errors.As(err, &ce) || ce.ID != failed || ce.State != transfer.StateFailed || rep.Disagree != 1 {
		t.Fatalf("Check after paying a failed transfer: %+v, %v", rep, err)
	}
	want(t, err, transfer.ErrRecordDisagrees)

	// A record edited: one that says settled, with nothing on the ledger.
	forged := NewRecord(alice.id, bob.id, yuan(t, "3"), transfer.ArriveNow)
	forged.From, forged.Payee.Account = alice.acct, bob.acct
	forged.CreatedAt, forged.DueAt = w.clock.Now(), w.clock.Now()
	forged.Day = w.svc.Day(forged.CreatedAt)
	_, _, err = w.env.Store.Create(w.ctx, forged, w.svc.Limits())
	must(t, err)
	_, err = w.env.Store.Transition(w.ctx, forged.ID, transfer.StateSettled, "", w.clock.Now())
	must(t, err)
	rep, err = check()
	if rep.Disagree != 2 || !strings.Contains(fmt.Sprint(err), forged.ID.String()) || !strings.Contains(fmt.Sprint(err), failed.String()) {
		t.Fatalf("Check after forging a settled record: %+v, %v", rep, err)
	}
	want(t, err, transfer.ErrRecordDisagrees)
}
