package transfertest

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

// Two Sends of one request race around a top-up (issue 10): the first is
// refused, the second gets through the ledger and crashes before marking,
// and the payee account is frozen so that undoing the payment fails. The
// record must never say failed while the ledger shows the payment, the
// payer's daily total keeps counting it, and Reconcile, once the payee
// account is unfrozen, undoes the payment and only then fails the record
// for good and releases the total.
func testDurableCompensation(t *testing.T, newEnv func(testing.TB) Env) {
	for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h} {
		fs := &flakyStore{}
		w := newWorld(t, newEnv, withFlakyStore(fs))
		poor, bob := w.user("Poor", ledger.Money{}), w.user("Bob", ledger.Money{})
		req := w.request(poor, bob, yuan(t, "10"), arrival)
		target := w.svc.RecordID(poor.id, req.Key)
		var once atomic.Bool
		fs.before = func(id uuid.UUID, to transfer.State) {
			if id != target || to == transfer.StateSettled || !once.CompareAndSwap(false, true) {
				return
			}
			// Money arrives; a retry gets through the ledger, then crashes
			// before marking; then the payee's account is frozen.
			_, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: poor.acct, Amount: yuan(t, "10")})
			must(t, err)
			if arrival == transfer.ArriveNow {
				fs.fail.Store(1)
				if _, err := w.svc.Send(w.ctx, req); !errors.Is(err, errInjected) {
					t.Errorf("%v: the retry: %v, want the injected crash", arrival, err)
				}
			} else {
				// The hold lands (nothing to mark), and is released by
				// hand at once.
				if r, err := w.svc.Send(w.ctx, req); err != nil || r.State != transfer.StatePending {
					t.Errorf("%v: the retry: %v %v, want the hold placed", arrival, err, r.State)
				}
				_, err = w.l.Post(w.ctx, uuid.New(), target, ledger.Money{})
				must(t, err)
			}
			_, err = w.l.Freeze(w.ctx, bob.acct)
			must(t, err)
		}
		r, err := w.svc.Send(w.ctx, req)
		if !errors.Is(err, ledger.ErrInsufficientFunds) || r.State != transfer.StateFailed {
			t.Fatalf("%v: send: %v %+v, want the refusal", arrival, err, r)
		}
		if !once.Load() || w.net(bob.acct) != 10_00 {
			t.Fatalf("%v: the scenario did not happen: bob %d", arrival, w.net(bob.acct))
		}
		// The payment stands and cannot be undone yet: the record must not
		// claim a final failure, and the daily total still counts it.
		if got := w.record(target); got.State == transfer.StateFailed {
			t.Fatalf("%v: record %v (%s) while the ledger shows the payment", arrival, got.State, got.Reason)
		}
		if tot, _ := w.env.Store.DailyTotal(w.ctx, poor.id, w.svc.Day(Start), cny); tot != yuan(t, "10") {
			t.Fatalf("%v: daily total %v while the payment stands, want 10.00", arrival, tot)
		}
		// Reconcile cannot undo it while the payee is frozen, and says so.
		if rep, err := w.svc.Reconcile(w.ctx, w.clock.Now()); err == nil || rep.Failing != 1 || rep.Failed != 0 {
			t.Fatalf("%v: Reconcile with the payee frozen: %+v, %v; want an error and 1 failing", arrival, rep, err)
		}
		// Unfinished, not wrong: Check agrees.
		if rep, err := w.svc.Check(w.ctx, time.Time{}, w.clock.Now()); err != nil || rep.Unfinished != 1 {
			t.Fatalf("%v: Check while failing: %+v, %v", arrival, rep, err)
		}
		if got := w.record(target); got.State == transfer.StateFailed {
			t.Fatalf("%v: after a failed Reconcile: record failed while the ledger shows the payment", arrival)
		}
		_, err = w.l.Unfreeze(w.ctx, bob.acct)
		must(t, err)
		w.clock.Advance(time.Minute)
		if rep, err := w.svc.Reconcile(w.ctx, w.clock.Now()); err != nil || rep != (transfer.ReconcileReport{Visited: 1, Failed: 1, Undone: 1}) {
			t.Fatalf("%v: Reconcile: %+v, %v", arrival, rep, err)
		}
		if got := w.record(target); got.State != transfer.StateFailed || got.Reason != "insufficient_funds" {
			t.Fatalf("%v: after Reconcile: %v %q, want failed", arrival, got.State, got.Reason)
		}
		if b := w.balance(poor.acct); b.Net() != 10_00 || b.DebitsPending != 0 || w.net(bob.acct) != 0 {
			t.Fatalf("%v: not undone: poor %+v bob %d", arrival, b, w.net(bob.acct))
		}
		if tot, _ := w.env.Store.DailyTotal(w.ctx, poor.id, w.svc.Day(Start), cny); !tot.IsZero() {
			t.Fatalf("%v: daily total %v once undone, want 0", arrival, tot)
		}
		if rep, err := w.svc.Check(w.ctx, time.Time{}, w.clock.Now()); err != nil || rep.Unfinished != 0 || rep.Records != 1 {
			t.Fatalf("%v: Check: %+v, %v", arrival, rep, err)
		}
		again, err := w.svc.Send(w.ctx, req)
		if !errors.Is(err, ledger.ErrInsufficientFunds) || again != r {
			t.Fatalf("%v: retry %v\n%+v\nwant\n%+v", arrival, err, again, r)
		}
		w.verify()
	}
}

