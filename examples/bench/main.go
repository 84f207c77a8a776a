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
// account; add -batch N or -group to batch it). Each client works on
// wallets of its own. -group puts ledger.GroupCommit between the ledger
// and the store, so concurrent single transfers share commits.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
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
	reset, verify, group         bool
	clients, batch, accounts     int
	shards                       int
	inflight                     int
	duration, progress           time.Duration
	seed                         uint64
	cpuprofile                   string
}

func parseFlags() (config, error) {
	var c config
	flag.StringVar(&c.store, "store", "memory", "memory or postgres")
	flag.StringVar(&c.dsn, "dsn", cmp.Or(os.Getenv("SOCIALPAY_PG"), "postgres://root@127.0.0.1:5432/bench?sslmode=disable"),
		"PostgreSQL connection string (-store postgres; default $SOCIALPAY_PG)")
	flag.StringVar(&c.schema, "schema", "socialpay_bench", "PostgreSQL schema for the ledger's tables")
	flag.BoolVar(&c.reset, "reset", false, "drop the schema first (-store postgres)")
	flag.StringVar(&c.scenario, "scenario", "transfer", "one of: "+strings.Join(scenarioNames(), ", "))
	flag.IntVar(&c.clients, "clients", 8, "concurrent clients")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "how long to drive load")
	flag.IntVar(&c.batch, "batch", 0, "transfers per request (0: the scenario's default)")
	flag.IntVar(&c.accounts, "accounts", 10000, "wallets to create, spread over the clients")
	flag.IntVar(&c.shards, "shards", 1, "hot: split the hot account into this many sub-accounts")
	flag.BoolVar(&c.group, "group", false, "gather concurrent single transfers into shared commits (ledger.GroupCommit)")
	flag.IntVar(&c.inflight, "group-inflight", 1, "with -group: batches applied at once")
	flag.BoolVar(&c.verify, "verify", false, "record acknowledged transfers and check them after the run")
	flag.DurationVar(&c.progress, "progress", 5*time.Second, "progress line interval")
	flag.Uint64Var(&c.seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the load phase to this file")
	flag.Parse()
	switch {
	case c.store != "memory" && c.store != "postgres":
		return c, fmt.Errorf("-store %q: want memory or postgres", c.store)
	case scenarios[c.scenario].make == nil:
		return c, fmt.Errorf("-scenario %q: want one of %s", c.scenario, strings.Join(scenarioNames(), ", "))
	case c.clients < 1 || c.duration <= 0 || c.batch < 0 || c.progress <= 0 || c.shards < 1:
		return c, errors.New("-clients, -duration, -progress and -shards must be positive, -batch not negative")
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

	store, closeStore, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer closeStore()
	front := store
	if c.group {
		front = ledger.NewGroupCommit(store, ledger.GroupCommitOptions{MaxInFlight: c.inflight})
	}
	env := &Env{
		Opts:     Options{Clients: c.clients, Batch: c.batch, Accounts: c.accounts, Shards: c.shards, Seed: c.seed},
		Ledger:   ledger.New(front, ledger.Options{}),
		Store:    front,
		Currency: ledger.MustCurrency("CNY"),
	}
	if c.verify {
		env.rec = &recorder{}
	}
	sc := scenarios[c.scenario].make()
	setupStart := time.Now()
	if err := sc.Setup(ctx, env); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	fmt.Printf("setup scenario=%s store=%s accounts=%d took=%s\n", c.scenario, c.store, c.accounts, time.Since(setupStart).Round(time.Millisecond))

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
	st := drive(ctx, c, sc)
	pprof.StopCPUProfile()
	batch := c.batch
	if batch == 0 {
		batch = -1 // the scenario's default
	}
	secs := st.elapsed.Seconds()
	fmt.Printf("summary scenario=%s store=%s clients=%d batch=%s group=%v shards=%d duration=%s transfers=%d transfers/s=%.1f "+
		"requests/s=%.1f p50=%s p99=%s max=%s errors=%d rejected=%d\n",
		c.scenario, c.store, c.clients, batchLabel(batch), c.group, c.shards, st.elapsed.Round(time.Millisecond), st.transfers,
		float64(st.transfers)/secs, float64(len(st.latencies))/secs, st.pct(0.50), st.pct(0.99), st.pct(1),
		env.errors.Load(), env.rejected.Load())

	if env.rec == nil {
		return nil
	}
	vctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var commits commitsFunc
	if c.store == "postgres" {
		commits = xminCommits(c)
	}
	res, err := env.rec.check(vctx, env.Ledger, lookupFor(store, c.clients), commits, c.clients)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	fmt.Println(res)
	if !res.ok() {
		return errors.New("verification failed")
	}
	return nil
}

func batchLabel(b int) string {
	if b < 0 {
		return "default"
	}
	return fmt.Sprint(b)
}

func openStore(ctx context.Context, c config) (ledger.Store, func(), error) {
	if c.store == "memory" {
		return ledger.NewMemoryStore(), func() {}, nil
	}
	cfg, err := postgres.ParseConfig(c.dsn)
	if err != nil {
		return nil, nil, err
	}
	cfg.Schema = c.schema
	if cfg.MaxConns == 0 {
		cfg.MaxConns = max(c.clients, c.inflight) + 4
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "socialpay-bench"
	}
	if c.reset {
		conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
		if err != nil {
			return nil, nil, err
		}
		_, err = conn.Exec(ctx, "drop schema if exists "+pgx.Identifier{c.schema}.Sanitize()+" cascade")
		conn.Close(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("reset: %w", err)
		}
	}
	db, err := postgres.OpenConfig(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return postgres.NewStore(db), db.Close, nil
}

// xminCommits reads the transaction that committed each transfer row (its
// xmin) straight from the bench's schema: the bench's transfers are never
// updated, so xmin is the inserting transaction.
func xminCommits(c config) commitsFunc {
	return func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
		cfg, err := pgx.ParseConfig(c.dsn)
		if err != nil {
			return nil, err
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
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
}

func (s *stats) pct(p float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	i := min(len(s.latencies)-1, int(p*float64(len(s.latencies))))
	return s.latencies[i].Round(10 * time.Microsecond)
}

// drive runs the clients for the run's duration, printing progress.
func drive(ctx context.Context, c config, sc Scenario) stats {
	ctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	var total atomic.Int64
	lat := make([][]time.Duration, c.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range c.clients {
		client := sc.Client(i, rand.New(rand.NewPCG(c.seed, uint64(i))))
		wg.Go(func() {
			for {
				t0 := time.Now()
				n, err := client.Do(ctx)
				if err != nil {
					return // the run is over; this request's outcome is unknown
				}
				lat[i] = append(lat[i], time.Since(t0))
				total.Add(int64(n))
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	tick := time.NewTicker(c.progress)
	defer tick.Stop()
	last, lastAt := int64(0), start
	for {
		select {
		case <-done:
			st := stats{elapsed: time.Since(start), transfers: total.Load()}
			for _, l := range lat {
				st.latencies = append(st.latencies, l...)
			}
			slices.Sort(st.latencies)
			return st
		case now := <-tick.C:
			n := total.Load()
			fmt.Printf("progress t=%s transfers=%d transfers/s=%.1f\n", now.Sub(start).Round(time.Second), n,
				float64(n-last)/now.Sub(lastAt).Seconds())
			last, lastAt = n, now
		}
	}
}
