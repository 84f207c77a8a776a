package redpacket

import (
	"fmt"
	"math"
	"testing"
)

// The statistical requirements, over 100,000 simulated lucky packets
// of 100.00 split 10 ways, for each splitter, with and without the shuffle
// Rules.Shares applies.
const (
	statPackets = 200000 // ≥ 100,000; 200,000 puts the 1% mean bound ≥ 5 standard errors away (share sd ≤ 910 fen)
	statTotal   = 10000  // 100.00 CNY in fen
	statCount   = 10
)

type splitStats struct {
	means    [statCount]float64 // mean share per claim position
	bestOdds [statCount]float64 // chance that position has best luck
	firstMin int64              // smallest and largest first share
	firstMax int64
}

// maxDeviations returns the largest relative deviation of a position's mean
// from total/count and the largest absolute deviation of a position's
// best-luck chance from 1/count.
func (s *splitStats) maxDeviations() (mean, odds float64) {
	for i := range statCount {
		mean = max(mean, math.Abs(s.means[i]-statTotal/statCount)/(statTotal/statCount))
		odds = max(odds, math.Abs(s.bestOdds[i]-1.0/statCount))
	}
	return mean, odds
}

// simulate splits statPackets packets. shuffled packets go through
// Rules.Shares (the real send path); unshuffled ones call the splitter
// directly, so position i is the i-th draw.
func simulate(t *testing.T, s Splitter, shuffled bool) *splitStats {
	r := DefaultRules()
	r.Splitter = s
	rnd := seeded(t.Name())
	var sums [statCount]int64
	var wins [statCount]int
	st := &splitStats{firstMin: math.MaxInt64}
	raw := make([]int64, statCount)
	for range statPackets {
		shares := raw
		if shuffled {
			var err error
			if shares, err = r.Shares(Lucky, statTotal, statCount, rnd); err != nil {
				t.Fatal(err)
			}
		} else {
			rng, err := newPacketRand(rnd)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Split(shares, statTotal, r.Share, rng); err != nil {
				t.Fatal(err)
			}
		}
		checkShares(t, shares, statTotal, statCount, r.Share)
		for i, v := range shares {
			sums[i] += v
		}
		best, _ := BestLuck(shares)
		wins[best]++
		st.firstMin = min(st.firstMin, shares[0])
		st.firstMax = max(st.firstMax, shares[0])
	}
	for i := range statCount {
		st.means[i] = float64(sums[i]) / statPackets
		st.bestOdds[i] = float64(wins[i]) / statPackets
	}
	return st
}

func TestLuckyStatistics(t *testing.T) {
	for _, sp := range splitters {
		for _, shuffled := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/shuffled=%v", sp.name, shuffled), func(t *testing.T) {
				t.Parallel()
				st := simulate(t, sp.s, shuffled)
				meanDev, oddsDev := st.maxDeviations()
				t.Logf("max mean deviation %.3f%%, max best-luck deviation %.3f pp", 100*meanDev, 100*oddsDev)
				t.Logf("means %.1f", st.means)
				t.Logf("best-luck odds %.4f", st.bestOdds)

				for i, m := range st.means {
					if math.Abs(m-statTotal/statCount) > 0.01*statTotal/statCount {
						t.Errorf("position %d mean share %.2f, want %d ± 1%%", i, m, statTotal/statCount)
					}
				}
				// Without a shuffle, double-mean's later draws spread wider and
				// win best luck more often: that is why Rules.Shares shuffles.
				// Line-segment positions are exchangeable even unshuffled.
				if _, dm := sp.s.(DoubleMean); dm && !shuffled {
					// The first draw is uniform on [Min, ⌊2·total/count⌋] =
					// [1, 2000]: both ends show up (each is missed with
					// probability (1 − 1/2000)^200000 ≈ e^−100), nothing beyond.
					if st.firstMin != 1 || st.firstMax != 2*statTotal/statCount {
						t.Errorf("first share ranged over [%d, %d], want exactly [1, %d]", st.firstMin, st.firstMax, 2*statTotal/statCount)
					}
					if st.bestOdds[statCount-1] < st.bestOdds[0]+0.01 {
						t.Errorf("unshuffled double-mean: last position best-luck odds %.4f not above first %.4f; the shuffle argument no longer holds, recheck",
							st.bestOdds[statCount-1], st.bestOdds[0])
					}
					return
				}
				for i, p := range st.bestOdds {
					if math.Abs(p-1.0/statCount) > 0.01 {
						t.Errorf("position %d has best luck %.4f of the time, want %.2f ± 0.01", i, p, 1.0/statCount)
					}
				}
			})
		}
	}
}
