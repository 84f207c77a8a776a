package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/socialpay/socialpay/internal/errset"
	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// Members is what the bank tells the Service about its chat groups.
// Implementations must be safe for concurrent use.
type Members interface {
	// IsMember reports whether user belongs to group.
	IsMember(ctx context.Context, group, user uuid.UUID) (bool, error)
}

// Notifier sends reminders: the bank's push, chat message or SMS.
// Implementations must be safe for concurrent use.
type Notifier interface {
	// Remind asks members to pay their share of r.
	Remind(ctx context.Context, r Request, members []uuid.UUID) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, r Request, members []uuid.UUID) error

// Remind implements Notifier.
func (f NotifierFunc) Remind(ctx context.Context, r Request, members []uuid.UUID) error {
	return f(ctx, r, members)
}

// Config configures a Service. Ledger, Members and Notifier are required,
// and so is Store unless SingleProcess is set.
type Config struct {
	// Ledger is where the money moves.
	Ledger *ledger.Ledger
	// Store keeps requests. Every instance must share it
	// (postgres.CollectStore): with a store per instance each knows only
	// the requests and payments it recorded, and keeps its own reminder
	// limit. Nil is refused unless SingleProcess is set, when it means a
	// new MemoryStore.
	Store Store
	// SingleProcess declares that this Service is the only instance that
	// will ever serve its store: a nil Store then means one of this
	// process alone. Tests, tools and single-process deployments set it.
	SingleProcess bool
	// Members answers group membership when a request is created.
	Members Members
	// Notifier sends reminders.
	Notifier Notifier
	// Rules are the limits per currency; nil means CNY with DefaultRules.
	Rules map[ledger.Currency]Rules
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Namespace is the UUIDv5 namespace of the payments' transfer IDs. It
	// must never change for a given ledger. Zero means DefaultNamespace().
	Namespace uuid.UUID
	// PayCode is the ledger Transfer.Code of a payment (the bank's meaning).
	PayCode uint16
	// RemindEvery is the least time between two reminders of one request.
	// The last reminder's time is kept in the store, so every instance on
	// that store keeps the limit. Zero means 10 minutes; negative is an
	// error.
	RemindEvery time.Duration
	// ReconcileAfter is how long after a request ended Reconcile checks
	// the ledger for payments whose record was lost, so that a transfer
	// still in flight when the ledger failed has landed. Zero means 1
	// minute; negative means at once.
	ReconcileAfter time.Duration

	// Logger, TracerProvider and MeterProvider observe the Service (see
	// docs/observability.md): payments as spans, counted by outcome and
	// currency with their durations; Sweep and Reconcile as sweeps,
	// logged with what they did. Each nil means none.
	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// DefaultNamespace returns the namespace of derived IDs when
// Config.Namespace is zero: the UUIDv5 of
// "https://github.com/socialpay/socialpay/collect" in the URL namespace.
func DefaultNamespace() uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/socialpay/socialpay/collect"))
}

// Service creates bill-splitting requests, takes the members' payments
// straight to the requester on a ledger, and closes, expires, reminds and
// reconciles them. It is safe for concurrent use, and several Services
// (processes) may share one store and ledger: nothing it holds in memory
// protects anything.
type Service struct {
	l              *ledger.Ledger
	store          Store
	members        Members
	notifier       Notifier
	rules          map[ledger.Currency]Rules
	now            func() time.Time
	ns             uuid.UUID
	payCode        uint16
	remindEvery    time.Duration
	reconcileAfter time.Duration
	tel            *serviceTelemetry
}

