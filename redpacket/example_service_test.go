package redpacket_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// exampleBank is the setting of the Service examples: a ledger, a group of
// four with wallets, a fixed clock and a fixed seed.
type exampleBank struct {
	ctx     context.Context
	now     time.Time
	l       *ledger.Ledger
	svc     *redpacket.Service
	group   uuid.UUID
	users   map[string]uuid.UUID
	wallets map[string]uuid.UUID
}

func newExampleBank() *exampleBank {
	b := &exampleBank{ctx: context.Background(), now: time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC),
		group: uuid.New(), users: map[string]uuid.UUID{}, wallets: map[string]uuid.UUID{}}
	clock := func() time.Time { return b.now }
	b.l = ledger.New(nil, ledger.Options{Now: clock})
	members := &redpacket.MemoryMembers{}
	// Phrases are stored only as keyed hashes; every instance of the
	// bank's service loads the same key from its KMS.
	key, err := redpacket.NewPasswordKey([]byte("from the bank's KMS, 32 bytes at least"))
	if err != nil {
		panic(err)
	}
	b.svc, err = redpacket.New(redpacket.Config{
		Ledger: b.l, Store: redpacket.NewMemoryStore(b.l), Members: members, Now: clock, PasswordKey: key,
		Rand: rand.NewChaCha8([32]byte([]byte("red packets for the new year 2026"))),
	})
	if err != nil {
		panic(err)
	}
	cny := ledger.MustCurrency("CNY")
	bank, _ := b.l.CreateAccount(b.ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	for _, name := range []string{"Alice", "Bob", "Carol", "Dave"} {
		w, _ := b.l.CreateAccount(b.ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		b.users[name], b.wallets[name] = uuid.New(), w.ID
		members.Add(b.group, b.users[name])
	}
	deposit, _ := ledger.ParseAmount("100.00", "CNY")
	if _, err := b.l.Transfer(b.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: b.wallets["Alice"], Amount: deposit}); err != nil {
		panic(err)
	}
	return b
}

func (b *exampleBank) grab(packet uuid.UUID, name string) {
	c, err := b.svc.Claim(b.ctx, redpacket.ClaimRequest{Packet: packet, User: b.users[name], Account: b.wallets[name]})
	if err != nil {
		fmt.Printf("%s: %v\n", name, errors.Unwrap(err))
		return
	}
	fmt.Printf("%s grabs %v\n", name, c.Amount)
}

func (b *exampleBank) balances() {
	for _, name := range []string{"Alice", "Bob", "Carol", "Dave"} {
		a, _ := b.l.Account(b.ctx, b.wallets[name])
		fmt.Printf("  %-5s %v\n", name, a.NetMoney())
	}
}

// Alice sends a lucky packet of 18.88 CNY in three shares to her group;
// Bob, Carol and Dave grab it, Bob twice; Dave is too late.
func ExampleService() {
	b := newExampleBank()
	amount, _ := ledger.ParseAmount("18.88", "CNY")
	p, err := b.svc.Send(b.ctx, redpacket.SendRequest{
		Key: "alice-0001", Kind: redpacket.Lucky, Sender: b.users["Alice"], SenderAccount: b.wallets["Alice"],
		Group: b.group, Amount: amount, Count: 3,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("sent", p.Total, "in", p.Count, "shares")
	for _, name := range []string{"Bob", "Carol", "Bob", "Alice", "Dave"} {
		b.grab(p.ID, name)
	}
	v, _ := b.svc.View(b.ctx, p.ID)
	best := v.Claims[v.BestLuck]
	for name, id := range b.users {
		if id == best.User {
			fmt.Println("best luck:", name, best.Amount)
		}
	}
	b.balances()
	esc, _ := b.l.Account(b.ctx, p.Escrow)
	fmt.Println("escrow", esc.NetMoney(), esc.Status)
	_, err = b.l.Verify(b.ctx)
	fmt.Println("ledger verified:", err == nil)
	// Output:
	// sent 18.88 CNY in 3 shares
	// Bob grabs 11.28 CNY
	// Carol grabs 7.41 CNY
	// Bob grabs 11.28 CNY
	// Alice grabs 0.19 CNY
	// Dave: redpacket: packet sold out
	// best luck: Bob 11.28 CNY
	//   Alice 81.31 CNY
	//   Bob   11.28 CNY
	//   Carol 7.41 CNY
	//   Dave  0.00 CNY
	// escrow 0.00 CNY closed
	// ledger verified: true
}

// A packet that is not fully claimed: after 24 hours the sweep refunds the
// unclaimed remainder to the sender, once.
func ExampleService_RefundExpired() {
	b := newExampleBank()
	amount, _ := ledger.ParseAmount("8.00", "CNY")
	p, err := b.svc.Send(b.ctx, redpacket.SendRequest{
		Key: "alice-0002", Kind: redpacket.Normal, Sender: b.users["Alice"], SenderAccount: b.wallets["Alice"],
		Group: b.group, Amount: amount, Count: 4, // 8.00 CNY each, 32.00 in all
	})
	if err != nil {
		panic(err)
	}
	b.grab(p.ID, "Bob")
	b.now = b.now.Add(24 * time.Hour)
	b.grab(p.ID, "Carol")
	for range 2 {
		n, err := b.svc.RefundExpired(b.ctx, b.now)
		fmt.Println("refunded packets:", n, err)
	}
	v, _ := b.svc.View(b.ctx, p.ID)
	fmt.Println(v.Packet.Status, "refund", v.Refund)
	b.balances()
	// Output:
	// Bob grabs 8.00 CNY
	// Carol: redpacket: packet expired
	// refunded packets: 1 <nil>
	// refunded packets: 0 <nil>
	// refunded refund 24.00 CNY
	//   Alice 92.00 CNY
	//   Bob   8.00 CNY
	//   Carol 0.00 CNY
	//   Dave  0.00 CNY
}
