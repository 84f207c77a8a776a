package redpacket_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

var cny = ledger.MustCurrency("CNY")

// clock is a manual clock shared by the ledger and the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC) // New Year's Eve 2026

// world is one test's bank: a ledger on a memory store, a red-packet store,
// a group, and a service.
type world struct {
	t       testing.TB
	ctx     context.Context
	clock   *clock
	lstore  ledger.Store
	l       *ledger.Ledger
	store   redpacket.Store
	members *redpacket.MemoryMembers
	cfg     redpacket.Config
	svc     *redpacket.Service
	bank    uuid.UUID // the bank's own account, source of every deposit
	group   uuid.UUID
	mode    mode
}

type worldOption func(*world)

// withStores puts the world on the given stores (nil: memory).
func withStores(ls ledger.Store, rs redpacket.Store) worldOption {
	return func(w *world) { w.lstore, w.store = ls, rs }
}

// mode is a way for the Service to run on its store.
type mode struct {
	name string
	// other runs on a MemoryStore that pays on no ledger, so that the
	// Service takes the path of a store on another database than the
	// ledger's: wallet read, claim, payment, paid mark.
	other bool
	// async sets Config.AsyncMarks and Config.GroupPayments.
	async bool
}

// modes: on a MemoryStore paying on the ledger (claims recorded and paid in
// one step), and on one paying on none with paid marks before Claim returns, or in the
// background with payments batched.
var modes = []mode{
	{name: "memory"},
	{name: "other", other: true},
	{name: "other-async", other: true, async: true},
}

// forEachMode runs f as a subtest in every mode.
func forEachMode(t *testing.T, f func(t *testing.T, m mode)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { f(t, m) })
	}
}

// inMode runs the world's service in mode m.
func inMode(m mode) worldOption {
	return func(w *world) { w.mode = m }
}

func withRules(r redpacket.Rules) worldOption {
	return func(w *world) { w.cfg.Rules = map[ledger.Currency]redpacket.Rules{cny: r} }
}

func newWorld(t testing.TB, opts ...worldOption) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), clock: &clock{t: t0}, members: &redpacket.MemoryMembers{}, group: uuid.New()}
	for _, o := range opts {
		o(w)
	}
	if w.lstore == nil {
		w.lstore = ledger.NewMemoryStore()
	}
	w.l = ledger.New(w.lstore, ledger.Options{Now: w.clock.Now})
	pays := w.l // a MemoryStore pays claims on the ledger, but in the other modes
	if w.mode.other {
		pays = nil
	}
	if w.store == nil {
		w.store = redpacket.NewMemoryStore(pays)
	} else if ms, ok := w.store.(*redpacket.MemoryStore); ok {
		redpacket.PayOn(ms, pays)
	}
	if w.mode.async {
		w.cfg.AsyncMarks, w.cfg.GroupPayments = true, &ledger.GroupCommitOptions{}
	}
	w.cfg.Ledger, w.cfg.Store, w.cfg.Members, w.cfg.Now = w.l, w.store, w.members, w.clock.Now
	w.cfg.PasswordKey = testPasswordKey
	w.cfg.Rand = rand.NewChaCha8([32]byte([]byte(t.Name() + "                                ")[:32]))
	w.restart()
	bank, err := w.l.CreateAccount(w.ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	w.bank = bank.ID
	return w
}

// restart replaces the service by a new one on the same stores, as after a
// process restart: nothing in memory survives (background marks still in
// flight are waited for, whatever they came to).
func (w *world) restart() {
	w.t.Helper()
	if w.svc != nil {
		_ = w.svc.Flush(w.ctx)
	}
	svc, err := redpacket.New(w.cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	w.svc = svc
}

// user is a member of the world's group with a wallet.
type user struct {
	id     uuid.UUID
	wallet uuid.UUID
}

// newUser creates a user in the group with a wallet holding amount fen.
func (w *world) newUser(fen int64) user {
	w.t.Helper()
	u := user{id: uuid.New(), wallet: w.wallet(cny, fen)}
	w.members.Add(w.group, u.id)
	return u
}

func (w *world) users(n int, fen int64) []user {
	out := make([]user, n)
	for i := range out {
		out[i] = w.newUser(fen)
	}
	return out
}

// wallet creates a wallet that cannot go negative, funded from the bank.
func (w *world) wallet(c ledger.Currency, units int64) uuid.UUID {
	w.t.Helper()
	a, err := w.l.CreateAccount(w.ctx, ledger.Account{ID: uuid.New(), Currency: c, Flags: ledger.DebitsMustNotExceedCredits})
	if err != nil {
		w.t.Fatal(err)
	}
	if units > 0 {
		src := w.bank
		if c != cny {
			b, err := w.l.CreateAccount(w.ctx, ledger.Account{ID: uuid.New(), Currency: c})
			if err != nil {
				w.t.Fatal(err)
			}
			src = b.ID
		}
		if _, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: src, CreditAccountID: a.ID, Amount: ledger.NewMoney(units, c)}); err != nil {
			w.t.Fatal(err)
		}
	}
	return a.ID
}

