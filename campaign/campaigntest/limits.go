package campaigntest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

// LimitsConfig is a store and the limiter two Services share.
type LimitsConfig struct {
	Ledger  ledger.Store     // nil: a new ledger.MemoryStore
	Store   campaign.Store   // nil: a MemoryStore paying on the ledger
	Limiter campaign.Limiter // shared by both Services (one a store may take tokens of, LimitsOn)
}

// RunLimits holds two Services on one store and one limiter to the rate
// limits, under concurrency, whether the Service calls the limiter or the
// store takes its tokens in the try's step: of 40 users tapping at once
// on one device with a bucket of 5, exactly 5 are recorded and the rest
// are told how long to wait; 10 identical calls of one user with a bucket
// of 2 pass twice (one try: retries cost a token too); an ineligible
// user's tries cost tokens as well.
func RunLimits(t *testing.T, cfg LimitsConfig) {
	if cfg.Ledger == nil {
		cfg.Ledger = ledger.NewMemoryStore()
	}
	ctx := context.Background()
	l := ledger.New(cfg.Ledger, ledger.Options{})
	if cfg.Store == nil {
		cfg.Store = campaign.NewMemoryStore(l)
	}
	if cfg.Limiter == nil {
		cfg.Limiter = campaign.NewMemoryLimiter()
	}
	banned := uuid.New()
	var svcs [2]*campaign.Service
	for i := range svcs {
		s, err := campaign.New(campaign.Config{
			Ledger: l, Store: cfg.Store, Limiter: cfg.Limiter,
			Eligibility: campaign.EligibleFunc(func(_ context.Context, _, u uuid.UUID) (bool, error) { return u != banned, nil }),
			UserRate:    campaign.Rate{Burst: 2, Every: time.Hour}, DeviceRate: campaign.Rate{Burst: 5, Every: time.Hour},
			Now: func() time.Time { return raceOpen },
		})
		if err != nil {
			t.Fatal(err)
		}
		svcs[i] = s
	}
	e := &raceEnv{t: t, ctx: ctx, l: l}
	req := e.request(campaign.Caps{TriesPerUser: 5, TriesPerDay: 5, WinsPerUser: 5},
		campaign.Tier{Prize: 88, Count: 10}, campaign.Tier{Prize: 0, Count: 90})
	req.OpensAt = raceOpen.Add(-time.Minute)
	c, err := svcs[0].Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	wallet := e.account(0)
	device := "limits-" + c.ID.String()
	try := func(i int, user uuid.UUID, device string) (campaign.Try, error) {
		return svcs[i%2].Try(ctx, campaign.TryRequest{Campaign: c.ID, User: user, Account: wallet, Device: device, Seq: 1})
	}
	taken := func() int {
		got, err := cfg.Store.Campaign(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Taken
	}
	passed := func(what string, errs []error) int {
		n := 0
		for _, err := range errs {
			var rl *campaign.RateLimitError
			switch {
			case err == nil:
				n++
			case !errors.As(err, &rl) || rl.Wait <= 0:
				t.Fatalf("%s: %v, want a *RateLimitError with a wait", what, err)
			}
		}
		return n
	}

	_, errs := ledgertest.Concurrently(40, func(i int) (campaign.Try, error) { return try(i, uuid.New(), device) })
	if n := passed("40 users on one device", errs); n != 5 || taken() != 5 {
		t.Fatalf("40 users on one device of 5 tokens: %d passed, %d recorded", n, taken())
	}

	u := uuid.New()
	got, errs := ledgertest.Concurrently(10, func(i int) (campaign.Try, error) {
		return try(i, u, fmt.Sprintf("limits-%d-%s", i, u))
	})
	if n := passed("one user's try 10 times", errs); n != 2 || taken() != 6 {
		t.Fatalf("one user's try 10 times with 2 tokens: %d passed, %d recorded, want 2 and 6", n, taken())
	}
	slot := -1
	for i := range got {
		if errs[i] == nil && slot >= 0 && got[i].Slot != slot {
			t.Fatalf("one try answered with slots %d and %d", slot, got[i].Slot)
		} else if errs[i] == nil {
			slot = got[i].Slot
		}
	}

	for i := range 2 {
		_, err := try(i, banned, fmt.Sprintf("banned-%d-%s", i, c.ID))
		wantErr(t, "ineligible user", err, campaign.ErrNotEligible)
	}
	_, err = try(0, banned, "banned-2-"+c.ID.String())
	wantErr(t, "ineligible user after 2 tries", err, campaign.ErrRateLimited)
	if taken() != 6 {
		t.Fatalf("%d recorded after the ineligible user, want 6", taken())
	}
}
