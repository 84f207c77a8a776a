package collect_test

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
)

func ExampleEqualSplit() {
	shares, _ := collect.EqualSplit(10000, 3) // 100.00 CNY in fen, 3 ways
	fmt.Println(shares)
	// Output: [3334 3333 3333]
}

type everyone struct{}

func (everyone) IsMember(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }

// Three friends had dinner for 100.00; Ann paid the restaurant and asks
// Bo and Cy for their shares. Bo pays, Cy declines: the request is
// complete, and Ann's wallet holds what Bo paid.
func Example() {
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	clock := time.Date(2026, 1, 28, 20, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	l := ledger.New(nil, ledger.Options{Now: now})
	id := func(s string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(s)) }
	wallet := func(name string, fen int64) uuid.UUID {
		w := id(name + " wallet")
		l.CreateAccount(ctx, ledger.Account{ID: w, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		l.CreateAccount(ctx, ledger.Account{ID: id("bank"), Currency: cny})
		if fen > 0 {
			l.Transfer(ctx, ledger.Transfer{ID: id(name + " top-up"), DebitAccountID: id("bank"), CreditAccountID: w, Amount: ledger.NewMoney(fen, cny)})
		}
		return w
	}
	ann, bo, cy := id("ann"), id("bo"), id("cy")
	annWallet, boWallet := wallet("ann", 0), wallet("bo", 5000)

	svc, err := collect.New(collect.Config{
		Ledger: l, Members: everyone{}, Now: now,
		SingleProcess: true, // one process: its own MemoryStore will do
		Notifier: collect.NotifierFunc(func(_ context.Context, r collect.Request, members []uuid.UUID) error {
			fmt.Printf("reminding %d member(s) of %q\n", len(members), r.Title)
			return nil
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := svc.Create(ctx, collect.CreateRequest{
		Key: "dinner-2027-02-05", Requester: ann, Account: annWallet, Group: id("friends"), Title: "dinner",
		Members: []uuid.UUID{ann, bo, cy}, Total: ledger.NewMoney(10000, cny),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range r.Shares {
		fmt.Printf("share %v %s\n", r.Money(s.Amount), s.Status)
	}
	svc.Remind(ctx, r.ID, ann)
	_, err = svc.Pay(ctx, collect.PayRequest{Request: r.ID, Member: bo, Account: boWallet, Amount: ledger.NewMoney(3300, cny)})
	fmt.Println(err != nil, "(wrong amount)")
	share, _ := svc.Pay(ctx, collect.PayRequest{Request: r.ID, Member: bo, Account: boWallet, Amount: ledger.NewMoney(3333, cny)})
	fmt.Println("bo", share.Status)
	r, _ = svc.Decline(ctx, r.ID, cy)
	a, _ := l.Account(ctx, annWallet)
	fmt.Println(r.Status, "collected", r.Money(r.Collected), "ann holds", a.NetMoney())
	// Output:
	// share 33.34 CNY own
	// share 33.33 CNY pending
	// share 33.33 CNY pending
	// reminding 2 member(s) of "dinner"
	// true (wrong amount)
	// bo paid
	// complete collected 33.33 CNY ann holds 33.33 CNY
}