// Check holds every record to the ledger: a sound history passes, and a
// ledger or a record edited to disagree is reported, naming the record.
func testCheck(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	_, err := w.send(alice, bob, yuan(t, "10"), transfer.ArriveNow)
	must(t, err)
	req := w.request(alice, bob, yuan(t, "1000"), transfer.ArriveNow)
	_, err = w.svc.Send(w.ctx, req)
	want(t, err, ledger.ErrInsufficientFunds)
	failed := w.svc.RecordID(alice.id, req.Key)
	_, err = w.send(alice, bob, yuan(t, "5"), transfer.Arrive2h)
	must(t, err)
	cancelled, err := w.send(alice, bob, yuan(t, "6"), transfer.Arrive24h)
	must(t, err)
	_, err = w.svc.Cancel(w.ctx, alice.id, cancelled.ID)
	must(t, err)
	check := func() (transfer.CheckReport, error) {
		t.Helper()
		return w.svc.Check(w.ctx, time.Time{}, w.clock.Now())
	}
	if rep, err := check(); err != nil || rep != (transfer.CheckReport{Records: 4, Unfinished: 1}) {
		t.Fatalf("Check of a sound history: %+v, %v", rep, err)
	}
	// The window bounds what is read.
	if rep, err := w.svc.Check(w.ctx, time.Time{}, Start.Add(-time.Second)); err != nil || rep.Records != 0 {
		t.Fatalf("Check before the first record: %+v, %v", rep, err)
	}
	if rep, err := w.svc.Check(w.ctx, Start, w.clock.Now()); err != nil || rep.Records != 0 {
		t.Fatalf("Check after the last record: %+v, %v", rep, err)
	}

	// The ledger edited: the refused payment applied by hand.
	_, err = w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: alice.acct, Amount: yuan(t, "1000")})
	must(t, err)
	_, err = w.l.Transfer(w.ctx, ledger.Transfer{ID: failed, DebitAccountID: alice.acct, CreditAccountID: bob.acct, Amount: yuan(t, "1000")})
	must(t, err)
	rep, err := check()
	var ce *transfer.CheckError
	if !errors.As(err, &ce) || ce.ID != failed || ce.State != transfer.StateFailed || rep.Disagree != 1 {
		t.Fatalf("Check after paying a failed transfer: %+v, %v", rep, err)
	}
	want(t, err, transfer.ErrRecordDisagrees)

	// A record edited: one that says settled, with nothing on the ledger.
	forged := NewRecord(alice.id, bob.id, yuan(t, "3"), transfer.ArriveNow)
	forged.From, forged.Payee.Account = alice.acct, bob.acct
	forged.CreatedAt, forged.DueAt = w.clock.Now(), w.clock.Now()
	forged.Day = w.svc.Day(forged.CreatedAt)
	_, _, err = w.env.Store.Create(w.ctx, forged, w.svc.Limits())
	must(t, err)
	_, err = w.env.Store.Transition(w.ctx, forged.ID, transfer.StateSettled, "", w.clock.Now())
	must(t, err)
	rep, err = check()
	if rep.Disagree != 2 || !strings.Contains(fmt.Sprint(err), forged.ID.String()) || !strings.Contains(fmt.Sprint(err), failed.String()) {
		t.Fatalf("Check after forging a settled record: %+v, %v", rep, err)
	}
	want(t, err, transfer.ErrRecordDisagrees)
}

