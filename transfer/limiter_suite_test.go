package transfer_test

import (
	"testing"

	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/transfertest"
)

func TestMemoryLimiterCharges(t *testing.T) {
	transfertest.RunLimiter(t, func(t testing.TB, cfg transfer.RateConfig) transfer.Limiter {
		l, err := transfer.NewMemoryLimiter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}
