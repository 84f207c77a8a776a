package redpacket_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

func TestRefundExpired(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		w := newWorld(t, inMode(m))
		sender := w.newUser(10000)
		ms := w.users(5, 0)
		p := w.send(w.lucky(sender, 1000, 5))
		a, b := w.mustClaim(p.ID, ms[0]), w.mustClaim(p.ID, ms[1])
		remainder := 1000 - a.Amount.Units() - b.Amount.Units()

		// Not yet expired: nothing to do.
		w.clock.Advance(24*time.Hour - time.Microsecond)
		if n, err := w.svc.RefundExpired(w.ctx, w.clock.Now()); n != 0 || err != nil {
			t.Fatalf("RefundExpired before expiry: %d, %v", n, err)
		}
		w.mustClaim(p.ID, ms[2]) // the last instant a claim is taken
		remainder -= p.Shares[2]
		w.clock.Advance(time.Microsecond)
		_, err := w.claim(p.ID, ms[3])
		wantIs(t, "claim at expiry", err, redpacket.ErrExpired)

		n, err := w.svc.RefundExpired(w.ctx, w.clock.Now())
		if n != 1 || err != nil {
			t.Fatalf("RefundExpired: %d, %v; want 1", n, err)
		}
		if got := w.balance(sender.wallet); got != 9000+remainder {
			t.Fatalf("sender has %d, want %d", got, 9000+remainder)
		}
		// Again, later: nothing more.
		w.clock.Advance(time.Hour)
		if n, err := w.svc.RefundExpired(w.ctx, w.clock.Now()); n != 0 || err != nil {
			t.Fatalf("second RefundExpired: %d, %v", n, err)
		}
		_, err = w.claim(p.ID, ms[4])
		wantIs(t, "claim after the refund", err, redpacket.ErrRefunded)
		// Claimers still get their claims back.
		if c := w.mustClaim(p.ID, ms[0]); c != a {
			t.Fatalf("claimer's second grab %+v, want %+v", c, a)
		}
		v, err := w.svc.View(w.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Refund != fen(remainder) || v.Packet.Status != redpacket.StatusRefunded || v.BestLuck != -1 || len(v.Claims) != 3 {
			t.Fatalf("view: %+v", v)
		}
		w.checkFinished(p.ID)
		if got := w.balance(sender.wallet); got != 9000+remainder {
			t.Fatalf("sender has %d after the second sweep", got)
		}
	})
}

// TestRefundSweepersAtOnce: four processes sweep the same expired packets
// at the same time, twice each; every packet is refunded exactly once.
func TestRefundSweepersAtOnce(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		w := newWorld(t, inMode(m))
		sender := w.newUser(1000000)
		ms := w.users(4, 0)
		const packets = 60
		ids := make([]uuid.UUID, packets)
		var claimed int64
		for i := range ids {
			p := w.send(w.lucky(sender, 400, 4))
			ids[i] = p.ID
			for _, m := range ms[:i%4] { // 0 to 3 claims: every packet has a remainder
				claimed += w.mustClaim(p.ID, m).Amount.Units()
			}
		}
		w.clock.Advance(25 * time.Hour)
		var wg sync.WaitGroup
		for range 4 {
			s := newService(t, w)
			wg.Go(func() {
				for range 2 {
					if _, err := s.RefundExpired(w.ctx, w.clock.Now()); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if got, want := w.balance(sender.wallet), 1000000-claimed; got != want {
			t.Fatalf("sender has %d, want %d: refunded more or less than the remainders", got, want)
		}
		for _, id := range ids {
			w.checkFinished(id)
		}
	})
}

// TestRefundRacingLastClaims: the last claims and two refund sweeps race
// at the moment of expiry. Each claim is either recorded before the packet
// closes (and paid, even if its payment lands after the refund) or
// refused; the refund is what the claims left; no money is created or
// lost.
func TestRefundRacingLastClaims(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		w := newWorld(t, inMode(m))
		const rounds, count = 20, 50
		sender := w.newUser(rounds * 10000)
		ms := w.users(count, 0)
		paid := map[uuid.UUID]int64{}
		for round := range rounds {
			p := w.send(w.lucky(sender, 10000, count))
			w.clock.Advance(24*time.Hour - time.Millisecond) // claims still see the packet open
			expiry := p.ExpiresAt
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, m := range ms[round%2:] { // some rounds sell out, some do not
				wg.Go(func() {
					<-start
					c, err := w.claim(p.ID, m)
					switch {
					case err == nil:
						mu.Lock()
						paid[m.wallet] += c.Amount.Units()
						mu.Unlock()
					case errors.Is(err, redpacket.ErrRefunded), errors.Is(err, redpacket.ErrSoldOut):
					default:
						t.Errorf("claim: %v", err)
					}
				})
			}
			for range 2 {
				s := newService(t, w)
				wg.Go(func() {
					<-start
					if _, err := s.RefundExpired(w.ctx, expiry); err != nil {
						t.Error(err)
					}
				})
			}
			close(start)
			wg.Wait()
			w.clock.Advance(time.Hour)
			if _, err := w.svc.RefundExpired(w.ctx, w.clock.Now()); err != nil {
				t.Fatal(err)
			}
			w.checkFinished(p.ID)
		}
		var total int64
		for _, m := range ms {
			if got := w.balance(m.wallet); got != paid[m.wallet] {
				t.Fatalf("member has %d, was told %d", got, paid[m.wallet])
			}
			total += paid[m.wallet]
		}
		if got := w.balance(sender.wallet); got != rounds*10000-total {
			t.Fatalf("sender has %d, want %d", got, rounds*10000-total)
		}
	})
}

