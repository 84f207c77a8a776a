// Package redpackettest is the conformance suite every redpacket.Store
// runs:
//
//	func TestMemoryStore(t *testing.T) {
//		redpackettest.Run(t, func(testing.TB) redpacket.Store { return redpacket.NewMemoryStore() })
//	}
//
// The suite checks every store rule through the Store interface alone:
// recording packets (validation, duplicates), the funding transitions, the
// atomic hand-out of pre-split shares in order with (packet, user) unique,
// claims refused per status and at expiry, paid claims, the exactly-once
// refund transition and its atomicity with respect to claims, settling, and
// the listings of expired and unsettled packets paged by cursor. The
// concurrency tests hammer one packet from many goroutines (distinct users,
// one user retrying, claims racing refunds) and many packets at once. Then
// RunRace holds a Service on the store (and a ledger MemoryStore) to
// exactly once under concurrent retries.
//
// newStore is called for every subtest. It may hand out the same store
// each time: the suite uses fresh random IDs, and its listing tests look
// only at their own packets (at expiry times far in the future).
package redpackettest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// Options size the suite for a store. The zero value gives the full sizes.
type Options struct {
	// Goroutines is how many goroutines grab one packet at once in the
	// concurrency tests. Default 1,000; a database store may want fewer
	// (its connection pool serializes them anyway).
	Goroutines int
	// RaceIterations is how often each case of RunRace repeats (before
	// ledgertest.RaceIterations scales it). Default 100.
	RaceIterations int
}

// Run runs the suite with the default options.
func Run(t *testing.T, newStore func(testing.TB) redpacket.Store) {
	RunWith(t, newStore, Options{})
}

// RunWith runs the suite with opts.
func RunWith(t *testing.T, newStore func(testing.TB) redpacket.Store, opts Options) {
	if opts.Goroutines <= 0 {
		opts.Goroutines = 1000
	}
	tests := []struct {
		name string
		f    func(*testing.T, *env)
	}{
		{"CreateAndRead", testCreateAndRead},
		{"CreateInvalid", testCreateInvalid},
		{"CreateDuplicate", testCreateDuplicate},
		{"NotFound", testNotFound},
		{"OpenAndCancel", testOpenAndCancel},
		{"ClaimInOrder", testClaimInOrder},
		{"ClaimOncePerUser", testClaimOncePerUser},
		{"ClaimRefusals", testClaimRefusals},
		{"ClaimAtExpiry", testClaimAtExpiry},
		{"MarkPosted", testMarkPosted},
		{"Refund", testRefund},
		{"RefundRefusals", testRefundRefusals},
		{"Settle", testSettle},
		{"ExpiredPaging", testExpiredPaging},
		{"UnsettledPaging", testUnsettledPaging},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ConcurrentSameUser", testConcurrentSameUser},
		{"ConcurrentRefundAndClaims", testConcurrentRefundAndClaims},
		{"ConcurrentPackets", testConcurrentPackets},
		{"ConcurrentTransitions", testConcurrentTransitions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f(t, &env{t: t, ctx: context.Background(), s: newStore(t), opts: opts})
		})
	}
	// The service on this store, its ledger on another database (a
	// ledger MemoryStore): the path of a store that does not pay claims
	// in its own step (a MemoryStore does, under its lock).
	RunRace(t, RaceConfig{Ledger: ledger.NewMemoryStore(), Store: newStore(t), Iterations: opts.RaceIterations})
}

// start is the creation time of the suite's packets.
var start = time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)

type env struct {
	t    *testing.T
	ctx  context.Context
	s    redpacket.Store
	opts Options
}

var cny = ledger.MustCurrency("CNY")

// passwordKey is the key every Service the suites build shares, as a
// bank's instances share theirs: a fixed secret, for tests only.
var passwordKey = func() *redpacket.PasswordKey {
	k, err := redpacket.NewPasswordKey([]byte("redpackettest: a key for tests only, never for money"))
	if err != nil {
		panic(err)
	}
	return k
}()

