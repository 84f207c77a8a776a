package qr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// MemoryStore is the embedded Store: everything in memory, for tests,
// examples and single-process use. The zero value is not usable; call
// NewMemoryStore. It is safe for concurrent use.
//
// Built with a ledger, it is a PayingStore that pays on that ledger's
// store (PaysOn): ChargePaid holds the lock of the code's serial (its
// redeemed codes and its record of attempts) while it decides the
// attempt, applies the transfer and records the outcome, and CompletePaid
// the lock of the dynamic codes (or of the cap counters) while it claims
// or reserves, posts and settles, so that each is one critical section
// when the ledger's store is a ledger.MemoryStore.
type MemoryStore struct {
	l *ledger.Ledger // where ChargePaid and CompletePaid pay; nil: none

	codesMu sync.Mutex
	codes   map[uuid.UUID]*DynamicCode
	claimed map[uuid.UUID]struct{} // codes with an unsettled claim

	capsMu    sync.Mutex
	capTotals map[capKey]int64
	caps      map[uuid.UUID]*CapReservation // by payment
	reserved  map[uuid.UUID]struct{}        // unsettled reservations

	devMu    sync.RWMutex
	devices  map[string]*Device
	bySerial map[uint64]*Device

	// used holds, per shard of serials, the redeemed codes and the
	// serials' records of attempts.
	used [usedShards]usedShard

	merchMu   sync.Mutex // taken after a shard's lock, never before
	merchants map[uuid.UUID]*MerchantRecord
}

type capKey struct {
	user     uuid.UUID
	day      string
	currency ledger.Currency
}

const usedShards = 32

type usedKey struct {
	serial uint64
	step   int64
}

type usedShard struct {
	mu      sync.Mutex
	m       map[usedKey]uuid.UUID
	serials map[uint64]*SerialRecord
	_       [32]byte // keep shards on separate cache lines
}

var (
	_ Store            = (*MemoryStore)(nil)
	_ DynamicCodeStore = (*MemoryStore)(nil)
	_ CapStore         = (*MemoryStore)(nil)
	_ DeviceStore      = (*MemoryStore)(nil)
	_ UsedCodeStore    = (*MemoryStore)(nil)
	_ AttemptStore     = (*MemoryStore)(nil)
	_ PayingStore      = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty MemoryStore that pays on l;
// nil l means a store that pays on no ledger (PaysOn is always false, and
// the Service charges through its slower path).
func NewMemoryStore(l *ledger.Ledger) *MemoryStore {
	s := &MemoryStore{
		l:         l,
		codes:     make(map[uuid.UUID]*DynamicCode),
		claimed:   make(map[uuid.UUID]struct{}),
		capTotals: make(map[capKey]int64),
		caps:      make(map[uuid.UUID]*CapReservation),
		reserved:  make(map[uuid.UUID]struct{}),
		devices:   make(map[string]*Device),
		bySerial:  make(map[uint64]*Device),
		merchants: make(map[uuid.UUID]*MerchantRecord),
	}
	for i := range s.used {
		s.used[i].m = make(map[usedKey]uuid.UUID)
		s.used[i].serials = make(map[uint64]*SerialRecord)
	}
	return s
}

// RegisterCode implements DynamicCodeStore.
func (s *MemoryStore) RegisterCode(_ context.Context, c DynamicCode) error {
	if err := c.Validate(); err != nil {
		return err
	}
	s.codesMu.Lock()
	defer s.codesMu.Unlock()
	if old, ok := s.codes[c.ID]; ok {
		if !old.SameRegistration(c) {
			return fmt.Errorf("%w: %s (payee %q, reference %q)", ErrCodeExists, c.ID, c.Payee, c.Reference)
		}
		return nil
	}
	c.Payment, c.ClaimedAt, c.Settled = uuid.Nil, time.Time{}, false
	s.codes[c.ID] = &c
	return nil
}

// Code implements DynamicCodeStore.
func (s *MemoryStore) Code(_ context.Context, id uuid.UUID) (DynamicCode, error) {
	s.codesMu.Lock()
	defer s.codesMu.Unlock()
	c, ok := s.codes[id]
	if !ok {
		return DynamicCode{}, fmt.Errorf("%w: %s", ErrUnknownCode, id)
	}
	return *c, nil
}

// ClaimCode implements DynamicCodeStore.
func (s *MemoryStore) ClaimCode(_ context.Context, id, payment uuid.UUID, at time.Time) (DynamicCode, error) {
	if payment == uuid.Nil {
		return DynamicCode{}, fmt.Errorf("qr: claim without a payment: %w", ErrInvalidValue)
	}
	s.codesMu.Lock()
	defer s.codesMu.Unlock()
	c, ok := s.codes[id]
	if !ok {
		return DynamicCode{}, fmt.Errorf("%w: %s", ErrUnknownCode, id)
	}
	after, changed, err := c.Claim(payment, at)
	if changed {
		*c = after
		s.claimed[id] = struct{}{}
	}
	return *c, err
}

// SettleCode implements DynamicCodeStore.
func (s *MemoryStore) SettleCode(_ context.Context, id, payment uuid.UUID) error {
	s.codesMu.Lock()
	defer s.codesMu.Unlock()
	c, ok := s.codes[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownCode, id)
	}
	after, _, err := c.Settle(payment)
	if err != nil {
		return err
	}
	*c = after
	delete(s.claimed, id)
	return nil
}

