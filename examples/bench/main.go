// Command bench is socialpay's load generator, pgbench for the ledger: it
// creates the accounts it needs, drives a scenario from many clients,
// prints a progress line every few seconds and one summary line per run
// (with transfers/s and p50/p99 latency per request), and with -verify
// checks afterwards that every acknowledged transfer is stored with the
// right amount, that no request was applied in part, and that the ledger
// verifies.
//
//	go run ./examples/bench -store postgres -dsn postgres://root@127.0.0.1:5432/bench \
//		-clients 8 -duration 30s -scenario batch -batch 100 -verify
//
// Scenarios: transfer (one transfer per request), batch (independent
// batches, one commit each), hot (every transfer pays one merchant
// account; add -batch N or -group to batch it), drain (each transfer
// spends its payer's whole balance), cells (payments between users spread
// over -cells ledgers, a -cross share of them between two cells; see
// package cell). Each client works on wallets of its
// own. -duplicates N sends every ledger request from N callers at once,
// as a client's retries reach several instances of a service: each copy
// must get the first copy's answer (the summary's diverged= counts those
// that did not, and -verify fails on any). -group puts ledger.GroupCommit between the ledger
// and the store, so concurrent single transfers share commits.
//
// The product scenarios drive the feature packages end to end on the same
// ledger and, with -store postgres, on their PostgreSQL stores in the
// same schema: redpacket (claims of lucky packets, many open at once),
// redpacket-soldout (taps on sold-out packets: the fast path), phone
// (resolve a mobile number, pay it at once) and qr (payment-code
// charges). http-redpacket makes the redpacket scenario's claims through
// a running bankd (examples/bankd, -http URL), one HTTP request each, to
// compare the reference service with the library called directly on the
// same store (scripts/bankd-bench.sh runs both). Each counts its own
// operation (claims, taps, transfers, charges): the summary line names it
// (claims/s=…) and still reports it as transfers/s=, so scripts read every
// scenario alike. With -verify each
// checks what its operation promises (see each scenario's Verify).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	store, dsn, schema, scenario string
	http                         string // http-redpacket: bankd's URL
	reset, verify, group, seal   bool
	direct                       bool
	clients, batch, accounts     int
	shards, ops, duplicates      int
	minOps                       int // tests: the fewest calls a run makes, however long it takes
	inflight, cells              int
	regather                     time.Duration
	cross                        float64
	duration, progress, warmup   time.Duration
	think                        time.Duration
	seed                         uint64
	cpuprofile                   string
	out                          io.Writer // where the report goes: stdout
}

