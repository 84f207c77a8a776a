package redpacket

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/socialpay/socialpay/internal/units"
	"github.com/socialpay/socialpay/ledger"
)

// Rules are the limits a bank sets on red packets in one currency. Amounts
// are minor units of that currency; a bank offering packets in several
// currencies keeps one Rules per currency (the per-currency minimum unit is
// Share.Min: 1 fen for CNY, 1 yen for JPY, 10 fils if KWD shares should be
// at least 0.010). The zero Rules is invalid; start from DefaultRules.
type Rules struct {
	// Share bounds every share. Default {1, 20000}: 0.01 to 200.00 CNY.
	Share Limits
	// MaxCount is the largest number of shares in one packet. Default 100.
	MaxCount int
	// Expiry is how long a packet may be claimed before the unclaimed
	// remainder is refunded. Default 24 h.
	Expiry time.Duration
	// SenderMayGrab says whether the sender may claim a share of their own
	// group packet. Default true, as in WeChat groups.
	SenderMayGrab bool
	// Splitter splits Lucky and Password packets. Nil means DoubleMean{}.
	Splitter Splitter
}

// DefaultRules returns WeChat-like rules for CNY: shares from 0.01 to 200.00,
// at most 100 shares, 24 h expiry, the sender may grab their own group
// packet, double-mean splitting.
func DefaultRules() Rules {
	return Rules{
		Share:         Limits{Min: 1, Max: 20000},
		MaxCount:      100,
		Expiry:        24 * time.Hour,
		SenderMayGrab: true,
		Splitter:      DoubleMean{},
	}
}

// Validate reports whether r can be used. It returns ErrInvalidRules (also
// matching ErrInvalidLimits for bad Share limits) if Share is not
// 1 ≤ Min ≤ Max, MaxCount < 1, MaxCount × Share.Max overflows int64, or
// Expiry ≤ 0.
func (r Rules) Validate() error {
	if err := r.Share.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRules, err)
	}
	if r.MaxCount < 1 {
		return fmt.Errorf("%w: MaxCount %d < 1", ErrInvalidRules, r.MaxCount)
	}
	if int64(r.MaxCount) > math.MaxInt64/r.Share.Max {
		return fmt.Errorf("%w: MaxCount %d × Share.Max %d overflows int64", ErrInvalidRules, r.MaxCount, r.Share.Max)
	}
	if r.Expiry <= 0 {
		return fmt.Errorf("%w: Expiry %v ≤ 0", ErrInvalidRules, r.Expiry)
	}
	return nil
}

// maxCount is the share-count limit for kind k: 1 for Exclusive.
func (r Rules) maxCount(k Kind) int {
	if k == Exclusive {
		return 1
	}
	return r.MaxCount
}

// checkCount runs the count checks of Check, in order.
func (r Rules) checkCount(k Kind, count int) error {
	if !k.valid() {
		return fmt.Errorf("%w: %v", ErrUnknownKind, k)
	}
	if count < 1 {
		return fmt.Errorf("%w: count %d", ErrNoShares, count)
	}
	if m := r.maxCount(k); count > m {
		return fmt.Errorf("%w: %v packet with %d shares, maximum %d", ErrTooManyShares, k, count, m)
	}
	return nil
}

// Check is the pure creation check for a packet of kind k with count shares
// that at most groupSize people may claim. amount is the per-share amount
// for a Normal packet and the total for every other kind. Check returns the
// total the sender pays. The sender's funds are not checked here (the
// ledger does that when the packet is sent).
//
// groupSize is the number of people who may claim: a group's members, less
// the sender unless SenderMayGrab; 1 for a packet to one friend.
//
// The checks run in this order, each with its own error:
//
//  1. ErrNoShares: count ≥ 1 (after ErrUnknownKind for an invalid kind);
//  2. ErrTooManyShares: count ≤ MaxCount (exactly 1 for Exclusive);
//  3. ErrShareTooSmall: total ≥ count × Share.Min (Normal: amount ≥ Min);
//  4. ErrShareTooLarge: total ≤ count × Share.Max (Normal: amount ≤ Max);
//  5. ErrCountExceedsGroup: count ≤ groupSize.
//
// It returns ErrInvalidRules if r does not Validate. No product overflows:
// Validate bounds MaxCount × Share.Max. Its errors give amounts in minor
// units; the Service's, in major units of the packet's currency.
func (r Rules) Check(k Kind, amount int64, count, groupSize int) (total int64, err error) {
	return r.check(k, amount, count, groupSize, ledger.Currency{})
}

