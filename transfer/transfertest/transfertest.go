// Package transfertest is the conformance suite every implementation of
// transfer.Store and transfer.Directory runs:
//
//	func TestMemory(t *testing.T) {
//		transfertest.Run(t, func(t testing.TB) transfertest.Env {
//			l := ledger.New(nil, ledger.Options{})
//			return transfertest.Env{Store: transfer.NewMemoryStore(l), Directory: transfer.NewMemoryDirectory(), Ledger: l.Store()}
//		})
//	}
//
// It checks every store rule directly (creation with the limits and the
// running daily total, idempotent retries, single-use lookup tokens, the
// first-time payee fact, compare-and-swap transitions, the scan indexes,
// and each under concurrency), every directory rule (binding, updates by
// the same holder, explicit rebinding, unbinding), and then the service on
// top of the stores and a ledger: limits at, below and above each bound
// through Send, idempotent retries, idempotency keys that are not
// storable text, crashes between the record and the ledger, delayed
// arrival with cancel racing release (and refused once the arrival time
// has come, however late the sweep), chat transfers with
// accept, decline and expiry racing, the day boundary, and ledger.Verify
// after every scenario.
//
// RunLimiter is the suite of a transfer.Limiter's lookup charges (one
// charge per request however many duplicates; another charge, a refused
// one and an expired one charged again).
//
// newEnv is called once per subtest and must return stores that share no
// records with those of other subtests (the sweeps would see them).
package transfertest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/transfer"
)

// Env is what a subtest runs on.
type Env struct {
	Store     transfer.Store
	Directory transfer.Directory
	// Ledger is the ledger's store for the service tests; nil means a new
	// ledger.MemoryStore.
	Ledger ledger.Store
	// NewLimiter returns the lookup limiter of a subtest's service for
	// cfg (its clock is the subtest's); nil means transfer.NewMemoryLimiter.
	// A store with a shared limiter (postgres.LookupLimiter) returns it,
	// so that the race cases hold it to the rules too.
	NewLimiter func(cfg transfer.RateConfig) (transfer.Limiter, error)
	// Paying declares that Store is a transfer.PayingStore whose PaysOn
	// accepts Ledger, so that the service sends in one step of the store:
	// the suite checks that it is, and runs the Paying cases on it. A
	// store that pays on no ledger (the Service's slower path) leaves it
	// false.
	Paying bool
	// RaceIterations is how many times each race case (Race/...) repeats,
	// before ledgertest.RaceIterations applies -short and the long mode;
	// 0 means 40. A store whose iterations are slow sets fewer, to keep
	// its share of CI small, and relies on the long mode.
	RaceIterations int
}

// Start is where the suite's clocks start: 20:00 in Shanghai.
var Start = time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)

