package transfertest

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

func testImmediate(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice Smith", yuan(t, "1000")), w.user("王小明", ledger.Money{})
	res, err := w.svc.Resolve(w.ctx, alice.id, bob.phone)
	must(t, err)
	if res.MaskedName != "**明" || res.Institution != transfer.DefaultInstitution || res.Token == "" {
		t.Fatalf("resolution %+v", res)
	}
	r, err := w.svc.Send(w.ctx, transfer.Request{Key: "k1", Payer: alice.id, From: alice.acct, Token: res.Token,
		Amount: yuan(t, "88.88"), Memo: "午饭"})
	must(t, err)
	if r.State != transfer.StateSettled || !r.FirstPayee || r.PayeeName != "**明" || r.Amount != yuan(t, "88.88") ||
		r.ID != w.svc.RecordID(alice.id, "k1") || !r.ResolvedAt.Equal(ledger.Timestamp(Start)) {
		t.Fatalf("receipt %+v", r)
	}
	if w.net(alice.acct) != 911_12 || w.net(bob.acct) != 88_88 {
		t.Fatalf("balances alice %d bob %d", w.net(alice.acct), w.net(bob.acct))
	}
	lt, err := w.l.LookupTransfer(w.ctx, r.LedgerID)
	if err != nil || lt.DebitAccountID != alice.acct || lt.CreditAccountID != bob.acct || lt.Amount != yuan(t, "88.88") {
		t.Fatalf("ledger transfer %+v: %v", lt, err)
	}
	if tot, _ := w.env.Store.DailyTotal(w.ctx, alice.id, w.svc.Day(Start), cny); tot != yuan(t, "88.88") {
		t.Fatalf("daily total %v", tot)
	}
	// Payer and payee can read it; no one else.
	for _, party := range []uuid.UUID{alice.id, bob.id} {
		got, err := w.svc.Get(w.ctx, party, r.ID)
		if err != nil || got != r {
			t.Fatalf("Get by %s: %v %+v", party, err, got)
		}
	}
	_, err = w.svc.Get(w.ctx, uid("mallory"), r.ID)
	want(t, err, transfer.ErrRecordNotFound)
	// Paying by number (looked up at once) works too, and bob is known now.
	r2, err := w.svc.Send(w.ctx, transfer.Request{Key: "k2", Payer: alice.id, From: alice.acct, Phone: "+86" + bob.phone, Amount: yuan(t, "1")})
	must(t, err)
	if r2.State != transfer.StateSettled || r2.FirstPayee {
		t.Fatalf("second receipt %+v", r2)
	}
	// Paying oneself is refused.
	_, err = w.svc.Send(w.ctx, transfer.Request{Key: "k3", Payer: bob.id, From: bob.acct, Phone: bob.phone, Amount: yuan(t, "1")})
	want(t, err, transfer.ErrSelfTransfer)
	w.verify()
}

func testIdempotentRetries(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "1000")), w.user("Bob", ledger.Money{})
	req := w.request(alice, bob, yuan(t, "10"), transfer.ArriveNow)
	first, err := w.svc.Send(w.ctx, req)
	must(t, err)
	// Retries return the same receipt and move nothing, even after the
	// token expired.
	w.clock.Advance(time.Hour)
	for range 3 {
		again, err := w.svc.Send(w.ctx, req)
		if err != nil || again != first {
			t.Fatalf("retry: %v\n%+v\nwant\n%+v", err, again, first)
		}
	}
	if w.net(bob.acct) != 10_00 {
		t.Fatalf("bob has %d after retries", w.net(bob.acct))
	}
	// The key with another request is refused.
	other := req
	other.Amount = yuan(t, "11")
	_, err = w.svc.Send(w.ctx, other)
	want(t, err, transfer.ErrIdempotencyConflict)
	other = req
	other.Memo = "changed"
	_, err = w.svc.Send(w.ctx, other)
	want(t, err, transfer.ErrIdempotencyConflict)
	// A token pays once: under another key it is refused.
	reuse := w.request(alice, bob, yuan(t, "1"), transfer.ArriveNow)
	_, err = w.svc.Send(w.ctx, reuse)
	must(t, err)
	reuse.Key = unique("key")
	_, err = w.svc.Send(w.ctx, reuse)
	want(t, err, transfer.ErrLookupUsed)
	// Keys belong to payers: bob may use alice's key for his own transfer.
	carol := w.user("Carol", ledger.Money{})
	breq := w.request(bob, carol, yuan(t, "5"), transfer.ArriveNow)
	breq.Key = req.Key
	br, err := w.svc.Send(w.ctx, breq)
	must(t, err)
	if br.ID == first.ID || w.net(carol.acct) != 5_00 {
		t.Fatalf("bob's transfer under alice's key: %+v, carol %d", br, w.net(carol.acct))
	}
	w.verify()
}

