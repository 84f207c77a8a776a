package redpacket_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

func TestSendAndClaim(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		w := newWorld(t, inMode(m))
		sender := w.newUser(50000)
		members := w.users(11, 0)
		p := w.send(w.lucky(sender, 10000, 10))
		if p.Status != redpacket.StatusOpen || p.Total != fen(10000) || p.Count != 10 || len(p.Shares) != 10 {
			t.Fatalf("sent packet %+v", p)
		}
		if got := w.balance(sender.wallet); got != 40000 {
			t.Fatalf("sender has %d after sending 100.00 of 500.00", got)
		}
		esc := w.account(p.Escrow)
		if esc.Balance.Net() != 10000 || !esc.Flags.Has(ledger.DebitsMustNotExceedCredits) || esc.ID != w.svc.EscrowAccountID(p.ID) {
			t.Fatalf("escrow account %+v", esc)
		}
		var sum int64
		for i, m := range members[:10] {
			c := w.mustClaim(p.ID, m)
			if c.Index != i || c.Amount.Units() != p.Shares[i] || !c.Posted || c.User != m.id || c.Account != m.wallet {
				t.Fatalf("claim %d: %+v (share %d)", i, c, p.Shares[i])
			}
			if got := w.balance(m.wallet); got != c.Amount.Units() {
				t.Fatalf("member %d has %d, claimed %v", i, got, c.Amount)
			}
			sum += c.Amount.Units()
		}
		if sum != 10000 {
			t.Fatalf("claims sum to %d", sum)
		}
		_, err := w.claim(p.ID, members[10])
		if !errors.Is(err, redpacket.ErrSoldOut) {
			t.Fatalf("11th claim: %v, want ErrSoldOut", err)
		}
		w.checkFinished(p.ID)
	})
}

func TestNew(t *testing.T) {
	l := ledger.New(nil, ledger.Options{})
	m := &redpacket.MemoryMembers{}
	bad := redpacket.DefaultRules()
	bad.MaxCount = 0
	for name, cfg := range map[string]redpacket.Config{
		"no ledger":  {Members: m},
		"no members": {Ledger: l},
		"bad rules":  {Ledger: l, Members: m, Rules: map[ledger.Currency]redpacket.Rules{cny: bad}, SingleProcess: true},
	} {
		if _, err := redpacket.New(cfg); !errors.Is(err, redpacket.ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want ErrInvalidConfig", name, err)
		}
	}
	if _, err := redpacket.New(redpacket.Config{Ledger: l, Members: m, Rules: map[ledger.Currency]redpacket.Rules{cny: bad}, SingleProcess: true}); !errors.Is(err, redpacket.ErrInvalidRules) {
		t.Errorf("bad rules: %v, want it to match ErrInvalidRules", err)
	}
	s, err := redpacket.New(redpacket.Config{Ledger: l, Members: m, Store: redpacket.NewMemoryStore(l), PasswordKey: testPasswordKey})
	if err != nil {
		t.Fatal(err)
	}
	// Derived IDs are stable: the same key in the default namespace, always.
	id := uuid.MustParse("6f1c8a34-9d4e-4c1b-8f5e-2a7b3c9d0e1f")
	if s.FundTransferID(id) != ledger.DeriveID(redpacket.DefaultNamespace(), "redpacket", id.String(), "fund") {
		t.Error("FundTransferID is not DeriveID(DefaultNamespace, redpacket, id, fund)")
	}
	user := uuid.MustParse("0b7f5a52-3c1e-4d8a-9e6f-7a2b1c3d4e5f")
	if s.ClaimTransferID(id, user) != ledger.DeriveID(redpacket.DefaultNamespace(), "redpacket", id.String(), "claim", user.String()) {
		t.Error("ClaimTransferID is not DeriveID(DefaultNamespace, redpacket, id, claim, user)")
	}
	ids := map[uuid.UUID]string{}
	for name, x := range map[string]uuid.UUID{
		"escrow": s.EscrowAccountID(id), "fund": s.FundTransferID(id), "refund": s.RefundTransferID(id),
		"claim a": s.ClaimTransferID(id, uuid.Nil), "claim b": s.ClaimTransferID(id, id),
		"return a": s.ReturnTransferID(id, uuid.Nil), "return b": s.ReturnTransferID(id, id),
	} {
		if other, dup := ids[x]; dup {
			t.Errorf("%s and %s derive the same ID", name, other)
		}
		ids[x] = name
	}
}

