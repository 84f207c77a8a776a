package postgres

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/ledger"
)

// CampaignStore keeps prize campaigns in PostgreSQL: a campaign.Store that
// passes campaigntest.Run, safe for concurrent use by many goroutines and
// many processes.
//
// A change is one read-committed transaction that locks the campaign's
// row (SELECT … FOR UPDATE), lets the pure methods of campaign.Campaign
// decide, and writes the result with the rows affected checked. Concurrent
// tries are gathered into one transaction (group commit, as the red-packet
// store does for claims) of two round trips: the first locks the limiter's
// buckets (inserting the keys never seen at the instant their first try
// leaves them, so that they need no second write), the campaigns
// concerned in ID order, reads the players and the tries of the same
// keys, and — with the ledger on the same schema (PaysOn) — locks the
// accounts of the payments it expects, those of the tries the draw says
// win at the slots the store last saw taken; Campaign.Take decides each
// try in arrival order and ledger.ApplyBatch the winners' payments; the
// second writes tries, players, campaigns and the ledger's rows and
// commits. A winner whose accounts were not expected costs a round trip
// to lock them, or, when that would break the accounts' ID order, the
// batch is decided again with every try's accounts locked. A payment the
// ledger refuses leaves its try recorded unpaid (TryResult.PayErr);
// nothing is decided again. Locks are taken campaigns first, then
// accounts in ID order, and the ledger's own transactions lock accounts
// only, so these transactions queue and never deadlock.
//
// A campaign's row is its tries' one queue: every batch of tries on one
// campaign takes its lock once, and one batch per campaign is in flight
// per process; the callers a batch answered join the next one. The draw
// is computed from the stored seed when a campaign is first read and kept
// for the store's life (it never changes).
type CampaignStore struct {
	db     *DB
	q      campaignQueries
	ledger *LedgerStore
	tries  *tryQueues
	life   queueLife

	mu    sync.Mutex
	draws map[uuid.UUID]*campaign.Draw
	hints map[uuid.UUID]*campaignHint
}

var _ campaign.Store = (*CampaignStore)(nil)

// NewCampaignStore returns the campaign store on db.
func NewCampaignStore(db *DB) *CampaignStore {
	s := &CampaignStore{db: db, q: newCampaignQueries(db), ledger: NewLedgerStore(db), draws: make(map[uuid.UUID]*campaign.Draw),
		hints: make(map[uuid.UUID]*campaignHint)}
	s.life = newQueueLife(db)
	s.tries = newTryQueues(s.life, s.tryBatch)
	return s
}

type campaignQueries struct {
	insert, get, lock, lockMany, players, triesOf, upsertPlayers, insertTries, update, updateMany string
	lookup, markTry, page, unpaid, unsettled                                                      string
	limSeedFinal, limLockOld, limUpsert                                                           string
}

const campaignCols = `id, name, currency, prizes, counts, budget, slots, prize_end, marketing, escrow, commitment, seed,
	opens_at, ends_at, tries_per_user, tries_per_day, wins_per_user, day_offset_s, created_at,
	status, taken, won, winners, paid, settled`

const tryCols = `campaign_id, slot, user_id, seq, account, prize, at, paid, forfeited`

func newCampaignQueries(db *DB) campaignQueries {
	q := db.qualify
	return campaignQueries{
		insert: q(`insert into $S.campaigns (` + campaignCols + `) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
			$13, $14, $15, $16, $17, $18, $19, $20, 0, 0, 0, 0, false) on conflict (id) do nothing`),
		get:      q(`select ` + campaignCols + ` from $S.campaigns where id = $1`),
		lock:     q(`select ` + campaignCols + ` from $S.campaigns where id = $1 for update`),
		lockMany: q(`select ` + campaignCols + ` from $S.campaigns where id = any($1::uuid[]) order by id for update`),
		players: q(`select p.campaign_id, p.user_id, p.tries, p.day, p.day_tries, p.wins from $S.campaign_players p
			join unnest($1::uuid[], $2::uuid[]) as u(c, usr) on p.campaign_id = u.c and p.user_id = u.usr`),
		triesOf: q(`select ` + prefixed("t", tryCols) + ` from $S.campaign_tries t
			join unnest($1::uuid[], $2::uuid[], $3::int4[]) as u(c, usr, seq) on t.campaign_id = u.c and t.user_id = u.usr and t.seq = u.seq`),
		upsertPlayers: q(`insert into $S.campaign_players (campaign_id, user_id, tries, day, day_tries, wins)
			select * from unnest($1::uuid[], $2::uuid[], $3::int4[], $4::int8[], $5::int4[], $6::int4[])
			on conflict (campaign_id, user_id) do update set tries = excluded.tries, day = excluded.day,
				day_tries = excluded.day_tries, wins = excluded.wins`),
		insertTries: q(`insert into $S.campaign_tries (` + tryCols + `)
			select * from unnest($1::uuid[], $2::int4[], $3::uuid[], $4::int4[], $5::uuid[], $6::int8[], $7::timestamptz[], $8::bool[], $9::bool[])`),
		update: q(`update $S.campaigns set status = $2, taken = $3, won = $4, winners = $5, paid = $6, settled = $7 where id = $1`),
		updateMany: q(`update $S.campaigns c set status = u.status, taken = u.taken, won = u.won, winners = u.winners, paid = u.paid, settled = u.settled
			from unnest($1::uuid[], $2::int2[], $3::int4[], $4::int8[], $5::int4[], $6::int4[], $7::bool[]) as u(id, status, taken, won, winners, paid, settled)
			where c.id = u.id`),
		lookup:  q(`select ` + tryCols + ` from $S.campaign_tries where campaign_id = $1 and user_id = $2 and seq = $3`),
		markTry: q(`update $S.campaign_tries set paid = true, forfeited = $4 where campaign_id = $1 and user_id = $2 and seq = $3`),
		page:    q(`select ` + tryCols + ` from $S.campaign_tries where campaign_id = $1 and slot > $2 order by slot limit $3`),
		unpaid: q(`select ` + tryCols + ` from $S.campaign_tries where campaign_id = $1 and prize > 0 and not paid and slot > $2
			order by slot limit $3`),
		unsettled: q(`select ` + campaignCols + ` from $S.campaigns where not settled and status <> ` + sqlInts(campaign.StatusCancelled) + ` and ` +
			afterCursor("ends_at", 1) + orderPage("ends_at", 3)),
		limSeedFinal: q(limSeedFinalSQL),
		limLockOld:   q(limLockOldSQL),
		limUpsert:    q(limUpsertSQL),
	}
}