// A retry is the same request when it means the same (Request's
// Key): the number spelled another way, a fresh lookup token,
// by number after a token, or a chat recipient's display name changed.
// Another meaning under the key (amount, payee, arrival, memo) is
// ErrIdempotencyConflict.
func testIdempotencyMeaning(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	alice, bob, carol := w.user("Alice", yuan(t, "1000")), w.user("Bob", ledger.Money{}), w.user("Carol", ledger.Money{})
	digits := strings.ReplaceAll(bob.phone, " ", "") // 11 digits, national
	spellings := []string{digits, "+86 " + digits[:3] + "-" + digits[3:7] + "-" + digits[7:], "0086" + digits, "(+86) " + bob.phone}
	req := transfer.Request{Key: unique("key"), Payer: alice.id, From: alice.acct, Phone: spellings[0], Amount: yuan(t, "10")}
	first, err := w.svc.Send(w.ctx, req)
	must(t, err)
	same := func(what string, r transfer.Request) {
		t.Helper()
		got, err := w.svc.Send(w.ctx, r)
		if err != nil || got != first {
			t.Fatalf("%s: %v\n%+v\nwant\n%+v", what, err, got, first)
		}
	}
	for _, p := range spellings[1:] {
		r := req
		r.Phone = p
		same("number spelled "+p, r)
	}
	byToken := w.request(alice, bob, yuan(t, "10"), transfer.ArriveNow) // a fresh lookup
	byToken.Key = req.Key
	same("a fresh token", byToken)
	w.clock.Advance(time.Hour) // the token expired: still the same request
	same("an expired token", byToken)
	if w.net(bob.acct) != 10_00 {
		t.Fatalf("bob has %d after the retries", w.net(bob.acct))
	}
	conflict := func(what string, edit func(*transfer.Request)) {
		t.Helper()
		r := req
		edit(&r)
		if _, err := w.svc.Send(w.ctx, r); !errors.Is(err, transfer.ErrIdempotencyConflict) {
			t.Fatalf("%s: %v, want ErrIdempotencyConflict", what, err)
		}
	}
	conflict("another amount", func(r *transfer.Request) { r.Amount = yuan(t, "10.01") })
	conflict("another payee", func(r *transfer.Request) { r.Phone = carol.phone })
	conflict("another arrival", func(r *transfer.Request) { r.Arrival = transfer.Arrive2h })
	conflict("another memo", func(r *transfer.Request) { r.Memo = "午饭" })
	conflict("another account", func(r *transfer.Request) { r.From = uuid.New() })
	other := w.request(alice, carol, yuan(t, "10"), transfer.ArriveNow)
	other.Key = req.Key
	if _, err := w.svc.Send(w.ctx, other); !errors.Is(err, transfer.ErrIdempotencyConflict) {
		t.Fatalf("another payee's token: %v, want ErrIdempotencyConflict", err)
	}

	// Chat transfers: the recipient's holder and account are the payee;
	// the name only shows on receipts.
	chat := transfer.Request{Key: unique("key"), Payer: alice.id, From: alice.acct, Arrival: transfer.ArriveOnAccept,
		To: transfer.Recipient{Holder: bob.id, Account: bob.acct, Name: "Bob"}, Amount: yuan(t, "1")}
	c1, err := w.svc.Send(w.ctx, chat)
	must(t, err)
	chat.To.Name = "Bobby"
	if c2, err := w.svc.Send(w.ctx, chat); err != nil || c2 != c1 {
		t.Fatalf("chat retry with another display name: %v %+v", err, c2)
	}
	chat.To.Account = carol.acct
	if _, err := w.svc.Send(w.ctx, chat); !errors.Is(err, transfer.ErrIdempotencyConflict) {
		t.Fatalf("chat to another account: %v, want ErrIdempotencyConflict", err)
	}
	w.verify()
}
