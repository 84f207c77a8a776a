// Package qrbench holds the QR load scenarios, for Go benchmarks and for
// the load generator (examples/bench): payment-code charges (付款码, the
// merchant scans the payer's phone) and receive-code payments (收款码, the
// payer scans the merchant's code), on any ledger and qr.Store.
//
// A scenario sets up its accounts, devices and codes once; then any number
// of goroutines call its operation, each call one charge or payment with a
// new idempotency key (Charge, Pay), or a numbered one that can be retried
// after a failure of the store (Next, then ChargeAt or PayAt until it
// answers). Charges are made by workers, one per goroutine:
//
//	c, err := qrbench.NewCharges(ctx, qrbench.Config{Ledger: l, Store: store, Workers: 8})
//	w := c.Worker(3)             // goroutine 3's
//	i := w.Next()
//	r, err := w.ChargeAt(ctx, i) // again with the same i after ErrUnavailable
package qrbench

import (
	"context"
	"crypto/rand"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
)

// Config sizes a scenario. The zero value is usable.
type Config struct {
	// Ledger is where payments settle. Default: a new memory ledger.
	Ledger *ledger.Ledger
	// Store is the qr.Store. Default: a new qr.MemoryStore.
	Store qr.Store
	// Payers is the number of payer wallets (each with a phone for payment
	// codes). Default 1000.
	Payers int
	// Merchants is the number of merchant accounts. Default 100.
	Merchants int
	// Funds is each payer's opening balance. Default 1,000,000.00 CNY.
	Funds ledger.Money
	// Amount is the amount of each charge or payment. Default 1.00 CNY.
	Amount ledger.Money
	// Workers is the number of Charges workers, one per goroutine.
	// Default 1.
	Workers int
	// Prepare is how many payment codes (Charges) or dynamic codes
	// (Payments with dynamic codes) to make ahead, so that the operation
	// times the bank's side only. Charges makes codes on the fly past
	// that; Payments with dynamic codes stops with ErrExhausted.
	Prepare int
}

// ErrExhausted: every prepared dynamic code has been paid.
var ErrExhausted = errcode.New("exhausted", errcode.Internal, "qrbench: prepared codes used up")

func (c *Config) defaults() {
	if c.Ledger == nil {
		c.Ledger = ledger.New(nil, ledger.Options{})
	}
	if c.Store == nil {
		c.Store = qr.NewMemoryStore(c.Ledger)
	}
	if c.Payers <= 0 {
		c.Payers = 1000
	}
	if c.Merchants <= 0 {
		c.Merchants = 100
	}
	cny := ledger.MustCurrency("CNY")
	if c.Funds.IsZero() {
		c.Funds = ledger.NewMoney(1_000_000_00, cny)
	}
	if c.Amount.IsZero() {
		c.Amount = ledger.NewMoney(1_00, cny)
	}
}

// accounts creates the bank's funding account, the payers (funded) and the
// merchants. Account and transfer IDs are random: a scenario may run many
// times on one ledger.
func accounts(ctx context.Context, cfg *Config) (payers, merchants []uuid.UUID, err error) {
	cur := cfg.Funds.Currency()
	create := func(flags ledger.AccountFlags) (uuid.UUID, error) {
		a, err := cfg.Ledger.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cur, Flags: flags})
		return a.ID, err
	}
	bank, err := create(0)
	if err != nil {
		return nil, nil, err
	}
	payers = make([]uuid.UUID, cfg.Payers)
	for i := range payers {
		if payers[i], err = create(ledger.DebitsMustNotExceedCredits); err != nil {
			return nil, nil, err
		}
		if _, err := cfg.Ledger.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: payers[i], Amount: cfg.Funds}); err != nil {
			return nil, nil, err
		}
	}
	merchants = make([]uuid.UUID, cfg.Merchants)
	for i := range merchants {
		if merchants[i], err = create(ledger.DebitsMustNotExceedCredits); err != nil {
			return nil, nil, err
		}
	}
	return payers, merchants, nil
}

// Charges is the payment-code scenario. The payers' phones are dealt out
// to Config.Workers workers, each for one goroutine at a time: charge i of
// a worker is its phone i mod k (of its k phones) showing its code of time
// step ⌊i/k⌋, scanned by merchant i mod Merchants. Every worker has a
// Service of its own on the shared ledger and store, whose clock the worker
// sets to the step of the charge it makes, so every code is fresh when
// charged however the goroutines are scheduled, and a retried charge finds
// its code as it was.
type Charges struct {
	workers []*ChargeWorker
}

