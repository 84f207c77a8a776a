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

// countingLedger counts the transfers asked of a ledger store and fails
// them with fail while it is set: the ledger failing, the outcome unknown.
type countingLedger struct {
	ledger.Store
	asked int
	fail  error
}

func (c *countingLedger) CreateTransfer(ctx context.Context, t ledger.Transfer, now time.Time) (ledger.Result, error) {
	c.asked++
	if c.fail != nil {
		return ledger.Result{}, c.fail
	}
	return c.Store.CreateTransfer(ctx, t, now)
}

// TestClaimPaid: the MemoryStore's claim-and-pay step records a claim
// only when its payment moved (posted) or may have moved (unpaid), leaves
// the packet as it was when the payment is refused, never pays for an
// existing claim or a refused one, and hands out the shares in order.
func TestClaimPaid(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	cny := ledger.MustCurrency("CNY")
	ls := &countingLedger{Store: ledger.NewMemoryStore()}
	l := ledger.New(ls, ledger.Options{})
	escrow, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	bank, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: escrow.ID, Amount: ledger.NewMoney(60, cny)}); err != nil {
		t.Fatal(err)
	}
	p := Packet{
		ID: uuid.New(), Kind: Lucky, Sender: uuid.New(), SenderAccount: uuid.New(), Group: uuid.New(),
		Total: ledger.NewMoney(60, cny), Count: 3, Shares: []int64{10, 20, 30},
		Escrow: escrow.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour), State: State{Status: StatusFunding},
	}
	ls.asked = 0 // the funding
	s := NewMemoryStore(l)
	if !s.PaysOn(ls) || s.PaysOn(ledger.NewMemoryStore()) || NewMemoryStore(nil).PaysOn(ls) {
		t.Fatal("PaysOn accepts a ledger store other than its ledger's, or refuses its own")
	}
	if _, err := s.CreatePacket(ctx, p); err != nil {
		t.Fatal(err)
	}
	var tried []Claim
	pay := func(c Claim) ledger.Transfer {
		tried = append(tried, c)
		return ledger.Transfer{ID: uuid.NewSHA1(p.ID, c.User[:]), DebitAccountID: p.Escrow, CreditAccountID: c.Account, Amount: c.Amount}
	}
	wallet := func() uuid.UUID {
		a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	claim := func(user, account uuid.UUID) (ClaimResult, error) {
		return s.ClaimPaid(ctx, p.ID, user, account, at, at, pay)
	}
	a, b, c, d := uuid.New(), uuid.New(), uuid.New(), uuid.New()

	// Not funded: Take's error, and no payment asked for.
	if _, err := claim(a, wallet()); !errors.Is(err, ErrNotFunded) || ls.asked != 0 {
		t.Fatalf("claim of a funding packet: %v, %d payments", err, ls.asked)
	}
	if _, err := s.Open(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	// Refused (no such wallet): nothing recorded; the share stays the next one.
	res, err := claim(a, uuid.New())
	if !ledger.Refused(err) || !errors.Is(err, ledger.ErrAccountNotFound) || res.Claim.User != uuid.Nil || len(tried) != 1 || tried[0].Index != 0 {
		t.Fatalf("refused payment: %+v, %v", res, err)
	}
	if claims, _ := s.Claims(ctx, p.ID); len(claims) != 0 {
		t.Fatalf("a refused payment recorded %+v", claims)
	}
	// Done: recorded paid.
	res, err = claim(a, wallet())
	if err != nil || res.Existing || !res.Claim.Posted || res.Claim.Index != 0 || res.Claim.Amount.Units() != 10 || res.State.Posted != 1 {
		t.Fatalf("payment done: %+v, %v", res, err)
	}
	// Unknown (the ledger failed): recorded unpaid, with the ledger's error.
	boom := errors.New("ledger unreachable")
	ls.fail = boom
	res, err = claim(b, wallet())
	ls.fail = nil
	if !errors.Is(err, boom) || ledger.Refused(err) || res.Claim.Posted || res.Claim.User != b || res.Claim.Index != 1 || res.State.Claimed != 2 || res.State.Posted != 1 {
		t.Fatalf("payment unknown: %+v, %v", res, err)
	}
	// Existing claims come back without a payment asked for.
	n := ls.asked
	for _, u := range []uuid.UUID{a, b} {
		res, err := claim(u, wallet())
		if err != nil || !res.Existing || res.Claim.User != u || ls.asked != n {
			t.Fatalf("existing claim: %+v, %v (%d payments asked, want %d)", res, err, ls.asked, n)
		}
	}
	// The last share sells the packet out; then Take refuses.
	res, err = claim(c, wallet())
	if err != nil || res.Claim.Index != 2 || res.State.Status != StatusSoldOut {
		t.Fatalf("last share: %+v, %v", res, err)
	}
	if _, err := claim(d, wallet()); !errors.Is(err, ErrSoldOut) || ls.asked != n+1 {
		t.Fatalf("claim of a sold-out packet: %v (%d payments asked, want %d)", err, ls.asked, n+1)
	}
	// A done context: nothing asked, nothing recorded.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.ClaimPaid(cancelled, p.ID, d, wallet(), at, at, pay); !errors.Is(err, context.Canceled) {
		t.Fatalf("claim with a done context: %v", err)
	}
	got, err := s.Packet(ctx, p.ID)
	if err != nil || got.State != (State{Status: StatusSoldOut, Claimed: 3, Posted: 2}) {
		t.Fatalf("packet after: %+v, %v", got.State, err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
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
