package campaigntest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

// RaceConfig is what RunRace races Services on.
type RaceConfig struct {
	// Store and Ledger are the stores the services share (Store is
	// required; a nil Ledger means a new ledger.MemoryStore). They may
	// hold other tests' data: the race cases use fresh IDs and campaigns
	// in 2025.
	Store  campaign.Store
	Ledger ledger.Store
	// Iterations is how often each case repeats before
	// ledgertest.RaceIterations scales it. Default 100.
	Iterations int
}

// raceK is how many identical calls (or contenders) a case makes at once;
// raceInstances how many Services share the stores, the calls alternating
// between them so that no in-process cache or lock hides a race.
const (
	raceK         = 4
	raceInstances = 2
)

// RunRace holds Services on the stores to exactly once under concurrent
// calls at each boundary where the first call changes the answer; every
// call must answer as the winner did, or with the documented error of
// losing the race, never with a refusal the winner caused, and the money
// must add up on a ledger that verifies:
//
//   - TryRetried: one try (campaign, user, seq), sent raceK times at once:
//     one slot, every call gets that try, the prize paid once.
//   - LastPrize: raceK users, each sending their try twice at once, at a
//     campaign with one prize: one user wins (both their calls get the
//     try), every other call gets campaign.ErrSoldOut.
//   - CapEdge: a user one try from the cap sends the last allowed try
//     raceK times, and the one past the cap raceK times, at once: the
//     former all get one try, the latter all campaign.ErrUserCap (or
//     ErrTryOutOfOrder when they overtake the last allowed one).
//   - EndInstant: tries from a clock just before the end race sweepers at
//     the end: every try is recorded before the sweep (and paid) or
//     refused with campaign.ErrClosed; prizes and refund add up to the
//     budget, and the escrow account closes at zero.
//   - SweepersAtOnce: raceK sweepers at once: no error, the unclaimed
//     budget goes back once.
//   - CreateRetried: one create request, sent raceK times at once from a
//     marketing account holding exactly the budget: every call gets the
//     one campaign, open, funded once.
func RunRace(t *testing.T, cfg RaceConfig) {
	if cfg.Iterations <= 0 {
		cfg.Iterations = 100
	}
	if cfg.Ledger == nil {
		cfg.Ledger = ledger.NewMemoryStore()
	}
	tests := []struct {
		name string
		f    func(*testing.T, *raceEnv)
	}{
		{"TryRetried", testRaceTryRetried},
		{"LastPrize", testRaceLastPrize},
		{"CapEdge", testRaceCapEdge},
		{"EndInstant", testRaceEndInstant},
		{"SweepersAtOnce", testRaceSweepers},
		{"CreateRetried", testRaceCreateRetried},
	}
	t.Run("Race", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.f(t, newRaceEnv(t, cfg))
			})
		}
	})
}

// raceOpen is when race campaigns open.
var raceOpen = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type raceEnv struct {
	t     *testing.T
	ctx   context.Context
	l     *ledger.Ledger
	svcs  [raceInstances]*campaign.Service
	clock atomic.Pointer[time.Time]
	iters int
}

func newRaceEnv(t *testing.T, cfg RaceConfig) *raceEnv {
	e := &raceEnv{t: t, ctx: context.Background(), l: ledger.New(cfg.Ledger, ledger.Options{}),
		iters: ledgertest.RaceIterations(t, cfg.Iterations)}
	now := raceOpen
	e.clock.Store(&now)
	lim := campaign.NewMemoryLimiter() // one limiter for every instance, as a shared one is
	for i := range e.svcs {
		s, err := campaign.New(campaign.Config{
			Ledger: e.l, Store: cfg.Store, Limiter: lim,
			Eligibility: campaign.EligibleFunc(func(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }),
			UserRate:    campaign.Rate{Burst: 1000, Every: time.Nanosecond}, DeviceRate: campaign.Rate{Burst: 1000, Every: time.Nanosecond},
			Now: func() time.Time { return *e.clock.Load() },
		})
		if err != nil {
			t.Fatal(err)
		}
		e.svcs[i] = s
	}
	return e
}

func (e *raceEnv) setClock(at time.Time) { e.clock.Store(&at) }

func (e *raceEnv) account(units int64) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	if _, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: id, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
		e.t.Fatal(err)
	}
	if units > 0 {
		bank := uuid.New()
		if _, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: bank, Currency: cny}); err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: id, Amount: ledger.NewMoney(units, cny)}); err != nil {
			e.t.Fatal(err)
		}
	}
	return id
}

