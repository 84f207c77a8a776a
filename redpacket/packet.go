package redpacket

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Status is where a packet stands. The zero Status is invalid.
//
//	Funding ──▶ Open ──▶ SoldOut ─────────────┐
//	   │          └────▶ Refunding ──▶ Refunded ┴─▶ (Settled)
//	   └──▶ Cancelled
type Status uint8

// Packet statuses.
const (
	// StatusFunding: recorded; the sender's money is on its way to the
	// packet's escrow account. No claims yet.
	StatusFunding Status = iota + 1
	// StatusOpen: funded; members may claim until it sells out or expires.
	StatusOpen
	// StatusSoldOut: every share is claimed.
	StatusSoldOut
	// StatusRefunding: expired with shares left; closed for claims; the
	// unclaimed remainder is on its way back to the sender.
	StatusRefunding
	// StatusRefunded: the unclaimed remainder is back with the sender.
	StatusRefunded
	// StatusCancelled: the sender's payment was refused; nothing moved and
	// nothing ever will.
	StatusCancelled
)

// String returns "funding", "open", "sold_out", "refunding", "refunded",
// "cancelled", or "Status(n)".
func (s Status) String() string {
	switch s {
	case StatusFunding:
		return "funding"
	case StatusOpen:
		return "open"
	case StatusSoldOut:
		return "sold_out"
	case StatusRefunding:
		return "refunding"
	case StatusRefunded:
		return "refunded"
	case StatusCancelled:
		return "cancelled"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Finished reports whether the packet takes no more claims and owes nothing
// more to the sender: sold out or refunded. A finished packet whose claims
// are all paid is settled by closing its escrow account.
func (s Status) Finished() bool { return s == StatusSoldOut || s == StatusRefunded }

// Packet is a red packet as a Store records it. Everything but State is
// fixed when the packet is sent.
//
// Its Shares and PasswordHash are the store's and the Service's only: the
// Service returns packets without them (Send, View), and a Packet printed
// with fmt (any verb) or encoded as JSON leaves them out.
type Packet struct {
	ID            uuid.UUID `json:"id"`
	Kind          Kind      `json:"kind"`
	Sender        uuid.UUID `json:"sender"`         // the sending user
	SenderAccount uuid.UUID `json:"sender_account"` // the wallet paid from; refunds go back to it
	// Group is the group the packet was sent to; zero for a packet to one
	// person.
	Group uuid.UUID `json:"group,omitzero"`
	// Recipient is the one user who may claim: the named member of an
	// Exclusive packet, or the friend a one-to-one packet was sent to.
	// Zero for other group packets.
	Recipient uuid.UUID `json:"recipient,omitzero"`
	// PasswordHash is a Password packet's phrase as a PasswordKey hashed
	// it (PasswordHashLen bytes): no store holds the phrase. Nil for other
	// kinds.
	PasswordHash []byte `json:"-"`
	// SenderMayGrab is Rules.SenderMayGrab when the packet was sent.
	SenderMayGrab bool         `json:"sender_may_grab"`
	Total         ledger.Money `json:"total"` // what the sender paid
	Count         int          `json:"count"` // the number of shares
	// Shares are the pre-split shares in claim order, in minor units of
	// Total's currency: claim i takes Shares[i]. Views leave them out.
	Shares    []int64   `json:"-"`
	Escrow    uuid.UUID `json:"escrow"` // the packet's own ledger account
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"` // claims are refused from this instant on

	State
}

// State is the part of a Packet that changes. Stores change it only through
// the transition methods of *Packet (Open, Cancel, Take, MarkPosted,
// BeginRefund, FinishRefund, Settle), each called with the packet locked.
type State struct {
	Status  Status `json:"status"`
	Claimed int    `json:"claimed"` // shares claimed; the next claim takes Shares[Claimed]
	Posted  int    `json:"posted"`  // claims whose share has moved on the ledger (MarkPosted)
	Settled bool   `json:"settled"` // finished, every claim paid, escrow account closed
	// Reason is the errcode code of the ledger's refusal that cancelled
	// the packet ("insufficient_funds"): every answer to its send says
	// it. Empty for other statuses, and for a packet cancelled with no
	// refusal seen (Reconcile fencing a funding that never came).
	Reason string `json:"reason,omitempty"`
}

// Claim is one user's share of a packet.
type Claim struct {
	PacketID  uuid.UUID    `json:"packet_id"`
	User      uuid.UUID    `json:"user"`
	Account   uuid.UUID    `json:"account"` // the wallet the share is paid to
	Index     int          `json:"index"`   // claim order: 0 for the first claim
	Amount    ledger.Money `json:"amount"`
	ClaimedAt time.Time    `json:"claimed_at"`
	// Posted: the share has moved from escrow on the ledger — paid to
	// Account, or, when Account was closed before it could be paid, returned
	// to the sender (see Service.Claim).
	Posted bool `json:"posted"`
}

// ClaimResult is what Store.Claim returns.
type ClaimResult struct {
	Claim Claim `json:"claim"`
	// Existing is true when the user had claimed before: Claim is that
	// claim and nothing changed.
	Existing bool `json:"existing"`
	// State is the packet's state after the claim.
	State State `json:"state"`
}

// Cursor is a position in a store's listing of packets, which is ordered by
// expiry time, then ID. The zero Cursor is the start.
type Cursor struct {
	ExpiresAt time.Time `json:"expires_at"`
	ID        uuid.UUID `json:"id"`
}

// CursorOf returns the cursor just after p, to continue a listing.
func CursorOf(p *Packet) Cursor { return Cursor{ExpiresAt: p.ExpiresAt, ID: p.ID} }

// After reports whether p comes after c in the listing order.
func (c Cursor) After(p *Packet) bool {
	switch {
	case p.ExpiresAt.After(c.ExpiresAt):
		return true
	case p.ExpiresAt.Before(c.ExpiresAt):
		return false
	}
	return lessUUID(c.ID, p.ID)
}

func lessUUID(a, b uuid.UUID) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// Validate checks a new packet before a store records it: non-zero IDs,
// a valid kind, Count = len(Shares) ≥ 1, every share ≥ 1 and the shares
// summing to Total, a currency, ExpiresAt after CreatedAt, both to the
// microsecond (as ledger.Timestamp makes them, so that every store keeps
// them exactly), a State of StatusFunding with nothing claimed, and a
// PasswordHash of PasswordHashLen bytes on a Password packet, none on
// others.
//
// Errors: ErrInvalidPacket, saying what is wrong.
func (p *Packet) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: packet %s: %s", ErrInvalidPacket, p.ID, fmt.Sprintf(format, args...))
	}
	switch {
	case p.ID == uuid.Nil:
		return bad("no ID")
	case !p.Kind.valid():
		return bad("kind %v", p.Kind)
	case p.Sender == uuid.Nil || p.SenderAccount == uuid.Nil || p.Escrow == uuid.Nil:
		return bad("no sender, sender account or escrow account")
	case p.Total.Currency().IsZero():
		return bad("no currency")
	case p.Count < 1 || p.Count != len(p.Shares):
		return bad("count %d with %d shares", p.Count, len(p.Shares))
	case !p.ExpiresAt.After(p.CreatedAt):
		return bad("expires at %v, not after its creation at %v", p.ExpiresAt, p.CreatedAt)
	case !p.CreatedAt.Equal(ledger.Timestamp(p.CreatedAt)) || !p.ExpiresAt.Equal(ledger.Timestamp(p.ExpiresAt)):
		return bad("times not to the microsecond (ledger.Timestamp)")
	case p.State != State{Status: StatusFunding}:
		return bad("state %+v, want a new packet in status funding", p.State)
	case p.Kind == Password && len(p.PasswordHash) != PasswordHashLen:
		return bad("password hash of %d bytes, want %d", len(p.PasswordHash), PasswordHashLen)
	case p.Kind != Password && p.PasswordHash != nil:
		return bad("a password hash on a %v packet", p.Kind)
	}
	var sum int64
	for i, s := range p.Shares {
		if s < 1 {
			return bad("share %d is %d", i, s)
		}
		sum += s
		if sum < 0 {
			return bad("shares overflow")
		}
	}
	if sum != p.Total.Units() {
		return bad("shares sum to %d, total %d", sum, p.Total.Units())
	}
	return nil
}

