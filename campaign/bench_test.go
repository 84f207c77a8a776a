package campaign_test

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
)

// BenchmarkTries: tries by new users at one campaign with 10% winners,
// on a MemoryStore paying in its own step, through the whole Service
// (limiter, eligibility, store, ledger), from GOMAXPROCS goroutines.
func BenchmarkTries(b *testing.B) {
	w := newWorld(&testing.T{}, nil, func(c *campaign.Config) {
		c.DeviceRate = campaign.Rate{Burst: 1 << 30, Every: time.Nanosecond} // one device, a frozen clock
	})
	n := b.N + 1000
	c := w.create(campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1}, 88, int64(n/10+1), 0, int64(n))
	w.set(t0)
	wallet := w.account(0)
	var next atomic.Int64
	ctx := context.Background()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var u uuid.UUID
			binary.BigEndian.PutUint64(u[8:], uint64(next.Add(1)))
			if _, err := w.s.Try(ctx, campaign.TryRequest{Campaign: c.ID, User: u, Account: wallet, Device: "d", Seq: 1}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tries/s")
	// On a shared machine the wall clock measures the neighbours too: CPU
	// time per try (this process's, collector included) says what 2 cores
	// of one's own would do.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/try")
	b.ReportMetric(2*float64(b.N)/cpu.Seconds(), "tries/s-2cores")
}

// cpuTime returns the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
