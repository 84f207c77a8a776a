package redpackettest

import (
	"errors"
	"sync"
	"testing"

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