// ReleaseCode implements DynamicCodeStore.
func (s *MemoryStore) ReleaseCode(_ context.Context, id, payment uuid.UUID) error {
	return s.openCode(id, payment, false)
}

// ResetCode implements DynamicCodeStore.
func (s *MemoryStore) ResetCode(_ context.Context, id, payment uuid.UUID) error {
	return s.openCode(id, payment, true)
}

// openCode opens code id if payment holds it, unsettled or (settled too)
// settled.
func (s *MemoryStore) openCode(id, payment uuid.UUID, settled bool) error {
	s.codesMu.Lock()
	defer s.codesMu.Unlock()
	c, ok := s.codes[id]
	switch {
	case !ok:
		return fmt.Errorf("%w: %s", ErrUnknownCode, id)
	case c.Payment != payment || payment == uuid.Nil || c.Settled && !settled:
		return nil
	}
	c.Payment, c.ClaimedAt, c.Settled = uuid.Nil, time.Time{}, false
	delete(s.claimed, id)
	return nil
}

// ScanCodes implements DynamicCodeStore.
func (s *MemoryStore) ScanCodes(_ context.Context, after uuid.UUID, limit int) ([]DynamicCode, error) {
	s.codesMu.Lock()
	var out []DynamicCode
	for id, c := range s.codes {
		if c.Payment != uuid.Nil && slices.Compare(id[:], after[:]) > 0 {
			out = append(out, *c)
		}
	}
	s.codesMu.Unlock()
	return byID(out, func(c *DynamicCode) uuid.UUID { return c.ID }, limit), nil
}

// byID sorts items by ID and returns the first limit of them.
func byID[T any](items []T, id func(*T) uuid.UUID, limit int) []T {
	slices.SortFunc(items, func(a, b T) int {
		x, y := id(&a), id(&b)
		return slices.Compare(x[:], y[:])
	})
	return items[:min(len(items), max(limit, 0))]
}

// ClaimedCodes implements DynamicCodeStore.
func (s *MemoryStore) ClaimedCodes(_ context.Context, before time.Time, limit int) ([]DynamicCode, error) {
	s.codesMu.Lock()
	var out []DynamicCode
	for id := range s.claimed {
		if c := s.codes[id]; !c.ClaimedAt.After(before) {
			out = append(out, *c)
		}
	}
	s.codesMu.Unlock()
	return oldest(out, func(c DynamicCode) (time.Time, uuid.UUID) { return c.ClaimedAt, c.ID }, limit), nil
}

// oldest sorts items by their time, then ID, and returns the first limit
// of them: the order in which the PostgreSQL store lists them too.
func oldest[T any](items []T, key func(T) (time.Time, uuid.UUID), limit int) []T {
	slices.SortFunc(items, func(a, b T) int {
		at, aid := key(a)
		bt, bid := key(b)
		if c := at.Compare(bt); c != 0 {
			return c
		}
		return slices.Compare(aid[:], bid[:])
	})
	return items[:min(len(items), max(limit, 0))]
}

// ReserveCap implements CapStore.
func (s *MemoryStore) ReserveCap(_ context.Context, r CapReservation, limit ledger.Money) (ledger.Money, error) {
	cur := r.Amount.Currency()
	key := capKey{user: r.User, day: r.Day, currency: cur}
	s.capsMu.Lock()
	defer s.capsMu.Unlock()
	total, add, err := r.Reserve(limit, ledger.NewMoney(s.capTotals[key], cur), s.caps[r.Payment])
	if add {
		s.capTotals[key] = total.Units()
		r.Settled = false
		s.caps[r.Payment] = &r
		s.reserved[r.Payment] = struct{}{}
	}
	return total, err
}

