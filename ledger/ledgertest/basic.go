package ledgertest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// wantErr fails unless err wraps target.
func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func testAccounts(t *testing.T, e *env) {
	id := uuid.New()
	a := ledger.Account{ID: id, Currency: e.cny, Code: 7, Flags: ledger.DebitsMustNotExceedCredits,
		Metadata: map[string]string{"owner": "u1"}}
	got, err := e.l.CreateAccount(e.ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.Currency != e.cny || got.Code != 7 || got.Flags != a.Flags ||
		got.Metadata["owner"] != "u1" || got.Status != ledger.AccountOpen || !got.CreatedAt.Equal(ledger.Timestamp(Start)) {
		t.Fatalf("created %+v", got)
	}
	// The same request again is idempotent; a different one conflicts.
	e.clock.Advance(time.Minute)
	again, err := e.l.CreateAccount(e.ctx, a)
	if err != nil || !again.CreatedAt.Equal(got.CreatedAt) {
		t.Fatalf("identical create: %+v, %v", again, err)
	}
	for field, change := range map[string]func(*ledger.Account){
		"currency": func(a *ledger.Account) { a.Currency = ledger.MustCurrency("USD") },
		"code":     func(a *ledger.Account) { a.Code = 8 },
		"flags":    func(a *ledger.Account) { a.Flags = 0 },
		"metadata": func(a *ledger.Account) { a.Metadata = map[string]string{"owner": "u2"} },
	} {
		b := a
		change(&b)
		_, err := e.l.CreateAccount(e.ctx, b)
		wantErr(t, err, ledger.ErrIdempotencyConflict)
		if !strings.Contains(err.Error(), field) {
			t.Errorf("conflict on %s does not name the field: %v", field, err)
		}
	}
	// The metadata the caller keeps is its own.
	a.Metadata["owner"] = "changed"
	if got := e.get(id); got.Metadata["owner"] != "u1" {
		t.Fatalf("stored metadata changed through the caller's map: %v", got.Metadata)
	}

	for name, bad := range map[string]struct {
		a    ledger.Account
		want error
	}{
		"zero ID":       {ledger.Account{Currency: e.cny}, ledger.ErrInvalidAccount},
		"no currency":   {ledger.Account{ID: uuid.New()}, ledger.ErrUnknownCurrency},
		"both flags":    {ledger.Account{ID: uuid.New(), Currency: e.cny, Flags: ledger.DebitsMustNotExceedCredits | ledger.CreditsMustNotExceedDebits}, ledger.ErrInvalidAccount},
		"unknown flags": {ledger.Account{ID: uuid.New(), Currency: e.cny, Flags: 1 << 9}, ledger.ErrInvalidAccount},
		"metadata key":  {ledger.Account{ID: uuid.New(), Currency: e.cny, Metadata: map[string]string{"": "x"}}, ledger.ErrInvalidAccount},
	} {
		_, err := e.l.CreateAccount(e.ctx, bad.a)
		if !errors.Is(err, bad.want) {
			t.Errorf("%s: got %v, want %v", name, err, bad.want)
		}
		if bad.a.ID != uuid.Nil {
			if _, err := e.l.Account(e.ctx, bad.a.ID); !errors.Is(err, ledger.ErrAccountNotFound) {
				t.Errorf("%s: rejected account exists: %v", name, err)
			}
		}
	}
	_, err = e.l.Account(e.ctx, uuid.New())
	wantErr(t, err, ledger.ErrAccountNotFound)
}

func testImmediate(t *testing.T, e *env) {
	a := e.wallet("100.00")
	b := e.wallet("")
	e.clock.Advance(time.Second)
	tr := e.mustTransfer(ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: b, Amount: e.money("88.88"),
		Code: 3, Reference: "dinner", Metadata: map[string]string{"memo": "火锅"}})
	if tr.Status != ledger.StatusCommitted || !tr.Timestamp.Equal(ledger.Timestamp(e.clock.Now())) ||
		tr.Reference != "dinner" || tr.Metadata["memo"] != "火锅" || tr.Code != 3 {
		t.Fatalf("stored transfer %+v", tr)
	}
	e.net(a, 1112)
	e.net(b, 8888)
	e.balance(b, ledger.Balance{CreditsPosted: 8888})
	if got, err := e.l.LookupTransfer(e.ctx, tr.ID); err != nil || got.Amount != tr.Amount || got.DebitAccountID != a {
		t.Fatalf("lookup: %+v, %v", got, err)
	}
	_, err := e.l.LookupTransfer(e.ctx, uuid.New())
	wantErr(t, err, ledger.ErrTransferNotFound)
	if got := e.get(a).AvailableMoney().String(); got != "11.12 CNY" {
		t.Fatalf("available %s", got)
	}
	e.verify()
}

