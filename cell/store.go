package cell

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// Store keeps the records of the payments a cell's users pay to other
// cells: the coordinator's log, one record per payment, written before
// any money moves, so that Reconcile finds every payment a crash left half
// done. A store persists; Cells decides. It must be safe for concurrent
// use by many goroutines and processes, and pass celltest.RunStore.
type Store interface {
	// PaysOn reports whether the store makes a Move on a ledger of store
	// ls in the transaction that writes its record, as a store does that
	// shares a database and schema with ls. Cells then passes Begin the
	// payment's hold and Finish its post or void, and a payment between
	// cells commits three times instead of five.
	PaysOn(ls ledger.Store) bool

	// Begin records p (state StateOpen, its CreatedAt set) unless a
	// payment with p.ID is recorded: then it returns that one and created
	// false, whatever it holds. With a hold (only when PaysOn) it makes
	// the hold in the transaction that records p: a hold the ledger
	// refuses records p as HoldRefused says, and the hold's ID is never
	// written but with the record.
	//
	// Errors: a store's; a hold made is never an error of Begin's.
	Begin(ctx context.Context, p Payment, hold *Move) (stored Payment, created bool, err error)

	// Finish moves an open payment to state (final) with reason at at. A
	// payment already final stays as it is: Finish returns it, so the
	// first to finish a payment decides. With a move (only when
	// PaysOn: the hold's post or void) it makes the move in the
	// transaction that finishes the payment, and finishes nothing if the
	// ledger refuses the move.
	//
	// Errors: ErrPaymentNotFound; the move's refusal (a
	// *ledger.TransferError).
	Finish(ctx context.Context, id uuid.UUID, state State, reason string, at time.Time, move *Move) (Payment, error)

	// Payment returns a recorded payment.
	//
	// Errors: ErrPaymentNotFound.
	Payment(ctx context.Context, id uuid.UUID) (Payment, error)

	// Open returns up to limit open payments created at or before before,
	// ordered by (CreatedAt, ID), after the cursor (the zero Cursor starts
	// from the first).
	Open(ctx context.Context, before time.Time, after Cursor, limit int) ([]Payment, error)

	// BeginForward records f (open: FinishedAt zero, its CreatedAt set)
	// unless a forward with f.ID is recorded: then it returns that one
	// and created false, whatever it holds.
	//
	// Errors: a store's.
	BeginForward(ctx context.Context, f Forward) (stored Forward, created bool, err error)

	// FinishForward marks an open forward finished at at. A forward
	// already finished stays as it is: FinishForward returns it.
	//
	// Errors: ErrPaymentNotFound.
	FinishForward(ctx context.Context, id uuid.UUID, at time.Time) (Forward, error)

	// OpenForwards returns up to limit open forwards created at or before
	// before, ordered by (CreatedAt, ID), after the cursor.
	OpenForwards(ctx context.Context, before time.Time, after Cursor, limit int) ([]Forward, error)
}

// Move is a ledger write a Store makes in the transaction of its record
// (see Store.PaysOn): Transfer on Ledger.
type Move struct {
	Ledger   *ledger.Ledger
	Transfer ledger.Transfer
}

// HoldRefused returns the state and reason of a payment whose hold the
// ledger refused with err: the rule a Store that makes the hold applies.
func HoldRefused(err error) (State, string) { return StateFailed, reason(err) }

// MemoryStore is a Store in memory, for tests, simulations and a cell on
// a ledger.MemoryStore. It keeps nothing across restarts.
type MemoryStore struct {
	mu sync.Mutex
	m  map[uuid.UUID]Payment
	f  map[uuid.UUID]Forward
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{m: map[uuid.UUID]Payment{}, f: map[uuid.UUID]Forward{}}
}

// PaysOn implements Store: a MemoryStore makes no moves (its lock is
// not the ledger's), so Cells makes them through the ledger and fences
// what it must.
func (s *MemoryStore) PaysOn(ledger.Store) bool { return false }

// Begin implements Store; hold is nil (PaysOn is false).
func (s *MemoryStore) Begin(ctx context.Context, p Payment, _ *Move) (Payment, bool, error) {
	if err := ctx.Err(); err != nil {
		return Payment{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[p.ID]; ok {
		return old, false, nil
	}
	p.State, p.Reason, p.FinishedAt = StateOpen, "", time.Time{}
	s.m[p.ID] = p
	return p, true, nil
}

// Finish implements Store; move is nil (PaysOn is false).
func (s *MemoryStore) Finish(ctx context.Context, id uuid.UUID, state State, reason string, at time.Time, _ *Move) (Payment, error) {
	if err := ctx.Err(); err != nil {
		return Payment{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[id]
	if !ok {
		return Payment{}, notFound(id)
	}
	if p.State == StateOpen {
		p.State, p.Reason, p.FinishedAt = state, reason, at
		s.m[id] = p
	}
	return p, nil
}

// Payment implements Store.
func (s *MemoryStore) Payment(ctx context.Context, id uuid.UUID) (Payment, error) {
	if err := ctx.Err(); err != nil {
		return Payment{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[id]
	if !ok {
		return Payment{}, notFound(id)
	}
	return p, nil
}

// Open implements Store.
func (s *MemoryStore) Open(ctx context.Context, before time.Time, after Cursor, limit int) ([]Payment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	ps := slices.Collect(maps.Values(s.m))
	s.mu.Unlock()
	ps = slices.DeleteFunc(ps, func(p Payment) bool {
		return p.State != StateOpen || p.CreatedAt.After(before) || !afterCursor(p.CreatedAt, p.ID, after)
	})
	slices.SortFunc(ps, func(a, b Payment) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), slices.Compare(a.ID[:], b.ID[:]))
	})
	return ps[:min(len(ps), max(limit, 0))], nil
}

// BeginForward implements Store.
func (s *MemoryStore) BeginForward(ctx context.Context, f Forward) (Forward, bool, error) {
	if err := ctx.Err(); err != nil {
		return Forward{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.f[f.ID]; ok {
		return old, false, nil
	}
	f.FinishedAt = time.Time{}
	s.f[f.ID] = f
	return f, true, nil
}

// FinishForward implements Store.
func (s *MemoryStore) FinishForward(ctx context.Context, id uuid.UUID, at time.Time) (Forward, error) {
	if err := ctx.Err(); err != nil {
		return Forward{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.f[id]
	if !ok {
		return Forward{}, notFound(id)
	}
	if f.FinishedAt.IsZero() {
		f.FinishedAt = at
		s.f[id] = f
	}
	return f, nil
}

// OpenForwards implements Store.
func (s *MemoryStore) OpenForwards(ctx context.Context, before time.Time, after Cursor, limit int) ([]Forward, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	fs := slices.Collect(maps.Values(s.f))
	s.mu.Unlock()
	fs = slices.DeleteFunc(fs, func(f Forward) bool {
		return !f.FinishedAt.IsZero() || f.CreatedAt.After(before) || !afterCursor(f.CreatedAt, f.ID, after)
	})
	slices.SortFunc(fs, func(a, b Forward) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), slices.Compare(a.ID[:], b.ID[:]))
	})
	return fs[:min(len(fs), max(limit, 0))], nil
}

func afterCursor(at time.Time, id uuid.UUID, c Cursor) bool {
	if c == (Cursor{}) {
		return true
	}
	if d := at.Compare(c.CreatedAt); d != 0 {
		return d > 0
	}
	return slices.Compare(id[:], c.ID[:]) > 0
}
