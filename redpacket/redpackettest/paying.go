package redpackettest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// RunPaying runs the conformance suite of a redpacket.PayingStore: the
// Store suite (RunWith), then ClaimPaid against the ledger store ls that
// newStores returns with it (one PaysOn must accept). It checks that a
// claim is recorded posted together with its transfer on the ledger; that
// a retry returns the existing claim and pays nothing twice; that a
// payment the ledger refuses (a missing, closed or frozen wallet, or one
// in another currency) records nothing and takes no share, whoever claims
// beside it; that the store's refusals (packet not found, not funded, sold
// out, expired) move nothing; that many claimers at once, some of them
// refused, get distinct consecutive shares, each paid once; and that the
// ledger verifies; that the claim completing a packet settles it (escrow
// closed at zero) in its step; that SendPaid records a packet open with its funding,
// or cancelled with the refusal's code and no money moved, once under
// concurrent identical sends; that RefundPaid refunds an expired packet's
// remainder once, or, refused, closes it for claims and moves nothing.
// Last, RunRace on the two stores: the service
// sending, claiming and refunding through SendPaid, ClaimPaid and
// RefundPaid.
//
// newStores is called for every subtest and may return the same stores
// each time: the tests use fresh random IDs.
func RunPaying(t *testing.T, newStores func(testing.TB) (redpacket.PayingStore, ledger.Store), opts Options) {
	RunWith(t, func(tb testing.TB) redpacket.Store {
		s, _ := newStores(tb)
		return s
	}, opts)
	if opts.Goroutines <= 0 {
		opts.Goroutines = 1000
	}
	tests := []struct {
		name string
		f    func(*testing.T, *payEnv)
	}{
		{"PaysOn", testPaysOn},
		{"ClaimPaidPosted", testClaimPaidPosted},
		{"ClaimPaidRefused", testClaimPaidRefused},
		{"ClaimPaidStoreRefusals", testClaimPaidStoreRefusals},
		{"ClaimPaidConcurrent", testClaimPaidConcurrent},
		{"ClaimPaidSettles", testClaimPaidSettles},
		{"SendPaidFunded", testSendPaidFunded},
		{"SendPaidRefused", testSendPaidRefused},
		{"SendPaidConcurrent", testSendPaidConcurrent},
		{"RefundPaid", testRefundPaid},
		{"RefundPaidRefused", testRefundPaidRefused},
		{"RefundPaidConcurrent", testRefundPaidConcurrent},
	}
	for _, tt := range tests {
		t.Run("Paying/"+tt.name, func(t *testing.T) {
			s, ls := newStores(t)
			e := &payEnv{env: env{t: t, ctx: context.Background(), s: s, opts: opts}, ps: s, ls: ls, l: ledger.New(ls, ledger.Options{})}
			tt.f(t, e)
			if _, err := e.l.Verify(e.ctx); err != nil {
				t.Fatalf("ledger Verify: %v", err)
			}
		})
	}
	// The service paying claims through ClaimPaid.
	t.Run("Paying", func(t *testing.T) {
		s, ls := newStores(t)
		RunRace(t, RaceConfig{Ledger: ls, Store: s, Iterations: opts.RaceIterations})
	})
}

type payEnv struct {
	env
	ps redpacket.PayingStore
	ls ledger.Store
	l  *ledger.Ledger
}

// payNS is the namespace of the suite's claim transfer IDs.
var payNS = uuid.MustParse("3b0c6f5e-55a4-4b8e-9d0f-2f4c8a0f7a11")

// payment is the suite's payment of a claim of p: escrow → wallet, with an
// ID derived from (packet, user), as the Service pays.
func payment(p *redpacket.Packet) func(redpacket.Claim) ledger.Transfer {
	return func(c redpacket.Claim) ledger.Transfer {
		return ledger.Transfer{
			ID: paymentID(c.PacketID, c.User), DebitAccountID: p.Escrow, CreditAccountID: c.Account, Amount: c.Amount, Code: 2,
		}
	}
}

