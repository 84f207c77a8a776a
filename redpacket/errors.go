package redpacket

import (
	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Errors returned by this package. Each is wrapped with the values that broke
// the rule ("redpacket: share above the maximum: total 500.00 CNY is more
// than 2 shares × 200.00 CNY"); test for them with errors.Is, and answer
// them with errcode.Of (the code and class of each are in docs/errors.md).
var (
	// ErrUnknownKind: the packet kind is not one of Lucky, Normal, Exclusive, Password.
	ErrUnknownKind = errcode.New("unknown_kind", errcode.Invalid, "redpacket: unknown packet kind")
	// ErrNoShares: the share count is below 1.
	ErrNoShares = errcode.New("no_shares", errcode.Invalid, "redpacket: a packet needs at least one share")
	// ErrTooManyShares: the share count is above Rules.MaxCount (or above 1 for
	// an exclusive packet).
	ErrTooManyShares = errcode.New("too_many_shares", errcode.Invalid, "redpacket: too many shares")
	// ErrShareTooSmall: the total is below count × minimum share, so some share
	// would be below the minimum (for a normal packet: the per-share amount is).
	ErrShareTooSmall = errcode.New("share_too_small", errcode.Invalid, "redpacket: share below the minimum")
	// ErrShareTooLarge: the total is above count × maximum share, so some share
	// would be above the maximum (for a normal packet: the per-share amount is).
	ErrShareTooLarge = errcode.New("share_too_large", errcode.Invalid, "redpacket: share above the maximum")
	// ErrCountExceedsGroup: more shares than people who may claim them.
	ErrCountExceedsGroup = errcode.New("count_exceeds_group", errcode.Invalid, "redpacket: more shares than possible claimers")
	// ErrOverflow: an amount computation would overflow int64.
	ErrOverflow = errcode.New("amount_overflow", errcode.Invalid, "redpacket: amount overflows int64")
	// ErrIndivisible: an equal split was asked for a total that count does not divide.
	ErrIndivisible = errcode.New("indivisible", errcode.Invalid, "redpacket: total not divisible by the share count")
	// ErrInvalidLimits: share limits with Min < 1 or Max < Min.
	ErrInvalidLimits = errcode.New("invalid_limits", errcode.Internal, "redpacket: invalid share limits")
	// ErrInvalidRules: a Rules value that cannot be used (see Rules.Validate).
	ErrInvalidRules = errcode.New("invalid_rules", errcode.Internal, "redpacket: invalid rules")
	// ErrBadSplit: a Splitter returned shares that break a packet invariant
	// (a share outside the limits, or a sum other than the total).
	ErrBadSplit = errcode.New("bad_split", errcode.Internal, "redpacket: splitter broke a packet invariant")
	// ErrBadPassword: a password phrase that is empty, too long or not UTF-8.
	ErrBadPassword = errcode.New("invalid_password", errcode.Invalid, "redpacket: invalid password phrase")

	// Service and store errors.

	// ErrInvalidRequest: a send or claim request that is malformed (a missing
	// ID or account, a recipient where none belongs, a sender sending to
	// themselves).
	ErrInvalidRequest = errcode.New("invalid_request", errcode.Invalid, "redpacket: invalid request")
	// ErrInvalidConfig: a Config that New cannot use.
	ErrInvalidConfig = errcode.New("invalid_config", errcode.Internal, "redpacket: invalid service configuration")
	// ErrUnsupportedCurrency: no Rules for the amount's currency.
	ErrUnsupportedCurrency = errcode.New("unsupported_currency", errcode.Invalid, "redpacket: currency not offered for red packets")
	// ErrInvalidPacket: a Packet a store was asked to record breaks a packet
	// invariant (see Packet.Validate).
	ErrInvalidPacket = errcode.New("invalid_packet", errcode.Internal, "redpacket: invalid packet")
	// ErrPacketExists: a packet with this ID is already recorded.
	ErrPacketExists = errcode.New("packet_exists", errcode.Conflict, "redpacket: packet already exists")
	// ErrPacketConflict: a send reused a packet ID for a request of another
	// meaning (see docs/redpacket.md, Idempotency); the error is a
	// *ConflictError.
	ErrPacketConflict = errcode.New("idempotency_conflict", errcode.Conflict, "redpacket: packet ID reused with different content")
	// ErrPacketNotFound: no packet has this ID.
	ErrPacketNotFound = errcode.New("packet_not_found", errcode.NotFound, "redpacket: packet not found")
	// ErrClaimNotFound: the user has no claim on this packet.
	ErrClaimNotFound = errcode.New("claim_not_found", errcode.NotFound, "redpacket: claim not found")
	// ErrNotFunded: the packet is recorded but its money has not reached
	// escrow yet; it cannot be claimed.
	ErrNotFunded = errcode.New("not_funded", errcode.Unavailable, "redpacket: packet not funded yet")
	// ErrPacketCancelled: the packet was never funded (the sender's payment
	// was refused) and is cancelled; nothing moved.
	ErrPacketCancelled = errcode.New("packet_cancelled", errcode.Conflict, "redpacket: packet cancelled")
	// ErrAlreadyFunded: a packet whose money reached escrow cannot be cancelled.
	ErrAlreadyFunded = errcode.New("already_funded", errcode.Conflict, "redpacket: packet already funded")
	// ErrSoldOut: every share of the packet has been claimed.
	ErrSoldOut = errcode.New("sold_out", errcode.Conflict, "redpacket: packet sold out")
	// ErrExpired: the packet expired; it takes no more claims.
	ErrExpired = errcode.New("expired", errcode.Conflict, "redpacket: packet expired")
	// ErrRefunded: the packet's unclaimed remainder is being or has been
	// refunded to the sender; it takes no more claims.
	ErrRefunded = errcode.New("refunded", errcode.Conflict, "redpacket: packet refunded")
	// ErrNotExpired: a refund was asked for before the packet expired.
	ErrNotExpired = errcode.New("not_expired", errcode.Conflict, "redpacket: packet not expired yet")
	// ErrNotRefunding: a refund was finished for a packet that is not being refunded.
	ErrNotRefunding = errcode.New("not_refunding", errcode.Conflict, "redpacket: packet is not being refunded")
	// ErrNotFinished: a packet was settled before it was fully claimed or
	// refunded and every claim paid.
	ErrNotFinished = errcode.New("not_finished", errcode.Conflict, "redpacket: packet not finished")
	// ErrNotMember: the user is not a member of the packet's group.
	ErrNotMember = errcode.New("not_member", errcode.Forbidden, "redpacket: not a member of the group")
	// ErrNotRecipient: the packet is for someone else (an exclusive packet's
	// named member, or the friend a one-to-one packet was sent to).
	ErrNotRecipient = errcode.New("not_recipient", errcode.Forbidden, "redpacket: not the packet's recipient")
	// ErrSenderCannotGrab: the sender may not claim their own group packet
	// (Rules.SenderMayGrab is false).
	ErrSenderCannotGrab = errcode.New("sender_cannot_claim", errcode.Forbidden, "redpacket: the sender may not claim their own packet")
	// ErrWrongPassword: the claim's phrase does not match the password packet's.
	ErrWrongPassword = errcode.New("wrong_password", errcode.Forbidden, "redpacket: wrong password")
	// ErrPaymentPending: the claim is recorded (the share is the claimer's)
	// but its payment from escrow has not been confirmed; a retry of the
	// claim or Reconcile completes it. Returned together with the claim.
	ErrPaymentPending = errcode.New("payment_pending", errcode.Unavailable, "redpacket: claim recorded, payment pending")
	// ErrShareReturned: the claim is recorded, but the claimer's wallet was
	// closed before its share could be paid, so the share went back to the
	// sender (Service.ReturnTransferID) and the claim counts as settled.
	// Returned together with the claim.
	ErrShareReturned = errcode.New("share_returned", errcode.Conflict, "redpacket: claimer's wallet closed, share returned to the sender")
)

// ConflictError is the refusal of a request whose idempotency key (a send's
// packet ID) was used before for a request of another meaning. It matches
// ErrPacketConflict and ledger.ErrIdempotencyConflict.
type ConflictError struct {
	Op     string    // "send"
	Packet uuid.UUID // the packet ID, the key
	Field  string    // the first part of the meaning that differs: kind, sender, recipients, amount, count, password
}

func (e *ConflictError) Error() string {
	return e.Op + " packet " + e.Packet.String() + ": " + ErrPacketConflict.Error() + ": " + e.Field + " differs"
}

// Unwrap returns ErrPacketConflict and ledger.ErrIdempotencyConflict.
func (e *ConflictError) Unwrap() []error {
	return []error{ErrPacketConflict, ledger.ErrIdempotencyConflict}
}
