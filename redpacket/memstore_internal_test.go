package redpacket

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// TestClaimPaying: the MemoryStore's claim-and-pay step records a claim
// only when its payment moved (posted) or may have moved (unpaid), leaves
// the packet as it was when the payment is refused, never pays for an
// existing claim or a refused one, and hands out the shares in order.
func TestClaimPaying(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	p := Packet{
		ID: uuid.New(), Kind: Lucky, Sender: uuid.New(), SenderAccount: uuid.New(), Group: uuid.New(),
		Total: ledger.NewMoney(60, ledger.MustCurrency("CNY")), Count: 3, Shares: []int64{10, 20, 30},
		Escrow: uuid.New(), CreatedAt: at, ExpiresAt: at.Add(time.Hour), State: State{Status: StatusFunding},
	}
	s := NewMemoryStore()
	if _, err := s.CreatePacket(ctx, p); err != nil {
		t.Fatal(err)
	}
	mp, err := s.get(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var asked []Claim
	pay := func(outcome payOutcome) func(Claim) payOutcome {
		return func(c Claim) payOutcome {
			asked = append(asked, c)
			return outcome
		}
	}
	claim := func(user uuid.UUID, outcome payOutcome) (ClaimResult, payOutcome, error) {
		return s.claimPaying(ctx, mp, user, uuid.New(), at, pay(outcome))
	}
	a, b, c, d := uuid.New(), uuid.New(), uuid.New(), uuid.New()

	// Not funded: Take's error, and no payment asked for.
	if _, _, err := claim(a, payDone); !errors.Is(err, ErrNotFunded) || len(asked) != 0 {
		t.Fatalf("claim of a funding packet: %v, %d payments", err, len(asked))
	}
	if _, err := s.Open(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	// Refused: nothing recorded; the share stays the next one.
	res, outcome, err := claim(a, payRefused)
	if err != nil || outcome != payRefused || res.Claim.Index != 0 || res.Claim.Amount.Units() != 10 || res.State.Claimed != 0 {
		t.Fatalf("refused payment: %+v, %v, %v", res, outcome, err)
	}
	if claims, _ := s.Claims(ctx, p.ID); len(claims) != 0 {
		t.Fatalf("a refused payment recorded %+v", claims)
	}
	// Done: recorded paid.
	res, outcome, err = claim(a, payDone)
	if err != nil || outcome != payDone || res.Existing || !res.Claim.Posted || res.Claim.Index != 0 || res.Claim.Amount.Units() != 10 || res.State.Posted != 1 {
		t.Fatalf("payment done: %+v, %v, %v", res, outcome, err)
	}
	// Unknown: recorded unpaid.
	res, outcome, err = claim(b, payUnknown)
	if err != nil || outcome != payUnknown || res.Claim.Posted || res.Claim.Index != 1 || res.State.Claimed != 2 || res.State.Posted != 1 {
		t.Fatalf("payment unknown: %+v, %v, %v", res, outcome, err)
	}
	// Existing claims come back without a payment asked for.
	n := len(asked)
	for _, u := range []uuid.UUID{a, b} {
		res, outcome, err := claim(u, payDone)
		if err != nil || !res.Existing || res.Claim.User != u || outcome != payNotMade || len(asked) != n {
			t.Fatalf("existing claim: %+v, %v (%d payments asked, want %d)", res, err, len(asked), n)
		}
	}
	// The last share sells the packet out; then Take refuses.
	res, _, err = claim(c, payDone)
	if err != nil || res.Claim.Index != 2 || res.State.Status != StatusSoldOut {
		t.Fatalf("last share: %+v, %v", res, err)
	}
	if _, outcome, err := claim(d, payDone); !errors.Is(err, ErrSoldOut) || outcome != payNotMade || len(asked) != n+1 {
		t.Fatalf("claim of a sold-out packet: %v (%d payments asked, want %d)", err, len(asked), n+1)
	}
	// A done context: nothing asked, nothing recorded.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.claimPaying(cancelled, mp, d, uuid.New(), at, pay(payDone)); !errors.Is(err, context.Canceled) {
		t.Fatalf("claim with a done context: %v", err)
	}
	got, err := s.Packet(ctx, p.ID)
	if err != nil || got.State != (State{Status: StatusSoldOut, Claimed: 3, Posted: 2}) {
		t.Fatalf("packet after: %+v, %v", got.State, err)
	}
}

// TestMarkTracker: marks count in up to the bound, Flush waits for them
// and reports failures once.
func TestMarkTracker(t *testing.T) {
	var m markTracker
	ctx := context.Background()
	if err := m.wait(ctx); err != nil {
		t.Fatalf("wait with nothing in flight: %v", err)
	}
	for i := range maxMarksInFlight {
		if !m.start() {
			t.Fatalf("mark %d refused below the bound", i)
		}
	}
	if m.start() {
		t.Fatal("a mark beyond the bound counted in")
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.wait(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with marks in flight and a done context: %v", err)
	}
	boom := errors.New("boom")
	for i := range maxMarksInFlight {
		var err error
		if i%2 == 0 {
			err = boom
		}
		m.done(err)
	}
	err := m.wait(ctx)
	if !errors.Is(err, boom) {
		t.Fatalf("wait: %v, want the failures", err)
	}
	if want := "2048 background paid marks failed"; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("wait: %q, want it to start %q", err, want)
	}
	if err := m.wait(ctx); err != nil {
		t.Fatalf("second wait: %v, want the failures reported once", err)
	}
	if !m.start() {
		t.Fatal("no mark in flight, yet refused")
	}
}

// TestGroupPayments: Config.GroupPayments puts claim payments behind a
// ledger.GroupCommit, unless the ledger's store already is one.
func TestGroupPayments(t *testing.T) {
	members := &MemoryMembers{}
	plain := ledger.New(nil, ledger.Options{})
	grouped := ledger.New(ledger.NewGroupCommit(ledger.NewMemoryStore(), ledger.GroupCommitOptions{}), ledger.Options{})
	for _, tt := range []struct {
		name  string
		l     *ledger.Ledger
		opts  *ledger.GroupCommitOptions
		extra bool // a GroupCommit of the service's own
	}{
		{"off", plain, nil, false},
		{"on", plain, &ledger.GroupCommitOptions{MaxBatch: 10}, true},
		{"already grouped", grouped, &ledger.GroupCommitOptions{}, false},
	} {
		s, err := New(Config{Ledger: tt.l, Members: members, GroupPayments: tt.opts, SingleProcess: true})
		if err != nil {
			t.Fatal(err)
		}
		gc, ok := s.pl.Store().(*ledger.GroupCommit)
		if extra := s.pl != s.l; extra != tt.extra || (tt.extra && (!ok || gc.Store != tt.l.Store())) {
			t.Errorf("%s: payments on %T (own ledger %v), want own GroupCommit %v over the ledger's store", tt.name, s.pl.Store(), extra, tt.extra)
		}
	}
}