func testValidation(t *testing.T, e *env) {
	a := e.wallet("10.00")
	b := e.wallet("")
	usd := e.account(0)
	before := e.get(a).Balance
	zero := ledger.NewMoney(0, e.cny)
	neg := ledger.NewMoney(-1, e.cny)
	for name, c := range map[string]struct {
		t    ledger.Transfer
		want error
	}{
		"zero ID":           {ledger.Transfer{DebitAccountID: a, CreditAccountID: b, Amount: e.money("1")}, ledger.ErrInvalidTransfer},
		"zero amount":       {ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: b, Amount: zero}, ledger.ErrZeroAmount},
		"negative amount":   {ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: b, Amount: neg}, ledger.ErrNegativeAmount},
		"no currency":       {ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: b, Amount: ledger.Money{}}, ledger.ErrUnknownCurrency},
		"same account":      {ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: a, Amount: e.money("1")}, ledger.ErrSameAccount},
		"missing debit":     {ledger.Transfer{ID: uuid.New(), CreditAccountID: b, Amount: e.money("1")}, ledger.ErrInvalidTransfer},
		"unknown debit":     {ledger.Transfer{ID: uuid.New(), DebitAccountID: uuid.New(), CreditAccountID: b, Amount: e.money("1")}, ledger.ErrAccountNotFound},
		"unknown credit":    {ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: uuid.New(), Amount: e.money("1")}, ledger.ErrAccountNotFound},
		"currency mismatch": {ledger.Transfer{ID: uuid.New(), DebitAccountID: usd, CreditAccountID: a, Amount: ledger.NewMoney(100, ledger.MustCurrency("USD"))}, ledger.ErrCurrencyMismatch},
		"timeout on immediate": {ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: b, Amount: e.money("1"),
			Timeout: time.Hour}, ledger.ErrInvalidTransfer},
		"negative timeout": {ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: a, CreditAccountID: b, Amount: e.money("1"),
			Timeout: -time.Second}, ledger.ErrInvalidTransfer},
		"unknown kind":        {ledger.Transfer{ID: uuid.New(), Kind: 99, DebitAccountID: a, CreditAccountID: b, Amount: e.money("1")}, ledger.ErrInvalidTransfer},
		"post without ID":     {ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPostPending}, ledger.ErrInvalidTransfer},
		"pending with ref":    {ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: a, CreditAccountID: b, Amount: e.money("1"), PendingID: uuid.New()}, ledger.ErrInvalidTransfer},
		"long reference":      {ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: b, Amount: e.money("1"), Reference: strings.Repeat("x", ledger.MaxReferenceLen+1)}, ledger.ErrInvalidTransfer},
		"reference not UTF-8": {ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: b, Amount: e.money("1"), Reference: "\xff"}, ledger.ErrInvalidTransfer},
		"NUL in metadata":     {ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: b, Amount: e.money("1"), Metadata: map[string]string{"k": "a\x00b"}}, ledger.ErrInvalidTransfer},
		"sub-µs timeout": {ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: a, CreditAccountID: b, Amount: e.money("1"),
			Timeout: time.Hour + time.Nanosecond}, ledger.ErrInvalidTransfer},
		"big metadata": {ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: b, Amount: e.money("1"), Metadata: map[string]string{"k": strings.Repeat("v", ledger.MaxMetadataValueLen+1)}}, ledger.ErrInvalidTransfer},
	} {
		_, err := e.l.Transfer(e.ctx, c.t)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
			continue
		}
		var te *ledger.TransferError
		if !errors.As(err, &te) || te.ID != c.t.ID || !ledger.Refused(err) {
			t.Errorf("%s: error %v does not say which transfer", name, err)
		}
		if c.t.ID != uuid.Nil {
			if _, err := e.l.LookupTransfer(e.ctx, c.t.ID); !errors.Is(err, ledger.ErrTransferNotFound) {
				t.Errorf("%s: rejected transfer was stored", name)
			}
		}
	}
	if got := e.get(a).Balance; got != before {
		t.Fatalf("rejected transfers moved money: %+v → %+v", before, got)
	}
	e.net(b, 0)
	e.verify()
}

