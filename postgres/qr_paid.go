package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
)

var _ qr.PayingStore = (*QRStore)(nil)

// PaysOn implements qr.PayingStore: ChargePaid pays on a LedgerStore of
// this package on the same database and schema as s (the same pool and
// Schema), so that a charge and its payment share one transaction.
func (s *QRStore) PaysOn(ls ledger.Store) bool {
	st, ok := ls.(*LedgerStore)
	return ok && st.db.pool == s.db.pool && st.db.schema == s.db.schema
}

// ChargePaid implements qr.PayingStore: one transaction of two round
// trips and one commit.
//
//  1. It begins, makes sure the serial's and the merchant's rows of
//     attempts exist and locks them (serial first, then merchant, as
//     BeginTry does), locks the transfer's two accounts (in ID order, as
//     the LedgerStore does), loads the transfer of the charge's ID, and
//     reads in one statement the charge that redeemed the code and the
//     serial's device. A transfer of the charge's ID is the answer, and
//     the transaction rolls back; so does a device qr.ChargeStep.Stale
//     calls stale (revoked since the code was checked).
//     A charge that reserves nothing of its device's day (no
//     DeviceDailyCaps in its currency) takes no lock on the records: it
//     reads them in that same statement, as BeginTry reads them: if
//     qr.Lockout.Passes on them (a genuine code with nothing to count),
//     that read decides; otherwise the transaction is begun again with
//     the locks.
//  2. qr.Lockout.DecideCharge decides; when it pays, ledger.ApplyBatch
//     decides the transfer, and qr.Lockout.ChargeRefused what a refusal
//     leaves. One round trip then writes the records that changed, the
//     redemption (when the code is not redeemed yet) and the ledger's
//     rows, and commits.
//
// Locks are taken attempt rows first, then accounts; no transaction takes
// them the other way round (the ledger's lock accounts only, the other
// attempts' transactions attempt rows only), so charges queue and never
// deadlock. A redemption inserted by a store on the slower path
// (MarkUsed, which takes no lock) after the read fails the insert, and the
// transaction is decided again.
//
// Errors: qr.ErrInvalidValue, and the infrastructure errors of this
// package, after which the charge may or may not have committed (running
// it again is safe: the retry finds its redemption and its transfer).
func (s *QRStore) ChargePaid(ctx context.Context, c qr.ChargeStep, p qr.Lockout) (qr.ChargeOutcome, error) {
	t := &c.Try
	if err := checkTry(t); err != nil {
		return qr.ChargeOutcome{}, err
	}
	if t.Charge == uuid.Nil || c.Transfer.ID != t.Charge {
		return qr.ChargeOutcome{}, fmt.Errorf("qr: charge %s paid by transfer %s: %w", t.Charge, c.Transfer.ID, qr.ErrInvalidValue)
	}
	var out qr.ChargeOutcome
	// A charge that reserves nothing of its device's day (no cap) reads
	// the records of attempts without locks (lock false); one whose
	// decision would change them, and every capped charge, locks them.
	lock := !t.Limit.Currency().IsZero()
	err := s.db.run(ctx, "charge QR payment code", func(ctx context.Context, conn *pgx.Conn) error {
		out = qr.ChargeOutcome{}
		var sr qr.SerialRecord
		var mr qr.MerchantRecord
		var refs chargeRefs
		b := txBatch()
		if lock {
			// Inserting a row that exists costs an index probe; a
			// transaction begun again for a missing one would cost more
			// (every device's first charge).
			b.Queue(s.q.ensureSerial, int64(t.Serial))
			b.Queue(s.q.ensureMerchant, [16]byte(t.Merchant))
			b.Queue(s.q.lockSerial, int64(t.Serial)).Query(eachRow(scanSerialRecord, func(r qr.SerialRecord) { sr = r }))
			b.Queue(s.q.lockMerchant, [16]byte(t.Merchant)).Query(eachRow(scanMerchantRecord, func(r qr.MerchantRecord) { mr = r }))
		}
		ts := []ledger.Transfer{c.Transfer}
		keys := lockKeysOf(ts)
		v := s.ledger.queueLock(b, keys)
		// The redemption and the device (with the records, unlocked) once
		// the accounts are locked, in a snapshot taken then: a revocation
		// committed by then refuses the charge. The device is read whole
		// (its wrapped secret too): the charge is decided on the record
		// as it is.
		if lock {
			b.Queue(s.q.chargeRefs, int64(t.Serial), c.Step).Query(eachRow(scanChargeRefs, func(r chargeRefs) { refs = r }))
		} else {
			b.Queue(s.q.peekCharge, int64(t.Serial), [16]byte(t.Merchant), c.Step).Query(eachRow(scanPeekCharge, func(r chargeTries) {
				sr, mr, refs = r.serial, r.merchant, r.refs
			}))
		}
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if err := keys.check(v); err != nil {
			return err
		}
		usedBy := refs.usedBy
		if tr, ok := v.Transfer(t.Charge); ok {
			out = qr.ChargeOutcome{Existing: true, Transfer: tr}
			return nil // rolls back
		}
		if c.Stale(refs.device, refs.found) {
			out = qr.ChargeOutcome{Stale: true}
			return nil // rolls back
		}
		if _, passes := p.Passes(sr, mr, *t); !lock && !passes {
			// The decision changes the records: decide under their locks.
			lock = true
			return errRerun
		}
		oldS, oldM := sr, mr
		var d qr.ChargeDecision
		sr, mr, d = p.DecideCharge(sr, mr, *t, usedBy)
		out.Try, out.Replay = d.Try, d.Replay
		w := &pgx.Batch{}
		if d.Pay {
			var res ledger.BatchOutcome
			if err := ledger.ValidateTransfer(&ts[0]); err != nil {
				out.Err = &ledger.TransferError{ID: ts[0].ID, Err: err}
			} else if res = ledger.ApplyBatch(v, ts, false, c.Now); res.Results[0].Err != nil {
				out.Err = res.Results[0].Err
			} else {
				out.Paid, out.Transfer = true, res.Results[0].Transfer
			}
			if out.Err != nil {
				_, charged := v.Transfer(t.Charge)
				sr, mr = p.ChargeRefused(sr, mr, *t, d, charged)
			}
			if d.Mark {
				// No ON CONFLICT: a redemption committed since the read
				// fails the transaction, which is decided again.
				w.Queue(s.q.markUsedOnce, int64(t.Serial), c.Step, [16]byte(t.Charge))
			}
			if out.Paid && changes(&res) {
				s.ledger.queueOutcome(w, &res)
			}
		}
		if !lock {
			// Decided on the read (qr.Lockout.Passes): nothing of the
			// records is kept, as BeginTry keeps nothing then.
		} else if !sameSerialRecord(&sr, &oldS) {
			w.Queue(s.q.writeSerial, int64(t.Serial), int32(sr.Count), nullTime(sr.Since), nullTime(sr.LockedAt), sr.Day,
				currencyCode(sr.Spent), sr.Spent.Units(), [16]byte(sr.LastCharge)).Exec(expectRows(1))
		}
		if lock && (mr.Count != oldM.Count || !mr.Since.Equal(oldM.Since)) {
			w.Queue(s.q.writeMerchant, [16]byte(t.Merchant), int32(mr.Count), nullTime(mr.Since)).Exec(expectRows(1))
		}
		queueCommit(w)
		err := conn.SendBatch(ctx, w).Close()
		if isUniqueViolation(err, "qr_used_codes_pkey") {
			return errRerun
		}
		return err
	})
	if err != nil {
		return qr.ChargeOutcome{}, err
	}
	return out, nil
}

