package redpackettest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/redpacket"
)

// RaceConfig is what RunRace races a Service on.
type RaceConfig struct {
	// Ledger and Store are the stores the services run on. They may hold
	// other tests' data: the race cases use fresh IDs and expiry times
	// before the rest of the suite's (in 2025), and leave every packet
	// they send finished.
	Ledger ledger.Store
	Store  redpacket.Store
	// Configure, when set, adjusts every service's configuration (after
	// RunRace has set its ledger, store, members and clock), e.g. to set
	// Config.AsyncMarks.
	Configure func(*redpacket.Config)
	// Iterations is how often each case repeats its scenario before
	// ledgertest.RaceIterations scales it (SOCIALPAY_RACE_ITERATIONS,
	// -short). Default 100.
	Iterations int
}

// raceK is how many identical calls (or contenders) each race case makes
// at once.
const raceK = 4

// raceInstances is how many Services, as processes of one bank, share the
// stores in a race case; the calls of a case alternate between them, so
// that no in-process cache or lock can hide a race.
const raceInstances = 2

// RunRace holds a Service on the given stores to exactly once under
// concurrent retries: raceK calls at once at each boundary where the first
// call changes the answer, each case repeated Iterations times (see
// ledgertest.RaceIterations), from raceInstances Services sharing the
// stores. Every call must answer as the winner did, or with the
// documented error of losing the race — never with a refusal the winner
// caused — and the money must add up on a ledger that verifies:
//
//   - ClaimRetried: one user's claim, retried at once: one share, every
//     retry gets that claim, paid once.
//   - LastShare: several users, each retrying, tap the last share: one
//     wins (all its calls get the claim), every other call gets
//     redpacket.ErrSoldOut, and the packet settles with its escrow at zero.
//   - ExpiryInstant: claims from clocks just before the expiry instant,
//     and at it, race refund sweeps at it: each claim is recorded before
//     the packet closes (and the refund leaves its share out) or refused
//     with redpacket.ErrRefunded (ErrExpired at the instant, ErrSoldOut
//     when the shares ran out); claims and refund add up to the total.
//   - SweepersAtOnce: several sweepers refund one expired packet at once:
//     no sweeper reports an error, the sender gets the remainder once.
//   - SendRetried: one send request (one packet ID), retried at once, from
//     a wallet holding exactly its amount: every call answers with the
//     one packet, open, funded once — never insufficient funds or a
//     cancelled packet caused by the winner.
//   - SendRefused: a send the ledger refuses for insufficient funds, then
//     retried on another instance: both answers are ErrPacketCancelled
//     with the refusal's code (errcode.Of: "insufficient_funds"), the
//     store keeps the code as State.Reason, and no money moves.
func RunRace(t *testing.T, cfg RaceConfig) {
	if cfg.Iterations <= 0 {
		cfg.Iterations = 100
	}
	tests := []struct {
		name string
		f    func(*testing.T, *raceEnv)
	}{
		{"ClaimRetried", testRaceClaimRetried},
		{"LastShare", testRaceLastShare},
		{"ExpiryInstant", testRaceExpiryInstant},
		{"SweepersAtOnce", testRaceSweepers},
		{"SendRetried", testRaceSendRetried},
		{"SendRefused", testRaceSendRefused},
	}
	for _, tt := range tests {
		t.Run("Race/"+tt.name, func(t *testing.T) {
			e := newRaceEnv(t, &cfg)
			tt.f(t, e)
			if _, err := e.l.Verify(e.ctx); err != nil {
				t.Fatalf("ledger Verify: %v", err)
			}
		})
	}
}

// raceClock is a clock a case sets.
type raceClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *raceClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *raceClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// raceStart is when the race cases' first packet is sent: before the
// packets of the rest of the suite expire, so that a sweep of the race
// cases never reaches those (their escrow accounts are on no ledger).
var raceStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type raceEnv struct {
	t       *testing.T
	ctx     context.Context
	cfg     *RaceConfig
	l       *ledger.Ledger
	members *redpacket.MemoryMembers
	group   uuid.UUID
	bank    uuid.UUID
	clock   *raceClock // the clock of svcs and of the ledger
	svcs    []*redpacket.Service
	all     []*redpacket.Service // every service made, to Flush
	size    int                  // members of the group
	n       int                  // iterations
}

func newRaceEnv(t *testing.T, cfg *RaceConfig) *raceEnv {
	e := &raceEnv{t: t, ctx: context.Background(), cfg: cfg, members: &redpacket.MemoryMembers{}, group: uuid.New(),
		clock: &raceClock{t: raceStart}, n: ledgertest.RaceIterations(t, cfg.Iterations)}
	e.l = ledger.New(cfg.Ledger, ledger.Options{Now: e.clock.Now})
	for range raceInstances {
		e.svcs = append(e.svcs, e.service(e.clock))
	}
	a, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	e.bank = a.ID
	return e
}

