package ledger

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// Amount and currency errors.
var (
	ErrUnknownCurrency  = errors.New("ledger: unknown currency")
	ErrInvalidAmount    = errors.New("ledger: amount is not a decimal number")
	ErrTooManyDecimals  = errors.New("ledger: amount has more decimals than its currency")
	ErrAmountOverflow   = errors.New("ledger: amount overflows int64 minor units")
	ErrNegativeAmount   = errors.New("ledger: amount is negative")
	ErrZeroAmount       = errors.New("ledger: amount is zero")
	ErrCurrencyMismatch = errors.New("ledger: currency mismatch")
)

// Account errors.
var (
	ErrAccountNotFound    = errors.New("ledger: account not found")
	ErrAccountClosed      = errors.New("ledger: account is closed")
	ErrAccountFrozen      = errors.New("ledger: account is frozen")
	ErrAccountNotEmpty    = errors.New("ledger: account has a balance or pending transfers")
	ErrInvalidAccount     = errors.New("ledger: invalid account")
	ErrInsufficientFunds  = errors.New("ledger: insufficient funds (debits would exceed credits)")
	ErrExceedsDebits      = errors.New("ledger: credits would exceed debits")
	ErrBalanceOverflow    = errors.New("ledger: balance would overflow")
	ErrAccountStateChange = errors.New("ledger: account state change not allowed")
)

// Transfer errors.
var (
	ErrInvalidTransfer     = errors.New("ledger: invalid transfer")
	ErrSameAccount         = errors.New("ledger: debit and credit account are the same")
	ErrTransferNotFound    = errors.New("ledger: transfer not found")
	ErrIdempotencyConflict = errors.New("ledger: transfer ID reused with different content")
	ErrPendingNotFound     = errors.New("ledger: pending transfer not found")
	ErrNotPending          = errors.New("ledger: transfer is not a pending transfer")
	ErrPendingResolved     = errors.New("ledger: pending transfer already posted, voided or expired")
	ErrPendingExpired      = errors.New("ledger: pending transfer has expired")
	ErrExceedsPending      = errors.New("ledger: amount exceeds the pending amount")
	ErrAccountsDiffer      = errors.New("ledger: accounts differ from the referenced transfer")
	ErrNotReversible       = errors.New("ledger: transfer cannot be reversed")
	ErrAlreadyReversed     = errors.New("ledger: transfer already reversed")
	ErrLinkedFailed        = errors.New("ledger: another transfer of the linked batch failed")
	ErrEmptyBatch          = errors.New("ledger: empty batch")
)

// Verification errors.
var (
	ErrVerify = errors.New("ledger: verification failed")
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
