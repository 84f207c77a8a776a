package redpacket_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// TestShareReturned: a claim recorded but not yet paid when the claimer's
// wallet closes can never be paid (a closed account stays closed), so its
// share goes back to the sender, once, whether the claim itself, its retry
// or Reconcile finds out; the packet still settles with its escrow at zero.
// On a MemoryStore, where the claim is recorded and paid in one step, a
// wallet that closes before the payment refuses the claim instead, and
// nothing is recorded. On other stores the wallet check comes first, so
// a retry from the closed wallet is refused and leaves the claim to
// Reconcile.
func TestShareReturned(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		fl := &faultyLedger{Store: ledger.NewMemoryStore(), f: newFault()}
		w := newWorld(t, inMode(m), withStores(fl, nil))
		const initial, total = 10000, 1000
		sender := w.newUser(initial)
		ms := w.users(5, 0)
		p := w.send(w.lucky(sender, total, 4))
		closeWallet := func(u user) {
			t.Helper()
			if _, err := w.l.Close(w.ctx, u.wallet); err != nil {
				t.Fatal(err)
			}
		}
		paid := map[uuid.UUID]redpacket.Claim{}     // by user
		returned := map[uuid.UUID]redpacket.Claim{} // by user
		paid[ms[0].id] = w.mustClaim(p.ID, ms[0])

		// ms[1]'s wallet closes at the last moment: after the wallet check
		// and the claim's record, just before the payment.
		lastMoment := w.svc.ClaimTransferID(p.ID, ms[1].id)
		fl.beforeTransfer = func(tr *ledger.Transfer, now time.Time) {
			if tr.ID == lastMoment {
				if _, err := fl.Store.ChangeAccount(w.ctx, ms[1].wallet, ledger.EventClose, now); err != nil {
					t.Error(err)
				}
			}
		}
		c, err := w.claim(p.ID, ms[1])
		fl.beforeTransfer = nil
		if m.other {
			if !errors.Is(err, redpacket.ErrShareReturned) || !errors.Is(err, ledger.ErrAccountClosed) || !c.Posted || c.Amount.IsZero() {
				t.Fatalf("claim whose wallet closed before its payment: %+v, %v; want the claim with ErrShareReturned", c, err)
			}
			returned[ms[1].id] = c
		} else {
			wantIs(t, "claim whose wallet closed before its payment", err, ledger.ErrAccountClosed)
			if errors.Is(err, redpacket.ErrShareReturned) || errors.Is(err, redpacket.ErrPaymentPending) {
				t.Fatalf("claim refused by the ledger: %v, want no claim recorded", err)
			}
			if st := w.packet(p.ID).State; st.Claimed != 1 {
				t.Fatalf("state %+v: a refused claim was recorded", st)
			}
		}

		// ms[2] and ms[3]: the payment fails (the outcome unknown), then
		// the wallet closes; the retry of the claim, or Reconcile, finds out.
		pending := map[uuid.UUID]bool{w.svc.ClaimTransferID(p.ID, ms[2].id): true, w.svc.ClaimTransferID(p.ID, ms[3].id): true}
		fl.failTransfer = func(tr *ledger.Transfer) bool { return pending[tr.ID] }
		for _, u := range ms[2:4] {
			c, err := w.claim(p.ID, u)
			if !errors.Is(err, redpacket.ErrPaymentPending) || c.Posted {
				t.Fatalf("claim with a failing payment: %+v, %v; want ErrPaymentPending", c, err)
			}
			returned[u.id] = c
			closeWallet(u)
		}
		fl.failTransfer = nil
		c, err = w.claim(p.ID, ms[2])
		switch {
		case m.other:
			wantIs(t, "retried claim of a closed wallet", err, ledger.ErrAccountClosed)
			if errors.Is(err, redpacket.ErrShareReturned) || errors.Is(err, redpacket.ErrPaymentPending) {
				t.Fatalf("retried claim of a closed wallet: %v, want the wallet check's refusal", err)
			}
		case !errors.Is(err, redpacket.ErrShareReturned) || c.Amount != returned[ms[2].id].Amount || !c.Posted:
			t.Fatalf("retried claim of a closed wallet: %+v, %v; want the claim with ErrShareReturned", c, err)
		}
		// Taking the last share.
		c, err = w.claim(p.ID, ms[4])
		if m.other {
			wantIs(t, "a fifth claim of four shares", err, redpacket.ErrSoldOut)
		} else if err != nil {
			t.Fatalf("last share: %v", err)
		} else {
			paid[ms[4].id] = c
		}
		w.flush()
		wantReturned := 1 // ms[3]'s
		if m.other {
			wantReturned = 2 // and ms[2]'s
		}
		rep, err := w.svc.Reconcile(w.ctx, w.clock.Now().Add(time.Hour))
		if err != nil || rep.Returned != wantReturned || rep.Paid != 0 {
			t.Fatalf("Reconcile: %+v, %v; want %d shares returned", rep, err, wantReturned)
		}
		if rep, err := w.svc.Reconcile(w.ctx, w.clock.Now().Add(time.Hour)); err != nil || rep != (redpacket.ReconcileReport{}) {
			t.Fatalf("Reconcile again: %+v, %v; want nothing to do", rep, err)
		}

		// The books: each claim paid to its claimer or returned to the
		// sender, once; the escrow closed at zero.
		st := w.packet(p.ID)
		if st.Status != redpacket.StatusSoldOut || !st.Settled || st.Posted != 4 {
			t.Fatalf("state %+v, want sold out, every claim settled", st.State)
		}
		esc := w.account(p.Escrow)
		if !esc.Balance.IsZero() || esc.Status != ledger.AccountClosed {
			t.Fatalf("escrow %+v (%v), want zero and closed", esc.Balance, esc.Status)
		}
		var back int64
		for u, c := range returned {
			tr, err := w.l.LookupTransfer(w.ctx, w.svc.ReturnTransferID(p.ID, u))
			if err != nil || tr.Amount != c.Amount || tr.DebitAccountID != p.Escrow || tr.CreditAccountID != sender.wallet {
				t.Fatalf("return of %+v: %+v, %v", c, tr, err)
			}
			if _, err := w.l.LookupTransfer(w.ctx, w.svc.ClaimTransferID(p.ID, u)); !errors.Is(err, ledger.ErrTransferNotFound) {
				t.Fatalf("a returned claim's payment: %v, want none", err)
			}
			if got := w.balance(c.Account); got != 0 {
				t.Fatalf("closed wallet holds %d", got)
			}
			back += c.Amount.Units()
		}
		for u, c := range paid {
			tr, err := w.l.LookupTransfer(w.ctx, w.svc.ClaimTransferID(p.ID, u))
			if err != nil || tr.Amount != c.Amount || w.balance(c.Account) != c.Amount.Units() {
				t.Fatalf("paid claim %+v: %+v, %v", c, tr, err)
			}
		}
		if got := w.balance(sender.wallet); got != initial-total+back {
			t.Fatalf("sender has %d, want %d (the returned shares back)", got, initial-total+back)
		}
		w.verify()
	})
}

