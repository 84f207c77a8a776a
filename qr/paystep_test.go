package qr

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// DecideCharge is Begin, then the redemption: what the slower path's
// BeginTry, MarkUsed and EndTry decide one after the other.
func TestDecideCharge(t *testing.T) {
	p := DefaultLockout
	at := testNow
	charge, other, merchant := uuid.New(), uuid.New(), uuid.New()
	try := CodeTry{Charge: charge, Serial: 7, Merchant: merchant, At: at, Day: "2026-02-17", Amount: yuan(10_00),
		Limit: yuan(2000_00), CodeOK: true}
	zeroS, zeroM := SerialRecord{Serial: 7}, MerchantRecord{Merchant: merchant}
	spent := func(s SerialRecord) int64 { return s.Spent.Units() }

	// A fresh code pays, is marked, and reserves the day.
	s, m, d := p.DecideCharge(zeroS, zeroM, try, uuid.Nil)
	if !d.Pay || !d.Mark || d.Replay || !d.Try.Reserved || spent(s) != 10_00 || s.LastCharge != charge {
		t.Fatalf("fresh code: %+v, serial %+v", d, s)
	}
	if m.Count != 0 || !m.Since.Equal(at) {
		t.Errorf("merchant after a genuine code: %+v", m)
	}
	// Its retry (the code redeemed by the same charge, the charge counted
	// last) pays again without marking or counting: the ledger finds the
	// duplicate.
	s2, _, d := p.DecideCharge(s, m, try, charge)
	if !d.Pay || d.Mark || d.Replay || d.Try.Reserved || spent(s2) != 10_00 {
		t.Fatalf("retry: %+v, serial %+v", d, s2)
	}
	// Another charge with the code: a replay, and the day given back.
	o := try
	o.Charge = other
	s3, _, d := p.DecideCharge(s, m, o, charge)
	if !d.Replay || d.Pay || d.Mark || spent(s3) != 10_00 {
		t.Fatalf("replay: %+v, serial %+v", d, s3)
	}
	s4, _, d := p.DecideCharge(zeroS, zeroM, o, charge)
	if !d.Replay || spent(s4) != 0 || s4.LastCharge != uuid.Nil {
		t.Fatalf("replay of a code redeemed before the day's count: %+v, serial %+v", d, s4)
	}
	// A failed code counts and pays nothing; a locked serial pays nothing.
	bad := try
	bad.CodeOK = false
	s5, m5, d := p.DecideCharge(zeroS, zeroM, bad, uuid.Nil)
	if d.Pay || d.Mark || d.Try.Outcome != TryFailed || s5.Count != 1 || m5.Count != 1 {
		t.Fatalf("failed code: %+v, %+v, %+v", d, s5, m5)
	}
	locked := zeroS
	locked.LockedAt = at.Add(-time.Minute)
	if _, _, d := p.DecideCharge(locked, zeroM, try, uuid.Nil); d.Pay || d.Try.Outcome != TryLocked {
		t.Fatalf("locked serial: %+v", d)
	}
	// Over the device's day: nothing reserved, nothing paid.
	big := try
	big.Amount = yuan(2000_01)
	if _, _, d := p.DecideCharge(zeroS, zeroM, big, uuid.Nil); d.Pay || d.Mark || !d.Try.OverCap {
		t.Fatalf("over the day: %+v", d)
	}
	// A merchant over its failures is refused, nothing counted.
	busy := zeroM
	busy.Count, busy.Since = p.MerchantFailures, at
	if _, m, d := p.DecideCharge(zeroS, busy, try, uuid.Nil); d.Pay || d.Try.Outcome != TryMerchantRefused || m.Count != p.MerchantFailures {
		t.Fatalf("merchant refused: %+v, %+v", d, m)
	}
}

// ChargeRefused gives the day back unless the ledger has the charge.
func TestChargeRefused(t *testing.T) {
	p := DefaultLockout
	merchant, charge := uuid.New(), uuid.New()
	try := CodeTry{Charge: charge, Serial: 7, Merchant: merchant, At: testNow, Day: "2026-02-17", Amount: yuan(10_00),
		Limit: yuan(2000_00), CodeOK: true}
	s, m, d := p.DecideCharge(SerialRecord{Serial: 7}, MerchantRecord{Merchant: merchant}, try, uuid.Nil)
	if back, _ := p.ChargeRefused(s, m, try, d, false); back.Spent.Units() != 0 || back.LastCharge != uuid.Nil {
		t.Errorf("refused: %+v, want the day given back", back)
	}
	if kept, _ := p.ChargeRefused(s, m, try, d, true); kept.Spent.Units() != 10_00 {
		t.Errorf("refused, the charge in the ledger: %+v, want the day kept", kept)
	}
	// Nothing reserved (no cap): nothing to give back.
	free := try
	free.Limit = ledger.Money{}
	s, m, d = p.DecideCharge(SerialRecord{Serial: 7, Day: try.Day, Spent: yuan(5_00)}, MerchantRecord{Merchant: merchant}, free, uuid.Nil)
	if back, _ := p.ChargeRefused(s, m, free, d, false); back.Spent.Units() != 5_00 {
		t.Errorf("refused without a cap: %+v", back)
	}
}