// The shared limiter's statements, which CampaignLimiter runs on its own
// and CampaignStore.Try in a batch of tries' transaction. A key never seen
// has no row to lock: it is inserted first (a past instant, as good as
// new), so that concurrent callers queue on it; keys are inserted and
// locked in key order (no deadlock), before any campaign row.
const (
	limSeedSQL = `insert into $S.campaign_limits (key, tat)
			select k, 'epoch' from unnest($1::text[]) as u(k) order by k on conflict (key) do nothing`
	// limSeedFinalSQL inserts the keys never seen at the instant given
	// (sorted by key) and returns those it inserted; limLockOldSQL then
	// locks the others (a row this transaction inserted is its own
	// already: no other sees it before the commit).
	limSeedFinalSQL = `insert into $S.campaign_limits (key, tat)
			select * from unnest($1::text[], $2::timestamptz[]) as u(k, t) order by k on conflict (key) do nothing returning key`
	limLockOldSQL = `select key, tat from $S.campaign_limits where key = any($1::text[]) and xmin <> pg_current_xact_id()::xid
			order by key for update`
	limLockSQL   = `select key, tat from $S.campaign_limits where key = any($1::text[]) order by key for update`
	limUpsertSQL = `insert into $S.campaign_limits (key, tat) select * from unnest($1::text[], $2::timestamptz[])
			on conflict (key) do update set tat = excluded.tat`
	maxLimitKey = 128 // bytes of a limiter key (the table's check)
)

// checkLimitKey checks a limiter key against what the table takes.
func checkLimitKey(k string) error {
	if len(k) > maxLimitKey || !ledger.StorableText(k) {
		return fmt.Errorf("%w: rate limit key of %d bytes", campaign.ErrInvalidRequest, len(k))
	}
	return nil
}

// limits is the shared limiter's buckets as one transaction has locked
// them: allow applies campaign.Rate.Allow to a call's keys, all or none.
// fresh holds the keys this transaction inserted, each with the instant
// it was inserted with (the one its first call leaves it at), which need
// no second write if that is where they end.
type limits struct {
	tat     map[string]time.Time
	changed map[string]bool
	fresh   map[string]time.Time
}

func (l *limits) allow(now time.Time, keys []campaign.LimitKey) error {
	var refused *campaign.RateLimitError
	var next [4]time.Time
	nx := next[:0]
	for _, k := range keys {
		tat, ok, wait := k.Rate.Allow(l.tat[k.Key], now)
		if !ok {
			if refused == nil {
				refused = &campaign.RateLimitError{Key: k.Key}
			}
			refused.Wait = max(refused.Wait, wait)
		}
		nx = append(nx, tat)
	}
	if refused != nil {
		return refused
	}
	for i, k := range keys {
		l.tat[k.Key], l.changed[k.Key] = nx[i], true
	}
	return nil
}

