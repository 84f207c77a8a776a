package redpacket

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/socialpay/socialpay/ledger"
)

// ReconcileReport says what Reconcile finished and what it repaired.
type ReconcileReport struct {
	Funded    int `json:"funded"`    // funding packets whose money had reached escrow: opened
	Cancelled int `json:"cancelled"` // funding packets whose money never came: cancelled
	Paid      int `json:"paid"`      // recorded claims paid
	Returned  int `json:"returned"`  // recorded claims whose wallet had closed: shares returned to the sender (see Claim)
	Refunded  int `json:"refunded"`  // refunds finished
	Settled   int `json:"settled"`   // escrow accounts closed by a refund or a settling step of Reconcile

	// Repairs of records that disagreed with the ledger (see Check).

	Marked         int `json:"marked"`          // claims paid on the ledger, recorded unpaid: recorded paid (ProblemPaymentUnrecorded)
	Repaid         int `json:"repaid"`          // claims recorded paid, not paid on the ledger: paid (ProblemClaimUnpaid)
	RefundMoved    int `json:"refund_moved"`    // refunds recorded, not on the ledger: moved (ProblemRefundNotMoved)
	RefundRecorded int `json:"refund_recorded"` // refunds on the ledger of packets recorded open: recorded (ProblemRefundUnrecorded)
	// Unrepaired counts the disagreements Reconcile found and could not
	// repair: a transfer on an escrow account no record explains, amounts
	// that differ, records that disagree among themselves. They need a
	// person; Reconcile's error holds each as a *Problem (ErrCheck).
	Unrepaired int `json:"unrepaired"`
}

// Reconcile finishes what a crash (or a failing store or ledger) left half
// done, for packets that need it (Store.Unsettled), and first audits each
// of them against the ledger (see Check) and repairs what disagrees:
//
//   - a packet still funding, created before now − Config.ReconcileAfter,
//     is opened if its funding transfer is on the ledger and cancelled
//     otherwise (see Send);
//   - a claim recorded before now − ReconcileAfter but not marked paid is
//     marked paid if its payment is on the ledger (Marked), else paid and
//     marked (Paid), or its share returned to the sender if the claimer's
//     wallet has closed (Returned, see Claim);
//   - a claim recorded paid whose payment is not on the ledger is paid
//     (Repaid);
//   - a refund recorded but not on the ledger is moved (RefundMoved); a
//     refund on the ledger of a packet recorded open closes the packet and
//     is recorded (RefundRecorded); a refund begun but not recorded as
//     done is finished (Refunded);
//   - a finished packet with every claim paid has its escrow account
//     closed and is marked settled.
//
// What it cannot repair (ProblemPaidWithoutClaim, ProblemAmount,
// ProblemRecords, ProblemFunding, a refund of a sold-out packet) it
// counts in ReconcileReport.Unrepaired and returns in its error (each a
// *Problem matching ErrCheck), and leaves as it is.
// It visits the packets Store.Unsettled lists and the expired packets
// still open (Store.Expired). Other packets (open with every claim paid,
// settled, cancelled) need nothing: an open packet is audited once it
// sells out or is refunded, before its escrow account closes; Check
// audits them all.
//
// Every step is idempotent, so Reconcile may run at any time, repeatedly
// and from several processes at once. It returns what it did and the
// errors of the packets it could not finish (it goes on past them).
// Maintain runs it.
func (s *Service) Reconcile(ctx context.Context, now time.Time) (rep ReconcileReport, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "reconcile")
	defer func() { sw.End(ctx, err, rep.items()...) }()
	return s.reconcileAll(ctx, now)
}

