package qr_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
)

// bank is a ledger with a bank account and customer wallets, on a fixed
// clock.
type bank struct {
	ctx    context.Context
	now    time.Time
	ledger *ledger.Ledger
	cash   uuid.UUID
}

func newBank() *bank {
	b := &bank{ctx: context.Background(), now: time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)}
	b.ledger = ledger.New(nil, ledger.Options{Now: b.clock})
	b.cash = b.account(0, "")
	return b
}

func (b *bank) clock() time.Time { return b.now }

func (b *bank) account(flags ledger.AccountFlags, yuan string) uuid.UUID {
	a, err := b.ledger.CreateAccount(b.ctx, ledger.Account{ID: uuid.New(), Currency: ledger.MustCurrency("CNY"), Flags: flags})
	if err != nil {
		panic(err)
	}
	if yuan != "" {
		m, _ := ledger.ParseAmount(yuan, "CNY")
		if _, err := b.ledger.Transfer(b.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: b.cash, CreditAccountID: a.ID, Amount: m}); err != nil {
			panic(err)
		}
	}
	return a.ID
}

func (b *bank) wallet(yuan string) uuid.UUID {
	return b.account(ledger.DebitsMustNotExceedCredits, yuan)
}

func (b *bank) balance(id uuid.UUID) ledger.Money {
	a, _ := b.ledger.Account(b.ctx, id)
	return a.NetMoney()
}

// A shop shows a dynamic code for a bill; a customer pays it once.
func ExampleService_Pay() {
	b := newBank()
	ctx := b.ctx
	shop, alice, bob := b.wallet(""), b.wallet("100.00"), b.wallet("100.00")
	// Users are the bank's IDs of its customers; a payment names the user
	// and the account paid from (docs/identity.md).
	aliceUser, bobUser := uuid.New(), uuid.New()

	directory := &qr.MemoryDirectory{}
	_ = directory.Put(qr.Payee{Alias: "shop-8817", Account: shop, Name: "老王烧烤"})
	secret := []byte("an HMAC secret of 32 bytes......")
	signer, _ := qr.NewHMACSigner("k2026", secret)
	keys, _ := qr.NewKeys(qr.Key{ID: "k2026", HMAC: secret})
	receive, _ := qr.NewReceiveCodes(qr.ReceiveConfig{Signer: signer, Keys: keys, Now: b.clock})
	svc, err := qr.New(qr.Config{Ledger: b.ledger, Directory: directory, Receive: receive, SingleProcess: true})
	if err != nil {
		panic(err)
	}

	bill, _ := ledger.ParseAmount("38.50", "CNY")
	payload, err := svc.Issue(ctx, qr.ReceiveCode{Payee: "shop-8817", Initiation: qr.Dynamic, Amount: bill,
		Reference: "TABLE-12", Expires: b.now.Add(15 * time.Minute), City: "北京"})
	if err != nil {
		panic(err)
	}

	// Alice's app shows the directory's name and amount, she confirms.
	q, _ := svc.Preview(ctx, aliceUser, payload)
	fmt.Println("pay", q.Payee.Name, q.Amount)
	req := qr.PayRequest{User: aliceUser, From: alice, Payload: payload, Key: "alice-app-0001", PayeeConfirm: q.Confirm}
	r, err := svc.Pay(ctx, req)
	fmt.Println(r.Amount, "to", r.Payee.Name, "for", r.Reference, err)

	// The app retries (a lost response): the same receipt, paid once.
	again, err := svc.Pay(ctx, req)
	fmt.Println("retry:", again == r, err)

	// Bob scans the same code.
	_, err = svc.Pay(ctx, qr.PayRequest{User: bobUser, From: bob, Payload: payload, Key: "bob-app-0001"})
	fmt.Println("bob:", errors.Is(err, qr.ErrCodePaid))

	// Someone lowers the amount and recomputes the CRC.
	p, _ := qr.Parse(payload)
	p.Set(54, "0.01")
	_, err = svc.Pay(ctx, qr.PayRequest{User: bobUser, From: bob, Payload: p.String(), Key: "bob-app-0002"})
	fmt.Println("tampered:", errors.Is(err, qr.ErrBadSignature))

	fmt.Println("alice", b.balance(alice), "bob", b.balance(bob), "shop", b.balance(shop))
	// Output:
	// pay 老王烧烤 38.50 CNY
	// 38.50 CNY to 老王烧烤 for TABLE-12 <nil>
	// retry: true <nil>
	// bob: true
	// tampered: true
	// alice 61.50 CNY bob 100.00 CNY shop 38.50 CNY
}

// A payer's phone shows a payment code (付款码), made offline; the
// merchant scans and charges it once.
func ExampleService_Charge() {
	b := newBank()
	ctx := b.ctx
	alice, shop, cafe := b.wallet("100.00"), b.wallet(""), b.wallet("")

	codes, _ := qr.NewPaymentCodes(qr.PaymentCodeConfig{Prefix: "28", Key: []byte("permutation key shared with apps")})
	kek, _ := qr.NewLocalKeyWrapper(make([]byte, 32), nil) // a KMS key in production
	svc, err := qr.New(qr.Config{Ledger: b.ledger, PaymentCodes: codes, DeviceKeys: kek, SingleProcess: true})
	if err != nil {
		panic(err)
	}
	phone, err := svc.RegisterDevice(ctx, "alice-phone", alice) // once, when she turns 付款码 on
	if err != nil {
		panic(err)
	}

	code, _ := codes.Generate(phone, b.now) // on the phone, offline
	fmt.Println(len(code), "digits")

	price, _ := ledger.ParseAmount("12.00", "CNY")
	r, err := svc.Charge(ctx, qr.ChargeRequest{Merchant: shop, Code: code, Amount: price, Order: "A-1001"})
	fmt.Println(r.Amount, "from", r.Device, "for", r.Order, err)

	// The shop's terminal retries the order: the same receipt.
	again, err := svc.Charge(ctx, qr.ChargeRequest{Merchant: shop, Code: code, Amount: price, Order: "A-1001"})
	fmt.Println("retry:", again == r, err)

	// A photo of the code, used at another shop.
	_, err = svc.Charge(ctx, qr.ChargeRequest{Merchant: cafe, Code: code, Amount: price, Order: "C-77"})
	fmt.Println("replay:", errors.Is(err, qr.ErrReplay))

	fmt.Println("alice", b.balance(alice), "shop", b.balance(shop), "cafe", b.balance(cafe))
	// Output:
	// 18 digits
	// 12.00 CNY from alice-phone for A-1001 <nil>
	// retry: true <nil>
	// replay: true
	// alice 88.00 CNY shop 12.00 CNY cafe 0.00 CNY
}
