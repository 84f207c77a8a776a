package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/ledger"
)

// CellStore keeps the records of payments between cells in PostgreSQL: a
// cell.Store that passes celltest.Run, one row per payment in the payer's
// cell's schema (migration 0800), beside that cell's LedgerStore. It is
// safe for concurrent use by many goroutines and many processes. Every
// method is one statement: Begin inserts (ON CONFLICT DO NOTHING) and
// reads the row in the way, Finish updates the row only while it is open
// and reads it otherwise; triggers keep the row's request unchanged and
// its state moving once. With the cell's LedgerStore on the same DB
// (PaysOn), Begin makes the payment's hold and Finish its post or void
// in the transaction of the record, so that a payment between cells
// commits three times, not five.
type CellStore struct {
	db                                *DB
	ledger                            *LedgerStore // the cell's ledger on db: the moves of Begin and Finish
	insert, get, lock, finish, listed string
	fInsert, fGet, fFinish, fListed   string // forwards (migration 0801)
}

var _ cell.Store = (*CellStore)(nil)

// NewCellStore returns the payment records of the cell whose schema db
// works in.
func NewCellStore(db *DB) *CellStore {
	q := db.qualify
	return &CellStore{
		db: db, ledger: NewLedgerStore(db),
		lock: q(`select ` + cellCols + ` from $S.cell_payments where id = $1 for update`),
		insert: q(`insert into $S.cell_payments (` + cellCols + `)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, ` + sqlInts(cell.StateOpen) + `, '', $10, null) on conflict (id) do nothing`),
		get: q(`select ` + cellCols + ` from $S.cell_payments where id = $1`),
		finish: q(`update $S.cell_payments set state = $2, reason = $3, finished_at = $4 where id = $1 and state = ` + sqlInts(cell.StateOpen) + `
			returning ` + cellCols),
		listed: q(`select ` + cellCols + ` from $S.cell_payments where state = ` + sqlInts(cell.StateOpen) + ` and created_at <= $1 and ` +
			afterCursor("created_at", 2) + orderPage("created_at", 4)),
		fInsert: q(`insert into $S.cell_forwards (` + forwardCols + `) values ($1, $2, $3, $4, $5, $6, null)
			on conflict (id) do nothing`),
		fGet:    q(`select ` + forwardCols + ` from $S.cell_forwards where id = $1`),
		fFinish: q(`update $S.cell_forwards set finished_at = $2 where id = $1 and finished_at is null returning ` + forwardCols),
		fListed: q(`select ` + forwardCols + ` from $S.cell_forwards where finished_at is null and created_at <= $1 and ` +
			afterCursor("created_at", 2) + orderPage("created_at", 4)),
	}
}

const forwardCols = `id, packet, sender, claimer, account, created_at, finished_at`

func scanForward(row pgx.CollectableRow) (cell.Forward, error) {
	var (
		id, packet, sender, claimer, account [16]byte
		f                                    cell.Forward
		finished                             *time.Time
	)
	if err := row.Scan(&id, &packet, &sender, &claimer, &account, &f.CreatedAt, &finished); err != nil {
		return f, err
	}
	f.ID, f.Packet, f.Sender, f.Claimer, f.Account = id, packet, sender, claimer, account
	f.CreatedAt = f.CreatedAt.UTC()
	if finished != nil {
		f.FinishedAt = finished.UTC()
	}
	return f, nil
}

const cellCols = `id, payer, payer_account, payee, payee_account, payer_cell, payee_cell, currency, amount,
	state, reason, created_at, finished_at`

func scanCellPayment(row pgx.CollectableRow) (cell.Payment, error) {
	var (
		id, payer, payee   [16]byte
		payerAcc, payeeAcc [16]byte
		p                  cell.Payment
		cur                string
		amount             int64
		state              int16
		finished           *time.Time
	)
	err := row.Scan(&id, &payer, &payerAcc, &payee, &payeeAcc, &p.PayerCell, &p.PayeeCell, &cur, &amount,
		&state, &p.Reason, &p.CreatedAt, &finished)
	if err != nil {
		return p, err
	}
	c, err := ledger.LookupCurrency(cur)
	if err != nil || state < 0 || state > int16(cell.StateReversed) {
		return p, fmt.Errorf("%w: payment %x: currency %q, state %d", ErrIntegrity, id, cur, state)
	}
	p.ID, p.Payer, p.PayerAccount, p.Payee, p.PayeeAccount = id, payer, payerAcc, payee, payeeAcc
	p.Amount, p.State = ledger.NewMoney(amount, c), cell.State(state)
	p.CreatedAt = p.CreatedAt.UTC()
	if finished != nil {
		p.FinishedAt = finished.UTC()
	}
	return p, nil
}

