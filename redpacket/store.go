package redpacket

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// Store keeps packets and their claims. A store locks, loads and persists;
// every decision is one of the pure transition methods of *Packet (Validate,
// Open, Cancel, Take, MarkPosted, BeginRefund, FinishRefund, Settle), which
// the store calls with the packet locked (a row lock, a conditional update
// or a compare-and-swap), so every store behaves the same. A store never
// touches the ledger: the Service moves the money, with IDs derived from
// the same business keys, and records each confirmed step here. (A store
// that shares a transaction or a lock with the ledger's store pays a claim
// inside its claim step as a PayingStore: the MemoryStore built with a
// ledger, package postgres's on the ledger's database. Other stores need
// nothing of the kind.)
//
// Implementations must be safe for concurrent use and pass
// redpackettest.Run. Claims on one packet are serialized by that packet
// alone: claims on different packets must not wait for each other.
//
// The error return of every method wraps the sentinels listed, or reports
// the store itself failing (context cancelled, database unreachable), in
// which case nothing changed unless the store says otherwise.
type Store interface {
	// CreatePacket records a new packet (p.Validate must pass: status
	// funding, nothing claimed). If a packet with p.ID exists, it returns
	// the stored packet with ErrPacketExists and changes nothing.
	//
	// Errors: ErrInvalidPacket, ErrPacketExists.
	CreatePacket(ctx context.Context, p Packet) (Packet, error)

	// Packet returns a packet with its state.
	//
	// Errors: ErrPacketNotFound.
	Packet(ctx context.Context, id uuid.UUID) (Packet, error)

	// Open applies Packet.Open: funding → open.
	//
	// Errors: ErrPacketNotFound, ErrPacketCancelled.
	Open(ctx context.Context, id uuid.UUID) (State, error)

	// Cancel applies Packet.Cancel: funding → cancelled, recording reason
	// (State.Reason) with it.
	//
	// Errors: ErrPacketNotFound, ErrAlreadyFunded.
	Cancel(ctx context.Context, id uuid.UUID, reason string) (State, error)

	// Claim gives user a share of the packet in one atomic step: if user
	// already has a claim on it, that claim is returned with Existing set
	// and nothing changes (whatever the packet's status); otherwise
	// Packet.Take hands out Shares[Claimed] and the claim is recorded, with
	// (packet, user) unique. Two concurrent claims never get the same
	// share, and a user never gets two.
	//
	// Errors: ErrPacketNotFound, and those of Packet.Take: ErrNotFunded,
	// ErrPacketCancelled, ErrRefunded, ErrSoldOut, ErrExpired.
	Claim(ctx context.Context, id, user, account uuid.UUID, now time.Time) (ClaimResult, error)

	// Claims returns the packet's claims in claim order.
	//
	// Errors: ErrPacketNotFound.
	Claims(ctx context.Context, id uuid.UUID) ([]Claim, error)

	// MarkPosted applies Packet.MarkPosted to user's claim: its share has
	// moved on the ledger (paid to the claimer, or returned to the sender).
	// It returns the packet's state after.
	//
	// Errors: ErrPacketNotFound, ErrClaimNotFound.
	MarkPosted(ctx context.Context, id, user uuid.UUID) (State, error)

	// BeginRefund applies Packet.BeginRefund at time now, atomically with
	// respect to Claim: every claim is either recorded before it (and keeps
	// its share) or refused after it. It returns the packet, whose
	// RemainingAmount is then the refund. Concurrent calls agree on one
	// refund.
	//
	// Errors: ErrPacketNotFound, and those of Packet.BeginRefund:
	// ErrNotFunded, ErrPacketCancelled, ErrSoldOut, ErrNotExpired.
	BeginRefund(ctx context.Context, id uuid.UUID, now time.Time) (Packet, error)

	// FinishRefund applies Packet.FinishRefund: the refund is confirmed on
	// the ledger.
	//
	// Errors: ErrPacketNotFound, ErrNotRefunding.
	FinishRefund(ctx context.Context, id uuid.UUID) (State, error)

	// Settle applies Packet.Settle: the finished packet's escrow account is
	// closed. A settled packet is no longer listed by Unsettled.
	//
	// Errors: ErrPacketNotFound, ErrNotFinished.
	Settle(ctx context.Context, id uuid.UUID) (State, error)

	// Expired returns up to limit packets that are open or refunding and
	// whose ExpiresAt is at or before now, in (ExpiresAt, ID) order,
	// strictly after cursor. It returns fewer than limit only when no more
	// qualify.
	Expired(ctx context.Context, now time.Time, after Cursor, limit int) ([]Packet, error)

	// Unsettled returns up to limit packets for which State.NeedsReconcile
	// holds, in (ExpiresAt, ID) order, strictly after cursor. It returns
	// fewer than limit only when no more qualify.
	Unsettled(ctx context.Context, after Cursor, limit int) ([]Packet, error)

	// Packets returns up to limit packets, whatever their status, in
	// (ExpiresAt, ID) order, strictly after cursor: the listing
	// Service.Check audits. It returns fewer than limit only when no more
	// qualify.
	Packets(ctx context.Context, after Cursor, limit int) ([]Packet, error)
}

