package transfertest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/transfer"
)

// Send by phone number, retried K times at once with one key, the payer's
// lookup budget holding exactly one lookup: every call answers the one
// payment's receipt. The duplicates reach the lookup before the first
// attempt's record exists; they share its charge (transfer.Limiter), where
// each paying its own would answer "rate limited". Afterwards the payer
// has what one found lookup leaves, no more: nothing was given back for
// the duplicates' uncharged lookups.
func testRaceSendByPhoneAtBudget(t *testing.T, newEnv func(testing.TB) Env) {
	var rate transfer.RateConfig
	w := newRateWorld(t, newEnv, func(rc *transfer.RateConfig) {
		rc.Payer.Capacity = rc.NotFoundCost // one lookup
		rc.SettledRefund = 0
		rate = *rc
	})
	for it := range w.iterations() {
		var payers []user
		var reqs []transfer.Request
		for range racePayers {
			p, q := w.user("Payer", yuan(t, "10")), w.user("Payee", fen(0))
			payers = append(payers, p)
			reqs = append(reqs, transfer.Request{Key: unique("key"), Payer: p.id, From: p.acct, Phone: q.phone, Amount: yuan(t, "10")})
		}
		receipts, errs := ledgertest.Concurrently(racePayers*raceK, func(i int) (transfer.Receipt, error) {
			return w.svc.Send(w.ctx, reqs[i/raceK])
		})
		for p := range racePayers {
			what := fmt.Sprintf("iteration %d payer %d", it, p)
			sameOutcome(t, what, receipts[p*raceK:(p+1)*raceK], errs[p*raceK:(p+1)*raceK])
			if errs[p*raceK] != nil {
				t.Fatalf("%s: %v", what, errs[p*raceK])
			}
			if n := w.net(payers[p].acct); n != 0 {
				t.Fatalf("%s: payer's wallet holds %d: paid other than once", what, n)
			}
			// One found lookup leaves NotFoundCost − FoundCost tokens: too
			// few for another lookup.
			_, err := w.svc.Resolve(w.ctx, payers[p].id, payers[p].phone)
			if !errors.Is(err, transfer.ErrRateLimited) {
				t.Fatalf("%s: a lookup after the payment: %v, want rate limited (the duplicates were given tokens back)", what, err)
			}
		}
		// FoundCost tokens later, the payers can look up again.
		w.clock.Advance(time.Duration(rate.FoundCost) * rate.Payer.Interval)
		for p := range racePayers {
			if _, err := w.svc.Resolve(w.ctx, payers[p].id, payers[p].phone); err != nil {
				t.Fatalf("iteration %d: a lookup once refilled: %v", it, err)
			}
		}
	}
	w.checkSound()
}

// RunLimiter checks a transfer.Limiter's lookup charges: newLimiter returns
// a limiter with every bucket full, configured by cfg (whose clock the
// suite moves). It is called once per case, and each case's clock starts
// at Start again: limiters must not share bucket state across cases.
func RunLimiter(t *testing.T, newLimiter func(t testing.TB, cfg transfer.RateConfig) transfer.Limiter) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, l transfer.Limiter, clock *ledgertest.Clock, cfg transfer.RateConfig)
	}{
		{"ChargeOnce", testChargeOnce},
		{"ChargesDiffer", testChargesDiffer},
		{"RefusedChargeNotKept", testRefusedChargeNotKept},
		{"ChargeTTL", testChargeTTL},
		{"FoundAdmittedAtNotFoundCost", testFoundAdmittedAtNotFoundCost},
		{"FoundChargeOnce", testFoundChargeOnce},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := ledgertest.NewClock(Start)
			cfg := transfer.DefaultRateConfig()
			cfg.Now = clock.Now
			tc.fn(t, newLimiter(t, cfg), clock, cfg)
		})
	}
}

// chargeOf is ChargeLookup of a miss that must not fail.
func chargeOf(t testing.TB, l transfer.Limiter, payer, charge uuid.UUID) bool {
	t.Helper()
	charged, err := l.ChargeLookup(context.Background(), payer, charge, false)
	must(t, err)
	return charged
}

// spend takes every lookup payer's bucket holds, as probes (uuid.Nil).
func spend(t testing.TB, l transfer.Limiter, payer uuid.UUID) {
	t.Helper()
	for {
		_, err := l.ChargeLookup(context.Background(), payer, uuid.Nil, false)
		if errors.Is(err, transfer.ErrRateLimited) {
			return
		}
		must(t, err)
	}
}

// K lookups at once under one charge, the bucket holding one lookup: one
// is charged, the rest pass uncharged, none is refused; a lookup under
// another charge then is.
func testChargeOnce(t *testing.T, l transfer.Limiter, clock *ledgertest.Clock, cfg transfer.RateConfig) {
	ctx := context.Background()
	for range ledgertest.RaceIterations(t, 20) {
		payer, charge := raceOneCharge(t, l, cfg, false)
		if _, err := l.ChargeLookup(ctx, payer, uuid.New(), false); !errors.Is(err, transfer.ErrRateLimited) {
			t.Fatalf("another charge with the budget spent: %v, want rate limited", err)
		}
		if chargeOf(t, l, payer, charge) {
			t.Fatal("the charge again: charged")
		}
	}
}

