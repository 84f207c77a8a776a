package redpacket_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/redpacket/redpackettest"
)

// TestStorm: 10,000 members tap one 100-share packet at once (see
// redpackettest.Storm for what is checked), on a MemoryStore (claims
// recorded and paid in one step; also with payments batched), and on
// another store with paid marks before Claim returns or in the background
// with payments batched.
func TestStorm(t *testing.T) {
	batched := func(c *redpacket.Config) { c.GroupPayments = &ledger.GroupCommitOptions{} }
	tests := []struct {
		name      string
		store     redpacket.Store
		configure func(*redpacket.Config)
	}{
		{"memory", nil, nil},
		{"memory-batched", nil, batched},
		{"other", redpacket.NewMemoryStore(nil), nil},
		{"other-async", redpacket.NewMemoryStore(nil), func(c *redpacket.Config) { batched(c); c.AsyncMarks = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			redpackettest.Storm(t, redpackettest.StormConfig{Store: tt.store, Configure: tt.configure, Grabbers: 10000, Shares: 100})
		})
	}
}

// TestSoldOutFastPath: once a packet is sold out (or refunded), a tap is
// answered from the service's memory: no store call, no ledger call, for
// members without a share and for winners asking again alike.
func TestSoldOutFastPath(t *testing.T) {
	sf, lf := newFault(), newFault()
	w := newWorld(t, withStores(&faultyLedger{Store: ledger.NewMemoryStore(), f: lf}, faultyStore{s: redpacket.NewMemoryStore(nil), f: sf}))
	sender := w.newUser(10000)
	ms := w.users(10, 0)
	p := w.send(w.lucky(sender, 300, 3))
	var won []redpacket.Claim
	for _, m := range ms[:3] {
		won = append(won, w.mustClaim(p.ID, m))
	}
	// The first tap after selling out reads the final claims once.
	_, err := w.claim(p.ID, ms[3])
	wantIs(t, "first tap after selling out", err, redpacket.ErrSoldOut)
	storeCalls, ledgerCalls := sf.calls.Load(), lf.calls.Load()
	for range 5 {
		for _, m := range ms[3:] {
			_, err := w.claim(p.ID, m)
			wantIs(t, "tap on a sold-out packet", err, redpacket.ErrSoldOut)
		}
		for i, m := range ms[:3] {
			if c := w.mustClaim(p.ID, m); c != won[i] {
				t.Fatalf("winner's tap: %+v, want %+v", c, won[i])
			}
		}
	}
	if s, l := sf.calls.Load()-storeCalls, lf.calls.Load()-ledgerCalls; s != 0 || l != 0 {
		t.Fatalf("taps on a sold-out packet made %d store and %d ledger calls, want none", s, l)
	}
	// Eligibility still comes first: an outsider is not a member, not told
	// the packet is sold out.
	_, err = w.claim(p.ID, user{id: uuid.New(), wallet: ms[0].wallet})
	wantIs(t, "outsider's tap", err, redpacket.ErrNotMember)

	// A refunded packet, in a process that learns of it from the store.
	q := w.send(w.lucky(sender, 300, 3))
	w.mustClaim(q.ID, ms[0])
	w.clock.Advance(25 * time.Hour)
	if _, err := w.svc.RefundExpired(w.ctx, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	other := newService(t, w)
	tap := func(u user) error {
		_, err := other.Claim(w.ctx, redpacket.ClaimRequest{Packet: q.ID, User: u.id, Account: u.wallet})
		return err
	}
	wantIs(t, "first tap on a refunded packet", tap(ms[1]), redpacket.ErrRefunded)
	storeCalls, ledgerCalls = sf.calls.Load(), lf.calls.Load()
	for _, m := range ms[1:] {
		wantIs(t, "tap on a refunded packet", tap(m), redpacket.ErrRefunded)
	}
	if err := tap(ms[0]); err != nil {
		t.Fatalf("claimer's tap on a refunded packet: %v", err)
	}
	if s, l := sf.calls.Load()-storeCalls, lf.calls.Load()-ledgerCalls; s != 0 || l != 0 {
		t.Fatalf("taps on a refunded packet made %d store and %d ledger calls, want none", s, l)
	}
}

// TestServiceBugCases runs the published red-packet bugs through the
// whole service: each packet is sent, every share claimed by a different
// member, and every share must be within the limits, positive, and sum to
// the total exactly, with the escrow closed at zero.
func TestServiceBugCases(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		tests := []struct {
			name    string
			kind    redpacket.Kind
			amount  int64 // total, or per share for Normal
			count   int
			wantErr error
		}{
			{"1.00 split 18 ways (a negative last share when rounding up)", redpacket.Lucky, 100, 18, nil},
			{"0.10 into 15 shares (a negative share)", redpacket.Lucky, 10, 15, redpacket.ErrShareTooSmall},
			{"20.00 into 100 shares", redpacket.Lucky, 2000, 100, nil},
			{"one share", redpacket.Lucky, 8888, 1, nil},
			{"count = max", redpacket.Lucky, 10000, 100, nil},
			{"total = count × max (no last share above the max)", redpacket.Lucky, 100 * 20000, 100, nil},
			{"total = count × min (no zero share)", redpacket.Lucky, 100, 100, nil},
			{"200.01 in one share", redpacket.Lucky, 20001, 1, redpacket.ErrShareTooLarge},
			{"normal 0.01 × 100", redpacket.Normal, 1, 100, nil},
			{"password 1.00 × 18", redpacket.Password, 100, 18, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := newWorld(t, inMode(m))
				sender := w.newUser(100 * 20000)
				ms := w.users(tt.count, 0)
				req := w.lucky(sender, tt.amount, tt.count)
				req.Kind = tt.kind
				if tt.kind == redpacket.Password {
					req.Password = "大吉大利"
				}
				p, err := w.svc.Send(w.ctx, req)
				if tt.wantErr != nil {
					wantIs(t, "Send", err, tt.wantErr)
					if got := w.balance(sender.wallet); got != 100*20000 {
						t.Fatalf("a refused packet took %d", 100*20000-got)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				lim := redpacket.DefaultRules().Share
				var sum int64
				for _, m := range ms {
					c, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: m.id, Account: m.wallet, Password: req.Password})
					if err != nil {
						t.Fatal(err)
					}
					if a := c.Amount.Units(); a < lim.Min || a > lim.Max || a <= 0 {
						t.Fatalf("share %v outside [%d, %d]", c.Amount, lim.Min, lim.Max)
					}
					sum += c.Amount.Units()
				}
				if sum != p.Total.Units() {
					t.Fatalf("shares sum to %d, total %v", sum, p.Total)
				}
				w.checkFinished(p.ID)
			})
		}
	})
}
