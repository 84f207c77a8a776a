package qrtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/qr"
)

// Env is what the service suite runs a qr.Service on.
type Env struct {
	// Store is an empty qr.Store.
	Store qr.Store
	// NewStore, used when Store is nil, returns an empty qr.Store built
	// with the suite's ledger (a qr.MemoryStore paying on it, whose
	// PaysOn accepts the ledger's store).
	NewStore func(l *ledger.Ledger) qr.Store
	// Ledger is the ledger's store; nil means a new ledger.MemoryStore.
	Ledger ledger.Store
	// Edit, if set, changes the Service's configuration in every case
	// (say, a bank's own caps), after the case's own changes.
	Edit func(*qr.Config)
	// Rounds multiplies the iterations of every race case (default 1):
	// stores whose iterations cost microseconds (in memory) run more of
	// them, so that a race with a window of microseconds shows too.
	Rounds int
}

// RunService runs the service suite: a qr.Service on the stores of
// newEnv, held to exactly-once under concurrent retries. Each case makes
// raceK identical calls at once at the boundary where the first one
// changes the answer, repeated ledgertest.RaceIterations times (several
// iterations run side by side, each on its own accounts and codes):
//
//   - PayExactBalance: Pay of a receive code (dynamic or static) retried
//     with one key when the payer's balance equals the amount;
//   - ChargeTwoMerchants: one payment code charged by two merchants at
//     once, each retrying its order (one wins, the other gets
//     qr.ErrReplay on every call; the winner's calls all get its receipt);
//   - ChargeOneCode: one payment code charged under raceK orders of one
//     merchant at once, each order sent twice, from a payer whose balance
//     is exactly the amount (one order pays, both its calls get its
//     receipt; every call of the others gets qr.ErrReplay);
//   - ChargeRefused: raceK identical charges at once of one fen more than
//     the payer's balance: every call gets ledger.ErrInsufficientFunds,
//     no money moves, the device's day keeps nothing, and the code stays
//     redeemed by the order (another order gets qr.ErrReplay; the order
//     retried after a top-up pays once);
//   - DynamicTwoPayers: a dynamic code paid by two payers at once, each
//     retrying (the loser gets qr.ErrCodePaid on every call);
//   - StaticCapEdge: a static payment that exactly fills the payer's daily
//     cap, retried alone or against another payment that also fits but not
//     both (the loser gets qr.ErrDailyCap);
//   - ChargeRevoked: raceK identical charges of one code (one order), each
//     from another instance (a Service of its own on the same stores)
//     that has charged the device before, at once with the device's
//     revocation by yet another: the order pays once or not at all, every
//     call gets its receipt or qr.ErrInvalidCode, and once the revocation
//     has returned no instance charges the device's codes;
//   - Reconcile: payments left between their steps, finished by several
//     Reconcile runs, ledger.ExpirePending runs and the payers' retries at
//     once.
//
// Every call returns the winner's outcome or the documented lost-race
// error, never a refusal the winner caused; the balances show each payment
// once, and Service.Check finds every record in agreement with the ledger.
//
// CheckAndRepair then makes records disagree with the ledger through the
// store's own methods (a settled claim and a settled reservation of
// payments the ledger never saw, a settled claim whose hold was voided, a
// reservation under a dynamic payment's ID, a payment posted whose claim
// was not settled) and checks that Service.Check reports each one and
// Service.Reconcile repairs what it may and reports the rest.
//
// Revocation checks that a device revoked through one instance is
// refused by another that charged it before, that the refusal is
// counted, and, when the store pays in its step (qr.PayingStore), that a
// device revoked after its code was checked but before the step does not
// pay.
//
// Idempotency checks that a retry is recognised by its meaning: a static
// code issued again under another name, a dynamic code paid with its
// amount or without, a payment code's successor from the same phone are
// the same request (also when sent at once), and another amount, payee,
// code or payer is a *qr.KeyConflictError.
//
// newEnv is called once per subtest.
func RunService(t *testing.T, newEnv func(t testing.TB) Env) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, func(testing.TB) Env)
	}{
		{"PayExactBalance", testRacePayExactBalance},
		{"ChargeTwoMerchants", testRaceChargeTwoMerchants},
		{"ChargeOneCode", testRaceChargeOneCode},
		{"ChargeRefused", testRaceChargeRefused},
		{"DynamicTwoPayers", testRaceDynamicTwoPayers},
		{"StaticCapEdge", testRaceStaticCapEdge},
		{"ChargeRevoked", testRaceChargeRevoked},
		{"Reconcile", testRaceReconcile},
		{"CheckAndRepair", testCheckAndRepair},
		{"Idempotency", testIdempotency},
		{"Revocation", testRevocation},
	} {
		name := "Race/" + tc.name
		if tc.name == "CheckAndRepair" || tc.name == "Idempotency" || tc.name == "Revocation" {
			name = tc.name
		}
		t.Run(name, func(t *testing.T) { tc.fn(t, newEnv) })
	}
}

// raceK is how many identical calls race at once.
const raceK = 4

// parallelIterations is how many iterations of a race case run side by
// side (each on its own accounts): a database store spends most of an
// iteration waiting for commits.
const parallelIterations = 4

// Start is where the service suite's clock starts: 20:00 in Shanghai.
var Start = time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)

// world is one bank: a ledger, a directory and a service on an Env.
type world struct {
	t      testing.TB
	ctx    context.Context
	clock  *ledgertest.Clock
	l      *ledger.Ledger
	store  qr.Store
	dir    *qr.MemoryDirectory
	codes  *qr.PaymentCodes
	svc    *qr.Service
	bank   uuid.UUID
	seq    atomic.Int64
	rounds int
	cfg    qr.Config // svc's: another instance is qr.New(cfg)
}