// PaysOn implements cell.Store: true for a LedgerStore of this package on
// the same pool and schema.
func (s *CellStore) PaysOn(ls ledger.Store) bool {
	st, ok := ls.(*LedgerStore)
	return ok && st.db.pool == s.db.pool && st.db.schema == s.db.schema
}

// Begin implements cell.Store. With a hold it is one transaction of two
// round trips: the first begins, inserts the record (ON CONFLICT DO
// NOTHING: a duplicate waits for the original and finds its row), locks
// the hold's accounts in ID order and loads its transfer, as the ledger
// LedgerStore does; ledger.ApplyBatch decides the hold; the second writes it (or
// records the payment as cell.HoldRefused says) and commits.
//
// Errors: ErrInvalidConfig (a hold on a ledger this store does not compose with),
// and the infrastructure errors of this package.
func (s *CellStore) Begin(ctx context.Context, p cell.Payment, hold *cell.Move) (cell.Payment, bool, error) {
	args := []any{[16]byte(p.ID), [16]byte(p.Payer), [16]byte(p.PayerAccount), [16]byte(p.Payee), [16]byte(p.PayeeAccount), p.PayerCell, p.PayeeCell,
		p.Amount.Currency().Code(), p.Amount.Units(), p.CreatedAt}
	if hold != nil {
		return s.beginHeld(ctx, p, args, hold)
	}
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

func (s *CellStore) beginHeld(ctx context.Context, p cell.Payment, args []any, hold *cell.Move) (cell.Payment, bool, error) {
	if hold.Ledger == nil || !s.PaysOn(hold.Ledger.Store()) {
		return cell.Payment{}, false, fmt.Errorf("%w: payment %s: a hold on a ledger of another database or schema", ErrInvalidConfig, p.ID)
	}
	ts := []ledger.Transfer{hold.Transfer}
	if err := validateTransfers(ts); err != nil {
		return cell.Payment{}, false, err
	}
	keys := lockKeysOf(ts)
	var stored cell.Payment
	var created bool
	err := s.db.run(ctx, "recording a payment between cells with its hold", func(ctx context.Context, conn *pgx.Conn) error {
		stored, created = p, false
		b := txBatch()
		b.Queue(s.insert, args...).Exec(func(ct pgconn.CommandTag) error {
			created = ct.RowsAffected() == 1
			return nil
		})
		v, err := s.ledger.lock(ctx, conn, b, keys)
		if err != nil {
			return err
		}
		if !created {
			var found bool
			if stored, found, err = one(ctx, conn, s.get, scanCellPayment, [16]byte(p.ID)); err == nil && !found {
				return errRerun // the row in the way is gone: insert again
			}
			return err // the transaction rolls back
		}
		out := ledger.ApplyBatch(v, ts, false, hold.Ledger.Now())
		w := &pgx.Batch{}
		if err := out.Results[0].Err; err != nil {
			stored.State, stored.Reason = cell.HoldRefused(err)
			stored.FinishedAt = p.CreatedAt
			w.Queue(s.finish, [16]byte(p.ID), int16(stored.State), stored.Reason, stored.FinishedAt).Exec(expectRows(1))
		} else if changes(&out) {
			s.ledger.queueOutcome(w, &out)
		}
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
	if err != nil {
		return cell.Payment{}, false, err
	}
	if created && stored.State == cell.StateOpen {
		stored.Reason, stored.FinishedAt = "", time.Time{}
	}
	return stored, created, nil
}

// Finish implements cell.Store. With a move it is one transaction of two
// round trips: the first begins, locks the record and the move's accounts
// (the record first, as Begin does) and loads its transfers; if the
// payment is open, ledger.ApplyBatch decides the move, and the second
// writes it with the payment's end and commits.
//
// Errors: cell.ErrPaymentNotFound, the move's refusal (a
// *ledger.TransferError: nothing written), ErrInvalidConfig (a move on a
// ledger this store does not compose with), and the infrastructure
// errors of this package.
func (s *CellStore) Finish(ctx context.Context, id uuid.UUID, st cell.State, reason string, at time.Time, move *cell.Move) (cell.Payment, error) {
	if move != nil {
		return s.finishMoved(ctx, id, st, reason, at, move)
	}
	p, found, err := queryOne(ctx, s.db, "finishing a payment between cells", s.finish, scanCellPayment, [16]byte(id), int16(st), reason, at)
	if err != nil || found {
		return p, err
	}
	return s.Payment(ctx, id) // finished before, or not there
}

func (s *CellStore) finishMoved(ctx context.Context, id uuid.UUID, st cell.State, reason string, at time.Time, move *cell.Move) (cell.Payment, error) {
	if move.Ledger == nil || !s.PaysOn(move.Ledger.Store()) {
		return cell.Payment{}, fmt.Errorf("%w: payment %s: a move on a ledger of another database or schema", ErrInvalidConfig, id)
	}
	ts := []ledger.Transfer{move.Transfer}
	if err := validateTransfers(ts); err != nil {
		return cell.Payment{}, err
	}
	keys := lockKeysOf(ts)
	var p cell.Payment
	var business error
	err := s.db.run(ctx, "finishing a payment between cells with its move", func(ctx context.Context, conn *pgx.Conn) error {
		business = nil
		found := false
		b := txBatch()
		b.Queue(s.lock, [16]byte(id)).Query(eachRow(scanCellPayment, func(v cell.Payment) { p, found = v, true }))
		v, err := s.ledger.lock(ctx, conn, b, keys)
		switch {
		case err != nil:
			return err
		case !found:
			business = fmt.Errorf("%w: %s", cell.ErrPaymentNotFound, id)
			return nil // rolls back
		case p.State.Final():
			return nil // finished before: its end stands
		}
		out := ledger.ApplyBatch(v, ts, false, move.Ledger.Now())
		if business = out.Results[0].Err; business != nil {
			return nil
		}
		w := &pgx.Batch{}
		if changes(&out) {
			s.ledger.queueOutcome(w, &out)
		}
		w.Queue(s.finish, [16]byte(id), int16(st), reason, at).Exec(expectRows(1))
		queueCommit(w)
		if err := conn.SendBatch(ctx, w).Close(); err != nil {
			return err
		}
		p.State, p.Reason, p.FinishedAt = st, reason, at.UTC()
		return nil
	})
	if err != nil {
		return cell.Payment{}, err
	}
	if business != nil {
		return cell.Payment{}, business
	}
	return p, nil
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

// BeginForward implements cell.Store: one INSERT … ON CONFLICT DO
// NOTHING, and a read of the row in its way.
func (s *CellStore) BeginForward(ctx context.Context, f cell.Forward) (cell.Forward, bool, error) {
	args := []any{[16]byte(f.ID), [16]byte(f.Packet), [16]byte(f.Sender), [16]byte(f.Claimer), [16]byte(f.Account), f.CreatedAt}
	stored, inserted, err := insertOrGet(ctx, s.db, "recording a claim across cells", s.fInsert, args, s.fGet, [16]byte(f.ID), scanForward)
	if err != nil {
		return cell.Forward{}, false, err
	}
	if inserted {
		f.FinishedAt = time.Time{}
		return f, true, nil
	}
	return stored, false, nil
}

// FinishForward implements cell.Store.
func (s *CellStore) FinishForward(ctx context.Context, id uuid.UUID, at time.Time) (cell.Forward, error) {
	f, found, err := queryOne(ctx, s.db, "finishing a claim across cells", s.fFinish, scanForward, [16]byte(id), at)
	if err != nil || found {
		return f, err
	}
	f, found, err = queryOne(ctx, s.db, "reading a claim across cells", s.fGet, scanForward, [16]byte(id))
	switch {
	case err != nil:
		return cell.Forward{}, err
	case !found:
		return cell.Forward{}, fmt.Errorf("%w: %s", cell.ErrPaymentNotFound, id)
	}
	return f, nil
}

// OpenForwards implements cell.Store.
func (s *CellStore) OpenForwards(ctx context.Context, before time.Time, after cell.Cursor, limit int) ([]cell.Forward, error) {
	at, id := cursorArgs(after.CreatedAt, after.ID)
	return queryAll(ctx, s.db, "listing open claims across cells", s.fListed, scanForward, before, at, id, max(limit, 0))
}
