package postgres

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// RedPacketStore keeps red packets and their claims in PostgreSQL: a
// redpacket.Store that passes redpackettest.Run. It is safe for concurrent
// use by many goroutines and many processes.
//
// Every change is one transaction of two round trips, the same shape as the
// ledger store's: the first begins and locks the packet rows concerned
// (SELECT … ORDER BY id FOR UPDATE: one lock order, so writers queue and
// never deadlock), reading the claimers' claims with them; the pure
// transitions of redpacket.Packet (Take, MarkPosted, BeginRefund…) decide
// against exactly those rows; the second writes the new states and claims
// with one statement per table and commits, with the rows affected
// checked. Concurrent claims, and concurrent paid marks, are gathered into
// one such transaction (group commit, as ledger.GroupCommit does for
// transfers), Take handing out shares in arrival order.
//
// It is also a redpacket.PayingStore: with the LedgerStore on the same
// database and schema, ClaimPaid records a claim and pays its share in one
// transaction of three round trips (packets, then the ledger's accounts,
// then the writes and one commit), concurrent claims again sharing it; the
// Service then claims that way (see redpacket.Service.Claim).
//
// A packet's claims therefore queue on its row — a share is handed out by
// one transaction, never two — while claims on packets in different
// batches never wait for each other; a refund's transition takes the same
// row lock, so a claim is either committed before the refund computes the
// remainder or sees the packet closed. (packet, user) and (packet, share
// index) are unique in the schema too.
//
// A password packet's row holds the keyed hash of its phrase
// (redpacket.PasswordKey), never the phrase; packets recorded before
// migration 0102 had theirs in clear, which HashLegacyPasswords hashes.
//
// Business outcomes (redpacket.ErrSoldOut, ErrExpired…) are returned as
// the redpacket sentinels; this package's errors (ErrUnavailable,
// ErrRetriesExhausted, ErrIntegrity, context errors) mean the database
// could not do its part, after which the change may or may not have
// committed. Every change is idempotent or answers for its own earlier
// commit (a claim returns the existing claim), so running it again is safe.
type RedPacketStore struct {
	db     *DB
	q      redPacketQueries
	ledger *LedgerStore // the ledger on db: ClaimPaid's payments
	claims *grouper[claimCall, redpacket.ClaimResult]
	paid   *grouper[paidCall, redpacket.ClaimResult]
	marks  *grouper[markCall, redpacket.State]
	life   queueLife
}

var _ redpacket.Store = (*RedPacketStore)(nil)

// NewRedPacketStore returns the red-packet store on db.
func NewRedPacketStore(db *DB) *RedPacketStore {
	s := &RedPacketStore{db: db, q: newRedPacketQueries(db), ledger: NewLedgerStore(db)}
	s.life = newQueueLife(db)
	s.claims = newGrouper(s.life, db.tel, "redpacket.claims", claimShape, s.claimBatch)
	s.paid = newGrouper(s.life, db.tel, "redpacket.paid_claims", claimShape, s.claimPaidBatch)
	s.marks = newGrouper(s.life, db.tel, "redpacket.marks", groupDefault, s.markBatch)
	return s
}

type redPacketQueries struct {
	insert, get, lock, lockMany, claimsOf, currency, claims, update, updateMany, insertClaims, markClaims string
	expired, unsettled, all                                                                               string
}

const packetCols = `id, kind, sender, sender_account, coalesce(group_id, ` + nilUUID + `),
	coalesce(recipient, ` + nilUUID + `), password_hash, sender_may_grab, currency, total, count, shares, escrow,
	created_at, expires_at, status, claimed, posted, settled, reason`

const claimCols = `packet_id, user_id, account, idx, amount, claimed_at, posted`

