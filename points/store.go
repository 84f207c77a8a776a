package points

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// Store keeps users' points: their lots and totals (a Holder), the
// operations on them, and the rates. A store locks, loads and persists;
// every decision is one of the pure rules (Holder.Record, Post, Fail,
// Expire, Allocate, SameRequest, CheckNewRate), which the store calls with
// the user (or the rate's name) locked, so every store behaves the same. A
// store never touches the ledger: the Service moves the points and money,
// with transfer IDs derived from the operations' IDs, and records each
// confirmed step here.
//
// Implementations must be safe for concurrent use and pass pointstest.Run.
// Operations of one user are serialized by that user alone.
//
// The error return of every method wraps the sentinels listed, or reports
// the store itself failing (context cancelled, database unreachable), in
// which case nothing changed unless the store says otherwise.
type Store interface {
	// Record records op, a new pending operation (credit or debit), by
	// Holder.Record at now, atomically with the user's lots. If an
	// operation with op.ID exists, it returns the stored one with existing
	// true and changes nothing, or ErrOpConflict if SameRequest refuses.
	//
	// Errors: ErrInvalidOp, ErrOpConflict, ErrInsufficientPoints,
	// ErrOverflow.
	Record(ctx context.Context, op Op, now time.Time) (stored Op, existing bool, err error)

	// Post applies Holder.Post to operation id of user: its ledger
	// transfer is confirmed. Posting again changes nothing.
	//
	// Errors: ErrOpNotFound, ErrOpResolved.
	Post(ctx context.Context, user, id uuid.UUID) (Op, error)

	// Fail applies Holder.Fail to operation id of user: the ledger refused
	// its transfer for good. Failing again changes nothing.
	//
	// Errors: ErrOpNotFound, ErrOpResolved.
	Fail(ctx context.Context, user, id uuid.UUID) (Op, error)

	// Expire applies Holder.Expire to lot m of user at now, recording the
	// expiry it returns. ok is false when the lot is not due (or gone):
	// of concurrent calls on one due lot, one expires it.
	//
	// Errors: ErrInvalidOp, ErrOverflow.
	Expire(ctx context.Context, user uuid.UUID, m Month, now time.Time, req ExpireRequest) (op Op, ok bool, err error)

	// Op returns an operation.
	//
	// Errors: ErrOpNotFound.
	Op(ctx context.Context, id uuid.UUID) (Op, error)

	// Holder returns a user's totals and the lots with points (Remaining
	// or Pending above zero), by month; a user without points has a zero
	// Holder (with User set).
	Holder(ctx context.Context, user uuid.UUID) (Holder, error)

	// Due returns up to limit lots that are due at now (Lot.Due), in
	// (ExpiresAt, User, Month) order, strictly after cursor. It returns
	// fewer than limit only when no more qualify.
	Due(ctx context.Context, now time.Time, after LotCursor, limit int) ([]Lot, error)

	// Pending returns up to limit operations of status pending, in
	// (CreatedAt, ID) order, strictly after cursor. It returns fewer than
	// limit only when no more qualify.
	Pending(ctx context.Context, after OpCursor, limit int) ([]Op, error)

	// SetRate records rate r by CheckNewRate, atomically for its name: of
	// concurrent calls for one new version, one records it; the others
	// with the same values get it (existing), with other values
	// ErrRateConflict.
	//
	// Errors: ErrInvalidRate, ErrRateConflict.
	SetRate(ctx context.Context, r Rate) (stored Rate, existing bool, err error)

	// Rate returns version of rate name, or its latest when version is 0.
	//
	// Errors: ErrNoRate.
	Rate(ctx context.Context, name string, version int) (Rate, error)
}

// LotCursor is a position in Store.Due's order: the last lot of the page
// before. The zero LotCursor starts from the beginning.
type LotCursor struct {
	ExpiresAt time.Time `json:"expires_at"`
	User      uuid.UUID `json:"user"`
	Month     Month     `json:"month"`
}

// After reports whether l comes strictly after c in Due's order.
func (c LotCursor) After(l *Lot) bool {
	if c.ExpiresAt.IsZero() && c.User == uuid.Nil {
		return true
	}
	if d := l.ExpiresAt.Compare(c.ExpiresAt); d != 0 {
		return d > 0
	}
	if d := compareUUID(l.User, c.User); d != 0 {
		return d > 0
	}
	return l.Month > c.Month
}

// OpCursor is a position in Store.Pending's order.
type OpCursor struct {
	CreatedAt time.Time `json:"created_at"`
	ID        uuid.UUID `json:"id"`
}

// After reports whether o comes strictly after c in Pending's order.
func (c OpCursor) After(o *Op) bool {
	if c.CreatedAt.IsZero() && c.ID == uuid.Nil {
		return true
	}
	if d := o.CreatedAt.Compare(c.CreatedAt); d != 0 {
		return d > 0
	}
	return compareUUID(o.ID, c.ID) > 0
}

func compareUUID(a, b uuid.UUID) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// PostingStore is a Store that can also apply an operation's ledger
// transfers in the step that records it: one database transaction, when
// the store and the ledger's store are one database — an operation then
// costs one commit instead of a record, a ledger commit and a posted
// mark. The store still decides nothing itself: Holder.Record takes the
// points, the ledger's pure rules (ledger.ApplyBatch, linked) decide the
// transfers, Holder.Post records them confirmed.
//
// The Service records through RecordPosted only when PaysOn accepts its
// ledger's store (or the store a ledger.GroupCommit wraps).
type PostingStore interface {
	Store

	// PaysOn reports whether RecordPosted writes its transfers to ls, the
	// ledger store the Service pays on (the same database and schema).
	PaysOn(ls ledger.Store) bool

	// RecordPosted is Record and the operation's transfers, applied
	// linked at the ledger's time postAt on the store PaysOn accepted, in
	// one atomic step. If an operation with op.ID exists, it returns it as
	// Record does (existing true; the caller finishes it if pending) and
	// changes nothing. If the ledger refuses the transfers, nothing is
	// recorded and the refusal is returned (a *ledger.TransferError:
	// ledger.Refused). Otherwise the operation is recorded posted, in the
	// same commit as its transfers.
	//
	// Errors: those of Record; the ledger's refusal; or the store failing,
	// after which the operation may or may not be recorded and posted
	// (the same request again returns it).
	RecordPosted(ctx context.Context, op Op, now, postAt time.Time, transfers []ledger.Transfer) (stored Op, existing bool, err error)
}