// iterations is how often a race case of w repeats: def (or the long
// mode's count, see ledgertest.RaceIterations) times Env.Rounds.
func (w *world) iterations(t testing.TB, def int) int {
	return ledgertest.RaceIterations(t, def) * max(1, w.rounds)
}

var (
	suiteSecret  = []byte("qrtest service suite HMAC secret")
	suitePermKey = []byte("qrtest service suite permutation")
	suiteKEK     = func() *qr.LocalKeyWrapper {
		w, err := qr.NewLocalKeyWrapper([]byte("qrtest suite key-encryption key."), nil)
		if err != nil {
			panic(err)
		}
		return w
	}()
)

// newWorld builds a service on env; edit changes its config, wrap the
// store it sees.
func newWorld(t testing.TB, env Env, edit func(*qr.Config), wrap func(qr.Store) qr.Store) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), clock: ledgertest.NewClock(Start), store: env.Store, dir: &qr.MemoryDirectory{},
		rounds: env.Rounds}
	ls := env.Ledger
	if ls == nil {
		ls = ledger.NewMemoryStore()
	}
	w.l = ledger.New(ls, ledger.Options{Now: w.clock.Now})
	if env.Store == nil {
		env.Store = env.NewStore(w.l)
		w.store = env.Store
	}
	signer, err := qr.NewHMACSigner("k1", suiteSecret)
	must(t, err)
	keys, err := qr.NewKeys(qr.Key{ID: "k1", HMAC: suiteSecret})
	must(t, err)
	receive, err := qr.NewReceiveCodes(qr.ReceiveConfig{Signer: signer, Keys: keys, Now: w.clock.Now})
	must(t, err)
	w.codes, err = qr.NewPaymentCodes(qr.PaymentCodeConfig{Prefix: "28", Key: suitePermKey})
	must(t, err)
	cfg := qr.Config{Ledger: w.l, Store: env.Store, Directory: w.dir, Receive: receive, PaymentCodes: w.codes, DeviceKeys: suiteKEK}
	if edit != nil {
		edit(&cfg)
	}
	if env.Edit != nil {
		env.Edit(&cfg)
	}
	if wrap != nil {
		cfg.Store = wrap(env.Store)
	}
	w.cfg = cfg
	w.svc, err = qr.New(cfg)
	must(t, err)
	bank, err := w.l.CreateAccount(w.ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	must(t, err)
	w.bank = bank.ID
	return w
}

// userOf is the test user who pays from account: distinct from the
// account, so that a service taking one for the other fails.
func userOf(account uuid.UUID) uuid.UUID {
	return ledger.DeriveID(uuid.Nil, "qrtest-user", account.String())
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// name returns a name no other call on w returns.
func (w *world) name(prefix string) string { return fmt.Sprintf("%s-%d", prefix, w.seq.Add(1)) }

// wallet opens a customer account that cannot go negative, holding fen.
func (w *world) wallet(fen int64) (uuid.UUID, error) {
	a, err := w.l.CreateAccount(w.ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
	if err != nil || fen == 0 {
		return a.ID, err
	}
	_, err = w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: a.ID, Amount: yuan(fen)})
	return a.ID, err
}

// payerDevice opens a payer's wallet holding fen with a device
// registered on it, and a merchant's empty wallet.
func (w *world) payerDevice(fen int64) (payer, shop uuid.UUID, d qr.Device, err error) {
	if payer, err = w.wallet(fen); err != nil {
		return
	}
	if shop, err = w.wallet(0); err != nil {
		return
	}
	d, err = w.svc.RegisterDevice(w.ctx, w.name("phone"), payer)
	return
}

// shop opens a payee's wallet and lists it in the directory.
func (w *world) shop() (string, uuid.UUID, error) {
	alias := w.name("shop")
	id, err := w.wallet(0)
	if err == nil {
		err = w.dir.Put(qr.Payee{Alias: alias, Account: id, Name: "Shop " + alias})
	}
	return alias, id, err
}

// wantNet checks an account's balance, with nothing held.
func (w *world) wantNet(what string, id uuid.UUID, fen int64) error {
	a, err := w.l.Account(w.ctx, id)
	switch {
	case err != nil:
		return err
	case a.Balance.Net() != fen || a.Balance.DebitsPending != 0 || a.Balance.CreditsPending != 0:
		return fmt.Errorf("%s: balance %+v, want %d and nothing held", what, a.Balance, fen)
	}
	return nil
}

// finish checks the ledger and the records against each other.
func (w *world) finish() {
	w.t.Helper()
	if _, err := w.l.Verify(w.ctx); err != nil {
		w.t.Fatalf("ledger Verify: %v", err)
	}
	rep, err := w.svc.Check(w.ctx)
	if err != nil {
		w.t.Fatalf("Check: %v (%+v)", err, rep.Problems)
	}
}

