package qrdirectory_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/qrdirectory"
)

// bank is one instance of a bank's service: transfer and QR on one
// ledger, metered by one lookup limiter, on a clock that stands still
// (buckets do not refill).
type bank struct {
	ctx     context.Context
	ledger  *ledger.Ledger
	limiter *transfer.MemoryLimiter
	xfer    *transfer.Service
	qr      *qr.Service
	receive *qr.ReceiveCodes
	cny     ledger.Currency
	cash    uuid.UUID
}

func newBank(t *testing.T) *bank {
	t.Helper()
	return newRateBank(t, transfer.DefaultRateConfig())
}

// newRateBank is newBank with the limiter configured by cfg.
func newRateBank(t *testing.T, cfg transfer.RateConfig) *bank {
	t.Helper()
	now := time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	b := &bank{ctx: context.Background(), cny: ledger.MustCurrency("CNY")}
	b.ledger = ledger.New(nil, ledger.Options{Now: clock})
	cfg.Now = clock
	var err error
	if b.limiter, err = transfer.NewMemoryLimiter(cfg); err != nil {
		t.Fatal(err)
	}
	if b.xfer, err = transfer.New(transfer.Config{Ledger: b.ledger, Limiter: b.limiter, SingleProcess: true, Now: clock}); err != nil {
		t.Fatal(err)
	}
	parser, _ := transfer.NewPhoneParser("CN")
	dir := &qrdirectory.Directory{Parser: parser, Phones: b.xfer.Directory(), Limiter: b.limiter}
	secret := []byte("qrdirectory test HMAC secret 32b")
	signer, _ := qr.NewHMACSigner("k", secret)
	keys, _ := qr.NewKeys(qr.Key{ID: "k", HMAC: secret})
	if b.receive, err = qr.NewReceiveCodes(qr.ReceiveConfig{Signer: signer, Keys: keys, Now: clock}); err != nil {
		t.Fatal(err)
	}
	if b.qr, err = qr.New(qr.Config{Ledger: b.ledger, Directory: dir, Receive: b.receive, SingleProcess: true}); err != nil {
		t.Fatal(err)
	}
	b.cash = b.account(t, "", 0)
	return b
}

// uid is the user ID of a test user's name.
func uid(name string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)) }

