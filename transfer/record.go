package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Errors of transfer records and their stores.
var (
	// ErrInvalidRecord means a record handed to a Store lacks a field or
	// has one out of bounds (see ValidateRecord); a bug in the caller.
	ErrInvalidRecord = errcode.New("invalid_record", errcode.Internal, "transfer: invalid transfer record")
	// ErrRecordNotFound means no transfer has the ID (or, to a caller who
	// is not its payer or payee, that it is none of theirs).
	ErrRecordNotFound = errcode.New("transfer_not_found", errcode.NotFound, "transfer: transfer not found")
	// ErrIdempotencyConflict means an idempotency key was used before for
	// a different request.
	ErrIdempotencyConflict = errcode.New("idempotency_conflict", errcode.Conflict, "transfer: idempotency key reused with a different request")
	// ErrLookupUsed means the lookup token paid another transfer already:
	// a token pays once.
	ErrLookupUsed = errcode.New("lookup_used", errcode.Conflict, "transfer: lookup token already used")
	// ErrStateConflict means a record is no longer in the state a
	// transition starts from: another transition won. It comes in a
	// *StateError.
	ErrStateConflict = errcode.New("state_conflict", errcode.Conflict, "transfer: transfer is no longer pending")
	// ErrInvalidTransition means a transition that the state machine does
	// not have (see ApplyTransition).
	ErrInvalidTransition = errcode.New("invalid_transition", errcode.Internal, "transfer: invalid state transition")
	// ErrAttemptInFlight means a failing record cannot be failed for good
	// yet: an attempt at its ledger transfer may still be on its way and
	// its ledger transfer has not been undone (see ApplyTransition).
	// Reconcile finishes it.
	ErrAttemptInFlight = errcode.New("attempt_in_flight", errcode.Unavailable, "transfer: an attempt at the ledger transfer may still be in flight")
)

// Bounds of a request's text fields.
const (
	MaxMemoRunes = 140 // characters
)

// Arrival is when a transfer reaches the payee.
type Arrival uint8

const (
	// ArriveNow: at once (实时到账).
	ArriveNow Arrival = iota
	// Arrive2h: two hours after sending (2小时到账); the payer may cancel
	// until then.
	Arrive2h
	// Arrive24h: twenty-four hours after sending (24小时到账); the payer
	// may cancel until then.
	Arrive24h
	// ArriveOnAccept: a transfer in a chat (转账): it reaches the payee
	// when they accept it, and returns to the payer if they decline or do
	// not answer in time (24 hours by default).
	ArriveOnAccept
)

// Valid reports whether a is one of the arrivals defined here.
func (a Arrival) Valid() bool { return a <= ArriveOnAccept }

// Delayed reports whether a is Arrive2h or Arrive24h.
func (a Arrival) Delayed() bool { return a == Arrive2h || a == Arrive24h }

// held reports whether the payer's money waits in a ledger hold.
func (a Arrival) held() bool { return a != ArriveNow }

// Delay returns how long after sending a delayed transfer lands (0 for
// the others).
func (a Arrival) Delay() time.Duration {
	switch a {
	case Arrive2h:
		return 2 * time.Hour
	case Arrive24h:
		return 24 * time.Hour
	}
	return 0
}

func (a Arrival) String() string {
	switch a {
	case ArriveNow:
		return "now"
	case Arrive2h:
		return "2h"
	case Arrive24h:
		return "24h"
	case ArriveOnAccept:
		return "on_accept"
	}
	return fmt.Sprintf("Arrival(%d)", uint8(a))
}

// State is where a transfer stands: pending, then exactly once settled,
// cancelled or failed.
type State uint8