// iterate runs fn(0) … fn(n-1), parallelIterations at a time, and fails t
// with the first error.
func iterate(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range parallelIterations {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				mu.Lock()
				stop := first != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("iteration %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

// samePay checks that every call got the receipt of call 0 and no error.
func samePay(what string, rs []qr.Receipt, errs []error) error {
	for i := range rs {
		if errs[i] != nil {
			return fmt.Errorf("%s: call %d of %d: %w", what, i, len(rs), errs[i])
		}
		a, b := rs[i], rs[0]
		a.At, b.At = time.Time{}, time.Time{}
		if a != b || !rs[i].At.Equal(rs[0].At) {
			return fmt.Errorf("%s: call %d got %+v, call 0 got %+v", what, i, rs[i], rs[0])
		}
	}
	return nil
}

// sameCharge checks that every call got the receipt of call 0 and no
// error.
func sameCharge(what string, rs []qr.ChargeReceipt, errs []error) error {
	for i := range rs {
		if errs[i] != nil {
			return fmt.Errorf("%s: call %d of %d: %w", what, i, len(rs), errs[i])
		}
		a, b := rs[i], rs[0]
		a.At, b.At = time.Time{}, time.Time{}
		if a != b || !rs[i].At.Equal(rs[0].At) {
			return fmt.Errorf("%s: call %d got %+v, call 0 got %+v", what, i, rs[i], rs[0])
		}
	}
	return nil
}

// allLost checks that every call failed with lost.
func allLost(what string, errs []error, lost error) error {
	for i, err := range errs {
		if !errors.Is(err, lost) {
			return fmt.Errorf("%s: call %d answered %v, want %v", what, i, err, lost)
		}
	}
	return nil
}

// testRacePayExactBalance: raceK identical Pays (one payer, one key) at
// once of a code whose amount is exactly the payer's balance; dynamic and
// static codes in turn. The first to hold the money empties the wallet;
// every other call is its retry and gets its receipt.
func testRacePayExactBalance(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv(t), nil, nil)
	alias, shop, err := w.shop()
	must(t, err)
	static, err := w.svc.Issue(w.ctx, qr.ReceiveCode{Payee: alias, Initiation: qr.Static, Currency: cny, City: "Shanghai"})
	must(t, err)
	n := w.iterations(t, 60)
	iterate(t, n, func(i int) error {
		payer, err := w.wallet(1_00)
		if err != nil {
			return err
		}
		req := qr.PayRequest{User: userOf(payer), From: payer, Payload: static, Amount: yuan(1_00), Key: "k"}
		kind := qr.Static
		if i%2 == 0 {
			kind, req.Amount = qr.Dynamic, ledger.Money{}
			req.Payload, err = w.svc.Issue(w.ctx, qr.ReceiveCode{Payee: alias, Initiation: qr.Dynamic, Amount: yuan(1_00),
				Reference: fmt.Sprint("R", i), Expires: Start.Add(time.Hour), City: "Shanghai"})
			if err != nil {
				return err
			}
		}
		rs, errs := ledgertest.Concurrently(raceK, func(int) (qr.Receipt, error) { return w.svc.Pay(w.ctx, req) })
		if err := samePay(fmt.Sprintf("%v Pay retried", kind), rs, errs); err != nil {
			return err
		}
		return w.wantNet("payer", payer, 0)
	})
	must(t, w.wantNet("shop", shop, int64(n)*1_00))
	w.finish()
}

// testRaceChargeTwoMerchants: two merchants charge one payment code at
// once, each retrying its order raceK times, from a payer whose balance is
// exactly the amount. One merchant wins: all its calls get the one charge;
// every call of the other gets qr.ErrReplay; the payer pays once.
func testRaceChargeTwoMerchants(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv(t), nil, nil)
	iterate(t, w.iterations(t, 60), func(i int) error {
		payer, err := w.wallet(1_00)
		if err != nil {
			return err
		}
		var merchants [2]uuid.UUID
		for j := range merchants {
			if merchants[j], err = w.wallet(0); err != nil {
				return err
			}
		}
		d, err := w.svc.RegisterDevice(w.ctx, w.name("phone"), payer)
		if err != nil {
			return err
		}
		code, err := w.codes.Generate(d, w.clock.Now())
		if err != nil {
			return err
		}
		rs, errs := ledgertest.Concurrently(2*raceK, func(c int) (qr.ChargeReceipt, error) {
			return w.svc.Charge(w.ctx, qr.ChargeRequest{Merchant: merchants[c%2], Code: code, Amount: yuan(1_00), Order: "order-1"})
		})
		var byMerchant [2][]qr.ChargeReceipt
		var errsBy [2][]error
		for c := range rs {
			byMerchant[c%2] = append(byMerchant[c%2], rs[c])
			errsBy[c%2] = append(errsBy[c%2], errs[c])
		}
		win := 0
		if errsBy[0][0] != nil {
			win = 1
		}
		if err := sameCharge("winning merchant", byMerchant[win], errsBy[win]); err != nil {
			return err
		}
		if err := allLost("losing merchant", errsBy[1-win], qr.ErrReplay); err != nil {
			return err
		}
		if r := byMerchant[win][0]; r.Payer != payer || r.Merchant != merchants[win] || r.Amount != yuan(1_00) {
			return fmt.Errorf("charge receipt %+v", r)
		}
		if err := w.wantNet("payer", payer, 0); err != nil {
			return err
		}
		if err := w.wantNet("winner", merchants[win], 1_00); err != nil {
			return err
		}
		return w.wantNet("loser", merchants[1-win], 0)
	})
	w.finish()
}

// testRaceChargeOneCode: raceK orders of one merchant charge one payment
// code at once, each order sent twice, from a payer whose balance is
// exactly the amount. One order pays (both its calls get its receipt);
// every call of the others gets qr.ErrReplay; the payer pays once.
func testRaceChargeOneCode(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv(t), nil, nil)
	iterate(t, w.iterations(t, 60), func(i int) error {
		payer, shop, d, err := w.payerDevice(1_00)
		if err != nil {
			return err
		}
		code, err := w.codes.Generate(d, w.clock.Now())
		if err != nil {
			return err
		}
		rs, errs := ledgertest.Concurrently(2*raceK, func(c int) (qr.ChargeReceipt, error) {
			return w.svc.Charge(w.ctx, qr.ChargeRequest{Merchant: shop, Code: code, Amount: yuan(1_00), Order: fmt.Sprint("order-", c%raceK)})
		})
		win := -1
		for c := range rs {
			if errs[c] == nil {
				win = c % raceK
				break
			}
		}
		if win < 0 {
			return fmt.Errorf("no order paid: %v", errs)
		}
		for o := range raceK {
			var byOrder []qr.ChargeReceipt
			var errsBy []error
			for c := o; c < len(rs); c += raceK {
				byOrder, errsBy = append(byOrder, rs[c]), append(errsBy, errs[c])
			}
			if o == win {
				if err := sameCharge("paying order", byOrder, errsBy); err != nil {
					return err
				}
				if r := byOrder[0]; r.Payer != payer || r.Merchant != shop || r.Amount != yuan(1_00) || r.Order != fmt.Sprint("order-", o) {
					return fmt.Errorf("charge receipt %+v", r)
				}
			} else if err := allLost(fmt.Sprint("order ", o), errsBy, qr.ErrReplay); err != nil {
				return err
			}
		}
		if err := w.wantNet("payer", payer, 0); err != nil {
			return err
		}
		return w.wantNet("shop", shop, 1_00)
	})
	w.finish()
}