func newRedPacketQueries(db *DB) redPacketQueries {
	q := db.qualify
	return redPacketQueries{
		insert: q(`insert into $S.redpackets (id, kind, sender, sender_account, group_id, recipient, password_hash,
				sender_may_grab, currency, total, count, shares, escrow, created_at, expires_at, status, claimed, posted, settled)
			values ($1, $2, $3, $4, nullif($5, ` + nilUUID + `), nullif($6, ` + nilUUID + `), $7, $8, $9, $10, $11, $12,
				$13, $14, $15, $16, 0, 0, false)
			on conflict (id) do nothing`),
		get:  q(`select ` + packetCols + ` from $S.redpackets where id = $1`),
		lock: q(`select ` + packetCols + ` from $S.redpackets where id = $1 for update`),
		// One lock order for every writer: queue, never deadlock.
		lockMany: q(`select ` + packetCols + ` from $S.redpackets where id = any($1::uuid[]) order by id for update`),
		claimsOf: q(`select ` + prefixed("c", claimCols) + ` from $S.redpacket_claims c
			join unnest($1::uuid[], $2::uuid[]) as u(packet, usr) on c.packet_id = u.packet and c.user_id = u.usr`),
		currency: q(`select currency from $S.redpackets where id = $1`),
		claims:   q(`select ` + claimCols + ` from $S.redpacket_claims where packet_id = $1 order by idx`),
		update:   q(`update $S.redpackets set status = $2, claimed = $3, posted = $4, settled = $5, reason = $6 where id = $1`),
		updateMany: q(`update $S.redpackets r set status = u.status, claimed = u.claimed, posted = u.posted, settled = u.settled
			from unnest($1::uuid[], $2::int2[], $3::int4[], $4::int4[], $5::bool[]) as u(id, status, claimed, posted, settled)
			where r.id = u.id`),
		insertClaims: q(`insert into $S.redpacket_claims (` + claimCols + `)
			select packet, usr, account, idx, amount, at, posted
			from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int4[], $5::int8[], $6::timestamptz[], $7::bool[])
			as u(packet, usr, account, idx, amount, at, posted)`),
		markClaims: q(`update $S.redpacket_claims c set posted = true
			from unnest($1::uuid[], $2::uuid[]) as u(packet, usr)
			where c.packet_id = u.packet and c.user_id = u.usr and not c.posted`),
		expired: q(`select ` + packetCols + ` from $S.redpackets
			where status in (` + sqlInts(redpacket.StatusOpen, redpacket.StatusRefunding) + `) and expires_at <= $1 and ` +
			afterCursor("expires_at", 2) + orderPage("expires_at", 4)),
		// redpacket.State.NeedsReconcile.
		unsettled: q(`select ` + packetCols + ` from $S.redpackets
			where not settled and status <> ` + sqlInts(redpacket.StatusCancelled) +
			` and (status <> ` + sqlInts(redpacket.StatusOpen) + ` or posted < claimed) and ` +
			afterCursor("expires_at", 1) + orderPage("expires_at", 3)),
		all: q(`select ` + packetCols + ` from $S.redpackets where ` + afterCursor("expires_at", 1) + orderPage("expires_at", 3)),
	}
}

// packetRow receives the columns packetCols lists.
type packetRow struct {
	id, sender, senderAccount, group, recipient, escrow [16]byte
	kind, status                                        int16
	cur, reason                                         string
	passwordHash                                        []byte
	mayGrab, settled                                    bool
	total                                               int64
	count, claimed, posted                              int32
	shares                                              []int64
	createdAt, expiresAt                                time.Time
}

func (r *packetRow) dest() []any {
	return []any{&r.id, &r.kind, &r.sender, &r.senderAccount, &r.group, &r.recipient, &r.passwordHash, &r.mayGrab,
		&r.cur, &r.total, &r.count, &r.shares, &r.escrow, &r.createdAt, &r.expiresAt, &r.status, &r.claimed,
		&r.posted, &r.settled, &r.reason}
}

func (r *packetRow) packet() (redpacket.Packet, error) {
	total, err := money(r.total, r.cur)
	if err != nil {
		return redpacket.Packet{}, err
	}
	return redpacket.Packet{
		ID: r.id, Kind: redpacket.Kind(r.kind), Sender: r.sender, SenderAccount: r.senderAccount,
		Group: r.group, Recipient: r.recipient, PasswordHash: r.passwordHash, SenderMayGrab: r.mayGrab,
		Total: total, Count: int(r.count), Shares: r.shares, Escrow: r.escrow,
		CreatedAt: utc(r.createdAt), ExpiresAt: utc(r.expiresAt),
		State: redpacket.State{Status: redpacket.Status(r.status), Claimed: int(r.claimed), Posted: int(r.posted), Settled: r.settled,
			Reason: r.reason},
	}, nil
}

func scanPacket(row pgx.CollectableRow) (redpacket.Packet, error) {
	var r packetRow
	if err := row.Scan(r.dest()...); err != nil {
		return redpacket.Packet{}, err
	}
	return r.packet()
}

