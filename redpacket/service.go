package redpacket

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// Members is what the bank tells the Service about its chat groups.
// Implementations must be safe for concurrent use; they are called on every
// send and every claim of a group packet.
type Members interface {
	// IsMember reports whether user belongs to group.
	IsMember(ctx context.Context, group, user uuid.UUID) (bool, error)
	// GroupSize returns the number of members of group, the sender
	// included.
	GroupSize(ctx context.Context, group uuid.UUID) (int, error)
}

// Codes are the ledger codes the Service stamps on what it creates; their
// meaning is the bank's (see ledger.Account.Code and ledger.Transfer.Code).
type Codes struct {
	Escrow uint16 // Account.Code of each packet's escrow account
	Fund   uint16 // Transfer.Code of sender → escrow
	Claim  uint16 // Transfer.Code of escrow → claimer
	Refund uint16 // Transfer.Code of escrow → sender
}

// Config configures a Service. Ledger and Members are required.
type Config struct {
	// Ledger is where the money moves.
	Ledger *ledger.Ledger
	// Store keeps packets and claims. Nil means a new MemoryStore.
	Store Store
	// Members answers group membership.
	Members Members
	// Rules are the limits per currency; a packet in a currency without
	// Rules is refused with ErrUnsupportedCurrency. Nil means CNY with
	// DefaultRules. Each must Validate.
	Rules map[ledger.Currency]Rules
	// Rand is the randomness for splitting; nil means crypto/rand. Each
	// send reads a 32-byte seed from it; the Service serializes the reads,
	// so a reader that is not safe for concurrent use (a seeded generator
	// in a test) is fine.
	Rand io.Reader
	// Now is the clock for claims and new packets; nil means time.Now.
	Now func() time.Time
	// NewID makes a packet ID for a send request without one (such a send
	// is not idempotent); nil means uuid.New.
	NewID func() uuid.UUID
	// Namespace is the UUIDv5 namespace of every ID the Service derives
	// (escrow accounts and ledger transfers). It must never change for a
	// given ledger. Zero means DefaultNamespace().
	Namespace uuid.UUID
	// Codes are stamped on escrow accounts and transfers.
	Codes Codes
	// ReconcileAfter is how old a funding packet or an unpaid claim must
	// be before Reconcile finishes it, so that Reconcile leaves requests in
	// flight to themselves (it would be safe, only wasted work). Default 1
	// minute; negative means 0.
	ReconcileAfter time.Duration
	// CacheSize bounds the packets the in-process cache holds (about).
	// Default 1<<16.
	CacheSize int
	// AsyncMarks makes Claim return as soon as the share is paid on the
	// ledger, and record the claim as paid (Store.MarkPosted, and the
	// settling of a packet it completes) in the background: one store
	// transaction less on a claim's path, and concurrent claims' marks
	// share the store's batches. The claimer is paid either way; until its
	// mark lands a claim reads as unpaid, and a mark lost in a crash is
	// recorded by the claim's retry or by Reconcile (paying again is a
	// duplicate on the ledger: nothing moves). Flush waits for the marks in
	// flight; Close waits for them and marks before returning from then on.
	// With a MemoryStore, or a PayingStore the Service pays claims
	// through (see Claim), it changes little: claims on it are recorded
	// and paid in one step, with no separate mark.
	AsyncMarks bool
	// PasswordKey hashes the phrases of password packets (口令), which are
	// stored only as those hashes (see PasswordKey). Every Service on one
	// store must use the same key, loaded from outside the database; New
	// refuses a nil key unless SingleProcess is set.
	PasswordKey *PasswordKey
	// SingleProcess declares that this Service is the only one that will
	// ever use its store — a test, an example, a simulation on a
	// MemoryStore. With no PasswordKey it then hashes phrases under a
	// random key of its own: password packets it sends cannot be claimed
	// through any other Service, nor after a restart.
	SingleProcess bool
	// GroupPayments, when set, gathers the ledger payments of concurrent
	// claims into shared batches: a ledger.GroupCommit with these options
	// over the ledger's store (one transaction and one commit per batch on
	// a database). Nil means each claim pays on its own; so does a ledger
	// whose store already is a *ledger.GroupCommit, which batches anyway.
	// A PayingStore the Service pays claims through (see Claim) batches
	// claims and their payments itself: there it concerns only the
	// payments of claims recorded before and not yet paid.
	GroupPayments *ledger.GroupCommitOptions

	// Logger, TracerProvider and MeterProvider observe the Service (see
	// docs/observability.md): sends and claims as spans, counted by
	// outcome and currency with their durations; RefundExpired and
	// Reconcile as sweeps, logged with what they did (at Warn when
	// Reconcile repaired anything). Each nil means none, at no cost on
	// the hot path. The ledger is observed through its own Options; the
	// GroupPayments ledger gets these.
	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// DefaultNamespace returns the namespace of derived IDs when
// Config.Namespace is zero: the UUIDv5 of
// "https://github.com/socialpay/socialpay/redpacket" in the URL namespace.
func DefaultNamespace() uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/socialpay/socialpay/redpacket"))
}

// Service sends, claims and refunds red packets, settling on a ledger.
//
// Every ledger write has an ID derived from its business key (see
// EscrowAccountID, FundTransferID, ClaimTransferID, RefundTransferID), so a
// retry, a duplicate request or a crash and retry moves money once. Store
// and ledger share no transaction (except a claim on a PayingStore, see
// Claim); instead each operation records its intent in the store first,
// then writes to the ledger, then records the outcome, and Reconcile
// finishes whatever a crash left between two steps.
// A Service is safe for concurrent use, and several Services (processes)
// may share one store and ledger.
type Service struct {
	l              *ledger.Ledger
	pl             *ledger.Ledger // claim payments: l, or l's store behind a GroupCommit
	store          Store
	mem            *MemoryStore // store, when it is one: claims are paid inside its claim step
	paying         PayingStore  // store, when it pays claims on the ledger's store in one step
	members        Members
	rules          map[ledger.Currency]Rules
	rand           io.Reader
	now            func() time.Time
	newID          func() uuid.UUID
	ns             uuid.UUID
	codes          Codes
	reconcileAfter time.Duration
	cache          *packetCache
	asyncMarks     bool
	marks          markTracker
	pw             *PasswordKey
	tel            *serviceTelemetry
}

