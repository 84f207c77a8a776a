package redpackettest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// testCreateAndRead: a packet reads back exactly as recorded, every kind
// and field, and the store keeps its own copy of the shares.
func testCreateAndRead(t *testing.T, e *env) {
	for _, k := range []redpacket.Kind{redpacket.Lucky, redpacket.Normal, redpacket.Exclusive, redpacket.Password} {
		p := NewPacket(300, 1, 20000, 7)
		p.Kind = k
		p.SenderMayGrab = k == redpacket.Lucky
		switch k {
		case redpacket.Exclusive:
			p.Recipient = uuid.New()
		case redpacket.Password:
			p.PasswordHash = bytes.Repeat([]byte{0xa5}, redpacket.PasswordHashLen)
		}
		p.CreatedAt = start.Add(123456 * time.Microsecond)
		p.ExpiresAt = p.CreatedAt.Add(24 * time.Hour)
		got := e.create(p)
		samePacket(t, got, p)
		got.Shares[0] = 1 // the caller's copy
		p.Shares[1] = 99  // the original
		read := e.get(p.ID)
		want := NewPacket(300, 1, 20000, 7)
		if read.Shares[0] != want.Shares[0] || read.Shares[1] != want.Shares[1] {
			t.Fatalf("%v: stored shares %v changed through a caller's slice", k, read.Shares)
		}
		read.Shares[2] = 5
		if again := e.get(p.ID); again.Shares[2] != 20000 {
			t.Fatalf("%v: stored shares changed through a returned slice", k)
		}
		p.Shares[1] = 1
		if k == redpacket.Password {
			read.PasswordHash[0] = 0 // a returned slice
			got.PasswordHash[1] = 0  // another returned slice
			samePacket(t, e.get(p.ID), p)
			p.PasswordHash[2] = 0 // the original
			if again := e.get(p.ID); again.PasswordHash[2] != 0xa5 {
				t.Fatalf("stored password hash changed through a caller's slice")
			}
			p.PasswordHash[2] = 0xa5
		}
		samePacket(t, e.get(p.ID), p)
		if cs := e.claims(p.ID); len(cs) != 0 {
			t.Fatalf("%v: new packet has claims %v", k, cs)
		}
	}
	// Amounts in a currency with other minor units keep their currency.
	p := NewPacket(1000, 2500)
	p.Total = ledger.NewMoney(3500, ledger.MustCurrency("JPY"))
	e.create(p)
	if got := e.get(p.ID); got.Total != p.Total {
		t.Fatalf("total %v, want %v", got.Total, p.Total)
	}
}

// testCreateInvalid: the store validates packets (Packet.Validate).
func testCreateInvalid(t *testing.T, e *env) {
	mod := func(f func(*redpacket.Packet)) redpacket.Packet { p := NewPacket(5, 6, 7); f(&p); return p }
	for name, p := range map[string]redpacket.Packet{
		"no ID":           mod(func(p *redpacket.Packet) { p.ID = uuid.Nil }),
		"kind 0":          mod(func(p *redpacket.Packet) { p.Kind = 0 }),
		"no sender":       mod(func(p *redpacket.Packet) { p.Sender = uuid.Nil }),
		"no escrow":       mod(func(p *redpacket.Packet) { p.Escrow = uuid.Nil }),
		"no currency":     mod(func(p *redpacket.Packet) { p.Total = ledger.Money{} }),
		"count mismatch":  mod(func(p *redpacket.Packet) { p.Count = 2 }),
		"no shares":       mod(func(p *redpacket.Packet) { p.Count, p.Shares, p.Total = 0, nil, ledger.NewMoney(0, cny) }),
		"zero share":      mod(func(p *redpacket.Packet) { p.Shares[1], p.Total = 0, ledger.NewMoney(12, cny) }),
		"negative share":  mod(func(p *redpacket.Packet) { p.Shares[1], p.Total = -1, ledger.NewMoney(11, cny) }),
		"sum differs":     mod(func(p *redpacket.Packet) { p.Total = ledger.NewMoney(19, cny) }),
		"expires at once": mod(func(p *redpacket.Packet) { p.ExpiresAt = p.CreatedAt }),
		"already open":    mod(func(p *redpacket.Packet) { p.Status = redpacket.StatusOpen }),
		"claimed":         mod(func(p *redpacket.Packet) { p.Claimed = 1 }),
		"settled":         mod(func(p *redpacket.Packet) { p.Settled = true }),
	} {
		if _, err := e.s.CreatePacket(e.ctx, p); !errors.Is(err, redpacket.ErrInvalidPacket) {
			t.Errorf("%s: CreatePacket error %v, want ErrInvalidPacket", name, err)
		}
		if p.ID != uuid.Nil {
			if _, err := e.s.Packet(e.ctx, p.ID); !errors.Is(err, redpacket.ErrPacketNotFound) {
				t.Errorf("%s: invalid packet was recorded (Packet: %v)", name, err)
			}
		}
	}
}

