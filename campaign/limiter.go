package campaign

import (
	"context"
	"hash/maphash"
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
type MemoryLimiter struct {
	seed   maphash.Seed
	shards [64]limShard
}

type limShard struct {
	mu    sync.Mutex
	tat   map[string]time.Time
	prune int // size at which to forget refilled buckets
	_     [32]byte
}

var _ Limiter = (*MemoryLimiter)(nil)

// NewMemoryLimiter returns an empty MemoryLimiter.
func NewMemoryLimiter() *MemoryLimiter {
	l := &MemoryLimiter{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].tat = make(map[string]time.Time)
		l.shards[i].prune = 1024
	}
	return l
}

// Allow implements Limiter.
func (l *MemoryLimiter) Allow(ctx context.Context, now time.Time, keys ...LimitKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(keys) == 1 {
		return l.allowOne(now, &keys[0])
	}
	// All or none: lock the keys' shards in index order.
	idx := make([]int, len(keys))
	for i := range keys {
		idx[i] = int(maphash.String(l.seed, keys[i].Key) % uint64(len(l.shards)))
	}
	var locked [64]bool
	for _, i := range idx {
		locked[i] = true
	}
	for i := range locked {
		if locked[i] {
			l.shards[i].mu.Lock()
			defer l.shards[i].mu.Unlock()
		}
	}
	next := make([]time.Time, len(keys))
	var refused *RateLimitError
	for i := range keys {
		sh := &l.shards[idx[i]]
		tat, ok, wait := keys[i].Rate.Allow(sh.tat[keys[i].Key], now)
		if !ok {
			if refused == nil {
				refused = &RateLimitError{Key: keys[i].Key}
			}
			refused.Wait = max(refused.Wait, wait)
		}
		next[i] = tat
	}
	if refused != nil {
		return refused
	}
	for i := range keys {
		l.shards[idx[i]].set(keys[i].Key, next[i], now)
	}
	return nil
}

func (l *MemoryLimiter) allowOne(now time.Time, k *LimitKey) error {
	sh := &l.shards[maphash.String(l.seed, k.Key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	tat, ok, wait := k.Rate.Allow(sh.tat[k.Key], now)
	if !ok {
		return &RateLimitError{Key: k.Key, Wait: wait}
	}
	sh.set(k.Key, tat, now)
	return nil
}

// set records a bucket's new instant; sh.mu is held.
func (sh *limShard) set(key string, tat, now time.Time) {
	sh.tat[key] = tat
	if len(sh.tat) < sh.prune {
		return
	}
	for k, t := range sh.tat {
		if !t.After(now) {
			delete(sh.tat, k)
		}
	}
	sh.prune = max(1024, 2*len(sh.tat))
}
