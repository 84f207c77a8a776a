package campaign

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/socialpay/socialpay/internal/units"
	"github.com/socialpay/socialpay/ledger"
)

// Seed is the secret that fixes a campaign's draw. The Service reads it
// from its randomness when the campaign is created, publishes
// Commit(seed) when the campaign opens and reveals the seed once the
// campaign is swept, so that anyone can recompute the draw (NewDraw) and
// check every try against it (Audit).
type Seed [32]byte

// Commitment is the SHA-256 of a Seed, published before the first try.
type Commitment [32]byte

// Commit returns the commitment to seed: its SHA-256.
func Commit(seed Seed) Commitment { return sha256.Sum256(seed[:]) }

// String returns the commitment in lower-case hex.
func (c Commitment) String() string { return hex.EncodeToString(c[:]) }

// String returns the seed in lower-case hex.
func (s Seed) String() string { return hex.EncodeToString(s[:]) }

// CheckSeed reports whether seed is the one commitment was made to.
//
// Errors: ErrBadSeed.
func CheckSeed(seed Seed, commitment Commitment) error {
	got := Commit(seed)
	if subtle.ConstantTimeCompare(got[:], commitment[:]) != 1 {
		return fmt.Errorf("%w: SHA-256 of the seed is %s, commitment %s", ErrBadSeed, Commitment(got), commitment)
	}
	return nil
}

// Draw is a campaign's draw: which tier of the schedule each slot holds.
// The n-th try that the campaign accepts takes slot n-1 and wins that
// slot's prize. A Draw is immutable and safe for concurrent use.
type Draw struct {
	tiers    []uint8 // the tier index of each slot
	prizeEnd int     // 1 + the last slot with a prize
}

// drawLabel separates the draw's hash stream from any other use of a seed.
const drawLabel = "socialpay/campaign/draw/v1"

// NewDraw computes the draw of schedule from seed, the same for anyone
// who has both:
//
//  1. Lay out the slots in tier order: Tiers[0].Count slots of tier 0,
//     then tier 1, and so on.
//  2. Shuffle them with Fisher–Yates: for i from n−1 down to 1, swap slot
//     i with slot j = U(i+1), where U(m) is uniform in [0, m).
//  3. U(m) reads the next 64-bit big-endian word w of the stream
//     SHA-256(seed ‖ "socialpay/campaign/draw/v1" ‖ k) for k = 0, 1, 2…
//     (k a 64-bit big-endian counter; four words per block) and returns
//     w mod m, skipping any w below 2⁶⁴ mod m so that every value is
//     equally likely.
//
// Errors: ErrInvalidSchedule (see Schedule.Check, with DefaultRules'
// limits lifted: any positive count that fits in memory).
func NewDraw(seed Seed, s Schedule) (*Draw, error) {
	n, err := s.slots(ledger.Currency{})
	if err != nil {
		return nil, err
	}
	tiers := make([]uint8, 0, n)
	for i, t := range s {
		for range t.Count {
			tiers = append(tiers, uint8(i))
		}
	}
	st := drawStream{seed: seed}
	for i := n - 1; i > 0; i-- {
		j := st.uniform(uint64(i + 1))
		tiers[i], tiers[j] = tiers[j], tiers[i]
	}
	d := &Draw{tiers: tiers}
	for i := n - 1; i >= 0; i-- {
		if s[tiers[i]].Prize > 0 {
			d.prizeEnd = i + 1
			break
		}
	}
	return d, nil
}

// Slots returns the number of slots.
func (d *Draw) Slots() int { return len(d.tiers) }

// Tier returns the tier index of slot i (0 ≤ i < Slots()).
func (d *Draw) Tier(i int) int { return int(d.tiers[i]) }

// PrizeEnd returns 1 + the index of the last slot holding a prize: once
// that many slots are taken every prize is won and the campaign is sold
// out (the slots after it hold no prize and are never taken).
func (d *Draw) PrizeEnd() int { return d.prizeEnd }

// drawStream is the hash stream of NewDraw's step 3.
type drawStream struct {
	seed  Seed
	k     uint64
	block [32]byte
	used  int // 8-byte words of block used; 4 = empty
	init  bool
}

func (st *drawStream) next() uint64 {
	if !st.init || st.used == 4 {
		var buf [32 + len(drawLabel) + 8]byte
		copy(buf[:], st.seed[:])
		copy(buf[32:], drawLabel)
		binary.BigEndian.PutUint64(buf[32+len(drawLabel):], st.k)
		st.block = sha256.Sum256(buf[:])
		st.k++
		st.used, st.init = 0, true
	}
	w := binary.BigEndian.Uint64(st.block[8*st.used:])
	st.used++
	return w
}

// uniform returns a uniform value in [0, m), m ≥ 1, by rejection.
func (st *drawStream) uniform(m uint64) uint64 {
	threshold := -m % m // 2⁶⁴ mod m
	for {
		if w := st.next(); w >= threshold {
			return w % m
		}
	}
}

// Audit checks a campaign's published try log against its revealed seed:
// the seed matches the commitment, and tries (every try the campaign
// accepted, in slot order: slot 0, 1, 2… with no gap) each carry the
// prize the draw puts at their slot. Anyone holding the schedule, the
// commitment published at opening, the seed revealed after closing and
// the log can run it.
//
// Errors: ErrBadSeed, ErrInvalidSchedule, ErrDrawMismatch.
func Audit(s Schedule, commitment Commitment, seed Seed, tries []Try) error {
	if err := CheckSeed(seed, commitment); err != nil {
		return err
	}
	d, err := NewDraw(seed, s)
	if err != nil {
		return err
	}
	if len(tries) > d.Slots() {
		return fmt.Errorf("%w: %d tries for %d slots", ErrDrawMismatch, len(tries), d.Slots())
	}
	for i := range tries {
		t := &tries[i]
		if t.Slot != i {
			return fmt.Errorf("%w: try %d of the log is at slot %d", ErrDrawMismatch, i, t.Slot)
		}
		if want := s[d.Tier(i)].Prize; t.Prize != want {
			return fmt.Errorf("%w: slot %d won %s, the draw says %s", ErrDrawMismatch, i, units.Format(t.Prize, ledger.Currency{}), units.Format(want, ledger.Currency{}))
		}
	}
	return nil
}