// New returns a Service.
//
// Errors: ErrInvalidConfig (no ledger or members, no PasswordKey without
// SingleProcess, or Rules that do not Validate, also matching
// ErrInvalidRules).
func New(cfg Config) (*Service, error) {
	if cfg.Ledger == nil || cfg.Members == nil {
		return nil, fmt.Errorf("%w: Ledger and Members are required", ErrInvalidConfig)
	}
	pw := cfg.PasswordKey
	if pw == nil {
		if !cfg.SingleProcess {
			return nil, fmt.Errorf("%w: PasswordKey is required: every Service on a store hashes password phrases "+
				"with one key kept outside the database (NewPasswordKey); set Config.SingleProcess for a single process "+
				"with a key of its own", ErrInvalidConfig)
		}
		secret := make([]byte, MinPasswordKeyLen)
		if _, err := io.ReadFull(cryptorand.Reader, secret); err != nil {
			return nil, fmt.Errorf("%w: a password key for this process: %w", ErrInvalidConfig, err)
		}
		var err error
		if pw, err = NewPasswordKey(secret); err != nil {
			return nil, err
		}
	}
	s := &Service{
		l: cfg.Ledger, store: cfg.Store, members: cfg.Members, rand: cfg.Rand,
		now: cfg.Now, newID: cfg.NewID, ns: cfg.Namespace, codes: cfg.Codes,
		reconcileAfter: max(0, cfg.ReconcileAfter), asyncMarks: cfg.AsyncMarks, pw: pw,
		tel: newServiceTelemetry(&cfg),
	}
	if s.store == nil {
		s.store = NewMemoryStore()
	}
	s.mem, _ = s.store.(*MemoryStore)
	if ps, ok := s.store.(PayingStore); ok && ps.PaysOn(innerStore(s.l.Store())) {
		s.paying = ps
	}
	s.pl = s.l
	if _, grouped := s.l.Store().(*ledger.GroupCommit); cfg.GroupPayments != nil && !grouped {
		gopts := *cfg.GroupPayments
		if gopts.MeterProvider == nil {
			gopts.MeterProvider = cfg.MeterProvider
		}
		s.pl = ledger.New(ledger.NewGroupCommit(s.l.Store(), gopts), ledger.Options{Now: s.l.Now,
			Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	}
	if s.rand == nil {
		s.rand = cryptorand.Reader
	} else {
		s.rand = &lockedReader{r: s.rand}
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
	size := cfg.CacheSize
	if size <= 0 {
		size = 1 << 16
	}
	s.cache = newPacketCache(size)
	return s, nil
}

// innerStore returns the store a ledger.GroupCommit wraps, or ls itself:
// the store whose transactions a PayingStore would share.
func innerStore(ls ledger.Store) ledger.Store {
	if g, ok := ls.(*ledger.GroupCommit); ok {
		return g.Store
	}
	return ls
}

// lockedReader serializes reads of a reader.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(b)
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.store }

// EscrowAccountID returns the ID of packet's own escrow account.
func (s *Service) EscrowAccountID(packet uuid.UUID) uuid.UUID {
	return ledger.DeriveID(s.ns, "redpacket", packet.String(), "escrow")
}

// FundTransferID returns the ID of the transfer sender → escrow of packet.
func (s *Service) FundTransferID(packet uuid.UUID) uuid.UUID {
	return ledger.DeriveID(s.ns, "redpacket", packet.String(), "fund")
}

// ClaimTransferID returns the ID of the transfer escrow → user of packet.
func (s *Service) ClaimTransferID(packet, user uuid.UUID) uuid.UUID {
	return s.claimTransferID(packet.String(), user)
}

// claimTransferID is ClaimTransferID of the packet whose ID reads pid.
func (s *Service) claimTransferID(pid string, user uuid.UUID) uuid.UUID {
	return ledger.DeriveID(s.ns, "redpacket", pid, "claim", user.String())
}

// ReturnTransferID returns the ID of the transfer escrow → sender (with
// Codes.Refund) that gives user's share of packet back to the sender when
// user's wallet was closed before the share could be paid (see Claim).
func (s *Service) ReturnTransferID(packet, user uuid.UUID) uuid.UUID {
	return s.returnTransferID(packet.String(), user)
}

func (s *Service) returnTransferID(pid string, user uuid.UUID) uuid.UUID {
	return ledger.DeriveID(s.ns, "redpacket", pid, "claim", user.String(), "return")
}

// RefundTransferID returns the ID of the refund escrow → sender of packet.
func (s *Service) RefundTransferID(packet uuid.UUID) uuid.UUID {
	return ledger.DeriveID(s.ns, "redpacket", packet.String(), "refund")
}

// SendRequest asks to send a red packet.
type SendRequest struct {
	// ID is the client's packet ID, the send's idempotency key: sending the
	// same request again returns the same packet and pays once. Zero means
	// a new ID from Config.NewID (no idempotency).
	ID            uuid.UUID `json:"id"`
	Kind          Kind      `json:"kind"`
	Sender        uuid.UUID `json:"sender"`         // the sending user
	SenderAccount uuid.UUID `json:"sender_account"` // the sender's wallet
	// Group is the group the packet is sent to; zero for a packet to one
	// friend.
	Group uuid.UUID `json:"group,omitzero"`
	// Recipient is the named member of an Exclusive packet, or the friend
	// of a packet sent to one person; zero otherwise.
	Recipient uuid.UUID `json:"recipient,omitzero"`
	// Amount is the total, or for a Normal packet the amount of each share.
	// Its currency picks the Rules.
	Amount ledger.Money `json:"amount"`
	Count  int          `json:"count"`
	// Password is a Password packet's phrase; empty for other kinds. At
	// most MaxPasswordInputBytes as typed, MaxPasswordBytes normalized.
	// The packet keeps only its keyed hash (Config.PasswordKey).
	Password string `json:"password,omitempty"`
}

// Send sends a red packet: it checks the request, splits the total into
// shares (pre-split and shuffled), records the packet (status funding),
// moves the total from the sender's wallet into the packet's own escrow
// account (ledger ID FundTransferID) and opens the packet. It returns the
// packet as View shows it: without its pre-split shares (which would tell
// the sender, or whoever logs the answer, which claim gets the most) and
// without its password.
//
// Sending a request again with the same ID returns the packet as it stands
// (finishing its funding if a crash interrupted it) and moves no money
// twice; the same ID with other content is ErrPacketConflict.
//
// The checks run in this order: a phrase over MaxPasswordInputBytes
// (ErrBadPassword, before the store is read), the request's shape (ErrInvalidRequest,
// ErrUnknownKind, ErrUnsupportedCurrency, ErrBadPassword), membership
// (ErrNotMember for the sender or an exclusive packet's recipient), then
// Rules.Check: ErrNoShares, ErrTooManyShares, ErrShareTooSmall,
// ErrShareTooLarge, ErrCountExceedsGroup; last the sender's funds, which
// the ledger decides: ledger.ErrInsufficientFunds (or another refusal of
// the sender's wallet, such as ledger.ErrAccountFrozen), returned together
// with ErrPacketCancelled: the packet is recorded as cancelled and its ID
// cannot be used again. A request with a packet ID already used for a
// request of another meaning is refused with a *ConflictError
// (ErrPacketConflict, ledger.ErrIdempotencyConflict). An error from the
// ledger or the store failing
// leaves the packet funding; sending again or Reconcile finishes it.
//
// Errors also include those of Members and of the store.
func (s *Service) Send(ctx context.Context, req SendRequest) (Packet, error) {
	ctx, sp := s.tel.send.Start(ctx)
	sp.ID(req.ID)
	p, err := s.send(ctx, req)
	sp.End(ctx, err, req.Amount.Currency().Code())
	p.Shares, p.PasswordHash = nil, nil
	return p, err
}

func (s *Service) send(ctx context.Context, req SendRequest) (Packet, error) {
	if len(req.Password) > MaxPasswordInputBytes { // before the store
		return Packet{}, fmt.Errorf("send packet %s: %w: %d bytes, at most %d", req.ID, ErrBadPassword, len(req.Password), MaxPasswordInputBytes)
	}
	if req.ID == uuid.Nil {
		req.ID = s.newID()
	}
	p, err := s.store.Packet(ctx, req.ID)
	switch {
	case err == nil:
		return s.resend(ctx, &req, p)
	case !errors.Is(err, ErrPacketNotFound):
		return Packet{}, fmt.Errorf("send packet %s: %w", req.ID, err)
	}
	if p, err = s.newPacket(ctx, &req); err != nil {
		return Packet{}, fmt.Errorf("send packet %s: %w", req.ID, err)
	}
	stored, err := s.store.CreatePacket(ctx, p)
	switch {
	case errors.Is(err, ErrPacketExists):
		return s.resend(ctx, &req, stored)
	case err != nil:
		return Packet{}, fmt.Errorf("send packet %s: %w", req.ID, err)
	}
	return s.fund(ctx, stored)
}

// newPacket checks a send request and builds the packet it asks for.
func (s *Service) newPacket(ctx context.Context, req *SendRequest) (Packet, error) {
	if !req.Kind.valid() {
		return Packet{}, fmt.Errorf("%w: %v", ErrUnknownKind, req.Kind)
	}
	if req.Sender == uuid.Nil || req.SenderAccount == uuid.Nil {
		return Packet{}, fmt.Errorf("%w: no sender or sender account", ErrInvalidRequest)
	}
	cur := req.Amount.Currency()
	r, ok := s.rules[cur]
	if !ok {
		return Packet{}, fmt.Errorf("%w: %q", ErrUnsupportedCurrency, cur.Code())
	}
	password, err := s.requestPassword(req)
	if err != nil {
		return Packet{}, err
	}
	claimers, err := s.claimers(ctx, req, &r)
	if err != nil {
		return Packet{}, err
	}
	total, err := r.check(req.Kind, req.Amount.Units(), req.Count, claimers, cur)
	if err != nil {
		return Packet{}, err
	}
	shares, err := r.shares(req.Kind, total, req.Count, s.rand, cur)
	if err != nil {
		return Packet{}, err
	}
	now := ledger.Timestamp(s.now())
	return Packet{
		ID: req.ID, Kind: req.Kind, Sender: req.Sender, SenderAccount: req.SenderAccount,
		Group: req.Group, Recipient: req.Recipient, PasswordHash: password,
		SenderMayGrab: r.SenderMayGrab,
		Total:         ledger.NewMoney(total, cur), Count: req.Count, Shares: shares,
		Escrow: s.EscrowAccountID(req.ID), CreatedAt: now, ExpiresAt: now.Add(r.Expiry),
		State: State{Status: StatusFunding},
	}, nil
}

// requestPassword returns the hash of a request's phrase (nil for kinds
// other than Password).
func (s *Service) requestPassword(req *SendRequest) ([]byte, error) {
	if req.Kind != Password {
		if req.Password != "" {
			return nil, fmt.Errorf("%w: a password on a %v packet", ErrInvalidRequest, req.Kind)
		}
		return nil, nil
	}
	return s.pw.Hash(req.ID, req.Password)
}

// claimers checks who may claim the requested packet and returns how many
// they are (the group size Rules.Check compares the share count with).
func (s *Service) claimers(ctx context.Context, req *SendRequest, r *Rules) (int, error) {
	if req.Recipient == req.Sender {
		return 0, fmt.Errorf("%w: the sender cannot be the recipient", ErrInvalidRequest)
	}
	if req.Group == uuid.Nil { // to one friend
		if req.Recipient == uuid.Nil || req.Kind == Exclusive {
			return 0, fmt.Errorf("%w: a packet to one person needs a recipient and is lucky, normal or password", ErrInvalidRequest)
		}
		return 1, nil
	}
	if (req.Kind == Exclusive) != (req.Recipient != uuid.Nil) {
		return 0, fmt.Errorf("%w: a group packet names a recipient exactly when it is exclusive", ErrInvalidRequest)
	}
	if err := s.member(ctx, req.Group, req.Sender, "sender"); err != nil {
		return 0, err
	}
	if req.Kind == Exclusive {
		if err := s.member(ctx, req.Group, req.Recipient, "recipient"); err != nil {
			return 0, err
		}
		return 1, nil
	}
	n, err := s.members.GroupSize(ctx, req.Group)
	if err != nil {
		return 0, fmt.Errorf("size of group %s: %w", req.Group, err)
	}
	if !r.SenderMayGrab {
		n--
	}
	return n, nil
}

func (s *Service) member(ctx context.Context, group, user uuid.UUID, who string) error {
	ok, err := s.members.IsMember(ctx, group, user)
	switch {
	case err != nil:
		return fmt.Errorf("membership of %s %s in group %s: %w", who, user, group, err)
	case !ok:
		return fmt.Errorf("%w: %s %s, group %s", ErrNotMember, who, user, group)
	}
	return nil
}

// resend answers a send request whose packet is already recorded.
func (s *Service) resend(ctx context.Context, req *SendRequest, p Packet) (Packet, error) {
	if err := s.sameRequest(req, &p); err != nil {
		return Packet{}, err
	}
	switch p.Status {
	case StatusFunding:
		return s.fund(ctx, p)
	case StatusCancelled:
		return p, fmt.Errorf("send packet %s: %w", p.ID, ErrPacketCancelled)
	}
	return p, nil
}

// sameRequest reports whether req means packet p: the identity of a send
// (see the package doc), compared after normalizing what may be written
// in more than one way.
func (s *Service) sameRequest(req *SendRequest, p *Packet) error {
	total := req.Amount.Units()
	if req.Kind == Normal {
		total *= int64(req.Count) // may wrap for absurd input: then it differs, as it should
	}
	field := ""
	switch {
	case req.Kind != p.Kind:
		field = "kind"
	case req.Sender != p.Sender || req.SenderAccount != p.SenderAccount:
		field = "sender"
	case req.Group != p.Group || req.Recipient != p.Recipient:
		field = "recipients"
	case req.Amount.Currency() != p.Total.Currency() || total != p.Total.Units():
		field = "amount"
	case req.Count != p.Count:
		field = "count"
	case req.Kind == Password && !s.pw.Matches(p.ID, p.PasswordHash, req.Password),
		req.Kind != Password && req.Password != "":
		field = "password"
	}
	if field != "" {
		return &ConflictError{Op: "send", Packet: p.ID, Field: field}
	}
	return nil
}

func (s *Service) escrowAccount(p *Packet) ledger.Account {
	return ledger.Account{ID: p.Escrow, Currency: p.Total.Currency(), Code: s.codes.Escrow, Flags: ledger.DebitsMustNotExceedCredits}
}

// fund moves a funding packet's total into its escrow account and opens it.
func (s *Service) fund(ctx context.Context, p Packet) (Packet, error) {
	if _, err := s.l.CreateAccount(ctx, s.escrowAccount(&p)); err != nil {
		return Packet{}, fmt.Errorf("send packet %s: create escrow account: %w", p.ID, err)
	}
	_, err := s.l.Transfer(ctx, ledger.Transfer{
		ID: s.FundTransferID(p.ID), DebitAccountID: p.SenderAccount, CreditAccountID: p.Escrow,
		Amount: p.Total, Code: s.codes.Fund,
	})
	if err != nil && !ledger.Refused(err) {
		// The ledger may or may not have applied it: the packet stays
		// funding, for a retry or Reconcile to settle.
		return Packet{}, fmt.Errorf("send packet %s: fund escrow: %w", p.ID, err)
	}
	if err != nil {
		st, rerr := s.resolveFunding(ctx, &p)
		if rerr != nil {
			return Packet{}, fmt.Errorf("send packet %s: fund escrow: %w (then: %w)", p.ID, err, rerr)
		}
		p.State = st
		if st.Status == StatusCancelled {
			return p, fmt.Errorf("send packet %s: %w: %w", p.ID, ErrPacketCancelled, err)
		}
		return p, nil // a concurrent retry funded it after all
	}
	st, err := s.store.Open(ctx, p.ID)
	if err != nil {
		return Packet{}, fmt.Errorf("send packet %s: open: %w", p.ID, err)
	}
	p.State = st
	return p, nil
}

// resolveFunding decides a funding packet for good: open if its funding
// reached the escrow, else cancelled, with the funding transfer of a send
// still in flight (or retried later) fenced out (ledger.FenceFunding).
func (s *Service) resolveFunding(ctx context.Context, p *Packet) (State, error) {
	funded, err := s.l.FenceFunding(ctx, s.FundTransferID(p.ID), s.escrowAccount(p))
	switch {
	case err != nil:
		return State{}, err
	case funded:
		return s.store.Open(ctx, p.ID)
	}
	st, err := s.store.Cancel(ctx, p.ID)
	if errors.Is(err, ErrAlreadyFunded) {
		// Funded, fully claimed and paid between the lookup and the close:
		// the escrow was empty, as it is for any finished packet.
		return s.storeState(ctx, p.ID)
	}
	return st, err
}

func (s *Service) storeState(ctx context.Context, id uuid.UUID) (State, error) {
	p, err := s.store.Packet(ctx, id)
	return p.State, err
}

// ClaimRequest asks for a share of a packet.
type ClaimRequest struct {
	Packet   uuid.UUID `json:"packet"`
	User     uuid.UUID `json:"user"`               // the claiming user
	Account  uuid.UUID `json:"account"`            // the user's wallet, which the share is paid to
	Password string    `json:"password,omitempty"` // a Password packet's phrase
}

// Claim gives the user a share of the packet: the store hands out the next
// pre-split share atomically, and the share is paid from the packet's
// escrow account to the user's wallet with ledger ID ClaimTransferID.
//
// A user gets one share: claiming again returns the same claim (paying it
// now if its payment was interrupted), never a second share, and the
// payment's derived ID moves the money once however often it is retried.
// Once the packet takes no more claims, taps are answered from an
// in-process cache without the store or the ledger.
//
// On a MemoryStore a claim is recorded and paid in one step, under the
// packet's lock, and so it is on a PayingStore whose PaysOn accepts the
// ledger's store (package postgres's RedPacketStore with the ledger on the
// same database: one transaction): the ledger's payment is the wallet
// check, a payment the ledger refuses records nothing, and a claim is
// recorded paid at once. On other stores the wallet is read first (so a
// retry from a wallet frozen or closed since gets the wallet's error, and
// Reconcile finishes its claim), then the claim is recorded, paid, and
// marked paid (Store.MarkPosted; in the background with
// Config.AsyncMarks).
//
// A claim recorded but not yet paid when the claimer's wallet is closed
// (on stores that do not pay in the claim's step, the wallet may close
// between its check and the payment) can never be paid: a closed account
// stays closed. Its share goes back to the sender instead (ledger ID
// ReturnTransferID), the claim counts as settled (Posted), and Claim
// returns it with ErrShareReturned wrapping ledger.ErrAccountClosed, so
// that the packet can still settle with its escrow at zero.
//
// Errors, checked in this order: ErrInvalidRequest; ErrBadPassword (a
// phrase over MaxPasswordInputBytes, refused before the store is read);
// ErrPacketNotFound;
// ErrNotMember; ErrNotRecipient; ErrSenderCannotGrab; ErrWrongPassword;
// ErrSoldOut, ErrRefunded or ErrPacketCancelled of a packet this process
// already knows to be closed; for the claimer's wallet
// ledger.ErrAccountNotFound, ledger.ErrCurrencyMismatch,
// ledger.ErrAccountClosed or ledger.ErrAccountFrozen (on a MemoryStore or
// a PayingStore, any refusal of the payment by the ledger); then the
// store's
// ErrNotFunded, ErrPacketCancelled, ErrRefunded, ErrSoldOut or ErrExpired.
// None of these records a claim. If the claim is recorded but its payment
// fails, Claim returns the claim with ErrPaymentPending wrapping the
// cause; claiming again or Reconcile pays it. Errors also include those of
// Members and of the store failing, after which the claim may or may not
// be recorded (and, on a MemoryStore or a PayingStore, paid with it):
// claiming again returns it.
func (s *Service) Claim(ctx context.Context, req ClaimRequest) (_ Claim, err error) {
	ctx, sp := s.tel.claim.Start(ctx)
	var cur ledger.Currency // the packet's, once known
	if sp.On() {
		sp.ID(req.Packet)
		defer func() { sp.End(ctx, err, cur.Code()) }()
	}
	if req.User == uuid.Nil || req.Account == uuid.Nil {
		return Claim{}, fmt.Errorf("%w: no user or account", ErrInvalidRequest)
	}
	if len(req.Password) > MaxPasswordInputBytes { // before the store and Members
		return Claim{}, fmt.Errorf("claim packet %s: %w: %d bytes, at most %d", req.Packet, ErrBadPassword, len(req.Password), MaxPasswordInputBytes)
	}
	e, err := s.entry(ctx, req.Packet)
	if err != nil {
		return Claim{}, err
	}
	p := e.p
	cur = p.Total.Currency()
	if err := s.eligible(ctx, p, &req); err != nil {
		return Claim{}, err
	}
	if c, ok, err := e.answer(ctx, s.store, req.User); ok {
		return c, err
	}
	if e.mem != nil || s.paying != nil {
		return s.claimPaying(ctx, e, &req)
	}
	if err := s.checkWallet(ctx, p, req.Account); err != nil {
		return Claim{}, err
	}
	res, err := s.store.Claim(ctx, p.ID, req.User, req.Account, ledger.Timestamp(s.now()))
	if err != nil {
		if reason := closedErr(err); reason != nil {
			e.close(reason)
		}
		return Claim{}, err
	}
	if res.State.Status == StatusSoldOut {
		e.close(ErrSoldOut)
	}
	if res.Claim.Posted {
		return res.Claim, nil
	}
	return s.pay(ctx, p, e.pid, res.Claim, s.asyncMarks)
}

// claimPaying claims on a store that records and pays a claim in one
// step — a MemoryStore (MemoryStore.claimPaying, the payment made under
// the packet's lock) or a PayingStore (ClaimPaid, one transaction with
// the ledger) — with no wallet read before and no paid mark after; what
// follows the step is the same for both.
func (s *Service) claimPaying(ctx context.Context, e *cached, req *ClaimRequest) (Claim, error) {
	p := e.p
	now := ledger.Timestamp(s.now())
	var res ClaimResult
	var outcome payOutcome
	var payErr, err error
	if e.mem != nil {
		res, outcome, err = s.mem.claimPaying(ctx, e.mem, req.User, req.Account, now, func(c Claim) payOutcome {
			_, payErr = s.pl.Transfer(ctx, s.claimTransfer(p, e.pid, &c))
			switch {
			case payErr == nil:
				return payDone
			case ledger.Refused(payErr):
				return payRefused
			}
			return payUnknown
		})
	} else {
		res, err = s.paying.ClaimPaid(ctx, p.ID, req.User, req.Account, now, s.l.Now(), func(c Claim) ledger.Transfer {
			return s.claimTransfer(p, e.pid, &c)
		})
		switch {
		case err == nil && !res.Existing:
			outcome = payDone
		case ledger.Refused(err): // nothing recorded
			outcome, payErr, err = payRefused, err, nil
		}
	}
	if err != nil {
		// The wallet's errors come before the packet's, as on other stores.
		if werr := s.checkWallet(ctx, p, req.Account); werr != nil {
			return Claim{}, werr
		}
		if reason := closedErr(err); reason != nil {
			e.close(reason)
		}
		return Claim{}, err
	}
	if res.State.Status == StatusSoldOut {
		e.close(ErrSoldOut)
	}
	switch {
	case res.Existing && res.Claim.Posted:
		return res.Claim, nil
	case res.Existing:
		return s.pay(ctx, p, e.pid, res.Claim, s.asyncMarks)
	case outcome == payRefused:
		return Claim{}, fmt.Errorf("claim packet %s: %w", p.ID, payErr)
	case outcome == payUnknown:
		return res.Claim, fmt.Errorf("claim packet %s: %w: %w", p.ID, ErrPaymentPending, payErr)
	}
	if res.State.Complete() && !res.State.Settled {
		_ = s.settle(ctx, p.ID, p.Escrow) // a failure here is Reconcile's to finish; the claim is paid
	}
	return res.Claim, nil
}

// entry returns the cached packet, loading it from the store once.
func (s *Service) entry(ctx context.Context, id uuid.UUID) (*cached, error) {
	if e := s.cache.get(id); e != nil {
		return e, nil
	}
	var p Packet
	var mp *memPacket
	var err error
	if s.mem != nil {
		if err = ctx.Err(); err != nil {
			return nil, err
		}
		if mp, err = s.mem.get(id); err != nil {
			return nil, err
		}
		p = mp.withoutShares() // the cache keeps none
	} else if p, err = s.store.Packet(ctx, id); err != nil {
		return nil, err
	}
	e := s.cache.add(&p, mp)
	switch p.Status {
	case StatusSoldOut:
		e.close(ErrSoldOut)
	case StatusRefunding, StatusRefunded:
		e.close(ErrRefunded)
	case StatusCancelled:
		e.close(ErrPacketCancelled)
	}
	return e, nil
}

// eligible checks whether the user may claim the packet at all.
func (s *Service) eligible(ctx context.Context, p *Packet, req *ClaimRequest) error {
	if p.Group != uuid.Nil {
		if err := s.member(ctx, p.Group, req.User, "claimer"); err != nil {
			return fmt.Errorf("claim packet %s: %w", p.ID, err)
		}
	}
	if p.Recipient != uuid.Nil && req.User != p.Recipient {
		return fmt.Errorf("claim packet %s: %w", p.ID, ErrNotRecipient)
	}
	if req.User == p.Sender && !p.SenderMayGrab {
		return fmt.Errorf("claim packet %s: %w", p.ID, ErrSenderCannotGrab)
	}
	if p.Kind == Password && !s.pw.Matches(p.ID, p.PasswordHash, req.Password) {
		return fmt.Errorf("claim packet %s: %w", p.ID, ErrWrongPassword)
	}
	return nil
}

// checkWallet refuses a claim whose share could not be paid to account, so
// that no recorded claim is left unpayable.
func (s *Service) checkWallet(ctx context.Context, p *Packet, account uuid.UUID) error {
	a, err := s.l.Account(ctx, account)
	switch {
	case err != nil:
		return fmt.Errorf("claim packet %s: wallet: %w", p.ID, err)
	case a.Currency != p.Total.Currency():
		return fmt.Errorf("claim packet %s: wallet %s in %v, packet in %v: %w", p.ID, account, a.Currency, p.Total.Currency(), ledger.ErrCurrencyMismatch)
	case a.Status == ledger.AccountClosed:
		return fmt.Errorf("claim packet %s: wallet %s: %w", p.ID, account, ledger.ErrAccountClosed)
	case a.Status == ledger.AccountFrozen:
		return fmt.Errorf("claim packet %s: wallet %s: %w", p.ID, account, ledger.ErrAccountFrozen)
	}
	return nil
}

// pay pays a recorded claim's share from escrow to the claimer — or back
// to the sender when the claimer's wallet is closed, which it is for good —
// and marks the claim paid: before returning, or in the background when
// background is set (Config.AsyncMarks). pid is p.ID.String().
func (s *Service) pay(ctx context.Context, p *Packet, pid string, c Claim, background bool) (Claim, error) {
	var returned error
	if _, err := s.pl.Transfer(ctx, s.claimTransfer(p, pid, &c)); err != nil {
		if !walletClosed(err, c.Account) {
			return c, fmt.Errorf("claim packet %s: %w: %w", p.ID, ErrPaymentPending, err)
		}
		// The ledger refused the payment and always will: it never moved
		// and never can, so the share may go back to the sender.
		if _, rerr := s.pl.Transfer(ctx, s.returnTransfer(p, pid, &c)); rerr != nil {
			return c, fmt.Errorf("claim packet %s: %w: %w; returning the share to the sender: %w", p.ID, ErrPaymentPending, err, rerr)
		}
		returned = fmt.Errorf("claim packet %s: %w: %w", p.ID, ErrShareReturned, err)
	}
	c.Posted = true
	id, escrow, user := p.ID, p.Escrow, c.User
	if background && s.marks.start() {
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
			defer cancel()
			s.marks.done(s.markPaid(ctx, id, escrow, user))
		}()
		return c, returned
	}
	_ = s.markPaid(ctx, id, escrow, user) // a failure here is the retry's or Reconcile's to finish; the money moved
	return c, returned
}

// walletClosed reports whether err is the ledger refusing a payment
// because account is closed.
func walletClosed(err error, account uuid.UUID) bool {
	var ae *ledger.AccountError
	return ledger.Refused(err) && errors.As(err, &ae) && ae.ID == account && errors.Is(ae.Err, ledger.ErrAccountClosed)
}

// markPaid records that a claim's share moved (Store.MarkPosted); the mark
// that completes a finished packet settles it.
func (s *Service) markPaid(ctx context.Context, id, escrow, user uuid.UUID) error {
	st, err := s.store.MarkPosted(ctx, id, user)
	if err != nil {
		return fmt.Errorf("claim packet %s: mark paid: %w", id, err)
	}
	if st.Complete() && !st.Settled {
		return s.settle(ctx, id, escrow)
	}
	return nil
}

// claimTransfer is the payment of claim c of packet p (whose ID reads pid).
func (s *Service) claimTransfer(p *Packet, pid string, c *Claim) ledger.Transfer {
	return ledger.Transfer{
		ID: s.claimTransferID(pid, c.User), DebitAccountID: p.Escrow, CreditAccountID: c.Account,
		Amount: c.Amount, Code: s.codes.Claim,
	}
}

// returnTransfer gives claim c's share back to p's sender.
func (s *Service) returnTransfer(p *Packet, pid string, c *Claim) ledger.Transfer {
	return ledger.Transfer{
		ID: s.returnTransferID(pid, c.User), DebitAccountID: p.Escrow, CreditAccountID: p.SenderAccount,
		Amount: c.Amount, Code: s.codes.Refund,
	}
}

// settle closes a complete packet's escrow account (now exactly zero) and
// records it.
func (s *Service) settle(ctx context.Context, id, escrow uuid.UUID) error {
	if _, err := s.l.Close(ctx, escrow); err != nil {
		return fmt.Errorf("settle packet %s: close escrow: %w", id, err)
	}
	if _, err := s.store.Settle(ctx, id); err != nil {
		return fmt.Errorf("settle packet %s: %w", id, err)
	}
	return nil
}

// Flush waits until no paid mark is in flight in the background
// (Config.AsyncMarks), or until ctx ends. It returns the errors of the
// background marks that failed since the last Flush (the first ten, and
// how many there were): those claims are paid, but read as unpaid until
// their retry or Reconcile marks them. Without AsyncMarks it returns nil
// at once.
//
// Errors: ctx's error, and those of the marks.
func (s *Service) Flush(ctx context.Context) error {
	return s.marks.wait(ctx)
}

// markTracker counts the paid marks in flight in the background.
type markTracker struct {
	mu     sync.Mutex
	closed bool          // Close: no more background marks
	n      int           // marks in flight
	idle   chan struct{} // closed when n drops to 0; nil while n is 0
	errs   []error       // failures since the last wait, the first maxMarkErrors
	failed int           // failures since the last wait
}

const (
	// maxMarksInFlight bounds the background marks: beyond it a claim
	// marks before it returns, so a slow store slows claims down instead
	// of piling up goroutines.
	maxMarksInFlight = 4096
	maxMarkErrors    = 10
	// markTimeout bounds a background mark, which runs under none of the
	// claim's cancellation.
	markTimeout = 30 * time.Second
)

// start counts a mark in; it reports false when too many are in flight,
// or after Close.
func (m *markTracker) start() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n >= maxMarksInFlight || m.closed {
		return false
	}
	m.n++
	if m.idle == nil {
		m.idle = make(chan struct{})
	}
	return true
}