const (
	// StatePending: recorded; the money has left the payer (or is about
	// to), not yet final at the payee.
	StatePending State = iota
	// StateSettled: the payee has the money. Final.
	StateSettled
	// StateCancelled: the money went back to the payer: the payer
	// cancelled a delayed transfer, or the payee of a chat transfer
	// declined it or let it expire (Record.Reason says which). Final.
	StateCancelled
	// StateFailed: the ledger refused the transfer (insufficient funds, a
	// frozen account…; Record.Reason says why); nothing moved. Final.
	StateFailed
	// StateFailing: the ledger refused the transfer (Record.Reason says
	// why), but whether the ledger is clean is not proven yet: another
	// attempt at the same transfer (a concurrent retry, Reconcile) may
	// have got through after the refusal, the payer's balance having
	// changed in between, and its payment must be undone. The record still
	// counts towards the payer's daily total. It becomes StateFailed once
	// the ledger is proven clean (see ApplyTransition); receipts show it as
	// StateFailed already, since that is the outcome.
	StateFailing
)

func (s State) String() string {
	switch s {
	case StatePending:
		return "pending"
	case StateSettled:
		return "settled"
	case StateCancelled:
		return "cancelled"
	case StateFailed:
		return "failed"
	case StateFailing:
		return "failing"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// outcome is the state receipts show: a failing transfer has failed.
func (s State) outcome() State {
	if s == StateFailing {
		return StateFailed
	}
	return s
}

// Unfinished reports whether a record in state s still needs work: it is
// pending, or failing and not yet proven clean.
func (s State) Unfinished() bool { return s == StatePending || s == StateFailing }

// Reasons a transfer was cancelled (Record.Reason of StateCancelled).
// Failed transfers carry a failure code instead (see FailureCode).
const (
	ReasonCancelled = "cancelled" // the payer cancelled a delayed transfer
	ReasonDeclined  = "declined"  // the payee declined a chat transfer
	ReasonExpired   = "expired"   // the payee did not accept a chat transfer in time
)

// Day is a calendar day, counted in days since 1970-01-01, in the time
// zone that bounds daily limits.
type Day int32

// DayOf returns the day t falls on in loc.
func DayOf(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Date returns midnight UTC of the day: its calendar date.
func (d Day) Date() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String returns the date as "2006-01-02".
func (d Day) String() string { return d.Date().Format(time.DateOnly) }

// RecordPayee is who a transfer pays, as recorded: everything but the
// payee's full name.
type RecordPayee struct {
	Phone       Phone     `json:"phone,omitempty"` // empty for a chat transfer addressed by account
	Institution string    `json:"institution"`     // with Holder: the payee's identity for the first-time payee cap
	Holder      uuid.UUID `json:"holder"`          // the payee's user ID (see Payee.Holder)
	Account     uuid.UUID `json:"account"`         // the ledger account credited
	MaskedName  string    `json:"masked_name"`     // MaskName of the payee's name, for receipts
}

// Record is a transfer as the Store keeps it.
type Record struct {
	ID          uuid.UUID         `json:"id"`    // derived from Payer and Key
	Key         string            `json:"key"`   // the payer's idempotency key (ledger.CheckKey)
	RequestHash [sha256.Size]byte `json:"-"`     // fingerprint of the request, to tell a retry from a reuse of the key
	Payer       uuid.UUID         `json:"payer"` // the payer's user ID: whose daily total and lookup bucket
	From        uuid.UUID         `json:"from"`  // the payer's ledger account
	Payee       RecordPayee       `json:"payee"`
	Amount      ledger.Money      `json:"amount"`
	Arrival     Arrival           `json:"arrival"`
	Memo        string            `json:"memo,omitempty"`
	// LookupID is the lookup token the payer paid with (a token pays
	// once), or uuid.Nil.
	LookupID uuid.UUID `json:"lookup_id,omitzero"`
	// Refund: the payee came from a directory lookup, so settling gives
	// the payer's lookup bucket its refund.
	Refund bool `json:"refund"`
	Day    Day  `json:"day"` // the day the transfer counts towards the payer's daily limit

	// FirstPayee is set by DecideCreate: the payer had no settled transfer
	// to this payee when this one was created.
	FirstPayee bool      `json:"first_payee"`
	State      State     `json:"state"`
	Reason     string    `json:"reason,omitempty"`     // why it was cancelled or failed; empty otherwise
	CreatedAt  time.Time `json:"created_at"`           // UTC, microseconds
	DueAt      time.Time `json:"due_at"`               // delayed: when it lands; chat: when it expires; immediate: CreatedAt
	ResolvedAt time.Time `json:"resolved_at,omitzero"` // when it left StatePending; zero before
	// Attempts counts the callers that may be writing the record's ledger
	// transfer (the payment or the hold) without having recorded the
	// ledger's answer: Create counts its caller, every other caller (a
	// retry, Reconcile) counts itself with Store.Attempt before it writes,
	// and a caller the ledger refused uncounts itself. A failing record
	// whose ledger transfer is absent is proven clean only when it is 0
	// (see ApplyTransition).
	Attempts int32 `json:"attempts"`
}

// ValidateRecord checks a record a Store is asked to create: every field
// the service sets, in bounds, in StatePending.
//
// Errors: ErrInvalidRecord saying which field.
func ValidateRecord(r *Record) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %s: %s", ErrInvalidRecord, r.ID, fmt.Sprintf(format, args...))
	}
	switch {
	case r.ID == uuid.Nil:
		return bad("no ID")
	case ledger.CheckKey(r.Key) != nil:
		return fmt.Errorf("%w %s: %w", ErrInvalidRecord, r.ID, ledger.CheckKey(r.Key))
	case r.Payer == uuid.Nil:
		return bad("no payer")
	case r.From == uuid.Nil || r.Payee.Account == uuid.Nil:
		return bad("payer and payee accounts are required")
	case r.From == r.Payee.Account:
		return bad("payer and payee account are the same")
	case checkText("payee institution", r.Payee.Institution, MaxInstitutionLen) != nil:
		return bad("%v", checkText("payee institution", r.Payee.Institution, MaxInstitutionLen))
	case r.Payee.Holder == uuid.Nil:
		return bad("no payee holder")
	case len(r.Payee.MaskedName) > maxNameRunes*utf8.UTFMax || !utf8.ValidString(r.Payee.MaskedName) || hasControl(r.Payee.MaskedName):
		return bad("payee masked name must be valid UTF-8 of at most %d characters, no control characters", maxNameRunes)
	case r.Amount.Currency().IsZero() || !r.Amount.IsPositive():
		return bad("amount %v is not a positive amount of a currency", r.Amount)
	case !r.Arrival.Valid():
		return bad("arrival %v", r.Arrival)
	case checkMemo(r.Memo) != nil:
		return bad("%v", checkMemo(r.Memo))
	case r.State != StatePending || r.Reason != "" || !r.ResolvedAt.IsZero() || r.Attempts != 0:
		return bad("a new record must be pending")
	case r.CreatedAt.IsZero() || r.DueAt.Before(r.CreatedAt):
		return bad("CreatedAt must be set and DueAt not before it")
	}
	return nil
}

// checkText checks an identifier: 1 to max bytes of valid UTF-8 without
// control characters (C0 with NUL, DEL, C1). The length is checked first,
// so an overlong input costs nothing more.
func checkText(what, s string, max int) error {
	switch {
	case s == "" || len(s) > max:
		return fmt.Errorf("%s must be 1 to %d bytes, not %d", what, max, len(s))
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", what)
	case hasControl(s):
		return fmt.Errorf("%s has a control character", what)
	}
	return nil
}

// hasControl reports whether s has a control character (NUL among them).
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// checkMemo checks a memo: valid UTF-8, at most MaxMemoRunes characters,
// no control characters.
func checkMemo(memo string) error {
	if len(memo) > MaxMemoRunes*utf8.UTFMax || !utf8.ValidString(memo) || utf8.RuneCountInString(memo) > MaxMemoRunes {
		return fmt.Errorf("memo must be valid UTF-8 of at most %d characters", MaxMemoRunes)
	}
	if hasControl(memo) {
		return errors.New("memo has a control character")
	}
	return nil
}

// CreateFacts is what a Store knows, under its locks, when it is asked to
// create a record.
type CreateFacts struct {
	Existing      *Record   // the stored record with the same ID, nil if none
	LookupUsedBy  uuid.UUID // the record that used the request's LookupID, uuid.Nil if none
	SentToday     int64     // the payer's running total for the record's day and currency, minor units
	SettledBefore bool      // the payer has a settled transfer to the record's payee (institution and holder)
}

// DecideCreate decides whether a Store creates req, given what it holds.
// It is the one rule every Store calls:
//   - a record with req's ID exists: a retry when the request hashes are
//     equal (duplicate is true: the store returns the stored record and
//     changes nothing), else ErrIdempotencyConflict;
//   - req's lookup token paid another record: ErrLookupUsed;
//   - the limits (per transfer, first-time payee, daily) are checked with
//     the payer's running total; a breach is a *LimitError.
//
// On success (not a duplicate) it sets req.FirstPayee, counts the
// caller's attempt (Attempts = 1) and rounds
// CreatedAt and DueAt to what the ledger keeps (UTC, microseconds); the
// store then
// persists req and adds req.Amount to the payer's total for req.Day.
//
// Errors: ErrInvalidRecord, ErrIdempotencyConflict, ErrLookupUsed, and
// those of Limits.Check.
func DecideCreate(req *Record, f CreateFacts, limits Limits) (duplicate bool, err error) {
	if f.Existing != nil {
		if f.Existing.RequestHash != req.RequestHash {
			return false, fmt.Errorf("transfer %s (key %q): %w", req.ID, req.Key, ErrIdempotencyConflict)
		}
		return true, nil
	}
	req.CreatedAt, req.DueAt = ledgerTime(req.CreatedAt), ledgerTime(req.DueAt)
	if err := ValidateRecord(req); err != nil {
		return false, err
	}
	if req.LookupID != uuid.Nil && f.LookupUsedBy != uuid.Nil && f.LookupUsedBy != req.ID {
		return false, fmt.Errorf("transfer %s: %w", req.ID, ErrLookupUsed)
	}
	in := LimitInput{Amount: req.Amount, SentToday: ledger.NewMoney(f.SentToday, req.Amount.Currency()), FirstPayee: !f.SettledBefore}
	if err := limits.Check(in); err != nil {
		return false, err
	}
	req.FirstPayee = !f.SettledBefore
	req.Attempts = 1 // the caller's
	return false, nil
}

// StateError says that a transition found a record in another state than
// pending. It wraps ErrStateConflict.
type StateError struct {
	ID     uuid.UUID
	State  State  // the state found
	Reason string // its reason, for cancelled and failed
}

func (e *StateError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("transfer %s is %s (%s): %v", e.ID, e.State, e.Reason, ErrStateConflict)
	}
	return fmt.Sprintf("transfer %s is %s: %v", e.ID, e.State, ErrStateConflict)
}

