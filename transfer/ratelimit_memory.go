package transfer

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

var _ Limiter = (*MemoryLimiter)(nil)

// MemoryLimiter is the in-process Limiter. Payers are spread over
// independently locked shards, so payers in different shards never wait
// for each other; the institution bucket is a single integer updated by
// compare-and-swap, without a lock. A payer whose bucket is full has no
// entry: Prune removes entries that have refilled.
//
// When BeginLookup has taken from the payer's bucket and then finds the
// institution bucket short, it gives the payer's tokens back; for that
// moment a concurrent lookup by the same payer sees the lower level and may
// be refused. The arithmetic stays exact.
type MemoryLimiter struct {
	cfg         RateConfig
	payer, inst bucketSpec
	now         func() time.Time
	epoch       time.Time
	seed        maphash.Seed
	mask        uint64
	shards      []limiterShard
	institution atomic.Int64 // bucket state, see bucketSpec
}

type limiterShard struct {
	mu      sync.Mutex
	buckets map[uuid.UUID]int64 // payer -> bucket state; absent means full
	_       [48]byte            // 64 bytes: shards on separate cache lines
}

// NewMemoryLimiter returns a MemoryLimiter with every bucket full. It
// returns an error wrapping ErrInvalidRateConfig if cfg does not validate.
func NewMemoryLimiter(cfg RateConfig) (*MemoryLimiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n := cfg.Shards
	if n == 0 {
		n = 64
	}
	n = 1 << bits.Len(uint(n-1)) // round up to a power of two
	l := &MemoryLimiter{
		cfg:    cfg,
		payer:  newBucketSpec(cfg.Payer),
		inst:   newBucketSpec(cfg.Institution),
		now:    cfg.Now,
		seed:   maphash.MakeSeed(),
		mask:   uint64(n - 1),
		shards: make([]limiterShard, n),
	}
	l.epoch = l.now()
	for i := range l.shards {
		l.shards[i].buckets = make(map[uuid.UUID]int64)
	}
	l.institution.Store(l.inst.full(0))
	return l, nil
}

// Config returns the configuration in use.
func (l *MemoryLimiter) Config() RateConfig { return l.cfg }

// clock returns nanoseconds since the limiter was created.
func (l *MemoryLimiter) clock() int64 { return int64(l.now().Sub(l.epoch)) }

func (l *MemoryLimiter) shard(payer uuid.UUID) *limiterShard {
	return &l.shards[maphash.Bytes(l.seed, payer[:])&l.mask]
}

// updatePayer applies f to payer's bucket under its shard's lock.
func (l *MemoryLimiter) updatePayer(payer uuid.UUID, now int64, f func(e int64) (int64, bool)) bool {
	s := l.shard(payer)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.buckets[payer]
	if !ok {
		e = l.payer.full(now)
	}
	e, changed := f(e)
	if changed {
		s.buckets[payer] = e
	}
	return changed
}

// updateInstitution applies f to the institution bucket with a
// compare-and-swap loop.
func (l *MemoryLimiter) updateInstitution(f func(e int64) (int64, bool)) bool {
	for {
		old := l.institution.Load()
		e, changed := f(old)
		if !changed {
			return false
		}
		if l.institution.CompareAndSwap(old, e) {
			return true
		}
	}
}

// BeginLookup implements Limiter.
func (l *MemoryLimiter) BeginLookup(_ context.Context, payer uuid.UUID) error {
	if err := CheckPayer(payer); err != nil {
		return fmt.Errorf("transfer: begin lookup: %w", err)
	}
	now := l.clock()
	cost := l.cfg.NotFoundCost
	var wait time.Duration
	took := l.updatePayer(payer, now, func(e int64) (int64, bool) {
		next, ok, retry := l.payer.take(e, now, cost)
		wait = retry
		return next, ok
	})
	if !took {
		return &RateLimitError{Scope: ScopePayer, RetryAfter: wait}
	}
	if l.updateInstitution(func(e int64) (int64, bool) {
		next, ok, retry := l.inst.take(e, now, cost)
		wait = retry
		return next, ok
	}) {
		return nil
	}
	l.updatePayer(payer, now, func(e int64) (int64, bool) { return l.payer.give(e, now, cost), true })
	return &RateLimitError{Scope: ScopeInstitution, RetryAfter: wait}
}

// LookupFound implements Limiter.
func (l *MemoryLimiter) LookupFound(_ context.Context, payer uuid.UUID) error {
	if err := CheckPayer(payer); err != nil {
		return fmt.Errorf("transfer: lookup found: %w", err)
	}
	now := l.clock()
	back := l.cfg.NotFoundCost - l.cfg.FoundCost
	if back == 0 {
		return nil
	}
	l.givePayer(payer, now, back)
	l.updateInstitution(func(e int64) (int64, bool) { return l.inst.give(e, now, back), true })
	return nil
}

// PaymentSettled implements Limiter.
func (l *MemoryLimiter) PaymentSettled(_ context.Context, payer uuid.UUID) error {
	if err := CheckPayer(payer); err != nil {
		return fmt.Errorf("transfer: payment settled: %w", err)
	}
	if l.cfg.SettledRefund > 0 {
		l.givePayer(payer, l.clock(), l.cfg.SettledRefund)
	}
	return nil
}

// givePayer adds n tokens to payer's bucket, dropping the entry if that
// fills it.
func (l *MemoryLimiter) givePayer(payer uuid.UUID, now, n int64) {
	s := l.shard(payer)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.buckets[payer]
	if !ok {
		return // full already
	}
	if e = l.payer.give(e, now, n); l.payer.level(e, now) == l.payer.span {
		delete(s.buckets, payer)
	} else {
		s.buckets[payer] = e
	}
}

// Tokens returns the whole tokens in payer's bucket now.
func (l *MemoryLimiter) Tokens(payer uuid.UUID) int64 {
	now := l.clock()
	s := l.shard(payer)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.buckets[payer]
	if !ok {
		return l.cfg.Payer.Capacity
	}
	return l.payer.tokens(e, now)
}

// InstitutionTokens returns the whole tokens in the institution bucket now.
func (l *MemoryLimiter) InstitutionTokens() int64 {
	return l.inst.tokens(l.institution.Load(), l.clock())
}

// Prune drops the entries of payers whose buckets have refilled, one shard
// at a time, and returns how many it dropped. Call it now and then (say,
// every few minutes) to bound memory to the payers active recently.
func (l *MemoryLimiter) Prune() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		now := l.clock()
		for payer, e := range s.buckets {
			if l.payer.level(e, now) == l.payer.span {
				delete(s.buckets, payer)
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

// payers returns the number of payer entries, for tests.
func (l *MemoryLimiter) payers() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}