// done counts a mark out, with its error.
func (m *markTracker) done(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if len(m.errs) < maxMarkErrors {
			m.errs = append(m.errs, err)
		}
		m.failed++
	}
	if m.n--; m.n == 0 {
		close(m.idle)
		m.idle = nil
	}
}

// Close ends the background work of Config.AsyncMarks: from now on a claim
// marks itself paid before it returns, and Close waits until every mark in
// flight has ended, with no deadline (each one's is 30 s). Flush still
// reports the marks that failed. The Service keeps working; Close makes
// it own no goroutine. Calling it again is a no-op.
func (s *Service) Close() {
	s.marks.mu.Lock()
	s.marks.closed = true
	s.marks.mu.Unlock()
	_ = s.marks.quiet(context.Background())
}

// quiet waits until no mark is in flight.
func (m *markTracker) quiet(ctx context.Context) error {
	m.mu.Lock()
	idle := m.idle
	m.mu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// wait waits until no mark is in flight and returns the failures since the
// last wait.
func (m *markTracker) wait(ctx context.Context) error {
	if err := m.quiet(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failed == 0 {
		return nil
	}
	err := fmt.Errorf("%d background paid marks failed (Reconcile records them): %w", m.failed, errors.Join(m.errs...))
	m.errs, m.failed = nil, 0
	return err
}

// View is a packet as its group sees it.
type View struct {
	// Packet without its Shares (the shares not yet claimed stay secret)
	// and its PasswordHash.
	Packet Packet `json:"packet"`
	// Claims are the claims in claim order: who, how much, when.
	Claims []Claim `json:"claims"`
	// Remaining and RemainingAmount are the shares and amount not claimed.
	Remaining       int          `json:"remaining"`
	RemainingAmount ledger.Money `json:"remaining_amount"`
	// Refund is the remainder refunded to the sender, once refunding.
	Refund ledger.Money `json:"refund"`
	// BestLuck is the index in Claims of the best-luck claim (手气最佳),
	// or -1 while the packet is not fully claimed.
	BestLuck int `json:"best_luck"`
}

// View returns a packet with its claims, as of one moment.
//
// Errors: ErrPacketNotFound.
func (s *Service) View(ctx context.Context, id uuid.UUID) (View, error) {
	p, err := s.store.Packet(ctx, id)
	if err != nil {
		return View{}, err
	}
	claims, err := s.store.Claims(ctx, id)
	if err != nil {
		return View{}, err
	}
	claims = claims[:min(len(claims), p.Claimed)] // claims made after the packet was read
	v := View{
		Claims: claims, Remaining: p.Remaining(), RemainingAmount: p.RemainingAmount(),
		Refund: p.Refund(), BestLuck: -1,
	}
	if p.Status == StatusSoldOut {
		amounts := make([]int64, len(claims))
		for i := range claims {
			amounts[i] = claims[i].Amount.Units()
		}
		v.BestLuck, _ = BestLuck(amounts)
	}
	p.Shares, p.PasswordHash = nil, nil
	v.Packet = p
	return v, nil
}

// sweepPage is how many packets RefundExpired and Reconcile read at once.
const sweepPage = 256

// RefundExpired refunds every packet that expired at or before now with
// shares left: it closes the packet for claims and fixes the refund in one
// atomic store step (Store.BeginRefund), moves exactly the unclaimed
// remainder from escrow back to the sender (ledger ID RefundTransferID),
// and records it. It sweeps the store by cursor. Running it again, or from
// two processes at once, refunds each packet once: the store agrees on one
// refund amount and the ledger applies the refund's ID once. A claim
// recorded before the packet closed keeps its share and is paid even if
// its payment lands after the refund.
//
// It returns how many packets it saw refunded, and the errors of packets
// it could not finish (the sweep goes on past them; run it again).
// Maintain runs it, then Reconcile.
func (s *Service) RefundExpired(ctx context.Context, now time.Time) (n int, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "refund_expired")
	defer func() { sw.End(ctx, err, telemetry.Item{Result: "refunded", N: n}) }()
	return s.refundExpired(ctx, now)
}

func (s *Service) refundExpired(ctx context.Context, now time.Time) (int, error) {
	n := 0
	var errs []error
	cur := Cursor{}
	for {
		ps, err := s.store.Expired(ctx, now, cur, sweepPage)
		if err != nil {
			return n, errors.Join(append(errs, fmt.Errorf("refund expired: %w", err))...)
		}
		for i := range ps {
			refunded, err := s.refund(ctx, ps[i].ID, now)
			if err != nil {
				errs = append(errs, err)
			} else if refunded {
				n++
			}
		}
		if len(ps) < sweepPage {
			return n, errors.Join(errs...)
		}
		cur = CursorOf(&ps[len(ps)-1])
	}
}

// refund refunds one expired packet; it reports false for a packet that
// sold out after it was listed (nothing to refund).
func (s *Service) refund(ctx context.Context, id uuid.UUID, now time.Time) (bool, error) {
	p, err := s.store.BeginRefund(ctx, id, now)
	switch {
	case errors.Is(err, ErrSoldOut):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("refund packet %s: %w", id, err)
	}
	_, err = s.finishRefund(ctx, &p)
	return err == nil, err
}

// finishRefund pays a refunding packet's remainder back to the sender and
// records it; it reports whether it settled the packet.
func (s *Service) finishRefund(ctx context.Context, p *Packet) (bool, error) {
	if err := s.moveRefund(ctx, p); err != nil {
		return false, err
	}
	st, err := s.store.FinishRefund(ctx, p.ID)
	if err != nil {
		return false, fmt.Errorf("refund packet %s: %w", p.ID, err)
	}
	if st.Complete() && !st.Settled {
		return true, s.settle(ctx, p.ID, p.Escrow)
	}
	return false, nil
}

// moveRefund moves a refunding (or refunded) packet's remainder from
// escrow back to the sender, if there is one.
func (s *Service) moveRefund(ctx context.Context, p *Packet) error {
	amount := p.RemainingAmount()
	if !amount.IsPositive() {
		return nil
	}
	_, err := s.l.Transfer(ctx, ledger.Transfer{
		ID: s.RefundTransferID(p.ID), DebitAccountID: p.Escrow, CreditAccountID: p.SenderAccount,
		Amount: amount, Code: s.codes.Refund,
	})
	if err != nil {
		return fmt.Errorf("refund packet %s: %w", p.ID, err)
	}
	return nil
}

// ReconcileReport says what Reconcile finished and what it repaired.
type ReconcileReport struct {
	Funded    int `json:"funded"`    // funding packets whose money had reached escrow: opened
	Cancelled int `json:"cancelled"` // funding packets whose money never came: cancelled
	Paid      int `json:"paid"`      // recorded claims paid
	Returned  int `json:"returned"`  // recorded claims whose wallet had closed: shares returned to the sender (see Claim)
	Refunded  int `json:"refunded"`  // refunds finished
	Settled   int `json:"settled"`   // escrow accounts closed by a refund or a settling step of Reconcile

	// Repairs of records that disagreed with the ledger (see Check).

	Marked         int `json:"marked"`          // claims paid on the ledger, recorded unpaid: recorded paid (ProblemPaymentUnrecorded)
	Repaid         int `json:"repaid"`          // claims recorded paid, not paid on the ledger: paid (ProblemClaimUnpaid)
	RefundMoved    int `json:"refund_moved"`    // refunds recorded, not on the ledger: moved (ProblemRefundNotMoved)
	RefundRecorded int `json:"refund_recorded"` // refunds on the ledger of packets recorded open: recorded (ProblemRefundUnrecorded)
	// Unrepaired counts the disagreements Reconcile found and could not
	// repair: a transfer on an escrow account no record explains, amounts
	// that differ, records that disagree among themselves. They need a
	// person; Reconcile's error holds each as a *Problem (ErrCheck).
	Unrepaired int `json:"unrepaired"`
}

// Reconcile finishes what a crash (or a failing store or ledger) left half
// done, for packets that need it (Store.Unsettled), and first audits each
// of them against the ledger (see Check) and repairs what disagrees:
//
//   - a packet still funding, created before now − Config.ReconcileAfter,
//     is opened if its funding transfer is on the ledger and cancelled
//     otherwise (see Send);
//   - a claim recorded before now − ReconcileAfter but not marked paid is
//     marked paid if its payment is on the ledger (Marked), else paid and
//     marked (Paid), or its share returned to the sender if the claimer's
//     wallet has closed (Returned, see Claim);
//   - a claim recorded paid whose payment is not on the ledger is paid
//     (Repaid);
//   - a refund recorded but not on the ledger is moved (RefundMoved); a
//     refund on the ledger of a packet recorded open closes the packet and
//     is recorded (RefundRecorded); a refund begun but not recorded as
//     done is finished (Refunded);
//   - a finished packet with every claim paid has its escrow account
//     closed and is marked settled.
//
// What it cannot repair (ProblemPaidWithoutClaim, ProblemAmount,
// ProblemRecords, ProblemFunding, a refund of a sold-out packet) it
// counts in ReconcileReport.Unrepaired and returns in its error (each a
// *Problem matching ErrCheck), and leaves as it is.
// It visits the packets Store.Unsettled lists and the expired packets
// still open (Store.Expired). Other packets (open with every claim paid,
// settled, cancelled) need nothing: an open packet is audited once it
// sells out or is refunded, before its escrow account closes; Check
// audits them all.
//
// Every step is idempotent, so Reconcile may run at any time, repeatedly
// and from several processes at once. It returns what it did and the
// errors of the packets it could not finish (it goes on past them).
// Maintain runs it.
func (s *Service) Reconcile(ctx context.Context, now time.Time) (rep ReconcileReport, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "reconcile")
	defer func() { sw.End(ctx, err, rep.items()...) }()
	return s.reconcileAll(ctx, now)
}