func testBalanceLimits(t *testing.T, e *env) {
	w := e.wallet("10.00")
	other := e.wallet("")
	// Exactly the balance goes through; one fen more does not.
	_, err := e.pay(w, other, "10.01")
	wantErr(t, err, ledger.ErrInsufficientFunds)
	var ae *ledger.AccountError
	if !errors.As(err, &ae) || ae.ID != w {
		t.Fatalf("insufficient funds does not name the wallet: %v", err)
	}
	if _, err := e.pay(w, other, "10.00"); err != nil {
		t.Fatal(err)
	}
	e.net(w, 0)
	_, err = e.pay(w, other, "0.01")
	wantErr(t, err, ledger.ErrInsufficientFunds)

	// A holds count against the available balance at once.
	w2 := e.wallet("5.00")
	if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: w2, CreditAccountID: other, Amount: e.money("4.00")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.pay(w2, other, "1.01")
	wantErr(t, err, ledger.ErrInsufficientFunds)
	if _, err := e.pay(w2, other, "1.00"); err != nil {
		t.Fatal(err)
	}

	// Credits must not exceed debits: such an account only takes back what
	// it gave.
	limited := e.account(ledger.CreditsMustNotExceedDebits)
	src := e.wallet("50.00")
	_, err = e.pay(src, limited, "0.01")
	wantErr(t, err, ledger.ErrExceedsDebits)
	if _, err := e.pay(limited, src, "3.00"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pay(src, limited, "3.00"); err != nil {
		t.Fatal(err)
	}
	_, err = e.pay(src, limited, "0.01")
	wantErr(t, err, ledger.ErrExceedsDebits)
	e.verify()
}

func testIdempotency(t *testing.T, e *env) {
	a := e.wallet("100.00")
	b := e.wallet("")
	tr := ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: b, Amount: e.money("60.00"), Reference: "r1",
		Metadata: map[string]string{"k": "v"}}
	first := e.mustTransfer(tr)
	e.clock.Advance(time.Hour)
	// The same request again returns the original and moves nothing, even
	// though a second 60.00 would not fit any more.
	again, err := e.l.Transfer(e.ctx, tr)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if again.ID != first.ID || !again.Timestamp.Equal(first.Timestamp) || again.Amount != first.Amount {
		t.Fatalf("retry returned %+v, want %+v", again, first)
	}
	e.net(a, 4000)
	e.net(b, 6000)

	for field, change := range map[string]func(*ledger.Transfer){
		"amount":         func(x *ledger.Transfer) { x.Amount = e.money("60.01") },
		"debit account":  func(x *ledger.Transfer) { x.DebitAccountID = b; x.CreditAccountID = a },
		"credit account": func(x *ledger.Transfer) { x.CreditAccountID = e.wallet("") },
		"reference":      func(x *ledger.Transfer) { x.Reference = "r2" },
		"code":           func(x *ledger.Transfer) { x.Code = 9 },
		"metadata":       func(x *ledger.Transfer) { x.Metadata = nil },
		"kind":           func(x *ledger.Transfer) { x.Kind = ledger.KindPending },
	} {
		x := tr
		change(&x)
		_, err := e.l.Transfer(e.ctx, x)
		wantErr(t, err, ledger.ErrIdempotencyConflict)
		if !strings.Contains(err.Error(), field) {
			t.Errorf("conflict on %s does not name the field: %v", field, err)
		}
	}
	e.net(a, 4000)

	// A failed transfer records nothing: the same ID may succeed later.
	retry := ledger.Transfer{ID: uuid.New(), DebitAccountID: a, CreditAccountID: b, Amount: e.money("50.00")}
	_, err = e.l.Transfer(e.ctx, retry)
	wantErr(t, err, ledger.ErrInsufficientFunds)
	e.mustTransfer(ledger.Transfer{ID: uuid.New(), DebitAccountID: e.account(0), CreditAccountID: a, Amount: e.money("10.00")})
	e.mustTransfer(retry)
	e.net(a, 0)
	e.verify()
}

