package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// RedPacketStore keeps red packets and their claims in PostgreSQL: a
// redpacket.Store that passes redpackettest.Run. It is safe for concurrent
// use by many goroutines and many processes.
//
// Every change is one transaction of two round trips, the same shape as the
// ledger store's: the first begins and locks the packet's row (SELECT … FOR
// UPDATE), reading the claiming user's claim with it; the pure transition
// of redpacket.Packet (Take, MarkPosted, BeginRefund…) decides against
// exactly that row; the second writes the new state (and the claim) and
// commits, with the rows affected checked. Claims on one packet therefore
// queue on its row — one share handed out per transaction, never two —
// while claims on different packets never wait for each other; a refund's
// transition takes the same row lock, so a claim is either committed
// before the refund computes the remainder or sees the packet closed.
// (packet, user) and (packet, share index) are unique in the schema too.
//
// Business outcomes (redpacket.ErrSoldOut, ErrExpired…) are returned as
// the redpacket sentinels; this package's errors (ErrUnavailable,
// ErrRetriesExhausted, ErrIntegrity, context errors) mean the database
// could not do its part, after which the change may or may not have
// committed. Every change is idempotent or answers for its own earlier
// commit (a claim returns the existing claim), so running it again is safe.
type RedPacketStore struct {
	db *DB
	q  redPacketQueries
}

var _ redpacket.Store = (*RedPacketStore)(nil)

// NewRedPacketStore returns the red-packet store on db.
func NewRedPacketStore(db *DB) *RedPacketStore {
	return &RedPacketStore{db: db, q: newRedPacketQueries(db)}
}

type redPacketQueries struct {
	insert, get, lock, claimOf, claims, update, insertClaim, markClaim, expired, unsettled string
}

const packetCols = `id, kind, sender, sender_account, coalesce(group_id, ` + nilUUID + `),
	coalesce(recipient, ` + nilUUID + `), password, sender_may_grab, currency, total, count, shares, escrow,
	created_at, expires_at, status, claimed, posted, settled`

const claimCols = `packet_id, user_id, account, idx, amount, claimed_at, posted`

// listing pages by (expires_at, id) after a cursor: $N and $N+1 are the
// cursor (NULL time: from the start), $N+2 the limit.
func listing(n int) string {
	return fmt.Sprintf(` and ($%d::timestamptz is null or (expires_at, id) > ($%d, $%d)) order by expires_at, id limit $%d`,
		n, n, n+1, n+2)
}

func newRedPacketQueries(db *DB) redPacketQueries {
	q := redPacketQueries{
		insert: `insert into $S.redpackets (id, kind, sender, sender_account, group_id, recipient, password,
				sender_may_grab, currency, total, count, shares, escrow, created_at, expires_at, status, claimed, posted, settled)
			values ($1, $2, $3, $4, nullif($5, ` + nilUUID + `), nullif($6, ` + nilUUID + `), $7, $8, $9, $10, $11, $12,
				$13, $14, $15, $16, 0, 0, false)
			on conflict (id) do nothing`,
		get:         `select ` + packetCols + ` from $S.redpackets where id = $1`,
		lock:        `select ` + packetCols + ` from $S.redpackets where id = $1 for update`,
		claimOf:     `select ` + claimCols + ` from $S.redpacket_claims where packet_id = $1 and user_id = $2`,
		claims:      `select ` + claimCols + ` from $S.redpacket_claims where packet_id = $1 order by idx`,
		update:      `update $S.redpackets set status = $2, claimed = $3, posted = $4, settled = $5 where id = $1`,
		insertClaim: `insert into $S.redpacket_claims (` + claimCols + `) values ($1, $2, $3, $4, $5, $6, false)`,
		markClaim:   `update $S.redpacket_claims set posted = true where packet_id = $1 and user_id = $2 and not posted`,
		// Statuses: 2 open, 4 refunding, 6 cancelled (see the migration).
		expired: `select ` + packetCols + ` from $S.redpackets
			where status in (2, 4) and expires_at <= $1` + listing(2),
		// redpacket.State.NeedsReconcile.
		unsettled: `select ` + packetCols + ` from $S.redpackets
			where not settled and status <> 6 and (status <> 2 or posted < claimed)` + listing(1),
	}
	for _, p := range []*string{&q.insert, &q.get, &q.lock, &q.claimOf, &q.claims, &q.update, &q.insertClaim,
		&q.markClaim, &q.expired, &q.unsettled} {
		*p = db.qualify(*p)
	}
	return q
}