// testRaceChargeRefused: raceK identical charges at once of one fen more
// than the payer has. Every call is refused by the ledger; nothing moves
// and the device's day keeps nothing; the code stays redeemed by the
// order, so another order gets qr.ErrReplay, and the order retried after
// a top-up of one fen pays once.
func testRaceChargeRefused(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv(t), nil, nil)
	iterate(t, w.iterations(t, 30), func(i int) error {
		payer, shop, d, err := w.payerDevice(1_00)
		if err != nil {
			return err
		}
		code, err := w.codes.Generate(d, w.clock.Now())
		if err != nil {
			return err
		}
		req := qr.ChargeRequest{Merchant: shop, Code: code, Amount: yuan(1_01), Order: "order-1"}
		_, errs := ledgertest.Concurrently(raceK, func(int) (qr.ChargeReceipt, error) { return w.svc.Charge(w.ctx, req) })
		if err := allLost("charge over the balance", errs, ledger.ErrInsufficientFunds); err != nil {
			return err
		}
		if err := w.wantNet("payer after refusals", payer, 1_00); err != nil {
			return err
		}
		if err := w.wantNet("shop after refusals", shop, 0); err != nil {
			return err
		}
		st, err := w.svc.DeviceStatus(w.ctx, d.ID)
		switch {
		case err != nil:
			return err
		case !st.Spent.IsZero() || st.Locked || st.Failures != 0:
			return fmt.Errorf("device after refusals: %+v, want nothing spent or failed", st)
		}
		other := req
		other.Order, other.Amount = "order-2", yuan(50)
		if _, err := w.svc.Charge(w.ctx, other); !errors.Is(err, qr.ErrReplay) {
			return fmt.Errorf("another order with the refused code: %v, want qr.ErrReplay", err)
		}
		if _, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: payer, Amount: yuan(1)}); err != nil {
			return err
		}
		rs, errs := ledgertest.Concurrently(raceK, func(int) (qr.ChargeReceipt, error) { return w.svc.Charge(w.ctx, req) })
		if err := sameCharge("order retried after a top-up", rs, errs); err != nil {
			return err
		}
		if err := w.wantNet("payer", payer, 0); err != nil {
			return err
		}
		return w.wantNet("shop", shop, 1_01)
	})
	w.finish()
}

// testRaceDynamicTwoPayers: two payers pay one dynamic code at once, each
// retrying with its key raceK times, each holding exactly the amount. One
// wins: all its calls get the receipt; every call of the other gets
// qr.ErrCodePaid and its money back.
func testRaceDynamicTwoPayers(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv(t), nil, nil)
	alias, shop, err := w.shop()
	must(t, err)
	n := w.iterations(t, 50)
	iterate(t, n, func(i int) error {
		var payers [2]uuid.UUID
		var err error
		for j := range payers {
			if payers[j], err = w.wallet(2_50); err != nil {
				return err
			}
		}
		code, err := w.svc.Issue(w.ctx, qr.ReceiveCode{Payee: alias, Initiation: qr.Dynamic, Amount: yuan(2_50),
			Reference: fmt.Sprint("R", i), Expires: Start.Add(time.Hour), City: "Shanghai"})
		if err != nil {
			return err
		}
		rs, errs := ledgertest.Concurrently(2*raceK, func(c int) (qr.Receipt, error) {
			return w.svc.Pay(w.ctx, qr.PayRequest{User: userOf(payers[c%2]), From: payers[c%2], Payload: code, Key: "k"})
		})
		var by [2][]qr.Receipt
		var errsBy [2][]error
		for c := range rs {
			by[c%2] = append(by[c%2], rs[c])
			errsBy[c%2] = append(errsBy[c%2], errs[c])
		}
		win := 0
		if errsBy[0][0] != nil {
			win = 1
		}
		if err := samePay("winning payer", by[win], errsBy[win]); err != nil {
			return err
		}
		if err := allLost("losing payer", errsBy[1-win], qr.ErrCodePaid); err != nil {
			return err
		}
		if err := w.wantNet("winner", payers[win], 0); err != nil {
			return err
		}
		return w.wantNet("loser", payers[1-win], 2_50)
	})
	must(t, w.wantNet("shop", shop, int64(n)*2_50))
	w.finish()
}