// New returns a Service.
//
// Errors: ErrInvalidConfig (no ledger, members or notifier, no Store
// without Config.SingleProcess, a negative RemindEvery, or Rules that do
// not Validate).
func New(cfg Config) (*Service, error) {
	if cfg.Ledger == nil || cfg.Members == nil || cfg.Notifier == nil {
		return nil, fmt.Errorf("%w: Ledger, Members and Notifier are required", ErrInvalidConfig)
	}
	if cfg.Store == nil && !cfg.SingleProcess {
		return nil, fmt.Errorf("%w: no Store: instances must share one (postgres.CollectStore), or set Config.SingleProcess for the only instance", ErrInvalidConfig)
	}
	if cfg.RemindEvery < 0 {
		return nil, fmt.Errorf("%w: RemindEvery %v", ErrInvalidConfig, cfg.RemindEvery)
	}
	s := &Service{
		l: cfg.Ledger, store: cfg.Store, members: cfg.Members, notifier: cfg.Notifier, now: cfg.Now,
		ns: cfg.Namespace, payCode: cfg.PayCode, remindEvery: cfg.RemindEvery,
		reconcileAfter: max(0, cfg.ReconcileAfter), tel: newServiceTelemetry(&cfg),
	}
	if s.store == nil {
		s.store = NewMemoryStore()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ns == uuid.Nil {
		s.ns = DefaultNamespace()
	}
	if s.remindEvery == 0 {
		s.remindEvery = 10 * time.Minute
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

// TransferID is the ledger ID of member's payment of request id: the
// UUIDv5 of (request, member) in the service's namespace. A member can
// pay a request once on the ledger, however often they retry.
func (s *Service) TransferID(id, member uuid.UUID) uuid.UUID {
	return ledger.DeriveID(s.ns, "collect", string(id[:]), string(member[:]))
}

// RequestID returns the ID of the request that requester's create request
// with idempotency key key records (see CreateRequest.Key).
func (s *Service) RequestID(requester uuid.UUID, key string) uuid.UUID {
	return ledger.DeriveID(s.ns, "collect/create", requester.String(), key)
}

// CreateRequest asks for a bill to be split.
type CreateRequest struct {
	// Key is the requester's idempotency key (ledger.CheckKey): creating
	// again with the same key and content returns the stored request. The
	// request's ID is RequestID(Requester, Key).
	Key       string    `json:"key"`
	Requester uuid.UUID `json:"requester"`
	Account   uuid.UUID `json:"account"` // the requester's wallet, where payments land
	Group     uuid.UUID `json:"group"`
	Title     string    `json:"title"` // at most MaxTitleLen bytes
	// Members in the stated order (the order the remainder rule follows).
	// The requester may be one of them: their share is part of the split
	// but never collected.
	Members []uuid.UUID `json:"members"`
	// Either Total, split equally (EqualSplit), or Amounts, one per
	// member: not both.
	Total   ledger.Money   `json:"total,omitzero"`
	Amounts []ledger.Money `json:"amounts,omitempty"`
	// TTL is how long the request stays open; zero means the rules'
	// DefaultTTL.
	TTL time.Duration `json:"ttl_ns,omitzero"`
}

// Create records a new request. Every check is made before the store is
// asked, and nothing is recorded unless all pass.
//
// Errors, in this order: ErrInvalidRequest (a key ledger.CheckKey refuses,
// also matching ledger.ErrInvalidKey; missing IDs, a title too long
// or not storable text, a member listed twice or missing, both or neither
// of Total and Amounts, amounts of another currency or count);
// ErrUnsupportedCurrency; ErrTooManyMembers; ErrBadExpiry; the errors of
// EqualSplit and Rules.Check; ErrNotMember (a member, or the requester,
// not in the group, by Members); ErrRequestConflict (the requester used
// the key for other content); the errors of Members and of the store.
func (s *Service) Create(ctx context.Context, req CreateRequest) (Request, error) {
	r, err := s.build(&req)
	if err != nil {
		return Request{}, fmt.Errorf("collect: create: %w", err)
	}
	for _, u := range append([]uuid.UUID{req.Requester}, req.Members...) {
		ok, err := s.members.IsMember(ctx, req.Group, u)
		if err != nil {
			return Request{}, fmt.Errorf("collect: create: membership of %s: %w", u, err)
		}
		if !ok {
			return Request{}, fmt.Errorf("collect: create: user %s, group %s: %w", u, req.Group, ErrNotMember)
		}
	}
	stored, err := s.store.CreateRequest(ctx, r)
	if errors.Is(err, ErrRequestExists) {
		if !sameContent(&stored, &r) {
			return Request{}, fmt.Errorf("collect: create: request %s: %w", r.ID, ErrRequestConflict)
		}
		return stored, nil
	}
	if err != nil {
		return Request{}, fmt.Errorf("collect: create: %w", err)
	}
	return stored, nil
}

// build checks a create request and returns the request to record.
func (s *Service) build(req *CreateRequest) (Request, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
	}
	if err := ledger.CheckKey(req.Key); err != nil {
		return Request{}, fmt.Errorf("%w: %w", err, ErrInvalidRequest)
	}
	switch {
	case req.Requester == uuid.Nil || req.Account == uuid.Nil || req.Group == uuid.Nil:
		return Request{}, bad("missing requester, account or group")
	case len(req.Title) > MaxTitleLen || !ledger.StorableText(req.Title):
		return Request{}, bad("title of %d bytes is not storable text of at most %d", len(req.Title), MaxTitleLen)
	case (req.Amounts == nil) == req.Total.Currency().IsZero():
		return Request{}, bad("give either Total or Amounts")
	case req.Amounts != nil && len(req.Amounts) != len(req.Members):
		return Request{}, bad("%d amounts for %d members", len(req.Amounts), len(req.Members))
	}
	cur := req.Total.Currency()
	if len(req.Amounts) > 0 {
		cur = req.Amounts[0].Currency()
	}
	rules, ok := s.rules[cur]
	if !ok {
		return Request{}, fmt.Errorf("%w: %q", ErrUnsupportedCurrency, cur.Code())
	}
	if len(req.Members) > rules.MaxMembers {
		return Request{}, fmt.Errorf("%w: %d members, maximum %d", ErrTooManyMembers, len(req.Members), rules.MaxMembers)
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = rules.DefaultTTL
	}
	if ttl < 0 || ttl > rules.MaxTTL {
		return Request{}, fmt.Errorf("%w: TTL %v, maximum %v", ErrBadExpiry, ttl, rules.MaxTTL)
	}
	self := false
	seen := make(map[uuid.UUID]bool, len(req.Members))
	for i, m := range req.Members {
		if m == uuid.Nil || seen[m] {
			return Request{}, bad("member %d missing or listed twice", i)
		}
		seen[m] = true
		self = self || m == req.Requester
	}
	var amounts []int64
	var err error
	if req.Amounts == nil {
		if amounts, err = equalSplit(req.Total.Units(), len(req.Members), cur); err != nil {
			return Request{}, err
		}
	} else {
		amounts = make([]int64, len(req.Amounts))
		for i, a := range req.Amounts {
			if a.Currency() != cur {
				return Request{}, bad("amount %d in %v, the bill is in %v", i, a.Currency(), cur)
			}
			amounts[i] = a.Units()
		}
	}
	total, err := rules.check(amounts, self, cur)
	if err != nil {
		return Request{}, err
	}
	now := ledger.Timestamp(s.now())
	r := Request{
		ID: s.RequestID(req.Requester, req.Key), Requester: req.Requester, Account: req.Account, Group: req.Group, Title: req.Title,
		Currency: cur, Total: total, Shares: make([]Share, len(amounts)),
		CreatedAt: now, ExpiresAt: now.Add(ttl), State: State{Status: StatusOpen},
	}
	for i, m := range req.Members {
		r.Shares[i] = Share{Member: m, Amount: amounts[i], Status: SharePending}
		if m == req.Requester {
			r.Shares[i].Status = ShareOwn
		}
	}
	return r, r.Validate()
}

// sameContent reports whether a stored request is what a create asked
// for again (times aside: a retry reads the clock again).
func sameContent(a, b *Request) bool {
	if a.ID != b.ID || a.Requester != b.Requester || a.Account != b.Account || a.Group != b.Group ||
		a.Title != b.Title || a.Currency != b.Currency || a.Total != b.Total || len(a.Shares) != len(b.Shares) {
		return false
	}
	return slices.EqualFunc(a.Shares, b.Shares, func(x, y Share) bool { return x.Member == y.Member && x.Amount == y.Amount })
}

// Request returns a request with its shares: who paid, who declined, who
// owes.
//
// Errors: ErrRequestNotFound, and the store's.
func (s *Service) Request(ctx context.Context, id uuid.UUID) (Request, error) {
	return s.store.Request(ctx, id)
}

// PayRequest is a member paying their share.
type PayRequest struct {
	Request uuid.UUID    `json:"request"`
	Member  uuid.UUID    `json:"member"`
	Account uuid.UUID    `json:"account"` // the member's wallet
	Amount  ledger.Money `json:"amount"`  // what the member confirmed: must be the share
}

// Pay pays the member's share into the requester's account, with ledger
// ID TransferID(request, member), and returns the share as paid.
//
// A member pays once: paying again returns the original payment (whatever
// the request's status since), and concurrent identical payments move the
// money once. The payment and the request's record are one step of the
// store (the transfer is made with the request locked), so a payment
// racing the requester's close or the expiry sweep either lands while the
// request is open and is counted, or is refused with ErrClosed or
// ErrExpired and moves nothing.
//
// Errors, in this order: ErrInvalidRequest (missing IDs, an amount in
// another currency, the requester's own account); ErrRequestNotFound;
// ErrNotMember; ErrOwnShare; ErrWrongAmount; ErrDeclined; ErrClosed or
// ErrExpired; the ledger's refusal (a *ledger.TransferError: insufficient
// funds, a closed or frozen wallet…); none of these moves or records
// anything. ErrPaymentUnknown: the ledger failed and the payment may have
// moved: paying again records it, or Reconcile does once the request has
// ended. And the store's errors, after which the same holds.
func (s *Service) Pay(ctx context.Context, req PayRequest) (Share, error) {
	ctx, sp := s.tel.pay.Start(ctx)
	sp.ID(req.Request)
	sh, err := s.pay(ctx, req)
	sp.End(ctx, err, req.Amount.Currency().Code())
	return sh, err
}

func (s *Service) pay(ctx context.Context, req PayRequest) (Share, error) {
	if req.Request == uuid.Nil || req.Member == uuid.Nil || req.Account == uuid.Nil {
		return Share{}, fmt.Errorf("collect: pay: %w: missing request, member or account", ErrInvalidRequest)
	}
	r, err := s.store.Request(ctx, req.Request)
	if err != nil {
		return Share{}, fmt.Errorf("collect: pay: %w", err)
	}
	if req.Amount.Currency() != r.Currency {
		return Share{}, fmt.Errorf("collect: pay: %w: amount %v for a bill in %v", ErrInvalidRequest, req.Amount, r.Currency)
	}
	if req.Account == r.Account {
		return Share{}, fmt.Errorf("collect: pay: %w: member %s pays from the requester's account", ErrInvalidRequest, req.Member)
	}
	now := ledger.Timestamp(s.now())
	// The store checks again under its lock; this answers bad requests
	// before any lock or ledger work.
	i, existing, err := r.CheckPay(req.Member, req.Amount.Units(), now)
	if err != nil {
		return s.refused(ctx, &r, req.Member, err)
	}
	if existing {
		return r.Shares[i], nil
	}
	step := PayStep{
		Member: req.Member, Account: req.Account, Amount: req.Amount.Units(), Now: now, Ledger: s.l,
		Transfer: ledger.Transfer{
			ID: s.TransferID(r.ID, req.Member), Kind: ledger.KindImmediate,
			DebitAccountID: req.Account, CreditAccountID: r.Account, Amount: req.Amount, Code: s.payCode,
		},
	}
	res, err := s.store.Pay(ctx, r.ID, step)
	if err != nil {
		return s.refused(ctx, &r, req.Member, err)
	}
	return res.Share, nil
}

// refused answers a payment refused with err. If the request ended, an
// earlier attempt whose outcome was unknown may have paid all the same:
// the ledger says, and such a payment is recorded and returned.
func (s *Service) refused(ctx context.Context, r *Request, member uuid.UUID, err error) (Share, error) {
	if errorsIsAny(err, ErrClosed, ErrExpired) {
		if sh, ok := s.recordFound(ctx, r, member); ok {
			return sh, nil
		}
	}
	return Share{}, fmt.Errorf("collect: pay: %w", err)
}

// recordFound records member's payment of r if the ledger has it.
func (s *Service) recordFound(ctx context.Context, r *Request, member uuid.UUID) (Share, bool) {
	t, err := s.l.LookupTransfer(ctx, s.TransferID(r.ID, member))
	if err != nil {
		return Share{}, false
	}
	after, err := s.store.RecordPaid(ctx, r.ID, member, t.DebitAccountID, t.ID, ledger.Timestamp(t.Timestamp))
	if err != nil {
		return Share{}, false
	}
	i, _ := after.Find(member)
	return after.Shares[i], true
}

// Decline records that member will not pay their share (final).
// Declining again returns the request unchanged.
//
// Errors: ErrInvalidRequest, ErrRequestNotFound, ErrNotMember,
// ErrOwnShare, ErrAlreadyPaid, ErrClosed, ErrExpired, and the store's.
func (s *Service) Decline(ctx context.Context, id, member uuid.UUID) (Request, error) {
	if id == uuid.Nil || member == uuid.Nil {
		return Request{}, fmt.Errorf("collect: decline: %w: missing request or member", ErrInvalidRequest)
	}
	r, err := s.store.Decline(ctx, id, member, ledger.Timestamp(s.now()))
	if err != nil {
		return Request{}, fmt.Errorf("collect: decline: %w", err)
	}
	return r, nil
}

// Close stops the request taking payments, at the requester's wish. Paid
// money stays with the requester: each payment was final and went
// straight to them. Closing a request that already ended returns it as
// it ended (complete, closed or expired).
//
// Errors: ErrInvalidRequest, ErrRequestNotFound, ErrNotRequester, and the
// store's.
func (s *Service) Close(ctx context.Context, id, requester uuid.UUID) (Request, error) {
	if err := s.requester(ctx, id, requester); err != nil {
		return Request{}, fmt.Errorf("collect: close: %w", err)
	}
	r, err := s.store.Close(ctx, id, ledger.Timestamp(s.now()))
	if err != nil {
		return Request{}, fmt.Errorf("collect: close: %w", err)
	}
	return r, nil
}

func (s *Service) requester(ctx context.Context, id, requester uuid.UUID) error {
	if id == uuid.Nil || requester == uuid.Nil {
		return fmt.Errorf("%w: missing request or requester", ErrInvalidRequest)
	}
	r, err := s.store.Request(ctx, id)
	if err != nil {
		return err
	}
	if r.Requester != requester {
		return fmt.Errorf("request %s, user %s: %w", id, requester, ErrNotRequester)
	}
	return nil
}

// Remind sends the members who owe their share a reminder through the
// Notifier, and returns them. One reminder per request per
// Config.RemindEvery: its time is recorded in the store before the
// Notifier is called, so the limit holds across instances, and a
// reminder the Notifier failed to send still counts.
//
// Errors: ErrInvalidRequest, ErrRequestNotFound, ErrNotRequester,
// ErrNothingToRemind, ErrRemindTooSoon, the Notifier's, and the store's.
func (s *Service) Remind(ctx context.Context, id, requester uuid.UUID) ([]uuid.UUID, error) {
	if err := s.requester(ctx, id, requester); err != nil {
		return nil, fmt.Errorf("collect: remind: %w", err)
	}
	r, members, err := s.store.Remind(ctx, id, ledger.Timestamp(s.now()), s.remindEvery)
	if err != nil {
		return nil, fmt.Errorf("collect: remind: %w", err)
	}
	if err := s.notifier.Remind(ctx, r, members); err != nil {
		return members, fmt.Errorf("collect: remind: request %s: notifier: %w", id, err)
	}
	return members, nil
}

const pageSize = 100

// Sweep expires every open request whose expiry has passed, and returns
// how many this call expired. Maintain runs it; concurrent sweeps, in one
// process or many, expire each request once. It goes on past the requests
// that fail (they stay due) and returns their errors, the first 10 and a
// count.
//
// Errors: the store's.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	return s.sweep(ctx, s.now())
}

// sweep is Sweep as of now.
func (s *Service) sweep(ctx context.Context, now time.Time) (n int, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "expire")
	defer func() { sw.End(ctx, err, telemetry.Item{Result: "expired", N: n}) }()
	return s.sweepAt(ctx, now)
}

