package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
)

// A Scenario is one kind of load. To add one, write a file with a type
// implementing Scenario and register it from that file's init:
//
//	func init() { register("redpacket", "send and claim red packets", func() Scenario { return &redPackets{} }) }
//
// The driver calls Setup once, then runs Options.Clients goroutines, each
// calling its Client's Do in a loop until the run ends.
type Scenario interface {
	// Setup creates what the run needs (accounts, balances) before the
	// clock starts.
	Setup(ctx context.Context, env *Env) error
	// Client returns the load of client i (0 ≤ i < Options.Clients); rng is
	// the client's own random source.
	Client(i int, rng *rand.Rand) Client
}

// A Client does one unit of work per Do: one request to the system under
// test. It returns how many transfers that request got acknowledged.
// Errors are reported through Env.Submit's bookkeeping, so Do itself
// returns only when ctx ends (err is then ctx's error) or when it has an
// answer.
type Client interface {
	Do(ctx context.Context) (transfers int, err error)
}

// A Verifier is a scenario that checks its own work after the run (with
// -verify) instead of Env's transfer recorder: the operations it
// acknowledged are stored, money is conserved, the ledger verifies. It
// returns a one-line report, and an error when something is wrong.
type Verifier interface {
	Verify(ctx context.Context) (report string, err error)
}

// A Reporter is a scenario with a line of its own to print after the
// summary line.
type Reporter interface {
	Report() string
}

// A Counter is a scenario whose operation is not a ledger transfer; Unit
// names it, plural ("claims"), for the summary and progress lines.
type Counter interface {
	Unit() string
}

func unitOf(sc Scenario) string {
	if c, ok := sc.(Counter); ok {
		return c.Unit()
	}
	return "transfers"
}

// errUsedUp is what a Client's Do returns when its scenario prepared its
// operations up front and has none left: that client stops, the others go
// on until they run out too, and the run's rate is still operations over
// the time they took.
var errUsedUp = errors.New("bench: the prepared operations are used up")

type scenarioInfo struct {
	name, help string
	make       func() Scenario
}

// scenarios is filled by the init functions of the scenario files and only
// read after that.
var scenarios = map[string]scenarioInfo{}

func register(name, help string, make func() Scenario) {
	if _, dup := scenarios[name]; dup {
		panic("bench: scenario " + name + " registered twice")
	}
	scenarios[name] = scenarioInfo{name: name, help: help, make: make}
}

