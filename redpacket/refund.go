package redpacket

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// sweepPage is how many packets RefundExpired and Reconcile read at once.
const sweepPage = 256

// RefundExpired refunds every packet that expired at or before now with
// shares left: it closes the packet for claims and fixes the refund in one
// atomic store step (Store.BeginRefund), moves exactly the unclaimed
// remainder from escrow back to the sender (ledger ID RefundTransferID),
// and records it — in one step on a PayingStore (PayingStore.RefundPaid).
// It sweeps the store by cursor. Running it again, or from
// two processes at once, refunds each packet once: the store agrees on one
// refund amount and the ledger applies the refund's ID once. A claim
// recorded before the packet closed keeps its share and is paid even if
// its payment lands after the refund.
//
// It returns how many packets it saw refunded, and the errors of packets
// it could not finish (the sweep goes on past them; run it again).
// Maintain runs it, then Reconcile.
func (s *Service) RefundExpired(ctx context.Context, now time.Time) (n int, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "refund_expired")
	defer func() { sw.End(ctx, err, telemetry.Item{Result: "refunded", N: n}) }()
	return s.refundExpired(ctx, now)
}

func (s *Service) refundExpired(ctx context.Context, now time.Time) (int, error) {
	n := 0
	var errs []error
	cur := Cursor{}
	for {
		ps, err := s.store.Expired(ctx, now, cur, sweepPage)
		if err != nil {
			return n, errors.Join(append(errs, fmt.Errorf("refund expired: %w", err))...)
		}
		for i := range ps {
			refunded, err := s.refund(ctx, ps[i].ID, now)
			if err != nil {
				errs = append(errs, err)
			} else if refunded {
				n++
			}
		}
		if len(ps) < sweepPage {
			return n, errors.Join(errs...)
		}
		cur = CursorOf(&ps[len(ps)-1])
	}
}

// refund refunds one expired packet; it reports false for a packet that
// sold out after it was listed (nothing to refund).
func (s *Service) refund(ctx context.Context, id uuid.UUID, now time.Time) (bool, error) {
	if s.paying != nil {
		return s.refundPaid(ctx, id, now)
	}
	p, err := s.store.BeginRefund(ctx, id, now)
	switch {
	case errors.Is(err, ErrSoldOut):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("refund packet %s: %w", id, err)
	}
	_, err = s.finishRefund(ctx, &p)
	return err == nil, err
}

// refundPaid refunds one expired packet in one step on a PayingStore, and
// settles it.
func (s *Service) refundPaid(ctx context.Context, id uuid.UUID, now time.Time) (bool, error) {
	p, err := s.paying.RefundPaid(ctx, id, now, s.l.Now(), func(p Packet) ledger.Transfer { return s.refundTransfer(&p) })
	switch {
	case errors.Is(err, ErrSoldOut):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("refund packet %s: %w", id, err)
	}
	if p.Complete() && !p.Settled {
		return true, s.settle(ctx, p.ID, p.Escrow)
	}
	return true, nil
}

// finishRefund pays a refunding packet's remainder back to the sender and
// records it; it reports whether it settled the packet.
func (s *Service) finishRefund(ctx context.Context, p *Packet) (bool, error) {
	if err := s.moveRefund(ctx, p); err != nil {
		return false, err
	}
	st, err := s.store.FinishRefund(ctx, p.ID)
	if err != nil {
		return false, fmt.Errorf("refund packet %s: %w", p.ID, err)
	}
	if st.Complete() && !st.Settled {
		return true, s.settle(ctx, p.ID, p.Escrow)
	}
	return false, nil
}

// refundTransfer is the refund of p's remainder, escrow → sender.
func (s *Service) refundTransfer(p *Packet) ledger.Transfer {
	return ledger.Transfer{
		ID: s.RefundTransferID(p.ID), DebitAccountID: p.Escrow, CreditAccountID: p.SenderAccount,
		Amount: p.RemainingAmount(), Code: s.codes.Refund,
	}
}

// moveRefund moves a refunding (or refunded) packet's remainder from
// escrow back to the sender, if there is one.
func (s *Service) moveRefund(ctx context.Context, p *Packet) error {
	amount := p.RemainingAmount()
	if !amount.IsPositive() {
		return nil
	}
	if _, err := s.l.Transfer(ctx, s.refundTransfer(p)); err != nil {
		return fmt.Errorf("refund packet %s: %w", p.ID, err)
	}
	return nil
}
