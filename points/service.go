package points

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/socialpay/socialpay/internal/errset"
	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// UnitCode is the ledger code of the points unit: XPS, exponent 0, which
// the ledger keeps apart from every money currency.
const UnitCode = "XPS"

// Unit returns the ledger currency of points.
func Unit() ledger.Currency { return ledger.MustCurrency(UnitCode) }

// Config configures a Service. Every instance of a service on one database
// must have the same configuration (rules, expiry, time zone, accounts,
// namespace): operations are recorded and derived from it.
type Config struct {
	// Ledger moves the points and the money. Required.
	Ledger *ledger.Ledger
	// Store keeps lots, operations and rates. Every instance must share it
	// (postgres.PointsStore): with a store per instance each keeps its own
	// lots and operations beside the one ledger, and a retry reaching
	// another instance records the operation again. Nil is refused unless
	// SingleProcess is set, when it means a new MemoryStore.
	Store Store
	// SingleProcess declares that this Service is the only instance that
	// will ever serve its store: a nil Store then means one of this
	// process alone. Tests, tools and single-process deployments set it.
	SingleProcess bool
	// Rules are the ways to earn points, by unique name.
	Rules []EarnRule
	// ExpiryMonths is how long points last: points earned in a month
	// expire at the end of the ExpiryMonths-th month after it (ExpiryOf).
	// Required, 1–1200.
	ExpiryMonths int
	// Location is the time zone of month boundaries; nil means UTC.
	Location *time.Location
	// Issuance, Redeemed and Expired are the bank's points accounts (unit
	// XPS, no balance flags; OpenSystemAccounts creates them): earned
	// points come from Issuance, redeemed points go to Redeemed, expired
	// points to Expired. Required and distinct.
	Issuance, Redeemed, Expired uuid.UUID
	// Conversion holds, per currency, the bank's money account that pays
	// redemptions; the bank funds it. A currency without one cannot be
	// redeemed into.
	Conversion map[ledger.Currency]uuid.UUID
	// Partners holds, per partner name, the points account (unit XPS) the
	// partner's exchanges go through: exchanging out credits it,
	// exchanging in debits it (give it DebitsMustNotExceedCredits and fund
	// it to cap what the partner may bring in).
	Partners map[string]uuid.UUID
	// Shards is how many accounts each of the bank's accounts that every
	// operation of its kind touches (Issuance, Redeemed, Expired and each
	// Conversion account) is split into, so that concurrent operations do
	// not queue on one row: a user's operations use shard
	// ShardOf(user, Shards). Shard 0 is the configured account, shard k ≥
	// 1 the account Service.Shards lists (derived from it); the bank opens
	// the Conversion shards and funds each, OpenSystemAccounts opens the
	// points ones. 0 means 1 (no split), at most 1,024. Operations record
	// the accounts they used, so a change applies to new operations only.
	Shards int
	// AccountCode is the ledger Code of users' points accounts.
	AccountCode uint16
	// Namespace is the UUIDv5 namespace of every ID the Service derives.
	// Zero means DefaultNamespace().
	Namespace uuid.UUID
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	// Logger, TracerProvider and MeterProvider observe the Service (see
	// docs/observability.md): earns, redemptions and exchanges as spans,
	// counted by kind, outcome and currency (the points unit, or a
	// redemption's money) with their durations; Sweep and Reconcile as
	// sweeps, logged with what they did. Each nil means none.
	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// DefaultNamespace returns the namespace of derived IDs when
// Config.Namespace is zero: the UUIDv5 of
// "https://github.com/socialpay/socialpay/points" in the URL namespace.
func DefaultNamespace() uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/socialpay/socialpay/points"))
}

// Service earns, redeems, exchanges and expires points on a ledger and a
// Store. It is safe for concurrent use, and several Services (processes)
// may share one Store and ledger.
type Service struct {
	l       *ledger.Ledger
	store   Store
	rules   map[string]EarnRule
	months  int
	loc     *time.Location
	cfg     Config
	ns      uuid.UUID
	now     func() time.Time
	unit    ledger.Currency
	partner map[string]uuid.UUID
	conv    map[ledger.Currency]uuid.UUID
	posting PostingStore              // the store, when it posts on the ledger's store in its own step; else nil
	shards  map[uuid.UUID][]uuid.UUID // each sharded account's shards, shard 0 first
	tel     *serviceTelemetry
}

