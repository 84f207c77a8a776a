package transfer

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
)

// Errors of the anti-enumeration rate limiter.
var (
	// ErrRateLimited means a payer's or the institution's lookup bucket
	// does not hold enough tokens. The error is a *RateLimitError that says
	// when to retry.
	ErrRateLimited = errcode.New("rate_limited", errcode.RateLimited, "transfer: rate limited")
	// ErrInvalidRateConfig means a RateConfig cannot work (see Validate).
	ErrInvalidRateConfig = errcode.New("invalid_rate_limit", errcode.Internal, "transfer: invalid rate limit config")
	// ErrEmptyPayer means a limiter was asked about a payer with the zero
	// ID.
	ErrEmptyPayer = errcode.New("empty_payer", errcode.Invalid, "transfer: empty payer ID")
)

// Scopes of a RateLimitError.
const (
	ScopePayer       = "payer"
	ScopeInstitution = "institution"
)

// RateLimitError is returned when a bucket is short of tokens. It wraps
// ErrRateLimited.
type RateLimitError struct {
	Scope      string        // ScopePayer or ScopeInstitution: the bucket that is short
	RetryAfter time.Duration // when that bucket will hold enough, if nothing else takes from it
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%v: %s bucket, retry after %v", ErrRateLimited, e.Scope, e.RetryAfter)
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// CheckPayer returns ErrEmptyPayer for the zero payer ID: what every
// Limiter refuses before it counts.
func CheckPayer(payer uuid.UUID) error {
	if payer == uuid.Nil {
		return ErrEmptyPayer
	}
	return nil
}

// Limiter meters directory lookups against enumeration, the way Brazil's
// PIX directory (DICT) does: every payer has a token bucket and so does the
// institution as a whole; a lookup that finds a key costs FoundCost tokens,
// one that finds nothing costs NotFoundCost, and a payment that used a
// lookup gives SettledRefund tokens back to the payer when it settles.
//
// A lookup is metered in one step, after the directory was asked, so
// that the answer to a lookup can never depend on whether the key exists
// (which would itself leak it): ChargeLookup admits the lookup only if
// both buckets hold NotFoundCost, whatever it found, and then takes
// FoundCost for a hit or NotFoundCost for a miss, atomically. These are
// the tokens and the refusals of taking NotFoundCost before the lookup
// and giving back NotFoundCost − FoundCost after a hit: even a payer's
// last tokens cannot buy a cheap probe of a missing key, and a refused
// lookup reveals nothing (the caller answers the refusal alone). The
// price of the single step: the directory is read before admission, so
// a refused prober still costs the bank one read.
//
// Concurrent duplicates of one request (a client's retries, sent before
// the first attempt's record exists) would each pay for the lookup, and
// at the budget's last tokens answer "rate limited" where the first got
// the payment's answer. A request therefore names its lookup charge: an
// ID derived from the request's idempotency key and the number it looks
// up. ChargeLookup takes tokens once per charge ID within ChargeTTL and
// answers charged = false, taking nothing, for the charge's duplicates.
// Another number under the same key is another charge, so reusing a key
// buys no free lookups; a duplicate may see one number again, which it
// has already paid to see.
//
// Implementations must be safe for concurrent use and refuse what
// CheckPayer refuses. MemoryLimiter keeps buckets in process, one budget
// per process; a bank running several instances shares one budget with
// postgres.LookupLimiter (or another on a shared store, built on Bucket
// and RateConfig's rules).
type Limiter interface {
	// ChargeLookup meters one lookup by payer that has been made: found
	// says whether it found its key (or, for a verify lookup, a Match).
	// If both the payer's and the institution's buckets hold NotFoundCost
	// tokens it takes LookupCost(found) from each and returns charged =
	// true; otherwise it takes nothing and returns a *RateLimitError
	// (errors.Is ErrRateLimited), found or not. With a charge ID that it
	// has charged within ChargeTTL, it takes nothing and returns charged
	// = false. uuid.Nil charges every time. It also returns CheckPayer's
	// errors, or a storage error.
	ChargeLookup(ctx context.Context, payer, charge uuid.UUID, found bool) (charged bool, err error)
	// PaymentSettled gives SettledRefund tokens back to payer's bucket (never
	// beyond its capacity) when a payment that used a lookup settles. Call
	// it once per such payment, unless the paying store gave the refund in
	// the payment's own step (PayingStore.RefundsOn). It returns
	// CheckPayer's errors or a storage error.
	PaymentSettled(ctx context.Context, payer uuid.UUID) error
}

// ChargeTTL is how long a Limiter remembers a lookup charge: a duplicate
// of a request arriving later than that is charged again. Retries of one
// request come within seconds; after its first attempt recorded the
// request, a retry finds the record and looks nothing up.
const ChargeTTL = time.Hour

// BucketConfig sizes one token bucket. A bucket starts full; it gains one
// token every Interval until it holds Capacity. Time is counted in whole
// nanoseconds and tokens in nanosecond fractions of Interval, so the
// arithmetic is exact: 2 tokens a minute is Interval = 30 * time.Second.
type BucketConfig struct {
	Capacity int64         // most tokens the bucket holds, > 0
	Interval time.Duration // refill: one token per Interval, > 0
}

// RateConfig configures anti-enumeration rate limiting. DefaultRateConfig
// returns the PIX DICT parameters.
type RateConfig struct {
	Payer       BucketConfig // one per payer; default 100 tokens, 2 a minute
	Institution BucketConfig // one for all payers; default 100,000 tokens, 1,000 a second

	FoundCost     int64 // a lookup that finds its key; default 1
	NotFoundCost  int64 // a lookup that finds nothing; default 20
	SettledRefund int64 // given back when a payment that used a lookup settles; default 1

	// Now is the clock; nil means time.Now. It should be monotonic (the
	// readings of time.Now are): buckets do not refill while it runs back.
	Now func() time.Time
	// Shards is the number of independently locked maps MemoryLimiter
	// spreads payers over, rounded up to a power of two; 0 means 64.
	Shards int
}

// DefaultRateConfig returns the parameters of Brazil's PIX directory:
// payer buckets of 100 tokens refilled at 2 a minute, 1 token for a found
// key, 20 for a missing one, 1 back per settled payment. The institution
// bucket default (100,000 tokens, 1,000 a second, i.e. about 1,000 found
// lookups a second sustained) is this library's guess; size it to the
// bank's traffic.
func DefaultRateConfig() RateConfig {
	return RateConfig{
		Payer:         BucketConfig{Capacity: 100, Interval: 30 * time.Second},
		Institution:   BucketConfig{Capacity: 100_000, Interval: time.Millisecond},
		FoundCost:     1,
		NotFoundCost:  20,
		SettledRefund: 1,
	}
}

// Validate checks that both buckets have a positive capacity and interval
// whose product (the bucket's span in nanoseconds) fits in 62 bits, that
// 0 < FoundCost <= NotFoundCost <= each capacity, that 0 <= SettledRefund
// <= the payer capacity, and that Shards is not negative. It returns an
// error wrapping ErrInvalidRateConfig.
func (c RateConfig) Validate() error {
	for _, b := range []struct {
		name string
		cfg  BucketConfig
	}{{ScopePayer, c.Payer}, {ScopeInstitution, c.Institution}} {
		switch {
		case b.cfg.Capacity <= 0:
			return fmt.Errorf("%w: %s capacity %d is not positive", ErrInvalidRateConfig, b.name, b.cfg.Capacity)
		case b.cfg.Interval <= 0:
			return fmt.Errorf("%w: %s interval %v is not positive", ErrInvalidRateConfig, b.name, b.cfg.Interval)
		case b.cfg.Capacity > (math.MaxInt64>>1)/int64(b.cfg.Interval):
			return fmt.Errorf("%w: %s capacity %d times interval %v overflows", ErrInvalidRateConfig, b.name, b.cfg.Capacity, b.cfg.Interval)
		case c.NotFoundCost > b.cfg.Capacity:
			return fmt.Errorf("%w: not-found cost %d exceeds the %s capacity %d", ErrInvalidRateConfig, c.NotFoundCost, b.name, b.cfg.Capacity)
		}
	}
	switch {
	case c.FoundCost <= 0:
		return fmt.Errorf("%w: found cost %d is not positive", ErrInvalidRateConfig, c.FoundCost)
	case c.NotFoundCost < c.FoundCost:
		return fmt.Errorf("%w: not-found cost %d is below the found cost %d", ErrInvalidRateConfig, c.NotFoundCost, c.FoundCost)
	case c.SettledRefund < 0 || c.SettledRefund > c.Payer.Capacity:
		return fmt.Errorf("%w: settled refund %d is outside 0..%d", ErrInvalidRateConfig, c.SettledRefund, c.Payer.Capacity)
	case c.Shards < 0:
		return fmt.Errorf("%w: %d shards", ErrInvalidRateConfig, c.Shards)
	}
	return nil
}

// LookupCost returns the tokens a lookup costs each bucket: FoundCost if
// it found its key, NotFoundCost if not. Either is admitted only while the
// bucket holds NotFoundCost (Bucket.Charge with admit = NotFoundCost).
func (c RateConfig) LookupCost(found bool) int64 {
	if found {
		return c.FoundCost
	}
	return c.NotFoundCost
}

// Refunded returns the state of a payer's bucket (see Bucket) after a
// settled payment's refund at instant now: SettledRefund tokens back,
// never beyond the capacity. Limiter.PaymentSettled gives it, or a
// PayingStore that refunds on the limiter (RefundsOn) in its own step.
func (c RateConfig) Refunded(state, now int64) int64 {
	return newBucketSpec(c.Payer).give(state, now, c.SettledRefund)
}

// bucketSpec is a BucketConfig in nanoseconds. A bucket's state is one
// int64, the instant e (in nanoseconds since the limiter's epoch) at which
// it was, or would have been, empty: at instant now it holds
// level = clamp(now-e, 0, span) nanoseconds' worth of tokens, one token
// per interval. A single integer needs no float and, for the institution
// bucket, fits a compare-and-swap.
type bucketSpec struct {
	interval int64 // nanoseconds per token
	span     int64 // capacity * interval: the level of a full bucket
}

func newBucketSpec(c BucketConfig) bucketSpec {
	return bucketSpec{interval: int64(c.Interval), span: c.Capacity * int64(c.Interval)}
}

// full returns the state of a full bucket at now.
func (s bucketSpec) full(now int64) int64 { return now - s.span }

func (s bucketSpec) level(e, now int64) int64 {
	return min(max(now-e, 0), s.span)
}

// take removes n tokens if the bucket holds them, returning the new state,
// or reports how long until it will.
func (s bucketSpec) take(e, now, n int64) (next int64, ok bool, retryAfter time.Duration) {
	return s.charge(e, now, n, n)
}

// charge removes n tokens (n <= admit) if the bucket holds admit tokens,
// returning the new state, or reports how long until it will.
func (s bucketSpec) charge(e, now, admit, n int64) (next int64, ok bool, retryAfter time.Duration) {
	l, need := s.level(e, now), admit*s.interval
	if l < need {
		return e, false, time.Duration(need - l)
	}
	return now - (l - n*s.interval), true, 0
}

// give adds n tokens, up to the capacity.
func (s bucketSpec) give(e, now, n int64) int64 {
	return now - min(s.level(e, now)+n*s.interval, s.span)
}

// tokens returns the whole tokens in the bucket.
func (s bucketSpec) tokens(e, now int64) int64 { return s.level(e, now) / s.interval }

// Bucket is the arithmetic of one token bucket of config c, for Limiter
// implementations that keep bucket states elsewhere (postgres.LookupLimiter
// keeps them in a table shared by every instance): a state is the instant,
// in nanoseconds on the implementation's clock, at which the bucket was or
// would have been empty, as MemoryLimiter keeps it. The methods are pure.
type Bucket struct{ spec bucketSpec }

// NewBucket returns the arithmetic of buckets of config c (which must be
// part of a RateConfig that validates).
func NewBucket(c BucketConfig) Bucket { return Bucket{spec: newBucketSpec(c)} }

// Full returns the state of a full bucket at instant now.
func (b Bucket) Full(now int64) int64 { return b.spec.full(now) }

// Take removes n tokens at instant now if state holds them, returning the
// new state; otherwise it returns ok false and how long until it will.
func (b Bucket) Take(state, now, n int64) (next int64, ok bool, retryAfter time.Duration) {
	return b.spec.take(state, now, n)
}

// Charge removes n tokens at instant now if state holds admit tokens (n
// <= admit: a lookup is admitted at NotFoundCost and costs
// RateConfig.LookupCost), returning the new state; otherwise it returns
// ok false and how long until it will hold admit.
func (b Bucket) Charge(state, now, admit, n int64) (next int64, ok bool, retryAfter time.Duration) {
	return b.spec.charge(state, now, admit, n)
}

// Give adds n tokens at instant now, never beyond the capacity.
func (b Bucket) Give(state, now, n int64) int64 { return b.spec.give(state, now, n) }

// Tokens returns the whole tokens state holds at instant now.
func (b Bucket) Tokens(state, now int64) int64 { return b.spec.tokens(state, now) }

// IsFull reports whether state is a full bucket at instant now, so that an
// implementation may forget it.
func (b Bucket) IsFull(state, now int64) bool { return b.spec.level(state, now) == b.spec.span }
