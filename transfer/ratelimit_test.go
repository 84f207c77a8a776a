package transfer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

// fakeClock is an injected clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestLimiter(t *testing.T, edit func(*RateConfig)) (*MemoryLimiter, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	cfg := DefaultRateConfig()
	cfg.Now = clock.Now
	if edit != nil {
		edit(&cfg)
	}
	l, err := NewMemoryLimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, clock
}

// The defaults are DESIGN.md's PIX DICT numbers.
func TestDefaultRateConfig(t *testing.T) {
	c := DefaultRateConfig()
	if c.Payer.Capacity != 100 {
		t.Errorf("payer capacity %d, want 100", c.Payer.Capacity)
	}
	if perMinute := time.Minute / c.Payer.Interval; perMinute != 2 || time.Minute%c.Payer.Interval != 0 {
		t.Errorf("payer refill %v per token, want exactly 2 per minute", c.Payer.Interval)
	}
	if c.FoundCost != 1 || c.NotFoundCost != 20 || c.SettledRefund != 1 {
		t.Errorf("costs found=%d notFound=%d refund=%d, want 1, 20, 1", c.FoundCost, c.NotFoundCost, c.SettledRefund)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestRateConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*RateConfig)
	}{
		{"zero payer capacity", func(c *RateConfig) { c.Payer.Capacity = 0 }},
		{"negative institution capacity", func(c *RateConfig) { c.Institution.Capacity = -1 }},
		{"zero payer interval", func(c *RateConfig) { c.Payer.Interval = 0 }},
		{"negative institution interval", func(c *RateConfig) { c.Institution.Interval = -time.Second }},
		{"span overflows", func(c *RateConfig) { c.Payer.Capacity = 1 << 40; c.Payer.Interval = time.Hour }},
		{"zero found cost", func(c *RateConfig) { c.FoundCost = 0 }},
		{"not-found cheaper than found", func(c *RateConfig) { c.FoundCost = 5; c.NotFoundCost = 4 }},
		{"not-found cost above payer capacity", func(c *RateConfig) { c.NotFoundCost = 101 }},
		{"not-found cost above institution capacity", func(c *RateConfig) { c.Institution.Capacity = 19 }},
		{"negative refund", func(c *RateConfig) { c.SettledRefund = -1 }},
		{"refund above capacity", func(c *RateConfig) { c.SettledRefund = 101 }},
		{"negative shards", func(c *RateConfig) { c.Shards = -1 }},
	}
	for _, tc := range tests {
		c := DefaultRateConfig()
		tc.edit(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidRateConfig) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidRateConfig", tc.name, err)
		}
		if _, err := NewMemoryLimiter(c); !errors.Is(err, ErrInvalidRateConfig) {
			t.Errorf("%s: NewMemoryLimiter error = %v, want ErrInvalidRateConfig", tc.name, err)
		}
	}
	c := DefaultRateConfig()
	c.SettledRefund = 0 // no refunds is a valid choice
	if err := c.Validate(); err != nil {
		t.Errorf("zero refund: %v", err)
	}
}

// uid is the user ID of a test user's name.
func uid(name string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)) }

func wantTokens(t *testing.T, l *MemoryLimiter, payer uuid.UUID, want int64) {
	t.Helper()
	if got := l.Tokens(payer); got != want {
		t.Fatalf("Tokens(%s) = %d, want %d", payer, got, want)
	}
}

func wantLimited(t *testing.T, err error, scope string, retry time.Duration) {
	t.Helper()
	var rl *RateLimitError
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &rl) {
		t.Fatalf("error = %v, want a *RateLimitError wrapping ErrRateLimited", err)
	}
	if rl.Scope != scope || rl.RetryAfter != retry {
		t.Fatalf("limited in %s, retry after %v; want %s, %v", rl.Scope, rl.RetryAfter, scope, retry)
	}
}

