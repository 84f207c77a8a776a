package transfer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Errors of the service that are not about one store.
var (
	// ErrInvalidConfig means a Config cannot work.
	ErrInvalidConfig = errcode.New("invalid_config", errcode.Internal, "transfer: invalid config")
	// ErrInvalidRequest means a request lacks a field or has one out of
	// bounds; the error says which.
	ErrInvalidRequest = errcode.New("invalid_request", errcode.Invalid, "transfer: invalid request")
	// ErrSelfTransfer means the payee's account is the payer's own.
	ErrSelfTransfer = errcode.New("self_transfer", errcode.Invalid, "transfer: payee account is the payer's own")
)

// DefaultNamespace returns the UUID namespace of the IDs the service
// derives (records and ledger transfers) unless Config.Namespace says
// otherwise: ledger.DeriveID(DefaultNamespace(), ...).
func DefaultNamespace() uuid.UUID {
	return uuid.UUID{0x6f, 0x1d, 0x4a, 0x52, 0x5b, 0x3e, 0x5c, 0x1a, 0x9d, 0x0e, 0x3c, 0x1f, 0x8a, 0x2b, 0x7e, 0x64}
}

// Defaults of a Config.
const (
	DefaultInstitution = "local"
	DefaultTokenTTL    = 5 * time.Minute
	DefaultChatTimeout = 24 * time.Hour
	// DefaultTimeZone bounds the days of the daily limit.
	DefaultTimeZone = "Asia/Shanghai"
)

