package cell

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/google/uuid"
)

// MaxNameLen bounds a cell's name, which is also a valid PostgreSQL schema
// name (lower-case letters, digits and '_', starting with a letter or
// '_'), so that a cell can be the schema of its name.
const MaxNameLen = 63

// Router says which cell a user's accounts live in. The cell of a key is
// the cell whose name scores highest for it (rendezvous hashing): the
// score of name n for user k is splitmix64(h(k) XOR h(n)), h the first 8
// bytes of SHA-256 (of the user ID's 16 bytes, of the name's text),
// big-endian; ties go to the smaller name. So the cell
// of a key depends on the key and the set of names alone, not on their
// order, any process or any lookup: every instance of every service
// agrees without sharing state, and the answer never changes while the
// names do not.
//
// Adding a cell moves only the keys that now score highest on it (about
// 1/(N+1) of them, taken evenly from every old cell) and moves none between
// two old cells; removing one moves only its own keys. Because a moved
// key's accounts hold money, a bank fixes the set of cells up front, with
// room to grow (many cells on few servers; growth moves whole cells to new
// servers, see docs/scaling.md), and changes the set only with a migration
// of the moved users.
//
// A Router is immutable and safe for concurrent use.
type Router struct {
	names []string // sorted
	seeds []uint64 // h(name), in names' order
}

// NewRouter returns the router over the named cells.
//
// Errors: ErrInvalidCell (no names, a name that is not 1 to MaxNameLen
// lower-case letters, digits and '_' starting with a letter or '_', a name
// twice).
func NewRouter(names ...string) (*Router, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no cells", ErrInvalidCell)
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	r := &Router{names: sorted, seeds: make([]uint64, len(sorted))}
	for i, n := range sorted {
		if err := checkName(n); err != nil {
			return nil, err
		}
		if i > 0 && sorted[i-1] == n {
			return nil, fmt.Errorf("%w: cell %q named twice", ErrInvalidCell, n)
		}
		r.seeds[i] = hash64([]byte(n))
	}
	return r, nil
}

// Cell returns the name of the cell that user lives in.
func (r *Router) Cell(user uuid.UUID) string {
	k := hash64(user[:])
	best, bestScore := 0, splitmix64(k^r.seeds[0])
	for i := 1; i < len(r.seeds); i++ {
		if s := splitmix64(k ^ r.seeds[i]); s > bestScore {
			best, bestScore = i, s
		}
	}
	return r.names[best]
}

// Names returns the cells' names in sorted order.
func (r *Router) Names() []string { return slices.Clone(r.names) }

func checkName(n string) error {
	if n == "" || len(n) > MaxNameLen {
		return fmt.Errorf("%w: name %q: want 1 to %d bytes", ErrInvalidCell, n, MaxNameLen)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return fmt.Errorf("%w: name %q: want lower-case letters, digits and '_', starting with a letter or '_'", ErrInvalidCell, n)
		}
	}
	return nil
}

func hash64(b []byte) uint64 {
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:8])
}

// splitmix64 is the finalizer of SplitMix64: a bijection of 64-bit words
// in which every input bit flips about half the output bits.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
