package ledger

import (
	"fmt"
	"maps"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// This file holds the ledger's rules as pure functions. A Store locks,
// loads and persists; it decides nothing. Every store calls these functions
// with the state it has locked, so the memory store and the PostgreSQL store
// behave identically by construction.

// AccountState is what the rules need to know of an account: the account
// with its balance, and the head of its hash chain.
type AccountState struct {
	Account  Account
	Seq      uint64    // entries so far
	Head     Hash      // hash of the last entry (GenesisHash when Seq is 0)
	LastTime time.Time // time of the last entry; entry times never go back
}

// Timestamp normalises a clock reading to what the ledger stores: UTC,
// truncated to the microsecond (what PostgreSQL keeps), no monotonic part.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ValidateAccount checks an account a client wants to create.
//
// Errors: ErrInvalidAccount (zero ID, unknown flags, both balance flags),
// ErrUnknownCurrency, and the metadata limits as ErrInvalidAccount.
func ValidateAccount(a *Account) error {
	switch {
	case a.ID == uuid.Nil:
		return fmt.Errorf("zero account ID: %w", ErrInvalidAccount)
	case a.Currency.IsZero():
		return fmt.Errorf("account %s: %w", a.ID, ErrUnknownCurrency)
	case a.Flags&^knownAccountFlags != 0:
		return fmt.Errorf("account %s: unknown flags %#x: %w", a.ID, uint16(a.Flags&^knownAccountFlags), ErrInvalidAccount)
	case a.Flags.Has(DebitsMustNotExceedCredits | CreditsMustNotExceedDebits):
		return fmt.Errorf("account %s: both balance flags set, nothing could ever move: %w", a.ID, ErrInvalidAccount)
	}
	if err := validateMetadata(a.Metadata); err != nil {
		return fmt.Errorf("account %s: %w: %w", a.ID, ErrInvalidAccount, err)
	}
	return nil
}

// NewAccountState returns the state of a freshly created account.
func NewAccountState(a Account, now time.Time) AccountState {
	now = Timestamp(now)
	a.Metadata = maps.Clone(a.Metadata)
	a.Status = AccountOpen
	a.CreatedAt = now
	a.ClosedAt = time.Time{}
	a.Balance = Balance{}
	return AccountState{Account: a, Head: GenesisHash(a.ID), LastTime: now}
}

// SameAccount reports whether a client's create request matches an existing
// account (same ID, currency, code, flags and metadata), so that a retried
// create is idempotent.
//
// Errors: ErrIdempotencyConflict naming the first field that differs.
func SameAccount(req, stored *Account) error {
	field := ""
	switch {
	case req.Currency != stored.Currency:
		field = "currency"
	case req.Code != stored.Code:
		field = "code"
	case req.Flags != stored.Flags:
		field = "flags"
	case !maps.Equal(req.Metadata, stored.Metadata):
		field = "metadata"
	}
	if field != "" {
		return fmt.Errorf("account %s: %w: %s differs", req.ID, ErrIdempotencyConflict, field)
	}
	return nil
}

func validateMetadata(m map[string]string) error {
	if len(m) > MaxMetadataEntries {
		return fmt.Errorf("metadata has %d entries, at most %d", len(m), MaxMetadataEntries)
	}
	for k, v := range m {
		if k == "" || len(k) > MaxMetadataKeyLen {
			return fmt.Errorf("metadata key %q: length must be 1..%d bytes", k, MaxMetadataKeyLen)
		}
		if len(v) > MaxMetadataValueLen {
			return fmt.Errorf("metadata value of %q: longer than %d bytes", k, MaxMetadataValueLen)
		}
		if !StorableText(k) || !StorableText(v) {
			return fmt.Errorf("metadata %q: not UTF-8 text without NUL", k)
		}
	}
	return nil
}

// StorableText reports whether s is valid UTF-8 without NUL bytes: text
// every store can keep exactly (PostgreSQL's text cannot hold NUL), so that
// a retry compares equal to what was stored. ValidateTransfer and
// ValidateAccount require it of references and metadata; stores of other
// records check their text with it too.
func StorableText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// ApplyAccountEvent freezes, unfreezes or closes an account, recording the
// change as an entry in its chain. Closing needs a zero balance and nothing
// pending; closing twice is a no-op (ok false, no entry).
//
// Errors: ErrAccountClosed, ErrAccountNotEmpty, ErrAccountStateChange.
func ApplyAccountEvent(st *AccountState, ev AccountEvent, now time.Time) (e Entry, ok bool, err error) {
	a := &st.Account
	var next AccountStatus
	kind := EntryKind(0)
	switch ev {
	case EventFreeze:
		next, kind = AccountFrozen, EntryFreeze
	case EventUnfreeze:
		next, kind = AccountOpen, EntryUnfreeze
	case EventClose:
		next, kind = AccountClosed, EntryClose
	default:
		return Entry{}, false, fmt.Errorf("account %s: event %d: %w", a.ID, ev, ErrAccountStateChange)
	}
	switch {
	case a.Status == AccountClosed && ev == EventClose:
		return Entry{}, false, nil
	case a.Status == AccountClosed:
		return Entry{}, false, &AccountError{ID: a.ID, Err: ErrAccountClosed}
	case a.Status == next:
		return Entry{}, false, nil
	case ev == EventClose && !a.Balance.IsZero():
		return Entry{}, false, &AccountError{ID: a.ID, Err: ErrAccountNotEmpty}
	}
	ts := laterOf(Timestamp(now), st.LastTime)
	e = Entry{AccountID: a.ID, Seq: st.Seq + 1, Kind: kind, Side: SideNone, Time: ts, Balance: a.Balance}
	e.Hash = ChainHash(st.Head, &e)
	a.Status = next
	if ev == EventClose {
		a.ClosedAt = ts
	}
	st.Seq, st.Head, st.LastTime = e.Seq, e.Hash, ts
	return e, true, nil
}

// ValidateTransfer checks what can be checked of a transfer without any
// state: IDs, kind, amount, and the limits on free-form fields.
//
// Errors: ErrInvalidTransfer, ErrSameAccount, ErrZeroAmount,
// ErrNegativeAmount, ErrUnknownCurrency, each wrapped with the reason.
func ValidateTransfer(t *Transfer) error {
	if t.ID == uuid.Nil {
		return fmt.Errorf("zero transfer ID: %w", ErrInvalidTransfer)
	}
	switch t.Kind {
	case KindImmediate, KindPending:
		switch {
		case t.DebitAccountID == uuid.Nil || t.CreditAccountID == uuid.Nil:
			return fmt.Errorf("debit and credit account are required: %w", ErrInvalidTransfer)
		case t.DebitAccountID == t.CreditAccountID:
			return ErrSameAccount
		case t.Amount.Currency().IsZero():
			return fmt.Errorf("amount has no currency: %w", ErrUnknownCurrency)
		case t.PendingID != uuid.Nil || t.ReversesID != uuid.Nil:
			return fmt.Errorf("%s transfer refers to another transfer: %w", t.Kind, ErrInvalidTransfer)
		}
		if err := t.Amount.checkPositive(); err != nil {
			return err
		}
		if t.Timeout < 0 || (t.Timeout != 0 && t.Kind != KindPending) {
			return fmt.Errorf("timeout %v on a %s transfer: %w", t.Timeout, t.Kind, ErrInvalidTransfer)
		}
		if t.Timeout%time.Microsecond != 0 {
			// Timestamps are kept to the microsecond; so are expiry times.
			return fmt.Errorf("timeout %v is not a whole number of microseconds: %w", t.Timeout, ErrInvalidTransfer)
		}
	case KindPostPending, KindVoidPending, KindReversal:
		target, other := t.PendingID, t.ReversesID
		if t.Kind == KindReversal {
			target, other = other, target
		}
		switch {
		case target == uuid.Nil:
			return fmt.Errorf("%s transfer needs the ID of the transfer it refers to: %w", t.Kind, ErrInvalidTransfer)
		case other != uuid.Nil:
			return fmt.Errorf("%s transfer sets both PendingID and ReversesID: %w", t.Kind, ErrInvalidTransfer)
		case target == t.ID:
			return fmt.Errorf("%s transfer refers to itself: %w", t.Kind, ErrInvalidTransfer)
		case t.DebitAccountID != uuid.Nil && t.DebitAccountID == t.CreditAccountID:
			return ErrSameAccount
		case t.Amount.IsNegative():
			return ErrNegativeAmount
		case t.Timeout != 0:
			return fmt.Errorf("timeout on a %s transfer: %w", t.Kind, ErrInvalidTransfer)
		}
	default:
		return fmt.Errorf("unknown kind %d: %w", t.Kind, ErrInvalidTransfer)
	}
	if len(t.Reference) > MaxReferenceLen {
		return fmt.Errorf("reference longer than %d bytes: %w", MaxReferenceLen, ErrInvalidTransfer)
	}
	if !StorableText(t.Reference) {
		return fmt.Errorf("reference is not UTF-8 text without NUL: %w", ErrInvalidTransfer)
	}
	if err := validateMetadata(t.Metadata); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidTransfer, err)
	}
	return nil
}

