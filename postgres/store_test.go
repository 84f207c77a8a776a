package postgres

import (
	"testing"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

func TestStore(t *testing.T) {
	ledgertest.Run(t, func(t testing.TB) ledger.Store { return storeFor(t) })
}
