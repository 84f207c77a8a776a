package transfer

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

const memShards = 64 // a power of two

// MemoryStore is the in-process Store, the default for tests, simulations
// and single-node deployments; it keeps nothing across restarts.
//
// Each payer's facts (daily totals, settled payees, used lookup tokens)
// live in one of 64 payer shards, and records in one of 64 record shards
// by ID, each with its own lock. Create and Transition lock the payer's
// shard and then the record's, so two transfers of one payer are decided
// one after the other (the daily total is exact) while unrelated payers
// never wait for each other.
//
// Built with a ledger, it is a PayingStore: CreatePaid applies a new
// record's ledger transfer on that ledger's store under the payer's and
// the record's locks, so a retry of the send waits for the payment and
// finds the record as the ledger left it. It is one critical section when
// that store is a ledger.MemoryStore (PaysOn accepts nothing else).
//
// It keeps every record, and every lookup token ID used, for as long as it
// lives: a process that runs for long should use a database store.
type MemoryStore struct {
	l       *ledger.Ledger // CreatePaid's ledger; nil: none
	seed    maphash.Seed
	payers  [memShards]payerShard
	records [memShards]recordShard
}

var (
	_ Store       = (*MemoryStore)(nil)
	_ PayingStore = (*MemoryStore)(nil)
)

type totalKey struct {
	payer    uuid.UUID
	day      Day
	currency ledger.Currency
}

type pairKey struct {
	payer       uuid.UUID
	institution string
	holder      uuid.UUID
}

type payerShard struct {
	mu      sync.Mutex
	totals  map[totalKey]int64
	pairs   map[pairKey]struct{}
	lookups map[uuid.UUID]uuid.UUID // lookup token ID → the record that used it
	_       [32]byte                // shards on separate cache lines
}

type recordShard struct {
	mu      sync.RWMutex
	records map[uuid.UUID]*Record
	index   [IndexAll + 1][]indexEntry // the records of each Index, sorted
}

// indexEntry is a pending record's position in an index.
type indexEntry struct {
	at int64 // Unix nanoseconds
	id uuid.UUID
}

func (e indexEntry) compare(o indexEntry) int {
	switch {
	case e.at < o.at:
		return -1
	case e.at > o.at:
		return 1
	}
	return bytes.Compare(e.id[:], o.id[:])
}

// NewMemoryStore returns an empty MemoryStore that pays on l's store in
// CreatePaid; nil l means a store that pays on none (the Service then
// creates, pays and marks in three steps).
func NewMemoryStore(l *ledger.Ledger) *MemoryStore {
	s := &MemoryStore{l: l, seed: maphash.MakeSeed()}
	for i := range s.payers {
		p := &s.payers[i]
		p.totals = make(map[totalKey]int64)
		p.pairs = make(map[pairKey]struct{})
		p.lookups = make(map[uuid.UUID]uuid.UUID)
	}
	for i := range s.records {
		s.records[i].records = make(map[uuid.UUID]*Record)
	}
	return s
}

func (s *MemoryStore) payerShard(payer uuid.UUID) *payerShard {
	return &s.payers[maphash.Bytes(s.seed, payer[:])&(memShards-1)]
}

func (s *MemoryStore) recordShard(id uuid.UUID) *recordShard {
	return &s.records[id[15]&(memShards-1)] // IDs are hashes: any byte spreads
}

// Create implements Store.
func (s *MemoryStore) Create(ctx context.Context, rec Record, limits Limits) (Record, bool, error) {
	return s.create(ctx, rec, limits, nil, time.Time{})
}

// PaysOn implements PayingStore: the store of the ledger it was built
// with, if that is a ledger.MemoryStore (a store elsewhere shares no
// critical section with this one).
func (s *MemoryStore) PaysOn(ls ledger.Store) bool {
	if s.l == nil || ledger.Unwrap(s.l.Store()) != ls {
		return false
	}
	_, mem := ls.(*ledger.MemoryStore)
	return mem
}

// RefundsOn implements PayingStore: a MemoryStore leaves the lookup
// refund to the Service (Limiter.PaymentSettled), whatever the limiter.
func (s *MemoryStore) RefundsOn(Limiter) bool { return false }

