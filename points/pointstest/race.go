package pointstest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/points"
)

// RaceConfig is what RunRace races Services on.
type RaceConfig struct {
	// Ledger and Store are the stores the services run on; Store is
	// required. They may hold other tests' data: the race cases use
	// fresh users and accounts, and earn in January 2025 (lots expiring
	// on 1 March 2025).
	Ledger ledger.Store
	Store  points.Store
	// Iterations is how often each case repeats its scenario before
	// ledgertest.RaceIterations scales it. Default 50.
	Iterations int
}

// raceK is how many identical calls (or contenders) each race case makes
// at once.
const raceK = 4

// RunRace holds Services on the given stores to exactly once under
// concurrent identical requests: raceK calls at once at each boundary
// where the first call changes the answer, each case repeated Iterations
// times (see ledgertest.RaceIterations), from two Services sharing the
// stores (as two processes of one bank), calls alternating between them,
// with the bank's accounts split in two shards (Config.Shards).
// Every call must answer as the winner did, or with the documented error
// of losing the race, and the points and money must add up on a ledger
// that verifies:
//
//   - RedeemExactBalance: one redemption of all of a user's points,
//     retried at once: one operation, paid once, every call gets it —
//     never the insufficient points the first call caused.
//   - ExchangeExactBalance: the same for an exchange out to a partner,
//     and an exchange in retried at once: credited once.
//   - EarnRetried: one earn (a sign-up bonus) retried at once: one credit.
//   - RedeemRacesExpiry: identical redemptions at 1µs before a lot's
//     expiry race sweepers at the instant: either the redemption wins
//     (every call gets it, the sweep expires nothing) or the expiry does
//     (every redemption gets points.ErrInsufficientPoints) — never both.
//   - SweepersAtOnce: sweepers at once over several due lots: each lot
//     expired by one of them, once.
//   - RateVersion: setters of one new rate version at once, half with
//     one value and half with another: one value wins, its setters get it,
//     the others points.ErrRateConflict.
func RunRace(t *testing.T, cfg RaceConfig) {
	if cfg.Iterations <= 0 {
		cfg.Iterations = 50
	}
	tests := []struct {
		name string
		f    func(*testing.T, *raceEnv)
	}{
		{"RedeemExactBalance", testRaceRedeem},
		{"ExchangeExactBalance", testRaceExchange},
		{"EarnRetried", testRaceEarn},
		{"RedeemRacesExpiry", testRaceRedeemExpiry},
		{"SweepersAtOnce", testRaceSweepers},
		{"RateVersion", testRaceRate},
	}
	for _, tt := range tests {
		t.Run("Race/"+tt.name, func(t *testing.T) {
			e := newRaceEnv(t, &cfg)
			tt.f(t, e)
			if _, err := e.l[0].Verify(e.ctx); err != nil {
				t.Fatalf("ledger Verify: %v", err)
			}
		})
	}
}

type raceClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *raceClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *raceClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var (
	raceStart  = time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)
	raceExpiry = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC) // of lots earned in January, lasting 1 month
)

type raceEnv struct {
	t        *testing.T
	ctx      context.Context
	cfg      *RaceConfig
	iters    int
	clocks   [2]*raceClock
	l        [2]*ledger.Ledger
	svc      [2]*points.Service
	conv     uuid.UUID // CNY, funded
	partner  uuid.UUID // XPS, funded
	expired  uuid.UUID
	redeemed uuid.UUID
	pname    string
	redeem   string // the redeem rate's name
}

