package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/ledger"
)

// Verify implements ledger.Store. It reads one consistent snapshot (a
// REPEATABLE READ, READ ONLY transaction, so it blocks no writer) and
// streams every account with its entries, in order, through a
// ledger.Verifier: hash chains, running balances, account balances and
// statuses, per-currency sums, each entry's seal when the DB has a
// Config.Sealer, and the links between holds and their
// posts and voids and between reversals and what they reverse (the
// transfers other than plain immediate ones). It also reports to the Verifier what only
// the tables can show: entries of accounts that do not exist, and
// transfers whose entries do not match them (missing, extra, on the wrong
// account or side, or moving another amount).
//
// Errors: ledger.ErrVerify listing what is wrong, and the infrastructure
// errors of this package.
func (s *LedgerStore) Verify(ctx context.Context) (ledger.VerifyReport, error) {
	var v *ledger.Verifier
	err := s.db.run(ctx, "verify", func(ctx context.Context, conn *pgx.Conn) error {
		v = ledger.NewVerifier()
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) //nolint:errcheck // read only; a no-op after Commit
		if err := s.verifyChains(ctx, tx, v); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, s.q.verifyOrphans)
		if err != nil {
			return err
		}
		var id [16]byte
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
			v.Problem(&ledger.AccountError{ID: id, Err: fmt.Errorf("%d entries of an account that does not exist", n)})
			return nil
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, s.q.verifyOrphanTransfers)
		if err != nil {
			return err
		}
		var seq int64
		var tr [16]byte
		if _, err := pgx.ForEachRow(rows, []any{&id, &seq, &tr}, func() error {
			v.Problem(&ledger.AccountError{ID: id, Err: fmt.Errorf("entry %d names transfer %s, which does not exist", seq, uuid.UUID(tr))})
			return nil
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, s.q.verifyLinks)
		if err != nil {
			return err
		}
		err = eachRow(scanTransfer, func(t ledger.Transfer) { v.Transfer(&t) })(rows)
		rows.Close()
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, s.q.verifyTransfers)
		if err != nil {
			return err
		}
		if _, err := pgx.ForEachRow(rows, []any{&id}, func() error {
			v.Problem(fmt.Errorf("transfer %s: its entries do not match it (missing, extra, or moving other amounts)", uuid.UUID(id)))
			return nil
		}); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return ledger.VerifyReport{}, err
	}
	return v.Finish()
}

// verifyChains streams accounts joined with their entries, ordered by
// account and sequence number, into v.
func (s *LedgerStore) verifyChains(ctx context.Context, tx pgx.Tx, v *ledger.Verifier) error {
	rows, err := tx.Query(ctx, s.q.verifyAccounts)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		ar      accountRow
		er      entryRow
		sealKey int16
		seal    []byte
		check   *ledger.AccountCheck
		cur     uuid.UUID
		sealer  = s.db.cfg.Sealer
	)
	dest := append(ar.dest(), er.dest()[1:]...) // the entry's account is the account
	dest = append(dest, &sealKey, &seal)
	for first := true; rows.Next(); first = false {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if first || ar.id != cur {
			if check != nil {
				check.Done()
			}
			cur, check = ar.id, nil
			if st, err := ar.state(); err != nil {
				v.Problem(&ledger.AccountError{ID: ar.id, Err: err})
			} else {
				check = v.Account(st)
			}
		}
		if er.seq != 0 && check != nil { // seq 0: an account without entries
			er.account = ar.id
			e := er.entry()
			check.Entry(e)
			if sealer != nil {
				checkSeal(v, sealer, &e, sealKey, seal)
			}
		}
	}
	if check != nil {
		check.Done()
	}
	return rows.Err()
}

// checkSeal reports to v an entry whose seal is missing or is not its
// seal under the key it names.
func checkSeal(v *ledger.Verifier, sealer Sealer, e *ledger.Entry, keyID int16, seal []byte) {
	switch {
	case keyID == 0 || seal == nil:
		v.Problem(&ledger.AccountError{ID: e.AccountID, Err: fmt.Errorf("entry %d is not sealed: not written by a store holding the seal key", e.Seq)})
	case !sealer.Check(keyID, sealMessage(e), seal):
		v.Problem(&ledger.AccountError{ID: e.AccountID, Err: fmt.Errorf("entry %d: seal does not match under key %d: forged or edited", e.Seq, keyID)})
	}
}