// Unwrap returns ErrStateConflict.
func (e *StateError) Unwrap() error { return ErrStateConflict }

// TransitionEffects is what a Store does besides updating the record.
type TransitionEffects struct {
	// DailyDelta is added to the payer's running total for the record's
	// day and currency: minus the amount when the money went back.
	DailyDelta int64
	// SettledPair: remember that the payer has paid the payee, for the
	// first-time payee cap.
	SettledPair bool
	// LookupRefund: a payment that used a lookup (Record.Refund) settled:
	// the payer's lookup bucket gets RateConfig.SettledRefund back, by
	// the store in the same step when it refunds on the Service's limiter
	// (PayingStore.RefundsOn), or else by the Service
	// (Limiter.PaymentSettled).
	LookupRefund bool
}

// ApplyTransition moves r out of StatePending, once, or a failing record
// to StateFailed; it is the one rule every Store calls, under the lock of
// the record (a compare-and-swap: of several concurrent transitions, one
// finds the record pending).
//
//   - to StateSettled (reason empty): the payer and payee now count as
//     having settled;
//   - to StateCancelled, with ReasonCancelled for a delayed transfer, or
//     ReasonDeclined or ReasonExpired for a chat transfer;
//   - to StateFailing, with a failure code as reason: the ledger refused
//     the caller's attempt, which is no longer counted in Attempts; the
//     record keeps counting towards the daily total;
//   - from StateFailing to StateFailed (reason empty or the record's
//     own): the ledger is proven clean. The caller has seen the record's
//     ledger transfer undone (reversed, voided, expired) or absent, and in
//     the second case no attempt may still be writing it: Attempts must
//     be 0, else ErrAttemptInFlight. ResolvedAt keeps the time of the
//     refusal, so receipts do not change;
//   - to StateFailed from StatePending, with a failure code as reason,
//     for a caller that knows the ledger clean (the service goes through
//     StateFailing).
//
// Cancelled and failed transfers no longer count towards the payer's
// daily total.
//
// Errors: a *StateError (ErrStateConflict) when r is in no state the
// transition starts from, ErrAttemptInFlight, ErrInvalidTransition for
// any other transition or reason.
func ApplyTransition(r *Record, to State, reason string, at time.Time) (TransitionEffects, error) {
	var fx TransitionEffects
	if r.State == StateFailing && to == StateFailed {
		switch {
		case reason != "" && reason != r.Reason:
			return fx, fmt.Errorf("%w: failing transfer %s (%s) to failed with reason %q", ErrInvalidTransition, r.ID, r.Reason, reason)
		case r.Attempts > 0:
			return fx, fmt.Errorf("transfer %s: %w (%d)", r.ID, ErrAttemptInFlight, r.Attempts)
		}
		r.State = StateFailed
		fx.DailyDelta = -r.Amount.Units()
		return fx, nil
	}
	if r.State != StatePending {
		return fx, &StateError{ID: r.ID, State: r.State, Reason: r.Reason}
	}
	invalid := func() (TransitionEffects, error) {
		return fx, fmt.Errorf("%w: %s %s transfer %s to %s (reason %q)", ErrInvalidTransition, r.State, r.Arrival, r.ID, to, reason)
	}
	switch to {
	case StateSettled:
		if reason != "" {
			return invalid()
		}
		fx.SettledPair, fx.LookupRefund = true, r.Refund
	case StateCancelled:
		ok := reason == ReasonCancelled && r.Arrival.Delayed() ||
			(reason == ReasonDeclined || reason == ReasonExpired) && r.Arrival == ArriveOnAccept
		if !ok {
			return invalid()
		}
		fx.DailyDelta = -r.Amount.Units()
	case StateFailed, StateFailing:
		if reason == "" || len(reason) > 64 {
			return invalid()
		}
		if to == StateFailed {
			fx.DailyDelta = -r.Amount.Units()
		} else {
			r.Attempts = max(r.Attempts-1, 0)
		}
	default:
		return invalid()
	}
	r.State, r.Reason, r.ResolvedAt = to, reason, ledgerTime(at)
	return fx, nil
}