// TestSendChecks: every refusal of Send, in order, each with its own
// error; nothing is recorded and no money moves.
func TestSendChecks(t *testing.T) {
	w := newWorld(t)
	sender := w.newUser(1000000)
	others := w.users(11, 0) // a group of 12
	outsider := user{id: uuid.New(), wallet: w.wallet(cny, 0)}
	jpy := ledger.MustCurrency("JPY")
	mod := func(f func(*redpacket.SendRequest)) redpacket.SendRequest {
		r := w.lucky(sender, 10000, 10)
		f(&r)
		return r
	}
	tests := []struct {
		name string
		req  redpacket.SendRequest
		want error
	}{
		{"unknown kind", mod(func(r *redpacket.SendRequest) { r.Kind = 0; r.Count = 0 }), redpacket.ErrUnknownKind},
		{"no sender", mod(func(r *redpacket.SendRequest) { r.Sender = uuid.Nil; r.Count = 0 }), redpacket.ErrInvalidRequest},
		{"no wallet", mod(func(r *redpacket.SendRequest) { r.SenderAccount = uuid.Nil }), redpacket.ErrInvalidRequest},
		{"currency without rules", mod(func(r *redpacket.SendRequest) { r.Amount = ledger.NewMoney(100, jpy); r.Count = 0 }), redpacket.ErrUnsupportedCurrency},
		{"password on a lucky packet", mod(func(r *redpacket.SendRequest) { r.Password = "hi" }), redpacket.ErrInvalidRequest},
		{"password packet without a phrase", mod(func(r *redpacket.SendRequest) { r.Kind = redpacket.Password; r.Password = " \u3000 " }), redpacket.ErrBadPassword},
		{"recipient on a lucky group packet", mod(func(r *redpacket.SendRequest) { r.Recipient = outsider.id }), redpacket.ErrInvalidRequest},
		{"exclusive without recipient", mod(func(r *redpacket.SendRequest) { r.Kind = redpacket.Exclusive; r.Count = 1 }), redpacket.ErrInvalidRequest},
		{"to oneself", mod(func(r *redpacket.SendRequest) { r.Group = uuid.Nil; r.Recipient = sender.id; r.Count = 1 }), redpacket.ErrInvalidRequest},
		{"to one friend without recipient", mod(func(r *redpacket.SendRequest) { r.Group = uuid.Nil; r.Count = 1 }), redpacket.ErrInvalidRequest},
		{"sender not in the group", mod(func(r *redpacket.SendRequest) { r.Sender = outsider.id; r.Count = 0 }), redpacket.ErrNotMember},
		{"exclusive for an outsider", mod(func(r *redpacket.SendRequest) {
			r.Kind, r.Recipient, r.Count = redpacket.Exclusive, outsider.id, 1
		}), redpacket.ErrNotMember},
		// Rules.Check, in order; each request also breaks every later rule.
		{"count 0", mod(func(r *redpacket.SendRequest) { r.Count = 0; r.Amount = fen(0) }), redpacket.ErrNoShares},
		{"count 101", mod(func(r *redpacket.SendRequest) { r.Count = 101; r.Amount = fen(1) }), redpacket.ErrTooManyShares},
		{"0.10 into 15 shares", mod(func(r *redpacket.SendRequest) { r.Count = 15; r.Amount = fen(10) }), redpacket.ErrShareTooSmall},
		{"2000.01 into 10 shares", mod(func(r *redpacket.SendRequest) { r.Amount = fen(200001) }), redpacket.ErrShareTooLarge},
		{"13 shares for 12 members", mod(func(r *redpacket.SendRequest) { r.Count = 13; r.Amount = fen(20000000) }), redpacket.ErrShareTooLarge},
		{"13 shares for 12 members, affordable", mod(func(r *redpacket.SendRequest) { r.Count = 13; r.Amount = fen(13000) }), redpacket.ErrCountExceedsGroup},
		{"normal share too large", mod(func(r *redpacket.SendRequest) { r.Kind = redpacket.Normal; r.Amount = fen(20001) }), redpacket.ErrShareTooLarge},
		{"exclusive with 2 shares", mod(func(r *redpacket.SendRequest) {
			r.Kind, r.Recipient, r.Count = redpacket.Exclusive, others[0].id, 2
		}), redpacket.ErrTooManyShares},
	}
	for _, tt := range tests {
		_, err := w.svc.Send(w.ctx, tt.req)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Send = %v, want %v", tt.name, err, tt.want)
		}
		if _, err := w.store.Packet(w.ctx, w.packetID(tt.req)); !errors.Is(err, redpacket.ErrPacketNotFound) {
			t.Errorf("%s: a refused packet was recorded", tt.name)
		}
	}
	if got := w.balance(sender.wallet); got != 1000000 {
		t.Fatalf("sender has %d after refused sends", got)
	}
	w.verify()
}

