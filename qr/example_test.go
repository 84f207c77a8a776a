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

// Parse EMVCo's worked example and read its fields.
func ExampleParse() {
	p, err := qr.Parse("00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A")
	if err != nil {
		fmt.Println(err)
		return
	}
	amount, _ := p.Amount()
	alt, _ := p.GetSub(64, 1)
	fmt.Println(p.Initiation(), amount, p.Country())
	fmt.Println(p.MerchantName(), "/", alt, "/", p.MerchantCity())
	fmt.Println(len(p.Objects), "data objects; terminal", p.Template(62)[2].Value)
	s, _ := p.Encode()
	fmt.Println("round trip:", s[len(s)-8:])
	// Output:
	// dynamic 23.72 CNY CN
	// BEST TRANSPORT / 最佳运输 / BEIJING
	// 15 data objects; terminal A6008667
	// round trip: 6304A13A
}

// Issue a signed dynamic receive code and verify it; an edited copy with a
// recomputed CRC is refused.
func ExampleReceiveCodes() {
	ctx := context.Background()
	now := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	secret := []byte("an HMAC secret of 32 bytes......")
	signer, _ := qr.NewHMACSigner("k2026", secret)
	keys, _ := qr.NewKeys(qr.Key{ID: "k2026", HMAC: secret})
	codes, _ := qr.NewReceiveCodes(qr.ReceiveConfig{Signer: signer, Keys: keys, Now: func() time.Time { return now }})

	amount, _ := ledger.ParseAmount("88.00", "CNY")
	payload, err := codes.Issue(ctx, qr.ReceiveCode{
		Payee: "alice.wang", Initiation: qr.Dynamic, Amount: amount,
		Reference: "ORDER-1", Expires: now.Add(15 * time.Minute), Name: "王小明", City: "上海",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := codes.Verify(ctx, payload)
	fmt.Println(c.Payee, c.Amount, c.Reference, c.Expires.Format(time.Kitchen), c.KeyID, err)

	// Someone raises the amount and recomputes the CRC.
	p, _ := qr.Parse(payload)
	p.Set(54, "888.00")
	_, err = codes.Verify(ctx, p.String())
	fmt.Println(errors.Is(err, qr.ErrBadSignature))
	// Output:
	// alice.wang 88.00 CNY ORDER-1 8:15PM k2026 <nil>
	// true
}

// A device derives a payment code offline; the server reads the device
// from it and checks it.
func ExamplePaymentCodes() {
	ctx := context.Background()
	now := time.Date(2026, 2, 16, 20, 0, 30, 0, time.UTC)
	pc, _ := qr.NewPaymentCodes(qr.PaymentCodeConfig{Prefix: "28", Key: []byte("permutation key shared with apps")})
	phone := qr.Device{ID: "dev-1", Account: uuid.MustParse("0b0b7c4e-2f0a-4a57-9d5e-3c1f00000001"), Serial: 417230911, Secret: []byte("a per-device secret of 32 bytes.")}

	code, _ := pc.Generate(phone, now) // on the phone
	fmt.Println(len(code), code[:2])

	registry := registeredDevices{phone}
	d, ref, err := pc.Verify(ctx, registry, code, now.Add(20*time.Second)) // at the merchant's bank
	fmt.Println(d.ID, ref.Serial, err)
	_, _, err = pc.Verify(ctx, registry, code, now.Add(3*time.Minute))
	fmt.Println(err)
	// Output:
	// 18 28
	// dev-1 417230911 <nil>
	// qr: code expired
}

// registeredDevices is a toy DeviceFinder.
type registeredDevices []qr.Device

func (r registeredDevices) DeviceBySerial(_ context.Context, serial uint64) (qr.Device, error) {
	for _, d := range r {
		if d.Serial == serial {
			return d, nil
		}
	}
	return qr.Device{}, qr.ErrUnknownDevice
}