// Accounts returns the debit and credit account a transfer will touch: its
// own, or for a post, void or reversal those of the referenced transfer
// (swapped for a reversal). target may be nil when t refers to none.
//
// Errors: ErrAccountsDiffer when t names accounts other than the target's.
func Accounts(t *Transfer, target *Transfer) (debit, credit uuid.UUID, err error) {
	if t.targetID() == uuid.Nil || target == nil {
		return t.DebitAccountID, t.CreditAccountID, nil
	}
	debit, credit = target.DebitAccountID, target.CreditAccountID
	if t.Kind == KindReversal {
		debit, credit = credit, debit
	}
	if (t.DebitAccountID != uuid.Nil && t.DebitAccountID != debit) ||
		(t.CreditAccountID != uuid.Nil && t.CreditAccountID != credit) {
		return debit, credit, fmt.Errorf("%w: expected debit %s credit %s", ErrAccountsDiffer, debit, credit)
	}
	return debit, credit, nil
}

// SameTransfer reports whether req, submitted with the ID of the stored
// transfer, asks for the same thing. Fields a post, void or reversal may
// leave for the ledger to fill (accounts, amount) match when left zero.
//
// Errors: ErrIdempotencyConflict naming the first field that differs.
func SameTransfer(req, stored *Transfer) error {
	field := ""
	refers := req.targetID() != uuid.Nil
	switch {
	case req.Kind != stored.Kind:
		field = "kind"
	case req.DebitAccountID != stored.DebitAccountID && !(refers && req.DebitAccountID == uuid.Nil):
		field = "debit account"
	case req.CreditAccountID != stored.CreditAccountID && !(refers && req.CreditAccountID == uuid.Nil):
		field = "credit account"
	case req.Amount != stored.Amount && !(refers && req.Amount.IsZero()):
		field = "amount"
	case req.PendingID != stored.PendingID:
		field = "pending ID"
	case req.ReversesID != stored.ReversesID:
		field = "reverses ID"
	case req.Timeout != stored.Timeout:
		field = "timeout"
	case req.Code != stored.Code:
		field = "code"
	case req.Reference != stored.Reference:
		field = "reference"
	case !maps.Equal(req.Metadata, stored.Metadata):
		field = "metadata"
	}
	if field != "" {
		return fmt.Errorf("%w: %s differs", ErrIdempotencyConflict, field)
	}
	return nil
}

