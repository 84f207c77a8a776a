package transfertest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/transfer"
)

// The cases of a store that pays a send in its own step
// (transfer.PayingStore, Env.Paying), and the refused send on every store.

// paying returns the world's store as a PayingStore, or skips t when the
// env's store pays on no ledger.
func (w *world) paying(t *testing.T) transfer.PayingStore {
	t.Helper()
	if !w.env.Paying {
		t.Skip("the store pays on no ledger (Env.Paying): the Service's slower path")
	}
	return w.env.Store.(transfer.PayingStore)
}

// paid is CreatePaid of r with its payment (transfer.PaymentOf) at the
// ledger's time.
func (w *world) paid(ps transfer.PayingStore, r transfer.Record, lim transfer.Limits) (transfer.Record, bool, error) {
	return ps.CreatePaid(w.ctx, r, lim, transfer.PaymentOf(&r, 0, transfer.DefaultChatTimeout), nil, w.l.Now())
}

// paidRecord is NewRecord of from paying to amount, between their accounts.
func paidRecord(from, to user, amount ledger.Money, arrival transfer.Arrival) transfer.Record {
	r := NewRecord(from.id, to.id, amount, arrival)
	r.From, r.Payee.Account = from.acct, to.acct
	return r
}

// transferOf returns the ledger transfer of id, and whether there is one.
func (w *world) transferOf(id ledger.Transfer) (ledger.Transfer, bool) {
	w.t.Helper()
	t, err := w.l.LookupTransfer(w.ctx, id.ID)
	if errors.Is(err, ledger.ErrTransferNotFound) {
		return ledger.Transfer{}, false
	}
	must(w.t, err)
	return t, true
}

func (w *world) total(payer user) int64 {
	w.t.Helper()
	tot, err := w.env.Store.DailyTotal(w.ctx, payer.id, day0, cny)
	must(w.t, err)
	return tot.Units()
}

// An env that says its store pays on its ledger has one that does, and it
// pays on no other ledger.
func testPaysOn(t *testing.T, newEnv func(testing.TB) Env) {
	env := newEnv(t)
	ps, ok := env.Store.(transfer.PayingStore)
	if !env.Paying {
		if ok && env.Ledger != nil && ps.PaysOn(env.Ledger) {
			t.Fatal("the store pays on Env.Ledger, but Env.Paying is false: the suite would not test its fast path")
		}
		t.Skip("the store pays on no ledger (Env.Paying): the Service's slower path")
	}
	if !ok || env.Ledger == nil || !ps.PaysOn(env.Ledger) {
		t.Fatal("Env.Paying, but the store is no PayingStore whose PaysOn accepts Env.Ledger")
	}
	if ps.PaysOn(ledger.NewMemoryStore()) {
		t.Fatal("PaysOn accepts a ledger store it was not built with")
	}
}