// packetRow receives the columns packetCols lists.
type packetRow struct {
	id, sender, senderAccount, group, recipient, escrow [16]byte
	kind, status                                        int16
	password, cur                                       string
	mayGrab, settled                                    bool
	total                                               int64
	count, claimed, posted                              int32
	shares                                              []int64
	createdAt, expiresAt                                time.Time
}

func (r *packetRow) dest() []any {
	return []any{&r.id, &r.kind, &r.sender, &r.senderAccount, &r.group, &r.recipient, &r.password, &r.mayGrab,
		&r.cur, &r.total, &r.count, &r.shares, &r.escrow, &r.createdAt, &r.expiresAt, &r.status, &r.claimed,
		&r.posted, &r.settled}
}

func (r *packetRow) packet() (redpacket.Packet, error) {
	c, err := currency(r.cur)
	if err != nil {
		return redpacket.Packet{}, err
	}
	return redpacket.Packet{
		ID: r.id, Kind: redpacket.Kind(r.kind), Sender: r.sender, SenderAccount: r.senderAccount,
		Group: r.group, Recipient: r.recipient, Password: r.password, SenderMayGrab: r.mayGrab,
		Total: ledger.NewMoney(r.total, c), Count: int(r.count), Shares: r.shares, Escrow: r.escrow,
		CreatedAt: utc(r.createdAt), ExpiresAt: utc(r.expiresAt),
		State: redpacket.State{Status: redpacket.Status(r.status), Claimed: int(r.claimed), Posted: int(r.posted), Settled: r.settled},
	}, nil
}

func scanPacket(row pgx.Row) (redpacket.Packet, error) {
	var r packetRow
	if err := row.Scan(r.dest()...); err != nil {
		return redpacket.Packet{}, err
	}
	return r.packet()
}

// scanClaim reads a claim of a packet in currency c.
func scanClaim(row pgx.Row, c ledger.Currency) (redpacket.Claim, error) {
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
	if !storableText(p.Password) {
		return redpacket.Packet{}, fmt.Errorf("%w: packet %s: password PostgreSQL text cannot hold", redpacket.ErrInvalidPacket, p.ID)
	}
	var stored redpacket.Packet
	inserted := false
	err := s.db.run(ctx, "create red packet", func(ctx context.Context, conn *pgx.Conn) error {
		ct, err := conn.Exec(ctx, s.q.insert, [16]byte(p.ID), int16(p.Kind), [16]byte(p.Sender), [16]byte(p.SenderAccount),
			[16]byte(p.Group), [16]byte(p.Recipient), p.Password, p.SenderMayGrab, p.Total.Currency().Code(),
			p.Total.Units(), int32(p.Count), p.Shares, [16]byte(p.Escrow), p.CreatedAt, p.ExpiresAt, int16(p.Status))
		if err != nil {
			return err
		}
		if inserted = ct.RowsAffected() == 1; inserted {
			return nil
		}
		stored, err = scanPacket(conn.QueryRow(ctx, s.q.get, [16]byte(p.ID)))
		return err
	})
	switch {
	case err != nil:
		return redpacket.Packet{}, err
	case !inserted:
		return stored, fmt.Errorf("packet %s: %w", p.ID, redpacket.ErrPacketExists)
	}
	p.Shares = append([]int64(nil), p.Shares...)
	return p, nil
}

