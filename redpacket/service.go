package redpacket

import (
	"context"
	cryptorand "crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

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
	// Store keeps packets and claims, shared by every instance
	// (postgres.RedPacketStore): an instance with a store of its own
	// would not know the others' packets, claims and sends. Nil is
	// refused unless SingleProcess is set, when it means a new
	// MemoryStore.
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
	// With a PayingStore the Service pays claims through (see Claim) it
	// changes little: claims on it are recorded and paid in one step, with
	// no separate mark.
	AsyncMarks bool
	// PasswordKey hashes the phrases of password packets (口令), which are
	// stored only as those hashes (see PasswordKey). Every Service on one
	// store must use the same key, loaded from outside the database; New
	// refuses a nil key unless SingleProcess is set.
	PasswordKey *PasswordKey
	// SingleProcess declares that this Service is the only one that will
	// ever use its store — a test, an example, a simulation on a
	// MemoryStore. A nil Store then means a MemoryStore of its own, paying
	// claims on Ledger; with
	// no PasswordKey it hashes phrases under a random key of its own:
	// password packets it sends cannot be claimed through any other
	// Service, nor after a restart.
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
// retry, a duplicate request or a crash and retry moves money once. On a
// PayingStore that pays on the Service's ledger, a send, a claim and a
// refund each record and move their money in one atomic step; on another
// store each records its intent first, then writes to the ledger, then
// records the outcome, and Reconcile finishes whatever a crash left
// between two steps.
// A Service is safe for concurrent use, and several Services (processes)
// may share one store and ledger.
type Service struct {
	l              *ledger.Ledger
	pl             *ledger.Ledger // claim payments: l, or l's store behind a GroupCommit
	store          Store
	paying         PayingStore // store, when it pays claims on the ledger's store in one step
	members        Members
	rules          map[ledger.Currency]Rules
	rand           io.Reader
	now            func() time.Time
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
// Errors: ErrInvalidConfig (no ledger or members, no Store or
// PasswordKey without SingleProcess, or Rules that do not Validate, also
// matching ErrInvalidRules).
func New(cfg Config) (*Service, error) {
	if cfg.Ledger == nil || cfg.Members == nil {
		return nil, fmt.Errorf("%w: Ledger and Members are required", ErrInvalidConfig)
	}
	if cfg.Store == nil && !cfg.SingleProcess {
		return nil, fmt.Errorf("%w: no Store: instances must share one (postgres.RedPacketStore), or set Config.SingleProcess for the only instance", ErrInvalidConfig)
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
		now: cfg.Now, ns: cfg.Namespace, codes: cfg.Codes,
		reconcileAfter: max(0, cfg.ReconcileAfter), asyncMarks: cfg.AsyncMarks, pw: pw,
		tel: newServiceTelemetry(&cfg),
	}
	if s.store == nil {
		s.store = NewMemoryStore(s.l)
	}
	if ps, ok := s.store.(PayingStore); ok && ps.PaysOn(ledger.Unwrap(s.l.Store())) {
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

// PacketID returns the ID of the packet that sender's send request with
// idempotency key key records (see SendRequest.Key).
func (s *Service) PacketID(sender uuid.UUID, key string) uuid.UUID {
	return ledger.DeriveID(s.ns, "redpacket/send", sender.String(), key)
}

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