// CreatePaid creates and pays in one step: an immediate transfer settled,
// a delayed or chat transfer pending with its hold, each counted in the
// daily total; a retry changes nothing.
func testCreatePaid(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	ps := w.paying(t)
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	lim := testLimits()
	want := int64(0)
	for _, tc := range []struct {
		arrival transfer.Arrival
		amount  int64
		state   transfer.State
	}{
		{transfer.ArriveNow, 10_00, transfer.StateSettled},
		{transfer.Arrive2h, 20_00, transfer.StatePending},
		{transfer.ArriveOnAccept, 5_00, transfer.StatePending},
	} {
		r := paidRecord(alice, bob, fen(tc.amount), tc.arrival)
		got, created, err := w.paid(ps, r, lim)
		if err != nil || !created {
			t.Fatalf("%v: %v, created %v", tc.arrival, err, created)
		}
		if got.State != tc.state || got.Attempts != 0 || got.Reason != "" || (tc.state == transfer.StateSettled) == got.ResolvedAt.IsZero() {
			t.Fatalf("%v: stored %+v", tc.arrival, got)
		}
		if stored := w.record(r.ID); stored != got {
			t.Fatalf("%v: Get returns\n%+v\nCreatePaid returned\n%+v", tc.arrival, stored, got)
		}
		lt, ok := w.transferOf(transfer.PaymentOf(&r, 0, 0))
		switch {
		case !ok || lt.Amount != fen(tc.amount) || lt.DebitAccountID != alice.acct || lt.CreditAccountID != bob.acct:
			t.Fatalf("%v: ledger transfer %+v (found %v)", tc.arrival, lt, ok)
		case tc.arrival == transfer.ArriveNow && lt.Kind != ledger.KindImmediate,
			tc.arrival != transfer.ArriveNow && (lt.Kind != ledger.KindPending || lt.Status != ledger.StatusPending),
			tc.arrival == transfer.ArriveOnAccept && lt.Timeout != transfer.DefaultChatTimeout,
			tc.arrival == transfer.Arrive2h && lt.Timeout != 0:
			t.Fatalf("%v: ledger transfer %+v", tc.arrival, lt)
		}
		want += tc.amount
		if w.total(alice) != want {
			t.Fatalf("%v: daily total %d, want %d", tc.arrival, w.total(alice), want)
		}
		// A retry finds the record and changes nothing.
		again, created, err := w.paid(ps, r, lim)
		if err != nil || created || again != got {
			t.Fatalf("%v: retry %v, created %v, %+v", tc.arrival, err, created, again)
		}
		if w.total(alice) != want || w.net(alice.acct) != 100_00-10_00 {
			t.Fatalf("%v: retry moved something: total %d, alice %d", tc.arrival, w.total(alice), w.net(alice.acct))
		}
	}
	if b := w.balance(alice.acct); b.DebitsPending != 25_00 || w.net(bob.acct) != 10_00 {
		t.Fatalf("alice %+v, bob %d", b, w.net(bob.acct))
	}
	if ok, err := w.env.Store.SettledBefore(w.ctx, alice.id, "local", bob.id); err != nil || !ok {
		t.Fatalf("settled pair not recorded: %v %v", ok, err)
	}
	w.checkSound()
}

// A refused payment stores the record failed with the refusal's code,
// nothing moved and nothing counted, and its retry (even once the money
// is there) finds it so. A refusal that is no failure, and a limit, store
// nothing.
func testCreatePaidRefused(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	ps := w.paying(t)
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	lim := testLimits()
	lim.FirstPayee = lim.PerTransfer
	for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h, transfer.ArriveOnAccept} {
		r := paidRecord(alice, bob, yuan(t, "900"), arrival)
		got, created, err := w.paid(ps, r, lim)
		if err != nil || !created || got.State != transfer.StateFailed || got.Reason != "insufficient_funds" ||
			got.ResolvedAt.IsZero() || got.Attempts != 0 {
			t.Fatalf("%v: %v, created %v, %+v", arrival, err, created, got)
		}
		if _, ok := w.transferOf(transfer.PaymentOf(&r, 0, 0)); ok {
			t.Fatalf("%v: a refused payment is in the ledger", arrival)
		}
		if w.total(alice) != 0 {
			t.Fatalf("%v: refused payment counted: %d", arrival, w.total(alice))
		}
		_, err = w.l.Transfer(w.ctx, ledger.Transfer{ID: ledger.DeriveID(r.ID, "fund"), DebitAccountID: w.bank, CreditAccountID: alice.acct, Amount: yuan(t, "50")})
		must(t, err)
		again, created, err := w.paid(ps, r, lim)
		if err != nil || created || again != got {
			t.Fatalf("%v: retry with the money there: %v, created %v, %+v", arrival, err, created, again)
		}
		if _, ok := w.transferOf(transfer.PaymentOf(&r, 0, 0)); ok || w.total(alice) != 0 {
			t.Fatalf("%v: the retry of a refused payment moved money", arrival)
		}
	}
	if b := w.balance(alice.acct); b.Net() != 250_00 || b.DebitsPending != 0 || w.net(bob.acct) != 0 {
		t.Fatalf("money moved: alice %+v, bob %d", b, w.net(bob.acct))
	}
	if ok, _ := w.env.Store.SettledBefore(w.ctx, alice.id, "local", bob.id); ok {
		t.Fatal("a refused payment settled the pair")
	}

	// An ID the ledger holds with other content: no failure code, nothing
	// stored.
	r := paidRecord(alice, bob, yuan(t, "1"), transfer.ArriveNow)
	_, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: r.ID, DebitAccountID: w.bank, CreditAccountID: bob.acct, Amount: fen(1)})
	must(t, err)
	_, _, err = w.paid(ps, r, lim)
	want(t, err, ledger.ErrIdempotencyConflict)
	_, err = w.env.Store.Get(w.ctx, r.ID)
	want(t, err, transfer.ErrRecordNotFound)

	// Over the daily limit: nothing stored, nothing moved.
	r = paidRecord(alice, bob, yuan(t, "1000"), transfer.ArriveNow)
	_, err = w.env.Store.Get(w.ctx, r.ID)
	want(t, err, transfer.ErrRecordNotFound)
	_, err = w.l.Transfer(w.ctx, ledger.Transfer{ID: ledger.DeriveID(r.ID, "fund"), DebitAccountID: w.bank, CreditAccountID: alice.acct, Amount: yuan(t, "600")})
	must(t, err)
	big := paidRecord(alice, bob, yuan(t, "600"), transfer.ArriveNow)
	if _, _, err := w.paid(ps, big, lim); err != nil {
		t.Fatal(err)
	}
	_, _, err = w.paid(ps, r, lim)
	want(t, err, transfer.ErrOverDailyLimit)
	if _, ok := w.transferOf(transfer.PaymentOf(&r, 0, 0)); ok || w.total(alice) != 600_00 || w.net(alice.acct) != 250_00 {
		t.Fatalf("a send over the daily limit moved money: total %d, alice %d", w.total(alice), w.net(alice.acct))
	}
	if w.net(bob.acct) != 600_01 {
		t.Fatalf("bob %d", w.net(bob.acct))
	}
	w.checkSound()
}

