package qrbench

import (
	"context"
	"sync"
	"testing"

	"github.com/socialpay/socialpay/ledger"
)

// Concurrent workers' charges all succeed (each worker's clock follows its
// own charges), every one on the ledger once.
func TestChargesConcurrent(t *testing.T) {
	ctx := context.Background()
	l := ledger.New(nil, ledger.Options{})
	const goroutines, each = 8, 50
	c, err := NewCharges(ctx, Config{Ledger: l, Payers: 20, Merchants: 3, Prepare: 100, Workers: goroutines})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total int64
	for g := range goroutines {
		wg.Go(func() {
			w := c.Worker(g)
			for range each {
				r, err := w.Charge(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				total += r.Amount.Units()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if total != goroutines*each*1_00 {
		t.Fatalf("charged %d", total)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

// Concurrent static and dynamic payments all succeed.
func TestPaymentsConcurrent(t *testing.T) {
	ctx := context.Background()
	for _, dynamic := range []bool{false, true} {
		p, err := NewPayments(ctx, Config{Payers: 8, Merchants: 3, Prepare: 200}, dynamic)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 50 {
					if _, err := p.Pay(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}
