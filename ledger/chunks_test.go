package ledger

import "testing"

func TestChunkListKeepsAddressesAndOrder(t *testing.T) {
	var c chunkList[int]
	const n = 3*chunkMax + chunkHead + 17
	ptrs := make([]*int, 0, n)
	for i := range n {
		if got := c.push(i * 3); got != i {
			t.Fatalf("push %d returned index %d", i, got)
		}
		ptrs = append(ptrs, c.at(i))
	}
	if c.len() != n {
		t.Fatalf("len %d, want %d", c.len(), n)
	}
	for i := range n {
		if *c.at(i) != i*3 {
			t.Fatalf("element %d = %d, want %d", i, *c.at(i), i*3)
		}
		if ptrs[i] != c.at(i) {
			t.Fatalf("element %d moved after later appends", i)
		}
	}
	// Chunk sizes: the total capacity never exceeds twice what is used
	// (plus one maximal chunk), so small histories stay small.
	capacity := 0
	for _, ch := range c.chunks {
		capacity += len(ch)
	}
	if capacity > 2*n+chunkMax {
		t.Fatalf("capacity %d for %d elements", capacity, n)
	}
}