// New returns a Service.
//
// Errors: ErrInvalidConfig (also for a nil Store without
// Config.SingleProcess), ErrInvalidRule.
func New(cfg Config) (*Service, error) {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrInvalidConfig}, a...)...) }
	if cfg.Ledger == nil {
		return nil, bad("no ledger")
	}
	if cfg.Store == nil && !cfg.SingleProcess {
		return nil, bad("no Store: instances must share one (postgres.PointsStore), or set Config.SingleProcess for the only instance")
	}
	if cfg.Shards < 0 || cfg.Shards > 1024 {
		return nil, bad("Shards %d (0–1024)", cfg.Shards)
	}
	if cfg.ExpiryMonths < 1 || cfg.ExpiryMonths > 1200 {
		return nil, bad("ExpiryMonths %d (1–1200)", cfg.ExpiryMonths)
	}
	sys := []uuid.UUID{cfg.Issuance, cfg.Redeemed, cfg.Expired}
	if sys[0] == uuid.Nil || sys[1] == uuid.Nil || sys[2] == uuid.Nil || sys[0] == sys[1] || sys[0] == sys[2] || sys[1] == sys[2] {
		return nil, bad("Issuance, Redeemed and Expired must be set and distinct")
	}
	s := &Service{l: cfg.Ledger, store: cfg.Store, rules: map[string]EarnRule{}, months: cfg.ExpiryMonths,
		loc: cfg.Location, cfg: cfg, ns: cfg.Namespace, now: cfg.Now, unit: Unit(),
		partner: map[string]uuid.UUID{}, conv: map[ledger.Currency]uuid.UUID{}, tel: newServiceTelemetry(&cfg)}
	for _, r := range cfg.Rules {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if _, dup := s.rules[r.Name]; dup {
			return nil, bad("rule %q twice", r.Name)
		}
		s.rules[r.Name] = r
	}
	for name, id := range cfg.Partners {
		if !validName(name) || id == uuid.Nil {
			return nil, bad("partner %q with account %s", name, id)
		}
		s.partner[name] = id
	}
	for c, id := range cfg.Conversion {
		if c.IsZero() || c == s.unit || id == uuid.Nil {
			return nil, bad("conversion account %s for currency %q", id, c)
		}
		s.conv[c] = id
	}
	if s.store == nil {
		s.store = NewMemoryStore()
	}
	if ps, ok := s.store.(PostingStore); ok && ps.PaysOn(ledger.Unwrap(s.l.Store())) {
		s.posting = ps
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.ns == uuid.Nil {
		s.ns = DefaultNamespace()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.shards = map[uuid.UUID][]uuid.UUID{}
	for _, id := range sys {
		s.shards[id] = s.shardsOf(id)
	}
	for _, id := range s.conv {
		s.shards[id] = s.shardsOf(id)
	}
	return s, nil
}

func (s *Service) shardsOf(id uuid.UUID) []uuid.UUID {
	out := []uuid.UUID{id}
	for k := 1; k < s.cfg.Shards; k++ {
		out = append(out, ledger.DeriveID(s.ns, "shard", id.String(), strconv.Itoa(k)))
	}
	return out
}

// Shards returns the accounts that account (Issuance, Redeemed, Expired or
// a Conversion account) is split into (Config.Shards), itself first.
func (s *Service) Shards(account uuid.UUID) []uuid.UUID {
	return append([]uuid.UUID(nil), s.shards[account]...)
}

// ShardOf returns the shard, of n, that user's operations use.
func ShardOf(user uuid.UUID, n int) int {
	if n <= 1 {
		return 0
	}
	return int(binary.BigEndian.Uint32(user[12:]) % uint32(n))
}

// shard returns the shard of account that user's operations use.
func (s *Service) shard(account, user uuid.UUID) uuid.UUID {
	sh := s.shards[account]
	return sh[ShardOf(user, len(sh))]
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.store }

// AccountOf returns the ID of user's points account on the ledger,
// derived from the user.
func (s *Service) AccountOf(user uuid.UUID) uuid.UUID {
	return ledger.DeriveID(s.ns, "account", user.String())
}

// OpenAccount creates user's points account (unit XPS, never below zero),
// or returns it when it exists. Earning opens it too.
//
// Errors: the ledger's (ledger.ErrIdempotencyConflict if the derived ID
// holds another account).
func (s *Service) OpenAccount(ctx context.Context, user uuid.UUID) (ledger.Account, error) {
	return s.l.CreateAccount(ctx, ledger.Account{ID: s.AccountOf(user), Currency: s.unit, Code: s.cfg.AccountCode,
		Flags: ledger.DebitsMustNotExceedCredits})
}

// OpenSystemAccounts creates the bank's Issuance, Redeemed and Expired
// points accounts and their shards (unit XPS, no balance flags), or finds
// them created.
//
// Errors: the ledger's.
func (s *Service) OpenSystemAccounts(ctx context.Context) error {
	for _, base := range []uuid.UUID{s.cfg.Issuance, s.cfg.Redeemed, s.cfg.Expired} {
		for _, id := range s.shards[base] {
			if _, err := s.l.CreateAccount(ctx, ledger.Account{ID: id, Currency: s.unit}); err != nil {
				return err
			}
		}
	}
	return nil
}

// OpID returns the ID of the operation a request records: the UUIDv5 of
// its kind, user, name (rule, partner or currency) and key.
func (s *Service) OpID(kind Kind, user uuid.UUID, name, key string) uuid.UUID {
	return ledger.DeriveID(s.ns, "op", kind.String(), user.String(), name, key)
}

// ExpireID returns the ID of the seq-th expiry of user's lot of month m.
func (s *Service) ExpireID(user uuid.UUID, m Month, seq int) uuid.UUID {
	return ledger.DeriveID(s.ns, "op", KindExpire.String(), user.String(), m.String(), strconv.Itoa(seq))
}

// TransferIDs returns the IDs of an operation's ledger transfers: the
// points transfer, and a redemption's money transfer (else uuid.Nil).
func (s *Service) TransferIDs(op *Op) (points, money uuid.UUID) {
	points = ledger.DeriveID(s.ns, "transfer", op.ID.String(), "points")
	if op.Kind == KindRedeem {
		money = ledger.DeriveID(s.ns, "transfer", op.ID.String(), "money")
	}
	return points, money
}

// transfers builds an operation's ledger transfers from the operation
// alone, so that a retry or Reconcile builds the same ones.
func (s *Service) transfers(op *Op) []ledger.Transfer {
	pid, mid := s.TransferIDs(op)
	pts := ledger.Transfer{ID: pid, DebitAccountID: op.Account, CreditAccountID: op.Counter,
		Amount: ledger.NewMoney(op.Points, s.unit), Reference: "points/" + op.Kind.String() + "/" + op.Key}
	if op.Kind.Credit() {
		pts.DebitAccountID, pts.CreditAccountID = op.Counter, op.Account
	}
	if op.Kind != KindRedeem {
		return []ledger.Transfer{pts}
	}
	return []ledger.Transfer{pts, {ID: mid, DebitAccountID: op.Conversion, CreditAccountID: op.Wallet,
		Amount: op.Money(), Reference: pts.Reference}}
}

// permanent reports whether a ledger refusal can never turn into success
// for the same transfer: a closed account stays closed, an account's
// currency never changes, a transfer ID taken by other content stays so.
func permanent(err error) bool {
	return errors.Is(err, ledger.ErrAccountClosed) || errors.Is(err, ledger.ErrCurrencyMismatch) ||
		errors.Is(err, ledger.ErrIdempotencyConflict)
}

// post applies a recorded operation's ledger transfers (again: their IDs
// make that safe) and records the outcome: posted; failed if the ledger
// refused for good (the points are undone, ErrFailed); else still pending
// (ErrPending), for a retry or Reconcile to finish.
func (s *Service) post(ctx context.Context, op Op) (Op, error) {
	switch op.Status {
	case StatusPosted:
		return op, nil
	case StatusFailed:
		return op, fmt.Errorf("%w: op %s", ErrFailed, op.ID)
	}
	ts := s.transfers(&op)
	err := s.apply(ctx, ts)
	if err != nil && op.Kind.Credit() && errors.Is(err, ledger.ErrAccountNotFound) {
		// The user's first points: open their account and try again.
		if _, aerr := s.OpenAccount(ctx, op.User); aerr == nil {
			err = s.apply(ctx, ts)
		}
	}
	if err != nil {
		if ledger.Refused(err) && permanent(err) {
			failed, ferr := s.store.Fail(ctx, op.User, op.ID)
			if ferr != nil {
				return op, fmt.Errorf("%w: op %s: %w (and recording its failure: %w)", ErrPending, op.ID, err, ferr)
			}
			return failed, fmt.Errorf("%w: op %s: %w", ErrFailed, op.ID, err)
		}
		return op, fmt.Errorf("%w: op %s: %w", ErrPending, op.ID, err)
	}
	posted, err := s.store.Post(ctx, op.User, op.ID)
	if err != nil {
		return op, fmt.Errorf("%w: op %s: transfers applied, recording it: %w", ErrPending, op.ID, err)
	}
	return posted, nil
}

func (s *Service) apply(ctx context.Context, ts []ledger.Transfer) error {
	if len(ts) == 1 {
		_, err := s.l.Transfer(ctx, ts[0])
		return err
	}
	_, err := s.l.Linked(ctx, ts)
	return err
}

// checkKey checks a request's user and idempotency key. A key's error
// comes first, so that its code (errcode.Of) is the key's.
func checkKey(user uuid.UUID, key string) error {
	if user == uuid.Nil {
		return fmt.Errorf("%w: no user", ErrInvalidRequest)
	}
	if err := ledger.CheckKey(key); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalidRequest)
	}
	return nil
}