// CapUsed implements CapStore.
func (s *MemoryStore) CapUsed(_ context.Context, user uuid.UUID, day string, c ledger.Currency) (ledger.Money, error) {
	s.capsMu.Lock()
	defer s.capsMu.Unlock()
	return ledger.NewMoney(s.capTotals[capKey{user: user, day: day, currency: c}], c), nil
}

// SettleCap implements CapStore.
func (s *MemoryStore) SettleCap(_ context.Context, payment uuid.UUID) error {
	s.capsMu.Lock()
	defer s.capsMu.Unlock()
	r, ok := s.caps[payment]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotReserved, payment)
	}
	r.Settled = true
	delete(s.reserved, payment)
	return nil
}

// ReleaseCap implements CapStore.
func (s *MemoryStore) ReleaseCap(_ context.Context, payment uuid.UUID) error {
	s.dropCap(payment, false)
	return nil
}

// ResetCap implements CapStore.
func (s *MemoryStore) ResetCap(_ context.Context, payment uuid.UUID) error {
	s.dropCap(payment, true)
	return nil
}

// ScanReservations implements CapStore.
func (s *MemoryStore) ScanReservations(_ context.Context, after uuid.UUID, limit int) ([]CapReservation, error) {
	s.capsMu.Lock()
	var out []CapReservation
	for p, r := range s.caps {
		if slices.Compare(p[:], after[:]) > 0 {
			out = append(out, *r)
		}
	}
	s.capsMu.Unlock()
	return byID(out, func(r *CapReservation) uuid.UUID { return r.Payment }, limit), nil
}

// dropCap removes payment's reservation from its day's total if it is
// unsettled or (settled too) settled.
func (s *MemoryStore) dropCap(payment uuid.UUID, settled bool) {
	s.capsMu.Lock()
	defer s.capsMu.Unlock()
	r, ok := s.caps[payment]
	if !ok || r.Settled && !settled {
		return
	}
	key := capKey{user: r.User, day: r.Day, currency: r.Amount.Currency()}
	if s.capTotals[key] -= r.Amount.Units(); s.capTotals[key] == 0 {
		delete(s.capTotals, key)
	}
	delete(s.caps, payment)
	delete(s.reserved, payment)
}

// ReservedCaps implements CapStore.
func (s *MemoryStore) ReservedCaps(_ context.Context, before time.Time, limit int) ([]CapReservation, error) {
	s.capsMu.Lock()
	var out []CapReservation
	for p := range s.reserved {
		if r := s.caps[p]; !r.At.After(before) {
			out = append(out, *r)
		}
	}
	s.capsMu.Unlock()
	return oldest(out, func(r CapReservation) (time.Time, uuid.UUID) { return r.At, r.Payment }, limit), nil
}

// CreateDevice implements DeviceStore.
func (s *MemoryStore) CreateDevice(_ context.Context, d Device) error {
	if err := d.Validate(); err != nil {
		return err
	}
	d.Secret = slices.Clone(d.Secret)
	s.devMu.Lock()
	defer s.devMu.Unlock()
	if _, ok := s.devices[d.ID]; ok {
		return fmt.Errorf("%w: %q", ErrDeviceExists, d.ID)
	}
	if _, ok := s.bySerial[d.Serial]; ok {
		return fmt.Errorf("%w: %d", ErrSerialTaken, d.Serial)
	}
	s.devices[d.ID] = &d
	s.bySerial[d.Serial] = &d
	return nil
}

// Device implements DeviceStore.
func (s *MemoryStore) Device(_ context.Context, id string) (Device, error) {
	s.devMu.RLock()
	defer s.devMu.RUnlock()
	d, ok := s.devices[id]
	if !ok {
		return Device{}, fmt.Errorf("%w %q", ErrUnknownDevice, id)
	}
	return copyDevice(d), nil
}

// DeviceBySerial implements DeviceFinder.
func (s *MemoryStore) DeviceBySerial(_ context.Context, serial uint64) (Device, error) {
	s.devMu.RLock()
	defer s.devMu.RUnlock()
	d, ok := s.bySerial[serial]
	if !ok {
		return Device{}, ErrUnknownDevice
	}
	return copyDevice(d), nil
}

