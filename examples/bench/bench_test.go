package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// A short run of every scenario on the memory store verifies.
func TestScenariosVerify(t *testing.T) {
	for _, name := range scenarioNames() {
		for _, group := range []bool{false, true} {
			label := name
			if group {
				label += "/group"
			}
			t.Run(label, func(t *testing.T) {
				c := config{store: "memory", scenario: name, clients: 4, duration: 50 * time.Millisecond,
					progress: time.Hour, accounts: 40, shards: 2, group: group, inflight: 2, seed: 1}
				ctx := context.Background()
				store := ledger.Store(ledger.NewMemoryStore())
				front := store
				if group {
					front = ledger.NewGroupCommit(store, ledger.GroupCommitOptions{})
				}
				env := &Env{Opts: Options{Clients: c.clients, Accounts: c.accounts, Shards: c.shards},
					Ledger: ledger.New(front, ledger.Options{}), Store: front, Currency: ledger.MustCurrency("CNY"), rec: &recorder{}}
				sc := scenarios[name].make()
				if err := sc.Setup(ctx, env); err != nil {
					t.Fatal(err)
				}
				st := drive(ctx, c, sc)
				if st.transfers == 0 || len(st.latencies) == 0 {
					t.Fatalf("no load: %+v", st)
				}
				res, err := env.rec.check(ctx, env.Ledger, lookupFor(store, 2), nil, 2)
				if err != nil || !res.ok() || res.acked != int(st.transfers) || res.missing != 0 {
					t.Fatalf("%v %v (transfers %d)", res, err, st.transfers)
				}
			})
		}
	}
}

// The check finds what a broken store would do: lose an acknowledged
// transfer, apply a refused one, apply part of a request, or commit a
// request's transfers in two transactions.
func TestCheckFindsLosses(t *testing.T) {
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	l := ledger.New(ledger.NewMemoryStore(), ledger.Options{})
	a, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	b, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	tr := func() ledger.Transfer {
		return ledger.Transfer{ID: uuid.New(), DebitAccountID: a.ID, CreditAccountID: b.ID, Amount: ledger.NewMoney(1, cny)}
	}
	stored := map[uuid.UUID]ledger.Transfer{}
	store := func(ts ...ledger.Transfer) {
		for _, t := range ts {
			stored[t.ID] = t
		}
	}
	lookup := func(_ context.Context, ids []uuid.UUID) ([]ledger.Transfer, error) {
		var out []ledger.Transfer
		for _, id := range ids {
			if t, ok := stored[id]; ok {
				out = append(out, t)
			}
		}
		return out, nil
	}
	r := &recorder{}
	// Acknowledged and stored: fine.
	ok1 := tr()
	r.attempt([]ledger.Transfer{ok1}).ack(0)
	store(ok1)
	// Acknowledged, lost.
	lost := tr()
	r.attempt([]ledger.Transfer{lost}).ack(0)
	// Refused, yet stored.
	refused := tr()
	r.attempt([]ledger.Transfer{refused}).answer()
	store(refused)
	// Unanswered, half stored.
	h1, h2 := tr(), tr()
	r.attempt([]ledger.Transfer{h1, h2})
	store(h1)
	// Acknowledged, stored by two commits.
	s1, s2 := tr(), tr()
	q := r.attempt([]ledger.Transfer{s1, s2})
	q.ack(0)
	q.ack(1)
	store(s1, s2)
	commits := func(_ context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
		out := map[uuid.UUID]string{}
		for _, id := range ids {
			if _, ok := stored[id]; ok {
				out[id] = "tx1"
			}
		}
		out[s2.ID] = "tx2"
		return out, nil
	}
	res, err := r.check(ctx, l, lookup, commits, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.ok() || res.missing != 1 || res.refusedPresent != 1 || res.partial != 1 || res.split != 1 || res.acked != 4 {
		t.Fatalf("check missed something: %v", res)
	}
}