// ApplyAttempt counts delta attempts at r's ledger transfer in or out; it
// is the rule every Store's Attempt calls under the lock of the record. A
// caller counts itself in (+1) before it writes the ledger transfer of a
// pending record, and out (-1) when the ledger refused it; a caller that
// has seen the ledger transfer undone counts every attempt out (the
// negative of Attempts), since none can matter any more. Attempts never
// goes below 0.
//
// Errors: a *StateError (ErrStateConflict) when counting in at a record
// that is not pending, or out at one that is neither pending nor failing
// (the store returns the record as it is); ErrInvalidTransition for a
// delta of 0.
func ApplyAttempt(r *Record, delta int32) error {
	switch {
	case delta == 0:
		return fmt.Errorf("%w: transfer %s: attempt delta 0", ErrInvalidTransition, r.ID)
	case delta > 0 && r.State != StatePending, delta < 0 && !r.State.Unfinished():
		return &StateError{ID: r.ID, State: r.State, Reason: r.Reason}
	case delta > 0:
		if r.Attempts > math.MaxInt32-delta {
			return fmt.Errorf("%w: transfer %s: attempts overflow", ErrInvalidTransition, r.ID)
		}
		r.Attempts += delta
	default:
		r.Attempts = max(r.Attempts+delta, 0)
	}
	return nil
}

