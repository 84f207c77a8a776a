// Package qrtest is the conformance suite of qr.Store: every
// implementation (qr.MemoryStore, the PostgreSQL store) runs the same
// tests, so that a qr.Service behaves the same on each:
//
//	func TestMemoryStore(t *testing.T) {
//		qrtest.Run(t, func(testing.TB) qr.Store { return qr.NewMemoryStore(nil) })
//	}
//
// It checks registration, claim, settlement and release of dynamic codes
// (of 32 payments claiming one code at once exactly one wins), the daily
// cap counters (exact under 100 concurrent reservations and retries, per
// payer, day and currency, idempotent per payment), devices (unique IDs
// and serials, revocation) and redeemed payment codes (of 64 merchants
// redeeming one code at once exactly one wins; a retry by the same charge
// succeeds), payment-code attempts (qr.Lockout applied under the store's
// lock: of 32 concurrent failures at one serial exactly DeviceFailures
// count, the rest find it locked; merchants refused; a device's day
// reserved once per charge and given back), and the scans and resets
// Service.Check and Service.Reconcile use. RunService runs a qr.Service on a store and a ledger store.
package qrtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
)

// Run runs the suite. newStore must return an empty store for each
// subtest (a database implementation may create a schema per call and drop
// it with t.Cleanup).
func Run(t *testing.T, newStore func(t testing.TB) qr.Store) {
	t.Run("DynamicCodes", func(t *testing.T) { testDynamicCodes(t, newStore(t)) })
	t.Run("DynamicCodeRelease", func(t *testing.T) { testDynamicCodeRelease(t, newStore(t)) })
	t.Run("DynamicCodeConcurrentClaims", func(t *testing.T) { testConcurrentClaims(t, newStore(t)) })
	t.Run("Caps", func(t *testing.T) { testCaps(t, newStore(t)) })
	t.Run("CapSettleRelease", func(t *testing.T) { testCapSettleRelease(t, newStore(t)) })
	t.Run("CapConcurrentReservations", func(t *testing.T) { testConcurrentReservations(t, newStore(t)) })
	t.Run("ScanAndReset", func(t *testing.T) { testScanAndReset(t, newStore(t)) })
	t.Run("Devices", func(t *testing.T) { testDevices(t, newStore(t)) })
	t.Run("UsedCodes", func(t *testing.T) { testUsedCodes(t, newStore(t)) })
	t.Run("UsedCodesConcurrent", func(t *testing.T) { testConcurrentMarkUsed(t, newStore(t)) })
	t.Run("Attempts", func(t *testing.T) { testAttempts(t, newStore(t)) })
	t.Run("AttemptsConcurrent", func(t *testing.T) { testConcurrentAttempts(t, newStore(t)) })
}

var (
	cny = ledger.MustCurrency("CNY")
	// t0 is to the microsecond, which a database keeps.
	t0 = time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)
)

func yuan(fen int64) ledger.Money { return ledger.NewMoney(fen, cny) }

// ID returns the UUID the suite uses for a name (payments "p1", payers
// "alice", codes "code/a"…): fixed, so that a failure can be looked up in
// the store under test.
func ID(name string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte("qrtest/"+name)) }

func id(name string) uuid.UUID { return ID(name) }

func code(name string, fen int64) qr.DynamicCode {
	return qr.DynamicCode{
		ID: id("code/" + name), Payee: "shop-" + name, Reference: "ORDER-" + name,
		Amount: yuan(fen), Expires: t0.Add(15 * time.Minute), IssuedAt: t0,
	}
}

