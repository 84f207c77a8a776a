package redpacket

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/iotest"

	"pgregory.net/rapid"
)

func rules(lo, hi int64, maxCount int, s Splitter) Rules {
	r := DefaultRules()
	r.Share = Limits{Min: lo, Max: hi}
	r.MaxCount = maxCount
	r.Splitter = s
	return r
}

// Published bug cases, each run over many seeds, for every splitter, both
// raw (positional) and through Rules.Shares (shuffled and verified).
func TestPublishedBugCases(t *testing.T) {
	cases := []struct {
		name       string
		total      int64
		count      int
		lim        Limits
		maxCount   int
		allEqualTo int64 // when non-zero every share must equal it
	}{
		// A negative last share from rounding up (1.00 split 18 ways).
		{"1.00 split 18 ways", 100, 18, Limits{1, 20000}, 100, 0},
		// A last share above the maximum: 20.00 into 100 shares with a
		// small max share, so the bound binds often.
		{"20.00 into 100, max 0.25", 2000, 100, Limits{1, 25}, 100, 0},
		{"20.00 into 100, max 0.21", 2000, 100, Limits{1, 21}, 100, 0},
		{"20.00 into 100, max 0.20", 2000, 100, Limits{1, 20}, 100, 20},
		{"one share", 12345, 1, Limits{1, 20000}, 100, 12345},
		{"count = max count", 20000, 100, Limits{1, 20000}, 100, 0},
		{"count = max count, 2000.00", 20000000, 100, Limits{1, 200000}, 100, 0},
		{"total = count × max", 2000000, 100, Limits{1, 20000}, 100, 20000},
		{"total = count × max, small", 30, 3, Limits{1, 10}, 100, 10},
		{"total = count × min", 100, 100, Limits{1, 20000}, 100, 1},
		{"total = count × min, min 5", 50, 10, Limits{5, 20000}, 100, 5},
		{"total = count × min + 1", 101, 100, Limits{1, 20000}, 100, 0},
		{"total = count × max − 1", 1999999, 100, Limits{1, 20000}, 100, 0},
		{"min = max", 70, 7, Limits{10, 10}, 100, 10},
	}
	for _, sp := range splitters {
		for _, c := range cases {
			t.Run(sp.name+"/"+c.name, func(t *testing.T) {
				r := rules(c.lim.Min, c.lim.Max, c.maxCount, sp.s)
				if _, err := r.Check(Lucky, c.total, c.count, c.count); err != nil {
					t.Fatalf("Check: %v", err)
				}
				rnd := seeded(t.Name())
				raw := make([]int64, c.count)
				for range 500 {
					rng, err := newPacketRand(rnd)
					if err != nil {
						t.Fatal(err)
					}
					if err := sp.s.Split(raw, c.total, c.lim, rng); err != nil {
						t.Fatalf("Split: %v", err)
					}
					checkShares(t, raw, c.total, c.count, c.lim)
					shares, err := r.Shares(Lucky, c.total, c.count, rnd)
					if err != nil {
						t.Fatalf("Shares: %v", err)
					}
					checkShares(t, shares, c.total, c.count, c.lim)
					for _, s := range append(raw, shares...) {
						if c.allEqualTo != 0 && s != c.allEqualTo {
							t.Fatalf("share %d, want every share = %d", s, c.allEqualTo)
						}
					}
				}
			})
		}
	}
}

// 0.10 into 15 shares once gave a negative share; it must not be creatable,
// and no splitter may split it.
func TestTenFenFifteenShares(t *testing.T) {
	r := DefaultRules()
	if _, err := r.Check(Lucky, 10, 15, 15); !errors.Is(err, ErrShareTooSmall) {
		t.Fatalf("Check(0.10, 15) = %v, want ErrShareTooSmall", err)
	}
	if _, err := r.Shares(Lucky, 10, 15, seeded("x")); !errors.Is(err, ErrShareTooSmall) {
		t.Fatalf("Shares(0.10, 15) = %v, want ErrShareTooSmall", err)
	}
	for _, sp := range append(splitters, struct {
		name string
		s    Splitter
	}{"Equal", Equal{}}) {
		rng, _ := newPacketRand(seeded("x"))
		if err := sp.s.Split(make([]int64, 15), 10, r.Share, rng); !errors.Is(err, ErrShareTooSmall) {
			t.Errorf("%s.Split(0.10, 15) = %v, want ErrShareTooSmall", sp.name, err)
		}
	}
}