// Config configures a Service. Ledger is required, and so are Store,
// Directory, Limiter and TokenKey unless SingleProcess is set.
type Config struct {
	// Ledger is where the money moves. Required.
	Ledger *ledger.Ledger
	// Store keeps transfer records and daily totals. Every instance must
	// share it (postgres.PhoneTransferStore), or each instance grants a
	// payer its own daily limit; nil is refused unless SingleProcess is
	// set, when it means a new MemoryStore paying on Ledger. A
	// PayingStore whose PaysOn accepts Ledger's store makes each Send one
	// step (see Send).
	Store Store
	// Directory keeps the bank's bindings, shared like Store
	// (postgres.PhoneDirectory); nil is refused unless SingleProcess is
	// set, when it means a new MemoryDirectory.
	Directory Directory
	// Router finds payees; nil means LocalRouter{Directory, Institution}.
	Router Router
	// Limiter meters lookups. Every instance of a bank's service must
	// share one (postgres.LookupLimiter), or a prober gets a budget per
	// instance; nil is refused unless SingleProcess is set, when it means
	// a MemoryLimiter with DefaultRateConfig and the service's clock.
	Limiter Limiter
	// Parser normalizes numbers; nil means NewPhoneParser(DefaultRegion).
	Parser *PhoneParser
	// Limits caps transfers; the zero value means DefaultLimits(). Payees'
	// accounts must be in its currency.
	Limits Limits
	// Institution is this bank's ID, as payers see it; default
	// DefaultInstitution.
	Institution string
	// Location is the time zone whose midnight starts a new day for the
	// daily limit; nil means Asia/Shanghai (UTC+8 if the system has no
	// zone database: the same day boundaries since 1991).
	Location *time.Location
	// TokenKey is the HMAC key of lookup tokens, at least MinTokenKeyLen
	// bytes, from the bank's secret configuration. Every instance of a
	// bank's service must share it, or a token resolved on one fails on
	// another; nil is refused unless SingleProcess is set, when it means a
	// random key of this Service alone (its tokens work nowhere else and
	// not after a restart).
	TokenKey []byte
	// SingleProcess declares that this Service is the only instance that
	// will ever serve its stores: a nil Store, Directory, Limiter or
	// TokenKey then means one of this process alone. Without it New refuses to make them up,
	// since a per-process default would silently give a prober one lookup
	// budget per instance and break tokens across instances. Tests, tools
	// and single-process deployments set it; services behind a load
	// balancer pass a shared Limiter and TokenKey instead.
	SingleProcess bool
	// TokenTTL is how long a lookup token pays; default DefaultTokenTTL.
	TokenTTL time.Duration
	// ChatTimeout is how long a chat transfer waits for the payee;
	// default DefaultChatTimeout.
	ChatTimeout time.Duration
	// ReconcileAfter is how old an unfinished record must be before
	// Reconcile finishes it: longer than a Send takes, so that Reconcile
	// leaves requests in flight to themselves. Default 1 minute; negative
	// means 0.
	ReconcileAfter time.Duration
	// MaxVerificationAge, when positive, makes bindings whose ownership
	// was last verified longer ago unpayable (they look unregistered):
	// numbers are recycled, and an old verification may name a previous
	// holder.
	MaxVerificationAge time.Duration
	// Namespace of the derived IDs; uuid.Nil means DefaultNamespace().
	Namespace uuid.UUID
	// LedgerCode is the Code of the ledger transfers the service makes.
	LedgerCode uint16
	// Now is the clock; nil means the ledger's (Ledger.Now).
	Now func() time.Time
	// Rand is the source of lookup token IDs and of a missing TokenKey;
	// nil means crypto/rand.
	Rand io.Reader

	// Logger, TracerProvider and MeterProvider observe the Service (see
	// docs/observability.md): sends and lookups as spans, counted by
	// outcome (and currency) with their durations; ReleaseDue,
	// ExpireChats and Reconcile as sweeps, logged with what they did.
	// Each nil means none, at no cost on the hot path. Logs never hold a
	// full phone number, a token or a name.
	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Service is phone-number transfers: binding numbers, looking payees up
// (reveal and verify), sending now, later and in chats, and sweeping. It
// is safe for concurrent use; all its state is in its stores and the
// ledger, so many instances can share them.
type Service struct {
	ledger         *ledger.Ledger
	store          Store
	paying         PayingStore // store, when it pays on the ledger's store: Send's one step
	refund         Limiter     // limiter, when paying refunds on it (RefundsOn): the refund in the payment's step
	dir            Directory
	router         Router
	limiter        Limiter
	parser         *PhoneParser
	limits         Limits
	institution    string
	loc            *time.Location
	tokens         *tokenCodec
	tokenTTL       time.Duration
	chatTimeout    time.Duration
	reconcileAfter time.Duration
	maxVerified    time.Duration
	ns             uuid.UUID
	code           uint16
	now            func() time.Time
	rand           io.Reader
	tel            *serviceTelemetry
}

// New returns a Service.
//
// Errors: ErrInvalidConfig (also for a nil Limiter or TokenKey without
// Config.SingleProcess, and a TokenKey shorter than MinTokenKeyLen),
// ErrInvalidLimits, ErrInvalidRateConfig, ErrUnknownRegion.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Ledger == nil:
		return nil, fmt.Errorf("%w: no ledger", ErrInvalidConfig)
	case cfg.Store == nil && !cfg.SingleProcess:
		return nil, fmt.Errorf("%w: no Store: instances must share one (postgres.PhoneTransferStore), or set Config.SingleProcess for the only instance", ErrInvalidConfig)
	case cfg.Directory == nil && !cfg.SingleProcess:
		return nil, fmt.Errorf("%w: no Directory: instances must share one (postgres.PhoneDirectory), or set Config.SingleProcess for the only instance", ErrInvalidConfig)
	case cfg.Limiter == nil && !cfg.SingleProcess:
		return nil, fmt.Errorf("%w: no Limiter: instances must share one (postgres.LookupLimiter), or set Config.SingleProcess for the only instance", ErrInvalidConfig)
	case cfg.TokenKey == nil && !cfg.SingleProcess:
		return nil, fmt.Errorf("%w: no TokenKey: instances must share one from the bank's configuration, or set Config.SingleProcess for the only instance", ErrInvalidConfig)
	}
	s := &Service{
		ledger:      cfg.Ledger,
		store:       cfg.Store,
		dir:         cfg.Directory,
		router:      cfg.Router,
		limiter:     cfg.Limiter,
		parser:      cfg.Parser,
		limits:      cfg.Limits,
		institution: cfg.Institution,
		loc:         cfg.Location,
		tokenTTL:    cfg.TokenTTL,
		chatTimeout: cfg.ChatTimeout,
		maxVerified: cfg.MaxVerificationAge,
		ns:          cfg.Namespace,
		code:        cfg.LedgerCode,
		now:         cfg.Now,
		rand:        cfg.Rand,
		tel:         newServiceTelemetry(&cfg),
	}
	if s.now == nil {
		s.now = cfg.Ledger.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.store == nil {
		s.store = NewMemoryStore(cfg.Ledger)
	}
	if ps, ok := s.store.(PayingStore); ok && ps.PaysOn(ledger.Unwrap(cfg.Ledger.Store())) {
		s.paying = ps
	}
	if s.dir == nil {
		s.dir = NewMemoryDirectory()
	}
	if s.institution == "" {
		s.institution = DefaultInstitution
	}
	if err := checkText("institution", s.institution, MaxInstitutionLen); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if s.router == nil {
		s.router = LocalRouter{Directory: s.dir, Institution: s.institution}
	}
	if s.limiter == nil {
		rc := DefaultRateConfig()
		rc.Now = s.now
		l, err := NewMemoryLimiter(rc)
		if err != nil {
			return nil, err
		}
		s.limiter = l
	}
	if s.paying != nil && s.paying.RefundsOn(s.limiter) {
		s.refund = s.limiter
	}
	if s.parser == nil {
		p, err := NewPhoneParser(DefaultRegion)
		if err != nil {
			return nil, err
		}
		s.parser = p
	}
	if s.limits == (Limits{}) {
		s.limits = DefaultLimits()
	}
	if err := s.limits.Validate(); err != nil {
		return nil, err
	}
	if s.loc == nil {
		s.loc = defaultLocation()
	}
	if s.tokenTTL == 0 {
		s.tokenTTL = DefaultTokenTTL
	}
	if s.chatTimeout == 0 {
		s.chatTimeout = DefaultChatTimeout
	}
	switch {
	case cfg.ReconcileAfter == 0:
		s.reconcileAfter = time.Minute
	case cfg.ReconcileAfter > 0:
		s.reconcileAfter = cfg.ReconcileAfter
	}
	if s.tokenTTL < 0 || s.chatTimeout < 0 || s.maxVerified < 0 {
		return nil, fmt.Errorf("%w: negative duration", ErrInvalidConfig)
	}
	if s.ns == uuid.Nil {
		s.ns = DefaultNamespace()
	}
	key := cfg.TokenKey
	if key == nil {
		key = make([]byte, MinTokenKeyLen)
		if _, err := io.ReadFull(s.rand, key); err != nil {
			return nil, fmt.Errorf("%w: token key: %w", ErrInvalidConfig, err)
		}
	}
	if len(key) < MinTokenKeyLen {
		return nil, fmt.Errorf("%w: token key of %d bytes, at least %d needed", ErrInvalidConfig, len(key), MinTokenKeyLen)
	}
	s.tokens = newTokenCodec(key)
	return s, nil
}