// The Service charges in one step exactly when its store pays on its
// ledger's store.
func TestServiceChargesInOneStep(t *testing.T) {
	e := newEnv(t, nil, nil)
	if e.svc.paying == nil {
		t.Error("a MemoryStore built with the Service's ledger: slower path")
	}
	for name, st := range map[string]Store{
		"no ledger":      NewMemoryStore(nil),
		"another ledger": NewMemoryStore(ledger.New(nil, ledger.Options{})),
	} {
		svc, err := New(Config{Ledger: e.ledger, Store: st})
		if err != nil {
			t.Fatal(err)
		}
		if svc.paying != nil {
			t.Errorf("%s: charges in one step", name)
		}
	}
	wrapped := newEnv(t, nil, func(s Store) Store { return &faultyStore{Store: s} })
	if wrapped.svc.paying != nil {
		t.Error("a store that is not a PayingStore: one step")
	}
}

// The charge, payment and attack tests again on a store that pays on no
// ledger: the slower path answers as the one step does.
func TestSlowerPath(t *testing.T) {
	slowerPath = true
	defer func() { slowerPath = false }()
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Charge", TestCharge},
		{"ChargeRefusals", TestChargeRefusals},
		{"ChargeConcurrentMerchants", TestChargeConcurrentMerchants},
		{"AttackGuessPaymentCode", TestAttackGuessPaymentCode},
		{"AttackConcurrentGuesses", TestAttackConcurrentGuesses},
		{"AttackCodeAnswersIndistinguishable", TestAttackCodeAnswersIndistinguishable},
		{"AttackMerchantRefused", TestAttackMerchantRefused},
		{"AttackDefaultCaps", TestAttackDefaultCaps},
		{"AttackStoredSecret", TestAttackStoredSecret},
		{"AttackRecycledNumber", TestAttackRecycledNumber},
		{"PayDynamic", TestPayDynamic},
		{"PayDynamicRefusals", TestPayDynamicRefusals},
		{"PayStaticDailyCap", TestPayStaticDailyCap},
		{"PayStaticCapConcurrent", TestPayStaticCapConcurrent},
		{"PayDynamicConcurrent", TestPayDynamicConcurrent},
		{"PaySameKeyConcurrent", TestPaySameKeyConcurrent},
	} {
		t.Run(tc.name, tc.fn)
	}
}

// Claim and Settle are the dynamic code's rules, which every store
// applies under its lock.
func TestDynamicCodeClaimSettle(t *testing.T) {
	p1, p2 := uuid.New(), uuid.New()
	open := DynamicCode{ID: uuid.New(), Payee: "shop", Reference: "r", Amount: yuan(1_00), Expires: testNow.Add(time.Hour)}
	if _, _, err := open.Claim(uuid.Nil, testNow); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("claim without payment: %v", err)
	}
	c, changed, err := open.Claim(p1, testNow)
	if err != nil || !changed || c.Payment != p1 || !c.ClaimedAt.Equal(testNow) || c.Settled {
		t.Fatalf("claim: %+v, %v, %v", c, changed, err)
	}
	if again, changed, err := c.Claim(p1, testNow.Add(time.Second)); err != nil || changed || !again.ClaimedAt.Equal(testNow) {
		t.Errorf("claim again by the holder: %+v, %v, %v", again, changed, err)
	}
	if _, changed, err := c.Claim(p2, testNow); !errors.Is(err, ErrCodePaid) || changed {
		t.Errorf("claim by another payment: %v, %v", changed, err)
	}
	if _, _, err := open.Settle(p1); !errors.Is(err, ErrClaimLost) {
		t.Errorf("settle an open code: %v", err)
	}
	if _, _, err := c.Settle(p2); !errors.Is(err, ErrClaimLost) {
		t.Errorf("settle by another payment: %v", err)
	}
	s, changed, err := c.Settle(p1)
	if err != nil || !changed || !s.Settled {
		t.Fatalf("settle: %+v, %v, %v", s, changed, err)
	}
	if _, changed, err := s.Settle(p1); err != nil || changed {
		t.Errorf("settle again: %v, %v", changed, err)
	}
	if _, _, err := s.Claim(p2, testNow); !errors.Is(err, ErrCodePaid) {
		t.Errorf("claim a settled code: %v", err)
	}
}
