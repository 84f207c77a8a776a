package redpackettest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// StormConfig sizes Storm.
type StormConfig struct {
	// Ledger and Store are the stores the service runs on; nil means
	// memory (a MemoryStore paying claims on the ledger).
	Ledger ledger.Store
	Store  redpacket.Store
	// Grabbers is how many members tap at once (the sender among them).
	// Default 10,000.
	Grabbers int
	// Shares is the packet's share count, at most Grabbers. Default 100.
	Shares int
	// Configure, when set, adjusts the service's configuration (after
	// Storm has set its ledger, store and members), e.g. to run it with
	// Config.AsyncMarks or Config.GroupPayments.
	Configure func(*redpacket.Config)
}

// Storm runs the whole service (redpacket.Service on a ledger) on the given
// stores: a group of cfg.Grabbers members, one of whom sends a lucky packet
// of 200.00 CNY in cfg.Shares shares, and every member taps it at the same
// instant from a goroutine of their own. It checks that exactly Shares
// members win, each a different share and paid exactly that share once on
// the ledger; that everyone else is told redpacket.ErrSoldOut; that the
// packet ends settled (once the service's background marks, if any, have
// landed) with its escrow account closed at zero; and that the ledger
// verifies.
func Storm(t testing.TB, cfg StormConfig) {
	t.Helper()
	if cfg.Grabbers <= 0 {
		cfg.Grabbers = 10000
	}
	if cfg.Shares <= 0 {
		cfg.Shares = 100
	}
	ctx := context.Background()
	l := ledger.New(cfg.Ledger, ledger.Options{})
	if cfg.Store == nil {
		cfg.Store = redpacket.NewMemoryStore(l)
	}
	members := &redpacket.MemoryMembers{}
	svcCfg := redpacket.Config{Ledger: l, Store: cfg.Store, Members: members, PasswordKey: passwordKey}
	if cfg.Configure != nil {
		cfg.Configure(&svcCfg)
	}
	svc, err := redpacket.New(svcCfg)
	if err != nil {
		t.Fatal(err)
	}
	bank, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	group := uuid.New()
	users := make([]uuid.UUID, cfg.Grabbers)
	wallets := make([]uuid.UUID, cfg.Grabbers)
	for i := range users {
		users[i] = uuid.New()
		a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		if err != nil {
			t.Fatal(err)
		}
		wallets[i] = a.ID
	}
	members.Add(group, users...)
	const total = 20000 // 200.00
	sender := 0
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: wallets[sender], Amount: ledger.NewMoney(total, cny)}); err != nil {
		t.Fatal(err)
	}
	p, err := svc.Send(ctx, redpacket.SendRequest{
		Key: "storm", Kind: redpacket.Lucky, Sender: users[sender], SenderAccount: wallets[sender],
		Group: group, Amount: ledger.NewMoney(total, cny), Count: cfg.Shares,
	})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if p, err = svc.Store().Packet(ctx, p.ID); err != nil { // with its shares, which Send does not return
		t.Fatalf("store: %v", err)
	}

	claims := make([]redpacket.Claim, cfg.Grabbers)
	errs := make([]error, cfg.Grabbers)
	run(cfg.Grabbers, func(i int) {
		claims[i], errs[i] = svc.Claim(ctx, redpacket.ClaimRequest{Packet: p.ID, User: users[i], Account: wallets[i]})
	})

	winners := map[uuid.UUID]bool{}
	indexes := map[int]bool{}
	var sum int64
	for i := range cfg.Grabbers {
		if errs[i] != nil {
			if !errors.Is(errs[i], redpacket.ErrSoldOut) {
				t.Fatalf("grabber %d: %v, want a share or ErrSoldOut", i, errs[i])
			}
			continue
		}
		c := claims[i]
		if c.Index < 0 || c.Index >= cfg.Shares {
			t.Fatalf("grabber %d: claim index %d", i, c.Index)
		}
		if winners[c.User] || indexes[c.Index] || c.User != users[i] || !c.Posted || c.Amount.Units() != p.Shares[c.Index] {
			t.Fatalf("grabber %d: claim %+v (a second share, a share taken twice, or not its share %d)", i, c, p.Shares[c.Index])
		}
		winners[c.User], indexes[c.Index] = true, true
		sum += c.Amount.Units()
	}
	if len(winners) != cfg.Shares || sum != total {
		t.Fatalf("%d winners sharing %d; want %d sharing %d", len(winners), sum, cfg.Shares, total)
	}
	var wg sync.WaitGroup
	balances := make([]int64, cfg.Grabbers)
	sem := make(chan struct{}, 16)
	for i := range wallets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			a, err := l.Account(ctx, wallets[i])
			if err != nil {
				t.Error(err)
				return
			}
			balances[i] = a.Balance.Net()
		})
	}
	wg.Wait()
	for i := range wallets {
		want := int64(0)
		if errs[i] == nil {
			want = claims[i].Amount.Units()
		}
		if balances[i] != want {
			t.Fatalf("grabber %d has %d, claimed %d", i, balances[i], want)
		}
	}
	if err := svc.Flush(ctx); err != nil { // paid marks in the background, if any
		t.Fatalf("Flush: %v", err)
	}
	stored, err := svc.Store().Packet(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != redpacket.StatusSoldOut || !stored.Settled || stored.Posted != cfg.Shares {
		t.Fatalf("packet state %+v, want sold out, all paid, settled", stored.State)
	}
	esc, err := l.Account(ctx, p.Escrow)
	if err != nil {
		t.Fatal(err)
	}
	if !esc.Balance.IsZero() || esc.Status != ledger.AccountClosed {
		t.Fatalf("escrow %+v (%v), want zero and closed", esc.Balance, esc.Status)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatalf("ledger Verify: %v", err)
	}
}
