package cell

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Errors of this package. Each is wrapped with where it happened; test
// for them with errors.Is. A failed or reversed payment's error carries
// the ledger's reason too (errors.Is(err, ledger.ErrInsufficientFunds)),
// and errcode.Of reports the reason's code.
var (
	// ErrInvalidCell: a cell name, Router or Config that cannot work.
	ErrInvalidCell = errcode.New("invalid_config", errcode.Internal, "cell: invalid cell configuration")
	// ErrInvalidPayment: a payment request that is malformed (a nil ID or
	// account, a missing or overlong payer or payee, one account paying
	// itself, an amount that is not positive).
	ErrInvalidPayment = errcode.New("invalid_request", errcode.Invalid, "cell: invalid payment")
	// ErrPaymentNotFound: no payment with that ID is recorded in the
	// payer's cell.
	ErrPaymentNotFound = errcode.New("payment_not_found", errcode.NotFound, "cell: payment not found")
	// ErrPaymentFailed: the payer's cell refused the hold; nothing moved.
	ErrPaymentFailed = errcode.New("payment_failed", errcode.Conflict, "cell: payment failed")
	// ErrPaymentReversed: the payee's cell refused the credit; the payer's
	// hold was released.
	ErrPaymentReversed = errcode.New("payment_reversed", errcode.Conflict, "cell: payment reversed")
	// ErrPaymentInFlight: the payment is neither done nor undone (a store
	// failed, or the payer's account is frozen between the credit and the
	// post); retry it with the same ID, or let Reconcile finish it.
	ErrPaymentInFlight = errcode.New("payment_pending", errcode.Unavailable, "cell: payment in flight")
	// ErrAbandoned: the reason of a payment Reconcile failed because its
	// hold was never placed (the request that recorded it ended first).
	ErrAbandoned = errcode.New("payment_abandoned", errcode.Conflict, "cell: payment abandoned before its hold was placed")
	// ErrClearing: the clearing accounts of the cells do not balance (see
	// Cells.CheckClearing): money was created or lost between cells.
	ErrClearing = errcode.New("clearing_imbalance", errcode.Internal, "cell: clearing accounts do not balance")
)

// State is where a payment between cells stands.
type State uint8

const (
	// StateOpen: recorded, not yet completed, failed or reversed.
	StateOpen State = iota
	// StateCompleted: the payee was credited and the payer's hold posted.
	StateCompleted
	// StateFailed: the payer's hold was refused (or never placed, and
	// Reconcile abandoned it); nothing moved.
	StateFailed
	// StateReversed: the payee's cell refused the credit and the payer's
	// hold was voided.
	StateReversed
)

func (s State) String() string {
	switch s {
	case StateOpen:
		return "open"
	case StateCompleted:
		return "completed"
	case StateFailed:
		return "failed"
	case StateReversed:
		return "reversed"
	}
	return "unknown"
}

// Final reports whether the payment is done or undone for good.
func (s State) Final() bool { return s != StateOpen }

// Payment moves Amount from the payer's account to the payee's. The cells
// of both come from the Router and the payer's and payee's user IDs; when they differ, the payment is recorded in the payer's cell and
// settled between the cells (see Cells.Pay).
type Payment struct {
	ID           uuid.UUID    `json:"id"`    // the client's idempotency key
	Payer        uuid.UUID    `json:"payer"` // the paying user, whose cell the Router names
	PayerAccount uuid.UUID    `json:"payer_account"`
	Payee        uuid.UUID    `json:"payee"` // the paid user
	PayeeAccount uuid.UUID    `json:"payee_account"`
	Amount       ledger.Money `json:"amount"`

	// Set by Cells.
	PayerCell  string    `json:"payer_cell,omitempty"`
	PayeeCell  string    `json:"payee_cell,omitempty"`
	State      State     `json:"state"`
	Reason     string    `json:"reason,omitempty"` // why it failed or was reversed: the refusal's error code ("insufficient_funds")
	CreatedAt  time.Time `json:"created_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"` // when it became final
}

// Cursor is where a listing of open payments resumes: after the payment
// created at CreatedAt with ID.
type Cursor struct {
	CreatedAt time.Time `json:"created_at,omitzero"`
	ID        uuid.UUID `json:"id,omitzero"`
}

// Next returns the cursor after p.
func Next(p Payment) Cursor { return Cursor{CreatedAt: p.CreatedAt, ID: p.ID} }

// validate checks a payment request.
func validate(p *Payment) error {
	bad := func(why string, args ...any) error {
		return fmt.Errorf("%w: payment %s: %s", ErrInvalidPayment, p.ID, fmt.Sprintf(why, args...))
	}
	switch {
	case p.ID == uuid.Nil:
		return bad("nil ID")
	case p.PayerAccount == uuid.Nil || p.PayeeAccount == uuid.Nil:
		return bad("nil account")
	case p.PayerAccount == p.PayeeAccount:
		return bad("account %s pays itself", p.PayerAccount)
	case p.Payer == uuid.Nil || p.Payee == uuid.Nil:
		return bad("nil payer or payee")
	case p.Amount.Currency().IsZero():
		return bad("%v", ledger.ErrUnknownCurrency)
	case p.Amount.Units() <= 0:
		return bad("amount %s is not positive", p.Amount)
	}
	return nil
}

// samePayment reports whether req (a request) matches stored (a recorded
// payment with the same ID), so that a retry is idempotent.
//
// Errors: ledger.ErrIdempotencyConflict naming the first field that
// differs.
func samePayment(req, stored *Payment) error {
	field := ""
	switch {
	case req.Payer != stored.Payer:
		field = "payer"
	case req.PayerAccount != stored.PayerAccount:
		field = "payer account"
	case req.Payee != stored.Payee:
		field = "payee"
	case req.PayeeAccount != stored.PayeeAccount:
		field = "payee account"
	case req.Amount != stored.Amount:
		field = "amount"
	}
	if field != "" {
		return fmt.Errorf("cell: payment %s: %w: %s differs", req.ID, ledger.ErrIdempotencyConflict, field)
	}
	return nil
}
