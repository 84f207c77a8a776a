package collect

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// MemoryStore is the embedded Store: everything in memory, safe for
// concurrent use, kept for the life of the process. Requests are spread
// over independently locked shards, and each request has its own lock,
// taken by every change of it; a payment makes its ledger transfer with
// that lock held, so payments of one request queue and payments of
// different requests never wait for each other. The listings (Due,
// Unreconciled) scan every request: fine for tests, simulations and
// benchmarks, which is what the MemoryStore is for.
type MemoryStore struct {
	shards [memShards]memShard
}

var _ Store = (*MemoryStore)(nil)

const memShards = 64

type memShard struct {
	mu sync.RWMutex
	m  map[uuid.UUID]*memRequest
	_  [40]byte // keep shards on separate cache lines
}

type memRequest struct {
	mu sync.Mutex
	r  Request
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	s := &MemoryStore{}
	for i := range s.shards {
		s.shards[i].m = make(map[uuid.UUID]*memRequest)
	}
	return s
}

func (s *MemoryStore) shard(id uuid.UUID) *memShard {
	h := binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(id[8:])
	return &s.shards[(h*0x9E3779B97F4A7C15)>>58]
}

func notFound(id uuid.UUID) error { return fmt.Errorf("request %s: %w", id, ErrRequestNotFound) }

func (s *MemoryStore) get(ctx context.Context, id uuid.UUID) (*memRequest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sh := s.shard(id)
	sh.mu.RLock()
	mr := sh.m[id]
	sh.mu.RUnlock()
	if mr == nil {
		return nil, notFound(id)
	}
	return mr, nil
}