func paymentID(packet, user uuid.UUID) uuid.UUID {
	return ledger.DeriveID(payNS, packet.String(), user.String())
}

// account creates an account in currency c.
func (e *payEnv) account(c ledger.Currency, flags ledger.AccountFlags) uuid.UUID {
	e.t.Helper()
	a, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: uuid.New(), Currency: c, Flags: flags})
	if err != nil {
		e.t.Fatalf("CreateAccount: %v", err)
	}
	return a.ID
}

func (e *payEnv) wallet() uuid.UUID { return e.account(cny, ledger.DebitsMustNotExceedCredits) }

// funded creates and opens a packet of the given shares whose escrow
// account holds its total, moved there from a bank account.
func (e *payEnv) funded(shares ...int64) redpacket.Packet {
	e.t.Helper()
	p := NewPacket(shares...)
	p.Escrow = e.account(cny, ledger.DebitsMustNotExceedCredits)
	bank := e.account(cny, 0)
	if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: p.Escrow, Amount: p.Total}); err != nil {
		e.t.Fatalf("fund escrow: %v", err)
	}
	return e.open(p)
}

func (e *payEnv) claimPaid(p *redpacket.Packet, user, wallet uuid.UUID) (redpacket.ClaimResult, error) {
	at := p.CreatedAt.Add(time.Minute)
	return e.ps.ClaimPaid(e.ctx, p.ID, user, wallet, at, at, payment(p))
}

func (e *payEnv) net(account uuid.UUID) int64 {
	e.t.Helper()
	a, err := e.l.Account(e.ctx, account)
	if err != nil {
		e.t.Fatalf("Account: %v", err)
	}
	return a.Balance.Net()
}

// paid reports whether the payment of user's claim of packet is on the
// ledger.
func (e *payEnv) paid(packet, user uuid.UUID) bool {
	e.t.Helper()
	_, err := e.l.LookupTransfer(e.ctx, paymentID(packet, user))
	switch {
	case err == nil:
		return true
	case errors.Is(err, ledger.ErrTransferNotFound):
		return false
	}
	e.t.Fatalf("LookupTransfer: %v", err)
	return false
}

// testPaysOn: the store pays on the ledger store it came with.
func testPaysOn(t *testing.T, e *payEnv) {
	if !e.ps.PaysOn(e.ls) {
		t.Fatal("PaysOn refuses the ledger store the store came with")
	}
	if e.ps.PaysOn(ledger.NewMemoryStore()) {
		t.Fatal("PaysOn accepts a ledger MemoryStore it cannot share a transaction with")
	}
}

// testClaimPaidPosted: a claim is recorded posted with its payment on the
// ledger; claiming again returns it and moves nothing.
func testClaimPaidPosted(t *testing.T, e *payEnv) {
	p := e.funded(300, 200, 100)
	user, wallet := uuid.New(), e.wallet()
	r, err := e.claimPaid(&p, user, wallet)
	if err != nil {
		t.Fatalf("ClaimPaid: %v", err)
	}
	if r.Existing || !r.Claim.Posted || r.Claim.Index != 0 || r.Claim.Amount.Units() != 300 || r.Claim.User != user ||
		r.Claim.Account != wallet || r.State.Claimed != 1 || r.State.Posted != 1 || r.State.Status != redpacket.StatusOpen {
		t.Fatalf("ClaimPaid: %+v, want the first share, posted", r)
	}
	cs := e.claims(p.ID)
	if len(cs) != 1 || !cs[0].Posted {
		t.Fatalf("claims recorded: %+v, want one, posted", cs)
	}
	if got := e.get(p.ID).State; got.Claimed != 1 || got.Posted != 1 {
		t.Fatalf("packet state %+v, want 1 claimed, 1 posted", got)
	}
	if !e.paid(p.ID, user) || e.net(wallet) != 300 || e.net(p.Escrow) != 300 {
		t.Fatalf("ledger: paid %v, wallet %d, escrow %d; want paid, 300, 300", e.paid(p.ID, user), e.net(wallet), e.net(p.Escrow))
	}
	again, err := e.claimPaid(&p, user, wallet)
	if err != nil || !again.Existing || again.Claim.Index != 0 || !again.Claim.Posted || again.State.Claimed != 1 {
		t.Fatalf("ClaimPaid again: %+v, %v; want the existing claim", again, err)
	}
	if e.net(wallet) != 300 || e.net(p.Escrow) != 300 {
		t.Fatalf("after a retry: wallet %d, escrow %d; want 300, 300", e.net(wallet), e.net(p.Escrow))
	}
}