// orOriginal answers a request that a check refused with err: with the
// operation the same request recorded before, if there is one (a retry
// answers as its original did, even when a check the original passed
// fails now: a rate since changed, a wallet since closed), else with err.
func (s *Service) orOriginal(ctx context.Context, req *Op, err error) (Op, error) {
	prev, ok, perr := s.existing(ctx, req)
	switch {
	case perr != nil:
		return Op{}, perr
	case ok:
		return s.post(ctx, prev)
	}
	return Op{}, err
}

// checkWallet checks that wallet can be paid in c: it exists, is open and
// holds c.
//
// Errors: ErrInvalidRequest, wrapping the ledger's ErrAccountNotFound or
// ErrCurrencyMismatch when it is that.
func (s *Service) checkWallet(ctx context.Context, wallet uuid.UUID, c ledger.Currency) error {
	w, err := s.l.Account(ctx, wallet)
	switch {
	case err != nil:
		return fmt.Errorf("%w: wallet: %w", ErrInvalidRequest, err)
	case w.Currency != c:
		return fmt.Errorf("%w: wallet %s is in %s: %w", ErrInvalidRequest, w.ID, w.Currency, ledger.ErrCurrencyMismatch)
	case w.Status != ledger.AccountOpen:
		return fmt.Errorf("%w: wallet %s is %v", ErrInvalidRequest, w.ID, w.Status)
	}
	return nil
}