// testRaceStaticCapEdge: with a daily cap of 0.60, a static payment of
// 0.60 (exactly the cap) is retried raceK times at once, alone or against
// another payment of 0.60 retried as often. Every call of the one that
// fits gets its receipt; every call of the other gets qr.ErrDailyCap.
func testRaceStaticCapEdge(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv(t), func(c *qr.Config) { c.StaticDailyCaps = []ledger.Money{yuan(60)} }, nil)
	alias, shop, err := w.shop()
	must(t, err)
	code, err := w.svc.Issue(w.ctx, qr.ReceiveCode{Payee: alias, Initiation: qr.Static, Currency: cny, City: "Shanghai"})
	must(t, err)
	var paid atomic.Int64
	// The retry that reads the total its original just filled shows in
	// about 1 of 50 iterations on the memory store.
	n := w.iterations(t, 120)
	iterate(t, n, func(i int) error {
		payer, err := w.wallet(2_00) // enough for both: the cap decides, not the balance
		if err != nil {
			return err
		}
		payments := 1 + i%2 // alone, or against a second payment
		rs, errs := ledgertest.Concurrently(payments*raceK, func(c int) (qr.Receipt, error) {
			return w.svc.Pay(w.ctx, qr.PayRequest{User: userOf(payer), From: payer, Payload: code, Amount: yuan(60), Key: fmt.Sprint("edge-", c%payments)})
		})
		by := make([][]qr.Receipt, payments)
		errsBy := make([][]error, payments)
		for c := range rs {
			by[c%payments] = append(by[c%payments], rs[c])
			errsBy[c%payments] = append(errsBy[c%payments], errs[c])
		}
		win := 0
		if errsBy[0][0] != nil && payments == 2 {
			win = 1
		}
		if err := samePay("payment at the cap's edge", by[win], errsBy[win]); err != nil {
			return err
		}
		if payments == 2 {
			if err := allLost("payment over the cap", errsBy[1-win], qr.ErrDailyCap); err != nil {
				return err
			}
		}
		paid.Add(1)
		used, err := w.store.CapUsed(w.ctx, userOf(payer), w.svc.Day(w.clock.Now()), cny)
		switch {
		case err != nil:
			return err
		case used != yuan(60):
			return fmt.Errorf("cap used %v, want 0.60", used)
		}
		return w.wantNet("payer", payer, 1_40)
	})
	must(t, w.wantNet("shop", shop, paid.Load()*60))
	w.finish()
}

var errCrash = errors.New("qrtest: injected crash")

// crashingStore fails the claims and reservations of the payments in
// crash after making them, and the settlements of those in crashSettle
// before making them: a Pay that stops between its steps.
type crashingStore struct {
	qr.Store
	crash       sync.Map // payment ID → struct{}
	crashSettle sync.Map
}

func (s *crashingStore) SettleCode(ctx context.Context, id, payment uuid.UUID) error {
	if _, ok := s.crashSettle.Load(payment); ok {
		return errCrash
	}
	return s.Store.SettleCode(ctx, id, payment)
}

func (s *crashingStore) SettleCap(ctx context.Context, payment uuid.UUID) error {
	if _, ok := s.crashSettle.Load(payment); ok {
		return errCrash
	}
	return s.Store.SettleCap(ctx, payment)
}

func (s *crashingStore) ClaimCode(ctx context.Context, id, payment uuid.UUID, at time.Time) (qr.DynamicCode, error) {
	c, err := s.Store.ClaimCode(ctx, id, payment, at)
	if _, ok := s.crash.Load(payment); ok && err == nil {
		err = errCrash
	}
	return c, err
}

func (s *crashingStore) ReserveCap(ctx context.Context, r qr.CapReservation, limit ledger.Money) (ledger.Money, error) {
	m, err := s.Store.ReserveCap(ctx, r, limit)
	if _, ok := s.crash.Load(r.Payment); ok && err == nil {
		err = errCrash
	}
	return m, err
}

