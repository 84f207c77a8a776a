package qrtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/qr"
)

// instance returns another Service on w's stores and ledger, as another
// process of the bank runs it, with refused as its Config.Refused.
func (w *world) instance(refused func(context.Context, qr.CodeRefusal)) *qr.Service {
	w.t.Helper()
	cfg := w.cfg
	cfg.Refused = refused
	s, err := qr.New(cfg)
	must(w.t, err)
	return s
}

// reasons records the reasons of refused payment codes.
type reasons struct {
	mu  sync.Mutex
	got []error
}

func (r *reasons) hook(_ context.Context, c qr.CodeRefusal) {
	r.mu.Lock()
	r.got = append(r.got, c.Reason)
	r.mu.Unlock()
}

func (r *reasons) count(target error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, err := range r.got {
		if errors.Is(err, target) {
			n++
		}
	}
	return n
}

// paysInStep reports whether w's Service charges in its store's step.
func (w *world) paysInStep() bool {
	ps, ok := w.store.(qr.PayingStore)
	return ok && ps.PaysOn(ledger.Unwrap(w.l.Store()))
}

// revokingStore revokes the device named target right after reading it
// by serial, once: a revocation committed between the code's check and
// the charge's step.
type revokingStore struct {
	qr.PayingStore
	target string
	once   sync.Once
	done   bool
}

func (s *revokingStore) DeviceBySerial(ctx context.Context, serial uint64) (qr.Device, error) {
	d, err := s.PayingStore.DeviceBySerial(ctx, serial)
	if err == nil && d.ID == s.target {
		s.once.Do(func() {
			if rerr := s.PayingStore.RevokeDevice(ctx, d.ID, Start); rerr != nil {
				panic(rerr)
			}
			s.done = true
		})
	}
	return d, err
}

func testRevocation(t *testing.T, newEnv func(testing.TB) Env) {
	var seen reasons
	w := newWorld(t, newEnv(t), func(c *qr.Config) { c.Refused = seen.hook }, nil)
	ctx := w.ctx
	payer, err := w.wallet(10_00)
	must(t, err)
	shop, err := w.wallet(0)
	must(t, err)
	d, err := w.svc.RegisterDevice(ctx, w.name("phone"), payer)
	must(t, err)
	charge := func(svc *qr.Service, order string) error {
		code, err := w.codes.Generate(d, w.clock.Now())
		must(t, err)
		_, err = svc.Charge(ctx, qr.ChargeRequest{Merchant: shop, Code: code, Amount: yuan(1_00), Order: order})
		return err
	}
	// The instance has charged the device (and may keep it).
	must(t, charge(w.svc, "before"))
	// Another instance revokes it: the first refuses its next code,
	// counted as a failed attempt of a revoked device.
	must(t, w.instance(nil).RevokeDevice(ctx, d.ID))
	w.clock.Advance(time.Minute)
	if err := charge(w.svc, "after"); !errors.Is(err, qr.ErrInvalidCode) {
		t.Fatalf("code of a device revoked by another instance: %v, want %v", err, qr.ErrInvalidCode)
	}
	if n := seen.count(qr.ErrDeviceRevoked); n != 1 {
		t.Fatalf("revoked device: %d refusals for revocation, want 1 (%v)", n, seen.got)
	}
	if st, err := w.svc.DeviceStatus(ctx, d.ID); err != nil || !st.Revoked || st.Failures != 1 {
		t.Fatalf("device after the refusal: %+v, %v; want revoked, 1 failure", st, err)
	}
	// The order charged before is still answered with its receipt.
	w.clock.Advance(-time.Minute)
	must(t, charge(w.svc, "before"))
	w.clock.Advance(time.Minute)
	must(t, w.wantNet("payer", payer, 9_00))
	w.finish()

	// Revoked between the check of the code and the step that pays.
	ps, ok := w.store.(qr.PayingStore)
	if !w.paysInStep() || !ok {
		return
	}
	var seen2 reasons
	rs := &revokingStore{PayingStore: ps}
	w2 := newWorld(t, Env{Store: w.store, Ledger: w.l.Store()}, func(c *qr.Config) { c.Refused = seen2.hook },
		func(qr.Store) qr.Store { return rs })
	w2.l, w2.bank = w.l, w.bank // the same ledger as w's store pays on
	w2.cfg.Ledger = w.l
	svc := w2.instance(seen2.hook)
	payer2, err := w.wallet(10_00)
	must(t, err)
	d2, err := svc.RegisterDevice(ctx, w.name("phone"), payer2)
	must(t, err)
	rs.target = d2.ID
	code, err := w.codes.Generate(d2, w.clock.Now())
	must(t, err)
	_, err = svc.Charge(ctx, qr.ChargeRequest{Merchant: shop, Code: code, Amount: yuan(1_00), Order: "revoked-meanwhile"})
	if !rs.done {
		t.Fatal("the device was not read by serial before the step")
	}
	if !errors.Is(err, qr.ErrInvalidCode) || seen2.count(qr.ErrDeviceRevoked) != 1 {
		t.Fatalf("device revoked after its code was checked: %v (refusals %v), want %v for revocation", err, seen2.got, qr.ErrInvalidCode)
	}
	must(t, w.wantNet("payer revoked meanwhile", payer2, 10_00))
	w.finish()
}