// defaultLocation returns Asia/Shanghai, or UTC+8 without a zone database
// (China has kept UTC+8 without daylight saving since 1991).
func defaultLocation() *time.Location {
	if loc, err := time.LoadLocation(DefaultTimeZone); err == nil {
		return loc
	}
	return time.FixedZone("UTC+8", 8*60*60)
}

// Store returns the service's record store.
func (s *Service) Store() Store { return s.store }

// Directory returns the service's directory.
func (s *Service) Directory() Directory { return s.dir }

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return s.limits }

// Day returns the day of the daily limit that t falls on.
func (s *Service) Day(t time.Time) Day { return DayOf(t, s.loc) }

// BindRequest asks to bind a number.
type BindRequest struct {
	Phone      string    `json:"phone"`                // as typed; validated fully (Normalize)
	Holder     uuid.UUID `json:"holder"`               // the user who holds the number (Binding.Holder)
	Account    uuid.UUID `json:"account"`              // the default account; must exist in the ledger, in the limits' currency
	Name       string    `json:"name"`                 // the holder's full name
	VerifiedAt time.Time `json:"verified_at,omitzero"` // when the bank verified ownership (OTP)
	// Rebind moves a number bound to another holder to this one. Without
	// it such a Bind fails with ErrBoundToOtherHolder.
	Rebind bool `json:"rebind"`
}

