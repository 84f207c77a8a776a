package collect

import (
	"fmt"
	"math"
	"time"

	"github.com/socialpay/socialpay/internal/units"
	"github.com/socialpay/socialpay/ledger"
)

// Rules are the limits of bill splitting in one currency. Amounts are in
// minor units (fen for CNY).
type Rules struct {
	// MaxMembers bounds the shares of a request, the requester's own
	// included.
	MaxMembers int
	// MaxShare bounds each share.
	MaxShare int64
	// DefaultTTL is how long a request stays open when its creator does
	// not say; MaxTTL bounds what a creator may ask for.
	DefaultTTL, MaxTTL time.Duration
}

// DefaultRules are WeChat-like limits for CNY: at most 100 members, a share
// of at most 50,000.00, open 24 hours by default and at most 30 days.
func DefaultRules() Rules {
	return Rules{MaxMembers: 100, MaxShare: 50_000_00, DefaultTTL: 24 * time.Hour, MaxTTL: 30 * 24 * time.Hour}
}

// MaxTitleLen bounds a request's title, in bytes.
const MaxTitleLen = 128

// Validate reports whether the rules can be used.
//
// Errors: ErrInvalidRules.
func (r Rules) Validate() error {
	if r.MaxMembers < 2 || r.MaxShare < 1 || r.DefaultTTL <= 0 || r.MaxTTL < r.DefaultTTL {
		return fmt.Errorf("%w: %+v (want MaxMembers ≥ 2, MaxShare ≥ 1, 0 < DefaultTTL ≤ MaxTTL)", ErrInvalidRules, r)
	}
	return nil
}

// EqualSplit splits total into n shares that differ by at most one minor
// unit. The remainder rule: with total = q·n + m (0 ≤ m < n), the first m
// shares in the stated order get q+1 and the others q, so 100.00 split 3
// ways is 33.34 + 33.33 + 33.33 and the shares always sum to total.
//
// Errors: ErrNoMembers (n < 1), ErrShareTooSmall (total < n: some share
// would be zero).
func EqualSplit(total int64, n int) ([]int64, error) {
	return equalSplit(total, n, ledger.Currency{})
}

// equalSplit is EqualSplit with amounts in cur (zero: unknown) for its
// errors.
func equalSplit(total int64, n int, cur ledger.Currency) ([]int64, error) {
	if n < 1 {
		return nil, fmt.Errorf("%w: split %d ways", ErrNoMembers, n)
	}
	if total < int64(n) {
		return nil, fmt.Errorf("%w: %s split %d ways", ErrShareTooSmall, units.Format(total, cur), n)
	}
	q, m := total/int64(n), int(total%int64(n))
	out := make([]int64, n)
	for i := range out {
		out[i] = q
		if i < m {
			out[i]++
		}
	}
	return out, nil
}

// Check checks the shares of a request (the requester's own included, when
// the requester takes part) against the rules and returns their sum.
//
// Errors, in this order: ErrNoMembers (fewer than two shares when the
// requester takes part, else none), ErrTooManyMembers, ErrShareTooSmall,
// ErrShareTooLarge, ErrOverflow. Its errors give amounts in minor units;
// the Service's, in major units of the bill's currency.
func (r Rules) Check(shares []int64, requesterIncluded bool) (int64, error) {
	return r.check(shares, requesterIncluded, ledger.Currency{})
}

// check is Check with amounts in cur (zero: unknown) for its errors.
func (r Rules) check(shares []int64, requesterIncluded bool, cur ledger.Currency) (int64, error) {
	collected := len(shares)
	if requesterIncluded {
		collected--
	}
	if collected < 1 {
		return 0, fmt.Errorf("%w: %d shares, requester included %t", ErrNoMembers, len(shares), requesterIncluded)
	}
	if len(shares) > r.MaxMembers {
		return 0, fmt.Errorf("%w: %d shares, maximum %d", ErrTooManyMembers, len(shares), r.MaxMembers)
	}
	var sum int64
	for i, s := range shares {
		switch {
		case s < 1:
			return 0, fmt.Errorf("%w: share %d is %s", ErrShareTooSmall, i, units.Format(s, cur))
		case s > r.MaxShare:
			return 0, fmt.Errorf("%w: share %d is %s, more than %s", ErrShareTooLarge, i, units.Format(s, cur), units.Format(r.MaxShare, cur))
		case sum > math.MaxInt64-s:
			return 0, fmt.Errorf("%w: sum of %d shares", ErrOverflow, len(shares))
		}
		sum += s
	}
	return sum, nil
}