// Step decides one transfer against state the caller holds locked, and on
// success applies it to that state. It is the one rule every store calls for
// every transfer:
//
//   - existing is the stored transfer with t's ID, if any: then Step only
//     checks that t is a faithful retry (Duplicate) or a conflict;
//   - target is the pending transfer a post or void resolves, or the
//     transfer a reversal reverses, if it exists;
//   - dr and cr are the states of the accounts Accounts(t, target) returned,
//     nil if they do not exist.
//
// On success Step updates dr, cr and target in place and returns the new
// transfer record and its two entries (debit first). On failure it changes
// nothing and Result.Err is a *TransferError carrying index and t.ID.
func Step(index int, t *Transfer, existing, target *Transfer, dr, cr *AccountState, now time.Time) (Result, [2]Entry) {
	fail := func(err error) (Result, [2]Entry) {
		return Result{Err: &TransferError{Index: index, ID: t.ID, Err: err}}, [2]Entry{}
	}
	if existing != nil {
		if err := SameTransfer(t, existing); err != nil {
			return fail(err)
		}
		return Result{Transfer: *existing, Duplicate: true}, [2]Entry{}
	}
	out, entries, err := apply(t, target, dr, cr, now)
	if err != nil {
		return fail(err)
	}
	return Result{Transfer: out}, entries
}

