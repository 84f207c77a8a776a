package redpacket

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// MemoryStore is the embedded Store: everything in memory, safe for
// concurrent use, kept for the life of the process. It is the default for
// tests, simulations and the benchmarks.
//
// Concurrency: packets are spread over independently locked shards, and
// each packet has its own lock, taken by every change of that packet; a
// claim takes a shard's read lock to find the packet and then only the
// packet's lock, so claims on different packets never wait for each other.
// Packets not yet settled are also listed in an index ordered by (expiry,
// ID), itself sharded; it changes when a packet is created, settled or
// cancelled, never on a claim.
//
// A MemoryStore built with a ledger is a PayingStore on it: a claim and
// its payment are one step, the share Take would hand out paid on the
// ledger with the packet locked, and the claim recorded (already paid) only
// if the payment went through — unpaid if its outcome is unknown, which a
// ledger on a MemoryStore never leaves. Claims of one packet then queue for
// the payment; claims of different packets still never wait for each
// other.
type MemoryStore struct {
	l       *ledger.Ledger // claims are paid on it; nil: on none
	packets [memPacketShards]memPacketShard
	index   [memIndexShards]memIndexShard
}

var _ PayingStore = (*MemoryStore)(nil)

const (
	memPacketShards = 64
	memIndexShards  = 16
)

type memPacketShard struct {
	mu sync.RWMutex
	m  map[uuid.UUID]*memPacket
	_  [40]byte // keep shards on separate cache lines
}

type memPacket struct {
	mu     sync.Mutex
	p      Packet
	claims []Claim             // in claim order: claims[i].Index == i
	users  []uuid.UUID         // users[i] == claims[i].User, scanned when short
	byUser map[uuid.UUID]int32 // user → index in claims, for packets of many shares
}

// memScanClaims is the share count up to which a packet finds a user's
// claim by scanning its claimers (cache-friendly) instead of a map.
const memScanClaims = 128

func newMemPacket(p *Packet) *memPacket {
	mp := &memPacket{
		p:      copyPacket(p),
		claims: make([]Claim, 0, p.Count),
		users:  make([]uuid.UUID, 0, p.Count),
	}
	if p.Count > memScanClaims {
		mp.byUser = make(map[uuid.UUID]int32, p.Count)
	}
	return mp
}

// find returns the index of user's claim.
func (mp *memPacket) find(user uuid.UUID) (int, bool) {
	if mp.byUser != nil {
		i, ok := mp.byUser[user]
		return int(i), ok
	}
	for i := range mp.users {
		if mp.users[i] == user {
			return i, true
		}
	}
	return 0, false
}

func (mp *memPacket) add(c Claim) {
	if mp.byUser != nil {
		mp.byUser[c.User] = int32(len(mp.claims))
	}
	mp.claims = append(mp.claims, c)
	mp.users = append(mp.users, c.User)
}

// NewMemoryStore returns an empty MemoryStore that pays claims on l (see
// PayingStore); with a nil l it pays on none, and a Service records a
// claim, pays it and marks it paid in three steps, as on a store on
// another database than its ledger's.
func NewMemoryStore(l *ledger.Ledger) *MemoryStore {
	s := &MemoryStore{l: l}
	for i := range s.packets {
		s.packets[i].m = make(map[uuid.UUID]*memPacket)
	}
	return s
}

func memShard(id uuid.UUID) uint64 {
	h := binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(id[8:])
	return (h * 0x9E3779B97F4A7C15) >> 56
}

func (s *MemoryStore) get(id uuid.UUID) (*memPacket, error) {
	sh := &s.packets[memShard(id)%memPacketShards]
	sh.mu.RLock()
	mp := sh.m[id]
	sh.mu.RUnlock()
	if mp == nil {
		return nil, fmt.Errorf("packet %s: %w", id, ErrPacketNotFound)
	}
	return mp, nil
}

func (s *MemoryStore) indexShard(id uuid.UUID) *memIndexShard {
	return &s.index[memShard(id)%memIndexShards]
}

// copyPacket returns p with its own copy of the shares and password hash.
func copyPacket(p *Packet) Packet {
	out := *p
	out.Shares = slices.Clone(p.Shares)
	out.PasswordHash = slices.Clone(p.PasswordHash)
	return out
}

