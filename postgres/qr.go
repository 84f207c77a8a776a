package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
)

// QRStore keeps package qr's state in PostgreSQL: dynamic receive codes,
// daily cap counters, devices and redeemed payment codes. It is a qr.Store
// that passes qrtest.Run, safe for concurrent use by many goroutines and
// many processes.
//
// Each operation is one statement or one transaction that decides under a
// row lock or a conditional write: a claim is an UPDATE … WHERE payment IS
// NULL, so of concurrent claims one updates the row and the others find it
// taken; a redemption is an INSERT … ON CONFLICT DO NOTHING on (serial,
// step); a cap reservation locks its user's row of the day (SELECT … FOR
// UPDATE) before it reads the total, so concurrent reservations queue and
// the cap holds to the unit, and it inserts the reservation and adds to the
// total in one statement. A payment-code attempt reads its serial's and
// merchant's records in one statement first; a genuine code with nothing
// to count (qr.Lockout.Passes) ends there, and any other attempt is
// decided under both rows' locks. Retries find their own earlier work (by payment,
// charge or ID) and answer as the first time did.
//
// With the ledger on the same database and schema (PaysOn), it is a
// qr.PayingStore: ChargePaid makes a charge (attempt, redemption, ledger
// transfer) and CompletePaid a payment's claim or reservation, post and
// settlement, each in one transaction with the ledger's rows and one
// commit.
//
// Business outcomes are qr's sentinels (qr.ErrCodePaid, qr.ErrDailyCap…);
// this package's errors (ErrUnavailable, ErrRetriesExhausted,
// ErrIntegrity, context errors) mean the database could not do its part.
// Times are kept to the microsecond.
type QRStore struct {
	db     *DB
	ledger *LedgerStore // the ledger on db: ChargePaid's transfers, when the Service's ledger is this one
	q      qrQueries
}

var _ qr.Store = (*QRStore)(nil)

// NewQRStore returns the QR store on db.
func NewQRStore(db *DB) *QRStore {
	return &QRStore{db: db, ledger: NewLedgerStore(db), q: newQRQueries(db)}
}

type qrQueries struct {
	insertCode, code, claim, settleCode, releaseCode, resetCode, codeExists, claimed, scanCodes                string
	ensureTotal, lockTotal, reservation, reserve, capUsed, settleCap, releaseCap, resetCap, reserved, scanCaps string
	insertDevice, deviceExists, device, deviceBySerial, revoke                                                 string
	markUsed, markUsedOnce, usedBy, prune                                                                      string
	ensureSerial, ensureMerchant, lockSerial, lockMerchant, serial, writeSerial, writeMerchant, unlock         string
	peekTries, peekCharge, chargeRefs                                                                          string
	lockCode, writeClaim, reserveSettled                                                                       string
}

const qrSerialCols = `serial, count, since, locked_at, day, currency, spent, coalesce(last_charge, ` + nilUUID + `)`

const qrCodeCols = `id, payee, reference, currency, amount, expires_at, issued_at,
	coalesce(payment, ` + nilUUID + `), claimed_at, settled`

const qrReservationCols = `payment, user_id, day, currency, amount, at, settled`

const qrDeviceCols = `id, account, serial, secret, created_at, revoked_at`

