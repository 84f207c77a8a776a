package errcode_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
)

// Of sees through every wrapper type of the features, through fmt.Errorf
// and errors.Join.
func TestOfFeatureWrappers(t *testing.T) {
	id := uuid.New()
	for _, c := range []struct {
		name  string
		err   error
		code  string
		class errcode.Class
	}{
		{"ledger.TransferError", &ledger.TransferError{ID: id, Err: fmt.Errorf("account %s: %w", id, ledger.ErrInsufficientFunds)}, "insufficient_funds", errcode.Conflict},
		{"ledger.AccountError", &ledger.AccountError{ID: id, Err: ledger.ErrAccountFrozen}, "account_frozen", errcode.Conflict},
		{"errors.Join of ledger results", errors.Join(nil, &ledger.TransferError{Err: ledger.ErrLinkedFailed}), "linked_failed", errcode.Conflict},
		{"ledger.ErrVerify joining problems", fmt.Errorf("%w: %w", ledger.ErrVerify, errors.Join(&ledger.AccountError{ID: id, Err: errors.New("chain broken")})), "verify_failed", errcode.Internal},
		{"redpacket.ConflictError", &redpacket.ConflictError{Op: "send", Packet: id, Field: "amount"}, "idempotency_conflict", errcode.Conflict},
		{"redpacket.Problem", &redpacket.Problem{Kind: redpacket.ProblemClaimUnpaid, Packet: id}, "records_disagree", errcode.Internal},
		{"campaign.RateLimitError", fmt.Errorf("campaign %s: %w", id, &campaign.RateLimitError{Key: "u", Wait: time.Second}), "rate_limited", errcode.RateLimited},
		{"qr.Error", &qr.Error{Path: "63", Pos: 120, Err: qr.ErrBadCRC}, "bad_crc", errcode.Invalid},
		{"qr.KeyConflictError", &qr.KeyConflictError{Key: "k", ID: id, Field: "amount"}, "idempotency_conflict", errcode.Conflict},
		{"qr alias of a ledger sentinel", &qr.Error{Path: "53", Pos: -1, Err: qr.ErrUnknownCurrency}, "unknown_currency", errcode.Invalid},
		{"transfer.PhoneError", &transfer.PhoneError{Region: "CN", Err: transfer.ErrNotMobile}, "not_mobile", errcode.Invalid},
		{"transfer.RateLimitError", &transfer.RateLimitError{Scope: transfer.ScopePayer, RetryAfter: time.Minute}, "rate_limited", errcode.RateLimited},
		{"transfer.LimitError", &transfer.LimitError{Err: transfer.ErrOverDailyLimit}, "over_daily_limit", errcode.Conflict},
		{"transfer.StateError", &transfer.StateError{ID: id, State: transfer.StateSettled}, "state_conflict", errcode.Conflict},
		{"transfer.CheckError", &transfer.CheckError{ID: id, Err: fmt.Errorf("%w: no ledger transfer", transfer.ErrRecordDisagrees)}, "records_disagree", errcode.Internal},
		{"transfer.FailedError", &transfer.FailedError{ID: id, Reason: "account_closed"}, "account_closed", errcode.Conflict},
		{"a deadline inside a feature's wrapping", fmt.Errorf("claim packet %s: fund escrow: %w", id, context.DeadlineExceeded), "timeout", errcode.Unavailable},
	} {
		if code, class := errcode.Of(c.err); code != c.code || class != c.class {
			t.Errorf("%s: Of(%v) = %s, %v; want %s, %v", c.name, c.err, code, class, c.code, c.class)
		}
	}
}

// A refusal of the ledger, as a caller gets it.
func TestOfLedgerRefusal(t *testing.T) {
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	l := ledger.New(nil, ledger.Options{})
	a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: a.ID, CreditAccountID: b.ID, Amount: ledger.NewMoney(1, cny)})
	if !ledger.Refused(err) {
		t.Fatalf("transfer from an empty wallet: %v", err)
	}
	if code, class := errcode.Of(err); code != "insufficient_funds" || class != errcode.Conflict {
		t.Errorf("Of(%v) = %s, %v; want insufficient_funds, conflict", err, code, class)
	}
}
