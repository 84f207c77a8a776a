package qr_test

import (
	"testing"

	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/qr/qrtest"
)

func TestMemoryStore(t *testing.T) {
	qrtest.Run(t, func(testing.TB) qr.Store { return qr.NewMemoryStore() })
}
