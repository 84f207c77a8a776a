package main

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/transferbench"
)

// Transfers to a mobile number (issue 6): a payer resolves a payee's
// number (directory lookup, masked name, lookup token, the anti-enumeration
// limiter) and pays it at once (limits, daily total, record, ledger
// transfer, settlement, the limiter's refund).

func init() {
	register("phone", "resolve a payee's mobile number and pay it 0.01 CNY at once; -accounts is split between payers and payees",
		func() Scenario { return &phones{} })
}

// Each payer's opening balance and the amount of each transfer, in fen.
const (
	phoneFunds  = 1_000_000_00
	phoneAmount = 1
)

type phones struct {
	feature
	p   *transferbench.Phone
	tap *ackTap // -verify: the ledger transfers acknowledged during the run
}

func (s *phones) Setup(ctx context.Context, env *Env) error {
	s.setup(ctx, env)
	l := env.Ledger
	if env.Opts.Verify {
		// transferbench keeps its receipts to itself: the ledger's answers
		// are recorded instead.
		s.tap = &ackTap{Store: env.Store}
		l = ledger.New(s.tap, ledger.Options{Now: env.Ledger.Now})
	}
	half := max(env.Opts.Accounts/2, env.Opts.Clients)
	cfg := transferbench.Config{Ledger: l, Clients: env.Opts.Clients, Payers: half, Payees: half,
		Funds: phoneFunds, Amount: phoneAmount}
	if env.DB != nil {
		// The stores and the lookup buckets on PostgreSQL, as a bank's
		// instances share them. The token key is this run's: the load
		// generator is the only process resolving and paying.
		lim, err := postgres.NewLookupLimiter(env.DB, transferbench.Rate())
		if err != nil {
			return err
		}
		cfg.Store, cfg.Directory, cfg.Limiter = postgres.NewPhoneTransferStore(env.DB), postgres.NewPhoneDirectory(env.DB), lim
		cfg.TokenKey = make([]byte, transfer.MinTokenKeyLen)
		if _, err := crand.Read(cfg.TokenKey); err != nil {
			return err
		}
	} else {
		cfg.SingleProcess = true // memory stores: one process by definition
	}
	var err error
	if s.p, err = transferbench.Setup(ctx, cfg); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	if s.tap != nil {
		s.tap.armed.Store(true)
	}
	return nil
}

func (s *phones) Client(i int, rng *rand.Rand) Client {
	return &phoneClient{s: s, c: s.p.Client(i, rng)}
}

type phoneClient struct {
	s *phones
	c *transferbench.Client
}

// Do resolves and pays once (feature.do). While the store fails it starts
// again with a new resolve and a new transfer (transferbench cannot retry
// the same one): the failed one is counted as unknown.
func (c *phoneClient) Do(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	tries := 0
	return c.s.do(ctx, func(ctx context.Context) error {
		if tries++; tries > 1 {
			c.s.env.unknown.Add(1)
		}
		_, err := c.c.Do(ctx)
		return err
	})
}

// Verify checks that every transfer the ledger acknowledged during the run
// is stored as acknowledged, that they are the transfers the clients were
// told settled (plus at most those left unknown), that every payee's
// balance is what was paid to it and every payer's its opening balance less
// what it paid, that the ledger moved exactly their sum, and that the
// ledger verifies.
func (s *phones) Verify(ctx context.Context) (string, error) {
	ts := s.tap.transfers()
	p, err := s.env.checkPayments(ctx, s.before, ts, phoneFunds, phoneAmount)
	if err != nil {
		return "verify FAILED", err
	}
	acked, unknown := int(s.acked.Load()), int(s.env.unknown.Load())
	report := fmt.Sprintf("verify acknowledged=%d ledger-acknowledged=%d unknown=%d %s", acked, len(ts), unknown, p)
	if n := len(ts); n < acked || n > acked+unknown {
		p.bad = append(p.bad, fmt.Errorf("the ledger acknowledged %d transfers, the clients %d (%d unknown)", n, acked, unknown))
	}
	return report, errors.Join(p.bad...)
}
