package transfer_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/transfer"
)

// failingLedger fails the next CreateTransfer while fail is set.
type failingLedger struct {
	ledger.Store
	fail atomic.Bool
}

var errDown = errors.New("ledger down")

func (s *failingLedger) CreateTransfer(ctx context.Context, t ledger.Transfer, now time.Time) (ledger.Result, error) {
	if s.fail.CompareAndSwap(true, false) {
		return ledger.Result{}, errDown
	}
	return s.Store.CreateTransfer(ctx, t, now)
}

// Maintain lands the delayed transfers due, returns the chat transfers
// not accepted in time, and finishes a record a failure left pending once
// it is older than ReconcileAfter (default 1 minute), as of the time it
// is given.
func TestMaintain(t *testing.T) {
	ctx := context.Background()
	clock := ledgertest.NewClock(time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC))
	fl := &failingLedger{Store: ledger.NewMemoryStore()}
	l := ledger.New(fl, ledger.Options{Now: clock.Now})
	svc, err := transfer.New(transfer.Config{Ledger: l, SingleProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	account := func(fen int64) uuid.UUID {
		a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		if err != nil {
			t.Fatal(err)
		}
		if fen > 0 {
			bank, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
			if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: a.ID, Amount: ledger.NewMoney(fen, cny)}); err != nil {
				t.Fatal(err)
			}
		}
		return a.ID
	}
	alice, bob := account(100_00), account(0)
	if _, err := svc.Bind(ctx, transfer.BindRequest{Phone: "13800138000", Holder: "bob", Account: bob, Name: "Bob", VerifiedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	send := func(key string, fen int64, arrival transfer.Arrival) (transfer.Receipt, error) {
		req := transfer.Request{IdempotencyKey: key, Payer: "alice", From: alice, Phone: "13800138000", Amount: ledger.NewMoney(fen, cny), Arrival: arrival}
		if arrival == transfer.ArriveOnAccept {
			req.Phone, req.To = "", transfer.Recipient{Holder: "bob", Account: bob}
		}
		return svc.Send(ctx, req)
	}
	if _, err := send("later", 10_00, transfer.Arrive2h); err != nil {
		t.Fatal(err)
	}
	chat, err := send("chat", 20_00, transfer.ArriveOnAccept)
	if err != nil {
		t.Fatal(err)
	}
	fl.fail.Store(true)
	if _, err := send("stuck", 5_00, transfer.ArriveNow); !errors.Is(err, errDown) {
		t.Fatalf("send with the ledger down: %v", err)
	}
	t0 := clock.Now()
	net := func(a uuid.UUID) int64 {
		acc, err := l.Account(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return acc.Balance.Net()
	}

	rep, err := svc.Maintain(ctx, t0.Add(30*time.Second))
	if err != nil || rep.Released != 0 || rep.Reconcile.Visited != 0 {
		t.Fatalf("Maintain 30 s on: %+v, %v; want the pending record left to its own request", rep, err)
	}
	rep, err = svc.Maintain(ctx, t0.Add(3*time.Hour))
	if err != nil || rep.Released != 1 || rep.Reconcile != (transfer.ReconcileReport{Visited: 2, Settled: 1, Held: 1}) || net(bob) != 15_00 {
		t.Fatalf("Maintain 3 h on: %+v, %v, Bob has %d", rep, err, net(bob))
	}
	b, err := json.Marshal(rep)
	if err != nil || string(b) != `{"released":1,"expired":0,"reconcile":{"visited":2,"settled":1,"cancelled":0,"held":1,"failed":0,"undone":0,"failing":0}}` {
		t.Fatalf("JSON %s, %v", b, err)
	}
	clock.Advance(25 * time.Hour) // the chat's hold has timed out on the ledger's clock too
	if _, err := svc.Maintain(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.Get(ctx, "alice", chat.ID); err != nil || r.State != transfer.StateCancelled || net(alice) != 85_00 {
		t.Fatalf("the chat after Maintain a day on: %v %v, Alice has %d", r.State, err, net(alice))
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}
