package qr

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// A payment names the user and the account paid from: the key is the
// user's (two users' equal keys are two payments), the payment's ID is
// PaymentID(user, key), the receipt names both, the static-code cap is the
// user's across their accounts, and a retry from another account is
// another request.
func TestPayUserAndAccount(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.payee("shop-1", "Shop")
	code := e.issueStatic("shop-1")
	card, savings := e.wallet("alice card", 1000_00), e.wallet("alice savings", 1000_00)
	alice, bob := uuid.New(), uuid.New()
	pay := func(user, from uuid.UUID, fen int64, key string) (Receipt, error) {
		return e.svc.Pay(e.ctx, PayRequest{User: user, From: from, Payload: code, Amount: yuan(fen), Key: key})
	}

	r, err := pay(alice, card, 300_00, "k")
	if err != nil {
		t.Fatal(err)
	}
	if r.User != alice || r.From != card || r.Payment != e.svc.PaymentID(alice, "k") || r.Key != "k" {
		t.Fatalf("receipt %+v: want user %s, account %s, payment PaymentID(user, key)", r, alice, card)
	}
	// The same key from another account of hers: another request.
	var kc *KeyConflictError
	if _, err := pay(alice, savings, 300_00, "k"); !errors.As(err, &kc) || kc.Field != "account" {
		t.Fatalf("the key from another account: %v, want a *KeyConflictError on the account", err)
	}
	// Her cap spans her accounts: 300 + 300 is over 500.
	if _, err := pay(alice, savings, 300_00, "k2"); !errors.Is(err, ErrDailyCap) {
		t.Fatalf("a second account past her cap: %v, want ErrDailyCap", err)
	}
	if _, err := pay(alice, savings, 200_00, "k3"); err != nil {
		t.Fatalf("up to her cap from another account: %v", err)
	}
	// Bob's key "k" is his own, and so is his cap, even paying from the
	// card alice also uses (a shared account).
	rb, err := pay(bob, card, 400_00, "k")
	if err != nil || rb.Payment == r.Payment || rb.User != bob {
		t.Fatalf("bob's payment with key k: %+v, %v; want a payment of his own", rb, err)
	}
	if used, _ := e.store.CapUsed(e.ctx, alice, e.svc.Day(e.clock.Now()), cny); used != yuan(500_00) {
		t.Fatalf("alice's cap used %v, want 500.00", used)
	}
	e.wantBalance(card, 1000_00-300_00-400_00)
	e.wantBalance(savings, 1000_00-200_00)

	for name, req := range map[string]PayRequest{
		"no user":    {From: card, Payload: code, Amount: yuan(1), Key: "x"},
		"no account": {User: alice, Payload: code, Amount: yuan(1), Key: "x"},
	} {
		if _, err := e.svc.Pay(e.ctx, req); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("%s: %v, want ErrInvalidValue", name, err)
		}
	}
	if _, err := e.svc.Preview(e.ctx, uuid.Nil, code); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("a quote for no user: %v, want ErrInvalidValue", err)
	}
	e.verify()
}

// A payment's hold made before payments named their user carries no
// user: its payer was its account, which its cap reservation names, so
// the receipt, Check and Reconcile read the account as the user.
func TestHoldWithoutUser(t *testing.T) {
	acct := uuid.New()
	old := ledger.Transfer{DebitAccountID: acct, Metadata: map[string]string{metaKind: Static.String()}}
	if got := holdUser(&old); got != acct {
		t.Fatalf("holdUser of a hold without a user = %s, want its account %s", got, acct)
	}
	user := uuid.New()
	now := ledger.Transfer{DebitAccountID: acct, Metadata: map[string]string{metaKind: Static.String(), metaUser: user.String()}}
	if got := holdUser(&now); got != user {
		t.Fatalf("holdUser = %s, want %s", got, user)
	}
}

// A static payment made before payments named their user: its hold has no
// user and its reservation names the account. Reconcile finishes it and
// Check finds nothing wrong with it.
func TestPaymentBeforeUsers(t *testing.T) {
	e := newEnv(t, nil, nil)
	shop := e.payee("shop-1", "Shop")
	alice := e.wallet("alice", 100_00)
	id := e.svc.PaymentID(alice, "old") // the payer was the account then
	amount := yuan(10_00)
	if _, err := e.ledger.Transfer(e.ctx, ledger.Transfer{ID: id, Kind: ledger.KindPending, DebitAccountID: alice, CreditAccountID: shop,
		Amount: amount, Timeout: 10 * time.Minute, Metadata: map[string]string{
			metaKind: Static.String(), metaPayee: "shop-1", metaPayeeName: "Shop", metaKey: "old"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ReserveCap(e.ctx, CapReservation{Payment: id, User: alice, Day: e.svc.Day(e.clock.Now()), Amount: amount, At: e.clock.Now()}, yuan(500_00)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	if rep, err := e.svc.Reconcile(e.ctx, e.clock.Now()); err != nil || rep.Completed != 1 {
		t.Fatalf("Reconcile: %+v, %v; want the old payment settled", rep, err)
	}
	if rep, err := e.svc.Check(e.ctx); err != nil || len(rep.Problems) != 0 || rep.Reservations != 1 {
		t.Fatalf("Check: %+v, %v; want the old reservation sound", rep, err)
	}
	e.wantBalance(alice, 90_00)
	e.wantBalance(shop, 10_00)
}
