package points

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// MemoryStore is the embedded Store: users, operations and rates in
// memory, each user under a lock of its own. It passes pointstest.Run.
type MemoryStore struct {
	users [memShards]userShard
	ops   [memShards]opShard

	ratesMu sync.Mutex
	rates   map[string][]Rate // by name, versions 1… in order

	// due indexes every lot by its expiry, for Due: a bucket per expiry
	// instant (a lot's never changes), its lots sorted when listed. It
	// keeps lots that have since emptied; Due skips them.
	dueMu sync.Mutex
	due   map[int64]*dueBucket // by ExpiresAt in µs
}

type lotKey struct {
	user  uuid.UUID
	month Month
}

type dueBucket struct {
	at     time.Time
	keys   []lotKey
	sorted bool
}

func compareLotKeys(a, b lotKey) int {
	if c := compareUUID(a.user, b.user); c != 0 {
		return c
	}
	return int(a.month - b.month)
}

const memShards = 64

type userShard struct {
	mu    sync.RWMutex
	users map[uuid.UUID]*memUser
}

type memUser struct {
	mu sync.Mutex
	h  Holder // every lot the user ever had, by month
}

type opShard struct {
	mu      sync.RWMutex
	ops     map[uuid.UUID]*Op
	pending map[uuid.UUID]struct{}
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	s := &MemoryStore{rates: map[string][]Rate{}, due: map[int64]*dueBucket{}}
	for i := range s.users {
		s.users[i].users = map[uuid.UUID]*memUser{}
		s.ops[i].ops = map[uuid.UUID]*Op{}
		s.ops[i].pending = map[uuid.UUID]struct{}{}
	}
	return s
}

func shard(id uuid.UUID) int { return int(id[15]) % memShards }

