package redpacket

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
)

// packetCache is the Service's in-process cache of packets, store-agnostic
// and safe for concurrent use. It holds each packet's fixed part (what a
// claim's eligibility checks read) and, once the store has said the packet
// takes no more claims (sold out, refunding, refunded, cancelled), that
// final answer with the final list of claims: from then on a tap on the
// packet is answered from memory, without the store or the ledger. This is
// the fast path for the storm of taps after a packet sells out.
//
// Only facts that can never change are cached: the fixed part of a packet
// and its closed state (a closed packet never reopens, and its claims are
// final). Several processes each keep their own cache; none can be stale.
//
// Each shard keeps two generations of entries: lookups promote entries from
// the old generation to the current one, and when the current one is full
// it becomes the old one and the old one is dropped, which approximates
// least-recently-used eviction without bookkeeping on every hit.
type packetCache struct {
	shards [cacheShards]cacheShard
	per    int // entries per generation per shard
}

const cacheShards = 64

type cacheShard struct {
	mu       sync.RWMutex
	cur, old map[uuid.UUID]*cached
	_        [24]byte
}

// cached is one packet in the cache.
type cached struct {
	p       *Packet // the fixed part; State is as first read and not used
	pid     string  // p.ID.String(), a part of every ID derived for the packet
	closed  atomic.Pointer[closedState]
	loading sync.Mutex // held by the one goroutine loading the final claims
}

// closedState is a closed packet's final answer.
type closedState struct {
	err     error                               // ErrSoldOut, ErrRefunded or ErrPacketCancelled, wrapped with the packet ID
	winners atomic.Pointer[map[uuid.UUID]Claim] // the final claims by user, once loaded
}

func newPacketCache(size int) *packetCache {
	c := &packetCache{per: max(1, size/(2*cacheShards))}
	for i := range c.shards {
		c.shards[i].cur = make(map[uuid.UUID]*cached)
	}
	return c
}

func (c *packetCache) shard(id uuid.UUID) *cacheShard {
	return &c.shards[memShard(id)%cacheShards]
}

func (c *packetCache) get(id uuid.UUID) *cached {
	sh := c.shard(id)
	sh.mu.RLock()
	e := sh.cur[id]
	sh.mu.RUnlock()
	if e != nil {
		return e
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e = sh.cur[id]; e == nil {
		if e = sh.old[id]; e != nil {
			delete(sh.old, id)
			sh.put(id, e, c.per)
		}
	}
	return e
}

// add caches p and returns
// the entry for its ID (an earlier one if another goroutine added it
// first).
func (c *packetCache) add(p *Packet) *cached {
	sh := c.shard(p.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.cur[p.ID]; e != nil {
		return e
	}
	if e := sh.old[p.ID]; e != nil {
		delete(sh.old, p.ID)
		sh.put(p.ID, e, c.per)
		return e
	}
	fixed := *p
	fixed.Shares = nil // never needed for a claim's checks; keeps the cache small
	e := &cached{p: &fixed, pid: p.ID.String()}
	sh.put(p.ID, e, c.per)
	return e
}

func (sh *cacheShard) put(id uuid.UUID, e *cached, per int) {
	if len(sh.cur) >= per {
		sh.old, sh.cur = sh.cur, make(map[uuid.UUID]*cached, per)
	}
	sh.cur[id] = e
}

// closedErr returns the sentinel under which a store error says the packet
// takes no more claims, or nil.
func closedErr(err error) error {
	for _, target := range []error{ErrSoldOut, ErrRefunded, ErrPacketCancelled} {
		if errors.Is(err, target) {
			return target
		}
	}
	return nil
}

// close records that the packet takes no more claims, for reason (one of
// closedErr's sentinels). The first reason recorded stays: a packet closes
// once.
func (e *cached) close(reason error) {
	if e.closed.Load() != nil {
		return
	}
	e.closed.CompareAndSwap(nil, &closedState{err: &closedError{packet: e.p.ID, reason: reason}})
}

// closedError is the answer to a tap on a closed packet: "claim packet ID:
// reason", made once per packet and formatted only when read.
type closedError struct {
	packet uuid.UUID
	reason error
}

func (e *closedError) Error() string {
	return "claim packet " + e.packet.String() + ": " + e.reason.Error()
}

// Unwrap returns the reason: ErrSoldOut, ErrRefunded or ErrPacketCancelled.
func (e *closedError) Unwrap() error { return e.reason }

// answer is the fast path: for a closed packet whose final claims are
// loaded (loading them once if no other goroutine is at it), it returns
// ok with the user's paid claim, or with the closed error for a user
// without a claim. ok is false when the store must be asked: the packet is
// not known to be closed, another goroutine is loading its claims, or the
// user's claim is not yet known to be paid.
func (e *cached) answer(ctx context.Context, store Store, user uuid.UUID) (c Claim, ok bool, err error) {
	cl := e.closed.Load()
	if cl == nil {
		return Claim{}, false, nil
	}
	w := cl.winners.Load()
	if w == nil {
		if !e.loading.TryLock() {
			return Claim{}, false, nil
		}
		defer e.loading.Unlock()
		if w = cl.winners.Load(); w == nil {
			claims, err := store.Claims(ctx, e.p.ID)
			if err != nil {
				return Claim{}, false, nil
			}
			m := make(map[uuid.UUID]Claim, len(claims))
			for _, c := range claims {
				m[c.User] = c
			}
			w = &m
			cl.winners.Store(w)
		}
	}
	if c, found := (*w)[user]; found {
		return c, c.Posted, nil
	}
	return Claim{}, true, cl.err
}
