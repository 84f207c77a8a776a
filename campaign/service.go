package campaign

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/socialpay/socialpay/ledger"
)

// Eligibility is the bank's say on who may take part in a campaign. It is
// called on every try that reaches the store; it must be safe for
// concurrent use.
type Eligibility interface {
	Eligible(ctx context.Context, campaign, user uuid.UUID) (bool, error)
}

// EligibleFunc adapts a function to Eligibility.
type EligibleFunc func(ctx context.Context, campaign, user uuid.UUID) (bool, error)

// Eligible calls f.
func (f EligibleFunc) Eligible(ctx context.Context, campaign, user uuid.UUID) (bool, error) {
	return f(ctx, campaign, user)
}

// Codes are the ledger codes the Service stamps on what it creates; their
// meaning is the bank's.
type Codes struct {
	Escrow  uint16 // Account.Code of each campaign's escrow account
	Fund    uint16 // marketing → escrow
	Prize   uint16 // escrow → winner
	Forfeit uint16 // escrow → marketing: a prize the winner's wallet cannot take
	Sweep   uint16 // escrow → marketing: the unclaimed budget
}

// Config configures a Service.
type Config struct {
	// Ledger is where the money moves. Required.
	Ledger *ledger.Ledger
	// Store keeps campaigns and tries. Every instance must share it
	// (postgres.CampaignStore): with a store per instance each keeps its
	// own tries, caps and sold slots beside the one escrow, and a retried
	// try reaching another instance is not found there. Nil is refused
	// unless SingleProcess is set, when it means NewMemoryStore(Ledger).
	Store Store
	// Eligibility says who may try. Required.
	Eligibility Eligibility
	// Limiter rate-limits tries per user and per device; it must be
	// shared by every instance (package postgres's CampaignLimiter).
	// Required, unless SingleProcess is set.
	Limiter Limiter
	// SingleProcess declares that this Service is the only one on its
	// store: with no Store or Limiter it then uses a MemoryStore or
	// MemoryLimiter of its own. Set it only when that is true: with
	// several instances a per-process store keeps one instance's
	// tries, and a per-process limiter lets through the instances' sum.
	SingleProcess bool
	// UserRate and DeviceRate size the buckets. Zero means 5 tries at once
	// and then one a second, per user and per device.
	UserRate, DeviceRate Rate
	// Rules are the limits per currency. Nil means CNY with DefaultRules.
	Rules map[ledger.Currency]Rules
	// Rand is where seeds come from; nil means crypto/rand. Each campaign
	// reads 32 bytes; reads are serialized.
	Rand io.Reader
	// Now is the clock of tries and sweeps; nil means time.Now.
	Now func() time.Time
	// NewID makes a campaign ID for a create request without one (such a
	// create is not idempotent); nil means uuid.New.
	NewID func() uuid.UUID
	// Namespace is the UUIDv5 namespace of every derived ID. It must never
	// change for a given ledger. Zero means DefaultNamespace().
	Namespace uuid.UUID
	// Codes are stamped on escrow accounts and transfers.
	Codes Codes
	// ReconcileAfter is how old a funding campaign or an unpaid prize must
	// be before Reconcile finishes it. Default 1 minute; negative means 0.
	ReconcileAfter time.Duration

	// Logger, TracerProvider and MeterProvider observe the Service (see
	// docs/observability.md): tries as spans, counted by outcome and
	// currency with their durations; Sweep and Reconcile as sweeps,
	// logged with what they did. Each nil means none, at no cost on the
	// hot path.
	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// DefaultNamespace returns the namespace of derived IDs when
// Config.Namespace is zero: the UUIDv5 of
// "https://github.com/socialpay/socialpay/campaign" in the URL namespace.
func DefaultNamespace() uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/socialpay/socialpay/campaign"))
}

// Service creates campaigns, takes tries and sweeps, settling on a ledger.
// It is safe for concurrent use, and several Services (processes) may
// share one store, ledger and limiter.
type Service struct {
	l              *ledger.Ledger
	store          Store
	pays           bool // store pays winning tries in their own step
	limits         bool // store takes the limiter's tokens in the try's step
	elig           Eligibility
	lim            Limiter
	userRate       Rate
	deviceRate     Rate
	rules          map[ledger.Currency]Rules
	randMu         sync.Mutex
	rand           io.Reader
	now            func() time.Time
	newID          func() uuid.UUID
	ns             uuid.UUID
	codes          Codes
	reconcileAfter time.Duration
	cache          cache
	tel            *serviceTelemetry
}