// Packet implements redpacket.Store.
//
// Errors: redpacket.ErrPacketNotFound, and the infrastructure errors of
// this package.
func (s *RedPacketStore) Packet(ctx context.Context, id uuid.UUID) (redpacket.Packet, error) {
	var p redpacket.Packet
	found := false
	err := s.db.run(ctx, "red packet", func(ctx context.Context, conn *pgx.Conn) error {
		var err error
		p, err = scanPacket(conn.QueryRow(ctx, s.q.get, [16]byte(id)))
		found = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	switch {
	case err != nil:
		return redpacket.Packet{}, err
	case !found:
		return redpacket.Packet{}, notFound(id)
	}
	return p, nil
}

// change is one locked transition: it begins, locks packet id's row (and
// reads user's claim when user is not nil), and calls decide with them
// (claim nil when there is none). decide changes p (and the claim) through
// the pure transitions and returns the writes to make with the claim, or
// a business error, which rolls back and is returned as is.
type decision struct {
	state       bool             // write p.State
	insertClaim *redpacket.Claim // insert this claim
	markPosted  bool             // mark the user's claim posted
}

func (s *RedPacketStore) change(ctx context.Context, op string, id uuid.UUID, user *uuid.UUID,
	decide func(p *redpacket.Packet, c *redpacket.Claim) (decision, error)) (redpacket.Packet, error) {
	var p redpacket.Packet
	var business error
	err := s.db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		business = nil
		found := false
		var claim *redpacket.Claim
		var scanErr error
		b := &pgx.Batch{}
		b.Queue("begin isolation level read committed")
		b.Queue(s.q.lock, [16]byte(id)).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				p, scanErr = scanPacket(rows)
				found = true
			}
			return rows.Err()
		})
		if user != nil {
			b.Queue(s.q.claimOf, [16]byte(id), [16]byte(*user)).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					c, err := scanClaim(rows, ledger.Currency{}) // the packet's currency is set below
					if err != nil {
						return err
					}
					claim = &c
				}
				return rows.Err()
			})
		}
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if scanErr != nil {
			return scanErr
		}
		if !found {
			business = notFound(id)
			return nil // rolls back
		}
		if claim != nil {
			claim.Amount = ledger.NewMoney(claim.Amount.Units(), p.Total.Currency())
		}
		d, err := decide(&p, claim)
		if err != nil {
			business = err
			return nil
		}
		if !d.state && d.insertClaim == nil && !d.markPosted {
			return nil
		}
		w := &pgx.Batch{}
		if c := d.insertClaim; c != nil {
			w.Queue(s.q.insertClaim, [16]byte(id), [16]byte(c.User), [16]byte(c.Account), int32(c.Index),
				c.Amount.Units(), c.ClaimedAt).Exec(expectRows(1))
		}
		if d.markPosted {
			w.Queue(s.q.markClaim, [16]byte(id), [16]byte(*user)).Exec(expectRows(1))
		}
		if d.state {
			w.Queue(s.q.update, [16]byte(id), int16(p.Status), int32(p.Claimed), int32(p.Posted), p.Settled).Exec(expectRows(1))
		}
		w.Queue("commit").Exec(func(ct pgconn.CommandTag) error {
			if ct.String() != "COMMIT" {
				return fmt.Errorf("postgres: commit answered %q", ct.String())
			}
			return nil
		})
		return conn.SendBatch(ctx, w).Close()
	})
	if err != nil {
		return redpacket.Packet{}, err
	}
	return p, business
}

// expectRows checks a write's rows affected: the row is locked, so any
// other count is an integrity failure.
func expectRows(n int64) func(pgconn.CommandTag) error {
	return func(ct pgconn.CommandTag) error {
		if ct.RowsAffected() != n {
			return fmt.Errorf("%w: %q affected %d rows, want %d", ErrIntegrity, ct.String(), ct.RowsAffected(), n)
		}
		return nil
	}
}