func (s *Service) reconcileAll(ctx context.Context, now time.Time) (ReconcileReport, error) {
	var rep ReconcileReport
	var errs []error
	cutoff := now.Add(-s.reconcileAfter)
	cur := Cursor{}
	for {
		ps, err := s.store.Unsettled(ctx, cur, sweepPage)
		if err != nil {
			return rep, errors.Join(append(errs, fmt.Errorf("reconcile: %w", err))...)
		}
		for i := range ps {
			if err := s.reconcile(ctx, &ps[i], now, cutoff, &rep); err != nil {
				errs = append(errs, fmt.Errorf("reconcile packet %s: %w", ps[i].ID, err))
			}
		}
		if len(ps) < sweepPage {
			break
		}
		cur = CursorOf(&ps[len(ps)-1])
	}
	// Expired packets still open, which need nothing unless their refund
	// is on the ledger already (a store restored from a backup).
	for cur = (Cursor{}); ; {
		ps, err := s.store.Expired(ctx, now, cur, sweepPage)
		if err != nil {
			return rep, errors.Join(append(errs, fmt.Errorf("reconcile: %w", err))...)
		}
		for i := range ps {
			if ps[i].Status != StatusOpen || ps[i].NeedsReconcile() {
				continue // visited above
			}
			if err := s.reconcile(ctx, &ps[i], now, cutoff, &rep); err != nil {
				errs = append(errs, fmt.Errorf("reconcile packet %s: %w", ps[i].ID, err))
			}
		}
		if len(ps) < sweepPage {
			return rep, errors.Join(errs...)
		}
		cur = CursorOf(&ps[len(ps)-1])
	}
}