// PayingStore is a Store that can also record a claim and pay its share on
// the ledger in one atomic step: one database transaction, when the store
// and the ledger's store are one database; one critical section, under
// the packet's lock, for a MemoryStore built with the ledger. A claim then
// costs one commit instead of a claim, a payment and a paid mark, with no
// wallet read before it.
// The store still decides nothing itself: Packet.Take hands out the share,
// the ledger's pure rules (ledger.ApplyBatch) decide the payment, and
// Packet.MarkPosted records it.
//
// The Service uses ClaimPaid for its claims only when PaysOn accepts its
// ledger's store (or the store a ledger.GroupCommit wraps).
type PayingStore interface {
	Store

	// PaysOn reports whether ClaimPaid writes its payments to ls, the
	// ledger store the Service pays on (the same database and schema):
	// only then are its claims and their payments one step.
	PaysOn(ls ledger.Store) bool

	// ClaimPaid is Claim and the payment of the claim's share in one
	// atomic step. If user already has a claim on the packet, that claim
	// is returned with Existing set and nothing changes (whatever the
	// packet's status; the claim may be unposted: paying it is the
	// caller's). Otherwise Packet.Take hands out the next share, and
	// payment(claim) is the ledger transfer that pays it, applied at the
	// ledger's time paidAt by the ledger's rules on the store PaysOn
	// accepted (a transfer of the same ID and content applied before counts
	// as paid). If the ledger refuses the payment, nothing is recorded and
	// no share is taken: the error is the ledger's refusal. Otherwise the
	// claim is recorded posted (Packet.MarkPosted) in the same commit as
	// the transfer; a claim that completes the packet (State.Complete)
	// also closes its escrow account, at zero, and records the packet
	// settled (Packet.Settle) in that step. The accounts and the ID of payment's transfer must
	// depend on the claim's packet, user and account only, not on its share
	// (the store may ask for them before it knows the share, to lock them).
	//
	// Errors: those of Claim (ErrPacketNotFound, ErrNotFunded,
	// ErrPacketCancelled, ErrRefunded, ErrSoldOut, ErrExpired); the
	// ledger's refusal of the payment, a *ledger.TransferError
	// (ledger.Refused) wrapping its reason, such as a *ledger.AccountError
	// with ledger.ErrAccountNotFound, ErrAccountClosed, ErrAccountFrozen,
	// or ledger.ErrCurrencyMismatch; or the store failing, after which the
	// claim may or may not be recorded and paid (claiming again returns
	// it).
	ClaimPaid(ctx context.Context, id, user, account uuid.UUID, now, paidAt time.Time, payment func(Claim) ledger.Transfer) (ClaimResult, error)

	// SendPaid is CreatePacket and the packet's funding in one atomic
	// step. If a packet with p's ID exists, it is returned with
	// ErrPacketExists and nothing changes. Otherwise p (status funding)
	// is recorded, the escrow account created (an identical one may
	// exist) and fund, the transfer sender → escrow, applied by the
	// ledger's rules at the ledger's time paidAt: applied (or applied
	// before), the packet is recorded open (Packet.Open); refused, it is
	// recorded cancelled with FundingRefusal's reason (Packet.Cancel),
	// no money moved and no escrow account left open. The packet is
	// returned as recorded.
	//
	// Errors: those of CreatePacket; ledger.ValidateAccount's and
	// ledger.ValidateTransfer's, recording nothing; or the store failing,
	// after which the packet may or may not be recorded, funding or
	// funded (sending again finds it).
	SendPaid(ctx context.Context, p Packet, escrow ledger.Account, fund ledger.Transfer, paidAt time.Time) (Packet, error)

	// RefundPaid is BeginRefund, the refund's payment and FinishRefund in
	// one atomic step. Packet.BeginRefund(now) decides first (its errors
	// change nothing). A refunding packet with a remainder
	// (RemainingAmount) then has refund(packet), the transfer escrow →
	// sender, applied by the ledger's rules at the ledger's time paidAt:
	// applied (or applied before), or with no remainder, the packet is
	// recorded refunded (Packet.FinishRefund); refused, it is recorded
	// refunding (closed for claims) and returned with the refusal (a
	// *ledger.TransferError), for Reconcile to finish. A refunded packet
	// is returned as it is. The accounts and ID of refund's transfer must
	// depend on the packet only.
	//
	// Errors: those of BeginRefund; the ledger's refusal, with the packet;
	// or the store failing, after which the packet may or may not be
	// refunding or refunded.
	RefundPaid(ctx context.Context, id uuid.UUID, now, paidAt time.Time, refund func(Packet) ledger.Transfer) (Packet, error)
}