// K identical CreatePaid at once at the payer's exact balance: one
// creates and pays, every other finds its record; and two different
// payments that the balance covers one at a time, K of each: one settles,
// the other fails for the funds, and nothing is paid twice.
func testRaceCreatePaidExactBalance(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	ps := w.paying(t)
	lim := testLimits()
	lim.FirstPayee = lim.PerTransfer
	type answer struct {
		r       transfer.Record
		created bool
	}
	for it := range w.iterations() {
		for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h, transfer.ArriveOnAccept} {
			var payers, payees []user
			var recs []transfer.Record
			for range racePayers {
				p, q := w.user("Payer", yuan(t, "10")), w.user("Payee", ledger.Money{})
				payers, payees = append(payers, p), append(payees, q)
				recs = append(recs, paidRecord(p, q, yuan(t, "10"), arrival), paidRecord(p, q, yuan(t, "6"), arrival), paidRecord(p, q, yuan(t, "5"), arrival))
			}
			// Per payer: K of the whole balance; then K of 6.00 and K of 5.00.
			got, errs := ledgertest.Concurrently(len(recs)*raceK, func(i int) (answer, error) {
				r, created, err := w.paid(ps, recs[i/raceK], lim)
				return answer{r, created}, err
			})
			for p := range racePayers {
				what := fmt.Sprintf("iteration %d %v payer %d", it, arrival, p)
				settled := int64(0)
				for j := range 3 {
					lo := (3*p + j) * raceK
					created := 0
					for k := lo; k < lo+raceK; k++ {
						if errs[k] != nil {
							t.Fatalf("%s record %d: %v", what, j, errs[k])
						}
						if got[k].r != got[lo].r {
							t.Fatalf("%s record %d: answers differ:\n%+v\n%+v", what, j, got[k].r, got[lo].r)
						}
						if got[k].created {
							created++
						}
					}
					if created != 1 {
						t.Fatalf("%s record %d: created %d times", what, j, created)
					}
					switch r := got[lo].r; {
					case r.State == transfer.StateFailed && r.Reason == "insufficient_funds":
					case r.State != transfer.StateFailed:
						settled += r.Amount.Units()
					default:
						t.Fatalf("%s record %d: %+v", what, j, r)
					}
				}
				b := w.balance(payers[p].acct)
				if arrival == transfer.ArriveNow && b.Net() != 10_00-settled || arrival != transfer.ArriveNow && b.DebitsPending != settled {
					t.Fatalf("%s: records say %d paid, ledger %+v", what, settled, b)
				}
				if settled > 10_00 || settled < 5_00 || w.total(payers[p]) != settled {
					t.Fatalf("%s: %d paid of 10.00, daily total %d", what, settled, w.total(payers[p]))
				}
				if arrival == transfer.ArriveNow && w.net(payees[p].acct) != settled {
					t.Fatalf("%s: payee got %d, records say %d", what, w.net(payees[p].acct), settled)
				}
			}
		}
	}
	w.checkSound()
}