// scanClaims returns a scanner of claims of a packet in currency c (the
// claims table leaves the currency to the packet).
func scanClaims(c ledger.Currency) pgx.RowToFunc[redpacket.Claim] {
	return func(row pgx.CollectableRow) (redpacket.Claim, error) {
		var packet, user, account [16]byte
		var idx int32
		var amount int64
		var at time.Time
		var posted bool
		if err := row.Scan(&packet, &user, &account, &idx, &amount, &at, &posted); err != nil {
			return redpacket.Claim{}, err
		}
		return redpacket.Claim{PacketID: packet, User: user, Account: account, Index: int(idx),
			Amount: ledger.NewMoney(amount, c), ClaimedAt: utc(at), Posted: posted}, nil
	}
}

func notFound(id uuid.UUID) error {
	return fmt.Errorf("packet %s: %w", id, redpacket.ErrPacketNotFound)
}

// CreatePacket implements redpacket.Store.
//
// Errors: redpacket.ErrInvalidPacket, redpacket.ErrPacketExists (with the
// stored packet), and the infrastructure errors of this package.
func (s *RedPacketStore) CreatePacket(ctx context.Context, p redpacket.Packet) (redpacket.Packet, error) {
	if err := p.Validate(); err != nil {
		return redpacket.Packet{}, err
	}
	stored, inserted, err := insertOrGet(ctx, s.db, "create red packet", s.q.insert, packetArgs(&p),
		s.q.get, [16]byte(p.ID), scanPacket)
	switch {
	case err != nil:
		return redpacket.Packet{}, err
	case !inserted:
		return stored, fmt.Errorf("packet %s: %w", p.ID, redpacket.ErrPacketExists)
	}
	p.Shares = append([]int64(nil), p.Shares...)
	p.PasswordHash = bytes.Clone(p.PasswordHash)
	return p, nil
}

// packetArgs are the arguments of the insert of a new packet.
func packetArgs(p *redpacket.Packet) []any {
	return []any{[16]byte(p.ID), int16(p.Kind), [16]byte(p.Sender), [16]byte(p.SenderAccount), [16]byte(p.Group),
		[16]byte(p.Recipient), p.PasswordHash, p.SenderMayGrab, p.Total.Currency().Code(), p.Total.Units(),
		int32(p.Count), p.Shares, [16]byte(p.Escrow), p.CreatedAt, p.ExpiresAt, int16(p.Status)}
}

// Packet implements redpacket.Store.
//
// Errors: redpacket.ErrPacketNotFound, and the infrastructure errors of
// this package.
func (s *RedPacketStore) Packet(ctx context.Context, id uuid.UUID) (redpacket.Packet, error) {
	p, found, err := queryOne(ctx, s.db, "red packet", s.q.get, scanPacket, [16]byte(id))
	if err == nil && !found {
		err = notFound(id)
	}
	return p, err
}

// transition is one locked transition of a packet: it begins and locks the
// packet's row, lets f (a pure transition of redpacket.Packet) decide, and
// when f changed the packet writes its state and commits: two round trips.
// A business error of f rolls back and is returned as is.
func (s *RedPacketStore) transition(ctx context.Context, op string, id uuid.UUID, f func(p *redpacket.Packet) (bool, error)) (redpacket.Packet, error) {
	var p redpacket.Packet
	var business error
	err := s.db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		var err error
		if p, business, err = s.lockPacket(ctx, conn, id); err != nil || business != nil {
			return err // business: rolls back
		}
		changed, err := f(&p)
		if err != nil || !changed {
			business = err
			return nil
		}
		w := &pgx.Batch{}
		s.queueUpdate(w, &p)
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
	if err != nil {
		return redpacket.Packet{}, err
	}
	return p, business
}

// lockPacket begins and locks and reads packet id's row, in one round
// trip; a missing packet is the business error notFound.
func (s *RedPacketStore) lockPacket(ctx context.Context, conn *pgx.Conn, id uuid.UUID) (p redpacket.Packet, business, err error) {
	found := false
	b := txBatch()
	b.Queue(s.q.lock, [16]byte(id)).Query(eachRow(scanPacket, func(v redpacket.Packet) { p, found = v, true }))
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return redpacket.Packet{}, nil, err
	}
	if !found {
		return redpacket.Packet{}, notFound(id), nil
	}
	return p, nil, nil
}

// queueUpdate queues the write of packet p's state, reason included.
func (s *RedPacketStore) queueUpdate(w *pgx.Batch, p *redpacket.Packet) {
	w.Queue(s.q.update, [16]byte(p.ID), int16(p.Status), int32(p.Claimed), int32(p.Posted), p.Settled, p.Reason).Exec(expectRows(1))
}

