package main

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// The ledger's own scenarios: plain transfers between wallets, batches of
// them, and transfers that all pay one hot account.

func init() {
	register("transfer", "one transfer per request between two wallets (of the client's own)",
		func() Scenario { return &transfers{perRequest: 1} })
	register("batch", "independent batches of -batch transfers (default 100) between wallets, one commit each",
		func() Scenario { return &transfers{perRequest: 100} })
	register("hot", "every transfer pays one merchant account; -batch N puts N in a request, -shards K splits it into K sub-accounts",
		func() Scenario { return &transfers{perRequest: 1, hot: true} })
}

// walletFunds is what each wallet starts with: far more than a run spends,
// so that no transfer is refused.
const walletFunds = 1_000_000_00

type transfers struct {
	perRequest int
	hot        bool
	env        *Env
	wallets    []uuid.UUID
	merchant   []uuid.UUID // its sub-accounts; one unless -shards
}

func (s *transfers) Setup(ctx context.Context, env *Env) error {
	s.env = env
	if env.Opts.Batch > 0 {
		s.perRequest = env.Opts.Batch
	}
	if env.Opts.Accounts < 2*env.Opts.Clients {
		return fmt.Errorf("need at least 2 accounts per client, have %d for %d clients", env.Opts.Accounts, env.Opts.Clients)
	}
	var err error
	if s.wallets, err = env.Wallets(ctx, env.Opts.Accounts, walletFunds); err != nil {
		return err
	}
	if s.hot {
		for range max(1, env.Opts.Shards) {
			m, err := env.Ledger.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: env.Currency, Code: 3})
			if err != nil {
				return err
			}
			s.merchant = append(s.merchant, m.ID)
		}
	}
	return nil
}

func (s *transfers) Client(i int, rng *rand.Rand) Client {
	c := &transferClient{s: s, rng: rng, wallets: partition(s.wallets, i, s.env.Opts.Clients)}
	if s.hot {
		// A sharded hot account is paid into the sub-account its payer
		// hashes to; payers reach the service instance (here: the client)
		// by the same hash, so each client pays one sub-account and
		// clients do not queue for each other's locks. Its balance is the
		// sum of the sub-accounts.
		c.merchant = s.merchant[i%len(s.merchant)]
	}
	return c
}

type transferClient struct {
	s        *transfers
	rng      *rand.Rand
	wallets  []uuid.UUID
	merchant uuid.UUID // hot: the sub-account this client pays
	buf      []ledger.Transfer
}

func (c *transferClient) Do(ctx context.Context) (int, error) {
	c.buf = c.buf[:0]
	for range c.s.perRequest {
		from, to := pair(c.rng, c.wallets)
		if c.s.hot {
			to = c.merchant
		}
		amount := 1 + c.rng.Int64N(1000) // 0.01 to 10.00
		c.buf = append(c.buf, ledger.Transfer{ID: c.s.env.NewID(c.rng), DebitAccountID: from, CreditAccountID: to,
			Amount: ledger.NewMoney(amount, c.s.env.Currency), Code: 7})
	}
	return c.s.env.Submit(ctx, c.buf)
}

// drain: every request spends its payer's whole balance, so that each
// transfer sits at the exact-balance boundary where a duplicate would be
// refused the funds its own original spent. Each client passes one
// 1.00 CNY around a ring of wallets of its own, the holder paying the
// next. With -duplicates N every request is sent by N callers at once.
type drain struct {
	env     *Env
	wallets []uuid.UUID
}

func init() {
	register("drain", "each request pays the payer's whole balance (1.00 CNY passed around a ring of the client's wallets); "+
		"with -duplicates N, sent by N callers at once",
		func() Scenario { return &drain{} })
}

// drainFunds is what the first wallet of each client's ring holds.
const drainFunds = 100

func (s *drain) Setup(ctx context.Context, env *Env) error {
	s.env = env
	if env.Opts.Accounts < 2*env.Opts.Clients {
		return fmt.Errorf("need at least 2 accounts per client, have %d for %d clients", env.Opts.Accounts, env.Opts.Clients)
	}
	var err error
	s.wallets, err = env.Wallets(ctx, env.Opts.Accounts, 0)
	if err != nil {
		return err
	}
	bank, err := env.Ledger.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: env.Currency, Code: 1})
	if err != nil {
		return err
	}
	for i := range env.Opts.Clients {
		first := partition(s.wallets, i, env.Opts.Clients)[0]
		if _, err := env.Ledger.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: first,
			Amount: ledger.NewMoney(drainFunds, env.Currency)}); err != nil {
			return err
		}
	}
	return nil
}

func (s *drain) Client(i int, rng *rand.Rand) Client {
	return &drainClient{s: s, rng: rng, ring: partition(s.wallets, i, s.env.Opts.Clients)}
}

type drainClient struct {
	s      *drain
	rng    *rand.Rand
	ring   []uuid.UUID
	holder int // the ring's wallet holding the funds
}

func (c *drainClient) Do(ctx context.Context) (int, error) {
	next := (c.holder + 1) % len(c.ring)
	n, err := c.s.env.Submit(ctx, []ledger.Transfer{{ID: c.s.env.NewID(c.rng), DebitAccountID: c.ring[c.holder],
		CreditAccountID: c.ring[next], Amount: ledger.NewMoney(drainFunds, c.s.env.Currency), Code: 7}})
	if n == 1 {
		c.holder = next
	}
	return n, err
}