func apply(t *Transfer, target *Transfer, dr, cr *AccountState, now time.Time) (Transfer, [2]Entry, error) {
	var none [2]Entry
	if id := t.targetID(); id != uuid.Nil && target == nil {
		if t.Kind == KindReversal {
			return Transfer{}, none, fmt.Errorf("reversed transfer %s: %w", id, ErrTransferNotFound)
		}
		return Transfer{}, none, fmt.Errorf("pending transfer %s: %w", id, ErrPendingNotFound)
	}
	debitID, creditID, err := Accounts(t, target)
	if err != nil {
		return Transfer{}, none, err
	}
	if dr == nil {
		return Transfer{}, none, &AccountError{ID: debitID, Err: ErrAccountNotFound}
	}
	if cr == nil {
		return Transfer{}, none, &AccountError{ID: creditID, Err: ErrAccountNotFound}
	}
	if dr.Account.ID != debitID || cr.Account.ID != creditID {
		return Transfer{}, none, fmt.Errorf("%w: locked accounts are not the transfer's", ErrAccountsDiffer)
	}
	ts := laterOf(laterOf(Timestamp(now), dr.LastTime), cr.LastTime)

	out := *t
	out.DebitAccountID, out.CreditAccountID = debitID, creditID
	out.Metadata = maps.Clone(t.Metadata)
	out.Timestamp = ts
	out.Status = StatusCommitted
	out.ExpiresAt, out.ResolvedBy, out.ReversedBy = time.Time{}, uuid.Nil, uuid.Nil

	// What the transfer does to each side: deltas of posted and pending.
	var posted, pending int64
	kind := EntryPosted
	releasesHold := false
	switch t.Kind {
	case KindImmediate:
		posted = t.Amount.units
	case KindPending:
		pending, kind = t.Amount.units, EntryPending
		out.Status = StatusPending
		if t.Timeout > 0 {
			out.ExpiresAt = ts.Add(t.Timeout)
		}
	case KindPostPending, KindVoidPending:
		if err := checkResolvable(target, ts); err != nil {
			return Transfer{}, none, err
		}
		held := target.Amount.units
		if t.Kind == KindPostPending {
			amount := held
			if !t.Amount.IsZero() {
				if t.Amount.currency != target.Amount.currency {
					return Transfer{}, none, fmt.Errorf("post in %s of a %s hold: %w", t.Amount.currency, target.Amount.currency, ErrCurrencyMismatch)
				}
				if t.Amount.units > held {
					return Transfer{}, none, fmt.Errorf("post %s of a %s hold: %w", t.Amount, target.Amount, ErrExceedsPending)
				}
				amount = t.Amount.units
			}
			posted, pending, kind = amount, -held, EntryPost
		} else {
			if !t.Amount.IsZero() && t.Amount != target.Amount {
				return Transfer{}, none, fmt.Errorf("void of %s for a %s hold: %w", t.Amount, target.Amount, ErrExceedsPending)
			}
			pending, kind, releasesHold = -held, EntryVoid, true
		}
		out.Amount = NewMoney(posted, target.Amount.currency)
		if t.Kind == KindVoidPending {
			out.Amount = target.Amount
		}
	case KindReversal:
		switch {
		case target.Kind != KindImmediate && target.Kind != KindPostPending:
			return Transfer{}, none, fmt.Errorf("a %s transfer: %w", target.Kind, ErrNotReversible)
		case target.ReversedBy != uuid.Nil:
			return Transfer{}, none, fmt.Errorf("reversed by %s: %w", target.ReversedBy, ErrAlreadyReversed)
		case !t.Amount.IsZero() && t.Amount != target.Amount:
			return Transfer{}, none, fmt.Errorf("reversal of %s must be the full %s: %w", t.Amount, target.Amount, ErrNotReversible)
		}
		posted = target.Amount.units
		out.Amount = target.Amount
	}

	cur := out.Amount.currency
	if dr.Account.Currency != cur || cr.Account.Currency != cur {
		return Transfer{}, none, fmt.Errorf("transfer in %s between %s and %s accounts: %w",
			cur, dr.Account.Currency, cr.Account.Currency, ErrCurrencyMismatch)
	}
	if !releasesHold {
		// Voids only release holds, so they go through on frozen accounts;
		// everything else needs both accounts open.
		if err := checkOpen(dr); err != nil {
			return Transfer{}, none, err
		}
		if err := checkOpen(cr); err != nil {
			return Transfer{}, none, err
		}
	}

	db, err := addSide(dr.Account.Balance, SideDebit, posted, pending)
	if err != nil {
		return Transfer{}, none, &AccountError{ID: dr.Account.ID, Err: err}
	}
	cb, err := addSide(cr.Account.Balance, SideCredit, posted, pending)
	if err != nil {
		return Transfer{}, none, &AccountError{ID: cr.Account.ID, Err: err}
	}
	if posted > 0 || pending > 0 { // limits bind only what adds to a side
		if err := dr.Account.Flags.limit(db); err != nil {
			return Transfer{}, none, &AccountError{ID: dr.Account.ID, Err: err}
		}
		if err := cr.Account.Flags.limit(cb); err != nil {
			return Transfer{}, none, &AccountError{ID: cr.Account.ID, Err: err}
		}
	}

	// Decided: apply.
	entries := [2]Entry{
		chain(dr, db, t.ID, kind, SideDebit, posted, pending, ts),
		chain(cr, cb, t.ID, kind, SideCredit, posted, pending, ts),
	}
	if target != nil {
		switch t.Kind {
		case KindPostPending:
			target.Status, target.ResolvedBy = StatusPosted, t.ID
		case KindVoidPending:
			target.Status, target.ResolvedBy = StatusVoided, t.ID
		case KindReversal:
			target.ReversedBy = t.ID
		}
	}
	return out, entries, nil
}

