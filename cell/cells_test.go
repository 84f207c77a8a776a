package cell_test

import (
	"testing"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/cell/celltest"
	"github.com/socialpay/socialpay/ledger"
)

func TestMemory(t *testing.T) {
	celltest.Run(t, func(t testing.TB, n int) celltest.Stores {
		var s celltest.Stores
		for i := range n {
			s.Names = append(s.Names, "cell_"+string(rune('a'+i)))
			s.Ledgers = append(s.Ledgers, ledger.NewMemoryStore())
			s.Records = append(s.Records, cell.NewMemoryStore())
		}
		return s
	})
}