// Index names an ordering of records that Store.Scan walks.
type Index uint8

const (
	// IndexCreated: every unfinished record (pending or failing) by
	// (CreatedAt, ID); what Reconcile walks.
	IndexCreated Index = iota
	// IndexReleases: pending delayed transfers (Arrive2h, Arrive24h) by
	// (DueAt, ID); what ReleaseDue walks.
	IndexReleases
	// IndexChats: pending chat transfers (ArriveOnAccept) by (DueAt, ID);
	// what ExpireChats walks.
	IndexChats
	// IndexAll: every record, whatever its state, by (CreatedAt, ID);
	// what Service.Check walks.
	IndexAll
)

// Cursor is a position in an Index: the time and ID of the last record
// seen. The zero Cursor is the start.
type Cursor struct {
	At time.Time `json:"at"`
	ID uuid.UUID `json:"id"`
}

// Less reports whether c comes before d: by time, then by ID bytes.
func (c Cursor) Less(d Cursor) bool {
	if !c.At.Equal(d.At) {
		return c.At.Before(d.At)
	}
	return bytes.Compare(c.ID[:], d.ID[:]) < 0
}

// ScanQuery asks for pending records of an index.
type ScanQuery struct {
	Index  Index     `json:"index"`
	After  Cursor    `json:"after,omitzero"`  // exclusive; the zero Cursor is the start
	Before time.Time `json:"before,omitzero"` // inclusive bound on the index's time
	Limit  int       `json:"limit"`           // at most this many; > 0
}

