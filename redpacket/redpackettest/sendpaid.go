package redpackettest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// sendable returns a new packet of the given shares whose sender's wallet
// holds balance, with its escrow account and funding as the Service
// builds them.
func (e *payEnv) sendable(balance int64, shares ...int64) (redpacket.Packet, ledger.Account, ledger.Transfer) {
	e.t.Helper()
	p := NewPacket(shares...)
	p.SenderAccount = e.wallet()
	if balance > 0 {
		bank := e.account(cny, 0)
		if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: p.SenderAccount, Amount: ledger.NewMoney(balance, cny)}); err != nil {
			e.t.Fatalf("fund the sender: %v", err)
		}
	}
	escrow := ledger.Account{ID: p.Escrow, Currency: cny, Code: 7, Flags: ledger.DebitsMustNotExceedCredits}
	fund := ledger.Transfer{ID: ledger.DeriveID(payNS, p.ID.String(), "fund"), DebitAccountID: p.SenderAccount,
		CreditAccountID: p.Escrow, Amount: p.Total, Code: 1}
	return p, escrow, fund
}

func (e *payEnv) sendPaid(p redpacket.Packet, escrow ledger.Account, fund ledger.Transfer) (redpacket.Packet, error) {
	return e.ps.SendPaid(e.ctx, p, escrow, fund, p.CreatedAt)
}

// funding reports whether fund is on the ledger.
func (e *payEnv) funding(fund ledger.Transfer) bool {
	e.t.Helper()
	_, err := e.l.LookupTransfer(e.ctx, fund.ID)
	switch {
	case err == nil:
		return true
	case errors.Is(err, ledger.ErrTransferNotFound):
		return false
	}
	e.t.Fatalf("LookupTransfer: %v", err)
	return false
}

// testSendPaidFunded: a packet is recorded open with its total in a new
// escrow account; sending it again returns it and moves nothing.
func testSendPaidFunded(t *testing.T, e *payEnv) {
	p, escrow, fund := e.sendable(500, 300, 200)
	got, err := e.sendPaid(p, escrow, fund)
	if err != nil || got.ID != p.ID || got.Status != redpacket.StatusOpen || got.Reason != "" || len(got.Shares) != 2 {
		t.Fatalf("SendPaid: %+v, %v; want the packet, open", got.State, err)
	}
	if st := e.get(p.ID).State; st.Status != redpacket.StatusOpen {
		t.Fatalf("stored %+v, want open", st)
	}
	a, err := e.l.Account(e.ctx, p.Escrow)
	if err != nil || a.Code != escrow.Code || a.Flags != escrow.Flags || a.Balance.Net() != 500 || e.net(p.SenderAccount) != 0 || !e.funding(fund) {
		t.Fatalf("ledger: escrow %+v (%v), sender %d, funded %v; want the escrow with 500, sender 0", a, err, e.net(p.SenderAccount), e.funding(fund))
	}
	again, err := e.sendPaid(p, escrow, fund)
	if !errors.Is(err, redpacket.ErrPacketExists) || again.ID != p.ID || again.Status != redpacket.StatusOpen {
		t.Fatalf("SendPaid again: %+v, %v; want the packet, open, with ErrPacketExists", again.State, err)
	}
	if e.net(p.Escrow) != 500 || e.net(p.SenderAccount) != 0 {
		t.Fatalf("after a retry: escrow %d, sender %d; want 500, 0", e.net(p.Escrow), e.net(p.SenderAccount))
	}
	// A packet created before (the other path) is not funded by SendPaid.
	q, qEscrow, qFund := e.sendable(500, 500)
	e.create(q)
	if got, err := e.sendPaid(q, qEscrow, qFund); !errors.Is(err, redpacket.ErrPacketExists) || got.Status != redpacket.StatusFunding || e.funding(qFund) {
		t.Fatalf("SendPaid of a recorded packet: %+v, %v, funded %v; want it as recorded, unfunded", got.State, err, e.funding(qFund))
	}
}