// New returns a Service.
//
// Errors: ErrInvalidConfig (no Ledger or Eligibility; no Store or
// Limiter without SingleProcess; a Rate or Rules that do not Validate).
func New(cfg Config) (*Service, error) {
	if cfg.Ledger == nil || cfg.Eligibility == nil {
		return nil, fmt.Errorf("%w: Ledger and Eligibility are required", ErrInvalidConfig)
	}
	if cfg.Store == nil && !cfg.SingleProcess {
		return nil, fmt.Errorf("%w: no Store: instances must share one (postgres.CampaignStore), or set Config.SingleProcess for the only instance", ErrInvalidConfig)
	}
	if cfg.Limiter == nil && !cfg.SingleProcess {
		return nil, fmt.Errorf("%w: a Limiter shared by every instance is required (or SingleProcess, for one process)", ErrInvalidConfig)
	}
	s := &Service{
		l: cfg.Ledger, store: cfg.Store, elig: cfg.Eligibility, lim: cfg.Limiter,
		userRate: cfg.UserRate, deviceRate: cfg.DeviceRate, rand: cfg.Rand, now: cfg.Now, newID: cfg.NewID,
		ns: cfg.Namespace, codes: cfg.Codes, reconcileAfter: max(0, cfg.ReconcileAfter),
		tel: newServiceTelemetry(&cfg),
	}
	if s.store == nil {
		s.store = NewMemoryStore(s.l)
	}
	s.pays = s.store.PaysOn(s.l.Store())
	if s.lim == nil {
		s.lim = NewMemoryLimiter()
	}
	s.limits = s.store.LimitsOn(s.lim)
	def := Rate{Burst: 5, Every: time.Second}
	if s.userRate == (Rate{}) {
		s.userRate = def
	}
	if s.deviceRate == (Rate{}) {
		s.deviceRate = def
	}
	for _, r := range []Rate{s.userRate, s.deviceRate} {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	if s.rand == nil {
		s.rand = cryptorand.Reader
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = uuid.New
	}
	if s.ns == uuid.Nil {
		s.ns = DefaultNamespace()
	}
	if cfg.ReconcileAfter == 0 {
		s.reconcileAfter = time.Minute
	}
	s.rules = make(map[ledger.Currency]Rules, len(cfg.Rules))
	for c, r := range cfg.Rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("%w: rules for %v: %w", ErrInvalidConfig, c, err)
		}
		s.rules[c] = r
	}
	if cfg.Rules == nil {
		s.rules[ledger.MustCurrency("CNY")] = DefaultRules()
	}
	return s, nil
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.store }

// EscrowAccountID returns the ID of the campaign's own escrow account.
func (s *Service) EscrowAccountID(id uuid.UUID) uuid.UUID {
	return ledger.DeriveID(s.ns, "campaign", id.String(), "escrow")
}

// FundTransferID returns the ID of the transfer marketing → escrow.
func (s *Service) FundTransferID(id uuid.UUID) uuid.UUID {
	return ledger.DeriveID(s.ns, "campaign", id.String(), "fund")
}

// PrizeTransferID returns the ID of the payment of user's try seq: the
// try's key (campaign, user, seq) makes it, so the prize is paid once
// however often the try is retried, from whichever instance.
func (s *Service) PrizeTransferID(id, user uuid.UUID, seq int) uuid.UUID {
	return s.prizeTransferID(id.String(), user, seq)
}

func (s *Service) prizeTransferID(cid string, user uuid.UUID, seq int) uuid.UUID {
	var b [20]byte
	return ledger.DeriveID(s.ns, "campaign", cid, "try", user.String(), string(strconv.AppendInt(b[:0], int64(seq), 10)))
}

// ForfeitTransferID returns the ID of the transfer escrow → marketing of
// the prize of user's try seq when the winner's wallet cannot take it.
func (s *Service) ForfeitTransferID(id, user uuid.UUID, seq int) uuid.UUID {
	return ledger.DeriveID(s.ns, "campaign", id.String(), "try", user.String(), strconv.Itoa(seq), "forfeit")
}

// SweepTransferID returns the ID of the transfer escrow → marketing of
// the unclaimed budget.
func (s *Service) SweepTransferID(id uuid.UUID) uuid.UUID {
	return ledger.DeriveID(s.ns, "campaign", id.String(), "sweep")
}

// PrizeTier is Count slots of Prize each at a service's edge. A tier of
// no prize is a zero amount in the campaign's currency.
type PrizeTier struct {
	Prize ledger.Money `json:"prize"`
	Count int          `json:"count"`
}

// CreateRequest asks for a campaign.
type CreateRequest struct {
	// ID is the client's campaign ID, the create's idempotency key. Zero
	// means a new ID from Config.NewID (no idempotency).
	ID        uuid.UUID   `json:"id,omitzero"`
	Name      string      `json:"name"`      // at most MaxNameLen bytes
	Marketing uuid.UUID   `json:"marketing"` // the account that funds the budget
	Prizes    []PrizeTier `json:"prizes"`
	OpensAt   time.Time   `json:"opens_at"`
	EndsAt    time.Time   `json:"ends_at"`
	Caps      Caps        `json:"caps"`
}