// testRaceChargeRevoked: see RunService.
func testRaceChargeRevoked(t *testing.T, newEnv func(testing.TB) Env) {
	w := newWorld(t, newEnv(t), nil, nil)
	inst := make([]*qr.Service, raceK)
	for i := range inst {
		inst[i] = w.instance(nil)
	}
	revoker := w.instance(nil)
	iterate(t, w.iterations(t, 40), func(i int) error {
		const funds = 2_00 // the warm-up charge and the raced one
		payer, shop, d, err := w.payerDevice(funds)
		if err != nil {
			return err
		}
		now := w.clock.Now()
		// Each instance charges the device's code of the step before
		// first (and may keep the device): one order pays, the others
		// find the code redeemed.
		warm, err := w.codes.Generate(d, now.Add(-time.Minute))
		if err != nil {
			return err
		}
		for k, svc := range inst {
			_, err := svc.Charge(w.ctx, qr.ChargeRequest{Merchant: shop, Code: warm, Amount: yuan(1_00), Order: fmt.Sprint("warm-", k)})
			if err != nil && (k == 0 || !errors.Is(err, qr.ErrReplay)) {
				return fmt.Errorf("warm-up charge %d: %w", k, err)
			}
		}
		c, err := w.codes.Generate(d, now)
		if err != nil {
			return err
		}
		rs, errs := ledgertest.Concurrently(raceK+1, func(k int) (qr.ChargeReceipt, error) {
			if k == raceK {
				return qr.ChargeReceipt{}, revoker.RevokeDevice(w.ctx, d.ID)
			}
			return inst[k].Charge(w.ctx, qr.ChargeRequest{Merchant: shop, Code: c, Amount: yuan(1_00), Order: "raced"})
		})
		if errs[raceK] != nil {
			return fmt.Errorf("revoke: %w", errs[raceK])
		}
		var paid *qr.ChargeReceipt
		for k := range raceK {
			switch {
			case errs[k] == nil && paid == nil:
				paid = &rs[k]
			case errs[k] == nil:
				if err := sameCharge("raced order", []qr.ChargeReceipt{*paid, rs[k]}, []error{nil, nil}); err != nil {
					return err
				}
			case !errors.Is(errs[k], qr.ErrInvalidCode):
				return fmt.Errorf("call %d: %w, want a receipt or %v", k, errs[k], qr.ErrInvalidCode)
			}
		}
		spent := int64(1_00)
		if paid != nil {
			if paid.Payer != payer || paid.Merchant != shop || paid.Amount != yuan(1_00) {
				return fmt.Errorf("receipt %+v", *paid)
			}
			spent += 1_00
		}
		if err := w.wantNet("payer", payer, funds-spent); err != nil {
			return err
		}
		if err := w.wantNet("shop", shop, spent); err != nil {
			return err
		}
		// Revoked: no instance charges the device's next code.
		next, err := w.codes.Generate(d, now.Add(time.Minute))
		if err != nil {
			return err
		}
		for k, svc := range append(inst, w.svc) {
			_, err := svc.Charge(w.ctx, qr.ChargeRequest{Merchant: shop, Code: next, Amount: yuan(1_00), Order: fmt.Sprint("late-", k)})
			if !errors.Is(err, qr.ErrInvalidCode) {
				return fmt.Errorf("instance %d after the revocation: %v, want %v", k, err, qr.ErrInvalidCode)
			}
		}
		return w.wantNet("payer after the revocation", payer, funds-spent)
	})
	w.finish()
}