func scenarioNames() []string {
	var names []string
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Options are the command line's, as scenarios see them.
type Options struct {
	Clients  int
	Batch    int // transfers per request; 0: the scenario's default
	Accounts int // accounts per scenario (spread over the clients)
	Shards   int // sub-accounts a hot account is split into (1: not split)
	Seed     uint64
	Duration time.Duration // how long the load runs (measured)
	Warmup   time.Duration // how long it runs before, uncounted
	Ops      int           // operations to prepare up front, for scenarios that must; 0: their estimate
	Verify   bool          // -verify: the run is checked afterwards
	// Duplicates is how many callers send each ledger request at once
	// (-duplicates; 0 and 1: one).
	Duplicates int
	Cells      int     // -cells: ledgers the cells scenario spreads its users over
	Cross      float64 // -cross: the cells scenario's share of payments between two cells
	Reset      bool    // -reset: the run starts from empty schemas
	Direct     bool    // -direct: cells on Citus work through the node holding them
	HTTP       string  // -http: the URL of a running bankd, for the scenarios that drive one
}

// Env is what a scenario works with.
type Env struct {
	Opts     Options
	Ledger   *ledger.Ledger
	Store    ledger.Store // what the Ledger writes to (group commit, if any, included)
	Currency ledger.Currency
	// DB is the database of -store postgres (the bench's schema, already
	// migrated), on which the feature scenarios build their stores; nil on
	// the memory store.
	DB *postgres.DB

	// openNode opens a migrated schema on another server with the
	// bench's configuration (-direct).
	openNode func(ctx context.Context, host string, port uint16, schema string) (*postgres.DB, error)

	rec      *recorder  // nil unless -verify
	lookup   lookupFunc // finds stored transfers, for verification
	errors   atomic.Int64
	rejected atomic.Int64
	unknown  atomic.Int64 // operations abandoned with their outcome unknown (the store failing as the run ended)
	diverged atomic.Int64 // duplicate copies of a request answered differently from the first (-duplicates)
}

// estimate is how many operations a run (Opts.Warmup and Opts.Duration)
// needs at about perSecond on the memory store or pgPerSecond on
// PostgreSQL, unless Opts.Ops says.
func (e *Env) estimate(perSecond, pgPerSecond float64) int {
	if e.Opts.Ops > 0 {
		return e.Opts.Ops
	}
	if e.DB != nil {
		perSecond = pgPerSecond
	}
	return max(1000, int(perSecond*(e.Opts.Warmup+e.Opts.Duration).Seconds()))
}

// storeFailed reports whether err is the store failing rather than an
// answer: the operation's outcome is unknown and the same operation may be
// sent again.
func storeFailed(err error) bool {
	return errors.Is(err, postgres.ErrUnavailable) || errors.Is(err, postgres.ErrRetriesExhausted)
}

// retry is for an operation that failed with err: while err is the store
// failing (storeFailed) it counts the failure in Env's errors, waits a
// backoff and runs op again under opCtx, the scenario's own context, not
// the run's: an operation started before the run's clock stops runs to
// its end and is counted. Only if the run ends (ctx) while op keeps
// failing does retry give up: the operation is counted as unknown and
// ctx's error returned. Any other error (or nil) is op's answer.
func (e *Env) retry(ctx, opCtx context.Context, err error, op func(ctx context.Context) error) error {
	for wait := time.Millisecond; storeFailed(err); wait = min(2*wait, time.Second) {
		e.errors.Add(1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			e.unknown.Add(1)
			return ctx.Err()
		}
		err = op(opCtx)
	}
	return err
}

// feature is what the product scenarios (redpacket, phone, qr) share:
// their environment, the context their operations run under, the count of
// operations answered with success, and the ledger as the run began.
type feature struct {
	env    *Env
	ctx    context.Context // Setup's: operations run under it to their end
	acked  atomic.Int64    // operations answered with success
	before ledger.VerifyReport
}

// setup keeps env and Setup's ctx.
func (f *feature) setup(ctx context.Context, env *Env) {
	f.env, f.ctx = env, ctx
}

// begin records (with -verify) the ledger as the run begins, for Verify to
// tell what the run moved; a scenario calls it last in its Setup.
func (f *feature) begin() error {
	if !f.env.Opts.Verify {
		return nil
	}
	var err error
	f.before, err = snapshot(f.ctx, f.env.Ledger)
	return err
}

// do runs op, one operation, to its end under Setup's context even if the
// run (ctx) ends meanwhile, and again while the store fails (Env.retry).
// An operation answered with success is counted in acked, and is the one
// operation Do returns. A Do checks that the run goes on before it takes
// the operation's number and calls do: do does not check again, so that
// no number is taken for an operation that never runs.
func (f *feature) do(ctx context.Context, op func(ctx context.Context) error) (int, error) {
	if err := f.env.retry(ctx, f.ctx, op(f.ctx), op); err != nil {
		return 0, err
	}
	f.acked.Add(1)
	return 1, nil
}

// Submit sends ts as one request — CreateTransfer for one transfer, an
// independent CreateTransfers batch for more — and sends the same
// transfers again while the store fails (a lost answer is retried with the
// same IDs, as a bank's client must), until it has an answer or ctx ends.
// It returns how many transfers were acknowledged; transfers a rule
// refused count as rejected. With Options.Duplicates above 1 the request
// is sent by that many callers at once, as a client's retries reach
// several instances of a service: every copy must get the same answer for
// each transfer, and a copy that does not counts as diverged.
func (e *Env) Submit(ctx context.Context, ts []ledger.Transfer) (int, error) {
	att := e.rec.attempt(ts)
	var results []ledger.Result
	var err error
	if d := e.Opts.Duplicates; d > 1 {
		copies, errs := make([][]ledger.Result, d), make([]error, d)
		var wg sync.WaitGroup
		for i := range d {
			wg.Go(func() { copies[i], errs[i] = e.submit(ctx, ts) })
		}
		wg.Wait()
		results, err = copies[0], errs[0]
		for i := 1; i < d && err == nil; i++ {
			if errs[i] != nil {
				err = errs[i]
				break
			}
			for j := range results {
				if (copies[i][j].Err == nil) != (results[j].Err == nil) {
					e.diverged.Add(1)
				}
			}
		}
	} else {
		results, err = e.submit(ctx, ts)
	}
	if err != nil {
		return 0, err
	}
	att.answer()
	acked := 0
	for i, r := range results {
		if r.Err != nil {
			e.rejected.Add(1)
			continue
		}
		acked++
		att.ack(i)
	}
	return acked, nil
}

// submit sends ts until the store answers or ctx ends (see Submit).
func (e *Env) submit(ctx context.Context, ts []ledger.Transfer) ([]ledger.Result, error) {
	for wait := time.Millisecond; ; wait = min(2*wait, time.Second) {
		now := e.Ledger.Now()
		var results []ledger.Result
		var err error
		if len(ts) == 1 {
			var r ledger.Result
			r, err = e.Store.CreateTransfer(ctx, ts[0], now)
			results = []ledger.Result{r}
		} else {
			results, err = e.Store.CreateTransfers(ctx, ts, false, now)
		}
		if err == nil {
			return results, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e.errors.Add(1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Wallets creates n accounts that cannot go negative, each funded with
// amount (minor units) from a bank account, concurrently.
func (e *Env) Wallets(ctx context.Context, n int, amount int64) ([]uuid.UUID, error) {
	bank, err := e.Ledger.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: e.Currency, Code: 1})
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.New()
	}
	err = parallel(ctx, e.Opts.Clients, n, func(ctx context.Context, i int) error {
		_, err := e.Ledger.CreateAccount(ctx, ledger.Account{ID: ids[i], Currency: e.Currency, Code: 2, Flags: ledger.DebitsMustNotExceedCredits})
		return err
	})
	if err != nil || amount == 0 {
		return ids, err
	}
	err = inChunks(ctx, 1, 500, ids, func(ctx context.Context, chunk []uuid.UUID) error {
		var ts []ledger.Transfer
		for _, id := range chunk {
			ts = append(ts, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: id, Amount: ledger.NewMoney(amount, e.Currency)})
		}
		rs, err := e.Ledger.Batch(ctx, ts)
		for _, r := range rs {
			err = errors.Join(err, r.Err)
		}
		return err
	})
	return ids, err
}

// parallel runs fn(0…n-1) on workers goroutines, stopping at the first
// error.
func parallel(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(fmt.Errorf("item %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// inChunks runs fn on the chunks of items, size each (the last shorter),
// on workers goroutines, stopping at the first error (parallel).
func inChunks[T any](ctx context.Context, workers, size int, items []T, fn func(ctx context.Context, chunk []T) error) error {
	return parallel(ctx, workers, (len(items)+size-1)/size, func(ctx context.Context, c int) error {
		return fn(ctx, items[c*size:min(len(items), (c+1)*size)])
	})
}

// partition returns client i's share of ids: each client works on accounts
// of its own, so clients never wait for each other's locks unless the
// scenario shares an account on purpose.
func partition(ids []uuid.UUID, i, clients int) []uuid.UUID {
	per := len(ids) / clients
	return ids[i*per : (i+1)*per]
}

// pair picks two different accounts of ids.
func pair(rng *rand.Rand, ids []uuid.UUID) (uuid.UUID, uuid.UUID) {
	a := rng.IntN(len(ids))
	b := rng.IntN(len(ids) - 1)
	if b >= a {
		b++
	}
	return ids[a], ids[b]
}

// NewID returns a new random (version 4) transfer ID from rng.
func (e *Env) NewID(rng *rand.Rand) uuid.UUID {
	var id uuid.UUID
	for i := 0; i < 16; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			id[i+j] = byte(v >> (8 * j))
		}
	}
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}