// CreatePacket implements Store.
func (s *MemoryStore) CreatePacket(ctx context.Context, p Packet) (Packet, error) {
	if err := ctx.Err(); err != nil {
		return Packet{}, err
	}
	if err := p.Validate(); err != nil {
		return Packet{}, err
	}
	sh := &s.packets[memShard(p.ID)%memPacketShards]
	sh.mu.Lock()
	if mp := sh.m[p.ID]; mp != nil {
		sh.mu.Unlock()
		mp.mu.Lock()
		defer mp.mu.Unlock()
		return copyPacket(&mp.p), fmt.Errorf("packet %s: %w", p.ID, ErrPacketExists)
	}
	mp := newMemPacket(&p)
	// Indexed before it can be found, so a packet is never unlisted while
	// it still needs reconciling.
	s.indexShard(p.ID).insert(indexKeyOf(&p))
	sh.m[p.ID] = mp
	sh.mu.Unlock()
	return copyPacket(&p), nil
}

// SendPaid implements PayingStore: the packet is listed, locked, with
// status funding; with it locked the escrow account is created and the
// funding paid on the store's ledger (at the ledger's own time: paidAt is
// not used), and the packet opened — or, the funding refused, the escrow
// closed (it is empty) and the packet cancelled. An outcome the ledger
// leaves unknown leaves the packet funding, returned with the ledger's
// error: sending again or Reconcile finishes it.
func (s *MemoryStore) SendPaid(ctx context.Context, p Packet, escrow ledger.Account, fund ledger.Transfer, _ time.Time) (Packet, error) {
	if err := ctx.Err(); err != nil {
		return Packet{}, err
	}
	if s.l == nil {
		return Packet{}, fmt.Errorf("send packet %s: %w: the MemoryStore pays on no ledger", p.ID, ErrInvalidRequest)
	}
	if err := p.Validate(); err != nil {
		return Packet{}, err
	}
	sh := &s.packets[memShard(p.ID)%memPacketShards]
	sh.mu.Lock()
	if mp := sh.m[p.ID]; mp != nil {
		sh.mu.Unlock()
		return mp.packet(), fmt.Errorf("packet %s: %w", p.ID, ErrPacketExists)
	}
	mp := newMemPacket(&p)
	mp.mu.Lock() // before it can be found: the funding is decided before anyone reads it
	defer mp.mu.Unlock()
	s.indexShard(p.ID).insert(indexKeyOf(&p))
	sh.m[p.ID] = mp
	sh.mu.Unlock()
	if _, err := s.l.CreateAccount(ctx, escrow); err != nil {
		return copyPacket(&mp.p), err
	}
	_, err := s.l.Transfer(ctx, fund)
	switch {
	case ledger.Refused(err):
		if _, cerr := s.l.Close(ctx, escrow.ID); cerr != nil {
			return copyPacket(&mp.p), fmt.Errorf("%w (then closing the escrow: %w)", err, cerr)
		}
		if changed, _ := mp.p.Cancel(FundingRefusal(err)); changed {
			s.indexShard(p.ID).remove(indexKeyOf(&mp.p))
		}
	case err != nil:
		return copyPacket(&mp.p), err
	default:
		if _, err := mp.p.Open(); err != nil {
			return copyPacket(&mp.p), err
		}
	}
	return copyPacket(&mp.p), nil
}

// Packet implements Store.
func (s *MemoryStore) Packet(ctx context.Context, id uuid.UUID) (Packet, error) {
	if err := ctx.Err(); err != nil {
		return Packet{}, err
	}
	mp, err := s.get(id)
	if err != nil {
		return Packet{}, err
	}
	return mp.packet(), nil
}

// change runs f with packet id locked and returns the state after.
func (s *MemoryStore) change(ctx context.Context, id uuid.UUID, f func(mp *memPacket) error) (State, error) {
	if err := ctx.Err(); err != nil {
		return State{}, err
	}
	mp, err := s.get(id)
	if err != nil {
		return State{}, err
	}
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if err := f(mp); err != nil {
		return State{}, err
	}
	return mp.p.State, nil
}

// Open implements Store.
func (s *MemoryStore) Open(ctx context.Context, id uuid.UUID) (State, error) {
	return s.change(ctx, id, func(mp *memPacket) error {
		_, err := mp.p.Open()
		return err
	})
}