// Remaining returns the number of shares not yet claimed.
func (p *Packet) Remaining() int { return p.Count - p.Claimed }

// RemainingAmount returns the amount not yet claimed. For a packet that is
// refunding or refunded it is the refund.
func (p *Packet) RemainingAmount() ledger.Money {
	var claimed int64
	for _, s := range p.Shares[:p.Claimed] {
		claimed += s
	}
	return ledger.NewMoney(p.Total.Units()-claimed, p.Total.Currency())
}

// Refund returns the unclaimed remainder a refunding or refunded packet
// gives back to the sender, and the zero Money for any other status.
func (p *Packet) Refund() ledger.Money {
	if p.Status != StatusRefunding && p.Status != StatusRefunded {
		return ledger.NewMoney(0, p.Total.Currency())
	}
	return p.RemainingAmount()
}

// Open marks a funded packet open for claims. It reports whether the state
// changed: opening an open packet, or one that has moved on, changes
// nothing.
//
// Errors: ErrPacketCancelled.
func (p *Packet) Open() (bool, error) {
	switch p.Status {
	case StatusFunding:
		p.Status = StatusOpen
		return true, nil
	case StatusCancelled:
		return false, fmt.Errorf("open packet %s: %w", p.ID, ErrPacketCancelled)
	}
	return false, nil
}