// The daily limit's edge on the store: two payments that each fit the
// payer's day but not both, K of each at once: one is created and paid
// (every call of it answered with its record), every call of the other is
// over the daily limit, and the total is what moved.
func testRaceCreatePaidDailyEdge(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	ps := w.paying(t)
	lim := testLimits()
	lim.FirstPayee = lim.PerTransfer
	type answer struct {
		r       transfer.Record
		created bool
	}
	for it := range w.iterations() {
		var payers []user
		var recs []transfer.Record
		for range racePayers {
			p, q := w.user("Payer", yuan(t, "5000")), w.user("Payee", ledger.Money{})
			payers = append(payers, p)
			recs = append(recs, paidRecord(p, q, yuan(t, "800"), transfer.ArriveNow), paidRecord(p, q, yuan(t, "700.01"), transfer.ArriveNow))
		}
		got, errs := ledgertest.Concurrently(len(recs)*raceK, func(i int) (answer, error) {
			r, created, err := w.paid(ps, recs[i/raceK], lim)
			return answer{r, created}, err
		})
		for p := range racePayers {
			won := 0
			for j := range 2 {
				lo := (2*p + j) * raceK
				what := fmt.Sprintf("iteration %d payer %d record %d", it, p, j)
				created := 0
				for k := lo; k < lo+raceK; k++ {
					if (errs[k] == nil) != (errs[lo] == nil) || got[k].r != got[lo].r {
						t.Fatalf("%s: answers differ: %v %+v, %v %+v", what, errs[k], got[k].r, errs[lo], got[lo].r)
					}
					if got[k].created {
						created++
					}
				}
				switch err := errs[lo]; {
				case err == nil && got[lo].r.State == transfer.StateSettled && created == 1:
					won++
				case !errors.Is(err, transfer.ErrOverDailyLimit):
					t.Fatalf("%s: %v (created %d), want settled once or over the daily limit", what, err, created)
				}
			}
			if won != 1 {
				t.Fatalf("iteration %d payer %d: %d payments won, want 1", it, p, won)
			}
			if spent := 5000_00 - w.net(payers[p].acct); w.total(payers[p]) != spent || spent != 800_00 && spent != 700_01 {
				t.Fatalf("iteration %d payer %d: spent %d, daily total %d", it, p, spent, w.total(payers[p]))
			}
		}
	}
	w.checkSound()
}

// Send retried K times at once with one key, the payer 0.01 short: every
// call answers the same *FailedError, no money moves, nothing counts; a
// retry once the money is there answers the same and moves nothing. On
// every store: one step or three.
func testRaceRefusedSend(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	for it := range w.iterations() {
		for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h, transfer.ArriveOnAccept} {
			var payers, payees []user
			var reqs []transfer.Request
			for range racePayers {
				p, q := w.user("Payer", yuan(t, "9.99")), w.user("Payee", ledger.Money{})
				payers, payees = append(payers, p), append(payees, q)
				reqs = append(reqs, w.request(p, q, yuan(t, "10"), arrival))
			}
			receipts, errs := ledgertest.Concurrently(racePayers*raceK, func(i int) (transfer.Receipt, error) {
				return w.svc.Send(w.ctx, reqs[i/raceK])
			})
			for p := range racePayers {
				what := fmt.Sprintf("iteration %d %v payer %d", it, arrival, p)
				sameOutcome(t, what, receipts[p*raceK:(p+1)*raceK], errs[p*raceK:(p+1)*raceK])
				var fe *transfer.FailedError
				if r := receipts[p*raceK]; !errors.As(errs[p*raceK], &fe) || !errors.Is(errs[p*raceK], ledger.ErrInsufficientFunds) ||
					r.State != transfer.StateFailed || r.Reason != "insufficient_funds" {
					t.Fatalf("%s: %v %+v, want insufficient funds", what, errs[p*raceK], r)
				}
				w.checkRefused(what, payers[p], payees[p], 9_99)
				_, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: ledger.DeriveID(payers[p].id, "top-up"), DebitAccountID: w.bank, CreditAccountID: payers[p].acct, Amount: yuan(t, "1")})
				must(t, err)
				again, err := w.svc.Send(w.ctx, reqs[p])
				if again != receipts[p*raceK] || err == nil || err.Error() != errs[p*raceK].Error() {
					t.Fatalf("%s: retry with the money there: %v %+v", what, err, again)
				}
				w.checkRefused(what+" retried", payers[p], payees[p], 10_99)
			}
		}
	}
	w.checkSound()
}