// TestShareReturnRefused: when the sender's wallet has closed too, the
// share can go nowhere: the claim stays unpaid (ErrPaymentPending), the
// packet unsettled, and Reconcile reports it every time.
func TestShareReturnRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		fl := &faultyLedger{Store: ledger.NewMemoryStore(), f: newFault()}
		w := newWorld(t, inMode(m), withStores(fl, nil))
		sender := w.newUser(300)
		ms := w.users(2, 0)
		p := w.send(w.lucky(sender, 300, 1))
		fl.failTransfer = func(*ledger.Transfer) bool { return true }
		if _, err := w.claim(p.ID, ms[0]); !errors.Is(err, redpacket.ErrPaymentPending) {
			t.Fatalf("claim with a failing payment: %v", err)
		}
		fl.failTransfer = nil
		for _, u := range []uuid.UUID{sender.wallet, ms[0].wallet} {
			if _, err := w.l.Close(w.ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		c, err := w.claim(p.ID, ms[0])
		switch {
		case m.other:
			wantIs(t, "claim from a closed wallet", err, ledger.ErrAccountClosed) // the wallet check
		case !errors.Is(err, redpacket.ErrPaymentPending) || !errors.Is(err, ledger.ErrAccountClosed) || c.Posted:
			t.Fatalf("claim with both wallets closed: %+v, %v; want ErrPaymentPending", c, err)
		}
		for range 2 {
			if _, err := w.svc.Reconcile(w.ctx, w.clock.Now().Add(time.Hour)); !errors.Is(err, ledger.ErrAccountClosed) {
				t.Fatalf("Reconcile: %v, want the closed wallets reported", err)
			}
		}
		if st := w.packet(p.ID).State; st.Settled || st.Posted != 0 {
			t.Fatalf("state %+v, want the claim unpaid and the packet unsettled", st)
		}
		if esc := w.account(p.Escrow); esc.Balance.Net() != 300 {
			t.Fatalf("escrow holds %d, want the share", esc.Balance.Net())
		}
		w.verify()
	})
}