func TestSplitInputErrors(t *testing.T) {
	big := int64(math.MaxInt64/3 + 1)
	tests := []struct {
		name  string
		total int64
		count int
		lim   Limits
		want  error
	}{
		{"no shares", 100, 0, Limits{1, 100}, ErrNoShares},
		{"min 0", 100, 2, Limits{0, 100}, ErrInvalidLimits},
		{"max < min", 100, 2, Limits{10, 9}, ErrInvalidLimits},
		{"count × max overflows", big, 3, Limits{1, big}, ErrOverflow},
		{"count × max overflows, tiny total", 3, 3, Limits{1, big}, ErrOverflow},
		{"too small", 9, 10, Limits{1, 100}, ErrShareTooSmall},
		{"too large", 1001, 10, Limits{1, 100}, ErrShareTooLarge},
		{"negative total", -5, 1, Limits{1, 100}, ErrShareTooSmall},
	}
	all := append(slices.Clone(splitters), struct {
		name string
		s    Splitter
	}{"Equal", Equal{}})
	for _, sp := range all {
		for _, tt := range tests {
			t.Run(sp.name+"/"+tt.name, func(t *testing.T) {
				rng, _ := newPacketRand(seeded("x"))
				err := sp.s.Split(make([]int64, tt.count), tt.total, tt.lim, rng)
				if !errors.Is(err, tt.want) {
					t.Fatalf("Split = %v, want %v", err, tt.want)
				}
			})
		}
	}
	rng, _ := newPacketRand(seeded("x"))
	if err := (Equal{}).Split(make([]int64, 3), 100, Limits{1, 100}, rng); !errors.Is(err, ErrIndivisible) {
		t.Errorf("Equal.Split(100, 3) = %v, want ErrIndivisible", err)
	}
}

// Amounts near the int64 limit split without overflow (2R and Max·(r−1)
// are never formed when they would not fit).
func TestSplitNearInt64Limit(t *testing.T) {
	for _, count := range []int{2, 3, 7, 100} {
		hi := math.MaxInt64 / int64(count)
		for _, total := range []int64{hi * int64(count), hi*int64(count) - 1, hi*int64(count)/2 + 1, int64(count)} {
			for _, sp := range splitters {
				rnd := seeded(fmt.Sprint(count, total))
				for range 200 {
					rng, _ := newPacketRand(rnd)
					shares := make([]int64, count)
					if err := sp.s.Split(shares, total, Limits{1, hi}, rng); err != nil {
						t.Fatalf("%s: %d into %d, max %d: %v", sp.name, total, count, hi, err)
					}
					checkShares(t, shares, total, count, Limits{1, hi})
				}
			}
		}
	}
}

// Every double-mean draw lies in WeChat's interval with the min- and
// max-reserving bounds, written out here independently.
func TestDoubleMeanDrawsInInterval(t *testing.T) {
	cases := []struct {
		total int64
		count int
		lim   Limits
	}{{10000, 10, Limits{1, 20000}}, {100, 18, Limits{1, 20000}}, {2000, 100, Limits{1, 25}}, {950, 10, Limits{3, 100}}}
	for _, c := range cases {
		rnd := seeded(fmt.Sprint(c))
		shares := make([]int64, c.count)
		for range 2000 {
			rng, _ := newPacketRand(rnd)
			if err := (DoubleMean{}).Split(shares, c.total, c.lim, rng); err != nil {
				t.Fatal(err)
			}
			rem := c.total
			for i, x := range shares[:c.count-1] {
				left := int64(c.count - i)
				lo := c.lim.Min
				if v := rem - c.lim.Max*(left-1); v > lo {
					lo = v
				}
				hi := 2 * rem / left
				if v := rem - c.lim.Min*(left-1); v < hi {
					hi = v
				}
				if c.lim.Max < hi {
					hi = c.lim.Max
				}
				if x < lo || x > hi {
					t.Fatalf("%+v: share %d = %d outside [%d, %d]", c, i, x, lo, hi)
				}
				rem -= x
			}
			if shares[c.count-1] != rem {
				t.Fatalf("last share %d, want the rest %d", shares[c.count-1], rem)
			}
		}
	}
}

// The proof in DoubleMean's doc, as a property: whenever
// r·min ≤ R ≤ r·max the interval is non-empty, within [min, max], and either
// end keeps the invariant for the remaining r−1 shares.
func TestDoubleMeanBoundsNeverEmpty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := rapid.Int64Range(2, 1000).Draw(t, "r")
		sMin := rapid.Int64Range(1, 1<<20).Draw(t, "min")
		sMax := rapid.OneOf(rapid.Int64Range(sMin, sMin+1000), rapid.Int64Range(sMin, math.MaxInt64/r)).Draw(t, "max")
		R := rapid.OneOf(
			rapid.Int64Range(r*sMin, r*sMax),
			rapid.Int64Range(r*sMin, min(r*sMin+2*r, r*sMax)),
			rapid.Int64Range(max(r*sMax-2*r, r*sMin), r*sMax),
		).Draw(t, "R")
		lo, hi := doubleMeanBounds(R, r, Limits{sMin, sMax})
		if lo > hi {
			t.Fatalf("empty interval [%d, %d]", lo, hi)
		}
		if lo < sMin || hi > sMax {
			t.Fatalf("[%d, %d] not within [%d, %d]", lo, hi, sMin, sMax)
		}
		for _, x := range []int64{lo, hi} {
			rest := R - x
			if rest < (r-1)*sMin || rest > (r-1)*sMax {
				t.Fatalf("taking %d leaves %d for %d shares, outside [%d, %d]", x, rest, r-1, (r-1)*sMin, (r-1)*sMax)
			}
		}
	})
}

