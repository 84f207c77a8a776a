package ledger_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// FenceFunding settles a funding transfer for good: funded when it is on
// the ledger or the escrow holds money; otherwise the escrow is closed and
// the transfer, arriving later, is refused; asking again gives the same
// answer.
func TestFenceFunding(t *testing.T) {
	ctx := context.Background()
	l := ledger.New(nil, ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	bank, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	escrow := func() ledger.Account {
		return ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}
	}
	fund := func(fundID uuid.UUID, e ledger.Account) error {
		_, err := l.Transfer(ctx, ledger.Transfer{ID: fundID, DebitAccountID: bank.ID, CreditAccountID: e.ID, Amount: ledger.NewMoney(100, cny)})
		return err
	}

	// The funding transfer landed.
	e, id := escrow(), uuid.New()
	if _, err := l.CreateAccount(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := fund(id, e); err != nil {
		t.Fatal(err)
	}
	if funded, err := l.FenceFunding(ctx, id, e); err != nil || !funded {
		t.Fatalf("funded escrow: %v %v", funded, err)
	}

	// It never landed, and the escrow account was never created: fenced,
	// and the transfer retried afterwards is refused; asking again agrees.
	e, id = escrow(), uuid.New()
	for range 2 {
		if funded, err := l.FenceFunding(ctx, id, e); err != nil || funded {
			t.Fatalf("unfunded escrow: %v %v", funded, err)
		}
	}
	if err := fund(id, e); !errors.Is(err, ledger.ErrAccountClosed) {
		t.Fatalf("funding after the fence: %v", err)
	}

	// The escrow holds money under another ID (the send's funding landed
	// with a transfer this call does not name): funded, nothing closed.
	e = escrow()
	if _, err := l.CreateAccount(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := fund(uuid.New(), e); err != nil {
		t.Fatal(err)
	}
	if funded, err := l.FenceFunding(ctx, uuid.New(), e); err != nil || !funded {
		t.Fatalf("escrow holding money: %v %v", funded, err)
	}
	if a, _ := l.Account(ctx, e.ID); a.Status != ledger.AccountOpen {
		t.Fatalf("escrow holding money was %s", a.Status)
	}
}
