package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/campaign/campaigntest"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

// TestCampaignStore runs the campaign conformance suite on PostgreSQL,
// every subtest on one schema, with the LedgerStore on the same schema
// (tries and their payments in one transaction), with 100 goroutines per
// campaign (the pool serializes them anyway) and 8 iterations of each
// race case; then the race cases again with the ledger in memory (the
// service records, pays, then marks).
func TestCampaignStore(t *testing.T) {
	db := freshDB(t)
	s, ls := NewCampaignStore(db), NewLedgerStore(db)
	campaigntest.Run(t, func(testing.TB) campaigntest.Env { return campaigntest.Env{Store: s, Ledger: ls} },
		campaigntest.Options{Goroutines: 100, RaceIterations: 8})
	t.Run("RecordOnly", func(t *testing.T) {
		campaigntest.RunRace(t, campaigntest.RaceConfig{Store: s, Iterations: 4})
	})
}

// TestCampaignLimiter: two limiters on one database (two instances) share
// the buckets: of 12 tries at once on a bucket of 5, exactly 5 pass, the
// rest are told how long to wait; a refused pair takes no token.
func TestCampaignLimiter(t *testing.T) {
	db := freshDB(t)
	ls := [2]*CampaignLimiter{NewCampaignLimiter(db), NewCampaignLimiter(db)}
	ctx := context.Background()
	now := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	r := campaign.Rate{Burst: 5, Every: time.Second}
	_, errs := ledgertest.Concurrently(12, func(i int) (struct{}, error) {
		return struct{}{}, ls[i%2].Allow(ctx, now, campaign.LimitKey{Key: "user/a", Rate: r})
	})
	ok := 0
	for _, err := range errs {
		var rl *campaign.RateLimitError
		switch {
		case err == nil:
			ok++
		case !errors.As(err, &rl) || rl.Wait <= 0:
			t.Fatalf("refusal %v", err)
		}
	}
	if ok != 5 {
		t.Fatalf("%d of 12 passed a bucket of 5", ok)
	}
	// All or none: a full device bucket refuses the pair, and the user's
	// fresh bucket keeps its tokens.
	fresh := campaign.LimitKey{Key: "user/b", Rate: campaign.Rate{Burst: 1, Every: time.Hour}}
	err := ls[0].Allow(ctx, now, fresh, campaign.LimitKey{Key: "user/a", Rate: r})
	if !errors.Is(err, campaign.ErrRateLimited) {
		t.Fatalf("pair with a full bucket: %v", err)
	}
	if err := ls[1].Allow(ctx, now, fresh); err != nil {
		t.Fatalf("the refused pair took a token: %v", err)
	}
	if err := ls[0].Allow(ctx, now.Add(time.Second), campaign.LimitKey{Key: "user/a", Rate: r}); err != nil {
		t.Fatalf("after a second: %v", err)
	}
	if n, err := ls[0].Prune(ctx, now.Add(2*time.Hour)); err != nil || n != 2 {
		t.Fatalf("Prune: %d %v", n, err)
	}
	long := string(make([]byte, 129))
	if err := ls[0].Allow(ctx, now, campaign.LimitKey{Key: long, Rate: r}); !errors.Is(err, campaign.ErrInvalidRequest) {
		t.Fatalf("long key: %v", err)
	}
}

// TestCampaignLimits: two Services on one CampaignStore and one
// CampaignLimiter (the store takes the tokens in the try's transaction)
// hold the rate limits under concurrency; so does a standalone limiter on
// the same database with the store in memory.
func TestCampaignLimits(t *testing.T) {
	db := freshDB(t)
	s, lim := NewCampaignStore(db), NewCampaignLimiter(db)
	if !s.LimitsOn(lim) || s.LimitsOn(campaign.NewMemoryLimiter()) {
		t.Fatal("LimitsOn")
	}
	t.Run("InTry", func(t *testing.T) {
		campaigntest.RunLimits(t, campaigntest.LimitsConfig{Ledger: NewLedgerStore(db), Store: s, Limiter: lim})
	})
	t.Run("Separate", func(t *testing.T) {
		campaigntest.RunLimits(t, campaigntest.LimitsConfig{Limiter: lim})
	})
}

// TestCampaignStorm: the whole service on PostgreSQL (ledger, campaigns
// and limiter), 1,000 goroutines at the opening instant.
func TestCampaignStorm(t *testing.T) {
	db := freshDB(t)
	campaigntest.Storm(t, campaigntest.StormConfig{Ledger: NewLedgerStore(db), Store: NewCampaignStore(db), Limiter: NewCampaignLimiter(db), Taps: 1000})
}