// testCreateDuplicate: a second packet with the same ID is refused with
// the stored packet, which does not change.
func testCreateDuplicate(t *testing.T, e *env) {
	p := e.open(NewPacket(10, 20))
	e.mustClaim(&p, uuid.New())
	q := NewPacket(1, 2, 3)
	q.ID = p.ID
	got, err := e.s.CreatePacket(e.ctx, q)
	wantErr(t, "duplicate CreatePacket", err, redpacket.ErrPacketExists)
	p.State = redpacket.State{Status: redpacket.StatusOpen, Claimed: 1}
	samePacket(t, got, p)
	samePacket(t, e.get(p.ID), p)
	// Even an identical request is a duplicate: the service decides.
	p2 := NewPacket(4)
	e.create(p2)
	_, err = e.s.CreatePacket(e.ctx, p2)
	wantErr(t, "identical CreatePacket", err, redpacket.ErrPacketExists)
}

// testNotFound: every method on an unknown packet.
func testNotFound(t *testing.T, e *env) {
	id, u := uuid.New(), uuid.New()
	now := start
	_, err := e.s.Packet(e.ctx, id)
	wantErr(t, "Packet", err, redpacket.ErrPacketNotFound)
	_, err = e.s.Open(e.ctx, id)
	wantErr(t, "Open", err, redpacket.ErrPacketNotFound)
	_, err = e.s.Cancel(e.ctx, id, "")
	wantErr(t, "Cancel", err, redpacket.ErrPacketNotFound)
	_, err = e.s.Claim(e.ctx, id, u, u, now)
	wantErr(t, "Claim", err, redpacket.ErrPacketNotFound)
	_, err = e.s.Claims(e.ctx, id)
	wantErr(t, "Claims", err, redpacket.ErrPacketNotFound)
	_, err = e.s.MarkPosted(e.ctx, id, u)
	wantErr(t, "MarkPosted", err, redpacket.ErrPacketNotFound)
	_, err = e.s.BeginRefund(e.ctx, id, now)
	wantErr(t, "BeginRefund", err, redpacket.ErrPacketNotFound)
	_, err = e.s.FinishRefund(e.ctx, id)
	wantErr(t, "FinishRefund", err, redpacket.ErrPacketNotFound)
	_, err = e.s.Settle(e.ctx, id)
	wantErr(t, "Settle", err, redpacket.ErrPacketNotFound)
}

// testOpenAndCancel: funding → open or cancelled, each final.
func testOpenAndCancel(t *testing.T, e *env) {
	p := e.open(NewPacket(10))
	st, err := e.s.Open(e.ctx, p.ID)
	if err != nil || st.Status != redpacket.StatusOpen {
		t.Fatalf("Open again: %v, %v; want open, nil", st.Status, err)
	}
	_, err = e.s.Cancel(e.ctx, p.ID, "insufficient_funds")
	wantErr(t, "Cancel an open packet", err, redpacket.ErrAlreadyFunded)
	if got := e.get(p.ID); got.State != (redpacket.State{Status: redpacket.StatusOpen}) {
		t.Fatalf("state %+v after refused cancel, want open", got.State)
	}

	// The first cancel's reason stays: a second one changes nothing.
	q := e.create(NewPacket(10))
	for i, reason := range []string{"insufficient_funds", "account_frozen"} {
		st, err := e.s.Cancel(e.ctx, q.ID, reason)
		if err != nil || st != (redpacket.State{Status: redpacket.StatusCancelled, Reason: "insufficient_funds"}) {
			t.Fatalf("Cancel #%d: %+v, %v; want cancelled because of insufficient_funds, nil", i+1, st, err)
		}
	}
	_, err = e.s.Open(e.ctx, q.ID)
	wantErr(t, "Open a cancelled packet", err, redpacket.ErrPacketCancelled)
	if got := e.get(q.ID); got.State != (redpacket.State{Status: redpacket.StatusCancelled, Reason: "insufficient_funds"}) {
		t.Fatalf("state %+v, want cancelled because of insufficient_funds", got.State)
	}

	// Cancelled with no refusal seen: no reason.
	r := e.create(NewPacket(10))
	if st, err := e.s.Cancel(e.ctx, r.ID, ""); err != nil || st != (redpacket.State{Status: redpacket.StatusCancelled}) {
		t.Fatalf("Cancel without a reason: %+v, %v; want cancelled, no reason", st, err)
	}
	if got := e.get(r.ID); got.State != (redpacket.State{Status: redpacket.StatusCancelled}) {
		t.Fatalf("state %+v, want cancelled, no reason", got.State)
	}
}

