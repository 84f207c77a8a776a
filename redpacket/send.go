package redpacket

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// SendRequest asks to send a red packet.
type SendRequest struct {
	// Key is the sender's idempotency key (ledger.CheckKey): sending the
	// same request again returns the same packet and pays once. The
	// packet's ID is PacketID(Sender, Key).
	Key           string    `json:"key"`
	Kind          Kind      `json:"kind"`
	Sender        uuid.UUID `json:"sender"`         // the sending user
	SenderAccount uuid.UUID `json:"sender_account"` // the sender's wallet
	// Group is the group the packet is sent to; zero for a packet to one
	// friend.
	Group uuid.UUID `json:"group,omitzero"`
	// Recipient is the named member of an Exclusive packet, or the friend
	// of a packet sent to one person; zero otherwise.
	Recipient uuid.UUID `json:"recipient,omitzero"`
	// Amount is the total, or for a Normal packet the amount of each share.
	// Its currency picks the Rules.
	Amount ledger.Money `json:"amount"`
	Count  int          `json:"count"`
	// Password is a Password packet's phrase; empty for other kinds. At
	// most MaxPasswordInputBytes as typed, MaxPasswordBytes normalized.
	// The packet keeps only its keyed hash (Config.PasswordKey).
	Password string `json:"password,omitempty"`
}

// Send sends a red packet: it checks the request, splits the total into
// shares (pre-split and shuffled), records the packet (status funding),
// moves the total from the sender's wallet into the packet's own escrow
// account (ledger ID FundTransferID) and opens the packet — in one step
// on a PayingStore (PayingStore.SendPaid: one commit on a database). It
// returns the
// packet as View shows it: without its pre-split shares (which would tell
// the sender, or whoever logs the answer, which claim gets the most) and
// without its password.
//
// Sending a request again with the same sender and key returns the packet
// as it stands (finishing its funding if a crash interrupted it) and moves
// no money twice; the same key with other content is ErrPacketConflict.
//
// The checks run in this order, the first three before the store is read:
// the key (ErrInvalidRequest and ledger.ErrInvalidKey), the sender
// (ErrInvalidRequest), a phrase over MaxPasswordInputBytes
// (ErrBadPassword), then the request's shape (ErrInvalidRequest,
// ErrUnknownKind, ErrUnsupportedCurrency, ErrBadPassword), membership
// (ErrNotMember for the sender or an exclusive packet's recipient), then
// Rules.Check: ErrNoShares, ErrTooManyShares, ErrShareTooSmall,
// ErrShareTooLarge, ErrCountExceedsGroup; last the sender's funds, which
// the ledger decides: ledger.ErrInsufficientFunds (or another refusal of
// the sender's wallet, such as ledger.ErrAccountFrozen), returned as
// errcode.Because(ErrPacketCancelled, refusal), so that errcode.Of reads
// the refusal's code: the packet is recorded as cancelled with that code
// (State.Reason), its ID cannot be used again, and sending it again
// answers the same. A request with a key the sender already used for a
// request of another meaning is refused with a *ConflictError
// (ErrPacketConflict, ledger.ErrIdempotencyConflict). An error from the
// ledger or the store failing
// leaves the packet funding; sending again or Reconcile finishes it.
//
// Errors also include those of Members and of the store.
func (s *Service) Send(ctx context.Context, req SendRequest) (Packet, error) {
	ctx, sp := s.tel.send.Start(ctx)
	if sp.On() {
		sp.ID(s.PacketID(req.Sender, req.Key))
	}
	p, err := s.send(ctx, req)
	sp.End(ctx, err, req.Amount.Currency().Code())
	p.Shares, p.PasswordHash = nil, nil
	return p, err
}

func (s *Service) send(ctx context.Context, req SendRequest) (Packet, error) {
	// Before the store: what names the packet, and the phrase's size.
	if err := ledger.CheckKey(req.Key); err != nil {
		return Packet{}, fmt.Errorf("send packet: %w: %w", err, ErrInvalidRequest)
	}
	if req.Sender == uuid.Nil {
		return Packet{}, fmt.Errorf("send packet: %w: no sender", ErrInvalidRequest)
	}
	id := s.PacketID(req.Sender, req.Key)
	if len(req.Password) > MaxPasswordInputBytes {
		return Packet{}, fmt.Errorf("send packet %s: %w: %d bytes, at most %d", id, ErrBadPassword, len(req.Password), MaxPasswordInputBytes)
	}
	p, err := s.store.Packet(ctx, id)
	switch {
	case err == nil:
		return s.resend(ctx, &req, p)
	case !errors.Is(err, ErrPacketNotFound):
		return Packet{}, fmt.Errorf("send packet %s: %w", id, err)
	}
	if p, err = s.newPacket(ctx, id, &req); err != nil {
		return Packet{}, fmt.Errorf("send packet %s: %w", id, err)
	}
	if s.paying != nil {
		return s.sendPaid(ctx, &req, p)
	}
	stored, err := s.store.CreatePacket(ctx, p)
	switch {
	case errors.Is(err, ErrPacketExists):
		return s.resend(ctx, &req, stored)
	case err != nil:
		return Packet{}, fmt.Errorf("send packet %s: %w", id, err)
	}
	return s.fund(ctx, stored)
}

