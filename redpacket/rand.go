package redpacket

import (
	cryptorand "crypto/rand"
	"fmt"
	"io"
	"math/rand/v2"
)

// packetRand holds one packet's generator in a single allocation (the seed
// lives in it too: a local array would escape through io.Reader.Read).
type packetRand struct {
	seed [32]byte
	src  rand.ChaCha8
	rng  rand.Rand
}

// newPacketRand returns a generator for one packet: a ChaCha8 stream seeded
// with 32 bytes read from rnd (crypto/rand when rnd is nil).
//
// Why this is sound: ChaCha8 (math/rand/v2) is a cryptographically strong
// generator; keyed with 256 fresh bits from crypto/rand its output cannot be
// told from uniform without the key, and one packet draws only a few hundred
// words from it. Each packet gets its own seed and the generator is dropped
// after the split, so no packet's shares say anything about another's, and
// there is no shared generator state (nothing to lock, nothing global).
// Reading crypto/rand once per packet instead of once per draw is what makes
// splitting cheap. Bounded draws use rand.Rand.Int64N and Shuffle, which
// reject rather than take a modulo, so they are unbiased.
func newPacketRand(rnd io.Reader) (*rand.Rand, error) {
	if rnd == nil {
		rnd = cryptorand.Reader
	}
	p := new(packetRand)
	if _, err := io.ReadFull(rnd, p.seed[:]); err != nil {
		return nil, fmt.Errorf("redpacket: read random seed: %w", err)
	}
	p.src.Seed(p.seed)
	clear(p.seed[:])
	p.rng = *rand.New(&p.src)
	return &p.rng, nil
}
