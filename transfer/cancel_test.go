package transfer_test

import (
	"testing"
	"time"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

// A delayed transfer whose arrival time has come cannot be cancelled,
// however late the release sweep runs: it is the payee's, and the sweep's
// to finish.
func TestCancelAfterArrival(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.user("alice", "13900139000", "Alice", 100_00)
	bob := e.user("bob", "13800138000", "Bob", 0)
	res, err := e.svc.Resolve(e.ctx, uid("alice"), "13800138000")
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.svc.Send(e.ctx, transfer.Request{Key: "late", Payer: uid("alice"), From: alice, Token: res.Token, Amount: ledger.NewMoney(30_00, cny), Arrival: transfer.Arrive2h})
	if err != nil {
		t.Fatal(err)
	}
	// The sweep lags an hour behind the arrival time.
	e.clock.Set(r.DueAt.Add(time.Hour))
	got, err := e.svc.Cancel(e.ctx, uid("alice"), r.ID)
	wantErr(t, err, transfer.ErrArrived)
	if got.State != transfer.StatePending {
		t.Fatalf("receipt %+v", got)
	}
	if n, err := e.svc.ReleaseDue(e.ctx, e.clock.Now()); n != 1 || err != nil {
		t.Fatalf("release: %d %v", n, err)
	}
	if a, _ := e.l.Account(e.ctx, bob); a.Balance.Net() != 30_00 {
		t.Fatalf("bob has %d", a.Balance.Net())
	}
	_, err = e.svc.Cancel(e.ctx, uid("alice"), r.ID)
	wantErr(t, err, transfer.ErrArrived)
	wantErr(t, err, transfer.ErrAlreadySettled)
}
