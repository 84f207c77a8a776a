// Command qrpay is a tour of QR payments on socialpay's ledger (embedded
// memory stores):
//
//   - a shop issues a signed dynamic receive code (收款码) for a bill,
//     written as a PNG and drawn in the terminal;
//   - the customer's app reads the payload back, shows the payee's name from
//     the bank's directory and pays it, once; a retry returns the same
//     receipt, a second payer is refused, a copy with a lowered amount (CRC
//     recomputed) is refused;
//   - the customer's phone shows a payment code (付款码) made offline; a shop
//     charges it, a replay at another shop is refused;
//   - balances and the ledger's Verify.
//
// Run it:
//
//	go run ./examples/qrpay            # PNG in the temporary directory
//	go run ./examples/qrpay -png bill.png
//
// The PNG is read back by this example's test with gozxing (a test-only
// dependency); the program itself re-parses the payload string.
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
)

func main() {
	pngPath := flag.String("png", filepath.Join(os.TempDir(), "qrpay-receive-code.png"), "where to write the receive code's PNG")
	flag.Parse()
	if err := run(os.Stdout, *pngPath); err != nil {
		log.Fatal(err)
	}
}

// run plays the tour, writing the receive code's PNG to pngPath.
func run(w io.Writer, pngPath string) error {
	ctx := context.Background()
	now := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC) // 04:00 on the 17th in Beijing
	clock := func() time.Time { return now }

	// The bank: a ledger, customers' wallets, a directory of payees.
	l := ledger.New(nil, ledger.Options{Now: clock})
	cny := ledger.MustCurrency("CNY")
	names := map[uuid.UUID]string{}
	open := func(name string, flags ledger.AccountFlags) (uuid.UUID, error) {
		a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: flags})
		names[a.ID] = name
		return a.ID, err
	}
	yuan := func(s string) ledger.Money {
		m, err := ledger.ParseAmount(s, "CNY")
		if err != nil {
			panic(err) // constants below
		}
		return m
	}
	cash, err := open("bank", 0)
	if err != nil {
		return err
	}
	wallets := map[string]uuid.UUID{}
	for _, n := range []string{"alice", "bob", "bbq", "cafe"} {
		if wallets[n], err = open(n, ledger.DebitsMustNotExceedCredits); err != nil {
			return err
		}
	}
	alice, bob, bbq, cafe := wallets["alice"], wallets["bob"], wallets["bbq"], wallets["cafe"]
	// Users are the bank's IDs of its customers; a payment names the user
	// and the account it pays from (docs/identity.md).
	aliceUser, bobUser := uuid.New(), uuid.New()
	for _, id := range []uuid.UUID{alice, bob} {
		if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: cash, CreditAccountID: id, Amount: yuan("200.00")}); err != nil {
			return err
		}
	}
	directory := &qr.MemoryDirectory{}
	if err := directory.Put(qr.Payee{Alias: "shop-8817", Account: bbq, Name: "老王烧烤"}); err != nil {
		return err
	}

	// Receive codes are signed with the bank's Ed25519 key (an HSM in
	// production); payment codes need the permutation key the apps share.
	edKey := ed25519.NewKeyFromSeed([]byte("qrpay example Ed25519 seed 32 b."))
	signer, err := qr.NewEd25519Signer("k2026", edKey)
	if err != nil {
		return err
	}
	keys, err := qr.NewKeys(qr.Key{ID: "k2026", Ed25519: edKey.Public().(ed25519.PublicKey)})
	if err != nil {
		return err
	}
	receive, err := qr.NewReceiveCodes(qr.ReceiveConfig{Signer: signer, Keys: keys, Now: clock})
	if err != nil {
		return err
	}
	paycodes, err := qr.NewPaymentCodes(qr.PaymentCodeConfig{Prefix: "28", Key: []byte("qrpay example permutation key...")})
	if err != nil {
		return err
	}
	// Device secrets are kept wrapped; a bank's KMS holds this key.
	kek, err := qr.NewLocalKeyWrapper([]byte("qrpay example key-encryption key"), nil)
	if err != nil {
		return err
	}
	svc, err := qr.New(qr.Config{Ledger: l, Directory: directory, Receive: receive, PaymentCodes: paycodes,
		DeviceKeys: kek, Now: clock, SingleProcess: true})
	if err != nil {
		return err
	}

	fmt.Fprintln(w, "== 收款码: the shop shows a code for table 12")
	payload, err := svc.Issue(ctx, qr.ReceiveCode{Payee: "shop-8817", Initiation: qr.Dynamic, Amount: yuan("38.50"),
		Reference: "TABLE-12", Expires: now.Add(15 * time.Minute), City: "北京"})
	if err != nil {
		return err
	}
	png, err := qr.PNG(payload, qr.ImageOptions{Level: qr.LevelM, Size: 512})
	if err != nil {
		return err
	}
	if err := os.WriteFile(pngPath, png, 0o644); err != nil {
		return err
	}
	art, err := qr.Terminal(payload, qr.ImageOptions{Level: qr.LevelL})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "PNG written (%d bytes); the payload, %d characters:\n%s\n", len(png), len([]rune(payload)), payload)
	fmt.Fprint(w, art)

	fmt.Fprintln(w, "== the customer's app reads it")
	p, err := qr.Parse(payload)
	if err != nil {
		return err
	}
	amount, err := p.Amount()
	if err != nil {
		return err
	}
	alias, _ := p.GetSub(26, 1)
	fmt.Fprintf(w, "parsed: %s code, %v, reference %s, payee alias %s, field 59 %q\n", p.Initiation(), amount, p.Reference(), alias, p.MerchantName())
	q, err := svc.Preview(ctx, aliceUser, payload)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "shown to the payer: pay %v to %s (from the directory)\n", q.Amount, q.Payee.Name)

	fmt.Fprintln(w, "== paying")
	req := qr.PayRequest{User: aliceUser, From: alice, Payload: payload, Key: "alice-app-0001", PayeeConfirm: q.Confirm}
	r, err := svc.Pay(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "paid: %v from %s to %s for %s\n", r.Amount, names[r.From], r.Payee.Name, r.Reference)
	again, err := svc.Pay(ctx, req)
	fmt.Fprintf(w, "the app retries: same receipt %v, error %v\n", again == r, err)
	_, err = svc.Pay(ctx, qr.PayRequest{User: bobUser, From: bob, Payload: payload, Key: "bob-app-0001"})
	fmt.Fprintf(w, "bob scans the same code: %v\n", refused(err, qr.ErrCodePaid))

	fmt.Fprintln(w, "== a tampered copy")
	// A static code of the shop, and a copy with another amount and name.
	static, err := svc.Issue(ctx, qr.ReceiveCode{Payee: "shop-8817", Initiation: qr.Static, Currency: cny, City: "北京"})
	if err != nil {
		return err
	}
	p.Set(54, "3.85")
	tampered, err := p.Encode() // with a correct CRC
	if err != nil {
		return err
	}
	_, err = svc.Pay(ctx, qr.PayRequest{User: bobUser, From: bob, Payload: tampered, Key: "bob-app-0002"})
	fmt.Fprintf(w, "amount lowered to 3.85, CRC recomputed: %v\n", refused(err, qr.ErrBadSignature))
	sp, err := qr.Parse(static)
	if err != nil {
		return err
	}
	sp.Set(59, "Mallory")
	_, err = svc.Pay(ctx, qr.PayRequest{User: bobUser, From: bob, Payload: sp.String(), Amount: yuan("10.00"), Key: "bob-app-0003"})
	fmt.Fprintf(w, "static code renamed to Mallory: %v\n", refused(err, qr.ErrBadSignature))
	r, err = svc.Pay(ctx, qr.PayRequest{User: bobUser, From: bob, Payload: static, Amount: yuan("12.00"), Key: "bob-app-0004"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "the genuine static code: %v from %s to %s\n", r.Amount, names[r.From], r.Payee.Name)
	_, err = svc.Pay(ctx, qr.PayRequest{User: bobUser, From: bob, Payload: static, Amount: yuan("490.00"), Key: "bob-app-0005"})
	fmt.Fprintf(w, "490.00 more by static code today: %v\n", refused(err, qr.ErrDailyCap))

	fmt.Fprintln(w, "== 付款码: alice's phone pays at the café")
	phone, err := svc.RegisterDevice(ctx, "alice-phone", alice)
	if err != nil {
		return err
	}
	code, err := paycodes.Generate(phone, now) // on the phone, offline
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "the phone shows an %d-digit code starting %s\n", len(code), code[:2])
	now = now.Add(10 * time.Second) // scanned a little later
	c, err := svc.Charge(ctx, qr.ChargeRequest{Merchant: cafe, Code: code, Amount: yuan("23.00"), Order: "latte-0042"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "charged: %v from %s to %s for %s\n", c.Amount, c.Device, names[c.Merchant], c.Order)
	_, err = svc.Charge(ctx, qr.ChargeRequest{Merchant: bbq, Code: code, Amount: yuan("23.00"), Order: "bbq-7"})
	fmt.Fprintf(w, "a photo of the code used at the BBQ: %v\n", refused(err, qr.ErrReplay))
	now = now.Add(3 * time.Minute)
	_, err = svc.Charge(ctx, qr.ChargeRequest{Merchant: bbq, Code: code, Amount: yuan("23.00"), Order: "bbq-8"})
	fmt.Fprintf(w, "the same code three minutes on: %v\n", refused(err, qr.ErrInvalidCode))

	fmt.Fprintln(w, "== balances")
	for _, n := range []string{"alice", "bob", "bbq", "cafe"} {
		a, err := l.Account(ctx, wallets[n])
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-6s %12v\n", n, a.NetMoney())
	}
	rep, err := l.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "ledger verified: %d accounts, %d entries, debits = credits\n", rep.Accounts, rep.Entries)
	return nil
}

// refused says whether err is the expected refusal.
func refused(err, want error) string {
	switch {
	case err == nil:
		return "ACCEPTED (unexpected)"
	case errors.Is(err, want):
		return "refused (" + want.Error() + ")"
	}
	return "refused for another reason: " + err.Error()
}