// queue queues the write of the buckets whose row does not hold their
// instant: those changed (but a fresh one left where it was inserted) and
// the fresh ones left untouched (back to a past instant, as good as new).
// It reports whether it queued anything.
func (l *limits) queue(b *pgx.Batch, upsert string) bool {
	names := make([]string, 0, len(l.changed))
	for k := range l.changed {
		if at, ok := l.fresh[k]; !ok || !at.Equal(l.tat[k]) {
			names = append(names, k)
		}
	}
	for k := range l.fresh {
		if !l.changed[k] {
			l.tat[k] = time.Unix(0, 0)
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return false
	}
	slices.Sort(names)
	tats := make([]time.Time, len(names))
	for i, k := range names {
		tats[i] = l.tat[k]
	}
	b.Queue(upsert, names, tats).Exec(expectRows(len(names)))
	return true
}

// scanLimits reads the locked buckets.
func (l *limits) scan(rows pgx.Rows) error {
	for rows.Next() {
		var k string
		var tat time.Time
		if err := rows.Scan(&k, &tat); err != nil {
			return err
		}
		l.tat[k] = tat
	}
	return rows.Err()
}

type campaignRow struct {
	id, marketing, escrow                                   [16]byte
	name, cur                                               string
	prizes                                                  []int64
	counts                                                  []int32
	budget, won                                             int64
	slots, prizeEnd, triesPerUser, triesPerDay, winsPerUser int32
	dayOffset, taken, winners, paid                         int32
	commitment, seed                                        []byte
	opensAt, endsAt, createdAt                              time.Time
	status                                                  int16
	settled                                                 bool
}

func scanCampaign(row pgx.CollectableRow) (campaign.Campaign, error) {
	var r campaignRow
	if err := row.Scan(&r.id, &r.name, &r.cur, &r.prizes, &r.counts, &r.budget, &r.slots, &r.prizeEnd, &r.marketing, &r.escrow,
		&r.commitment, &r.seed, &r.opensAt, &r.endsAt, &r.triesPerUser, &r.triesPerDay, &r.winsPerUser, &r.dayOffset, &r.createdAt,
		&r.status, &r.taken, &r.won, &r.winners, &r.paid, &r.settled); err != nil {
		return campaign.Campaign{}, err
	}
	cur, err := currency(r.cur)
	if err != nil {
		return campaign.Campaign{}, err
	}
	if len(r.prizes) != len(r.counts) || len(r.commitment) != 32 || len(r.seed) != 32 {
		return campaign.Campaign{}, fmt.Errorf("%w: campaign %s: malformed row", ErrIntegrity, uuid.UUID(r.id))
	}
	c := campaign.Campaign{
		ID: r.id, Name: r.name, Currency: cur, Budget: r.budget, Slots: int(r.slots), PrizeEnd: int(r.prizeEnd),
		Marketing: r.marketing, Escrow: r.escrow, OpensAt: utc(r.opensAt), EndsAt: utc(r.endsAt),
		Caps: campaign.Caps{TriesPerUser: int(r.triesPerUser), TriesPerDay: int(r.triesPerDay), WinsPerUser: int(r.winsPerUser),
			DayOffset: time.Duration(r.dayOffset) * time.Second},
		CreatedAt: utc(r.createdAt),
		State: campaign.State{Status: campaign.Status(r.status), Taken: int(r.taken), Won: r.won, Winners: int(r.winners),
			Paid: int(r.paid), Settled: r.settled},
	}
	copy(c.Commitment[:], r.commitment)
	copy(c.Seed[:], r.seed)
	for i := range r.prizes {
		c.Schedule = append(c.Schedule, campaign.Tier{Prize: r.prizes[i], Count: int(r.counts[i])})
	}
	return c, nil
}

func scanTry(row pgx.CollectableRow) (campaign.Try, error) {
	var t campaign.Try
	var c, u, a [16]byte
	var slot, seq int32
	if err := row.Scan(&c, &slot, &u, &seq, &a, &t.Prize, &t.At, &t.Paid, &t.Forfeited); err != nil {
		return campaign.Try{}, err
	}
	t.Campaign, t.User, t.Account, t.Slot, t.Seq, t.At = c, u, a, int(slot), int(seq), utc(t.At)
	return t, nil
}

// withDraw sets c's Draw, computing it once per campaign.
func (s *CampaignStore) withDraw(c campaign.Campaign) (campaign.Campaign, error) {
	s.mu.Lock()
	d := s.draws[c.ID]
	s.mu.Unlock()
	if d == nil {
		var err error
		if d, err = campaign.NewDraw(c.Seed, c.Schedule); err != nil {
			return campaign.Campaign{}, fmt.Errorf("%w: campaign %s: %w", ErrIntegrity, c.ID, err)
		}
		prizes := make([]int64, len(c.Schedule))
		for i, t := range c.Schedule {
			prizes[i] = t.Prize
		}
		s.mu.Lock()
		s.draws[c.ID] = d
		if s.hints[c.ID] == nil {
			s.hints[c.ID] = &campaignHint{draw: d, prizes: prizes, taken: c.Taken}
		}
		s.mu.Unlock()
	}
	c.Draw = d
	return c, nil
}

func campaignNotFound(id uuid.UUID) error {
	return fmt.Errorf("campaign %s: %w", id, campaign.ErrCampaignNotFound)
}

// Create implements campaign.Store.
func (s *CampaignStore) Create(ctx context.Context, c campaign.Campaign) (campaign.Campaign, error) {
	if err := c.Validate(); err != nil {
		return campaign.Campaign{}, err
	}
	if c.State != (campaign.State{Status: campaign.StatusFunding}) {
		return campaign.Campaign{}, fmt.Errorf("%w: campaign %s: new with state %+v", campaign.ErrInvalidCampaign, c.ID, c.State)
	}
	prizes, counts := make([]int64, len(c.Schedule)), make([]int32, len(c.Schedule))
	for i, t := range c.Schedule {
		prizes[i], counts[i] = t.Prize, int32(t.Count)
	}
	stored, inserted, err := insertOrGet(ctx, s.db, "create campaign", s.q.insert, []any{[16]byte(c.ID), c.Name, c.Currency.Code(),
		prizes, counts, c.Budget, int32(c.Slots), int32(c.PrizeEnd), [16]byte(c.Marketing), [16]byte(c.Escrow),
		c.Commitment[:], c.Seed[:], c.OpensAt, c.EndsAt, int32(c.Caps.TriesPerUser), int32(c.Caps.TriesPerDay),
		int32(c.Caps.WinsPerUser), int32(c.Caps.DayOffset / time.Second), c.CreatedAt, int16(c.Status)},
		s.q.get, [16]byte(c.ID), scanCampaign)
	switch {
	case err != nil:
		return campaign.Campaign{}, err
	case !inserted:
		stored, err = s.withDraw(stored)
		if err != nil {
			return campaign.Campaign{}, err
		}
		return stored, fmt.Errorf("campaign %s: %w", c.ID, campaign.ErrCampaignExists)
	}
	return s.withDraw(c)
}

// Campaign implements campaign.Store.
func (s *CampaignStore) Campaign(ctx context.Context, id uuid.UUID) (campaign.Campaign, error) {
	c, found, err := queryOne(ctx, s.db, "read campaign", s.q.get, scanCampaign, [16]byte(id))
	switch {
	case err != nil:
		return campaign.Campaign{}, err
	case !found:
		return campaign.Campaign{}, campaignNotFound(id)
	}
	return s.withDraw(c)
}

// change locks a campaign, applies f and writes its state, in one
// transaction; f's error leaves it unchanged.
func (s *CampaignStore) change(ctx context.Context, op string, id uuid.UUID, f func(*campaign.Campaign) error) (campaign.Campaign, error) {
	var out campaign.Campaign
	var refused error
	err := s.db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		refused = nil
		if _, err := conn.Exec(ctx, "begin isolation level read committed"); err != nil {
			return err
		}
		c, found, err := one(ctx, conn, s.q.lock, scanCampaign, [16]byte(id))
		switch {
		case err != nil:
			return err
		case !found:
			refused = campaignNotFound(id)
			return nil
		}
		before := c.State
		if refused = f(&c); refused != nil {
			out = c
			return nil
		}
		out = c
		if c.State == before {
			return nil // nothing to write; the transaction rolls back
		}
		b := &pgx.Batch{}
		b.Queue(s.q.update, [16]byte(id), int16(c.Status), int32(c.Taken), c.Won, int32(c.Winners), int32(c.Paid), c.Settled).Exec(expectRows(1))
		queueCommit(b)
		return conn.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return campaign.Campaign{}, err
	}
	if refused != nil {
		return out, refused
	}
	return s.withDraw(out)
}