// Run runs the suite.
func Run(t *testing.T, newEnv func(t testing.TB) Env) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, newEnv func(testing.TB) Env)
	}{
		{"Store/CreateAndGet", testCreateAndGet},
		{"Store/Idempotency", testStoreIdempotency},
		{"Store/LookupOnce", testLookupOnce},
		{"Store/Limits", testStoreLimits},
		{"Store/DailyTotals", testDailyTotals},
		{"Store/FirstPayee", testFirstPayee},
		{"Store/Transitions", testTransitions},
		{"Store/Scan", testScan},
		{"Store/ConcurrentDailyCap", testConcurrentDailyCap},
		{"Store/ConcurrentCreate", testConcurrentCreate},
		{"Store/ConcurrentTransition", testConcurrentTransition},
		{"Directory/Bind", testBind},
		{"Directory/Rebind", testRebind},
		{"Directory/Unbind", testUnbind},
		{"Directory/ConcurrentBind", testConcurrentBind},
		{"Service/Immediate", testImmediate},
		{"Service/LimitsThroughSend", testLimitsThroughSend},
		{"Service/DefaultPerTransferCap", testDefaultPerTransferCap},
		{"Service/DayBoundary", testDayBoundary},
		{"Service/IdempotentRetries", testIdempotentRetries},
		{"Service/IdempotencyMeaning", testIdempotencyMeaning},
		{"Service/ConcurrentRetries", testConcurrentRetries},
		{"Service/ConcurrentDailyLimit", testConcurrentDailyLimit},
		{"Service/FailedTransfer", testFailedTransfer},
		{"Service/CrashBeforeLedger", testCrashBeforeLedger},
		{"Service/CrashBeforeMark", testCrashBeforeMark},
		{"Service/CrashBeforeHold", testCrashBeforeHold},
		{"Service/LostRaceCompensated", testLostRaceCompensated},
		{"Service/DurableCompensation", testDurableCompensation},
		{"Service/Check", testCheck},
		{"Service/CrashMidResolve", testCrashMidResolve},
		{"Service/ChatDeadlineWithoutHold", testChatDeadlineWithoutHold},
		{"Service/Delayed", testDelayed},
		{"Service/CancelVersusRelease", testCancelVersusRelease},
		{"Service/CancelAfterArrival", testCancelAfterArrival},
		{"Service/IdempotencyKeyText", testIdempotencyKeyText},
		{"Service/ReleasePastStuck", testReleasePastStuck},
		{"Service/ConcurrentSweepers", testConcurrentSweepers},
		{"Service/Chat", testChat},
		{"Service/ChatExpiry", testChatExpiry},
		{"Service/AcceptDeclineExpireRace", testChatRace},
		{"Race/SendExactBalance", testRaceSendExactBalance},
		{"Race/DailyLimitEdge", testRaceDailyLimitEdge},
		{"Race/CancelRelease", testRaceCancelRelease},
		{"Race/CancelReleaseAtArrival", testRaceCancelReleaseAtArrival},
		{"Race/AcceptExpiry", testRaceAcceptExpiry},
		{"Race/Reconcile", testRaceReconcile},
		{"Race/SendByPhoneAtBudget", testRaceSendByPhoneAtBudget},
		{"Race/RefusedSend", testRaceRefusedSend},
		{"Race/RefundOnce", testRaceRefundOnce},
		{"Race/RefundOnRelease", testRaceRefundOnRelease},
		{"Paying/PaysOn", testPaysOn},
		{"Paying/CreatePaid", testCreatePaid},
		{"Paying/Refused", testCreatePaidRefused},
		{"Paying/ResolvePaid", testResolvePaid},
		{"Race/ResolvePaid", testRaceResolvePaid},
		{"Race/CreatePaidExactBalance", testRaceCreatePaidExactBalance},
		{"Race/CreatePaidDailyEdge", testRaceCreatePaidDailyEdge},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newEnv) })
	}
}

// races is how many rounds each race test runs (each round races many
// goroutines on many transfers).
const races = 3

var seq atomic.Int64

// unique returns a string no other call in this process returns.
// uid is the user ID of a test user's name.
func uid(name string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)) }

func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e6, seq.Add(1))
}