func newQRQueries(db *DB) qrQueries {
	q := db.qualify
	return qrQueries{
		insertCode: q(`insert into $S.qr_codes (id, payee, reference, currency, amount, expires_at, issued_at)
			values ($1, $2, $3, $4, $5, $6, $7) on conflict (id) do nothing`),
		code:        q(`select ` + qrCodeCols + ` from $S.qr_codes where id = $1`),
		claim:       q(`update $S.qr_codes set payment = $2, claimed_at = $3 where id = $1 and payment is null returning ` + qrCodeCols),
		settleCode:  q(`update $S.qr_codes set settled = true where id = $1 and payment = $2`),
		releaseCode: q(`update $S.qr_codes set payment = null, claimed_at = null where id = $1 and payment = $2 and not settled`),
		resetCode:   q(`update $S.qr_codes set payment = null, claimed_at = null, settled = false where id = $1 and payment = $2`),
		codeExists:  q(`select exists (select 1 from $S.qr_codes where id = $1)`),
		scanCodes:   q(`select ` + qrCodeCols + ` from $S.qr_codes where id > $1 and payment is not null order by id limit $2`),
		claimed: q(`select ` + qrCodeCols + ` from $S.qr_codes
			where payment is not null and not settled and claimed_at <= $1 order by claimed_at, id limit $2`),

		ensureTotal: q(`insert into $S.qr_cap_totals (user_id, day, currency, total) values ($1, $2, $3, 0) on conflict do nothing`),
		lockTotal:   q(`select total from $S.qr_cap_totals where user_id = $1 and day = $2 and currency = $3 for update`),
		reservation: q(`select ` + qrReservationCols + ` from $S.qr_cap_reservations where payment = $1`),
		// The total grows only if the reservation is new.
		reserve: q(`with r as (
				insert into $S.qr_cap_reservations (` + qrReservationCols + `) values ($1, $2, $3, $4, $5, $6, false)
				on conflict (payment) do nothing returning user_id, day, currency, amount)
			update $S.qr_cap_totals t set total = t.total + r.amount from r
			where t.user_id = r.user_id and t.day = r.day and t.currency = r.currency`),
		capUsed:   q(`select total from $S.qr_cap_totals where user_id = $1 and day = $2 and currency = $3`),
		settleCap: q(`update $S.qr_cap_reservations set settled = true where payment = $1`),
		// The total shrinks only if an unsettled reservation is deleted.
		releaseCap: q(`with r as (
				delete from $S.qr_cap_reservations where payment = $1 and not settled returning user_id, day, currency, amount)
			update $S.qr_cap_totals t set total = t.total - r.amount from r
			where t.user_id = r.user_id and t.day = r.day and t.currency = r.currency`),
		// The same, settled or not.
		resetCap: q(`with r as (
				delete from $S.qr_cap_reservations where payment = $1 returning user_id, day, currency, amount)
			update $S.qr_cap_totals t set total = t.total - r.amount from r
			where t.user_id = r.user_id and t.day = r.day and t.currency = r.currency`),
		reserved: q(`select ` + qrReservationCols + ` from $S.qr_cap_reservations
			where not settled and at <= $1 order by at, payment limit $2`),
		scanCaps: q(`select ` + qrReservationCols + ` from $S.qr_cap_reservations where payment > $1 order by payment limit $2`),

		insertDevice:   q(`insert into $S.qr_devices (` + qrDeviceCols + `) values ($1, $2, $3, $4, $5, null) on conflict do nothing`),
		deviceExists:   q(`select exists (select 1 from $S.qr_devices where id = $1)`),
		device:         q(`select ` + qrDeviceCols + ` from $S.qr_devices where id = $1`),
		deviceBySerial: q(`select ` + qrDeviceCols + ` from $S.qr_devices where serial = $1`),
		revoke:         q(`update $S.qr_devices set revoked_at = coalesce(revoked_at, $2) where id = $1`),

		markUsed:     q(`insert into $S.qr_used_codes (serial, step, charge) values ($1, $2, $3) on conflict do nothing`),
		markUsedOnce: q(`insert into $S.qr_used_codes (serial, step, charge) values ($1, $2, $3)`),
		usedBy:       q(`select charge from $S.qr_used_codes where serial = $1 and step = $2`),
		prune:        q(`delete from $S.qr_used_codes where step < $1`),

		ensureSerial:   q(`insert into $S.qr_serial_tries (serial) values ($1) on conflict do nothing`),
		ensureMerchant: q(`insert into $S.qr_merchant_tries (merchant) values ($1) on conflict do nothing`),
		lockSerial:     q(`select ` + qrSerialCols + ` from $S.qr_serial_tries where serial = $1 for update`),
		lockMerchant:   q(`select merchant, count, since from $S.qr_merchant_tries where merchant = $1 for update`),
		serial:         q(`select ` + qrSerialCols + ` from $S.qr_serial_tries where serial = $1`),
		writeSerial: q(`update $S.qr_serial_tries set count = $2, since = $3, locked_at = $4, day = $5, currency = $6, spent = $7,
			last_charge = nullif($8, ` + nilUUID + `) where serial = $1`),
		writeMerchant: q(`update $S.qr_merchant_tries set count = $2, since = $3 where merchant = $1`),
		unlock:        q(`update $S.qr_serial_tries set count = 0, since = null, locked_at = null where serial = $1`),
		lockCode:      q(`select ` + qrCodeCols + ` from $S.qr_codes where id = $1 for update`),
		writeClaim:    q(`update $S.qr_codes set payment = $2, claimed_at = $3, settled = $4 where id = $1`),
		// No ON CONFLICT: a reservation of the payment inserted since it
		// was read fails the transaction, which is decided again.
		reserveSettled: q(`with r as (
				insert into $S.qr_cap_reservations (` + qrReservationCols + `) values ($1, $2, $3, $4, $5, $6, true)
				returning user_id, day, currency, amount)
			update $S.qr_cap_totals t set total = t.total + r.amount from r
			where t.user_id = r.user_id and t.day = r.day and t.currency = r.currency`),
		// Both records in one statement (one snapshot), zero when absent.
		peekTries: q(`select ` + qrTriesCols + qrTriesFrom),
		// A charge's step: both records (as peekTries), then the charge
		// that redeemed the code (serial, step $3) and the serial's device
		// (chargeRefs' columns), in one statement.
		peekCharge: q(`select ` + qrTriesCols + `, ` + qrChargeRefCols + qrTriesFrom + `
			left join $S.qr_used_codes u on u.serial = $1 and u.step = $3
			left join $S.qr_devices d on d.serial = $1`),
		chargeRefs: q(`select ` + qrChargeRefCols + `
			from (values (1)) v
			left join $S.qr_used_codes u on u.serial = $1 and u.step = $2
			left join $S.qr_devices d on d.serial = $1`),
	}
}