// testSendPaidRefused: funding the ledger refuses records the packet
// cancelled with the refusal's code, moves nothing and leaves no escrow
// account open; sending again answers the same.
func testSendPaidRefused(t *testing.T, e *payEnv) {
	frozen, _, frozenFund := e.sendable(1000, 300)
	if _, err := e.l.Freeze(e.ctx, frozen.SenderAccount); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		balance int64
		reason  string
	}{
		{"insufficient funds", 499, "insufficient_funds"},
		{"frozen wallet", -1, "account_frozen"},
	} {
		p, escrow, fund := e.sendable(tc.balance, 300, 200)
		if tc.balance < 0 {
			p, fund = frozen, frozenFund
			escrow.ID = p.Escrow
		}
		before := e.net(p.SenderAccount)
		got, err := e.sendPaid(p, escrow, fund)
		if err != nil || got.Status != redpacket.StatusCancelled || got.Reason != tc.reason {
			t.Fatalf("%s: SendPaid: %+v, %v; want cancelled because %s", tc.name, got.State, err, tc.reason)
		}
		if st := e.get(p.ID).State; st.Status != redpacket.StatusCancelled || st.Reason != tc.reason {
			t.Fatalf("%s: stored %+v, want cancelled because %s", tc.name, st, tc.reason)
		}
		if a, err := e.l.Account(e.ctx, p.Escrow); err == nil && a.Status != ledger.AccountClosed {
			t.Fatalf("%s: escrow account left %v", tc.name, a.Status)
		}
		if e.funding(fund) || e.net(p.SenderAccount) != before {
			t.Fatalf("%s: money moved: funded %v, sender %d, want %d", tc.name, e.funding(fund), e.net(p.SenderAccount), before)
		}
		again, err := e.sendPaid(p, escrow, fund)
		if !errors.Is(err, redpacket.ErrPacketExists) || again.Status != redpacket.StatusCancelled || again.Reason != tc.reason {
			t.Fatalf("%s: SendPaid again: %+v, %v", tc.name, again.State, err)
		}
	}
}

// testSendPaidConcurrent: raceK identical sends at once with exactly the
// total in the sender's wallet: one records and funds the packet, every
// other gets it with ErrPacketExists, and the money moves once.
func testSendPaidConcurrent(t *testing.T, e *payEnv) {
	for range 10 {
		p, escrow, fund := e.sendable(500, 250, 250)
		var wg sync.WaitGroup
		results := make([]redpacket.Packet, 2*raceK)
		errs := make([]error, 2*raceK)
		start := make(chan struct{})
		for i := range results {
			wg.Go(func() {
				<-start
				results[i], errs[i] = e.sendPaid(p, escrow, fund)
			})
		}
		close(start)
		wg.Wait()
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, redpacket.ErrPacketExists):
				t.Fatalf("send %d: %v", i, err)
			}
			if results[i].ID != p.ID || (err == nil && results[i].Status != redpacket.StatusOpen) {
				t.Fatalf("send %d: %+v, %v", i, results[i].State, err)
			}
		}
		if created != 1 || e.net(p.Escrow) != 500 || e.net(p.SenderAccount) != 0 || e.get(p.ID).Status != redpacket.StatusOpen {
			t.Fatalf("%d sends created the packet (want 1); escrow %d, sender %d", created, e.net(p.Escrow), e.net(p.SenderAccount))
		}
	}
}

// refundable returns an open packet of the given shares whose escrow
// holds its total and whose sender's wallet is on the ledger.
func (e *payEnv) refundable(shares ...int64) redpacket.Packet {
	e.t.Helper()
	p := NewPacket(shares...)
	p.SenderAccount = e.wallet()
	p.Escrow = e.account(cny, ledger.DebitsMustNotExceedCredits)
	bank := e.account(cny, 0)
	if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: p.Escrow, Amount: p.Total}); err != nil {
		e.t.Fatalf("fund escrow: %v", err)
	}
	return e.open(p)
}

func refundTransfer(p redpacket.Packet) ledger.Transfer {
	return ledger.Transfer{ID: ledger.DeriveID(payNS, p.ID.String(), "refund"), DebitAccountID: p.Escrow,
		CreditAccountID: p.SenderAccount, Amount: p.RemainingAmount(), Code: 3}
}

func (e *payEnv) refundPaid(p *redpacket.Packet) (redpacket.Packet, error) {
	return e.ps.RefundPaid(e.ctx, p.ID, p.ExpiresAt, p.ExpiresAt, refundTransfer)
}