// copyDevice returns *d with its own copy of the secret.
func copyDevice(d *Device) Device {
	out := *d
	out.Secret = slices.Clone(d.Secret)
	return out
}

// RevokeDevice implements DeviceStore.
func (s *MemoryStore) RevokeDevice(_ context.Context, id string, at time.Time) error {
	s.devMu.Lock()
	defer s.devMu.Unlock()
	d, ok := s.devices[id]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownDevice, id)
	}
	if d.RevokedAt.IsZero() {
		d.RevokedAt = at
	}
	return nil
}

// MarkUsed implements UsedCodeStore.
func (s *MemoryStore) MarkUsed(_ context.Context, serial uint64, step int64, charge uuid.UUID) error {
	if charge == uuid.Nil {
		return fmt.Errorf("qr: payment code marked used without a charge: %w", ErrInvalidValue)
	}
	sh := &s.used[serial%usedShards]
	k := usedKey{serial: serial, step: step}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if by, ok := sh.m[k]; ok {
		if by != charge {
			return ErrReplay
		}
		return nil
	}
	sh.m[k] = charge
	return nil
}

// PruneUsed implements UsedCodeStore.
func (s *MemoryStore) PruneUsed(_ context.Context, before int64) (int, error) {
	n := 0
	for i := range s.used {
		sh := &s.used[i]
		sh.mu.Lock()
		for k := range sh.m {
			if k.step < before {
				delete(sh.m, k)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// records returns t's records, created empty if need be; the lock of the
// serial's shard sh and s.merchMu held.
func (s *MemoryStore) records(sh *usedShard, t *CodeTry) (*SerialRecord, *MerchantRecord) {
	sr, ok := sh.serials[t.Serial]
	if !ok {
		sr = &SerialRecord{Serial: t.Serial}
		sh.serials[t.Serial] = sr
	}
	mr, ok := s.merchants[t.Merchant]
	if !ok {
		mr = &MerchantRecord{Merchant: t.Merchant}
		s.merchants[t.Merchant] = mr
	}
	return sr, mr
}

func checkTry(t *CodeTry) error {
	if t.Serial >= MaxSerial || t.Merchant == uuid.Nil {
		return fmt.Errorf("qr: attempt without a merchant or with serial %d: %w", t.Serial, ErrInvalidValue)
	}
	return nil
}

// BeginTry implements AttemptStore.
func (s *MemoryStore) BeginTry(_ context.Context, t CodeTry, p Lockout) (TryResult, error) {
	if err := checkTry(&t); err != nil {
		return TryResult{}, err
	}
	sh := &s.used[t.Serial%usedShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s.merchMu.Lock()
	defer s.merchMu.Unlock()
	sr, mr := s.records(sh, &t)
	var r TryResult
	*sr, *mr, r = p.Begin(*sr, *mr, t)
	return r, nil
}

// EndTry implements AttemptStore.
func (s *MemoryStore) EndTry(_ context.Context, t CodeTry, e TryEnd, p Lockout) error {
	if err := checkTry(&t); err != nil {
		return err
	}
	sh := &s.used[t.Serial%usedShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s.merchMu.Lock()
	defer s.merchMu.Unlock()
	sr, mr := s.records(sh, &t)
	*sr, *mr = p.End(*sr, *mr, t, e)
	return nil
}

// PaysOn implements PayingStore: the store of the ledger s was built
// with, if any.
func (s *MemoryStore) PaysOn(ls ledger.Store) bool { return s.l != nil && s.l.Store() == ls }

// ChargePaid implements PayingStore. It holds the lock of the serial's
// shard throughout (the merchant's record is decided under its own lock,
// taken inside), and applies the transfer on the store's ledger (which
// gives it the ledger's own time, not c.Now).
//
// Errors: ErrInvalidValue (no ledger, a try without merchant or serial).
func (s *MemoryStore) ChargePaid(ctx context.Context, c ChargeStep, p Lockout) (ChargeOutcome, error) {
	t := &c.Try
	if err := checkTry(t); err != nil {
		return ChargeOutcome{}, err
	}
	if s.l == nil || t.Charge == uuid.Nil {
		return ChargeOutcome{}, fmt.Errorf("qr: a charge in one step needs a store with a ledger and a charge ID: %w", ErrInvalidValue)
	}
	sh := &s.used[t.Serial%usedShards]
	k := usedKey{serial: t.Serial, step: c.Step}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch tr, err := s.l.LookupTransfer(ctx, t.Charge); {
	case err == nil:
		return ChargeOutcome{Existing: true, Transfer: tr}, nil
	case !errors.Is(err, ledger.ErrTransferNotFound):
		return ChargeOutcome{}, err
	}
	s.devMu.RLock()
	dev, found := s.bySerial[t.Serial]
	stale := !found || c.Stale(*dev, found)
	s.devMu.RUnlock()
	if stale {
		return ChargeOutcome{Stale: true}, nil
	}
	s.merchMu.Lock()
	sr, mr := s.records(sh, t)
	var d ChargeDecision
	*sr, *mr, d = p.DecideCharge(*sr, *mr, *t, sh.m[k])
	s.merchMu.Unlock()
	out := ChargeOutcome{Try: d.Try, Replay: d.Replay}
	if !d.Pay {
		return out, nil
	}
	if d.Mark {
		sh.m[k] = t.Charge
	}
	tr, err := s.l.Transfer(ctx, c.Transfer)
	if err == nil {
		out.Paid, out.Transfer = true, tr
		return out, nil
	}
	out.Err = err
	// An error that is not a refusal may come after the transfer was
	// made: the day is given back only if the ledger surely has none.
	_, lerr := s.l.LookupTransfer(context.WithoutCancel(ctx), t.Charge)
	*sr, _ = p.ChargeRefused(*sr, MerchantRecord{}, *t, d, !errors.Is(lerr, ledger.ErrTransferNotFound))
	return out, nil
}

// CompletePaid implements PayingStore. It holds the lock of the dynamic
// codes (or of the cap counters) throughout and posts on the store's
// ledger (at the ledger's own time, not p.Now).
//
// Errors: ErrInvalidValue (no ledger, no payment).
func (s *MemoryStore) CompletePaid(ctx context.Context, p PayStep) (PayOutcome, error) {
	if s.l == nil || p.Payment == uuid.Nil {
		return PayOutcome{}, fmt.Errorf("qr: a payment in one step needs a store with a ledger and a payment: %w", ErrInvalidValue)
	}
	post := func() (PayOutcome, bool) {
		t, err := s.l.Transfer(ctx, p.Post)
		return PayOutcome{Err: err, Posted: t}, err == nil
	}
	switch {
	case p.Code != uuid.Nil:
		s.codesMu.Lock()
		defer s.codesMu.Unlock()
		c, ok := s.codes[p.Code]
		if !ok {
			return PayOutcome{Refused: fmt.Errorf("%w: %s", ErrUnknownCode, p.Code)}, nil
		}
		claimed, _, err := c.Claim(p.Payment, p.At)
		if err != nil {
			return PayOutcome{Refused: err}, nil
		}
		settled, _, _ := claimed.Settle(p.Payment)
		out, ok := post()
		if ok {
			*c = settled
			delete(s.claimed, p.Code)
		}
		return out, nil
	case p.Reservation.Payment != uuid.Nil:
		r := p.Reservation
		cur := r.Amount.Currency()
		key := capKey{user: r.User, day: r.Day, currency: cur}
		s.capsMu.Lock()
		defer s.capsMu.Unlock()
		old := s.caps[r.Payment]
		total, add, err := r.Reserve(p.Limit, ledger.NewMoney(s.capTotals[key], cur), old)
		if err != nil {
			return PayOutcome{Refused: err}, nil
		}
		out, ok := post()
		if !ok {
			return out, nil
		}
		if add {
			s.capTotals[key] = total.Units()
			r.Settled = true
			s.caps[r.Payment] = &r
		} else {
			old.Settled = true
		}
		delete(s.reserved, r.Payment)
		return out, nil
	}
	out, _ := post()
	return out, nil
}

// SerialRecord implements AttemptStore.
func (s *MemoryStore) SerialRecord(_ context.Context, serial uint64) (SerialRecord, error) {
	sh := &s.used[serial%usedShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r, ok := sh.serials[serial]; ok {
		return *r, nil
	}
	return SerialRecord{Serial: serial}, nil
}

// UnlockSerial implements AttemptStore.
func (s *MemoryStore) UnlockSerial(_ context.Context, serial uint64) error {
	sh := &s.used[serial%usedShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r, ok := sh.serials[serial]; ok {
		r.Strikes = Strikes{}
	}
	return nil
}