// Bind binds a number to a holder's account. The number is validated
// fully; the same holder may bind again to change account or name or to
// record a new verification.
//
// Errors: a *PhoneError (ErrEmptyPhone, ErrNotPhoneNumber,
// ErrInvalidPhone, ErrNotMobile), ErrInvalidBinding (also for an account
// the ledger does not have or of another currency),
// ErrBoundToOtherHolder, and the ledger's and directory's own errors.
func (s *Service) Bind(ctx context.Context, req BindRequest) (Binding, error) {
	phone, err := s.parser.Normalize(req.Phone)
	if err != nil {
		return Binding{}, err
	}
	acct, err := s.ledger.Account(ctx, req.Account)
	switch {
	case errors.Is(err, ledger.ErrAccountNotFound):
		return Binding{}, fmt.Errorf("bind %s: %w: account %s: %w", phone, ErrInvalidBinding, req.Account, err)
	case err != nil:
		return Binding{}, fmt.Errorf("bind %s: %w", phone, err)
	case acct.Currency != s.limits.Currency():
		return Binding{}, fmt.Errorf("bind %s: %w: account %s is in %s, transfers in %s", phone, ErrInvalidBinding, req.Account, acct.Currency, s.limits.Currency())
	}
	b := Binding{Phone: phone, Holder: req.Holder, Account: req.Account, Name: req.Name, VerifiedAt: req.VerifiedAt, UpdatedAt: s.now()}
	return s.dir.Bind(ctx, b, req.Rebind)
}

// Unbind removes the binding of a number held by holder.
//
// Errors: a *PhoneError, ErrNotBound, ErrNotHolder.
func (s *Service) Unbind(ctx context.Context, phone string, holder uuid.UUID) error {
	p, err := s.parser.Normalize(phone)
	if err != nil {
		return err
	}
	return s.dir.Unbind(ctx, p, holder)
}

// Resolution is the answer of the reveal lookup: enough for the payer to
// recognise the payee, and a token to pay them with.
type Resolution struct {
	Token       string    `json:"token"`       // pays one transfer by this payer to this payee, until ExpiresAt
	ExpiresAt   time.Time `json:"expires_at"`  //
	Phone       Phone     `json:"phone"`       // the number, normalized
	MaskedName  string    `json:"masked_name"` // MaskName of the payee's name; the full name is never revealed
	Institution string    `json:"institution"` // who holds the number
}

// Resolve looks a number up for payer (the reveal model): it returns the
// payee's masked name, institution, and a short-lived lookup token that
// Send accepts. Lookups are metered by the Limiter whatever the answer: a
// found number costs FoundCost, a missing or invalid one NotFoundCost.
//
// Errors: ErrEmptyPayer, a *RateLimitError (ErrRateLimited), a
// *PhoneError (the number is not a valid mobile number), ErrNotBound, and
// the router's and limiter's own errors.
func (s *Service) Resolve(ctx context.Context, payer uuid.UUID, phone string) (_ Resolution, err error) {
	ctx, sp := s.tel.resolve.Start(ctx)
	defer func() { sp.End(ctx, err, "") }()
	p, err := s.lookup(ctx, payer, uuid.Nil, phone, nil)
	if err != nil {
		return Resolution{}, err
	}
	tok, exp, err := s.issue(payer, &p)
	if err != nil {
		return Resolution{}, err
	}
	return Resolution{Token: tok, ExpiresAt: exp, Phone: p.Phone, MaskedName: p.masked(), Institution: p.Institution}, nil
}

// Verification is the answer of the verify lookup.
type Verification struct {
	Result      MatchResult `json:"result"` // how well the payer's answer fits the payee's name
	Token       string      `json:"token"`  // as Resolution.Token
	ExpiresAt   time.Time   `json:"expires_at"`
	Phone       Phone       `json:"phone"`
	Institution string      `json:"institution"`
}

