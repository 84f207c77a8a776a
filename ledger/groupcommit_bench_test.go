package ledger_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// The batcher's own cost: parallel single transfers into one hot account
// of the memory store, with and without GroupCommit in between.
func BenchmarkGroupCommitOverhead(b *testing.B) {
	for _, name := range []string{"direct", "group"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var s ledger.Store = ledger.NewMemoryStore()
			if name == "group" {
				s = ledger.NewGroupCommit(s, ledger.GroupCommitOptions{})
			}
			l := ledger.New(s, ledger.Options{})
			cny := ledger.MustCurrency("CNY")
			bank, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
			hot, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
			var seq atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := uuid.UUID{}
					n := seq.Add(1)
					for i := range 8 {
						id[8+i] = byte(n >> (8 * i))
					}
					id[0] = 1
					if _, err := l.Transfer(ctx, ledger.Transfer{ID: id, DebitAccountID: bank.ID, CreditAccountID: hot.ID, Amount: ledger.NewMoney(1, cny)}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
