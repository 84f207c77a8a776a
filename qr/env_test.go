package qr

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// fakeClock is the one clock of a test: ledger, codes and service.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// slowerPath makes newEnv's store pay on no ledger, so that the Service
// charges and pays through its slower path (TestSlowerPath sets it).
var slowerPath bool

// env is a bank: a ledger, a directory, a service on a memory store.
type env struct {
	t       testing.TB
	ctx     context.Context
	clock   *fakeClock
	ledger  *ledger.Ledger
	store   *MemoryStore
	dir     *MemoryDirectory
	receive *ReceiveCodes
	codes   *PaymentCodes
	svc     *Service
	bank    uuid.UUID // funds the wallets
	names   map[uuid.UUID]string
}

// newEnv builds an env at testNow (20:00 UTC, 04:00 in Shanghai); edit
// changes the config, wrap the store the service sees.
func newEnv(t testing.TB, edit func(*Config), wrap func(Store) Store) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: &fakeClock{now: testNow},
		dir: &MemoryDirectory{}, names: map[uuid.UUID]string{}}
	e.ledger = ledger.New(nil, ledger.Options{Now: e.clock.Now})
	e.store = NewMemoryStore(e.ledger)
	if slowerPath {
		e.store = NewMemoryStore(nil)
	}
	signer, err := NewHMACSigner("h1", hmacSecret)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := NewKeys(Key{ID: "h1", HMAC: hmacSecret})
	if err != nil {
		t.Fatal(err)
	}
	if e.receive, err = NewReceiveCodes(ReceiveConfig{Signer: signer, Keys: keys, Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	e.codes = testPaymentCodes(t)
	cfg := Config{Ledger: e.ledger, Store: e.store, Directory: e.dir, Receive: e.receive, PaymentCodes: e.codes, DeviceKeys: testKEK(t)}
	if edit != nil {
		edit(&cfg)
	}
	if wrap != nil {
		cfg.Store = wrap(e.store)
	}
	if e.svc, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	e.bank = e.newAccount("bank", 0, 0)
	return e
}

func (e *env) newAccount(name string, flags ledger.AccountFlags, fen int64) uuid.UUID {
	e.t.Helper()
	a, err := e.ledger.CreateAccount(e.ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: flags})
	if err != nil {
		e.t.Fatal(err)
	}
	e.names[a.ID] = name
	if fen > 0 {
		e.fund(a.ID, fen)
	}
	return a.ID
}

func (e *env) fund(id uuid.UUID, fen int64) {
	e.t.Helper()
	if _, err := e.ledger.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: e.bank, CreditAccountID: id, Amount: yuan(fen)}); err != nil {
		e.t.Fatal(err)
	}
}

// wallet is a customer account that cannot go negative.
func (e *env) wallet(name string, fen int64) uuid.UUID {
	return e.newAccount(name, ledger.DebitsMustNotExceedCredits, fen)
}

// payee creates a wallet and lists it in the directory.
func (e *env) payee(alias, name string) uuid.UUID {
	e.t.Helper()
	id := e.wallet(alias, 0)
	if err := e.dir.Put(Payee{Alias: alias, Account: id, Name: name}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// balance returns posted and available balance.
func (e *env) balance(id uuid.UUID) (net, available int64) {
	e.t.Helper()
	a, err := e.ledger.Account(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Balance.Net(), a.Balance.Available()
}

func (e *env) wantBalance(id uuid.UUID, fen int64) {
	e.t.Helper()
	net, avail := e.balance(id)
	if net != fen || avail != fen {
		e.t.Fatalf("%s: balance %d available %d, want %d and nothing held", e.names[id], net, avail, fen)
	}
}

func (e *env) verify() {
	e.t.Helper()
	if _, err := e.ledger.Verify(e.ctx); err != nil {
		e.t.Fatalf("ledger Verify: %v", err)
	}
}

func (e *env) issueDynamic(alias, ref string, fen int64, ttl time.Duration) string {
	e.t.Helper()
	s, err := e.svc.Issue(e.ctx, ReceiveCode{Payee: alias, Initiation: Dynamic, Amount: yuan(fen), Reference: ref,
		Expires: e.clock.Now().Add(ttl), City: "上海"})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) issueStatic(alias string) string {
	e.t.Helper()
	s, err := e.svc.Issue(e.ctx, ReceiveCode{Payee: alias, Initiation: Static, Currency: cny, City: "上海"})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// userOf is the test user who pays from account.
func userOf(account uuid.UUID) uuid.UUID {
	return ledger.DeriveID(uuid.Nil, "test-user", account.String())
}

func (e *env) pay(payer uuid.UUID, payload string, fen int64, key string) (Receipt, error) {
	var amount ledger.Money
	if fen != 0 {
		amount = yuan(fen)
	}
	return e.svc.Pay(e.ctx, PayRequest{User: userOf(payer), From: payer, Payload: payload, Amount: amount, Key: key})
}

// faultyStore injects failures into a store: a hook runs after the real
// call and may replace its error (a crash after the step) or run before it
// and skip it (a crash before).
type faultyStore struct {
	Store
	mu           sync.Mutex
	afterClaim   func() error
	beforeClaim  func() error
	afterReserve func() error
	afterMark    func() error
}

func (f *faultyStore) hook(h *func() error) func() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *h
}

func (f *faultyStore) set(h *func() error, fn func() error) {
	f.mu.Lock()
	*h = fn
	f.mu.Unlock()
}

func (f *faultyStore) ClaimCode(ctx context.Context, id, payment uuid.UUID, at time.Time) (DynamicCode, error) {
	if h := f.hook(&f.beforeClaim); h != nil {
		if err := h(); err != nil {
			return DynamicCode{}, err
		}
	}
	c, err := f.Store.ClaimCode(ctx, id, payment, at)
	if h := f.hook(&f.afterClaim); h != nil && err == nil {
		err = h()
	}
	return c, err
}

func (f *faultyStore) ReserveCap(ctx context.Context, r CapReservation, limit ledger.Money) (ledger.Money, error) {
	m, err := f.Store.ReserveCap(ctx, r, limit)
	if h := f.hook(&f.afterReserve); h != nil && err == nil {
		err = h()
	}
	return m, err
}

func (f *faultyStore) MarkUsed(ctx context.Context, serial uint64, step int64, charge uuid.UUID) error {
	err := f.Store.MarkUsed(ctx, serial, step, charge)
	if h := f.hook(&f.afterMark); h != nil && err == nil {
		err = h()
	}
	return err
}

// once returns a hook that fails the first time only.
func once(err error) func() error {
	var done bool
	return func() error {
		if done {
			return nil
		}
		done = true
		return err
	}
}

// testKEK is a key-encryption key for device secrets.
func testKEK(t testing.TB) *LocalKeyWrapper {
	t.Helper()
	w, err := NewLocalKeyWrapper([]byte("qr tests key-encryption key 32 b"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