// check is Check with amounts in cur (zero: unknown) for its errors.
func (r Rules) check(k Kind, amount int64, count, groupSize int, cur ledger.Currency) (total int64, err error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	if err := r.checkCount(k, count); err != nil {
		return 0, err
	}
	if k == Normal {
		if amount < r.Share.Min {
			return 0, fmt.Errorf("%w: %s is less than %s", ErrShareTooSmall, units.Format(amount, cur), units.Format(r.Share.Min, cur))
		}
		if amount > r.Share.Max {
			return 0, fmt.Errorf("%w: %s is more than %s", ErrShareTooLarge, units.Format(amount, cur), units.Format(r.Share.Max, cur))
		}
		total = amount * int64(count)
	} else {
		if err := checkTotal(amount, count, r.Share, cur); err != nil {
			return 0, err
		}
		total = amount
	}
	if count > groupSize {
		return 0, fmt.Errorf("%w: %d shares, %d possible claimers", ErrCountExceedsGroup, count, groupSize)
	}
	return total, nil
}

// Shares computes the shares of a packet of kind k when it is sent: total
// (as returned by Check) split into count shares in claim order. Lucky and
// Password packets are split by r.Splitter and then shuffled (Fisher–Yates),
// so every claim position has the same chance of best luck whatever the
// splitter; Normal packets get equal shares, Exclusive packets the one share.
// Randomness is a per-packet ChaCha8 stream seeded from rnd (crypto/rand
// when nil). The result is verified: every share in [Share.Min, Share.Max],
// the sum exactly total.
//
// Shares returns ErrInvalidRules, ErrUnknownKind, ErrNoShares,
// ErrTooManyShares, ErrShareTooSmall, ErrShareTooLarge, ErrIndivisible (a
// Normal total that count does not divide), ErrBadSplit if the splitter broke
// an invariant, any other error of the splitter, or rnd's error.
func (r Rules) Shares(k Kind, total int64, count int, rnd io.Reader) ([]int64, error) {
	return r.shares(k, total, count, rnd, ledger.Currency{})
}

// shares is Shares with amounts in cur (zero: unknown) for its errors.
func (r Rules) shares(k Kind, total int64, count int, rnd io.Reader, cur ledger.Currency) ([]int64, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := r.checkCount(k, count); err != nil {
		return nil, err
	}
	if err := checkTotal(total, count, r.Share, cur); err != nil {
		return nil, err
	}
	shares := make([]int64, count)
	switch k {
	case Normal:
		if err := (Equal{}).Split(shares, total, r.Share, nil); err != nil {
			return nil, err
		}
		return shares, nil
	case Exclusive:
		shares[0] = total
		return shares, nil
	}
	rng, err := newPacketRand(rnd)
	if err != nil {
		return nil, err
	}
	s := r.Splitter
	if s == nil {
		s = DoubleMean{}
	}
	if err := s.Split(shares, total, r.Share, rng); err != nil {
		return nil, err
	}
	if err := verify(shares, total, r.Share, cur); err != nil {
		return nil, fmt.Errorf("%T: %w", s, err)
	}
	rng.Shuffle(len(shares), func(i, j int) { shares[i], shares[j] = shares[j], shares[i] })
	return shares, nil
}

// verify checks a split against the packet invariants.
func verify(shares []int64, total int64, lim Limits, cur ledger.Currency) error {
	var sum int64
	for i, s := range shares {
		if s < lim.Min || s > lim.Max {
			return fmt.Errorf("%w: share %d is %s, outside %s to %s", ErrBadSplit, i, units.Format(s, cur), units.Format(lim.Min, cur), units.Format(lim.Max, cur))
		}
		sum += s // ≤ count × Max, checked not to overflow
	}
	if sum != total {
		return fmt.Errorf("%w: shares sum to %s, not the total %s", ErrBadSplit, units.Format(sum, cur), units.Format(total, cur))
	}
	return nil
}