func (s *CampaignStore) state(ctx context.Context, op string, id uuid.UUID, f func(*campaign.Campaign) error) (campaign.State, error) {
	c, err := s.change(ctx, op, id, f)
	return c.State, err
}

// Open implements campaign.Store.
func (s *CampaignStore) Open(ctx context.Context, id uuid.UUID) (campaign.State, error) {
	return s.state(ctx, "open campaign", id, (*campaign.Campaign).Open)
}

// Cancel implements campaign.Store.
func (s *CampaignStore) Cancel(ctx context.Context, id uuid.UUID) (campaign.State, error) {
	return s.state(ctx, "cancel campaign", id, (*campaign.Campaign).Cancel)
}

// FinishSweep implements campaign.Store.
func (s *CampaignStore) FinishSweep(ctx context.Context, id uuid.UUID) (campaign.State, error) {
	return s.state(ctx, "finish campaign sweep", id, (*campaign.Campaign).FinishSweep)
}

// Settle implements campaign.Store.
func (s *CampaignStore) Settle(ctx context.Context, id uuid.UUID) (campaign.State, error) {
	return s.state(ctx, "settle campaign", id, (*campaign.Campaign).Settle)
}

// BeginSweep implements campaign.Store.
func (s *CampaignStore) BeginSweep(ctx context.Context, id uuid.UUID, now time.Time) (campaign.Campaign, error) {
	c, err := s.change(ctx, "begin campaign sweep", id, func(c *campaign.Campaign) error { return c.BeginSweep(now) })
	if err != nil {
		return campaign.Campaign{}, err
	}
	return c, nil
}

