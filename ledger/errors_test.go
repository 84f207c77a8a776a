package ledger_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// Reindexed gives a refusal the index of the caller's own request, in a
// copy: the batch's error keeps its own index.
func TestReindexed(t *testing.T) {
	te := &ledger.TransferError{Index: 7, ID: uuid.New(), Err: ledger.ErrInsufficientFunds}
	got := ledger.Reindexed(te, 2)
	var own *ledger.TransferError
	if !errors.As(got, &own) || own.Index != 2 || own.ID != te.ID || !errors.Is(got, ledger.ErrInsufficientFunds) {
		t.Fatalf("reindexed refusal %v", got)
	}
	if own == te || te.Index != 7 {
		t.Fatalf("the batch's refusal was changed: %v", te)
	}
	other := errors.New("database on fire")
	if ledger.Reindexed(other, 2) != other || ledger.Reindexed(nil, 2) != nil {
		t.Fatal("an error other than a refusal was changed")
	}
}
