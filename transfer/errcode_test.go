package transfer_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

// Failure codes are kept in records, so they never change; each is the
// errcode code of its ledger sentinel, and a *FailedError answers with it.
func TestFailureCodes(t *testing.T) {
	for code, sentinel := range map[string]error{
		"insufficient_funds": ledger.ErrInsufficientFunds,
		"account_frozen":     ledger.ErrAccountFrozen,
		"account_closed":     ledger.ErrAccountClosed,
		"account_not_found":  ledger.ErrAccountNotFound,
		"currency_mismatch":  ledger.ErrCurrencyMismatch,
		"credit_limit":       ledger.ErrExceedsDebits,
		"balance_overflow":   ledger.ErrBalanceOverflow,
		"same_account":       ledger.ErrSameAccount,
	} {
		refusal := &ledger.TransferError{ID: uuid.New(), Err: fmt.Errorf("account x: %w", sentinel)}
		if got, ok := transfer.FailureCode(refusal); !ok || got != code {
			t.Errorf("FailureCode(%v) = %q, %v; want %q", refusal, got, ok, code)
		}
		failed := fmt.Errorf("send: %w", &transfer.FailedError{ID: uuid.New(), Reason: code})
		if !errors.Is(failed, transfer.ErrTransferFailed) || !errors.Is(failed, sentinel) {
			t.Errorf("%v does not match ErrTransferFailed and %v", failed, sentinel)
		}
		if got, class := errcode.Of(failed); got != code || class != sentinel.(*errcode.Error).Class() {
			t.Errorf("errcode.Of(%v) = %s, %v; want %s, %v", failed, got, class, code, sentinel.(*errcode.Error).Class())
		}
	}
	if _, ok := transfer.FailureCode(errors.New("connection reset")); ok {
		t.Error("a store error has a failure code")
	}
	unknown := &transfer.FailedError{ID: uuid.New(), Reason: "from an older version"}
	if code, class := errcode.Of(unknown); code != "transfer_failed" || class != errcode.Conflict {
		t.Errorf("unknown failure code: errcode.Of = %s, %v; want transfer_failed, conflict", code, class)
	}
}

// A limit error says each amount once: the cap, and what is left of a
// daily cap when that differs.
func TestLimitErrorMessages(t *testing.T) {
	cny := func(s string) ledger.Money {
		m, err := ledger.ParseAmount(s, "CNY")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	limits := transfer.DefaultLimits()
	for _, c := range []struct {
		in   transfer.LimitInput
		want string
	}{
		{transfer.LimitInput{Amount: cny("50000.01")},
			"transfer: amount over the per-transfer limit: 50000.01 CNY, at most 50000.00 CNY"},
		{transfer.LimitInput{Amount: cny("300"), SentToday: cny("199800")},
			"transfer: amount over the daily limit: 300.00 CNY, 200.00 CNY left of 200000.00 CNY"},
	} {
		err := limits.Check(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("Check(%v, %v sent today) = %v, want %q", c.in.Amount, c.in.SentToday, err, c.want)
		}
	}
	err := limits.Check(transfer.LimitInput{Amount: cny("50000.01")})
	if code, class := errcode.Of(err); code != "over_transfer_limit" || class != errcode.Invalid {
		t.Errorf("errcode.Of(%v) = %s, %v", err, code, class)
	}
}
