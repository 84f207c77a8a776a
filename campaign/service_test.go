package campaign_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/campaign/campaigntest"
	"github.com/socialpay/socialpay/ledger"
)

var cny = ledger.MustCurrency("CNY")

func yes() campaign.Eligibility {
	return campaign.EligibleFunc(func(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil })
}

// countingStore counts the calls that reach a store.
type countingStore struct {
	campaign.Store
	calls atomic.Int64
}

func (s *countingStore) Try(ctx context.Context, id uuid.UUID, in campaign.TryInput, pay func(campaign.Try) ledger.Transfer) (campaign.TryResult, error) {
	s.calls.Add(1)
	return s.Store.Try(ctx, id, in, pay)
}

func (s *countingStore) Tries(ctx context.Context, id uuid.UUID, after, limit int) ([]campaign.Try, error) {
	s.calls.Add(1)
	return s.Store.Tries(ctx, id, after, limit)
}

func (s *countingStore) Campaign(ctx context.Context, id uuid.UUID) (campaign.Campaign, error) {
	s.calls.Add(1)
	return s.Store.Campaign(ctx, id)
}

// world is a ledger, a service and a clock.
type world struct {
	t   *testing.T
	ctx context.Context
	l   *ledger.Ledger
	s   *campaign.Service
	now atomic.Pointer[time.Time]
}

func newWorld(t *testing.T, store campaign.Store, adjust func(*campaign.Config)) *world {
	w := &world{t: t, ctx: context.Background(), l: ledger.New(nil, ledger.Options{})}
	w.set(t0.Add(-time.Hour))
	cfg := campaign.Config{Ledger: w.l, Store: store, Eligibility: yes(), SingleProcess: true,
		UserRate: campaign.Rate{Burst: 100, Every: time.Nanosecond}, DeviceRate: campaign.Rate{Burst: 100, Every: time.Nanosecond},
		Now: func() time.Time { return *w.now.Load() }}
	if store == nil {
		cfg.Store = campaign.NewMemoryStore(w.l)
	}
	if adjust != nil {
		adjust(&cfg)
	}
	s, err := campaign.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.s = s
	return w
}

func (w *world) set(at time.Time) { w.now.Store(&at) }

func (w *world) account(units int64) uuid.UUID {
	w.t.Helper()
	id := uuid.New()
	if _, err := w.l.CreateAccount(w.ctx, ledger.Account{ID: id, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
		w.t.Fatal(err)
	}
	if units > 0 {
		src := uuid.New()
		if _, err := w.l.CreateAccount(w.ctx, ledger.Account{ID: src, Currency: cny}); err != nil {
			w.t.Fatal(err)
		}
		if _, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: src, CreditAccountID: id, Amount: ledger.NewMoney(units, cny)}); err != nil {
			w.t.Fatal(err)
		}
	}
	return id
}

func (w *world) net(id uuid.UUID) int64 {
	a, err := w.l.Account(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return a.Balance.Net()
}

func (w *world) create(caps campaign.Caps, pairs ...int64) campaign.Campaign {
	w.t.Helper()
	req := campaign.CreateRequest{ID: uuid.New(), Name: "春节抢快乐", OpensAt: t0, EndsAt: t0.Add(time.Hour), Caps: caps}
	var budget int64
	for i := 0; i < len(pairs); i += 2 {
		req.Prizes = append(req.Prizes, campaign.PrizeTier{Prize: ledger.NewMoney(pairs[i], cny), Count: int(pairs[i+1])})
		budget += pairs[i] * pairs[i+1]
	}
	req.Marketing = w.account(budget)
	c, err := w.s.Create(w.ctx, req)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) try(c uuid.UUID, user, account uuid.UUID, seq int) (campaign.Try, error) {
	return w.s.Try(w.ctx, campaign.TryRequest{Campaign: c, User: user, Account: account, Device: "d-" + user.String(), Seq: seq})
}

var one = campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1}

