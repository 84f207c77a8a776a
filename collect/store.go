package collect

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// Cursor pages a listing: the (time, ID) of the last request of the page
// before; the zero Cursor starts from the beginning.
type Cursor struct {
	At time.Time `json:"at"`
	ID uuid.UUID `json:"id"`
}

// PayStep is one member's payment as the Service hands it to Store.Pay.
type PayStep struct {
	Member  uuid.UUID
	Account uuid.UUID // the member's wallet
	Amount  int64     // what the member means to pay: must be their share
	Now     time.Time // the Service's clock: the payment's time
	// Ledger is where the share moves, by Transfer: Account → the
	// requester's account, the share's amount, ID Service.TransferID.
	Ledger   *ledger.Ledger
	Transfer ledger.Transfer
}

// PayResult is what Store.Pay did.
type PayResult struct {
	Request  Request `json:"request"`  // after the step
	Share    Share   `json:"share"`    // the member's share, paid
	Existing bool    `json:"existing"` // it was paid before: nothing moved now
}

// Pay is the payment transition, for stores: with r locked, CheckPay
// decides; a share paid before is returned with Existing; otherwise the
// step's transfer is checked to be the share's, move makes it on the
// ledger (through step.Ledger, or in the store's own transaction when the
// store and the ledger share one), and only if move returns nil is the
// share recorded paid (RecordPaid). changed reports whether r changed.
//
// Errors: those of CheckPay; ErrInvalidRequest (a transfer other than the
// share's); and move's error, as is, with r unchanged.
func (r *Request) Pay(step *PayStep, move func() error) (res PayResult, changed bool, err error) {
	i, existing, err := r.CheckPay(step.Member, step.Amount, step.Now)
	if err != nil {
		return PayResult{}, false, err
	}
	if existing {
		return PayResult{Request: r.Clone(), Share: r.Shares[i], Existing: true}, false, nil
	}
	t := &step.Transfer
	if t.ID == uuid.Nil || t.Kind != ledger.KindImmediate || t.DebitAccountID != step.Account || t.CreditAccountID != r.Account ||
		t.Amount != r.Money(r.Shares[i].Amount) {
		return PayResult{}, false, r.shareError(step.Member, fmt.Errorf("%w: transfer %s is not the share's payment", ErrInvalidRequest, t.ID))
	}
	if err := move(); err != nil {
		return PayResult{}, false, err
	}
	if _, err := r.RecordPaid(step.Member, step.Account, t.ID, step.Now); err != nil {
		return PayResult{}, false, err
	}
	return PayResult{Request: r.Clone(), Share: r.Shares[i]}, true, nil
}

// Store keeps requests and their shares. A store locks, loads and
// persists; every decision is one of the pure transitions of *Request
// (Validate, Pay, RecordPaid, Decline, Close, Expire, Remind,
// MarkReconciled), which the store calls with the request locked, so every
// store behaves the same.
//
// Pay is the one step that moves money: with the request locked, the
// share's transfer is made on the ledger and the share recorded paid only
// if it went through, so a payment and a close (or the expiry sweep) are
// ordered by the request's lock: a payment either lands while the request
// is open and is counted, or finds it closed and moves nothing.
//
// Implementations must be safe for concurrent use by many goroutines and,
// for a shared database, many processes, and pass collecttest.Run. The
// error return of every method wraps the sentinels listed, or reports the
// store itself failing (context cancelled, database unreachable), in which
// case nothing changed unless the method says otherwise.
type Store interface {
	// CreateRequest records a new request (r.Validate must pass: open,
	// every share pending or own). If a request with r.ID exists, it
	// returns the stored request with ErrRequestExists and changes nothing.
	//
	// Errors: ErrInvalidRequest, ErrRequestExists.
	CreateRequest(ctx context.Context, r Request) (Request, error)

	// Request returns a request with its shares.
	//
	// Errors: ErrRequestNotFound.
	Request(ctx context.Context, id uuid.UUID) (Request, error)

	// Pay applies Request.Pay with the request locked, making
	// step.Transfer on step.Ledger as its move (a store on the ledger's
	// database may make it in its own transaction, by the ledger's rules).
	// A refused transfer records nothing and is returned as the ledger's
	// *ledger.TransferError; a transfer whose outcome is unknown (the
	// ledger failed) records nothing and is returned wrapped in
	// ErrPaymentUnknown: it may have moved (paying again, or Reconcile,
	// records it).
	//
	// Errors: ErrRequestNotFound, those of Request.Pay (ErrNotMember,
	// ErrOwnShare, ErrWrongAmount, ErrDeclined, ErrClosed, ErrExpired,
	// ErrInvalidRequest), the ledger's refusal, ErrPaymentUnknown.
	Pay(ctx context.Context, id uuid.UUID, step PayStep) (PayResult, error)

	// RecordPaid applies Request.RecordPaid: a payment found on the
	// ledger whose record was lost.
	//
	// Errors: ErrRequestNotFound, ErrNotMember, ErrOwnShare, ErrDeclined,
	// ErrInvalidRequest.
	RecordPaid(ctx context.Context, id, member, account, transferID uuid.UUID, at time.Time) (Request, error)

	// Decline applies Request.Decline.
	//
	// Errors: ErrRequestNotFound, ErrNotMember, ErrOwnShare,
	// ErrAlreadyPaid, ErrClosed, ErrExpired.
	Decline(ctx context.Context, id, member uuid.UUID, now time.Time) (Request, error)

	// Close applies Request.Close and returns the request after it.
	//
	// Errors: ErrRequestNotFound.
	Close(ctx context.Context, id uuid.UUID, now time.Time) (Request, error)

	// Expire applies Request.Expire; expired reports whether this call
	// expired it (concurrent sweeps: one of them).
	//
	// Errors: ErrRequestNotFound, ErrNotExpired.
	Expire(ctx context.Context, id uuid.UUID, now time.Time) (r Request, expired bool, err error)

	// Remind applies Request.Remind, recording the reminder's time in the
	// store, and returns the members to remind. Concurrent reminders: one
	// is recorded, the others get ErrRemindTooSoon.
	//
	// Errors: ErrRequestNotFound, ErrNothingToRemind, ErrRemindTooSoon.
	Remind(ctx context.Context, id uuid.UUID, now time.Time, every time.Duration) (Request, []uuid.UUID, error)

	// MarkReconciled applies Request.MarkReconciled.
	//
	// Errors: ErrRequestNotFound.
	MarkReconciled(ctx context.Context, id uuid.UUID) (Request, error)

	// Due returns up to limit open requests whose ExpiresAt is at or
	// before now, in (ExpiresAt, ID) order strictly after cursor (At is
	// ExpiresAt). It returns fewer than limit only when no more qualify.
	Due(ctx context.Context, now time.Time, after Cursor, limit int) ([]Request, error)

	// Unreconciled returns up to limit requests that are not open, not
	// Reconciled and ended at or before endedBefore, in (EndedAt, ID)
	// order strictly after cursor (At is EndedAt). It returns fewer than
	// limit only when no more qualify.
	Unreconciled(ctx context.Context, endedBefore time.Time, after Cursor, limit int) ([]Request, error)
}
