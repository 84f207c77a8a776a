package ledger_test

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// benchIDs hands out distinct transfer IDs without the cost of crypto/rand,
// so the benchmarks measure the ledger, not ID generation.
type benchIDs struct{ n atomic.Uint64 }

func (g *benchIDs) next() uuid.UUID {
	var id uuid.UUID
	n := g.n.Add(1)
	binary.BigEndian.PutUint64(id[0:8], n*0x9E3779B97F4A7C15)
	binary.BigEndian.PutUint64(id[8:16], n)
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}

// report adds transfers/s and the process's CPU time per transfer.
func report(b *testing.B, transfers int, cpuStart int64) {
	b.ReportMetric(float64(transfers)/b.Elapsed().Seconds(), "transfers/s")
	if cpu := processCPU() - cpuStart; cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(transfers), "cpu-ns/transfer")
	}
}

func benchAccounts(b *testing.B, l *ledger.Ledger, n int, flags ledger.AccountFlags) []uuid.UUID {
	b.Helper()
	cny := ledger.MustCurrency("CNY")
	ids := make([]uuid.UUID, n)
	for i := range ids {
		a, err := l.CreateAccount(context.Background(), ledger.Account{ID: uuid.New(), Currency: cny, Flags: flags})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = a.ID
	}
	return ids
}

// BenchmarkTransfer: one goroutine, transfers between disjoint pairs of
// accounts, through the full public API (validation, idempotency index,
// locks, rules, two hash-chained entries).
func BenchmarkTransfer(b *testing.B) {
	ctx := context.Background()
	l := ledger.New(ledger.NewMemoryStore(), ledger.Options{})
	const pairs = 1024
	from := benchAccounts(b, l, pairs, 0)
	to := benchAccounts(b, l, pairs, 0)
	amount := ledger.NewMoney(100, ledger.MustCurrency("CNY"))
	var ids benchIDs
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; b.Loop(); i++ {
		p := i % pairs
		if _, err := l.Transfer(ctx, ledger.Transfer{ID: ids.next(), DebitAccountID: from[p], CreditAccountID: to[p], Amount: amount}); err != nil {
			b.Fatal(err)
		}
	}
	report(b, b.N, cpu)
}

// BenchmarkTransferParallel: the disjoint workload from every P.
func BenchmarkTransferParallel(b *testing.B) {
	ctx := context.Background()
	l := ledger.New(ledger.NewMemoryStore(), ledger.Options{})
	const pairs = 1024
	from := benchAccounts(b, l, pairs, 0)
	to := benchAccounts(b, l, pairs, 0)
	amount := ledger.NewMoney(100, ledger.MustCurrency("CNY"))
	var ids benchIDs
	var worker atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		w := int(worker.Add(1)) * 97
		for i := w; pb.Next(); i++ {
			p := i % pairs
			if _, err := l.Transfer(ctx, ledger.Transfer{ID: ids.next(), DebitAccountID: from[p], CreditAccountID: to[p], Amount: amount}); err != nil {
				b.Fatal(err)
			}
		}
	})
	report(b, b.N, cpu)
}

// BenchmarkTransferHotAccount: every transfer, from every P, debits one
// wallet (which must not go negative) to one of many payees.
func BenchmarkTransferHotAccount(b *testing.B) {
	ctx := context.Background()
	l := ledger.New(ledger.NewMemoryStore(), ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	bank := benchAccounts(b, l, 1, 0)[0]
	hot := benchAccounts(b, l, 1, ledger.DebitsMustNotExceedCredits)[0]
	payees := benchAccounts(b, l, 1024, 0)
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: hot, Amount: ledger.NewMoney(1<<60, cny)}); err != nil {
		b.Fatal(err)
	}
	amount := ledger.NewMoney(1, cny)
	var ids benchIDs
	var worker atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		w := int(worker.Add(1)) * 97
		for i := w; pb.Next(); i++ {
			if _, err := l.Transfer(ctx, ledger.Transfer{ID: ids.next(), DebitAccountID: hot, CreditAccountID: payees[i%len(payees)], Amount: amount}); err != nil {
				b.Fatal(err)
			}
		}
	})
	report(b, b.N, cpu)
}

// BenchmarkLinkedBatch: linked batches of 100 transfers; ns/op is per
// batch, transfers/s and allocs/transfer per transfer.
func BenchmarkLinkedBatch(b *testing.B) {
	ctx := context.Background()
	l := ledger.New(ledger.NewMemoryStore(), ledger.Options{})
	const size = 100
	from := benchAccounts(b, l, 1024, 0)
	to := benchAccounts(b, l, 1024, 0)
	amount := ledger.NewMoney(100, ledger.MustCurrency("CNY"))
	var ids benchIDs
	batch := make([]ledger.Transfer, size)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for n := 0; b.Loop(); n++ {
		for i := range batch {
			p := (n*size + i) % len(from)
			batch[i] = ledger.Transfer{ID: ids.next(), DebitAccountID: from[p], CreditAccountID: to[p], Amount: amount}
		}
		if _, err := l.Linked(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	report(b, b.N*size, cpu)
}
