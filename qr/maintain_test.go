package qr

import (
	"encoding/json"
	"testing"
	"time"
)

// Maintain forgets the payment codes too old to be replayed and
// reconciles, as of the time it is given; without PaymentCodes it skips
// the sweep rather than fail.
func TestMaintain(t *testing.T) {
	e := newEnv(t, nil, nil)
	alice := e.wallet("alice", 100_00)
	shop := e.wallet("shop", 0)
	code := e.code(e.device("alice-phone", alice))
	if _, err := e.charge(shop, code, 1_00, "o1"); err != nil {
		t.Fatal(err)
	}
	if rep, err := e.svc.Maintain(e.ctx, e.clock.Now().Add(time.Minute)); err != nil || rep.Forgotten != 0 {
		t.Fatalf("Maintain in the replay window: %+v, %v", rep, err)
	}
	rep, err := e.svc.Maintain(e.ctx, e.clock.Now().Add(3*time.Minute)) // the service's clock has not moved
	if err != nil || rep.Forgotten != 1 || rep.Reconcile != (ReconcileReport{}) || rep.Errors != nil {
		t.Fatalf("Maintain past the window: %+v, %v", rep, err)
	}
	b, err := json.Marshal(rep)
	if err != nil || string(b) != `{"forgotten":1,"reconcile":{"completed":0,"cancelled":0,"pending":0,"repaired":0,"unrepaired":0}}` {
		t.Fatalf("JSON %s, %v", b, err)
	}
	bare, err := New(Config{Ledger: e.ledger, SingleProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := bare.Maintain(e.ctx, e.clock.Now()); err != nil || rep.Forgotten != 0 {
		t.Fatalf("Maintain without PaymentCodes: %+v, %v", rep, err)
	}
}
