package ledgertest

import (
	"errors"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// RaceIterations is how often a race case repeats its scenario: def, or
// the value of the environment variable SOCIALPAY_RACE_ITERATIONS when it
// is set (scripts/race.sh sets it for the long mode), or a tenth of def
// (at least 1) under -short. A race that shows in 1% of tries is caught
// by a few hundred iterations; CI runs the defaults.
func RaceIterations(t testing.TB, def int) int {
	t.Helper()
	if v := os.Getenv("SOCIALPAY_RACE_ITERATIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SOCIALPAY_RACE_ITERATIONS=%q: want a positive integer", v)
		}
		return n
	}
	if testing.Short() {
		return max(1, def/10)
	}
	return def
}

// Concurrently runs fn(0) … fn(k-1) on k goroutines released together, as
// a client's retries or several instances reach a service at one instant,
// and returns their answers in call order when all have returned.
func Concurrently[T any](k int, fn func(i int) (T, error)) ([]T, []error) {
	vals, errs := make([]T, k), make([]error, k)
	var ready, wg sync.WaitGroup
	start := make(chan struct{})
	ready.Add(k)
	for i := range k {
		wg.Go(func() {
			ready.Done()
			<-start
			vals[i], errs[i] = fn(i)
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
	return vals, errs
}

// sameAnswers fails t unless every call of a race got the same answer: all
// nil errors with transfers equal in ID, status and timestamp (a duplicate
// returns the original), or all the same error.
func sameAnswers(t testing.TB, what string, got []ledger.Transfer, errs []error) {
	t.Helper()
	for i := range got {
		if (errs[i] == nil) != (errs[0] == nil) || (errs[i] != nil && errs[i].Error() != errs[0].Error()) {
			t.Fatalf("%s: call %d answered %v, call 0 answered %v", what, i, errs[i], errs[0])
		}
		if errs[i] == nil && (got[i].ID != got[0].ID || got[i].Status != got[0].Status || !got[i].Timestamp.Equal(got[0].Timestamp)) {
			t.Fatalf("%s: call %d got %+v, call 0 got %+v", what, i, got[i], got[0])
		}
	}
}

// raceK is how many identical calls each race case makes at once.
const raceK = 4

// testRaceExactBalance: raceK identical transfers (one ID, one content) at
// once from a wallet that holds exactly their amount. The first to commit
// empties the wallet; every other is its duplicate and gets its answer —
// never the insufficient funds the first one caused.
func testRaceExactBalance(t *testing.T, e *env) {
	for range RaceIterations(t, 100) {
		w, to := e.wallet("1.00"), e.wallet("")
		tr := ledger.Transfer{ID: uuid.New(), DebitAccountID: w, CreditAccountID: to, Amount: e.money("1.00")}
		got, errs := Concurrently(raceK, func(int) (ledger.Transfer, error) { return e.l.Transfer(e.ctx, tr) })
		sameAnswers(t, "exact-balance duplicates", got, errs)
		if errs[0] != nil {
			t.Fatalf("exact-balance transfer refused: %v", errs[0])
		}
		e.net(w, 0)
		e.net(to, 100)
	}
	e.verify()
}

// testRaceLinkedExactBalance: raceK identical linked batches at once that
// together spend exactly the wallet.
func testRaceLinkedExactBalance(t *testing.T, e *env) {
	for range RaceIterations(t, 50) {
		w, a, b := e.wallet("1.00"), e.wallet(""), e.wallet("")
		batch := []ledger.Transfer{
			{ID: uuid.New(), DebitAccountID: w, CreditAccountID: a, Amount: e.money("0.60")},
			{ID: uuid.New(), DebitAccountID: w, CreditAccountID: b, Amount: e.money("0.40")},
		}
		rs, errs := Concurrently(raceK, func(int) ([]ledger.Result, error) { return e.l.Linked(e.ctx, batch) })
		for i := range rs {
			if errs[i] != nil {
				t.Fatalf("call %d: %v", i, errs[i])
			}
			for j, r := range rs[i] {
				if r.Err != nil || !r.Transfer.Timestamp.Equal(rs[0][j].Transfer.Timestamp) {
					t.Fatalf("call %d transfer %d: %+v, call 0: %+v", i, j, r, rs[0][j])
				}
			}
		}
		e.net(w, 0)
		e.net(a, 60)
		e.net(b, 40)
	}
	e.verify()
}

// testRaceResolve: raceK identical posts of one hold race raceK identical
// voids of it. One side wins; every identical call gets the winner's
// answer, and the other side gets ErrPendingResolved.
func testRaceResolve(t *testing.T, e *env) {
	for range RaceIterations(t, 50) {
		w, to := e.wallet("1.00"), e.wallet("")
		h := e.hold(w, to, "1.00", 0)
		postID, voidID := uuid.New(), uuid.New()
		got, errs := Concurrently(2*raceK, func(i int) (ledger.Transfer, error) {
			if i%2 == 0 {
				return e.l.Post(e.ctx, postID, h.ID, ledger.Money{})
			}
			return e.l.Void(e.ctx, voidID, h.ID)
		})
		var posts, voids []ledger.Transfer
		var postErrs, voidErrs []error
		for i := range got {
			if i%2 == 0 {
				posts, postErrs = append(posts, got[i]), append(postErrs, errs[i])
			} else {
				voids, voidErrs = append(voids, got[i]), append(voidErrs, errs[i])
			}
		}
		sameAnswers(t, "posts", posts, postErrs)
		sameAnswers(t, "voids", voids, voidErrs)
		switch {
		case postErrs[0] == nil && errors.Is(voidErrs[0], ledger.ErrPendingResolved):
			e.net(to, 100)
		case voidErrs[0] == nil && errors.Is(postErrs[0], ledger.ErrPendingResolved):
			e.net(to, 0)
			e.net(w, 100)
		default:
			t.Fatalf("post answered %v, void answered %v: want one winner and ErrPendingResolved for the other", postErrs[0], voidErrs[0])
		}
	}
	e.verify()
}

// testRaceReversal: raceK identical reversals (one ID) at once of a
// transfer whose payee holds exactly its amount: all get the one reversal,
// never "already reversed" or insufficient funds caused by itself.
func testRaceReversal(t *testing.T, e *env) {
	for range RaceIterations(t, 50) {
		w, to := e.wallet("1.00"), e.wallet("")
		tr, err := e.pay(w, to, "1.00")
		if err != nil {
			t.Fatal(err)
		}
		id := uuid.New()
		got, errs := Concurrently(raceK, func(int) (ledger.Transfer, error) { return e.l.Reverse(e.ctx, id, tr.ID, "refund") })
		sameAnswers(t, "reversals", got, errs)
		if errs[0] != nil {
			t.Fatalf("reversal refused: %v", errs[0])
		}
		e.net(w, 100)
		e.net(to, 0)
	}
	e.verify()
}
