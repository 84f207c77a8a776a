package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
)

// Prize campaigns (issue 16): tries at one campaign, each by a new user;
// a winning try is recorded and paid from the campaign's escrow (one
// transaction with its payment on PostgreSQL).

func init() {
	register("campaign", "tries at one prize campaign, each by a new user, 10% of them winning 0.88 CNY "+
		"(the slots prepared up front for -ops tries; default: an estimate from -duration)",
		func() Scenario { return &campaignTries{winEvery: 10} })
	register("campaign-winners", "tries at one prize campaign that every try wins (0.88 CNY): the winners' "+
		"payments, each recorded and paid in one step",
		func() Scenario { return &campaignTries{winEvery: 1} })
}

// cpWallets is how many wallets the winners are paid into (users share
// them: a wallet per user would only cost setup time).
const cpWallets = 1024

type campaignTries struct {
	feature
	winEvery int
	svc      *campaign.Service
	c        campaign.Campaign
	tries    int
	wallets  []uuid.UUID
	next     atomic.Int64
}

func (s *campaignTries) Unit() string { return "tries" }

func (s *campaignTries) Setup(ctx context.Context, env *Env) error {
	s.setup(ctx, env)
	cfg := campaign.Config{
		Ledger: env.Ledger, SingleProcess: env.DB == nil,
		Eligibility: campaign.EligibleFunc(func(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }),
		UserRate:    campaign.Rate{Burst: 10, Every: time.Second}, DeviceRate: campaign.Rate{Burst: 10, Every: time.Second},
	}
	if env.DB != nil {
		cfg.Store, cfg.Limiter = postgres.NewCampaignStore(env.DB), postgres.NewCampaignLimiter(env.DB)
	}
	var err error
	if s.svc, err = campaign.New(cfg); err != nil {
		return err
	}
	s.tries = env.estimate(1_000_000, 5_000)
	prizes := max(1, s.tries/s.winEvery)
	tiers := []campaign.PrizeTier{{Prize: ledger.NewMoney(88, env.Currency), Count: prizes}}
	if s.winEvery > 1 {
		tiers = append(tiers, campaign.PrizeTier{Prize: ledger.NewMoney(0, env.Currency), Count: prizes * (s.winEvery - 1)})
	}
	marketing, err := s.account(ctx, int64(prizes)*88)
	if err != nil {
		return err
	}
	for range cpWallets {
		w, err := s.account(ctx, 0)
		if err != nil {
			return err
		}
		s.wallets = append(s.wallets, w)
	}
	now := time.Now()
	s.c, err = s.svc.Create(ctx, campaign.CreateRequest{
		ID: uuid.New(), Name: "bench", Marketing: marketing, Prizes: tiers,
		OpensAt: now.Add(-time.Minute), EndsAt: now.Add(24 * time.Hour),
		Caps: campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1},
	})
	if err != nil {
		return fmt.Errorf("create the campaign: %w", err)
	}
	return s.begin()
}

// account creates a wallet holding units, funded from a source account.
func (s *campaignTries) account(ctx context.Context, units int64) (uuid.UUID, error) {
	l, cur := s.env.Ledger, s.env.Currency
	id := uuid.New()
	if _, err := l.CreateAccount(ctx, ledger.Account{ID: id, Currency: cur, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
		return uuid.Nil, err
	}
	if units > 0 {
		src := uuid.New()
		if _, err := l.CreateAccount(ctx, ledger.Account{ID: src, Currency: cur}); err != nil {
			return uuid.Nil, err
		}
		if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: src, CreditAccountID: id, Amount: ledger.NewMoney(units, cur)}); err != nil {
			return uuid.Nil, err
		}
	}
	return id, nil
}

func (s *campaignTries) Client(int, *rand.Rand) Client { return s }

// Do makes the next try, by a new user: one operation, sent again with the
// same key while the store fails.
func (s *campaignTries) Do(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	i := s.next.Add(1) - 1
	if int(i) >= s.tries {
		return 0, errUsedUp
	}
	var user uuid.UUID
	user[0], user[1], user[2], user[3], user[4], user[5], user[6], user[7] = byte(i>>56), byte(i>>48), byte(i>>40), byte(i>>32), byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	user[8] = 0x80
	req := campaign.TryRequest{Campaign: s.c.ID, User: user, Account: s.wallets[i%cpWallets], Device: "bench", Seq: 1}
	req.Device = user.String()
	return s.do(ctx, func(ctx context.Context) error {
		_, err := s.svc.Try(ctx, req)
		if errors.Is(err, campaign.ErrSoldOut) {
			return errUsedUp
		}
		return err
	})
}

// Verify checks that the campaign's winners were paid exactly what they
// won (escrow holds the budget less the prizes won) and that the ledger
// verifies.
func (s *campaignTries) Verify(ctx context.Context) (string, error) {
	c, err := s.svc.Campaign(ctx, s.c.ID)
	if err != nil {
		return "", err
	}
	esc, err := s.env.Ledger.Account(ctx, c.Escrow)
	if err != nil {
		return "", err
	}
	if esc.Balance.Net() != c.Budget-c.Won || c.Paid != c.Winners {
		return "", fmt.Errorf("campaign: escrow %d, budget %d, won %d; %d of %d prizes paid", esc.Balance.Net(), c.Budget, c.Won, c.Paid, c.Winners)
	}
	if _, err := s.env.Ledger.Verify(ctx); err != nil {
		return "", err
	}
	acked, unknown := s.acked.Load(), s.env.unknown.Load()
	if acked > int64(c.Taken) {
		return "verify FAILED", fmt.Errorf("campaign: %d tries acknowledged, %d recorded", acked, c.Taken)
	}
	return fmt.Sprintf("verify acknowledged=%d unknown=%d tries=%d prizes=%d paid (escrow holds the rest)", acked, unknown, c.Taken, c.Paid), nil
}
