package ledgertest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

func (e *env) hold(from, to uuid.UUID, amount string, timeout time.Duration) ledger.Transfer {
	e.t.Helper()
	return e.mustTransfer(ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: from, CreditAccountID: to,
		Amount: e.money(amount), Timeout: timeout})
}

func testTwoPhase(t *testing.T, e *env) {
	payer := e.wallet("100.00")
	payee := e.wallet("")

	// A hold reserves at once: available drops, posted does not move.
	h := e.hold(payer, payee, "30.00", 0)
	if h.Status != ledger.StatusPending {
		t.Fatalf("hold status %s", h.Status)
	}
	e.balance(payer, ledger.Balance{CreditsPosted: 10000, DebitsPending: 3000})
	e.balance(payee, ledger.Balance{CreditsPending: 3000})
	if got := e.get(payer).Balance.Available(); got != 7000 {
		t.Fatalf("available %d", got)
	}

	// Post in full (zero amount): the ledger fills in the amount and accounts.
	post, err := e.l.Post(e.ctx, uuid.New(), h.ID, ledger.Money{})
	if err != nil {
		t.Fatal(err)
	}
	if post.Amount != e.money("30.00") || post.DebitAccountID != payer || post.CreditAccountID != payee || post.PendingID != h.ID {
		t.Fatalf("post %+v", post)
	}
	e.balance(payer, ledger.Balance{CreditsPosted: 10000, DebitsPosted: 3000})
	e.balance(payee, ledger.Balance{CreditsPosted: 3000})
	got, _ := e.l.LookupTransfer(e.ctx, h.ID)
	if got.Status != ledger.StatusPosted || got.ResolvedBy != post.ID {
		t.Fatalf("resolved hold %+v", got)
	}
	// A pending transfer resolves exactly once.
	_, err = e.l.Post(e.ctx, uuid.New(), h.ID, ledger.Money{})
	wantErr(t, err, ledger.ErrPendingResolved)
	_, err = e.l.Void(e.ctx, uuid.New(), h.ID)
	wantErr(t, err, ledger.ErrPendingResolved)
	// Retrying the post itself is idempotent.
	if again, err := e.l.Post(e.ctx, post.ID, h.ID, ledger.Money{}); err != nil || again.ID != post.ID {
		t.Fatalf("retried post: %+v %v", again, err)
	}

	// Partial post releases the rest.
	h2 := e.hold(payer, payee, "20.00", 0)
	_, err = e.l.Post(e.ctx, uuid.New(), h2.ID, e.money("20.01"))
	wantErr(t, err, ledger.ErrExceedsPending)
	if _, err := e.l.Post(e.ctx, uuid.New(), h2.ID, e.money("12.50")); err != nil {
		t.Fatal(err)
	}
	e.balance(payer, ledger.Balance{CreditsPosted: 10000, DebitsPosted: 4250})
	e.balance(payee, ledger.Balance{CreditsPosted: 4250})

	// Void releases everything.
	h3 := e.hold(payer, payee, "57.50", 0)
	_, err = e.pay(payer, payee, "0.01")
	wantErr(t, err, ledger.ErrInsufficientFunds)
	v, err := e.l.Void(e.ctx, uuid.New(), h3.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Amount != e.money("57.50") {
		t.Fatalf("void amount %s", v.Amount)
	}
	e.balance(payer, ledger.Balance{CreditsPosted: 10000, DebitsPosted: 4250})
	_, err = e.l.Post(e.ctx, uuid.New(), h3.ID, ledger.Money{})
	wantErr(t, err, ledger.ErrPendingResolved)
	if got, _ := e.l.LookupTransfer(e.ctx, h3.ID); got.Status != ledger.StatusVoided {
		t.Fatalf("voided hold %+v", got)
	}

	// Wrong references.
	_, err = e.l.Post(e.ctx, uuid.New(), uuid.New(), ledger.Money{})
	wantErr(t, err, ledger.ErrPendingNotFound)
	_, err = e.l.Post(e.ctx, uuid.New(), post.ID, ledger.Money{})
	wantErr(t, err, ledger.ErrNotPending)
	h4 := e.hold(payer, payee, "1.00", 0)
	_, err = e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPostPending, PendingID: h4.ID, DebitAccountID: payee})
	wantErr(t, err, ledger.ErrAccountsDiffer)
	_, err = e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), Kind: ledger.KindVoidPending, PendingID: h4.ID, Amount: e.money("0.50")})
	wantErr(t, err, ledger.ErrExceedsPending)
	_, err = e.l.Post(e.ctx, uuid.New(), h4.ID, ledger.NewMoney(50, ledger.MustCurrency("USD")))
	wantErr(t, err, ledger.ErrCurrencyMismatch)
	// Naming the right accounts explicitly is fine.
	if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPostPending, PendingID: h4.ID,
		DebitAccountID: payer, CreditAccountID: payee}); err != nil {
		t.Fatal(err)
	}
	e.verify()
}

