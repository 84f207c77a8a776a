// Package transferbench drives the phone scenario of socialpay's load
// generator (examples/bench) and of package transfer's benchmarks: payers
// resolve a payee's mobile number (the reveal lookup, metered by the
// anti-enumeration limiter) and pay it at once — 手机号转账 end to end:
// directory lookup, masked name, lookup token, record with limits and
// daily total, ledger transfer, settlement and the limiter's refund.
//
// Setup creates and funds the payers' wallets, binds the payees' numbers
// and returns a Phone; each load client gets a Client whose Do makes one
// resolve and one send. It runs on whatever stores it is given: the memory
// stores by default, or PostgreSQL (package postgres) for the database
// scenario.
package transferbench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

// Config sizes a Phone scenario.
type Config struct {
	// Ledger is where the money moves. Required.
	Ledger *ledger.Ledger
	// Store and Directory are the transfer stores; nil means the memory
	// ones.
	Store     transfer.Store
	Directory transfer.Directory
	// Payers and Payees are how many of each to create; default 1,024
	// each.
	Payers, Payees int
	// Clients is how many load clients will run (payers are split among
	// them, so clients never share a payer); default 1.
	Clients int
	// Funds is each payer's opening balance in minor units of CNY;
	// default CNY 1,000,000.00.
	Funds int64
	// Amount of each transfer in minor units; default 1 (CNY 0.01).
	Amount int64
	// Limiter and TokenKey are the service's (transfer.Config): a limiter
	// and a key shared by every instance, such as postgres.LookupLimiter
	// built with Rate(). Both may be nil only with SingleProcess.
	Limiter  transfer.Limiter
	TokenKey []byte
	// SingleProcess runs the service as the only instance
	// (transfer.Config.SingleProcess): a nil Limiter means a MemoryLimiter
	// with Rate, a nil TokenKey a random key.
	SingleProcess bool
	// Rate configures the memory limiter of a SingleProcess run; a zero
	// Rate.Payer means Rate().
	Rate transfer.RateConfig
	// Prefix makes the payers' IDs, the keys and the numbers distinct from
	// an earlier run's on the same database; default a random one.
	Prefix string
}

// Phone is a set-up scenario.
type Phone struct {
	svc    *transfer.Service
	payers []payer
	phones []string // the payees' numbers as payers type them
	amount ledger.Money
	prefix string
	per    int
}

type payer struct {
	id   uuid.UUID
	acct uuid.UUID
}

// customer is the user ID of the bench's customer number n, derived as a
// bank whose customer numbers are text derives them (docs/identity.md).
func customer(n string) uuid.UUID { return ledger.DeriveID(uuid.NameSpaceURL, "customer", n) }