// Cancel implements Store.
func (s *MemoryStore) Cancel(ctx context.Context, id uuid.UUID, reason string) (State, error) {
	return s.change(ctx, id, func(mp *memPacket) error {
		changed, err := mp.p.Cancel(reason)
		if changed {
			s.indexShard(id).remove(indexKeyOf(&mp.p))
		}
		return err
	})
}

// Claim implements Store.
func (s *MemoryStore) Claim(ctx context.Context, id, user, account uuid.UUID, now time.Time) (ClaimResult, error) {
	if err := ctx.Err(); err != nil {
		return ClaimResult{}, err
	}
	mp, err := s.get(id)
	if err != nil {
		return ClaimResult{}, err
	}
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if i, ok := mp.find(user); ok {
		return ClaimResult{Claim: mp.claims[i], Existing: true, State: mp.p.State}, nil
	}
	c, err := mp.p.Take(user, account, now)
	if err != nil {
		return ClaimResult{}, err
	}
	mp.add(c)
	return ClaimResult{Claim: c, State: mp.p.State}, nil
}

// PaysOn implements PayingStore: ls is the store of the ledger the
// MemoryStore was built with (or the store a ledger.GroupCommit of it
// wraps).
func (s *MemoryStore) PaysOn(ls ledger.Store) bool {
	return s.l != nil && ls != nil && (s.l.Store() == ls || ledger.Unwrap(s.l.Store()) == ls)
}

// paying returns packet id locked, for a step that pays on the store's
// ledger (op names it in the error of a store built without one).
func (s *MemoryStore) paying(ctx context.Context, op string, id uuid.UUID) (*memPacket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.l == nil {
		return nil, fmt.Errorf("%s packet %s: %w: the MemoryStore pays on no ledger", op, id, ErrInvalidRequest)
	}
	mp, err := s.get(id)
	if err != nil {
		return nil, err
	}
	mp.mu.Lock()
	return mp, nil
}

// ClaimPaid implements PayingStore: with the packet locked, it works out
// the claim Take would hand out and pays it on the store's ledger (at the
// ledger's own time: paidAt is not used). A payment refused leaves the
// packet as it was and returns the refusal. A payment done records the
// claim paid (Take, then MarkPosted); one whose outcome is unknown (the
// ledger failed) records it unpaid and returns it with the ledger's error,
// for the claim's retry or Reconcile to pay.
//
// Claims of one packet (and its refund) queue for the payment; claims of
// other packets do not.
func (s *MemoryStore) ClaimPaid(ctx context.Context, id, user, account uuid.UUID, now, _ time.Time, payment func(Claim) ledger.Transfer) (ClaimResult, error) {
	mp, err := s.paying(ctx, "claim", id)
	if err != nil {
		return ClaimResult{}, err
	}
	defer mp.mu.Unlock()
	if i, ok := mp.find(user); ok {
		return ClaimResult{Claim: mp.claims[i], Existing: true, State: mp.p.State}, nil
	}
	c, err := mp.p.nextClaim(user, account, now)
	if err != nil {
		return ClaimResult{}, err
	}
	_, payErr := s.l.Transfer(ctx, payment(c))
	if ledger.Refused(payErr) {
		return ClaimResult{}, payErr
	}
	mp.p.take() // the packet stayed locked since nextClaim: c is the claim Take hands out
	if payErr == nil {
		mp.p.MarkPosted(&c)
	}
	mp.add(c)
	if mp.p.Complete() && !mp.p.Settled {
		// The last claim paid: the escrow is at zero; close it and settle
		// (a failure is the service's or Reconcile's to finish).
		if _, err := s.l.Close(ctx, mp.p.Escrow); err == nil {
			if changed, _ := mp.p.Settle(); changed {
				s.indexShard(id).remove(indexKeyOf(&mp.p))
			}
		}
	}
	return ClaimResult{Claim: c, State: mp.p.State}, payErr
}

// packet returns a copy of the packet.
func (mp *memPacket) packet() Packet {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	return copyPacket(&mp.p)
}

// Claims implements Store.
func (s *MemoryStore) Claims(ctx context.Context, id uuid.UUID) ([]Claim, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mp, err := s.get(id)
	if err != nil {
		return nil, err
	}
	mp.mu.Lock()
	defer mp.mu.Unlock()
	return slices.Clone(mp.claims), nil
}