func testLinked(t *testing.T, e *env) {
	payer := e.wallet("100.00")
	payee := e.wallet("")
	fee := e.account(0)
	principal := ledger.Transfer{ID: uuid.New(), DebitAccountID: payer, CreditAccountID: payee, Amount: e.money("90.00")}
	feeLeg := ledger.Transfer{ID: uuid.New(), DebitAccountID: payer, CreditAccountID: fee, Amount: e.money("10.01")}
	results, err := e.l.Linked(e.ctx, []ledger.Transfer{principal, feeLeg})
	wantErr(t, err, ledger.ErrInsufficientFunds)
	var te *ledger.TransferError
	if !errors.As(err, &te) || te.Index != 1 || te.ID != feeLeg.ID {
		t.Fatalf("error does not name the failing leg: %v", err)
	}
	if len(results) != 2 || !errors.Is(results[0].Err, ledger.ErrLinkedFailed) || !errors.Is(results[1].Err, ledger.ErrInsufficientFunds) {
		t.Fatalf("results %+v", results)
	}
	e.net(payer, 10000)
	e.net(payee, 0)
	for _, id := range []uuid.UUID{principal.ID, feeLeg.ID} {
		_, err := e.l.LookupTransfer(e.ctx, id)
		wantErr(t, err, ledger.ErrTransferNotFound)
	}

	// An invalid leg fails the batch before anything is looked at.
	bad := feeLeg
	bad.Amount = ledger.NewMoney(0, e.cny)
	_, err = e.l.Linked(e.ctx, []ledger.Transfer{principal, bad})
	wantErr(t, err, ledger.ErrZeroAmount)
	e.net(payer, 10000)

	feeLeg.Amount = e.money("10.00")
	results, err = e.l.Linked(e.ctx, []ledger.Transfer{principal, feeLeg})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Err != nil || r.Duplicate || r.Transfer.Timestamp.IsZero() {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	e.net(payer, 0)
	e.net(payee, 9000)
	e.net(fee, 1000)

	// Retrying the whole batch returns the originals.
	results, err = e.l.Linked(e.ctx, []ledger.Transfer{principal, feeLeg})
	if err != nil || !results[0].Duplicate || !results[1].Duplicate {
		t.Fatalf("retry: %+v, %v", results, err)
	}
	e.net(payer, 0)

	// A hold and its post in one batch; a later leg sees earlier legs.
	w := e.wallet("5.00")
	hold := ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: w, CreditAccountID: payee, Amount: e.money("5.00")}
	post := ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPostPending, PendingID: hold.ID, Amount: e.money("3.00")}
	back := ledger.Transfer{ID: uuid.New(), DebitAccountID: payee, CreditAccountID: w, Amount: e.money("1.00")}
	if _, err := e.l.Linked(e.ctx, []ledger.Transfer{hold, post, back}); err != nil {
		t.Fatal(err)
	}
	e.balance(w, ledger.Balance{CreditsPosted: 600, DebitsPosted: 300})
	if h, _ := e.l.LookupTransfer(e.ctx, hold.ID); h.Status != ledger.StatusPosted || h.ResolvedBy != post.ID {
		t.Fatalf("hold after batch: %+v", h)
	}
	// Two legs with one ID: the second is a retry of the first in the same
	// batch when identical, a conflict otherwise.
	dup := ledger.Transfer{ID: uuid.New(), DebitAccountID: payee, CreditAccountID: w, Amount: e.money("1.00")}
	dup2 := dup
	dup2.Amount = e.money("2.00")
	_, err = e.l.Linked(e.ctx, []ledger.Transfer{dup, dup2})
	wantErr(t, err, ledger.ErrIdempotencyConflict)
	_, err = e.l.Linked(e.ctx, nil)
	wantErr(t, err, ledger.ErrEmptyBatch)
	e.verify()
}