// TestSendInsufficientFunds: the sender's funds are the last check, the
// ledger's; the packet is cancelled, its escrow closed empty, its ID burnt.
func TestSendInsufficientFunds(t *testing.T) {
	w := newWorld(t)
	sender := w.newUser(9999)
	w.users(11, 0)
	req := w.lucky(sender, 10000, 10)
	p, err := w.svc.Send(w.ctx, req)
	if !errors.Is(err, ledger.ErrInsufficientFunds) || !errors.Is(err, redpacket.ErrPacketCancelled) {
		t.Fatalf("Send = %v, want ErrInsufficientFunds and ErrPacketCancelled", err)
	}
	if p.Status != redpacket.StatusCancelled {
		t.Fatalf("status %v, want cancelled", p.Status)
	}
	esc := w.account(w.svc.EscrowAccountID(w.packetID(req)))
	if esc.Status != ledger.AccountClosed || !esc.Balance.IsZero() {
		t.Fatalf("escrow %+v, want closed and empty", esc)
	}
	// Topping up and retrying the same ID does not revive it.
	if _, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: sender.wallet, Amount: fen(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Send(w.ctx, req); !errors.Is(err, redpacket.ErrPacketCancelled) {
		t.Fatalf("retry = %v, want ErrPacketCancelled", err)
	}
	if got := w.balance(sender.wallet); got != 10000 {
		t.Fatalf("sender has %d, want 10000 (nothing taken)", got)
	}
	// A new ID goes through.
	req.Key = uuid.NewString()
	w.send(req)
	if got := w.balance(sender.wallet); got != 0 {
		t.Fatalf("sender has %d after sending everything", got)
	}
	// A claim on the cancelled packet.
	if _, err := w.claim(p.ID, w.newUser(0)); !errors.Is(err, redpacket.ErrPacketCancelled) {
		t.Fatalf("claim of a cancelled packet = %v", err)
	}
	w.verify()
}

// TestSendIdempotent: the same request again, also from many goroutines at
// once, returns the one packet and pays once; other content under the same
// ID is a conflict.
func TestSendIdempotent(t *testing.T) {
	w := newWorld(t)
	sender := w.newUser(100000)
	w.users(11, 0)
	req := w.lucky(sender, 10000, 10)
	const retries = 20
	ps := make([]redpacket.Packet, retries)
	errs := make([]error, retries)
	var wg sync.WaitGroup
	for i := range retries {
		wg.Go(func() { ps[i], errs[i] = w.svc.Send(w.ctx, req) })
	}
	wg.Wait()
	for i := range retries {
		if errs[i] != nil {
			t.Fatalf("send %d: %v", i, errs[i])
		}
		if ps[i].ID != w.packetID(req) || ps[i].Status != redpacket.StatusOpen || ps[i].Shares != nil || ps[i].ExpiresAt != ps[0].ExpiresAt {
			t.Fatalf("send %d returned %+v", i, ps[i])
		}
	}
	if got := w.balance(sender.wallet); got != 90000 {
		t.Fatalf("sender has %d, want 90000: paid more than once", got)
	}
	for name, f := range map[string]func(*redpacket.SendRequest){
		"amount":   func(r *redpacket.SendRequest) { r.Amount = fen(10001) },
		"count":    func(r *redpacket.SendRequest) { r.Count = 9 },
		"kind":     func(r *redpacket.SendRequest) { r.Kind = redpacket.Normal; r.Amount = fen(1000) },
		"sender":   func(r *redpacket.SendRequest) { r.SenderAccount = uuid.New() },
		"group":    func(r *redpacket.SendRequest) { r.Group = uuid.New() },
		"password": func(r *redpacket.SendRequest) { r.Kind = redpacket.Password; r.Password = "x" },
	} {
		r := req
		f(&r)
		if _, err := w.svc.Send(w.ctx, r); !errors.Is(err, redpacket.ErrPacketConflict) {
			t.Errorf("%s differs: Send = %v, want ErrPacketConflict", name, err)
		}
	}
	// A normal packet's retry compares the total (per-share × count).
	n := w.lucky(sender, 500, 4)
	n.Kind = redpacket.Normal
	first := w.send(n)
	again := w.send(n)
	if first.Total != fen(2000) || again.ID != first.ID {
		t.Fatalf("normal packet: %v, retry %v", first.Total, again.ID)
	}
	if got := w.balance(sender.wallet); got != 88000 {
		t.Fatalf("sender has %d, want 88000", got)
	}
	w.verify()
}

// TestClaimEligibility: each reason a user may not claim, with its error,
// checked before anything is recorded or paid.
func TestClaimEligibility(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		rules := redpacket.DefaultRules()
		rules.SenderMayGrab = false
		w := newWorld(t, inMode(m), withRules(rules))
		sender := w.newUser(100000)
		ms := w.users(5, 0)
		outsider := user{id: uuid.New(), wallet: w.wallet(cny, 0)}

		group := w.send(w.lucky(sender, 1000, 4))
		_, err := w.claim(group.ID, outsider)
		wantIs(t, "outsider", err, redpacket.ErrNotMember)
		_, err = w.claim(group.ID, sender)
		wantIs(t, "sender, rules say no", err, redpacket.ErrSenderCannotGrab)
		_, err = w.claim(uuid.New(), ms[0])
		wantIs(t, "unknown packet", err, redpacket.ErrPacketNotFound)
		_, err = w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: group.ID, User: ms[0].id})
		wantIs(t, "no wallet", err, redpacket.ErrInvalidRequest)

		// The claimer's wallet must be able to take the share.
		jpyWallet := w.wallet(ledger.MustCurrency("JPY"), 0)
		_, err = w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: group.ID, User: ms[0].id, Account: jpyWallet})
		wantIs(t, "wallet in another currency", err, ledger.ErrCurrencyMismatch)
		_, err = w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: group.ID, User: ms[0].id, Account: uuid.New()})
		wantIs(t, "no such wallet", err, ledger.ErrAccountNotFound)
		if _, err := w.l.Freeze(w.ctx, ms[1].wallet); err != nil {
			t.Fatal(err)
		}
		_, err = w.claim(group.ID, ms[1])
		wantIs(t, "frozen wallet", err, ledger.ErrAccountFrozen)
		if _, err := w.l.Unfreeze(w.ctx, ms[1].wallet); err != nil {
			t.Fatal(err)
		}
		if p := w.packet(group.ID); p.Claimed != 0 {
			t.Fatalf("refused claims recorded: %+v", p.State)
		}
		w.mustClaim(group.ID, ms[1])

		// A member who left cannot claim.
		w.members.Remove(w.group, ms[4].id)
		_, err = w.claim(group.ID, ms[4])
		wantIs(t, "member who left", err, redpacket.ErrNotMember)

		// Exclusive: only the named member.
		excl := w.lucky(sender, 888, 1)
		excl.Kind, excl.Recipient = redpacket.Exclusive, ms[2].id
		xp := w.send(excl)
		_, err = w.claim(xp.ID, ms[3])
		wantIs(t, "exclusive, another member", err, redpacket.ErrNotRecipient)
		if c := w.mustClaim(xp.ID, ms[2]); c.Amount != fen(888) {
			t.Fatalf("exclusive claim %v", c.Amount)
		}
		w.checkFinished(xp.ID)

		// One-to-one: only the friend; not even the sender (whatever the rules).
		direct := redpacket.SendRequest{Key: uuid.NewString(), Kind: redpacket.Normal, Sender: sender.id, SenderAccount: sender.wallet, Recipient: outsider.id, Amount: fen(520), Count: 1}
		dp := w.send(direct)
		_, err = w.claim(dp.ID, ms[0])
		wantIs(t, "one-to-one, someone else", err, redpacket.ErrNotRecipient)
		_, err = w.claim(dp.ID, sender)
		wantIs(t, "one-to-one, the sender", err, redpacket.ErrNotRecipient)
		w.mustClaim(dp.ID, outsider)
		w.checkFinished(dp.ID)

		// Password: compared after normalization.
		pw := w.lucky(sender, 1000, 2)
		pw.Kind, pw.Password = redpacket.Password, "恭喜发财，大吉大利"
		pp := w.send(pw)
		_, err = w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: pp.ID, User: ms[0].id, Account: ms[0].wallet, Password: "恭喜发财"})
		wantIs(t, "wrong password", err, redpacket.ErrWrongPassword)
		_, err = w.claim(pp.ID, ms[0])
		wantIs(t, "no password", err, redpacket.ErrWrongPassword)
		if _, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: pp.ID, User: ms[0].id, Account: ms[0].wallet, Password: " 恭喜发财,大吉大利 "}); err != nil {
			t.Fatalf("right password, typed differently: %v", err)
		}
		w.verify()
	})
}

func wantIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

// TestSenderMayGrab: with the default rules the sender may grab a share of
// their own group packet; the group size then counts the sender.
func TestSenderMayGrab(t *testing.T) {
	w := newWorld(t)
	sender := w.newUser(10000)
	m := w.newUser(0)
	p := w.send(w.lucky(sender, 200, 2)) // two members, two shares
	a := w.mustClaim(p.ID, sender)
	b := w.mustClaim(p.ID, m)
	if a.Amount.Units()+b.Amount.Units() != 200 {
		t.Fatal("shares do not add up")
	}
	w.checkFinished(p.ID)

	rules := redpacket.DefaultRules()
	rules.SenderMayGrab = false
	w2 := newWorld(t, withRules(rules))
	s2 := w2.newUser(10000)
	w2.newUser(0)
	_, err := w2.svc.Send(w2.ctx, w2.lucky(s2, 200, 2))
	wantIs(t, "two shares, one other member", err, redpacket.ErrCountExceedsGroup)
}

// TestClaimAgain: a second grab returns the same claim and pays nothing
// more, before and after the packet sells out.
func TestClaimAgain(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		w := newWorld(t, inMode(m))
		sender := w.newUser(10000)
		ms := w.users(3, 0)
		p := w.send(w.lucky(sender, 300, 3))
		first := w.mustClaim(p.ID, ms[0])
		for range 3 {
			again := w.mustClaim(p.ID, ms[0])
			if again != first {
				t.Fatalf("second grab %+v, first %+v", again, first)
			}
		}
		w.mustClaim(p.ID, ms[1])
		w.mustClaim(p.ID, ms[2])
		for _, s := range []*redpacket.Service{w.svc, newService(t, w)} { // this process (cached) and another
			if again, err := s.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: ms[0].id, Account: ms[0].wallet}); err != nil || again != first {
				t.Fatalf("grab after sold out: %+v, %v; want %+v", again, err, first)
			}
		}
		if got := w.balance(ms[0].wallet); got != first.Amount.Units() {
			t.Fatalf("claimer has %d, claimed %v", got, first.Amount)
		}
		w.checkFinished(p.ID)
	})
}

