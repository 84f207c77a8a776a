package redpacket

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// ClaimRequest asks for a share of a packet.
type ClaimRequest struct {
	Packet   uuid.UUID `json:"packet"`
	User     uuid.UUID `json:"user"`               // the claiming user
	Account  uuid.UUID `json:"account"`            // the user's wallet, which the share is paid to
	Password string    `json:"password,omitempty"` // a Password packet's phrase
}

// Claim gives req.User one share of the packet, paid from the packet's
// escrow account to req.Account (ledger ID ClaimTransferID), and returns the
// claim. Claiming again returns the same claim, paying it if its payment was
// interrupted: one share per user, its money moved once. How each kind of
// store records and pays a claim is in docs/redpacket.md.
//
// Errors, checked in this order, record no claim: ErrInvalidRequest;
// ErrBadPassword (before the store is read); ErrPacketNotFound; ErrNotMember;
// ErrNotRecipient; ErrSenderCannotGrab; ErrWrongPassword; the wallet's
// (ledger.ErrAccountNotFound, ErrCurrencyMismatch, ErrAccountClosed,
// ErrAccountFrozen); the packet's ErrNotFunded, ErrPacketCancelled,
// ErrRefunded, ErrSoldOut or ErrExpired. With the claim: ErrPaymentPending
// (claiming again or Reconcile pays it), ErrShareReturned (the wallet closed:
// the share went back to the sender). After Members or the store failed, the
// claim may or may not be recorded: claiming again returns it.
func (s *Service) Claim(ctx context.Context, req ClaimRequest) (_ Claim, err error) {
	ctx, sp := s.tel.claim.Start(ctx)
	var cur ledger.Currency // the packet's, once known
	if sp.On() {
		sp.ID(req.Packet)
		defer func() { sp.End(ctx, err, cur.Code()) }()
	}
	if req.User == uuid.Nil || req.Account == uuid.Nil {
		return Claim{}, fmt.Errorf("%w: no user or account", ErrInvalidRequest)
	}
	if len(req.Password) > MaxPasswordInputBytes { // before the store and Members
		return Claim{}, fmt.Errorf("claim packet %s: %w: %d bytes, at most %d", req.Packet, ErrBadPassword, len(req.Password), MaxPasswordInputBytes)
	}
	e, err := s.entry(ctx, req.Packet)
	if err != nil {
		return Claim{}, err
	}
	p := e.p
	cur = p.Total.Currency()
	if err := s.eligible(ctx, p, &req); err != nil {
		return Claim{}, err
	}
	if c, ok, err := e.answer(ctx, s.store, req.User); ok {
		return c, err
	}
	if s.paying != nil {
		return s.claimPaid(ctx, e, &req)
	}
	if err := s.checkWallet(ctx, p, req.Account); err != nil {
		return Claim{}, err
	}
	res, err := s.store.Claim(ctx, p.ID, req.User, req.Account, ledger.Timestamp(s.now()))
	if err != nil {
		if reason := closedErr(err); reason != nil {
			e.close(reason)
		}
		return Claim{}, err
	}
	if res.State.Status == StatusSoldOut {
		e.close(ErrSoldOut)
	}
	if res.Claim.Posted {
		return res.Claim, nil
	}
	return s.pay(ctx, p, e.pid, res.Claim, s.asyncMarks)
}

// claimPaid claims on a PayingStore: the claim and its payment in one
// step, with no wallet read before and no paid mark after.
func (s *Service) claimPaid(ctx context.Context, e *cached, req *ClaimRequest) (Claim, error) {
	p := e.p
	res, err := s.paying.ClaimPaid(ctx, p.ID, req.User, req.Account, ledger.Timestamp(s.now()), s.l.Now(), func(c Claim) ledger.Transfer {
		return s.claimTransfer(p, e.pid, &c)
	})
	switch {
	case ledger.Refused(err): // nothing recorded
		return Claim{}, fmt.Errorf("claim packet %s: %w", p.ID, err)
	case err != nil && res.Claim.User != uuid.Nil: // recorded, its payment's outcome unknown
		return res.Claim, fmt.Errorf("claim packet %s: %w: %w", p.ID, ErrPaymentPending, err)
	case err != nil:
		// The wallet's errors come before the packet's, as on other stores.
		if werr := s.checkWallet(ctx, p, req.Account); werr != nil {
			return Claim{}, werr
		}
		if reason := closedErr(err); reason != nil {
			e.close(reason)
		}
		return Claim{}, err
	}
	if res.State.Status == StatusSoldOut {
		e.close(ErrSoldOut)
	}
	switch {
	case res.Existing && res.Claim.Posted:
		return res.Claim, nil
	case res.Existing:
		return s.pay(ctx, p, e.pid, res.Claim, s.asyncMarks)
	}
	if res.State.Complete() && !res.State.Settled {
		_ = s.settle(ctx, p.ID, p.Escrow) // a failure here is Reconcile's to finish; the claim is paid
	}
	return res.Claim, nil
}

// entry returns the cached packet, loading it from the store once.
func (s *Service) entry(ctx context.Context, id uuid.UUID) (*cached, error) {
	if e := s.cache.get(id); e != nil {
		return e, nil
	}
	p, err := s.store.Packet(ctx, id)
	if err != nil {
		return nil, err
	}
	e := s.cache.add(&p)
	switch p.Status {
	case StatusSoldOut:
		e.close(ErrSoldOut)
	case StatusRefunding, StatusRefunded:
		e.close(ErrRefunded)
	case StatusCancelled:
		e.close(ErrPacketCancelled)
	}
	return e, nil
}