func want(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func testDynamicCodes(t *testing.T, s qr.Store) {
	ctx := context.Background()
	c := code("a", 8800)
	ok(t, "register", s.RegisterCode(ctx, c))
	ok(t, "register again", s.RegisterCode(ctx, c))
	again := c
	again.IssuedAt = t0.Add(time.Minute) // a retried Issue: later clock, same code
	ok(t, "register again later", s.RegisterCode(ctx, again))
	other := c
	other.Amount = yuan(8801)
	want(t, "register with another amount", s.RegisterCode(ctx, other), qr.ErrCodeExists)
	other = c
	other.Expires = c.Expires.Add(time.Second)
	want(t, "register with another expiry", s.RegisterCode(ctx, other), qr.ErrCodeExists)
	bad := code("bad", 0)
	want(t, "register without amount", s.RegisterCode(ctx, bad), qr.ErrInvalidValue)

	got, err := s.Code(ctx, c.ID)
	ok(t, "Code", err)
	if got.ID != c.ID || got.Payee != c.Payee || got.Reference != c.Reference || got.Amount != c.Amount ||
		!got.Expires.Equal(c.Expires) || !got.IssuedAt.Equal(c.IssuedAt) || got.Payment != uuid.Nil || got.Settled {
		t.Fatalf("Code = %+v, want %+v", got, c)
	}
	_, err = s.Code(ctx, id("nothing"))
	want(t, "unknown code", err, qr.ErrUnknownCode)
	_, err = s.ClaimCode(ctx, id("nothing"), id("p1"), t0)
	want(t, "claim unknown code", err, qr.ErrUnknownCode)

	// A claim holds the code for one payment.
	at := t0.Add(time.Second)
	got, err = s.ClaimCode(ctx, c.ID, id("p1"), at)
	ok(t, "claim", err)
	if got.Payment != id("p1") || !got.ClaimedAt.Equal(at) || got.Settled {
		t.Fatalf("claimed = %+v", got)
	}
	_, err = s.ClaimCode(ctx, c.ID, id("p1"), at.Add(time.Second))
	ok(t, "claim again by the same payment", err)
	_, err = s.ClaimCode(ctx, c.ID, id("p2"), at)
	want(t, "claim by another payment", err, qr.ErrCodePaid)
	if got, _ := s.Code(ctx, c.ID); got.Payment != id("p1") || !got.ClaimedAt.Equal(at) {
		t.Fatalf("after claims: %+v", got)
	}

	// Claimed codes are listed, oldest claim first, up to limit.
	d := code("d", 100)
	ok(t, "register d", s.RegisterCode(ctx, d))
	_, err = s.ClaimCode(ctx, d.ID, id("p3"), at.Add(-time.Second))
	ok(t, "claim d", err)
	e := code("e", 100) // registered, never claimed
	ok(t, "register e", s.RegisterCode(ctx, e))
	list, err := s.ClaimedCodes(ctx, at, 10)
	ok(t, "ClaimedCodes", err)
	if len(list) != 2 || list[0].ID != d.ID || list[1].ID != c.ID || list[1].Payment != id("p1") {
		t.Fatalf("ClaimedCodes = %+v", list)
	}
	if list, _ := s.ClaimedCodes(ctx, at, 1); len(list) != 1 || list[0].ID != d.ID {
		t.Fatalf("ClaimedCodes limit 1 = %+v", list)
	}
	if list, _ := s.ClaimedCodes(ctx, at.Add(-time.Microsecond), 10); len(list) != 1 || list[0].ID != d.ID {
		t.Fatalf("ClaimedCodes before the claim = %+v", list)
	}

	// Settling makes the claim final.
	want(t, "settle by another payment", s.SettleCode(ctx, c.ID, id("p2")), qr.ErrClaimLost)
	want(t, "settle an open code", s.SettleCode(ctx, e.ID, id("p2")), qr.ErrClaimLost)
	want(t, "settle unknown", s.SettleCode(ctx, id("nothing"), id("p2")), qr.ErrUnknownCode)
	ok(t, "settle", s.SettleCode(ctx, c.ID, id("p1")))
	ok(t, "settle again", s.SettleCode(ctx, c.ID, id("p1")))
	ok(t, "release a settled claim does nothing", s.ReleaseCode(ctx, c.ID, id("p1")))
	if got, _ := s.Code(ctx, c.ID); got.Payment != id("p1") || !got.Settled {
		t.Fatalf("settled = %+v", got)
	}
	_, err = s.ClaimCode(ctx, c.ID, id("p2"), at)
	want(t, "claim a settled code", err, qr.ErrCodePaid)
	if list, _ := s.ClaimedCodes(ctx, at.Add(time.Hour), 10); len(list) != 1 || list[0].ID != d.ID {
		t.Fatalf("ClaimedCodes after settling = %+v", list)
	}
}

func testDynamicCodeRelease(t *testing.T, s qr.Store) {
	ctx := context.Background()
	c := code("r", 500)
	ok(t, "register", s.RegisterCode(ctx, c))
	ok(t, "release an open code does nothing", s.ReleaseCode(ctx, c.ID, id("p1")))
	want(t, "release unknown", s.ReleaseCode(ctx, id("nothing"), id("p1")), qr.ErrUnknownCode)
	_, err := s.ClaimCode(ctx, c.ID, id("p1"), t0)
	ok(t, "claim", err)
	ok(t, "release by another payment does nothing", s.ReleaseCode(ctx, c.ID, id("p2")))
	if got, _ := s.Code(ctx, c.ID); got.Payment != id("p1") {
		t.Fatalf("released by another payment: %+v", got)
	}
	ok(t, "release", s.ReleaseCode(ctx, c.ID, id("p1")))
	if got, _ := s.Code(ctx, c.ID); got.Payment != uuid.Nil || got.Settled {
		t.Fatalf("released: %+v", got)
	}
	if list, _ := s.ClaimedCodes(ctx, t0.Add(time.Hour), 10); len(list) != 0 {
		t.Fatalf("ClaimedCodes after release = %+v", list)
	}
	got, err := s.ClaimCode(ctx, c.ID, id("p2"), t0.Add(time.Minute))
	ok(t, "claim after release", err)
	if got.Payment != id("p2") {
		t.Fatalf("claimed after release: %+v", got)
	}
	want(t, "settle by the released payment", s.SettleCode(ctx, c.ID, id("p1")), qr.ErrClaimLost)
}

// Of many payments claiming one code at once, exactly one gets it.
func testConcurrentClaims(t *testing.T, s qr.Store) {
	ctx := context.Background()
	c := code("race", 1000)
	ok(t, "register", s.RegisterCode(ctx, c))
	const n = 32
	var wins atomic.Int32
	var winner atomic.Value
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			p := id(fmt.Sprint("payer-", i))
			_, err := s.ClaimCode(ctx, c.ID, p, t0)
			switch {
			case err == nil:
				wins.Add(1)
				winner.Store(p)
			case !errors.Is(err, qr.ErrCodePaid):
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("claim: %v", err)
	}
	if wins.Load() != 1 {
		t.Fatalf("%d claims won, want 1", wins.Load())
	}
	if got, _ := s.Code(ctx, c.ID); got.Payment != winner.Load().(uuid.UUID) {
		t.Fatalf("code held by %s, winner %s", got.Payment, winner.Load())
	}
}

func reservation(payment, payer, day string, fen int64) qr.CapReservation {
	return qr.CapReservation{Payment: id(payment), User: id(payer), Day: day, Amount: yuan(fen), At: t0}
}

func testCaps(t *testing.T, s qr.Store) {
	ctx := context.Background()
	limit := yuan(500_00)
	total, err := s.ReserveCap(ctx, reservation("p1", "alice", "2026-02-16", 300_00), limit)
	ok(t, "reserve 300", err)
	if total != yuan(300_00) {
		t.Fatalf("total %v", total)
	}
	total, err = s.ReserveCap(ctx, reservation("p2", "alice", "2026-02-16", 200_00), limit)
	ok(t, "reserve 200 more, up to the cap", err)
	if total != yuan(500_00) {
		t.Fatalf("total %v", total)
	}
	_, err = s.ReserveCap(ctx, reservation("p3", "alice", "2026-02-16", 1), limit)
	want(t, "reserve 0.01 over the cap", err, qr.ErrDailyCap)
	// A retry of a reservation counts once, even at the cap.
	total, err = s.ReserveCap(ctx, reservation("p2", "alice", "2026-02-16", 200_00), limit)
	ok(t, "retry", err)
	if total != yuan(500_00) {
		t.Fatalf("total after retry %v", total)
	}
	_, err = s.ReserveCap(ctx, reservation("p2", "alice", "2026-02-16", 100_00), limit)
	want(t, "same payment, other amount", err, qr.ErrReservationConflict)
	_, err = s.ReserveCap(ctx, reservation("p2", "alice", "2026-02-17", 200_00), limit)
	want(t, "same payment, other day", err, qr.ErrReservationConflict)
	_, err = s.ReserveCap(ctx, reservation("p2", "bob", "2026-02-16", 200_00), limit)
	want(t, "same payment, other payer", err, qr.ErrReservationConflict)
	// Days, payers and currencies are counted apart.
	_, err = s.ReserveCap(ctx, reservation("p4", "alice", "2026-02-17", 500_00), limit)
	ok(t, "next day", err)
	_, err = s.ReserveCap(ctx, reservation("p5", "bob", "2026-02-16", 500_00), limit)
	ok(t, "another payer", err)
	usd := reservation("p6", "alice", "2026-02-16", 100)
	usd.Amount = ledger.NewMoney(100, ledger.MustCurrency("USD"))
	_, err = s.ReserveCap(ctx, usd, limit)
	want(t, "limit in another currency", err, ledger.ErrCurrencyMismatch)
	_, err = s.ReserveCap(ctx, usd, ledger.NewMoney(100, ledger.MustCurrency("USD")))
	ok(t, "another currency", err)
	for _, tc := range []struct {
		payer, day string
		cur        ledger.Currency
		want       ledger.Money
	}{
		{"alice", "2026-02-16", cny, yuan(500_00)},
		{"alice", "2026-02-17", cny, yuan(500_00)},
		{"bob", "2026-02-16", cny, yuan(500_00)},
		{"carol", "2026-02-16", cny, yuan(0)},
		{"alice", "2026-02-16", usd.Amount.Currency(), usd.Amount},
	} {
		used, err := s.CapUsed(ctx, id(tc.payer), tc.day, tc.cur)
		if err != nil || used != tc.want {
			t.Errorf("CapUsed(%s, %s, %v) = %v, %v; want %v", tc.payer, tc.day, tc.cur, used, err, tc.want)
		}
	}
	_, err = s.ReserveCap(ctx, reservation("p7", "alice", "2026-02-16", 0), limit)
	want(t, "zero amount", err, qr.ErrInvalidValue)
	// Reservations made at the same time are listed in payment ID order.
	list, err := s.ReservedCaps(ctx, t0, 10)
	ok(t, "ReservedCaps", err)
	if len(list) != 5 || !slices.IsSortedFunc(list, func(a, b qr.CapReservation) int {
		return slices.Compare(a.Payment[:], b.Payment[:])
	}) {
		t.Fatalf("ReservedCaps at one time = %+v, want 5 in payment ID order", list)
	}
}

func testCapSettleRelease(t *testing.T, s qr.Store) {
	ctx := context.Background()
	limit := yuan(500_00)
	for i, fen := range []int64{100_00, 150_00, 200_00} {
		r := reservation(fmt.Sprint("p", i), "alice", "2026-02-16", fen)
		r.At = t0.Add(time.Duration(i) * time.Second)
		_, err := s.ReserveCap(ctx, r, limit)
		ok(t, "reserve", err)
	}
	list, err := s.ReservedCaps(ctx, t0.Add(time.Hour), 10)
	ok(t, "ReservedCaps", err)
	if len(list) != 3 || list[0].Payment != id("p0") || list[2].Payment != id("p2") || list[1].Amount != yuan(150_00) ||
		list[1].User != id("alice") || list[1].Day != "2026-02-16" || !list[1].At.Equal(t0.Add(time.Second)) || list[1].Settled {
		t.Fatalf("ReservedCaps = %+v", list)
	}
	if list, _ := s.ReservedCaps(ctx, t0.Add(time.Second), 10); len(list) != 2 {
		t.Fatalf("ReservedCaps up to t0+1s = %+v", list)
	}
	if list, _ := s.ReservedCaps(ctx, t0.Add(time.Hour), 1); len(list) != 1 || list[0].Payment != id("p0") {
		t.Fatalf("ReservedCaps limit 1 = %+v", list)
	}

	ok(t, "settle p0", s.SettleCap(ctx, id("p0")))
	ok(t, "settle p0 again", s.SettleCap(ctx, id("p0")))
	want(t, "settle unknown", s.SettleCap(ctx, id("nothing")), qr.ErrNotReserved)
	ok(t, "release p1", s.ReleaseCap(ctx, id("p1")))
	ok(t, "release p1 again", s.ReleaseCap(ctx, id("p1")))
	ok(t, "release settled p0 does nothing", s.ReleaseCap(ctx, id("p0")))
	ok(t, "release unknown does nothing", s.ReleaseCap(ctx, id("nothing")))
	if used, _ := s.CapUsed(ctx, id("alice"), "2026-02-16", cny); used != yuan(300_00) {
		t.Fatalf("used after settle p0, release p1: %v, want 300.00", used)
	}
	list, _ = s.ReservedCaps(ctx, t0.Add(time.Hour), 10)
	if len(list) != 1 || list[0].Payment != id("p2") {
		t.Fatalf("ReservedCaps after settle and release = %+v", list)
	}
	// The released room can be used again.
	_, err = s.ReserveCap(ctx, reservation("p3", "alice", "2026-02-16", 200_00), limit)
	ok(t, "reserve into released room", err)
	_, err = s.ReserveCap(ctx, reservation("p4", "alice", "2026-02-16", 1), limit)
	want(t, "over the cap again", err, qr.ErrDailyCap)
}

// Many payments of one payer at once: the cap holds exactly.
func testConcurrentReservations(t *testing.T, s qr.Store) {
	ctx := context.Background()
	const n, each, capFen = 50, 30_00, 500_00
	var wins atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		// Each payment twice, as a client retrying at once.
		for range 2 {
			wg.Go(func() {
				_, err := s.ReserveCap(ctx, reservation(fmt.Sprint("p", i), "alice", "2026-02-16", each), yuan(capFen))
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, qr.ErrDailyCap):
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("reserve: %v", err)
	}
	used, err := s.CapUsed(ctx, id("alice"), "2026-02-16", cny)
	ok(t, "CapUsed", err)
	if used != yuan(capFen/each*each) {
		t.Fatalf("used %v, want %v", used, yuan(capFen/each*each))
	}
	list, _ := s.ReservedCaps(ctx, t0.Add(time.Hour), 2*n)
	if len(list) != capFen/each {
		t.Fatalf("%d reservations, want %d", len(list), capFen/each)
	}
	// Retries race with their originals; a retry that comes after its
	// original succeeded succeeds too, one that comes after a refusal is
	// refused, so the successes are the reserved payments, once or twice.
	if w := int(wins.Load()); w < capFen/each || w > 2*(capFen/each) {
		t.Fatalf("%d successful reservations for %d reserved payments", w, capFen/each)
	}
}

func testDevices(t *testing.T, s qr.Store) {
	ctx := context.Background()
	d := qr.Device{ID: "dev-1", Account: id("alice"), Serial: 123456789, Secret: []byte("a device secret of 32 bytes.....")}
	ok(t, "create", s.CreateDevice(ctx, d))
	dup := d
	dup.Serial = 987654321
	want(t, "same ID", s.CreateDevice(ctx, dup), qr.ErrDeviceExists)
	dup = d
	dup.ID = "dev-2"
	want(t, "same serial", s.CreateDevice(ctx, dup), qr.ErrSerialTaken)
	for _, bad := range []qr.Device{
		{ID: "", Account: id("a"), Serial: 1, Secret: d.Secret},
		{ID: "x", Serial: 1, Secret: d.Secret},
		{ID: "x", Account: id("a"), Serial: qr.MaxSerial, Secret: d.Secret},
		{ID: "x", Account: id("a"), Serial: 1, Secret: []byte("short")},
	} {
		want(t, fmt.Sprintf("invalid device %+v", bad), s.CreateDevice(ctx, bad), qr.ErrInvalidValue)
	}

	check := func(what string, got qr.Device, err error, revoked time.Time) {
		t.Helper()
		ok(t, what, err)
		if got.ID != d.ID || got.Account != d.Account || got.Serial != d.Serial || string(got.Secret) != string(d.Secret) ||
			!got.RevokedAt.Equal(revoked) {
			t.Fatalf("%s = %+v", what, got)
		}
	}
	got, err := s.Device(ctx, "dev-1")
	check("Device", got, err, time.Time{})
	got.Secret[0] ^= 0xFF // the caller's copy
	got, err = s.DeviceBySerial(ctx, d.Serial)
	check("DeviceBySerial", got, err, time.Time{})
	_, err = s.Device(ctx, "dev-9")
	want(t, "unknown device", err, qr.ErrUnknownDevice)
	_, err = s.DeviceBySerial(ctx, 1)
	want(t, "unknown serial", err, qr.ErrUnknownDevice)

	ok(t, "revoke", s.RevokeDevice(ctx, "dev-1", t0))
	ok(t, "revoke again", s.RevokeDevice(ctx, "dev-1", t0.Add(time.Hour)))
	got, err = s.DeviceBySerial(ctx, d.Serial)
	check("revoked device", got, err, t0)
	if !got.Revoked() {
		t.Fatal("not revoked")
	}
	want(t, "revoke unknown", s.RevokeDevice(ctx, "dev-9", t0), qr.ErrUnknownDevice)
	// A revoked device keeps its serial.
	dup = d
	dup.ID = "dev-3"
	want(t, "serial of a revoked device", s.CreateDevice(ctx, dup), qr.ErrSerialTaken)
}

func testUsedCodes(t *testing.T, s qr.Store) {
	ctx := context.Background()
	ok(t, "mark", s.MarkUsed(ctx, 42, 1000, id("c1")))
	ok(t, "mark again for the same charge", s.MarkUsed(ctx, 42, 1000, id("c1")))
	want(t, "replay", s.MarkUsed(ctx, 42, 1000, id("c2")), qr.ErrReplay)
	ok(t, "next step", s.MarkUsed(ctx, 42, 1001, id("c2")))
	ok(t, "other device", s.MarkUsed(ctx, 43, 1000, id("c3")))
	want(t, "no charge", s.MarkUsed(ctx, 44, 1000, uuid.Nil), qr.ErrInvalidValue)
	n, err := s.PruneUsed(ctx, 1001)
	ok(t, "prune", err)
	if n != 2 {
		t.Fatalf("pruned %d, want 2", n)
	}
	want(t, "kept after prune", s.MarkUsed(ctx, 42, 1001, id("c9")), qr.ErrReplay)
	ok(t, "forgotten after prune", s.MarkUsed(ctx, 42, 1000, id("c9")))
}

// Of many merchants redeeming one code at once, exactly one succeeds.
func testConcurrentMarkUsed(t *testing.T, s qr.Store) {
	ctx := context.Background()
	const n = 64
	for _, code := range []struct {
		serial uint64
		step   int64
	}{{7, 500}, {7, 501}, {8, 500}} {
		var wins atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				err := s.MarkUsed(ctx, code.serial, code.step, id(fmt.Sprint("charge-", i)))
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, qr.ErrReplay):
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("MarkUsed: %v", err)
		}
		if wins.Load() != 1 {
			t.Fatalf("code %v redeemed %d times", code, wins.Load())
		}
	}
}

