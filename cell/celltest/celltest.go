// Package celltest is the conformance suite of payments between cells: it
// runs cell.Cells over the stores a backend gives it (n ledgers and n
// payment stores, one pair per cell) and checks every promise of
// cell.Cells and cell.Store:
//
//	func TestCells(t *testing.T) {
//		celltest.Run(t, func(t testing.TB, n int) celltest.Stores {
//			… n ledger.MemoryStore, cell.MemoryStore and redpacket.MemoryStore …
//		})
//	}
//
// Payments within and between cells, idempotent retries and conflicts,
// red packets claimed across cells (cell.Packets),
// refusals on either side (failed, reversed, and fenced so that a late
// copy of the refused step can never land), K identical payments at once
// at the payer's exact balance (ledgertest.Concurrently), a crash injected
// before and after every step of a payment followed by a retry or by
// Reconcile, and the clearing check, which must hold after every case and
// must catch money created between cells.
package celltest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/redpacket"
)

// Stores are the stores of n cells, in the order of Names.
type Stores struct {
	Names   []string
	Ledgers []ledger.Store
	Records []cell.Store
	// Packets are the cells' red packet stores, each beside its cell's
	// ledger store (on PostgreSQL, in the same schema).
	Packets []redpacket.Store
}

// Run runs the suite. newStores returns the stores of n fresh cells (n is
// 3); it is called once per subtest, and the subtests run in parallel.
func Run(t *testing.T, newStores func(t testing.TB, n int) Stores) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"Store", testStore},
		{"WithinCell", testWithin},
		{"AcrossCells", testAcross},
		{"Idempotency", testIdempotency},
		{"HoldRefused", testHoldRefused},
		{"CreditRefused", testCreditRefused},
		{"PostRefused", testPostRefused},
		{"RaceExactBalance", testRaceExactBalance},
		{"RaceRefusals", testRaceRefusals},
		{"RaceReconcile", testRaceReconcile},
		{"ConcurrentPayments", testConcurrentPayments},
		{"CrashEveryStep", testCrashEveryStep},
		{"ReconcileAbandons", testReconcileAbandons},
		{"ClearingCatchesCreatedMoney", testClearingCatches},
		{"PacketAcrossCells", testPacketAcross},
		{"PacketCrashBetweenClaimAndForward", testPacketCrash},
		{"PacketSoldOutExpiredRefunded", testPacketRefunds},
		{"PacketShareReturned", testPacketReturned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newEnv(t, newStores(t, 3)))
		})
	}
}

// env is one subtest's world: three cells, a clock, and Cells over them.
type env struct {
	t       testing.TB
	ctx     context.Context
	stores  Stores
	clock   *ledgertest.Clock
	cny     ledger.Currency
	router  *cell.Router
	c       *cell.Cells
	other   *cell.Cells   // a second instance on the same stores
	pk      *cell.Packets // red packets over c
	pkOther *cell.Packets // red packets over other
	members *redpacket.MemoryMembers
	users   map[string][]uuid.UUID // cell → users routed to it
	bank    map[string]uuid.UUID
}

func newEnv(t testing.TB, s Stores) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), stores: s, clock: ledgertest.NewClock(ledgertest.Start),
		cny: ledger.MustCurrency("CNY"), users: map[string][]uuid.UUID{}, bank: map[string]uuid.UUID{}}
	r, err := cell.NewRouter(s.Names...)
	if err != nil {
		t.Fatal(err)
	}
	e.router = r
	for i := 0; len(e.users) < len(s.Names) || i < 64; i++ {
		u := ledger.DeriveID(uuid.NameSpaceOID, "celltest user", fmt.Sprint(i))
		c := r.Cell(u)
		e.users[c] = append(e.users[c], u)
	}
	e.c, e.other = e.cells(nil), e.cells(nil)
	e.members = &redpacket.MemoryMembers{}
	e.pk, e.pkOther = e.packets(e.c), e.packets(e.other)
	return e
}

// packets returns Packets over c, with a redpacket.Service on each of
// its cells' ledgers and the env's red packet stores: one process's.
func (e *env) packets(c *cell.Cells) *cell.Packets {
	e.t.Helper()
	key, err := redpacket.NewPasswordKey([]byte("celltest password key, 32 bytes!"))
	if err != nil {
		e.t.Fatal(err)
	}
	svcs := map[string]*redpacket.Service{}
	for i, name := range e.stores.Names {
		svc, err := redpacket.New(redpacket.Config{Ledger: c.Cell(name).Ledger, Store: e.stores.Packets[i], Members: e.members,
			Now: e.clock.Now, PasswordKey: key})
		if err != nil {
			e.t.Fatal(err)
		}
		svcs[name] = svc
	}
	ps, err := cell.NewPackets(c, svcs)
	if err != nil {
		e.t.Fatal(err)
	}
	return ps
}