// The PIX DICT arithmetic, step by step, with an injected clock.
func TestLimiterArithmetic(t *testing.T) {
	ctx := context.Background()
	l, clock := newTestLimiter(t, nil)
	p := uid("payer-1")

	wantTokens(t, l, p, 100) // a new payer starts full

	// A found key costs 1.
	must(t, hit(ctx, l, p))
	wantTokens(t, l, p, 99)

	// A missing key costs 20.
	must(t, begin(ctx, l, p))
	wantTokens(t, l, p, 79)

	// Refill: 2 a minute, i.e. one per 30 s; half a token shows as none.
	clock.Advance(15 * time.Second)
	wantTokens(t, l, p, 79)
	clock.Advance(15 * time.Second)
	wantTokens(t, l, p, 80)
	clock.Advance(5 * time.Minute)
	wantTokens(t, l, p, 90)

	// A settled payment gives 1 back.
	must(t, l.PaymentSettled(ctx, p))
	wantTokens(t, l, p, 91)

	// Never beyond the capacity.
	clock.Advance(4*time.Minute + 30*time.Second)
	wantTokens(t, l, p, 100)
	must(t, l.PaymentSettled(ctx, p))
	wantTokens(t, l, p, 100)

	// Five missing keys empty the bucket; the sixth lookup must wait for 20
	// tokens: 10 minutes. A refused lookup takes nothing.
	for range 5 {
		must(t, begin(ctx, l, p))
	}
	wantTokens(t, l, p, 0)
	wantLimited(t, begin(ctx, l, p), ScopePayer, 10*time.Minute)
	wantTokens(t, l, p, 0)

	// Retry-after counts the fraction of a token already refilled.
	clock.Advance(9*time.Minute + 59*time.Second)
	wantTokens(t, l, p, 19)
	wantLimited(t, begin(ctx, l, p), ScopePayer, time.Second)
	clock.Advance(time.Second)
	must(t, begin(ctx, l, p))
	wantTokens(t, l, p, 0)

	// With 19 tokens even a lookup that would find its key is refused, so
	// the refusal says nothing about the key.
	clock.Advance(19 * 30 * time.Second)
	wantTokens(t, l, p, 19)
	wantLimited(t, hit(ctx, l, p), ScopePayer, 30*time.Second)
	wantLimited(t, begin(ctx, l, p), ScopePayer, 30*time.Second)
	wantTokens(t, l, p, 19)
	// At 20 a found key costs 1 again.
	clock.Advance(30 * time.Second)
	must(t, hit(ctx, l, p))
	wantTokens(t, l, p, 19)

	// Other payers are untouched.
	wantTokens(t, l, uid("payer-2"), 100)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLimiterInstitutionBucket(t *testing.T) {
	ctx := context.Background()
	l, clock := newTestLimiter(t, func(c *RateConfig) {
		c.Institution = BucketConfig{Capacity: 50, Interval: time.Second}
	})
	if got := l.InstitutionTokens(); got != 50 {
		t.Fatalf("InstitutionTokens() = %d, want 50", got)
	}
	must(t, hit(ctx, l, uid("a")))   // 49
	must(t, begin(ctx, l, uid("b"))) // 29
	must(t, begin(ctx, l, uid("c"))) // 9
	if got := l.InstitutionTokens(); got != 9 {
		t.Fatalf("InstitutionTokens() = %d, want 9", got)
	}
	// d's own bucket is full, the institution's is not: refused, found or
	// not, and d's bucket is untouched.
	wantLimited(t, begin(ctx, l, uid("d")), ScopeInstitution, 11*time.Second)
	wantLimited(t, hit(ctx, l, uid("d")), ScopeInstitution, 11*time.Second)
	wantTokens(t, l, uid("d"), 100)
	if got := l.InstitutionTokens(); got != 9 {
		t.Fatalf("InstitutionTokens() after refusal = %d, want 9", got)
	}
	// A settled payment refunds the payer only.
	must(t, l.PaymentSettled(ctx, uid("b")))
	wantTokens(t, l, uid("b"), 81)
	if got := l.InstitutionTokens(); got != 9 {
		t.Fatalf("InstitutionTokens() after settlement = %d, want 9", got)
	}
	clock.Advance(2500 * time.Millisecond)
	if got := l.InstitutionTokens(); got != 11 {
		t.Fatalf("InstitutionTokens() = %d, want 11", got)
	}
	clock.Advance(8500 * time.Millisecond)
	must(t, hit(ctx, l, uid("d")))
	if got := l.InstitutionTokens(); got != 19 {
		t.Fatalf("InstitutionTokens() = %d, want 19", got)
	}
	clock.Advance(time.Hour)
	if got := l.InstitutionTokens(); got != 50 {
		t.Fatalf("InstitutionTokens() = %d, want the capacity 50", got)
	}
}

// Costs and refunds are whatever the config says.
func TestLimiterCustomCosts(t *testing.T) {
	ctx := context.Background()
	l, clock := newTestLimiter(t, func(c *RateConfig) {
		c.Payer = BucketConfig{Capacity: 10, Interval: 7 * time.Second}
		c.FoundCost, c.NotFoundCost, c.SettledRefund = 2, 3, 0
	})
	must(t, hit(ctx, l, uid("p")))   // 8
	must(t, begin(ctx, l, uid("p"))) // 5
	must(t, l.PaymentSettled(ctx, uid("p")))
	wantTokens(t, l, uid("p"), 5)
	clock.Advance(20 * time.Second) // 5 + 20/7
	wantTokens(t, l, uid("p"), 7)
	must(t, begin(ctx, l, uid("p")))
	must(t, begin(ctx, l, uid("p")))
	// 1 token and 6/7 of one: 3 tokens need 1/7 of 7 s plus 7 s.
	wantLimited(t, begin(ctx, l, uid("p")), ScopePayer, 8*time.Second)
}

func TestLimiterEmptyPayer(t *testing.T) {
	ctx := context.Background()
	l, _ := newTestLimiter(t, nil)
	for name, err := range map[string]error{
		"ChargeLookup miss": begin(ctx, l, uuid.Nil),
		"ChargeLookup hit":  hit(ctx, l, uuid.Nil),
		"PaymentSettled":    l.PaymentSettled(ctx, uuid.Nil),
	} {
		if !errors.Is(err, ErrEmptyPayer) {
			t.Errorf("%s(\"\") = %v, want ErrEmptyPayer", name, err)
		}
	}
}

func TestLimiterPrune(t *testing.T) {
	ctx := context.Background()
	l, clock := newTestLimiter(t, nil)
	for i := range 10 {
		must(t, begin(ctx, l, uid(fmt.Sprint("p", i))))
	}
	must(t, begin(ctx, l, uid("p0")))
	if got := l.payers(); got != 10 {
		t.Fatalf("%d payer entries, want 10", got)
	}
	clock.Advance(10 * time.Minute) // refills 20 tokens: p1..p9 are full, p0 is not
	if got := l.Prune(); got != 9 {
		t.Fatalf("Prune() = %d, want 9", got)
	}
	wantTokens(t, l, uid("p0"), 80)
	wantTokens(t, l, uid("p1"), 100)
	clock.Advance(10 * time.Minute)
	if got := l.Prune(); got != 1 || l.payers() != 0 {
		t.Fatalf("Prune() = %d leaving %d, want 1 leaving 0", got, l.payers())
	}
	// A refund that fills the bucket drops the entry too.
	must(t, hit(ctx, l, uid("q")))
	clock.Advance(30 * time.Second)
	must(t, l.PaymentSettled(ctx, uid("q")))
	if got := l.payers(); got != 0 {
		t.Fatalf("%d payer entries after refilling, want 0", got)
	}
}

func TestLimiterShardCount(t *testing.T) {
	for in, want := range map[int]int{0: 64, 1: 1, 3: 4, 64: 64, 100: 128} {
		l, _ := newTestLimiter(t, func(c *RateConfig) { c.Shards = in })
		if len(l.shards) != want {
			t.Errorf("Shards %d: %d shards, want %d", in, len(l.shards), want)
		}
	}
	if size := unsafe.Sizeof(limiterShard{}); size != 64 {
		t.Errorf("limiterShard is %d bytes, want one 64-byte cache line", size)
	}
}

// Payers in different shards do not wait for each other: with one shard's
// lock held, a payer of another shard is served.
func TestLimiterShardsAreIndependent(t *testing.T) {
	l, _ := newTestLimiter(t, nil)
	a, b := uid("a"), uuid.Nil
	for i := 0; b == uuid.Nil; i++ {
		if c := uid(fmt.Sprint("b", i)); l.shard(c) != l.shard(a) {
			b = c
		}
	}
	s := l.shard(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- begin(context.Background(), l, b) }()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("a lookup in another shard waited for a locked shard")
	}
}

