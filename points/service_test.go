package points_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
)

// lossyStore applies transfers but, while lose is set, reports the store
// failing afterwards: a crash between the ledger's commit and its answer.
type lossyStore struct {
	ledger.Store
	mu   sync.Mutex
	lose bool
}

var errLost = errors.New("test: connection lost after commit")

func (s *lossyStore) losing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lose
}

func (s *lossyStore) CreateTransfer(ctx context.Context, t ledger.Transfer, now time.Time) (ledger.Result, error) {
	r, err := s.Store.CreateTransfer(ctx, t, now)
	if err == nil && r.Err == nil && s.losing() {
		return ledger.Result{}, errLost
	}
	return r, err
}

func (s *lossyStore) CreateTransfers(ctx context.Context, ts []ledger.Transfer, linked bool, now time.Time) ([]ledger.Result, error) {
	rs, err := s.Store.CreateTransfers(ctx, ts, linked, now)
	if err == nil && s.losing() && rs[0].Err == nil {
		return nil, errLost
	}
	return rs, err
}

type world struct {
	t                                   *testing.T
	ctx                                 context.Context
	now                                 time.Time
	ls                                  *lossyStore
	l                                   *ledger.Ledger
	svc                                 *points.Service
	store                               *points.MemoryStore
	bank, conv, partner, wallet, frozen uuid.UUID
	cfg                                 points.Config
}

func (w *world) clock() time.Time { return w.now }