// existing returns the operation a request recorded before, checked
// against the request, or ok false when there is none.
func (s *Service) existing(ctx context.Context, req *Op) (Op, bool, error) {
	op, err := s.store.Op(ctx, req.ID)
	switch {
	case errors.Is(err, ErrOpNotFound):
		return Op{}, false, nil
	case err != nil:
		return Op{}, false, err
	}
	if err := SameRequest(req, &op); err != nil {
		return Op{}, false, err
	}
	return op, true, nil
}

// record records a new operation (or finds the one a concurrent identical
// request recorded) and posts it. On a PostingStore both are one step, in
// which a ledger refusal records nothing.
func (s *Service) record(ctx context.Context, op Op) (Op, error) {
	if s.posting == nil {
		stored, _, err := s.store.Record(ctx, op, op.CreatedAt)
		if err != nil {
			return Op{}, err
		}
		return s.post(ctx, stored)
	}
	ts := s.transfers(&op)
	stored, existing, err := s.posting.RecordPosted(ctx, op, op.CreatedAt, s.l.Now(), ts)
	if err != nil && op.Kind.Credit() && ledger.Refused(err) && errors.Is(err, ledger.ErrAccountNotFound) {
		// The user's first points: open their account and try again.
		if _, aerr := s.OpenAccount(ctx, op.User); aerr == nil {
			stored, existing, err = s.posting.RecordPosted(ctx, op, op.CreatedAt, s.l.Now(), ts)
		}
	}
	switch {
	case err != nil:
		return Op{}, err
	case existing:
		return s.post(ctx, stored)
	}
	return stored, nil
}

