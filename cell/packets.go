package cell

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/internal/errset"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// Packets sends and claims red packets across cells. A packet lives in
// its sender's cell, on that cell's redpacket.Service; a claimer of the
// same cell claims there as on any Service. A claimer of another cell is
// paid by a normal claim of that Service, to the claimer's inbound
// account in the packet's cell (InboundAccountID: the cell layer's,
// opened on the first claim), and the share is then paid on to the
// claimer's wallet in the claimer's cell by Cells.Pay, under an ID
// derived from the packet and the claimer (ForwardID): a claimer gets one
// share, and it is forwarded once, however often the claim is retried.
//
// Before such a claim a Forward is recorded in the packet's cell
// (Store.BeginForward), so that Reconcile finds a share a crash left in
// the inbound account and forwards it. If the claimer's cell refuses the
// share (the wallet was closed or frozen since the claim checked it), the
// payment is reversed and the share goes back to the packet's sender, as
// redpacket.Service.Claim does with a share it cannot pay.
//
// Packets is safe for concurrent use.
type Packets struct {
	c   *Cells
	svc map[string]*redpacket.Service
}

// NewPackets returns Packets over cells, with services the
// redpacket.Service of each cell by name, each on that cell's ledger and
// with the same Namespace on every instance.
//
// Errors: ErrInvalidCell (a cell without a Service, a Service for no
// cell).
func NewPackets(cells *Cells, services map[string]*redpacket.Service) (*Packets, error) {
	ps := &Packets{c: cells, svc: make(map[string]*redpacket.Service, len(services))}
	for _, n := range cells.router.names {
		if services[n] == nil {
			return nil, fmt.Errorf("%w: cell %q has no red packet Service", ErrInvalidCell, n)
		}
		ps.svc[n] = services[n]
	}
	if len(services) != len(ps.svc) {
		return nil, fmt.Errorf("%w: %d red packet Services for %d cells", ErrInvalidCell, len(services), len(ps.svc))
	}
	return ps, nil
}

// Service returns the red packet Service of the cell named name, or nil.
func (ps *Packets) Service(name string) *redpacket.Service { return ps.svc[name] }

// Send sends a packet in the sender's cell: req.SenderAccount is a wallet
// there.
//
// Errors: those of redpacket.Service.Send.
func (ps *Packets) Send(ctx context.Context, req redpacket.SendRequest) (redpacket.Packet, error) {
	return ps.svc[ps.c.router.Cell(req.Sender)].Send(ctx, req)
}

// InboundAccountID returns the ID of user's inbound account in cell in
// currency cur: the account the shares user claims there are paid to
// before they are forwarded to user's own cell.
func (ps *Packets) InboundAccountID(cell string, user uuid.UUID, cur ledger.Currency) uuid.UUID {
	return ledger.DeriveID(ps.c.ns, "cell", cell, "inbound", user.String(), cur.Code())
}

// ForwardID returns the ID of the Forward of user's share of packet, which
// is also the ID of the payment that forwards it (ForwardPaymentID(id, 0)).
func (ps *Packets) ForwardID(packet, user uuid.UUID) uuid.UUID {
	return ledger.DeriveID(ps.c.ns, "cell", "claim", packet.String(), user.String())
}

// ForwardPaymentID returns the ID of the payment that forwards the share
// of Forward id at attempt n: 0 first; n+1 only when Reconcile abandoned
// payment n, a payment whose hold was never placed (see Cells.Reconcile),
// which leaves the share where it was.
func (ps *Packets) ForwardPaymentID(id uuid.UUID, n int) uuid.UUID {
	if n == 0 {
		return id
	}
	return ledger.DeriveID(ps.c.ns, "cell", "forward", id.String(), strconv.Itoa(n))
}

// ReturnTransferID returns the ID of the transfer, in the packet's cell,
// that gives the share of Forward id back to the packet's sender when the
// claimer's cell refused it.
func (ps *Packets) ReturnTransferID(id uuid.UUID) uuid.UUID {
	return ledger.DeriveID(ps.c.ns, "cell", "forward", id.String(), "return")
}

