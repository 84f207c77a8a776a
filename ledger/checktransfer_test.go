package ledger_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// Account.CheckTransfer answers what the rules answer a transfer crediting
// the account: open, frozen, closed, and in another currency. Services ask
// it before they commit to a payment (a red-packet claim's wallet), so it
// must never disagree with the ledger.
func TestCheckTransferAgreesWithTheRules(t *testing.T) {
	ctx := context.Background()
	l := ledger.New(nil, ledger.Options{})
	cny, usd := ledger.MustCurrency("CNY"), ledger.MustCurrency("USD")
	open := func(cur ledger.Currency) uuid.UUID {
		a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cur})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	bank := open(cny)
	frozen, closed := open(cny), open(cny)
	if _, err := l.Freeze(ctx, frozen); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Close(ctx, closed); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		account uuid.UUID
		want    error
	}{
		{"open", open(cny), nil},
		{"frozen", frozen, ledger.ErrAccountFrozen},
		{"closed", closed, ledger.ErrAccountClosed},
		{"another currency", open(usd), ledger.ErrCurrencyMismatch},
	} {
		a, err := l.Account(ctx, tc.account)
		if err != nil {
			t.Fatal(err)
		}
		check := a.CheckTransfer(cny)
		_, applied := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: tc.account, Amount: ledger.NewMoney(1, cny)})
		if tc.want == nil && (check != nil || applied != nil) || tc.want != nil && (!errors.Is(check, tc.want) || !errors.Is(applied, tc.want)) {
			t.Errorf("%s: CheckTransfer %v, the ledger %v; want %v from both", tc.name, check, applied, tc.want)
		}
	}
}
