package redpacket_test

import (
	"testing"

	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/redpacket/redpackettest"
)

func TestMemoryStore(t *testing.T) {
	redpackettest.Run(t, func(testing.TB) redpacket.Store { return redpacket.NewMemoryStore() })
}

// The suite also passes when every subtest shares one store.
func TestMemoryStoreShared(t *testing.T) {
	s := redpacket.NewMemoryStore()
	redpackettest.Run(t, func(testing.TB) redpacket.Store { return s })
}
