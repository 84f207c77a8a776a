package collect_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Refusals speak major units of the bill's currency, each fact once, and
// carry the codes a client acts on.
func TestErrorCodesAndMessages(t *testing.T) {
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	l := ledger.New(nil, ledger.Options{})
	svc, err := collect.New(collect.Config{Ledger: l, SingleProcess: true, Members: everyone{},
		Notifier: collect.NotifierFunc(func(context.Context, collect.Request, []uuid.UUID) error { return nil })})
	if err != nil {
		t.Fatal(err)
	}
	ann, bo, cy := uuid.New(), uuid.New(), uuid.New()
	wallet, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	create := func(total ledger.Money, amounts ...ledger.Money) (collect.Request, error) {
		return svc.Create(ctx, collect.CreateRequest{Key: uuid.NewString(), Requester: ann, Account: wallet.ID, Group: uuid.New(),
			Members: []uuid.UUID{ann, bo, cy}, Total: total, Amounts: amounts})
	}
	fen := func(n int64) ledger.Money { return ledger.NewMoney(n, cny) }
	check := func(what string, err error, want error, code string, class errcode.Class, msg string) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", what, err, want)
			return
		}
		if !strings.HasSuffix(err.Error(), msg) {
			t.Errorf("%s: message %q, want it to end with %q", what, err, msg)
		}
		if c, k := errcode.Of(err); c != code || k != class {
			t.Errorf("%s: errcode.Of = %s, %v; want %s, %v", what, c, k, code, class)
		}
	}
	_, err = create(fen(2))
	check("0.02 split 3 ways", err, collect.ErrShareTooSmall, "share_too_small", errcode.Invalid,
		"collect: share below the minimum: 0.02 CNY split 3 ways")
	_, err = create(ledger.Money{}, fen(100), fen(50_000_01), fen(100))
	check("a share over the maximum", err, collect.ErrShareTooLarge, "share_too_large", errcode.Invalid,
		"collect: share above the maximum: share 1 is 50000.01 CNY, more than 50000.00 CNY")

	r, err := create(fen(10000))
	if err != nil {
		t.Fatal(err)
	}
	bw, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Pay(ctx, collect.PayRequest{Request: r.ID, Member: bo, Account: bw.ID, Amount: fen(3300)})
	check("wrong amount", err, collect.ErrWrongAmount, "wrong_amount", errcode.Invalid,
		"collect: amount is not the share: 33.00 CNY for a share of 33.33 CNY")
	_, err = svc.Pay(ctx, collect.PayRequest{Request: r.ID, Member: uuid.New(), Account: bw.ID, Amount: fen(3333)})
	check("stranger", err, collect.ErrNotMember, "not_member", errcode.Forbidden, "collect: not a member")
	_, err = svc.Remind(ctx, r.ID, bo)
	check("remind by a member", err, collect.ErrNotRequester, "not_requester", errcode.Forbidden, "collect: not the requester")
}
