package redpacket_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// TestIdempotencyIdentity: a send's identity is its meaning. Retries
// written differently but meaning the same (a phrase spaced or composed
// otherwise, an amount parsed from another spelling) are the same request
// and pay once; another meaning under the same packet ID is a
// *ConflictError naming what differs, matching ErrPacketConflict and
// ledger.ErrIdempotencyConflict. A claim's identity is (packet, user): a
// retry with another wallet gets the one claim, paid to the first wallet.
func TestIdempotencyIdentity(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		w := newWorld(t, inMode(m))
		sender := w.newUser(100000)
		ms := w.users(5, 0)
		amount, err := ledger.ParseMoney("10.00", "CNY")
		if err != nil {
			t.Fatal(err)
		}
		req := redpacket.SendRequest{Key: uuid.NewString(), Kind: redpacket.Password, Sender: sender.id, SenderAccount: sender.wallet,
			Group: w.group, Amount: amount, Count: 4, Password: "恭喜  发财"}
		p := w.send(req)
		same := req
		same.Password = " 恭喜 发财\u3000" // ideographic space: NFKC makes it a space, then trimmed
		if same.Amount, err = ledger.ParseMoney("10", "CNY"); err != nil {
			t.Fatal(err)
		}
		again, err := w.svc.Send(w.ctx, same)
		if err != nil || again.ID != p.ID || w.stored(p.ID).Shares[0] != p.Shares[0] {
			t.Fatalf("a retry meaning the same: %+v, %v; want the packet", again, err)
		}
		if got := w.balance(sender.wallet); got != 100000-1000 {
			t.Fatalf("sender has %d, want one packet paid", got)
		}
		luckyReq := w.lucky(sender, 1000, 4)
		w.send(luckyReq)
		for _, tc := range []struct {
			field string
			base  redpacket.SendRequest
			f     func(*redpacket.SendRequest)
		}{
			{"kind", req, func(r *redpacket.SendRequest) { r.Kind = redpacket.Lucky; r.Password = "" }},
			{"sender", req, func(r *redpacket.SendRequest) { r.SenderAccount = ms[0].wallet }},
			{"recipients", req, func(r *redpacket.SendRequest) { r.Group = uuid.New() }},
			{"amount", req, func(r *redpacket.SendRequest) { r.Amount = fen(1001) }},
			{"count", req, func(r *redpacket.SendRequest) { r.Count = 5 }},
			{"password", req, func(r *redpacket.SendRequest) { r.Password = "恭喜发财" }},
			{"password", luckyReq, func(r *redpacket.SendRequest) { r.Password = "x" }},
		} {
			r := tc.base
			f := tc.f
			f(&r)
			_, err := w.svc.Send(w.ctx, r)
			var ce *redpacket.ConflictError
			if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, redpacket.ErrPacketConflict) || !errors.Is(err, ledger.ErrIdempotencyConflict) {
				t.Errorf("%s differs: Send = %v, want a *ConflictError on %s", tc.field, err, tc.field)
			}
		}

		// Claims: (packet, user).
		c, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: ms[1].id, Account: ms[1].wallet, Password: "恭喜 发财"})
		if err != nil {
			t.Fatal(err)
		}
		retry, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: ms[1].id, Account: ms[2].wallet, Password: "恭喜　发财"})
		if err != nil || retry.Index != c.Index || retry.Account != ms[1].wallet || retry.Amount != c.Amount {
			t.Fatalf("a claim retried with another wallet: %+v, %v; want the claim %+v", retry, err, c)
		}
		w.flush()
		if got, other := w.balance(ms[1].wallet), w.balance(ms[2].wallet); got != c.Amount.Units() || other != 0 {
			t.Fatalf("wallets %d and %d; want the share paid once, to the first", got, other)
		}
		w.verify()
	})
}