func newRaceEnv(t *testing.T, cfg *RaceConfig) *raceEnv {
	e := &raceEnv{t: t, ctx: context.Background(), cfg: cfg, iters: ledgertest.RaceIterations(t, cfg.Iterations),
		conv: uuid.New(), partner: uuid.New(), expired: uuid.New(), redeemed: uuid.New(), pname: "card-" + uuid.NewString()[:8]}
	issuance := uuid.New()
	// Both services derive alike (one namespace), of this env's own: the
	// race cases' operation IDs never meet another run's on a shared store.
	ns := uuid.New()
	for i := range e.svc {
		e.clocks[i] = &raceClock{t: raceStart}
		e.l[i] = ledger.New(cfg.Ledger, ledger.Options{Now: e.clocks[i].Now})
		s, err := points.New(points.Config{
			Ledger: e.l[i], Store: cfg.Store, ExpiryMonths: 1,
			Rules:    []points.EarnRule{{Name: "grant", Kind: points.PerAmount, Points: 1, Per: ledger.NewMoney(1, cny)}, {Name: "signup", Kind: points.Fixed, Points: 200}},
			Issuance: issuance, Redeemed: e.redeemed, Expired: e.expired,
			Conversion: map[ledger.Currency]uuid.UUID{cny: e.conv}, Partners: map[string]uuid.UUID{e.pname: e.partner},
			Namespace: ns, Now: e.clocks[i].Now, Shards: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		e.svc[i] = s
	}
	if err := e.svc[0].OpenSystemAccounts(e.ctx); err != nil {
		t.Fatal(err)
	}
	bank := uuid.New()
	e.account(bank, cny, 0)
	e.account(e.partner, points.Unit(), 0)
	for _, c := range e.svc[0].Shards(e.conv) { // two shards: users spread over them
		e.account(c, cny, ledger.DebitsMustNotExceedCredits)
		if _, err := e.l[0].Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: c,
			Amount: ledger.NewMoney(1_000_000_00, cny)}); err != nil {
			t.Fatal(err)
		}
	}
	// Rates of this env's own: redeem/CNY is shared by every env on the
	// store, so this env moves it to a version of its own with 100:1.
	e.redeem = points.RedeemRateName(cny)
	e.setRate(e.redeem, 100, 1)
	e.setRate(points.ExchangeOutRateName(e.pname), 3, 2)
	e.setRate(points.ExchangeInRateName(e.pname), 2, 3)
	return e
}

// setRate sets the next version of name to from:to, whatever versions
// other envs set before.
func (e *raceEnv) setRate(name string, from, to int64) {
	e.t.Helper()
	for {
		v := 0
		if r, err := e.svc[0].Rate(e.ctx, name, 0); err == nil {
			if r.From == from && r.To == to {
				return
			}
			v = r.Version
		}
		_, err := e.svc[0].SetRate(e.ctx, name, v+1, from, to)
		if err == nil {
			return
		}
		if !errors.Is(err, points.ErrRateConflict) {
			e.t.Fatal(err)
		}
	}
}

