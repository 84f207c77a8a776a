package maintain_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/maintain"
	"github.com/socialpay/socialpay/redpacket"
)

// Alice sends a red packet of two shares of 8.88 CNY to her group; Bob grabs one and
// nobody the other. A day later the runner's round refunds the rest to
// Alice (the red-packet task) and voids a card hold whose timeout passed
// (the ledger's task). A service calls Start instead of RunOnce, and
// serves Last on its readiness endpoint.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := ledger.New(nil, ledger.Options{Now: clock})
	members := &redpacket.MemoryMembers{}
	packets, err := redpacket.New(redpacket.Config{Ledger: l, Members: members, Now: clock, SingleProcess: true})
	if err != nil {
		panic(err)
	}
	cny := ledger.MustCurrency("CNY")
	bank, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	group, alice, bob := uuid.New(), uuid.New(), uuid.New()
	aliceWallet, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
	bobWallet, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
	members.Add(group, alice)
	members.Add(group, bob)
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: aliceWallet.ID, Amount: ledger.NewMoney(100_00, cny)}); err != nil {
		panic(err)
	}
	p, err := packets.Send(ctx, redpacket.SendRequest{ID: uuid.New(), Kind: redpacket.Normal, Sender: alice,
		SenderAccount: aliceWallet.ID, Group: group, Amount: ledger.NewMoney(8_88, cny), Count: 2})
	if err != nil {
		panic(err)
	}
	if _, err := packets.Claim(ctx, redpacket.ClaimRequest{Packet: p.ID, User: bob, Account: bobWallet.ID}); err != nil {
		panic(err)
	}
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: aliceWallet.ID,
		CreditAccountID: bank.ID, Amount: ledger.NewMoney(50_00, cny), Timeout: time.Hour}); err != nil {
		panic(err)
	}

	r, err := maintain.New(maintain.Config{
		Tasks: []maintain.Task{maintain.TaskOf("ledger", l), maintain.TaskOf("redpacket", packets)},
		Now:   clock,
	})
	if err != nil {
		panic(err)
	}
	now = now.Add(25 * time.Hour)
	for _, res := range r.RunOnce(ctx) {
		report, _ := json.Marshal(res.Report)
		fmt.Printf("%s: %s %v\n", res.Task, report, res.Err)
	}
	a, _ := l.Account(ctx, aliceWallet.ID)
	fmt.Println("Alice has", a.NetMoney(), "with", a.Balance.DebitsPending, "held")
	_, err = l.Verify(ctx)
	fmt.Println("ledger verified:", err == nil)
	// Output:
	// ledger: {"expired":1} <nil>
	// redpacket: {"refunded":1,"reconcile":{"funded":0,"cancelled":0,"paid":0,"returned":0,"refunded":0,"settled":0,"marked":0,"repaid":0,"refund_moved":0,"refund_recorded":0,"unrepaired":0}} <nil>
	// Alice has 91.12 CNY with 0 held
	// ledger verified: true
}