func testPendingTimeout(t *testing.T, e *env) {
	payer := e.wallet("10.00")
	payee := e.wallet("")
	h := e.hold(payer, payee, "4.00", 2*time.Hour)
	if want := ledger.Timestamp(e.clock.Now()).Add(2 * time.Hour); !h.ExpiresAt.Equal(want) {
		t.Fatalf("expires at %s, want %s", h.ExpiresAt, want)
	}
	keep := e.hold(payer, payee, "1.00", 3*time.Hour)
	never := e.hold(payer, payee, "1.00", 0)

	// Not yet due: nothing expires.
	e.clock.Advance(2*time.Hour - time.Microsecond)
	if n, err := e.l.ExpirePending(e.ctx, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("early expiry: %d %v", n, err)
	}
	e.balance(payer, ledger.Balance{CreditsPosted: 1000, DebitsPending: 600})

	// Due but not yet swept: it can no longer be posted.
	e.clock.Advance(time.Microsecond)
	_, err := e.l.Post(e.ctx, uuid.New(), h.ID, ledger.Money{})
	wantErr(t, err, ledger.ErrPendingExpired)
	_, err = e.l.Void(e.ctx, uuid.New(), h.ID)
	wantErr(t, err, ledger.ErrPendingExpired)

	// The sweep voids it, once; two sweeps at the same time void it once.
	counts := make(chan int, 2)
	for range 2 {
		go func() {
			n, err := e.l.ExpirePending(e.ctx, e.clock.Now())
			if err != nil {
				t.Error(err)
			}
			counts <- n
		}()
	}
	if total := <-counts + <-counts; total != 1 {
		t.Fatalf("expired %d transfers, want 1", total)
	}
	e.balance(payer, ledger.Balance{CreditsPosted: 1000, DebitsPending: 200})
	got, _ := e.l.LookupTransfer(e.ctx, h.ID)
	if got.Status != ledger.StatusExpired {
		t.Fatalf("status %s", got.Status)
	}
	_, err = e.l.Post(e.ctx, uuid.New(), h.ID, ledger.Money{})
	wantErr(t, err, ledger.ErrPendingExpired)

	// A hold resolved before its timeout is left alone by the sweep.
	if _, err := e.l.Post(e.ctx, uuid.New(), keep.ID, ledger.Money{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(24 * time.Hour)
	if n, err := e.l.ExpirePending(e.ctx, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("expired a posted hold: %d %v", n, err)
	}
	e.balance(payer, ledger.Balance{CreditsPosted: 1000, DebitsPosted: 100, DebitsPending: 100})
	if got, _ := e.l.LookupTransfer(e.ctx, never.ID); got.Status != ledger.StatusPending {
		t.Fatalf("hold without timeout: %s", got.Status)
	}
	e.verify()
}

func testReversal(t *testing.T, e *env) {
	a := e.wallet("50.00")
	b := e.wallet("")
	tr, _ := e.pay(a, b, "20.00")
	rev, err := e.l.Reverse(e.ctx, uuid.New(), tr.ID, "refund")
	if err != nil {
		t.Fatal(err)
	}
	if rev.DebitAccountID != b || rev.CreditAccountID != a || rev.Amount != tr.Amount || rev.ReversesID != tr.ID {
		t.Fatalf("reversal %+v", rev)
	}
	e.net(a, 5000)
	e.net(b, 0)
	// The original is never changed, only linked.
	orig, _ := e.l.LookupTransfer(e.ctx, tr.ID)
	if orig.ReversedBy != rev.ID || orig.Amount != tr.Amount || orig.DebitAccountID != a {
		t.Fatalf("original after reversal %+v", orig)
	}
	_, err = e.l.Reverse(e.ctx, uuid.New(), tr.ID, "again")
	wantErr(t, err, ledger.ErrAlreadyReversed)
	// Retrying the same reversal is idempotent.
	if again, err := e.l.Reverse(e.ctx, rev.ID, tr.ID, "refund"); err != nil || again.ID != rev.ID {
		t.Fatalf("retried reversal: %v", err)
	}
	e.net(a, 5000)

	_, err = e.l.Reverse(e.ctx, uuid.New(), rev.ID, "")
	wantErr(t, err, ledger.ErrNotReversible)
	h := e.hold(a, b, "1.00", 0)
	_, err = e.l.Reverse(e.ctx, uuid.New(), h.ID, "")
	wantErr(t, err, ledger.ErrNotReversible)
	_, err = e.l.Reverse(e.ctx, uuid.New(), uuid.New(), "")
	wantErr(t, err, ledger.ErrTransferNotFound)
	_, err = e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), Kind: ledger.KindReversal, ReversesID: tr.ID, Amount: e.money("1.00")})
	if !errors.Is(err, ledger.ErrNotReversible) && !errors.Is(err, ledger.ErrAlreadyReversed) {
		t.Fatalf("partial reversal: %v", err)
	}

	// Reversing a post, and a reversal the payee cannot fund.
	post, _ := e.l.Post(e.ctx, uuid.New(), h.ID, ledger.Money{})
	tr2, _ := e.pay(a, b, "5.00")
	if _, err := e.pay(b, a, "5.00"); err != nil {
		t.Fatal(err)
	}
	_, err = e.l.Reverse(e.ctx, uuid.New(), tr2.ID, "")
	wantErr(t, err, ledger.ErrInsufficientFunds)
	if _, err := e.l.Reverse(e.ctx, uuid.New(), post.ID, ""); err != nil {
		t.Fatal(err)
	}
	e.net(b, 0)
	e.verify()
}

