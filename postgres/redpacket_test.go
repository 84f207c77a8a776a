package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/redpacket/redpackettest"
)

// TestRedPacketStore runs the red-packet conformance suite on PostgreSQL,
// every subtest on one schema (the suite keeps to its own packets), with
// fewer goroutines per packet: the pool serializes them anyway.
func TestRedPacketStore(t *testing.T) {
	db := freshDB(t)
	redpackettest.RunWith(t, func(testing.TB) redpacket.Store { return NewRedPacketStore(db) }, redpackettest.Options{Goroutines: 200})
}

// TestRedPacketStorm: the whole service on PostgreSQL (ledger and red
// packets), 300 members tapping one 100-share packet at once.
func TestRedPacketStorm(t *testing.T) {
	db := freshDB(t)
	redpackettest.Storm(t, redpackettest.StormConfig{
		Ledger: NewStore(db), Store: NewRedPacketStore(db), Grabbers: 300, Shares: 100,
	})
}

// TestRedPacketStoreUnstorable: a password PostgreSQL text cannot hold is
// refused as an invalid packet, not as a database failure.
func TestRedPacketStoreUnstorable(t *testing.T) {
	s := NewRedPacketStore(freshDB(t))
	at := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	p := redpacket.Packet{
		ID: uuid.New(), Kind: redpacket.Password, Sender: uuid.New(), SenderAccount: uuid.New(), Group: uuid.New(),
		Password: "a\x00b", Total: ledger.NewMoney(10, ledger.MustCurrency("CNY")), Count: 1, Shares: []int64{10},
		Escrow: uuid.New(), CreatedAt: at, ExpiresAt: at.Add(time.Hour), State: redpacket.State{Status: redpacket.StatusFunding},
	}
	if _, err := s.CreatePacket(context.Background(), p); !errors.Is(err, redpacket.ErrInvalidPacket) {
		t.Fatalf("CreatePacket with a NUL in the password: %v, want ErrInvalidPacket", err)
	}
}