// EarnRequest earns points under a rule.
type EarnRequest struct {
	User uuid.UUID `json:"user"`
	Rule string    `json:"rule"` // a Config.Rules name
	// Key makes the earn once only: a payment's ID (per-amount rules), a
	// campaign's ID, "signup". Checked by ledger.CheckKey.
	Key string `json:"key"`
	// Amount is the payment a PerAmount rule earns on; zero for Fixed.
	Amount ledger.Money `json:"amount,omitzero"`
}

// Earn credits the points rule earns to the lot of this month, from the
// bank's Issuance account to the user's points account (opened if need
// be). The same request again (same user, rule and key) returns the
// original operation and earns nothing more.
//
// Errors: ErrInvalidRequest, ErrUnknownRule, ErrNothingEarned,
// ErrOverflow, ErrOpConflict (the key was used with another amount);
// ErrPending or ErrFailed with the operation (see post), or on a
// PostingStore the ledger's refusal, with nothing recorded; the store's.
func (s *Service) Earn(ctx context.Context, req EarnRequest) (Op, error) {
	ctx, sp := s.tel.earn.Start(ctx)
	op, err := s.earn(ctx, req)
	sp.ID(op.ID)
	sp.End(ctx, err, UnitCode)
	return op, err
}

func (s *Service) earn(ctx context.Context, req EarnRequest) (Op, error) {
	if err := checkKey(req.User, req.Key); err != nil {
		return Op{}, err
	}
	rule, ok := s.rules[req.Rule]
	if !ok {
		return Op{}, fmt.Errorf("%w: %q", ErrUnknownRule, req.Rule)
	}
	op := Op{ID: s.OpID(KindEarn, req.User, req.Rule, req.Key), User: req.User, Kind: KindEarn, Key: req.Key,
		Name: req.Rule, Requested: req.Amount.Units(), Currency: req.Amount.Currency(),
		Account: s.AccountOf(req.User), Counter: s.shard(s.cfg.Issuance, req.User), Status: StatusPending}
	p, err := rule.PointsFor(req.Amount)
	if err != nil {
		return s.orOriginal(ctx, &op, err)
	}
	return s.record(ctx, s.credit(op, p))
}

// credit completes a credit operation at the service's clock: its points
// go to the lot of this month.
func (s *Service) credit(op Op, points int64) Op {
	now := ledger.Timestamp(s.now())
	m := MonthOf(now, s.loc)
	op.Points, op.Month, op.LotExpiresAt, op.CreatedAt = points, m, ExpiryOf(m, s.months, s.loc), now
	return op
}

// RedeemRequest redeems points into money.
type RedeemRequest struct {
	User   uuid.UUID `json:"user"`
	Key    string    `json:"key"`    // the client's idempotency key (ledger.CheckKey)
	Points int64     `json:"points"` // points offered; Rate.Convert decides how many are used
	// Wallet is the user's money account in Currency, which must have a
	// Config.Conversion account.
	Wallet   uuid.UUID       `json:"wallet"`
	Currency ledger.Currency `json:"currency"`
}

// Redeem converts points into money at the latest rate named
// RedeemRateName(Currency): the payout is Rate.Convert's out (rounded
// down), and only the points it uses are spent, oldest lots first. The
// points go to the bank's Redeemed account and the payout from the
// Conversion account to the wallet, linked (both or neither). The
// operation records the rate version. The same request again returns the
// original operation (with the rate it used) and pays nothing more.
//
// Errors: ErrInvalidRequest (also, but on a PostingStore, a wallet that is
// missing, closed, frozen or in another currency), ErrNoRate, ErrTooFewPoints, ErrOverflow,
// ErrInsufficientPoints (fewer unexpired points than Rate.Convert uses:
// also the answer to a redemption that an expiry beat to its lot),
// ErrOpConflict; ErrPending or ErrFailed with the operation, or on a
// PostingStore the ledger's refusal, with nothing recorded; the store's.
func (s *Service) Redeem(ctx context.Context, req RedeemRequest) (Op, error) {
	ctx, sp := s.tel.redeem.Start(ctx)
	op, err := s.redeem(ctx, req)
	sp.ID(op.ID)
	sp.End(ctx, err, req.Currency.Code())
	return op, err
}