// MarkPaid implements campaign.Store.
func (s *CampaignStore) MarkPaid(ctx context.Context, id, user uuid.UUID, seq int, forfeited bool) (campaign.State, error) {
	var st campaign.State
	var refused error
	err := s.db.run(ctx, "mark campaign prize paid", func(ctx context.Context, conn *pgx.Conn) error {
		refused = nil
		if _, err := conn.Exec(ctx, "begin isolation level read committed"); err != nil {
			return err
		}
		c, found, err := one(ctx, conn, s.q.lock, scanCampaign, [16]byte(id))
		switch {
		case err != nil:
			return err
		case !found:
			refused = campaignNotFound(id)
			return nil
		}
		st = c.State
		t, found, err := one(ctx, conn, s.q.lookup, scanTry, [16]byte(id), [16]byte(user), int32(seq))
		switch {
		case err != nil:
			return err
		case !found:
			refused = fmt.Errorf("campaign %s: try %d of user %s: %w", id, seq, user, campaign.ErrTryNotFound)
			return nil
		}
		if !c.MarkPaid(&t, forfeited) {
			return nil
		}
		st = c.State
		b := &pgx.Batch{}
		b.Queue(s.q.markTry, [16]byte(id), [16]byte(user), int32(seq), forfeited).Exec(expectRows(1))
		b.Queue(s.q.update, [16]byte(id), int16(c.Status), int32(c.Taken), c.Won, int32(c.Winners), int32(c.Paid), c.Settled).Exec(expectRows(1))
		queueCommit(b)
		return conn.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return campaign.State{}, err
	}
	return st, refused
}

// PaysOn implements campaign.Store: Try pays on a LedgerStore of this
// package on the same database and schema, in the try's transaction.
func (s *CampaignStore) PaysOn(ls ledger.Store) bool {
	st, ok := ls.(*LedgerStore)
	return ok && st.db.pool == s.db.pool && st.db.schema == s.db.schema
}

// LimitsOn implements campaign.Store: Try takes the tokens of a
// CampaignLimiter on the same database and schema in the try's
// transaction.
func (s *CampaignStore) LimitsOn(lim campaign.Limiter) bool {
	l, ok := lim.(*CampaignLimiter)
	return ok && l.db.pool == s.db.pool && l.db.schema == s.db.schema
}

// LookupTry implements campaign.Store.
func (s *CampaignStore) LookupTry(ctx context.Context, id, user uuid.UUID, seq int) (campaign.Try, error) {
	t, found, err := queryOne(ctx, s.db, "read campaign try", s.q.lookup, scanTry, [16]byte(id), [16]byte(user), int32(seq))
	switch {
	case err != nil:
		return campaign.Try{}, err
	case found:
		return t, nil
	}
	if _, err := s.Campaign(ctx, id); err != nil {
		return campaign.Try{}, err
	}
	return campaign.Try{}, fmt.Errorf("campaign %s: try %d of user %s: %w", id, seq, user, campaign.ErrTryNotFound)
}

// Tries implements campaign.Store.
func (s *CampaignStore) Tries(ctx context.Context, id uuid.UUID, after, limit int) ([]campaign.Try, error) {
	return s.list(ctx, s.q.page, id, after, limit)
}

// Unpaid implements campaign.Store.
func (s *CampaignStore) Unpaid(ctx context.Context, id uuid.UUID, after, limit int) ([]campaign.Try, error) {
	return s.list(ctx, s.q.unpaid, id, after, limit)
}

func (s *CampaignStore) list(ctx context.Context, query string, id uuid.UUID, after, limit int) ([]campaign.Try, error) {
	ts, err := queryAll(ctx, s.db, "list campaign tries", query, scanTry, [16]byte(id), int32(max(after, -1)), int32(max(limit, 0)))
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		if _, err := s.Campaign(ctx, id); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// Unsettled implements campaign.Store.
func (s *CampaignStore) Unsettled(ctx context.Context, after campaign.Cursor, limit int) ([]campaign.Campaign, error) {
	at, id := cursorArgs(after.EndsAt, after.ID)
	cs, err := queryAll(ctx, s.db, "list unsettled campaigns", s.q.unsettled, scanCampaign, at, id, max(limit, 0))
	if err != nil {
		return nil, err
	}
	for i := range cs {
		if cs[i], err = s.withDraw(cs[i]); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

// Try implements campaign.Store: concurrent tries share one transaction
// (see CampaignStore).
func (s *CampaignStore) Try(ctx context.Context, id uuid.UUID, in campaign.TryInput, payment func(campaign.Try) ledger.Transfer) (campaign.TryResult, error) {
	return s.tries.Do(ctx, tryCall{id: id, in: in, payment: payment})
}

type tryCall struct {
	id      uuid.UUID
	in      campaign.TryInput
	payment func(campaign.Try) ledger.Transfer
}

type playerKey struct{ c, u uuid.UUID }

type tryKey struct {
	c, u uuid.UUID
	seq  int
}

// tryBatch records (and pays) a batch of tries in one transaction of two
// round trips: the first begins, seeds and locks the limiter's buckets,
// locks the campaigns, reads the players and the tries of the same keys,
// and locks the accounts of the payments it expects (see expectWinners);
// the pure rules decide; the second writes everything and commits. A
// winner whose accounts the first did not lock costs a third round trip,
// or — when locking them then would break the accounts' ID order — the
// batch is decided again with every try's accounts locked.
func (s *CampaignStore) tryBatch(ctx context.Context, calls []*groupCall[tryCall, campaign.TryResult]) error {
	everyAccount := false // set when a batch must be decided again with every try's accounts locked
	return s.db.run(ctx, "record campaign tries", func(ctx context.Context, conn *pgx.Conn) error {
		ids := make([]uuid.UUID, 0, 1)
		seen := map[uuid.UUID]bool{}
		lim := limits{tat: map[string]time.Time{}, changed: map[string]bool{}, fresh: map[string]time.Time{}}
		var keys []string
		seeds := map[string]time.Time{}
		for _, c := range calls {
			for _, k := range c.Req.in.Limits {
				if _, ok := seeds[k.Key]; !ok && checkLimitKey(k.Key) == nil {
					// A key never seen is inserted as this call will leave it.
					next, _, _ := k.Rate.Allow(time.Time{}, c.Req.in.At)
					seeds[k.Key] = next
					keys = append(keys, k.Key)
				}
			}
		}
		slices.Sort(keys)
		seedTats := make([]time.Time, len(keys))
		for i, k := range keys {
			seedTats[i] = seeds[k]
		}
		pc, pu := make([][16]byte, len(calls)), make([][16]byte, len(calls))
		tseq := make([]int32, len(calls))
		for i, c := range calls {
			if !seen[c.Req.id] {
				seen[c.Req.id] = true
				ids = append(ids, c.Req.id)
			}
			pc[i], pu[i], tseq[i] = c.Req.id, c.Req.in.User, int32(c.Req.in.Seq)
		}
		camps := map[uuid.UUID]*campaign.Campaign{}
		players := map[playerKey]campaign.Player{}
		existing := map[tryKey]campaign.Try{}
		b := txBatch()
		if len(keys) > 0 {
			b.Queue(s.q.limSeedFinal, keys, seedTats).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					var k string
					if err := rows.Scan(&k); err != nil {
						return err
					}
					lim.fresh[k] = seeds[k]
				}
				return rows.Err()
			})
			b.Queue(s.q.limLockOld, keys).Query(lim.scan)
		}
		b.Queue(s.q.lockMany, uuids(ids)).Query(eachRow(scanCampaign, func(c campaign.Campaign) { camps[c.ID] = &c }))
		b.Queue(s.q.players, pc, pu).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var c, u [16]byte
				var p campaign.Player
				var tries, dayTries, wins int32
				if err := rows.Scan(&c, &u, &tries, &p.Day, &dayTries, &wins); err != nil {
					return err
				}
				p.Tries, p.DayTries, p.Wins = int(tries), int(dayTries), int(wins)
				players[playerKey{c, u}] = p
			}
			return rows.Err()
		})
		b.Queue(s.q.triesOf, pc, pu, tseq).Query(eachRow(scanTry, func(t campaign.Try) { existing[tryKey{t.Campaign, t.User, t.Seq}] = t }))
		expected := s.expectWinners(calls, everyAccount)
		var v *view
		if expected != nil {
			v = s.ledger.queueLock(b, expected)
		}
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if expected != nil {
			if err := expected.check(v); err != nil {
				return err
			}
		}
		for id, c := range camps {
			withDraw, err := s.withDraw(*c)
			if err != nil {
				return err
			}
			*camps[id] = withDraw
		}
		// Decide each call in arrival order. Payments are stamped with the
		// latest try's time (the service's clock, as the ledger's would be).
		var paidAt time.Time
		for _, c := range calls {
			if c.Req.in.At.After(paidAt) {
				paidAt = ledger.Timestamp(c.Req.in.At)
			}
		}
		var made []campaign.Try
		var payments []ledger.Transfer
		var payOf []int // the index in made of each payment
		owner := map[tryKey]int{}
		changed := map[playerKey]bool{}
		for _, c := range calls {
			c.Res, c.Err = campaign.TryResult{}, nil
			cp := camps[c.Req.id]
			k := tryKey{c.Req.id, c.Req.in.User, c.Req.in.Seq}
			if cp == nil {
				c.Err = campaignNotFound(c.Req.id)
				continue
			}
			if ls := c.Req.in.Limits; ls != nil {
				if err := limitKeysValid(ls); err != nil {
					c.Err = err
					continue
				}
				if err := lim.allow(c.Req.in.At, ls); err != nil {
					c.Err = fmt.Errorf("campaign %s: %w", c.Req.id, err)
					continue
				}
			}
			switch t, ok := existing[k]; {
			case ok:
				c.Res = campaign.TryResult{Try: t, Existing: true}
				continue
			}
			if j, ok := owner[k]; ok {
				c.Res = campaign.TryResult{Try: made[j], Existing: true}
				continue
			}
			pk := playerKey{c.Req.id, c.Req.in.User}
			p := players[pk]
			t, err := cp.Take(&p, c.Req.in.User, c.Req.in.Account, c.Req.in.Seq, c.Req.in.At)
			if err != nil {
				c.Err = err
				continue
			}
			players[pk], changed[pk] = p, true
			owner[k] = len(made)
			made = append(made, t)
			c.Res = campaign.TryResult{Try: t}
			if t.Won() && c.Req.payment != nil {
				tr := c.Req.payment(t)
				if err := ledger.ValidateTransfer(&tr); err != nil {
					c.Res.PayErr = &ledger.TransferError{ID: tr.ID, Err: err}
					continue
				}
				payments = append(payments, tr)
				payOf = append(payOf, len(made)-1)
			}
		}
		for id, c := range camps {
			s.noteTaken(id, c.Taken)
		}
		w := &pgx.Batch{}
		lim.queue(w, s.q.limUpsert)
		if len(made) == 0 && len(lim.changed) == 0 {
			s.answerStates(calls, camps)
			return nil // nothing to record; the transaction rolls back
		}
		if len(made) == 0 {
			queueCommit(w)
			if err := conn.SendBatch(ctx, w).Close(); err != nil {
				return err
			}
			s.answerStates(calls, camps)
			return nil
		}
		if len(payments) > 0 {
			need := lockKeysOf(payments)
			switch {
			case expected != nil && expected.covers(payments):
			case expected == nil || orderedAfter(expected.accounts, need.accounts) || everyAccount:
				// The accounts not locked yet all come after those locked
				// (or none are): locking them now keeps the ID order. (With
				// every try's accounts locked already, a payment whose
				// accounts are not its probe's is locked here too: a
				// deadlock that may cause is PostgreSQL's to break and this
				// batch's to run again.)
				more, err := s.ledger.lock(ctx, conn, &pgx.Batch{}, need)
				if err != nil {
					return err
				}
				if v == nil {
					v = more
				} else {
					maps.Copy(v.accounts, more.accounts)
					maps.Copy(v.transfers, more.transfers)
				}
			default:
				everyAccount = true
				return errRerun
			}
			out := ledger.ApplyBatch(v, payments, false, paidAt)
			for j := range out.Results {
				t := &made[payOf[j]]
				if err := out.Results[j].Err; err != nil {
					for _, c := range calls {
						if c.Err == nil && !c.Res.Existing && c.Res.Try.Slot == t.Slot && c.Req.id == t.Campaign {
							c.Res.PayErr = ledger.Reindexed(err, 0)
						}
					}
					continue
				}
				camps[t.Campaign].MarkPaid(t, false)
			}
			if changes(&out) {
				s.ledger.queueOutcome(w, &out)
			}
		}
		s.queueTries(w, made, players, changed, camps)
		queueCommit(w)
		if err := conn.SendBatch(ctx, w).Close(); err != nil {
			return err
		}
		for _, c := range calls {
			if c.Err == nil {
				if j, ok := owner[tryKey{c.Req.id, c.Req.in.User, c.Req.in.Seq}]; ok {
					c.Res.Try = made[j]
				}
			}
		}
		s.answerStates(calls, camps)
		return nil
	})
}

