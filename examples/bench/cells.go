package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
)

// Payments between cells (package cell): -accounts users spread over
// -cells cells by cell.Router, each with one wallet in their cell; each Do
// is one 0.01 CNY payment from a client's own user to a random user, of
// another cell with probability -cross, else of the payer's own cell. On
// PostgreSQL each cell is a schema of its own, <schema>_cell_<i>; on a
// Citus coordinator whose connection sets
// citus.enable_schema_based_sharding=on each is a distributed schema,
// placed on a node of its own choosing. The report line after the summary
// splits the payments and their latencies into within and across cells.

func init() {
	register("cells", "payments between users of -cells cells (schemas <schema>_cell_<i> on PostgreSQL), "+
		"a -cross share of them between two cells", func() Scenario { return &cellPayments{} })
}

const cellFunds = 1_000_000_00

type cellPayments struct {
	feature
	cells   *cell.Cells
	stores  []ledger.Store
	users   []uuid.UUID
	wallets []uuid.UUID
	byCell  map[string][]int // user indices per cell
	names   []string
	nodes   []*postgres.DB // -direct: the pools on the nodes holding the cells

	mu             sync.Mutex
	within, across []time.Duration // latencies of payments answered with success
}

func (s *cellPayments) Unit() string { return "payments" }

func (s *cellPayments) Setup(ctx context.Context, env *Env) error {
	s.setup(ctx, env)
	n := max(env.Opts.Cells, 1)
	for i := range n {
		s.names = append(s.names, fmt.Sprintf("cell_%d", i))
	}
	router, err := cell.NewRouter(s.names...)
	if err != nil {
		return err
	}
	var cs []cell.Cell
	var dbs []*postgres.DB
	for _, name := range s.names {
		var ls ledger.Store = ledger.NewMemoryStore()
		var rs cell.Store = cell.NewMemoryStore()
		if env.DB != nil {
			schema := env.DB.Schema() + "_" + name
			if env.Opts.Reset {
				if _, err := env.DB.Pool().Exec(ctx, "drop schema if exists "+pgx.Identifier{schema}.Sanitize()+" cascade"); err != nil {
					return fmt.Errorf("reset %s: %w", schema, err)
				}
			}
			db, err := env.DB.WithSchema(ctx, schema)
			if err != nil {
				return err
			}
			if env.Opts.Direct {
				if db, err = s.onItsNode(ctx, db); err != nil {
					return err
				}
			}
			ls, rs = postgres.NewLedgerStore(db), postgres.NewCellStore(db)
			dbs = append(dbs, db)
		}
		s.stores = append(s.stores, ls)
		cs = append(cs, cell.Cell{Name: name, Ledger: ledger.New(ls, ledger.Options{}), Store: rs})
	}
	if s.cells, err = cell.New(cell.Config{Router: router, Cells: cs}); err != nil {
		return err
	}
	users := max(env.Opts.Accounts, 2*env.Opts.Clients)
	s.byCell = map[string][]int{}
	for i := range users {
		u := ledger.DeriveID(uuid.NameSpaceOID, "bench user", fmt.Sprint(i))
		s.users = append(s.users, u)
		c := router.Cell(u)
		s.byCell[c] = append(s.byCell[c], i)
	}
	s.wallets = make([]uuid.UUID, users)
	for _, name := range s.names {
		idx := s.byCell[name]
		if len(idx) < 2 {
			return fmt.Errorf("cell %s has %d users: raise -accounts", name, len(idx))
		}
		l := s.cells.Cell(name).Ledger
		bank, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: env.Currency, Code: 1})
		if err != nil {
			return err
		}
		for _, i := range idx {
			s.wallets[i] = uuid.New()
		}
		err = parallel(ctx, env.Opts.Clients, len(idx), func(ctx context.Context, j int) error {
			_, err := l.CreateAccount(ctx, ledger.Account{ID: s.wallets[idx[j]], Currency: env.Currency, Code: 2, Flags: ledger.DebitsMustNotExceedCredits})
			return err
		})
		if err != nil {
			return err
		}
		err = inChunks(ctx, 1, 500, idx, func(ctx context.Context, chunk []int) error {
			var ts []ledger.Transfer
			for _, i := range chunk {
				ts = append(ts, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: s.wallets[i], Amount: ledger.NewMoney(cellFunds, env.Currency)})
			}
			rs, err := l.Batch(ctx, ts)
			for _, r := range rs {
				err = errors.Join(err, r.Err)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	// The planner's statistics of every cell's tables as they are in
	// service (as pgbench -i does after loading): the stores' plans are
	// made for them.
	for _, db := range dbs {
		for _, t := range []string{"accounts", "transfers", "entries", "cell_payments"} {
			if _, err := db.Pool().Exec(ctx, "analyze "+pgx.Identifier{db.Schema(), t}.Sanitize()); err != nil {
				return fmt.Errorf("analyze %s.%s: %w", db.Schema(), t, err)
			}
		}
	}
	return nil
}

// onItsNode opens db's schema, a distributed schema of Citus, on the node
// that holds it: what a bank's service for that cell does.
func (s *cellPayments) onItsNode(ctx context.Context, db *postgres.DB) (*postgres.DB, error) {
	var host string
	var port int
	err := db.Pool().QueryRow(ctx, "select nodename, nodeport from citus_shards where table_name = $1::regclass",
		pgx.Identifier{db.Schema(), "accounts"}.Sanitize()).Scan(&host, &port)
	if err != nil {
		return nil, fmt.Errorf("-direct: where is %s (a distributed schema on Citus)? %w", db.Schema(), err)
	}
	node, err := s.env.openNode(ctx, host, uint16(port), db.Schema())
	if err != nil {
		return nil, err
	}
	s.nodes = append(s.nodes, node)
	return node, nil
}

// Close closes the pools -direct opened.
func (s *cellPayments) Close() {
	for _, db := range s.nodes {
		db.Close()
	}
}

func (s *cellPayments) Client(i int, rng *rand.Rand) Client {
	if i == 0 {
		// A run (the warm-up's, then the measured one) starts: the report
		// is the measured run's alone. The warm-up's clients are done.
		s.mu.Lock()
		s.within, s.across = nil, nil
		s.mu.Unlock()
	}
	var own []int
	for u := i; u < len(s.users); u += s.env.Opts.Clients {
		own = append(own, u)
	}
	return &cellClient{s: s, rng: rng, own: own}
}

type cellClient struct {
	s   *cellPayments
	rng *rand.Rand
	own []int
}

// Do pays 0.01 CNY from one of the client's users to a user of another
// cell (with probability -cross) or of the payer's own.
func (c *cellClient) Do(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err // the run is over
	}
	s := c.s
	payer := c.own[c.rng.IntN(len(c.own))]
	home := s.cells.Router().Cell(s.users[payer])
	across := len(s.names) > 1 && c.rng.Float64() < s.env.Opts.Cross
	var payee int
	if across {
		j := c.rng.IntN(len(s.names) - 1)
		if j >= slices.Index(s.names, home) {
			j++
		}
		us := s.byCell[s.names[j]]
		payee = us[c.rng.IntN(len(us))]
	} else {
		us := s.byCell[home]
		for payee = payer; payee == payer; {
			payee = us[c.rng.IntN(len(us))]
		}
	}
	p := cell.Payment{ID: s.env.NewID(c.rng), Payer: s.users[payer], PayerAccount: s.wallets[payer],
		Payee: s.users[payee], PayeeAccount: s.wallets[payee], Amount: ledger.NewMoney(1, s.env.Currency)}
	t0 := time.Now()
	n, err := s.do(ctx, func(ctx context.Context) error { // retried with the same ID while the store fails
		_, err := s.cells.Pay(ctx, p)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		return 0, fmt.Errorf("payment %s: %w", p.ID, err)
	}
	d := time.Since(t0)
	s.mu.Lock()
	if across {
		s.across = append(s.across, d)
	} else {
		s.within = append(s.within, d)
	}
	s.mu.Unlock()
	return n, nil
}

// Report splits the run's payments into those within one cell and those
// across two, with their latencies.
func (s *cellPayments) Report() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	slices.Sort(s.within)
	slices.Sort(s.across)
	p := func(ds []time.Duration, q float64) time.Duration { return (&stats{latencies: ds}).pct(q) }
	return fmt.Sprintf("cells cells=%d cross=%.2f within=%d across=%d within_p50=%s within_p99=%s across_p50=%s across_p99=%s",
		len(s.names), s.env.Opts.Cross, len(s.within), len(s.across), p(s.within, 0.5), p(s.within, 0.99), p(s.across, 0.5), p(s.across, 0.99))
}