// MarkPosted implements Store.
func (s *MemoryStore) MarkPosted(ctx context.Context, id, user uuid.UUID) (State, error) {
	return s.change(ctx, id, func(mp *memPacket) error {
		i, ok := mp.find(user)
		if !ok {
			return fmt.Errorf("packet %s, user %s: %w", id, user, ErrClaimNotFound)
		}
		mp.p.MarkPosted(&mp.claims[i])
		return nil
	})
}

// BeginRefund implements Store.
func (s *MemoryStore) BeginRefund(ctx context.Context, id uuid.UUID, now time.Time) (Packet, error) {
	if err := ctx.Err(); err != nil {
		return Packet{}, err
	}
	mp, err := s.get(id)
	if err != nil {
		return Packet{}, err
	}
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if _, err := mp.p.BeginRefund(now); err != nil {
		return Packet{}, err
	}
	return copyPacket(&mp.p), nil
}

// RefundPaid implements PayingStore: with the packet locked, BeginRefund,
// the refund paid on the store's ledger (at the ledger's own time: paidAt
// is not used), and FinishRefund. An outcome the ledger leaves unknown
// leaves the packet refunding, returned with the ledger's error.
func (s *MemoryStore) RefundPaid(ctx context.Context, id uuid.UUID, now, _ time.Time, refund func(Packet) ledger.Transfer) (Packet, error) {
	mp, err := s.paying(ctx, "refund", id)
	if err != nil {
		return Packet{}, err
	}
	defer mp.mu.Unlock()
	if _, err := mp.p.BeginRefund(now); err != nil {
		return Packet{}, err
	}
	if mp.p.Status == StatusRefunding && mp.p.RemainingAmount().IsPositive() {
		if _, err := s.l.Transfer(ctx, refund(copyPacket(&mp.p))); err != nil {
			return copyPacket(&mp.p), err
		}
	}
	if _, err := mp.p.FinishRefund(); err != nil {
		return Packet{}, err
	}
	return copyPacket(&mp.p), nil
}

// FinishRefund implements Store.
func (s *MemoryStore) FinishRefund(ctx context.Context, id uuid.UUID) (State, error) {
	return s.change(ctx, id, func(mp *memPacket) error {
		_, err := mp.p.FinishRefund()
		return err
	})
}

// Settle implements Store.
func (s *MemoryStore) Settle(ctx context.Context, id uuid.UUID) (State, error) {
	return s.change(ctx, id, func(mp *memPacket) error {
		changed, err := mp.p.Settle()
		if changed {
			s.indexShard(id).remove(indexKeyOf(&mp.p))
		}
		return err
	})
}

// Expired implements Store.
func (s *MemoryStore) Expired(ctx context.Context, now time.Time, after Cursor, limit int) ([]Packet, error) {
	upTo := now.UnixNano()
	return s.list(ctx, after, limit, upTo, func(st *State) bool {
		return st.Status == StatusOpen || st.Status == StatusRefunding
	})
}

// Unsettled implements Store.
func (s *MemoryStore) Unsettled(ctx context.Context, after Cursor, limit int) ([]Packet, error) {
	return s.list(ctx, after, limit, math.MaxInt64, func(st *State) bool { return st.NeedsReconcile() })
}

// Packets implements Store. The index holds only packets with work left,
// so each page scans every packet the store holds: an audit's listing
// (Service.Check), not a request's.
func (s *MemoryStore) Packets(ctx context.Context, after Cursor, limit int) ([]Packet, error) {
	if limit <= 0 {
		return nil, nil
	}
	cur := indexKey{at: math.MinInt64}
	if !after.ExpiresAt.IsZero() || after.ID != uuid.Nil {
		cur = indexKey{at: after.ExpiresAt.UnixNano(), id: after.ID}
	}
	var page []*memPacket                                            // the first limit after cur, sorted
	key := func(mp *memPacket) indexKey { return indexKeyOf(&mp.p) } // ExpiresAt and ID never change
	for i := range s.packets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sh := &s.packets[i]
		sh.mu.RLock()
		for _, mp := range sh.m {
			k := key(mp)
			if k.compare(cur) <= 0 || (len(page) == limit && k.compare(key(page[limit-1])) >= 0) {
				continue
			}
			j, _ := slices.BinarySearchFunc(page, k, func(e *memPacket, k indexKey) int { return key(e).compare(k) })
			page = slices.Insert(page, j, mp)
			if len(page) > limit {
				page = page[:limit]
			}
		}
		sh.mu.RUnlock()
	}
	out := make([]Packet, len(page))
	for i, mp := range page {
		mp.mu.Lock()
		out[i] = copyPacket(&mp.p)
		mp.mu.Unlock()
	}
	return out, nil
}

