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
// key; a shard forgets the buckets that have refilled whenever it has
// doubled since it last did, so memory follows the keys active within
// one refill period.
//
// A bucket is found by a 128-bit keyed hash of its key (two maphash
// values under seeds of its own), not by the key itself: the buckets of
// a storm's million users then hold no pointers for the collector to
// scan. Two keys of one hash would share a bucket, which only limits
// more; at 128 bits it does not happen.
type MemoryLimiter struct {
	seeds  [2]maphash.Seed
	shards [limShards]limShard
}

const limShards = 64

type limKey [2]uint64

type limShard struct {
	mu    sync.Mutex
	tat   map[limKey]int64 // the bucket's instant, Unix nanoseconds
	prune int              // size at which to forget refilled buckets
	_     [40]byte
}

var _ Limiter = (*MemoryLimiter)(nil)

// NewMemoryLimiter returns an empty MemoryLimiter.
func NewMemoryLimiter() *MemoryLimiter {
	l := &MemoryLimiter{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	for i := range l.shards {
		l.shards[i].tat = make(map[limKey]int64)
		l.shards[i].prune = 1024
	}
	return l
}

func (l *MemoryLimiter) key(k string) (limKey, int) {
	h := limKey{maphash.String(l.seeds[0], k), maphash.String(l.seeds[1], k)}
	return h, int(h[0] % limShards)
}

// Allow implements Limiter.
func (l *MemoryLimiter) Allow(ctx context.Context, now time.Time, keys ...LimitKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var hs [4]limKey
	var idx [4]int
	var next [4]int64
	h, ix, nx := hs[:0], idx[:0], next[:0]
	if len(keys) > len(hs) {
		h, ix, nx = make([]limKey, 0, len(keys)), make([]int, 0, len(keys)), make([]int64, 0, len(keys))
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
		if ns, ok := l.shards[ix[i]].tat[h[i]]; ok {
			tat = time.Unix(0, ns)
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

// set records a bucket's new instant; sh.mu is held.
func (sh *limShard) set(key limKey, tat, now int64) {
	sh.tat[key] = tat
	if len(sh.tat) < sh.prune {
		return
	}
	for k, t := range sh.tat {
		if t <= now {
			delete(sh.tat, k)
		}
	}
	sh.prune = max(1024, 2*len(sh.tat))
}
