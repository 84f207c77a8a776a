package cell_test

import (
	"testing"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/cell/celltest"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

func TestMemory(t *testing.T) {
	celltest.Run(t, func(t testing.TB, n int) celltest.Stores {
		var s celltest.Stores
		for i := range n {
			s.Names = append(s.Names, "cell_"+string(rune('a'+i)))
			ls := ledger.NewMemoryStore()
			s.Ledgers = append(s.Ledgers, ls)
			s.Records = append(s.Records, cell.NewMemoryStore())
			s.Packets = append(s.Packets, redpacket.NewMemoryStore(ledger.New(ls, ledger.Options{})))
		}
		return s
	})
}