// list pages through the index after cursor, up to expiry upTo (Unix ns),
// and returns up to limit packets that match.
func (s *MemoryStore) list(ctx context.Context, after Cursor, limit int, upTo int64, match func(*State) bool) ([]Packet, error) {
	if limit <= 0 {
		return nil, nil
	}
	cur := indexKey{at: math.MinInt64}
	if !after.ExpiresAt.IsZero() || after.ID != uuid.Nil {
		cur = indexKey{at: after.ExpiresAt.UnixNano(), id: after.ID}
	}
	var out []Packet
	var cands []indexKey
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cands = cands[:0]
		for i := range s.index {
			cands = s.index[i].after(cands, cur, upTo, limit)
		}
		slices.SortFunc(cands, indexKey.compare)
		if len(cands) > limit {
			cands = cands[:limit]
		}
		for _, k := range cands {
			mp, err := s.get(k.id)
			if err != nil {
				return nil, err // indexed packets are never deleted
			}
			mp.mu.Lock()
			if match(&mp.p.State) {
				out = append(out, copyPacket(&mp.p))
			}
			mp.mu.Unlock()
			if len(out) == limit {
				return out, nil
			}
		}
		if len(cands) < limit {
			return out, nil
		}
		cur = cands[len(cands)-1]
	}
}

// indexKey orders packets by expiry (Unix ns), then ID.
type indexKey struct {
	at int64
	id uuid.UUID
}

func indexKeyOf(p *Packet) indexKey { return indexKey{at: p.ExpiresAt.UnixNano(), id: p.ID} }

func (k indexKey) compare(o indexKey) int {
	switch {
	case k.at < o.at:
		return -1
	case k.at > o.at:
		return 1
	}
	for i := range k.id {
		if k.id[i] != o.id[i] {
			if k.id[i] < o.id[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// memIndexShard is a sorted slice of keys. Removal leaves a tombstone; the
// slice is compacted when tombstones are the majority. Packets are created
// in roughly increasing expiry order, so inserting is almost always an
// append.
type memIndexShard struct {
	mu   sync.Mutex
	keys []indexEntry
	dead int
	_    [32]byte
}

type indexEntry struct {
	key  indexKey
	dead bool
}

func (sh *memIndexShard) search(k indexKey) (int, bool) {
	return slices.BinarySearchFunc(sh.keys, k, func(e indexEntry, k indexKey) int { return e.key.compare(k) })
}

func (sh *memIndexShard) insert(k indexKey) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if n := len(sh.keys); n == 0 || sh.keys[n-1].key.compare(k) < 0 {
		sh.keys = append(sh.keys, indexEntry{key: k})
		return
	}
	i, found := sh.search(k)
	if found {
		sh.keys[i].dead = false // cannot happen: IDs are unique
		return
	}
	sh.keys = slices.Insert(sh.keys, i, indexEntry{key: k})
}

func (sh *memIndexShard) remove(k indexKey) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, found := sh.search(k)
	if !found || sh.keys[i].dead {
		return
	}
	sh.keys[i].dead = true
	sh.dead++
	if sh.dead > 64 && 2*sh.dead > len(sh.keys) {
		sh.keys = slices.DeleteFunc(sh.keys, func(e indexEntry) bool { return e.dead })
		sh.dead = 0
	}
}

// after appends to dst up to limit live keys strictly after cur with
// expiry at most upTo.
func (sh *memIndexShard) after(dst []indexKey, cur indexKey, upTo int64, limit int) []indexKey {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, found := sh.search(cur)
	if found {
		i++
	}
	for n := 0; i < len(sh.keys) && n < limit; i++ {
		e := &sh.keys[i]
		if e.key.at > upTo {
			break
		}
		if !e.dead {
			dst = append(dst, e.key)
			n++
		}
	}
	return dst
}