func parseFlags() (config, error) {
	c := config{out: os.Stdout}
	flag.StringVar(&c.store, "store", "memory", "memory or postgres")
	flag.StringVar(&c.dsn, "dsn", cmp.Or(os.Getenv("SOCIALPAY_PG"), "postgres://root@127.0.0.1:5432/bench?sslmode=disable"),
		"PostgreSQL connection string (-store postgres; default $SOCIALPAY_PG)")
	flag.StringVar(&c.schema, "schema", "socialpay_bench", "PostgreSQL schema for the ledger's tables")
	flag.BoolVar(&c.reset, "reset", false, "drop the schema first (-store postgres)")
	flag.BoolVar(&c.seal, "seal", true, "seal ledger entries, as a bank's service must (with a fixed key of the load generator's); "+
		"-seal=false measures without; a schema keeps one choice")
	flag.StringVar(&c.scenario, "scenario", "transfer", "one of: "+strings.Join(scenarioNames(), ", "))
	flag.StringVar(&c.http, "http", "", "http-redpacket: the URL of the running bankd to drive")
	flag.IntVar(&c.clients, "clients", 8, "concurrent clients")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "how long to drive load")
	flag.DurationVar(&c.warmup, "warmup", 0, "drive load this long first, uncounted (-store postgres: then analyze the schema, "+
		"so that tables setup leaves empty, such as the feature scenarios' records, are planned as in service; 10s is plenty)")
	flag.IntVar(&c.batch, "batch", 0, "transfers per request (0: the scenario's default)")
	flag.IntVar(&c.accounts, "accounts", 10000, "wallets to create, spread over the clients "+
		"(redpacket: the group's users; phone: payers and payees, half each; qr: payers)")
	flag.IntVar(&c.shards, "shards", 1, "hot: split the hot account into this many sub-accounts")
	flag.IntVar(&c.ops, "ops", 0, "redpacket: claims to send packets for up front (0: an estimate from -warmup, -duration and -store; "+
		"the run ends early if they are used up); redpacket-soldout: claims that sell the packets out before the taps (0: 10,240)")
	flag.IntVar(&c.duplicates, "duplicates", 1, "ledger scenarios: send every request from this many callers at once, "+
		"as a client's retries reach several instances; each copy must get the same answer (diverged= counts those that did not)")
	flag.IntVar(&c.cells, "cells", 1, "cells: how many cells (ledgers: schemas <schema>_cell_<i> on PostgreSQL) the users are spread over")
	flag.Float64Var(&c.cross, "cross", 0.1, "cells: the share of payments between two cells (0 to 1)")
	flag.BoolVar(&c.direct, "direct", false, "cells on a Citus coordinator: work on each cell through the node that holds it "+
		"(its schema migrated through the coordinator, opened there with NoMigrate), not through the coordinator")
	flag.BoolVar(&c.group, "group", false, "gather concurrent single transfers into shared commits (ledger.GroupCommit)")
	flag.IntVar(&c.inflight, "group-inflight", 1, "with -group: batches applied at once")
	flag.DurationVar(&c.regather, "group-regather", 50*time.Microsecond, "with -group: the longest wait before a batch for the callers the last one answered (0: none)")
	flag.BoolVar(&c.verify, "verify", false, "check after the run that every acknowledged operation is stored as acknowledged, "+
		"money is conserved and the ledger verifies (each scenario checks what its operation promises)")
	flag.DurationVar(&c.think, "think", 0, "each client pauses a random time of this mean (exponential) after each call: "+
		"with many clients, calls arrive as from users rather than from clients that call again at once (0: no pause)")
	flag.DurationVar(&c.progress, "progress", 5*time.Second, "progress line interval")
	flag.Uint64Var(&c.seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the load phase to this file")
	flag.Usage = func() {
		out := flag.CommandLine.Output()
		fmt.Fprintf(out, "Usage of %s:\n", os.Args[0])
		flag.PrintDefaults()
		fmt.Fprintln(out, "\nScenarios:")
		for _, n := range scenarioNames() {
			fmt.Fprintf(out, "  %-18s %s\n", n, scenarios[n].help)
		}
	}
	flag.Parse()
	switch {
	case c.store != "memory" && c.store != "postgres":
		return c, fmt.Errorf("-store %q: want memory or postgres", c.store)
	case scenarios[c.scenario].make == nil:
		return c, fmt.Errorf("-scenario %q: want one of %s", c.scenario, strings.Join(scenarioNames(), ", "))
	case c.cells < 1 || c.cross < 0 || c.cross > 1:
		return c, errors.New("-cells must be positive, -cross between 0 and 1")
	case c.clients < 1 || c.duration <= 0 || c.batch < 0 || c.progress <= 0 || c.shards < 1 || c.ops < 0 || c.warmup < 0 || c.duplicates < 1:
		return c, errors.New("-clients, -duration, -progress, -shards and -duplicates must be positive, -batch, -ops and -warmup not negative")
	}
	return c, nil
}

func run() error {
	c, err := parseFlags()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	db, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	var store ledger.Store = ledger.NewMemoryStore()
	if db != nil {
		defer db.Close()
		store = postgres.NewLedgerStore(db)
	}
	return bench(ctx, c, store, db)
}

