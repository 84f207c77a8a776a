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
// ChargeLookup decides under the payer's shard lock: the charge seen
// before, the payer's tokens, then the institution's (by
// compare-and-swap), and writes the payer's bucket and the charge only if
// both buckets held enough. The charges of a shard's payers are kept
// beside their buckets until Prune drops those older than ChargeTTL.
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
	charges map[uuid.UUID]int64 // charge ID -> when it was charged (clock)
	_       [40]byte            // 64 bytes: shards on separate cache lines
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
		l.shards[i].charges = make(map[uuid.UUID]int64)
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

// ChargeLookup implements Limiter.
func (l *MemoryLimiter) ChargeLookup(_ context.Context, payer, charge uuid.UUID, found bool) (bool, error) {
	if err := CheckPayer(payer); err != nil {
		return false, fmt.Errorf("transfer: charge lookup: %w", err)
	}
	now := l.clock()
	admit, cost := l.cfg.NotFoundCost, l.cfg.LookupCost(found)
	s := l.shard(payer)
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.charges[charge]; ok && charge != uuid.Nil && now-at < int64(ChargeTTL) {
		return false, nil
	}
	e, ok := s.buckets[payer]
	if !ok {
		e = l.payer.full(now)
	}
	e, ok, wait := l.payer.charge(e, now, admit, cost)
	if !ok {
		return false, &RateLimitError{Scope: ScopePayer, RetryAfter: wait}
	}
	if !l.updateInstitution(func(i int64) (int64, bool) {
		next, ok, retry := l.inst.charge(i, now, admit, cost)
		wait = retry
		return next, ok
	}) {
		return false, &RateLimitError{Scope: ScopeInstitution, RetryAfter: wait}
	}
	s.buckets[payer] = e
	if charge != uuid.Nil {
		s.charges[charge] = now
	}
	return true, nil
}

// PaymentSettled implements Limiter.
func (l *MemoryLimiter) PaymentSettled(_ context.Context, payer uuid.UUID) error {
	if err := CheckPayer(payer); err != nil {
		return fmt.Errorf("transfer: payment settled: %w", err)
	}
	if l.cfg.SettledRefund == 0 {
		return nil
	}
	now := l.clock()
	s := l.shard(payer)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.buckets[payer]
	if !ok {
		return nil // full already
	}
	if e = l.cfg.Refunded(e, now); l.payer.level(e, now) == l.payer.span {
		delete(s.buckets, payer)
	} else {
		s.buckets[payer] = e
	}
	return nil
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

// Prune drops the entries of payers whose buckets have refilled, and the
// charges older than ChargeTTL, one shard at a time, and returns how many
// payer entries it dropped. Call it now and then (say, every few minutes)
// to bound memory to the payers active recently.
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
		for c, at := range s.charges {
			if now-at >= int64(ChargeTTL) {
				delete(s.charges, c)
			}
		}
		s.mu.Unlock()
	}
	return n
}

// entries returns the number of payer entries and of charges kept, for
// tests.
func (l *MemoryLimiter) entries() (payers, charges int) {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		payers, charges = payers+len(s.buckets), charges+len(s.charges)
		s.mu.Unlock()
	}
	return payers, charges
}

// payers returns the number of payer entries, for tests.
func (l *MemoryLimiter) payers() int { p, _ := l.entries(); return p }

// charges returns the number of charges kept, for tests.
func (l *MemoryLimiter) charges() int { _, c := l.entries(); return c }
