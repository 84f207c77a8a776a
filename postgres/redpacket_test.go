package postgres

import (
	"context"
	"testing"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/redpacket/redpacketbench"
	"github.com/socialpay/socialpay/redpacket/redpackettest"
)

// TestRedPacketStore runs the red-packet conformance suite on PostgreSQL,
// the Store's and the PayingStore's (ClaimPaid with the LedgerStore on the
// same schema), every subtest on one schema (the suite keeps to its own
// packets), with fewer goroutines per packet: the pool serializes them
// anyway. Its race cases (redpackettest.RunRace), with the ledger in memory
// and then on the same schema (claims paid through ClaimPaid), repeat 50
// times each: about 11 s under -race on 2 cores; SOCIALPAY_RACE_ITERATIONS
// sets more.
func TestRedPacketStore(t *testing.T) {
	db := freshDB(t)
	s, ls := NewRedPacketStore(db), NewLedgerStore(db)
	redpackettest.RunPaying(t, func(testing.TB) (redpacket.PayingStore, ledger.Store) { return s, ls }, redpackettest.Options{Goroutines: 200, RaceIterations: 50})
}

// TestRedPacketStorm: the whole service on PostgreSQL (ledger and red
// packets), 300 members tapping one 100-share packet at once.
func TestRedPacketStorm(t *testing.T) {
	db := freshDB(t)
	redpackettest.Storm(t, redpackettest.StormConfig{
		Ledger: NewLedgerStore(db), Store: NewRedPacketStore(db), Grabbers: 300, Shares: 100,
	})
}

// BenchmarkRedPacketClaims: claims through the whole service on PostgreSQL
// from 8 clients, across 64 packets of 10 shares claimed at once; each
// claim and its ledger transfer are one transaction of ClaimPaid, shared
// by concurrent claims (the ledger's store directly, or behind a
// ledger.GroupCommit, which the service looks through). Compare claims/s
// with pgbench's tpcb-like TPS at 8 clients on the same server.
func BenchmarkRedPacketClaims(b *testing.B) {
	for _, group := range []bool{false, true} {
		name := "direct"
		if group {
			name = "groupcommit"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			db := freshDB(b)
			var ls ledger.Store = NewLedgerStore(db)
			if group {
				ls = ledger.NewGroupCommit(ls, ledger.GroupCommitOptions{})
			}
			w, err := redpacketbench.New(ctx, redpacketbench.Config{
				Ledger: ledger.New(ls, ledger.Options{}), Store: NewRedPacketStore(db),
				Claims: b.N, Packets: 64, Shares: 10, Users: 200,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			res, err := w.Run(ctx, 8, b.N, w.Claim)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.PerSecond(), "claims/s")
			b.StopTimer()
			if err := w.Check(ctx, b.N); err != nil {
				b.Fatal(err)
			}
			if b.N >= 64*10 { // the packets Tap taps are sold out
				taps, err := w.Run(ctx, 8, 20000, w.Tap)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(taps.PerSecond(), "soldout-taps/s")
			}
		})
	}
}