// bench runs c's scenario on store (db is its database, nil for the
// memory store): setup, warm-up, the measured run with its summary line,
// and with c.verify the scenario's checks. It writes to c.out.
func bench(ctx context.Context, c config, store ledger.Store, db *postgres.DB) error {
	env := newEnv(c, store, db)
	sc := scenarios[c.scenario].make()
	if cl, ok := sc.(interface{ Close() }); ok {
		defer cl.Close()
	}
	setupStart := time.Now()
	if err := sc.Setup(ctx, env); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	fmt.Fprintf(c.out, "setup scenario=%s store=%s accounts=%d took=%s\n", c.scenario, c.store, c.accounts, time.Since(setupStart).Round(time.Millisecond))
	if c.warmup > 0 {
		wc := c
		wc.duration, wc.progress = c.warmup, time.Hour
		st := drive(ctx, wc, sc, 1)
		u := unitOf(sc)
		fmt.Fprintf(c.out, "warmup took=%s %s=%d %s/s=%.1f\n", st.elapsed.Round(time.Millisecond), u, st.transfers, u, float64(st.transfers)/st.elapsed.Seconds())
		switch {
		case st.err != nil:
			return fmt.Errorf("warmup: %w", st.err)
		case st.usedUp:
			return errors.New("warmup: the prepared operations were used up: raise -ops")
		}
	}
	if db != nil {
		if err := analyze(ctx, c); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	runtime.GC() // the setup's garbage is not the load's to collect

	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	env.diverged.Store(0) // the warm-up's are not the run's
	st := drive(ctx, c, sc, 0)
	pprof.StopCPUProfile()
	fmt.Fprintln(c.out, summary(c, sc, env, st))
	if r, ok := sc.(Reporter); ok {
		fmt.Fprintln(c.out, r.Report())
	}
	if st.usedUp {
		fmt.Fprintf(c.out, "note: the prepared operations were used up after %s; raise -ops for a run of the full -duration\n",
			st.elapsed.Round(time.Millisecond))
	}
	if st.err != nil {
		return st.err
	}
	if !c.verify {
		return nil
	}
	if n := env.diverged.Load(); n > 0 {
		return fmt.Errorf("verify: %d duplicate copies of requests were answered differently from their first copy", n)
	}
	vctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if v, ok := sc.(Verifier); ok {
		report, err := v.Verify(vctx)
		fmt.Fprintln(c.out, report)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		return nil
	}
	var commits commitsFunc
	if c.store == "postgres" {
		commits = xminCommits(c)
	}
	res, err := env.rec.check(vctx, env.Ledger, env.lookup, commits, c.clients)
	// A request left unanswered when the run ended may still be being
	// applied (group commit applies a batch under no caller's context, and
	// the memory store shows a batch's transfers one by one): while that is
	// all that looks wrong, look again, for up to 5 s. A request a store
	// really applied in part stays so.
	for try := 0; err == nil && res.unsettled() && try < 50; try++ {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-vctx.Done():
		}
		res, err = env.rec.check(vctx, env.Ledger, env.lookup, commits, c.clients)
	}
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	fmt.Fprintln(c.out, res)
	if !res.ok() {
		return errors.New("verification failed")
	}
	return nil
}

// newEnv builds the scenarios' environment on store (and db, nil on the
// memory store), with group commit in front when c asks for it.
func newEnv(c config, store ledger.Store, db *postgres.DB) *Env {
	front := store
	if c.group {
		front = ledger.NewGroupCommit(store, ledger.GroupCommitOptions{MaxInFlight: c.inflight, Regather: c.regather})
	}
	env := &Env{
		Opts: Options{Clients: c.clients, Batch: c.batch, Accounts: c.accounts, Shards: c.shards, Seed: c.seed,
			Duration: c.duration, Warmup: c.warmup, Ops: c.ops, Verify: c.verify, Duplicates: c.duplicates,
			Cells: c.cells, Cross: c.cross, Reset: c.reset, Direct: c.direct, HTTP: c.http},
		Ledger:   ledger.New(front, ledger.Options{}),
		Store:    front,
		DB:       db,
		Currency: ledger.MustCurrency("CNY"),
		lookup:   lookupFor(store, c.clients),
		openNode: func(ctx context.Context, host string, port uint16, schema string) (*postgres.DB, error) {
			return openNode(ctx, c, host, port, schema)
		},
	}
	if c.verify {
		env.rec = &recorder{}
	}
	return env
}

// summary is the run's summary line. A scenario whose operation is not a
// ledger transfer names it (claims=…, claims/s=…) and reports it as
// transfers too, so that every summary has transfers/s=.
func summary(c config, sc Scenario, env *Env, st stats) string {
	batch := c.batch
	if batch == 0 {
		batch = -1 // the scenario's default
	}
	secs := st.elapsed.Seconds()
	u := unitOf(sc)
	op := "op=" + u + " "
	if u != "transfers" {
		op += fmt.Sprintf("%s=%d %s/s=%.1f ", u, st.transfers, u, float64(st.transfers)/secs)
	}
	return fmt.Sprintf("summary scenario=%s store=%s clients=%d batch=%s group=%v shards=%d duration=%s %stransfers=%d transfers/s=%.1f "+
		"requests/s=%.1f p50=%s p99=%s max=%s errors=%d rejected=%d unknown=%d diverged=%d",
		c.scenario, c.store, c.clients, batchLabel(batch), c.group, c.shards, st.elapsed.Round(time.Millisecond), op, st.transfers,
		float64(st.transfers)/secs, float64(len(st.latencies))/secs, st.pct(0.50), st.pct(0.99), st.pct(1),
		env.errors.Load(), env.rejected.Load(), env.unknown.Load(), env.diverged.Load())
}

