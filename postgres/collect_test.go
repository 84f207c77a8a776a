package postgres

import (
	"testing"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/collect/collecttest"
	"github.com/socialpay/socialpay/ledger"
)

// TestCollectStore runs the bill-splitting conformance suite on
// PostgreSQL, first with the ledger on the same schema (each payment one
// transaction with its transfer), then with the ledger in memory (the
// transfer made through the ledger's API under the request's row lock).
// Race cases repeat 20 times each with 8 concurrent calls.
func TestCollectStore(t *testing.T) {
	db := freshDB(t)
	s, ls := NewCollectStore(db), NewLedgerStore(db)
	opts := collecttest.Options{K: 8, RaceIterations: 20}
	t.Run("SameDatabase", func(t *testing.T) {
		collecttest.RunWith(t, func(testing.TB) (collect.Store, ledger.Store) { return s, ls }, opts)
	})
	t.Run("LedgerElsewhere", func(t *testing.T) {
		mem := ledger.NewMemoryStore()
		collecttest.RunWith(t, func(testing.TB) (collect.Store, ledger.Store) { return s, mem }, opts)
	})
}