// newService returns another Service on w's stores, as another process.
func newService(t *testing.T, w *world) *redpacket.Service {
	t.Helper()
	s, err := redpacket.New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestView: claims, what is left, best luck once fully claimed, and no
// unclaimed share or password leaked.
func TestView(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		w := newWorld(t, inMode(m))
		sender := w.newUser(10000)
		ms := w.users(4, 0)
		req := w.lucky(sender, 1000, 4)
		req.Kind, req.Password = redpacket.Password, "新年快乐"
		p := w.send(req)
		claim := func(u user) redpacket.Claim {
			c, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: u.id, Account: u.wallet, Password: "新年快乐"})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		var claims []redpacket.Claim
		for _, u := range ms[:3] {
			claims = append(claims, claim(u))
			w.clock.Advance(time.Second)
		}
		w.flush() // the claims' background marks
		v, err := w.svc.View(w.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		left := p.Shares[3]
		if v.Remaining != 1 || v.RemainingAmount != fen(left) || v.BestLuck != -1 || len(v.Claims) != 3 || v.Packet.Status != redpacket.StatusOpen {
			t.Fatalf("view after 3 of 4: %+v", v)
		}
		if v.Packet.Shares != nil || v.Packet.PasswordHash != nil {
			t.Fatalf("view leaks shares %v or password hash %x", v.Packet.Shares, v.Packet.PasswordHash)
		}
		for i := range claims {
			if v.Claims[i] != claims[i] {
				t.Fatalf("view claim %d: %+v, want %+v", i, v.Claims[i], claims[i])
			}
		}
		claims = append(claims, claim(ms[3]))
		w.flush()
		v, err = w.svc.View(w.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		amounts := make([]int64, len(claims))
		for i, c := range claims {
			amounts[i] = c.Amount.Units()
		}
		best := 0
		for i, a := range amounts { // largest, ties to the earliest
			if a > amounts[best] {
				best = i
			}
		}
		if v.BestLuck != best || v.Remaining != 0 || !v.RemainingAmount.IsZero() || v.Packet.Status != redpacket.StatusSoldOut {
			t.Fatalf("view when sold out: best %d (want %d), %+v", v.BestLuck, best, v)
		}
		if _, err := w.svc.View(w.ctx, uuid.New()); !errors.Is(err, redpacket.ErrPacketNotFound) {
			t.Fatalf("View of an unknown packet: %v", err)
		}
	})
}

