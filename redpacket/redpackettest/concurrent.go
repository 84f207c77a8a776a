package redpackettest

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/redpacket"
)

// run starts n goroutines that wait for one signal, then run f(i); it
// returns when all are done.
func run(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}

// testConcurrentClaims: many users grab one 100-share packet at once.
// Exactly 100 win, each a different share (indexes 0..99, each amount the
// share at its index); everyone else is told it is sold out.
func testConcurrentClaims(t *testing.T, e *env) {
	const count = 100
	n := max(e.opts.Goroutines, 2*count)
	sh := shares(count)
	rand.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
	p := e.open(NewPacket(sh...))
	results := make([]redpacket.ClaimResult, n)
	errs := make([]error, n)
	users := make([]uuid.UUID, n)
	for i := range users {
		users[i] = uuid.New()
	}
	run(n, func(i int) { results[i], errs[i] = e.claim(&p, users[i]) })

	byIndex := make([]uuid.UUID, count)
	var sum int64
	won := 0
	for i := range n {
		if errs[i] != nil {
			if !errors.Is(errs[i], redpacket.ErrSoldOut) {
				t.Fatalf("claim %d: %v, want success or ErrSoldOut", i, errs[i])
			}
			continue
		}
		c := results[i].Claim
		if c.User != users[i] || results[i].Existing {
			t.Fatalf("claim %d: %+v", i, results[i])
		}
		if c.Index < 0 || c.Index >= count || byIndex[c.Index] != uuid.Nil {
			t.Fatalf("claim %d: index %d handed out twice or out of range", i, c.Index)
		}
		byIndex[c.Index] = c.User
		if c.Amount.Units() != sh[c.Index] {
			t.Fatalf("claim %d: index %d paid %d, share is %d", i, c.Index, c.Amount.Units(), sh[c.Index])
		}
		sum += c.Amount.Units()
		won++
	}
	if won != count || sum != p.Total.Units() {
		t.Fatalf("%d winners sharing %d; want %d sharing %d", won, sum, count, p.Total.Units())
	}
	cs := e.claims(p.ID)
	if len(cs) != count {
		t.Fatalf("Claims: %d, want %d", len(cs), count)
	}
	for i, c := range cs {
		if c.Index != i || c.User != byIndex[i] {
			t.Fatalf("Claims[%d] = index %d user %s, want index %d user %s", i, c.Index, c.User, i, byIndex[i])
		}
	}
	if st := e.get(p.ID).State; st != (redpacket.State{Status: redpacket.StatusSoldOut, Claimed: count}) {
		t.Fatalf("state %+v", st)
	}
}

// testConcurrentSameUser: one user's claim retried from many goroutines at
// once takes one share; every retry returns that claim.
func testConcurrentSameUser(t *testing.T, e *env) {
	n := min(e.opts.Goroutines, 100)
	p := e.open(NewPacket(shares(10)...))
	user := uuid.New()
	results := make([]redpacket.ClaimResult, n)
	errs := make([]error, n)
	run(n, func(i int) { results[i], errs[i] = e.claim(&p, user) })
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("claim %d: %v", i, errs[i])
		}
		if !results[i].Existing {
			fresh++
		}
		if results[i].Claim.Index != 0 || results[i].Claim.User != user {
			t.Fatalf("claim %d: %+v", i, results[i].Claim)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d claims were new, want 1", fresh)
	}
	if st := e.get(p.ID).State; st.Claimed != 1 {
		t.Fatalf("state %+v, want 1 claimed", st)
	}
	// Paid from many goroutines at once: counted once.
	run(n, func(int) {
		if _, err := e.s.MarkPosted(e.ctx, p.ID, user); err != nil {
			t.Error(err)
		}
	})
	if st := e.get(p.ID).State; st.Posted != 1 {
		t.Fatalf("state %+v, want 1 posted", st)
	}
}

