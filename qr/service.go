package qr

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Errors of the Service.
var (
	// ErrKeyReused: an idempotency key (a payer's payment key, a
	// merchant's order ID) used again for a request of another meaning
	// (see the package doc, Idempotency). Pay and Charge return it as a
	// *KeyConflictError.
	ErrKeyReused = errcode.New("idempotency_conflict", errcode.Conflict, "qr: idempotency key reused for another request")
	// ErrPaymentAborted: the payment's hold was cancelled (the code was
	// paid by someone else, the cap was reached, an account was frozen, or
	// the hold timed out). The error wraps the reason when it is known,
	// and errcode.Of then answers with the reason's code ("daily_cap").
	// The key is spent: pay again under a new key.
	ErrPaymentAborted = errcode.New("payment_aborted", errcode.Conflict, "qr: payment cancelled")
	// ErrAmountMismatch: a static code paid without a positive amount in
	// the code's currency, or a dynamic code paid with an amount other
	// than its own.
	ErrAmountMismatch = errcode.New("amount_mismatch", errcode.Invalid, "qr: amount does not fit the code")
	// ErrPayeeChanged: the directory no longer maps the code's alias to
	// the account the payer confirmed.
	ErrPayeeChanged = errcode.New("payee_changed", errcode.Conflict, "qr: payee changed since it was confirmed")
	// ErrChargeCap: a payment-code charge over the per-charge cap.
	ErrChargeCap = errcode.New("over_charge_cap", errcode.Invalid, "qr: amount over the payment-code cap")
)

// KeyConflictError is an idempotency key used again for a request of
// another meaning. It unwraps to ErrKeyReused.
type KeyConflictError struct {
	Key   string    // the payer's key or the merchant's order ID
	ID    uuid.UUID // the payment (PaymentID) or charge (ChargeID) it names
	Field string    // the first part of the meaning that differs
}

func (e *KeyConflictError) Error() string {
	return fmt.Sprintf("qr: key %q (%s) reused with another %s: %v", e.Key, e.ID, e.Field, ErrKeyReused)
}

// Unwrap returns ErrKeyReused.
func (e *KeyConflictError) Unwrap() error { return ErrKeyReused }

