package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// brokenStore fails every transfer the way a database that went away does.
type brokenStore struct{ ledger.Store }

var errDown = errors.New("database down")

func (brokenStore) CreateTransfer(context.Context, ledger.Transfer, time.Time) (ledger.Result, error) {
	return ledger.Result{}, errDown
}

// A store failure is not a refusal: the caller must be able to tell
// "the ledger said no" from "the outcome is unknown, retry".
func TestStoreFailureIsNotARefusal(t *testing.T) {
	ctx := context.Background()
	mem := ledger.NewMemoryStore()
	l := ledger.New(brokenStore{mem}, ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: a.ID, CreditAccountID: b.ID, Amount: ledger.NewMoney(1, cny)})
	if !errors.Is(err, errDown) || ledger.Refused(err) {
		t.Fatalf("store failure: %v (refused %v)", err, ledger.Refused(err))
	}
	_, err = l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: a.ID, CreditAccountID: a.ID, Amount: ledger.NewMoney(1, cny)})
	if !errors.Is(err, ledger.ErrSameAccount) || !ledger.Refused(err) {
		t.Fatalf("refusal: %v", err)
	}
	if ledger.Refused(nil) {
		t.Fatal("nil is a refusal")
	}
}