// CreateRequest implements Store.
func (s *MemoryStore) CreateRequest(ctx context.Context, r Request) (Request, error) {
	if err := ctx.Err(); err != nil {
		return Request{}, err
	}
	if err := r.Validate(); err != nil {
		return Request{}, err
	}
	if r.Status != StatusOpen || r.Paid+r.Declined > 0 || !r.RemindedAt.IsZero() {
		return Request{}, fmt.Errorf("%w: request %s: a new request is open with nothing paid", ErrInvalidRequest, r.ID)
	}
	sh := s.shard(r.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if mr := sh.m[r.ID]; mr != nil {
		mr.mu.Lock()
		defer mr.mu.Unlock()
		return mr.r.Clone(), fmt.Errorf("request %s: %w", r.ID, ErrRequestExists)
	}
	sh.m[r.ID] = &memRequest{r: r.Clone()}
	return r.Clone(), nil
}

// Request implements Store.
func (s *MemoryStore) Request(ctx context.Context, id uuid.UUID) (Request, error) {
	mr, err := s.get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	mr.mu.Lock()
	defer mr.mu.Unlock()
	return mr.r.Clone(), nil
}

// change runs f with request id locked and returns the request after.
func (s *MemoryStore) change(ctx context.Context, id uuid.UUID, f func(r *Request) error) (Request, error) {
	mr, err := s.get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	mr.mu.Lock()
	defer mr.mu.Unlock()
	if err := f(&mr.r); err != nil {
		return Request{}, err
	}
	return mr.r.Clone(), nil
}

// Pay implements Store: the transfer is made through step.Ledger with the
// request's lock held.
func (s *MemoryStore) Pay(ctx context.Context, id uuid.UUID, step PayStep) (PayResult, error) {
	mr, err := s.get(ctx, id)
	if err != nil {
		return PayResult{}, err
	}
	mr.mu.Lock()
	defer mr.mu.Unlock()
	res, _, err := mr.r.Pay(&step, func() error { return MoveThrough(ctx, &mr.r, &step) })
	return res, err
}

// MoveThrough makes step's transfer through step.Ledger, as Store.Pay's
// move: nil when it went through (or was made before), the ledger's
// refusal as is, and any other failure wrapped in ErrPaymentUnknown.
func MoveThrough(ctx context.Context, r *Request, step *PayStep) error {
	if step.Ledger == nil {
		return fmt.Errorf("%w: no ledger to pay on", ErrInvalidRequest)
	}
	_, err := step.Ledger.Transfer(ctx, step.Transfer)
	switch {
	case err == nil:
		return nil
	case ledger.Refused(err):
		return r.shareError(step.Member, err)
	}
	return r.shareError(step.Member, fmt.Errorf("%w: %w", ErrPaymentUnknown, err))
}

// RecordPaid implements Store.
func (s *MemoryStore) RecordPaid(ctx context.Context, id, member, account, transferID uuid.UUID, at time.Time) (Request, error) {
	return s.change(ctx, id, func(r *Request) error {
		_, err := r.RecordPaid(member, account, transferID, at)
		return err
	})
}

// Decline implements Store.
func (s *MemoryStore) Decline(ctx context.Context, id, member uuid.UUID, now time.Time) (Request, error) {
	return s.change(ctx, id, func(r *Request) error {
		_, err := r.Decline(member, now)
		return err
	})
}

// Close implements Store.
func (s *MemoryStore) Close(ctx context.Context, id uuid.UUID, now time.Time) (Request, error) {
	return s.change(ctx, id, func(r *Request) error {
		r.Close(now)
		return nil
	})
}

// Expire implements Store.
func (s *MemoryStore) Expire(ctx context.Context, id uuid.UUID, now time.Time) (Request, bool, error) {
	var expired bool
	r, err := s.change(ctx, id, func(r *Request) (err error) {
		expired, err = r.Expire(now)
		return err
	})
	return r, expired, err
}

// Remind implements Store.
func (s *MemoryStore) Remind(ctx context.Context, id uuid.UUID, now time.Time, every time.Duration) (Request, []uuid.UUID, error) {
	var members []uuid.UUID
	r, err := s.change(ctx, id, func(r *Request) (err error) {
		members, err = r.Remind(now, every)
		return err
	})
	return r, members, err
}

// MarkReconciled implements Store.
func (s *MemoryStore) MarkReconciled(ctx context.Context, id uuid.UUID) (Request, error) {
	return s.change(ctx, id, func(r *Request) error {
		r.MarkReconciled()
		return nil
	})
}

// Due implements Store.
func (s *MemoryStore) Due(ctx context.Context, now time.Time, after Cursor, limit int) ([]Request, error) {
	return s.list(ctx, after, limit, func(r *Request) (time.Time, bool) {
		return r.ExpiresAt, r.Status == StatusOpen && !r.ExpiresAt.After(now)
	})
}

// Unreconciled implements Store.
func (s *MemoryStore) Unreconciled(ctx context.Context, endedBefore time.Time, after Cursor, limit int) ([]Request, error) {
	return s.list(ctx, after, limit, func(r *Request) (time.Time, bool) {
		return r.EndedAt, r.Status != StatusOpen && !r.Reconciled && !r.EndedAt.After(endedBefore)
	})
}

func (s *MemoryStore) list(ctx context.Context, after Cursor, limit int, match func(*Request) (time.Time, bool)) ([]Request, error) {
	if err := ctx.Err(); err != nil || limit <= 0 {
		return nil, err
	}
	type hit struct {
		at time.Time
		r  Request
	}
	var hits []hit
	start := after.At.IsZero() && after.ID == uuid.Nil
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, mr := range sh.m {
			mr.mu.Lock()
			at, ok := match(&mr.r)
			if ok && (start || cmpKey(at, mr.r.ID, after) > 0) {
				hits = append(hits, hit{at, mr.r.Clone()})
			}
			mr.mu.Unlock()
		}
		sh.mu.RUnlock()
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmpKey(a.at, a.r.ID, Cursor{b.at, b.r.ID}) })
	out := make([]Request, 0, min(limit, len(hits)))
	for i := 0; i < len(hits) && i < limit; i++ {
		out = append(out, hits[i].r)
	}
	return out, nil
}

func cmpKey(at time.Time, id uuid.UUID, c Cursor) int {
	if n := at.Compare(c.At); n != 0 {
		return n
	}
	return cmp.Compare(string(id[:]), string(c.ID[:]))
}

// errorsIsAny reports whether err matches any of targets.
func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
