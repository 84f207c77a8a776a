package redpacket

import (
	"io"
	"math/rand/v2"
)

// seeded returns a deterministic reader for reproducible tests.
func seeded(label string) io.Reader {
	var seed [32]byte
	copy(seed[:], label)
	return rand.NewChaCha8(seed)
}

// checkShares is the tests' own check of the packet invariants, independent
// of verify: count shares, each in [min, max], positive, summing to total.
func checkShares(t fataler, shares []int64, total int64, count int, lim Limits) {
	t.Helper()
	if len(shares) != count {
		t.Fatalf("got %d shares, want %d", len(shares), count)
	}
	var sum int64
	for i, s := range shares {
		if s <= 0 || s < lim.Min || s > lim.Max {
			t.Fatalf("share %d = %d outside [%d, %d] (shares %v)", i, s, lim.Min, lim.Max, shares)
		}
		sum += s
	}
	if sum != total {
		t.Fatalf("shares sum to %d, want %d (shares %v)", sum, total, shares)
	}
}

// fataler is what checkShares needs of *testing.T, *testing.B and *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

var splitters = []struct {
	name string
	s    Splitter
}{
	{"DoubleMean", DoubleMean{}},
	{"LineSegment", LineSegment{}},
}