// NewPacket returns a valid new packet (status funding) of a lucky packet
// in CNY with the given shares in fen, a fresh random ID and fresh random
// users and accounts, created at 2026-02-16 20:00 UTC and expiring a day
// later: what a store's own tests can record.
func NewPacket(shares ...int64) redpacket.Packet {
	var total int64
	for _, s := range shares {
		total += s
	}
	return redpacket.Packet{
		ID: uuid.New(), Kind: redpacket.Lucky, Sender: uuid.New(), SenderAccount: uuid.New(),
		Group: uuid.New(), SenderMayGrab: true,
		Total: ledger.NewMoney(total, cny), Count: len(shares), Shares: slices.Clone(shares),
		Escrow: uuid.New(), CreatedAt: start, ExpiresAt: start.Add(24 * time.Hour),
		State: redpacket.State{Status: redpacket.StatusFunding},
	}
}

// shares returns n shares 1, 2, …, n fen.
func shares(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i + 1)
	}
	return out
}

func (e *env) create(p redpacket.Packet) redpacket.Packet {
	e.t.Helper()
	got, err := e.s.CreatePacket(e.ctx, p)
	if err != nil {
		e.t.Fatalf("CreatePacket: %v", err)
	}
	return got
}

// open creates p and opens it.
func (e *env) open(p redpacket.Packet) redpacket.Packet {
	e.t.Helper()
	e.create(p)
	st, err := e.s.Open(e.ctx, p.ID)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	if st.Status != redpacket.StatusOpen {
		e.t.Fatalf("Open: status %v, want open", st.Status)
	}
	p.State = st
	return p
}

// claim claims p for a new user before p expires and returns the result.
func (e *env) claim(p *redpacket.Packet, user uuid.UUID) (redpacket.ClaimResult, error) {
	return e.s.Claim(e.ctx, p.ID, user, uuid.New(), p.CreatedAt.Add(time.Minute))
}

func (e *env) mustClaim(p *redpacket.Packet, user uuid.UUID) redpacket.ClaimResult {
	e.t.Helper()
	r, err := e.claim(p, user)
	if err != nil {
		e.t.Fatalf("Claim: %v", err)
	}
	return r
}

func (e *env) get(id uuid.UUID) redpacket.Packet {
	e.t.Helper()
	p, err := e.s.Packet(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Packet: %v", err)
	}
	return p
}

func (e *env) claims(id uuid.UUID) []redpacket.Claim {
	e.t.Helper()
	cs, err := e.s.Claims(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Claims: %v", err)
	}
	return cs
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

// samePacket compares two packets field by field (times with Equal).
func samePacket(t *testing.T, got, want redpacket.Packet) {
	t.Helper()
	g, w := got, want
	if !g.CreatedAt.Equal(w.CreatedAt) || !g.ExpiresAt.Equal(w.ExpiresAt) {
		t.Fatalf("times: got %v–%v, want %v–%v", g.CreatedAt, g.ExpiresAt, w.CreatedAt, w.ExpiresAt)
	}
	if !slices.Equal(g.Shares, w.Shares) {
		t.Fatalf("shares: got %v, want %v", g.Shares, w.Shares)
	}
	g.CreatedAt, g.ExpiresAt, g.Shares = w.CreatedAt, w.ExpiresAt, w.Shares
	if g.ID != w.ID || g.Kind != w.Kind || g.Sender != w.Sender || g.SenderAccount != w.SenderAccount ||
		g.Group != w.Group || g.Recipient != w.Recipient || !bytes.Equal(g.PasswordHash, w.PasswordHash) ||
		g.SenderMayGrab != w.SenderMayGrab || g.Total != w.Total || g.Count != w.Count ||
		g.Escrow != w.Escrow || g.State != w.State {
		t.Fatalf("packet:\n got %+v\nwant %+v", got, want)
	}
}
