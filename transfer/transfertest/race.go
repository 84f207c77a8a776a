package transfertest

import (
	"cmp"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/transfer"
)

// The race cases (issue 10): K identical calls at once at the boundary
// where the first one changes the answer. Every call must get the
// winner's outcome or a documented "lost the race" error, never a refusal
// the winner caused. Each case repeats ledgertest.RaceIterations times
// (SOCIALPAY_RACE_ITERATIONS for the long mode) and races several
// independent payers per iteration, so that a race showing in 1% of tries
// is caught.

// raceK is how many identical calls each race makes at once; racePayers
// how many independent races run together in one iteration.
const (
	raceK      = 4
	racePayers = 3
)

// iterations returns how many times a race case repeats.
func (w *world) iterations() int {
	return ledgertest.RaceIterations(w.t, cmp.Or(w.env.RaceIterations, 40))
}

// sameOutcome fails t unless every call got the same answer: equal
// receipts and no error, or the same error.
func sameOutcome(t testing.TB, what string, got []transfer.Receipt, errs []error) {
	t.Helper()
	for i := range got {
		if (errs[i] == nil) != (errs[0] == nil) || errs[i] != nil && errs[i].Error() != errs[0].Error() {
			t.Fatalf("%s: call %d answered %v, call 0 answered %v", what, i, errs[i], errs[0])
		}
		if got[i] != got[0] {
			t.Fatalf("%s: call %d got\n%+v\ncall 0 got\n%+v", what, i, got[i], got[0])
		}
	}
}

// checkSound runs Check and ledger.Verify.
func (w *world) checkSound() {
	w.t.Helper()
	if rep, err := w.svc.Check(w.ctx, time.Time{}, w.clock.Now()); err != nil {
		w.t.Fatalf("records disagree with the ledger: %+v: %v", rep, err)
	}
	w.verify()
}

// Send retried K times at once with one key, the payer's balance equal to
// the amount: one payment, every call answered with its settled receipt,
// none with the insufficient funds it caused.
func testRaceSendExactBalance(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	for it := range w.iterations() {
		for _, arrival := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h} {
			payers, payees, reqs := w.racePairs(yuan(t, "10"), arrival)
			receipts, errs := ledgertest.Concurrently(racePayers*raceK, func(i int) (transfer.Receipt, error) {
				return w.svc.Send(w.ctx, reqs[i/raceK])
			})
			for p := range racePayers {
				what := fmt.Sprintf("iteration %d %v payer %d", it, arrival, p)
				sameOutcome(t, what, receipts[p*raceK:(p+1)*raceK], errs[p*raceK:(p+1)*raceK])
				if errs[p*raceK] != nil {
					t.Fatalf("%s: %v", what, errs[p*raceK])
				}
				b := w.balance(payers[p].acct)
				if arrival == transfer.ArriveNow && (b.Net() != 0 || w.net(payees[p].acct) != 10_00) ||
					arrival != transfer.ArriveNow && (b.DebitsPending != 10_00 || b.DebitsPosted != 0) {
					t.Fatalf("%s: payer %+v, payee %d: paid other than once", what, b, w.net(payees[p].acct))
				}
			}
		}
	}
	w.checkSound()
}

// racePairs makes racePayers payers, each funded with amount, their
// payees, and one request each paying the whole of it.
func (w *world) racePairs(amount ledger.Money, arrival transfer.Arrival) (payers, payees []user, reqs []transfer.Request) {
	for range racePayers {
		p, q := w.user("Payer", amount), w.user("Payee", ledger.Money{})
		payers, payees = append(payers, p), append(payees, q)
		reqs = append(reqs, w.request(p, q, amount, arrival))
	}
	return payers, payees, reqs
}

