package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
)

// slowerQRStore is a QRStore as a store that is not a qr.PayingStore
// shows it (a bank's wrapper, or an instance not yet upgraded): its
// Service takes the slower path.
type slowerQRStore struct{ qr.Store }

// Two instances on one schema, one charging and paying in one step of the
// store, the other through the slower path, race for one payment code,
// one dynamic code and one day's cap: each is paid once, and the losers
// get the lost-race answers.
func TestQRPaidMixedWithSlowerPath(t *testing.T) {
	db := freshDB(t)
	ctx := context.Background()
	l := ledger.New(NewLedgerStore(db), ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	yuan := func(fen int64) ledger.Money { return ledger.NewMoney(fen, cny) }
	bank, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	open := func(fen int64) uuid.UUID {
		t.Helper()
		a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		if err != nil {
			t.Fatal(err)
		}
		if fen > 0 {
			if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: a.ID, Amount: yuan(fen)}); err != nil {
				t.Fatal(err)
			}
		}
		return a.ID
	}
	net := func(id uuid.UUID) int64 {
		t.Helper()
		a, err := l.Account(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Balance.DebitsPending != 0 {
			t.Fatalf("account %s still holds %d", id, a.Balance.DebitsPending)
		}
		return a.Balance.Net()
	}
	secret := []byte("postgres mixed HMAC secret 32 b.")
	signer, _ := qr.NewHMACSigner("k", secret)
	keys, _ := qr.NewKeys(qr.Key{ID: "k", HMAC: secret})
	receive, _ := qr.NewReceiveCodes(qr.ReceiveConfig{Signer: signer, Keys: keys})
	codes, _ := qr.NewPaymentCodes(qr.PaymentCodeConfig{Prefix: "28", Key: []byte("postgres mixed permutation key..")})
	kek, _ := qr.NewLocalKeyWrapper([]byte("postgres mixed key-encryption k."), nil)
	dir := &qr.MemoryDirectory{}
	shop := open(0)
	if err := dir.Put(qr.Payee{Alias: "shop-1", Account: shop, Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	var svcs [2]*qr.Service
	for i, st := range []qr.Store{NewQRStore(db), slowerQRStore{NewQRStore(db)}} {
		if svcs[i], err = qr.New(qr.Config{Ledger: l, Store: st, Directory: dir, Receive: receive, PaymentCodes: codes,
			DeviceKeys: kek, StaticDailyCaps: []ledger.Money{yuan(60)}}); err != nil {
			t.Fatal(err)
		}
	}

	// Eight merchants, four through each instance, charge one code.
	payer := open(100_00)
	phone, err := svcs[0].RegisterDevice(ctx, "phone", payer)
	if err != nil {
		t.Fatal(err)
	}
	code, err := codes.Generate(phone, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	merchants := make([]uuid.UUID, 8)
	for i := range merchants {
		merchants[i] = open(0)
	}
	if n := race(t, len(merchants), qr.ErrReplay, func(i int) error {
		_, err := svcs[i%2].Charge(ctx, qr.ChargeRequest{Merchant: merchants[i], Code: code, Amount: yuan(10_00), Order: "o"})
		return err
	}); n != 1 || net(payer) != 90_00 {
		t.Errorf("%d charges of one code, payer left with %d", n, net(payer))
	}

	// Eight payers, four through each instance, pay one dynamic code.
	dyn, err := svcs[0].Issue(ctx, qr.ReceiveCode{Payee: "shop-1", Initiation: qr.Dynamic, Amount: yuan(30_00),
		Reference: "ORDER-1", Expires: time.Now().Add(time.Hour), City: "C"})
	if err != nil {
		t.Fatal(err)
	}
	payers := make([]uuid.UUID, 8)
	for i := range payers {
		payers[i] = open(100_00)
	}
	if n := race(t, len(payers), qr.ErrCodePaid, func(i int) error {
		_, err := svcs[i%2].Pay(ctx, qr.PayRequest{User: uuid.New(), From: payers[i], Payload: dyn, Key: "k"})
		return err
	}); n != 1 || net(shop) != 30_00 {
		t.Errorf("%d payments of one dynamic code, shop has %d", n, net(shop))
	}

	// One user, two payments of the whole day's cap, one through each
	// instance, each sent four times.
	static, err := svcs[0].Issue(ctx, qr.ReceiveCode{Payee: "shop-1", Initiation: qr.Static, Currency: cny, City: "C"})
	if err != nil {
		t.Fatal(err)
	}
	user, from := uuid.New(), open(100_00)
	if n := race(t, 8, qr.ErrDailyCap, func(i int) error {
		_, err := svcs[i%2].Pay(ctx, qr.PayRequest{User: user, From: from, Payload: static, Amount: yuan(60), Key: fmt.Sprint("k", i%2)})
		return err
	}); n != 4 || net(from) != 100_00-60 {
		t.Errorf("%d calls paid within the cap, payer left with %d", n, net(from))
	}
	if rep, err := svcs[1].Check(ctx); err != nil {
		t.Errorf("Check: %v (%+v)", err, rep.Problems)
	}
}