func testIndependentBatch(t *testing.T, e *env) {
	w := e.wallet("10.00")
	to := e.wallet("")
	ts := []ledger.Transfer{
		{ID: uuid.New(), DebitAccountID: w, CreditAccountID: to, Amount: e.money("6.00")},
		{ID: uuid.New(), DebitAccountID: w, CreditAccountID: to, Amount: e.money("6.00")}, // does not fit after the first
		{ID: uuid.New(), DebitAccountID: w, CreditAccountID: to, Amount: ledger.NewMoney(0, e.cny)},
		{ID: uuid.New(), DebitAccountID: w, CreditAccountID: to, Amount: e.money("4.00")},
	}
	results, err := e.l.Batch(e.ctx, ts)
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Err != nil || results[3].Err != nil {
		t.Fatalf("results %+v", results)
	}
	wantErr(t, results[1].Err, ledger.ErrInsufficientFunds)
	wantErr(t, results[2].Err, ledger.ErrZeroAmount)
	for i := 1; i <= 2; i++ {
		var te *ledger.TransferError
		if !errors.As(results[i].Err, &te) || te.Index != i || te.ID != ts[i].ID {
			t.Fatalf("result %d does not say which transfer: %v", i, results[i].Err)
		}
	}
	e.net(w, 0)
	e.net(to, 1000)
	again, err := e.l.Batch(e.ctx, []ledger.Transfer{ts[0], ts[3]})
	if err != nil || !again[0].Duplicate || !again[1].Duplicate {
		t.Fatalf("retry: %+v %v", again, err)
	}
	e.verify()
}

func testOverflow(t *testing.T, e *env) {
	src := e.account(0)
	dst := e.account(0)
	max := ledger.NewMoney(1<<62, e.cny)
	if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: src, CreditAccountID: dst, Amount: max}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: src, CreditAccountID: dst, Amount: max}); !errors.Is(err, ledger.ErrBalanceOverflow) {
		t.Fatalf("second 2^62: %v", err)
	}
	e.balance(dst, ledger.Balance{CreditsPosted: 1 << 62})
	e.verify()
}

func testAnchors(t *testing.T, e *env) {
	w := e.wallet("10.00")
	fresh := e.account(0)
	before, err := e.l.Anchors(e.ctx, w, fresh)
	if err != nil {
		t.Fatal(err)
	}
	if before[0].Seq != 1 || before[1].Seq != 0 || before[1].Hash != ledger.GenesisHash(fresh) {
		t.Fatalf("anchors %+v", before)
	}
	hist, err := e.l.History(e.ctx, w, 0, 1)
	if err != nil || len(hist) != 1 {
		t.Fatalf("history of a funded wallet: %v %v", hist, err)
	}
	if before[0].Hash != hist[0].Hash {
		t.Fatalf("anchor %s, last entry %s", before[0].Hash, hist[0].Hash)
	}
	// More history later: the old anchors still hold.
	if _, err := e.pay(w, fresh, "3.00"); err != nil {
		t.Fatal(err)
	}
	if err := e.l.CheckAnchors(e.ctx, before); err != nil {
		t.Fatal(err)
	}
	bad := append([]ledger.Anchor(nil), before...)
	bad[0].Hash[0] ^= 1
	wantErr(t, e.l.CheckAnchors(e.ctx, bad), ledger.ErrVerify)
	wantErr(t, e.l.CheckAnchors(e.ctx, []ledger.Anchor{{AccountID: w, Seq: 99, Hash: before[0].Hash}}), ledger.ErrVerify)
	_, err = e.l.Anchors(e.ctx, uuid.New())
	wantErr(t, err, ledger.ErrAccountNotFound)
	e.verify()
}