// ExpireStep voids pending transfer p because its timeout passed, against
// the locked states of its accounts. ok is false (and nothing changes) when
// p is no longer pending or not yet due.
func ExpireStep(p *Transfer, dr, cr *AccountState, now time.Time) (entries [2]Entry, ok bool, err error) {
	now = Timestamp(now)
	if p.Kind != KindPending || p.Status != StatusPending || p.ExpiresAt.IsZero() || p.ExpiresAt.After(now) {
		return entries, false, nil
	}
	if dr == nil || cr == nil || dr.Account.ID != p.DebitAccountID || cr.Account.ID != p.CreditAccountID {
		return entries, false, fmt.Errorf("expire %s: %w: locked accounts are not the transfer's", p.ID, ErrAccountsDiffer)
	}
	held := p.Amount.units
	db, err := addSide(dr.Account.Balance, SideDebit, 0, -held)
	if err != nil {
		return entries, false, err
	}
	cb, err := addSide(cr.Account.Balance, SideCredit, 0, -held)
	if err != nil {
		return entries, false, err
	}
	ts := laterOf(laterOf(now, dr.LastTime), cr.LastTime)
	entries[0] = chain(dr, db, p.ID, EntryExpire, SideDebit, 0, -held, ts)
	entries[1] = chain(cr, cb, p.ID, EntryExpire, SideCredit, 0, -held, ts)
	p.Status = StatusExpired
	return entries, true, nil
}

