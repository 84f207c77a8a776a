package redpacket

import (
	"context"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// View is a packet as its group sees it.
type View struct {
	// Packet without its Shares (the shares not yet claimed stay secret)
	// and its PasswordHash.
	Packet Packet `json:"packet"`
	// Claims are the claims in claim order: who, how much, when.
	Claims []Claim `json:"claims"`
	// Remaining and RemainingAmount are the shares and amount not claimed.
	Remaining       int          `json:"remaining"`
	RemainingAmount ledger.Money `json:"remaining_amount"`
	// Refund is the remainder refunded to the sender, once refunding.
	Refund ledger.Money `json:"refund"`
	// BestLuck is the index in Claims of the best-luck claim (手气最佳),
	// or -1 while the packet is not fully claimed.
	BestLuck int `json:"best_luck"`
}

// View returns a packet with its claims, as of one moment.
//
// Errors: ErrPacketNotFound.
func (s *Service) View(ctx context.Context, id uuid.UUID) (View, error) {
	p, err := s.store.Packet(ctx, id)
	if err != nil {
		return View{}, err
	}
	claims, err := s.store.Claims(ctx, id)
	if err != nil {
		return View{}, err
	}
	claims = claims[:min(len(claims), p.Claimed)] // claims made after the packet was read
	v := View{
		Claims: claims, Remaining: p.Remaining(), RemainingAmount: p.RemainingAmount(),
		Refund: p.Refund(), BestLuck: -1,
	}
	if p.Status == StatusSoldOut {
		amounts := make([]int64, len(claims))
		for i := range claims {
			amounts[i] = claims[i].Amount.Units()
		}
		v.BestLuck, _ = BestLuck(amounts)
	}
	p.Shares, p.PasswordHash = nil, nil
	v.Packet = p
	return v, nil
}