// testRaceReconcile: payments stopped after their claim or reservation,
// some whose holds then time out, finished at once by raceK Reconcile
// runs, raceK ledger.ExpirePending runs and the payers' own retries. No
// run fails; the live payments are paid once and their retries get the
// receipt; the dead ones are released and their retries get
// qr.ErrPaymentAborted; no claim or reservation is left open.
func testRaceReconcile(t *testing.T, newEnv func(testing.TB) Env) {
	env := newEnv(t)
	var cs *crashingStore
	w := newWorld(t, env, nil, func(s qr.Store) qr.Store { cs = &crashingStore{Store: s}; return cs })
	const perKind = 2 // crashed payments per kind (dynamic, static) and fate (dead, live)
	for range w.iterations(t, 8) {
		type crashed struct {
			req   qr.PayRequest
			payer uuid.UUID
			shop  uuid.UUID
			dead  bool
		}
		var all []crashed
		crash := func(dead bool) {
			t.Helper()
			for j := range 2 * perKind {
				alias, shop, err := w.shop()
				must(t, err)
				payer, err := w.wallet(3_00)
				must(t, err)
				rc := qr.ReceiveCode{Payee: alias, Initiation: qr.Static, Currency: cny, City: "Shanghai"}
				req := qr.PayRequest{User: userOf(payer), From: payer, Amount: yuan(3_00), Key: "k"}
				if j%2 == 0 {
					rc = qr.ReceiveCode{Payee: alias, Initiation: qr.Dynamic, Amount: yuan(3_00), Reference: "R1",
						Expires: w.clock.Now().Add(24 * time.Hour), City: "Shanghai"}
					req.Amount = ledger.Money{}
				}
				req.Payload, err = w.svc.Issue(w.ctx, rc)
				must(t, err)
				cs.crash.Store(w.svc.PaymentID(userOf(payer), "k"), struct{}{})
				if _, err := w.svc.Pay(w.ctx, req); !errors.Is(err, errCrash) {
					t.Fatalf("Pay with a crash after its claim: %v", err)
				}
				cs.crash.Delete(w.svc.PaymentID(userOf(payer), "k"))
				all = append(all, crashed{req: req, payer: payer, shop: shop, dead: dead})
			}
		}
		crash(true)
		w.clock.Advance(10*time.Minute + time.Second) // the default HoldTimeout: the first ones are dead
		crash(false)
		w.clock.Advance(time.Minute + time.Second) // the default ReconcileAfter

		_, errs := ledgertest.Concurrently(2*raceK+len(all), func(c int) (string, error) {
			switch {
			case c < raceK:
				rep, err := w.svc.Reconcile(w.ctx, w.clock.Now())
				if err == nil && rep.Pending > 0 {
					err = fmt.Errorf("report %+v", rep)
				}
				return "", err
			case c < 2*raceK:
				_, err := w.l.ExpirePending(w.ctx, w.clock.Now())
				return "", err
			}
			p := all[c-2*raceK]
			_, err := w.svc.Pay(w.ctx, p.req)
			if p.dead {
				if !errors.Is(err, qr.ErrPaymentAborted) {
					return "", fmt.Errorf("retry of a dead payment: %v, want ErrPaymentAborted", err)
				}
				return "", nil
			}
			return "", err
		})
		for c, err := range errs {
			if err != nil {
				t.Fatalf("call %d: %v", c, err)
			}
		}
		for _, p := range all {
			paid := int64(3_00)
			if p.dead {
				paid = 0
			}
			must(t, w.wantNet("payer", p.payer, 3_00-paid))
			must(t, w.wantNet("shop", p.shop, paid))
		}
		codes, err := w.store.ClaimedCodes(w.ctx, w.clock.Now(), 10)
		must(t, err)
		caps, err := w.store.ReservedCaps(w.ctx, w.clock.Now(), 10)
		must(t, err)
		if len(codes) != 0 || len(caps) != 0 {
			t.Fatalf("left open: claims %+v, reservations %+v", codes, caps)
		}
	}
	w.finish()
}

// problemKinds returns the kinds of ps by record ID (the code's ID for a
// code, the payment for a reservation).
func problemKinds(ps []qr.Problem) map[uuid.UUID]qr.ProblemKind {
	m := map[uuid.UUID]qr.ProblemKind{}
	for _, p := range ps {
		k := p.Payment
		if p.Record == "code" {
			k = p.Code
		}
		m[k] = p.Kind
	}
	return m
}

