package campaigntest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

// StormConfig is a storm: Taps goroutines, one user each, released at
// once at a campaign's opening instant.
type StormConfig struct {
	Ledger  ledger.Store     // nil: a new ledger.MemoryStore
	Store   campaign.Store   // nil: a MemoryStore paying on the ledger
	Limiter campaign.Limiter // nil: a MemoryLimiter
	Taps    int              // default 10,000
}

// Storm sends cfg.Taps users at a campaign with Taps/10 prizes (10 of
// 88.88, the rest 8.88) among 6·Taps/10 slots, every user tapping at the
// opening instant. Every prize is won once and paid, every other tap is
// a try with no prize or campaign.ErrSoldOut, and the money adds up.
func Storm(t *testing.T, cfg StormConfig) {
	if cfg.Taps <= 0 {
		cfg.Taps = 10_000
	}
	if cfg.Ledger == nil {
		cfg.Ledger = ledger.NewMemoryStore()
	}
	if cfg.Limiter == nil {
		cfg.Limiter = campaign.NewMemoryLimiter()
	}
	ctx := context.Background()
	l := ledger.New(cfg.Ledger, ledger.Options{})
	if cfg.Store == nil {
		cfg.Store = campaign.NewMemoryStore(l)
	}
	opens := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	now := opens.Add(-time.Minute)
	s, err := campaign.New(campaign.Config{
		Ledger: l, Store: cfg.Store, Limiter: cfg.Limiter,
		Eligibility: campaign.EligibleFunc(func(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }),
		Now:         func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &raceEnv{t: t, ctx: ctx, l: l}
	prizes := max(cfg.Taps/10, 11)
	req := e.request(campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1},
		campaign.Tier{Prize: 8888, Count: 10}, campaign.Tier{Prize: 888, Count: prizes - 10}, campaign.Tier{Prize: 0, Count: prizes * 5})
	req.OpensAt, req.EndsAt = opens, opens.Add(time.Hour)
	c, err := s.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	wallet := e.account(0) // every prize lands here: the sum is checked
	now = opens
	got, errs := ledgertest.Concurrently(cfg.Taps, func(i int) (campaign.Try, error) {
		u := uuid.New()
		return s.Try(ctx, campaign.TryRequest{Campaign: c.ID, User: u, Account: wallet, Device: u.String(), Seq: 1})
	})
	winners, soldOut := 0, 0
	var won int64
	for i := range got {
		switch {
		case errs[i] != nil:
			wantErr(t, "storm tap", errs[i], campaign.ErrSoldOut)
			soldOut++
		case got[i].Won():
			if !got[i].Paid {
				t.Fatalf("winner unpaid: %+v", got[i])
			}
			winners++
			won += got[i].Prize
		}
	}
	if winners != prizes || won != c.Budget || e.net(wallet) != c.Budget {
		t.Fatalf("%d winners won %d (wallet %d), want %d prizes, budget %d", winners, won, e.net(wallet), prizes, c.Budget)
	}
	t.Logf("%d taps: %d prizes, %d sold out", cfg.Taps, winners, soldOut)
}
