package qr

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// forge is the code an attacker who extracted the permutation key from an
// app makes for a serial, the current step and a guessed one-time
// password.
func forge(pc *PaymentCodes, serial uint64, now time.Time, otp uint32) string {
	step := pc.stepOf(now)
	y := pc.permute(serial*(stepDigits*otpModulus)+uint64(step%stepDigits)*otpModulus+uint64(otp), false)
	var b [codeLen]byte
	b[0], b[1] = pc.prefix[0], pc.prefix[1]
	for i := codeLen - 1; i >= 2; i-- {
		b[i] = byte('0' + y%10)
		y /= 10
	}
	return string(b[:])
}

// wrongOTP returns a one-time password that is not the device's at now.
func wrongOTP(pc *PaymentCodes, d Device, now time.Time, i int) uint32 {
	right := pc.otp(d, pc.stepOf(now))
	return (right + 1 + uint32(i)) % otpModulus
}

// refusals collects what Config.Refused is told.
type refusals struct {
	mu  sync.Mutex
	got []CodeRefusal
}

func (r *refusals) hook(_ context.Context, c CodeRefusal) {
	r.mu.Lock()
	r.got = append(r.got, c)
	r.mu.Unlock()
}

func (r *refusals) count(reason error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.got {
		if errors.Is(c.Reason, reason) {
			n++
		}
	}
	return n
}

// A rogue merchant (or one with stolen credentials) who knows a payer's
// serial guesses one-time parts. Before: every guess was checked, none
// counted, 20,000 ran in a fraction of a second. Now the device is locked
// after DeviceFailures wrong codes, even its genuine code is then
// refused, and only the payer's re-authentication (UnlockDevice) frees it.
// Two Service instances on one store share the count.
func TestAttackGuessPaymentCode(t *testing.T) {
	var seen refusals
	e := newEnv(t, func(c *Config) { c.Refused = seen.hook }, nil)
	other, err := New(Config{Ledger: e.ledger, Store: e.store, PaymentCodes: e.codes, DeviceKeys: testKEK(t),
		Now: e.clock.Now, Refused: seen.hook})
	if err != nil {
		t.Fatal(err)
	}
	alice := e.wallet("alice", 1000_00)
	rogue := e.wallet("rogue", 0)
	shop := e.wallet("shop", 0)
	phone := e.device("alice-phone", alice)
	n := DefaultLockout.DeviceFailures
	for i := 0; i < 20_000; i++ {
		svc := e.svc
		if i%2 == 1 {
			svc = other // another instance of the bank's service
		}
		code := forge(e.codes, phone.Serial, e.clock.Now(), wrongOTP(e.codes, phone, e.clock.Now(), i))
		_, err := svc.Charge(e.ctx, ChargeRequest{Merchant: rogue, Code: code, Amount: yuan(500_00), Order: "guess-" + string(rune('a'+i%26)) + uuid.NewString()})
		if errors.Is(err, ErrMerchantRefused) {
			break
		}
		if err != ErrInvalidCode {
			t.Fatalf("guess %d: %v, want ErrInvalidCode", i, err)
		}
	}
	if got := seen.count(ErrWrongCode); got != n {
		t.Errorf("one-time parts that could have paid: %d, want %d (then locked)", got, n)
	}
	st, err := e.svc.DeviceStatus(e.ctx, "alice-phone")
	if err != nil || !st.Locked {
		t.Fatalf("status after the guesses: %+v, %v", st, err)
	}
	// Locked: Alice's genuine code does not pay at any merchant, and the
	// merchant cannot tell why.
	if _, err := e.charge(shop, e.code(phone), 10_00, "coffee"); err != ErrInvalidCode {
		t.Fatalf("genuine code of a locked device: %v", err)
	}
	if seen.count(ErrDeviceLocked) == 0 {
		t.Error("the hook was not told the device is locked")
	}
	// Still locked after the window: only re-authentication unlocks.
	e.clock.Advance(DefaultLockout.DeviceWindow + time.Minute)
	if _, err := e.charge(shop, e.code(phone), 10_00, "coffee-tomorrow"); err != ErrInvalidCode {
		t.Fatalf("genuine code a day later: %v", err)
	}
	if err := e.svc.UnlockDevice(e.ctx, "alice-phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.charge(shop, e.code(phone), 10_00, "coffee-unlocked"); err != nil {
		t.Fatalf("after UnlockDevice: %v", err)
	}
	e.wantBalance(alice, 990_00)
	e.wantBalance(rogue, 0)
	if st, _ := e.svc.DeviceStatus(e.ctx, "alice-phone"); st.Locked || st.Failures != 0 {
		t.Errorf("status after unlock and a payment: %+v", st)
	}
}

