package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
	"github.com/socialpay/socialpay/points/pointstest"
)

// TestPointsStore runs the points conformance suite on PostgreSQL, every
// subtest on one schema (the suite keeps to its own users and time
// windows), with fewer goroutines and race iterations than in memory (the
// pool serializes them anyway; SOCIALPAY_RACE_ITERATIONS sets more). Its
// race cases' services pay on the ledger Store of the same schema, so they
// record and post through RecordPosted, one transaction each.
func TestPointsStore(t *testing.T) {
	db := freshDB(t)
	s := NewPointsStore(db)
	pointstest.RunWith(t, func(testing.TB) points.Store { return s }, NewStore(db),
		pointstest.Options{Goroutines: 40, RaceIterations: 20})
}

// TestPointsStoreLedgerElsewhere: the race cases with the ledger on
// another store (in memory), where an operation is recorded, transferred
// and marked posted in three steps.
func TestPointsStoreLedgerElsewhere(t *testing.T) {
	pointstest.RunRace(t, pointstest.RaceConfig{Ledger: ledger.NewMemoryStore(), Store: NewPointsStore(freshDB(t)), Iterations: 10})
}

// PostsOn accepts the ledger Store of the same schema only; the service
// looks through a GroupCommit. On it, a redemption the ledger refuses (the
// conversion account short) records nothing and takes no points.
func TestPointsRecordPosted(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	s := NewPointsStore(db)
	other, err := db.WithSchema(ctx, db.Schema()+"_other")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropSchema(t, db, db.Schema()+"_other") })
	if !s.PostsOn(NewStore(db)) || s.PostsOn(NewStore(other)) || s.PostsOn(ledger.NewMemoryStore()) {
		t.Fatal("PostsOn accepts the wrong ledger stores")
	}
	cny := ledger.MustCurrency("CNY")
	now := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	l := ledger.New(ledger.NewGroupCommit(NewStore(db), ledger.GroupCommitOptions{}), ledger.Options{Now: func() time.Time { return now }})
	conv, wallet := uuid.New(), uuid.New()
	for _, id := range []uuid.UUID{conv, wallet} {
		if _, err := l.CreateAccount(ctx, ledger.Account{ID: id, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := points.New(points.Config{Ledger: l, Store: s, ExpiryMonths: 12, Now: func() time.Time { return now },
		Rules:    []points.EarnRule{{Name: "signup", Kind: points.Fixed, Points: 500}},
		Issuance: uuid.New(), Redeemed: uuid.New(), Expired: uuid.New(), Conversion: map[ledger.Currency]uuid.UUID{cny: conv}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.OpenSystemAccounts(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetRate(ctx, points.RedeemRateName(cny), 1, 100, 1); err != nil {
		t.Fatal(err)
	}
	user := uuid.New()
	if op, err := svc.Earn(ctx, points.EarnRequest{User: user, Rule: "signup", Key: "signup"}); err != nil || op.Status != points.StatusPosted {
		t.Fatalf("earn (opening the account in passing): %+v %v", op, err)
	}
	req := points.RedeemRequest{User: user, Key: "r", Points: 500, Wallet: wallet, Currency: cny}
	_, err = svc.Redeem(ctx, req)
	if !ledger.Refused(err) || !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("redemption from an empty conversion account: %v", err)
	}
	if _, err := svc.Op(ctx, svc.OpID(points.KindRedeem, user, "CNY", "r")); !errors.Is(err, points.ErrOpNotFound) {
		t.Fatalf("the refused redemption was recorded: %v", err)
	}
	if st, err := svc.Statement(ctx, user); err != nil || st.Available != 500 || st.Spent != 0 || st.Balance != 500 {
		t.Fatalf("after the refusal: %+v %v", st, err)
	}
	bank := uuid.New()
	l.CreateAccount(ctx, ledger.Account{ID: bank, Currency: cny})
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: conv, Amount: ledger.NewMoney(5, cny)}); err != nil {
		t.Fatal(err)
	}
	op, err := svc.Redeem(ctx, req)
	if err != nil || op.Status != points.StatusPosted || op.Other != 5 {
		t.Fatalf("funded: %+v %v", op, err)
	}
	if rep, err := svc.Reconcile(ctx); err != nil || rep != (points.ReconcileReport{}) {
		t.Fatalf("one-commit operations left work: %+v %v", rep, err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}
