package redpacket

import (
	"errors"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// Errors returned by this package. Each is wrapped with the values that broke
// the rule ("redpacket: too many shares: count 101, maximum 100"); test for
// them with errors.Is.
var (
	// ErrUnknownKind: the packet kind is not one of Lucky, Normal, Exclusive, Password.
	ErrUnknownKind = errors.New("redpacket: unknown packet kind")
	// ErrNoShares: the share count is below 1.
	ErrNoShares = errors.New("redpacket: a packet needs at least one share")
	// ErrTooManyShares: the share count is above Rules.MaxCount (or above 1 for
	// an exclusive packet).
	ErrTooManyShares = errors.New("redpacket: too many shares")
	// ErrShareTooSmall: the total is below count × minimum share, so some share
	// would be below the minimum (for a normal packet: the per-share amount is).
	ErrShareTooSmall = errors.New("redpacket: share below the minimum")
	// ErrShareTooLarge: the total is above count × maximum share, so some share
	// would be above the maximum (for a normal packet: the per-share amount is).
	ErrShareTooLarge = errors.New("redpacket: share above the maximum")
	// ErrCountExceedsGroup: more shares than people who may claim them.
	ErrCountExceedsGroup = errors.New("redpacket: more shares than possible claimers")
	// ErrOverflow: an amount computation would overflow int64.
	ErrOverflow = errors.New("redpacket: amount overflows int64")
	// ErrIndivisible: an equal split was asked for a total that count does not divide.
	ErrIndivisible = errors.New("redpacket: total not divisible by the share count")
	// ErrInvalidLimits: share limits with Min < 1 or Max < Min.
	ErrInvalidLimits = errors.New("redpacket: invalid share limits")
	// ErrInvalidRules: a Rules value that cannot be used (see Rules.Validate).
	ErrInvalidRules = errors.New("redpacket: invalid rules")
	// ErrBadSplit: a Splitter returned shares that break a packet invariant
	// (a share outside the limits, or a sum other than the total).
	ErrBadSplit = errors.New("redpacket: splitter broke a packet invariant")
	// ErrBadPassword: a password phrase that is empty, too long or not UTF-8.
	ErrBadPassword = errors.New("redpacket: invalid password phrase")

	// Service and store errors.

	// ErrInvalidRequest: a send or claim request that is malformed (a missing
	// ID or account, a recipient where none belongs, a sender sending to
	// themselves).
	ErrInvalidRequest = errors.New("redpacket: invalid request")
	// ErrInvalidConfig: a Config that New cannot use.
	ErrInvalidConfig = errors.New("redpacket: invalid service configuration")
	// ErrUnsupportedCurrency: no Rules for the amount's currency.
	ErrUnsupportedCurrency = errors.New("redpacket: currency not offered for red packets")
	// ErrInvalidPacket: a Packet a store was asked to record breaks a packet
	// invariant (see Packet.Validate).
	ErrInvalidPacket = errors.New("redpacket: invalid packet")
	// ErrPacketExists: a packet with this ID is already recorded.
	ErrPacketExists = errors.New("redpacket: packet already exists")
	// ErrPacketConflict: a send reused a packet ID for a request of another
	// meaning (see the package doc); the error is a *ConflictError.
	ErrPacketConflict = errors.New("redpacket: packet ID reused with different content")
	// ErrPacketNotFound: no packet has this ID.
	ErrPacketNotFound = errors.New("redpacket: packet not found")
	// ErrClaimNotFound: the user has no claim on this packet.
	ErrClaimNotFound = errors.New("redpacket: claim not found")
	// ErrNotFunded: the packet is recorded but its money has not reached
	// escrow yet; it cannot be claimed.
	ErrNotFunded = errors.New("redpacket: packet not funded yet")
	// ErrPacketCancelled: the packet was never funded (the sender's payment
	// was refused) and is cancelled; nothing moved.
	ErrPacketCancelled = errors.New("redpacket: packet cancelled")
	// ErrAlreadyFunded: a packet whose money reached escrow cannot be cancelled.
	ErrAlreadyFunded = errors.New("redpacket: packet already funded")
	// ErrSoldOut: every share of the packet has been claimed.
	ErrSoldOut = errors.New("redpacket: packet sold out")
	// ErrExpired: the packet expired; it takes no more claims.
	ErrExpired = errors.New("redpacket: packet expired")
	// ErrRefunded: the packet's unclaimed remainder is being or has been
	// refunded to the sender; it takes no more claims.
	ErrRefunded = errors.New("redpacket: packet refunded")
	// ErrNotExpired: a refund was asked for before the packet expired.
	ErrNotExpired = errors.New("redpacket: packet not expired yet")
	// ErrNotRefunding: a refund was finished for a packet that is not being refunded.
	ErrNotRefunding = errors.New("redpacket: packet is not being refunded")
	// ErrNotFinished: a packet was settled before it was fully claimed or
	// refunded and every claim paid.
	ErrNotFinished = errors.New("redpacket: packet not finished")
	// ErrNotMember: the user is not a member of the packet's group.
	ErrNotMember = errors.New("redpacket: not a member of the group")
	// ErrNotRecipient: the packet is for someone else (an exclusive packet's
	// named member, or the friend a one-to-one packet was sent to).
	ErrNotRecipient = errors.New("redpacket: not the packet's recipient")
	// ErrSenderCannotGrab: the sender may not claim their own group packet
	// (Rules.SenderMayGrab is false).
	ErrSenderCannotGrab = errors.New("redpacket: the sender may not claim their own packet")
	// ErrWrongPassword: the claim's phrase does not match the password packet's.
	ErrWrongPassword = errors.New("redpacket: wrong password")
	// ErrPaymentPending: the claim is recorded (the share is the claimer's)
	// but its payment from escrow has not been confirmed; a retry of the
	// claim or Reconcile completes it. Returned together with the claim.
	ErrPaymentPending = errors.New("redpacket: claim recorded, payment pending")
	// ErrShareReturned: the claim is recorded, but the claimer's wallet was
	// closed before its share could be paid, so the share went back to the
	// sender (Service.ReturnTransferID) and the claim counts as settled.
	// Returned together with the claim.
	ErrShareReturned = errors.New("redpacket: claimer's wallet closed, share returned to the sender")
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