func want(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var cny = ledger.MustCurrency("CNY")

func fen(n int64) ledger.Money { return ledger.NewMoney(n, cny) }

func yuan(t testing.TB, s string) ledger.Money {
	t.Helper()
	m, err := ledger.ParseAmount(s, "CNY")
	must(t, err)
	return m
}

// world is a service on a subtest's stores and a ledger, with a manual
// clock.
type world struct {
	t     testing.TB
	ctx   context.Context
	clock *ledgertest.Clock
	l     *ledger.Ledger
	env   Env
	svc   *transfer.Service
	bank  uuid.UUID // the bank's side: funds wallets, may go negative
}

// option adjusts a world before it is built: it may wrap the env's stores
// (fault injection) and change the service's configuration.
type option func(env *Env, cfg *transfer.Config)

func withLimits(l transfer.Limits) option {
	return func(_ *Env, cfg *transfer.Config) { cfg.Limits = l }
}

func newWorld(t testing.TB, newEnv func(testing.TB) Env, opts ...option) *world {
	t.Helper()
	return newRateWorld(t, newEnv, func(rc *transfer.RateConfig) {
		rc.Payer.Capacity = 1 << 20 // the lookups of these tests are not what they test
		rc.Institution.Capacity = 1 << 30
	}, opts...)
}

// newRateWorld is newWorld with the lookup limiter's configuration
// (transfer.DefaultRateConfig on the world's clock) changed by rate.
func newRateWorld(t testing.TB, newEnv func(testing.TB) Env, rate func(*transfer.RateConfig), opts ...option) *world {
	t.Helper()
	env := newEnv(t)
	if env.Ledger == nil {
		env.Ledger = ledger.NewMemoryStore()
	}
	w := &world{t: t, ctx: context.Background(), clock: ledgertest.NewClock(Start)}
	rc := transfer.DefaultRateConfig()
	rate(&rc)
	rc.Now = w.clock.Now
	newLimiter := env.NewLimiter
	if newLimiter == nil {
		newLimiter = func(rc transfer.RateConfig) (transfer.Limiter, error) { return transfer.NewMemoryLimiter(rc) }
	}
	lim, err := newLimiter(rc)
	must(t, err)
	cfg := transfer.Config{
		Limiter:  lim,
		Now:      w.clock.Now,
		TokenKey: []byte("transfertest key: 32 bytes long!"),
		// The cases reconcile the records made up to the clock's reading.
		ReconcileAfter: -1,
	}
	for _, o := range opts {
		o(&env, &cfg)
	}
	w.env = env
	w.l = ledger.New(env.Ledger, ledger.Options{Now: w.clock.Now})
	cfg.Ledger, cfg.Store, cfg.Directory = w.l, env.Store, env.Directory
	w.svc, err = transfer.New(cfg)
	must(t, err)
	w.bank = w.account(0)
	return w
}

func (w *world) account(flags ledger.AccountFlags) uuid.UUID {
	w.t.Helper()
	a, err := w.l.CreateAccount(w.ctx, ledger.Account{ID: uuid.New(), Currency: cny, Code: 1, Flags: flags})
	must(w.t, err)
	return a.ID
}

// user is a bank customer with a wallet and a bound number.
type user struct {
	id    uuid.UUID
	acct  uuid.UUID
	phone string // as typed: national format
	name  string
}

// user creates a customer with a wallet funded with amount and binds a
// fresh number to it.
func (w *world) user(name string, amount ledger.Money) user {
	w.t.Helper()
	u := user{id: uuid.New(), acct: w.account(ledger.DebitsMustNotExceedCredits), name: name}
	n := number() // "+86137…": typed in national format
	u.phone = fmt.Sprintf("%s %s %s", n[3:6], n[6:10], n[10:])
	if amount.IsPositive() {
		_, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: u.acct, Amount: amount})
		must(w.t, err)
	}
	_, err := w.svc.Bind(w.ctx, transfer.BindRequest{Phone: u.phone, Holder: u.id, Account: u.acct, Name: name, VerifiedAt: w.clock.Now()})
	if errors.Is(err, transfer.ErrBoundToOtherHolder) { // a number reused across subtests of a shared directory
		return w.user(name, amount)
	}
	must(w.t, err)
	return u
}

func (w *world) net(acct uuid.UUID) int64 {
	w.t.Helper()
	a, err := w.l.Account(w.ctx, acct)
	must(w.t, err)
	return a.Balance.Net()
}

func (w *world) balance(acct uuid.UUID) ledger.Balance {
	w.t.Helper()
	a, err := w.l.Account(w.ctx, acct)
	must(w.t, err)
	return a.Balance
}

// verify runs ledger.Verify, which must pass after every scenario.
func (w *world) verify() {
	w.t.Helper()
	if _, err := w.l.Verify(w.ctx); err != nil {
		w.t.Fatalf("ledger does not verify: %v", err)
	}
}

// send sends amount from payer to payee by a fresh lookup token.
func (w *world) send(from, to user, amount ledger.Money, arrival transfer.Arrival) (transfer.Receipt, error) {
	w.t.Helper()
	return w.svc.Send(w.ctx, w.request(from, to, amount, arrival))
}

func (w *world) request(from, to user, amount ledger.Money, arrival transfer.Arrival) transfer.Request {
	w.t.Helper()
	res, err := w.svc.Resolve(w.ctx, from.id, to.phone)
	must(w.t, err)
	return transfer.Request{Key: unique("key"), Payer: from.id, From: from.acct, Token: res.Token, Amount: amount, Arrival: arrival}
}

func (w *world) record(id uuid.UUID) transfer.Record {
	w.t.Helper()
	r, err := w.env.Store.Get(w.ctx, id)
	must(w.t, err)
	return r
}
