package qr_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/qr/qrbench"
)

// The bank's side of a payment-code charge on the memory stores: decode
// and check the code, redeem it, post the transfer. The phones' codes are
// made before the timer starts.
func BenchmarkCharge(b *testing.B) {
	ctx := context.Background()
	c, err := qrbench.NewCharges(ctx, qrbench.Config{Prepare: b.N + 1})
	if err != nil {
		b.Fatal(err)
	}
	w := c.Worker(0)
	b.ReportAllocs()
	defer qr.ReportCPU(b)()
	b.ResetTimer()
	for range b.N {
		if _, err := w.Charge(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChargeParallel(b *testing.B) {
	ctx := context.Background()
	workers := runtime.GOMAXPROCS(0) // one per RunParallel goroutine
	c, err := qrbench.NewCharges(ctx, qrbench.Config{Prepare: b.N + workers, Workers: workers})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := c.Worker(int(next.Add(1) - 1))
		for pb.Next() {
			if _, err := w.Charge(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// Paying a static code: verify its signature, resolve the payee, hold,
// reserve the daily cap, post, settle.
func BenchmarkPayStatic(b *testing.B) {
	benchmarkPay(b, false)
}

// Paying a registered dynamic code: the same with a claim instead of the
// cap (the codes are issued before the timer starts).
func BenchmarkPayDynamic(b *testing.B) {
	benchmarkPay(b, true)
}

func benchmarkPay(b *testing.B, dynamic bool) {
	ctx := context.Background()
	p, err := qrbench.NewPayments(ctx, qrbench.Config{Prepare: b.N}, dynamic)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer qr.ReportCPU(b)()
	b.ResetTimer()
	for range b.N {
		if _, err := p.Pay(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
