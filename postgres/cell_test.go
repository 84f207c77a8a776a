package postgres

import (
	"context"
	"fmt"
	"github.com/google/uuid"
	"os"
	"testing"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/cell/celltest"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

// Cells on PostgreSQL are schemas of one database on one pool: the
// payments between them pass the suite with every cell a schema of its own.
func TestCells(t *testing.T) {
	celltest.Run(t, func(t testing.TB, n int) celltest.Stores {
		return cellStores(t, n, freshDB)
	})
}

// cellStores returns n cells, each a schema that fresh makes.
func cellStores(t testing.TB, n int, fresh func(testing.TB) *DB) celltest.Stores {
	var s celltest.Stores
	for i := range n {
		db := fresh(t)
		s.Names = append(s.Names, fmt.Sprintf("cell_%d", i))
		s.Ledgers = append(s.Ledgers, NewStore(db))
		s.Records = append(s.Records, NewCellStore(db))
		s.Packets = append(s.Packets, NewRedPacketStore(db))
	}
	return s
}

// The ledger's suite on cells: two schemas of one database on one pool,
// each a cell, both at once. Every case of the suite runs in a schema of
// its own in TestStore; here the concurrency cases (races included) run
// on two cells at the same time, each cell one schema for all its cases,
// as a bank's cells share a server. scripts/citus.sh runs the whole suite
// this way on Citus (SOCIALPAY_TEST_CELLS_FULL=1 does here).
func TestCellLedgers(t *testing.T) {
	runCellLedgers(t, 2, freshDB, os.Getenv("SOCIALPAY_TEST_CELLS_FULL") != "")
}

func runCellLedgers(t *testing.T, n int, fresh func(testing.TB) *DB, full bool) {
	suite := ledgertest.RunRaces
	if full {
		suite = ledgertest.Run
	}
	for i := range n {
		t.Run(fmt.Sprintf("cell_%d", i), func(t *testing.T) {
			t.Parallel()
			s := NewStore(fresh(t))
			suite(t, func(testing.TB) ledger.Store { return s })
		})
	}
}

// Open payment records in a schema the cells share a pool with are listed
// per schema: a cell never sees another's.
func TestCellStoreSchemas(t *testing.T) {
	ctx := context.Background()
	a, b := NewCellStore(freshDB(t)), NewCellStore(freshDB(t))
	p := cell.Payment{Payer: uuid.New(), Payee: uuid.New(), PayerCell: "a", PayeeCell: "b", Amount: ledger.NewMoney(1, ledger.MustCurrency("CNY"))}
	p.ID, p.PayerAccount, p.PayeeAccount = [16]byte{1}, [16]byte{2}, [16]byte{3}
	p.CreatedAt = ledgertest.Start
	if _, created, err := a.Begin(ctx, p, nil); err != nil || !created {
		t.Fatal(created, err)
	}
	if ps, err := b.Open(ctx, ledgertest.Start, cell.Cursor{}, 10); err != nil || len(ps) != 0 {
		t.Fatalf("another schema lists %d payments, %v", len(ps), err)
	}
	if ps, err := a.Open(ctx, ledgertest.Start, cell.Cursor{}, 10); err != nil || len(ps) != 1 || ps[0].ID != p.ID {
		t.Fatalf("own schema lists %+v, %v", ps, err)
	}
	// A store composes with the ledger of its own schema only.
	if !a.Composes(ledger.New(NewStore(a.db), ledger.Options{})) || a.Composes(ledger.New(NewStore(b.db), ledger.Options{})) ||
		a.Composes(ledger.New(nil, ledger.Options{})) || a.Composes(nil) {
		t.Fatal("Composes: want true for its own schema's ledger only")
	}
	// The record is append-only but for its one state change.
	exec(t, a.db, "update $S.cell_payments set state = 1, finished_at = now() where id = $1", [16]byte(p.ID))
	for _, q := range []string{
		"update $S.cell_payments set state = 2 where id = $1",
		"update $S.cell_payments set amount = 2 where id = $1",
		"delete from $S.cell_payments where id = $1",
	} {
		if _, err := a.db.pool.Exec(ctx, a.db.qualify(q), [16]byte(p.ID)); err == nil {
			t.Fatalf("%s: allowed", q)
		}
	}
}