// Create creates a campaign: it checks the request, reads a seed and
// computes the draw, records the campaign (funding), moves the budget
// from the marketing account into the campaign's own escrow account
// (ledger ID FundTransferID) and opens it; tries are taken from OpensAt.
// The campaign returned carries its Commitment, to publish; its Seed is
// zero (see Reveal).
//
// Creating again with the same ID returns the campaign as it stands
// (finishing its funding if a crash interrupted it), moving nothing
// twice; the same ID with other content is ErrCampaignConflict.
//
// Errors, in this order: ErrInvalidRequest, ErrUnsupportedCurrency,
// ErrInvalidSchedule, ErrOverflow, ErrInvalidCaps, ErrInvalidWindow; then
// the ledger's refusal of the funding (ledger.ErrInsufficientFunds…)
// together with ErrCancelled: the campaign is recorded cancelled and its
// ID cannot be used again. An error from the ledger or the store failing
// leaves the campaign funding; creating again or Reconcile finishes it.
func (s *Service) Create(ctx context.Context, req CreateRequest) (Campaign, error) {
	if req.ID == uuid.Nil {
		req.ID = s.newID()
	}
	c, err := s.newCampaign(req)
	if err != nil {
		return Campaign{}, fmt.Errorf("create campaign %s: %w", req.ID, err)
	}
	stored, err := s.store.Create(ctx, c)
	switch {
	case errors.Is(err, ErrCampaignExists):
		if err := sameCampaign(&c, &stored); err != nil {
			return Campaign{}, fmt.Errorf("create campaign %s: %w", req.ID, err)
		}
		err = nil
	case err != nil:
		return Campaign{}, fmt.Errorf("create campaign %s: %w", req.ID, err)
	}
	switch stored.Status {
	case StatusFunding:
		stored, err = s.fund(ctx, stored)
	case StatusCancelled:
		err = fmt.Errorf("create campaign %s: %w", req.ID, ErrCancelled)
	}
	stored.Seed = Seed{}
	return stored, err
}

// newCampaign checks a create request and builds the campaign.
func (s *Service) newCampaign(req CreateRequest) (Campaign, error) {
	if req.Marketing == uuid.Nil || len(req.Name) > MaxNameLen || !ledger.StorableText(req.Name) {
		return Campaign{}, fmt.Errorf("%w: a marketing account and a name of at most %d bytes of text", ErrInvalidRequest, MaxNameLen)
	}
	if len(req.Prizes) == 0 {
		return Campaign{}, fmt.Errorf("%w: no prizes", ErrInvalidSchedule)
	}
	cur := req.Prizes[0].Prize.Currency()
	r, ok := s.rules[cur]
	if !ok {
		return Campaign{}, fmt.Errorf("%w: %q", ErrUnsupportedCurrency, cur.Code())
	}
	if len(req.Prizes) > r.MaxTiers {
		return Campaign{}, fmt.Errorf("%w: %d tiers, maximum %d", ErrInvalidSchedule, len(req.Prizes), r.MaxTiers)
	}
	sched := make(Schedule, len(req.Prizes))
	for i, p := range req.Prizes {
		if p.Prize.Currency() != cur {
			return Campaign{}, fmt.Errorf("%w: tier %d in %v, tier 0 in %v", ErrUnsupportedCurrency, i, p.Prize.Currency(), cur)
		}
		sched[i] = Tier{Prize: p.Prize.Units(), Count: p.Count}
	}
	budget, slots, err := r.check(sched, cur)
	if err != nil {
		return Campaign{}, err
	}
	if err := req.Caps.Validate(); err != nil {
		return Campaign{}, err
	}
	opens, ends := ledger.Timestamp(req.OpensAt), ledger.Timestamp(req.EndsAt)
	if !ends.After(opens) || ends.Sub(opens) > r.MaxDuration {
		return Campaign{}, fmt.Errorf("%w: %v to %v, at most %v", ErrInvalidWindow, opens, ends, r.MaxDuration)
	}
	var seed Seed
	s.randMu.Lock()
	_, err = io.ReadFull(s.rand, seed[:])
	s.randMu.Unlock()
	if err != nil {
		return Campaign{}, fmt.Errorf("read seed: %w", err)
	}
	d, err := NewDraw(seed, sched)
	if err != nil {
		return Campaign{}, err
	}
	c := Campaign{
		ID: req.ID, Name: req.Name, Currency: cur, Schedule: sched, Budget: budget, Slots: slots,
		PrizeEnd: d.PrizeEnd(), Marketing: req.Marketing, Escrow: s.EscrowAccountID(req.ID),
		Commitment: Commit(seed), Seed: seed, OpensAt: opens, EndsAt: ends, Caps: req.Caps,
		CreatedAt: ledger.Timestamp(s.now()), State: State{Status: StatusFunding}, Draw: d,
	}
	return c, c.Validate()
}