// Guesses sent all at once are decided one after another by the store:
// of 64 concurrent wrong codes for one serial exactly DeviceFailures are
// counted as failures, the rest find the device locked.
func TestAttackConcurrentGuesses(t *testing.T) {
	var seen refusals
	e := newEnv(t, func(c *Config) { c.Refused = seen.hook }, nil)
	alice := e.wallet("alice", 1000_00)
	rogue := e.wallet("rogue", 0)
	phone := e.device("alice-phone", alice)
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			code := forge(e.codes, phone.Serial, e.clock.Now(), wrongOTP(e.codes, phone, e.clock.Now(), i))
			if _, err := e.charge(rogue, code, 1_00, uuid.NewString()); err != ErrInvalidCode {
				t.Errorf("guess %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if got := seen.count(ErrWrongCode); got != DefaultLockout.DeviceFailures {
		t.Errorf("%d failures before the lock, want %d", got, DefaultLockout.DeviceFailures)
	}
	if st, _ := e.svc.DeviceStatus(e.ctx, "alice-phone"); !st.Locked {
		t.Errorf("not locked: %+v", st)
	}
}

// Before, unknown device, revoked device, expired code and wrong code were
// four errors: a merchant learnt which serials exist. Now the answers are
// one error value with one text.
func TestAttackCodeAnswersIndistinguishable(t *testing.T) {
	e := newEnv(t, nil, nil)
	alice := e.wallet("alice", 100_00)
	bob := e.wallet("bob", 100_00)
	shop := e.wallet("shop", 0)
	phone := e.device("alice-phone", alice)
	bobPhone := e.device("bob-phone", bob)
	old := e.code(phone)
	e.clock.Advance(3 * time.Minute)
	if err := e.svc.RevokeDevice(e.ctx, "bob-phone"); err != nil {
		t.Fatal(err)
	}
	unused := (phone.Serial + 1) % MaxSerial
	codes := map[string]string{
		"unknown serial": forge(e.codes, unused, e.clock.Now(), 123456),
		"revoked device": e.code(bobPhone),
		"expired code":   old,
		"wrong code":     forge(e.codes, phone.Serial, e.clock.Now(), wrongOTP(e.codes, phone, e.clock.Now(), 0)),
	}
	var first error
	for name, code := range codes {
		_, err := e.charge(shop, code, 1_00, name)
		if err != ErrInvalidCode {
			t.Errorf("%s: %v", name, err)
		}
		if first != nil && err.Error() != first.Error() {
			t.Errorf("%s: %q, other answers %q", name, err, first)
		}
		first = err
	}
}

// A merchant spreading guesses over many serials is refused once it has
// failed MerchantFailures times in its window; other merchants are not.
func TestAttackMerchantRefused(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Lockout = Lockout{DeviceFailures: 5, DeviceWindow: 24 * time.Hour, MerchantFailures: 10, MerchantWindow: time.Hour}
	}, nil)
	alice := e.wallet("alice", 100_00)
	rogue := e.wallet("rogue", 0)
	shop := e.wallet("shop", 0)
	phone := e.device("alice-phone", alice)
	for i := range 10 {
		code := forge(e.codes, uint64(1000+i), e.clock.Now(), 1)
		if _, err := e.charge(rogue, code, 1_00, uuid.NewString()); err != ErrInvalidCode {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, err := e.charge(rogue, e.code(phone), 1_00, "genuine"); !errors.Is(err, ErrMerchantRefused) {
		t.Fatalf("11th attempt: %v", err)
	}
	if _, err := e.charge(shop, e.code(phone), 1_00, "genuine"); err != nil {
		t.Fatalf("another merchant: %v", err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.charge(rogue, e.code(phone), 1_00, "next hour"); err != nil {
		t.Fatalf("the next window: %v", err)
	}
}

// Before there was no default cap: one guessed code took the whole
// balance. Now a charge is capped at 1,000.00 CNY and a device's charges at
// 2,000.00 CNY a day, by default.
func TestAttackDefaultCaps(t *testing.T) {
	e := newEnv(t, nil, nil)
	alice := e.wallet("alice", 10_000_00)
	shop := e.wallet("shop", 0)
	phone := e.device("alice-phone", alice)
	if _, err := e.charge(shop, e.code(phone), 1_000_01, "big"); !errors.Is(err, ErrChargeCap) {
		t.Fatalf("over the per-charge cap: %v", err)
	}
	for i, fen := range []int64{1_000_00, 900_00} {
		e.clock.Advance(time.Minute)
		if _, err := e.charge(shop, e.code(phone), fen, string(rune('a'+i))); err != nil {
			t.Fatalf("charge %d: %v", i, err)
		}
	}
	e.clock.Advance(time.Minute)
	code := e.code(phone)
	if _, err := e.charge(shop, code, 100_01, "over the day"); !errors.Is(err, ErrDeviceDailyCap) {
		t.Fatalf("over the daily cap: %v", err)
	}
	// The refused charge did not use the code or the day's room.
	if _, err := e.charge(shop, code, 100_00, "to the cap"); err != nil {
		t.Fatalf("up to the cap: %v", err)
	}
	if st, _ := e.svc.DeviceStatus(e.ctx, "alice-phone"); st.Spent != yuan(2_000_00) {
		t.Errorf("spent %v", st.Spent)
	}
	// A failed transfer gives its room back.
	e.clock.Set(testNow.Add(24 * time.Hour))
	poor := e.wallet("poor", 5_00)
	pphone := e.device("poor-phone", poor)
	if _, err := e.charge(shop, e.code(pphone), 10_00, "too much"); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("insufficient funds: %v", err)
	}
	if st, _ := e.svc.DeviceStatus(e.ctx, "poor-phone"); !st.Spent.IsZero() || st.Failures != 0 {
		t.Errorf("after a failed transfer: %+v", st)
	}
	// The next day starts again.
	if _, err := e.charge(shop, e.code(phone), 1_000_00, "next day"); err != nil {
		t.Fatalf("next day: %v", err)
	}
	e.verify()
}

// Before, the stores kept device secrets in clear: whoever read the
// table (a backup, a replica, a support login) made the payer's codes.
// Now the store holds the secret wrapped under a key it never sees: the
// record makes no code that pays, and a wrapped secret copied onto another
// device's record does not open.
func TestAttackStoredSecret(t *testing.T) {
	var seen refusals
	e := newEnv(t, func(c *Config) { c.Refused = seen.hook }, nil)
	alice := e.wallet("alice", 100_00)
	mallory := e.wallet("mallory", 0)
	shop := e.wallet("shop", 0)
	phone := e.device("alice-phone", alice)
	stored, err := e.store.Device(e.ctx, "alice-phone")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.Secret, phone.Secret) || bytes.Equal(stored.Secret, phone.Secret) {
		t.Fatal("the store keeps the secret in clear")
	}
	fromStore := stored
	fromStore.Secret = stored.Secret[:32]
	code, err := e.codes.Generate(fromStore, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.charge(shop, code, 1_00, "from the table"); err != ErrInvalidCode {
		t.Fatalf("code made from the stored record: %v", err)
	}
	// The genuine phone still pays.
	if _, err := e.charge(shop, e.code(phone), 1_00, "genuine"); err != nil {
		t.Fatal(err)
	}
	// An insider registers a phone of his own and copies its wrapped
	// secret onto Alice's record: his phone's codes do not pay from her
	// account.
	own := e.device("mallory-phone", mallory)
	mine, _ := e.store.Device(e.ctx, "mallory-phone")
	e.store.devMu.Lock()
	e.store.devices["alice-phone"].Secret = mine.Secret
	e.store.devMu.Unlock()
	forged := own
	forged.Serial = phone.Serial
	e.clock.Advance(time.Minute)
	code, _ = e.codes.Generate(forged, e.clock.Now())
	if _, err := e.charge(shop, code, 1_00, "swapped"); err != ErrInvalidCode || seen.count(ErrUnwrap) != 1 {
		t.Fatalf("swapped wrapped secret: %v, unwrap refusals %d", err, seen.count(ErrUnwrap))
	}
	e.wantBalance(alice, 99_00)
}

func TestServiceNeedsDeviceKeys(t *testing.T) {
	e := newEnv(t, nil, nil)
	if _, err := New(Config{Ledger: e.ledger, PaymentCodes: e.codes, SingleProcess: true}); !errors.Is(err, ErrMissing) {
		t.Fatalf("PaymentCodes without DeviceKeys: %v", err)
	}
	if _, err := NewLocalKeyWrapper(make([]byte, 16), nil); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("short key-encryption key: %v", err)
	}
	if _, err := New(Config{Ledger: e.ledger, Lockout: Lockout{DeviceFailures: 1}, SingleProcess: true}); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("half a lockout: %v", err)
	}
}

