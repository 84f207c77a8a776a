package redpacket

// BestLuck returns the index of the best-luck (手气最佳) claim among amounts
// given in claim order: the largest amount, ties going to the earliest
// claim. It reports false for no claims. Best luck is announced once a
// packet is fully claimed.
func BestLuck(amounts []int64) (int, bool) {
	if len(amounts) == 0 {
		return 0, false
	}
	best := 0
	for i, a := range amounts {
		if a > amounts[best] {
			best = i
		}
	}
	return best, true
}
