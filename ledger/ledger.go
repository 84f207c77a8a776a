package ledger

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/socialpay/socialpay/internal/telemetry"
)

// Options configure a Ledger. The zero value is usable.
type Options struct {
	// Now is the clock; time.Now when nil. Timestamps, pending timeouts and
	// expiry all read it, so tests and simulations can drive time.
	Now func() time.Time

	// Logger, TracerProvider and MeterProvider observe the ledger (see
	// docs/observability.md): transfers and batches as spans, counted by
	// outcome and currency with their durations; ExpirePending as a
	// sweep, logged. Each nil means none, at no cost on the hot path.
	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Ledger is the double-entry ledger: the API that features and banks call.
// It validates requests, reads the clock and hands the work to a Store.
// A Ledger is safe for concurrent use.
type Ledger struct {
	store Store
	now   func() time.Time
	tel   *ledgerTelemetry
}

// New returns a Ledger on store. A nil store means a new MemoryStore, the
// embedded default.
func New(store Store, opts Options) *Ledger {
	if store == nil {
		store = NewMemoryStore()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Ledger{store: store, now: now, tel: newLedgerTelemetry(&opts)}
}

// Store returns the ledger's store.
func (l *Ledger) Store() Store { return l.store }

// Now returns the ledger's clock reading, as the ledger would stamp it.
func (l *Ledger) Now() time.Time { return Timestamp(l.now()) }

// CreateAccount creates an account. Creating the same account again is
// idempotent.
//
// Errors: ErrInvalidAccount, ErrUnknownCurrency, ErrIdempotencyConflict.
func (l *Ledger) CreateAccount(ctx context.Context, a Account) (Account, error) {
	if err := ValidateAccount(&a); err != nil {
		return Account{}, err
	}
	return l.store.CreateAccount(ctx, a, l.now())
}

// Account returns an account with its balance.
//
// Errors: ErrAccountNotFound.
func (l *Ledger) Account(ctx context.Context, id uuid.UUID) (Account, error) {
	st, err := l.store.Account(ctx, id)
	return st.Account, err
}

// Anchor is the hash of one entry of an account's chain. Verify proves
// each chain consistent, but whoever can write the store could rewrite an
// account's history and recompute every hash after it; an anchor kept
// outside the store (published, sent to an auditor, written to WORM
// storage) pins the history up to that entry, and CheckAnchors detects any
// rewrite of it.
type Anchor struct {
	AccountID uuid.UUID `json:"account_id"`
	Seq       uint64    `json:"seq"` // the entry's number; 0 anchors the empty chain
	Hash      Hash      `json:"hash"`
}

// Anchors returns the current chain head of each account, to keep outside
// the store.
//
// Errors: ErrAccountNotFound.
func (l *Ledger) Anchors(ctx context.Context, ids ...uuid.UUID) ([]Anchor, error) {
	out := make([]Anchor, 0, len(ids))
	for _, id := range ids {
		st, err := l.store.Account(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, Anchor{AccountID: id, Seq: st.Seq, Hash: st.Head})
	}
	return out, nil
}

// CheckAnchors checks that every anchored entry is still in its account's
// history with the same hash. Together with Verify (every chain intact
// from its genesis) it proves that no anchored history was rewritten.
//
// Errors: ErrVerify naming the anchors that no longer hold,
// ErrAccountNotFound.
func (l *Ledger) CheckAnchors(ctx context.Context, anchors []Anchor) error {
	var problems []error
	for _, a := range anchors {
		var got Hash
		if a.Seq == 0 {
			got = GenesisHash(a.AccountID)
		} else {
			es, err := l.store.Entries(ctx, a.AccountID, a.Seq-1, 1)
			if err != nil {
				return err
			}
			if len(es) == 0 {
				problems = append(problems, &AccountError{ID: a.AccountID, Err: fmt.Errorf("anchored entry %d is missing", a.Seq)})
				continue
			}
			got = es[0].Hash
		}
		if got != a.Hash {
			problems = append(problems, &AccountError{ID: a.AccountID, Err: fmt.Errorf("entry %d hash %s, anchored %s", a.Seq, got, a.Hash)})
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %w", ErrVerify, errors.Join(problems...))
	}
	return nil
}

// Freeze stops an account from taking part in new transfers, posts and
// reversals; voids and expiry still release its holds.
//
// Errors: ErrAccountNotFound, ErrAccountClosed.
func (l *Ledger) Freeze(ctx context.Context, id uuid.UUID) (Account, error) {
	return l.store.ChangeAccount(ctx, id, EventFreeze, l.now())
}

// Unfreeze reopens a frozen account.
//
// Errors: ErrAccountNotFound, ErrAccountClosed.
func (l *Ledger) Unfreeze(ctx context.Context, id uuid.UUID) (Account, error) {
	return l.store.ChangeAccount(ctx, id, EventUnfreeze, l.now())
}

// Close closes an account for good. It must have a zero balance and nothing
// pending. Closing a closed account changes nothing.
//
// Errors: ErrAccountNotFound, ErrAccountNotEmpty.
func (l *Ledger) Close(ctx context.Context, id uuid.UUID) (Account, error) {
	return l.store.ChangeAccount(ctx, id, EventClose, l.now())
}

// FenceFunding settles for good whether the transfer fundID, which funds
// the escrow account escrow, was or will ever be applied: funded is true
// when the transfer is on the ledger or the escrow holds money (or a hold);
// otherwise the empty escrow account is closed (created first if it never
// was), so that the transfer, still in flight or retried later, is refused
// with ErrAccountClosed, and funded is false. The ledger orders the close
// and the transfer on the escrow account, so the answer never changes.
// Features that fund an escrow per item (red packets, campaigns) call it
// to settle a send that crashed between its record and its funding.
//
// Errors: those of LookupTransfer other than ErrTransferNotFound, and
// those of CreateAccount and Close other than ErrAccountNotEmpty.
func (l *Ledger) FenceFunding(ctx context.Context, fundID uuid.UUID, escrow Account) (funded bool, err error) {
	_, err = l.LookupTransfer(ctx, fundID)
	switch {
	case err == nil:
		return true, nil
	case !errors.Is(err, ErrTransferNotFound):
		return false, fmt.Errorf("fence funding %s: look up: %w", fundID, err)
	}
	if _, err := l.CreateAccount(ctx, escrow); err != nil {
		return false, fmt.Errorf("fence funding %s: create escrow account: %w", fundID, err)
	}
	switch _, err := l.Close(ctx, escrow.ID); {
	case errors.Is(err, ErrAccountNotEmpty):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("fence funding %s: close escrow account: %w", fundID, err)
	}
	return false, nil
}

// Transfer applies one transfer and returns it as stored. A retry with the
// same ID and content returns the original and moves nothing.
//
// A refusal is a *TransferError wrapping one of: ErrInvalidTransfer, ErrSameAccount,
// ErrZeroAmount, ErrNegativeAmount, ErrUnknownCurrency, ErrAccountNotFound,
// ErrCurrencyMismatch, ErrAccountClosed, ErrAccountFrozen,
// ErrInsufficientFunds, ErrExceedsDebits, ErrBalanceOverflow,
// ErrIdempotencyConflict, ErrPendingNotFound, ErrNotPending,
// ErrPendingResolved, ErrPendingExpired, ErrExceedsPending,
// ErrAccountsDiffer, ErrTransferNotFound, ErrNotReversible,
// ErrAlreadyReversed. Any other error (not a *TransferError) means the
// store failed and the outcome is unknown: retry with the same ID, which is
// safe.
func (l *Ledger) Transfer(ctx context.Context, t Transfer) (done Transfer, err error) {
	ctx, sp := l.tel.transfer.Start(ctx)
	if sp.On() {
		sp.ID(t.ID)
		defer func() {
			cur := t.Amount.Currency()
			if err == nil {
				cur = done.Amount.Currency() // a post's, when t named no amount
			}
			sp.End(ctx, err, cur.Code())
		}()
	}
	if err := ValidateTransfer(&t); err != nil {
		return Transfer{}, &TransferError{ID: t.ID, Err: err}
	}
	r, err := l.store.CreateTransfer(ctx, t, l.now())
	if err != nil {
		// Not a *TransferError: the store failed and the outcome is unknown;
		// retry with the same ID.
		return Transfer{}, fmt.Errorf("ledger: transfer %s: %w", t.ID, err)
	}
	if r.Err != nil {
		return Transfer{}, r.Err
	}
	return r.Transfer, nil
}

// Linked applies transfers atomically: all or none. On failure the returned
// *TransferError names the transfer that failed (index and ID) and why; the
// results say the same of every transfer.
//
// Errors: as Transfer, plus ErrEmptyBatch and ErrLinkedFailed (in results).
func (l *Ledger) Linked(ctx context.Context, ts []Transfer) ([]Result, error) {
	ctx, sp := l.tel.linked.Start(ctx)
	rs, err := l.batch(ctx, ts, true)
	l.tel.countResults(ctx, ts, rs)
	sp.End(ctx, err, "")
	return rs, err
}

// Batch applies transfers independently, each with its own Result, in one
// unit of work for the store (one commit for a database): the way a busy
// service amortises commits. The error is for the store failing, or
// ErrEmptyBatch.
func (l *Ledger) Batch(ctx context.Context, ts []Transfer) ([]Result, error) {
	ctx, sp := l.tel.batch.Start(ctx)
	rs, err := l.batch(ctx, ts, false)
	l.tel.countResults(ctx, ts, rs)
	sp.End(ctx, err, "")
	return rs, err
}

func (l *Ledger) batch(ctx context.Context, ts []Transfer, linked bool) ([]Result, error) {
	if len(ts) == 0 {
		return nil, ErrEmptyBatch
	}
	var invalid []Result
	for i := range ts {
		if err := ValidateTransfer(&ts[i]); err != nil {
			if invalid == nil {
				invalid = make([]Result, len(ts))
			}
			invalid[i].Err = &TransferError{Index: i, ID: ts[i].ID, Err: err}
		}
	}
	if invalid != nil {
		if linked {
			return l.linkedInvalid(ts, invalid)
		}
		return l.batchWithInvalid(ctx, ts, invalid)
	}
	results, err := l.store.CreateTransfers(ctx, ts, linked, l.now())
	if err != nil {
		return results, err
	}
	if linked {
		for _, r := range results {
			if r.Err != nil && !errors.Is(r.Err, ErrLinkedFailed) {
				return results, r.Err
			}
		}
	}
	return results, nil
}

func (l *Ledger) linkedInvalid(ts []Transfer, results []Result) ([]Result, error) {
	first := -1
	for i := range results {
		if results[i].Err != nil && first < 0 {
			first = i
		}
	}
	out := failLinked(ts, results, first)
	return out.Results, out.Results[first].Err
}

// batchWithInvalid sends only the valid transfers to the store and merges
// the results back in the caller's order.
func (l *Ledger) batchWithInvalid(ctx context.Context, ts []Transfer, results []Result) ([]Result, error) {
	var valid []Transfer
	var where []int
	for i := range ts {
		if results[i].Err == nil {
			valid = append(valid, ts[i])
			where = append(where, i)
		}
	}
	if len(valid) == 0 {
		return results, nil
	}
	rs, err := l.store.CreateTransfers(ctx, valid, false, l.now())
	for j, r := range rs {
		r.Err = Reindexed(r.Err, where[j])
		results[where[j]] = r
	}
	return results, err
}

// Post posts pending transfer pendingID under the new transfer ID id: in
// full when amount is zero, else amount (at most the pending amount; the
// rest is released).
//
// Errors: as Transfer.
func (l *Ledger) Post(ctx context.Context, id, pendingID uuid.UUID, amount Money) (Transfer, error) {
	return l.Transfer(ctx, Transfer{ID: id, Kind: KindPostPending, PendingID: pendingID, Amount: amount})
}

// Void releases pending transfer pendingID under the new transfer ID id.
//
// Errors: as Transfer.
func (l *Ledger) Void(ctx context.Context, id, pendingID uuid.UUID) (Transfer, error) {
	return l.Transfer(ctx, Transfer{ID: id, Kind: KindVoidPending, PendingID: pendingID})
}

// Reverse moves the full amount of posted transfer originalID back, as the
// new transfer id. A transfer can be reversed once.
//
// Errors: as Transfer.
func (l *Ledger) Reverse(ctx context.Context, id, originalID uuid.UUID, reference string) (Transfer, error) {
	return l.Transfer(ctx, Transfer{ID: id, Kind: KindReversal, ReversesID: originalID, Reference: reference})
}

// LookupTransfer returns a transfer with its current status.
//
// Errors: ErrTransferNotFound.
func (l *Ledger) LookupTransfer(ctx context.Context, id uuid.UUID) (Transfer, error) {
	return l.store.Transfer(ctx, id)
}

// ExpirePending voids every pending transfer whose timeout is at or before
// now, in rounds of up to 1,000, and returns how many it voided. Maintain
// runs it; concurrent runs never void one transfer twice.
func (l *Ledger) ExpirePending(ctx context.Context, now time.Time) (n int, err error) {
	ctx, sw := l.tel.StartSweep(ctx, "expire_pending")
	defer func() { sw.End(ctx, err, telemetry.Item{Result: "voided", N: n}) }()
	return l.expirePending(ctx, now)
}

func (l *Ledger) expirePending(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		ids, err := l.store.ExpirePending(ctx, now, expireRound)
		total += len(ids)
		if err != nil {
			return total, fmt.Errorf("expire pending: %w", err)
		}
		if len(ids) < expireRound {
			return total, nil
		}
	}
}

const expireRound = 1000

// History returns up to limit entries of an account after entry number
// after (0 for the first page), each with the running balance. Pass the
// last entry's Seq to get the next page.
//
// Errors: ErrAccountNotFound.
func (l *Ledger) History(ctx context.Context, account uuid.UUID, after uint64, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = 100
	}
	return l.store.Entries(ctx, account, after, limit)
}

// BalanceAt returns an account's balance as of time at.
//
// Errors: ErrAccountNotFound.
func (l *Ledger) BalanceAt(ctx context.Context, account uuid.UUID, at time.Time) (Balance, error) {
	return l.store.BalanceAt(ctx, account, at)
}

// Verify proves the ledger sound: per currency, debits equal credits; every
// account's balance is the sum of its entries; every hash chain is intact.
//
// Errors: ErrVerify, listing what is wrong.
func (l *Ledger) Verify(ctx context.Context) (VerifyReport, error) {
	return l.store.Verify(ctx)
}

// DeriveID returns the UUIDv5 of a business key in namespace ns, such as
// DeriveID(ns, "packet", packetID, "claim", userID). Features derive every
// ledger write's ID from its business key, so that a retry, a duplicate
// request or a crash-and-retry applies it once. Each part is written with
// its length first (a uvarint), so the key is injective whatever the parts
// hold: ("ab", "c"), ("a", "bc") and ("a\x00b", "c") all differ. The
// result equals uuid.NewSHA1(ns, the encoded parts); keys up to 200 bytes
// cost no allocation.
func DeriveID(ns uuid.UUID, parts ...string) uuid.UUID {
	var stack [16 + 200]byte
	buf := append(stack[:0], ns[:]...)
	for _, p := range parts {
		buf = binary.AppendUvarint(buf, uint64(len(p)))
		buf = append(buf, p...)
	}
	sum := sha1.Sum(buf) // UUIDv5 is SHA-1 by definition (RFC 9562 §5.5)
	var id uuid.UUID
	copy(id[:], sum[:16])
	id[6] = id[6]&0x0f | 0x50 // version 5
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}