// service returns a new Service (an instance of the bank) on the stores,
// with clock c.
func (e *raceEnv) service(c *raceClock) *redpacket.Service {
	e.t.Helper()
	cfg := redpacket.Config{Ledger: e.l, Store: e.cfg.Store, Members: e.members, Now: c.Now, PasswordKey: passwordKey}
	if e.cfg.Configure != nil {
		e.cfg.Configure(&cfg)
	}
	s, err := redpacket.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.all = append(e.all, s)
	return s
}

// svc returns the instance that call i goes to.
func (e *raceEnv) svc(i int) *redpacket.Service { return e.svcs[i%len(e.svcs)] }

// next moves the clock to a fresh hour, past everything the case sent
// before (which has expired and finished).
func (e *raceEnv) next(it int) time.Time {
	at := raceStart.Add(time.Duration(it) * 48 * time.Hour)
	e.clock.set(at)
	return at
}

// member adds a member to the group with a wallet holding fen.
func (e *raceEnv) member(fen int64) (user, wallet uuid.UUID) {
	e.t.Helper()
	user = uuid.New()
	a, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
	if err != nil {
		e.t.Fatal(err)
	}
	if fen > 0 {
		if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: e.bank, CreditAccountID: a.ID, Amount: ledger.NewMoney(fen, cny)}); err != nil {
			e.t.Fatal(err)
		}
	}
	e.members.Add(e.group, user)
	e.size++
	return user, a.ID
}

func (e *raceEnv) net(account uuid.UUID) int64 {
	e.t.Helper()
	a, err := e.l.Account(e.ctx, account)
	if err != nil {
		e.t.Fatalf("Account: %v", err)
	}
	return a.Balance.Net()
}

// sendRequest is a normal group packet of count shares of each fen from a
// new member holding exactly its total.
func (e *raceEnv) sendRequest(count int, each int64) (redpacket.SendRequest, uuid.UUID) {
	sender, wallet := e.member(int64(count) * each)
	for e.size < count+1 {
		e.member(0)
	}
	return redpacket.SendRequest{
		Key: "send", Kind: redpacket.Normal, Sender: sender, SenderAccount: wallet, Group: e.group,
		Amount: ledger.NewMoney(each, cny), Count: count,
	}, wallet
}

func (e *raceEnv) send(count int, each int64) (redpacket.Packet, uuid.UUID) {
	e.t.Helper()
	req, wallet := e.sendRequest(count, each)
	p, err := e.svc(0).Send(e.ctx, req)
	if err != nil {
		e.t.Fatalf("Send: %v", err)
	}
	return p, wallet
}

// finish refunds what the case left open at its expiry and checks that the
// packet is settled with its escrow account closed at zero.
func (e *raceEnv) finish(p *redpacket.Packet) {
	e.t.Helper()
	if _, err := e.svc(0).RefundExpired(e.ctx, p.ExpiresAt); err != nil {
		e.t.Fatalf("RefundExpired: %v", err)
	}
	e.settled(p)
}

// settled checks that p is finished and settled, its escrow closed at zero.
func (e *raceEnv) settled(p *redpacket.Packet) {
	e.t.Helper()
	for _, s := range e.all {
		if err := s.Flush(e.ctx); err != nil {
			e.t.Fatalf("Flush: %v", err)
		}
	}
	got, err := e.cfg.Store.Packet(e.ctx, p.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := e.l.Account(e.ctx, p.Escrow)
	if err != nil {
		e.t.Fatal(err)
	}
	if !got.Status.Finished() || !got.Settled || got.Posted != got.Claimed || !a.Balance.IsZero() || a.Status != ledger.AccountClosed {
		e.t.Fatalf("packet %s: state %+v, escrow %+v %v; want finished, every claim paid, settled, escrow closed at zero",
			p.ID, got.State, a.Balance, a.Status)
	}
}

// isSameClaim reports whether two answers name the same claim.
func isSameClaim(a, b redpacket.Claim) bool {
	return a.PacketID == b.PacketID && a.User == b.User && a.Account == b.Account && a.Index == b.Index &&
		a.Amount == b.Amount && a.ClaimedAt.Equal(b.ClaimedAt) && a.Posted == b.Posted
}

// testRaceClaimRetried: one user's claim, raceK times at once.
func testRaceClaimRetried(t *testing.T, e *raceEnv) {
	for it := range e.n {
		e.next(it)
		p, _ := e.send(3, 100)
		user, wallet := e.member(0)
		req := redpacket.ClaimRequest{Packet: p.ID, User: user, Account: wallet}
		got, errs := ledgertest.Concurrently(raceK, func(i int) (redpacket.Claim, error) { return e.svc(i).Claim(e.ctx, req) })
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("iteration %d: retry %d: %v, want the claim", it, i, errs[i])
			}
			if !isSameClaim(got[i], got[0]) || got[i].User != user || got[i].Index != 0 || !got[i].Posted {
				t.Fatalf("iteration %d: retry %d answered %+v, retry 0 %+v", it, i, got[i], got[0])
			}
		}
		if n := e.net(wallet); n != 100 {
			t.Fatalf("iteration %d: the claimer has %d, want one share of 100", it, n)
		}
		if cs, err := e.cfg.Store.Claims(e.ctx, p.ID); err != nil || len(cs) != 1 {
			t.Fatalf("iteration %d: %d claims recorded (%v), want 1", it, len(cs), err)
		}
		e.finish(&p)
	}
}

