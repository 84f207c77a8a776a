package qr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func testPaymentCodes(t testing.TB) *PaymentCodes {
	t.Helper()
	pc, err := NewPaymentCodes(PaymentCodeConfig{
		Prefix: "28",
		Key:    []byte("payment-code-permutation-key-32b"),
		Rand:   rand.NewChaCha8([32]byte{1}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// testAccount names a ledger account in tests.
func testAccount(name string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)) }

// devices is a DeviceFinder over a slice.
type devices []Device

func (ds devices) DeviceBySerial(_ context.Context, serial uint64) (Device, error) {
	for _, d := range ds {
		if d.Serial == serial {
			return d, nil
		}
	}
	return Device{}, ErrUnknownDevice
}

func TestPaymentCodeGenerateVerify(t *testing.T) {
	pc := testPaymentCodes(t)
	ctx := context.Background()
	alice, _ := pc.NewDevice("dev-alice", testAccount("acct-alice"), testNow)
	bob, _ := pc.NewDevice("dev-bob", testAccount("acct-bob"), testNow)
	reg := devices{alice, bob}

	code, err := pc.Generate(alice, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != 18 || !strings.HasPrefix(code, "28") || !allDigits(code) {
		t.Fatalf("code %q", code)
	}
	d, ref, err := pc.Verify(ctx, reg, code, testNow)
	if err != nil || d.ID != "dev-alice" || ref.Step != testNow.Unix()/60 {
		t.Fatalf("Verify = %v %+v %v", d.ID, ref, err)
	}
	// Within the 60 s step and one step of skew either side: accepted.
	for _, dt := range []time.Duration{-60 * time.Second, -time.Second, 59 * time.Second, 119 * time.Second} {
		if _, _, err := pc.Verify(ctx, reg, code, testNow.Add(dt)); err != nil {
			t.Errorf("code checked %v later: %v", dt, err)
		}
	}
	// Beyond: expired, also long after (up to the look-back of about an
	// hour).
	for _, dt := range []time.Duration{-61 * time.Second, 120 * time.Second, 4 * time.Minute, 5 * time.Minute, 10 * time.Minute, 33 * time.Minute, 59 * time.Minute} {
		if _, _, err := pc.Verify(ctx, reg, code, testNow.Add(dt)); !errors.Is(err, ErrExpired) {
			t.Errorf("code checked %v later: %v, want ErrExpired", dt, err)
		}
	}
	// Bob's device cannot pass for Alice's: same code, Bob's record.
	ref, _ = pc.Decode(code, testNow)
	if err := pc.Check(ref, bob); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("Check against another device: %v", err)
	}
	// A device with Alice's serial but another secret (a forged or
	// re-registered device): wrong code.
	forged := alice
	forged.Secret = bytes.Repeat([]byte{7}, 32)
	if err := pc.Check(ref, forged); !errors.Is(err, ErrWrongCode) {
		t.Errorf("Check with another secret: %v", err)
	}
	// An unregistered serial.
	if _, _, err := pc.Verify(ctx, devices{bob}, code, testNow); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("unregistered device: %v", err)
	}
	// Revoked.
	revoked := alice
	revoked.RevokedAt = testNow
	if _, _, err := pc.Verify(ctx, devices{revoked}, code, testNow); !errors.Is(err, ErrDeviceRevoked) {
		t.Errorf("revoked device: %v", err)
	}
	// One digit changed: most likely another serial (unknown) or a wrong
	// OTP, never accepted.
	for i := 2; i < 18; i++ {
		b := []byte(code)
		b[i] = '0' + (b[i]-'0'+1)%10
		if _, _, err := pc.Verify(ctx, reg, string(b), testNow); !errors.Is(err, ErrUnknownDevice) && !errors.Is(err, ErrWrongCode) && !errors.Is(err, ErrExpired) {
			t.Errorf("digit %d changed: %v", i, err)
		}
	}
}

func TestPaymentCodeMalformed(t *testing.T) {
	pc := testPaymentCodes(t)
	for _, code := range []string{"", "28", "2812345678901234567", "28123456789012345", "29123456789012345678"[:18], "28123456789O123456", "２８1234567890123456"} {
		if _, err := pc.Decode(code, testNow); !errors.Is(err, ErrMalformedCode) {
			t.Errorf("Decode(%q) = %v", code, err)
		}
	}
}

func TestPaymentCodesChangeAndHideTheDevice(t *testing.T) {
	pc := testPaymentCodes(t)
	d, _ := pc.NewDevice("dev", testAccount("acct"), testNow)
	d.Serial = 123456789
	other, _ := pc.NewDevice("dev2", testAccount("acct2"), testNow)
	seen := map[string]bool{}
	for i := range 200 {
		now := testNow.Add(time.Duration(i) * time.Minute)
		code, err := pc.Generate(d, now)
		if err != nil {
			t.Fatal(err)
		}
		if seen[code] {
			t.Fatalf("code %s repeated", code)
		}
		seen[code] = true
		if strings.Contains(code[2:], "123456789") {
			t.Fatalf("serial in clear in %s", code)
		}
		// Same step, other device: another code.
		if c2, _ := pc.Generate(other, now); c2 == code {
			t.Fatalf("two devices, one code %s", code)
		}
		// The code maps back to the device and step.
		ref, err := pc.Decode(code, now)
		if err != nil || ref.Serial != d.Serial || ref.Step != now.Unix()/60 {
			t.Fatalf("Decode = %+v, %v", ref, err)
		}
		if err := pc.Check(ref, d); err != nil {
			t.Fatalf("Check: %v", err)
		}
	}
	// Another permutation key reads another serial.
	pc2, _ := NewPaymentCodes(PaymentCodeConfig{Prefix: "28", Key: []byte("another-key-of-at-least-16")})
	code, _ := pc.Generate(d, testNow)
	if ref, _ := pc2.Decode(code, testNow); ref.Serial == d.Serial {
		t.Errorf("serial readable without the key")
	}
}

func TestPaymentCodePermutation(t *testing.T) {
	pc := testPaymentCodes(t)
	r := rand.New(rand.NewChaCha8([32]byte{2}))
	edges := []uint64{0, 1, bodyDomain - 1, bodyDomain / 2}
	for i := range 2000 {
		x := r.Uint64N(bodyDomain)
		if i < len(edges) {
			x = edges[i]
		}
		y := pc.permute(x, false)
		if y >= bodyDomain {
			t.Fatalf("permute(%d) = %d out of the domain", x, y)
		}
		if back := pc.permute(y, true); back != x {
			t.Fatalf("inverse(permute(%d)) = %d", x, back)
		}
	}
}

func TestNewDeviceAndConfig(t *testing.T) {
	pc := testPaymentCodes(t)
	serials := map[uint64]bool{}
	for i := range 100 {
		d, err := pc.NewDevice(fmt.Sprint(i), testAccount("a"), testNow)
		if err != nil || d.Serial >= MaxSerial || len(d.Secret) != 32 || d.Revoked() {
			t.Fatalf("NewDevice = %+v, %v", d, err)
		}
		serials[d.Serial] = true
	}
	if len(serials) < 100 {
		t.Errorf("serials repeat: %d distinct of 100", len(serials))
	}
	failing, _ := NewPaymentCodes(PaymentCodeConfig{Prefix: "28", Key: make([]byte, 16), Rand: strings.NewReader("")})
	if _, err := failing.NewDevice("x", testAccount("a"), testNow); err == nil {
		t.Errorf("NewDevice without randomness succeeded")
	}
	if _, err := pc.Generate(Device{Serial: MaxSerial, Secret: make([]byte, 32)}, testNow); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("serial out of range: %v", err)
	}
	for _, cfg := range []PaymentCodeConfig{
		{Prefix: "2", Key: make([]byte, 16)},
		{Prefix: "2a", Key: make([]byte, 16)},
		{Prefix: "28", Key: make([]byte, 16), Step: 1500 * time.Millisecond},
		{Prefix: "28", Key: make([]byte, 16), Skew: 5},
	} {
		if _, err := NewPaymentCodes(cfg); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("config %+v: %v", cfg, err)
		}
	}
	if _, err := NewPaymentCodes(PaymentCodeConfig{Prefix: "28", Key: make([]byte, 15)}); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("short key: %v", err)
	}
}

func BenchmarkPaymentCodeGenerateVerify(b *testing.B) {
	pc := testPaymentCodes(b)
	d, _ := pc.NewDevice("dev", testAccount("acct"), testNow)
	reg := devices{d}
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		code, err := pc.Generate(d, testNow)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := pc.Verify(ctx, reg, code, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
