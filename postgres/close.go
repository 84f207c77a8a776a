package postgres

import (
	"fmt"
	"sync"

	"github.com/socialpay/socialpay/ledger"
)

// lifetime counts the goroutines that must end before something closes:
// the group-commit goroutines of a store (its Close) and of every store
// on a pool (DB.Close, before the pool closes under them).
type lifetime struct {
	mu      sync.Mutex
	closed  bool
	wg      sync.WaitGroup
	closing func() // tests: called by close before it waits
}

// enter counts a goroutine in, unless closed.
func (l *lifetime) enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.wg.Add(1)
	return true
}

// exit counts a goroutine out.
func (l *lifetime) exit() { l.wg.Done() }

// close refuses goroutines from now on and waits for those counted in.
func (l *lifetime) close() {
	l.mu.Lock()
	l.closed = true
	hook := l.closing
	l.mu.Unlock()
	if hook != nil {
		hook()
	}
	l.wg.Wait()
}

func (l *lifetime) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// queueLife is the lifetime of a store's group-commit goroutines: the
// store's own and its DB's.
type queueLife struct{ own, db *lifetime }

func newQueueLife(db *DB) queueLife { return queueLife{own: new(lifetime), db: db.life} }

// enter counts a goroutine in to both, or to neither when either is closed.
func (q queueLife) enter() bool {
	if !q.own.enter() {
		return false
	}
	if !q.db.enter() {
		q.own.exit()
		return false
	}
	return true
}

func (q queueLife) exit() {
	q.db.exit()
	q.own.exit()
}

func (q queueLife) isClosed() bool { return q.own.isClosed() || q.db.isClosed() }

// errStoreClosed answers a call to a closed store (or one whose DB closed).
var errStoreClosed = fmt.Errorf("postgres: store closed: %w", ledger.ErrClosed)

// Close stops the store's group commit: calls queued before it get their
// answers, the goroutines that applied them end, and Close returns; calls
// that would be grouped fail with ledger.ErrClosed from then on (reads and
// the other changes go on working until the DB closes). DB.Close does the
// same for every store on the pool. Calling it again is a no-op.
func (s *RedPacketStore) Close() { s.life.own.close() }

// Close stops the store's group commit, as RedPacketStore.Close does.
func (s *PointsStore) Close() { s.life.own.close() }

// Close stops the store's group commit of tries, as RedPacketStore.Close
// does.
func (s *CampaignStore) Close() { s.tries.life.own.close() }