// transition runs a transition of the packet alone.
func (s *RedPacketStore) transition(ctx context.Context, op string, id uuid.UUID, f func(p *redpacket.Packet) (bool, error)) (redpacket.Packet, error) {
	return s.change(ctx, op, id, nil, func(p *redpacket.Packet, _ *redpacket.Claim) (decision, error) {
		changed, err := f(p)
		return decision{state: changed}, err
	})
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
func (s *RedPacketStore) Cancel(ctx context.Context, id uuid.UUID) (redpacket.State, error) {
	p, err := s.transition(ctx, "cancel red packet", id, (*redpacket.Packet).Cancel)
	return p.State, err
}

// Claim implements redpacket.Store: under the packet's row lock, the
// user's existing claim is returned, or redpacket.Packet.Take hands out the
// next share, inserted with the new state in one commit.
//
// Errors: redpacket.ErrPacketNotFound, ErrNotFunded, ErrPacketCancelled,
// ErrRefunded, ErrSoldOut, ErrExpired, and the infrastructure errors of
// this package.
func (s *RedPacketStore) Claim(ctx context.Context, id, user, account uuid.UUID, now time.Time) (redpacket.ClaimResult, error) {
	var res redpacket.ClaimResult
	p, err := s.change(ctx, "claim red packet", id, &user, func(p *redpacket.Packet, c *redpacket.Claim) (decision, error) {
		if c != nil {
			res = redpacket.ClaimResult{Claim: *c, Existing: true}
			return decision{}, nil
		}
		nc, err := p.Take(user, account, now)
		if err != nil {
			return decision{}, err
		}
		res = redpacket.ClaimResult{Claim: nc}
		return decision{state: true, insertClaim: &nc}, nil
	})
	if err != nil {
		return redpacket.ClaimResult{}, err
	}
	res.State = p.State
	return res, nil
}

// Claims implements redpacket.Store.
//
// Errors: redpacket.ErrPacketNotFound, and the infrastructure errors of
// this package.
func (s *RedPacketStore) Claims(ctx context.Context, id uuid.UUID) ([]redpacket.Claim, error) {
	var out []redpacket.Claim
	found := false
	err := s.db.run(ctx, "red packet claims", func(ctx context.Context, conn *pgx.Conn) error {
		out, found = nil, false
		var cur string
		err := conn.QueryRow(ctx, s.db.qualify("select currency from $S.redpackets where id = $1"), [16]byte(id)).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		c, err := currency(cur)
		if err != nil {
			return err
		}
		rows, err := conn.Query(ctx, s.q.claims, [16]byte(id))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			cl, err := scanClaim(rows, c)
			if err != nil {
				return err
			}
			out = append(out, cl)
		}
		return rows.Err()
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
//
// Errors: redpacket.ErrPacketNotFound, redpacket.ErrClaimNotFound, and the
// infrastructure errors of this package.
func (s *RedPacketStore) MarkPosted(ctx context.Context, id, user uuid.UUID) (redpacket.State, error) {
	p, err := s.change(ctx, "mark red packet claim posted", id, &user, func(p *redpacket.Packet, c *redpacket.Claim) (decision, error) {
		if c == nil {
			return decision{}, fmt.Errorf("packet %s, user %s: %w", id, user, redpacket.ErrClaimNotFound)
		}
		changed := p.MarkPosted(c)
		return decision{state: changed, markPosted: changed}, nil
	})
	return p.State, err
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

func (s *RedPacketStore) list(ctx context.Context, op, query string, after redpacket.Cursor, limit int, args ...any) ([]redpacket.Packet, error) {
	if limit <= 0 {
		return nil, nil
	}
	var at *time.Time // NULL: from the start
	if !after.ExpiresAt.IsZero() || after.ID != uuid.Nil {
		at = &after.ExpiresAt
	}
	args = append(args, at, [16]byte(after.ID), limit)
	var out []redpacket.Packet
	err := s.db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		out = nil
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPacket(rows)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}
