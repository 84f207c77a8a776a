package cell

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Store keeps the records of the payments a cell's users pay to other
// cells: the coordinator's log, one record per payment, written before
// any money moves, so that Reconcile finds every payment a crash left half
// done. A store persists; Cells decides. It must be safe for concurrent
// use by many goroutines and processes, and pass celltest.RunStore.
type Store interface {
	// Begin records p (state StateOpen, its CreatedAt set) unless a
	// payment with p.ID is recorded: then it returns that one and created
	// false, whatever it holds.
	Begin(ctx context.Context, p Payment) (stored Payment, created bool, err error)

	// Finish moves an open payment to state (final) with reason at at. A
	// payment already final stays as it is: Finish returns it, so the
	// first to finish a payment decides.
	//
	// Errors: ErrPaymentNotFound.
	Finish(ctx context.Context, id uuid.UUID, state State, reason string, at time.Time) (Payment, error)

	// Payment returns a recorded payment.
	//
	// Errors: ErrPaymentNotFound.
	Payment(ctx context.Context, id uuid.UUID) (Payment, error)

	// Open returns up to limit open payments created at or before before,
	// ordered by (CreatedAt, ID), after the cursor (the zero Cursor starts
	// from the first).
	Open(ctx context.Context, before time.Time, after Cursor, limit int) ([]Payment, error)
}

// MemoryStore is a Store in memory, for tests, simulations and a cell on
// a ledger.MemoryStore. It keeps nothing across restarts.
type MemoryStore struct {
	mu sync.Mutex
	m  map[uuid.UUID]Payment
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[uuid.UUID]Payment{}} }

// Begin implements Store.
func (s *MemoryStore) Begin(ctx context.Context, p Payment) (Payment, bool, error) {
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

// Finish implements Store.
func (s *MemoryStore) Finish(ctx context.Context, id uuid.UUID, state State, reason string, at time.Time) (Payment, error) {
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
		return p.State != StateOpen || p.CreatedAt.After(before) || !afterCursor(p, after)
	})
	slices.SortFunc(ps, func(a, b Payment) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), slices.Compare(a.ID[:], b.ID[:]))
	})
	return ps[:min(len(ps), max(limit, 0))], nil
}

func afterCursor(p Payment, c Cursor) bool {
	if c == (Cursor{}) {
		return true
	}
	if d := p.CreatedAt.Compare(c.CreatedAt); d != 0 {
		return d > 0
	}
	return slices.Compare(p.ID[:], c.ID[:]) > 0
}