// expectWinners returns what to lock and read, in a batch's first round
// trip, for the payments of the calls expected to win (nil: none): the
// store knows each campaign's draw and how many slots it had taken after
// its last batch in this process, so that the n-th new try of the batch
// is expected at slot taken+n-1 and to win that slot's prize. Every call
// with a payment when every is set. Each payment's accounts and ID are
// those of the call's payment of a try with a prize (payment builds the
// transfer from the try's key, account and prize). The expectation is
// only a guess (other processes take slots too, a try may be refused or
// be a retry); tryBatch checks what it decided against what was locked.
func (s *CampaignStore) expectWinners(calls []*groupCall[tryCall, campaign.TryResult], every bool) *lockKeys {
	var probes []ledger.Transfer
	s.mu.Lock()
	next := map[uuid.UUID]int{}
	seen := map[tryKey]bool{}
	for _, c := range calls {
		if c.Req.payment == nil {
			continue
		}
		k := tryKey{c.Req.id, c.Req.in.User, c.Req.in.Seq}
		if seen[k] {
			continue
		}
		seen[k] = true
		win := every
		if h := s.hints[c.Req.id]; h != nil && !every {
			slot, ok := next[c.Req.id]
			if !ok {
				slot = h.taken
			}
			next[c.Req.id] = slot + 1
			win = slot < h.draw.PrizeEnd() && h.prizes[h.draw.Tier(slot)] > 0
		}
		if win {
			probes = append(probes, c.Req.payment(campaign.Try{Campaign: c.Req.id, User: c.Req.in.User, Seq: c.Req.in.Seq,
				Account: c.Req.in.Account, Prize: 1, At: c.Req.in.At}))
		}
	}
	s.mu.Unlock()
	if len(probes) == 0 {
		return nil
	}
	return lockKeysOf(probes)
}