// maxForwardAttempts bounds the payments of one share: each attempt past
// the first takes a crash and an abandonment by Reconcile.
const maxForwardAttempts = 16

// Forward is the record, in a packet's cell, of a claim of that packet by
// a user of another cell: written before the claim, finished once the
// share is forwarded (or returned, or there is none to forward).
type Forward struct {
	ID         uuid.UUID `json:"id"` // Packets.ForwardID(Packet, Claimer)
	Packet     uuid.UUID `json:"packet"`
	Sender     uuid.UUID `json:"sender"` // the packet's sender, in the packet's cell
	Claimer    uuid.UUID `json:"claimer"`
	Account    uuid.UUID `json:"account"` // the claimer's wallet, in the claimer's cell
	CreatedAt  time.Time `json:"created_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"` // zero while open
}

// ClaimRequest asks for a share of a packet, from any cell.
type ClaimRequest struct {
	Packet   uuid.UUID `json:"packet"`
	Sender   uuid.UUID `json:"sender"`  // the packet's sender: the packet lives in the sender's cell
	User     uuid.UUID `json:"user"`    // the claiming user
	Account  uuid.UUID `json:"account"` // the claimer's wallet, in the claimer's cell
	Password string    `json:"password,omitempty"`
}

// PacketClaim is a claim as Packets.Claim answers it.
type PacketClaim struct {
	// Claim is the claim as the packet's cell records it. For a claimer of
	// another cell its Account is the claimer's inbound account there.
	Claim redpacket.Claim `json:"claim"`
	// Forward is the payment of the share to the claimer's cell (the last
	// attempt); zero for a claimer of the packet's cell.
	Forward Payment `json:"forward,omitzero"`
}

// Claim gives req.User a share of the packet req.Sender sent, paid to
// req.Account, a wallet in req.User's cell (see Packets).
//
// Errors: those of redpacket.Service.Claim, and for a claimer of another
// cell: redpacket.ErrInvalidRequest (no packet, sender, user or account);
// redpacket.ErrPacketNotFound (also for a packet that req.Sender did not
// send); for req.Account, as that Service checks a wallet,
// ledger.ErrAccountNotFound, ledger.ErrCurrencyMismatch,
// ledger.ErrAccountClosed or ledger.ErrAccountFrozen (no share is taken);
// and once the share is claimed, those of Cells.Pay forwarding it:
// ErrPaymentInFlight (retry the claim, or let Reconcile forward it) and
// redpacket.ErrShareReturned wrapping ErrPaymentReversed and the reason
// (the claimer's cell refused the share, which went back to the sender);
// the stores' own errors, after which the claim may or may not be
// recorded: claiming again, or Reconcile, finishes it.
func (ps *Packets) Claim(ctx context.Context, req ClaimRequest) (PacketClaim, error) {
	if req.Packet == uuid.Nil || req.Sender == uuid.Nil || req.User == uuid.Nil || req.Account == uuid.Nil {
		return PacketClaim{}, fmt.Errorf("%w: claim of packet %s: no packet, sender, user or account", redpacket.ErrInvalidRequest, req.Packet)
	}
	home, there := ps.c.router.Cell(req.User), ps.c.router.Cell(req.Sender)
	svc := ps.svc[there]
	rr := redpacket.ClaimRequest{Packet: req.Packet, User: req.User, Account: req.Account, Password: req.Password}
	if home == there {
		c, err := svc.Claim(ctx, rr)
		return PacketClaim{Claim: c}, err
	}
	p, err := svc.Store().Packet(ctx, req.Packet)
	switch {
	case err != nil:
		return PacketClaim{}, fmt.Errorf("claim packet %s: %w", req.Packet, err)
	case p.Sender != req.Sender:
		return PacketClaim{}, fmt.Errorf("claim packet %s: %w: not sent by %s", req.Packet, redpacket.ErrPacketNotFound, req.Sender)
	}
	cur := p.Total.Currency()
	// As redpacket.Service.Claim checks a wallet before it takes a share.
	a, err := ps.c.cells[home].Ledger.Account(ctx, req.Account)
	if err == nil {
		err = a.CheckTransfer(cur)
	}
	if err != nil {
		return PacketClaim{}, fmt.Errorf("claim packet %s: wallet: %w", p.ID, err)
	}
	cl := ps.c.cells[there]
	f, _, err := cl.Store.BeginForward(ctx, Forward{
		ID: ps.ForwardID(p.ID, req.User), Packet: p.ID, Sender: p.Sender, Claimer: req.User, Account: req.Account,
		CreatedAt: ledger.Timestamp(ps.c.now()),
	})
	if err != nil {
		return PacketClaim{}, fmt.Errorf("claim packet %s: recording the forward: %w", p.ID, err)
	}
	rr.Account = ps.InboundAccountID(there, req.User, cur)
	c, err := svc.Claim(ctx, rr)
	if errors.Is(err, ledger.ErrAccountNotFound) && c.User == uuid.Nil {
		// The claimer's first claim in this cell and currency.
		if _, cerr := cl.Ledger.CreateAccount(ctx, ledger.Account{ID: rr.Account, Currency: cur, Code: ps.c.code, Flags: ledger.DebitsMustNotExceedCredits}); cerr != nil {
			return PacketClaim{}, fmt.Errorf("claim packet %s: inbound account: %w", p.ID, cerr)
		}
		c, err = svc.Claim(ctx, rr)
	}
	switch {
	case err == nil:
	case c.User == uuid.Nil: // no claim
		if closedForClaims(err) {
			_, _ = cl.Store.FinishForward(ctx, f.ID, ledger.Timestamp(ps.c.now())) // else Reconcile's
		}
		return PacketClaim{}, err
	default: // claimed, not yet paid to the inbound account
		return PacketClaim{Claim: c}, err
	}
	return ps.forward(ctx, cl, &p, f, c)
}