func (s *Service) reconcileAll(ctx context.Context, now time.Time) (ReconcileReport, error) {
	var rep ReconcileReport
	var errs []error
	cutoff := now.Add(-s.reconcileAfter)
	cur := Cursor{}
	for {
		ps, err := s.store.Unsettled(ctx, cur, sweepPage)
		if err != nil {
			return rep, errors.Join(append(errs, fmt.Errorf("reconcile: %w", err))...)
		}
		for i := range ps {
			if err := s.reconcile(ctx, &ps[i], now, cutoff, &rep); err != nil {
				errs = append(errs, fmt.Errorf("reconcile packet %s: %w", ps[i].ID, err))
			}
		}
		if len(ps) < sweepPage {
			break
		}
		cur = CursorOf(&ps[len(ps)-1])
	}
	// Expired packets still open, which need nothing unless their refund
	// is on the ledger already (a store restored from a backup).
	for cur = (Cursor{}); ; {
		ps, err := s.store.Expired(ctx, now, cur, sweepPage)
		if err != nil {
			return rep, errors.Join(append(errs, fmt.Errorf("reconcile: %w", err))...)
		}
		for i := range ps {
			if ps[i].Status != StatusOpen || ps[i].NeedsReconcile() {
				continue // visited above
			}
			if err := s.reconcile(ctx, &ps[i], now, cutoff, &rep); err != nil {
				errs = append(errs, fmt.Errorf("reconcile packet %s: %w", ps[i].ID, err))
			}
		}
		if len(ps) < sweepPage {
			return rep, errors.Join(errs...)
		}
		cur = CursorOf(&ps[len(ps)-1])
	}
}

func (s *Service) reconcile(ctx context.Context, listed *Packet, now, cutoff time.Time, rep *ReconcileReport) error {
	if listed.Status == StatusFunding {
		if listed.CreatedAt.After(cutoff) {
			return nil
		}
		st, err := s.resolveFunding(ctx, listed, "")
		if err != nil {
			return err
		}
		if st.Status == StatusCancelled {
			rep.Cancelled++
			return nil
		}
		rep.Funded++
	}
	p, claims, a, err := s.auditPacket(ctx, listed.ID, cutoff)
	if err != nil {
		return err
	}
	var unrepaired []Problem
	for _, pr := range a.problems {
		switch {
		case pr.Kind == ProblemClaimUnpaid, pr.Kind == ProblemPaymentUnrecorded, pr.Kind == ProblemRefundNotMoved:
		case pr.Kind == ProblemRefundUnrecorded && p.Status == StatusOpen:
		default:
			unrepaired = append(unrepaired, pr)
		}
	}
	if len(unrepaired) > 0 {
		// Nothing more is done for this packet: settling it would close an
		// escrow account whose records are wrong.
		rep.Unrepaired += len(unrepaired)
		return problemsErr(unrepaired)
	}
	pid := p.ID.String()
	for i := range claims {
		c := claims[i]
		paid := a.paid[c.User]
		switch {
		case c.Posted && paid, !c.Posted && c.ClaimedAt.After(cutoff):
			continue
		case !c.Posted && paid:
			if err := s.markPaid(ctx, p.ID, p.Escrow, c.User); err != nil {
				return err
			}
			rep.Marked++
			continue
		}
		_, err := s.pay(ctx, &p, pid, c, false)
		switch {
		case errors.Is(err, ErrShareReturned):
			rep.Returned++
		case err != nil:
			return err
		case c.Posted:
			rep.Repaid++
		default:
			rep.Paid++
		}
	}
	switch {
	case p.Status == StatusRefunded && !a.refunded && p.RemainingAmount().IsPositive():
		if err := s.moveRefund(ctx, &p); err != nil {
			return err
		}
		rep.RefundMoved++
	case p.Status == StatusOpen && a.refunded:
		// The ledger says the remainder went back: the packet takes no more
		// claims, whether it has expired or not.
		np, err := s.store.BeginRefund(ctx, p.ID, laterOf(now, p.ExpiresAt))
		if err != nil {
			return err
		}
		if got := np.RemainingAmount().Units(); got != a.refundedAmount {
			pr := Problem{Kind: ProblemAmount, Packet: p.ID, Transfer: s.RefundTransferID(p.ID),
				Detail: fmt.Sprintf("refunded %v, remainder %v once closed", ledger.NewMoney(a.refundedAmount, p.Total.Currency()), np.RemainingAmount())}
			rep.Unrepaired++
			return &pr
		}
		p = np
		rep.RefundRecorded++
	}
	if p.Status == StatusRefunding {
		settled, err := s.finishRefund(ctx, &p)
		if err != nil {
			return err
		}
		rep.Refunded++
		if settled {
			rep.Settled++
		}
		return nil
	}
	// Settle what is complete but unsettled, as of now (payments above may
	// have settled it already).
	st, err := s.storeState(ctx, p.ID)
	if err != nil {
		return err
	}
	if st.Complete() && !st.Settled {
		if err := s.settle(ctx, p.ID, p.Escrow); err != nil {
			return err
		}
		rep.Settled++
	}
	return nil
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
