package campaign

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// MemoryStore is the embedded Store: campaigns in memory, safe for
// concurrent use. A try locks its user's shard of the campaign (64 shards)
// and then, just for Campaign.Take, the campaign itself, so tries of
// different users overlap everywhere but in Take. Given a ledger, it pays
// a winning try inside the try's step, under the user's lock (see
// Store.Try): PaysOn accepts that ledger's store.
type MemoryStore struct {
	l  *ledger.Ledger
	mu sync.RWMutex
	m  map[uuid.UUID]*memCampaign
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store that pays winning tries on l in
// their own step; nil l means a store that only records them (the Service
// then pays after).
func NewMemoryStore(l *ledger.Ledger) *MemoryStore {
	return &MemoryStore{l: l, m: make(map[uuid.UUID]*memCampaign)}
}

const (
	memShards = 64
	memChunk  = 4096 // tries per chunk of a campaign's slot log
)

type memCampaign struct {
	mu     sync.Mutex // guards c's State, chunks and every try's Paid and Forfeited
	c      Campaign
	chunks []*[memChunk]Try // the log by slot, allocated as tries come
	shards [memShards]memShard
}

type memShard struct {
	mu    sync.Mutex
	users map[uuid.UUID]memUser
	_     [40]byte
}

type memUser struct {
	p     Player
	first int32   // slot of try 1
	more  []int32 // slots of tries 2, 3…
}

func (u *memUser) slot(seq int) int {
	if seq == 1 {
		return int(u.first)
	}
	return int(u.more[seq-2])
}

// at returns the try at slot i; mc.mu is held.
func (mc *memCampaign) at(i int) *Try { return &mc.chunks[i/memChunk][i%memChunk] }

func (s *MemoryStore) get(ctx context.Context, id uuid.UUID) (*memCampaign, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	mc := s.m[id]
	s.mu.RUnlock()
	if mc == nil {
		return nil, fmt.Errorf("campaign %s: %w", id, ErrCampaignNotFound)
	}
	return mc, nil
}

// Create implements Store.
func (s *MemoryStore) Create(ctx context.Context, c Campaign) (Campaign, error) {
	if err := ctx.Err(); err != nil {
		return Campaign{}, err
	}
	if err := c.Validate(); err != nil {
		return Campaign{}, err
	}
	if c.Status != StatusFunding || c.State != (State{Status: StatusFunding}) {
		return Campaign{}, fmt.Errorf("%w: campaign %s: new with state %+v", ErrInvalidCampaign, c.ID, c.State)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if mc := s.m[c.ID]; mc != nil {
		mc.mu.Lock()
		defer mc.mu.Unlock()
		return mc.c, fmt.Errorf("campaign %s: %w", c.ID, ErrCampaignExists)
	}
	c.Schedule = slices.Clone(c.Schedule)
	mc := &memCampaign{c: c, chunks: make([]*[memChunk]Try, (c.PrizeEnd+memChunk-1)/memChunk)}
	for i := range mc.shards {
		mc.shards[i].users = make(map[uuid.UUID]memUser)
	}
	s.m[c.ID] = mc
	return c, nil
}

// Campaign implements Store.
func (s *MemoryStore) Campaign(ctx context.Context, id uuid.UUID) (Campaign, error) {
	mc, err := s.get(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return mc.c, nil
}

// change applies f to the locked campaign and returns the state after.
func (s *MemoryStore) change(ctx context.Context, id uuid.UUID, f func(*Campaign) error) (State, error) {
	mc, err := s.get(ctx, id)
	if err != nil {
		return State{}, err
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	c := mc.c // decide on a copy: a refusal changes nothing
	if err := f(&c); err != nil {
		return mc.c.State, err
	}
	mc.c = c
	return c.State, nil
}

// Open implements Store.
func (s *MemoryStore) Open(ctx context.Context, id uuid.UUID) (State, error) {
	return s.change(ctx, id, (*Campaign).Open)
}

// Cancel implements Store.
func (s *MemoryStore) Cancel(ctx context.Context, id uuid.UUID) (State, error) {
	return s.change(ctx, id, (*Campaign).Cancel)
}

// FinishSweep implements Store.
func (s *MemoryStore) FinishSweep(ctx context.Context, id uuid.UUID) (State, error) {
	return s.change(ctx, id, (*Campaign).FinishSweep)
}

// Settle implements Store.
func (s *MemoryStore) Settle(ctx context.Context, id uuid.UUID) (State, error) {
	return s.change(ctx, id, (*Campaign).Settle)
}

// BeginSweep implements Store.
func (s *MemoryStore) BeginSweep(ctx context.Context, id uuid.UUID, now time.Time) (Campaign, error) {
	mc, err := s.get(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if err := mc.c.BeginSweep(now); err != nil {
		return Campaign{}, err
	}
	return mc.c, nil
}

// PaysOn implements Store: the store's ledger, if it was given one.
func (s *MemoryStore) PaysOn(ls ledger.Store) bool { return s.l != nil && s.l.Store() == ls }

func (mc *memCampaign) shard(user uuid.UUID) *memShard {
	return &mc.shards[binary.LittleEndian.Uint64(user[8:])%memShards]
}

// Try implements Store.
func (s *MemoryStore) Try(ctx context.Context, id uuid.UUID, in TryInput, payment func(Try) ledger.Transfer) (TryResult, error) {
	mc, err := s.get(ctx, id)
	if err != nil {
		return TryResult{}, err
	}
	sh := mc.shard(in.User)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	u := sh.users[in.User]
	mc.mu.Lock()
	if in.Seq >= 1 && in.Seq <= u.p.Tries {
		res := TryResult{Try: *mc.at(u.slot(in.Seq)), Existing: true, State: mc.c.State}
		mc.mu.Unlock()
		return res, nil
	}
	t, err := mc.c.Take(&u.p, in.User, in.Account, in.Seq, in.At)
	if err != nil {
		mc.mu.Unlock()
		return TryResult{}, err
	}
	ci := t.Slot / memChunk
	if mc.chunks[ci] == nil {
		mc.chunks[ci] = new([memChunk]Try)
	}
	*mc.at(t.Slot) = t
	res := TryResult{Try: t, State: mc.c.State}
	mc.mu.Unlock()
	if t.Seq == 1 {
		u.first = int32(t.Slot)
	} else {
		u.more = append(u.more, int32(t.Slot))
	}
	sh.users[in.User] = u
	if t.Won() && payment != nil && s.l != nil {
		// Under the user's lock: a retry of this try waits for its payment.
		if _, err := s.l.Transfer(ctx, payment(t)); err != nil {
			res.PayErr = err
			return res, nil
		}
		mc.mu.Lock()
		tp := mc.at(t.Slot)
		mc.c.MarkPaid(tp, false)
		res.Try, res.State = *tp, mc.c.State
		mc.mu.Unlock()
	}
	return res, nil
}

// LookupTry implements Store.
func (s *MemoryStore) LookupTry(ctx context.Context, id, user uuid.UUID, seq int) (Try, error) {
	mc, err := s.get(ctx, id)
	if err != nil {
		return Try{}, err
	}
	sh := mc.shard(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	u := sh.users[user]
	if seq < 1 || seq > u.p.Tries {
		return Try{}, fmt.Errorf("campaign %s: try %d of user %s: %w", id, seq, user, ErrTryNotFound)
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return *mc.at(u.slot(seq)), nil
}

// MarkPaid implements Store.
func (s *MemoryStore) MarkPaid(ctx context.Context, id, user uuid.UUID, seq int, forfeited bool) (State, error) {
	mc, err := s.get(ctx, id)
	if err != nil {
		return State{}, err
	}
	sh := mc.shard(user)
	sh.mu.Lock()
	u := sh.users[user]
	sh.mu.Unlock()
	if seq < 1 || seq > u.p.Tries {
		return State{}, fmt.Errorf("campaign %s: try %d of user %s: %w", id, seq, user, ErrTryNotFound)
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.c.MarkPaid(mc.at(u.slot(seq)), forfeited)
	return mc.c.State, nil
}

// Tries implements Store.
func (s *MemoryStore) Tries(ctx context.Context, id uuid.UUID, after, limit int) ([]Try, error) {
	return s.scan(ctx, id, after, limit, func(*Try) bool { return true })
}

// Unpaid implements Store.
func (s *MemoryStore) Unpaid(ctx context.Context, id uuid.UUID, after, limit int) ([]Try, error) {
	return s.scan(ctx, id, after, limit, func(t *Try) bool { return t.Won() && !t.Paid })
}

func (s *MemoryStore) scan(ctx context.Context, id uuid.UUID, after, limit int, keep func(*Try) bool) ([]Try, error) {
	mc, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	var out []Try
	for i := max(after+1, 0); i < mc.c.Taken && len(out) < limit; i++ {
		if t := mc.at(i); keep(t) {
			out = append(out, *t)
		}
	}
	return out, nil
}

// Unsettled implements Store.
func (s *MemoryStore) Unsettled(ctx context.Context, after Cursor, limit int) ([]Campaign, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	all := make([]*memCampaign, 0, len(s.m))
	for _, mc := range s.m {
		all = append(all, mc)
	}
	s.mu.RUnlock()
	var out []Campaign
	for _, mc := range all {
		mc.mu.Lock()
		c := mc.c
		mc.mu.Unlock()
		if c.NeedsWork() && (after == Cursor{} || cmpCursor(CursorOf(&c), after) > 0) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Campaign) int { return cmpCursor(CursorOf(&a), CursorOf(&b)) })
	return out[:min(len(out), max(limit, 0))], nil
}

func cmpCursor(a, b Cursor) int {
	if c := a.EndsAt.Compare(b.EndsAt); c != 0 {
		return c
	}
	return cmp.Compare(string(a.ID[:]), string(b.ID[:]))
}