// testRefundPaid: an expired packet's remainder goes back to the sender
// with the packet recorded refunded, once; a packet not expired or sold
// out is refused with nothing moved.
func testRefundPaid(t *testing.T, e *payEnv) {
	p := e.refundable(300, 200, 100)
	if _, err := e.ps.RefundPaid(e.ctx, p.ID, p.ExpiresAt.Add(-time.Second), p.ExpiresAt, refundTransfer); !errors.Is(err, redpacket.ErrNotExpired) {
		t.Fatalf("RefundPaid before expiry: %v, want ErrNotExpired", err)
	}
	if _, err := e.claimPaid(&p, uuid.New(), e.wallet()); err != nil {
		t.Fatal(err)
	}
	got, err := e.refundPaid(&p)
	if err != nil || got.Status != redpacket.StatusRefunded || got.Claimed != 1 || got.Posted != 1 {
		t.Fatalf("RefundPaid: %+v, %v; want refunded", got.State, err)
	}
	if st := e.get(p.ID).State; st.Status != redpacket.StatusRefunded {
		t.Fatalf("stored %+v, want refunded", st)
	}
	if e.net(p.SenderAccount) != 300 || e.net(p.Escrow) != 0 {
		t.Fatalf("ledger: sender %d, escrow %d; want 300, 0", e.net(p.SenderAccount), e.net(p.Escrow))
	}
	if again, err := e.refundPaid(&p); err != nil || again.Status != redpacket.StatusRefunded || e.net(p.SenderAccount) != 300 {
		t.Fatalf("RefundPaid again: %+v, %v, sender %d", again.State, err, e.net(p.SenderAccount))
	}
	if _, err := e.claimPaid(&p, uuid.New(), e.wallet()); !errors.Is(err, redpacket.ErrRefunded) {
		t.Fatalf("claim after the refund: %v, want ErrRefunded", err)
	}
	sold := e.refundable(100)
	if _, err := e.claimPaid(&sold, uuid.New(), e.wallet()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.refundPaid(&sold); !errors.Is(err, redpacket.ErrSoldOut) {
		t.Fatalf("RefundPaid of a sold-out packet: %v, want ErrSoldOut", err)
	}
}

// testRefundPaidRefused: a refund the ledger refuses (the sender's wallet
// closed) moves nothing; the packet is closed for claims, refunding, its
// remainder still in escrow.
func testRefundPaidRefused(t *testing.T, e *payEnv) {
	p := e.refundable(300, 200)
	if _, err := e.l.Close(e.ctx, p.SenderAccount); err != nil {
		t.Fatal(err)
	}
	got, err := e.refundPaid(&p)
	if !ledger.Refused(err) || !errors.Is(err, ledger.ErrAccountClosed) || got.Status != redpacket.StatusRefunding {
		t.Fatalf("RefundPaid to a closed wallet: %+v, %v; want refunding with the refusal", got.State, err)
	}
	if st := e.get(p.ID).State; st.Status != redpacket.StatusRefunding || e.net(p.Escrow) != 500 {
		t.Fatalf("stored %+v, escrow %d; want refunding, 500", st, e.net(p.Escrow))
	}
	if _, err := e.claimPaid(&p, uuid.New(), e.wallet()); !errors.Is(err, redpacket.ErrRefunded) {
		t.Fatalf("claim of a refunding packet: %v, want ErrRefunded", err)
	}
}

// testRefundPaidConcurrent: sweepers refunding one packet at once agree:
// every call answers refunded, and the remainder moves once.
func testRefundPaidConcurrent(t *testing.T, e *payEnv) {
	for range 10 {
		p := e.refundable(250, 250)
		var wg sync.WaitGroup
		errs := make([]error, 2*raceK)
		states := make([]redpacket.State, 2*raceK)
		start := make(chan struct{})
		for i := range errs {
			wg.Go(func() {
				<-start
				got, err := e.refundPaid(&p)
				states[i], errs[i] = got.State, err
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil || states[i].Status != redpacket.StatusRefunded {
				t.Fatalf("refund %d: %+v, %v", i, states[i], err)
			}
		}
		if e.net(p.SenderAccount) != 500 || e.net(p.Escrow) != 0 {
			t.Fatalf("sender %d, escrow %d; want 500, 0", e.net(p.SenderAccount), e.net(p.Escrow))
		}
	}
}

// testClaimPaidSettles: the claim that completes a packet closes its
// escrow account at zero and records the packet settled, in its own step;
// the claims before it do not.
func testClaimPaidSettles(t *testing.T, e *payEnv) {
	p := e.funded(300, 200)
	first, err := e.claimPaid(&p, uuid.New(), e.wallet())
	if err != nil || first.State.Settled {
		t.Fatalf("first claim: %+v, %v; want it unsettled", first.State, err)
	}
	last, err := e.claimPaid(&p, uuid.New(), e.wallet())
	if err != nil || last.State.Status != redpacket.StatusSoldOut || !last.State.Settled {
		t.Fatalf("last claim: %+v, %v; want sold out and settled", last.State, err)
	}
	if st := e.get(p.ID).State; !st.Settled || st.Posted != 2 {
		t.Fatalf("stored %+v, want settled with 2 claims paid", st)
	}
	a, err := e.l.Account(e.ctx, p.Escrow)
	if err != nil || a.Status != ledger.AccountClosed || !a.Balance.IsZero() {
		t.Fatalf("escrow %+v, %v; want closed at zero", a, err)
	}
	if again, err := e.claimPaid(&p, last.Claim.User, last.Claim.Account); err != nil || !again.Existing || !again.State.Settled {
		t.Fatalf("last claim again: %+v, %v", again, err)
	}
}
