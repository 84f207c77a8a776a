package redpacket_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// TestCrashAndRetry crashes the red-packet store or the ledger at every
// operation of a packet's life in turn, either before the operation or
// right after it was applied (the reply lost), then restarts the service,
// lets the clients retry, and runs Reconcile and the refund sweep. Whatever
// the crash point: nobody is paid twice, every recorded claim is paid its
// share, the sender pays the total once and gets back exactly the
// unclaimed remainder (or, for a send that never got the money, nothing
// moves), the escrow account ends closed at zero, and the ledger verifies.
//
// It runs in every mode: with paid marks in the background, every mark is
// a step that can crash too; on a bare MemoryStore (which does not crash)
// the ledger does, inside the store's claim step.
func TestCrashAndRetry(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		for _, target := range []string{"store", "ledger"} {
			if target == "store" && !m.other {
				continue // a MemoryStore does not crash
			}
			for _, after := range []bool{false, true} {
				for _, soldOut := range []bool{true, false} {
					name := fmt.Sprintf("%s/applied=%v/soldOut=%v", target, after, soldOut)
					t.Run(name, func(t *testing.T) {
						for n := 0; ; n++ {
							if n > 200 {
								t.Fatal("the scenario never completes")
							}
							if !crashRun(t, m, target, n, after, soldOut) {
								t.Logf("crashed at each of %d operations", n)
								return // ran to the end without reaching operation n
							}
						}
					})
				}
			}
		}
	})
}

// crashRun runs the scenario in mode m with a crash at operation n of
// target and checks the outcome; it reports whether the crash happened.
func crashRun(t *testing.T, m mode, target string, n int, applyThenFail, soldOut bool) bool {
	sf, lf := newFault(), newFault()
	var store redpacket.Store = redpacket.NewMemoryStore(nil)
	if target == "store" {
		store = faultyStore{s: store, f: sf}
	}
	w := newWorld(t, inMode(m), withStores(&faultyLedger{Store: ledger.NewMemoryStore(), f: lf}, store))
	w.cfg.ReconcileAfter = time.Minute
	w.restart()
	const initial, total = 100000, 1000
	sender := w.newUser(initial)
	shares := 3
	claimers := w.users(3, 0)
	w.users(2, 0) // bystanders: the group has six members
	if !soldOut {
		shares = 5 // three claims, two shares left for the refund
	}
	req := w.lucky(sender, total, shares)
	f := sf
	if target == "ledger" {
		f = lf
	}

	// The scenario, crashing at operation n: errors are expected.
	f.crashAt(n, applyThenFail)
	_, _ = w.svc.Send(w.ctx, req)
	for _, c := range claimers {
		_, _ = w.claim(w.packetID(req), c)
		_ = w.svc.Flush(w.ctx) // each background mark in turn, so that the crash points stay in order
	}
	if !soldOut {
		w.clock.Advance(25 * time.Hour)
		_, _ = w.svc.RefundExpired(w.ctx, w.clock.Now())
	}
	crashed := f.crashed()
	f.heal()

	// Restart; the clients retry; the sweeps run.
	w.restart()
	where := fmt.Sprintf("crash at %s op %d (applied %v)", target, n, applyThenFail)
	if _, err := w.svc.Send(w.ctx, req); err != nil && !errors.Is(err, redpacket.ErrPacketCancelled) {
		t.Fatalf("%s: retried send: %v", where, err)
	}
	for _, c := range claimers {
		_, err := w.claim(w.packetID(req), c)
		switch {
		case err == nil, errors.Is(err, redpacket.ErrPacketCancelled):
		case !soldOut && (errors.Is(err, redpacket.ErrExpired) || errors.Is(err, redpacket.ErrRefunded)):
		default:
			t.Fatalf("%s: retried claim: %v", where, err)
		}
	}
	if !soldOut {
		w.clock.Advance(25 * time.Hour) // past the expiry of a packet the retry created
	}
	later := w.clock.Now().Add(time.Hour)
	if _, err := w.svc.Reconcile(w.ctx, later); err != nil {
		t.Fatalf("%s: Reconcile: %v", where, err)
	}
	if _, err := w.svc.RefundExpired(w.ctx, w.clock.Now()); err != nil {
		t.Fatalf("%s: RefundExpired: %v", where, err)
	}
	if _, err := w.svc.Reconcile(w.ctx, later); err != nil {
		t.Fatalf("%s: second Reconcile: %v", where, err)
	}

	p := w.packet(w.packetID(req))
	if p.Status == redpacket.StatusCancelled {
		if got := w.balance(sender.wallet); got != initial {
			t.Fatalf("%s: cancelled packet, sender has %d of %d", where, got, initial)
		}
		for _, c := range claimers {
			if got := w.balance(c.wallet); got != 0 {
				t.Fatalf("%s: cancelled packet, a claimer has %d", where, got)
			}
		}
		if esc, err := w.l.Account(w.ctx, p.Escrow); err == nil && (esc.Status != ledger.AccountClosed || !esc.Balance.IsZero()) {
			t.Fatalf("%s: cancelled packet's escrow %+v", where, esc)
		}
		w.verify()
		return crashed
	}
	w.checkFinished(w.packetID(req))
	if got, want := w.balance(sender.wallet), initial-total+p.Refund().Units(); got != want {
		t.Fatalf("%s: sender has %d, want %d (refund %v)", where, got, want, p.Refund())
	}
	claims, err := w.store.Claims(w.ctx, w.packetID(req))
	if err != nil {
		t.Fatal(err)
	}
	got := map[uuid.UUID]int64{}
	for _, c := range claims {
		got[c.Account] = c.Amount.Units()
	}
	for _, c := range claimers {
		if bal := w.balance(c.wallet); bal != got[c.wallet] {
			t.Fatalf("%s: claimer has %d, claimed %d", where, bal, got[c.wallet])
		}
	}
	if soldOut && p.Status != redpacket.StatusSoldOut {
		t.Fatalf("%s: status %v, want sold out (every claim retried before expiry)", where, p.Status)
	}
	return crashed
}

