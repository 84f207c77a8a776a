// Package ledgertest is the conformance suite every ledger.Store runs:
//
//	func TestMemoryStore(t *testing.T) {
//		ledgertest.Run(t, func(t testing.TB) ledger.Store { return ledger.NewMemoryStore() })
//	}
//
// The suite drives the store through a ledger.Ledger with a controlled
// clock and checks every rule: exact balances, idempotency, linked batches,
// two-phase transfers with expiry, reversals, account life cycle, history
// and balance as of a past time, Verify, concurrency (a thousand goroutines
// on one wallet, retries from many goroutines, overlapping linked batches)
// and a model-based property test against a tiny reference model.
//
// newStore is called for every subtest and for every iteration of the
// model test. It may hand out the same store each time (the suite uses
// fresh random IDs and never assumes the store is empty), but a fresh one
// keeps the model test's Verify after every step cheap.
package ledgertest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// Clock is a manual clock for tests: it starts at a fixed instant and moves
// only when told.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Start is where every suite clock starts.
var Start = time.Date(2026, 1, 28, 20, 0, 0, 0, time.UTC)

// env is one subtest's world.
type env struct {
	t     testing.TB
	ctx   context.Context
	store ledger.Store
	l     *ledger.Ledger
	clock *Clock
	cny   ledger.Currency

	newStore func(testing.TB) ledger.Store
}

func newEnv(t testing.TB, newStore func(testing.TB) ledger.Store) *env {
	t.Helper()
	clock := NewClock(Start)
	s := newStore(t)
	return &env{
		t: t, ctx: context.Background(), store: s, clock: clock,
		l:        ledger.New(s, ledger.Options{Now: clock.Now}),
		cny:      ledger.MustCurrency("CNY"),
		newStore: newStore,
	}
}

func (e *env) money(s string) ledger.Money {
	e.t.Helper()
	m, err := ledger.ParseMoney(s, "CNY")
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// account creates an account of currency CNY with the given flags.
func (e *env) account(flags ledger.AccountFlags) uuid.UUID {
	e.t.Helper()
	a, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: uuid.New(), Currency: e.cny, Code: 1, Flags: flags})
	if err != nil {
		e.t.Fatalf("create account: %v", err)
	}
	return a.ID
}

// wallet creates a wallet that cannot go negative, funded with amount from
// a fresh source account (which may go negative: the bank's side).
func (e *env) wallet(amount string) uuid.UUID {
	e.t.Helper()
	w := e.account(ledger.DebitsMustNotExceedCredits)
	if amount != "" && amount != "0" {
		src := e.account(0)
		e.mustTransfer(ledger.Transfer{ID: uuid.New(), DebitAccountID: src, CreditAccountID: w, Amount: e.money(amount)})
	}
	return w
}

func (e *env) mustTransfer(t ledger.Transfer) ledger.Transfer {
	e.t.Helper()
	out, err := e.l.Transfer(e.ctx, t)
	if err != nil {
		e.t.Fatalf("transfer %s: %v", t.ID, err)
	}
	return out
}

func (e *env) pay(from, to uuid.UUID, amount string) (ledger.Transfer, error) {
	return e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: from, CreditAccountID: to, Amount: e.money(amount)})
}

func (e *env) get(id uuid.UUID) ledger.Account {
	e.t.Helper()
	a, err := e.l.Account(e.ctx, id)
	if err != nil {
		e.t.Fatalf("account %s: %v", id, err)
	}
	return a
}

// balance checks an account's four totals (in minor units).
func (e *env) balance(id uuid.UUID, want ledger.Balance) {
	e.t.Helper()
	if got := e.get(id).Balance; got != want {
		e.t.Fatalf("account %s balance\n got %+v\nwant %+v", id, got, want)
	}
}

// net checks a credit-normal account's posted balance in minor units.
func (e *env) net(id uuid.UUID, want int64) {
	e.t.Helper()
	if got := e.get(id).Balance.Net(); got != want {
		e.t.Fatalf("account %s net balance %d, want %d", id, got, want)
	}
}

func (e *env) verify() ledger.VerifyReport {
	e.t.Helper()
	r, err := e.l.Verify(e.ctx)
	if err != nil {
		e.t.Fatalf("verify: %v", err)
	}
	return r
}

// Run runs the whole conformance suite against stores made by newStore.
func Run(t *testing.T, newStore func(testing.TB) ledger.Store) {
	t.Helper()
	run(t, newStore, func(string) bool { return true })
}

// RunRaces runs the suite's concurrency cases only (Concurrent…, Race…):
// for a store already held to Run in one layout and tested again in
// another (many ledgers on one database, see package cell), where only
// what runs at once can differ.
func RunRaces(t *testing.T, newStore func(testing.TB) ledger.Store) {
	t.Helper()
	run(t, newStore, func(name string) bool {
		return strings.HasPrefix(name, "Concurrent") || strings.HasPrefix(name, "Race")
	})
}

func run(t *testing.T, newStore func(testing.TB) ledger.Store, pick func(name string) bool) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"Accounts", testAccounts},
		{"ImmediateTransfer", testImmediate},
		{"Validation", testValidation},
		{"BalanceLimits", testBalanceLimits},
		{"Idempotency", testIdempotency},
		{"LinkedBatch", testLinked},
		{"IndependentBatch", testIndependentBatch},
		{"TwoPhase", testTwoPhase},
		{"PendingTimeout", testPendingTimeout},
		{"ExpireMany", testExpireMany},
		{"Reversal", testReversal},
		{"AccountLifeCycle", testLifeCycle},
		{"HistoryAndBalanceAt", testHistory},
		{"Anchors", testAnchors},
		{"Overflow", testOverflow},
		{"ConcurrentWallet", testConcurrentWallet},
		{"ConcurrentRetries", testConcurrentRetries},
		{"ConcurrentResolve", testConcurrentResolve},
		{"ConcurrentLinked", testConcurrentLinked},
		{"RaceExactBalance", testRaceExactBalance},
		{"RaceLinkedExactBalance", testRaceLinkedExactBalance},
		{"RaceResolve", testRaceResolve},
		{"RaceReversal", testRaceReversal},
		{"Model", testModel},
	} {
		if !pick(tc.name) {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newEnv(t, newStore))
		})
	}
}