// Cancel marks a packet whose funding was refused as cancelled, because of
// reason (State.Reason: the refusal's errcode code, or empty). Cancelling
// a cancelled packet changes nothing: it keeps its first reason.
//
// Errors: ErrAlreadyFunded.
func (p *Packet) Cancel(reason string) (bool, error) {
	switch p.Status {
	case StatusFunding:
		p.Status, p.Reason = StatusCancelled, reason
		return true, nil
	case StatusCancelled:
		return false, nil
	}
	return false, fmt.Errorf("cancel packet %s (%v): %w", p.ID, p.Status, ErrAlreadyFunded)
}

// FundingRefusal is the reason a packet whose funding the ledger refused
// is cancelled with (Packet.Cancel): the refusal's error code (errcode),
// such as "insufficient_funds", or empty when it has none.
func FundingRefusal(err error) string {
	if e, ok := errors.AsType[*errcode.Error](err); ok {
		return e.Code()
	}
	return ""
}

// Take is the claim rule: it hands the next share to user, paid to
// account, at time now, and returns the new claim (not yet posted, claimed
// at ledger.Timestamp(now)). The store has already made sure user has no
// claim on p.
//
// Errors, checked in this order: ErrNotFunded, ErrPacketCancelled,
// ErrRefunded (refunding or refunded), ErrSoldOut, ErrExpired (now is at
// or after ExpiresAt).
func (p *Packet) Take(user, account uuid.UUID, now time.Time) (Claim, error) {
	c, err := p.nextClaim(user, account, now)
	if err != nil {
		return Claim{}, err
	}
	p.take()
	return c, nil
}

// take hands out the share nextClaim returned.
func (p *Packet) take() {
	p.Claimed++
	if p.Claimed == p.Count {
		p.Status = StatusSoldOut
	}
}

// nextClaim returns the claim Take would hand out, or its error, and
// changes nothing.
func (p *Packet) nextClaim(user, account uuid.UUID, now time.Time) (Claim, error) {
	var err error
	switch {
	case p.Status == StatusFunding:
		err = ErrNotFunded
	case p.Status == StatusCancelled:
		err = ErrPacketCancelled
	case p.Status == StatusRefunding || p.Status == StatusRefunded:
		err = ErrRefunded
	case p.Status == StatusSoldOut || p.Claimed >= p.Count:
		err = ErrSoldOut
	case !now.Before(p.ExpiresAt):
		err = ErrExpired
	}
	if err != nil {
		return Claim{}, fmt.Errorf("claim packet %s: %w", p.ID, err)
	}
	return Claim{
		PacketID: p.ID, User: user, Account: account, Index: p.Claimed,
		Amount: ledger.NewMoney(p.Shares[p.Claimed], p.Total.Currency()), ClaimedAt: ledger.Timestamp(now),
	}, nil
}