// Verify checks that money is conserved (the wallets hold what they were
// funded with), that no payment is left open, that the clearing accounts
// are settled, and that every cell's ledger verifies.
func (s *cellPayments) Verify(ctx context.Context) (string, error) {
	var total int64
	for i, w := range s.wallets {
		a, err := s.cells.CellOf(s.users[i]).Ledger.Account(ctx, w)
		if err != nil {
			return "", err
		}
		total += a.Balance.Net()
	}
	if want := int64(len(s.wallets)) * cellFunds; total != want {
		return "", fmt.Errorf("the wallets hold %d, were funded with %d", total, want)
	}
	for _, name := range s.names {
		open, err := s.cells.Cell(name).Store.Open(ctx, time.Now().Add(time.Hour), cell.Cursor{}, 1)
		if err != nil {
			return "", err
		}
		if len(open) > 0 {
			return "", fmt.Errorf("cell %s: payment %s is open", name, open[0].ID)
		}
		if _, err := s.cells.Cell(name).Ledger.Verify(ctx); err != nil {
			return "", fmt.Errorf("cell %s: %w", name, err)
		}
	}
	rep, err := s.cells.CheckClearing(ctx, s.env.Currency)
	if err != nil {
		return "", err
	}
	if !rep.Settled() {
		return "", fmt.Errorf("clearing not settled: %+v", rep)
	}
	return fmt.Sprintf("verify acknowledged=%d ok: money conserved over %d wallets in %d cells; clearing settled (posted %d = credited %d); every cell verifies",
		s.acked.Load(), len(s.wallets), len(s.names), rep.Posted, rep.Credited), nil
}
