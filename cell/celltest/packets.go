package celltest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/redpacket"
)

// send sends a Normal packet of count shares of share each from sender's
// wallet to a new group of sender and members.
func (e *env) send(sender, wallet uuid.UUID, share string, count int, members ...uuid.UUID) redpacket.Packet {
	e.t.Helper()
	group := uuid.New()
	e.members.Add(group, append(members, sender)...)
	p, err := e.pk.Send(e.ctx, redpacket.SendRequest{Key: uuid.NewString(), Kind: redpacket.Normal, Sender: sender, SenderAccount: wallet,
		Group: group, Amount: e.money(share), Count: count})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// claimOf returns user's claim of packet p, sent from cell n, if any.
func (e *env) claimOf(n int, p, user uuid.UUID) (redpacket.Claim, bool) {
	e.t.Helper()
	cs, err := e.pk.Service(e.stores.Names[n]).Store().Claims(e.ctx, p)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range cs {
		if c.User == user {
			return c, true
		}
	}
	return redpacket.Claim{}, false
}

// testPacketAcross: claimers of other cells get their shares in their
// own cells: K identical claims at once, through two instances, take one
// share, forward it once and credit the claimer's wallet once; a claimer
// of the packet's cell claims as on its Service.
func testPacketAcross(t *testing.T, e *env) {
	s, local, f1, f2, late := e.user(0, 0), e.user(0, 1), e.user(1, 0), e.user(2, 0), e.user(1, 1)
	ws, wl, w1, w2, wlate := e.wallet(s, "100.00"), e.wallet(local, ""), e.wallet(f1, ""), e.wallet(f2, ""), e.wallet(late, "")
	p := e.send(s, ws, "3.00", 3, local, f1, f2, late)
	req := cell.ClaimRequest{Packet: p.ID, Sender: s, User: f1, Account: w1}
	got, errs := ledgertest.Concurrently(raceK, func(j int) (cell.PacketClaim, error) { return e.packetInstance(j).Claim(e.ctx, req) })
	for j := range got {
		if errs[j] != nil || got[j].Claim.Amount.Units() != 300 || got[j].Forward.State != cell.StateCompleted ||
			got[j].Forward.ID != e.pk.ForwardID(p.ID, f1) || got[j].Forward.PayeeAccount != w1 || got[j].Claim != got[0].Claim {
			t.Fatalf("claim %d: %+v %v; claim 0: %+v", j, got[j], errs[j], got[0])
		}
	}
	inbound := e.pk.InboundAccountID(e.stores.Names[0], f1, e.cny)
	if got[0].Claim.Account != inbound {
		t.Fatalf("the share was paid to %s, not the inbound account %s", got[0].Claim.Account, inbound)
	}
	e.wantNet(f1, w1, 300)
	e.wantNet(s, inbound, 0)
	e.clock.Advance(time.Minute)
	if again, err := e.pk.Claim(e.ctx, req); err != nil || again.Claim != got[0].Claim || again.Forward != got[0].Forward {
		t.Fatalf("claim again: %+v %v; first %+v", again, err, got[0])
	}
	e.wantNet(f1, w1, 300)
	// A claimer of the packet's cell is paid there, with no forward.
	c, err := e.pk.Claim(e.ctx, cell.ClaimRequest{Packet: p.ID, Sender: s, User: local, Account: wl})
	if err != nil || c.Forward != (cell.Payment{}) || c.Claim.Account != wl {
		t.Fatalf("local claim: %+v %v", c, err)
	}
	if _, err := e.pk.Claim(e.ctx, cell.ClaimRequest{Packet: p.ID, Sender: s, User: f2, Account: w2}); err != nil {
		t.Fatal(err)
	}
	e.wantNet(local, wl, 300)
	e.wantNet(f2, w2, 300)
	e.wantNet(s, ws, 10000-900)
	// Sold out: refused, nothing recorded to forward.
	if _, err := e.pk.Claim(e.ctx, cell.ClaimRequest{Packet: p.ID, Sender: s, User: late, Account: wlate}); !errors.Is(err, redpacket.ErrSoldOut) {
		t.Fatalf("sold out: %v", err)
	}
	// A packet named with another sender is not found.
	if _, err := e.pk.Claim(e.ctx, cell.ClaimRequest{Packet: p.ID, Sender: local, User: late, Account: wlate}); !errors.Is(err, redpacket.ErrPacketNotFound) {
		t.Fatalf("another sender: %v", err)
	}
	if _, err := e.pk.Claim(e.ctx, cell.ClaimRequest{Packet: p.ID, User: late, Account: wlate}); !errors.Is(err, redpacket.ErrInvalidRequest) {
		t.Fatalf("no sender: %v", err)
	}
	if v, err := e.pk.Service(e.stores.Names[0]).View(e.ctx, p.ID); err != nil || !v.Packet.Settled {
		t.Fatalf("packet: %+v %v", v.Packet, err)
	}
	e.wantNet(late, wlate, 0)
	e.check()
}

// testPacketCrash: a process crashes before and after each write of a
// claim across cells (the forward's record, the claim's payment, the
// payment between cells, the forward's end), counting every store's
// writes and the cells' records' alone; then the client retries, or
// Reconcile runs. The claimer's wallet is credited once with the one
// share, nothing stays in the inbound account, and a forward whose
// payment Reconcile abandoned (its hold never placed) is paid again.
func testPacketCrash(t *testing.T, e *env) {
	reattempted := false
	for _, after := range []bool{false, true} {
		for _, retry := range []bool{false, true} {
			for _, recordsOnly := range []bool{false, true} {
				for n := 1; ; n++ {
					s, f := e.user(0, 2), e.user(1, 2)
					ws, wf := e.wallet(s, "5.00"), e.wallet(f, "")
					p := e.send(s, ws, "1.00", 1, f)
					req := cell.ClaimRequest{Packet: p.ID, Sender: s, User: f, Account: wf}
					c := &crasher{n: n, after: after, recordsOnly: recordsOnly}
					_, perr := e.packets(e.cells(c)).Claim(e.ctx, req)
					if !c.crashed() {
						break // the claim took fewer than n writes
					}
					where := fmt.Sprintf("crash %s write %d of %s, then %s", map[bool]string{false: "before", true: "after"}[after], n,
						map[bool]string{false: "every store", true: "the records"}[recordsOnly], map[bool]string{false: "reconcile", true: "retry"}[retry])
					if perr == nil {
						// Only the forward's end was lost: the share is there.
						e.wantNet(f, wf, 100)
					}
					if retry {
						_, _ = e.pk.Claim(e.ctx, req)
					}
					e.clock.Advance(time.Second)
					rep := e.reconcile(e.clock.Now().Add(time.Hour))
					if _, claimed := e.claimOf(0, p.ID, f); !claimed {
						// Crashed before the claim: the forward waits for it
						// while the packet may be claimed.
						want := 1 // the forward, recorded first
						if n == 1 && !after {
							want = 0
						}
						if retry || rep.StillOpen != want {
							t.Fatalf("%s: no claim, forwards %+v", where, rep)
						}
						if _, err := e.pk.Claim(e.ctx, req); err != nil {
							t.Fatalf("%s: claim after: %v", where, err)
						}
					}
					if _, err := e.ledgerOf(f).LookupTransfer(e.ctx, e.c.TransferID(e.pk.ForwardPaymentID(e.pk.ForwardID(p.ID, f), 1), "credit")); err == nil {
						reattempted = true
					}
					e.wantNet(f, wf, 100)
					e.wantNet(s, ws, 400)
					e.wantNet(s, e.pk.InboundAccountID(e.stores.Names[0], f, e.cny), 0)
					e.check()
				}
			}
		}
	}
	if !e.composes(e.user(0, 0)) && !reattempted {
		t.Fatal("no crash left a forward for Reconcile to abandon and pay again")
	}
}

// testPacketRefunds: a packet sold out or expired refuses claims from
// other cells with nothing to forward; an expired packet's remainder is
// refunded within the sender's cell; a claim refused for a wallet that
// cannot be paid takes no share; a forward recorded for a claim refused
// otherwise (not a member) is closed by Reconcile once the packet is.
func testPacketRefunds(t *testing.T, e *env) {
	s, a, b, c, d := e.user(0, 4), e.user(1, 4), e.user(2, 4), e.user(1, 5), e.user(2, 5)
	ws, wa, wb, wc, wd := e.wallet(s, "10.00"), e.wallet(a, ""), e.wallet(b, ""), e.wallet(c, ""), e.wallet(d, "")
	claim := func(p redpacket.Packet, u, w uuid.UUID) error {
		_, err := e.pk.Claim(e.ctx, cell.ClaimRequest{Packet: p.ID, Sender: s, User: u, Account: w})
		return err
	}
	p1 := e.send(s, ws, "1.00", 2, a, b, c)
	if err := errors.Join(claim(p1, a, wa), claim(p1, b, wb)); err != nil {
		t.Fatal(err)
	}
	if err := claim(p1, c, wc); !errors.Is(err, redpacket.ErrSoldOut) {
		t.Fatalf("sold out: %v", err)
	}
	p2 := e.send(s, ws, "1.00", 3, a, b, c)
	if err := claim(p2, a, wa); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ledgerOf(c).Close(e.ctx, wc); err != nil {
		t.Fatal(err)
	}
	if err := claim(p2, c, wc); !errors.Is(err, ledger.ErrAccountClosed) {
		t.Fatalf("closed wallet: %v", err)
	}
	if err := claim(p2, c, uuid.New()); !errors.Is(err, ledger.ErrAccountNotFound) {
		t.Fatalf("no wallet: %v", err)
	}
	if err := claim(p2, d, wd); !errors.Is(err, redpacket.ErrNotMember) {
		t.Fatalf("not a member: %v", err)
	}
	svc := e.pk.Service(e.stores.Names[0])
	if v, err := svc.View(e.ctx, p2.ID); err != nil || len(v.Claims) != 1 {
		t.Fatalf("claims of the second packet: %+v %v", v.Claims, err)
	}
	// Open while the packet may be claimed: d may join the group.
	if rep := e.reconcile(e.clock.Now().Add(time.Hour)); rep.StillOpen != 1 || rep.Closed != 0 {
		t.Fatalf("forwards before expiry: %+v", rep)
	}
	e.clock.Advance(25 * time.Hour)
	if err := claim(p2, b, wb); !errors.Is(err, redpacket.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if n, err := svc.RefundExpired(e.ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("refund: %d %v", n, err)
	}
	if rep := e.reconcile(e.clock.Now().Add(time.Hour)); rep.Closed != 1 || rep.StillOpen != 0 || rep.Forwarded != 0 {
		t.Fatalf("forwards after the refund: %+v", rep)
	}
	e.wantNet(s, ws, 1000-200-100)
	e.wantNet(a, wa, 200)
	e.wantNet(b, wb, 100)
	e.wantNet(d, wd, 0)
	for _, u := range []uuid.UUID{a, b, c, d} {
		acc, err := e.ledgerOf(s).Account(e.ctx, e.pk.InboundAccountID(e.stores.Names[0], u, e.cny))
		if err == nil && acc.Balance.Net() != 0 || err != nil && !errors.Is(err, ledger.ErrAccountNotFound) {
			t.Fatalf("inbound account of %s: %+v %v", u, acc.Balance, err)
		}
	}
	e.check()
}

// testPacketReturned: a claimer's wallet closed after the claim and
// before the forward (a crash between them) makes the claimer's cell
// refuse the share: Reconcile reverses the forward and returns the
// share to the sender, in the sender's cell.
func testPacketReturned(t *testing.T, e *env) {
	s, f := e.user(0, 6), e.user(2, 6)
	ws, wf := e.wallet(s, "5.00"), e.wallet(f, "")
	p := e.send(s, ws, "2.00", 1, f)
	req := cell.ClaimRequest{Packet: p.ID, Sender: s, User: f, Account: wf}
	c := &crasher{n: 2, recordsOnly: true} // the forward's record, then the payment's: crash before it
	if _, err := e.packets(e.cells(c)).Claim(e.ctx, req); err == nil || !c.crashed() {
		t.Fatalf("crashed claim: %v", err)
	}
	if _, claimed := e.claimOf(0, p.ID, f); !claimed {
		t.Fatal("the crash came before the claim")
	}
	if _, err := e.ledgerOf(f).Close(e.ctx, wf); err != nil {
		t.Fatal(err)
	}
	rep := e.reconcile(e.clock.Now().Add(time.Hour))
	if rep.Returned != 1 || rep.Forwarded != 0 || rep.StillOpen != 0 {
		t.Fatalf("reconcile: %+v", rep)
	}
	id := e.pk.ForwardID(p.ID, f)
	if _, err := e.ledgerOf(s).LookupTransfer(e.ctx, e.pk.ReturnTransferID(id)); err != nil {
		t.Fatal(err)
	}
	pay, err := e.c.Payment(e.ctx, s, id)
	if err != nil || pay.State != cell.StateReversed {
		t.Fatalf("forward: %+v %v", pay, err)
	}
	_, err = e.pk.Claim(e.ctx, req)
	if !errors.Is(err, ledger.ErrAccountClosed) {
		t.Fatalf("claim again: %v", err)
	}
	e.wantNet(s, ws, 500)
	e.wantNet(s, e.pk.InboundAccountID(e.stores.Names[0], f, e.cny), 0)
	e.check()
}