// VerifyPayee looks a number up for payer in the verify model
// (Confirmation of Payee): the payer supplies the payee's name, surname or
// first character (see Challenge) and learns Match, CloseMatch or NoMatch,
// never the name; the token lets them pay, whatever the answer, as the
// bank's app decides.
//
// It is metered like Resolve, more strictly: only a Match costs
// FoundCost; a close match is a hint that narrows guessing, so it costs
// NotFoundCost like a miss, and so does NoMatch.
//
// Errors: those of Resolve, and ErrEmptyName, ErrNameTooLong and
// ErrUnknownChallenge for the answer (checked before any lookup).
func (s *Service) VerifyPayee(ctx context.Context, payer uuid.UUID, phone string, c Challenge, answer string) (_ Verification, err error) {
	ctx, sp := s.tel.verify.Start(ctx)
	defer func() { sp.End(ctx, err, "") }()
	if c < FullName || c > FirstCharacter {
		return Verification{}, fmt.Errorf("transfer: verify payee: %w: %d", ErrUnknownChallenge, int(c))
	}
	if _, err := verifyInput("answer", answer); err != nil {
		return Verification{}, err
	}
	m, merr := NoMatch, error(nil)
	p, err := s.lookup(ctx, payer, uuid.Nil, phone, func(p *Payee) bool {
		m, merr = VerifyName(p.Name, c, answer)
		return merr == nil && m == Match
	})
	if err != nil {
		return Verification{}, err
	}
	if merr != nil {
		return Verification{}, merr
	}
	tok, exp, err := s.issue(payer, &p)
	if err != nil {
		return Verification{}, err
	}
	return Verification{Result: m, Token: tok, ExpiresAt: exp, Phone: p.Phone, Institution: p.Institution}, nil
}

// lookup is the metered directory lookup: FindPhone tries the cheap key
// first, then the limiter charges the lookup in one step (once per
// charge, see Limiter): FoundCost if it found a payee that cheap accepts
// (nil accepts any), NotFoundCost otherwise (a missing or invalid number,
// or an error). A refusal is the answer whatever was found; the directory
// has been read all the same.
func (s *Service) lookup(ctx context.Context, payer, charge uuid.UUID, phone string, cheap func(*Payee) bool) (Payee, error) {
	if err := CheckPayer(payer); err != nil {
		return Payee{}, fmt.Errorf("transfer: lookup: %w", err) // before the directory is asked
	}
	norm, p, found, err := FindPhone(s.parser, phone, func(k Phone) (Payee, bool, error) { return s.route(ctx, k) })
	hit := err == nil && found && (cheap == nil || cheap(&p))
	if _, cerr := s.limiter.ChargeLookup(ctx, payer, charge, hit); cerr != nil {
		return Payee{}, cerr
	}
	if err != nil {
		return Payee{}, err
	}
	if !found {
		return Payee{}, fmt.Errorf("%w: %s", ErrNotBound, norm)
	}
	return p, nil
}

// route asks the router, and hides bindings whose verification is too old.
func (s *Service) route(ctx context.Context, k Phone) (Payee, bool, error) {
	p, found, err := s.router.Route(ctx, k)
	if err != nil || !found {
		return Payee{}, false, err
	}
	if s.maxVerified > 0 && s.now().Sub(p.VerifiedAt) > s.maxVerified {
		return Payee{}, false, nil
	}
	return p, true, nil
}

// issue returns a lookup token for payer to pay p.
func (s *Service) issue(payer uuid.UUID, p *Payee) (string, time.Time, error) {
	var id uuid.UUID
	if _, err := io.ReadFull(s.rand, id[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("transfer: lookup token: %w", err)
	}
	id[6] = id[6]&0x0f | 0x40 // a version 4 UUID
	id[8] = id[8]&0x3f | 0x80
	exp := s.now().Add(s.tokenTTL).Truncate(time.Millisecond)
	tok := s.tokens.seal(payer, lookupToken{ID: id, Expires: exp, Fingerprint: fingerprint(p), Phone: p.Phone})
	return tok, exp, nil
}

// payeeOfToken checks that an opened lookup token's number still routes
// to the payee looked up.
//
// Errors: ErrStaleToken.
func (s *Service) payeeOfToken(ctx context.Context, t lookupToken) (Payee, error) {
	p, found, err := s.route(ctx, t.Phone)
	switch {
	case err != nil:
		return Payee{}, err
	case !found || fingerprint(&p) != t.Fingerprint:
		return Payee{}, fmt.Errorf("%w: %s", ErrStaleToken, t.Phone)
	}
	return p, nil
}