// testRaceLastShare: raceK users tap a packet's last share at once, each
// twice (one call per instance).
func testRaceLastShare(t *testing.T, e *raceEnv) {
	for it := range e.n {
		e.next(it)
		p, _ := e.send(2, 100)
		first, firstWallet := e.member(0)
		if _, err := e.svc(1).Claim(e.ctx, redpacket.ClaimRequest{Packet: p.ID, User: first, Account: firstWallet}); err != nil {
			t.Fatal(err)
		}
		users, wallets := make([]uuid.UUID, raceK), make([]uuid.UUID, raceK)
		for i := range users {
			users[i], wallets[i] = e.member(0)
		}
		got, errs := ledgertest.Concurrently(2*raceK, func(i int) (redpacket.Claim, error) {
			u := i / 2
			return e.svc(i).Claim(e.ctx, redpacket.ClaimRequest{Packet: p.ID, User: users[u], Account: wallets[u]})
		})
		winner := -1
		for i := range got {
			u := i / 2
			switch {
			case errs[i] == nil && (winner == -1 || winner == u):
				winner = u
				if got[i].User != users[u] || got[i].Index != 1 || !got[i].Posted || !isSameClaim(got[i], got[2*u]) {
					t.Fatalf("iteration %d: call %d answered %+v, want user %d's claim of the last share", it, i, got[i], u)
				}
			case errs[i] == nil:
				t.Fatalf("iteration %d: users %d and %d both got the last share", it, winner, u)
			case !errors.Is(errs[i], redpacket.ErrSoldOut):
				t.Fatalf("iteration %d: call %d (user %d): %v, want the last share or ErrSoldOut", it, i, u, errs[i])
			}
		}
		if winner == -1 {
			t.Fatalf("iteration %d: nobody got the last share: %v", it, errs)
		}
		if errs[2*winner] != nil || errs[2*winner+1] != nil {
			t.Fatalf("iteration %d: the winner's calls answered %v and %v", it, errs[2*winner], errs[2*winner+1])
		}
		for u := range users {
			want := int64(0)
			if u == winner {
				want = 100
			}
			if n := e.net(wallets[u]); n != want {
				t.Fatalf("iteration %d: user %d has %d, want %d", it, u, n, want)
			}
		}
		e.settled(&p)
	}
}

// testRaceExpiryInstant: claims just before expiry and at it race sweeps.
func testRaceExpiryInstant(t *testing.T, e *raceEnv) {
	before, at := &raceClock{}, &raceClock{}
	early := []*redpacket.Service{e.service(before), e.service(before)}
	late := e.service(at)
	for it := range e.n {
		e.next(it)
		const count = 3
		p, senderWallet := e.send(count, 100)
		before.set(p.ExpiresAt.Add(-time.Microsecond))
		at.set(p.ExpiresAt)
		e.clock.set(p.ExpiresAt)
		users, wallets := make([]uuid.UUID, raceK), make([]uuid.UUID, raceK)
		for i := range users {
			users[i], wallets[i] = e.member(0)
		}
		// Calls 0…raceK-1 claim (the last of them at the instant), the
		// others sweep.
		_, errs := ledgertest.Concurrently(2*raceK, func(i int) (int, error) {
			switch {
			case i < raceK-1:
				_, err := early[i%2].Claim(e.ctx, redpacket.ClaimRequest{Packet: p.ID, User: users[i], Account: wallets[i]})
				return 0, err
			case i == raceK-1:
				_, err := late.Claim(e.ctx, redpacket.ClaimRequest{Packet: p.ID, User: users[i], Account: wallets[i]})
				return 0, err
			}
			return e.svc(i).RefundExpired(e.ctx, p.ExpiresAt)
		})
		var claimed int64
		for i := range raceK {
			switch err := errs[i]; {
			case err == nil && i < raceK-1:
				claimed += 100
			case err == nil:
				t.Fatalf("iteration %d: a claim at the expiry instant succeeded", it)
			case errors.Is(err, redpacket.ErrRefunded), errors.Is(err, redpacket.ErrSoldOut):
			case i == raceK-1 && errors.Is(err, redpacket.ErrExpired):
			default:
				t.Fatalf("iteration %d: claim %d: %v, want a share, ErrRefunded or ErrSoldOut (ErrExpired at the instant)", it, i, err)
			}
			if n := e.net(wallets[i]); (errs[i] == nil) != (n == 100) || (errs[i] != nil && n != 0) {
				t.Fatalf("iteration %d: claim %d answered %v, the claimer has %d", it, i, errs[i], n)
			}
		}
		for i := raceK; i < 2*raceK; i++ {
			if errs[i] != nil {
				t.Fatalf("iteration %d: sweeper %d: %v", it, i-raceK, errs[i])
			}
		}
		if _, err := e.svc(0).RefundExpired(e.ctx, p.ExpiresAt); err != nil {
			t.Fatal(err)
		}
		if n := e.net(senderWallet); n != count*100-claimed {
			t.Fatalf("iteration %d: claims took %d, the sender got back %d of %d", it, claimed, n, count*100)
		}
		e.settled(&p)
	}
}

