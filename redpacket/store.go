package redpacket

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Store keeps packets and their claims. A store locks, loads and persists;
// every decision is one of the pure transition methods of *Packet (Validate,
// Open, Cancel, Take, MarkPosted, BeginRefund, FinishRefund, Settle), which
// the store calls with the packet locked (a row lock, a conditional update
// or a compare-and-swap), so every store behaves the same. A store never
// touches the ledger: the Service moves the money, with IDs derived from
// the same business keys, and records each confirmed step here. (The
// MemoryStore also lets the Service pay a claim inside its claim step; see
// Service.Claim. Other stores need nothing of the kind.)
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

	// Cancel applies Packet.Cancel: funding → cancelled.
	//
	// Errors: ErrPacketNotFound, ErrAlreadyFunded.
	Cancel(ctx context.Context, id uuid.UUID) (State, error)

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
}