// ChargeWorker makes one goroutine's charges.
type ChargeWorker struct {
	svc       *qr.Service
	codes     *qr.PaymentCodes
	devices   []qr.Device
	merchants []uuid.UUID
	amount    ledger.Money
	start     time.Time
	now       time.Time // the Service's clock
	orders    string    // prefix of this worker's order IDs
	next      int64
	prepared  []string
}

// NewCharges sets up the payers, their registered phones, the merchants
// and the workers (Config.Workers, default 1, at most Payers), and
// prepares Config.Prepare codes (shared out among the workers).
//
// Errors: the ledger's and the store's.
func NewCharges(ctx context.Context, cfg Config) (*Charges, error) {
	cfg.defaults()
	cfg.Workers = min(max(cfg.Workers, 1), cfg.Payers)
	payers, merchants, err := accounts(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	codes, err := qr.NewPaymentCodes(qr.PaymentCodeConfig{Prefix: "28", Key: []byte("qrbench payment-code permutation key")})
	if err != nil {
		return nil, err
	}
	// The device secrets are wrapped under a key of this run only.
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	kek, err := qr.NewLocalKeyWrapper(key[:], nil)
	if err != nil {
		return nil, err
	}
	setup, err := qr.New(qr.Config{Ledger: cfg.Ledger, Store: cfg.Store, PaymentCodes: codes, DeviceKeys: kek,
		ChargeCaps: []ledger.Money{}, DeviceDailyCaps: []ledger.Money{}})
	if err != nil {
		return nil, err
	}
	run := uuid.NewString()[:8]
	start := time.Now().Truncate(time.Minute)
	c := &Charges{workers: make([]*ChargeWorker, cfg.Workers)}
	for w := range c.workers {
		cw := &ChargeWorker{codes: codes, merchants: merchants, amount: cfg.Amount, start: start, now: start,
			orders: run + "-" + strconv.Itoa(w) + "-"}
		if cw.svc, err = qr.New(qr.Config{Ledger: cfg.Ledger, Store: cfg.Store, PaymentCodes: codes, DeviceKeys: kek,
			ChargeCaps: []ledger.Money{}, DeviceDailyCaps: []ledger.Money{}, Now: cw.clock}); err != nil {
			return nil, err
		}
		c.workers[w] = cw
	}
	for i, p := range payers {
		d, err := setup.RegisterDevice(ctx, run+"-phone-"+strconv.Itoa(i), p)
		if err != nil {
			return nil, err
		}
		w := c.workers[i%len(c.workers)]
		w.devices = append(w.devices, d)
	}
	for _, w := range c.workers {
		w.prepared = make([]string, (cfg.Prepare+len(c.workers)-1)/len(c.workers))
		for i := range w.prepared {
			if w.prepared[i], err = w.code(int64(i)); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// Workers returns the number of workers.
func (c *Charges) Workers() int { return len(c.workers) }

// Worker returns worker w (0 ≤ w < Workers()).
func (c *Charges) Worker(w int) *ChargeWorker { return c.workers[w] }

func (w *ChargeWorker) clock() time.Time { return w.now }

// stepTime is the time of the step of charge i.
func (w *ChargeWorker) stepTime(i int64) time.Time {
	return w.start.Add(time.Duration(i/int64(len(w.devices))) * time.Minute)
}

// code is what the phone of charge i shows.
func (w *ChargeWorker) code(i int64) (string, error) {
	return w.codes.Generate(w.devices[i%int64(len(w.devices))], w.stepTime(i))
}

// Charge makes the worker's next charge: ChargeAt(Next()).
//
// Errors: those of qr.Service.Charge.
func (w *ChargeWorker) Charge(ctx context.Context) (qr.ChargeReceipt, error) {
	return w.ChargeAt(ctx, w.Next())
}

// Next returns the number of the worker's next charge.
func (w *ChargeWorker) Next() int64 {
	w.next++
	return w.next - 1
}

// ChargeAt makes charge i (from Next); calling it again for the same i
// retries that charge (same order, same code), which the service answers
// with the same receipt.
//
// Errors: those of qr.Service.Charge.
func (w *ChargeWorker) ChargeAt(ctx context.Context, i int64) (qr.ChargeReceipt, error) {
	code := ""
	if i < int64(len(w.prepared)) {
		code = w.prepared[i]
	} else {
		var err error
		if code, err = w.code(i); err != nil {
			return qr.ChargeReceipt{}, err
		}
	}
	w.now = w.stepTime(i).Add(30 * time.Second) // scanned mid-step
	return w.svc.Charge(ctx, qr.ChargeRequest{
		Merchant: w.merchants[i%int64(len(w.merchants))], Code: code, Amount: w.amount,
		Order: w.orders + strconv.FormatInt(i, 10),
	})
}

// Payments is the receive-code scenario: payment i is payer i mod Payers
// paying merchant i mod Merchants by scanning its static code (within a
// daily cap too high to reach, so that the cap is counted), or, with
// dynamic codes, the i-th prepared dynamic code.
type Payments struct {
	svc      *qr.Service
	payers   []uuid.UUID // the payers' accounts
	users    []uuid.UUID // and the users who pay from them
	static   []string
	dynamic  []string
	amount   ledger.Money
	run      string
	next     atomic.Int64
	prepared bool
}

// NewPayments sets up the payers, the merchants in a directory with their
// static codes and, when dynamic, cfg.Prepare dynamic codes.
//
// Errors: the ledger's and the store's.
func NewPayments(ctx context.Context, cfg Config, dynamic bool) (*Payments, error) {
	cfg.defaults()
	payers, merchants, err := accounts(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	p := &Payments{payers: payers, users: make([]uuid.UUID, len(payers)), amount: cfg.Amount, run: uuid.NewString()[:8], prepared: dynamic}
	for i := range p.users {
		p.users[i] = uuid.New()
	}
	secret := []byte("qrbench receive-code HMAC secret")
	signer, err := qr.NewHMACSigner("bench", secret)
	if err != nil {
		return nil, err
	}
	keys, err := qr.NewKeys(qr.Key{ID: "bench", HMAC: secret})
	if err != nil {
		return nil, err
	}
	receive, err := qr.NewReceiveCodes(qr.ReceiveConfig{Signer: signer, Keys: keys})
	if err != nil {
		return nil, err
	}
	dir := &qr.MemoryDirectory{}
	p.svc, err = qr.New(qr.Config{
		Ledger: cfg.Ledger, Store: cfg.Store, Directory: dir, Receive: receive,
		StaticDailyCaps: []ledger.Money{ledger.NewMoney(1<<62, cfg.Amount.Currency())},
	})
	if err != nil {
		return nil, err
	}
	aliases := make([]string, len(merchants))
	for i, m := range merchants {
		aliases[i] = p.run + "-shop-" + strconv.Itoa(i)
		if err := dir.Put(qr.Payee{Alias: aliases[i], Account: m, Name: "Shop " + strconv.Itoa(i)}); err != nil {
			return nil, err
		}
		code, err := p.svc.Issue(ctx, qr.ReceiveCode{Payee: aliases[i], Initiation: qr.Static, Currency: cfg.Amount.Currency(), City: "Shanghai"})
		if err != nil {
			return nil, err
		}
		p.static = append(p.static, code)
	}
	if dynamic {
		p.dynamic = make([]string, cfg.Prepare)
		for i := range p.dynamic {
			p.dynamic[i], err = p.svc.Issue(ctx, qr.ReceiveCode{
				Payee: aliases[i%len(aliases)], Initiation: qr.Dynamic, Amount: cfg.Amount,
				Reference: "o" + strconv.Itoa(i), Expires: time.Now().Add(24 * time.Hour), City: "Shanghai",
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// Pay makes the next payment: PayAt(Next()).
//
// Errors: those of qr.Service.Pay, ErrExhausted.
func (p *Payments) Pay(ctx context.Context) (qr.Receipt, error) {
	return p.PayAt(ctx, p.Next())
}

// Next returns the number of the next payment.
func (p *Payments) Next() int64 { return p.next.Add(1) - 1 }

// PayAt makes payment i (from Next); calling it again for the same i
// retries that payment (same payer, code and key), which the service
// answers with the same receipt. Safe for concurrent use.
//
// Errors: those of qr.Service.Pay, ErrExhausted.
func (p *Payments) PayAt(ctx context.Context, i int64) (qr.Receipt, error) {
	k := i % int64(len(p.payers))
	req := qr.PayRequest{User: p.users[k], From: p.payers[k], Key: p.run + "-" + strconv.FormatInt(i, 10)}
	if p.prepared {
		if i >= int64(len(p.dynamic)) {
			return qr.Receipt{}, ErrExhausted
		}
		req.Payload = p.dynamic[i]
	} else {
		req.Payload, req.Amount = p.static[i%int64(len(p.static))], p.amount
	}
	return p.svc.Pay(ctx, req)
}

// Service returns the scenario's qr.Service.
func (p *Payments) Service() *qr.Service { return p.svc }