// The daily-limit edge: two different sends that each fit the payer's day
// but not both, each retried K times at once. One of them wins, and every
// retry of it gets its receipt; every retry of the other is over the
// daily limit. No retry of the winner is refused because of the winner.
func testRaceDailyLimitEdge(t *testing.T, newEnv func(testing.TB) Env) {
	lim := testLimits()
	lim.FirstPayee = lim.PerTransfer
	w := newWorld(t, newEnv, withLimits(lim))
	for it := range w.iterations() {
		var reqs []transfer.Request
		var payers []user
		for range racePayers {
			p, q := w.user("Payer", yuan(t, "5000")), w.user("Payee", ledger.Money{})
			payers = append(payers, p)
			// 1,500.00 a day: 800.00 and 700.01 each fit, not both.
			reqs = append(reqs, w.request(p, q, yuan(t, "800"), transfer.ArriveNow), w.request(p, q, yuan(t, "700.01"), transfer.ArriveNow))
		}
		receipts, errs := ledgertest.Concurrently(racePayers*2*raceK, func(i int) (transfer.Receipt, error) {
			return w.svc.Send(w.ctx, reqs[i/raceK])
		})
		for p := range racePayers {
			won := 0
			for j := range 2 {
				lo := (2*p + j) * raceK
				what := fmt.Sprintf("iteration %d payer %d send %d", it, p, j)
				sameOutcome(t, what, receipts[lo:lo+raceK], errs[lo:lo+raceK])
				switch err := errs[lo]; {
				case err == nil && receipts[lo].State == transfer.StateSettled:
					won++
				case !errors.Is(err, transfer.ErrOverDailyLimit):
					t.Fatalf("%s: %v, want settled or over the daily limit", what, err)
				}
			}
			if won != 1 {
				t.Fatalf("iteration %d payer %d: %d sends won, want 1", it, p, won)
			}
			tot, err := w.env.Store.DailyTotal(w.ctx, payers[p].id, w.svc.Day(w.clock.Now()), cny)
			must(t, err)
			if spent := 5000_00 - w.net(payers[p].acct); tot.Units() != spent || spent != 800_00 && spent != 700_01 {
				t.Fatalf("iteration %d payer %d: spent %d, daily total %v", it, p, spent, tot)
			}
		}
	}
	w.checkSound()
}

// A delayed transfer cancelled K times and released by K sweeps at once,
// at its due time: it lands or goes back, once; every Cancel answers the
// same (cancelled, or ErrAlreadySettled: it lost the race), and the
// sweeps' counts add up to the transfers that landed.
func testRaceCancelRelease(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	for it := range w.iterations() {
		payers, payees, reqs := w.racePairs(yuan(t, "10"), transfer.Arrive2h)
		var ids []uuid.UUID
		for _, req := range reqs {
			r, err := w.svc.Send(w.ctx, req)
			must(t, err)
			ids = append(ids, r.ID)
		}
		due := w.record(ids[len(ids)-1]).DueAt
		const calls = racePayers * raceK
		counts, errs := ledgertest.Concurrently(calls+raceK, func(i int) (int, error) {
			if i >= calls {
				return w.svc.ReleaseDue(w.ctx, due)
			}
			r, err := w.svc.Cancel(w.ctx, payers[i/raceK].id, ids[i/raceK])
			if err == nil && r.State != transfer.StateCancelled {
				err = fmt.Errorf("cancel answered %v", r.State)
			}
			return 0, err
		})
		landed := 0
		for p := range racePayers {
			what := fmt.Sprintf("iteration %d payer %d", it, p)
			errsP := errs[p*raceK : (p+1)*raceK]
			for i := range errsP {
				if (errsP[i] == nil) != (errsP[0] == nil) {
					t.Fatalf("%s: cancel %d answered %v, cancel 0 %v", what, i, errsP[i], errsP[0])
				}
			}
			rec := w.record(ids[p])
			switch {
			case errsP[0] == nil && rec.State == transfer.StateCancelled:
				if w.net(payees[p].acct) != 0 || w.balance(payers[p].acct).Net() != 10_00 {
					t.Fatalf("%s: cancelled, yet money moved", what)
				}
			case errors.Is(errsP[0], transfer.ErrAlreadySettled) && rec.State == transfer.StateSettled:
				landed++
				if w.net(payees[p].acct) != 10_00 {
					t.Fatalf("%s: settled, payee has %d", what, w.net(payees[p].acct))
				}
			default:
				t.Fatalf("%s: cancel answered %v, record %v", what, errsP[0], rec.State)
			}
		}
		sum := 0
		for i := calls; i < len(counts); i++ {
			if errs[i] != nil {
				t.Fatalf("iteration %d: sweep: %v", it, errs[i])
			}
			sum += counts[i]
		}
		if sum != landed {
			t.Fatalf("iteration %d: sweeps counted %d releases, %d landed", it, sum, landed)
		}
	}
	w.checkSound()
}