func batchLabel(b int) string {
	if b < 0 {
		return "default"
	}
	return fmt.Sprint(b)
}

// openDB opens (and migrates) the PostgreSQL schema for -store postgres;
// nil for the memory store. Unless the connection string says otherwise,
// the pool has a connection for every client (and group-commit batch)
// and a few more, and connections are named socialpay-bench.
func openDB(ctx context.Context, c config) (*postgres.DB, error) {
	if c.store == "memory" {
		return nil, nil
	}
	cfg, err := dbConfig(c)
	if err != nil {
		return nil, err
	}
	if c.reset {
		conn, err := connect(ctx, c.dsn)
		if err != nil {
			return nil, err
		}
		_, err = conn.Exec(ctx, "drop schema if exists "+pgx.Identifier{c.schema}.Sanitize()+" cascade")
		conn.Close(ctx)
		if err != nil {
			return nil, fmt.Errorf("reset: %w", err)
		}
	}
	return postgres.OpenConfig(ctx, cfg)
}

// dbConfig is the configuration of the bench's DB: c's connection string
// with a connection for every client (and group-commit batch) and a few
// more unless it says otherwise, named socialpay-bench, on c's schema,
// sealed as c says.
func dbConfig(c config) (*postgres.Config, error) {
	dsn, err := withParams(c.dsn, map[string]string{
		"pool_max_conns":   fmt.Sprint(max(c.clients, c.inflight) + 4),
		"application_name": "socialpay-bench",
	})
	if err != nil {
		return nil, err
	}
	cfg, err := postgres.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.Schema = c.schema
	if cfg.Sealer, err = benchSealer(c.seal); err != nil {
		return nil, err
	}
	cfg.Unsealed = !c.seal
	return cfg, nil
}

// openNode opens schema, migrated already, on the server at host:port
// with the bench's configuration otherwise: a Citus node that holds a
// distributed schema.
func openNode(ctx context.Context, c config, host string, port uint16, schema string) (*postgres.DB, error) {
	cfg, err := dbConfig(c)
	if err != nil {
		return nil, err
	}
	cfg.Pool.ConnConfig.Host, cfg.Pool.ConnConfig.Port = host, port
	cfg.Schema, cfg.NoMigrate = schema, true
	return postgres.OpenConfig(ctx, cfg)
}

// benchSealer returns the load generator's Sealer, or nil without seal:
// one fixed key, so that a schema sealed by one run verifies in the next.
// A bank's keys come from its KMS, never from source code.
func benchSealer(seal bool) (postgres.Sealer, error) {
	if !seal {
		return nil, nil
	}
	s, err := postgres.NewHMACSealer(postgres.SealKey{ID: 1, Secret: []byte("socialpay load generator seal key")})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// withParams returns the connection string dsn (a URL or keyword=value
// pairs) with each of params it does not set already.
func withParams(dsn string, params map[string]string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("-dsn: %w", err)
		}
		q := u.Query()
		for k, v := range params {
			if !q.Has(k) {
				q.Set(k, v)
			}
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if !strings.Contains(" "+dsn, " "+k+"=") {
			dsn += " " + k + "=" + params[k]
		}
	}
	return dsn, nil
}

// connect opens a plain connection (no pool) to dsn, for the bench's own
// statements; the pool's settings (pool_*) are not the server's.
func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	for k := range cfg.RuntimeParams {
		if strings.HasPrefix(k, "pool_") {
			delete(cfg.RuntimeParams, k)
		}
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// analyze refreshes the planner's statistics of the bench's schema after
// setup, as pgbench -i does after loading its tables: the server plans the
// store's statements (generic plans, kept for a connection's life) for
// tables as they are in service, not as they were while still empty.
func analyze(ctx context.Context, c config) error {
	conn, err := connect(ctx, c.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "select tablename from pg_tables where schemaname = $1", c.schema)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, t := range tables {
		if _, err := conn.Exec(ctx, "analyze "+pgx.Identifier{c.schema, t}.Sanitize()); err != nil {
			return err
		}
	}
	return nil
}

// xminCommits reads the transaction that committed each transfer row (its
// xmin) straight from the bench's schema: the bench's transfers are never
// updated, so xmin is the inserting transaction.
func xminCommits(c config) commitsFunc {
	return func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
		conn, err := connect(ctx, c.dsn)
		if err != nil {
			return nil, err
		}
		defer conn.Close(ctx)
		raw := make([][16]byte, len(ids))
		for i, id := range ids {
			raw[i] = id
		}
		rows, err := conn.Query(ctx, "select id, xmin::text from "+pgx.Identifier{c.schema, "transfers"}.Sanitize()+
			" where id = any($1)", raw)
		if err != nil {
			return nil, err
		}
		out := make(map[uuid.UUID]string, len(ids))
		var id [16]byte
		var xmin string
		_, err = pgx.ForEachRow(rows, []any{&id, &xmin}, func() error {
			out[id] = xmin
			return nil
		})
		return out, err
	}
}

