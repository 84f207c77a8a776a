package transfer_test

import (
	"testing"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/transfertest"
)

// TestMemoryStores runs the suite on a MemoryStore that pays each send in
// its own step (built with the ledger the suite's service uses).
func TestMemoryStores(t *testing.T) {
	transfertest.Run(t, func(testing.TB) transfertest.Env {
		l := ledger.New(nil, ledger.Options{})
		return transfertest.Env{Store: transfer.NewMemoryStore(l), Directory: transfer.NewMemoryDirectory(), Ledger: l.Store(), Paying: true}
	})
}

// TestMemoryStoresSlowPath runs the suite on a MemoryStore built without
// a ledger: the Service creates, pays and marks in three steps.
func TestMemoryStoresSlowPath(t *testing.T) {
	transfertest.Run(t, func(testing.TB) transfertest.Env {
		return transfertest.Env{Store: transfer.NewMemoryStore(nil), Directory: transfer.NewMemoryDirectory()}
	})
}