// TestClaimPaidAfterRefund: a claim recorded just before expiry whose
// payment fails is left out of the refund (which is computed from the
// store when the packet closes); Reconcile pays it after the refund, and
// only then is the escrow empty and closed.
func TestClaimPaidAfterRefund(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		fl := &faultyLedger{Store: ledger.NewMemoryStore(), f: newFault()}
		w := newWorld(t, inMode(m), withStores(fl, nil))
		sender := w.newUser(10000)
		ms := w.users(4, 0)
		p := w.send(w.lucky(sender, 1000, 4))
		a := w.mustClaim(p.ID, ms[0])
		late := w.svc.ClaimTransferID(p.ID, ms[1].id)
		fl.failTransfer = func(t *ledger.Transfer) bool { return t.ID == late }
		w.clock.Advance(24*time.Hour - time.Second)
		b, err := w.claim(p.ID, ms[1])
		if !errors.Is(err, redpacket.ErrPaymentPending) || !errors.Is(err, errCrash) || b.Amount.IsZero() || b.Posted {
			t.Fatalf("claim with a failing payment: %+v, %v; want the claim and ErrPaymentPending", b, err)
		}
		w.clock.Advance(time.Second)
		if n, err := w.svc.RefundExpired(w.ctx, w.clock.Now()); n != 1 || err != nil {
			t.Fatalf("RefundExpired: %d, %v", n, err)
		}
		refund := 1000 - a.Amount.Units() - b.Amount.Units()
		if got := w.balance(sender.wallet); got != 9000+refund {
			t.Fatalf("sender has %d, want %d: the refund must leave out the recorded claim", got, 9000+refund)
		}
		esc := w.account(p.Escrow)
		if esc.Balance.Net() != b.Amount.Units() || esc.Status != ledger.AccountOpen {
			t.Fatalf("escrow holds %d (%v), want the unpaid claim's %v and open", esc.Balance.Net(), esc.Status, b.Amount)
		}
		if st := w.packet(p.ID).State; st.Settled || st.Status != redpacket.StatusRefunded {
			t.Fatalf("state %+v, want refunded, not settled", st)
		}
		// The ledger recovers; Reconcile pays the claim and settles.
		fl.failTransfer = nil
		rep, err := w.svc.Reconcile(w.ctx, w.clock.Now().Add(time.Hour))
		if err != nil || rep.Paid != 1 {
			t.Fatalf("Reconcile: %+v, %v; want 1 paid", rep, err)
		}
		if got := w.balance(ms[1].wallet); got != b.Amount.Units() {
			t.Fatalf("late claimer has %d, claimed %v", got, b.Amount)
		}
		w.checkFinished(p.ID)
		if rep, err := w.svc.Reconcile(w.ctx, w.clock.Now().Add(time.Hour)); err != nil || rep != (redpacket.ReconcileReport{}) {
			t.Fatalf("Reconcile again: %+v, %v; want nothing to do", rep, err)
		}
	})
}

// TestClaimRetryPays: a claim whose payment failed is paid by the claim's
// retry, once.
func TestClaimRetryPays(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		fl := &faultyLedger{Store: ledger.NewMemoryStore(), f: newFault()}
		w := newWorld(t, inMode(m), withStores(fl, nil))
		sender := w.newUser(10000)
		ms := w.users(2, 0)
		p := w.send(w.lucky(sender, 1000, 2))
		fl.failTransfer = func(*ledger.Transfer) bool { return true }
		first, err := w.claim(p.ID, ms[0])
		wantIs(t, "claim with a failing ledger", err, redpacket.ErrPaymentPending)
		fl.failTransfer = nil
		for range 3 {
			again := w.mustClaim(p.ID, ms[0])
			first.Posted = true
			if again != first {
				t.Fatalf("retry %+v, want %+v", again, first)
			}
		}
		if got := w.balance(ms[0].wallet); got != first.Amount.Units() {
			t.Fatalf("claimer has %d, want %v once", got, first.Amount)
		}
		w.mustClaim(p.ID, ms[1])
		w.checkFinished(p.ID)
	})
}