// CreatePaid implements PayingStore: Create, and pay applied on the
// ledger's store under the payer's and the record's locks. It refunds on
// no limiter (RefundsOn): refund is ignored.
//
// Errors: those of Create, ErrInvalidConfig for a store built without a
// ledger, and the ledger's refusals that are no failure (a
// *ledger.TransferError), with nothing stored.
func (s *MemoryStore) CreatePaid(ctx context.Context, rec Record, limits Limits, pay ledger.Transfer, _ Limiter, now time.Time) (Record, bool, error) {
	if s.l == nil {
		return Record{}, false, fmt.Errorf("%w: CreatePaid of a MemoryStore built without a ledger", ErrInvalidConfig)
	}
	if err := ledger.ValidateTransfer(&pay); err != nil {
		return Record{}, false, &ledger.TransferError{ID: pay.ID, Err: err}
	}
	return s.create(ctx, rec, limits, &pay, now)
}

// create is Create; with pay, it applies the new record's ledger transfer
// on the ledger's store at now, under the locks, and lets ApplyPaid
// decide the record: a refusal that is no failure stores nothing.
func (s *MemoryStore) create(ctx context.Context, rec Record, limits Limits, pay *ledger.Transfer, now time.Time) (Record, bool, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, false, err
	}
	ps, rs := s.payerShard(rec.Payer), s.recordShard(rec.ID)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	rs.mu.Lock()
	defer rs.mu.Unlock()

	tk := totalKey{rec.Payer, rec.Day, rec.Amount.Currency()}
	pk := pairKey{rec.Payer, rec.Payee.Institution, rec.Payee.Holder}
	_, settled := ps.pairs[pk]
	facts := CreateFacts{
		Existing:      rs.records[rec.ID],
		SentToday:     ps.totals[tk],
		SettledBefore: settled,
	}
	if rec.LookupID != uuid.Nil {
		facts.LookupUsedBy = ps.lookups[rec.LookupID]
	}
	dup, err := DecideCreate(&rec, facts, limits)
	switch {
	case err != nil:
		return Record{}, false, err
	case dup:
		return *facts.Existing, false, nil
	}
	fx := TransitionEffects{DailyDelta: rec.Amount.Units()}
	if pay != nil {
		res, err := ledger.Unwrap(s.l.Store()).CreateTransfer(ctx, *pay, now)
		if err != nil {
			return Record{}, false, err
		}
		if fx, err = ApplyPaid(&rec, res.Err, now); err != nil {
			return Record{}, false, err
		}
	}
	// Overflow is impossible: the daily cap bounds the total.
	if fx.DailyDelta != 0 {
		ps.totals[tk] += fx.DailyDelta
	}
	if fx.SettledPair {
		ps.pairs[pk] = struct{}{}
	}
	if rec.LookupID != uuid.Nil {
		ps.lookups[rec.LookupID] = rec.ID
	}
	stored := rec
	rs.records[rec.ID] = &stored
	for ix := range rs.index {
		if InIndex(Index(ix), &stored) {
			rs.index[ix] = insertEntry(rs.index[ix], entryOf(Index(ix), &stored))
		}
	}
	return rec, true, nil
}

func entryOf(ix Index, r *Record) indexEntry {
	c := CursorOf(ix, r)
	return indexEntry{at: c.At.UnixNano(), id: c.ID}
}

func insertEntry(idx []indexEntry, e indexEntry) []indexEntry {
	i, _ := slices.BinarySearchFunc(idx, e, indexEntry.compare)
	return slices.Insert(idx, i, e)
}

func removeEntry(idx []indexEntry, e indexEntry) []indexEntry {
	if i, ok := slices.BinarySearchFunc(idx, e, indexEntry.compare); ok {
		return slices.Delete(idx, i, i+1)
	}
	return idx
}

// Get implements Store.
func (s *MemoryStore) Get(ctx context.Context, id uuid.UUID) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	rs := s.recordShard(id)
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	r, ok := rs.records[id]
	if !ok {
		return Record{}, fmt.Errorf("%w: %s", ErrRecordNotFound, id)
	}
	return *r, nil
}

// lockRecord locks record id's payer and record shards (the payer never
// changes, so it is read first) and returns them with the record and the
// function that unlocks them.
func (s *MemoryStore) lockRecord(ctx context.Context, id uuid.UUID) (*payerShard, *recordShard, *Record, func(), error) {
	cur, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ps, rs := s.payerShard(cur.Payer), s.recordShard(id)
	ps.mu.Lock()
	rs.mu.Lock()
	return ps, rs, rs.records[id], func() { rs.mu.Unlock(); ps.mu.Unlock() }, nil
}

