package ledger_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

// Maintain voids the holds whose timeout has passed, once, whoever runs
// it; its report reads as JSON with snake_case names.
func TestMaintain(t *testing.T) {
	ctx := context.Background()
	clock := ledgertest.NewClock(time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC))
	l := ledger.New(nil, ledger.Options{Now: clock.Now})
	cny := ledger.MustCurrency("CNY")
	bank, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	shop, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	for _, timeout := range []time.Duration{time.Minute, time.Minute, time.Hour} {
		if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: bank.ID,
			CreditAccountID: shop.ID, Amount: ledger.NewMoney(100, cny), Timeout: timeout}); err != nil {
			t.Fatal(err)
		}
	}
	at := clock.Now().Add(2 * time.Minute)
	counts, errs := ledgertest.Concurrently(4, func(int) (ledger.MaintainReport, error) { return l.Maintain(ctx, at) })
	expired := 0
	for i := range counts {
		if errs[i] != nil || counts[i].Errors != nil {
			t.Fatalf("Maintain: %+v, %v", counts[i], errs[i])
		}
		expired += counts[i].Expired
	}
	if expired != 2 {
		t.Fatalf("4 racing runs voided %d holds, want the 2 past their timeout", expired)
	}
	if a, _ := l.Account(ctx, shop.ID); a.Balance.CreditsPending != 100 {
		t.Fatalf("pending credits %d, want the hold of an hour left", a.Balance.CreditsPending)
	}
	b, err := json.Marshal(ledger.MaintainReport{Expired: 2, Errors: []string{"x"}})
	if err != nil || string(b) != `{"expired":2,"errors":["x"]}` {
		t.Fatalf("JSON %s, %v", b, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if rep, err := l.Maintain(cctx, at); !errors.Is(err, context.Canceled) || len(rep.Errors) != 1 {
		t.Fatalf("Maintain with its context over: %+v, %v", rep, err)
	}
}