func newWorld(t *testing.T) *world {
	w := &world{t: t, ctx: context.Background(), now: t0, ls: &lossyStore{Store: ledger.NewMemoryStore()},
		store: points.NewMemoryStore(), bank: uuid.New(), conv: uuid.New(), partner: uuid.New(), wallet: uuid.New(), frozen: uuid.New()}
	w.l = ledger.New(w.ls, ledger.Options{Now: w.clock})
	for _, a := range []ledger.Account{{ID: w.bank, Currency: cny}, {ID: w.conv, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits},
		{ID: w.wallet, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}, {ID: w.frozen, Currency: cny},
		{ID: w.partner, Currency: points.Unit()}} {
		if _, err := w.l.CreateAccount(w.ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.l.Freeze(w.ctx, w.frozen); err != nil {
		t.Fatal(err)
	}
	w.cfg = points.Config{Ledger: w.l, Store: w.store, ExpiryMonths: 2, Now: w.clock,
		Rules:    []points.EarnRule{{Name: "grant", Kind: points.PerAmount, Points: 1, Per: ledger.NewMoney(1, cny)}},
		Issuance: uuid.New(), Redeemed: uuid.New(), Expired: uuid.New(),
		Conversion: map[ledger.Currency]uuid.UUID{cny: w.conv}, Partners: map[string]uuid.UUID{"card": w.partner}}
	svc, err := points.New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	if err := svc.OpenSystemAccounts(w.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetRate(w.ctx, points.RedeemRateName(cny), 1, 10, 1); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) fund(fen int64) {
	w.t.Helper()
	if _, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: w.conv, Amount: ledger.NewMoney(fen, cny)}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) earn(user uuid.UUID, key string, n int64) points.Op {
	w.t.Helper()
	op, err := w.svc.Earn(w.ctx, points.EarnRequest{User: user, Rule: "grant", Key: key, Amount: ledger.NewMoney(n, cny)})
	if err != nil {
		w.t.Fatal(err)
	}
	return op
}

func (w *world) net(id uuid.UUID) int64 {
	w.t.Helper()
	a, err := w.l.Account(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return a.Balance.Net()
}

func (w *world) statement(user uuid.UUID) points.Statement {
	w.t.Helper()
	st, err := w.svc.Statement(w.ctx, user)
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func (w *world) verify() {
	w.t.Helper()
	if _, err := w.l.Verify(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

// Bad requests are refused with their error before anything is recorded.
func TestRefusalsRecordNothing(t *testing.T) {
	w := newWorld(t)
	user := uuid.New()
	w.fund(1000)
	w.earn(user, "g", 100)
	closed := uuid.New()
	w.l.CreateAccount(w.ctx, ledger.Account{ID: closed, Currency: cny})
	w.l.Close(w.ctx, closed)
	usd := uuid.New()
	w.l.CreateAccount(w.ctx, ledger.Account{ID: usd, Currency: ledger.MustCurrency("USD")})
	long := string(make([]byte, ledger.MaxKeyLen+1))
	red := func(r points.RedeemRequest) error { _, err := w.svc.Redeem(w.ctx, r); return err }
	ok := points.RedeemRequest{User: user, Key: "r", Points: 50, Wallet: w.wallet, Currency: cny}
	with := func(f func(*points.RedeemRequest)) points.RedeemRequest { r := ok; f(&r); return r }
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"no user", red(with(func(r *points.RedeemRequest) { r.User = uuid.Nil })), points.ErrInvalidRequest},
		{"no key", red(with(func(r *points.RedeemRequest) { r.Key = "" })), points.ErrInvalidRequest},
		{"long key", red(with(func(r *points.RedeemRequest) { r.Key = long })), points.ErrInvalidRequest},
		{"long key: the key check", red(with(func(r *points.RedeemRequest) { r.Key = long })), ledger.ErrInvalidKey},
		{"key with a control character", red(with(func(r *points.RedeemRequest) { r.Key = "r\n" })), ledger.ErrInvalidKey},
		{"zero points", red(with(func(r *points.RedeemRequest) { r.Points = 0 })), points.ErrInvalidRequest},
		{"USD", red(with(func(r *points.RedeemRequest) { r.Currency = ledger.MustCurrency("USD") })), points.ErrInvalidRequest},
		{"missing wallet", red(with(func(r *points.RedeemRequest) { r.Wallet = uuid.New() })), ledger.ErrAccountNotFound},
		{"closed wallet", red(with(func(r *points.RedeemRequest) { r.Wallet = closed })), points.ErrInvalidRequest},
		{"frozen wallet", red(with(func(r *points.RedeemRequest) { r.Wallet = w.frozen })), points.ErrInvalidRequest},
		{"wallet in USD", red(with(func(r *points.RedeemRequest) { r.Wallet = usd })), ledger.ErrCurrencyMismatch},
		{"too few", red(with(func(r *points.RedeemRequest) { r.Points = 9 })), points.ErrTooFewPoints},
		{"too many", red(with(func(r *points.RedeemRequest) { r.Points = 110 })), points.ErrInsufficientPoints},
		{"unknown rule", func() error {
			_, err := w.svc.Earn(w.ctx, points.EarnRequest{User: user, Rule: "nope", Key: "k"})
			return err
		}(), points.ErrUnknownRule},
		{"nothing earned", func() error {
			_, err := w.svc.Earn(w.ctx, points.EarnRequest{User: user, Rule: "grant", Key: "k", Amount: ledger.NewMoney(0, cny)})
			return err
		}(), points.ErrInvalidRequest},
		{"unknown partner", func() error {
			_, err := w.svc.ExchangeOut(w.ctx, points.ExchangeRequest{User: user, Partner: "nope", Key: "k", Points: 5})
			return err
		}(), points.ErrUnknownPartner},
		{"no exchange rate", func() error {
			_, err := w.svc.ExchangeIn(w.ctx, points.ExchangeRequest{User: user, Partner: "card", Key: "k", Points: 5})
			return err
		}(), points.ErrNoRate},
		{"same key, other amount", func() error {
			_, err := w.svc.Earn(w.ctx, points.EarnRequest{User: user, Rule: "grant", Key: "g", Amount: ledger.NewMoney(7, cny)})
			return err
		}(), points.ErrOpConflict},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
		// A refusal wrapped in another sentinel keeps its class, but for
		// a wallet that does not exist: the request is invalid.
		want := c.want.(*errcode.Error).Class()
		if c.want == ledger.ErrAccountNotFound {
			want = errcode.Invalid
		}
		if _, class := errcode.Of(c.err); class != want {
			t.Errorf("%s: %v: errcode.Of class %v, want %v", c.name, c.err, class, want)
		}
	}
	if _, err := w.svc.Redeem(w.ctx, with(func(r *points.RedeemRequest) { r.Points = 9 })); !strings.HasSuffix(err.Error(),
		"points: too few points to convert at this rate: 9 points at redeem/CNY 10:1") {
		t.Errorf("too few points: message %q", err)
	}
	st := w.statement(user)
	if st.Balance != 100 || st.Available != 100 || st.Spent != 0 || w.net(w.wallet) != 0 {
		t.Fatalf("refusals changed something: %+v", st)
	}
	if ops, _ := w.store.Pending(w.ctx, points.OpCursor{}, 10); len(ops) != 0 {
		t.Fatalf("pending ops: %+v", ops)
	}
}

func TestNewValidates(t *testing.T) {
	w := newWorld(t)
	for name, f := range map[string]func(*points.Config){
		"no ledger":         func(c *points.Config) { c.Ledger = nil },
		"no expiry":         func(c *points.Config) { c.ExpiryMonths = 0 },
		"same accounts":     func(c *points.Config) { c.Expired = c.Redeemed },
		"no issuance":       func(c *points.Config) { c.Issuance = uuid.Nil },
		"points conversion": func(c *points.Config) { c.Conversion = map[ledger.Currency]uuid.UUID{points.Unit(): uuid.New()} },
		"bad partner":       func(c *points.Config) { c.Partners = map[string]uuid.UUID{"": uuid.New()} },
		"rule twice":        func(c *points.Config) { c.Rules = append(c.Rules, c.Rules[0]) },
	} {
		cfg := w.cfg
		f(&cfg)
		if _, err := points.New(cfg); !errors.Is(err, points.ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	cfg := w.cfg
	cfg.Rules = []points.EarnRule{{Name: "x", Kind: points.Fixed}}
	if _, err := points.New(cfg); !errors.Is(err, points.ErrInvalidRule) {
		t.Errorf("invalid rule: %v", err)
	}
}

// A redemption the conversion account cannot cover stays pending with its
// points taken; once the bank funds the account, Reconcile pays it, once,
// and a retry of the request answers with it.
func TestPendingThenReconcile(t *testing.T) {
	w := newWorld(t)
	user := uuid.New()
	w.earn(user, "g", 100)
	req := points.RedeemRequest{User: user, Key: "r", Points: 100, Wallet: w.wallet, Currency: cny}
	op, err := w.svc.Redeem(w.ctx, req)
	if !errors.Is(err, points.ErrPending) || !errors.Is(err, ledger.ErrInsufficientFunds) || op.Status != points.StatusPending {
		t.Fatalf("unfunded redemption: %+v %v", op, err)
	}
	if st := w.statement(user); st.Available != 0 || st.Spent != 100 || st.Balance != 100 {
		t.Fatalf("pending: %+v", st)
	}
	if rep, err := w.svc.Reconcile(w.ctx); err != nil || rep.Pending != 1 || rep.Posted != 0 {
		t.Fatalf("reconcile while unfunded: %+v %v", rep, err)
	}
	w.fund(10)
	if rep, err := w.svc.Reconcile(w.ctx); err != nil || rep.Posted != 1 {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	again, err := w.svc.Redeem(w.ctx, req)
	if err != nil || again.ID != op.ID || again.Status != points.StatusPosted {
		t.Fatalf("retry: %+v %v", again, err)
	}
	if st := w.statement(user); w.net(w.wallet) != 10 || w.net(w.conv) != 0 || st.Balance != 0 {
		t.Fatalf("wallet %d, statement %+v", w.net(w.wallet), st)
	}
	w.verify()
}

// A redemption whose wallet closes before it could be paid fails for good
// and gives its points back to their lot.
func TestFailedGivesPointsBack(t *testing.T) {
	w := newWorld(t)
	user := uuid.New()
	w.earn(user, "g", 100)
	op, err := w.svc.Redeem(w.ctx, points.RedeemRequest{User: user, Key: "r", Points: 100, Wallet: w.wallet, Currency: cny})
	if !errors.Is(err, points.ErrPending) {
		t.Fatalf("unfunded: %v", err)
	}
	if _, err := w.l.Close(w.ctx, w.wallet); err != nil {
		t.Fatal(err)
	}
	w.fund(10)
	if rep, err := w.svc.Reconcile(w.ctx); err != nil || rep.Failed != 1 {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	failed, err := w.svc.Op(w.ctx, op.ID)
	if err != nil || failed.Status != points.StatusFailed {
		t.Fatalf("op: %+v %v", failed, err)
	}
	if st := w.statement(user); st.Available != 100 || st.Spent != 0 || st.Balance != 100 || w.net(w.conv) != 10 {
		t.Fatalf("after failure: %+v", st)
	}
	// The request again answers with the failure.
	if _, err := w.svc.Redeem(w.ctx, points.RedeemRequest{User: user, Key: "r", Points: 100, Wallet: w.wallet, Currency: cny}); !errors.Is(err, points.ErrFailed) {
		t.Fatalf("retry of a failed redemption: %v", err)
	}
	w.verify()
}

// The ledger commits but its answer is lost: the earn is pending; its
// retry, and Reconcile, find the transfer applied and credit once.
func TestCrashAndRetryPaysOnce(t *testing.T) {
	w := newWorld(t)
	user := uuid.New()
	w.ls.lose = true
	req := points.EarnRequest{User: user, Rule: "grant", Key: "pay-1", Amount: ledger.NewMoney(40, cny)}
	if _, err := w.svc.Earn(w.ctx, req); !errors.Is(err, points.ErrPending) || !errors.Is(err, errLost) {
		t.Fatalf("lost answer: %v", err)
	}
	w.ls.mu.Lock()
	w.ls.lose = false
	w.ls.mu.Unlock()
	if st := w.statement(user); st.Balance != 40 || st.Available != 0 {
		t.Fatalf("applied, not confirmed: %+v", st)
	}
	op, err := w.svc.Earn(w.ctx, req)
	if err != nil || op.Status != points.StatusPosted {
		t.Fatalf("retry: %+v %v", op, err)
	}
	if rep, err := w.svc.Reconcile(w.ctx); err != nil || rep != (points.ReconcileReport{}) {
		t.Fatalf("nothing left to reconcile: %+v %v", rep, err)
	}
	if st := w.statement(user); st.Balance != 40 || st.Available != 40 || st.Earned != 40 {
		t.Fatalf("after retry: %+v", st)
	}
	w.verify()
}

// Lots by month, spent oldest first, expiring by sweep at the end of the
// ExpiryMonths-th month; a redemption keeps showing the rate version it
// used after the rate changes.
func TestLotsExpiryAndRateHistory(t *testing.T) {
	w := newWorld(t)
	w.fund(1000)
	user := uuid.New()
	w.earn(user, "jan", 30) // January 2026: expires 1 April 2026
	w.now = time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
	w.earn(user, "feb", 50) // expires 1 May
	r1, err := w.svc.Redeem(w.ctx, points.RedeemRequest{User: user, Key: "r1", Points: 40, Wallet: w.wallet, Currency: cny})
	if err != nil || len(r1.Takes) != 2 || r1.Takes[0].Points != 30 || r1.Takes[1].Points != 10 || r1.Other != 4 {
		t.Fatalf("r1: %+v %v", r1, err)
	}
	if _, err := w.svc.SetRate(w.ctx, points.RedeemRateName(cny), 2, 5, 1); err != nil {
		t.Fatal(err)
	}
	r2, err := w.svc.Redeem(w.ctx, points.RedeemRequest{User: user, Key: "r2", Points: 10, Wallet: w.wallet, Currency: cny})
	if err != nil || r2.Rate.Version != 2 || r2.Other != 2 {
		t.Fatalf("r2: %+v %v", r2, err)
	}
	if old, _ := w.svc.Op(w.ctx, r1.ID); old.Rate.Version != 1 || old.Rate.From != 10 {
		t.Fatalf("r1 read back: %+v", old)
	}
	w.now = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	rep, err := w.svc.Sweep(w.ctx)
	if err != nil || rep.Lots != 1 || rep.Points != 30 {
		t.Fatalf("sweep: %+v %v", rep, err)
	}
	if rep, _ := w.svc.Sweep(w.ctx); rep.Lots != 0 {
		t.Fatalf("second sweep: %+v", rep)
	}
	st := w.statement(user)
	if st.Earned != 80 || st.Spent != 50 || st.Expired != 30 || st.Balance != 0 || len(st.Lots) != 0 || w.net(w.cfg.Expired) != 30 || w.net(w.wallet) != 6 {
		t.Fatalf("statement %+v, expired account %d", st, w.net(w.cfg.Expired))
	}
	w.verify()
}

// Exchanges in both directions at their own rates, idempotent per key.
func TestExchangeBothWays(t *testing.T) {
	w := newWorld(t)
	user := uuid.New()
	w.earn(user, "g", 100)
	if _, err := w.svc.SetRate(w.ctx, points.ExchangeOutRateName("card"), 1, 4, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SetRate(w.ctx, points.ExchangeInRateName("card"), 1, 1, 3); err != nil {
		t.Fatal(err)
	}
	out, err := w.svc.ExchangeOut(w.ctx, points.ExchangeRequest{User: user, Partner: "card", Key: "o", Points: 99})
	if err != nil || out.Points != 96 || out.Other != 24 {
		t.Fatalf("out: %+v %v", out, err)
	}
	in, err := w.svc.ExchangeIn(w.ctx, points.ExchangeRequest{User: user, Partner: "card", Key: "i", Points: 10})
	if err != nil || in.Points != 30 || in.Other != 10 {
		t.Fatalf("in: %+v %v", in, err)
	}
	if again, err := w.svc.ExchangeIn(w.ctx, points.ExchangeRequest{User: user, Partner: "card", Key: "i", Points: 10}); err != nil || again.ID != in.ID {
		t.Fatalf("in again: %+v %v", again, err)
	}
	if st := w.statement(user); st.Balance != 34 || st.Earned != 130 || st.Spent != 96 || w.net(w.partner) != 96-30 {
		t.Fatalf("statement %+v, partner %d", st, w.net(w.partner))
	}
	w.verify()
}

// With Shards, a user's operations use one shard of each bank account,
// users spread over the shards, and the shards add up.
func TestShards(t *testing.T) {
	w := newWorld(t)
	cfg := w.cfg
	cfg.Shards = 4
	svc, err := points.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.OpenSystemAccounts(w.ctx); err != nil {
		t.Fatal(err)
	}
	convs := svc.Shards(w.conv)
	if len(convs) != 4 || convs[0] != w.conv || len(svc.Shards(cfg.Redeemed)) != 4 {
		t.Fatalf("conversion shards %v", convs)
	}
	for _, c := range convs[1:] {
		if _, err := w.l.CreateAccount(w.ctx, ledger.Account{ID: c, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range convs {
		if _, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: c, Amount: ledger.NewMoney(100, cny)}); err != nil {
			t.Fatal(err)
		}
	}
	used := map[uuid.UUID]bool{}
	for i := range 40 {
		user := uuid.New()
		e, err := svc.Earn(w.ctx, points.EarnRequest{User: user, Rule: "grant", Key: "g", Amount: ledger.NewMoney(20, cny)})
		if err != nil {
			t.Fatal(err)
		}
		r, err := svc.Redeem(w.ctx, points.RedeemRequest{User: user, Key: "r", Points: 20, Wallet: w.wallet, Currency: cny})
		if err != nil {
			t.Fatalf("user %d: %v", i, err)
		}
		k := points.ShardOf(user, 4)
		if e.Counter != svc.Shards(cfg.Issuance)[k] || r.Counter != svc.Shards(cfg.Redeemed)[k] || r.Conversion != convs[k] {
			t.Fatalf("user %d (shard %d): earn from %s, redeem to %s paid from %s", i, k, e.Counter, r.Counter, r.Conversion)
		}
		used[r.Conversion] = true
	}
	var issued, redeemed, paid int64
	for k := range 4 {
		issued += w.net(svc.Shards(cfg.Issuance)[k])
		redeemed += w.net(svc.Shards(cfg.Redeemed)[k])
		paid += 100 - w.net(convs[k])
	}
	if len(used) != 4 || issued != -800 || redeemed != 800 || paid != 80 || w.net(w.wallet) != 80 {
		t.Fatalf("%d shards used; issued %d, redeemed %d, paid %d", len(used), issued, redeemed, paid)
	}
	cfg.Shards = 1025
	if _, err := points.New(cfg); !errors.Is(err, points.ErrInvalidConfig) {
		t.Fatalf("1025 shards: %v", err)
	}
	w.verify()
}

// A retry answers as its original did, even when a check the original
// passed now fails: here the rate since changed so that the points would
// convert to nothing.
func TestRetryAnswersAsOriginal(t *testing.T) {
	w := newWorld(t)
	w.fund(100)
	user := uuid.New()
	w.earn(user, "g", 100)
	req := points.RedeemRequest{User: user, Key: "r", Points: 100, Wallet: w.wallet, Currency: cny}
	op, err := w.svc.Redeem(w.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SetRate(w.ctx, points.RedeemRateName(cny), 2, 1000, 1); err != nil {
		t.Fatal(err)
	}
	again, err := w.svc.Redeem(w.ctx, req)
	if err != nil || again.ID != op.ID || again.Rate.Version != 1 || again.Other != 10 {
		t.Fatalf("retry after the rate changed: %+v %v", again, err)
	}
	other := req
	other.Key = "r2"
	if _, err := w.svc.Redeem(w.ctx, other); !errors.Is(err, points.ErrTooFewPoints) {
		t.Fatalf("a new request at the new rate: %v", err)
	}
	if w.net(w.wallet) != 10 {
		t.Fatalf("wallet %d", w.net(w.wallet))
	}
}

// A sweep whose ledger answer is lost leaves its expiry pending; a second
// sweep finds nothing more to expire, and Reconcile finishes the expiry,
// moving the points once.
func TestSweepCrashReconcile(t *testing.T) {
	w := newWorld(t)
	user := uuid.New()
	w.earn(user, "g", 70)
	w.now = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC) // January's lot, lasting 2 months, expires now
	w.ls.mu.Lock()
	w.ls.lose = true
	w.ls.mu.Unlock()
	rep, err := w.svc.Sweep(w.ctx)
	if err != nil || rep.Lots != 1 || rep.Pending != 1 {
		t.Fatalf("sweep with a lost answer: %+v %v", rep, err)
	}
	w.ls.mu.Lock()
	w.ls.lose = false
	w.ls.mu.Unlock()
	if rep, err := w.svc.Sweep(w.ctx); err != nil || rep.Lots != 0 {
		t.Fatalf("second sweep: %+v %v", rep, err)
	}
	if rep, err := w.svc.Reconcile(w.ctx); err != nil || rep.Posted != 1 {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	if st := w.statement(user); st.Expired != 70 || st.Balance != 0 || w.net(w.cfg.Expired) != 70 {
		t.Fatalf("statement %+v, expired account %d", st, w.net(w.cfg.Expired))
	}
	w.verify()
}