// TestReconcileFunding: a send that crashed between recording the packet
// and moving the money is cancelled by Reconcile, and the send retried
// after that moves nothing; one that crashed after the money moved is
// opened.
func TestReconcileFunding(t *testing.T) {
	lf := newFault()
	w := newWorld(t, withStores(&faultyLedger{Store: ledger.NewMemoryStore(), f: lf}, nil))
	sender := w.newUser(10000)
	ms := w.users(2, 0)

	// Crash before the ledger sees anything of the send.
	lost := w.lucky(sender, 1000, 2)
	lf.crashAt(0, false)
	if _, err := w.svc.Send(w.ctx, lost); !errors.Is(err, errCrash) {
		t.Fatalf("Send = %v, want the crash", err)
	}
	lf.heal()
	if p := w.packet(w.packetID(lost)); p.Status != redpacket.StatusFunding {
		t.Fatalf("status %v, want funding", p.Status)
	}
	// Too recent: Reconcile leaves it to the client.
	rep, err := w.svc.Reconcile(w.ctx, w.clock.Now())
	if err != nil || rep != (redpacket.ReconcileReport{}) {
		t.Fatalf("early Reconcile: %+v, %v", rep, err)
	}
	rep, err = w.svc.Reconcile(w.ctx, w.clock.Now().Add(time.Hour))
	if err != nil || rep.Cancelled != 1 {
		t.Fatalf("Reconcile: %+v, %v; want 1 cancelled", rep, err)
	}
	if _, err := w.svc.Send(w.ctx, lost); !errors.Is(err, redpacket.ErrPacketCancelled) {
		t.Fatalf("late retry: %v, want ErrPacketCancelled", err)
	}
	// Even a funding transfer submitted late (a request stuck in flight)
	// is refused: the escrow account is closed.
	_, err = w.l.Transfer(w.ctx, ledger.Transfer{ID: w.svc.FundTransferID(w.packetID(lost)), DebitAccountID: sender.wallet, CreditAccountID: w.svc.EscrowAccountID(w.packetID(lost)), Amount: fen(1000)})
	wantIs(t, "late funding transfer", err, ledger.ErrAccountClosed)
	if got := w.balance(sender.wallet); got != 10000 {
		t.Fatalf("sender has %d, want all 10000", got)
	}

	// Crash right after the money moved.
	funded := w.lucky(sender, 2000, 2)
	lf.crashAt(1, true) // 0: create the escrow account, 1: the funding transfer
	if _, err := w.svc.Send(w.ctx, funded); !errors.Is(err, errCrash) {
		t.Fatalf("Send = %v, want the crash", err)
	}
	lf.heal()
	rep, err = w.svc.Reconcile(w.ctx, w.clock.Now().Add(time.Hour))
	if err != nil || rep.Funded != 1 {
		t.Fatalf("Reconcile: %+v, %v; want 1 funded", rep, err)
	}
	w.mustClaim(w.packetID(funded), ms[0])
	w.mustClaim(w.packetID(funded), ms[1])
	w.checkFinished(w.packetID(funded))
	if got := w.balance(sender.wallet); got != 8000 {
		t.Fatalf("sender has %d, want 8000", got)
	}
}
