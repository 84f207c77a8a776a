package campaign

import (
	"context"
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// LimitKey is one bucket a try takes a token from: Key names it (the
// Service uses "user/<id>" and "device/<id>"), Rate sizes it.
type LimitKey struct {
	Key  string
	Rate Rate
}

// Limiter rate-limits tries. It must be shared by every instance of a
// service (package postgres's CampaignLimiter keeps its buckets in the
// database); a MemoryLimiter protects one process only.
type Limiter interface {
	// Allow takes one token from the bucket of every key at time now, all
	// or none (Rate.Allow decides each bucket).
	//
	// Errors: a *RateLimitError (ErrRateLimited) naming the first key
	// refused and the longest wait, with no token taken; or the limiter
	// failing.
	Allow(ctx context.Context, now time.Time, keys ...LimitKey) error
}

// MemoryLimiter is a Limiter in this process's memory: right for one
// process (Config.SingleProcess) and for tests. Buckets are sharded by
// key; a shard's table forgets the buckets that have refilled whenever
// it fills to half, so memory follows the keys active within one refill
// period.
//
// A bucket is found by a 128-bit keyed hash of its key (two maphash
// values under seeds of its own), not by the key itself: the buckets of
// a storm's million users then hold no pointers for the collector to
// scan, and each is one 24-byte cell of an open-addressing table, so that
// a new key costs one probe. Two keys of one hash would share a bucket,
// which only limits more; at 128 bits it does not happen.
type MemoryLimiter struct {
	shards [limShards]limShard
	seeds  [2]maphash.Seed
}

const (
	limShards = 64
	limMin    = 1024 // cells of a shard's table, at least
)

// limCell is a bucket: its key's hash and its instant, Unix nanoseconds.
// h[0] is odd, so never 0 in a used cell; its bits above the lowest place
// the cell in its table, its top 6 bits pick the shard.
type limCell struct {
	h   [2]uint64
	tat int64
}

// limShard is 128 bytes: whatever the array's alignment, no two shards'
// locks share a cache line.
type limShard struct {
	mu    sync.Mutex
	cells []limCell // linear probing from h[0]; at most half used
	n     int       // cells used
	_     [88]byte
}

var _ Limiter = (*MemoryLimiter)(nil)

// NewMemoryLimiter returns an empty MemoryLimiter.
func NewMemoryLimiter() *MemoryLimiter {
	l := &MemoryLimiter{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	for i := range l.shards {
		l.shards[i].cells = make([]limCell, limMin)
	}
	return l
}

func (l *MemoryLimiter) key(k string) ([2]uint64, int) {
	h := [2]uint64{maphash.String(l.seeds[0], k) | 1, maphash.String(l.seeds[1], k)}
	return h, int(h[0] >> (64 - 6))
}

// find returns the cell of h, or the empty cell where it goes; sh.mu is
// held.
func (sh *limShard) find(h [2]uint64) *limCell {
	mask := len(sh.cells) - 1
	for i := int(h[0]>>1) & mask; ; i = (i + 1) & mask {
		if c := &sh.cells[i]; c.h == h || c.h[0] == 0 {
			return c
		}
	}
}

// Allow implements Limiter.
func (l *MemoryLimiter) Allow(ctx context.Context, now time.Time, keys ...LimitKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var hs [4][2]uint64
	var idx [4]int
	var next [4]int64
	h, ix, nx := hs[:0], idx[:0], next[:0]
	if len(keys) > len(hs) {
		h, ix, nx = make([][2]uint64, 0, len(keys)), make([]int, 0, len(keys)), make([]int64, 0, len(keys))
	}
	for i := range keys {
		k, sh := l.key(keys[i].Key)
		h, ix, nx = append(h, k), append(ix, sh), append(nx, 0)
	}
	// All or none: lock the keys' shards in index order, each once.
	var lockBuf [4]int
	order := append(lockBuf[:0], ix...)
	slices.Sort(order)
	order = slices.Compact(order)
	for _, i := range order {
		l.shards[i].mu.Lock()
	}
	defer func() {
		for _, i := range order {
			l.shards[i].mu.Unlock()
		}
	}()
	var refused *RateLimitError
	for i := range keys {
		var tat time.Time
		if c := l.shards[ix[i]].find(h[i]); c.h[0] != 0 {
			tat = time.Unix(0, c.tat)
		}
		t, ok, wait := keys[i].Rate.Allow(tat, now)
		if !ok {
			if refused == nil {
				refused = &RateLimitError{Key: keys[i].Key}
			}
			refused.Wait = max(refused.Wait, wait)
		}
		nx[i] = t.UnixNano()
	}
	if refused != nil {
		return refused
	}
	for i := range keys {
		l.shards[ix[i]].set(h[i], nx[i], now.UnixNano())
	}
	return nil
}

// set records a bucket's new instant; sh.mu is held. A table filled to
// half is made again without the buckets that have refilled by now, at
// four times the size of those left (at least limMin cells).
func (sh *limShard) set(h [2]uint64, tat, now int64) {
	c := sh.find(h)
	if c.h[0] != 0 {
		c.tat = tat
		return
	}
	*c = limCell{h: h, tat: tat}
	sh.n++
	if 2*sh.n <= len(sh.cells) {
		return
	}
	live := 0
	for i := range sh.cells {
		if sh.cells[i].h[0] != 0 && sh.cells[i].tat > now {
			live++
		}
	}
	size := limMin
	for size < 4*live {
		size *= 2
	}
	old := sh.cells
	sh.cells, sh.n = make([]limCell, size), live
	for i := range old {
		if old[i].h[0] != 0 && old[i].tat > now {
			*sh.find(old[i].h) = old[i]
		}
	}
}

// buckets returns how many buckets the shards hold (for tests).
func (l *MemoryLimiter) buckets() int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		n += l.shards[i].n
		l.shards[i].mu.Unlock()
	}
	return n
}
