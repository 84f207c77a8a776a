package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/internal/proctest"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

// Races that only exist across processes: each test here starts the test
// binary again as worker processes (internal/proctest) on one schema, and
// the workers call the library at the same instant, as several instances
// of a service behind a load balancer do.

// workers are this package's worker processes, registered in TestMain:
// each store's test file names its own.
func workers() map[string]proctest.Worker {
	all := map[string]proctest.Worker{"ledger-duplicates": ledgerDuplicatesWorker}
	for _, m := range []map[string]proctest.Worker{redpacketWorkers, transferWorkers, qrWorkers} {
		for name, w := range m {
			all[name] = w
		}
	}
	return all
}

// workerDB opens, in a worker process, the schema its test created.
func workerDB(ctx context.Context, schema string) (*DB, error) {
	cfg, err := ParseConfig(cmp.Or(os.Getenv("SOCIALPAY_TEST_PG"), defaultTestDSN))
	if err != nil {
		return nil, err
	}
	cfg.Schema, cfg.Unsealed = schema, true
	cfg.Pool.MaxConns = 8
	return OpenConfig(ctx, cfg)
}

// runWorkers runs the named worker in n processes with arg and decodes
// each one's result into a new R.
func runWorkers[R any](t *testing.T, name string, n int, arg any) []R {
	t.Helper()
	args := make([]any, n)
	for i := range args {
		args[i] = arg
	}
	results, err := proctest.Run(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]R, n)
	for i, r := range results {
		if err := r.Decode(&out[i]); err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
	}
	return out
}

type duplicatesArg struct {
	Schema    string
	Transfers []plainTransfer
	Copies    int // identical calls per transfer in each process
}

// plainTransfer is an immediate CNY transfer as a worker's argument.
type plainTransfer struct {
	ID, Debit, Credit uuid.UUID
	Fen               int64
}

func (p plainTransfer) transfer() ledger.Transfer {
	return ledger.Transfer{ID: p.ID, DebitAccountID: p.Debit, CreditAccountID: p.Credit, Amount: ledger.NewMoney(p.Fen, ledger.MustCurrency("CNY"))}
}

// duplicatesResult counts a worker's answers; Wrong holds the first few
// answers that were not the transfer itself.
type duplicatesResult struct {
	OK    int
	Wrong []string
}

func ledgerDuplicatesWorker(ctx context.Context, raw json.RawMessage, ready func()) (any, error) {
	var arg duplicatesArg
	if err := json.Unmarshal(raw, &arg); err != nil {
		return nil, err
	}
	db, err := workerDB(ctx, arg.Schema)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	l := ledger.New(NewLedgerStore(db), ledger.Options{})
	ready()
	var mu sync.Mutex
	var res duplicatesResult
	work := make(chan plainTransfer)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for p := range work {
				_, errs := ledgertest.Concurrently(arg.Copies, func(int) (ledger.Transfer, error) { return l.Transfer(ctx, p.transfer()) })
				mu.Lock()
				for _, err := range errs {
					switch {
					case err == nil:
						res.OK++
					case len(res.Wrong) < 10:
						res.Wrong = append(res.Wrong, err.Error())
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, tr := range arg.Transfers {
		work <- tr
	}
	close(work)
	wg.Wait()
	return res, nil
}

// The same transfers, each spending exactly its payer's balance, submitted
// by two processes at once, two identical calls in each: every call
// answers with the transfer, none with the insufficient funds its own
// original caused, and each payer pays once.
func TestTwoProcessDuplicates(t *testing.T) {
	ctx := context.Background()
	s := storeFor(t)
	l := ledger.New(s, ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	bank, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	n := ledgertest.RaceIterations(t, 300)
	arg := duplicatesArg{Schema: s.db.Schema(), Copies: 2}
	for range n {
		var ids [2]uuid.UUID
		for j := range ids {
			a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
			if err != nil {
				t.Fatal(err)
			}
			ids[j] = a.ID
		}
		if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: ids[0], Amount: ledger.NewMoney(100, cny)}); err != nil {
			t.Fatal(err)
		}
		arg.Transfers = append(arg.Transfers, plainTransfer{ID: uuid.New(), Debit: ids[0], Credit: ids[1], Fen: 100})
	}
	results := runWorkers[duplicatesResult](t, "ledger-duplicates", 2, arg)
	for i, r := range results {
		if r.OK != n*arg.Copies || len(r.Wrong) > 0 {
			t.Errorf("worker %d: %d of %d calls answered with the transfer; wrong answers: %q", i, r.OK, n*arg.Copies, r.Wrong)
		}
	}
	for _, p := range arg.Transfers {
		a, err := l.Account(ctx, p.Debit)
		if err != nil || a.Balance.Net() != 0 || a.Balance.DebitsPosted != 100 {
			t.Fatalf("payer %s: %+v %v", p.Debit, a.Balance, err)
		}
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}
