package redpacket

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/socialpay/socialpay/internal/units"
	"github.com/socialpay/socialpay/ledger"
)

// Limits bounds every share of a packet, in minor units of its currency.
type Limits struct {
	Min int64 // smallest share; at least 1, so no share is ever zero or negative
	Max int64 // largest share; at least Min
}

func (l Limits) validate() error {
	if l.Min < 1 || l.Max < l.Min {
		return fmt.Errorf("%w: min %d, max %d (need 1 ≤ min ≤ max)", ErrInvalidLimits, l.Min, l.Max)
	}
	return nil
}

// A Splitter divides a packet's total into shares when the packet is sent.
//
// Split fills every element of shares (len(shares) is the share count) with
// amounts in [lim.Min, lim.Max] that sum to exactly total. It draws all its
// randomness from rng, a generator private to this one packet, and must not
// retain rng or shares. Position i of the result is the i-th share handed
// out; Rules.Shares shuffles the result, so a Splitter need not make its
// positions exchangeable (but LineSegment and Equal do).
//
// Split returns ErrNoShares for empty shares, ErrInvalidLimits, ErrOverflow
// when len(shares) × lim.Max does not fit in int64, ErrShareTooSmall or
// ErrShareTooLarge when total is outside [count × Min, count × Max], and
// ErrIndivisible for Equal when count does not divide total.
type Splitter interface {
	Split(shares []int64, total int64, lim Limits, rng *rand.Rand) error
}

var (
	_ Splitter = DoubleMean{}
	_ Splitter = LineSegment{}
	_ Splitter = Equal{}
)

// checkTotal reports whether total can be split into count shares within
// lim; its errors give amounts in cur (zero: minor units). After it
// passes, count × lim.Max fits in int64, so every partial sum a splitter
// computes does too.
func checkTotal(total int64, count int, lim Limits, cur ledger.Currency) error {
	if count < 1 {
		return fmt.Errorf("%w: count %d", ErrNoShares, count)
	}
	if err := lim.validate(); err != nil {
		return err
	}
	n := int64(count)
	if n > math.MaxInt64/lim.Max {
		return fmt.Errorf("%w: %d shares × %s", ErrOverflow, count, units.Format(lim.Max, cur))
	}
	if total < n*lim.Min {
		return fmt.Errorf("%w: total %s is less than %d shares × %s", ErrShareTooSmall, units.Format(total, cur), count, units.Format(lim.Min, cur))
	}
	if total > n*lim.Max {
		return fmt.Errorf("%w: total %s is more than %d shares × %s", ErrShareTooLarge, units.Format(total, cur), count, units.Format(lim.Max, cur))
	}
	return nil
}

// DoubleMean is WeChat's double-mean (二倍均值) splitter. With R left to hand
// out over r remaining shares, each share but the last is drawn uniformly
// from
//
//	[max(Min, R − Max·(r−1)),  min(⌊2R/r⌋, R − Min·(r−1), Max)]
//
// and the last share takes what is left. ⌊2R/r⌋ is WeChat's "twice the mean";
// R − Min·(r−1) reserves the minimum for every later share, R − Max·(r−1)
// makes sure the later shares can hold the rest without exceeding Max.
//
// Why the interval is never empty and the last share is valid: the invariant
// r·Min ≤ R ≤ r·Max holds at the start (checkTotal). Given it, each lower
// term is ≤ each upper term: Min ≤ ⌊2R/r⌋ because 2R/r ≥ 2·Min; Min ≤ R −
// Min·(r−1) because R ≥ r·Min; R − Max·(r−1) ≤ R/r ≤ 2R/r because Max ≥ R/r,
// and an integer ≤ 2R/r is ≤ ⌊2R/r⌋; R − Max·(r−1) ≤ R − Min·(r−1)
// because Max ≥ Min; R − Max·(r−1) ≤ Max because R ≤ r·Max. Drawing x in the
// interval keeps the invariant for R−x over r−1 shares (x ≤ R − Min·(r−1) and
// x ≥ R − Max·(r−1)), so at r = 1 the last share R lies in [Min, Max].
//
// Each draw is centred on the current mean R/r, give or take the integer
// bounds: uniform on [Min, ⌊2R/r⌋] has mean (Min + ⌊2R/r⌋)/2, about R/r +
// Min/2, and the last share makes up the difference. For 100.00 into 10 that
// is half a fen per position (0.05%); for 1.00 into 18 the first draw
// averages 6 fen against a fair 5.56. Later positions also spread wider, so
// without a shuffle the last claimers win best luck more often. Rules.Shares
// shuffles, which makes every position's distribution the same.
type DoubleMean struct{}

// Split implements Splitter.
func (DoubleMean) Split(shares []int64, total int64, lim Limits, rng *rand.Rand) error {
	if err := checkTotal(total, len(shares), lim, ledger.Currency{}); err != nil {
		return fmt.Errorf("double-mean split: %w", err)
	}
	rem := total
	last := len(shares) - 1
	for i := range last {
		lo, hi := doubleMeanBounds(rem, int64(len(shares)-i), lim)
		if lo > hi { // unreachable, see the proof above; never call Int64N(≤0)
			return fmt.Errorf("%w: double-mean interval [%d, %d] (minor units) empty", ErrBadSplit, lo, hi)
		}
		x := lo + rng.Int64N(hi-lo+1)
		shares[i] = x
		rem -= x
	}
	shares[last] = rem
	return nil
}