// Many goroutines on a few payers and the institution bucket: with the
// clock stopped, every token is accounted for exactly.
func TestLimiterConcurrent(t *testing.T) {
	ctx := context.Background()
	const payers, workers = 4, 16
	ops := 2000
	if raceEnabled {
		ops = 500
	}
	l, _ := newTestLimiter(t, func(c *RateConfig) {
		c.Institution = BucketConfig{Capacity: 250, Interval: time.Second}
		c.Shards = 2
	})
	var spent [payers]atomic.Int64 // net tokens each payer's lookups cost
	var refused atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ops {
				p := (w + i) % payers
				id := uid(fmt.Sprint("payer-", p))
				found := i%3 == 0
				if _, err := l.ChargeLookup(ctx, id, uuid.Nil, found); err != nil {
					if !errors.Is(err, ErrRateLimited) {
						t.Error(err)
						return
					}
					refused.Add(1)
					continue
				}
				if found {
					spent[p].Add(1)
				} else {
					spent[p].Add(20)
				}
			}
		}()
	}
	wg.Wait()
	var total int64
	for p := range payers {
		s := spent[p].Load()
		total += s
		if got := l.Tokens(uid(fmt.Sprint("payer-", p))); got != 100-s {
			t.Errorf("payer-%d holds %d tokens, want 100 - %d", p, got, s)
		}
	}
	if got := l.InstitutionTokens(); got != 250-total || got < 0 {
		t.Errorf("institution holds %d tokens, want 250 - %d", got, total)
	}
	if refused.Load() == 0 {
		t.Error("no lookup was refused; the test did not reach the limits")
	}
}

