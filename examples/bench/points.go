package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
	"github.com/socialpay/socialpay/postgres"
)

// Points (issue 16): redemptions of points into money (the points debited
// from the user's oldest lots and the money paid from the bank's
// conversion account, linked on the ledger), and earns of points per
// payment (credited to this month's lot).

func init() {
	register("points-redeem", "redeem 100 points for 0.01 CNY (a user's lots, then points and money linked on the ledger); "+
		"users: -accounts, at most 1,000, each given points up front; -shards splits the bank's accounts",
		func() Scenario { return &pointsLoad{} })
	register("points-earn", "earn 1 point per 1.00 CNY paid (this month's lot, then the ledger); users: -accounts, at most 1,000; "+
		"-shards splits the bank's accounts",
		func() Scenario { return &pointsLoad{earn: true} })
}

const (
	ptsPerRedeem = 100
	ptsGrant     = 1_000_000_000_000 // each user's points for redeeming, given in setup
)

type pointsLoad struct {
	feature
	earn    bool
	svc     *points.Service
	cfg     points.Config
	users   []uuid.UUID
	wallets []uuid.UUID
	next    atomic.Int64
}

func (s *pointsLoad) Unit() string {
	if s.earn {
		return "earns"
	}
	return "redemptions"
}

func (s *pointsLoad) Setup(ctx context.Context, env *Env) error {
	s.setup(ctx, env)
	cny := ledger.MustCurrency("CNY")
	var store points.Store // nil: the memory store (SingleProcess)
	if env.DB != nil {
		store = postgres.NewPointsStore(env.DB)
	}
	bank, conv := uuid.New(), uuid.New()
	s.cfg = points.Config{Ledger: env.Ledger, Store: store, SingleProcess: env.DB == nil, ExpiryMonths: 12,
		Rules: []points.EarnRule{{Name: "grant", Kind: points.Fixed, Points: ptsGrant},
			{Name: "payment", Kind: points.PerAmount, Points: 1, Per: ledger.NewMoney(100, cny)}},
		Issuance: uuid.New(), Redeemed: uuid.New(), Expired: uuid.New(),
		Conversion: map[ledger.Currency]uuid.UUID{cny: conv}, Shards: env.Opts.Shards,
		// IDs of this run's own: a schema an earlier run used never
		// answers this one's operations.
		Namespace: uuid.New()}
	var err error
	if s.svc, err = points.New(s.cfg); err != nil {
		return err
	}
	if err := s.svc.OpenSystemAccounts(ctx); err != nil {
		return err
	}
	if _, err := env.Ledger.CreateAccount(ctx, ledger.Account{ID: bank, Currency: cny}); err != nil {
		return err
	}
	for _, c := range s.svc.Shards(conv) { // -shards: the conversion account in shards, each funded
		if _, err := env.Ledger.CreateAccount(ctx, ledger.Account{ID: c, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
			return err
		}
		if _, err := env.Ledger.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: c,
			Amount: ledger.NewMoney(1<<50, cny)}); err != nil {
			return err
		}
	}
	// 100 points = 0.01 CNY, as the next version of the shared rate name
	// unless the latest already says so.
	name := points.RedeemRateName(cny)
	for {
		v := 0
		if r, err := s.svc.Rate(ctx, name, 0); err == nil {
			if r.From == ptsPerRedeem && r.To == 1 {
				break
			}
			v = r.Version
		} else if !errors.Is(err, points.ErrNoRate) {
			return err
		}
		if _, err := s.svc.SetRate(ctx, name, v+1, ptsPerRedeem, 1); err == nil {
			break
		} else if !errors.Is(err, points.ErrRateConflict) {
			return err
		}
	}
	n := min(max(env.Opts.Accounts, env.Opts.Clients), 1000)
	s.users, s.wallets = make([]uuid.UUID, n), make([]uuid.UUID, n)
	idx := make([]int, n)
	for i := range n {
		s.users[i], s.wallets[i], idx[i] = uuid.New(), uuid.New(), i
	}
	err = inChunks(ctx, max(4, env.Opts.Clients), 50, idx, func(ctx context.Context, chunk []int) error {
		for _, i := range chunk {
			if _, err := env.Ledger.CreateAccount(ctx, ledger.Account{ID: s.wallets[i], Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
				return err
			}
			if _, err := s.svc.OpenAccount(ctx, s.users[i]); err != nil {
				return err
			}
			if !s.earn {
				if _, err := s.svc.Earn(ctx, points.EarnRequest{User: s.users[i], Rule: "grant", Key: "grant"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("points setup: %w", err)
	}
	return s.begin()
}

func (s *pointsLoad) Client(int, *rand.Rand) Client { return s }

// Do makes the next redemption (or earn): one operation of a user taken
// in turn, under a key of its own (feature.do), sent again with the same
// key while the store fails (the service answers it once).
func (s *pointsLoad) Do(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	i := int(s.next.Add(1) - 1)
	u := i % len(s.users)
	key := strconv.Itoa(i)
	cny := ledger.MustCurrency("CNY")
	return s.do(ctx, func(ctx context.Context) error {
		var err error
		if s.earn {
			_, err = s.svc.Earn(ctx, points.EarnRequest{User: s.users[u], Rule: "payment", Key: key, Amount: ledger.NewMoney(100, cny)})
		} else {
			_, err = s.svc.Redeem(ctx, points.RedeemRequest{User: s.users[u], Key: key, Points: ptsPerRedeem, Wallet: s.wallets[u], Currency: cny})
		}
		return err
	})
}

// Verify finishes what a failing store left pending (Reconcile; a run
// without store failures must leave nothing), then checks that the
// operations recorded are those acknowledged (plus at most those left
// unknown), that every user's ledger balance equals the statement's
// earned less spent, that the bank's Redeemed (or Issuance) account and
// the wallets moved exactly what the operations say, and that the ledger
// verifies.
func (s *pointsLoad) Verify(ctx context.Context) (string, error) {
	rec, err := s.svc.Reconcile(ctx)
	if err != nil {
		return "verify reconcile=FAILED", err
	}
	if rec != (points.ReconcileReport{}) && s.env.errors.Load() == 0 && s.env.unknown.Load() == 0 {
		return fmt.Sprintf("verify reconcile=%+v", rec), errors.New("a run without store failures left work for Reconcile")
	}
	var ops, paid int64
	var bad []error
	for i, u := range s.users {
		st, err := s.svc.Statement(ctx, u)
		if err != nil {
			return "verify statements=FAILED", err
		}
		if st.Balance != st.Earned-st.Spent-st.Expired {
			bad = append(bad, fmt.Errorf("user %s: ledger balance %d, statement %+v", u, st.Balance, st))
		}
		if s.earn {
			ops += st.Earned
			continue
		}
		ops += st.Spent / ptsPerRedeem
		w, err := s.env.Ledger.Account(ctx, s.wallets[i])
		if err != nil {
			return "verify wallets=FAILED", err
		}
		paid += w.Balance.Net()
	}
	acct, sum := s.cfg.Redeemed, ops*ptsPerRedeem
	if s.earn {
		acct, sum = s.cfg.Issuance, -ops
	}
	var held int64
	for _, sh := range s.svc.Shards(acct) {
		a, err := s.env.Ledger.Account(ctx, sh)
		if err != nil {
			return "verify accounts=FAILED", err
		}
		held += a.Balance.Net()
	}
	if held != sum {
		bad = append(bad, fmt.Errorf("the bank's points account holds %d, the operations say %d", held, sum))
	}
	if !s.earn && paid != ops {
		bad = append(bad, fmt.Errorf("wallets hold %d fen, %d redemptions recorded", paid, ops))
	}
	after, err := snapshot(ctx, s.env.Ledger)
	if err != nil {
		return "verify ledger-verify=FAILED", err
	}
	acked, unknown := s.acked.Load(), s.env.unknown.Load()
	if ops < acked || ops > acked+unknown {
		bad = append(bad, fmt.Errorf("%d %s recorded, %d acknowledged (%d unknown)", ops, s.Unit(), acked, unknown))
	}
	report := fmt.Sprintf("verify acknowledged=%d recorded=%d unknown=%d reconciled=%+v paid-fen=%d ledger-verify=ok accounts=%d entries=%d",
		acked, ops, unknown, rec, paid, after.Accounts, after.Entries)
	return report, errors.Join(bad...)
}
