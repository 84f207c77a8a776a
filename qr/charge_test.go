package qr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

func (e *env) device(id string, account uuid.UUID) Device {
	e.t.Helper()
	d, err := e.svc.RegisterDevice(e.ctx, id, account)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// code is what the phone shows now.
func (e *env) code(d Device) string {
	e.t.Helper()
	c, err := e.codes.Generate(d, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) charge(merchant uuid.UUID, code string, fen int64, order string) (ChargeReceipt, error) {
	return e.svc.Charge(e.ctx, ChargeRequest{Merchant: merchant, Code: code, Amount: yuan(fen), Order: order})
}

func TestCharge(t *testing.T) {
	e := newEnv(t, nil, nil)
	alice := e.wallet("alice", 100_00)
	shop := e.wallet("shop", 0)
	cafe := e.wallet("cafe", 0)
	phone := e.device("alice-phone", alice)
	if phone.Account != alice || len(phone.Secret) != 32 {
		t.Fatalf("device %+v", phone)
	}
	code := e.code(phone)
	e.clock.Advance(20 * time.Second) // scanned a little later
	r, err := e.charge(shop, code, 25_00, "order-1")
	if err != nil {
		t.Fatal(err)
	}
	want := ChargeReceipt{Transfer: e.svc.ChargeID(shop, "order-1"), Merchant: shop, Payer: alice, Device: "alice-phone",
		Amount: yuan(25_00), Order: "order-1", At: testNow.Add(20 * time.Second)}
	if r != want {
		t.Fatalf("receipt\n %+v\nwant\n %+v", r, want)
	}
	// The merchant retries its order: the same receipt, not a replay.
	if again, err := e.charge(shop, code, 25_00, "order-1"); err != nil || again != r {
		t.Fatalf("retry: %+v, %v", again, err)
	}
	// The code again for another order, or at another merchant: replay.
	if _, err := e.charge(shop, code, 25_00, "order-2"); !errors.Is(err, ErrReplay) {
		t.Errorf("another order: %v", err)
	}
	if _, err := e.charge(cafe, code, 5_00, "order-1"); !errors.Is(err, ErrReplay) {
		t.Errorf("another merchant: %v", err)
	}
	// The order again with another amount: a conflict. With the phone's
	// next code (same payer, same amount): the same charge, and the code
	// is not redeemed by it.
	if _, err := e.charge(shop, code, 26_00, "order-1"); !errors.Is(err, ErrKeyReused) {
		t.Errorf("same order, other amount: %v", err)
	}
	e.clock.Advance(time.Minute)
	if again, err := e.charge(shop, e.code(phone), 25_00, "order-1"); err != nil || again != r {
		t.Errorf("same order, next code: %+v, %v", again, err)
	}
	// The next minute's code pays.
	if _, err := e.charge(cafe, e.code(phone), 5_00, "latte"); err != nil {
		t.Fatal(err)
	}
	e.wantBalance(alice, 70_00)
	e.wantBalance(shop, 25_00)
	e.wantBalance(cafe, 5_00)
	e.verify()
}

func TestChargeRefusals(t *testing.T) {
	var mu sync.Mutex
	var reasons []error
	e := newEnv(t, func(c *Config) {
		c.ChargeCaps = []ledger.Money{yuan(1000_00)}
		c.Refused = func(_ context.Context, r CodeRefusal) {
			mu.Lock()
			reasons = append(reasons, r.Reason)
			mu.Unlock()
		}
	}, nil)
	reason := func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(reasons) == 0 {
			return nil
		}
		r := reasons[len(reasons)-1]
		reasons = reasons[:0]
		return r
	}
	alice := e.wallet("alice", 2000_00)
	bob := e.wallet("bob", 100_00)
	shop := e.wallet("shop", 0)
	phone := e.device("alice-phone", alice)
	bobPhone := e.device("bob-phone", bob)

	// A phone the bank never registered, and a clone of Alice's phone
	// (her serial, another secret).
	stranger, _ := e.codes.NewDevice("stranger", bob, testNow)
	clone := phone
	clone.Secret = bytes.Repeat([]byte{9}, 32)
	old := e.code(phone)
	e.clock.Advance(3 * time.Minute)
	for _, tc := range []struct {
		name string
		code string
		fen  int64
		want error
	}{
		{"expired", old, 1_00, ErrExpired},
		{"unregistered device", e.code(stranger), 1_00, ErrUnknownDevice},
		{"another secret for the serial", e.code(clone), 1_00, ErrWrongCode},
		{"malformed", "28123", 1_00, ErrMalformedCode},
		{"other prefix", "99" + e.code(phone)[2:], 1_00, ErrMalformedCode},
		{"over the per-charge cap", e.code(phone), 1000_01, ErrChargeCap},
	} {
		// The merchant gets one answer for every code that does not pay;
		// the reason goes to the Refused hook only.
		_, err := e.charge(shop, tc.code, tc.fen, tc.name)
		got := reason()
		switch tc.want {
		case ErrMalformedCode, ErrChargeCap:
			got = err
		default:
			if err != ErrInvalidCode {
				t.Errorf("%s: merchant got %v, want ErrInvalidCode itself", tc.name, err)
			}
		}
		if !errors.Is(got, tc.want) {
			t.Errorf("%s: reason %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, req := range []ChargeRequest{
		{Code: e.code(phone), Amount: yuan(1), Order: "o"},
		{Merchant: shop, Code: e.code(phone), Amount: yuan(0), Order: "o"},
	} {
		if _, err := e.svc.Charge(e.ctx, req); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("request %+v: %v", req, err)
		}
	}
	// The order ID is the merchant's idempotency key: checked as every
	// key is.
	for _, order := range []string{"", strings.Repeat("o", ledger.MaxKeyLen+1), "\xff", "o\x00", "o\r\n"} {
		req := ChargeRequest{Merchant: shop, Code: e.code(phone), Amount: yuan(1), Order: order}
		if _, err := e.svc.Charge(e.ctx, req); !errors.Is(err, ErrInvalidValue) || !errors.Is(err, ledger.ErrInvalidKey) {
			t.Errorf("order %q: %v, want ErrInvalidValue and ledger.ErrInvalidKey", order, err)
		}
	}
	// Revoked: refused from now on.
	code := e.code(bobPhone)
	if err := e.svc.RevokeDevice(e.ctx, "bob-phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.charge(shop, code, 1_00, "revoked"); err != ErrInvalidCode || !errors.Is(reason(), ErrDeviceRevoked) {
		t.Errorf("revoked: %v", err)
	}
	if err := e.svc.RevokeDevice(e.ctx, "nobody"); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("revoke unknown: %v", err)
	}
	// Insufficient funds: the code is used up for other orders, but the
	// merchant's retry of the same order goes through once the money is
	// there.
	code = e.code(phone)
	if _, err := e.charge(shop, code, 2000_01, "big"); !errors.Is(err, ErrChargeCap) {
		t.Fatalf("cap first: %v", err)
	}
	e.svc.chargeCaps, e.svc.deviceCaps = nil, nil
	if _, err := e.charge(shop, code, 2000_01, "big"); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("insufficient funds: %v", err)
	}
	if _, err := e.charge(shop, code, 1_00, "small"); !errors.Is(err, ErrReplay) {
		t.Fatalf("code reused after a failed charge: %v", err)
	}
	e.fund(alice, 1)
	if _, err := e.charge(shop, code, 2000_01, "big"); err != nil {
		t.Fatalf("retry after top-up: %v", err)
	}
	e.wantBalance(alice, 0)
	e.wantBalance(bob, 100_00)
	e.wantBalance(shop, 2000_01)
	e.verify()
}