func TestNewRefusesWithoutSharedLimiter(t *testing.T) {
	l := ledger.New(nil, ledger.Options{})
	_, err := campaign.New(campaign.Config{Ledger: l, Store: campaign.NewMemoryStore(l), Eligibility: yes()})
	wantIs(t, "no limiter", err, campaign.ErrInvalidConfig)
	if !strings.Contains(err.Error(), "Limiter") {
		t.Errorf("no limiter: the error does not name the Limiter: %v", err)
	}
	_, err = campaign.New(campaign.Config{Ledger: ledger.New(nil, ledger.Options{}), Eligibility: yes(), SingleProcess: true})
	if err != nil {
		t.Fatalf("single process: %v", err)
	}
	_, err = campaign.New(campaign.Config{Ledger: l, Store: campaign.NewMemoryStore(l), Eligibility: yes(), Limiter: campaign.NewMemoryLimiter(),
		UserRate: campaign.Rate{Burst: 0, Every: time.Second}})
	wantIs(t, "bad rate", err, campaign.ErrInvalidConfig)
	_, err = campaign.New(campaign.Config{Ledger: ledger.New(nil, ledger.Options{}), SingleProcess: true})
	wantIs(t, "no eligibility", err, campaign.ErrInvalidConfig)
}

// A bank runs several instances on one ledger and limiter. Had each made
// up its own MemoryStore, each would keep its own tries, caps and sold
// slots beside the one escrow, and a retried try reaching another
// instance would not be found there. New refuses to make one up unless
// told it is the only instance.
func TestNewRefusesPerInstanceStore(t *testing.T) {
	l := ledger.New(nil, ledger.Options{})
	lim := campaign.NewMemoryLimiter()
	_, err := campaign.New(campaign.Config{Ledger: l, Eligibility: yes(), Limiter: lim})
	wantIs(t, "no store", err, campaign.ErrInvalidConfig)
	for _, option := range []string{"Store", "Config.SingleProcess"} {
		if !strings.Contains(err.Error(), option) {
			t.Errorf("the error does not name %s: %v", option, err)
		}
	}
	// A shared store needs no declaration.
	if _, err := campaign.New(campaign.Config{Ledger: l, Store: campaign.NewMemoryStore(l), Eligibility: yes(), Limiter: lim}); err != nil {
		t.Fatalf("with a store: %v", err)
	}
	// Said explicitly, one process may keep its own.
	svc, err := campaign.New(campaign.Config{Ledger: l, Eligibility: yes(), Limiter: lim, SingleProcess: true})
	if err != nil {
		t.Fatalf("single process: %v", err)
	}
	_, err = svc.Campaign(context.Background(), uuid.New())
	wantIs(t, "lookup on the single process's store", err, campaign.ErrCampaignNotFound)
}

