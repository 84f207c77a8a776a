// Package qrbench holds the QR load scenarios, for Go benchmarks and for
// the load generator (examples/bench): payment-code charges (付款码, the
// merchant scans the payer's phone) and receive-code payments (收款码, the
// payer scans the merchant's code), on any ledger and qr.Store.
//
// A scenario sets up its accounts, devices and codes once; then any number
// of goroutines call its operation, each call one charge or payment with a
// new idempotency key.
package qrbench

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

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
	// codes). Default 1000. Charges needs more payers than concurrent
	// callers.
	Payers int
	// Merchants is the number of merchant accounts. Default 100.
	Merchants int
	// Funds is each payer's opening balance. Default 1,000,000.00 CNY.
	Funds ledger.Money
	// Amount is the amount of each charge or payment. Default 1.00 CNY.
	Amount ledger.Money
	// Prepare is how many payment codes (Charges) or dynamic codes
	// (Payments with dynamic codes) to make ahead, so that the operation
	// times the bank's side only. Charges makes codes on the fly past
	// that; Payments with dynamic codes stops with ErrExhausted.
	Prepare int
}

// ErrExhausted: every prepared dynamic code has been paid.
var ErrExhausted = errors.New("qrbench: prepared codes used up")

func (c *Config) defaults() {
	if c.Ledger == nil {
		c.Ledger = ledger.New(nil, ledger.Options{})
	}
	if c.Store == nil {
		c.Store = qr.NewMemoryStore()
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

// Charges is the payment-code scenario: charge i is payer i mod Payers'
// phone, showing its code of time step ⌊i/Payers⌋, scanned by merchant i
// mod Merchants. A virtual clock moves one step (60 s) every Payers
// charges, so every charge has a fresh code that the bank accepts.
type Charges struct {
	svc       *qr.Service
	codes     *qr.PaymentCodes
	devices   []qr.Device
	merchants []uuid.UUID
	amount    ledger.Money
	start     time.Time
	run       string       // this run's prefix of order IDs
	step      atomic.Int64 // the virtual clock's step, from start
	next      atomic.Int64
	prepared  []string
}

// NewCharges sets up the payers, their registered phones and the
// merchants, and prepares cfg.Prepare codes.
//
// Errors: the ledger's and the store's.
func NewCharges(ctx context.Context, cfg Config) (*Charges, error) {
	cfg.defaults()
	payers, merchants, err := accounts(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	c := &Charges{merchants: merchants, amount: cfg.Amount, start: time.Now().Truncate(time.Minute), run: uuid.NewString()[:8]}
	c.codes, err = qr.NewPaymentCodes(qr.PaymentCodeConfig{Prefix: "28", Key: []byte("qrbench payment-code permutation key")})
	if err != nil {
		return nil, err
	}
	c.svc, err = qr.NewService(qr.Config{Ledger: cfg.Ledger, Store: cfg.Store, PaymentCodes: c.codes, Now: c.now})
	if err != nil {
		return nil, err
	}
	c.devices = make([]qr.Device, len(payers))
	for i, p := range payers {
		if c.devices[i], err = c.svc.RegisterDevice(ctx, c.run+"-phone-"+strconv.Itoa(i), p); err != nil {
			return nil, err
		}
	}
	c.prepared = make([]string, cfg.Prepare)
	for i := range c.prepared {
		if c.prepared[i], err = c.code(int64(i)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Charges) now() time.Time { return c.start.Add(time.Duration(c.step.Load()) * time.Minute) }

// code is what payer i mod Payers' phone shows at step ⌊i/Payers⌋.
func (c *Charges) code(i int64) (string, error) {
	n := int64(len(c.devices))
	return c.codes.Generate(c.devices[i%n], c.start.Add(time.Duration(i/n)*time.Minute))
}

// Charge makes the next charge. Safe for concurrent use by fewer
// goroutines than Payers.
//
// Errors: those of qr.Service.Charge.
func (c *Charges) Charge(ctx context.Context) (qr.ChargeReceipt, error) {
	i := c.next.Add(1) - 1
	n := int64(len(c.devices))
	for step := i / n; ; { // move the clock forward to this charge's step
		cur := c.step.Load()
		if cur >= step || c.step.CompareAndSwap(cur, step) {
			break
		}
	}
	var code string
	if i < int64(len(c.prepared)) {
		code = c.prepared[i]
	} else {
		var err error
		if code, err = c.code(i); err != nil {
			return qr.ChargeReceipt{}, err
		}
	}
	return c.svc.Charge(ctx, qr.ChargeRequest{
		Merchant: c.merchants[i%int64(len(c.merchants))], Code: code, Amount: c.amount,
		Order: c.run + "-" + strconv.FormatInt(i, 10),
	})
}

// Service returns the scenario's qr.Service.
func (c *Charges) Service() *qr.Service { return c.svc }

// Payments is the receive-code scenario: payment i is payer i mod Payers
// paying merchant i mod Merchants by scanning its static code (within a
// daily cap too high to reach, so that the cap is counted), or, with
// dynamic codes, the i-th prepared dynamic code.
type Payments struct {
	svc      *qr.Service
	payers   []uuid.UUID
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
	p := &Payments{payers: payers, amount: cfg.Amount, run: uuid.NewString()[:8], prepared: dynamic}
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
	p.svc, err = qr.NewService(qr.Config{
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

// Pay makes the next payment. Safe for concurrent use.
//
// Errors: those of qr.Service.Pay, ErrExhausted.
func (p *Payments) Pay(ctx context.Context) (qr.Receipt, error) {
	i := p.next.Add(1) - 1
	req := qr.PayRequest{Payer: p.payers[i%int64(len(p.payers))], Key: p.run + "-" + strconv.FormatInt(i, 10)}
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