// testClaimInOrder: claims take the pre-split shares in order, each
// recorded with its user, account, index, amount and time.
func testClaimInOrder(t *testing.T, e *env) {
	p := e.open(NewPacket(30, 10, 20))
	var want []redpacket.Claim
	for i, amount := range []int64{30, 10, 20} {
		user, account := uuid.New(), uuid.New()
		at := start.Add(time.Duration(i+1) * time.Second)
		r, err := e.s.Claim(e.ctx, p.ID, user, account, at)
		if err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		c := redpacket.Claim{PacketID: p.ID, User: user, Account: account, Index: i, Amount: ledger.NewMoney(amount, cny), ClaimedAt: at}
		sameClaim(t, r.Claim, c)
		if r.Existing {
			t.Fatalf("claim %d: Existing on a first claim", i)
		}
		wantStatus := redpacket.StatusOpen
		if i == 2 {
			wantStatus = redpacket.StatusSoldOut
		}
		if r.State != (redpacket.State{Status: wantStatus, Claimed: i + 1}) {
			t.Fatalf("claim %d: state %+v", i, r.State)
		}
		want = append(want, c)
	}
	got := e.claims(p.ID)
	if len(got) != len(want) {
		t.Fatalf("Claims: %d, want %d", len(got), len(want))
	}
	for i := range want {
		sameClaim(t, got[i], want[i])
	}
	if st := e.get(p.ID).State; st != (redpacket.State{Status: redpacket.StatusSoldOut, Claimed: 3}) {
		t.Fatalf("state %+v, want sold out with 3 claimed", st)
	}
	_, err := e.claim(&p, uuid.New())
	wantErr(t, "claim a sold-out packet", err, redpacket.ErrSoldOut)
}

func sameClaim(t *testing.T, got, want redpacket.Claim) {
	t.Helper()
	if !got.ClaimedAt.Equal(want.ClaimedAt) {
		t.Fatalf("claim time %v, want %v", got.ClaimedAt, want.ClaimedAt)
	}
	got.ClaimedAt = want.ClaimedAt
	if got != want {
		t.Fatalf("claim:\n got %+v\nwant %+v", got, want)
	}
}

// testClaimOncePerUser: a user's second claim returns the first, with any
// account and at any status, and takes no share.
func testClaimOncePerUser(t *testing.T, e *env) {
	p := e.open(NewPacket(5, 6, 7))
	alice := uuid.New()
	first := e.mustClaim(&p, alice)
	again := e.mustClaim(&p, alice) // another account, later
	if !again.Existing {
		t.Fatal("second claim: Existing false")
	}
	sameClaim(t, again.Claim, first.Claim)
	if again.State.Claimed != 1 {
		t.Fatalf("second claim took a share: %+v", again.State)
	}
	e.mustClaim(&p, uuid.New())
	e.mustClaim(&p, uuid.New()) // sold out now
	// After selling out, and after the expiry, alice still gets her claim.
	r, err := e.s.Claim(e.ctx, p.ID, alice, uuid.New(), p.ExpiresAt.Add(time.Hour))
	if err != nil || !r.Existing {
		t.Fatalf("claim of a sold-out, expired packet by a claimer: %v, existing %v", err, r.Existing)
	}
	sameClaim(t, r.Claim, first.Claim)
	if n := len(e.claims(p.ID)); n != 3 {
		t.Fatalf("%d claims, want 3", n)
	}
}