// account opens a CNY account; a payer's name makes it a customer's
// wallet holding 100.00.
func (b *bank) account(t *testing.T, payer string, flags ledger.AccountFlags) uuid.UUID {
	t.Helper()
	a, err := b.ledger.CreateAccount(b.ctx, ledger.Account{ID: uuid.New(), Currency: b.cny, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	if payer != "" {
		if _, err := b.ledger.Transfer(b.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: b.cash, CreditAccountID: a.ID, Amount: ledger.NewMoney(100_00, b.cny)}); err != nil {
			t.Fatal(err)
		}
	}
	return a.ID
}

// code is a static receive code naming alias, signed as the bank signs:
// what an attacker gets by having codes issued for arbitrary numbers.
func (b *bank) code(t *testing.T, alias string) string {
	t.Helper()
	c, err := b.receive.Issue(b.ctx, qr.ReceiveCode{Payee: alias, Initiation: qr.Static, Currency: b.cny, Name: "SHOP", City: "Shanghai"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// randomNumbers returns n distinct mobile numbers that nobody holds
// (13800138000 is the only one bound).
func randomNumbers(n int) []string {
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		s := fmt.Sprintf("+86139%08d", rand.IntN(100_000_000))
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// probe quotes a code for each number as payer and counts the answers:
// unknown payees (misses), and refusals, which must be typed.
func probe(t *testing.T, quote func(payload string) error, codes []string) (misses, refused int) {
	t.Helper()
	for _, c := range codes {
		err := quote(c)
		var rl *transfer.RateLimitError
		switch {
		case errors.Is(err, qr.ErrUnknownPayee):
			if refused > 0 {
				t.Fatalf("a miss answered after a refusal: %v", err)
			}
			misses++
		case errors.Is(err, qr.ErrLookupLimited):
			if !errors.Is(err, transfer.ErrRateLimited) || !errors.As(err, &rl) || rl.RetryAfter <= 0 {
				t.Fatalf("refusal not typed: %v", err)
			}
			refused++
		default:
			t.Fatalf("quote: %v", err)
		}
	}
	return misses, refused
}

// The attack: a prober has codes issued for 40 random numbers and asks
// for quotes. Before, every quote answered (40 of 40: who holds each
// number, at no cost). Now the payer's budget (100 tokens at 20 a miss)
// buys five misses and the rest are refused with a typed error.
func TestQuoteEnumerationIsMetered(t *testing.T) {
	b := newBank(t)
	prober := b.account(t, "prober", ledger.DebitsMustNotExceedCredits)
	var codes []string
	for _, n := range randomNumbers(40) {
		codes = append(codes, b.code(t, n))
	}
	misses, refused := probe(t, func(c string) error { _, err := b.qr.Preview(b.ctx, uid("prober"), c); return err }, codes)
	if misses != 5 || refused != 35 {
		t.Fatalf("quotes: %d misses, %d refused; want 5 and 35", misses, refused)
	}
	// Paying codes instead of quoting them is the same lookup: refused,
	// and nothing is held.
	misses, refused = probe(t, func(c string) error {
		_, err := b.qr.Pay(b.ctx, qr.PayRequest{User: uid("prober"), From: prober, Payload: c, Amount: ledger.NewMoney(1, b.cny), Key: c[len(c)-20:]})
		return err
	}, codes[:10])
	if misses != 0 || refused != 10 {
		t.Fatalf("payments: %d misses, %d refused", misses, refused)
	}
	if a, _ := b.ledger.Account(b.ctx, prober); a.NetMoney() != ledger.NewMoney(100_00, b.cny) || a.Balance.DebitsPending != 0 {
		t.Fatalf("refused payments moved money: %+v", a)
	}
	// The same budget is transfer's: a phone lookup is refused too.
	if _, err := b.xfer.Resolve(b.ctx, uid("prober"), "13800138000"); !errors.Is(err, transfer.ErrRateLimited) {
		t.Fatalf("Resolve after QR probing: %v", err)
	}
}

// Misses through transfer.Service.Resolve count in QR's budget for the
// same payer, and QR's in transfer's.
func TestBudgetSharedWithResolve(t *testing.T) {
	b := newBank(t)
	prober := uid("prober") // a user, as Resolve and Preview both name them
	numbers := randomNumbers(10)
	for _, n := range numbers[:3] { // 60 tokens through transfer
		if _, err := b.xfer.Resolve(b.ctx, prober, n); !errors.Is(err, transfer.ErrNotBound) {
			t.Fatalf("Resolve %s: %v", n, err)
		}
	}
	var codes []string
	for _, n := range numbers[3:] {
		codes = append(codes, b.code(t, n))
	}
	misses, refused := probe(t, func(c string) error { _, err := b.qr.Preview(b.ctx, prober, c); return err }, codes)
	if misses != 2 || refused != 5 {
		t.Fatalf("after 3 misses through Resolve, QR gave %d misses, %d refused; want 2 and 5", misses, refused)
	}
	if _, err := b.xfer.Resolve(b.ctx, prober, numbers[0]); !errors.Is(err, transfer.ErrRateLimited) {
		t.Fatalf("Resolve: %v", err)
	}
}

// An honest payer: a found payee costs one token, a payment that settles
// gives it back, a retry of the payment looks nothing up and gives
// nothing back; the bank's own Issue is not metered.
func TestFoundLookupAndSettlement(t *testing.T) {
	b := newBank(t)
	bob := b.account(t, "", ledger.DebitsMustNotExceedCredits)
	if _, err := b.xfer.Bind(b.ctx, transfer.BindRequest{Phone: "13800138000", Holder: uid("bob"), Account: bob, Name: "王小明", VerifiedAt: b.ledger.Now()}); err != nil {
		t.Fatal(err)
	}
	alice := b.account(t, "alice", ledger.DebitsMustNotExceedCredits)
	code, err := b.qr.Issue(b.ctx, qr.ReceiveCode{Payee: "+8613800138000", Initiation: qr.Static, Currency: b.cny, City: "Shanghai"})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.limiter.Tokens(uid("alice")); got != 100 {
		t.Fatalf("after Issue: %d tokens", got)
	}
	q, err := b.qr.Preview(b.ctx, uid("alice"), code)
	if err != nil || q.Payee.Name != "**明" {
		t.Fatalf("Preview: %+v %v", q, err)
	}
	if got := b.limiter.Tokens(uid("alice")); got != 99 {
		t.Fatalf("after a found quote: %d tokens, want 99", got)
	}
	req := qr.PayRequest{User: uid("alice"), From: alice, Payload: code, Amount: ledger.NewMoney(10_00, b.cny), Key: "k1", PayeeConfirm: q.Confirm}
	for range 3 {
		if _, err := b.qr.Pay(b.ctx, req); err != nil {
			t.Fatal(err)
		}
		// Pay's lookup cost 1; its settlement gave 1 back; retries
		// neither.
		if got := b.limiter.Tokens(uid("alice")); got != 99 {
			t.Fatalf("after paying: %d tokens, want 99", got)
		}
	}
}

// A Directory without a Limiter refuses payer lookups rather than answer
// them unmetered; the bank's own lookups still work.
func TestNoLimiter(t *testing.T) {
	d, _ := newDirectory(t)
	_, err := d.Payee(context.Background(), qr.Lookup{Alias: "13800138000", User: uuid.New()})
	if !errors.Is(err, qr.ErrLookupLimited) || !errors.Is(err, qrdirectory.ErrNoLimiter) {
		t.Fatalf("payer lookup without a Limiter: %v", err)
	}
	if _, err := d.Payee(context.Background(), qr.Lookup{Alias: "13800138000"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Settled(context.Background(), uuid.New()); !errors.Is(err, qrdirectory.ErrNoLimiter) {
		t.Fatalf("Settled: %v", err)
	}
}

// A payment retried K times at once with one key, the user's budget
// holding one lookup: every call answers the one payment's receipt. The
// duplicates quote before the first has held any money; they share its
// lookup charge, where each paying its own would answer ErrLookupLimited.
// A payment under another key is refused: the budget was spent once and
// nothing was given back for the duplicates.
func TestDuplicatePaymentsShareOneLookup(t *testing.T) {
	cfg := transfer.DefaultRateConfig()
	cfg.Payer.Capacity, cfg.SettledRefund = cfg.NotFoundCost, 0
	b := newRateBank(t, cfg)
	bob := b.account(t, "", ledger.DebitsMustNotExceedCredits)
	if _, err := b.xfer.Bind(b.ctx, transfer.BindRequest{Phone: "13800138000", Holder: uid("bob"), Account: bob, Name: "王小明", VerifiedAt: b.ledger.Now()}); err != nil {
		t.Fatal(err)
	}
	code := b.code(t, "+8613800138000")
	for i := range ledgertest.RaceIterations(t, 20) {
		user := uuid.New()
		from := b.account(t, "payer", ledger.DebitsMustNotExceedCredits)
		req := qr.PayRequest{User: user, From: from, Payload: code, Amount: ledger.NewMoney(10_00, b.cny), Key: fmt.Sprint("dup-", i)}
		receipts, errs := ledgertest.Concurrently(8, func(int) (qr.Receipt, error) { return b.qr.Pay(b.ctx, req) })
		for k := range receipts {
			if errs[k] != nil || receipts[k] != receipts[0] {
				t.Fatalf("iteration %d duplicate %d: %+v %v, first %+v", i, k, receipts[k], errs[k], receipts[0])
			}
		}
		req.Key = fmt.Sprint("other-", i)
		if _, err := b.qr.Pay(b.ctx, req); !errors.Is(err, qr.ErrLookupLimited) {
			t.Fatalf("iteration %d: another payment: %v, want ErrLookupLimited", i, err)
		}
	}
}

// A prober at its last tokens (more than the found price, fewer than the
// not-found price) learns nothing: quoting the code of a bound number and
// of an unbound one get the same refusal, and neither costs a token.
func TestLastTokensRevealNothing(t *testing.T) {
	b := newBank(t)
	bob := b.account(t, "", ledger.DebitsMustNotExceedCredits)
	if _, err := b.xfer.Bind(b.ctx, transfer.BindRequest{Phone: "13800138000", Holder: uid("bob"), Account: bob, Name: "王小明", VerifiedAt: b.ledger.Now()}); err != nil {
		t.Fatal(err)
	}
	bound, unbound := b.code(t, "+8613800138000"), b.code(t, randomNumbers(1)[0])
	misses, _ := probe(t, func(c string) error { _, err := b.qr.Preview(b.ctx, uid("prober"), c); return err }, []string{unbound, unbound, unbound, unbound})
	if _, err := b.qr.Preview(b.ctx, uid("prober"), bound); misses != 4 || err != nil {
		t.Fatalf("%d misses, then a bound code: %v", misses, err)
	}
	if got := b.limiter.Tokens(uid("prober")); got != 19 {
		t.Fatalf("%d tokens, want 19", got)
	}
	_, eb := b.qr.Preview(b.ctx, uid("prober"), bound)
	_, eu := b.qr.Preview(b.ctx, uid("prober"), unbound)
	if !errors.Is(eb, qr.ErrLookupLimited) || fmt.Sprint(eb) != fmt.Sprint(eu) {
		t.Fatalf("at the last tokens: bound %v, unbound %v; want one refusal", eb, eu)
	}
	if got := b.limiter.Tokens(uid("prober")); got != 19 {
		t.Fatalf("refused quotes left %d tokens, want 19", got)
	}
}
