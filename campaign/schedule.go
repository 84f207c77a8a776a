package campaign

import (
	"fmt"
	"math"
	"time"

	"github.com/socialpay/socialpay/internal/units"
	"github.com/socialpay/socialpay/ledger"
)

// Tier is Count prize slots of Prize minor units each. A tier with Prize 0
// is "no prize": slots that make the chance of winning exact (1,000
// prizes among 10,000 slots is a 10% chance for every try taken).
type Tier struct {
	Prize int64 `json:"prize"` // minor units of the campaign's currency; 0 = no prize
	Count int   `json:"count"`
}

// Schedule is a campaign's prizes, fixed at creation: for example
// {{8888, 10}, {888, 1000}, {88, 98990}} is 10 × 88.88, 1,000 × 8.88 and
// the rest 0.88 in CNY.
type Schedule []Tier

// Rules bound the campaigns a Service accepts in one currency.
type Rules struct {
	MaxTiers    int           // tiers in a schedule, at most 255
	MaxSlots    int           // slots (tries the campaign can take), all tiers together
	MaxPrize    int64         // one slot's prize, minor units
	MaxBudget   int64         // the sum of every slot's prize, minor units
	MaxDuration time.Duration // from opening to end
}

// DefaultRules: up to 16 tiers, 10,000,000 slots, prizes up to 10,000.00
// and a budget up to 100,000,000.00 in a currency of exponent 2 (minor
// units as given), open for up to 31 days.
func DefaultRules() Rules {
	return Rules{MaxTiers: 16, MaxSlots: 10_000_000, MaxPrize: 1_000_000, MaxBudget: 10_000_000_000, MaxDuration: 31 * 24 * time.Hour}
}

// Validate checks that r can be used.
//
// Errors: ErrInvalidRules.
func (r Rules) Validate() error {
	if r.MaxTiers < 1 || r.MaxTiers > math.MaxUint8 || r.MaxSlots < 1 || r.MaxPrize < 1 || r.MaxBudget < 1 || r.MaxDuration <= 0 {
		return fmt.Errorf("%w: %+v", ErrInvalidRules, r)
	}
	return nil
}

// slots returns the number of slots of s, checking only what a draw needs;
// its errors give prizes in cur (zero: minor units).
func (s Schedule) slots(cur ledger.Currency) (int, error) {
	if len(s) == 0 || len(s) > math.MaxUint8 {
		return 0, fmt.Errorf("%w: %d tiers", ErrInvalidSchedule, len(s))
	}
	n := 0
	for i, t := range s {
		if t.Count < 1 || t.Prize < 0 {
			return 0, fmt.Errorf("%w: tier %d: %d × %s", ErrInvalidSchedule, i, t.Count, units.Format(t.Prize, cur))
		}
		if n > math.MaxInt32-t.Count {
			return 0, fmt.Errorf("%w: more than %d slots", ErrOverflow, math.MaxInt32)
		}
		n += t.Count
	}
	return n, nil
}

// Check checks a schedule against r and returns its budget (the sum of
// every slot's prize, which the campaign's escrow is funded with) and its
// number of slots.
//
// Errors: ErrInvalidSchedule (no tier or more than MaxTiers, a count below
// 1, a negative prize or one above MaxPrize, no prize at all, more than
// MaxSlots slots, a budget above MaxBudget), ErrOverflow. Its errors give
// amounts in minor units; the Service's, in major units of the prizes'
// currency.
func (r *Rules) Check(s Schedule) (budget int64, slots int, err error) {
	return r.check(s, ledger.Currency{})
}

// check is Check with amounts in cur (zero: unknown) for its errors.
func (r *Rules) check(s Schedule, cur ledger.Currency) (budget int64, slots int, err error) {
	if len(s) > r.MaxTiers {
		return 0, 0, fmt.Errorf("%w: %d tiers, maximum %d", ErrInvalidSchedule, len(s), r.MaxTiers)
	}
	if slots, err = s.slots(cur); err != nil {
		return 0, 0, err
	}
	if slots > r.MaxSlots {
		return 0, 0, fmt.Errorf("%w: %d slots, maximum %d", ErrInvalidSchedule, slots, r.MaxSlots)
	}
	for i, t := range s {
		if t.Prize > r.MaxPrize {
			return 0, 0, fmt.Errorf("%w: tier %d: prize %s is more than %s", ErrInvalidSchedule, i, units.Format(t.Prize, cur), units.Format(r.MaxPrize, cur))
		}
		if t.Prize != 0 && int64(t.Count) > math.MaxInt64/t.Prize {
			return 0, 0, fmt.Errorf("%w: tier %d: %d × %s", ErrOverflow, i, t.Count, units.Format(t.Prize, cur))
		}
		sub := t.Prize * int64(t.Count)
		if budget > math.MaxInt64-sub {
			return 0, 0, fmt.Errorf("%w: budget at tier %d", ErrOverflow, i)
		}
		budget += sub
	}
	if budget == 0 {
		return 0, 0, fmt.Errorf("%w: no prize", ErrInvalidSchedule)
	}
	if budget > r.MaxBudget {
		return 0, 0, fmt.Errorf("%w: budget %s is more than %s", ErrInvalidSchedule, units.Format(budget, cur), units.Format(r.MaxBudget, cur))
	}
	return budget, slots, nil
}

// Budget returns the sum of every slot's prize.
//
// Errors: ErrInvalidSchedule, ErrOverflow.
func (s Schedule) Budget() (int64, error) {
	r := Rules{MaxTiers: math.MaxUint8, MaxSlots: math.MaxInt32, MaxPrize: math.MaxInt64, MaxBudget: math.MaxInt64, MaxDuration: 1}
	b, _, err := r.Check(s)
	return b, err
}