// A shop prints a static code naming its phone number; the number is
// recycled and bound to a stranger whose name masks alike. Before, every
// payer scanning the printed code paid the stranger. Now the code carries
// the mark of the binding it was issued for, under its signature, and
// paying it after the rebinding is ErrBindingChanged.
func TestAttackRecycledNumber(t *testing.T) {
	e := newEnv(t, nil, nil)
	shop := e.wallet("shop", 0)
	stranger := e.wallet("stranger", 0)
	alice := e.wallet("alice", 100_00)
	if err := e.dir.Put(Payee{Alias: "+8613800138000", Account: shop, Name: "王小明", Binding: "holder-1/epoch-1"}); err != nil {
		t.Fatal(err)
	}
	printed, err := e.svc.Issue(e.ctx, ReceiveCode{Payee: "+8613800138000", Initiation: Static, Currency: cny, City: "上海"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pay(alice, printed, 10_00, "before"); err != nil {
		t.Fatal(err)
	}
	// Recycled: another holder, another account, another epoch.
	if err := e.dir.Put(Payee{Alias: "+8613800138000", Account: stranger, Name: "李小明", Binding: "holder-2/epoch-2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Preview(e.ctx, userOf(alice), printed); !errors.Is(err, ErrBindingChanged) {
		t.Errorf("preview of the printed code: %v", err)
	}
	if _, err := e.pay(alice, printed, 10_00, "after"); !errors.Is(err, ErrBindingChanged) {
		t.Fatalf("pay the printed code: %v", err)
	}
	// Rebound to the same account but a new epoch (a new holder on the
	// same wallet provider): refused too.
	if err := e.dir.Put(Payee{Alias: "+8613800138000", Account: shop, Name: "王小明", Binding: "holder-3/epoch-3"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pay(alice, printed, 10_00, "epoch"); !errors.Is(err, ErrBindingChanged) {
		t.Fatalf("new epoch: %v", err)
	}
	e.wantBalance(stranger, 0)
	e.wantBalance(shop, 10_00)
	// An edited mark fails the signature.
	p, _ := Parse(printed)
	acct := p.find(26)
	for i := range acct.Sub {
		if acct.Sub[i].ID == 3 {
			acct.Sub[i].Value = BindingMark(Payee{Alias: "+8613800138000", Account: shop, Binding: "holder-3/epoch-3"})
		}
	}
	forged, _ := p.Encode()
	if _, err := e.pay(alice, forged, 10_00, "forged"); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("edited mark: %v", err)
	}
}

// Before, any caller of Issue minted a signed code for any alias, someone
// else's number included. IssueAs, the customer-facing path, refuses an
// alias the directory binds to another account.
func TestAttackIssueForSomeoneElse(t *testing.T) {
	e := newEnv(t, nil, nil)
	victim := e.payee("+8613800138000", "王小明")
	mallory := e.wallet("mallory", 0)
	c := ReceiveCode{Payee: "+8613800138000", Initiation: Static, Currency: cny, City: "上海"}
	if _, err := e.svc.IssueAs(e.ctx, mallory, c); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("mallory issues for the victim's number: %v", err)
	}
	// An unbound number answers alike: IssueAs is no enumeration oracle.
	c.Payee = "+8613900139000"
	if _, err := e.svc.IssueAs(e.ctx, mallory, c); !errors.Is(err, ErrNotOwner) || errors.Is(err, ErrUnknownPayee) {
		t.Fatalf("mallory issues for an unbound number: %v", err)
	}
	c.Payee = "+8613800138000"
	if _, err := e.svc.IssueAs(e.ctx, victim, c); err != nil {
		t.Fatalf("the owner: %v", err)
	}
}

// Passes agrees with Begin, and passes only attempts that leave nothing to
// store: no failure, no lock, no reservation, no refusal.
func TestLockoutPasses(t *testing.T) {
	p := DefaultLockout
	cny := ledger.MustCurrency("CNY")
	at := time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)
	charge, other := uuid.New(), uuid.New()
	try := func(ok bool, limit int64) CodeTry {
		tr := CodeTry{Charge: charge, Serial: 7, Merchant: uuid.New(), At: at, Day: "2026-02-16",
			Amount: ledger.NewMoney(100, cny), CodeOK: ok}
		if limit > 0 {
			tr.Limit = ledger.NewMoney(limit, cny)
		}
		return tr
	}
	spent := SerialRecord{Serial: 7, Day: "2026-02-16", Spent: ledger.NewMoney(100, cny), LastCharge: charge}
	busy := MerchantRecord{Strikes: Strikes{Count: p.MerchantFailures, Since: at.Add(-time.Minute)}}
	stale := MerchantRecord{Strikes: Strikes{Count: p.MerchantFailures, Since: at.Add(-2 * p.MerchantWindow)}}
	for _, c := range []struct {
		name string
		s    SerialRecord
		m    MerchantRecord
		t    CodeTry
		want bool
	}{
		{"genuine, no cap", SerialRecord{Serial: 7}, MerchantRecord{}, try(true, 0), true},
		{"genuine, merchant's failures of a past window", SerialRecord{Serial: 7, Strikes: Strikes{Count: 2, Since: at}}, stale, try(true, 0), true},
		{"duplicate of the charge counted last", spent, MerchantRecord{}, try(true, 500), true},
		{"wrong code", SerialRecord{Serial: 7}, MerchantRecord{}, try(false, 0), false},
		{"locked serial", SerialRecord{Serial: 7, Strikes: Strikes{Count: 5, Since: at, LockedAt: at}}, MerchantRecord{}, try(true, 0), false},
		{"merchant refused", SerialRecord{Serial: 7}, busy, try(true, 0), false},
		{"reserves the day", SerialRecord{Serial: 7}, MerchantRecord{}, try(true, 500), false},
		{"over the cap", SerialRecord{Serial: 7, Day: "2026-02-16", Spent: ledger.NewMoney(450, cny), LastCharge: other}, MerchantRecord{}, try(true, 500), false},
		{"a new day", SerialRecord{Serial: 7, Day: "2026-02-15", Spent: ledger.NewMoney(100, cny), LastCharge: charge}, MerchantRecord{}, try(true, 500), false},
	} {
		r, ok := p.Passes(c.s, c.m, c.t)
		if ok != c.want {
			t.Errorf("%s: Passes = %v, want %v", c.name, ok, c.want)
			continue
		}
		if _, _, begun := p.Begin(c.s, c.m, c.t); ok && r != begun {
			t.Errorf("%s: Passes' result %+v, Begin's %+v", c.name, r, begun)
		}
	}
}

// A store per instance would let a payment code redeemed on one instance
// be charged again on another: without a Store, New refuses to
// make one up unless told it is the only process, and says which option.
func TestServiceNeedsSharedStore(t *testing.T) {
	e := newEnv(t, nil, nil)
	_, err := New(Config{Ledger: e.ledger})
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "SingleProcess") {
		t.Fatalf("no Store: %v, want ErrMissing naming SingleProcess", err)
	}
	if _, err := New(Config{Ledger: e.ledger, SingleProcess: true}); err != nil {
		t.Fatalf("no Store, single process: %v", err)
	}
	if _, err := New(Config{Ledger: e.ledger, Store: NewMemoryStore(e.ledger)}); err != nil {
		t.Fatalf("a Store given: %v", err)
	}
}