func (s *Service) reconcile(ctx context.Context, listed *Packet, now, cutoff time.Time, rep *ReconcileReport) error {
	if listed.Status == StatusFunding {
		if listed.CreatedAt.After(cutoff) {
			return nil
		}
		st, err := s.resolveFunding(ctx, listed)
		if err != nil {
			return err
		}
		if st.Status == StatusCancelled {
			rep.Cancelled++
			return nil
		}
		rep.Funded++
	}
	p, claims, a, err := s.auditPacket(ctx, listed.ID, cutoff)
	if err != nil {
		return err
	}
	var unrepaired []Problem
	for _, pr := range a.problems {
		switch {
		case pr.Kind == ProblemClaimUnpaid, pr.Kind == ProblemPaymentUnrecorded, pr.Kind == ProblemRefundNotMoved:
		case pr.Kind == ProblemRefundUnrecorded && p.Status == StatusOpen:
		default:
			unrepaired = append(unrepaired, pr)
		}
	}
	if len(unrepaired) > 0 {
		// Nothing more is done for this packet: settling it would close an
		// escrow account whose records are wrong.
		rep.Unrepaired += len(unrepaired)
		return problemsErr(unrepaired)
	}
	pid := p.ID.String()
	for i := range claims {
		c := claims[i]
		paid := a.paid[c.User]
		switch {
		case c.Posted && paid, !c.Posted && c.ClaimedAt.After(cutoff):
			continue
		case !c.Posted && paid:
			if err := s.markPaid(ctx, p.ID, p.Escrow, c.User); err != nil {
				return err
			}
			rep.Marked++
			continue
		}
		_, err := s.pay(ctx, &p, pid, c, false)
		switch {
		case errors.Is(err, ErrShareReturned):
			rep.Returned++
		case err != nil:
			return err
		case c.Posted:
			rep.Repaid++
		default:
			rep.Paid++
		}
	}
	switch {
	case p.Status == StatusRefunded && !a.refunded && p.RemainingAmount().IsPositive():
		if err := s.moveRefund(ctx, &p); err != nil {
			return err
		}
		rep.RefundMoved++
	case p.Status == StatusOpen && a.refunded:
		// The ledger says the remainder went back: the packet takes no more
		// claims, whether it has expired or not.
		np, err := s.store.BeginRefund(ctx, p.ID, laterOf(now, p.ExpiresAt))
		if err != nil {
			return err
		}
		if got := np.RemainingAmount().Units(); got != a.refundedAmount {
			pr := Problem{Kind: ProblemAmount, Packet: p.ID, Transfer: s.RefundTransferID(p.ID),
				Detail: fmt.Sprintf("refunded %v, remainder %v once closed", ledger.NewMoney(a.refundedAmount, p.Total.Currency()), np.RemainingAmount())}
			rep.Unrepaired++
			return &pr
		}
		p = np
		rep.RefundRecorded++
	}
	if p.Status == StatusRefunding {
		settled, err := s.finishRefund(ctx, &p)
		if err != nil {
			return err
		}
		rep.Refunded++
		if settled {
			rep.Settled++
		}
		return nil
	}
	// Settle what is complete but unsettled, as of now (payments above may
	// have settled it already).
	st, err := s.storeState(ctx, p.ID)
	if err != nil {
		return err
	}
	if st.Complete() && !st.Settled {
		if err := s.settle(ctx, p.ID, p.Escrow); err != nil {
			return err
		}
		rep.Settled++
	}
	return nil
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
