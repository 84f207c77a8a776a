package ledger

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Store keeps accounts, transfers and entries. A store locks, loads and
// persists; every decision is made by the pure rules of this package
// (ValidateAccount, NewAccountState, SameAccount, ApplyAccountEvent, Step,
// ApplyBatch, ExpireStep, Verifier), which a store calls with the state it
// holds locked. The Ledger validates requests (ValidateTransfer) before they
// reach a store.
//
// Business outcomes (insufficient funds, conflicts…) of transfers are
// reported in Result.Err; the error return is for the store itself failing
// (context cancelled, database unreachable), in which case nothing was
// applied unless the store says otherwise.
//
// Implementations must be safe for concurrent use and pass
// ledgertest.Run.
type Store interface {
	// CreateAccount creates the account, or returns the existing one when
	// an identical request created it before.
	//
	// Errors: ErrIdempotencyConflict (same ID, different content).
	CreateAccount(ctx context.Context, a Account, now time.Time) (Account, error)

	// ChangeAccount freezes, unfreezes or closes an account (see
	// ApplyAccountEvent).
	//
	// Errors: ErrAccountNotFound, ErrAccountClosed, ErrAccountNotEmpty,
	// ErrAccountStateChange.
	ChangeAccount(ctx context.Context, id uuid.UUID, ev AccountEvent, now time.Time) (Account, error)

	// Account returns an account with its current balance and the head of
	// its hash chain.
	//
	// Errors: ErrAccountNotFound.
	Account(ctx context.Context, id uuid.UUID) (AccountState, error)

	// CreateTransfer applies one transfer (see Step).
	CreateTransfer(ctx context.Context, t Transfer, now time.Time) (Result, error)

	// CreateTransfers applies many transfers in one unit (see ApplyBatch):
	// linked, all or nothing; otherwise each on its own, but persisted
	// together (a database store commits them in one transaction).
	CreateTransfers(ctx context.Context, ts []Transfer, linked bool, now time.Time) ([]Result, error)

	// Transfer returns a transfer with its current status.
	//
	// Errors: ErrTransferNotFound.
	Transfer(ctx context.Context, id uuid.UUID) (Transfer, error)

	// Entries returns up to limit entries of an account with Seq > after,
	// in order.
	//
	// Errors: ErrAccountNotFound.
	Entries(ctx context.Context, account uuid.UUID, after uint64, limit int) ([]Entry, error)

	// BalanceAt returns an account's balance after its last entry at or
	// before at (the zero Balance before its first entry).
	//
	// Errors: ErrAccountNotFound.
	BalanceAt(ctx context.Context, account uuid.UUID, at time.Time) (Balance, error)

	// ExpirePending voids up to limit pending transfers whose timeout is at
	// or before now (see ExpireStep) and returns their IDs. Fewer than
	// limit IDs means nothing more is due. Concurrent calls never void one
	// transfer twice.
	ExpirePending(ctx context.Context, now time.Time, limit int) ([]uuid.UUID, error)

	// Verify feeds every account and entry, and every transfer other than
	// a plain immediate one that nothing reversed, of one consistent
	// snapshot to a Verifier and returns its verdict.
	//
	// Errors: ErrVerify.
	Verify(ctx context.Context) (VerifyReport, error)
}