// CompletePaid implements qr.PayingStore: one transaction of two round
// trips and one commit. The first begins and locks the dynamic code's row
// (or the payer's cap total of the day, made if missing, and reads the
// payment's reservation), then locks the accounts of the hold the post
// resolves and loads the hold and the post; qr.DynamicCode.Claim (or
// qr.CapReservation.Reserve) decides, then ledger.ApplyBatch the post.
// When both accept, the second round trip writes the claim or the
// reservation settled and the ledger's rows, and commits; a refusal of
// either rolls back. Locks are taken record first, then accounts, as
// ChargePaid takes them.
//
// Errors: qr.ErrInvalidValue, and the infrastructure errors of this
// package.
func (s *QRStore) CompletePaid(ctx context.Context, p qr.PayStep) (qr.PayOutcome, error) {
	r := &p.Reservation
	switch {
	case p.Payment == uuid.Nil || p.Post.PendingID != p.Payment:
		return qr.PayOutcome{}, fmt.Errorf("qr: payment %s completed by a post of %s: %w", p.Payment, p.Post.PendingID, qr.ErrInvalidValue)
	case r.Payment != uuid.Nil && !ledger.StorableText(r.Day):
		return qr.PayOutcome{}, fmt.Errorf("qr: cap day %q PostgreSQL text cannot hold: %w", r.Day, qr.ErrInvalidValue)
	}
	if r.Payment != uuid.Nil {
		if err := r.Validate(p.Limit); err != nil {
			return qr.PayOutcome{Refused: err}, nil
		}
	}
	var out qr.PayOutcome
	err := s.db.run(ctx, "complete QR payment", func(ctx context.Context, conn *pgx.Conn) error {
		out = qr.PayOutcome{}
		var code *qr.DynamicCode
		var used int64
		var old *qr.CapReservation
		cur := r.Amount.Currency()
		b := txBatch()
		switch {
		case p.Code != uuid.Nil:
			b.Queue(s.q.lockCode, [16]byte(p.Code)).Query(eachRow(scanQRCode, func(c qr.DynamicCode) { code = &c }))
		case r.Payment != uuid.Nil:
			b.Queue(s.q.ensureTotal, [16]byte(r.User), r.Day, cur.Code())
			b.Queue(s.q.lockTotal, [16]byte(r.User), r.Day, cur.Code()).QueryRow(func(row pgx.Row) error { return row.Scan(&used) })
			b.Queue(s.q.reservation, [16]byte(r.Payment)).Query(eachRow(scanReservation, func(o qr.CapReservation) { old = &o }))
		}
		ts := []ledger.Transfer{p.Post}
		v, err := s.ledger.lock(ctx, conn, b, lockKeysOf(ts))
		if err != nil {
			return err
		}
		w := &pgx.Batch{}
		switch {
		case p.Code != uuid.Nil && code == nil:
			out.Refused = fmt.Errorf("%w: %s", qr.ErrUnknownCode, p.Code)
			return nil // rolls back
		case p.Code != uuid.Nil:
			claimed, _, err := code.Claim(p.Payment, p.At)
			if err != nil {
				out.Refused = err
				return nil
			}
			if settled, changed, _ := claimed.Settle(p.Payment); changed || claimed.Payment != code.Payment {
				w.Queue(s.q.writeClaim, [16]byte(p.Code), [16]byte(settled.Payment), settled.ClaimedAt, true).Exec(expectRows(1))
			}
		case r.Payment != uuid.Nil:
			_, add, err := r.Reserve(p.Limit, ledger.NewMoney(used, cur), old)
			switch {
			case err != nil:
				out.Refused = err
				return nil
			case add:
				w.Queue(s.q.reserveSettled, [16]byte(r.Payment), [16]byte(r.User), r.Day, cur.Code(), r.Amount.Units(), r.At).
					Exec(expectRows(1))
			case !old.Settled:
				w.Queue(s.q.settleCap, [16]byte(r.Payment)).Exec(expectRows(1))
			}
		}
		var res ledger.BatchOutcome
		if err := ledger.ValidateTransfer(&ts[0]); err != nil {
			out.Err = &ledger.TransferError{ID: ts[0].ID, Err: err}
			return nil
		}
		if res = ledger.ApplyBatch(v, ts, false, p.Now); res.Results[0].Err != nil {
			out.Err = res.Results[0].Err
			return nil
		}
		out.Posted = res.Results[0].Transfer
		if changes(&res) {
			s.ledger.queueOutcome(w, &res)
		}
		queueCommit(w)
		err = conn.SendBatch(ctx, w).Close()
		if isUniqueViolation(err, "qr_cap_reservations_pkey") {
			return errRerun
		}
		return err
	})
	if err != nil {
		return qr.PayOutcome{}, err
	}
	return out, nil
}
