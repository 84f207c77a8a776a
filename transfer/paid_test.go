package transfer_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/transfertest"
)

func TestPaymentOf(t *testing.T) {
	cny := ledger.MustCurrency("CNY")
	for _, tc := range []struct {
		arrival transfer.Arrival
		kind    ledger.TransferKind
		timeout time.Duration
	}{
		{transfer.ArriveNow, ledger.KindImmediate, 0},
		{transfer.Arrive2h, ledger.KindPending, 0},
		{transfer.Arrive24h, ledger.KindPending, 0},
		{transfer.ArriveOnAccept, ledger.KindPending, time.Hour},
	} {
		r := transfertest.NewRecord(uuid.New(), uuid.New(), ledger.NewMoney(12_34, cny), tc.arrival)
		got := transfer.PaymentOf(&r, 7, time.Hour)
		want := ledger.Transfer{ID: r.ID, DebitAccountID: r.From, CreditAccountID: r.Payee.Account, Amount: r.Amount, Code: 7,
			Kind: tc.kind, Timeout: tc.timeout}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%v: %+v, want %+v", tc.arrival, got, want)
		}
		if err := ledger.ValidateTransfer(&got); err != nil {
			t.Errorf("%v: %v", tc.arrival, err)
		}
	}
}

func TestApplyPaid(t *testing.T) {
	cny := ledger.MustCurrency("CNY")
	at := time.Date(2026, 2, 16, 12, 0, 0, 123_456_789, time.UTC)
	newRec := func(a transfer.Arrival) transfer.Record {
		r := transfertest.NewRecord(uuid.New(), uuid.New(), ledger.NewMoney(5_00, cny), a)
		r.Attempts = 1 // as DecideCreate leaves it
		return r
	}
	// Applied: settled (immediate) or pending with its hold, counted.
	for _, a := range []transfer.Arrival{transfer.ArriveNow, transfer.Arrive2h, transfer.ArriveOnAccept} {
		r := newRec(a)
		fx, err := transfer.ApplyPaid(&r, nil, at)
		if err != nil || fx.DailyDelta != 5_00 || r.Attempts != 0 || r.Reason != "" {
			t.Fatalf("%v: %v %+v %+v", a, err, fx, r)
		}
		if a == transfer.ArriveNow {
			if r.State != transfer.StateSettled || !fx.SettledPair || !r.ResolvedAt.Equal(ledger.Timestamp(at)) {
				t.Fatalf("%v: %+v %+v", a, fx, r)
			}
		} else if r.State != transfer.StatePending || fx.SettledPair || !r.ResolvedAt.IsZero() {
			t.Fatalf("%v: %+v %+v", a, fx, r)
		}
	}
	// Refused with a failure code: failed, nothing counted.
	for _, refusal := range []error{
		&ledger.TransferError{Err: ledger.ErrInsufficientFunds},
		&ledger.TransferError{Err: &ledger.AccountError{Err: ledger.ErrAccountFrozen}},
	} {
		r := newRec(transfer.Arrive2h)
		code, _ := transfer.FailureCode(refusal)
		fx, err := transfer.ApplyPaid(&r, refusal, at)
		if err != nil || fx != (transfer.TransitionEffects{}) || r.State != transfer.StateFailed || r.Reason != code ||
			r.Attempts != 0 || !r.ResolvedAt.Equal(ledger.Timestamp(at)) {
			t.Fatalf("%v: %v %+v %+v", refusal, err, fx, r)
		}
	}
	// Refused otherwise: the refusal itself, the record untouched.
	r := newRec(transfer.ArriveNow)
	before := r
	conflict := &ledger.TransferError{Err: ledger.ErrIdempotencyConflict}
	if _, err := transfer.ApplyPaid(&r, conflict, at); !errors.Is(err, ledger.ErrIdempotencyConflict) || r != before {
		t.Fatalf("conflict: %v %+v", err, r)
	}
	// Only a new pending record.
	r.State, r.ResolvedAt = transfer.StateSettled, at
	if _, err := transfer.ApplyPaid(&r, nil, at); !errors.Is(err, transfer.ErrInvalidTransition) {
		t.Fatalf("settled record: %v", err)
	}
}