// testRaceSweepers: raceK sweepers refund one expired packet at once.
func testRaceSweepers(t *testing.T, e *raceEnv) {
	for it := range e.n {
		e.next(it)
		p, senderWallet := e.send(3, 100)
		user, wallet := e.member(0)
		if _, err := e.svc(0).Claim(e.ctx, redpacket.ClaimRequest{Packet: p.ID, User: user, Account: wallet}); err != nil {
			t.Fatal(err)
		}
		e.clock.set(p.ExpiresAt)
		ns, errs := ledgertest.Concurrently(raceK, func(i int) (int, error) { return e.svc(i).RefundExpired(e.ctx, p.ExpiresAt) })
		for i := range ns {
			if errs[i] != nil {
				t.Fatalf("iteration %d: sweeper %d: %v", it, i, errs[i])
			}
		}
		if n := e.net(senderWallet); n != 200 {
			t.Fatalf("iteration %d: the sender got back %d, want the remainder 200 once", it, n)
		}
		e.settled(&p)
	}
}

// testRaceSendRetried: one send, raceK times at once, from a wallet that
// holds exactly its amount.
func testRaceSendRetried(t *testing.T, e *raceEnv) {
	for it := range e.n {
		e.next(it)
		req, wallet := e.sendRequest(2, 100)
		got, errs := ledgertest.Concurrently(raceK, func(i int) (redpacket.Packet, error) { return e.svc(i).Send(e.ctx, req) })
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("iteration %d: send %d: %v, want the packet", it, i, errs[i])
			}
			if got[i].ID != e.svc(0).PacketID(req.Sender, req.Key) || got[i].Status != redpacket.StatusOpen || got[i].Shares != nil ||
				!got[i].ExpiresAt.Equal(got[0].ExpiresAt) || got[i].Escrow != got[0].Escrow {
				t.Fatalf("iteration %d: send %d answered %+v, send 0 %+v", it, i, got[i], got[0])
			}
		}
		if n, esc := e.net(wallet), e.net(got[0].Escrow); n != 0 || esc != 200 {
			t.Fatalf("iteration %d: sender has %d, escrow %d; want 0 and 200", it, n, esc)
		}
		e.finish(&got[0])
	}
}

// testRaceSendRefused: a send from a wallet one fen short, then the same
// request on the other instance, which knows only what the store recorded.
func testRaceSendRefused(t *testing.T, e *raceEnv) {
	e.next(0)
	req, wallet := e.sendRequest(2, 100)
	req.Amount = ledger.NewMoney(101, cny)
	for i := range raceInstances {
		p, err := e.svc(i).Send(e.ctx, req)
		code, class := errcode.Of(err)
		if !errors.Is(err, redpacket.ErrPacketCancelled) || !errors.Is(err, ledger.ErrInsufficientFunds) ||
			code != "insufficient_funds" || class != errcode.Conflict {
			t.Fatalf("send on instance %d: %v (errcode.Of %s, %v); want ErrPacketCancelled because of insufficient_funds, conflict",
				i, err, code, class)
		}
		if p.Status != redpacket.StatusCancelled || p.Reason != "insufficient_funds" {
			t.Fatalf("send on instance %d answered state %+v, want cancelled because of insufficient_funds", i, p.State)
		}
	}
	id := e.svc(0).PacketID(req.Sender, req.Key)
	stored, err := e.cfg.Store.Packet(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != (redpacket.State{Status: redpacket.StatusCancelled, Reason: "insufficient_funds"}) {
		t.Fatalf("stored state %+v, want cancelled because of insufficient_funds", stored.State)
	}
	if n := e.net(wallet); n != 200 {
		t.Fatalf("sender has %d, want the 200 it had", n)
	}
}