// testCheckAndRepair: records made to disagree with the ledger are found
// by Check and repaired, or reported, by Reconcile.
func testCheckAndRepair(t *testing.T, newEnv func(testing.TB) Env) {
	env := newEnv(t)
	var cs *crashingStore
	w := newWorld(t, env, nil, func(s qr.Store) qr.Store { cs = &crashingStore{Store: s}; return cs })
	ctx := w.ctx
	alias, shop, err := w.shop()
	must(t, err)
	payer, err := w.wallet(100_00)
	must(t, err)
	issue := func(rc qr.ReceiveCode) string {
		t.Helper()
		rc.Payee, rc.City = alias, "Shanghai"
		if rc.Initiation == qr.Dynamic {
			rc.Amount, rc.Expires = yuan(5_00), Start.Add(24*time.Hour)
		} else {
			rc.Currency = cny
		}
		p, err := w.svc.Issue(ctx, rc)
		must(t, err)
		return p
	}
	static := issue(qr.ReceiveCode{Initiation: qr.Static})
	pay := func(payload, key string, fen int64) (qr.Receipt, error) {
		var amount ledger.Money
		if fen != 0 {
			amount = yuan(fen)
		}
		return w.svc.Pay(ctx, qr.PayRequest{User: userOf(payer), From: payer, Payload: payload, Amount: amount, Key: key})
	}

	// Payments that agree: one dynamic, one static.
	dyn, err := pay(issue(qr.ReceiveCode{Initiation: qr.Dynamic, Reference: "paid"}), "dyn", 0)
	must(t, err)
	_, err = pay(static, "static", 1_00)
	must(t, err)
	// A payment posted whose claim could not be settled: Pay answers with
	// the receipt (the money moved), the claim stays open for Reconcile.
	unsettled := issue(qr.ReceiveCode{Initiation: qr.Dynamic, Reference: "unsettled"})
	cs.crashSettle.Store(w.svc.PaymentID(userOf(payer), "unsettled"), struct{}{})
	if r, err := pay(unsettled, "unsettled", 0); err != nil || r.Amount != yuan(5_00) {
		t.Fatalf("Pay whose settlement failed: %+v, %v; want the receipt", r, err)
	}
	cs.crashSettle.Delete(w.svc.PaymentID(userOf(payer), "unsettled"))
	unsettledCode := w.svc.CodeID(alias, "unsettled")
	rep, err := w.svc.Check(ctx)
	if err != nil || rep.Codes != 2 || rep.Reservations != 1 || rep.InFlight != 1 {
		t.Fatalf("Check of agreeing records: %+v, %v", rep, err)
	}

	// Records that disagree, made through the store.
	ghostCode := w.svc.CodeID(alias, "ghost")
	issue(qr.ReceiveCode{Initiation: qr.Dynamic, Reference: "ghost"})
	ghost := ID("ghost-payment")
	_, err = w.store.ClaimCode(ctx, ghostCode, ghost, w.clock.Now())
	must(t, err)
	must(t, w.store.SettleCode(ctx, ghostCode, ghost))

	ghostCap := ID("ghost-reservation")
	day := w.svc.Day(w.clock.Now())
	_, err = w.store.ReserveCap(ctx, qr.CapReservation{Payment: ghostCap, User: userOf(payer), Day: day, Amount: yuan(400_00), At: w.clock.Now()}, yuan(500_00))
	must(t, err)
	must(t, w.store.SettleCap(ctx, ghostCap))

	voided := issue(qr.ReceiveCode{Initiation: qr.Dynamic, Reference: "voided"})
	voidedPayment := w.svc.PaymentID(userOf(payer), "voided")
	cs.crash.Store(voidedPayment, struct{}{})
	if _, err := pay(voided, "voided", 0); !errors.Is(err, errCrash) {
		t.Fatalf("Pay crashing after its claim: %v", err)
	}
	cs.crash.Delete(voidedPayment)
	_, err = w.l.Void(ctx, uuid.New(), voidedPayment)
	must(t, err)
	voidedCode := w.svc.CodeID(alias, "voided")
	must(t, w.store.SettleCode(ctx, voidedCode, voidedPayment))

	_, err = w.store.ReserveCap(ctx, qr.CapReservation{Payment: dyn.Payment, User: userOf(payer), Day: day, Amount: yuan(5_00), At: w.clock.Now()}, yuan(500_00))
	must(t, err)

	w.clock.Advance(time.Minute + time.Second) // past ReconcileAfter
	rep, err = w.svc.Check(ctx)
	if !errors.Is(err, qr.ErrRecordMismatch) {
		t.Fatalf("Check of disagreeing records: %v", err)
	}
	wantKinds := map[uuid.UUID]qr.ProblemKind{
		unsettledCode: qr.ProblemUnsettled,
		ghostCode:     qr.ProblemSettledUnpaid,
		ghostCap:      qr.ProblemSettledUnpaid,
		voidedCode:    qr.ProblemSettledUnpaid,
		dyn.Payment:   qr.ProblemTerms,
	}
	if got := problemKinds(rep.Problems); len(got) != len(wantKinds) || len(rep.Problems) != len(wantKinds) {
		t.Fatalf("Check found %v, want %v", rep.Problems, wantKinds)
	} else {
		for k, kind := range wantKinds {
			if got[k] != kind {
				t.Fatalf("Check found %v, want %v", rep.Problems, wantKinds)
			}
		}
	}

	// Reconcile settles the open claim, resets the three settled records
	// without a payment and reports the reservation of a dynamic payment.
	rrep, err := w.svc.Reconcile(ctx, w.clock.Now())
	if !errors.Is(err, qr.ErrRecordMismatch) || rrep != (qr.ReconcileReport{Completed: 1, Repaired: 3, Unrepaired: 1}) {
		t.Fatalf("Reconcile: %+v, %v", rrep, err)
	}
	rep, err = w.svc.Check(ctx)
	if !errors.Is(err, qr.ErrRecordMismatch) || len(rep.Problems) != 1 || rep.Problems[0].Kind != qr.ProblemTerms {
		t.Fatalf("Check after Reconcile: %+v, %v", rep.Problems, err)
	}
	// The codes reset are payable again, and the day's room is back.
	if _, err := pay(issue(qr.ReceiveCode{Initiation: qr.Dynamic, Reference: "ghost"}), "ghost-again", 0); err != nil {
		t.Fatalf("paying a reset code: %v", err)
	}
	if _, err := pay(voided, "voided-again", 0); err != nil {
		t.Fatalf("paying a reset code: %v", err)
	}
	if used, err := w.store.CapUsed(ctx, userOf(payer), day, cny); err != nil || used != yuan(1_00+5_00) {
		t.Fatalf("cap used %v, %v; want 6.00 (1.00 paid, 5.00 of the dynamic payment's reservation)", used, err)
	}
	must(t, w.wantNet("payer", payer, 100_00-4*5_00-1_00))
	must(t, w.wantNet("shop", shop, 4*5_00+1_00))
	// The one left: remove it and all agree.
	must(t, w.store.ResetCap(ctx, dyn.Payment))
	w.finish()
}

// wantConflict checks that err is a *qr.KeyConflictError on field.
func wantConflict(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ce *qr.KeyConflictError
	if !errors.As(err, &ce) || !errors.Is(err, qr.ErrKeyReused) || ce.Field != field {
		t.Fatalf("%s: %v, want a KeyConflictError on %s", what, err, field)
	}
}

