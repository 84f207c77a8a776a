package qr

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// PayingStore is a Store that moves money with its records in one atomic
// step (one transaction, or one critical section): ChargePaid counts a
// payment-code attempt, redeems the code and applies the charge;
// CompletePaid claims a dynamic code or reserves the cap, posts the
// payment's hold and settles the record. A charge is then one commit, a
// receive-code payment two (its hold, then the rest), and records and
// money never disagree. The Service uses it when PaysOn accepts its
// ledger's store; otherwise it takes the slower path of one step per store
// method (BeginTry, MarkUsed, the ledger's Transfer, EndTry; ClaimCode or
// ReserveCap, the ledger's Post, SettleCode or SettleCap).
type PayingStore interface {
	Store
	// PaysOn reports whether ChargePaid and CompletePaid apply transfers
	// on ls: the same store, or the same database and schema.
	PaysOn(ls ledger.Store) bool
	// ChargePaid makes c in one atomic step with p's rules. If the ledger
	// has a transfer of the charge's ID, it returns it (Existing) and
	// changes nothing. If c.Stale on the device of c.Try.Serial as the
	// step finds it (revoked since the code was checked), it returns
	// Stale and changes nothing. Otherwise it applies Lockout.DecideCharge to the records of c.Try's serial and merchant
	// and to the charge that redeemed the code (c.Try.Serial, c.Step), if
	// any; when the decision pays, it applies c.Transfer by the ledger's
	// rules at c.Now and, if the ledger refuses it, Lockout.ChargeRefused;
	// then it stores the records and the redemption (when the decision
	// marks the code) with the transfer's outcome. A refused transfer moves
	// nothing and leaves the code redeemed by the charge.
	//
	// Errors: ErrInvalidValue (a try without merchant or serial), and the
	// store's own; a business outcome (lockout, replay, the ledger's
	// refusal) is in the ChargeOutcome.
	ChargePaid(ctx context.Context, c ChargeStep, p Lockout) (ChargeOutcome, error)

	// CompletePaid completes a receive-code payment whose hold is made,
	// in one atomic step: under the lock of the dynamic code (or of the
	// payer's cap total of the day) it claims the code (DynamicCode.Claim)
	// or reserves the cap (CapReservation.Reserve), applies p.Post by the
	// ledger's rules at p.Now, and records the claim or reservation
	// settled with the post. A refused claim or reservation, or a refused
	// post, writes nothing (PayOutcome.Refused, PayOutcome.Err).
	//
	// Errors: ErrUnknownCode is a refusal (in the outcome); the store's
	// own errors, after which the step may or may not have committed
	// (running it again is safe).
	CompletePaid(ctx context.Context, p PayStep) (PayOutcome, error)
}

// ChargeStep is a payment-code charge for PayingStore.ChargePaid.
type ChargeStep struct {
	Try      CodeTry         // the attempt; Try.Charge is Transfer.ID
	Step     int64           // the code's time step: with Try.Serial, the code
	Transfer ledger.Transfer // the charge
	Now      time.Time       // the ledger's time of the transfer
	// Device is the device the code was checked against, as the store
	// keeps it (its secret wrapped), read before the step, maybe long
	// before: the step confirms it (Stale).
	Device Device
}

// Stale reports whether the code of c was checked against a device other
// than the one its serial names as the step finds it: d, as stored, and
// found (false when the serial has no device). A device revoked since is
// stale, and so is one whose record differs in anything else (in a store
// whose records are not edited behind its back, nothing else changes): a
// charge is decided on the device as it is at the step, whenever its code
// was checked.
func (c *ChargeStep) Stale(d Device, found bool) bool {
	e := &c.Device
	return !found || d.Revoked() || d.ID != e.ID || d.Account != e.Account || d.Serial != e.Serial ||
		!d.CreatedAt.Equal(e.CreatedAt) || !bytes.Equal(d.Secret, e.Secret)
}

// ChargeOutcome is what ChargePaid decided and did.
type ChargeOutcome struct {
	// Existing: the order was charged before; Transfer is its transfer
	// as stored, and nothing else is set.
	Existing bool
	// Stale: the step found the serial's device revoked (ChargeStep.Stale);
	// nothing is set or written.
	Stale  bool
	Try    TryResult // Lockout.Begin's decision
	Replay bool      // the code was redeemed by another charge: nothing paid
	// Paid: the transfer was applied, now or before (Transfer is as
	// stored). Refused: Err is the ledger's refusal (a
	// *ledger.TransferError).
	Paid     bool
	Transfer ledger.Transfer
	Err      error
}

