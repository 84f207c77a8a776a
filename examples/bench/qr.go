package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/qr/qrbench"
)

// QR payments (issue 5): payment-code charges (付款码). A merchant scans the
// one-time code a payer's phone shows and charges it: the code is checked
// against its device, redeemed once in the QR store, and the amount moves
// from the payer's wallet to the merchant on the ledger.

func init() {
	register("qr", "payment-code charges of 1.00 CNY: a merchant scans a payer's one-time code "+
		"(-accounts payers with a phone each, 100 merchants)",
		func() Scenario { return &qrCharges{} })
}

// Each payer's opening balance and the amount of each charge, in fen.
const (
	qrFunds  = 1_000_000_00
	qrAmount = 1_00
)

type qrCharges struct {
	feature
	c *qrbench.Charges
	// receipts are each client's acknowledged charges (-verify).
	receipts [][]qr.ChargeReceipt
}

func (s *qrCharges) Unit() string { return "charges" }

func (s *qrCharges) Setup(ctx context.Context, env *Env) error {
	s.setup(ctx, env)
	var store qr.Store = qr.NewMemoryStore(env.Ledger)
	if env.DB != nil {
		store = postgres.NewQRStore(env.DB)
	}
	cny := ledger.MustCurrency("CNY")
	var err error
	s.c, err = qrbench.NewCharges(ctx, qrbench.Config{
		Ledger: env.Ledger, Store: store, Payers: max(env.Opts.Accounts, env.Opts.Clients), Workers: env.Opts.Clients,
		Funds: ledger.NewMoney(qrFunds, cny), Amount: ledger.NewMoney(qrAmount, cny),
	})
	if err != nil {
		return err
	}
	if env.Opts.Verify {
		s.receipts = make([][]qr.ChargeReceipt, env.Opts.Clients)
	}
	return s.begin()
}

func (s *qrCharges) Client(i int, _ *rand.Rand) Client {
	return &qrClient{s: s, i: i, w: s.c.Worker(i)}
}

type qrClient struct {
	s *qrCharges
	i int
	w *qrbench.ChargeWorker
}

// Do makes the worker's next charge (feature.do), charged again while the
// store fails: the same order and code, which the service answers with the
// same receipt.
func (c *qrClient) Do(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	i := c.w.Next()
	var r qr.ChargeReceipt
	n, err := c.s.do(ctx, func(ctx context.Context) (err error) {
		r, err = c.w.ChargeAt(ctx, i)
		return err
	})
	if err == nil && c.s.receipts != nil {
		c.s.receipts[c.i] = append(c.s.receipts[c.i], r)
	}
	return n, err
}

// Verify checks that every acknowledged charge is on the ledger as its
// receipt says (one transfer per charge, none twice), that every merchant
// holds exactly the charges made to it and every payer its opening balance
// less its charges, that the ledger moved exactly charges × amount, and
// that the ledger verifies.
func (s *qrCharges) Verify(ctx context.Context) (string, error) {
	var want []ledger.Transfer
	merchants, seen := map[uuid.UUID]bool{}, map[uuid.UUID]bool{}
	var bad []error
	for _, rs := range s.receipts {
		for _, r := range rs {
			if seen[r.Transfer] || r.Amount.Units() != qrAmount {
				bad = append(bad, fmt.Errorf("charge %s: acknowledged twice or for %v", r.Transfer, r.Amount))
			}
			seen[r.Transfer] = true
			want = append(want, ledger.Transfer{ID: r.Transfer, DebitAccountID: r.Payer, CreditAccountID: r.Merchant, Amount: r.Amount})
			merchants[r.Merchant] = true
		}
	}
	p, err := s.env.checkPayments(ctx, s.before, want, qrFunds, qrAmount)
	if err != nil {
		return "verify FAILED", err
	}
	report := fmt.Sprintf("verify acknowledged=%d unknown=%d merchants=%d %s", s.acked.Load(), s.env.unknown.Load(), len(merchants), p)
	return report, errors.Join(append(bad, p.bad...)...)
}