// testConcurrentRefundAndClaims: claims (from clocks still before expiry)
// race several refund sweeps. Every claim is either recorded before the
// packet closes or refused with ErrRefunded (ErrSoldOut if the shares ran
// out first); every sweep sees the same refund; the claims and the refund
// add up to the total exactly.
func testConcurrentRefundAndClaims(t *testing.T, e *env) {
	for round := range 5 {
		const count, sweepers = 100, 8
		n := max(min(e.opts.Goroutines, 150), count/2)
		p := e.open(NewPacket(shares(count)...))
		var claimed atomic.Int64
		var won atomic.Int64
		refunds := make([]redpacket.Packet, sweepers)
		refundErrs := make([]error, sweepers)
		run(n+sweepers, func(i int) {
			if i < sweepers {
				refunds[i], refundErrs[i] = e.s.BeginRefund(e.ctx, p.ID, p.ExpiresAt)
				return
			}
			r, err := e.s.Claim(e.ctx, p.ID, uuid.New(), uuid.New(), p.ExpiresAt.Add(-time.Millisecond))
			switch {
			case err == nil:
				claimed.Add(r.Claim.Amount.Units())
				won.Add(1)
			case errors.Is(err, redpacket.ErrRefunded), errors.Is(err, redpacket.ErrSoldOut):
			default:
				t.Errorf("claim: %v", err)
			}
		})
		final := e.get(p.ID)
		if final.Claimed != int(won.Load()) {
			t.Fatalf("round %d: store counts %d claims, %d succeeded", round, final.Claimed, won.Load())
		}
		if final.Status == redpacket.StatusSoldOut {
			for i, err := range refundErrs {
				if !errors.Is(err, redpacket.ErrSoldOut) {
					t.Fatalf("round %d: sweeper %d on a sold-out packet: %v", round, i, err)
				}
			}
			if claimed.Load() != p.Total.Units() {
				t.Fatalf("round %d: sold out with %d of %d claimed", round, claimed.Load(), p.Total.Units())
			}
			continue
		}
		if final.Status != redpacket.StatusRefunding {
			t.Fatalf("round %d: status %v, want refunding", round, final.Status)
		}
		for i := range sweepers {
			if refundErrs[i] != nil {
				t.Fatalf("round %d: sweeper %d: %v", round, i, refundErrs[i])
			}
			if refunds[i].Refund() != final.Refund() || refunds[i].Claimed != final.Claimed {
				t.Fatalf("round %d: sweeper %d saw refund %v after %d claims; final %v after %d",
					round, i, refunds[i].Refund(), refunds[i].Claimed, final.Refund(), final.Claimed)
			}
		}
		if got := claimed.Load() + final.Refund().Units(); got != p.Total.Units() {
			t.Fatalf("round %d: claims %d + refund %d = %d, total %d", round, claimed.Load(), final.Refund().Units(), got, p.Total.Units())
		}
		if len(e.claims(p.ID)) != final.Claimed {
			t.Fatalf("round %d: claims listed differ from the count", round)
		}
	}
}

// testConcurrentPackets: many users grab many packets at once, each user
// every packet in its own order. Each packet ends with exactly its shares
// handed out, to distinct users.
func testConcurrentPackets(t *testing.T, e *env) {
	const packets, count = 20, 15
	users := max(min(e.opts.Goroutines/10, 40), count+5)
	ps := make([]redpacket.Packet, packets)
	for i := range ps {
		ps[i] = e.open(NewPacket(shares(count)...))
	}
	var won [packets]atomic.Int64
	run(users, func(int) {
		u := uuid.New()
		for _, i := range rand.Perm(packets) {
			_, err := e.claim(&ps[i], u)
			switch {
			case err == nil:
				won[i].Add(1)
			case !errors.Is(err, redpacket.ErrSoldOut):
				t.Errorf("claim: %v", err)
			}
		}
	})
	for i := range ps {
		cs := e.claims(ps[i].ID)
		seen := map[uuid.UUID]bool{}
		var sum int64
		for _, c := range cs {
			if seen[c.User] {
				t.Fatalf("packet %d: user %s claimed twice", i, c.User)
			}
			seen[c.User] = true
			sum += c.Amount.Units()
		}
		if len(cs) != count || won[i].Load() != count || sum != ps[i].Total.Units() {
			t.Fatalf("packet %d: %d claims (%d won) summing to %d; want %d summing to %d",
				i, len(cs), won[i].Load(), sum, count, ps[i].Total.Units())
		}
	}
}

// testConcurrentTransitions: racing Open and Cancel on a funding packet,
// exactly one wins; racing FinishRefund and Settle calls are idempotent.
func testConcurrentTransitions(t *testing.T, e *env) {
	for range 20 {
		p := e.create(NewPacket(10))
		var opened, cancelled atomic.Int64
		run(8, func(i int) {
			if i%2 == 0 {
				_, err := e.s.Open(e.ctx, p.ID)
				if err == nil {
					opened.Add(1)
				} else if !errors.Is(err, redpacket.ErrPacketCancelled) {
					t.Errorf("Open: %v", err)
				}
				return
			}
			_, err := e.s.Cancel(e.ctx, p.ID, "")
			if err == nil {
				cancelled.Add(1)
			} else if !errors.Is(err, redpacket.ErrAlreadyFunded) {
				t.Errorf("Cancel: %v", err)
			}
		})
		st := e.get(p.ID).Status
		switch {
		case st == redpacket.StatusOpen && opened.Load() == 4 && cancelled.Load() == 0:
		case st == redpacket.StatusCancelled && cancelled.Load() == 4 && opened.Load() == 0:
		default:
			t.Fatalf("status %v after %d opens and %d cancels succeeded", st, opened.Load(), cancelled.Load())
		}
	}
	p := e.open(NewPacket(10, 20))
	if _, err := e.s.BeginRefund(e.ctx, p.ID, p.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	run(16, func(i int) {
		if i%2 == 0 {
			if _, err := e.s.FinishRefund(e.ctx, p.ID); err != nil {
				t.Errorf("FinishRefund: %v", err)
			}
			return
		}
		if _, err := e.s.Settle(e.ctx, p.ID); err != nil && !errors.Is(err, redpacket.ErrNotFinished) {
			t.Errorf("Settle: %v", err)
		}
	})
	if _, err := e.s.Settle(e.ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if st := e.get(p.ID).State; st != (redpacket.State{Status: redpacket.StatusRefunded, Settled: true}) {
		t.Fatalf("state %+v", st)
	}
}