func TestCreateChecksAndIdempotency(t *testing.T) {
	w := newWorld(t, nil, nil)
	m := w.account(1000)
	base := campaign.CreateRequest{ID: uuid.New(), Name: "x", Marketing: m, OpensAt: t0, EndsAt: t0.Add(time.Hour), Caps: one,
		Prizes: []campaign.PrizeTier{{Prize: ledger.NewMoney(100, cny), Count: 10}}}
	for name, c := range map[string]struct {
		f    func(*campaign.CreateRequest)
		want error
	}{
		"long name":   {func(r *campaign.CreateRequest) { r.Name = string(make([]byte, 129)) }, campaign.ErrInvalidRequest},
		"no account":  {func(r *campaign.CreateRequest) { r.Marketing = uuid.Nil }, campaign.ErrInvalidRequest},
		"currency":    {func(r *campaign.CreateRequest) { r.Prizes[0].Prize = ledger.NewMoney(100, ledger.MustCurrency("USD")) }, campaign.ErrUnsupportedCurrency},
		"no prizes":   {func(r *campaign.CreateRequest) { r.Prizes = nil }, campaign.ErrInvalidSchedule},
		"caps":        {func(r *campaign.CreateRequest) { r.Caps = campaign.Caps{} }, campaign.ErrInvalidCaps},
		"window":      {func(r *campaign.CreateRequest) { r.EndsAt = r.OpensAt }, campaign.ErrInvalidWindow},
		"overflowing": {func(r *campaign.CreateRequest) { r.Prizes[0].Count = 1 << 30 }, campaign.ErrInvalidSchedule},
	} {
		r := base
		r.ID = uuid.New()
		r.Prizes = append([]campaign.PrizeTier(nil), base.Prizes...)
		c.f(&r)
		_, err := w.s.Create(w.ctx, r)
		wantIs(t, name, err, c.want)
	}
	if w.net(m) != 1000 {
		t.Fatal("a refused create moved money")
	}
	c, err := w.s.Create(w.ctx, base)
	if err != nil || c.Status != campaign.StatusOpen || c.Seed != (campaign.Seed{}) {
		t.Fatalf("create: %+v %v (the seed must stay secret)", c, err)
	}
	if _, err := w.s.Create(w.ctx, base); err != nil {
		t.Fatalf("create again: %v", err)
	}
	other := base
	other.Name = "y"
	_, err = w.s.Create(w.ctx, other)
	wantIs(t, "same ID, other content", err, campaign.ErrCampaignConflict)
	if w.net(m) != 0 || w.net(c.Escrow) != 1000 {
		t.Fatalf("marketing %d, escrow %d", w.net(m), w.net(c.Escrow))
	}
	// Not enough money: cancelled, nothing moved, the ID spent.
	poor := base
	poor.ID, poor.Marketing = uuid.New(), w.account(999)
	_, err = w.s.Create(w.ctx, poor)
	wantIs(t, "insufficient funds", err, campaign.ErrCancelled)
	wantIs(t, "insufficient funds", err, ledger.ErrInsufficientFunds)
	_, err = w.s.Create(w.ctx, poor)
	wantIs(t, "create a cancelled campaign again", err, campaign.ErrCancelled)
}

// TestFastPath: before opening, and once the campaign is sold out, a new
// try is answered from memory: no store call. A try the user made is
// still answered with the recorded try.
func TestFastPath(t *testing.T) {
	cs := &countingStore{Store: nil}
	w := newWorld(t, nil, func(c *campaign.Config) { cs.Store = c.Store; c.Store = cs })
	c := w.create(campaign.Caps{TriesPerUser: 3, TriesPerDay: 3, WinsPerUser: 3}, 100, 2, 0, 2)
	u := uuid.New()
	_, err := w.try(c.ID, u, w.account(0), 1) // loads the campaign once
	wantIs(t, "before opening", err, campaign.ErrNotOpen)
	before := cs.calls.Load()
	for range 10 {
		_, err := w.try(c.ID, uuid.New(), uuid.New(), 1)
		wantIs(t, "before opening", err, campaign.ErrNotOpen)
	}
	if cs.calls.Load() != before {
		t.Fatal("tries before opening reached the store")
	}
	w.set(t0)
	var mine []campaign.Try
	acct := w.account(0)
	for seq := 1; ; seq++ {
		tr, err := w.try(c.ID, u, acct, seq)
		if err != nil {
			wantIs(t, "sold out", err, campaign.ErrSoldOut)
			break
		}
		mine = append(mine, tr)
		for seq == 3 {
			if _, err := w.try(c.ID, uuid.New(), w.account(0), 1); err != nil {
				wantIs(t, "sold out", err, campaign.ErrSoldOut)
				break
			}
		}
	}
	_, err = w.try(c.ID, uuid.New(), uuid.New(), 1) // loads the final counts once
	wantIs(t, "late", err, campaign.ErrSoldOut)
	before = cs.calls.Load()
	for range 100 {
		_, err := w.try(c.ID, uuid.New(), uuid.New(), 1)
		wantIs(t, "late", err, campaign.ErrSoldOut)
	}
	if n := cs.calls.Load() - before; n != 0 {
		t.Fatalf("100 late taps made %d store calls", n)
	}
	for _, want := range mine {
		got, err := w.try(c.ID, u, acct, want.Seq)
		if err != nil || got.Slot != want.Slot || got.Prize != want.Prize {
			t.Fatalf("retry after selling out: %+v %v, want %+v", got, err, want)
		}
	}
}