// Transition implements Store.
func (s *MemoryStore) Transition(ctx context.Context, id uuid.UUID, to State, reason string, at time.Time) (Record, error) {
	ps, rs, r, unlock, err := s.lockRecord(ctx, id)
	if err != nil {
		return Record{}, err
	}
	defer unlock()
	next := *r
	fx, err := ApplyTransition(&next, to, reason, at)
	if err != nil {
		return *r, err
	}
	ps.apply(rs, r, &next, fx)
	return next, nil
}

// apply stores next as record r with the effects of its transition; the
// caller holds the payer's and the record's locks.
func (ps *payerShard) apply(rs *recordShard, r, next *Record, fx TransitionEffects) {
	rs.reindex(r, next)
	if fx.DailyDelta != 0 {
		tk := totalKey{r.Payer, r.Day, r.Amount.Currency()}
		if v := ps.totals[tk] + fx.DailyDelta; v != 0 {
			ps.totals[tk] = v
		} else {
			delete(ps.totals, tk)
		}
	}
	if fx.SettledPair {
		ps.pairs[pairKey{r.Payer, r.Payee.Institution, r.Payee.Holder}] = struct{}{}
	}
	*r = *next
}

// ResolvePaid implements PayingStore: the transition decided, then t
// applied on the ledger's store, under the payer's and the record's
// locks; a refusal of either changes nothing. refund is ignored, as in
// CreatePaid.
//
// Errors: those of Transition, ErrInvalidConfig for a store built without
// a ledger, and the ledger's refusal (a *ledger.TransferError).
func (s *MemoryStore) ResolvePaid(ctx context.Context, id uuid.UUID, t ledger.Transfer, to State, reason string, _ Limiter, now time.Time) (Record, bool, error) {
	if s.l == nil {
		return Record{}, false, fmt.Errorf("%w: ResolvePaid of a MemoryStore built without a ledger", ErrInvalidConfig)
	}
	ps, rs, r, unlock, err := s.lockRecord(ctx, id)
	if err != nil {
		return Record{}, false, err
	}
	defer unlock()
	next := *r
	fx, err := ApplyTransition(&next, to, reason, now)
	if err != nil {
		return *r, false, err
	}
	if err := ledger.ValidateTransfer(&t); err != nil {
		return *r, false, &ledger.TransferError{ID: t.ID, Err: err}
	}
	res, err := ledger.Unwrap(s.l.Store()).CreateTransfer(ctx, t, now)
	switch {
	case err != nil:
		return *r, false, err
	case res.Err != nil:
		return *r, false, res.Err
	}
	ps.apply(rs, r, &next, fx)
	return next, !res.Duplicate, nil
}

// reindex moves a record from the indexes it was in as r to those it is
// in as next.
func (rs *recordShard) reindex(r, next *Record) {
	for ix := range rs.index {
		was, is := InIndex(Index(ix), r), InIndex(Index(ix), next)
		switch {
		case was && !is:
			rs.index[ix] = removeEntry(rs.index[ix], entryOf(Index(ix), r))
		case is && !was:
			rs.index[ix] = insertEntry(rs.index[ix], entryOf(Index(ix), next))
		}
	}
}

// Attempt implements Store.
func (s *MemoryStore) Attempt(ctx context.Context, id uuid.UUID, delta int32) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	rs := s.recordShard(id)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.records[id]
	if !ok {
		return Record{}, fmt.Errorf("%w: %s", ErrRecordNotFound, id)
	}
	next := *r
	if err := ApplyAttempt(&next, delta); err != nil {
		return *r, err
	}
	*r = next // the indexes depend on state alone
	return next, nil
}