// orderedAfter reports whether every ID of more that is not in locked
// sorts after every ID in locked: locking them next keeps the ID order.
func orderedAfter(locked, more []uuid.UUID) bool {
	var top uuid.UUID
	for _, id := range locked {
		if bytes.Compare(id[:], top[:]) > 0 {
			top = id
		}
	}
	for _, id := range more {
		if !slices.Contains(locked, id) && bytes.Compare(id[:], top[:]) <= 0 {
			return false
		}
	}
	return true
}

// campaignHint is what the store remembers of a campaign to expect a
// batch's winners: facts that never change, and the slots taken after
// its last batch here.
type campaignHint struct {
	draw   *campaign.Draw
	prizes []int64 // by tier
	taken  int
}

// noteTaken records a campaign's slots taken after a batch.
func (s *CampaignStore) noteTaken(id uuid.UUID, taken int) {
	s.mu.Lock()
	if h := s.hints[id]; h != nil {
		h.taken = taken
	}
	s.mu.Unlock()
}

func limitKeysValid(keys []campaign.LimitKey) error {
	for _, k := range keys {
		if err := checkLimitKey(k.Key); err != nil {
			return err
		}
	}
	return nil
}

// answerStates gives every answered call its campaign's state after the batch.
func (s *CampaignStore) answerStates(calls []*groupCall[tryCall, campaign.TryResult], camps map[uuid.UUID]*campaign.Campaign) {
	for _, c := range calls {
		if cp := camps[c.Req.id]; cp != nil && c.Err == nil {
			c.Res.State = cp.State
		}
	}
}