// qrTriesCols and qrTriesFrom read a serial's ($1) and a merchant's ($2)
// records of attempts, zero when absent (triesRow's columns).
const (
	qrTriesCols = `$1::bigint, coalesce(s.count, 0), s.since, s.locked_at, coalesce(s.day, ''), coalesce(s.currency, ''),
		coalesce(s.spent, 0), coalesce(s.last_charge, ` + nilUUID + `), $2::uuid, coalesce(m.count, 0), m.since`
	qrTriesFrom = `
		from (values (1)) v
		left join $S.qr_serial_tries s on s.serial = $1
		left join $S.qr_merchant_tries m on m.merchant = $2`
)

// qrChargeRefCols: the charge that redeemed a code (u, nil when none) and
// the code's device (d, nulls when none).
const qrChargeRefCols = `coalesce(u.charge, ` + nilUUID + `), d.id, d.account, d.serial, d.secret, d.created_at, d.revoked_at`

// chargeRefs is what a charge's step reads besides the records of
// attempts: the charge that redeemed the code (zero when none) and the
// serial's device (found false when none).
type chargeRefs struct {
	usedBy [16]byte
	device qr.Device
	found  bool
	// Scan targets of the device's nullable columns.
	id      *string
	account *[16]byte
	serial  *int64
	created *time.Time
	revoked *time.Time
}

func (r *chargeRefs) dest() []any {
	return []any{&r.usedBy, &r.id, &r.account, &r.serial, &r.device.Secret, &r.created, &r.revoked}
}

func (r *chargeRefs) done() {
	if r.found = r.id != nil && r.account != nil && r.serial != nil && r.created != nil; r.found {
		r.device.ID, r.device.Account, r.device.Serial = *r.id, *r.account, uint64(*r.serial)
		r.device.CreatedAt, r.device.RevokedAt = utc(*r.created), utcOrZero(r.revoked)
	}
}

// scanChargeRefs reads chargeRefs' row.
func scanChargeRefs(row pgx.CollectableRow) (chargeRefs, error) {
	var r chargeRefs
	if err := row.Scan(r.dest()...); err != nil {
		return chargeRefs{}, err
	}
	r.done()
	return r, nil
}

// scanPeekCharge reads peekCharge's row: both records and chargeRefs.
func scanPeekCharge(row pgx.CollectableRow) (chargeTries, error) {
	var w triesRow
	var r chargeTries
	if err := row.Scan(append(w.dest(), r.refs.dest()...)...); err != nil {
		return chargeTries{}, err
	}
	r.refs.done()
	var err error
	r.tries, err = w.tries()
	return r, err
}

// chargeTries is peekCharge's row.
type chargeTries struct {
	tries
	refs chargeRefs
}

func scanQRCode(row pgx.CollectableRow) (qr.DynamicCode, error) {
	var id, payment [16]byte
	var payee, ref, cur string
	var units int64
	var expires, issued time.Time
	var claimedAt *time.Time
	var settled bool
	if err := row.Scan(&id, &payee, &ref, &cur, &units, &expires, &issued, &payment, &claimedAt, &settled); err != nil {
		return qr.DynamicCode{}, err
	}
	amount, err := money(units, cur)
	if err != nil {
		return qr.DynamicCode{}, err
	}
	return qr.DynamicCode{ID: id, Payee: payee, Reference: ref, Amount: amount, Expires: utc(expires), IssuedAt: utc(issued),
		Payment: payment, ClaimedAt: utcOrZero(claimedAt), Settled: settled}, nil
}

func unknownCode(id uuid.UUID) error { return fmt.Errorf("%w: %s", qr.ErrUnknownCode, id) }