func checkResolvable(p *Transfer, now time.Time) error {
	switch {
	case p.Kind != KindPending:
		return fmt.Errorf("%s is a %s transfer: %w", p.ID, p.Kind, ErrNotPending)
	case p.Status == StatusExpired:
		return fmt.Errorf("%s: %w", p.ID, ErrPendingExpired)
	case p.Status != StatusPending:
		return fmt.Errorf("%s is %s: %w", p.ID, p.Status, ErrPendingResolved)
	case !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(now):
		return fmt.Errorf("%s expired at %s: %w", p.ID, p.ExpiresAt.Format(time.RFC3339Nano), ErrPendingExpired)
	}
	return nil
}

func checkOpen(st *AccountState) error { return st.Account.checkOpen() }

func (a *Account) checkOpen() error {
	switch a.Status {
	case AccountClosed:
		return &AccountError{ID: a.ID, Err: ErrAccountClosed}
	case AccountFrozen:
		return &AccountError{ID: a.ID, Err: ErrAccountFrozen}
	}
	return nil
}

// CheckTransfer returns the refusal the rules give a transfer in cur
// that debits or credits a (a void, which only releases a hold, aside):
// ErrCurrencyMismatch for another currency, an *AccountError with
// ErrAccountClosed or ErrAccountFrozen, or nil. A service that must know
// before it commits to a transfer (a red-packet claim's wallet) asks it,
// so that its answer is the rules' own.
func (a *Account) CheckTransfer(cur Currency) error {
	if a.Currency != cur {
		return fmt.Errorf("account %s in %s, transfer in %s: %w", a.ID, a.Currency, cur, ErrCurrencyMismatch)
	}
	return a.checkOpen()
}

// addSide returns b with posted and pending added to one side, or
// ErrBalanceOverflow. Totals never go below zero: a negative delta only
// releases what an earlier entry added.
func addSide(b Balance, side Side, posted, pending int64) (Balance, error) {
	p, q := &b.DebitsPosted, &b.DebitsPending
	if side == SideCredit {
		p, q = &b.CreditsPosted, &b.CreditsPending
	}
	np, ok1 := addInt64(*p, posted)
	nq, ok2 := addInt64(*q, pending)
	if !ok1 || !ok2 || np < 0 || nq < 0 {
		return b, ErrBalanceOverflow
	}
	// The limit checks add posted and pending totals; keep that sum in range.
	if _, ok := addInt64(np, nq); !ok {
		return b, ErrBalanceOverflow
	}
	*p, *q = np, nq
	return b, nil
}

// chain appends an entry to st's chain and moves st to it.
func chain(st *AccountState, after Balance, transferID uuid.UUID, kind EntryKind, side Side, posted, pending int64, ts time.Time) Entry {
	e := Entry{
		AccountID: st.Account.ID, Seq: st.Seq + 1, TransferID: transferID, Kind: kind, Side: side,
		PostedDelta: posted, PendingDelta: pending, Time: ts, Balance: after,
	}
	e.Hash = ChainHash(st.Head, &e)
	st.Account.Balance = after
	st.Seq, st.Head, st.LastTime = e.Seq, e.Hash, ts
	return e
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
