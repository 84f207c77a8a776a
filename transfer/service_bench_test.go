package transfer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/transferbench"
)

// BenchmarkResolveSend is the phone scenario on the memory stores: a
// payer resolves a bound number (reveal lookup, metered) and pays it at
// once (record, limits, daily total, ledger transfer, settlement, refund),
// from all cores. The institution bucket is raised (see
// transferbench.Rate) so that it is not the ceiling.
func BenchmarkResolveSend(b *testing.B) {
	ctx := context.Background()
	clients := 64
	p, err := transferbench.Setup(ctx, transferbench.Config{Ledger: ledger.New(nil, ledger.Options{}), Clients: clients, SingleProcess: true})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ReportAllocs()
	cpu := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)-1) % clients
		c := p.Client(i, rand.New(rand.NewPCG(uint64(i), 1)))
		for pb.Next() {
			if _, err := c.Do(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if d := processCPU() - cpu; d > 0 {
		b.ReportMetric(float64(d)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkResolve is the cost of one reveal lookup through the service
// (limiter, FindPhone, directory, masked name, token) of a number that is
// bound, valid but unbound, or invalid, against a directory of 100,000
// bound numbers. The payer bucket is made bottomless so that misses are
// measured, not refused.
func BenchmarkResolve(b *testing.B) {
	ctx := context.Background()
	rc := transfer.DefaultRateConfig()
	rc.Payer = transfer.BucketConfig{Capacity: 1 << 40, Interval: time.Nanosecond}
	rc.Institution = rc.Payer
	lim, err := transfer.NewMemoryLimiter(rc)
	if err != nil {
		b.Fatal(err)
	}
	l := ledger.New(nil, ledger.Options{})
	dir := transfer.NewMemoryDirectory()
	svc, err := transfer.New(transfer.Config{Ledger: l, Directory: dir, Limiter: lim, SingleProcess: true})
	if err != nil {
		b.Fatal(err)
	}
	acct, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	now := time.Now()
	for i := range 100_000 {
		bd := transfer.Binding{Phone: transfer.Phone(fmt.Sprintf("+86138%08d", i)), Holder: uid(fmt.Sprint("h", i)), Account: acct.ID, Name: "王小明", VerifiedAt: now, UpdatedAt: now}
		if _, err := dir.Bind(ctx, bd, false); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, in string
		want     error
	}{
		{"bound", "138 0001 2345", nil},
		{"unbound", "139 0013 9000", transfer.ErrNotBound},
		{"invalid", "+86 190 0000", transfer.ErrInvalidPhone},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if _, err := svc.Resolve(ctx, uid("alice"), c.in); !errors.Is(err, c.want) && (c.want != nil || err != nil) {
					b.Fatal(err)
				}
			}
			if d := processCPU() - cpu; d > 0 {
				b.ReportMetric(float64(d)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