// CursorOf returns the position of r in index ix.
func CursorOf(ix Index, r *Record) Cursor {
	if ix == IndexCreated || ix == IndexAll {
		return Cursor{At: r.CreatedAt, ID: r.ID}
	}
	return Cursor{At: r.DueAt, ID: r.ID}
}

// InIndex reports whether r, as it stands, belongs to index ix.
func InIndex(ix Index, r *Record) bool {
	switch ix {
	case IndexCreated:
		return r.State.Unfinished()
	case IndexReleases:
		return r.State == StatePending && r.Arrival.Delayed()
	case IndexChats:
		return r.State == StatePending && r.Arrival == ArriveOnAccept
	case IndexAll:
		return true
	}
	return false
}

// Store keeps transfer records, each payer's running daily totals, and
// which payers have settled with which payees. It locks, reads and
// persists; DecideCreate and ApplyTransition decide. Implementations must
// be safe for concurrent use and pass transfertest.Run.
type Store interface {
	// Create stores rec as DecideCreate allows, atomically with reading
	// the facts it needs and with adding rec.Amount to the payer's daily
	// total. It returns the stored record and whether this call created it
	// (false: a retry found the same request stored).
	//
	// Errors: ErrInvalidRecord, ErrIdempotencyConflict, ErrLookupUsed,
	// ErrInvalidLimits, ErrCurrencyMismatch, and a *LimitError
	// (ErrOverTransferLimit, ErrOverFirstPayeeLimit, ErrOverDailyLimit).
	Create(ctx context.Context, rec Record, limits Limits) (Record, bool, error)
	// Get returns a record.
	//
	// Errors: ErrRecordNotFound.
	Get(ctx context.Context, id uuid.UUID) (Record, error)
	// Transition applies ApplyTransition to the record and its effects to
	// the totals, atomically, and returns the record as stored. When the
	// rule refuses, it returns the record as it is with the rule's error.
	//
	// Errors: ErrRecordNotFound, ErrStateConflict (*StateError),
	// ErrAttemptInFlight, ErrInvalidTransition.
	Transition(ctx context.Context, id uuid.UUID, to State, reason string, at time.Time) (Record, error)
	// Attempt applies ApplyAttempt to the record, atomically, and returns
	// the record as stored; when the rule refuses, the record as it is
	// with a *StateError.
	//
	// Errors: ErrRecordNotFound, ErrStateConflict (*StateError),
	// ErrInvalidTransition.
	Attempt(ctx context.Context, id uuid.UUID, delta int32) (Record, error)
	// Scan returns up to q.Limit records of q.Index (see InIndex) after
	// q.After whose index time is at or before q.Before, in index order.
	Scan(ctx context.Context, q ScanQuery) ([]Record, error)
	// DailyTotal returns what payer has sent (pending or settled) on day
	// in currency c.
	DailyTotal(ctx context.Context, payer uuid.UUID, day Day, c ledger.Currency) (ledger.Money, error)
	// SettledBefore reports whether payer has a settled transfer to the
	// holder at institution.
	SettledBefore(ctx context.Context, payer uuid.UUID, institution string, holder uuid.UUID) (bool, error)
}