func (w *world) account(id uuid.UUID) ledger.Account {
	w.t.Helper()
	a, err := w.l.Account(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

func (w *world) balance(id uuid.UUID) int64 { w.t.Helper(); return w.account(id).Balance.Net() }

func (w *world) verify() {
	w.t.Helper()
	if _, err := w.l.Verify(w.ctx); err != nil {
		w.t.Fatalf("ledger Verify: %v", err)
	}
}

// testPasswordKey is the tests' password key, shared by every Service of
// a world (as a bank's instances share theirs).
var testPasswordKey = func() *redpacket.PasswordKey {
	k, err := redpacket.NewPasswordKey([]byte("redpacket tests: a key for tests only, never for money"))
	if err != nil {
		panic(err)
	}
	return k
}()

func fen(n int64) ledger.Money { return ledger.NewMoney(n, cny) }

// lucky is a request for a lucky packet from sender to the world's group.
func (w *world) lucky(sender user, total int64, count int) redpacket.SendRequest {
	return redpacket.SendRequest{
		Key: uuid.NewString(), Kind: redpacket.Lucky, Sender: sender.id, SenderAccount: sender.wallet,
		Group: w.group, Amount: fen(total), Count: count,
	}
}

// packetID returns the ID of the packet req sends.
func (w *world) packetID(req redpacket.SendRequest) uuid.UUID {
	return w.svc.PacketID(req.Sender, req.Key)
}

// send sends req and returns the packet as the store records it, with
// its shares (Send returns none).
func (w *world) send(req redpacket.SendRequest) redpacket.Packet {
	w.t.Helper()
	p, err := w.svc.Send(w.ctx, req)
	if err != nil {
		w.t.Fatalf("Send: %v", err)
	}
	return w.stored(p.ID)
}

// stored returns packet id as the store records it.
func (w *world) stored(id uuid.UUID) redpacket.Packet {
	w.t.Helper()
	p, err := w.svc.Store().Packet(w.ctx, id)
	if err != nil {
		w.t.Fatalf("store: packet %s: %v", id, err)
	}
	return p
}

func (w *world) claim(p uuid.UUID, u user) (redpacket.Claim, error) {
	return w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p, User: u.id, Account: u.wallet})
}

func (w *world) mustClaim(p uuid.UUID, u user) redpacket.Claim {
	w.t.Helper()
	c, err := w.claim(p, u)
	if err != nil {
		w.t.Fatalf("Claim: %v", err)
	}
	return c
}

// flush waits for the service's background paid marks, which must all
// succeed.
func (w *world) flush() {
	w.t.Helper()
	if err := w.svc.Flush(w.ctx); err != nil {
		w.t.Fatalf("Flush: %v", err)
	}
}

// packet returns the packet as stored once background marks have landed.
func (w *world) packet(id uuid.UUID) redpacket.Packet {
	w.t.Helper()
	w.flush()
	p, err := w.store.Packet(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// checkFinished checks a finished packet end to end: settled, its escrow
// account closed at exactly zero, every claim paid once on the ledger with
// the claim's amount, the refund (if any) paid once, and the ledger sound.
func (w *world) checkFinished(id uuid.UUID) {
	w.t.Helper()
	p := w.packet(id)
	if !p.Settled || !p.Status.Finished() {
		w.t.Fatalf("packet %s: state %+v, want finished and settled", id, p.State)
	}
	esc := w.account(p.Escrow)
	if !esc.Balance.IsZero() || esc.Status != ledger.AccountClosed {
		w.t.Fatalf("escrow: balance %+v, status %v; want zero and closed", esc.Balance, esc.Status)
	}
	fund, err := w.l.LookupTransfer(w.ctx, w.svc.FundTransferID(id))
	if err != nil || fund.Amount != p.Total {
		w.t.Fatalf("funding transfer: %+v, %v", fund, err)
	}
	claims, err := w.store.Claims(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	paid := int64(0)
	for _, c := range claims {
		tr, err := w.l.LookupTransfer(w.ctx, w.svc.ClaimTransferID(id, c.User))
		if err != nil || tr.Amount != c.Amount || tr.CreditAccountID != c.Account || tr.DebitAccountID != p.Escrow || !c.Posted {
			w.t.Fatalf("claim %+v: transfer %+v, %v", c, tr, err)
		}
		paid += c.Amount.Units()
	}
	refund, err := w.l.LookupTransfer(w.ctx, w.svc.RefundTransferID(id))
	switch {
	case p.Refund().IsPositive():
		if err != nil || refund.Amount != p.Refund() || refund.CreditAccountID != p.SenderAccount {
			w.t.Fatalf("refund transfer %+v, %v; want %v", refund, err, p.Refund())
		}
	case !errors.Is(err, ledger.ErrTransferNotFound):
		w.t.Fatalf("a refund transfer for a packet with nothing to refund: %+v, %v", refund, err)
	}
	if paid+p.Refund().Units() != p.Total.Units() {
		w.t.Fatalf("claims %d + refund %v != total %v", paid, p.Refund(), p.Total)
	}
	w.verify()
}