func (s *CampaignStore) queueTries(w *pgx.Batch, made []campaign.Try, players map[playerKey]campaign.Player, changed map[playerKey]bool, camps map[uuid.UUID]*campaign.Campaign) {
	n := len(made)
	tc, tu, ta := make([][16]byte, n), make([][16]byte, n), make([][16]byte, n)
	slot, seq := make([]int32, n), make([]int32, n)
	prize := make([]int64, n)
	at := make([]time.Time, n)
	paid, forf := make([]bool, n), make([]bool, n)
	for i, t := range made {
		tc[i], tu[i], ta[i], slot[i], seq[i], prize[i], at[i], paid[i], forf[i] = t.Campaign, t.User, t.Account, int32(t.Slot), int32(t.Seq), t.Prize, t.At, t.Paid, t.Forfeited
	}
	w.Queue(s.q.insertTries, tc, slot, tu, seq, ta, prize, at, paid, forf).Exec(expectRows(n))
	var pc, pu [][16]byte
	var pt, pd, pw []int32
	var day []int64
	for k := range changed {
		p := players[k]
		pc, pu, pt, day, pd, pw = append(pc, k.c), append(pu, k.u), append(pt, int32(p.Tries)), append(day, p.Day), append(pd, int32(p.DayTries)), append(pw, int32(p.Wins))
	}
	w.Queue(s.q.upsertPlayers, pc, pu, pt, day, pd, pw).Exec(expectRows(len(pc)))
	var cid [][16]byte
	var st []int16
	var taken, winners, cpaid []int32
	var won []int64
	var settled []bool
	for id, c := range camps {
		cid, st, taken, won, winners, cpaid, settled = append(cid, id), append(st, int16(c.Status)), append(taken, int32(c.Taken)),
			append(won, c.Won), append(winners, int32(c.Winners)), append(cpaid, int32(c.Paid)), append(settled, c.Settled)
	}
	w.Queue(s.q.updateMany, cid, st, taken, won, winners, cpaid, settled).Exec(expectRows(len(cid)))
}

// CampaignLimiter is a campaign.Limiter whose buckets live in the
// database, shared by every instance: each Allow is one transaction that
// locks the keys' rows in key order, lets campaign.Rate.Allow decide each,
// and writes the new instants (all or none). Concurrent calls queue on a
// key's row, so two instances never both spend its last token. A
// CampaignStore on the same database and schema takes the tokens of a
// try in the try's own transaction instead (CampaignStore.LimitsOn), by
// the same statements and rule.
type CampaignLimiter struct {
	db                     *DB
	seed, lock, upsert, gc string
}

var _ campaign.Limiter = (*CampaignLimiter)(nil)

// NewCampaignLimiter returns the limiter on db.
func NewCampaignLimiter(db *DB) *CampaignLimiter {
	return &CampaignLimiter{
		db: db, seed: db.qualify(limSeedSQL), lock: db.qualify(limLockSQL), upsert: db.qualify(limUpsertSQL),
		gc: db.qualify(`delete from $S.campaign_limits where tat <= $1`),
	}
}

// Allow implements campaign.Limiter.
//
// Errors: a *campaign.RateLimitError, and the infrastructure errors of
// this package.
func (l *CampaignLimiter) Allow(ctx context.Context, now time.Time, keys ...campaign.LimitKey) error {
	names := make([]string, len(keys))
	for i, k := range keys {
		if err := checkLimitKey(k.Key); err != nil {
			return err
		}
		names[i] = k.Key
	}
	sorted := slices.Sorted(slices.Values(names)) // one insert order: no deadlock
	var refused error
	err := l.db.run(ctx, "rate limit", func(ctx context.Context, conn *pgx.Conn) error {
		lim := limits{tat: map[string]time.Time{}, changed: map[string]bool{}}
		b := txBatch()
		b.Queue(l.seed, sorted)
		b.Queue(l.lock, sorted).Query(lim.scan)
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if refused = lim.allow(now, keys); refused != nil {
			_, err := conn.Exec(ctx, "commit") // the inserted rows only
			return err
		}
		w := &pgx.Batch{}
		lim.queue(w, l.upsert)
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
	if err != nil {
		return err
	}
	return refused
}

// Prune deletes the buckets that have refilled by now (as good as new):
// run it now and then to keep the table to the keys active lately.
//
// Errors: the infrastructure errors of this package.
func (l *CampaignLimiter) Prune(ctx context.Context, now time.Time) (int64, error) {
	return l.db.exec(ctx, "prune rate limits", l.gc, now)
}