// checkRefused fails unless payer holds funds, nothing pending, payee
// nothing, and the payer's day counts nothing.
func (w *world) checkRefused(what string, payer, payee user, funds int64) {
	w.t.Helper()
	tot, err := w.env.Store.DailyTotal(w.ctx, payer.id, w.svc.Day(w.clock.Now()), cny)
	must(w.t, err)
	if b := w.balance(payer.acct); b.Net() != funds || b.DebitsPending != 0 || w.net(payee.acct) != 0 || !tot.IsZero() {
		w.t.Fatalf("%s: money moved or counted: payer %+v, payee %d, daily total %v", what, b, w.net(payee.acct), tot)
	}
}

// holdSteps returns the post and the void of r's hold, under IDs of their
// own.
func holdSteps(r *transfer.Record) (post, void ledger.Transfer) {
	post = ledger.Transfer{ID: ledger.DeriveID(r.ID, "post"), Kind: ledger.KindPostPending, PendingID: r.ID}
	void = ledger.Transfer{ID: ledger.DeriveID(r.ID, "void"), Kind: ledger.KindVoidPending, PendingID: r.ID}
	return post, void
}

// ResolvePaid posts or voids a hold and moves its record in one step: a
// second resolution is refused by the record's rule with nothing moved; a
// hold the ledger resolved otherwise is refused by the ledger with the
// record as it was.
func testResolvePaid(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	ps := w.paying(t)
	alice, bob := w.user("Alice", yuan(t, "100")), w.user("Bob", ledger.Money{})
	lim := testLimits()
	now := w.l.Now()

	// Posted: settled, the total kept, the pair settled.
	a := paidRecord(alice, bob, yuan(t, "10"), transfer.Arrive2h)
	_, _, err := w.paid(ps, a, lim)
	must(t, err)
	post, void := holdSteps(&a)
	got, applied, err := ps.ResolvePaid(w.ctx, a.ID, post, transfer.StateSettled, "", nil, now)
	if err != nil || !applied || got.State != transfer.StateSettled || got != w.record(a.ID) {
		t.Fatalf("post: %v, applied %v, %+v", err, applied, got)
	}
	if w.net(bob.acct) != 10_00 || w.total(alice) != 10_00 || w.balance(alice.acct).DebitsPending != 0 {
		t.Fatalf("post: bob %d, total %d", w.net(bob.acct), w.total(alice))
	}
	if ok, _ := w.env.Store.SettledBefore(w.ctx, alice.id, "local", bob.id); !ok {
		t.Fatal("post: pair not settled")
	}
	// Again, or voided after: the record's rule refuses, nothing moves.
	for _, step := range []ledger.Transfer{post, void} {
		to, reason := transfer.StateSettled, ""
		if step.Kind == ledger.KindVoidPending {
			to, reason = transfer.StateCancelled, transfer.ReasonCancelled
		}
		again, applied, err := ps.ResolvePaid(w.ctx, a.ID, step, to, reason, nil, now)
		want(t, err, transfer.ErrStateConflict)
		if applied || again != got {
			t.Fatalf("resolved again: applied %v, %+v", applied, again)
		}
	}
	if _, ok := w.transferOf(void); ok {
		t.Fatal("a void refused by the record's rule is in the ledger")
	}

	// Voided: cancelled, the total released, the money back.
	b := paidRecord(alice, bob, yuan(t, "20"), transfer.Arrive24h)
	_, _, err = w.paid(ps, b, lim)
	must(t, err)
	_, void = holdSteps(&b)
	got, applied, err = ps.ResolvePaid(w.ctx, b.ID, void, transfer.StateCancelled, transfer.ReasonCancelled, nil, now)
	if err != nil || !applied || got.State != transfer.StateCancelled || got.Reason != transfer.ReasonCancelled {
		t.Fatalf("void: %v, applied %v, %+v", err, applied, got)
	}
	if w.net(alice.acct) != 90_00 || w.total(alice) != 10_00 || w.balance(alice.acct).DebitsPending != 0 {
		t.Fatalf("void: alice %+v, total %d", w.balance(alice.acct), w.total(alice))
	}

	// The ledger resolved the hold otherwise: refused, the record as it was.
	c := paidRecord(alice, bob, yuan(t, "5"), transfer.Arrive2h)
	pending, _, err := w.paid(ps, c, lim)
	must(t, err)
	post, _ = holdSteps(&c)
	_, err = w.l.Void(w.ctx, ledger.DeriveID(c.ID, "elsewhere"), c.ID)
	must(t, err)
	got, applied, err = ps.ResolvePaid(w.ctx, c.ID, post, transfer.StateSettled, "", nil, now)
	want(t, err, ledger.ErrPendingResolved)
	if applied || got != pending || w.record(c.ID) != pending {
		t.Fatalf("refused by the ledger: applied %v, %+v", applied, got)
	}
	if w.net(bob.acct) != 10_00 || w.total(alice) != 15_00 {
		t.Fatalf("refused by the ledger: bob %d, total %d", w.net(bob.acct), w.total(alice))
	}
	// The service finishes it (its slower path learns why).
	if _, err := w.svc.ReleaseDue(w.ctx, Start.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r := w.record(c.ID); r.State != transfer.StateCancelled {
		t.Fatalf("after ReleaseDue: %+v", r)
	}
	_, _, err = ps.ResolvePaid(w.ctx, uuid.New(), post, transfer.StateSettled, "", nil, now)
	want(t, err, transfer.ErrRecordNotFound)
	w.checkSound()
}

// A hold's post and void K times each at once, in one step each: one
// resolution wins, every other call is refused with nothing moved, and
// the record and the ledger agree.
func testRaceResolvePaid(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	ps := w.paying(t)
	lim := testLimits()
	type answer struct {
		r       transfer.Record
		applied bool
	}
	for it := range w.iterations() {
		var recs []transfer.Record
		var payers, payees []user
		for range racePayers {
			p, q := w.user("Payer", yuan(t, "10")), w.user("Payee", ledger.Money{})
			r := paidRecord(p, q, yuan(t, "10"), transfer.Arrive2h)
			_, _, err := w.paid(ps, r, lim)
			must(t, err)
			recs, payers, payees = append(recs, r), append(payers, p), append(payees, q)
		}
		now := w.l.Now()
		got, errs := ledgertest.Concurrently(racePayers*2*raceK, func(i int) (answer, error) {
			r := &recs[i/(2*raceK)]
			post, void := holdSteps(r)
			if i%2 == 0 {
				res, applied, err := ps.ResolvePaid(w.ctx, r.ID, post, transfer.StateSettled, "", nil, now)
				return answer{res, applied}, err
			}
			res, applied, err := ps.ResolvePaid(w.ctx, r.ID, void, transfer.StateCancelled, transfer.ReasonCancelled, nil, now)
			return answer{res, applied}, err
		})
		for p := range racePayers {
			what := fmt.Sprintf("iteration %d payer %d", it, p)
			won := 0
			final := w.record(recs[p].ID)
			for k := p * 2 * raceK; k < (p+1)*2*raceK; k++ {
				switch {
				case errs[k] == nil && got[k].applied && got[k].r == final:
					won++
				case errors.Is(errs[k], transfer.ErrStateConflict) && !got[k].applied && got[k].r == final:
				default:
					t.Fatalf("%s: call %d: %v, applied %v, %+v (stored %+v)", what, k, errs[k], got[k].applied, got[k].r, final)
				}
			}
			b := w.balance(payers[p].acct)
			switch {
			case won != 1:
				t.Fatalf("%s: %d resolutions won", what, won)
			case final.State == transfer.StateSettled && (b.Net() != 0 || w.net(payees[p].acct) != 10_00 || w.total(payers[p]) != 10_00),
				final.State == transfer.StateCancelled && (b.Net() != 10_00 || w.net(payees[p].acct) != 0 || w.total(payers[p]) != 0),
				b.DebitsPending != 0:
				t.Fatalf("%s: %v, payer %+v, payee %d, total %d", what, final.State, b, w.net(payees[p].acct), w.total(payers[p]))
			}
		}
	}
	w.checkSound()
}
