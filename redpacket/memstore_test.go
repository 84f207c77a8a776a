package redpacket_test

import (
	"testing"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/redpacket/redpackettest"
)

// TestMemoryStore: a MemoryStore that pays on no ledger, held to the Store
// suite.
func TestMemoryStore(t *testing.T) {
	redpackettest.Run(t, func(testing.TB) redpacket.Store { return redpacket.NewMemoryStore(nil) })
}

// The suite also passes when every subtest shares one store.
func TestMemoryStoreShared(t *testing.T) {
	s := redpacket.NewMemoryStore(nil)
	redpackettest.Run(t, func(testing.TB) redpacket.Store { return s })
}

// TestMemoryStorePaying: a MemoryStore built with a ledger, held to the
// PayingStore suite (its race cases included): claims recorded and paid
// in one step, under the packet's lock.
func TestMemoryStorePaying(t *testing.T) {
	redpackettest.RunPaying(t, func(testing.TB) (redpacket.PayingStore, ledger.Store) {
		ls := ledger.NewMemoryStore()
		return redpacket.NewMemoryStore(ledger.New(ls, ledger.Options{})), ls
	}, redpackettest.Options{})
}

// TestRace: the race suite on a MemoryStore that pays on no ledger (the
// path of a store on another database than the ledger's: wallet read,
// claim, payment, paid mark), with paid marks before Claim returns and in
// the background with payments batched.
func TestRace(t *testing.T) {
	for _, async := range []bool{false, true} {
		name := "other"
		if async {
			name = "other-async"
		}
		t.Run(name, func(t *testing.T) {
			redpackettest.RunRace(t, redpackettest.RaceConfig{
				Ledger: ledger.NewMemoryStore(), Store: redpacket.NewMemoryStore(nil),
				Configure: func(c *redpacket.Config) {
					if async {
						c.AsyncMarks, c.GroupPayments = true, &ledger.GroupCommitOptions{}
					}
				},
			})
		})
	}
}