func (s *Service) redeem(ctx context.Context, req RedeemRequest) (Op, error) {
	if err := checkKey(req.User, req.Key); err != nil {
		return Op{}, err
	}
	if req.Points <= 0 || req.Wallet == uuid.Nil {
		return Op{}, fmt.Errorf("%w: redeem %d points to wallet %s", ErrInvalidRequest, req.Points, req.Wallet)
	}
	conv, ok := s.conv[req.Currency]
	if !ok {
		return Op{}, fmt.Errorf("%w: no conversion account for %q", ErrInvalidRequest, req.Currency)
	}
	conv = s.shard(conv, req.User)
	op := Op{ID: s.OpID(KindRedeem, req.User, req.Currency.Code(), req.Key), User: req.User, Kind: KindRedeem,
		Key: req.Key, Name: req.Currency.Code(), Requested: req.Points, Account: s.AccountOf(req.User),
		Counter: s.shard(s.cfg.Redeemed, req.User), Wallet: req.Wallet, Conversion: conv, Currency: req.Currency, Status: StatusPending}
	rate, err := s.store.Rate(ctx, RedeemRateName(req.Currency), 0)
	if err != nil {
		return s.orOriginal(ctx, &op, err)
	}
	used, out, err := rate.Convert(req.Points)
	if err != nil {
		return s.orOriginal(ctx, &op, err)
	}
	if s.posting == nil {
		// Recorded before the ledger sees it: a wallet that can never
		// be paid must not take points. (A PostingStore's step refuses
		// it on the ledger, recording nothing.)
		if err := s.checkWallet(ctx, req.Wallet, req.Currency); err != nil {
			return s.orOriginal(ctx, &op, err)
		}
	}
	op.Points, op.Other, op.Rate, op.CreatedAt = used, out, rate, ledger.Timestamp(s.now())
	return s.record(ctx, op)
}

// ExchangeRequest exchanges points with a partner's scheme.
type ExchangeRequest struct {
	User    uuid.UUID `json:"user"`
	Partner string    `json:"partner"` // a Config.Partners name
	Key     string    `json:"key"`     // the client's (or partner's) idempotency key (ledger.CheckKey)
	// Points offered: the bank's points for ExchangeOut, the partner's
	// for ExchangeIn.
	Points int64 `json:"points"`
}

// ExchangeOut gives the bank's points for the partner's at the latest
// rate ExchangeOutRateName(Partner): the partner credits the user
// Rate.Convert's out (Op.Other) of its points, and the points it used are
// spent, oldest lots first, to the partner's account. Idempotent as
// Redeem.
//
// Errors: ErrInvalidRequest, ErrUnknownPartner, ErrNoRate,
// ErrTooFewPoints, ErrOverflow, ErrInsufficientPoints, ErrOpConflict;
// ErrPending or ErrFailed with the operation, or on a PostingStore the
// ledger's refusal, with nothing recorded; the store's.
func (s *Service) ExchangeOut(ctx context.Context, req ExchangeRequest) (Op, error) {
	ctx, sp := s.tel.exchangeOut.Start(ctx)
	op, err := s.exchange(ctx, KindExchangeOut, req)
	sp.ID(op.ID)
	sp.End(ctx, err, UnitCode)
	return op, err
}

// ExchangeIn credits the bank's points for the partner's at the latest
// rate ExchangeInRateName(Partner): Rate.Convert's out of the bank's
// points, from the partner's account to the lot of this month; Op.Other
// is the partner points it used (what the partner debits). Idempotent as
// Redeem.
//
// Errors: as ExchangeOut, but ErrInsufficientPoints.
func (s *Service) ExchangeIn(ctx context.Context, req ExchangeRequest) (Op, error) {
	ctx, sp := s.tel.exchangeIn.Start(ctx)
	op, err := s.exchange(ctx, KindExchangeIn, req)
	sp.ID(op.ID)
	sp.End(ctx, err, UnitCode)
	return op, err
}

