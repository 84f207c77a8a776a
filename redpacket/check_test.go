package redpacket_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// problems returns the kinds of the problems of packet id.
func problemsOf(ps []redpacket.Problem, id uuid.UUID) []redpacket.ProblemKind {
	var out []redpacket.ProblemKind
	for _, p := range ps {
		if p.Packet == id {
			out = append(out, p.Kind)
		}
	}
	return out
}

func hasProblem(ps []redpacket.Problem, id uuid.UUID, k redpacket.ProblemKind) bool {
	for _, p := range ps {
		if p.Packet == id && p.Kind == k {
			return true
		}
	}
	return false
}

// TestCheckAndReconcileRepair: Check finds every packet and claim record
// that disagrees with the ledger — records edited behind the store's back
// as an insider or a restored backup would, and transfers moved on the
// ledger behind the service's — and Reconcile repairs what it can and
// reports the rest; clean packets raise nothing.
func TestCheckAndReconcileRepair(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		mem := redpacket.NewMemoryStore(nil)
		w := newWorld(t, inMode(m), withStores(nil, mem))
		sender := w.newUser(1000000)
		ms := w.users(4, 0)
		stranger := w.newUser(0)
		edit := func(id uuid.UUID, f func(p *redpacket.Packet, cs *[]redpacket.Claim)) {
			t.Helper()
			if err := redpacket.EditRecord(mem, id, f); err != nil {
				t.Fatal(err)
			}
		}
		send := func(count int, claims int) redpacket.Packet {
			t.Helper()
			p := w.send(w.lucky(sender, int64(count)*100, count))
			for _, u := range ms[:claims] {
				w.mustClaim(p.ID, u)
			}
			w.flush()
			return w.packet(p.ID)
		}

		// Clean: refunded (an hour before the others expire), open, sold out.
		refunded := send(3, 1)
		w.clock.Advance(time.Hour)
		open := send(3, 2)
		soldOut := send(2, 2)

		// A claim recorded paid that the ledger never paid (the packet
		// sells out with it).
		unpaid := send(2, 1)
		edit(unpaid.ID, func(p *redpacket.Packet, cs *[]redpacket.Claim) {
			*cs = append(*cs, redpacket.Claim{PacketID: p.ID, User: ms[3].id, Account: ms[3].wallet, Index: 1,
				Amount: fen(p.Shares[1]), ClaimedAt: p.CreatedAt, Posted: true})
			p.Claimed, p.Posted, p.Status = 2, 2, redpacket.StatusSoldOut
		})
		// A paid claim recorded unpaid.
		unmarked := send(3, 1)
		edit(unmarked.ID, func(p *redpacket.Packet, cs *[]redpacket.Claim) {
			(*cs)[0].Posted = false
			p.Posted = 0
		})
		// Recorded refunded, refund never moved.
		notMoved := send(3, 1)
		edit(notMoved.ID, func(p *redpacket.Packet, _ *[]redpacket.Claim) { p.Status = redpacket.StatusRefunded })
		// The refund moved on the ledger, the packet recorded open.
		unrecorded := send(3, 1)
		if _, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: w.svc.RefundTransferID(unrecorded.ID), DebitAccountID: unrecorded.Escrow,
			CreditAccountID: sender.wallet, Amount: unrecorded.RemainingAmount()}); err != nil {
			t.Fatal(err)
		}
		// Paid from escrow to someone with no claim.
		stray := send(3, 1)
		if _, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: w.svc.ClaimTransferID(stray.ID, stranger.id), DebitAccountID: stray.Escrow,
			CreditAccountID: stranger.wallet, Amount: fen(1)}); err != nil {
			t.Fatal(err)
		}
		// A claim's amount edited.
		edited := send(3, 1)
		edit(edited.ID, func(_ *redpacket.Packet, cs *[]redpacket.Claim) { (*cs)[0].Amount = fen((*cs)[0].Amount.Units() + 1) })

		if n, err := w.svc.RefundExpired(w.ctx, refunded.ExpiresAt); err != nil || n != 1 {
			t.Fatalf("RefundExpired: %d, %v; want the one packet refunded", n, err)
		}
		w.clock.Advance(25 * time.Hour) // everything expired; requests in flight long over

		rep, err := w.svc.Check(w.ctx)
		if !errors.Is(err, redpacket.ErrCheck) {
			t.Fatalf("Check: %v, want ErrCheck", err)
		}
		if rep.Packets != 9 {
			t.Fatalf("Check audited %d packets, want 9", rep.Packets)
		}
		for _, tc := range []struct {
			name string
			p    redpacket.Packet
			want redpacket.ProblemKind
		}{
			{"unpaid", unpaid, redpacket.ProblemClaimUnpaid},
			{"unmarked", unmarked, redpacket.ProblemPaymentUnrecorded},
			{"refund not moved", notMoved, redpacket.ProblemRefundNotMoved},
			{"refund unrecorded", unrecorded, redpacket.ProblemRefundUnrecorded},
			{"paid without claim", stray, redpacket.ProblemPaidWithoutClaim},
			{"amount edited", edited, redpacket.ProblemRecords},
		} {
			if !hasProblem(rep.Problems, tc.p.ID, tc.want) {
				t.Errorf("%s: Check found %v, want %v", tc.name, problemsOf(rep.Problems, tc.p.ID), tc.want)
			}
		}
		// Amounts in a problem's detail are money, as the records say them.
		for _, pr := range rep.Problems {
			if pr.Packet == stray.ID && pr.Kind == redpacket.ProblemPaidWithoutClaim && !strings.HasSuffix(pr.Detail, " 0.01 CNY") {
				t.Errorf("paid without claim: detail %q, want the 0.01 CNY paid", pr.Detail)
			}
		}
		for _, p := range []redpacket.Packet{open, soldOut, refunded} {
			if ks := problemsOf(rep.Problems, p.ID); len(ks) > 0 {
				t.Errorf("clean packet %s: Check found %v", p.ID, ks)
			}
		}
		if t.Failed() {
			t.FailNow()
		}

		rec, err := w.svc.Reconcile(w.ctx, w.clock.Now())
		if !errors.Is(err, redpacket.ErrCheck) || rec.Unrepaired < 2 {
			t.Fatalf("Reconcile: %+v, %v; want the stray payment and the edited amount unrepaired (ErrCheck)", rec, err)
		}
		if rec.Repaid != 1 || rec.Marked != 1 || rec.RefundMoved != 1 || rec.RefundRecorded != 1 {
			t.Fatalf("Reconcile: %+v; want one repair of each kind", rec)
		}
		if w.balance(ms[3].wallet) != unpaid.Shares[1] {
			t.Fatalf("the claim recorded paid was not paid: wallet %d, share %d", w.balance(ms[3].wallet), unpaid.Shares[1])
		}
		w.flush()
		for _, p := range []redpacket.Packet{unpaid, notMoved, unrecorded} {
			w.checkFinished(p.ID)
		}
		if st := w.packet(unmarked.ID).State; st.Posted != 1 {
			t.Fatalf("the paid claim is still recorded unpaid: %+v", st)
		}
		after, err := w.svc.Check(w.ctx)
		if !errors.Is(err, redpacket.ErrCheck) {
			t.Fatalf("Check after Reconcile: %v", err)
		}
		for _, pr := range after.Problems {
			if pr.Packet != stray.ID && pr.Packet != edited.ID {
				t.Fatalf("after Reconcile: %v", &pr)
			}
		}
	})
}

// TestCheckClean: a busy world, claims racing refunds, checks clean.
func TestCheckClean(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		w := newWorld(t, inMode(m))
		sender := w.newUser(1000000)
		ms := w.users(10, 0)
		for i := range 20 {
			p := w.send(w.lucky(sender, 1000, 5))
			for _, u := range ms[:i%7] {
				if _, err := w.claim(p.ID, u); err != nil && !errors.Is(err, redpacket.ErrSoldOut) {
					t.Fatal(err)
				}
			}
		}
		w.flush()
		rep, err := w.svc.Check(w.ctx)
		if err != nil || rep.Packets != 20 || len(rep.Problems) != 0 {
			t.Fatalf("Check: %+v, %v", rep, err)
		}
		w.clock.Advance(25 * time.Hour)
		if _, err := w.svc.RefundExpired(w.ctx, w.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if rep, err := w.svc.Check(w.ctx); err != nil || rep.Packets != 20 {
			t.Fatalf("Check after the refunds: %+v, %v", rep, err)
		}
	})
}
