package qr

import (
	"errors"
	"testing"
)

// A day's cap total that drifted from its reservations is reported by
// Check and by Reconcile, which leaves it alone.
func TestCheckCapTotalDrift(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.payee("shop", "Shop")
	alice := e.wallet("alice", 100_00)
	static := e.issueStatic("shop")
	if _, err := e.pay(alice, static, 10_00, "k"); err != nil {
		t.Fatal(err)
	}
	if rep, err := e.svc.Check(e.ctx); err != nil || rep.Totals != 1 {
		t.Fatalf("Check: %+v, %v", rep, err)
	}
	e.store.capsMu.Lock()
	for k := range e.store.capTotals {
		e.store.capTotals[k] += 1
	}
	e.store.capsMu.Unlock()
	rep, err := e.svc.Check(e.ctx)
	if !errors.Is(err, ErrRecordMismatch) || len(rep.Problems) != 1 || rep.Problems[0].Kind != ProblemCapTotal || rep.Problems[0].Payer != alice {
		t.Fatalf("Check after drift: %+v, %v", rep.Problems, err)
	}
	if rrep, err := e.svc.Reconcile(e.ctx, e.clock.Now()); !errors.Is(err, ErrRecordMismatch) || rrep != (ReconcileReport{Unrepaired: 1}) {
		t.Fatalf("Reconcile: %+v, %v", rrep, err)
	}
}