// doubleMeanBounds returns the inclusive interval for the next share with rem
// left over r ≥ 2 shares, r·lim.Min ≤ rem ≤ r·lim.Max. Nothing overflows:
// lim.Max·(r−1) ≤ count·Max, which checkTotal made sure fits, and ⌊2R/r⌋ is
// computed as 2⌊R/r⌋ + ⌊2(R mod r)/r⌋ (the last term is 0 or 1), so 2R,
// which may not fit, is never formed.
func doubleMeanBounds(rem, r int64, lim Limits) (lo, hi int64) {
	lo = max(lim.Min, rem-lim.Max*(r-1))
	q, m := rem/r, rem%r
	twiceMean := 2 * q
	if 2*m >= r {
		twiceMean++
	}
	hi = min(twiceMean, rem-lim.Min*(r-1), lim.Max)
	return lo, hi
}

// LineSegment is the line-segment (线段切割, stars and bars) splitter: the
// amount above the minimums, n = total − count·Min, is cut at count−1
// distinct points chosen uniformly from the n+count−1 slots of a stars-and-
// bars line, which gives a uniformly random composition of n into count
// parts. Unlike cuts drawn independently with replacement, this is exactly
// exchangeable: every position has the same distribution, with or without a
// shuffle.
//
// If a part exceeds Max−Min, the excess is clamped off and spread again, by
// the same uniform cut, over the parts still below the cap, until none
// exceeds it (at most count rounds: each round that clamps removes a part).
// Which parts are capped depends only on values, never on positions, and a
// uniform composition is exchangeable, so the result stays exchangeable.
// With the default rules the cap never binds.
type LineSegment struct{}

// Split implements Splitter.
func (LineSegment) Split(shares []int64, total int64, lim Limits, rng *rand.Rand) error {
	if err := checkTotal(total, len(shares), lim, ledger.Currency{}); err != nil {
		return fmt.Errorf("line-segment split: %w", err)
	}
	capY := lim.Max - lim.Min
	composition(shares, total-int64(len(shares))*lim.Min, rng)
	var scratch []int64 // only allocated when the cap binds
	for {
		var excess int64
		free := 0
		for i, y := range shares {
			switch {
			case y > capY:
				excess += y - capY
				shares[i] = capY
			case y < capY:
				free++
			}
		}
		if excess == 0 {
			break
		}
		// free ≥ 1: total slack over the free parts is count·capY − (n − excess) ≥ excess.
		if scratch == nil {
			scratch = make([]int64, free)
		}
		extra := scratch[:free]
		composition(extra, excess, rng)
		j := 0
		for i, y := range shares {
			if y < capY {
				shares[i] = y + extra[j]
				j++
			}
		}
	}
	for i := range shares {
		shares[i] += lim.Min
	}
	return nil
}

// composition fills parts with a uniformly random weak composition of n ≥ 0
// into len(parts) ≥ 1 non-negative parts. It chooses the k−1 bar positions
// as a uniform random subset of [0, n+k−1) with Floyd's algorithm, kept
// sorted in parts itself (no allocation), then turns bars into gaps.
func composition(parts []int64, n int64, rng *rand.Rand) {
	k := len(parts)
	if k == 1 {
		parts[0] = n
		return
	}
	m := int64(k - 1)
	slots := n + m // < the packet's total (every part ≥ Min ≥ 1 was taken off), so it fits
	bars := parts[:0]
	for j := slots - m; j < slots; j++ {
		t := rng.Int64N(j + 1)
		if i, found := slices.BinarySearch(bars, t); found {
			bars = append(bars, j) // j is larger than every bar so far
		} else {
			bars = slices.Insert(bars, i, t)
		}
	}
	// Gaps between bars, rewritten in place from the end: part i reads bars
	// i and i−1, which are not yet overwritten.
	parts[k-1] = slots - 1 - bars[k-2]
	for i := k - 2; i >= 1; i-- {
		parts[i] = bars[i] - bars[i-1] - 1
	}
	parts[0] = bars[0]
}

// Equal splits the total into equal shares (normal packets). It uses no
// randomness and returns ErrIndivisible if the count does not divide the total.
type Equal struct{}

// Split implements Splitter.
func (Equal) Split(shares []int64, total int64, lim Limits, _ *rand.Rand) error {
	if err := checkTotal(total, len(shares), lim, ledger.Currency{}); err != nil {
		return fmt.Errorf("equal split: %w", err)
	}
	n := int64(len(shares))
	if total%n != 0 {
		return fmt.Errorf("equal split: %w: %s into %d shares", ErrIndivisible, units.Format(total, ledger.Currency{}), n)
	}
	for i := range shares {
		shares[i] = total / n
	}
	return nil
}
