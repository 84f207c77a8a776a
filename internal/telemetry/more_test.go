package telemetry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
)

type members struct{}

func (members) IsMember(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }

// A bill's payments: paid, a wrong amount, a stranger's request.
func TestCollectTelemetry(t *testing.T) {
	o := newObserved(t)
	b := newBank(t, o)
	ctx := b.ctx
	svc, err := collect.New(collect.Config{Ledger: b.l, SingleProcess: true, Members: members{}, Now: b.l.Now,
		Notifier:       collect.NotifierFunc(func(context.Context, collect.Request, []uuid.UUID) error { return nil }),
		TracerProvider: o.tp, MeterProvider: o.mp, Logger: o.log})
	if err != nil {
		t.Fatal(err)
	}
	ann, bo := uuid.New(), uuid.New()
	r, err := svc.Create(ctx, collect.CreateRequest{Key: "dinner", Requester: ann, Account: b.wallet(t, 0), Group: uuid.New(),
		Title: "dinner", Members: []uuid.UUID{ann, bo}, Total: ledger.NewMoney(100_00, cny)})
	if err != nil {
		t.Fatal(err)
	}
	wallet := b.wallet(t, 100_00)
	pay := func(req uuid.UUID, fen int64) error {
		_, err := svc.Pay(ctx, collect.PayRequest{Request: req, Member: bo, Account: wallet, Amount: ledger.NewMoney(fen, cny)})
		return err
	}
	if err := pay(r.ID, 1); !errors.Is(err, collect.ErrWrongAmount) {
		t.Fatalf("wrong amount: %v", err)
	}
	if err := pay(r.ID, 50_00); err != nil {
		t.Fatal(err)
	}
	if err := pay(uuid.New(), 50_00); !errors.Is(err, collect.ErrRequestNotFound) {
		t.Fatalf("no request: %v", err)
	}
	equal(t, "pay outcomes", tally(outcomes(t, o.spansNamed("collect.Pay"))), map[string]int{"ok": 1, "wrong_amount": 1, "request_not_found": 1})
	equal(t, "payments", counts(t, o.metrics(t), "socialpay.collect.payments"),
		map[string]int64{"ok/CNY": 1, "wrong_amount/CNY": 1, "request_not_found/CNY": 1})
}

// Points operations share instruments, told apart by kind.
func TestPointsTelemetry(t *testing.T) {
	o := newObserved(t)
	b := newBank(t, o)
	ctx := b.ctx
	svc, err := points.New(points.Config{Ledger: b.l, SingleProcess: true, ExpiryMonths: 12, Now: b.l.Now,
		Rules:    []points.EarnRule{{Name: "signup", Kind: points.Fixed, Points: 200}},
		Issuance: uuid.New(), Redeemed: uuid.New(), Expired: uuid.New(),
		TracerProvider: o.tp, MeterProvider: o.mp, Logger: o.log})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.OpenSystemAccounts(ctx); err != nil {
		t.Fatal(err)
	}
	user := uuid.New()
	if _, err := svc.Earn(ctx, points.EarnRequest{User: user, Rule: "signup", Key: "signup"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Earn(ctx, points.EarnRequest{User: user, Rule: "birthday", Key: "2026"}); !errors.Is(err, points.ErrUnknownRule) {
		t.Fatalf("unknown rule: %v", err)
	}
	if _, err := svc.Redeem(ctx, points.RedeemRequest{User: user, Key: "r1", Points: 100, Wallet: uuid.New(), Currency: cny}); !errors.Is(err, points.ErrInvalidRequest) {
		t.Fatalf("redeem without a conversion account: %v", err)
	}
	equal(t, "earn outcomes", tally(outcomes(t, o.spansNamed("points.Earn"))), map[string]int{"ok": 1, "unknown_rule": 1})
	equal(t, "redeem outcomes", tally(outcomes(t, o.spansNamed("points.Redeem"))), map[string]int{"invalid_request": 1})
	m := o.metrics(t)["socialpay.points.operations"]
	kinds := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		k, _ := dp.Attributes.Value("kind")
		kinds[k.AsString()+"/"+attrsKey(dp.Attributes)] += dp.Value
	}
	equal(t, "points operations", kinds, map[string]int64{"earn/ok/XPS": 1, "earn/unknown_rule/XPS": 1, "redeem/invalid_request/CNY": 1})
}

// A campaign's tries that fail before and at the store, and a sweep.
func TestCampaignTelemetry(t *testing.T) {
	o := newObserved(t)
	b := newBank(t, o)
	ctx := b.ctx
	svc, err := campaign.New(campaign.Config{Ledger: b.l, SingleProcess: true, Now: b.l.Now,
		Eligibility:    campaign.EligibleFunc(func(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }),
		TracerProvider: o.tp, MeterProvider: o.mp, Logger: o.log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Try(ctx, campaign.TryRequest{Campaign: uuid.New()}); !errors.Is(err, campaign.ErrInvalidRequest) {
		t.Fatalf("empty try: %v", err)
	}
	req := campaign.TryRequest{Campaign: uuid.New(), User: uuid.New(), Account: uuid.New(), Device: "phone", Seq: 1}
	if _, err := svc.Try(ctx, req); !errors.Is(err, campaign.ErrCampaignNotFound) {
		t.Fatalf("try of no campaign: %v", err)
	}
	if _, err := svc.Sweep(ctx, b.now); err != nil {
		t.Fatal(err)
	}
	equal(t, "try outcomes", tally(outcomes(t, o.spansNamed("campaign.Try"))), map[string]int{"invalid_request": 1, "campaign_not_found": 1})
	equal(t, "tries", counts(t, o.metrics(t), "socialpay.campaign.tries"), map[string]int64{"invalid_request": 1, "campaign_not_found": 1})
	if sw := o.spansNamed("campaign.sweep"); len(sw) != 1 || attr(sw[0], "outcome") != "ok" {
		t.Errorf("sweep spans %+v", sw)
	}
	if line := logLine(t, o.logs, "sweep"); line["level"] != "DEBUG" || line["feature"] != "campaign" {
		t.Errorf("a sweep that did nothing logs at Debug: %v", line)
	}
}
