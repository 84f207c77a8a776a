package transfertest

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

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