// testClaimPaidRefused: a payment the ledger refuses records nothing and
// takes no share; the next claimer gets the first share.
func testClaimPaidRefused(t *testing.T, e *payEnv) {
	p := e.funded(300, 200)
	closed, frozen := e.wallet(), e.wallet()
	if _, err := e.l.Close(e.ctx, closed); err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.Freeze(e.ctx, frozen); err != nil {
		t.Fatal(err)
	}
	usd := e.account(ledger.MustCurrency("USD"), 0)
	for _, tc := range []struct {
		name   string
		wallet uuid.UUID
		want   error
	}{
		{"missing", uuid.New(), ledger.ErrAccountNotFound},
		{"closed", closed, ledger.ErrAccountClosed},
		{"frozen", frozen, ledger.ErrAccountFrozen},
		{"other currency", usd, ledger.ErrCurrencyMismatch},
	} {
		user := uuid.New()
		_, err := e.claimPaid(&p, user, tc.wallet)
		if !ledger.Refused(err) || !errors.Is(err, tc.want) {
			t.Fatalf("%s wallet: %v, want the ledger's refusal %v", tc.name, err, tc.want)
		}
		if len(e.claims(p.ID)) != 0 || e.get(p.ID).Claimed != 0 || e.paid(p.ID, user) {
			t.Fatalf("%s wallet: a refused payment recorded a claim or moved money", tc.name)
		}
	}
	if e.net(p.Escrow) != 500 || e.net(frozen) != 0 || e.net(usd) != 0 {
		t.Fatalf("refused payments moved money: escrow %d", e.net(p.Escrow))
	}
	wallet := e.wallet()
	r, err := e.claimPaid(&p, uuid.New(), wallet)
	if err != nil || r.Claim.Index != 0 || r.Claim.Amount.Units() != 300 || e.net(wallet) != 300 {
		t.Fatalf("claim after refusals: %+v, %v; want the first share, paid", r, err)
	}
}

// testClaimPaidStoreRefusals: the packet's refusals move nothing.
func testClaimPaidStoreRefusals(t *testing.T, e *payEnv) {
	wallet := e.wallet()
	at := start.Add(time.Minute)
	missing := NewPacket(100)
	if _, err := e.ps.ClaimPaid(e.ctx, missing.ID, uuid.New(), wallet, at, at, payment(&missing)); !errors.Is(err, redpacket.ErrPacketNotFound) {
		t.Fatalf("ClaimPaid of a packet not recorded: %v, want ErrPacketNotFound", err)
	}
	funding := e.create(NewPacket(100))
	if _, err := e.claimPaid(&funding, uuid.New(), wallet); !errors.Is(err, redpacket.ErrNotFunded) {
		t.Fatalf("ClaimPaid of a funding packet: %v, want ErrNotFunded", err)
	}
	p := e.funded(100)
	if _, err := e.claimPaid(&p, uuid.New(), e.wallet()); err != nil {
		t.Fatal(err)
	}
	late := uuid.New()
	if _, err := e.claimPaid(&p, late, wallet); !errors.Is(err, redpacket.ErrSoldOut) || e.paid(p.ID, late) {
		t.Fatalf("ClaimPaid of a sold-out packet: %v (paid %v), want ErrSoldOut and no payment", err, e.paid(p.ID, late))
	}
	q := e.funded(100)
	if _, err := e.ps.ClaimPaid(e.ctx, q.ID, late, wallet, q.ExpiresAt, q.ExpiresAt, payment(&q)); !errors.Is(err, redpacket.ErrExpired) || e.paid(q.ID, late) {
		t.Fatalf("ClaimPaid at expiry: %v, want ErrExpired and no payment", err)
	}
	if e.net(wallet) != 0 || e.net(q.Escrow) != 100 {
		t.Fatalf("refused claims moved money: wallet %d, escrow %d", e.net(wallet), e.net(q.Escrow))
	}
}

