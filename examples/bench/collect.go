package main

import (
	"context"
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
	next atomic.Int64
}

func (s *collects) Unit() string { return "pays" }

type anyMember struct{}

func (anyMember) IsMember(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }

func (s *collects) Setup(ctx context.Context, env *Env) error {
	s.setup(ctx, env)
	var store collect.Store // nil: the memory store
	if env.DB != nil {
		store = postgres.NewCollectStore(env.DB)
	}
	var err error
	s.svc, err = collect.New(collect.Config{Ledger: env.Ledger, Store: store, Members: anyMember{},
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
		r, err := s.svc.Create(ctx, collect.CreateRequest{ID: uuid.New(), Requester: uuid.New(), Account: requesters[i], Group: uuid.New(),
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
	return s.do(ctx, func(ctx context.Context) error {
		_, err := s.svc.Pay(ctx, s.pays[i])
		return err
	})
}