func TestRateLimitAndEligibility(t *testing.T) {
	banned := uuid.New()
	w := newWorld(t, nil, func(c *campaign.Config) {
		c.UserRate = campaign.Rate{Burst: 2, Every: time.Minute}
		c.DeviceRate = campaign.Rate{Burst: 2, Every: time.Minute}
		c.Eligibility = campaign.EligibleFunc(func(_ context.Context, _, u uuid.UUID) (bool, error) { return u != banned, nil })
	})
	c := w.create(campaign.Caps{TriesPerUser: 5, TriesPerDay: 5, WinsPerUser: 5}, 100, 5, 0, 5)
	w.set(t0)
	u, a := uuid.New(), w.account(0)
	for seq := 1; seq <= 2; seq++ {
		if _, err := w.try(c.ID, u, a, seq); err != nil {
			t.Fatal(err)
		}
	}
	_, err := w.try(c.ID, u, a, 3)
	wantIs(t, "third try in a minute", err, campaign.ErrRateLimited)
	var rl *campaign.RateLimitError
	if !errors.As(err, &rl) || rl.Wait != time.Minute {
		t.Fatalf("rate limit error %v", err)
	}
	w.set(t0.Add(time.Minute))
	if tr, err := w.try(c.ID, u, a, 3); err != nil || tr.Slot != 2 {
		t.Fatalf("after a minute: %+v %v", tr, err)
	}
	_, err = w.try(c.ID, banned, a, 1)
	wantIs(t, "banned", err, campaign.ErrNotEligible)
	// Devices: another user on a device that made 2 tries is refused.
	d := campaign.TryRequest{Campaign: c.ID, User: uuid.New(), Account: a, Device: "shared", Seq: 1}
	for range 2 {
		d.User = uuid.New()
		if _, err := w.s.Try(w.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	d.User = uuid.New()
	_, err = w.s.Try(w.ctx, d)
	wantIs(t, "third user on one device", err, campaign.ErrRateLimited)
	for _, bad := range []campaign.TryRequest{
		{Campaign: c.ID, User: u, Account: a, Device: "", Seq: 1},
		{Campaign: c.ID, User: u, Account: a, Device: string(make([]byte, 65)), Seq: 1},
		{Campaign: c.ID, User: u, Account: a, Device: "x\x00", Seq: 1},
		{Campaign: c.ID, User: u, Account: a, Device: "x", Seq: 0},
		{Campaign: c.ID, User: u, Account: uuid.Nil, Device: "x", Seq: 1},
	} {
		_, err := w.s.Try(w.ctx, bad)
		wantIs(t, "bad request", err, campaign.ErrInvalidRequest)
	}
	if got, _ := w.s.Campaign(w.ctx, c.ID); got.Taken != 5 {
		t.Fatalf("taken %d, want 5", got.Taken)
	}
}

// TestForfeitPendingReconcile: on a store that records only, a winner's
// closed wallet forfeits the prize (back to marketing), a frozen one
// leaves it pending until Reconcile pays it; a crash between recording
// and paying is Reconcile's too. The campaign then settles at zero.
func TestForfeitPendingReconcile(t *testing.T) {
	for _, paying := range []bool{false, true} {
		w := newWorld(t, nil, func(c *campaign.Config) {
			if !paying {
				c.Store = campaign.NewMemoryStore(nil)
			}
		})
		c := w.create(one, 100, 3)
		w.set(t0)
		closed, frozen := w.account(0), w.account(0)
		if _, err := w.l.Close(w.ctx, closed); err != nil {
			t.Fatal(err)
		}
		if _, err := w.l.Freeze(w.ctx, frozen); err != nil {
			t.Fatal(err)
		}
		tr, err := w.try(c.ID, uuid.New(), closed, 1)
		wantIs(t, "closed wallet", err, campaign.ErrPrizeForfeited)
		if !tr.Forfeited || w.net(c.Marketing) != 100 {
			t.Fatalf("forfeited try %+v, marketing %d", tr, w.net(c.Marketing))
		}
		fu := uuid.New()
		_, err = w.try(c.ID, fu, frozen, 1)
		wantIs(t, "frozen wallet", err, campaign.ErrPaymentPending)
		// A crash after recording, before paying: the store knows a try the
		// ledger has not seen.
		cu, ca := uuid.New(), w.account(0)
		if _, err := w.s.Store().Try(w.ctx, c.ID, campaign.TryInput{User: cu, Account: ca, Seq: 1, At: t0}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := w.l.Unfreeze(w.ctx, frozen); err != nil {
			t.Fatal(err)
		}
		rep, err := w.s.Reconcile(w.ctx, t0.Add(time.Hour))
		if err != nil || rep.Paid != 2 {
			t.Fatalf("Reconcile: %+v %v", rep, err)
		}
		if w.net(frozen) != 100 || w.net(ca) != 100 {
			t.Fatalf("wallets %d and %d after Reconcile", w.net(frozen), w.net(ca))
		}
		if again, err := w.try(c.ID, fu, frozen, 1); err != nil || !again.Paid {
			t.Fatalf("retry after Reconcile: %+v %v", again, err)
		}
		if _, err := w.s.Sweep(w.ctx, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, _ := w.s.Campaign(w.ctx, c.ID)
		if !got.Settled || w.net(c.Escrow) != 0 || w.net(c.Marketing) != 100 {
			t.Fatalf("paying=%v: %+v, escrow %d, marketing %d", paying, got.State, w.net(c.Escrow), w.net(c.Marketing))
		}
		seed, err := w.s.Reveal(w.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		log, _ := w.s.Log(w.ctx, c.ID, -1, 100)
		if err := campaign.Audit(got.Schedule, c.Commitment, seed, log); err != nil {
			t.Fatal(err)
		}
		if _, err := w.l.Verify(w.ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReconcileFunding: a create that crashed after recording the
// campaign is opened by Reconcile when its budget reached escrow and
// cancelled (escrow closed, so a late funding transfer is refused) when
// it did not.
func TestReconcileFunding(t *testing.T) {
	w := newWorld(t, nil, func(c *campaign.Config) { c.ReconcileAfter = -1 })
	d := campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1}
	mk := func() campaign.Campaign {
		c := campaignFor(t, w, d)
		if _, err := w.s.Store().Create(w.ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	funded, unfunded := mk(), mk()
	if _, err := w.l.CreateAccount(w.ctx, ledger.Account{ID: funded.Escrow, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: w.s.FundTransferID(funded.ID), DebitAccountID: funded.Marketing,
		CreditAccountID: funded.Escrow, Amount: ledger.NewMoney(funded.Budget, cny)}); err != nil {
		t.Fatal(err)
	}
	rep, err := w.s.Reconcile(w.ctx, t0)
	if err != nil || rep.Funded != 1 || rep.Cancelled != 1 {
		t.Fatalf("Reconcile: %+v %v", rep, err)
	}
	_, err = w.l.Transfer(w.ctx, ledger.Transfer{ID: w.s.FundTransferID(unfunded.ID), DebitAccountID: unfunded.Marketing,
		CreditAccountID: unfunded.Escrow, Amount: ledger.NewMoney(unfunded.Budget, cny)})
	wantIs(t, "late funding", err, ledger.ErrAccountClosed)
}

// campaignFor builds a funding campaign with the service's derived escrow.
func campaignFor(t *testing.T, w *world, caps campaign.Caps) campaign.Campaign {
	t.Helper()
	c := newCampaign(t, sched(100, 2), caps)
	c.Escrow = w.s.EscrowAccountID(c.ID)
	c.Marketing = w.account(c.Budget)
	return *c
}

// TestStorm: a crowd of goroutines taps at the opening instant, every one
// released at once (campaigntest.Storm), on a MemoryStore that pays in its
// own step: 100,000 goroutines in a plain run, 20,000 with -short, 5,000
// under -race (the race detector's cost per goroutine).
func TestStorm(t *testing.T) {
	n := 100_000
	switch {
	case raceEnabled:
		n = 5_000
	case testing.Short():
		n = 20_000
	}
	campaigntest.Storm(t, campaigntest.StormConfig{Taps: n})
}
