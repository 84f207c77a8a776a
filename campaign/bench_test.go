package campaign_test

import (
	"context"
	"encoding/binary"
	"sync/atomic"
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
	start := time.Now()
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
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tries/s")
}