// Scan implements Store.
func (s *MemoryStore) Scan(ctx context.Context, q ScanQuery) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.Limit <= 0 || q.Index > IndexAll {
		return nil, fmt.Errorf("%w: scan of index %d with limit %d", ErrInvalidRecord, q.Index, q.Limit)
	}
	after := indexEntry{id: q.After.ID}
	if !q.After.At.IsZero() {
		after.at = q.After.At.UnixNano()
	} else {
		after.at = -1 << 63
	}
	before := q.Before.UnixNano()
	out := make([]Record, 0, min(q.Limit, 64))
	for len(out) < q.Limit {
		// The first entries of each shard after the cursor, merged; then
		// their records, skipping any that left pending meanwhile.
		need := q.Limit - len(out)
		var entries []indexEntry
		for i := range s.records {
			rs := &s.records[i]
			rs.mu.RLock()
			idx := rs.index[q.Index]
			j, found := slices.BinarySearchFunc(idx, after, indexEntry.compare)
			if found {
				j++
			}
			for n := 0; j < len(idx) && idx[j].at <= before && n < need; j, n = j+1, n+1 {
				entries = append(entries, idx[j])
			}
			rs.mu.RUnlock()
		}
		if len(entries) == 0 {
			break
		}
		slices.SortFunc(entries, indexEntry.compare)
		entries = entries[:min(len(entries), need)]
		for _, e := range entries {
			rs := s.recordShard(e.id)
			rs.mu.RLock()
			r := *rs.records[e.id]
			rs.mu.RUnlock()
			if InIndex(q.Index, &r) {
				out = append(out, r)
			}
		}
		after = entries[len(entries)-1]
	}
	return out, nil
}

// DailyTotal implements Store.
func (s *MemoryStore) DailyTotal(ctx context.Context, payer uuid.UUID, day Day, c ledger.Currency) (ledger.Money, error) {
	if err := ctx.Err(); err != nil {
		return ledger.Money{}, err
	}
	ps := s.payerShard(payer)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ledger.NewMoney(ps.totals[totalKey{payer, day, c}], c), nil
}

// SettledBefore implements Store.
func (s *MemoryStore) SettledBefore(ctx context.Context, payer uuid.UUID, institution string, holder uuid.UUID) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ps := s.payerShard(payer)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	_, ok := ps.pairs[pairKey{payer, institution, holder}]
	return ok, nil
}

// MemoryDirectory is the in-process Directory: bindings in 64 shards by
// number, each with its own read-write lock, so lookups run in parallel.
type MemoryDirectory struct {
	seed   maphash.Seed
	shards [memShards]dirShard
}

var _ Directory = (*MemoryDirectory)(nil)

type dirShard struct {
	mu sync.RWMutex
	m  map[Phone]Binding
	_  [32]byte
}

// NewMemoryDirectory returns an empty MemoryDirectory.
func NewMemoryDirectory() *MemoryDirectory {
	d := &MemoryDirectory{seed: maphash.MakeSeed()}
	for i := range d.shards {
		d.shards[i].m = make(map[Phone]Binding)
	}
	return d
}

func (d *MemoryDirectory) shard(p Phone) *dirShard {
	return &d.shards[maphash.String(d.seed, string(p))&(memShards-1)]
}

// Bind implements Directory.
func (d *MemoryDirectory) Bind(ctx context.Context, b Binding, rebind bool) (Binding, error) {
	if err := ctx.Err(); err != nil {
		return Binding{}, err
	}
	b.VerifiedAt, b.UpdatedAt = ledgerTime(b.VerifiedAt), ledgerTime(b.UpdatedAt)
	sh := d.shard(b.Phone)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var existing *Binding
	if cur, ok := sh.m[b.Phone]; ok {
		existing = &cur
	}
	if err := DecideBind(existing, &b, rebind); err != nil {
		return Binding{}, err
	}
	sh.m[b.Phone] = b
	return b, nil
}

// Unbind implements Directory.
func (d *MemoryDirectory) Unbind(ctx context.Context, phone Phone, holder uuid.UUID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := d.shard(phone)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var existing *Binding
	if cur, ok := sh.m[phone]; ok {
		existing = &cur
	}
	if err := DecideUnbind(existing, phone, holder); err != nil {
		return err
	}
	delete(sh.m, phone)
	return nil
}

// Lookup implements Directory.
func (d *MemoryDirectory) Lookup(ctx context.Context, phone Phone) (Binding, bool, error) {
	if err := ctx.Err(); err != nil {
		return Binding{}, false, err
	}
	sh := d.shard(phone)
	sh.mu.RLock()
	b, ok := sh.m[phone]
	sh.mu.RUnlock()
	return b, ok, nil
}