// A chat transfer accepted K times while K expiry sweeps run, at the
// expiry instant and just before it: it is settled or expired, once, and
// every Accept answers the same (its receipt, or ErrChatExpired: it lost
// the race or came too late).
func testRaceAcceptExpiry(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	for it := range w.iterations() {
		for _, early := range []time.Duration{0, time.Microsecond} {
			payers, payees, reqs := w.racePairs(yuan(t, "10"), transfer.ArriveOnAccept)
			var ids []uuid.UUID
			for _, req := range reqs {
				r, err := w.svc.Send(w.ctx, req)
				must(t, err)
				ids = append(ids, r.ID)
			}
			due := w.record(ids[len(ids)-1]).DueAt
			w.clock.Set(due.Add(-early)) // Accept's now; the sweeps pass the due time
			const calls = racePayers * raceK
			receipts, errs := ledgertest.Concurrently(calls+raceK, func(i int) (transfer.Receipt, error) {
				if i >= calls {
					n, err := w.svc.ExpireChats(w.ctx, due)
					return transfer.Receipt{Amount: fen(int64(n))}, err
				}
				return w.svc.Accept(w.ctx, payees[i/raceK].id, ids[i/raceK])
			})
			expired := 0
			for p := range racePayers {
				what := fmt.Sprintf("iteration %d early %v payer %d", it, early, p)
				sameOutcome(t, what, receipts[p*raceK:(p+1)*raceK], errs[p*raceK:(p+1)*raceK])
				rec := w.record(ids[p])
				switch err := errs[p*raceK]; {
				case err == nil && rec.State == transfer.StateSettled:
					if early == 0 {
						t.Fatalf("%s: accepted at the expiry instant", what)
					}
					if w.net(payees[p].acct) != 10_00 {
						t.Fatalf("%s: accepted, payee has %d", what, w.net(payees[p].acct))
					}
				case errors.Is(err, transfer.ErrChatExpired) && rec.State == transfer.StateCancelled && rec.Reason == transfer.ReasonExpired:
					expired++
					if w.net(payees[p].acct) != 0 || w.balance(payers[p].acct).Net() != 10_00 {
						t.Fatalf("%s: expired, yet money moved", what)
					}
				default:
					t.Fatalf("%s: accept answered %v, record %v %q", what, err, rec.State, rec.Reason)
				}
			}
			sum := 0
			for i := calls; i < len(receipts); i++ {
				if errs[i] != nil {
					t.Fatalf("iteration %d: sweep: %v", it, errs[i])
				}
				sum += int(receipts[i].Amount.Units())
			}
			if sum > expired {
				t.Fatalf("iteration %d early %v: sweeps counted %d expiries, %d expired", it, early, sum, expired)
			}
		}
	}
	w.checkSound()
}

