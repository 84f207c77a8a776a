package campaign

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
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
//
// A campaign keeps its tries in a log by slot, in chunks that never move;
// each user's counts are those of the user's last try in the log, found
// through the shard's index (open addressing over 8-byte cells, sized when
// the campaign is created for the players it can have: see memPresize),
// so that a new player costs one probe of a compact table.
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
	memShardBits = 6
	memShards    = 1 << memShardBits
	memChunk     = 4096 // tries per chunk of a campaign's slot log
	// memPresize bounds the players a campaign's index is sized for when
	// it is created: a campaign records at most PrizeEnd players (each
	// accepted try takes a slot), and sizing for them before the opening
	// instant spares the storm's first second the index's growth.
	memPresize = 1 << 21
)

type memCampaign struct {
	mu     sync.Mutex // guards c's State, chunks and every try's paid and forfeited
	c      Campaign
	chunks []*[memChunk]memTry // the log by slot, allocated as tries come
	seed   maphash.Seed        // of the users' hashes
	shards [memShards]memShard
}

// memShard is one shard of a campaign's users: their index, under mu. It
// is 128 bytes, so that whatever the array's alignment no two shards'
// locks share a cache line.
type memShard struct {
	mu sync.Mutex
	// cells index the shard's users, by linear probing from the low bits
	// of the user's hash: each holds 32 bits of the hash (the tag) above
	// 1 + the slot of the user's last try; 0 is empty. At most half are
	// used.
	cells []uint64
	n     int // cells used
	_     [88]byte
}

// memTry is a Try in the log, without pointers: the campaign's ID and the
// slot are where it is kept, the prize is the draw's at the slot, the
// instant is in UTC nanoseconds. It also holds its user's counts after it
// (Player), which are the user's counts while it is the user's last try.
// It fits in 64 bytes.
type memTry struct {
	user, account   uuid.UUID
	at              int64
	seq             int32 // the try's number, and so Player.Tries after it
	prev            int32 // slot of the same user's try seq-1; -1 for try 1
	day             int32 // Player.Day after it
	dayTries, wins  int16 // Player.DayTries and Player.Wins after it (at most MaxTriesPerUser)
	paid, forfeited bool
}

// player returns the counts of the user whose last try m is.
func (m *memTry) player() Player {
	return Player{Tries: int(m.seq), Day: int64(m.day), DayTries: int(m.dayTries), Wins: int(m.wins)}
}

// at returns the log entry at slot i; mc.mu is held, or the shard lock of
// the try's user (whose tries are written under it).
func (mc *memCampaign) at(i int) *memTry { return &mc.chunks[i/memChunk][i%memChunk] }

// try returns the try at slot i; mc.mu is held.
func (mc *memCampaign) try(i int) Try {
	m := mc.at(i)
	return Try{Campaign: mc.c.ID, User: m.user, Seq: int(m.seq), Account: m.account, Slot: i,
		Prize: mc.c.Schedule[mc.c.Draw.Tier(i)].Prize, At: time.Unix(0, m.at).UTC(), Paid: m.paid, Forfeited: m.forfeited}
}

