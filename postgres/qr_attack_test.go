package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
)

// Two instances of a bank's QR service on one database, as a bank runs
// them, and a rogue merchant guessing a payer's one-time parts through
// both. Before: nothing counted, in any process. Now the failures are
// counted in PostgreSQL: the device is locked after DeviceFailures
// guesses whichever instance answered them, and the payer's genuine code
// is refused until UnlockDevice. A select of qr_devices.secret does not
// give the device secret: codes made from it do not pay.
//
// It runs with the default daily cap of a device's charges and without
// one (QRStore.ChargePaid then reads the records of attempts without
// locks for genuine codes, and must still count and lock).
func TestQRAttackGuessAcrossInstances(t *testing.T) {
	t.Run("Capped", func(t *testing.T) { testQRAttackGuess(t, nil) })
	t.Run("Uncapped", func(t *testing.T) { testQRAttackGuess(t, []ledger.Money{}) })
}

func testQRAttackGuess(t *testing.T, deviceCaps []ledger.Money) {
	db := freshDB(t)
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	codes, _ := qr.NewPaymentCodes(qr.PaymentCodeConfig{Prefix: "28", Key: []byte("postgres attack permutation key.")})
	kek, _ := qr.NewLocalKeyWrapper([]byte("postgres attack key-encryption k"), nil)
	var reasons []error
	instance := func() (*qr.Service, *ledger.Ledger) {
		l := ledger.New(NewLedgerStore(db), ledger.Options{})
		svc, err := qr.New(qr.Config{Ledger: l, Store: NewQRStore(db), PaymentCodes: codes, DeviceKeys: kek, DeviceDailyCaps: deviceCaps,
			Refused: func(_ context.Context, r qr.CodeRefusal) { reasons = append(reasons, r.Reason) }})
		if err != nil {
			t.Fatal(err)
		}
		return svc, l
	}
	a, l := instance()
	b, _ := instance()
	open := func(fen int64) uuid.UUID {
		t.Helper()
		acc, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		if err != nil {
			t.Fatal(err)
		}
		if fen > 0 {
			bank, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
			if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: acc.ID, Amount: ledger.NewMoney(fen, cny)}); err != nil {
				t.Fatal(err)
			}
		}
		return acc.ID
	}
	alice, rogue, shop := open(1000_00), open(0), open(0)
	phone, err := a.RegisterDevice(ctx, "alice-phone", alice)
	if err != nil {
		t.Fatal(err)
	}

	// The stored secret is not the secret.
	var stored []byte
	if err := db.pool.QueryRow(ctx, db.qualify("select secret from $S.qr_devices where id = $1"), "alice-phone").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, phone.Secret) {
		t.Fatal("qr_devices.secret holds the secret in clear")
	}
	fromTable := phone
	fromTable.Secret = stored[:32]
	code, _ := codes.Generate(fromTable, time.Now())
	if _, err := a.Charge(ctx, qr.ChargeRequest{Merchant: rogue, Code: code, Amount: ledger.NewMoney(500_00, cny), Order: "from-table"}); err != qr.ErrInvalidCode {
		t.Fatalf("code from the table: %v", err)
	}

	// Guesses through both instances: a payment code of the phone's serial
	// with a one-time part that is not the phone's.
	genuine, _ := codes.Generate(phone, time.Now())
	for i := 0; i < 50; i++ {
		guess := []byte(genuine)
		guess[2+i%16] = '0' + (guess[2+i%16]-'0'+1)%10 // almost always another serial: the attacker's own codes
		svc := a
		if i%2 == 1 {
			svc = b
		}
		if _, err := svc.Charge(ctx, qr.ChargeRequest{Merchant: rogue, Code: string(guess), Amount: ledger.NewMoney(1_00, cny), Order: fmt.Sprint("g", i)}); err != qr.ErrInvalidCode {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	// And the targeted attack: codes of the phone's own serial (a wrong
	// secret: the permutation key is in every app).
	wrong := phone
	wrong.Secret = bytes.Repeat([]byte{7}, 32)
	for i := 0; i < 10; i++ {
		svc := a
		if i%2 == 1 {
			svc = b
		}
		code, _ := codes.Generate(wrong, time.Now())
		if _, err := svc.Charge(ctx, qr.ChargeRequest{Merchant: rogue, Code: code, Amount: ledger.NewMoney(1_00, cny), Order: fmt.Sprint("t", i)}); err != qr.ErrInvalidCode {
			t.Fatalf("targeted guess %d: %v", i, err)
		}
	}
	wrongCodes := 0
	for _, r := range reasons {
		if errors.Is(r, qr.ErrWrongCode) || errors.Is(r, qr.ErrExpired) {
			wrongCodes++
		}
	}
	// One from the table, then DeviceFailures-1 targeted guesses lock it.
	if wrongCodes != qr.DefaultLockout.DeviceFailures {
		t.Errorf("%d codes of the serial counted before the lock, want %d", wrongCodes, qr.DefaultLockout.DeviceFailures)
	}
	if _, err := b.Charge(ctx, qr.ChargeRequest{Merchant: shop, Code: genuine, Amount: ledger.NewMoney(10_00, cny), Order: "coffee"}); err != qr.ErrInvalidCode {
		t.Fatalf("genuine code of the locked device on the other instance: %v", err)
	}
	if st, err := b.DeviceStatus(ctx, "alice-phone"); err != nil || !st.Locked {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if err := a.UnlockDevice(ctx, "alice-phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Charge(ctx, qr.ChargeRequest{Merchant: shop, Code: genuine, Amount: ledger.NewMoney(10_00, cny), Order: "coffee"}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}