func (s *Service) exchange(ctx context.Context, kind Kind, req ExchangeRequest) (Op, error) {
	if err := checkKey(req.User, req.Key); err != nil {
		return Op{}, err
	}
	if req.Points <= 0 {
		return Op{}, fmt.Errorf("%w: exchange %d points", ErrInvalidRequest, req.Points)
	}
	acct, ok := s.partner[req.Partner]
	if !ok {
		return Op{}, fmt.Errorf("%w: %q", ErrUnknownPartner, req.Partner)
	}
	op := Op{ID: s.OpID(kind, req.User, req.Partner, req.Key), User: req.User, Kind: kind, Key: req.Key,
		Name: req.Partner, Requested: req.Points, Account: s.AccountOf(req.User), Counter: acct, Status: StatusPending}
	name := ExchangeOutRateName(req.Partner)
	if kind == KindExchangeIn {
		name = ExchangeInRateName(req.Partner)
	}
	rate, err := s.store.Rate(ctx, name, 0)
	if err != nil {
		return s.orOriginal(ctx, &op, err)
	}
	used, out, err := rate.Convert(req.Points)
	if err != nil {
		return s.orOriginal(ctx, &op, err)
	}
	op.Rate = rate
	if kind == KindExchangeIn {
		op.Other = used
		return s.record(ctx, s.credit(op, out))
	}
	op.Points, op.Other, op.CreatedAt = used, out, ledger.Timestamp(s.now())
	return s.record(ctx, op)
}

// SetRate sets version of rate name to from:to (see Rate): version must
// be the latest plus one; setting a version again with the same values
// returns it, so a retry is safe, and of concurrent setters of one
// version one wins and the others get ErrRateConflict.
//
// Errors: ErrInvalidRate, ErrRateConflict; the store's.
func (s *Service) SetRate(ctx context.Context, name string, version int, from, to int64) (Rate, error) {
	r, _, err := s.store.SetRate(ctx, Rate{Name: name, Version: version, From: from, To: to, SetAt: ledger.Timestamp(s.now())})
	return r, err
}

// Rate returns version of rate name, its latest when version is 0.
//
// Errors: ErrNoRate; the store's.
func (s *Service) Rate(ctx context.Context, name string, version int) (Rate, error) {
	return s.store.Rate(ctx, name, version)
}

// Op returns a recorded operation.
//
// Errors: ErrOpNotFound; the store's.
func (s *Service) Op(ctx context.Context, id uuid.UUID) (Op, error) { return s.store.Op(ctx, id) }

// SweepReport says what a Sweep did.
type SweepReport struct {
	Lots    int   `json:"lots"`    // lots this sweep expired
	Points  int64 `json:"points"`  // points they held
	Pending int   `json:"pending"` // of them, expiries whose transfer is not yet confirmed (Reconcile finishes them)
}

// sweepPage is how many due lots a sweep reads at a time.
const sweepPage = 100

// Sweep expires every lot due at the service's clock: it pages through
// the due lots by cursor and expires each in one store step (its
// remainder to a new expiry operation), then moves the points to the
// Expired account. Several sweepers may run at once, on any instance:
// each lot's remainder is expired by one of them, once. It goes on past
// the lots that fail (they stay due) and returns their errors, the first
// 10 and a count. Maintain runs it.
//
// Errors: the store's; ErrFailed (an expiry the ledger refused for good).
func (s *Service) Sweep(ctx context.Context) (SweepReport, error) {
	return s.sweep(ctx, s.now())
}

// sweep is Sweep as of now.
func (s *Service) sweep(ctx context.Context, now time.Time) (rep SweepReport, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "expire_lots")
	defer func() {
		sw.End(ctx, err, telemetry.Item{Result: "expired", N: rep.Lots}, telemetry.Item{Result: "pending", N: rep.Pending})
	}()
	return s.sweepAt(ctx, now)
}

func (s *Service) sweepAt(ctx context.Context, now time.Time) (SweepReport, error) {
	now = ledger.Timestamp(now)
	var rep SweepReport
	var errs errset.Set
	var cur LotCursor
	for {
		lots, err := s.store.Due(ctx, now, cur, sweepPage)
		if err != nil {
			errs.Add("points: sweep", err)
			return rep, errs.Err()
		}
		for _, l := range lots {
			if err := ctx.Err(); err != nil {
				errs.Add("points: sweep", err)
				return rep, errs.Err()
			}
			req := ExpireRequest{Account: s.AccountOf(l.User), Counter: s.shard(s.cfg.Expired, l.User),
				ID: func(m Month, seq int) uuid.UUID { return s.ExpireID(l.User, m, seq) }}
			op, ok, err := s.store.Expire(ctx, l.User, l.Month, now, req)
			if err != nil {
				errs.Add(fmt.Sprintf("points: expire lot %s of user %s", l.Month, l.User), err)
				continue
			}
			if !ok {
				continue // another sweeper (or a redemption) took it
			}
			rep.Lots++
			rep.Points += op.Points
			if _, err := s.post(ctx, op); err != nil {
				if !errors.Is(err, ErrPending) {
					errs.Add(fmt.Sprintf("points: expire lot %s of user %s", l.Month, l.User), err)
					continue
				}
				rep.Pending++
			}
		}
		if len(lots) < sweepPage {
			return rep, errs.Err()
		}
		last := lots[len(lots)-1]
		cur = LotCursor{ExpiresAt: last.ExpiresAt, User: last.User, Month: last.Month}
	}
}