// Every split of a total that passes the creation check is valid.
func TestSplitProperty(t *testing.T) {
	for _, sp := range splitters {
		t.Run(sp.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				count := rapid.IntRange(1, 200).Draw(t, "count")
				lo := rapid.Int64Range(1, 1000).Draw(t, "min")
				hi := rapid.OneOf(
					rapid.Int64Range(lo, lo+5),
					rapid.Int64Range(lo, lo+100000),
					rapid.Int64Range(lo, math.MaxInt64/int64(count)),
				).Draw(t, "max")
				n := int64(count)
				total := rapid.OneOf(
					rapid.Int64Range(n*lo, n*hi),
					rapid.Int64Range(n*lo, min(n*lo+n, n*hi)),
					rapid.Int64Range(max(n*hi-n, n*lo), n*hi),
				).Draw(t, "total")
				r := rules(lo, hi, count, sp.s) // MaxCount = count keeps count × Max within int64
				if _, err := r.Check(Lucky, total, count, count); err != nil {
					t.Fatalf("generated input fails Check: %v", err)
				}
				rnd := seeded(fmt.Sprint(count, lo, hi, total))
				rng, err := newPacketRand(rnd)
				if err != nil {
					t.Fatal(err)
				}
				raw := make([]int64, count)
				if err := sp.s.Split(raw, total, r.Share, rng); err != nil {
					t.Fatalf("Split: %v", err)
				}
				checkShares(t, raw, total, count, r.Share)
				shares, err := r.Shares(Lucky, total, count, rnd)
				if err != nil {
					t.Fatalf("Shares: %v", err)
				}
				checkShares(t, shares, total, count, r.Share)
			})
		})
	}
}

// The stars-and-bars composition is uniform over all weak compositions:
// 3 into 3 parts has C(5,2) = 10, each should come up 1/10 of the time.
func TestCompositionUniform(t *testing.T) {
	const draws = 100000
	counts := map[[3]int64]int{}
	rng, _ := newPacketRand(seeded("composition"))
	var parts [3]int64
	for range draws {
		composition(parts[:], 3, rng)
		counts[parts]++
	}
	if len(counts) != 10 {
		t.Fatalf("saw %d distinct compositions of 3 into 3 parts, want 10: %v", len(counts), counts)
	}
	for p, c := range counts {
		if p[0]+p[1]+p[2] != 3 || p[0] < 0 || p[1] < 0 || p[2] < 0 {
			t.Fatalf("bad composition %v", p)
		}
		if f := float64(c) / draws; math.Abs(f-0.1) > 0.005 {
			t.Errorf("composition %v frequency %.4f, want 0.1 ± 0.005", p, f)
		}
	}
}

func TestSharesKinds(t *testing.T) {
	r := DefaultRules()
	got, err := r.Shares(Normal, 2000, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkShares(t, got, 2000, 10, r.Share)
	for _, s := range got {
		if s != 200 {
			t.Fatalf("normal packet shares %v, want every share 200", got)
		}
	}
	if _, err := r.Shares(Normal, 2001, 10, nil); !errors.Is(err, ErrIndivisible) {
		t.Errorf("Shares(Normal, 2001, 10) = %v, want ErrIndivisible", err)
	}
	got, err = r.Shares(Exclusive, 8888, 1, nil)
	if err != nil || !slices.Equal(got, []int64{8888}) {
		t.Fatalf("Shares(Exclusive, 8888, 1) = %v, %v, want [8888]", got, err)
	}
	if _, err := r.Shares(Exclusive, 8888, 2, nil); !errors.Is(err, ErrTooManyShares) {
		t.Errorf("Shares(Exclusive, count 2) = %v, want ErrTooManyShares", err)
	}
	for _, k := range []Kind{Lucky, Password} {
		got, err := r.Shares(k, 10000, 10, nil) // crypto/rand
		if err != nil {
			t.Fatal(err)
		}
		checkShares(t, got, 10000, 10, r.Share)
	}
	if _, err := r.Shares(Kind(0), 100, 1, nil); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("Shares(Kind(0)) = %v, want ErrUnknownKind", err)
	}
	if _, err := r.Shares(Lucky, 100, 0, nil); !errors.Is(err, ErrNoShares) {
		t.Errorf("Shares(count 0) = %v, want ErrNoShares", err)
	}
	if _, err := r.Shares(Lucky, 20000, 101, nil); !errors.Is(err, ErrTooManyShares) {
		t.Errorf("Shares(count 101) = %v, want ErrTooManyShares", err)
	}
	if _, err := r.Shares(Lucky, 20001, 1, nil); !errors.Is(err, ErrShareTooLarge) {
		t.Errorf("Shares(200.01 in one share) = %v, want ErrShareTooLarge", err)
	}
	r.Splitter = nil // means DoubleMean
	if got, err := r.Shares(Lucky, 100, 18, nil); err != nil {
		t.Fatal(err)
	} else {
		checkShares(t, got, 100, 18, r.Share)
	}
}