func testConcurrentRetries(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "1000")), w.user("Bob", ledger.Money{})
	for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h} {
		req := w.request(alice, bob, yuan(t, "7.50"), arrival)
		var wg sync.WaitGroup
		receipts := make([]transfer.Receipt, 12)
		start := make(chan struct{})
		for i := range receipts {
			wg.Go(func() {
				<-start
				r, err := w.svc.Send(w.ctx, req)
				if err != nil {
					t.Error(err)
				}
				receipts[i] = r
			})
		}
		close(start)
		wg.Wait()
		for _, r := range receipts {
			if r.ID != receipts[0].ID || r.State != receipts[0].State || r.LedgerID != receipts[0].LedgerID {
				t.Fatalf("receipts differ: %+v and %+v", r, receipts[0])
			}
		}
	}
	b := w.balance(bob.acct)
	if b.CreditsPosted != 7_50 || b.CreditsPending != 7_50 {
		t.Fatalf("bob's balance %+v: each transfer must count once", b)
	}
	if tot, _ := w.env.Store.DailyTotal(w.ctx, alice.id, w.svc.Day(Start), cny); tot != yuan(t, "15") {
		t.Fatalf("daily total %v", tot)
	}
	w.verify()
}

// A transfer the ledger refuses fails whole: no money, no daily total, and
// its retries say the same.
func testFailedTransfer(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "10")), w.user("Bob", ledger.Money{})
	for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h, transfer.ArriveOnAccept} {
		req := w.request(alice, bob, yuan(t, "20"), arrival)
		r, err := w.svc.Send(w.ctx, req)
		var fe *transfer.FailedError
		if !errors.As(err, &fe) || !errors.Is(err, transfer.ErrTransferFailed) || !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("%v: %v", arrival, err)
		}
		if r.State != transfer.StateFailed || r.Reason != "insufficient_funds" {
			t.Fatalf("%v: receipt %+v", arrival, r)
		}
		again, err2 := w.svc.Send(w.ctx, req)
		if again != r || !errors.Is(err2, ledger.ErrInsufficientFunds) {
			t.Fatalf("%v: retry %v %+v", arrival, err2, again)
		}
	}
	if tot, _ := w.env.Store.DailyTotal(w.ctx, alice.id, w.svc.Day(Start), cny); !tot.IsZero() {
		t.Fatalf("failed transfers counted: %v", tot)
	}
	if b := w.balance(alice.acct); b.Net() != 10_00 || b.DebitsPending != 0 || w.net(bob.acct) != 0 {
		t.Fatalf("money moved: alice %+v", b)
	}
	w.verify()
}

// Idempotency keys that are not storable text (a NUL, which once made a
// record's derived ID another's post or undo ID; a control character;
// invalid UTF-8; too long) are refused by Send before any lookup, and by
// Create, on every store.
func testIdempotencyKeyText(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	bad := []string{"k\x00post", "k\x00undo", "\x00", "k\r\n", "k\x7f", "k\xc0\x80", "k\xff", strings.Repeat("k", ledger.MaxKeyLen+1)}
	for _, key := range bad {
		for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h} {
			req := w.request(alice, bob, yuan(t, "1"), arrival)
			req.Key = key
			_, err := w.svc.Send(w.ctx, req)
			want(t, err, transfer.ErrInvalidRequest)
			want(t, err, ledger.ErrInvalidKey)
			req.Token, req.Phone = "", bob.phone
			_, err = w.svc.Send(w.ctx, req)
			want(t, err, transfer.ErrInvalidRequest)
			want(t, err, ledger.ErrInvalidKey)
		}
		r := NewRecord(alice.id, bob.id, yuan(t, "1"), transfer.ArriveNow)
		r.Key = key
		_, _, err := w.env.Store.Create(w.ctx, r, testLimits())
		want(t, err, transfer.ErrInvalidRecord)
		want(t, err, ledger.ErrInvalidKey)
	}
	// The records the NUL keys would have collided with are untouched
	// and work: "k" settles and its delayed twin lands.
	for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h} {
		req := w.request(alice, bob, yuan(t, "1"), arrival)
		req.Key = "k" + arrival.String()
		if _, err := w.svc.Send(w.ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if tot, _ := w.env.Store.DailyTotal(w.ctx, alice.id, w.svc.Day(w.clock.Now()), cny); tot.Units() != 2_00 {
		t.Fatalf("refused keys counted: daily total %v", tot)
	}
	w.checkSound()
}