// Reconcile run by K goroutines at once over transfers a crash left
// pending, each payer's balance equal to the amount: each is finished
// once, none is refused for the payment of another call, and the reports
// add up to what was done.
func testRaceReconcile(t *testing.T, newEnv func(testing.TB) Env) {
	fl := &flakyLedger{}
	w := newWorld(t, newEnv, withFlakyLedger(fl))
	for it := range w.iterations() {
		payers, payees, reqs := w.racePairs(yuan(t, "10"), transfer.ArriveNow)
		var ids []uuid.UUID
		for _, req := range reqs {
			fl.before.Store(1) // a crash before the ledger: the record stays pending
			_, err := w.svc.Send(w.ctx, req)
			want(t, err, errInjected)
			ids = append(ids, w.svc.RecordID(req.Payer, req.Key))
		}
		// A lone refusal is failed for good at once: nothing else can be
		// writing its ledger transfer, and Reconcile has nothing to do.
		poor, payee := w.user("Poor", ledger.Money{}), w.user("Payee", ledger.Money{})
		req := w.request(poor, payee, yuan(t, "10"), transfer.ArriveNow)
		_, err := w.svc.Send(w.ctx, req)
		want(t, err, ledger.ErrInsufficientFunds)
		fid := w.svc.RecordID(poor.id, req.Key)
		if st := w.state(fid); st != transfer.StateFailed {
			t.Fatalf("a lone refusal: %v, want failed at once", st)
		}
		reps, errs := ledgertest.Concurrently(raceK, func(int) (transfer.ReconcileReport, error) {
			return w.svc.Reconcile(w.ctx, w.clock.Now())
		})
		var sum transfer.ReconcileReport
		for i, r := range reps {
			if errs[i] != nil {
				t.Fatalf("iteration %d: Reconcile %d: %v", it, i, errs[i])
			}
			sum.Settled += r.Settled
			sum.Failed += r.Failed
			sum.Cancelled += r.Cancelled
		}
		if sum != (transfer.ReconcileReport{Settled: racePayers}) {
			t.Fatalf("iteration %d: reports add up to %+v, want %d settled", it, sum, racePayers)
		}
		for p := range racePayers {
			if st := w.state(ids[p]); st != transfer.StateSettled || w.net(payers[p].acct) != 0 || w.net(payees[p].acct) != 10_00 {
				t.Fatalf("iteration %d payer %d: %v, payer %d payee %d", it, p, st, w.net(payers[p].acct), w.net(payees[p].acct))
			}
		}
	}
	w.checkSound()
}

// A delayed transfer cancelled K times while K release sweeps run, all at
// its arrival instant (the clock reads DueAt): it has arrived, so it
// lands, once, and every Cancel answers ErrArrived (with
// ErrAlreadySettled when the sweep was first), never a cancellation.
func testRaceCancelReleaseAtArrival(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv)
	for it := range w.iterations() {
		payers, payees, reqs := w.racePairs(yuan(t, "10"), transfer.Arrive2h)
		var ids []uuid.UUID
		for _, req := range reqs {
			r, err := w.svc.Send(w.ctx, req)
			must(t, err)
			ids = append(ids, r.ID)
		}
		due := w.record(ids[0]).DueAt
		w.clock.Set(due)
		const calls = racePayers * raceK
		counts, errs := ledgertest.Concurrently(calls+raceK, func(i int) (int, error) {
			if i >= calls {
				return w.svc.ReleaseDue(w.ctx, due)
			}
			r, err := w.svc.Cancel(w.ctx, payers[i/raceK].id, ids[i/raceK])
			if err == nil {
				err = fmt.Errorf("cancel at the arrival instant answered %v", r.State)
			}
			return 0, err
		})
		for i := range calls {
			if !errors.Is(errs[i], transfer.ErrArrived) {
				t.Fatalf("iteration %d payer %d: cancel at the arrival instant: %v, want ErrArrived", it, i/raceK, errs[i])
			}
		}
		sum := 0
		for i := calls; i < len(counts); i++ {
			if errs[i] != nil {
				t.Fatalf("iteration %d: sweep: %v", it, errs[i])
			}
			sum += counts[i]
		}
		if sum != racePayers {
			t.Fatalf("iteration %d: sweeps counted %d releases, want %d", it, sum, racePayers)
		}
		for p := range racePayers {
			if st := w.record(ids[p]).State; st != transfer.StateSettled || w.net(payees[p].acct) != 10_00 || w.balance(payers[p].acct).Net() != 0 {
				t.Fatalf("iteration %d payer %d: %v, payee has %d", it, p, st, w.net(payees[p].acct))
			}
			_, err := w.svc.Cancel(w.ctx, payers[p].id, ids[p])
			if !errors.Is(err, transfer.ErrArrived) || !errors.Is(err, transfer.ErrAlreadySettled) {
				t.Fatalf("iteration %d payer %d: cancel after release: %v", it, p, err)
			}
		}
	}
	w.checkSound()
}