// Open implements redpacket.Store (redpacket.Packet.Open under the row lock).
//
// Errors: redpacket.ErrPacketNotFound, redpacket.ErrPacketCancelled, and
// the infrastructure errors of this package.
func (s *RedPacketStore) Open(ctx context.Context, id uuid.UUID) (redpacket.State, error) {
	p, err := s.transition(ctx, "open red packet", id, (*redpacket.Packet).Open)
	return p.State, err
}

// Cancel implements redpacket.Store (redpacket.Packet.Cancel).
//
// Errors: redpacket.ErrPacketNotFound, redpacket.ErrAlreadyFunded, and the
// infrastructure errors of this package.
func (s *RedPacketStore) Cancel(ctx context.Context, id uuid.UUID, reason string) (redpacket.State, error) {
	p, err := s.transition(ctx, "cancel red packet", id, func(p *redpacket.Packet) (bool, error) { return p.Cancel(reason) })
	return p.State, err
}

// Claim implements redpacket.Store. Concurrent claims are gathered into
// one transaction (group commit, as ledger.GroupCommit does for
// transfers): it locks the rows of every packet claimed, in ID order, reads
// the claimers' existing claims, lets redpacket.Packet.Take hand out the
// next shares in arrival order, and inserts the claims and updates the
// packets with one statement each and one commit. Each caller gets its own
// result; a caller whose context ends first gets its error, and its claim
// may still be recorded (claiming again returns it).
//
// Errors: redpacket.ErrPacketNotFound, ErrNotFunded, ErrPacketCancelled,
// ErrRefunded, ErrSoldOut, ErrExpired, and the infrastructure errors of
// this package.
func (s *RedPacketStore) Claim(ctx context.Context, id, user, account uuid.UUID, now time.Time) (redpacket.ClaimResult, error) {
	return s.claims.Do(ctx, claimCall{packet: id, user: user, account: account, now: now})
}

type claimCall struct {
	packet, user, account uuid.UUID
	now                   time.Time
}

type claimKey struct{ packet, user uuid.UUID }

// lockedBatch is what a batch transaction holds: the packets locked, and
// the claims of the (packet, user) pairs asked about.
type lockedBatch struct {
	packets map[uuid.UUID]*redpacket.Packet
	claims  map[claimKey]*redpacket.Claim
}

// lockBatch begins and, in one round trip, locks the packets and reads the
// claims of keys.
func (s *RedPacketStore) lockBatch(ctx context.Context, conn *pgx.Conn, keys []claimKey) (*lockedBatch, error) {
	b := txBatch()
	lb := s.queueLockBatch(b, keys)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	lb.read()
	return lb, nil
}

// queueLockBatch queues in b the statements that lock the packets and read
// the claims of keys; the lockedBatch is filled once b has run and read
// has been called.
func (s *RedPacketStore) queueLockBatch(b *pgx.Batch, keys []claimKey) *lockedBatch {
	lb := &lockedBatch{packets: map[uuid.UUID]*redpacket.Packet{}, claims: map[claimKey]*redpacket.Claim{}}
	var ids []uuid.UUID
	packets, users := make([][16]byte, len(keys)), make([][16]byte, len(keys))
	for i, k := range keys {
		if _, ok := lb.packets[k.packet]; !ok {
			lb.packets[k.packet] = nil
			ids = append(ids, k.packet)
		}
		packets[i], users[i] = k.packet, k.user
	}
	b.Queue(s.q.lockMany, uuids(ids)).Query(eachRow(scanPacket, func(p redpacket.Packet) { lb.packets[p.ID] = &p }))
	// The packet's currency is set by read.
	b.Queue(s.q.claimsOf, packets, users).Query(eachRow(scanClaims(ledger.Currency{}), func(c redpacket.Claim) {
		lb.claims[claimKey{c.PacketID, c.User}] = &c
	}))
	return lb
}

// read completes the claims read with their packets' currency.
func (lb *lockedBatch) read() {
	for k, c := range lb.claims {
		if p := lb.packets[k.packet]; p != nil {
			c.Amount = ledger.NewMoney(c.Amount.Units(), p.Total.Currency())
		}
	}
}