// packetInstance is instance's Packets.
func (e *env) packetInstance(i int) *cell.Packets {
	if i%2 == 1 {
		return e.pkOther
	}
	return e.pk
}

// reconcile runs every reconciliation as of now: each cell's red
// packets, the payments between cells, the forwards of shares.
func (e *env) reconcile(now time.Time) cell.ForwardReport {
	e.t.Helper()
	for _, name := range e.stores.Names {
		if _, err := e.pk.Service(name).Reconcile(e.ctx, now); err != nil {
			e.t.Fatalf("cell %s: red packets: %v", name, err)
		}
	}
	if _, err := e.c.Reconcile(e.ctx, now); err != nil {
		e.t.Fatal(err)
	}
	rep, err := e.pk.Reconcile(e.ctx, now)
	if err != nil {
		e.t.Fatalf("forwards: %+v %v", rep, err)
	}
	return rep
}

// instance returns the env's Cells for call i of a race: the even calls
// go through one, the odd through another on the same stores (a second
// instance of the service, sharing nothing with the first in process).
func (e *env) instance(i int) *cell.Cells {
	if i%2 == 1 {
		return e.other
	}
	return e.c
}

// cells returns Cells over the env's stores, each wrapped by wrap when it
// is not nil (a process that may crash).
func (e *env) cells(wrap *crasher) *cell.Cells {
	e.t.Helper()
	var cs []cell.Cell
	for i, name := range e.stores.Names {
		var ls ledger.Store = e.stores.Ledgers[i]
		var rs cell.Store = e.stores.Records[i]
		if wrap != nil {
			if !wrap.recordsOnly {
				ls = wrap.ledger(ls)
			}
			rs = wrap.records(rs)
		}
		cs = append(cs, cell.Cell{Name: name, Ledger: ledger.New(ls, ledger.Options{Now: e.clock.Now}), Store: rs})
	}
	c, err := cell.New(cell.Config{Router: e.router, Cells: cs, Now: e.clock.Now, ClearingShards: 4})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) money(s string) ledger.Money {
	e.t.Helper()
	m, err := ledger.ParseMoney(s, "CNY")
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// user returns the i-th user of cell n (an index into Names).
func (e *env) user(n, i int) uuid.UUID {
	e.t.Helper()
	us := e.users[e.stores.Names[n]]
	for len(us) <= i {
		e.t.Fatalf("cell %s has %d users", e.stores.Names[n], len(us))
	}
	return us[i]
}

func (e *env) ledgerOf(user uuid.UUID) *ledger.Ledger { return e.c.CellOf(user).Ledger }

// composes reports whether user's cell's payment store makes the hold,
// post and void in its own transactions (cell.Store.PaysOn).
func (e *env) composes(user uuid.UUID) bool {
	c := e.c.CellOf(user)
	return c.Store.PaysOn(c.Ledger.Store())
}

// wallet creates a wallet of user in the user's cell holding amount, paid
// from the cell's own source account.
func (e *env) wallet(user uuid.UUID, amount string) uuid.UUID {
	e.t.Helper()
	l := e.ledgerOf(user)
	w, err := l.CreateAccount(e.ctx, ledger.Account{ID: uuid.New(), Currency: e.cny, Flags: ledger.DebitsMustNotExceedCredits})
	if err != nil {
		e.t.Fatal(err)
	}
	if amount != "" && amount != "0" {
		name := e.c.CellOf(user).Name
		src, ok := e.bank[name]
		if !ok {
			a, err := l.CreateAccount(e.ctx, ledger.Account{ID: uuid.New(), Currency: e.cny})
			if err != nil {
				e.t.Fatal(err)
			}
			src, e.bank[name] = a.ID, a.ID
		}
		if _, err := l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: src, CreditAccountID: w.ID, Amount: e.money(amount)}); err != nil {
			e.t.Fatal(err)
		}
	}
	return w.ID
}

