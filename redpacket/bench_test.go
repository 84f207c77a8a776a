package redpacket

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
)

var benchCases = []struct {
	total int64
	count int
}{
	{10000, 10},  // 100.00 into 10 shares
	{20000, 100}, // 200.00 into 100 shares
}

// BenchmarkShares is the send-time cost of a lucky packet: a 32-byte seed
// from crypto/rand, the split, verification and the shuffle.
func BenchmarkShares(b *testing.B) {
	for _, sp := range splitters {
		for _, c := range benchCases {
			b.Run(fmt.Sprintf("%s/%d.%02dx%d", sp.name, c.total/100, c.total%100, c.count), func(b *testing.B) {
				r := DefaultRules()
				r.Splitter = sp.s
				b.ReportAllocs()
				for b.Loop() {
					if _, err := r.Shares(Lucky, c.total, c.count, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSplit is the splitter alone, reusing one generator and one slice.
func BenchmarkSplit(b *testing.B) {
	for _, sp := range splitters {
		for _, c := range benchCases {
			b.Run(fmt.Sprintf("%s/%d.%02dx%d", sp.name, c.total/100, c.total%100, c.count), func(b *testing.B) {
				rng, err := newPacketRand(nil)
				if err != nil {
					b.Fatal(err)
				}
				shares := make([]int64, c.count)
				lim := DefaultRules().Share
				b.ReportAllocs()
				for b.Loop() {
					if err := sp.s.Split(shares, c.total, lim, rng); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPasswordMatches is a password claim's phrase check: the guess
// normalized and keyed-hashed (PasswordKey.Matches), against the clear
// comparison it replaced (PasswordMatches, two SHA-256 digests).
func BenchmarkPasswordMatches(b *testing.B) {
	key, err := NewPasswordKey([]byte("a key for the benchmark, 32 bytes or more"))
	if err != nil {
		b.Fatal(err)
	}
	id := uuid.New()
	const phrase = "恭喜发财，大吉大利"
	hash, _ := key.Hash(id, phrase)
	b.Run("keyed", func(b *testing.B) {
		for b.Loop() {
			if !key.Matches(id, hash, phrase) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("clear", func(b *testing.B) {
		for b.Loop() {
			if !PasswordMatches(phrase, phrase) {
				b.Fatal("no match")
			}
		}
	})
}