// Many merchants scan the same code at once: one charge.
func TestChargeConcurrentMerchants(t *testing.T) {
	e := newEnv(t, nil, nil)
	alice := e.wallet("alice", 100_00)
	phone := e.device("alice-phone", alice)
	code := e.code(phone)
	const n = 32
	merchants := make([]uuid.UUID, n)
	for i := range merchants {
		merchants[i] = e.wallet(fmt.Sprint("merchant", i), 0)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []int
	for i := range n {
		wg.Go(func() {
			_, err := e.charge(merchants[i], code, 10_00, "order")
			switch {
			case err == nil:
				mu.Lock()
				winners = append(winners, i)
				mu.Unlock()
			case !errors.Is(err, ErrReplay):
				t.Errorf("merchant %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d charges", len(winners))
	}
	e.wantBalance(alice, 90_00)
	e.wantBalance(merchants[winners[0]], 10_00)
	e.verify()
}

// A crash between redeeming the code and posting: the merchant's retry
// finishes the charge.
func TestChargeCrashAfterRedeem(t *testing.T) {
	var fs *faultyStore
	e := newEnv(t, nil, func(s Store) Store { fs = &faultyStore{Store: s}; return fs })
	alice := e.wallet("alice", 100_00)
	shop := e.wallet("shop", 0)
	code := e.code(e.device("alice-phone", alice))
	fs.set(&fs.afterMark, once(errCrash))
	if _, err := e.charge(shop, code, 10_00, "order"); !errors.Is(err, errCrash) {
		t.Fatalf("Charge = %v", err)
	}
	e.wantBalance(alice, 100_00)
	if _, err := e.charge(shop, code, 10_00, "order"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	e.wantBalance(alice, 90_00)
	e.wantBalance(shop, 10_00)
}

func TestRegisterDevice(t *testing.T) {
	// The same randomness twice, then other: the second registration's
	// first serial is taken and it draws again.
	first := bytes.Repeat([]byte{1}, 36)
	second := bytes.Repeat([]byte{2}, 36)
	third := bytes.Repeat([]byte{3}, 36)
	rnd := bytes.NewReader(bytes.Join([][]byte{first, first, second, third}, nil))
	e := newEnv(t, func(c *Config) {
		pc, err := NewPaymentCodes(PaymentCodeConfig{Prefix: "28", Key: []byte("payment-code-permutation-key-32b"), Rand: rnd})
		if err != nil {
			t.Fatal(err)
		}
		c.PaymentCodes = pc
	}, nil)
	alice := e.wallet("alice", 0)
	a := e.device("dev-a", alice)
	b := e.device("dev-b", alice)
	if a.Serial == b.Serial {
		t.Fatalf("serials %d and %d", a.Serial, b.Serial)
	}
	if got, err := e.store.Device(e.ctx, "dev-b"); err != nil || got.Serial != b.Serial || !got.CreatedAt.Equal(testNow) {
		t.Fatalf("stored %+v, %v", got, err)
	}
	if _, err := e.svc.RegisterDevice(e.ctx, "dev-a", alice); !errors.Is(err, ErrDeviceExists) {
		t.Fatalf("same ID: %v", err)
	}
	if _, err := e.svc.RegisterDevice(e.ctx, "dev-c", uuid.New()); !errors.Is(err, ledger.ErrAccountNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
	if _, err := e.svc.RegisterDevice(e.ctx, "", alice); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("no ID: %v", err)
	}
	bare, _ := New(Config{Ledger: e.ledger, SingleProcess: true})
	if _, err := bare.Charge(e.ctx, ChargeRequest{}); !errors.Is(err, ErrMissing) {
		t.Fatalf("no PaymentCodes: %v", err)
	}
}

func TestSweep(t *testing.T) {
	e := newEnv(t, nil, nil)
	alice := e.wallet("alice", 100_00)
	shop := e.wallet("shop", 0)
	phone := e.device("alice-phone", alice)
	code := e.code(phone)
	if _, err := e.charge(shop, code, 1_00, "o1"); err != nil {
		t.Fatal(err)
	}
	// Within the window the redemption is kept.
	e.clock.Advance(time.Minute)
	if n, err := e.svc.Sweep(e.ctx); err != nil || n != 0 {
		t.Fatalf("Sweep in the window = %d, %v", n, err)
	}
	if _, err := e.charge(shop, code, 1_00, "o2"); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay in the window: %v", err)
	}
	e.clock.Advance(2 * time.Minute)
	if n, err := e.svc.Sweep(e.ctx); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	// Forgotten, and still refused: too old.
	if _, err := e.charge(shop, code, 1_00, "o3"); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("old code after Sweep: %v", err)
	}
}
