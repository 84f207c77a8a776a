package ledger_test

import (
	"testing"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

func TestMemoryStore(t *testing.T) {
	ledgertest.Run(t, func(testing.TB) ledger.Store { return ledger.NewMemoryStore() })
}