// closedForClaims reports whether a claim refused with err was refused
// because the packet takes no more claims, for good.
func closedForClaims(err error) bool {
	for _, e := range []error{redpacket.ErrSoldOut, redpacket.ErrExpired, redpacket.ErrRefunded, redpacket.ErrPacketCancelled} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// forward pays claim c, paid to the inbound account in cell cl, on to
// the wallet of Forward f, and finishes f.
func (ps *Packets) forward(ctx context.Context, cl *Cell, p *redpacket.Packet, f Forward, c redpacket.Claim) (PacketClaim, error) {
	out := PacketClaim{Claim: c}
	for n := 0; ; n++ {
		pay := Payment{ID: ps.ForwardPaymentID(f.ID, n), Payer: f.Sender, PayerAccount: c.Account, Payee: f.Claimer, PayeeAccount: f.Account, Amount: c.Amount}
		done, err := ps.c.Pay(ctx, pay)
		out.Forward = done
		switch {
		case done.State == StateFailed && done.Reason == ErrAbandoned.Code() && n+1 < maxForwardAttempts:
			continue // the share is still in the inbound account
		case done.State == StateCompleted:
		case done.State == StateReversed:
			back := ledger.Transfer{ID: ps.ReturnTransferID(f.ID), DebitAccountID: c.Account, CreditAccountID: p.SenderAccount, Amount: c.Amount, Code: ps.c.code}
			if _, rerr := cl.Ledger.Transfer(ctx, back); rerr != nil {
				return out, fmt.Errorf("claim packet %s: %w; returning the share to the sender: %w", p.ID, err, rerr)
			}
			err = fmt.Errorf("claim packet %s: %w: %w", p.ID, redpacket.ErrShareReturned, err)
		default:
			return out, fmt.Errorf("claim packet %s: forwarding the share: %w", p.ID, err)
		}
		if f.FinishedAt.IsZero() {
			_, _ = cl.Store.FinishForward(ctx, f.ID, ledger.Timestamp(ps.c.now())) // else Reconcile's
		}
		return out, err
	}
}

// ForwardReport says what Packets.Reconcile did.
type ForwardReport struct {
	Forwarded int `json:"forwarded"` // shares forwarded to their claimers' cells
	Returned  int `json:"returned"`  // shares the claimers' cells refused, returned to the senders
	Closed    int `json:"closed"`    // forwards with no share: the packet closed for claims without one
	StillOpen int `json:"still_open"`
	// Errors are the first errors of the run (at most 10, then how many
	// more), also returned joined as Reconcile's error.
	Errors []string `json:"errors,omitempty"`
}

// Reconcile finishes every open Forward recorded at least
// Config.ReconcileAfter before now: a share claimed and paid to the
// inbound account is forwarded (or returned, see Packets); a forward with
// no claim behind it is closed once its packet takes no more claims (sold
// out, refunded, cancelled, or expired ReconcileAfter before now). A claim
// recorded but not yet paid to the inbound account is the packet's
// Service's to pay (redpacket.Service.Reconcile): its forward stays open
// until then. The payments it starts are Cells.Reconcile's to finish if
// they cannot finish now. Safe on every instance at once.
//
// Errors: the first errors of the run (see ForwardReport.Errors); ctx's.
func (ps *Packets) Reconcile(ctx context.Context, now time.Time) (ForwardReport, error) {
	var rep ForwardReport
	var errs errset.Set
	before := now.Add(-ps.c.after)
	for _, name := range ps.c.router.names {
		cl := ps.c.cells[name]
		for cur := (Cursor{}); ctx.Err() == nil; {
			fs, err := cl.Store.OpenForwards(ctx, before, cur, reconcilePage)
			if err != nil {
				errs.Add("cell: reconcile forwards: "+name, fmt.Errorf("listing open forwards: %w", err))
				break
			}
			for _, f := range fs {
				if err := ps.reconcile(ctx, cl, f, before, &rep); err != nil {
					rep.StillOpen++
					errs.Add("cell: reconcile forwards: "+name, fmt.Errorf("forward %s: %w", f.ID, err))
				}
			}
			if len(fs) < reconcilePage {
				break
			}
			cur = Cursor{CreatedAt: fs[len(fs)-1].CreatedAt, ID: fs[len(fs)-1].ID}
		}
	}
	errs.Add("cell: reconcile forwards", ctx.Err())
	rep.Errors = errs.Strings()
	return rep, errs.Err()
}

// reconcile finishes Forward f of cell cl, if it can.
func (ps *Packets) reconcile(ctx context.Context, cl *Cell, f Forward, before time.Time, rep *ForwardReport) error {
	st := ps.svc[cl.Name].Store()
	// The packet first: once it takes no more claims, the claims read
	// after it are all there will be.
	p, err := st.Packet(ctx, f.Packet)
	if err != nil {
		return err
	}
	claims, err := st.Claims(ctx, f.Packet)
	if err != nil {
		return err
	}
	for _, c := range claims {
		if c.User != f.Claimer {
			continue
		}
		switch {
		case c.Account != ps.InboundAccountID(cl.Name, f.Claimer, p.Total.Currency()):
			// Claimed otherwise, not through Packets: nothing to forward.
		case !c.Posted:
			rep.StillOpen++ // the Service's to pay
			return nil
		default:
			out, err := ps.forward(ctx, cl, &p, f, c)
			switch out.Forward.State {
			case StateCompleted:
				rep.Forwarded++
			case StateReversed:
				if err != nil && !errors.Is(err, redpacket.ErrShareReturned) {
					return err
				}
				rep.Returned++
			default:
				return err
			}
			return nil
		}
		return ps.close(ctx, cl, f, rep)
	}
	if p.Status == redpacket.StatusFunding || p.Status == redpacket.StatusOpen && before.Before(p.ExpiresAt) {
		rep.StillOpen++ // it may still be claimed
		return nil
	}
	return ps.close(ctx, cl, f, rep)
}

func (ps *Packets) close(ctx context.Context, cl *Cell, f Forward, rep *ForwardReport) error {
	if _, err := cl.Store.FinishForward(ctx, f.ID, ledger.Timestamp(ps.c.now())); err != nil {
		return err
	}
	rep.Closed++
	return nil
}
