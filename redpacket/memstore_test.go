package redpacket_test

import (
	"github.com/socialpay/socialpay/ledger"
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

// TestRace: the race suite on a MemoryStore hidden behind the Store
// interface (the path of every store that does not pay a claim in its own
// step: wallet read, claim, payment, paid mark), with paid marks before
// Claim returns and in the background with payments batched.
func TestRace(t *testing.T) {
	for _, async := range []bool{false, true} {
		name := "other"
		if async {
			name = "other-async"
		}
		t.Run(name, func(t *testing.T) {
			redpackettest.RunRace(t, redpackettest.RaceConfig{
				Ledger: ledger.NewMemoryStore(), Store: otherStore{redpacket.NewMemoryStore()},
				Configure: func(c *redpacket.Config) {
					if async {
						c.AsyncMarks, c.GroupPayments = true, &ledger.GroupCommitOptions{}
					}
				},
			})
		})
	}
}