// net returns an account's posted balance in minor units.
func (e *env) net(user, id uuid.UUID) int64 {
	e.t.Helper()
	a, err := e.ledgerOf(user).Account(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Balance.Net()
}

func (e *env) wantNet(user, id uuid.UUID, want int64) {
	e.t.Helper()
	if got := e.net(user, id); got != want {
		e.t.Fatalf("account %s of %s: net %d, want %d", id, user, got, want)
	}
}

func (e *env) payment(from, to, fromAcc, toAcc uuid.UUID, amount string) cell.Payment {
	return cell.Payment{ID: uuid.New(), Payer: from, PayerAccount: fromAcc, Payee: to, PayeeAccount: toAcc, Amount: e.money(amount)}
}

// check verifies every cell's ledger, and that the clearing accounts
// balance and are settled: nothing in flight, no payment open.
func (e *env) check() {
	e.t.Helper()
	for _, name := range e.stores.Names {
		if _, err := e.c.Cell(name).Ledger.Verify(e.ctx); err != nil {
			e.t.Fatalf("cell %s: %v", name, err)
		}
		open, err := e.c.Cell(name).Store.Open(e.ctx, e.clock.Now().Add(time.Hour), cell.Cursor{}, 10)
		if err != nil || len(open) != 0 {
			e.t.Fatalf("cell %s: open payments %+v, %v", name, open, err)
		}
		fw, err := e.c.Cell(name).Store.OpenForwards(e.ctx, e.clock.Now().Add(time.Hour), cell.Cursor{}, 10)
		if err != nil || len(fw) != 0 {
			e.t.Fatalf("cell %s: open forwards %+v, %v", name, fw, err)
		}
	}
	rep, err := e.c.CheckClearing(e.ctx, e.cny)
	if err != nil {
		e.t.Fatal(err)
	}
	if !rep.Settled() {
		e.t.Fatalf("clearing not settled at rest: %+v", rep)
	}
}

// crasher fails a process at its n-th write (a transfer, a payment
// record): before the write when after is false, after it otherwise (it
// committed, the answer was lost); every call after that fails too, as
// in a process that died.
type crasher struct {
	mu      sync.Mutex
	n, seen int
	after   bool
	dead    bool
	// recordsOnly leaves the ledgers unwrapped, so that a payment store
	// that composes (Store.PaysOn) makes its moves in its own writes,
	// and only the records' writes count and crash.
	recordsOnly bool
}

var errCrash = errors.New("celltest: process crashed")

// step counts a write and says whether to do it and whether to fail.
func (c *crasher) step() (do, fail bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false, true
	}
	c.seen++
	if c.seen == c.n {
		c.dead = true
		return c.after, true
	}
	return true, false
}

func (c *crasher) alive() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return errCrash
	}
	return nil
}

func (c *crasher) crashed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

func (c *crasher) ledger(s ledger.Store) ledger.Store { return &crashLedger{Store: s, c: c} }
func (c *crasher) records(s cell.Store) cell.Store    { return &crashRecords{Store: s, c: c} }

type crashLedger struct {
	ledger.Store
	c *crasher
}

func (s *crashLedger) CreateTransfer(ctx context.Context, t ledger.Transfer, now time.Time) (ledger.Result, error) {
	do, fail := s.c.step()
	var r ledger.Result
	var err error
	if do {
		r, err = s.Store.CreateTransfer(ctx, t, now)
	}
	if fail {
		return ledger.Result{}, errCrash
	}
	return r, err
}

func (s *crashLedger) CreateTransfers(ctx context.Context, ts []ledger.Transfer, linked bool, now time.Time) ([]ledger.Result, error) {
	do, fail := s.c.step()
	var r []ledger.Result
	var err error
	if do {
		r, err = s.Store.CreateTransfers(ctx, ts, linked, now)
	}
	if fail {
		return nil, errCrash
	}
	return r, err
}

func (s *crashLedger) Transfer(ctx context.Context, id uuid.UUID) (ledger.Transfer, error) {
	if err := s.c.alive(); err != nil {
		return ledger.Transfer{}, err
	}
	return s.Store.Transfer(ctx, id)
}

type crashRecords struct {
	cell.Store
	c *crasher
}

func (s *crashRecords) Begin(ctx context.Context, p cell.Payment, hold *cell.Move) (cell.Payment, bool, error) {
	do, fail := s.c.step()
	var got cell.Payment
	var created bool
	var err error
	if do {
		got, created, err = s.Store.Begin(ctx, p, hold)
	}
	if fail {
		return cell.Payment{}, false, errCrash
	}
	return got, created, err
}

func (s *crashRecords) BeginForward(ctx context.Context, f cell.Forward) (cell.Forward, bool, error) {
	do, fail := s.c.step()
	var got cell.Forward
	var created bool
	var err error
	if do {
		got, created, err = s.Store.BeginForward(ctx, f)
	}
	if fail {
		return cell.Forward{}, false, errCrash
	}
	return got, created, err
}

func (s *crashRecords) FinishForward(ctx context.Context, id uuid.UUID, at time.Time) (cell.Forward, error) {
	do, fail := s.c.step()
	var got cell.Forward
	var err error
	if do {
		got, err = s.Store.FinishForward(ctx, id, at)
	}
	if fail {
		return cell.Forward{}, errCrash
	}
	return got, err
}

func (s *crashRecords) Finish(ctx context.Context, id uuid.UUID, st cell.State, why string, at time.Time, move *cell.Move) (cell.Payment, error) {
	do, fail := s.c.step()
	var got cell.Payment
	var err error
	if do {
		got, err = s.Store.Finish(ctx, id, st, why, at, move)
	}
	if fail {
		return cell.Payment{}, errCrash
	}
	return got, err
}