// Setup creates cfg.Payers funded wallets and cfg.Payees bound numbers.
//
// Errors: those of the ledger, transfer.New and transfer.Service.Bind.
func Setup(ctx context.Context, cfg Config) (*Phone, error) {
	if cfg.Ledger == nil {
		return nil, errors.New("transferbench: no ledger")
	}
	cfg.Payers = cmpOr(cfg.Payers, 1024)
	cfg.Payees = cmpOr(cfg.Payees, 1024)
	cfg.Clients = cmpOr(cfg.Clients, 1)
	cfg.Funds = cmpOr(cfg.Funds, 1_000_000_00)
	cfg.Amount = cmpOr(cfg.Amount, 1)
	if cfg.Payers < cfg.Clients {
		return nil, fmt.Errorf("transferbench: %d payers for %d clients", cfg.Payers, cfg.Clients)
	}
	if cfg.Rate.Payer == (transfer.BucketConfig{}) {
		cfg.Rate = Rate()
	}
	if cfg.Prefix == "" {
		cfg.Prefix = strconv.FormatUint(rand.Uint64()%1e6, 36)
	}
	if cfg.Limiter == nil && cfg.SingleProcess {
		lim, err := transfer.NewMemoryLimiter(cfg.Rate)
		if err != nil {
			return nil, err
		}
		cfg.Limiter = lim
	}
	svc, err := transfer.New(transfer.Config{Ledger: cfg.Ledger, Store: cfg.Store, Directory: cfg.Directory,
		Limiter: cfg.Limiter, TokenKey: cfg.TokenKey, SingleProcess: cfg.SingleProcess})
	if err != nil {
		return nil, err
	}
	cny := svc.Limits().Currency()
	p := &Phone{svc: svc, amount: ledger.NewMoney(cfg.Amount, cny), prefix: cfg.Prefix, per: cfg.Payers / cfg.Clients}
	bank, err := cfg.Ledger.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Code: 1})
	if err != nil {
		return nil, err
	}
	wallet := func(funds int64) (uuid.UUID, error) {
		a, err := cfg.Ledger.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Code: 2, Flags: ledger.DebitsMustNotExceedCredits})
		if err != nil || funds == 0 {
			return a.ID, err
		}
		_, err = cfg.Ledger.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: a.ID, Amount: ledger.NewMoney(funds, cny)})
		return a.ID, err
	}
	for i := range cfg.Payers {
		acct, err := wallet(cfg.Funds)
		if err != nil {
			return nil, err
		}
		p.payers = append(p.payers, payer{id: customer(cfg.Prefix + "-payer-" + strconv.Itoa(i)), acct: acct})
	}
	// Numbers 13x xxxx xxxx: valid Chinese mobile numbers, distinct per
	// prefix (the prefix picks the block).
	block := uint64(0)
	for _, c := range cfg.Prefix {
		block = block*31 + uint64(c)
	}
	for i := range cfg.Payees {
		acct, err := wallet(0)
		if err != nil {
			return nil, err
		}
		n := (block*uint64(cfg.Payees) + uint64(i)) % 1e8
		national := fmt.Sprintf("138 %04d %04d", n/1e4, n%1e4)
		holder := customer(cfg.Prefix + "-payee-" + strconv.Itoa(i))
		_, err = svc.Bind(ctx, transfer.BindRequest{Phone: national, Holder: holder, Account: acct, Name: "王小明", VerifiedAt: time.Now(), Rebind: true})
		if err != nil {
			return nil, err
		}
		p.phones = append(p.phones, national)
	}
	return p, nil
}

// Rate returns the lookup limits of the scenario: PIX DICT's payer
// buckets (transfer.DefaultRateConfig) with the institution bucket raised
// to 2^40 tokens refilled every nanosecond, since the default institution
// bucket (1,000 lookups a second sustained) would otherwise be the
// benchmark's ceiling.
func Rate() transfer.RateConfig {
	rc := transfer.DefaultRateConfig()
	rc.Institution = transfer.BucketConfig{Capacity: 1 << 40, Interval: time.Nanosecond}
	return rc
}

func cmpOr[T int | int64](v, d T) T {
	if v == 0 {
		return d
	}
	return v
}

// Service returns the service the scenario drives.
func (p *Phone) Service() *transfer.Service { return p.svc }

// Client is one load client: it pays from its own share of the payers.
type Client struct {
	p      *Phone
	payers []payer
	rng    *rand.Rand
	key    []byte
	n      uint64
}

// Client returns load client i (0 ≤ i < Config.Clients); rng is its own
// random source. Its idempotency keys are its own too, even for the same
// i again.
func (p *Phone) Client(i int, rng *rand.Rand) *Client {
	key := fmt.Appendf(nil, "%s-c%d-%x-", p.prefix, i, rng.Uint64())
	return &Client{p: p, payers: p.payers[i*p.per : (i+1)*p.per], rng: rng, key: key}
}

// Do resolves a payee's number for one of the client's payers and pays it
// at once. It returns 1 (one transfer) or the first error.
func (c *Client) Do(ctx context.Context) (int, error) {
	from := c.payers[c.rng.IntN(len(c.payers))]
	phone := c.p.phones[c.rng.IntN(len(c.p.phones))]
	res, err := c.p.svc.Resolve(ctx, from.id, phone)
	if err != nil {
		return 0, err
	}
	c.n++
	key := strconv.AppendUint(c.key, c.n, 36)
	r, err := c.p.svc.Send(ctx, transfer.Request{Key: string(key), Payer: from.id, From: from.acct, Token: res.Token, Amount: c.p.amount})
	if err != nil {
		return 0, err
	}
	if r.State != transfer.StateSettled {
		return 0, fmt.Errorf("transferbench: transfer %s is %s", r.ID, r.State)
	}
	return 1, nil
}
