package campaign_test

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"

	"github.com/socialpay/socialpay/campaign"
)

// referenceDraw computes NewDraw's documented algorithm independently:
// big-integer arithmetic for the rejection rule, one hash per word index.
func referenceDraw(seed campaign.Seed, counts []int) []int {
	var slots []int
	for tier, n := range counts {
		for range n {
			slots = append(slots, tier)
		}
	}
	word := 0
	next := func() *big.Int {
		var buf []byte
		buf = append(buf, seed[:]...)
		buf = append(buf, "socialpay/campaign/draw/v1"...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(word/4))
		sum := sha256.Sum256(buf)
		w := new(big.Int).SetBytes(sum[8*(word%4) : 8*(word%4)+8])
		word++
		return w
	}
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	for i := len(slots) - 1; i > 0; i-- {
		m := big.NewInt(int64(i + 1))
		threshold := new(big.Int).Mod(two64, m)
		for {
			w := next()
			if w.Cmp(threshold) >= 0 {
				j := int(new(big.Int).Mod(w, m).Int64())
				slots[i], slots[j] = slots[j], slots[i]
				break
			}
		}
	}
	return slots
}