// testIdempotency: retries that mean the same are the same request;
// different meanings conflict.
func testIdempotency(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv(t), nil, nil)
	ctx := w.ctx
	alias, shop, err := w.shop()
	must(t, err)
	other, _, err := w.shop()
	must(t, err)
	payer, err := w.wallet(100_00)
	must(t, err)
	issue := func(rc qr.ReceiveCode) string {
		t.Helper()
		if rc.Payee == "" {
			rc.Payee = alias
		}
		rc.City = "Shanghai"
		p, err := w.svc.Issue(ctx, rc)
		must(t, err)
		return p
	}
	pay := func(payload string, amount ledger.Money, key string, account uuid.UUID) (qr.Receipt, error) {
		return w.svc.Pay(ctx, qr.PayRequest{User: userOf(payer), From: payer, Payload: payload, Amount: amount, Key: key, PayeeAccount: account})
	}

	// Static: the same payee's code issued again under another name is
	// the same code to pay; sent at once, written both ways.
	static := issue(qr.ReceiveCode{Initiation: qr.Static, Currency: cny})
	renamed := issue(qr.ReceiveCode{Initiation: qr.Static, Currency: cny, Name: "Renamed shop"})
	if static == renamed {
		t.Fatal("the renamed code is the same payload")
	}
	rs, errs := ledgertest.Concurrently(2*raceK, func(c int) (qr.Receipt, error) {
		if c%2 == 0 {
			return pay(static, yuan(5_00), "s", uuid.Nil)
		}
		return pay(renamed, yuan(5_00), "s", shop)
	})
	must(t, samePay("static payment written two ways at once", rs, errs))
	r := rs[0]
	if again, err := pay(renamed, yuan(5_00), "s", uuid.Nil); err != nil || again.Payment != r.Payment || !again.At.Equal(r.At) {
		t.Fatalf("retry with the renamed code: %+v, %v", again, err)
	}
	_, err = pay(static, yuan(5_01), "s", uuid.Nil)
	wantConflict(t, "static, other amount", err, "amount")
	_, err = pay(issue(qr.ReceiveCode{Payee: other, Initiation: qr.Static, Currency: cny}), yuan(5_00), "s", uuid.Nil)
	wantConflict(t, "static, other payee", err, "payee")
	_, err = pay(static, yuan(5_00), "s", payer)
	wantConflict(t, "static, other payee account confirmed", err, "payee account")

	// Dynamic: with its amount or without, the same; another code or
	// amount conflicts.
	dyn := issue(qr.ReceiveCode{Initiation: qr.Dynamic, Amount: yuan(7_00), Reference: "D1", Expires: Start.Add(time.Hour)})
	rs, errs = ledgertest.Concurrently(2*raceK, func(c int) (qr.Receipt, error) {
		if c%2 == 0 {
			return pay(dyn, ledger.Money{}, "d", uuid.Nil)
		}
		return pay(dyn, yuan(7_00), "d", uuid.Nil)
	})
	must(t, samePay("dynamic payment with and without its amount at once", rs, errs))
	_, err = pay(dyn, yuan(7_01), "d", uuid.Nil)
	wantConflict(t, "dynamic, other amount", err, "amount")
	_, err = pay(issue(qr.ReceiveCode{Initiation: qr.Dynamic, Amount: yuan(7_00), Reference: "D2", Expires: Start.Add(time.Hour)}),
		ledger.Money{}, "d", uuid.Nil)
	wantConflict(t, "dynamic, other code", err, "dynamic code")
	_, err = pay(static, yuan(7_00), "d", uuid.Nil)
	wantConflict(t, "a static code under a dynamic payment's key", err, "point of initiation")

	// Charge: the order's meaning is its payer and amount; the phone's
	// next code is the same request, sent at once or later, and is not
	// redeemed by it.
	merchant, err := w.wallet(0)
	must(t, err)
	d, err := w.svc.RegisterDevice(ctx, w.name("phone"), payer)
	must(t, err)
	stranger, err := w.wallet(10_00)
	must(t, err)
	sd, err := w.svc.RegisterDevice(ctx, w.name("phone"), stranger)
	must(t, err)
	codeAt := func(d qr.Device, at time.Time) string {
		t.Helper()
		c, err := w.codes.Generate(d, at)
		must(t, err)
		return c
	}
	now := w.clock.Now()
	c1, c2 := codeAt(d, now), codeAt(d, now.Add(time.Minute)) // both within the default skew
	charge := func(code string, fen int64, order string) (qr.ChargeReceipt, error) {
		return w.svc.Charge(ctx, qr.ChargeRequest{Merchant: merchant, Code: code, Amount: yuan(fen), Order: order})
	}
	crs, errs := ledgertest.Concurrently(2*raceK, func(c int) (qr.ChargeReceipt, error) {
		if c%2 == 0 {
			return charge(c1, 3_00, "o1")
		}
		return charge(c2, 3_00, "o1")
	})
	must(t, sameCharge("one order charged with two codes of one phone at once", crs, errs))
	_, err = charge(c1, 3_01, "o1")
	wantConflict(t, "charge, other amount", err, "amount")
	_, err = charge(codeAt(sd, now), 3_00, "o1")
	wantConflict(t, "charge, other payer", err, "payer")
	w.clock.Advance(time.Minute)
	c3 := codeAt(d, w.clock.Now().Add(time.Minute))
	if again, err := charge(c3, 3_00, "o1"); err != nil || again.Transfer != crs[0].Transfer {
		t.Fatalf("charge retried with the next code: %+v, %v", again, err)
	}
	if _, err := charge(c3, 1_00, "o2"); err != nil {
		t.Fatalf("the code a retry showed, for a new order: %v", err)
	}
	must(t, w.wantNet("payer", payer, 100_00-5_00-7_00-3_00-1_00))
	must(t, w.wantNet("merchant", merchant, 4_00))
	must(t, w.wantNet("stranger", stranger, 10_00))
	w.finish()
}