// testClaimRefusals: funding, cancelled, refunding and refunded packets
// take no claims, each with its own error; nothing is recorded.
func testClaimRefusals(t *testing.T, e *env) {
	funding := e.create(NewPacket(10))
	_, err := e.claim(&funding, uuid.New())
	wantErr(t, "claim a funding packet", err, redpacket.ErrNotFunded)

	cancelled := e.create(NewPacket(10))
	if _, err := e.s.Cancel(e.ctx, cancelled.ID, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.claim(&cancelled, uuid.New())
	wantErr(t, "claim a cancelled packet", err, redpacket.ErrPacketCancelled)

	refunding := e.open(NewPacket(10, 10))
	if _, err := e.s.BeginRefund(e.ctx, refunding.ID, refunding.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	_, err = e.claim(&refunding, uuid.New())
	wantErr(t, "claim a refunding packet", err, redpacket.ErrRefunded)
	if _, err := e.s.FinishRefund(e.ctx, refunding.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.claim(&refunding, uuid.New())
	wantErr(t, "claim a refunded packet", err, redpacket.ErrRefunded)

	for _, p := range []redpacket.Packet{funding, cancelled, refunding} {
		if cs := e.claims(p.ID); len(cs) != 0 {
			t.Fatalf("refused claims were recorded: %v", cs)
		}
		if got := e.get(p.ID); got.Claimed != 0 {
			t.Fatalf("refused claims counted: %+v", got.State)
		}
	}
}

// testClaimAtExpiry: a claim at or after ExpiresAt is refused, one just
// before is not.
func testClaimAtExpiry(t *testing.T, e *env) {
	p := e.open(NewPacket(10, 10))
	_, err := e.s.Claim(e.ctx, p.ID, uuid.New(), uuid.New(), p.ExpiresAt)
	wantErr(t, "claim at ExpiresAt", err, redpacket.ErrExpired)
	_, err = e.s.Claim(e.ctx, p.ID, uuid.New(), uuid.New(), p.ExpiresAt.Add(time.Hour))
	wantErr(t, "claim after ExpiresAt", err, redpacket.ErrExpired)
	if _, err := e.s.Claim(e.ctx, p.ID, uuid.New(), uuid.New(), p.ExpiresAt.Add(-time.Microsecond)); err != nil {
		t.Fatalf("claim 1µs before expiry: %v", err)
	}
	if got := e.get(p.ID); got.Claimed != 1 || got.Status != redpacket.StatusOpen {
		t.Fatalf("state %+v, want open with 1 claimed", got.State)
	}
}

// testMarkPosted: a claim is marked paid once; the packet counts it once.
func testMarkPosted(t *testing.T, e *env) {
	p := e.open(NewPacket(10, 20))
	alice, bob := uuid.New(), uuid.New()
	e.mustClaim(&p, alice)
	e.mustClaim(&p, bob)
	_, err := e.s.MarkPosted(e.ctx, p.ID, uuid.New())
	wantErr(t, "MarkPosted of a non-claimer", err, redpacket.ErrClaimNotFound)
	for range 2 {
		st, err := e.s.MarkPosted(e.ctx, p.ID, bob)
		if err != nil || st.Posted != 1 {
			t.Fatalf("MarkPosted: %+v, %v; want 1 posted", st, err)
		}
	}
	cs := e.claims(p.ID)
	if cs[0].Posted || !cs[1].Posted {
		t.Fatalf("posted flags %v, %v; want false, true", cs[0].Posted, cs[1].Posted)
	}
	r := e.mustClaim(&p, bob)
	if !r.Claim.Posted || !r.Existing {
		t.Fatalf("existing claim read back: %+v", r)
	}
	if st := e.get(p.ID).State; st != (redpacket.State{Status: redpacket.StatusSoldOut, Claimed: 2, Posted: 1}) {
		t.Fatalf("state %+v", st)
	}
}

// testRefund: the refund transition closes the packet for claims and fixes
// the refund at the unclaimed remainder, once.
func testRefund(t *testing.T, e *env) {
	p := e.open(NewPacket(100, 200, 300, 400))
	e.mustClaim(&p, uuid.New())
	e.mustClaim(&p, uuid.New())
	_, err := e.s.BeginRefund(e.ctx, p.ID, p.ExpiresAt.Add(-time.Microsecond))
	wantErr(t, "BeginRefund before expiry", err, redpacket.ErrNotExpired)
	_, err = e.s.FinishRefund(e.ctx, p.ID)
	wantErr(t, "FinishRefund before BeginRefund", err, redpacket.ErrNotRefunding)

	for i := range 3 {
		got, err := e.s.BeginRefund(e.ctx, p.ID, p.ExpiresAt.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatalf("BeginRefund #%d: %v", i+1, err)
		}
		if got.Status != redpacket.StatusRefunding || got.Claimed != 2 {
			t.Fatalf("BeginRefund #%d: state %+v", i+1, got.State)
		}
		if r := got.Refund(); r != ledger.NewMoney(700, cny) {
			t.Fatalf("BeginRefund #%d: refund %v, want 7.00 CNY", i+1, r)
		}
	}
	for i := range 2 {
		st, err := e.s.FinishRefund(e.ctx, p.ID)
		if err != nil || st.Status != redpacket.StatusRefunded {
			t.Fatalf("FinishRefund #%d: %+v, %v", i+1, st, err)
		}
	}
	got := e.get(p.ID)
	if got.Refund() != ledger.NewMoney(700, cny) || got.Claimed != 2 {
		t.Fatalf("after refund: %+v, refund %v", got.State, got.Refund())
	}
	// A refunded packet cannot begin again.
	if again, err := e.s.BeginRefund(e.ctx, p.ID, p.ExpiresAt); err != nil || again.Status != redpacket.StatusRefunded {
		t.Fatalf("BeginRefund of a refunded packet: %v, %v", again.Status, err)
	}
}

// testRefundRefusals: packets that have nothing to refund.
func testRefundRefusals(t *testing.T, e *env) {
	funding := e.create(NewPacket(10))
	_, err := e.s.BeginRefund(e.ctx, funding.ID, funding.ExpiresAt)
	wantErr(t, "BeginRefund of a funding packet", err, redpacket.ErrNotFunded)

	cancelled := e.create(NewPacket(10))
	if _, err := e.s.Cancel(e.ctx, cancelled.ID, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.BeginRefund(e.ctx, cancelled.ID, cancelled.ExpiresAt)
	wantErr(t, "BeginRefund of a cancelled packet", err, redpacket.ErrPacketCancelled)

	sold := e.open(NewPacket(10))
	e.mustClaim(&sold, uuid.New())
	_, err = e.s.BeginRefund(e.ctx, sold.ID, sold.ExpiresAt)
	wantErr(t, "BeginRefund of a sold-out packet", err, redpacket.ErrSoldOut)
	for _, id := range []uuid.UUID{funding.ID, cancelled.ID} {
		_, err = e.s.FinishRefund(e.ctx, id)
		wantErr(t, "FinishRefund", err, redpacket.ErrNotRefunding)
	}
	if got := e.get(sold.ID); got.Status != redpacket.StatusSoldOut {
		t.Fatalf("sold-out packet now %v", got.Status)
	}
}

// testSettle: only a finished packet with every claim paid settles, once.
func testSettle(t *testing.T, e *env) {
	p := e.open(NewPacket(10, 20))
	_, err := e.s.Settle(e.ctx, p.ID)
	wantErr(t, "Settle an open packet", err, redpacket.ErrNotFinished)
	alice, bob := uuid.New(), uuid.New()
	e.mustClaim(&p, alice)
	e.mustClaim(&p, bob)
	if _, err := e.s.MarkPosted(e.ctx, p.ID, alice); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Settle(e.ctx, p.ID)
	wantErr(t, "Settle with a claim unpaid", err, redpacket.ErrNotFinished)
	if _, err := e.s.MarkPosted(e.ctx, p.ID, bob); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		st, err := e.s.Settle(e.ctx, p.ID)
		if err != nil || !st.Settled {
			t.Fatalf("Settle #%d: %+v, %v", i+1, st, err)
		}
	}
	// A refunded packet settles too; a refunding one does not.
	q := e.open(NewPacket(10, 20))
	e.mustClaim(&q, alice)
	if _, err := e.s.MarkPosted(e.ctx, q.ID, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.BeginRefund(e.ctx, q.ID, q.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Settle(e.ctx, q.ID)
	wantErr(t, "Settle a refunding packet", err, redpacket.ErrNotFinished)
	if _, err := e.s.FinishRefund(e.ctx, q.ID); err != nil {
		t.Fatal(err)
	}
	if st, err := e.s.Settle(e.ctx, q.ID); err != nil || !st.Settled {
		t.Fatalf("Settle a refunded packet: %+v, %v", st, err)
	}
}