func (s *Service) sweepAt(ctx context.Context, now time.Time) (int, error) {
	now = ledger.Timestamp(now)
	n := 0
	var errs errset.Set
	var cur Cursor
	for {
		page, err := s.store.Due(ctx, now, cur, pageSize)
		if err != nil {
			errs.Add("collect: sweep", err)
			return n, errs.Err()
		}
		for i := range page {
			_, expired, err := s.store.Expire(ctx, page[i].ID, now)
			switch {
			case err == nil:
			case ctx.Err() != nil:
				errs.Add("collect: sweep", err)
				return n, errs.Err()
			default:
				errs.Add(fmt.Sprintf("collect: sweep: request %s", page[i].ID), err)
			}
			if expired {
				n++
			}
		}
		if len(page) < pageSize {
			return n, errs.Err()
		}
		cur = Cursor{page[len(page)-1].ExpiresAt, page[len(page)-1].ID}
	}
}

// ReconcileReport says what Reconcile did.
type ReconcileReport struct {
	// Recorded counts the payments found on the ledger, made by attempts
	// whose outcome was unknown (ErrPaymentUnknown), and recorded.
	Recorded int `json:"recorded"`
	// Reconciled counts the requests checked and marked reconciled.
	Reconciled int `json:"reconciled"`
}