func (e *raceEnv) net(id uuid.UUID) int64 {
	e.t.Helper()
	a, err := e.l.Account(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Balance.Net()
}

// request returns a create request of tiers (minor units) from a marketing
// account holding exactly their budget.
func (e *raceEnv) request(caps campaign.Caps, tiers ...campaign.Tier) campaign.CreateRequest {
	e.t.Helper()
	b, err := campaign.Schedule(tiers).Budget()
	if err != nil {
		e.t.Fatal(err)
	}
	req := campaign.CreateRequest{ID: uuid.New(), Name: "race", Marketing: e.account(b),
		OpensAt: raceOpen, EndsAt: raceOpen.Add(time.Hour), Caps: caps}
	for _, tr := range tiers {
		req.Prizes = append(req.Prizes, campaign.PrizeTier{Prize: ledger.NewMoney(tr.Prize, cny), Count: tr.Count})
	}
	return req
}

func (e *raceEnv) create(req campaign.CreateRequest) campaign.Campaign {
	e.t.Helper()
	c, err := e.svcs[0].Create(e.ctx, req)
	if err != nil {
		e.t.Fatalf("Create: %v", err)
	}
	return c
}

func (e *raceEnv) try(i int, c uuid.UUID, user, account uuid.UUID, seq int) (campaign.Try, error) {
	return e.svcs[i%raceInstances].Try(e.ctx, campaign.TryRequest{Campaign: c, User: user, Account: account, Device: "device-" + user.String()[:8], Seq: seq})
}

// finish sweeps the campaign after its end and checks that its escrow is
// closed at zero, the marketing account holds budget − prizes paid, and
// the ledger verifies.
func (e *raceEnv) finish(c campaign.Campaign, paid int64) {
	e.t.Helper()
	if err := e.svcs[1].SweepCampaign(e.ctx, c.ID, c.EndsAt); err != nil {
		e.t.Fatalf("Sweep: %v", err)
	}
	got, err := e.svcs[0].Campaign(e.ctx, c.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if !got.Settled || got.Won != paid {
		e.t.Fatalf("after the sweep: %+v, prizes paid %d", got.State, paid)
	}
	esc, err := e.l.Account(e.ctx, c.Escrow)
	if err != nil || esc.Status != ledger.AccountClosed || esc.Balance.Net() != 0 {
		e.t.Fatalf("escrow %+v %v", esc, err)
	}
	if m := e.net(c.Marketing); m != c.Budget-paid {
		e.t.Fatalf("marketing holds %d, want %d − %d", m, c.Budget, paid)
	}
}

func (e *raceEnv) verify() {
	e.t.Helper()
	if _, err := e.l.Verify(e.ctx); err != nil {
		e.t.Fatalf("Verify: %v", err)
	}
}

func sameAnswers(t *testing.T, what string, got []campaign.Try, errs []error) {
	t.Helper()
	for i := range got {
		if (errs[i] == nil) != (errs[0] == nil) || (errs[i] != nil && !sameErr(errs[i], errs[0])) {
			t.Fatalf("%s: call %d answered %v, call 0 answered %v", what, i, errs[i], errs[0])
		}
		if errs[i] == nil {
			sameTry(t, what, got[i], got[0])
		}
	}
}

func sameErr(a, b error) bool {
	for _, s := range []error{campaign.ErrSoldOut, campaign.ErrUserCap, campaign.ErrClosed, campaign.ErrTryOutOfOrder} {
		if errors.Is(a, s) {
			return errors.Is(b, s)
		}
	}
	return a.Error() == b.Error()
}

func testRaceTryRetried(t *testing.T, e *raceEnv) {
	e.setClock(raceOpen)
	for range e.iters {
		c := e.create(e.request(OneTry, campaign.Tier{Prize: 100, Count: 3}))
		u, w := uuid.New(), e.account(0)
		got, errs := ledgertest.Concurrently(raceK, func(i int) (campaign.Try, error) { return e.try(i, c.ID, u, w, 1) })
		sameAnswers(t, "retried try", got, errs)
		if errs[0] != nil || !got[0].Paid || got[0].Prize != 100 {
			t.Fatalf("try: %+v %v", got[0], errs[0])
		}
		if n := e.net(w); n != 100 {
			t.Fatalf("winner holds %d, want 100", n)
		}
		e.finish(c, 100)
	}
	e.verify()
}

func testRaceLastPrize(t *testing.T, e *raceEnv) {
	e.setClock(raceOpen)
	for range e.iters {
		c := e.create(e.request(OneTry, campaign.Tier{Prize: 100, Count: 1}))
		users, wallets := make([]uuid.UUID, raceK), make([]uuid.UUID, raceK)
		for i := range users {
			users[i], wallets[i] = uuid.New(), e.account(0)
		}
		got, errs := ledgertest.Concurrently(2*raceK, func(i int) (campaign.Try, error) {
			return e.try(i, c.ID, users[i/2], wallets[i/2], 1)
		})
		winners := 0
		for u := range raceK {
			pair, perr := got[2*u:2*u+2], errs[2*u:2*u+2]
			sameAnswers(t, "one user's two calls", pair, perr)
			switch {
			case perr[0] == nil:
				winners++
				if !pair[0].Paid || e.net(wallets[u]) != 100 {
					t.Fatalf("winner: %+v, wallet %d", pair[0], e.net(wallets[u]))
				}
			case !errors.Is(perr[0], campaign.ErrSoldOut):
				t.Fatalf("loser: %v, want ErrSoldOut", perr[0])
			}
		}
		if winners != 1 {
			t.Fatalf("%d winners of one prize", winners)
		}
		e.finish(c, 100)
	}
	e.verify()
}

func testRaceCapEdge(t *testing.T, e *raceEnv) {
	e.setClock(raceOpen)
	caps := campaign.Caps{TriesPerUser: 2, TriesPerDay: 2, WinsPerUser: 2}
	for range e.iters {
		c := e.create(e.request(caps, campaign.Tier{Prize: 100, Count: 4}))
		u, w := uuid.New(), e.account(0)
		if _, err := e.try(0, c.ID, u, w, 1); err != nil {
			t.Fatal(err)
		}
		got, errs := ledgertest.Concurrently(2*raceK, func(i int) (campaign.Try, error) { return e.try(i, c.ID, u, w, 2+i%2) })
		var last, past []campaign.Try
		var lastErr, pastErr []error
		for i := range got {
			if i%2 == 0 {
				last, lastErr = append(last, got[i]), append(lastErr, errs[i])
			} else if !errors.Is(errs[i], campaign.ErrTryOutOfOrder) { // overtook try 2: told so
				past, pastErr = append(past, got[i]), append(pastErr, errs[i])
			}
		}
		sameAnswers(t, "the last allowed try", last, lastErr)
		if lastErr[0] != nil || last[0].Seq != 2 || !last[0].Paid {
			t.Fatalf("last allowed try: %+v %v", last[0], lastErr[0])
		}
		for i := range past {
			wantErr(t, "a try past the cap", pastErr[i], campaign.ErrUserCap)
		}
		if n := e.net(w); n != 200 {
			t.Fatalf("user holds %d, want 200", n)
		}
		e.finish(c, 200)
	}
	e.verify()
}

func testRaceEndInstant(t *testing.T, e *raceEnv) {
	for range e.iters {
		e.setClock(raceOpen)
		c := e.create(e.request(OneTry, campaign.Tier{Prize: 100, Count: 4}, campaign.Tier{Prize: 0, Count: 4}))
		e.setClock(c.EndsAt.Add(-time.Microsecond))
		users := make([]uuid.UUID, 2*raceK)
		wallets := make([]uuid.UUID, 2*raceK)
		for i := range users {
			users[i], wallets[i] = uuid.New(), e.account(0)
		}
		var mu sync.Mutex
		paid := int64(0)
		_, errs := ledgertest.Concurrently(3*raceK, func(i int) (struct{}, error) {
			if i >= 2*raceK {
				return struct{}{}, e.svcs[i%raceInstances].SweepCampaign(e.ctx, c.ID, c.EndsAt)
			}
			tr, err := e.try(i, c.ID, users[i], wallets[i], 1)
			if err == nil {
				mu.Lock()
				paid += tr.Prize
				mu.Unlock()
				if tr.Won() && !tr.Paid {
					return struct{}{}, errors.New("a winning try returned unpaid")
				}
			}
			return struct{}{}, err
		})
		for i, err := range errs {
			if err != nil && !(i < 2*raceK && (errors.Is(err, campaign.ErrClosed) || errors.Is(err, campaign.ErrSoldOut))) {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		for i := range users {
			if tr, err := e.svcs[0].Store().LookupTry(e.ctx, c.ID, users[i], 1); err == nil && e.net(wallets[i]) != tr.Prize {
				t.Fatalf("try %+v, wallet %d", tr, e.net(wallets[i]))
			}
		}
		e.finish(c, paid)
	}
	e.verify()
}

func testRaceSweepers(t *testing.T, e *raceEnv) {
	for range e.iters {
		e.setClock(raceOpen)
		c := e.create(e.request(OneTry, campaign.Tier{Prize: 100, Count: 2}, campaign.Tier{Prize: 0, Count: 2}))
		tr, err := e.try(0, c.ID, uuid.New(), e.account(0), 1)
		if err != nil {
			t.Fatal(err)
		}
		_, errs := ledgertest.Concurrently(raceK, func(i int) (struct{}, error) {
			return struct{}{}, e.svcs[i%raceInstances].SweepCampaign(e.ctx, c.ID, c.EndsAt)
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("sweeper %d: %v", i, err)
			}
		}
		e.finish(c, tr.Prize)
	}
	e.verify()
}

func testRaceCreateRetried(t *testing.T, e *raceEnv) {
	e.setClock(raceOpen)
	for range e.iters {
		req := e.request(OneTry, campaign.Tier{Prize: 100, Count: 2}, campaign.Tier{Prize: 0, Count: 2})
		got, errs := ledgertest.Concurrently(raceK, func(i int) (campaign.Campaign, error) { return e.svcs[i%raceInstances].Create(e.ctx, req) })
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("create %d: %v", i, errs[i])
			}
			if got[i].ID != req.ID || got[i].Status != campaign.StatusOpen || got[i].Commitment != got[0].Commitment {
				t.Fatalf("create %d: %+v", i, got[i])
			}
		}
		if m, esc := e.net(req.Marketing), e.net(got[0].Escrow); m != 0 || esc != 200 {
			t.Fatalf("marketing %d, escrow %d: want 0 and 200", m, esc)
		}
		e.finish(got[0], 0)
	}
	e.verify()
}