// Payer IDs are checked before anything is counted: the zero ID is
// refused with its own error.
func TestMemoryLimiterChecksPayer(t *testing.T) {
	l, err := NewMemoryLimiter(DefaultRateConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	beginOp := func(ctx context.Context, p uuid.UUID) error { return begin(ctx, l, p) }
	hitOp := func(ctx context.Context, p uuid.UUID) error { return hit(ctx, l, p) }
	for _, op := range []func(context.Context, uuid.UUID) error{beginOp, hitOp, l.PaymentSettled} {
		if err := op(ctx, uuid.Nil); !errors.Is(err, ErrEmptyPayer) {
			t.Errorf("empty payer: %v", err)
		}
		if err := op(ctx, uid("x")); err != nil {
			t.Errorf("a payer: %v", err)
		}
	}
}

// begin is ChargeLookup of a miss, charging every call, as probes are.
func begin(ctx context.Context, l Limiter, payer uuid.UUID) error {
	_, err := l.ChargeLookup(ctx, payer, uuid.Nil, false)
	return err
}

// hit is ChargeLookup of a lookup that found its key.
func hit(ctx context.Context, l Limiter, payer uuid.UUID) error {
	_, err := l.ChargeLookup(ctx, payer, uuid.Nil, true)
	return err
}

// Prune forgets charges once they are ChargeTTL old, not before.
func TestLimiterPruneCharges(t *testing.T) {
	ctx := context.Background()
	l, clock := newTestLimiter(t, nil)
	for i := range 3 {
		if _, err := l.ChargeLookup(ctx, uid(fmt.Sprint("p", i)), uid(fmt.Sprint("c", i)), false); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(ChargeTTL - time.Nanosecond)
	l.Prune()
	if got := l.charges(); got != 3 {
		t.Fatalf("%d charges kept before ChargeTTL, want 3", got)
	}
	clock.Advance(time.Nanosecond)
	l.Prune()
	if got := l.charges(); got != 0 {
		t.Fatalf("%d charges kept at ChargeTTL, want 0", got)
	}
}
