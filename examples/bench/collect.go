package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
)

// Splitting the bill (issue 16): members pay their shares of requests of
// 10 members × 1.00 CNY, straight to the requester. Requests are created
// before the clock starts; each Do is one member's payment (on PostgreSQL
// one transaction with its ledger transfer, the ledger on the same schema).

func init() {
	register("collect", "bill splitting: members pay their 1.00 CNY shares of 10-member requests "+
		"(-accounts paying wallets, one requester per request)",
		func() Scenario { return &collects{} })
}

const (
	collectMembers = 10
	collectShare   = 1_00
	collectFunds   = 1_000_000_00
)

type collects struct {
	feature
	svc  *collect.Service
	pays []collect.PayRequest
	paid []atomic.Bool // the pays answered with success (-verify)
	next atomic.Int64
}

func (s *collects) Unit() string { return "pays" }

type anyMember struct{}

func (anyMember) IsMember(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }

func (s *collects) Setup(ctx context.Context, env *Env) error {
	s.setup(ctx, env)
	var store collect.Store // nil: the memory store (SingleProcess)
	if env.DB != nil {
		store = postgres.NewCollectStore(env.DB)
	}
	var err error
	s.svc, err = collect.New(collect.Config{Ledger: env.Ledger, Store: store, SingleProcess: env.DB == nil, Members: anyMember{},
		Notifier: collect.NotifierFunc(func(context.Context, collect.Request, []uuid.UUID) error { return nil })})
	if err != nil {
		return err
	}
	n := env.estimate(200_000, 3_000)
	requests := (n + collectMembers - 1) / collectMembers
	payers, err := env.Wallets(ctx, max(env.Opts.Accounts, collectMembers), collectFunds)
	if err != nil {
		return err
	}
	requesters, err := env.Wallets(ctx, requests, 0)
	if err != nil {
		return err
	}
	cny := env.Currency
	s.pays = make([]collect.PayRequest, requests*collectMembers)
	err = parallel(ctx, env.Opts.Clients, requests, func(ctx context.Context, i int) error {
		members := make([]uuid.UUID, collectMembers)
		for j := range members {
			members[j] = uuid.New()
		}
		r, err := s.svc.Create(ctx, collect.CreateRequest{Key: "bench", Requester: uuid.New(), Account: requesters[i], Group: uuid.New(),
			Title: "bench", Members: members, Total: ledger.NewMoney(collectMembers*collectShare, cny)})
		if err != nil {
			return err
		}
		for j, m := range members {
			// Request-major order: concurrent clients pay different requests.
			s.pays[j*requests+i] = collect.PayRequest{Request: r.ID, Member: m, Account: payers[(i*collectMembers+j)%len(payers)],
				Amount: ledger.NewMoney(collectShare, cny)}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create the requests: %w", err)
	}
	if env.Opts.Verify {
		s.paid = make([]atomic.Bool, len(s.pays))
	}
	return s.begin()
}

func (s *collects) Client(int, *rand.Rand) Client { return s }

// Do makes the next payment (feature.do), paid again while the store
// fails: the same member's share, which the service pays once.
func (s *collects) Do(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	i := int(s.next.Add(1) - 1)
	if i >= len(s.pays) {
		return 0, errUsedUp
	}
	n, err := s.do(ctx, func(ctx context.Context) error {
		_, err := s.svc.Pay(ctx, s.pays[i])
		return err
	})
	if err == nil && s.paid != nil {
		s.paid[i].Store(true)
	}
	return n, err
}

// Verify checks that every acknowledged payment is on the ledger under its
// derived ID (one transfer per member and request), that every payer and
// requester holds exactly what those payments make it, that the ledger
// verifies, and that each request records every acknowledged share paid.
func (s *collects) Verify(ctx context.Context) (string, error) {
	var want []ledger.Transfer
	byRequest := map[uuid.UUID][]uuid.UUID{}
	for i := range s.paid {
		if !s.paid[i].Load() {
			continue
		}
		p := s.pays[i]
		r, err := s.svc.Request(ctx, p.Request)
		if err != nil {
			return "verify FAILED", err
		}
		want = append(want, ledger.Transfer{ID: s.svc.TransferID(p.Request, p.Member), DebitAccountID: p.Account,
			CreditAccountID: r.Account, Amount: p.Amount})
		byRequest[p.Request] = append(byRequest[p.Request], p.Member)
	}
	var bad []error
	for id, members := range byRequest {
		r, err := s.svc.Request(ctx, id)
		if err != nil {
			return "verify FAILED", err
		}
		for _, m := range members {
			if i, ok := r.Find(m); !ok || r.Shares[i].Status != collect.SharePaid {
				bad = append(bad, fmt.Errorf("request %s: member %s acknowledged but not recorded paid", id, m))
			}
		}
	}
	p, err := s.env.checkPayments(ctx, s.before, want, collectFunds, collectShare)
	if err != nil {
		return "verify FAILED", err
	}
	report := fmt.Sprintf("verify acknowledged=%d unknown=%d requests=%d %s", s.acked.Load(), s.env.unknown.Load(), len(byRequest), p)
	return report, errors.Join(append(bad, p.bad...)...)
}