// slot returns the slot of the try number seq (1…its seq) of the user
// whose last try is at slot last.
func (mc *memCampaign) slot(last int, seq int) int {
	i := last
	for n := int(mc.at(i).seq); n > seq; n-- {
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

// user returns user's shard and hash.
func (mc *memCampaign) user(user uuid.UUID) (*memShard, uint64) {
	h := maphash.Comparable(mc.seed, user)
	return &mc.shards[h>>(64-memShardBits)], h
}

// find returns the cell of user (hash h) and the slot of the user's last
// try, or the empty cell where the user goes and -1; sh.mu is held.
func (sh *memShard) find(mc *memCampaign, user uuid.UUID, h uint64) (cell int, last int) {
	mask := len(sh.cells) - 1
	tag := uint32(h)
	for i := int(tag) & mask; ; i = (i + 1) & mask {
		c := sh.cells[i]
		if c == 0 {
			return i, -1
		}
		if uint32(c>>32) == tag {
			if s := int(uint32(c)) - 1; mc.at(s).user == user {
				return i, s
			}
		}
	}
}

// set records slot as the last try of the user of hash h at cell (as
// find returned it); sh.mu is held.
func (sh *memShard) set(cell int, h uint64, slot int, isNew bool) {
	sh.cells[cell] = uint64(uint32(h))<<32 | uint64(slot+1)
	if !isNew {
		return
	}
	sh.n++
	if 2*sh.n <= len(sh.cells) {
		return
	}
	old := sh.cells
	sh.cells = make([]uint64, 2*len(old))
	mask := len(sh.cells) - 1
	for _, c := range old {
		if c == 0 {
			continue
		}
		i := int(uint32(c>>32)) & mask
		for sh.cells[i] != 0 {
			i = (i + 1) & mask
		}
		sh.cells[i] = c
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
	mc := &memCampaign{c: c, chunks: make([]*[memChunk]memTry, (c.PrizeEnd+memChunk-1)/memChunk), seed: maphash.MakeSeed()}
	cells := 16
	for cells < 2*min(c.PrizeEnd, memPresize)/memShards {
		cells *= 2
	}
	for i := range mc.shards {
		mc.shards[i].cells = make([]uint64, cells)
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

// Try implements Store.
func (s *MemoryStore) Try(ctx context.Context, id uuid.UUID, in TryInput, payment func(Try) ledger.Transfer) (TryResult, error) {
	mc, err := s.get(ctx, id)
	if err != nil {
		return TryResult{}, err
	}
	sh, h := mc.user(in.User)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cell, last := sh.find(mc, in.User, h)
	var p Player
	if last >= 0 {
		p = mc.at(last).player()
		if in.Seq >= 1 && in.Seq <= p.Tries {
			mc.mu.Lock()
			res := TryResult{Try: mc.try(mc.slot(last, in.Seq)), Existing: true, State: mc.c.State}
			mc.mu.Unlock()
			return res, nil
		}
	}
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
	*mc.at(t.Slot) = memTry{user: t.User, account: t.Account, at: t.At.UnixNano(), seq: int32(p.Tries), prev: int32(last),
		day: int32(p.Day), dayTries: int16(p.DayTries), wins: int16(p.Wins)}
	res := TryResult{Try: t, State: mc.c.State}
	mc.mu.Unlock()
	sh.set(cell, h, t.Slot, last < 0)
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

// lookup returns the slot of user's try number seq, with the user's shard
// locked (the caller unlocks it), or ErrTryNotFound.
func (mc *memCampaign) lookup(id, user uuid.UUID, seq int) (*memShard, int, error) {
	sh, h := mc.user(user)
	sh.mu.Lock()
	_, last := sh.find(mc, user, h)
	if last < 0 || seq < 1 || seq > int(mc.at(last).seq) {
		return sh, -1, fmt.Errorf("campaign %s: try %d of user %s: %w", id, seq, user, ErrTryNotFound)
	}
	return sh, mc.slot(last, seq), nil
}

// LookupTry implements Store.
func (s *MemoryStore) LookupTry(ctx context.Context, id, user uuid.UUID, seq int) (Try, error) {
	mc, err := s.get(ctx, id)
	if err != nil {
		return Try{}, err
	}
	sh, slot, err := mc.lookup(id, user, seq)
	defer sh.mu.Unlock()
	if err != nil {
		return Try{}, err
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return mc.try(slot), nil
}

// MarkPaid implements Store.
func (s *MemoryStore) MarkPaid(ctx context.Context, id, user uuid.UUID, seq int, forfeited bool) (State, error) {
	mc, err := s.get(ctx, id)
	if err != nil {
		return State{}, err
	}
	sh, slot, err := mc.lookup(id, user, seq)
	defer sh.mu.Unlock()
	if err != nil {
		return State{}, err
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.markPaid(slot, forfeited)
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