// ScanCodes and ScanReservations page through every claim and reservation,
// settled or not, in ID order; ResetCode and ResetCap undo them, settled
// or not, for their own payment only.
func testScanAndReset(t *testing.T, s qr.Store) {
	ctx := context.Background()
	var claimed []uuid.UUID
	for i := range 5 {
		c := code(fmt.Sprint("scan", i), 100)
		ok(t, "register", s.RegisterCode(ctx, c))
		if i == 4 {
			continue // open: not listed
		}
		_, err := s.ClaimCode(ctx, c.ID, id(fmt.Sprint("sp", i)), t0)
		ok(t, "claim", err)
		if i%2 == 0 {
			ok(t, "settle", s.SettleCode(ctx, c.ID, id(fmt.Sprint("sp", i))))
		}
		claimed = append(claimed, c.ID)
	}
	slices.SortFunc(claimed, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	var got []uuid.UUID
	for after := uuid.Nil; ; {
		page, err := s.ScanCodes(ctx, after, 3)
		ok(t, "ScanCodes", err)
		for _, c := range page {
			got = append(got, c.ID)
		}
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].ID
	}
	if !slices.Equal(got, claimed) {
		t.Fatalf("ScanCodes = %v, want %v", got, claimed)
	}
	settled := code("scan0", 100)
	ok(t, "reset by another payment does nothing", s.ResetCode(ctx, settled.ID, id("sp9")))
	if c, _ := s.Code(ctx, settled.ID); !c.Settled {
		t.Fatalf("reset by another payment: %+v", c)
	}
	want(t, "reset unknown", s.ResetCode(ctx, id("nothing"), id("sp0")), qr.ErrUnknownCode)
	ok(t, "reset a settled claim", s.ResetCode(ctx, settled.ID, id("sp0")))
	if c, _ := s.Code(ctx, settled.ID); c.Payment != uuid.Nil || c.Settled {
		t.Fatalf("reset: %+v", c)
	}
	_, err := s.ClaimCode(ctx, settled.ID, id("sp9"), t0)
	ok(t, "claim after reset", err)

	limit := yuan(500_00)
	var payments []uuid.UUID
	for i := range 4 {
		r := reservation(fmt.Sprint("rp", i), "alice", "2026-02-16", 100_00)
		_, err := s.ReserveCap(ctx, r, limit)
		ok(t, "reserve", err)
		if i%2 == 0 {
			ok(t, "settle", s.SettleCap(ctx, r.Payment))
		}
		payments = append(payments, r.Payment)
	}
	slices.SortFunc(payments, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	first, err := s.ScanReservations(ctx, uuid.Nil, 3)
	ok(t, "ScanReservations", err)
	rest, err := s.ScanReservations(ctx, first[len(first)-1].Payment, 3)
	ok(t, "ScanReservations", err)
	got = got[:0]
	for _, r := range append(first, rest...) {
		got = append(got, r.Payment)
	}
	if !slices.Equal(got, payments) {
		t.Fatalf("ScanReservations = %v, want %v", got, payments)
	}
	ok(t, "reset a settled reservation", s.ResetCap(ctx, id("rp0")))
	ok(t, "reset an open reservation", s.ResetCap(ctx, id("rp1")))
	ok(t, "reset again does nothing", s.ResetCap(ctx, id("rp1")))
	ok(t, "reset unknown does nothing", s.ResetCap(ctx, id("nothing")))
	if used, _ := s.CapUsed(ctx, id("alice"), "2026-02-16", cny); used != yuan(200_00) {
		t.Fatalf("used after resets: %v, want 200.00", used)
	}
	if list, _ := s.ScanReservations(ctx, uuid.Nil, 10); len(list) != 2 {
		t.Fatalf("ScanReservations after resets = %+v", list)
	}
}

var suiteLockout = qr.Lockout{DeviceFailures: 3, DeviceWindow: time.Hour, MerchantFailures: 5, MerchantWindow: time.Hour}

func try(serial uint64, merchant string, at time.Time, ok bool) qr.CodeTry {
	return qr.CodeTry{Charge: id("charge/" + merchant), Serial: serial, Merchant: id(merchant), At: at, Day: "2026-02-16",
		Amount: yuan(100_00), CodeOK: ok}
}

func testAttempts(t *testing.T, s qr.Store) {
	ctx := context.Background()
	p := suiteLockout
	begin := func(what string, tr qr.CodeTry, want qr.TryOutcome) qr.TryResult {
		t.Helper()
		r, err := s.BeginTry(ctx, tr, p)
		ok(t, what, err)
		if r.Outcome != want {
			t.Fatalf("%s: outcome %d, want %d", what, r.Outcome, want)
		}
		return r
	}
	for i := range 3 {
		r := begin(fmt.Sprint("failure ", i), try(7, "m1", t0.Add(time.Duration(i)*time.Second), false), qr.TryFailed)
		if r.Serial.Count != i+1 || r.Serial.LockedAt.IsZero() != (i < 2) {
			t.Fatalf("after failure %d: %+v", i, r.Serial)
		}
	}
	begin("genuine code, locked serial", try(7, "m2", t0.Add(time.Minute), true), qr.TryLocked)
	begin("genuine code, locked serial, after the window", try(7, "m2", t0.Add(2*time.Hour), true), qr.TryLocked)
	begin("another serial", try(8, "m2", t0, true), qr.TryAllowed)
	ok(t, "unlock", s.UnlockSerial(ctx, 7))
	rec, err := s.SerialRecord(ctx, 7)
	ok(t, "SerialRecord", err)
	if rec.Serial != 7 || rec.Count != 0 || !rec.LockedAt.IsZero() {
		t.Fatalf("after unlock: %+v", rec)
	}
	begin("after unlock", try(7, "m2", t0.Add(2*time.Hour), true), qr.TryAllowed)
	if rec, err := s.SerialRecord(ctx, 99); err != nil || rec.Serial != 99 || rec.Count != 0 {
		t.Fatalf("untried serial: %+v, %v", rec, err)
	}

	// m1 failed three times; two more and it is refused until its window ends.
	begin("m1 failure 4", try(20, "m1", t0.Add(time.Minute), false), qr.TryFailed)
	begin("m1 failure 5", try(21, "m1", t0.Add(time.Minute), false), qr.TryFailed)
	begin("m1 refused", try(22, "m1", t0.Add(time.Minute), true), qr.TryMerchantRefused)
	begin("m1 next window", try(22, "m1", t0.Add(time.Hour), true), qr.TryAllowed)

	// A device's day: reserved once per charge, over the cap refused,
	// given back.
	day := func(charge string, fen int64) qr.CodeTry {
		tr := try(30, "m3", t0, true)
		tr.Charge, tr.Amount, tr.Limit = id(charge), yuan(fen), yuan(500_00)
		return tr
	}
	if r := begin("charge a", day("a", 300_00), qr.TryAllowed); !r.Reserved || r.Serial.Spent != yuan(300_00) {
		t.Fatalf("charge a: %+v", r)
	}
	if r := begin("charge a again", day("a", 300_00), qr.TryAllowed); r.Reserved || r.OverCap || r.Serial.Spent != yuan(300_00) {
		t.Fatalf("charge a again: %+v", r)
	}
	if r := begin("charge b over", day("b", 200_01), qr.TryAllowed); r.Reserved || !r.OverCap {
		t.Fatalf("charge b: %+v", r)
	}
	ok(t, "end a unspent", s.EndTry(ctx, day("a", 300_00), qr.TryEnd{}, p))
	if r := begin("charge b", day("b", 500_00), qr.TryAllowed); !r.Reserved || r.Serial.Spent != yuan(500_00) {
		t.Fatalf("charge b after a given back: %+v", r)
	}
	ok(t, "end b spent", s.EndTry(ctx, day("b", 500_00), qr.TryEnd{Spent: true}, p))
	if rec, _ := s.SerialRecord(ctx, 30); rec.Spent != yuan(500_00) || rec.Day != "2026-02-16" {
		t.Fatalf("day: %+v", rec)
	}
}

func testConcurrentAttempts(t *testing.T, s qr.Store) {
	ctx := context.Background()
	p := suiteLockout
	p.MerchantFailures = 1000
	const n = 32
	var failed, locked atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := s.BeginTry(ctx, try(5, fmt.Sprint("m", i%4), t0, false), p)
			if err != nil {
				t.Errorf("attempt %d: %v", i, err)
				return
			}
			switch r.Outcome {
			case qr.TryFailed:
				failed.Add(1)
			case qr.TryLocked:
				locked.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != int32(p.DeviceFailures) || locked.Load() != n-int32(p.DeviceFailures) {
		t.Fatalf("%d failures counted and %d locked, want %d and %d", failed.Load(), locked.Load(), p.DeviceFailures, n-p.DeviceFailures)
	}
}