// sameCampaign reports whether the campaign a request asks for (with its
// own seed) is the stored one.
func sameCampaign(req, stored *Campaign) error {
	field := ""
	switch {
	case req.Name != stored.Name:
		field = "name"
	case req.Marketing != stored.Marketing:
		field = "marketing account"
	case req.Currency != stored.Currency || len(req.Schedule) != len(stored.Schedule):
		field = "prizes"
	case !req.OpensAt.Equal(stored.OpensAt) || !req.EndsAt.Equal(stored.EndsAt):
		field = "window"
	case req.Caps != stored.Caps:
		field = "caps"
	}
	for i := range req.Schedule {
		if field == "" && req.Schedule[i] != stored.Schedule[i] {
			field = "prizes"
		}
	}
	if field != "" {
		return fmt.Errorf("%w: %s differs", ErrCampaignConflict, field)
	}
	return nil
}

func (s *Service) escrowAccount(c *Campaign) ledger.Account {
	return ledger.Account{ID: c.Escrow, Currency: c.Currency, Code: s.codes.Escrow, Flags: ledger.DebitsMustNotExceedCredits}
}

// fund moves a funding campaign's budget into escrow and opens it.
func (s *Service) fund(ctx context.Context, c Campaign) (Campaign, error) {
	if _, err := s.l.CreateAccount(ctx, s.escrowAccount(&c)); err != nil {
		return c, fmt.Errorf("create campaign %s: escrow account: %w", c.ID, err)
	}
	_, err := s.l.Transfer(ctx, ledger.Transfer{
		ID: s.FundTransferID(c.ID), DebitAccountID: c.Marketing, CreditAccountID: c.Escrow,
		Amount: ledger.NewMoney(c.Budget, c.Currency), Code: s.codes.Fund,
	})
	if err != nil && !ledger.Refused(err) {
		return c, fmt.Errorf("create campaign %s: fund escrow: %w", c.ID, err)
	}
	var st State
	if err != nil {
		st, rerr := s.resolveFunding(ctx, &c)
		if rerr != nil {
			return c, fmt.Errorf("create campaign %s: fund escrow: %w (then: %w)", c.ID, err, rerr)
		}
		c.State = st
		if st.Status == StatusCancelled {
			return c, fmt.Errorf("create campaign %s: %w: %w", c.ID, ErrCancelled, err)
		}
		return c, nil // a concurrent retry funded it after all
	}
	if st, err = s.store.Open(ctx, c.ID); err != nil {
		return c, fmt.Errorf("create campaign %s: open: %w", c.ID, err)
	}
	c.State = st
	return c, nil
}

// resolveFunding decides a funding campaign for good: open if its funding
// reached the escrow, else cancelled, with the funding transfer of a send
// still in flight (or retried later) fenced out (ledger.FenceFunding).
func (s *Service) resolveFunding(ctx context.Context, c *Campaign) (State, error) {
	funded, err := s.l.FenceFunding(ctx, s.FundTransferID(c.ID), s.escrowAccount(c))
	switch {
	case err != nil:
		return State{}, err
	case funded:
		return s.store.Open(ctx, c.ID)
	}
	st, err := s.store.Cancel(ctx, c.ID)
	if errors.Is(err, ErrAlreadyFunded) {
		cur, err := s.store.Campaign(ctx, c.ID)
		return cur.State, err
	}
	return st, err
}

// Campaign returns a campaign as the public sees it: its Seed is zero
// until the campaign is swept (see Reveal).
//
// Errors: ErrCampaignNotFound.
func (s *Service) Campaign(ctx context.Context, id uuid.UUID) (Campaign, error) {
	c, err := s.store.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	if c.Status != StatusSwept {
		c.Seed = Seed{}
	}
	return c, nil
}

// Reveal returns a swept campaign's seed, for Audit.
//
// Errors: ErrCampaignNotFound, ErrNotRevealed (not swept yet).
func (s *Service) Reveal(ctx context.Context, id uuid.UUID) (Seed, error) {
	c, err := s.store.Campaign(ctx, id)
	if err != nil {
		return Seed{}, err
	}
	if c.Status != StatusSwept {
		return Seed{}, fmt.Errorf("campaign %s: %w (%v)", id, ErrNotRevealed, c.Status)
	}
	return c.Seed, nil
}

// Log returns up to limit of the campaign's tries after slot after, in
// slot order: the public log Audit checks (after = -1 starts at slot 0).
//
// Errors: ErrCampaignNotFound.
func (s *Service) Log(ctx context.Context, id uuid.UUID, after, limit int) ([]Try, error) {
	return s.store.Tries(ctx, id, after, limit)
}