// RegisterCode implements qr.DynamicCodeStore.
//
// Errors: qr.ErrInvalidValue (also for text PostgreSQL cannot hold),
// qr.ErrCodeExists, and the infrastructure errors of this package.
func (s *QRStore) RegisterCode(ctx context.Context, c qr.DynamicCode) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if !ledger.StorableText(c.Payee) || !ledger.StorableText(c.Reference) {
		return fmt.Errorf("qr code %s: payee or reference PostgreSQL text cannot hold: %w", c.ID, qr.ErrInvalidValue)
	}
	stored, inserted, err := insertOrGet(ctx, s.db, "register QR code", s.q.insertCode, []any{[16]byte(c.ID), c.Payee,
		c.Reference, c.Amount.Currency().Code(), c.Amount.Units(), c.Expires, c.IssuedAt},
		s.q.code, [16]byte(c.ID), scanQRCode)
	switch {
	case err != nil:
		return err
	case !inserted && !stored.SameRegistration(c):
		return fmt.Errorf("%w: %s (payee %q, reference %q)", qr.ErrCodeExists, c.ID, c.Payee, c.Reference)
	}
	return nil
}

// Code implements qr.DynamicCodeStore.
//
// Errors: qr.ErrUnknownCode, and the infrastructure errors of this package.
func (s *QRStore) Code(ctx context.Context, id uuid.UUID) (qr.DynamicCode, error) {
	c, found, err := queryOne(ctx, s.db, "QR code", s.q.code, scanQRCode, [16]byte(id))
	if err == nil && !found {
		err = unknownCode(id)
	}
	return c, err
}

// ClaimCode implements qr.DynamicCodeStore with a conditional UPDATE.
//
// Errors: qr.ErrInvalidValue (no payment), qr.ErrUnknownCode,
// qr.ErrCodePaid, and the infrastructure errors of this package.
func (s *QRStore) ClaimCode(ctx context.Context, id, payment uuid.UUID, at time.Time) (qr.DynamicCode, error) {
	if payment == uuid.Nil {
		return qr.DynamicCode{}, fmt.Errorf("qr: claim without a payment: %w", qr.ErrInvalidValue)
	}
	var c qr.DynamicCode
	var business error
	err := s.db.run(ctx, "claim QR code", func(ctx context.Context, conn *pgx.Conn) error {
		business = nil
		var found bool
		var err error
		if c, found, err = one(ctx, conn, s.q.claim, scanQRCode, [16]byte(id), [16]byte(payment), at); err != nil || found {
			return err
		}
		// Not open: whose is it?
		c, found, err = one(ctx, conn, s.q.code, scanQRCode, [16]byte(id))
		switch {
		case err != nil:
			return err
		case !found:
			business = unknownCode(id)
		case c.Payment == uuid.Nil:
			return errRerun // released in between: claim again
		case c.Payment != payment:
			business = fmt.Errorf("%w: %s", qr.ErrCodePaid, id)
		}
		return nil
	})
	if err != nil {
		return qr.DynamicCode{}, err
	}
	return c, business
}

// SettleCode implements qr.DynamicCodeStore.
//
// Errors: qr.ErrUnknownCode, qr.ErrClaimLost, and the infrastructure errors
// of this package.
func (s *QRStore) SettleCode(ctx context.Context, id, payment uuid.UUID) error {
	return s.changeCode(ctx, "settle QR code", s.q.settleCode, id, payment, fmt.Errorf("%w: %s", qr.ErrClaimLost, id))
}

// ReleaseCode implements qr.DynamicCodeStore.
//
// Errors: qr.ErrUnknownCode, and the infrastructure errors of this package.
func (s *QRStore) ReleaseCode(ctx context.Context, id, payment uuid.UUID) error {
	return s.changeCode(ctx, "release QR code", s.q.releaseCode, id, payment, nil)
}

// ResetCode implements qr.DynamicCodeStore.
//
// Errors: qr.ErrUnknownCode, and the infrastructure errors of this package.
func (s *QRStore) ResetCode(ctx context.Context, id, payment uuid.UUID) error {
	return s.changeCode(ctx, "reset QR code", s.q.resetCode, id, payment, nil)
}

// ScanCodes implements qr.DynamicCodeStore by primary key.
//
// Errors: the infrastructure errors of this package.
func (s *QRStore) ScanCodes(ctx context.Context, after uuid.UUID, limit int) ([]qr.DynamicCode, error) {
	if limit <= 0 {
		return nil, nil
	}
	return queryAll(ctx, s.db, "scan QR codes", s.q.scanCodes, scanQRCode, [16]byte(after), limit)
}

// changeCode runs a conditional update of a code's claim; when it changes
// nothing, the result is unknownCode for a missing code, else missed.
func (s *QRStore) changeCode(ctx context.Context, op, query string, id, payment uuid.UUID, missed error) error {
	var business error
	err := s.db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		business = nil
		ct, err := conn.Exec(ctx, query, [16]byte(id), [16]byte(payment))
		if err != nil || ct.RowsAffected() == 1 {
			return err
		}
		exists, _, err := one(ctx, conn, s.q.codeExists, pgx.RowTo[bool], [16]byte(id))
		switch {
		case err != nil:
			return err
		case !exists:
			business = unknownCode(id)
		default:
			business = missed
		}
		return nil
	})
	if err != nil {
		return err
	}
	return business
}