// sendPaid records packet p and funds it in one step on a PayingStore.
func (s *Service) sendPaid(ctx context.Context, req *SendRequest, p Packet) (Packet, error) {
	stored, err := s.paying.SendPaid(ctx, p, s.escrowAccount(&p), s.fundTransfer(&p), s.l.Now())
	switch {
	case errors.Is(err, ErrPacketExists):
		return s.resend(ctx, req, stored)
	case err != nil:
		return Packet{}, fmt.Errorf("send packet %s: %w", p.ID, err)
	case stored.Status == StatusCancelled:
		return stored, cancelled(&stored)
	}
	return stored, nil
}

// newPacket checks a send request and builds the packet it asks for,
// with ID id.
func (s *Service) newPacket(ctx context.Context, id uuid.UUID, req *SendRequest) (Packet, error) {
	if !req.Kind.valid() {
		return Packet{}, fmt.Errorf("%w: %v", ErrUnknownKind, req.Kind)
	}
	if req.SenderAccount == uuid.Nil {
		return Packet{}, fmt.Errorf("%w: no sender account", ErrInvalidRequest)
	}
	cur := req.Amount.Currency()
	r, ok := s.rules[cur]
	if !ok {
		return Packet{}, fmt.Errorf("%w: %q", ErrUnsupportedCurrency, cur.Code())
	}
	password, err := s.requestPassword(id, req)
	if err != nil {
		return Packet{}, err
	}
	claimers, err := s.claimers(ctx, req, &r)
	if err != nil {
		return Packet{}, err
	}
	total, err := r.check(req.Kind, req.Amount.Units(), req.Count, claimers, cur)
	if err != nil {
		return Packet{}, err
	}
	shares, err := r.shares(req.Kind, total, req.Count, s.rand, cur)
	if err != nil {
		return Packet{}, err
	}
	now := ledger.Timestamp(s.now())
	return Packet{
		ID: id, Kind: req.Kind, Sender: req.Sender, SenderAccount: req.SenderAccount,
		Group: req.Group, Recipient: req.Recipient, PasswordHash: password,
		SenderMayGrab: r.SenderMayGrab,
		Total:         ledger.NewMoney(total, cur), Count: req.Count, Shares: shares,
		Escrow: s.EscrowAccountID(id), CreatedAt: now, ExpiresAt: now.Add(r.Expiry),
		State: State{Status: StatusFunding},
	}, nil
}

// requestPassword returns the hash of a request's phrase (nil for kinds
// other than Password).
func (s *Service) requestPassword(id uuid.UUID, req *SendRequest) ([]byte, error) {
	if req.Kind != Password {
		if req.Password != "" {
			return nil, fmt.Errorf("%w: a password on a %v packet", ErrInvalidRequest, req.Kind)
		}
		return nil, nil
	}
	return s.pw.Hash(id, req.Password)
}

// claimers checks who may claim the requested packet and returns how many
// they are (the group size Rules.Check compares the share count with).
func (s *Service) claimers(ctx context.Context, req *SendRequest, r *Rules) (int, error) {
	if req.Recipient == req.Sender {
		return 0, fmt.Errorf("%w: the sender cannot be the recipient", ErrInvalidRequest)
	}
	if req.Group == uuid.Nil { // to one friend
		if req.Recipient == uuid.Nil || req.Kind == Exclusive {
			return 0, fmt.Errorf("%w: a packet to one person needs a recipient and is lucky, normal or password", ErrInvalidRequest)
		}
		return 1, nil
	}
	if (req.Kind == Exclusive) != (req.Recipient != uuid.Nil) {
		return 0, fmt.Errorf("%w: a group packet names a recipient exactly when it is exclusive", ErrInvalidRequest)
	}
	if err := s.member(ctx, req.Group, req.Sender, "sender"); err != nil {
		return 0, err
	}
	if req.Kind == Exclusive {
		if err := s.member(ctx, req.Group, req.Recipient, "recipient"); err != nil {
			return 0, err
		}
		return 1, nil
	}
	n, err := s.members.GroupSize(ctx, req.Group)
	if err != nil {
		return 0, fmt.Errorf("size of group %s: %w", req.Group, err)
	}
	if !r.SenderMayGrab {
		n--
	}
	return n, nil
}

func (s *Service) member(ctx context.Context, group, user uuid.UUID, who string) error {
	ok, err := s.members.IsMember(ctx, group, user)
	switch {
	case err != nil:
		return fmt.Errorf("membership of %s %s in group %s: %w", who, user, group, err)
	case !ok:
		return fmt.Errorf("%w: %s %s, group %s", ErrNotMember, who, user, group)
	}
	return nil
}