func TestSharesDeterministicWithSeededReader(t *testing.T) {
	for _, sp := range splitters {
		r := rules(1, 20000, 100, sp.s)
		a, err1 := r.Shares(Lucky, 10000, 10, seeded("same"))
		b, err2 := r.Shares(Lucky, 10000, 10, seeded("same"))
		c, err3 := r.Shares(Lucky, 10000, 10, seeded("other"))
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatal(err1, err2, err3)
		}
		if !slices.Equal(a, b) {
			t.Errorf("%s: same seed gave %v and %v", sp.name, a, b)
		}
		if slices.Equal(a, c) {
			t.Errorf("%s: different seeds gave the same shares %v", sp.name, a)
		}
	}
}

func TestSharesReaderError(t *testing.T) {
	r := DefaultRules()
	boom := errors.New("entropy source down")
	if _, err := r.Shares(Lucky, 10000, 10, iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("Shares with failing reader = %v, want it to wrap %v", err, boom)
	}
	short := iotest.OneByteReader(iotest.TimeoutReader(seeded("short")))
	if _, err := r.Shares(Lucky, 10000, 10, short); err == nil {
		t.Error("Shares with a reader that fails after 1 byte succeeded")
	}
}

// badSplitter breaks one invariant on purpose.
type badSplitter struct{ mode string }

func (b badSplitter) Split(shares []int64, total int64, lim Limits, _ *rand.Rand) error {
	for i := range shares {
		shares[i] = lim.Min
	}
	switch b.mode {
	case "sum":
		shares[0] += total // sum too large
	case "zero":
		shares[0] = 0
		shares[1] = total - int64(len(shares)-2)*lim.Min
	case "above max":
		shares[0] = total - int64(len(shares)-1)*lim.Min
	case "error":
		return errors.New("custom failure")
	}
	return nil
}

func TestSharesVerifiesSplitter(t *testing.T) {
	for _, mode := range []string{"sum", "zero", "above max"} {
		r := rules(1, 100, 10, badSplitter{mode})
		if _, err := r.Shares(Lucky, 150, 3, nil); !errors.Is(err, ErrBadSplit) {
			t.Errorf("%s: Shares = %v, want ErrBadSplit", mode, err)
		}
	}
	r := rules(1, 100, 10, badSplitter{"error"})
	if _, err := r.Shares(Lucky, 150, 3, nil); err == nil || err.Error() != "custom failure" {
		t.Errorf("Shares = %v, want the splitter's error", err)
	}
}

// LineSegment stays exchangeable when the max cap binds and excess is
// spread again: every position has the same mean, without a shuffle.
func TestLineSegmentExchangeableWhenCapped(t *testing.T) {
	const packets = 20000
	const count = 5
	lim := Limits{Min: 1, Max: 30}
	const total = 120 // mean 24, cap 30 binds in most packets
	var sums [count]int64
	capped := 0
	rng, _ := newPacketRand(seeded("capped"))
	shares := make([]int64, count)
	for range packets {
		if err := (LineSegment{}).Split(shares, total, lim, rng); err != nil {
			t.Fatal(err)
		}
		checkShares(t, shares, total, count, lim)
		if slices.Contains(shares, lim.Max) {
			capped++
		}
		for i, s := range shares {
			sums[i] += s
		}
	}
	if capped < packets/4 {
		t.Fatalf("only %d of %d packets hit the cap; the test does not exercise it", capped, packets)
	}
	for i, s := range sums {
		mean := float64(s) / packets
		if math.Abs(mean-24)/24 > 0.01 {
			t.Errorf("position %d mean %.3f, want 24 ± 1%%", i, mean)
		}
	}
}