// ClaimedCodes implements qr.DynamicCodeStore from a partial index of
// unsettled claims.
//
// Errors: the infrastructure errors of this package.
func (s *QRStore) ClaimedCodes(ctx context.Context, before time.Time, limit int) ([]qr.DynamicCode, error) {
	if limit <= 0 {
		return nil, nil
	}
	return queryAll(ctx, s.db, "claimed QR codes", s.q.claimed, scanQRCode, before, limit)
}

func scanReservation(row pgx.CollectableRow) (qr.CapReservation, error) {
	var payment, user [16]byte
	var day, cur string
	var units int64
	var at time.Time
	var settled bool
	if err := row.Scan(&payment, &user, &day, &cur, &units, &at, &settled); err != nil {
		return qr.CapReservation{}, err
	}
	amount, err := money(units, cur)
	if err != nil {
		return qr.CapReservation{}, err
	}
	return qr.CapReservation{Payment: payment, User: user, Day: day, Amount: amount, At: utc(at), Settled: settled}, nil
}

// ReserveCap implements qr.CapStore: one transaction of two round trips.
// The first begins, makes sure the user's row of the day exists, locks it
// and reads the total and any reservation of the payment; qr's rule
// (CapReservation.Reserve) decides on them; the second inserts the
// reservation and adds it to the total in one statement, and commits.
//
// Errors: qr.ErrInvalidValue, ledger.ErrCurrencyMismatch, qr.ErrDailyCap,
// qr.ErrReservationConflict, and the infrastructure errors of this
// package.
func (s *QRStore) ReserveCap(ctx context.Context, r qr.CapReservation, limit ledger.Money) (ledger.Money, error) {
	if err := r.Validate(limit); err != nil {
		return ledger.Money{}, err
	}
	if !ledger.StorableText(r.Day) {
		return ledger.Money{}, fmt.Errorf("qr: cap day %q PostgreSQL text cannot hold: %w", r.Day, qr.ErrInvalidValue)
	}
	cur := r.Amount.Currency()
	var total ledger.Money
	var business error
	err := s.db.run(ctx, "reserve QR cap", func(ctx context.Context, conn *pgx.Conn) error {
		var used int64
		var old *qr.CapReservation
		b := txBatch()
		b.Queue(s.q.ensureTotal, [16]byte(r.User), r.Day, cur.Code())
		b.Queue(s.q.lockTotal, [16]byte(r.User), r.Day, cur.Code()).QueryRow(func(row pgx.Row) error {
			return row.Scan(&used)
		})
		b.Queue(s.q.reservation, [16]byte(r.Payment)).Query(eachRow(scanReservation, func(o qr.CapReservation) { old = &o }))
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		var add bool
		if total, add, business = r.Reserve(limit, ledger.NewMoney(used, cur), old); !add {
			return nil // refused, or reserved before: rolls back
		}
		w := &pgx.Batch{}
		// Nothing added when the payment was reserved concurrently.
		w.Queue(s.q.reserve, [16]byte(r.Payment), [16]byte(r.User), r.Day, cur.Code(), r.Amount.Units(), r.At).
			Exec(insertedOrRerun)
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
	if err != nil {
		return ledger.Money{}, err
	}
	return total, business
}

// CapUsed implements qr.CapStore.
//
// Errors: the infrastructure errors of this package.
func (s *QRStore) CapUsed(ctx context.Context, user uuid.UUID, day string, c ledger.Currency) (ledger.Money, error) {
	total, _, err := queryOne(ctx, s.db, "QR cap used", s.q.capUsed, pgx.RowTo[int64], [16]byte(user), day, c.Code())
	return ledger.NewMoney(total, c), err
}

// SettleCap implements qr.CapStore.
//
// Errors: qr.ErrNotReserved, and the infrastructure errors of this package.
func (s *QRStore) SettleCap(ctx context.Context, payment uuid.UUID) error {
	n, err := s.db.exec(ctx, "settle QR cap", s.q.settleCap, [16]byte(payment))
	if err == nil && n != 1 {
		err = fmt.Errorf("%w: %s", qr.ErrNotReserved, payment)
	}
	return err
}

// ReleaseCap implements qr.CapStore in one statement.
//
// Errors: the infrastructure errors of this package.
func (s *QRStore) ReleaseCap(ctx context.Context, payment uuid.UUID) error {
	_, err := s.db.exec(ctx, "release QR cap", s.q.releaseCap, [16]byte(payment))
	return err
}

// ResetCap implements qr.CapStore in one statement.
//
// Errors: the infrastructure errors of this package.
func (s *QRStore) ResetCap(ctx context.Context, payment uuid.UUID) error {
	_, err := s.db.exec(ctx, "reset QR cap", s.q.resetCap, [16]byte(payment))
	return err
}

// ScanReservations implements qr.CapStore by primary key.
//
// Errors: the infrastructure errors of this package.
func (s *QRStore) ScanReservations(ctx context.Context, after uuid.UUID, limit int) ([]qr.CapReservation, error) {
	if limit <= 0 {
		return nil, nil
	}
	return queryAll(ctx, s.db, "scan QR cap reservations", s.q.scanCaps, scanReservation, [16]byte(after), limit)
}

// ReservedCaps implements qr.CapStore from a partial index of unsettled
// reservations.
//
// Errors: the infrastructure errors of this package.
func (s *QRStore) ReservedCaps(ctx context.Context, before time.Time, limit int) ([]qr.CapReservation, error) {
	if limit <= 0 {
		return nil, nil
	}
	return queryAll(ctx, s.db, "reserved QR caps", s.q.reserved, scanReservation, before, limit)
}

func scanDevice(row pgx.CollectableRow) (qr.Device, error) {
	var d qr.Device
	var account [16]byte
	var serial int64
	var revoked *time.Time
	if err := row.Scan(&d.ID, &account, &serial, &d.Secret, &d.CreatedAt, &revoked); err != nil {
		return qr.Device{}, err
	}
	d.Account, d.Serial, d.CreatedAt, d.RevokedAt = account, uint64(serial), utc(d.CreatedAt), utcOrZero(revoked)
	return d, nil
}

// CreateDevice implements qr.DeviceStore.
//
// Errors: qr.ErrInvalidValue, qr.ErrDeviceExists, qr.ErrSerialTaken, and
// the infrastructure errors of this package.
func (s *QRStore) CreateDevice(ctx context.Context, d qr.Device) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if !ledger.StorableText(d.ID) {
		return fmt.Errorf("qr: device ID %q PostgreSQL text cannot hold: %w", d.ID, qr.ErrInvalidValue)
	}
	var business error
	err := s.db.run(ctx, "create QR device", func(ctx context.Context, conn *pgx.Conn) error {
		business = nil
		ct, err := conn.Exec(ctx, s.q.insertDevice, d.ID, [16]byte(d.Account), int64(d.Serial), d.Secret, d.CreatedAt)
		if err != nil || ct.RowsAffected() == 1 {
			return err
		}
		exists, _, err := one(ctx, conn, s.q.deviceExists, pgx.RowTo[bool], d.ID)
		switch {
		case err != nil:
			return err
		case exists:
			business = fmt.Errorf("%w: %q", qr.ErrDeviceExists, d.ID)
		default:
			business = fmt.Errorf("%w: %d", qr.ErrSerialTaken, d.Serial)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return business
}

// Device implements qr.DeviceStore.
//
// Errors: qr.ErrUnknownDevice, and the infrastructure errors of this
// package.
func (s *QRStore) Device(ctx context.Context, id string) (qr.Device, error) {
	return s.findDevice(ctx, s.q.device, id)
}

// DeviceBySerial implements qr.DeviceFinder.
//
// Errors: qr.ErrUnknownDevice, and the infrastructure errors of this
// package.
func (s *QRStore) DeviceBySerial(ctx context.Context, serial uint64) (qr.Device, error) {
	if serial >= qr.MaxSerial {
		return qr.Device{}, qr.ErrUnknownDevice
	}
	return s.findDevice(ctx, s.q.deviceBySerial, int64(serial))
}

func (s *QRStore) findDevice(ctx context.Context, query string, key any) (qr.Device, error) {
	d, found, err := queryOne(ctx, s.db, "QR device", query, scanDevice, key)
	if err == nil && !found {
		err = fmt.Errorf("%w %v", qr.ErrUnknownDevice, key)
	}
	return d, err
}

// RevokeDevice implements qr.DeviceStore.
//
// Errors: qr.ErrUnknownDevice, and the infrastructure errors of this
// package.
func (s *QRStore) RevokeDevice(ctx context.Context, id string, at time.Time) error {
	n, err := s.db.exec(ctx, "revoke QR device", s.q.revoke, id, at)
	if err == nil && n != 1 {
		err = fmt.Errorf("%w %q", qr.ErrUnknownDevice, id)
	}
	return err
}

// MarkUsed implements qr.UsedCodeStore with an INSERT … ON CONFLICT DO
// NOTHING on (serial, step).
//
// Errors: qr.ErrInvalidValue (no charge), qr.ErrReplay, and the
// infrastructure errors of this package.
func (s *QRStore) MarkUsed(ctx context.Context, serial uint64, step int64, charge uuid.UUID) error {
	if charge == uuid.Nil || serial >= qr.MaxSerial {
		return fmt.Errorf("qr: payment code marked used without a charge or with serial %d: %w", serial, qr.ErrInvalidValue)
	}
	var replay bool
	err := s.db.run(ctx, "mark QR payment code used", func(ctx context.Context, conn *pgx.Conn) error {
		replay = false
		ct, err := conn.Exec(ctx, s.q.markUsed, int64(serial), step, [16]byte(charge))
		if err != nil || ct.RowsAffected() == 1 {
			return err
		}
		by, found, err := one(ctx, conn, s.q.usedBy, pgx.RowTo[[16]byte], int64(serial), step)
		if err == nil && !found {
			return errRerun // pruned in between: mark again
		}
		replay = err == nil && uuid.UUID(by) != charge
		return err
	})
	switch {
	case err != nil:
		return err
	case replay:
		return qr.ErrReplay
	}
	return nil
}

// PruneUsed implements qr.UsedCodeStore.
//
// Errors: the infrastructure errors of this package.
func (s *QRStore) PruneUsed(ctx context.Context, before int64) (int, error) {
	n, err := s.db.exec(ctx, "prune QR payment codes", s.q.prune, before)
	return int(n), err
}

// serialRow is a scanned qr_serial_tries row.
type serialRow struct {
	serial, spent int64
	count         int32
	since, locked *time.Time
	day, cur      string
	last          [16]byte
}

func (w *serialRow) dest() []any {
	return []any{&w.serial, &w.count, &w.since, &w.locked, &w.day, &w.cur, &w.spent, &w.last}
}

func (w *serialRow) record() (qr.SerialRecord, error) {
	r := qr.SerialRecord{Serial: uint64(w.serial), Day: w.day, LastCharge: w.last,
		Strikes: qr.Strikes{Count: int(w.count), Since: utcOrZero(w.since), LockedAt: utcOrZero(w.locked)}}
	if w.cur != "" {
		m, err := money(w.spent, w.cur)
		if err != nil {
			return qr.SerialRecord{}, err
		}
		r.Spent = m
	}
	return r, nil
}

func scanSerialRecord(row pgx.CollectableRow) (qr.SerialRecord, error) {
	var w serialRow
	if err := row.Scan(w.dest()...); err != nil {
		return qr.SerialRecord{}, err
	}
	return w.record()
}

// triesRow is the scan target of qrTriesCols.
type triesRow struct {
	serial   serialRow
	merchant [16]byte
	count    int32
	since    *time.Time
}

func (r *triesRow) dest() []any { return append(r.serial.dest(), &r.merchant, &r.count, &r.since) }

func (r *triesRow) tries() (tries, error) {
	sr, err := r.serial.record()
	return tries{sr, qr.MerchantRecord{Merchant: r.merchant, Strikes: qr.Strikes{Count: int(r.count), Since: utcOrZero(r.since)}}}, err
}

// scanTries reads peekTries' row: both records.
func scanTries(row pgx.CollectableRow) (tries, error) {
	var w triesRow
	if err := row.Scan(w.dest()...); err != nil {
		return tries{}, err
	}
	return w.tries()
}

// tries is a serial's and a merchant's record.
type tries struct {
	serial   qr.SerialRecord
	merchant qr.MerchantRecord
}

func scanMerchantRecord(row pgx.CollectableRow) (qr.MerchantRecord, error) {
	var r qr.MerchantRecord
	var merchant [16]byte
	var count int32
	var since *time.Time
	if err := row.Scan(&merchant, &count, &since); err != nil {
		return qr.MerchantRecord{}, err
	}
	r.Merchant, r.Count, r.Since = merchant, int(count), utcOrZero(since)
	return r, nil
}

func checkTry(t *qr.CodeTry) error {
	if t.Serial >= qr.MaxSerial || t.Merchant == uuid.Nil || !ledger.StorableText(t.Day) {
		return fmt.Errorf("qr: attempt without a merchant, with serial %d or day %q: %w", t.Serial, t.Day, qr.ErrInvalidValue)
	}
	return nil
}

// try runs one attempt transaction: it makes sure t's two rows exist,
// locks them (serial first, then merchant, in every transaction), reads
// them, lets decide compute the rows to keep, writes those that changed,
// and commits: two round trips.
func (s *QRStore) try(ctx context.Context, op string, t *qr.CodeTry,
	decide func(qr.SerialRecord, qr.MerchantRecord) (qr.SerialRecord, qr.MerchantRecord)) error {
	if err := checkTry(t); err != nil {
		return err
	}
	return s.db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		var sr qr.SerialRecord
		var mr qr.MerchantRecord
		b := txBatch()
		b.Queue(s.q.ensureSerial, int64(t.Serial))
		b.Queue(s.q.ensureMerchant, [16]byte(t.Merchant))
		b.Queue(s.q.lockSerial, int64(t.Serial)).Query(eachRow(scanSerialRecord, func(r qr.SerialRecord) { sr = r }))
		b.Queue(s.q.lockMerchant, [16]byte(t.Merchant)).Query(eachRow(scanMerchantRecord, func(r qr.MerchantRecord) { mr = r }))
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		oldS, oldM := sr, mr
		sr, mr = decide(sr, mr)
		w := &pgx.Batch{}
		if !sameSerialRecord(&sr, &oldS) {
			w.Queue(s.q.writeSerial, int64(t.Serial), int32(sr.Count), nullTime(sr.Since), nullTime(sr.LockedAt), sr.Day,
				currencyCode(sr.Spent), sr.Spent.Units(), [16]byte(sr.LastCharge)).Exec(expectRows(1))
		}
		if mr.Count != oldM.Count || !mr.Since.Equal(oldM.Since) {
			w.Queue(s.q.writeMerchant, [16]byte(t.Merchant), int32(mr.Count), nullTime(mr.Since)).Exec(expectRows(1))
		}
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
}

// sameSerialRecord reports whether a and b would be stored alike.
func sameSerialRecord(a, b *qr.SerialRecord) bool {
	return a.Count == b.Count && a.Since.Equal(b.Since) && a.LockedAt.Equal(b.LockedAt) && a.Day == b.Day &&
		a.Spent == b.Spent && a.LastCharge == b.LastCharge
}

// currencyCode is m's currency code, or "" for the zero Money.
func currencyCode(m ledger.Money) string {
	if m.Currency().IsZero() {
		return ""
	}
	return m.Currency().Code()
}

// BeginTry implements qr.AttemptStore. It first reads both records in
// one statement, without locks: an attempt that p.Passes on them (a
// genuine code with nothing to count) is decided there, one round trip and
// no commit. Any other attempt is then decided in one transaction of two
// round trips, under the locks of the serial's and the merchant's rows;
// every attempt reads first, so failures of every kind take the same
// steps.
//
// Errors: qr.ErrInvalidValue, and the infrastructure errors of this
// package.
func (s *QRStore) BeginTry(ctx context.Context, t qr.CodeTry, p qr.Lockout) (qr.TryResult, error) {
	if err := checkTry(&t); err != nil {
		return qr.TryResult{}, err
	}
	rec, _, err := queryOne(ctx, s.db, "peek QR payment-code attempt", s.q.peekTries, scanTries, int64(t.Serial), [16]byte(t.Merchant))
	if err != nil {
		return qr.TryResult{}, err
	}
	if res, ok := p.Passes(rec.serial, rec.merchant, t); ok {
		return res, nil
	}
	var res qr.TryResult
	err = s.try(ctx, "begin QR payment-code attempt", &t, func(sr qr.SerialRecord, mr qr.MerchantRecord) (qr.SerialRecord, qr.MerchantRecord) {
		sr, mr, res = p.Begin(sr, mr, t)
		return sr, mr
	})
	if err != nil {
		return qr.TryResult{}, err
	}
	return res, nil
}

// EndTry implements qr.AttemptStore as BeginTry does.
//
// Errors: qr.ErrInvalidValue, and the infrastructure errors of this
// package.
func (s *QRStore) EndTry(ctx context.Context, t qr.CodeTry, e qr.TryEnd, p qr.Lockout) error {
	return s.try(ctx, "end QR payment-code attempt", &t, func(sr qr.SerialRecord, mr qr.MerchantRecord) (qr.SerialRecord, qr.MerchantRecord) {
		return p.End(sr, mr, t, e)
	})
}

// SerialRecord implements qr.AttemptStore.
//
// Errors: the infrastructure errors of this package.
func (s *QRStore) SerialRecord(ctx context.Context, serial uint64) (qr.SerialRecord, error) {
	if serial >= qr.MaxSerial {
		return qr.SerialRecord{Serial: serial}, nil
	}
	r, found, err := queryOne(ctx, s.db, "QR serial attempts", s.q.serial, scanSerialRecord, int64(serial))
	if err == nil && !found {
		r = qr.SerialRecord{Serial: serial}
	}
	return r, err
}

// UnlockSerial implements qr.AttemptStore.
//
// Errors: the infrastructure errors of this package.
func (s *QRStore) UnlockSerial(ctx context.Context, serial uint64) error {
	if serial >= qr.MaxSerial {
		return nil
	}
	_, err := s.db.exec(ctx, "unlock QR serial", s.q.unlock, int64(serial))
	return err
}