// user returns the user's record, creating it when create is set (else
// nil for a user without one).
func (s *MemoryStore) user(id uuid.UUID, create bool) *memUser {
	sh := &s.users[shard(id)]
	sh.mu.RLock()
	u := sh.users[id]
	sh.mu.RUnlock()
	if u != nil || !create {
		return u
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if u = sh.users[id]; u == nil {
		u = &memUser{h: Holder{User: id}}
		sh.users[id] = u
	}
	return u
}

func (s *MemoryStore) op(id uuid.UUID) *Op {
	sh := &s.ops[shard(id)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.ops[id]
}

// putOp stores op (a copy the store owns) and its pending mark.
func (s *MemoryStore) putOp(op *Op) {
	sh := &s.ops[shard(op.ID)]
	sh.mu.Lock()
	sh.ops[op.ID] = op
	if op.Status == StatusPending {
		sh.pending[op.ID] = struct{}{}
	} else {
		delete(sh.pending, op.ID)
	}
	sh.mu.Unlock()
}

func copyOp(o *Op) Op {
	c := *o
	c.Takes = slices.Clone(o.Takes)
	return c
}

// Record implements Store.
//
// Errors: ErrInvalidOp, ErrOpConflict, ErrInsufficientPoints, ErrOverflow.
func (s *MemoryStore) Record(ctx context.Context, op Op, now time.Time) (Op, bool, error) {
	if err := op.Validate(); err != nil {
		return Op{}, false, err
	}
	u := s.user(op.User, true)
	u.mu.Lock()
	defer u.mu.Unlock()
	if stored := s.op(op.ID); stored != nil {
		if err := SameRequest(&op, stored); err != nil {
			return Op{}, false, err
		}
		return copyOp(stored), true, nil
	}
	op.Takes = nil
	lots := len(u.h.Lots)
	if err := u.h.Record(&op, now); err != nil {
		return Op{}, false, err
	}
	if len(u.h.Lots) > lots { // a new lot
		s.index(op.User, op.Month, op.LotExpiresAt)
	}
	c := copyOp(&op)
	s.putOp(&c)
	return op, false, nil
}

// Post implements Store.
//
// Errors: ErrOpNotFound, ErrOpResolved.
func (s *MemoryStore) Post(ctx context.Context, user, id uuid.UUID) (Op, error) {
	return s.resolve(user, id, (*Holder).Post)
}

// Fail implements Store.
//
// Errors: ErrOpNotFound, ErrOpResolved.
func (s *MemoryStore) Fail(ctx context.Context, user, id uuid.UUID) (Op, error) {
	return s.resolve(user, id, (*Holder).Fail)
}

func (s *MemoryStore) resolve(user, id uuid.UUID, f func(*Holder, *Op) (bool, error)) (Op, error) {
	u := s.user(user, false)
	if u == nil {
		return Op{}, fmt.Errorf("op %s of user %s: %w", id, user, ErrOpNotFound)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	stored := s.op(id)
	if stored == nil || stored.User != user {
		return Op{}, fmt.Errorf("op %s of user %s: %w", id, user, ErrOpNotFound)
	}
	op := copyOp(stored)
	changed, err := f(&u.h, &op)
	if err != nil {
		return Op{}, err
	}
	if changed {
		c := copyOp(&op)
		s.putOp(&c)
	}
	return op, nil
}

// Expire implements Store.
//
// Errors: ErrInvalidOp, ErrOverflow.
func (s *MemoryStore) Expire(ctx context.Context, user uuid.UUID, m Month, now time.Time, req ExpireRequest) (Op, bool, error) {
	u := s.user(user, false)
	if u == nil {
		return Op{}, false, nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	op, ok, err := u.h.Expire(m, now, req)
	if err != nil || !ok {
		return Op{}, false, err
	}
	c := copyOp(&op)
	s.putOp(&c)
	return op, true, nil
}

// Op implements Store.
//
// Errors: ErrOpNotFound.
func (s *MemoryStore) Op(ctx context.Context, id uuid.UUID) (Op, error) {
	sh := &s.ops[shard(id)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	o := sh.ops[id]
	if o == nil {
		return Op{}, fmt.Errorf("op %s: %w", id, ErrOpNotFound)
	}
	return copyOp(o), nil
}

// Holder implements Store.
func (s *MemoryStore) Holder(ctx context.Context, user uuid.UUID) (Holder, error) {
	u := s.user(user, false)
	if u == nil {
		return Holder{User: user}, nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	h := u.h
	h.Lots = nil
	for _, l := range u.h.Lots {
		if l.Remaining > 0 || l.Pending > 0 {
			h.Lots = append(h.Lots, l)
		}
	}
	return h, nil
}

// index adds a new lot to the due index.
func (s *MemoryStore) index(user uuid.UUID, m Month, at time.Time) {
	s.dueMu.Lock()
	defer s.dueMu.Unlock()
	b := s.due[at.UnixMicro()]
	if b == nil {
		b = &dueBucket{at: at, sorted: true}
		s.due[at.UnixMicro()] = b
	}
	b.keys = append(b.keys, lotKey{user, m})
	b.sorted = false
}

// dueKeys returns up to n lots of the due index after cursor that expire
// at or before now, in Due's order, with their expiry, and whether there
// may be more.
func (s *MemoryStore) dueKeys(now time.Time, after LotCursor, n int) ([]lotKey, []time.Time, bool) {
	s.dueMu.Lock()
	defer s.dueMu.Unlock()
	var buckets []*dueBucket
	for _, b := range s.due {
		if !b.at.After(now) && !b.at.Before(after.ExpiresAt) {
			buckets = append(buckets, b)
		}
	}
	slices.SortFunc(buckets, func(a, b *dueBucket) int { return a.at.Compare(b.at) })
	var out []lotKey
	var at []time.Time
	start := !after.ExpiresAt.IsZero() || after.User != uuid.Nil
	for _, b := range buckets {
		if !b.sorted {
			slices.SortFunc(b.keys, compareLotKeys)
			b.sorted = true
		}
		i := 0
		if start && b.at.Equal(after.ExpiresAt) {
			i, _ = slices.BinarySearchFunc(b.keys, lotKey{after.User, after.Month}, compareLotKeys)
			if i < len(b.keys) && b.keys[i] == (lotKey{after.User, after.Month}) {
				i++
			}
		}
		for ; i < len(b.keys); i++ {
			if len(out) == n {
				return out, at, true
			}
			out, at = append(out, b.keys[i]), append(at, b.at)
		}
	}
	return out, at, false
}

// Due implements Store. It walks the due index (lots by expiry), reading
// each lot under its user's lock.
func (s *MemoryStore) Due(ctx context.Context, now time.Time, after LotCursor, limit int) ([]Lot, error) {
	var out []Lot
	for len(out) < limit {
		keys, at, more := s.dueKeys(now, after, limit-len(out))
		for _, k := range keys {
			u := s.user(k.user, false)
			u.mu.Lock()
			if l := u.h.lot(k.month); l != nil && l.Due(now) {
				out = append(out, *l)
			}
			u.mu.Unlock()
		}
		if !more {
			break
		}
		last := keys[len(keys)-1]
		after = LotCursor{ExpiresAt: at[len(at)-1], User: last.user, Month: last.month}
	}
	return out, nil
}

// Pending implements Store.
func (s *MemoryStore) Pending(ctx context.Context, after OpCursor, limit int) ([]Op, error) {
	var out []Op
	for i := range s.ops {
		sh := &s.ops[i]
		sh.mu.RLock()
		for id := range sh.pending {
			if o := sh.ops[id]; after.After(o) {
				out = append(out, copyOp(o))
			}
		}
		sh.mu.RUnlock()
	}
	slices.SortFunc(out, func(a, b Op) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return compareUUID(a.ID, b.ID)
	})
	return out[:min(limit, len(out))], nil
}

// SetRate implements Store.
//
// Errors: ErrInvalidRate, ErrRateConflict.
func (s *MemoryStore) SetRate(ctx context.Context, r Rate) (Rate, bool, error) {
	s.ratesMu.Lock()
	defer s.ratesMu.Unlock()
	vs := s.rates[r.Name]
	var stored *Rate
	if r.Version >= 1 && r.Version <= len(vs) {
		stored = &vs[r.Version-1]
	}
	existing, err := CheckNewRate(r, stored, len(vs))
	switch {
	case err != nil:
		return Rate{}, false, err
	case existing:
		return *stored, true, nil
	}
	s.rates[r.Name] = append(vs, r)
	return r, false, nil
}

// Rate implements Store.
//
// Errors: ErrNoRate.
func (s *MemoryStore) Rate(ctx context.Context, name string, version int) (Rate, error) {
	s.ratesMu.Lock()
	defer s.ratesMu.Unlock()
	vs := s.rates[name]
	if version == 0 {
		version = len(vs)
	}
	if version < 1 || version > len(vs) {
		return Rate{}, fmt.Errorf("rate %q version %d: %w", name, version, ErrNoRate)
	}
	return vs[version-1], nil
}
