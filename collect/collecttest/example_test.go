package collecttest_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/collect/collecttest"
	"github.com/socialpay/socialpay/ledger"
)

type everyone struct{}

func (everyone) IsMember(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }

// A store's test runs the whole suite with one line:
//
//	func TestMyStore(t *testing.T) {
//		collecttest.Run(t, func(t testing.TB) (collect.Store, ledger.Store) { return mystore.New(t), ledger.NewMemoryStore() })
//	}
//
// Reminders stands in for the bank's notifications in tests of a service:
// here a requester reminds two friends, and a second reminder within the
// interval is refused without reaching the notifier.
func ExampleReminders() {
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	l := ledger.New(nil, ledger.Options{})
	id := func(s string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(s)) }
	ann, wallet := id("ann"), id("ann wallet")
	if _, err := l.CreateAccount(ctx, ledger.Account{ID: wallet, Currency: cny}); err != nil {
		fmt.Println(err)
		return
	}
	var sent collecttest.Reminders
	svc, err := collect.New(collect.Config{Ledger: l, SingleProcess: true, Members: everyone{}, Notifier: &sent})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := svc.Create(ctx, collect.CreateRequest{Key: "hotpot", Requester: ann, Account: wallet, Group: id("friends"), Title: "hotpot",
		Members: []uuid.UUID{ann, id("bo"), id("cy")}, Total: ledger.NewMoney(30000, cny)})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = svc.Remind(ctx, r.ID, ann)
	fmt.Println(err)
	_, err = svc.Remind(ctx, r.ID, ann)
	fmt.Println(err != nil)
	for _, s := range sent.Sent() {
		fmt.Println(s.Request == r.ID, len(s.Members), "members reminded")
	}
	// Output:
	// <nil>
	// true
	// true 2 members reminded
}