// testClaimPaidConcurrent: claimers at once, a third of them with a
// closed wallet. Fewer shares than good claimers: exactly the shares win,
// all good claimers, with consecutive indexes, each paid its share once,
// and escrow ends at zero; refused claimers record nothing. Then more
// shares than claimers: the good claimers take the first shares, and the
// refused ones none.
func testClaimPaidConcurrent(t *testing.T, e *payEnv) {
	closed := e.wallet()
	if _, err := e.l.Close(e.ctx, closed); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ shares, claimers int }{{20, min(90, max(30, e.opts.Goroutines))}, {40, 30}} {
		p := e.funded(shares(tc.shares)...)
		users, wallets := make([]uuid.UUID, tc.claimers), make([]uuid.UUID, tc.claimers)
		good := 0
		for i := range users {
			users[i], wallets[i] = uuid.New(), closed
			if i%3 != 0 {
				wallets[i] = e.wallet()
				good++
			}
		}
		results := make([]redpacket.ClaimResult, tc.claimers)
		errs := make([]error, tc.claimers)
		run(tc.claimers, func(i int) { results[i], errs[i] = e.claimPaid(&p, users[i], wallets[i]) })
		indexes := map[int]bool{}
		var sum int64
		for i := range users {
			r, err := results[i], errs[i]
			switch {
			case err == nil && wallets[i] == closed:
				t.Fatalf("claimer %d with a closed wallet got a claim %+v", i, r)
			case err == nil:
				c := r.Claim
				if r.Existing || !c.Posted || c.User != users[i] || indexes[c.Index] || c.Amount.Units() != p.Shares[c.Index] || e.net(wallets[i]) != c.Amount.Units() {
					t.Fatalf("claimer %d: %+v (wallet %d): a share twice, not its share, or not paid it", i, r, e.net(wallets[i]))
				}
				indexes[c.Index] = true
				sum += c.Amount.Units()
			case wallets[i] == closed && !(errors.Is(err, ledger.ErrAccountClosed) || errors.Is(err, redpacket.ErrSoldOut)):
				t.Fatalf("claimer %d with a closed wallet: %v, want ErrAccountClosed or ErrSoldOut", i, err)
			case wallets[i] != closed && !errors.Is(err, redpacket.ErrSoldOut):
				t.Fatalf("claimer %d: %v, want a share or ErrSoldOut", i, err)
			}
			if err != nil && e.paid(p.ID, users[i]) {
				t.Fatalf("claimer %d refused (%v) but paid", i, err)
			}
		}
		winners := min(tc.shares, good)
		for i := range winners {
			if !indexes[i] {
				t.Fatalf("%d shares, %d good claimers: share %d not handed out (%v)", tc.shares, good, i, indexes)
			}
		}
		if len(indexes) != winners {
			t.Fatalf("%d shares, %d good claimers: %d winners", tc.shares, good, len(indexes))
		}
		st := e.get(p.ID).State
		cs := e.claims(p.ID)
		if st.Claimed != winners || st.Posted != winners || len(cs) != winners || e.net(p.Escrow) != p.Total.Units()-sum {
			t.Fatalf("packet %+v with %d claims, escrow %d; want %d claimed and posted, escrow %d", st, len(cs), e.net(p.Escrow), winners, p.Total.Units()-sum)
		}
		for _, c := range cs {
			if !c.Posted {
				t.Fatalf("claim %+v recorded unposted", c)
			}
		}
	}
}
