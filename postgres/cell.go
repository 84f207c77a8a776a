package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/ledger"
)

// CellStore keeps the records of payments between cells in PostgreSQL: a
// cell.Store that passes celltest.Run, one row per payment in the payer's
// cell's schema (migration 0800), beside that cell's ledger Store. It is
// safe for concurrent use by many goroutines and many processes. Every
// method is one statement: Begin inserts (ON CONFLICT DO NOTHING) and
// reads the row in the way, Finish updates the row only while it is open
// and reads it otherwise; triggers keep the row's request unchanged and
// its state moving once.
type CellStore struct {
	db                          *DB
	insert, get, finish, listed string
}

var _ cell.Store = (*CellStore)(nil)

// NewCellStore returns the payment records of the cell whose schema db
// works in.
func NewCellStore(db *DB) *CellStore {
	q := db.qualify
	return &CellStore{
		db: db,
		insert: q(`insert into $S.cell_payments (` + cellCols + `)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, '', $10, null) on conflict (id) do nothing`),
		get: q(`select ` + cellCols + ` from $S.cell_payments where id = $1`),
		finish: q(`update $S.cell_payments set state = $2, reason = $3, finished_at = $4 where id = $1 and state = 0
			returning ` + cellCols),
		listed: q(`select ` + cellCols + ` from $S.cell_payments where state = 0 and created_at <= $1 and ` +
			afterCursor("created_at", 2) + orderPage("created_at", 4)),
	}
}

const cellCols = `id, payer, payer_account, payee, payee_account, payer_cell, payee_cell, currency, amount,
	state, reason, created_at, finished_at`

func scanCellPayment(row pgx.CollectableRow) (cell.Payment, error) {
	var (
		id, payerAcc, payeeAcc [16]byte
		p                      cell.Payment
		cur                    string
		amount                 int64
		state                  int16
		finished               *time.Time
	)
	err := row.Scan(&id, &p.Payer, &payerAcc, &p.Payee, &payeeAcc, &p.PayerCell, &p.PayeeCell, &cur, &amount,
		&state, &p.Reason, &p.CreatedAt, &finished)
	if err != nil {
		return p, err
	}
	c, err := ledger.LookupCurrency(cur)
	if err != nil || state < 0 || state > int16(cell.StateReversed) {
		return p, fmt.Errorf("%w: payment %x: currency %q, state %d", ErrIntegrity, id, cur, state)
	}
	p.ID, p.PayerAccount, p.PayeeAccount = id, payerAcc, payeeAcc
	p.Amount, p.State = ledger.NewMoney(amount, c), cell.State(state)
	p.CreatedAt = p.CreatedAt.UTC()
	if finished != nil {
		p.FinishedAt = finished.UTC()
	}
	return p, nil
}

// Begin implements cell.Store.
func (s *CellStore) Begin(ctx context.Context, p cell.Payment) (cell.Payment, bool, error) {
	if !ledger.StorableText(p.Payer) || !ledger.StorableText(p.Payee) {
		return cell.Payment{}, false, fmt.Errorf("%w: payment %s: payer or payee is not text PostgreSQL keeps", cell.ErrInvalidPayment, p.ID)
	}
	args := []any{[16]byte(p.ID), p.Payer, [16]byte(p.PayerAccount), p.Payee, [16]byte(p.PayeeAccount), p.PayerCell, p.PayeeCell,
		p.Amount.Currency().Code(), p.Amount.Units(), p.CreatedAt}
	stored, inserted, err := insertOrGet(ctx, s.db, "recording a payment between cells", s.insert, args, s.get, [16]byte(p.ID), scanCellPayment)
	if err != nil {
		return cell.Payment{}, false, err
	}
	if inserted {
		p.State, p.Reason, p.FinishedAt = cell.StateOpen, "", time.Time{}
		return p, true, nil
	}
	return stored, false, nil
}

// Finish implements cell.Store.
func (s *CellStore) Finish(ctx context.Context, id uuid.UUID, st cell.State, reason string, at time.Time) (cell.Payment, error) {
	p, found, err := queryOne(ctx, s.db, "finishing a payment between cells", s.finish, scanCellPayment, [16]byte(id), int16(st), reason, at)
	if err != nil || found {
		return p, err
	}
	return s.Payment(ctx, id) // finished before, or not there
}

// Payment implements cell.Store.
func (s *CellStore) Payment(ctx context.Context, id uuid.UUID) (cell.Payment, error) {
	p, found, err := queryOne(ctx, s.db, "reading a payment between cells", s.get, scanCellPayment, [16]byte(id))
	switch {
	case err != nil:
		return cell.Payment{}, err
	case !found:
		return cell.Payment{}, fmt.Errorf("%w: %s", cell.ErrPaymentNotFound, id)
	}
	return p, nil
}

// Open implements cell.Store.
func (s *CellStore) Open(ctx context.Context, before time.Time, after cell.Cursor, limit int) ([]cell.Payment, error) {
	at, id := cursorArgs(after.CreatedAt, after.ID)
	return queryAll(ctx, s.db, "listing open payments between cells", s.listed, scanCellPayment, before, at, id, max(limit, 0))
}
