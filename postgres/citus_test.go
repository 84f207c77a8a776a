package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/cell/celltest"
	"github.com/socialpay/socialpay/ledger"
)

// Citus: SOCIALPAY_TEST_CITUS names a Citus coordinator. Citus is not a
// Debian package, so CI cannot install it and these tests skip there;
// scripts/citus.sh builds a local cluster (a coordinator and two workers)
// from Citus' public source and runs them.
//
// Every schema these tests create is a distributed schema
// (citus.enable_schema_based_sharding): its tables are one shard group,
// placed on one node, with every constraint and trigger of the plain
// PostgreSQL schema. A cell is one such schema.

var citus struct {
	once   sync.Once
	db     *DB
	reason string
	prefix string
	n      int
	mu     sync.Mutex
}

func citusDB(t testing.TB) *DB {
	t.Helper()
	citus.once.Do(func() {
		dsn := os.Getenv("SOCIALPAY_TEST_CITUS")
		if dsn == "" {
			citus.reason = "SOCIALPAY_TEST_CITUS is not set: Citus is not a Debian package, so CI cannot install it; scripts/citus.sh builds a local Citus cluster and runs these tests on it"
			return
		}
		cfg, err := ParseConfig(dsn)
		if err != nil {
			citus.reason = err.Error()
			return
		}
		cfg.Pool.ConnConfig.RuntimeParams["citus.enable_schema_based_sharding"] = "on"
		cfg.Pool.MaxConns = 16
		var b [4]byte
		rand.Read(b[:])
		citus.prefix = "sp_citus_" + hex.EncodeToString(b[:])
		cfg.Schema = citus.prefix
		cfg.Unsealed = true
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db, err := OpenConfig(ctx, cfg)
		if err != nil {
			citus.reason = fmt.Sprintf("Citus at %s: %v", cfg.Pool.ConnString(), err)
			return
		}
		citus.db = db
	})
	if citus.db == nil {
		if os.Getenv("SOCIALPAY_TEST_CITUS") != "" {
			t.Fatal(citus.reason)
		}
		t.Skip(citus.reason)
	}
	return citus.db
}

// citusFresh returns a DB on a new distributed schema, dropped when the
// test ends.
func citusFresh(t testing.TB) *DB {
	t.Helper()
	base := citusDB(t)
	citus.mu.Lock()
	citus.n++
	name := fmt.Sprintf("%s_%d", citus.prefix, citus.n)
	citus.mu.Unlock()
	db, err := base.WithSchema(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropSchema(t, base, name) })
	return db
}

func TestCitusSchemas(t *testing.T) {
	db := citusFresh(t)
	var n int
	if err := db.pool.QueryRow(context.Background(), "select count(*) from citus_schemas where schema_name::text = $1", db.schema).Scan(&n); err != nil || n != 1 {
		t.Fatalf("schema %s is not a distributed schema: %d, %v", db.schema, n, err)
	}
	var mode string
	if err := db.pool.QueryRow(context.Background(), "show plan_cache_mode").Scan(&mode); err != nil || mode != "auto" {
		t.Fatalf("plan_cache_mode %q, %v; want auto on Citus", mode, err)
	}
}

// A service opens its cell on the node that holds it, without migrating
// (the owner migrated through the coordinator), and its ledger works
// there; the coordinator sees what it wrote.
func TestCitusCellOnItsNode(t *testing.T) {
	ctx := context.Background()
	db := citusFresh(t)
	var host string
	var port int
	err := db.pool.QueryRow(ctx, "select nodename, nodeport from citus_shards where table_name = $1::regclass",
		db.schema+".accounts").Scan(&host, &port)
	if err != nil {
		t.Fatal(err)
	}
	cfg := db.cfg
	cfg.Pool = db.cfg.Pool.Copy()
	cfg.Pool.ConnConfig.Host, cfg.Pool.ConnConfig.Port = host, uint16(port)
	cfg.NoMigrate = true
	node, err := OpenConfig(ctx, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	l := ledger.New(NewLedgerStore(node), ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	a, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	b, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	tr := ledger.Transfer{ID: uuid.New(), DebitAccountID: a.ID, CreditAccountID: b.ID, Amount: ledger.NewMoney(100, cny)}
	if _, err := l.Transfer(ctx, tr); err != nil {
		t.Fatalf("on node %s:%d: %v", host, port, err)
	}
	// A duplicate inserted on the node reads as the original.
	if _, err := l.Transfer(ctx, tr); err != nil {
		t.Fatalf("retry on the node: %v", err)
	}
	got, err := NewLedgerStore(db).Account(ctx, b.ID)
	if err != nil || got.Account.Balance.Net() != 100 {
		t.Fatalf("through the coordinator: %+v %v", got.Account.Balance, err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

// A bank grows by moving whole cells to new nodes: a cell's schema moved
// to another worker (citus_schema_move) keeps its ledger, which verifies
// and takes payments there.
func TestCitusCellMoves(t *testing.T) {
	ctx := context.Background()
	db := citusFresh(t)
	l := ledger.New(NewLedgerStore(db), ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	a, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	b, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	pay := func() {
		t.Helper()
		if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: a.ID, CreditAccountID: b.ID, Amount: ledger.NewMoney(100, cny)}); err != nil {
			t.Fatal(err)
		}
	}
	pay()
	where := func() (port int) {
		t.Helper()
		if err := db.pool.QueryRow(ctx, "select nodeport from citus_shards where table_name = $1::regclass", db.schema+".accounts").Scan(&port); err != nil {
			t.Fatal(err)
		}
		return port
	}
	from := where()
	var to int
	err := db.pool.QueryRow(ctx, "select nodeport from pg_dist_node where shouldhaveshards and isactive and noderole = 'primary' and nodeport <> $1 order by nodeport limit 1", from).Scan(&to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, "select citus_schema_move($1::regnamespace, '127.0.0.1', $2, 'block_writes')", db.schema, to); err != nil {
		t.Fatal(err)
	}
	if got := where(); got != to {
		t.Fatalf("the cell is on %d, moved from %d to %d", got, from, to)
	}
	pay()
	if got, err := l.Account(ctx, b.ID); err != nil || got.Balance.Net() != 200 {
		t.Fatalf("after the move: %+v %v", got.Balance, err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCitusCells(t *testing.T) {
	citusDB(t)
	celltest.Run(t, func(t testing.TB, n int) celltest.Stores { return cellStores(t, n, citusFresh) })
}

func TestCitusCellLedgers(t *testing.T) {
	citusDB(t)
	runCellLedgers(t, 2, citusFresh, true)
}