// Another charge ID (another number under the same key) and the zero ID
// are charged each time.
func testChargesDiffer(t *testing.T, l transfer.Limiter, clock *ledgertest.Clock, cfg transfer.RateConfig) {
	payer := uuid.New()
	for _, c := range []uuid.UUID{uuid.New(), uuid.New(), uuid.Nil, uuid.Nil} {
		if !chargeOf(t, l, payer, c) {
			t.Fatalf("charge %v: not charged", c)
		}
	}
	spend(t, l, payer)
	if _, err := l.ChargeLookup(context.Background(), payer, uuid.New(), false); !errors.Is(err, transfer.ErrRateLimited) {
		t.Fatalf("a new charge with the budget spent: %v", err)
	}
}

// A refused lookup leaves no charge behind: once the bucket refills, the
// same charge is charged.
func testRefusedChargeNotKept(t *testing.T, l transfer.Limiter, clock *ledgertest.Clock, cfg transfer.RateConfig) {
	payer, charge := uuid.New(), uuid.New()
	spend(t, l, payer)
	if _, err := l.ChargeLookup(context.Background(), payer, charge, false); !errors.Is(err, transfer.ErrRateLimited) {
		t.Fatalf("with the budget spent: %v", err)
	}
	clock.Advance(time.Duration(cfg.NotFoundCost) * cfg.Payer.Interval)
	if !chargeOf(t, l, payer, charge) {
		t.Fatal("after the refill, the charge refused before was not charged")
	}
}

// A charge is remembered for transfer.ChargeTTL, then charged again.
func testChargeTTL(t *testing.T, l transfer.Limiter, clock *ledgertest.Clock, cfg transfer.RateConfig) {
	payer, charge := uuid.New(), uuid.New()
	if !chargeOf(t, l, payer, charge) {
		t.Fatal("first: not charged")
	}
	clock.Advance(transfer.ChargeTTL - time.Nanosecond)
	if chargeOf(t, l, payer, charge) {
		t.Fatal("within the TTL: charged again")
	}
	clock.Advance(time.Nanosecond)
	if !chargeOf(t, l, payer, charge) {
		t.Fatal("after the TTL: not charged")
	}
}

// A found lookup costs FoundCost but is admitted, as a miss is, only while
// the bucket holds NotFoundCost: from a full bucket, Capacity −
// NotFoundCost + 1 found lookups pass, then a found lookup is refused
// (holding NotFoundCost − 1 ≥ FoundCost tokens) as a miss is, both by
// the payer's bucket; once it holds NotFoundCost again, one lookup passes.
func testFoundAdmittedAtNotFoundCost(t *testing.T, l transfer.Limiter, clock *ledgertest.Clock, cfg transfer.RateConfig) {
	ctx := context.Background()
	payer := uuid.New()
	n := int64(0)
	for ; ; n++ {
		_, err := l.ChargeLookup(ctx, payer, uuid.Nil, true)
		if errors.Is(err, transfer.ErrRateLimited) {
			break
		}
		must(t, err)
		if n > cfg.Payer.Capacity {
			t.Fatal("found lookups never refused")
		}
	}
	if want := (cfg.Payer.Capacity-cfg.NotFoundCost)/cfg.FoundCost + 1; n != want {
		t.Fatalf("%d found lookups passed from a full bucket, want %d (admitted at NotFoundCost, charged FoundCost)", n, want)
	}
	for _, found := range []bool{true, false} {
		_, err := l.ChargeLookup(ctx, payer, uuid.New(), found)
		var rl *transfer.RateLimitError
		if !errors.As(err, &rl) || rl.Scope != transfer.ScopePayer {
			t.Fatalf("found=%v at the last tokens: %v, want the payer's rate limit", found, err)
		}
	}
	// The bucket holds NotFoundCost − FoundCost: FoundCost tokens later it
	// admits one lookup, found or not.
	clock.Advance(time.Duration(cfg.FoundCost) * cfg.Payer.Interval)
	if !chargeOf(t, l, payer, uuid.Nil) {
		t.Fatal("a miss at NotFoundCost tokens: not charged")
	}
	if _, err := l.ChargeLookup(ctx, payer, uuid.Nil, true); !errors.Is(err, transfer.ErrRateLimited) {
		t.Fatalf("a found lookup on an emptied bucket: %v, want rate limited", err)
	}
}

// K found lookups at once under one charge, from a bucket holding exactly
// NotFoundCost: one is charged, FoundCost, the rest pass uncharged; the
// bucket then holds NotFoundCost − FoundCost, too few for another lookup.
func testFoundChargeOnce(t *testing.T, l transfer.Limiter, clock *ledgertest.Clock, cfg transfer.RateConfig) {
	ctx := context.Background()
	for range ledgertest.RaceIterations(t, 20) {
		payer, _ := raceOneCharge(t, l, cfg, true)
		if _, err := l.ChargeLookup(ctx, payer, uuid.New(), true); !errors.Is(err, transfer.ErrRateLimited) {
			t.Fatalf("another found lookup after the charge: %v, want rate limited", err)
		}
	}
}

// raceOneCharge leaves a new payer's bucket holding one lookup
// (NotFoundCost), then makes 8 lookups at once under one new charge,
// found or not, and fails unless exactly one was charged and none refused.
func raceOneCharge(t *testing.T, l transfer.Limiter, cfg transfer.RateConfig, found bool) (payer, charge uuid.UUID) {
	t.Helper()
	payer, charge = uuid.New(), uuid.New()
	for range cfg.Payer.Capacity/cfg.NotFoundCost - 1 {
		chargeOf(t, l, payer, uuid.Nil)
	}
	charged, errs := ledgertest.Concurrently(8, func(int) (bool, error) {
		return l.ChargeLookup(context.Background(), payer, charge, found)
	})
	n := 0
	for i := range charged {
		must(t, errs[i])
		if charged[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d of 8 lookups (found %v) under one charge were charged, want 1", n, found)
	}
	return payer, charge
}
