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