// resend answers a send request whose packet is already recorded.
func (s *Service) resend(ctx context.Context, req *SendRequest, p Packet) (Packet, error) {
	if err := s.sameRequest(req, &p); err != nil {
		return Packet{}, err
	}
	switch p.Status {
	case StatusFunding:
		return s.fund(ctx, p)
	case StatusCancelled:
		return p, cancelled(&p)
	}
	return p, nil
}

// cancelled is the answer to every send of a cancelled packet, the first
// and each retry on any instance alike: ErrPacketCancelled because of the
// refusal recorded with it (errcode.Because, so that a client reads the
// refusal's code), or alone when none was recorded or this build has no
// sentinel with its code.
func cancelled(p *Packet) error {
	var reason error
	if e, ok := errcode.Lookup(p.Reason); ok {
		reason = e
	}
	return fmt.Errorf("send packet %s: %w", p.ID, errcode.Because(ErrPacketCancelled, reason))
}

// sameRequest reports whether req means packet p: the identity of a send
// (see docs/redpacket.md, Idempotency), compared after normalizing what
// may be written in more than one way.
func (s *Service) sameRequest(req *SendRequest, p *Packet) error {
	total := req.Amount.Units()
	if req.Kind == Normal {
		total *= int64(req.Count) // may wrap for absurd input: then it differs, as it should
	}
	field := ""
	switch {
	case req.Kind != p.Kind:
		field = "kind"
	case req.Sender != p.Sender || req.SenderAccount != p.SenderAccount:
		field = "sender"
	case req.Group != p.Group || req.Recipient != p.Recipient:
		field = "recipients"
	case req.Amount.Currency() != p.Total.Currency() || total != p.Total.Units():
		field = "amount"
	case req.Count != p.Count:
		field = "count"
	case req.Kind == Password && !s.pw.Matches(p.ID, p.PasswordHash, req.Password),
		req.Kind != Password && req.Password != "":
		field = "password"
	}
	if field != "" {
		return &ConflictError{Op: "send", Packet: p.ID, Field: field}
	}
	return nil
}

func (s *Service) escrowAccount(p *Packet) ledger.Account {
	return ledger.Account{ID: p.Escrow, Currency: p.Total.Currency(), Code: s.codes.Escrow, Flags: ledger.DebitsMustNotExceedCredits}
}

// fundTransfer is the funding of p: its total, sender → escrow.
func (s *Service) fundTransfer(p *Packet) ledger.Transfer {
	return ledger.Transfer{
		ID: s.FundTransferID(p.ID), DebitAccountID: p.SenderAccount, CreditAccountID: p.Escrow,
		Amount: p.Total, Code: s.codes.Fund,
	}
}

// fund moves a funding packet's total into its escrow account and opens it.
func (s *Service) fund(ctx context.Context, p Packet) (Packet, error) {
	if _, err := s.l.CreateAccount(ctx, s.escrowAccount(&p)); err != nil {
		return Packet{}, fmt.Errorf("send packet %s: create escrow account: %w", p.ID, err)
	}
	_, err := s.l.Transfer(ctx, s.fundTransfer(&p))
	if err != nil && !ledger.Refused(err) {
		// The ledger may or may not have applied it: the packet stays
		// funding, for a retry or Reconcile to settle.
		return Packet{}, fmt.Errorf("send packet %s: fund escrow: %w", p.ID, err)
	}
	if err != nil {
		st, rerr := s.resolveFunding(ctx, &p, FundingRefusal(err))
		if rerr != nil {
			return Packet{}, fmt.Errorf("send packet %s: fund escrow: %w (then: %w)", p.ID, err, rerr)
		}
		p.State = st
		if st.Status == StatusCancelled {
			return p, cancelled(&p)
		}
		return p, nil // a concurrent retry funded it after all
	}
	st, err := s.store.Open(ctx, p.ID)
	if err != nil {
		return Packet{}, fmt.Errorf("send packet %s: open: %w", p.ID, err)
	}
	p.State = st
	return p, nil
}

// resolveFunding decides a funding packet for good: open if its funding
// reached the escrow, else cancelled because of reason (the code of the
// ledger's refusal, or empty), with the funding transfer of a send still
// in flight (or retried later) fenced out (ledger.FenceFunding).
func (s *Service) resolveFunding(ctx context.Context, p *Packet, reason string) (State, error) {
	funded, err := s.l.FenceFunding(ctx, s.FundTransferID(p.ID), s.escrowAccount(p))
	switch {
	case err != nil:
		return State{}, err
	case funded:
		return s.store.Open(ctx, p.ID)
	}
	st, err := s.store.Cancel(ctx, p.ID, reason)
	if errors.Is(err, ErrAlreadyFunded) {
		// Funded, fully claimed and paid between the lookup and the close:
		// the escrow was empty, as it is for any finished packet.
		return s.storeState(ctx, p.ID)
	}
	return st, err
}

func (s *Service) storeState(ctx context.Context, id uuid.UUID) (State, error) {
	p, err := s.store.Packet(ctx, id)
	return p.State, err
}
