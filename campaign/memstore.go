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
	l *ledger.Ledger
	m sync.Map // uuid.UUID → *memCampaign: read by every try, written once per campaign
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store that pays winning tries on l in
// their own step; nil l means a store that only records them (the Service
// then pays after).
func NewMemoryStore(l *ledger.Ledger) *MemoryStore {
	return &MemoryStore{l: l}
}

const (
	memShards = 64
	memChunk  = 4096 // tries per chunk of a campaign's slot log
)

type memCampaign struct {
	mu     sync.Mutex // guards c's State, chunks and every try's paid and forfeited
	c      Campaign
	chunks []*[memChunk]memTry // the log by slot, allocated as tries come
	shards [memShards]memShard
}

type memShard struct {
	mu    sync.Mutex
	users map[uuid.UUID]memUser
	_     [40]byte
}

// memUser is one user's Player, kept small and free of pointers (the map
// of a storm's users is large: the collector need not scan it), with the
// slot of the user's last try; earlier tries are linked through the log.
type memUser struct {
	tries, dayTries, wins int32
	last                  int32 // slot of try number tries
	day                   int64
}

func (u *memUser) player() Player {
	return Player{Tries: int(u.tries), Day: u.day, DayTries: int(u.dayTries), Wins: int(u.wins)}
}

// memTry is a Try in the log, without pointers: the campaign's ID and the
// slot are where it is kept, the instant is in UTC nanoseconds.
type memTry struct {
	user, account   uuid.UUID
	at, prize       int64
	seq             int32
	prev            int32 // slot of the same user's try seq-1; -1 for try 1
	paid, forfeited bool
}

// at returns the log entry at slot i; mc.mu is held.
func (mc *memCampaign) at(i int) *memTry { return &mc.chunks[i/memChunk][i%memChunk] }

// try returns the try at slot i; mc.mu is held.
func (mc *memCampaign) try(i int) Try {
	m := mc.at(i)
	return Try{Campaign: mc.c.ID, User: m.user, Seq: int(m.seq), Account: m.account, Slot: i, Prize: m.prize,
		At: time.Unix(0, m.at).UTC(), Paid: m.paid, Forfeited: m.forfeited}
}

// slot returns the slot of u's try number seq (1…u.tries); mc.mu is held.
func (mc *memCampaign) slot(u *memUser, seq int) int {
	i := int(u.last)
	for n := int(u.tries); n > seq; n-- {
		i = int(mc.at(i).prev)
	}
	return i
}

// markPaid applies Campaign.MarkPaid to the try at slot i; mc.mu is held.
func (mc *memCampaign) markPaid(i int, forfeited bool) {
	t := mc.try(i)
	if mc.c.MarkPaid(&t, forfeited) {
		m := mc.at(i)
		m.paid, m.forfeited = t.Paid, t.Forfeited
	}
}

func (s *MemoryStore) get(ctx context.Context, id uuid.UUID) (*memCampaign, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if mc, ok := s.m.Load(id); ok {
		return mc.(*memCampaign), nil
	}
	return nil, fmt.Errorf("campaign %s: %w", id, ErrCampaignNotFound)
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
	c.Schedule = slices.Clone(c.Schedule)
	mc := &memCampaign{c: c, chunks: make([]*[memChunk]memTry, (c.PrizeEnd+memChunk-1)/memChunk)}
	for i := range mc.shards {
		mc.shards[i].users = make(map[uuid.UUID]memUser)
	}
	if got, loaded := s.m.LoadOrStore(c.ID, mc); loaded {
		old := got.(*memCampaign)
		old.mu.Lock()
		defer old.mu.Unlock()
		return old.c, fmt.Errorf("campaign %s: %w", c.ID, ErrCampaignExists)
	}
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

// LimitsOn implements Store: a MemoryStore leaves the limiter to the
// Service.
func (s *MemoryStore) LimitsOn(Limiter) bool { return false }

// shard returns user's shard: both halves of the ID, mixed (IDs made by
// counting differ in a few bytes only).
func (mc *memCampaign) shard(user uuid.UUID) *memShard {
	h := (binary.LittleEndian.Uint64(user[:8]) ^ binary.LittleEndian.Uint64(user[8:])) * 0x9e3779b97f4a7c15
	return &mc.shards[h>>(64-6)]
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
	if in.Seq >= 1 && in.Seq <= int(u.tries) {
		mc.mu.Lock()
		res := TryResult{Try: mc.try(mc.slot(&u, in.Seq)), Existing: true, State: mc.c.State}
		mc.mu.Unlock()
		return res, nil
	}
	p := u.player()
	mc.mu.Lock()
	t, err := mc.c.Take(&p, in.User, in.Account, in.Seq, in.At)
	if err != nil {
		mc.mu.Unlock()
		return TryResult{}, err
	}
	ci := t.Slot / memChunk
	if mc.chunks[ci] == nil {
		mc.chunks[ci] = new([memChunk]memTry)
	}
	prev := int32(-1)
	if u.tries > 0 {
		prev = u.last
	}
	*mc.at(t.Slot) = memTry{user: t.User, account: t.Account, at: t.At.UnixNano(), prize: t.Prize, seq: int32(t.Seq), prev: prev}
	res := TryResult{Try: t, State: mc.c.State}
	mc.mu.Unlock()
	sh.users[in.User] = memUser{tries: int32(p.Tries), dayTries: int32(p.DayTries), wins: int32(p.Wins), last: int32(t.Slot), day: p.Day}
	if t.Won() && payment != nil && s.l != nil {
		// Under the user's lock: a retry of this try waits for its payment.
		if _, err := s.l.Transfer(ctx, payment(t)); err != nil {
			res.PayErr = err
			return res, nil
		}
		mc.mu.Lock()
		mc.markPaid(t.Slot, false)
		res.Try, res.State = mc.try(t.Slot), mc.c.State
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
	if seq < 1 || seq > int(u.tries) {
		return Try{}, fmt.Errorf("campaign %s: try %d of user %s: %w", id, seq, user, ErrTryNotFound)
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return mc.try(mc.slot(&u, seq)), nil
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
	if seq < 1 || seq > int(u.tries) {
		return State{}, fmt.Errorf("campaign %s: try %d of user %s: %w", id, seq, user, ErrTryNotFound)
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.markPaid(mc.slot(&u, seq), forfeited)
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
		if t := mc.try(i); keep(&t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Unsettled implements Store.
func (s *MemoryStore) Unsettled(ctx context.Context, after Cursor, limit int) ([]Campaign, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Campaign
	for _, v := range s.m.Range {
		mc := v.(*memCampaign)
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
