package collect_test

import (
	"testing"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/collect/collecttest"
	"github.com/socialpay/socialpay/ledger"
)

func TestMemoryStore(t *testing.T) {
	collecttest.Run(t, func(testing.TB) (collect.Store, ledger.Store) {
		return collect.NewMemoryStore(), ledger.NewMemoryStore()
	})
}