// Reconcile finishes what failures left undone: for every request that
// ended before now − Config.ReconcileAfter and still has shares pending,
// it looks up each pending share's payment on the ledger (by TransferID)
// and records the payments it finds — made by an attempt whose outcome was
// unknown (ErrPaymentUnknown) — then marks the request reconciled.
// Maintain runs it; concurrent runs are safe. It goes on past the
// requests that fail (they stay for the next run) and returns their
// errors, the first 10 and a count.
//
// Errors: the ledger's and the store's.
func (s *Service) Reconcile(ctx context.Context, now time.Time) (rep ReconcileReport, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "reconcile")
	defer func() { sw.End(ctx, err, telemetry.Item{Result: "recorded", N: rep.Recorded, Repair: true}) }()
	return s.reconcileAll(ctx, now)
}

func (s *Service) reconcileAll(ctx context.Context, now time.Time) (ReconcileReport, error) {
	before := ledger.Timestamp(now).Add(-s.reconcileAfter)
	var rep ReconcileReport
	var errs errset.Set
	var cur Cursor
	for {
		page, err := s.store.Unreconciled(ctx, before, cur, pageSize)
		if err != nil {
			errs.Add("collect: reconcile", err)
			return rep, errs.Err()
		}
		for i := range page {
			r := &page[i]
			switch err := s.reconcile(ctx, r, &rep); {
			case err == nil:
				rep.Reconciled++
			case ctx.Err() != nil:
				errs.Add("collect: reconcile", err)
				return rep, errs.Err()
			default:
				errs.Add(fmt.Sprintf("collect: reconcile: request %s", r.ID), err)
			}
		}
		if len(page) < pageSize {
			return rep, errs.Err()
		}
		cur = Cursor{page[len(page)-1].EndedAt, page[len(page)-1].ID}
	}
}

// reconcile records the payments of r's pending shares found on the
// ledger and marks r reconciled.
func (s *Service) reconcile(ctx context.Context, r *Request, rep *ReconcileReport) error {
	for _, m := range r.Pending() {
		t, err := s.l.LookupTransfer(ctx, s.TransferID(r.ID, m))
		if errors.Is(err, ledger.ErrTransferNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if _, err := s.store.RecordPaid(ctx, r.ID, m, t.DebitAccountID, t.ID, ledger.Timestamp(t.Timestamp)); err != nil {
			return err
		}
		rep.Recorded++
	}
	_, err := s.store.MarkReconciled(ctx, r.ID)
	return err
}