// Config configures a Service. Ledger is required; Directory and Receive
// are needed to issue and pay receive codes, PaymentCodes to register
// devices and charge payment codes.
type Config struct {
	// Ledger is where payments settle.
	Ledger *ledger.Ledger
	// Store keeps dynamic codes, cap counters, devices, failure counters
	// and used payment codes. Every instance must share it
	// (postgres.QRStore): with a store per instance a payment code
	// redeemed on one could be charged again on another, and each would
	// keep its own caps and lockouts. Nil is refused unless SingleProcess
	// is set, when it means a new MemoryStore paying on Ledger. A
	// PayingStore whose PaysOn accepts Ledger's store charges payment
	// codes in one step (one commit on PostgreSQL); any other store takes
	// the slower path of one step per store call.
	Store Store
	// SingleProcess declares that this Service is the only instance that
	// will ever serve its store: a nil Store then means one of this
	// process alone. Tests, tools and single-process deployments set it.
	SingleProcess bool
	// Directory resolves payee aliases.
	Directory Directory
	// Receive signs and verifies receive codes. Give it the same clock as
	// the Service.
	Receive *ReceiveCodes
	// PaymentCodes checks payment codes.
	PaymentCodes *PaymentCodes

	// Namespace is the UUID namespace of every ID the Service derives
	// (payments, transfers, codes). Default: the UUIDv5 of the URL
	// "https://github.com/socialpay/socialpay/qr" in the URL namespace.
	// Keep it fixed for the life of the ledger.
	Namespace uuid.UUID
	// StaticDailyCaps caps each payer's static-code payments per calendar
	// day, one amount per currency (an amount of zero forbids static-code
	// payments in that currency; a currency without an entry is not
	// capped). Default (nil): 500.00 CNY, China's rule. An empty, non-nil
	// slice caps nothing.
	StaticDailyCaps []ledger.Money
	// Location is the time zone whose midnight starts a cap's day.
	// Default: China Standard Time, UTC+8 (Asia/Shanghai, which has kept
	// it without daylight saving time since 1991).
	Location *time.Location
	// ChargeCaps caps a single payment-code charge (a password-free
	// payment: the payer only shows the code), one amount per currency;
	// a currency without an entry is not capped. Default (nil): 1,000.00
	// CNY. An empty, non-nil slice caps nothing.
	ChargeCaps []ledger.Money
	// DeviceDailyCaps caps a device's payment-code charges per calendar
	// day (in Location), one amount per currency. Default (nil): 2,000.00
	// CNY. An empty, non-nil slice caps nothing.
	DeviceDailyCaps []ledger.Money
	// Lockout limits failed payment-code attempts per device and per
	// merchant. Default: DefaultLockout.
	Lockout Lockout
	// DeviceKeys wraps device secrets before the store keeps them.
	// Required with PaymentCodes.
	DeviceKeys KeyWrapper
	// Refused, if set, is told why a payment code was refused (the
	// merchant only gets ErrInvalidCode): for logs and metrics. It must
	// not block.
	Refused func(ctx context.Context, r CodeRefusal)
	// HoldTimeout is how long a payment's hold may stay pending before
	// the ledger voids it (ledger.ExpirePending). Default 10 minutes.
	HoldTimeout time.Duration
	// ReconcileAfter is how old a claim or reservation must be before
	// Reconcile finishes it, leaving younger ones to the Pay that made
	// them. Default 1 minute; less than HoldTimeout.
	ReconcileAfter time.Duration
	// PayTransferCode and ChargeTransferCode set ledger.Transfer.Code of
	// the transfers Pay and Charge make (their meaning is the bank's).
	PayTransferCode, ChargeTransferCode uint16
	// Now is the clock. Default: the ledger's.
	Now func() time.Time

	// Logger, TracerProvider and MeterProvider observe the Service (see
	// docs/observability.md): charges and payments as spans, counted by
	// outcome and currency with their durations, refused payment codes
	// counted by reason; Sweep and Reconcile as sweeps, logged with what
	// they did. Each nil means none, at no cost on the hot path. Logs
	// never hold a payment code, a device secret or a payload.
	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Service issues and pays receive codes and charges payment codes on the
// ledger. It is safe for concurrent use.
type Service struct {
	ledger         *ledger.Ledger
	store          Store
	paying         PayingStore  // store, when it charges in one step on ledger's store
	devices        *deviceCache // devices read for paying's charges
	dir            Directory
	receive        *ReceiveCodes
	codes          *PaymentCodes
	ns             uuid.UUID
	staticCaps     []ledger.Money
	chargeCaps     []ledger.Money
	deviceCaps     []ledger.Money
	lockout        Lockout
	keys           KeyWrapper
	refused        func(context.Context, CodeRefusal)
	loc            *time.Location
	holdTimeout    time.Duration
	reconcileAfter time.Duration
	payCode        uint16
	chargeCode     uint16
	now            func() time.Time
	tel            *serviceTelemetry
}

// New checks cfg and fills its defaults.
//
// Errors: ErrMissing (no Ledger; no Store without SingleProcess;
// PaymentCodes without DeviceKeys),
// ErrInvalidValue (negative or duplicate caps, a cap without currency,
// ReconcileAfter not below HoldTimeout, a Lockout with a count or window
// not positive).
func New(cfg Config) (*Service, error) {
	if cfg.Ledger == nil {
		return nil, fmt.Errorf("qr: a Service needs a Ledger: %w", ErrMissing)
	}
	if cfg.Store == nil && !cfg.SingleProcess {
		return nil, fmt.Errorf("qr: a Service needs a Store every instance shares (postgres.QRStore), or Config.SingleProcess for the only instance: %w", ErrMissing)
	}
	s := &Service{
		ledger: cfg.Ledger, store: cfg.Store, dir: cfg.Directory, receive: cfg.Receive, codes: cfg.PaymentCodes,
		ns: cfg.Namespace, staticCaps: cfg.StaticDailyCaps, chargeCaps: cfg.ChargeCaps, loc: cfg.Location,
		deviceCaps: cfg.DeviceDailyCaps, keys: cfg.DeviceKeys, refused: cfg.Refused,
		holdTimeout: cfg.HoldTimeout, reconcileAfter: cfg.ReconcileAfter,
		payCode: cfg.PayTransferCode, chargeCode: cfg.ChargeTransferCode, now: cfg.Now,
		tel: newServiceTelemetry(&cfg),
	}
	if s.store == nil {
		s.store = NewMemoryStore(cfg.Ledger)
	}
	if cs, ok := s.store.(PayingStore); ok && cs.PaysOn(ledger.Unwrap(cfg.Ledger.Store())) {
		s.paying = cs
		s.devices = &deviceCache{}
	}
	if s.ns == uuid.Nil {
		s.ns = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/socialpay/socialpay/qr"))
	}
	if s.staticCaps == nil {
		s.staticCaps = []ledger.Money{ledger.NewMoney(500_00, ledger.MustCurrency("CNY"))}
	}
	if s.chargeCaps == nil {
		s.chargeCaps = []ledger.Money{ledger.NewMoney(1_000_00, ledger.MustCurrency("CNY"))}
	}
	if s.deviceCaps == nil {
		s.deviceCaps = []ledger.Money{ledger.NewMoney(2_000_00, ledger.MustCurrency("CNY"))}
	}
	var err error
	if s.lockout, err = cfg.Lockout.withDefaults(); err != nil {
		return nil, err
	}
	if s.codes != nil && s.keys == nil {
		return nil, fmt.Errorf("qr: PaymentCodes need DeviceKeys to wrap device secrets: %w", ErrMissing)
	}
	if s.loc == nil {
		s.loc = time.FixedZone("CST", 8*60*60)
	}
	if s.holdTimeout == 0 {
		s.holdTimeout = 10 * time.Minute
	}
	if s.reconcileAfter == 0 {
		s.reconcileAfter = time.Minute
	}
	if s.now == nil {
		s.now = cfg.Ledger.Now
	}
	for _, caps := range [][]ledger.Money{s.staticCaps, s.chargeCaps, s.deviceCaps} {
		if err := checkCaps(caps); err != nil {
			return nil, err
		}
	}
	if s.holdTimeout < 0 || s.reconcileAfter < 0 || s.reconcileAfter >= s.holdTimeout {
		return nil, fmt.Errorf("qr: ReconcileAfter %v must be below HoldTimeout %v: %w", s.reconcileAfter, s.holdTimeout, ErrInvalidValue)
	}
	return s, nil
}

func checkCaps(caps []ledger.Money) error {
	for i, c := range caps {
		if c.Currency().IsZero() || c.IsNegative() {
			return fmt.Errorf("qr: cap %v: %w", c, ErrInvalidValue)
		}
		for _, d := range caps[:i] {
			if d.Currency() == c.Currency() {
				return fmt.Errorf("qr: two caps in %v: %w", c.Currency(), ErrInvalidValue)
			}
		}
	}
	return nil
}

// capIn returns the cap of currency c, if there is one.
func capIn(caps []ledger.Money, c ledger.Currency) (ledger.Money, bool) {
	for _, m := range caps {
		if m.Currency() == c {
			return m, true
		}
	}
	return ledger.Money{}, false
}

// Day returns the calendar day of t in the cap's time zone, as the cap
// counters name it ("2006-01-02").
func (s *Service) Day(t time.Time) string { return t.In(s.loc).Format(time.DateOnly) }

// PaymentID returns the ID of the payment a payer makes under an
// idempotency key. It is the ledger ID of the payment's hold (a pending
// transfer); the transfer that posts it is TransferID of it.
func (s *Service) PaymentID(payer uuid.UUID, key string) uuid.UUID {
	return ledger.DeriveID(s.ns, "qr/pay", payer.String(), key)
}

// TransferID returns the ID of the ledger transfer that posts a payment.
func (s *Service) TransferID(payment uuid.UUID) uuid.UUID {
	return ledger.DeriveID(s.ns, "qr/pay/post", payment.String())
}

func (s *Service) voidID(payment uuid.UUID) uuid.UUID {
	return ledger.DeriveID(s.ns, "qr/pay/void", payment.String())
}

// CodeID returns the ID of the dynamic code for a payee's order: one
// order, one code, one payment.
func (s *Service) CodeID(payee, reference string) uuid.UUID {
	return ledger.DeriveID(s.ns, "qr/code", payee, reference)
}

// ChargeID returns the ID of the ledger transfer of a merchant's order
// paid with a payment code.
func (s *Service) ChargeID(merchant uuid.UUID, order string) uuid.UUID {
	return ledger.DeriveID(s.ns, "qr/charge", merchant.String(), order)
}

// Store returns the Service's store.
func (s *Service) Store() Store { return s.store }
