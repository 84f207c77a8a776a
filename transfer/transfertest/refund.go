package transfertest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/transfer"
)

// The settled payment's lookup refund (Limiter.PaymentSettled, or the
// paying store's own step when it refunds on the limiter,
// PayingStore.RefundsOn) lands once per settled payment, however many
// identical calls race to make or settle it, and never for a payment
// refused. The buckets are observed through lookups: a payer bucket of
// 40 tokens, 1 a found key, 20 a miss, 1 back per settled payment, and a
// clock that refills nothing within a run.

// refundRate is the rate of the refund cases.
func refundRate(rc *transfer.RateConfig) {
	rc.Payer = transfer.BucketConfig{Capacity: 40, Interval: 100 * 24 * time.Hour}
	rc.FoundCost, rc.NotFoundCost, rc.SettledRefund = 1, 20, 1
}

// lowBucket resolves payee's number for payer (a found key: 39 tokens)
// and a number nobody holds (a miss: 19 tokens, too few for a lookup),
// and returns the lookup token.
func (w *world) lowBucket(t *testing.T, payer, payee user) string {
	t.Helper()
	r, err := w.svc.Resolve(w.ctx, payer.id, payee.phone)
	must(t, err)
	if _, err := w.svc.Resolve(w.ctx, payer.id, string(number())); !errors.Is(err, transfer.ErrNotBound) {
		t.Fatalf("a number nobody holds: %v", err)
	}
	if _, err := w.svc.Resolve(w.ctx, payer.id, payee.phone); !errors.Is(err, transfer.ErrRateLimited) {
		t.Fatalf("with 19 tokens: %v, want rate limited", err)
	}
	return r.Token
}

// refunds returns how many refunds payer's bucket got since lowBucket
// left it at 19 tokens (0, 1, or 2 meaning at least 2), by lookups of
// payee, which cost 1 each once admitted at 20: none is admitted
// without a refund, one with one, two with two or more.
func (w *world) refunds(t *testing.T, payer, payee user) int {
	t.Helper()
	for n := range 2 {
		_, err := w.svc.Resolve(w.ctx, payer.id, payee.phone)
		if errors.Is(err, transfer.ErrRateLimited) {
			return n
		}
		must(t, err)
	}
	return 2
}

// K identical sends at once, by a lookup token: one settled payment, one
// refund; K identical sends the ledger refuses (more than the payer
// holds): no refund.
func testRaceRefundOnce(t *testing.T, newEnv func(testing.TB) Env) {
	w := newRateWorld(t, newEnv, refundRate)
	for it := range w.iterations() {
		what := fmt.Sprintf("iteration %d", it)
		payer, payee := w.user("Payer", yuan(t, "10")), w.user("Payee", fen(0))
		req := transfer.Request{Key: unique("key"), Payer: payer.id, From: payer.acct, Token: w.lowBucket(t, payer, payee), Amount: yuan(t, "10")}
		receipts, errs := ledgertest.Concurrently(raceK, func(int) (transfer.Receipt, error) { return w.svc.Send(w.ctx, req) })
		sameOutcome(t, what, receipts, errs)
		if errs[0] != nil || receipts[0].State != transfer.StateSettled {
			t.Fatalf("%s: %+v %v", what, receipts[0], errs[0])
		}
		if n := w.refunds(t, payer, payee); n != 1 {
			t.Fatalf("%s: %d refunds after %d identical sends, want 1", what, n, raceK)
		}

		poor := w.user("Poor", yuan(t, "1"))
		req = transfer.Request{Key: unique("key"), Payer: poor.id, From: poor.acct, Token: w.lowBucket(t, poor, payee), Amount: yuan(t, "10")}
		receipts, errs = ledgertest.Concurrently(raceK, func(int) (transfer.Receipt, error) { return w.svc.Send(w.ctx, req) })
		sameOutcome(t, what, receipts, errs)
		if !errors.Is(errs[0], transfer.ErrTransferFailed) {
			t.Fatalf("%s: a send beyond the balance: %v, want failed", what, errs[0])
		}
		if n := w.refunds(t, poor, payee); n != 0 {
			t.Fatalf("%s: %d refunds after a refused send, want 0", what, n)
		}
	}
	w.checkSound()
}

// A delayed send by a lookup token refunds when it lands, once, however
// many sweeps race to land it; one cancelled never refunds.
func testRaceRefundOnRelease(t *testing.T, newEnv func(testing.TB) Env) {
	w := newRateWorld(t, newEnv, refundRate)
	for it := range w.iterations() {
		what := fmt.Sprintf("iteration %d", it)
		payer, payee := w.user("Payer", yuan(t, "10")), w.user("Payee", fen(0))
		rc, err := w.svc.Send(w.ctx, transfer.Request{Key: unique("key"), Payer: payer.id, From: payer.acct, Token: w.lowBucket(t, payer, payee),
			Amount: yuan(t, "4"), Arrival: transfer.Arrive2h})
		must(t, err)
		other := w.user("Other", yuan(t, "10"))
		rx, err := w.svc.Send(w.ctx, transfer.Request{Key: unique("key"), Payer: other.id, From: other.acct, Token: w.lowBucket(t, other, payee),
			Amount: yuan(t, "4"), Arrival: transfer.Arrive2h})
		must(t, err)
		if n := w.refunds(t, payer, payee); n != 0 {
			t.Fatalf("%s: %d refunds before the transfer landed, want 0", what, n)
		}
		_, err = w.svc.Cancel(w.ctx, other.id, rx.ID)
		must(t, err)
		w.clock.Advance(rc.DueAt.Sub(w.clock.Now()))
		_, errs := ledgertest.Concurrently(raceK, func(int) (int, error) { return w.svc.ReleaseDue(w.ctx, rc.DueAt) })
		for _, err := range errs {
			must(t, err)
		}
		got, err := w.svc.Get(w.ctx, payer.id, rc.ID)
		must(t, err)
		if got.State != transfer.StateSettled {
			t.Fatalf("%s: %s after the sweeps, want settled", what, got.State)
		}
		if n := w.refunds(t, payer, payee); n != 1 {
			t.Fatalf("%s: %d refunds after %d racing sweeps landed the transfer, want 1", what, n, raceK)
		}
		if n := w.refunds(t, other, payee); n != 0 {
			t.Fatalf("%s: %d refunds of a cancelled transfer, want 0", what, n)
		}
	}
	w.checkSound()
}
