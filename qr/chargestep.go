package qr

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// ChargingStore is a Store that charges a payment code in one atomic step:
// the attempt counted, the code redeemed and the charge's ledger transfer
// applied together (one transaction, or one critical section), so that a
// charge is one commit and the code, the device's day and the money never
// disagree. The Service uses it when PaysOn accepts its ledger's store;
// otherwise it takes the slower path of one step per store method
// (BeginTry, MarkUsed, ledger.Ledger.Transfer, EndTry).
type ChargingStore interface {
	Store
	// PaysOn reports whether ChargePaid applies transfers on ls: the same
	// store, or the same database and schema.
	PaysOn(ls ledger.Store) bool
	// ChargePaid makes c in one atomic step with p's rules. If the ledger
	// has a transfer of the charge's ID, it returns it (Existing) and
	// changes nothing. Otherwise it applies Lockout.DecideCharge to the records of c.Try's serial and merchant
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
}

// ChargeStep is a payment-code charge for ChargingStore.ChargePaid.
type ChargeStep struct {
	Try      CodeTry         // the attempt; Try.Charge is Transfer.ID
	Step     int64           // the code's time step: with Try.Serial, the code
	Transfer ledger.Transfer // the charge
	Now      time.Time       // the ledger's time of the transfer
}

// ChargeOutcome is what ChargePaid decided and did.
type ChargeOutcome struct {
	// Existing: the order was charged before; Transfer is its transfer
	// as stored, and nothing else is set.
	Existing bool
	Try      TryResult // Lockout.Begin's decision
	Replay   bool      // the code was redeemed by another charge: nothing paid
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