func (e *raceEnv) account(id uuid.UUID, c ledger.Currency, f ledger.AccountFlags) {
	e.t.Helper()
	if _, err := e.l[0].CreateAccount(e.ctx, ledger.Account{ID: id, Currency: c, Flags: f}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *raceEnv) setClocks(t time.Time) {
	for _, c := range e.clocks {
		c.set(t)
	}
}

// grant earns a new user n points (posted) in January 2025 and returns
// the user with a new CNY wallet.
func (e *raceEnv) grant(n int64) (user, wallet uuid.UUID) {
	e.t.Helper()
	user, wallet = uuid.New(), uuid.New()
	e.account(wallet, cny, ledger.DebitsMustNotExceedCredits)
	op, err := e.svc[0].Earn(e.ctx, points.EarnRequest{User: user, Rule: "grant", Key: "grant", Amount: ledger.NewMoney(n, cny)})
	if err != nil || op.Status != points.StatusPosted || op.Points != n {
		e.t.Fatalf("grant: %+v %v", op, err)
	}
	return user, wallet
}

func (e *raceEnv) net(id uuid.UUID) int64 {
	e.t.Helper()
	a, err := e.l[0].Account(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Balance.Net()
}

// netAll returns the sum of the nets of a bank account's shards.
func (e *raceEnv) netAll(id uuid.UUID) int64 {
	e.t.Helper()
	var n int64
	for _, sh := range e.svc[0].Shards(id) {
		n += e.net(sh)
	}
	return n
}

func (e *raceEnv) statement(user uuid.UUID) points.Statement {
	e.t.Helper()
	st, err := e.svc[0].Statement(e.ctx, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// sameOps fails unless every call answered with one posted operation.
func sameOps(t *testing.T, what string, ops []points.Op, errs []error) points.Op {
	t.Helper()
	for i := range ops {
		if errs[i] != nil {
			t.Fatalf("%s: call %d: %v", what, i, errs[i])
		}
		if ops[i].ID != ops[0].ID || ops[i].Status != points.StatusPosted || ops[i].Points != ops[0].Points ||
			ops[i].Other != ops[0].Other || ops[i].Rate.Version != ops[0].Rate.Version || !ops[i].CreatedAt.Equal(ops[0].CreatedAt) {
			t.Fatalf("%s: call %d got %+v, call 0 got %+v", what, i, ops[i], ops[0])
		}
	}
	return ops[0]
}

func testRaceRedeem(t *testing.T, e *raceEnv) {
	for range e.iters {
		user, wallet := e.grant(1000)
		conv := e.netAll(e.conv)
		req := points.RedeemRequest{User: user, Key: "r1", Points: 1000, Wallet: wallet, Currency: cny}
		ops, errs := ledgertest.Concurrently(raceK, func(i int) (points.Op, error) { return e.svc[i%2].Redeem(e.ctx, req) })
		op := sameOps(t, "redeem", ops, errs)
		if op.Points != 1000 || op.Other != 10 || op.Rate.From != 100 || op.Rate.To != 1 {
			t.Fatalf("redeemed %+v", op)
		}
		st := e.statement(user)
		if e.net(wallet) != 10 || conv-e.netAll(e.conv) != 10 || st.Balance != 0 || st.Spent != 1000 || st.Available != 0 {
			t.Fatalf("wallet %d, conversion paid %d, statement %+v", e.net(wallet), conv-e.netAll(e.conv), st)
		}
	}
}

func testRaceExchange(t *testing.T, e *raceEnv) {
	for range e.iters {
		user, _ := e.grant(9)
		out := points.ExchangeRequest{User: user, Partner: e.pname, Key: "x1", Points: 9}
		ops, errs := ledgertest.Concurrently(raceK, func(i int) (points.Op, error) { return e.svc[i%2].ExchangeOut(e.ctx, out) })
		op := sameOps(t, "exchange out", ops, errs)
		if op.Points != 9 || op.Other != 6 {
			t.Fatalf("exchanged out %+v", op)
		}
		in := points.ExchangeRequest{User: user, Partner: e.pname, Key: "x2", Points: 5}
		ops, errs = ledgertest.Concurrently(raceK, func(i int) (points.Op, error) { return e.svc[i%2].ExchangeIn(e.ctx, in) })
		op = sameOps(t, "exchange in", ops, errs)
		if op.Points != 7 || op.Other != 5 { // 5 card points at 2:3 give 7 (using 5)
			t.Fatalf("exchanged in %+v", op)
		}
		if st := e.statement(user); st.Balance != 7 || st.Available != 7 || st.Earned != 16 || st.Spent != 9 {
			t.Fatalf("statement %+v", st)
		}
	}
}

func testRaceEarn(t *testing.T, e *raceEnv) {
	for range e.iters {
		user := uuid.New()
		req := points.EarnRequest{User: user, Rule: "signup", Key: "signup"}
		ops, errs := ledgertest.Concurrently(raceK, func(i int) (points.Op, error) { return e.svc[i%2].Earn(e.ctx, req) })
		sameOps(t, "earn", ops, errs)
		if st := e.statement(user); st.Balance != 200 || st.Earned != 200 || len(st.Lots) != 1 || st.Lots[0].Remaining != 200 {
			t.Fatalf("statement %+v", st)
		}
	}
}

// sweep clears every lot due at the race expiry (other cases' leftovers),
// so that a case's sweeps see its own lots only.
func (e *raceEnv) sweep() {
	e.t.Helper()
	e.setClocks(raceExpiry)
	if _, err := e.svc[0].Sweep(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	e.setClocks(raceStart)
}

func testRaceRedeemExpiry(t *testing.T, e *raceEnv) {
	e.sweep()
	wins := [2]int{}
	for it := range e.iters {
		user, wallet := e.grant(500)
		e.clocks[0].set(raceExpiry.Add(-time.Microsecond)) // redeemers
		e.clocks[1].set(raceExpiry)                        // sweepers
		req := points.RedeemRequest{User: user, Key: "late", Points: 500, Wallet: wallet, Currency: cny}
		var mu sync.Mutex
		var swept int64
		// Which calls redeem alternates, so that neither side always
		// starts first.
		redeemer := func(i int) bool { return i%2 == it%2 }
		ops, errs := ledgertest.Concurrently(2*raceK, func(i int) (points.Op, error) {
			if redeemer(i) {
				return e.svc[0].Redeem(e.ctx, req)
			}
			rep, err := e.svc[1].Sweep(e.ctx)
			mu.Lock()
			swept += rep.Points
			mu.Unlock()
			return points.Op{}, err
		})
		var reds []points.Op
		var redErrs []error
		for i := range ops {
			if redeemer(i) {
				reds, redErrs = append(reds, ops[i]), append(redErrs, errs[i])
			} else if errs[i] != nil {
				t.Fatalf("sweeper: %v", errs[i])
			}
		}
		st := e.statement(user)
		if redErrs[0] == nil {
			sameOps(t, "redeem before expiry", reds, redErrs)
			if swept != 0 || st.Spent != 500 || st.Expired != 0 || e.net(wallet) != 5 {
				t.Fatalf("redemption won, but swept %d, statement %+v", swept, st)
			}
			wins[0]++
		} else {
			for i, err := range redErrs {
				if !errors.Is(err, points.ErrInsufficientPoints) {
					t.Fatalf("redemption %d after the expiry: %v, want ErrInsufficientPoints", i, err)
				}
			}
			if swept != 500 || st.Expired != 500 || st.Spent != 0 || e.net(wallet) != 0 {
				t.Fatalf("expiry won, but swept %d, statement %+v", swept, st)
			}
			wins[1]++
		}
		if st.Balance != 0 {
			t.Fatalf("balance %d left", st.Balance)
		}
		e.setClocks(raceStart)
	}
	t.Logf("redemption won %d times, expiry %d", wins[0], wins[1])
}

func testRaceSweepers(t *testing.T, e *raceEnv) {
	e.sweep()
	for range max(1, e.iters/5) {
		var users []uuid.UUID
		var total int64
		for i := range 5 {
			u, _ := e.grant(int64(10 + i))
			users = append(users, u)
			total += int64(10 + i)
		}
		before := e.netAll(e.expired)
		e.setClocks(raceExpiry)
		reps, errs := ledgertest.Concurrently(raceK, func(i int) (points.SweepReport, error) { return e.svc[i%2].Sweep(e.ctx) })
		var lots int
		var pts int64
		for i, r := range reps {
			if errs[i] != nil || r.Pending != 0 {
				t.Fatalf("sweeper %d: %+v %v", i, r, errs[i])
			}
			lots, pts = lots+r.Lots, pts+r.Points
		}
		if lots != len(users) || pts != total || e.netAll(e.expired)-before != total {
			t.Fatalf("sweepers expired %d lots, %d points (ledger %d); want %d, %d", lots, pts, e.net(e.expired)-before, len(users), total)
		}
		for i, u := range users {
			if st := e.statement(u); st.Expired != int64(10+i) || st.Balance != 0 || len(st.Lots) != 0 {
				t.Fatalf("user %d: %+v", i, st)
			}
		}
		e.setClocks(raceStart)
	}
}

func testRaceRate(t *testing.T, e *raceEnv) {
	name := points.ExchangeOutRateName(e.pname)
	for range max(1, e.iters/5) {
		r, err := e.svc[0].Rate(e.ctx, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		rates, errs := ledgertest.Concurrently(raceK, func(i int) (points.Rate, error) {
			return e.svc[i%2].SetRate(e.ctx, name, r.Version+1, int64(1+i%2), 1)
		})
		won := -1
		for i := range rates {
			if errs[i] == nil {
				won = i % 2
			}
		}
		for i := range rates {
			switch {
			case i%2 == won && (errs[i] != nil || rates[i].From != int64(1+won) || rates[i].Version != r.Version+1):
				t.Fatalf("winner's setter %d: %+v %v", i, rates[i], errs[i])
			case i%2 != won && !errors.Is(errs[i], points.ErrRateConflict):
				t.Fatalf("loser's setter %d: %+v %v", i, rates[i], errs[i])
			}
		}
	}
}