func testLifeCycle(t *testing.T, e *env) {
	w := e.wallet("10.00")
	other := e.wallet("")

	_, err := e.l.Close(e.ctx, w)
	wantErr(t, err, ledger.ErrAccountNotEmpty)

	h := e.hold(w, other, "2.00", 0)
	if _, err := e.l.Freeze(e.ctx, w); err != nil {
		t.Fatal(err)
	}
	_, err = e.pay(w, other, "1.00")
	wantErr(t, err, ledger.ErrAccountFrozen)
	_, err = e.pay(other, w, "1.00")
	wantErr(t, err, ledger.ErrAccountFrozen)
	_, err = e.l.Post(e.ctx, uuid.New(), h.ID, ledger.Money{})
	wantErr(t, err, ledger.ErrAccountFrozen)
	// Releasing a hold is allowed on a frozen account.
	if _, err := e.l.Void(e.ctx, uuid.New(), h.ID); err != nil {
		t.Fatal(err)
	}
	if a, err := e.l.Unfreeze(e.ctx, w); err != nil || a.Status != ledger.AccountOpen {
		t.Fatalf("unfreeze: %+v %v", a, err)
	}
	if _, err := e.pay(w, other, "10.00"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	closed, err := e.l.Close(e.ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if closed.Status != ledger.AccountClosed || !closed.ClosedAt.Equal(ledger.Timestamp(e.clock.Now())) {
		t.Fatalf("closed %+v", closed)
	}
	_, err = e.pay(other, w, "1.00")
	wantErr(t, err, ledger.ErrAccountClosed)
	_, err = e.l.Freeze(e.ctx, w)
	wantErr(t, err, ledger.ErrAccountClosed)
	if again, err := e.l.Close(e.ctx, w); err != nil || !again.ClosedAt.Equal(closed.ClosedAt) {
		t.Fatalf("second close: %+v %v", again, err)
	}
	_, err = e.l.Close(e.ctx, uuid.New())
	wantErr(t, err, ledger.ErrAccountNotFound)

	// Closing, freezing and unfreezing are recorded in the history.
	hist, err := e.l.History(e.ctx, w, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []ledger.EntryKind
	for _, en := range hist {
		kinds = append(kinds, en.Kind)
	}
	want := []ledger.EntryKind{ledger.EntryPosted, ledger.EntryPending, ledger.EntryFreeze, ledger.EntryVoid,
		ledger.EntryUnfreeze, ledger.EntryPosted, ledger.EntryClose}
	if len(kinds) != len(want) {
		t.Fatalf("history kinds %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("history kinds %v, want %v", kinds, want)
		}
	}
	e.verify()
}

func testHistory(t *testing.T, e *env) {
	w := e.wallet("")
	src := e.account(0)
	var times []time.Time
	for i := 1; i <= 25; i++ {
		e.clock.Advance(time.Minute)
		tr := e.mustTransfer(ledger.Transfer{ID: uuid.New(), DebitAccountID: src, CreditAccountID: w, Amount: ledger.NewMoney(int64(i), e.cny)})
		times = append(times, tr.Timestamp)
	}
	// Page through with the cursor; running balance is the sum so far.
	var all []ledger.Entry
	after := uint64(0)
	for {
		page, err := e.l.History(e.ctx, w, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 10 {
			t.Fatalf("page of %d", len(page))
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
	if len(all) != 25 {
		t.Fatalf("history has %d entries", len(all))
	}
	sum := int64(0)
	for i, en := range all {
		sum += int64(i + 1)
		if en.Seq != uint64(i+1) || en.Balance.CreditsPosted != sum || en.PostedDelta != int64(i+1) ||
			en.Side != ledger.SideCredit || en.AccountID != w || !en.Time.Equal(times[i]) {
			t.Fatalf("entry %d: %+v", i, en)
		}
	}
	// Balance as of a past time.
	for _, c := range []struct {
		at   time.Time
		want int64
	}{
		{Start, 0},
		{times[0].Add(-time.Microsecond), 0},
		{times[0], 1},
		{times[4].Add(30 * time.Second), 15},
		{times[24], 325},
		{times[24].Add(time.Hour), 325},
	} {
		b, err := e.l.BalanceAt(e.ctx, w, c.at)
		if err != nil {
			t.Fatal(err)
		}
		if b.Net() != c.want {
			t.Errorf("balance at %s = %d, want %d", c.at, b.Net(), c.want)
		}
	}
	_, err := e.l.History(e.ctx, uuid.New(), 0, 10)
	wantErr(t, err, ledger.ErrAccountNotFound)
	_, err = e.l.BalanceAt(e.ctx, uuid.New(), Start)
	wantErr(t, err, ledger.ErrAccountNotFound)

	// Entry times never go back, even when the clock does.
	e.clock.Set(Start.Add(-time.Hour))
	tr := e.mustTransfer(ledger.Transfer{ID: uuid.New(), DebitAccountID: src, CreditAccountID: w, Amount: ledger.NewMoney(1, e.cny)})
	if tr.Timestamp.Before(times[24]) {
		t.Fatalf("timestamp went back: %s < %s", tr.Timestamp, times[24])
	}
	e.verify()
}

// testExpireMany: more holds fall due than one round of the sweep takes,
// and many were resolved first; the sweep still expires every one still
// pending, and only those.
func testExpireMany(t *testing.T, e *env) {
	const holds = 1500
	payer := e.wallet("1000.00")
	payee := e.wallet("")
	ts := make([]ledger.Transfer, holds)
	for i := range ts {
		ts[i] = ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: payer, CreditAccountID: payee,
			Amount: e.money("0.01"), Timeout: time.Hour}
	}
	for i := 0; i < holds; i += 500 {
		rs, err := e.l.Batch(e.ctx, ts[i:i+500])
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	var posts []ledger.Transfer
	for i := 0; i < holds; i += 2 {
		posts = append(posts, ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPostPending, PendingID: ts[i].ID})
	}
	rs, err := e.l.Batch(e.ctx, posts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	e.clock.Advance(time.Hour)
	n, err := e.l.ExpirePending(e.ctx, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n != holds/2 {
		t.Fatalf("expired %d, want %d", n, holds/2)
	}
	e.balance(payer, ledger.Balance{CreditsPosted: 100000, DebitsPosted: holds / 2})
	e.verify()
}
