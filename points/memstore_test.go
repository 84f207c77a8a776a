package points_test

import (
	"testing"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
	"github.com/socialpay/socialpay/points/pointstest"
)

func TestMemoryStore(t *testing.T) {
	pointstest.Run(t, func(testing.TB) points.Store { return points.NewMemoryStore() }, ledger.NewMemoryStore())
}