// queueStates queues the update of the packets in changed by claims or
// marks (never their reason: only Cancel sets one).
func (s *RedPacketStore) queueStates(b *pgx.Batch, lb *lockedBatch, changed map[uuid.UUID]bool) {
	var ids [][16]byte
	var status []int16
	var claimed, posted []int32
	var settled []bool
	for id := range changed {
		p := lb.packets[id]
		ids = append(ids, p.ID)
		status = append(status, int16(p.Status))
		claimed = append(claimed, int32(p.Claimed))
		posted = append(posted, int32(p.Posted))
		settled = append(settled, p.Settled)
	}
	b.Queue(s.q.updateMany, ids, status, claimed, posted, settled).Exec(expectRows(len(ids)))
}

// claimBatch applies a batch of claims in one transaction.
func (s *RedPacketStore) claimBatch(ctx context.Context, calls []*groupCall[claimCall, redpacket.ClaimResult]) error {
	keys := make([]claimKey, len(calls))
	for i, c := range calls {
		keys[i] = claimKey{c.Req.packet, c.Req.user}
	}
	return s.db.run(ctx, "claim red packets", func(ctx context.Context, conn *pgx.Conn) error {
		lb, err := s.lockBatch(ctx, conn, keys)
		if err != nil {
			return err
		}
		changed := map[uuid.UUID]bool{}
		var fresh []redpacket.Claim
		for i, c := range calls {
			c.Res, c.Err = redpacket.ClaimResult{}, nil
			p := lb.packets[c.Req.packet]
			if p == nil {
				c.Err = notFound(c.Req.packet)
				continue
			}
			if existing := lb.claims[keys[i]]; existing != nil {
				c.Res = redpacket.ClaimResult{Claim: *existing, Existing: true}
				continue
			}
			nc, err := p.Take(c.Req.user, c.Req.account, c.Req.now)
			if err != nil {
				c.Err = err
				continue
			}
			c.Res = redpacket.ClaimResult{Claim: nc}
			lb.claims[keys[i]] = &nc // the same user again in this batch gets this claim
			fresh = append(fresh, nc)
			changed[p.ID] = true
		}
		for _, c := range calls { // every caller sees its packet's state after the batch
			if p := lb.packets[c.Req.packet]; p != nil && c.Err == nil {
				c.Res.State = p.State
			}
		}
		if len(fresh) == 0 {
			return nil // rolls back
		}
		w := &pgx.Batch{}
		s.queueClaims(w, fresh)
		s.queueStates(w, lb, changed)
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
}

// queueClaims queues the insert of new claims.
func (s *RedPacketStore) queueClaims(b *pgx.Batch, claims []redpacket.Claim) {
	n := len(claims)
	packets, users, accounts := make([][16]byte, n), make([][16]byte, n), make([][16]byte, n)
	idx, amounts, at, posted := make([]int32, n), make([]int64, n), make([]time.Time, n), make([]bool, n)
	for i, c := range claims {
		packets[i], users[i], accounts[i] = c.PacketID, c.User, c.Account
		idx[i], amounts[i], at[i], posted[i] = int32(c.Index), c.Amount.Units(), c.ClaimedAt, c.Posted
	}
	b.Queue(s.q.insertClaims, packets, users, accounts, idx, amounts, at, posted).Exec(expectRows(n))
}

// Claims implements redpacket.Store.
//
// Errors: redpacket.ErrPacketNotFound, and the infrastructure errors of
// this package.
func (s *RedPacketStore) Claims(ctx context.Context, id uuid.UUID) ([]redpacket.Claim, error) {
	var out []redpacket.Claim
	found := false
	err := s.db.run(ctx, "red packet claims", func(ctx context.Context, conn *pgx.Conn) error {
		out = nil
		code, ok, err := one(ctx, conn, s.q.currency, pgx.RowTo[string], [16]byte(id))
		if found = ok; err != nil || !found {
			return err
		}
		c, err := currency(code)
		if err != nil {
			return err
		}
		rows, err := conn.Query(ctx, s.q.claims, [16]byte(id))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanClaims(c))
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case !found:
		return nil, notFound(id)
	}
	return out, nil
}

// MarkPosted implements redpacket.Store (redpacket.Packet.MarkPosted).
// Concurrent calls share one transaction, as claims do.
//
// Errors: redpacket.ErrPacketNotFound, redpacket.ErrClaimNotFound, and the
// infrastructure errors of this package.
func (s *RedPacketStore) MarkPosted(ctx context.Context, id, user uuid.UUID) (redpacket.State, error) {
	return s.marks.Do(ctx, markCall{packet: id, user: user})
}

type markCall struct{ packet, user uuid.UUID }

// markBatch applies a batch of paid marks in one transaction.
func (s *RedPacketStore) markBatch(ctx context.Context, calls []*groupCall[markCall, redpacket.State]) error {
	keys := make([]claimKey, len(calls))
	for i, c := range calls {
		keys[i] = claimKey(c.Req)
	}
	return s.db.run(ctx, "mark red packet claims paid", func(ctx context.Context, conn *pgx.Conn) error {
		lb, err := s.lockBatch(ctx, conn, keys)
		if err != nil {
			return err
		}
		changed := map[uuid.UUID]bool{}
		var packets, users [][16]byte
		for i, c := range calls {
			c.Res, c.Err = redpacket.State{}, nil
			p := lb.packets[c.Req.packet]
			if p == nil {
				c.Err = notFound(c.Req.packet)
				continue
			}
			cl := lb.claims[keys[i]]
			if cl == nil {
				c.Err = fmt.Errorf("packet %s, user %s: %w", c.Req.packet, c.Req.user, redpacket.ErrClaimNotFound)
				continue
			}
			if p.MarkPosted(cl) {
				changed[p.ID] = true
				packets, users = append(packets, c.Req.packet), append(users, c.Req.user)
			}
		}
		for _, c := range calls {
			if p := lb.packets[c.Req.packet]; p != nil && c.Err == nil {
				c.Res = p.State
			}
		}
		if len(packets) == 0 {
			return nil
		}
		w := &pgx.Batch{}
		w.Queue(s.q.markClaims, packets, users).Exec(expectRows(len(packets)))
		s.queueStates(w, lb, changed)
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
}

// BeginRefund implements redpacket.Store (redpacket.Packet.BeginRefund
// under the row lock that claims take too).
//
// Errors: redpacket.ErrPacketNotFound, ErrNotFunded, ErrPacketCancelled,
// ErrSoldOut, ErrNotExpired, and the infrastructure errors of this package.
func (s *RedPacketStore) BeginRefund(ctx context.Context, id uuid.UUID, now time.Time) (redpacket.Packet, error) {
	return s.transition(ctx, "begin red packet refund", id, func(p *redpacket.Packet) (bool, error) { return p.BeginRefund(now) })
}

// FinishRefund implements redpacket.Store (redpacket.Packet.FinishRefund).
//
// Errors: redpacket.ErrPacketNotFound, redpacket.ErrNotRefunding, and the
// infrastructure errors of this package.
func (s *RedPacketStore) FinishRefund(ctx context.Context, id uuid.UUID) (redpacket.State, error) {
	p, err := s.transition(ctx, "finish red packet refund", id, (*redpacket.Packet).FinishRefund)
	return p.State, err
}

// Settle implements redpacket.Store (redpacket.Packet.Settle).
//
// Errors: redpacket.ErrPacketNotFound, redpacket.ErrNotFinished, and the
// infrastructure errors of this package.
func (s *RedPacketStore) Settle(ctx context.Context, id uuid.UUID) (redpacket.State, error) {
	p, err := s.transition(ctx, "settle red packet", id, (*redpacket.Packet).Settle)
	return p.State, err
}

// Expired implements redpacket.Store, from a partial index of open and
// refunding packets by (expiry, ID).
//
// Errors: the infrastructure errors of this package.
func (s *RedPacketStore) Expired(ctx context.Context, now time.Time, after redpacket.Cursor, limit int) ([]redpacket.Packet, error) {
	return s.list(ctx, "expired red packets", s.q.expired, after, limit, now)
}

// Unsettled implements redpacket.Store, from a partial index of packets
// neither settled nor cancelled by (expiry, ID).
//
// Errors: the infrastructure errors of this package.
func (s *RedPacketStore) Unsettled(ctx context.Context, after redpacket.Cursor, limit int) ([]redpacket.Packet, error) {
	return s.list(ctx, "unsettled red packets", s.q.unsettled, after, limit)
}

// Packets implements redpacket.Store, from an index of every packet by
// (expiry, ID).
//
// Errors: the infrastructure errors of this package.
func (s *RedPacketStore) Packets(ctx context.Context, after redpacket.Cursor, limit int) ([]redpacket.Packet, error) {
	return s.list(ctx, "red packets", s.q.all, after, limit)
}

func (s *RedPacketStore) list(ctx context.Context, op, query string, after redpacket.Cursor, limit int, args ...any) ([]redpacket.Packet, error) {
	if limit <= 0 {
		return nil, nil
	}
	at, id := cursorArgs(after.ExpiresAt, after.ID)
	return queryAll(ctx, s.db, op, query, scanPacket, append(args, at, id, limit)...)
}
