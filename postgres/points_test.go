package postgres

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/points"
	"github.com/socialpay/socialpay/points/pointstest"
)

// TestPointsStore runs the points conformance suite on PostgreSQL, every
// subtest on one schema (the suite keeps to its own users and time
// windows), with fewer goroutines and race iterations than in memory (the
// pool serializes them anyway; SOCIALPAY_RACE_ITERATIONS sets more). Its
// race cases' services pay on the LedgerStore of the same schema, so they
// record and post through RecordPosted, one transaction each.
func TestPointsStore(t *testing.T) {
	db := freshDB(t)
	s := NewPointsStore(db)
	pointstest.RunWith(t, func(testing.TB) points.Store { return s }, NewLedgerStore(db),
		pointstest.Options{Goroutines: 20, RaceIterations: 10})
}

// TestPointsStoreLedgerElsewhere: the race cases with the ledger on
// another store (in memory), where an operation is recorded, transferred
// and marked posted in three steps.
func TestPointsStoreLedgerElsewhere(t *testing.T) {
	pointstest.RunRace(t, pointstest.RaceConfig{Ledger: ledger.NewMemoryStore(), Store: NewPointsStore(freshDB(t)), Iterations: 5})
}

// PaysOn accepts the LedgerStore of the same schema only; the service
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
	if !s.PaysOn(NewLedgerStore(db)) || s.PaysOn(NewLedgerStore(other)) || s.PaysOn(ledger.NewMemoryStore()) {
		t.Fatal("PaysOn accepts the wrong ledger stores")
	}
	cny := ledger.MustCurrency("CNY")
	now := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	l := ledger.New(ledger.NewGroupCommit(NewLedgerStore(db), ledger.GroupCommitOptions{}), ledger.Options{Now: func() time.Time { return now }})
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
	conflict := req
	conflict.Points = 400
	if _, err := svc.Redeem(ctx, conflict); !errors.Is(err, points.ErrOpConflict) {
		t.Fatalf("the key again with other points: %v", err)
	}
	if again, err := svc.Redeem(ctx, req); err != nil || again.ID != op.ID || again.Other != 5 {
		t.Fatalf("the request again: %+v %v", again, err)
	}
	if rep, err := svc.Reconcile(ctx); err != nil || rep != (points.ReconcileReport{}) {
		t.Fatalf("one-commit operations left work: %+v %v", rep, err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPointsRecordPostedBatches: concurrent redemptions gathered into
// shared transactions: the ones the ledger refuses (a closed wallet) get
// their refusal and record nothing, two of one user that together exceed
// the user's points record one, and the rest are paid; the batches
// re-decided without the refused calls leave a ledger that verifies.
func TestPointsRecordPostedBatches(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	cny := ledger.MustCurrency("CNY")
	l := ledger.New(NewLedgerStore(db), ledger.Options{})
	bank, conv, closed := uuid.New(), uuid.New(), uuid.New()
	for _, a := range []ledger.Account{{ID: bank, Currency: cny}, {ID: conv, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}, {ID: closed, Currency: cny}} {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Close(ctx, closed); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: conv, Amount: ledger.NewMoney(1000, cny)}); err != nil {
		t.Fatal(err)
	}
	svc, err := points.New(points.Config{Ledger: l, Store: NewPointsStore(db), ExpiryMonths: 12,
		Rules:    []points.EarnRule{{Name: "grant", Kind: points.Fixed, Points: 100}},
		Issuance: uuid.New(), Redeemed: uuid.New(), Expired: uuid.New(), Conversion: map[ledger.Currency]uuid.UUID{cny: conv}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.OpenSystemAccounts(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetRate(ctx, points.RedeemRateName(cny), 1, 10, 1); err != nil {
		t.Fatal(err)
	}
	const n = 24
	users, wallets := make([]uuid.UUID, n), make([]uuid.UUID, n)
	for i := range n {
		users[i], wallets[i] = uuid.New(), uuid.New()
		if i < 4 {
			wallets[i] = closed
		} else if _, err := l.CreateAccount(ctx, ledger.Account{ID: wallets[i], Currency: cny}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Earn(ctx, points.EarnRequest{User: users[i], Rule: "grant", Key: "g"}); err != nil {
			t.Fatal(err)
		}
	}
	// Calls 0…n-1 redeem 60 points each; call n redeems another 60 of
	// user 4's points, which hold 100.
	ops, errs := ledgertest.Concurrently(n+1, func(i int) (points.Op, error) {
		u := i % n
		if i == n {
			u = 4
		}
		return svc.Redeem(ctx, points.RedeemRequest{User: users[u], Key: "r" + strconv.Itoa(i), Points: 60, Wallet: wallets[u], Currency: cny})
	})
	for i := range n {
		switch {
		case i < 4:
			if !errors.Is(errs[i], ledger.ErrAccountClosed) {
				t.Errorf("call %d to a closed wallet: %v", i, errs[i])
			}
		case i == 4:
		default:
			if errs[i] != nil || ops[i].Status != points.StatusPosted || ops[i].Other != 6 {
				t.Errorf("call %d: %+v %v", i, ops[i], errs[i])
			}
		}
	}
	if (errs[4] == nil) == (errs[n] == nil) || !errors.Is(errors.Join(errs[4], errs[n]), points.ErrInsufficientPoints) {
		t.Errorf("user 4's two redemptions: %v and %v, want one paid and one ErrInsufficientPoints", errs[4], errs[n])
	}
	for i, u := range users {
		st, err := svc.Statement(ctx, u)
		want := int64(40)
		if i < 4 {
			want = 100
		}
		if err != nil || st.Balance != want || st.Available != want {
			t.Errorf("user %d: %+v %v, want %d left", i, st, err, want)
		}
	}
	if rep, err := svc.Reconcile(ctx); err != nil || rep != (points.ReconcileReport{}) {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}