// MarkPosted records that claim c's share has moved from escrow on the
// ledger (paid to the claimer, or returned to the sender). Marking a posted
// claim again changes nothing.
func (p *Packet) MarkPosted(c *Claim) bool {
	if c.Posted {
		return false
	}
	c.Posted = true
	p.Posted++
	return true
}

// BeginRefund closes an expired packet for claims and fixes its refund: the
// shares not claimed by now (RemainingAmount). Claims recorded before this
// step keep their shares, posted or not; none are taken after it. Calling
// it again on a refunding or refunded packet changes nothing, so two
// sweepers agree on one refund.
//
// Errors: ErrNotFunded, ErrPacketCancelled, ErrSoldOut (nothing to refund),
// ErrNotExpired (now is before ExpiresAt).
func (p *Packet) BeginRefund(now time.Time) (bool, error) {
	var err error
	switch p.Status {
	case StatusRefunding, StatusRefunded:
		return false, nil
	case StatusFunding:
		err = ErrNotFunded
	case StatusCancelled:
		err = ErrPacketCancelled
	case StatusSoldOut:
		err = ErrSoldOut
	case StatusOpen:
		if now.Before(p.ExpiresAt) {
			err = ErrNotExpired
		}
	}
	if err != nil {
		return false, fmt.Errorf("refund packet %s: %w", p.ID, err)
	}
	p.Status = StatusRefunding
	return true, nil
}

// FinishRefund records that the refund is confirmed on the ledger.
// Finishing a refunded packet changes nothing.
//
// Errors: ErrNotRefunding.
func (p *Packet) FinishRefund() (bool, error) {
	switch p.Status {
	case StatusRefunding:
		p.Status = StatusRefunded
		return true, nil
	case StatusRefunded:
		return false, nil
	}
	return false, fmt.Errorf("finish refund of packet %s (%v): %w", p.ID, p.Status, ErrNotRefunding)
}

// Complete reports whether a packet can be settled: finished and every
// claim paid, so its escrow account holds exactly zero.
func (s State) Complete() bool { return s.Status.Finished() && s.Posted == s.Claimed }

// Settle records that the finished packet's escrow account is closed.
// Settling a settled packet changes nothing.
//
// Errors: ErrNotFinished (not sold out or refunded, or a claim unpaid).
func (p *Packet) Settle() (bool, error) {
	if !p.Complete() {
		return false, fmt.Errorf("settle packet %s (%v, %d of %d claims paid): %w", p.ID, p.Status, p.Posted, p.Claimed, ErrNotFinished)
	}
	if p.Settled {
		return false, nil
	}
	p.Settled = true
	return true, nil
}

// NeedsReconcile reports whether a packet has work a crash may have left
// undone: funding to confirm, claims to pay, a refund to finish, or an
// escrow account to close.
func (s State) NeedsReconcile() bool {
	switch {
	case s.Status == StatusCancelled || s.Settled:
		return false
	case s.Status == StatusFunding, s.Status == StatusRefunding, s.Status.Finished():
		return true
	}
	return s.Posted < s.Claimed
}

// packetView is what a Packet shows when it is printed: all but its
// pre-split shares and its password hash (its JSON form leaves them out by
// their tags).
type packetView struct {
	ID            uuid.UUID
	Kind          Kind
	Sender        uuid.UUID
	SenderAccount uuid.UUID
	Group         uuid.UUID
	Recipient     uuid.UUID
	SenderMayGrab bool
	Total         ledger.Money
	Count         int
	Escrow        uuid.UUID
	CreatedAt     time.Time
	ExpiresAt     time.Time
	State
}

func (p *Packet) view() packetView {
	return packetView{
		ID: p.ID, Kind: p.Kind, Sender: p.Sender, SenderAccount: p.SenderAccount, Group: p.Group,
		Recipient: p.Recipient, SenderMayGrab: p.SenderMayGrab, Total: p.Total, Count: p.Count,
		Escrow: p.Escrow, CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt, State: p.State,
	}
}

// Format prints p with every fmt verb as its fields would print, but
// without its pre-split shares and its password hash, so that no log line
// shows which claim gets which share, or a hash to test guesses against
// (with a stolen key).
func (p Packet) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), p.view())
}