type stats struct {
	elapsed   time.Duration
	transfers int64
	latencies []time.Duration // per request, sorted
	usedUp    bool            // a client ran out of prepared operations (errUsedUp)
	err       error           // the first client error that ended the run
}

func (s *stats) pct(p float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	i := min(len(s.latencies)-1, int(p*float64(len(s.latencies))))
	d := s.latencies[i]
	if d < 100*time.Microsecond {
		return d.Round(100 * time.Nanosecond) // memory-store operations take microseconds
	}
	return d.Round(10 * time.Microsecond)
}

// thinkFor pauses for d, or until ctx ends: false then.
func thinkFor(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// drive runs the clients for the run's duration, printing progress. Each
// client's random source is the run's seed with stream (a warm-up's
// clients draw other numbers than the measured run's). A client stops
// when the run ends, when its scenario has no prepared operation left
// (errUsedUp: the others go on until they run out too), or on any other
// error, which ends the whole run and is returned in stats.err.
func drive(ctx context.Context, c config, sc Scenario, stream uint64) stats {
	// The run ends when c.duration has passed and at least c.minOps calls
	// were answered (a test's floor, so that a loaded machine cannot make
	// a run of none; calls, not operations, since a call may do none).
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var total, calls atomic.Int64
	var timeUp atomic.Bool
	enough := func() {
		if timeUp.Load() && calls.Load() >= int64(c.minOps) {
			fail(context.DeadlineExceeded)
		}
	}
	timer := time.AfterFunc(c.duration, func() { timeUp.Store(true); enough() })
	defer timer.Stop()
	var usedUp atomic.Bool
	var firstErr atomic.Pointer[error]
	lat := make([][]time.Duration, c.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range c.clients {
		client := sc.Client(i, rand.New(rand.NewPCG(c.seed, uint64(i)|stream<<62)))
		pause := rand.New(rand.NewPCG(c.seed^0x7468696e6b, uint64(i)|stream<<62)) // -think's own numbers
		wg.Go(func() {
			for {
				if c.think > 0 && !thinkFor(ctx, time.Duration(pause.ExpFloat64()*float64(c.think))) {
					return
				}
				t0 := time.Now()
				n, err := client.Do(ctx)
				switch {
				case err == nil:
				case errors.Is(err, errUsedUp):
					usedUp.Store(true)
					return
				case ctx.Err() == nil:
					err = fmt.Errorf("client %d: %w", i, err)
					if firstErr.CompareAndSwap(nil, &err) {
						fail(err)
					}
					return
				default:
					return // the run is over; this request's outcome is unknown
				}
				lat[i] = append(lat[i], time.Since(t0))
				total.Add(int64(n))
				calls.Add(1)
				enough()
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	unit := unitOf(sc)
	tick := time.NewTicker(c.progress)
	defer tick.Stop()
	last, lastAt := int64(0), start
	for {
		select {
		case <-done:
			st := stats{elapsed: time.Since(start), transfers: total.Load(), usedUp: usedUp.Load()}
			if err := firstErr.Load(); err != nil {
				st.err = *err
			}
			for _, l := range lat {
				st.latencies = append(st.latencies, l...)
			}
			slices.Sort(st.latencies)
			return st
		case now := <-tick.C:
			n := total.Load()
			fmt.Fprintf(c.out, "progress t=%s %s=%d %s/s=%.1f\n", now.Sub(start).Round(time.Second), unit, n, unit,
				float64(n-last)/now.Sub(lastAt).Seconds())
			last, lastAt = n, now
		}
	}
}