// TestOtherCurrency: Rules per currency; amounts stay in their currency's
// minor units (JPY has none below the yen).
func TestOtherCurrency(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		jpy := ledger.MustCurrency("JPY")
		w := newWorld(t, inMode(m))
		rj := redpacket.DefaultRules()
		rj.Share = redpacket.Limits{Min: 1, Max: 30000} // ¥1 to ¥30,000
		w.cfg.Rules = map[ledger.Currency]redpacket.Rules{cny: redpacket.DefaultRules(), jpy: rj}
		w.restart()
		sender := user{id: uuid.New(), wallet: w.wallet(jpy, 100000)}
		w.members.Add(w.group, sender.id)
		ms := []user{{uuid.New(), w.wallet(jpy, 0)}, {uuid.New(), w.wallet(jpy, 0)}}
		w.members.Add(w.group, ms[0].id, ms[1].id)
		amount, err := ledger.ParseAmount("50000", "JPY")
		if err != nil {
			t.Fatal(err)
		}
		req := redpacket.SendRequest{Key: uuid.NewString(), Kind: redpacket.Lucky, Sender: sender.id, SenderAccount: sender.wallet, Group: w.group, Amount: amount, Count: 2}
		p := w.send(req)
		a, b := w.mustClaim(p.ID, ms[0]), w.mustClaim(p.ID, ms[1])
		if a.Amount.Currency() != jpy || a.Amount.Units()+b.Amount.Units() != 50000 {
			t.Fatalf("claims %v, %v", a.Amount, b.Amount)
		}
		// ¥60,001 in two shares breaks the ¥30,000 maximum.
		req.Key, req.Amount = uuid.NewString(), ledger.NewMoney(60001, jpy)
		_, err = w.svc.Send(w.ctx, req)
		wantIs(t, "JPY over the maximum", err, redpacket.ErrShareTooLarge)
		// A CNY wallet cannot take a JPY share.
		cnyUser := w.newUser(0)
		req.Key, req.Amount = uuid.NewString(), ledger.NewMoney(100, jpy)
		p2 := w.send(req)
		_, err = w.claim(p2.ID, cnyUser)
		wantIs(t, "CNY wallet, JPY packet", err, ledger.ErrCurrencyMismatch)
		w.checkFinished(p.ID)
	})
}
