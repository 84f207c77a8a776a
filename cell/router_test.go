package cell_test

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/ledger"
)

// user returns the i-th of distinct test users.
func user(i int) uuid.UUID {
	return ledger.DeriveID(uuid.NameSpaceOID, "router test user", fmt.Sprint(i))
}

func names(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("cell_%d", i))
	}
	return out
}

// The cell of a key is fixed by the key and the names: these values may
// never change, or users would find their accounts in the wrong cell.
func TestRouterGolden(t *testing.T) {
	r, err := cell.NewRouter(names(8)...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, k := range []string{"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000001",
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8", "ffffffff-ffff-ffff-ffff-ffffffffffff", "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0"} {
		want[k] = r.Cell(uuid.MustParse(k))
	}
	got := fmt.Sprint(want)
	const golden = "map[00000000-0000-0000-0000-000000000000:cell_1 00000000-0000-0000-0000-000000000001:cell_3 " +
		"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0:cell_3 6ba7b810-9dad-11d1-80b4-00c04fd430c8:cell_2 ffffffff-ffff-ffff-ffff-ffffffffffff:cell_6]"
	if got != golden {
		t.Fatalf("routes changed:\n got %s\nwant %s", got, golden)
	}
}

// The router computes what its doc says: the name of the highest
// splitmix64(h(key) XOR h(name)), h the first 8 bytes of SHA-256.
func TestRouterDocumented(t *testing.T) {
	h := func(b []byte) uint64 { sum := sha256.Sum256(b); return binary.BigEndian.Uint64(sum[:8]) }
	mix := func(x uint64) uint64 { // SplitMix64's finalizer, as published
		x += 0x9e3779b97f4a7c15
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
		x = (x ^ (x >> 27)) * 0x94d049bb133111eb
		return x ^ (x >> 31)
	}
	ns := names(5)
	r, _ := cell.NewRouter(ns...)
	for i := range 1000 {
		k := user(i)
		best, score := "", uint64(0)
		for _, n := range ns {
			if s := mix(h(k[:]) ^ h([]byte(n))); best == "" || s > score {
				best, score = n, s
			}
		}
		if got := r.Cell(k); got != best {
			t.Fatalf("key %s: %s, want %s", k, got, best)
		}
	}
}

// Order does not matter; adding a cell moves only the keys the new cell
// takes, about 1/(N+1) of them, and none between old cells; removing it
// moves them back; keys spread evenly.
func TestRouterStable(t *testing.T) {
	const keys = 20000
	ns := names(8)
	r8, _ := cell.NewRouter(ns...)
	rev := slices.Clone(ns)
	slices.Reverse(rev)
	r8rev, _ := cell.NewRouter(rev...)
	r9, _ := cell.NewRouter(append(slices.Clone(ns), "cell_8")...)
	count := map[string]int{}
	moved := 0
	for i := range keys {
		k := user(i)
		a, b := r8.Cell(k), r9.Cell(k)
		if r8rev.Cell(k) != a {
			t.Fatalf("key %s: the names' order changed its cell", k)
		}
		count[a]++
		if a != b {
			if b != "cell_8" {
				t.Fatalf("key %s moved from %s to %s, an old cell", k, a, b)
			}
			moved++
		}
	}
	if lo, hi := keys/9*85/100, keys/9*115/100; moved < lo || moved > hi {
		t.Fatalf("adding a ninth cell moved %d of %d keys, want about %d", moved, keys, keys/9)
	}
	for c, n := range count {
		if n < keys/8*85/100 || n > keys/8*115/100 {
			t.Fatalf("cell %s holds %d of %d keys, want about %d", c, n, keys, keys/8)
		}
	}
}

func TestRouterInvalid(t *testing.T) {
	for _, ns := range [][]string{nil, {""}, {"Cell"}, {"1cell"}, {"a-b"}, {"a", "a"}, {string(make([]byte, 64))}} {
		if _, err := cell.NewRouter(ns...); !errors.Is(err, cell.ErrInvalidCell) {
			t.Errorf("NewRouter(%q): %v", ns, err)
		}
	}
	if r, err := cell.NewRouter("_a", "b9"); err != nil || !slices.Equal(r.Names(), []string{"_a", "b9"}) {
		t.Fatalf("valid names: %v", err)
	}
}

func BenchmarkRouter64(b *testing.B) {
	r, _ := cell.NewRouter(names(64)...)
	k := user(123456789)
	for i := 0; b.Loop(); i++ {
		_ = r.Cell(k)
	}
}