// ChargeDecision is what DecideCharge decided.
type ChargeDecision struct {
	Try    TryResult // Lockout.Begin's decision on the attempt
	Replay bool      // the code was redeemed by another charge
	Mark   bool      // record the code redeemed by this charge (it is not yet)
	Pay    bool      // apply the charge's transfer
}

// DecideCharge decides a charge of a checked payment code in one step, on
// the records of its serial and merchant and usedBy, the charge that
// redeemed the code (uuid.Nil when none): the decision the slower path
// makes in BeginTry, MarkUsed and EndTry. Begin decides the attempt; an
// attempt allowed and within the device's day pays, unless another charge
// redeemed the code (Replay, and the day's reservation is given back).
// The code is marked redeemed by this charge if it is not yet: a retry of
// the charge with the same code pays (or finds its payment).
func (p Lockout) DecideCharge(s SerialRecord, m MerchantRecord, t CodeTry, usedBy uuid.UUID) (SerialRecord, MerchantRecord, ChargeDecision) {
	s, m, r := p.Begin(s, m, t)
	d := ChargeDecision{Try: r}
	if r.Outcome != TryAllowed || r.OverCap {
		return s, m, d
	}
	if usedBy != uuid.Nil && usedBy != t.Charge {
		d.Replay = true
		if r.Reserved {
			s, m = p.End(s, m, t, TryEnd{})
		}
		return s, m, d
	}
	d.Mark, d.Pay = usedBy == uuid.Nil, true
	return s, m, d
}

// ChargeRefused returns the records to keep after the ledger refused the
// transfer of a charge d decided to pay: the device's day gives back what
// the attempt reserved, unless the ledger has a transfer of the charge's
// ID (charged: the order was charged by a duplicate, with another code),
// as the slower path does. The code stays redeemed by the charge: the
// phone shows a new code every step, and the merchant's retry of the order
// may pay with this one.
func (p Lockout) ChargeRefused(s SerialRecord, m MerchantRecord, t CodeTry, d ChargeDecision, charged bool) (SerialRecord, MerchantRecord) {
	if !d.Pay || !d.Try.Reserved || charged {
		return s, m
	}
	return p.End(s, m, t, TryEnd{})
}

// PayStep completes a receive-code payment whose hold is made, for
// PayingStore.CompletePaid: the claim of its dynamic code or its
// reservation against the daily cap, the post of its hold, and the record
// settled.
type PayStep struct {
	Payment uuid.UUID // the payment: its hold's ID
	// Code is the dynamic code the payment claims; uuid.Nil for a static
	// payment.
	Code uuid.UUID
	// Reservation, when its Payment is set, counts a static payment
	// against Limit.
	Reservation CapReservation
	Limit       ledger.Money
	At          time.Time       // the claim's time: the hold's
	Post        ledger.Transfer // the transfer that posts the hold
	Now         time.Time       // the ledger's time of Post
}

// PayOutcome is what CompletePaid decided.
type PayOutcome struct {
	// Refused: the claim or the reservation was refused (ErrCodePaid,
	// ErrDailyCap, ErrReservationConflict, ErrUnknownCode…); nothing
	// was written.
	Refused error
	// Err: the ledger refused Post (a *ledger.TransferError); nothing was
	// written.
	Err error
	// Posted is the post as stored (made now or before) when neither is
	// set.
	Posted ledger.Transfer
}

// Claim decides a claim of c by payment at: the code to store, and
// whether it changed. A claim by the payment holding the code changes
// nothing; a code held by another payment is ErrCodePaid.
//
// Errors: ErrInvalidValue (no payment), ErrCodePaid.
func (c DynamicCode) Claim(payment uuid.UUID, at time.Time) (DynamicCode, bool, error) {
	switch {
	case payment == uuid.Nil:
		return c, false, fmt.Errorf("qr: claim without a payment: %w", ErrInvalidValue)
	case c.Payment == payment:
		return c, false, nil
	case c.Payment != uuid.Nil:
		return c, false, fmt.Errorf("%w: %s", ErrCodePaid, c.ID)
	}
	c.Payment, c.ClaimedAt = payment, at
	return c, true, nil
}

// Settle decides the settlement of payment's claim on c: the code to
// store, and whether it changed.
//
// Errors: ErrClaimLost (payment does not hold the code).
func (c DynamicCode) Settle(payment uuid.UUID) (DynamicCode, bool, error) {
	if c.Payment != payment || payment == uuid.Nil {
		return c, false, fmt.Errorf("%w: %s", ErrClaimLost, c.ID)
	}
	changed := !c.Settled
	c.Settled = true
	return c, changed, nil
}
