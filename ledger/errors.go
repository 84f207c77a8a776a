package ledger

import (
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
)

// Amount and currency errors.
var (
	ErrUnknownCurrency  = errcode.New("unknown_currency", errcode.Invalid, "ledger: unknown currency")
	ErrInvalidAmount    = errcode.New("invalid_amount", errcode.Invalid, "ledger: amount is not a decimal number")
	ErrTooManyDecimals  = errcode.New("too_many_decimals", errcode.Invalid, "ledger: amount has more decimals than its currency")
	ErrAmountOverflow   = errcode.New("amount_overflow", errcode.Invalid, "ledger: amount overflows int64 minor units")
	ErrNegativeAmount   = errcode.New("negative_amount", errcode.Invalid, "ledger: amount is negative")
	ErrZeroAmount       = errcode.New("zero_amount", errcode.Invalid, "ledger: amount is zero")
	ErrCurrencyMismatch = errcode.New("currency_mismatch", errcode.Invalid, "ledger: currency mismatch")
)

// Account errors.
var (
	ErrAccountNotFound    = errcode.New("account_not_found", errcode.NotFound, "ledger: account not found")
	ErrAccountClosed      = errcode.New("account_closed", errcode.Conflict, "ledger: account is closed")
	ErrAccountFrozen      = errcode.New("account_frozen", errcode.Conflict, "ledger: account is frozen")
	ErrAccountNotEmpty    = errcode.New("account_not_empty", errcode.Conflict, "ledger: account has a balance or pending transfers")
	ErrInvalidAccount     = errcode.New("invalid_account", errcode.Invalid, "ledger: invalid account")
	ErrInsufficientFunds  = errcode.New("insufficient_funds", errcode.Conflict, "ledger: insufficient funds (debits would exceed credits)")
	ErrExceedsDebits      = errcode.New("credit_limit", errcode.Conflict, "ledger: credits would exceed debits")
	ErrBalanceOverflow    = errcode.New("balance_overflow", errcode.Conflict, "ledger: balance would overflow")
	ErrAccountStateChange = errcode.New("account_state_change", errcode.Conflict, "ledger: account state change not allowed")
)

// Transfer errors.
var (
	ErrInvalidTransfer     = errcode.New("invalid_transfer", errcode.Invalid, "ledger: invalid transfer")
	ErrSameAccount         = errcode.New("same_account", errcode.Invalid, "ledger: debit and credit account are the same")
	ErrTransferNotFound    = errcode.New("transfer_not_found", errcode.NotFound, "ledger: transfer not found")
	ErrIdempotencyConflict = errcode.New("idempotency_conflict", errcode.Conflict, "ledger: transfer ID reused with different content")
	ErrPendingNotFound     = errcode.New("pending_not_found", errcode.NotFound, "ledger: pending transfer not found")
	ErrNotPending          = errcode.New("not_pending", errcode.Invalid, "ledger: transfer is not a pending transfer")
	ErrPendingResolved     = errcode.New("pending_resolved", errcode.Conflict, "ledger: pending transfer already posted, voided or expired")
	ErrPendingExpired      = errcode.New("pending_expired", errcode.Conflict, "ledger: pending transfer has expired")
	ErrExceedsPending      = errcode.New("exceeds_pending", errcode.Invalid, "ledger: amount exceeds the pending amount")
	ErrAccountsDiffer      = errcode.New("accounts_differ", errcode.Invalid, "ledger: accounts differ from the referenced transfer")
	ErrNotReversible       = errcode.New("not_reversible", errcode.Invalid, "ledger: transfer cannot be reversed")
	ErrAlreadyReversed     = errcode.New("already_reversed", errcode.Conflict, "ledger: transfer already reversed")
	ErrLinkedFailed        = errcode.New("linked_failed", errcode.Conflict, "ledger: another transfer of the linked batch failed")
	ErrEmptyBatch          = errcode.New("empty_batch", errcode.Invalid, "ledger: empty batch")
)

// Verification errors.
var (
	ErrVerify = errcode.New("verify_failed", errcode.Internal, "ledger: verification failed")
)

// TransferError says which transfer of a request failed: its index in the
// request and its ID. errors.Is and errors.As see through it to the reason.
type TransferError struct {
	Index int       // position in the submitted slice
	ID    uuid.UUID // the transfer's ID
	Err   error     // the reason, wrapping one of the sentinel errors
}

func (e *TransferError) Error() string {
	return fmt.Sprintf("transfer %d (%s): %v", e.Index, e.ID, e.Err)
}

// Unwrap returns the reason.
func (e *TransferError) Unwrap() error { return e.Err }

// Reindexed returns err as the request of one caller has it when that
// request was applied within a larger batch: a *TransferError becomes a
// copy with Index index, the transfer's position in that caller's
// request; any other error (nil included) is returned as it is.
func Reindexed(err error, index int) error {
	if te, ok := err.(*TransferError); ok {
		own := *te
		own.Index = index
		return &own
	}
	return err
}

// Refused reports whether err is the ledger refusing a transfer (a
// *TransferError: the rules decided, nothing was applied) as opposed to the
// store failing (the outcome is unknown and the same request may be
// retried). Refused(nil) is false.
func Refused(err error) bool {
	var te *TransferError
	return errors.As(err, &te)
}

// AccountError says which account an operation failed on.
type AccountError struct {
	ID  uuid.UUID
	Err error
}

func (e *AccountError) Error() string { return fmt.Sprintf("account %s: %v", e.ID, e.Err) }

// Unwrap returns the reason.
func (e *AccountError) Unwrap() error { return e.Err }