// eligible checks whether the user may claim the packet at all.
func (s *Service) eligible(ctx context.Context, p *Packet, req *ClaimRequest) error {
	if p.Group != uuid.Nil {
		if err := s.member(ctx, p.Group, req.User, "claimer"); err != nil {
			return fmt.Errorf("claim packet %s: %w", p.ID, err)
		}
	}
	if p.Recipient != uuid.Nil && req.User != p.Recipient {
		return fmt.Errorf("claim packet %s: %w", p.ID, ErrNotRecipient)
	}
	if req.User == p.Sender && !p.SenderMayGrab {
		return fmt.Errorf("claim packet %s: %w", p.ID, ErrSenderCannotGrab)
	}
	if p.Kind == Password && !s.pw.Matches(p.ID, p.PasswordHash, req.Password) {
		return fmt.Errorf("claim packet %s: %w", p.ID, ErrWrongPassword)
	}
	return nil
}

// checkWallet refuses a claim whose share could not be paid to account, so
// that no recorded claim is left unpayable.
func (s *Service) checkWallet(ctx context.Context, p *Packet, account uuid.UUID) error {
	a, err := s.l.Account(ctx, account)
	if err == nil {
		err = a.CheckTransfer(p.Total.Currency())
	}
	if err != nil {
		return fmt.Errorf("claim packet %s: wallet: %w", p.ID, err)
	}
	return nil
}

// pay pays a recorded claim's share from escrow to the claimer — or back
// to the sender when the claimer's wallet is closed, which it is for good —
// and marks the claim paid: before returning, or in the background when
// background is set (Config.AsyncMarks). pid is p.ID.String().
func (s *Service) pay(ctx context.Context, p *Packet, pid string, c Claim, background bool) (Claim, error) {
	var returned error
	if _, err := s.pl.Transfer(ctx, s.claimTransfer(p, pid, &c)); err != nil {
		if !walletClosed(err, c.Account) {
			return c, fmt.Errorf("claim packet %s: %w: %w", p.ID, ErrPaymentPending, err)
		}
		// The ledger refused the payment and always will: it never moved
		// and never can, so the share may go back to the sender.
		if _, rerr := s.pl.Transfer(ctx, s.returnTransfer(p, pid, &c)); rerr != nil {
			return c, fmt.Errorf("claim packet %s: %w: %w; returning the share to the sender: %w", p.ID, ErrPaymentPending, err, rerr)
		}
		returned = fmt.Errorf("claim packet %s: %w: %w", p.ID, ErrShareReturned, err)
	}
	c.Posted = true
	id, escrow, user := p.ID, p.Escrow, c.User
	if background && s.marks.start() {
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
			defer cancel()
			s.marks.done(s.markPaid(ctx, id, escrow, user))
		}()
		return c, returned
	}
	_ = s.markPaid(ctx, id, escrow, user) // a failure here is the retry's or Reconcile's to finish; the money moved
	return c, returned
}

// walletClosed reports whether err is the ledger refusing a payment
// because account is closed.
func walletClosed(err error, account uuid.UUID) bool {
	var ae *ledger.AccountError
	return ledger.Refused(err) && errors.As(err, &ae) && ae.ID == account && errors.Is(ae.Err, ledger.ErrAccountClosed)
}

// markPaid records that a claim's share moved (Store.MarkPosted); the mark
// that completes a finished packet settles it.
func (s *Service) markPaid(ctx context.Context, id, escrow, user uuid.UUID) error {
	st, err := s.store.MarkPosted(ctx, id, user)
	if err != nil {
		return fmt.Errorf("claim packet %s: mark paid: %w", id, err)
	}
	if st.Complete() && !st.Settled {
		return s.settle(ctx, id, escrow)
	}
	return nil
}

// claimTransfer is the payment of claim c of packet p (whose ID reads pid).
func (s *Service) claimTransfer(p *Packet, pid string, c *Claim) ledger.Transfer {
	return ledger.Transfer{
		ID: s.claimTransferID(pid, c.User), DebitAccountID: p.Escrow, CreditAccountID: c.Account,
		Amount: c.Amount, Code: s.codes.Claim,
	}
}

// returnTransfer gives claim c's share back to p's sender.
func (s *Service) returnTransfer(p *Packet, pid string, c *Claim) ledger.Transfer {
	return ledger.Transfer{
		ID: s.returnTransferID(pid, c.User), DebitAccountID: p.Escrow, CreditAccountID: p.SenderAccount,
		Amount: c.Amount, Code: s.codes.Refund,
	}
}

// settle closes a complete packet's escrow account (now exactly zero) and
// records it.
func (s *Service) settle(ctx context.Context, id, escrow uuid.UUID) error {
	if _, err := s.l.Close(ctx, escrow); err != nil {
		return fmt.Errorf("settle packet %s: close escrow: %w", id, err)
	}
	if _, err := s.store.Settle(ctx, id); err != nil {
		return fmt.Errorf("settle packet %s: %w", id, err)
	}
	return nil
}
