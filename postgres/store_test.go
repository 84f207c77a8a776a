package postgres

import (
	"testing"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

func TestStore(t *testing.T) {
	ledgertest.Run(t, func(t testing.TB) ledger.Store { return storeFor(t) })
}

// The group-commit batcher over PostgreSQL: concurrent single transfers
// share transactions, and the suite still holds.
func TestGroupCommitStore(t *testing.T) {
	ledgertest.Run(t, func(t testing.TB) ledger.Store {
		return ledger.NewGroupCommit(storeFor(t), ledger.GroupCommitOptions{})
	})
}
