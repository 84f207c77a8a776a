package ledger

import "math/bits"

// chunkList is an append-only list that never copies what it holds: it grows
// by adding chunks (8, 16, 32 … 4,096 elements, then 4,096 each), so an
// element's address is stable and appending costs no copying. The memory
// store keeps histories and transfer records in them.
type chunkList[T any] struct {
	chunks [][]T
	n      int
}

const (
	chunkFirst = 8    // elements in the first chunk
	chunkSteps = 9    // chunks 0..8 double: 8 … 2,048
	chunkMax   = 4096 // then every chunk holds this many
	chunkHead  = chunkFirst * (1<<chunkSteps - 1)
)

// locate returns the chunk and offset of element i.
func locate(i int) (int, int) {
	if i < chunkHead {
		k := bits.Len(uint(i/chunkFirst+1)) - 1
		return k, i - chunkFirst*(1<<k-1)
	}
	i -= chunkHead
	return chunkSteps + i/chunkMax, i % chunkMax
}

func chunkSize(k int) int {
	if k < chunkSteps {
		return chunkFirst << k
	}
	return chunkMax
}

func (c *chunkList[T]) len() int { return c.n }

// push appends v and returns its index.
func (c *chunkList[T]) push(v T) int {
	k, off := locate(c.n)
	if k == len(c.chunks) {
		c.chunks = append(c.chunks, make([]T, chunkSize(k)))
	}
	c.chunks[k][off] = v
	c.n++
	return c.n - 1
}

// at returns the address of element i (0 ≤ i < len).
func (c *chunkList[T]) at(i int) *T {
	k, off := locate(i)
	return &c.chunks[k][off]
}