// ReconcileReport says what Reconcile did.
type ReconcileReport struct {
	Posted  int `json:"posted"`  // pending operations whose transfers are now confirmed
	Failed  int `json:"failed"`  // pending operations the ledger refused for good (points undone)
	Pending int `json:"pending"` // operations still pending (the ledger refused for now)
}

// Reconcile finishes the operations a crash, a store failure or a
// passing ledger refusal left pending: it applies each one's transfers
// again (their derived IDs pay once) and records the outcome, whatever
// their age (time plays no part: hence no now). It goes on past the
// operations that fail and returns their errors, the first 10 and a
// count. Maintain runs it; it is safe beside live traffic and other
// instances.
//
// Errors: the store's.
func (s *Service) Reconcile(ctx context.Context) (rep ReconcileReport, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "reconcile")
	defer func() {
		sw.End(ctx, err, telemetry.Item{Result: "posted", N: rep.Posted}, telemetry.Item{Result: "failed", N: rep.Failed},
			telemetry.Item{Result: "pending", N: rep.Pending})
	}()
	return s.reconcile(ctx)
}

func (s *Service) reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	var errs errset.Set
	var cur OpCursor
	for {
		ops, err := s.store.Pending(ctx, cur, sweepPage)
		if err != nil {
			errs.Add("points: reconcile", err)
			return rep, errs.Err()
		}
		for _, op := range ops {
			_, err := s.post(ctx, op)
			switch {
			case err == nil:
				rep.Posted++
			case errors.Is(err, ErrFailed):
				rep.Failed++
			case errors.Is(err, ErrPending):
				rep.Pending++
			case ctx.Err() != nil:
				errs.Add("points: reconcile", err)
				return rep, errs.Err()
			default:
				errs.Add(fmt.Sprintf("points: reconcile op %s", op.ID), err)
			}
		}
		if len(ops) < sweepPage {
			return rep, errs.Err()
		}
		cur = OpCursor{CreatedAt: ops[len(ops)-1].CreatedAt, ID: ops[len(ops)-1].ID}
	}
}

// Statement is a user's points: what the ledger holds, what can be spent
// now, the totals earned, spent and expired, and the lots left.
type Statement struct {
	User      uuid.UUID `json:"user"`
	Account   uuid.UUID `json:"account"`   // the user's points account
	Balance   int64     `json:"balance"`   // the account's posted balance on the ledger
	Available int64     `json:"available"` // spendable now: confirmed points of lots not expired
	Earned    int64     `json:"earned"`    // confirmed credits (earned and exchanged in)
	Spent     int64     `json:"spent"`     // redeemed and exchanged out
	Expired   int64     `json:"expired"`
	Lots      []Lot     `json:"lots"` // lots with points (remaining or pending), by month
}

// Statement returns user's statement at the service's clock.
//
// Errors: the store's and the ledger's (but a user without an account has
// a zero Balance).
func (s *Service) Statement(ctx context.Context, user uuid.UUID) (Statement, error) {
	h, err := s.store.Holder(ctx, user)
	if err != nil {
		return Statement{}, err
	}
	st := Statement{User: user, Account: s.AccountOf(user), Available: h.Available(ledger.Timestamp(s.now())),
		Earned: h.Earned, Spent: h.Spent, Expired: h.Expired, Lots: h.Lots}
	a, err := s.l.Account(ctx, st.Account)
	switch {
	case errors.Is(err, ledger.ErrAccountNotFound):
	case err != nil:
		return Statement{}, err
	default:
		st.Balance = a.Balance.Net()
	}
	return st, nil
}
