package transfer

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// PayingStore is a Store that also makes a new record's ledger transfer in
// the step that creates the record: one transaction on a database, one
// critical section in memory. The Service sends through CreatePaid when
// PaysOn accepts its ledger's store (a ledger.GroupCommit is looked
// through); otherwise it creates, pays and marks in three steps (see
// Service.Send).
//
// With the record and the money committed together, the record never
// waits for its ledger transfer: a record CreatePaid stores is settled (an
// immediate transfer), pending with its hold placed (a delayed or chat
// transfer), or failed with nothing moved, and no attempt at its ledger
// transfer is in flight (Attempts is 0).
type PayingStore interface {
	Store
	// PaysOn reports whether CreatePaid applies transfers on ls: the same
	// store, or one this store shares a transaction with.
	PaysOn(ls ledger.Store) bool
	// RefundsOn reports whether CreatePaid and ResolvePaid can give a
	// settled payment's lookup refund (TransitionEffects.LookupRefund:
	// what Limiter.PaymentSettled gives) to lim's buckets in their own
	// step: lim keeps its buckets where this store keeps its records
	// (package postgres's LookupLimiter on the store's database and
	// schema). The Service asks once, in New, and then passes lim as
	// those calls' refund; otherwise it passes nil and calls
	// PaymentSettled itself after a settlement.
	RefundsOn(lim Limiter) bool
	// CreatePaid does what Create does and, in the same atomic step, when
	// DecideCreate creates the record, applies pay (the record's ledger
	// transfer: PaymentOf) on the ledger store PaysOn accepts at the
	// ledger's time now, and stores the record as ApplyPaid decides with
	// the ledger's answer: settled or pending with the amount counted in
	// the payer's daily total, or failed with the refusal's failure code,
	// nothing moved and nothing counted. A retry finds the stored record,
	// whatever its state, and changes nothing (created is false). With
	// refund (a Limiter RefundsOn accepts; nil otherwise), a record that
	// settles with ApplyPaid's LookupRefund gives the payer's bucket its
	// refund in the same step (RateConfig.Refunded).
	//
	// Errors: those of Create; the ledger's refusal when it is no failure
	// (see FailureCode: an invalid transfer, an ID the ledger holds with
	// other content; a *ledger.TransferError), with nothing stored and
	// nothing moved; and the store's own errors, after which the record
	// and its transfer may or may not be stored (together).
	CreatePaid(ctx context.Context, rec Record, limits Limits, pay ledger.Transfer, refund Limiter, now time.Time) (stored Record, created bool, err error)
	// ResolvePaid moves record id out of StatePending to state to with
	// reason (ApplyTransition, with its effects on the totals) and, in the
	// same atomic step, applies t — the post or void of the record's hold —
	// on the ledger store PaysOn accepts, at the ledger's time now (also
	// the record's ResolvedAt). applied says whether t was applied now
	// rather than found applied under its ID. With refund, as
	// CreatePaid: a transition with LookupRefund gives the payer's
	// bucket its refund in the same step.
	//
	// When ApplyTransition refuses, nothing is applied: it returns the
	// record as it is with the rule's error. When the ledger refuses t
	// (the hold resolved otherwise, expired or absent), nothing changes:
	// it returns the record as it is with the refusal.
	//
	// Errors: ErrRecordNotFound, ErrStateConflict (*StateError),
	// ErrInvalidTransition; the ledger's refusal (a *ledger.TransferError);
	// and the store's own errors, after which the transition and t may or
	// may not be stored (together).
	ResolvePaid(ctx context.Context, id uuid.UUID, t ledger.Transfer, to State, reason string, refund Limiter, now time.Time) (rec Record, applied bool, err error)
}

// PaymentOf returns the ledger transfer that takes the payer's money for
// r, under r's ID: the payment of an immediate transfer, or the hold
// (ledger.KindPending) of a delayed or chat transfer; a chat transfer's
// hold times out after chatTimeout, so that the payer's money comes back
// even if no sweep ever runs. code is the transfer's Code.
func PaymentOf(r *Record, code uint16, chatTimeout time.Duration) ledger.Transfer {
	t := ledger.Transfer{
		ID:              r.ID,
		DebitAccountID:  r.From,
		CreditAccountID: r.Payee.Account,
		Amount:          r.Amount,
		Code:            code,
	}
	if r.Arrival.held() {
		t.Kind = ledger.KindPending
		if r.Arrival == ArriveOnAccept {
			t.Timeout = chatTimeout
		}
	}
	return t
}

// ApplyPaid decides a new record whose ledger transfer was applied in the
// step that creates it (PayingStore.CreatePaid): r is as DecideCreate
// left it, refusal the ledger's answer to PaymentOf(r) (nil: applied, or
// found applied under its ID), at the ledger's time.
//
//   - applied: an immediate transfer is settled at at (the payer and
//     payee now count as having settled: SettledPair); a delayed or chat
//     transfer stays pending with its hold placed. Either counts its
//     amount in the payer's daily total (DailyDelta).
//   - refused with a failure code (FailureCode): failed at at with the
//     code as reason; nothing moved, so nothing counts (DailyDelta 0).
//
// No attempt is in flight either way: Attempts is 0.
//
// Errors: refusal itself when it is no failure code (the store stores
// nothing); ErrInvalidTransition when r is not a new pending record.
func ApplyPaid(r *Record, refusal error, at time.Time) (TransitionEffects, error) {
	var fx TransitionEffects
	if r.State != StatePending || !r.ResolvedAt.IsZero() {
		return fx, fmt.Errorf("%w: paying %s transfer %s as it is created", ErrInvalidTransition, r.State, r.ID)
	}
	if refusal != nil {
		code, ok := FailureCode(refusal)
		if !ok {
			return fx, refusal
		}
		r.State, r.Reason, r.ResolvedAt, r.Attempts = StateFailed, code, ledgerTime(at), 0
		return fx, nil
	}
	r.Attempts = 0
	fx.DailyDelta = r.Amount.Units()
	if !r.Arrival.held() {
		r.State, r.ResolvedAt = StateSettled, ledgerTime(at)
		fx.SettledPair, fx.LookupRefund = true, r.Refund
	}
	return fx, nil
}
