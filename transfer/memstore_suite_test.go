package transfer_test

import (
	"testing"

	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/transfertest"
)

func TestMemoryStores(t *testing.T) {
	transfertest.Run(t, func(testing.TB) transfertest.Env {
		return transfertest.Env{Store: transfer.NewMemoryStore(), Directory: transfer.NewMemoryDirectory()}
	})
}
