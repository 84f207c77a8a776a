package postgres

import (
	"fmt"

	"github.com/socialpay/socialpay/internal/groupcommit"
	"github.com/socialpay/socialpay/ledger"
)

// lifetime counts the goroutines that must end before something closes:
// the group-commit goroutines of a store (its Close) and of every store
// on a pool (DB.Close, before the pool closes under them).
type lifetime = groupcommit.Lifetime

// queueLife is the lifetime of a store's group-commit goroutines: the
// store's own and its DB's.
type queueLife struct{ own, db *lifetime }

func newQueueLife(db *DB) queueLife { return queueLife{own: new(lifetime), db: db.life} }

// Enter counts a goroutine in to both, or to neither when either is closed.
func (q queueLife) Enter() bool {
	if !q.own.Enter() {
		return false
	}
	if !q.db.Enter() {
		q.own.Exit()
		return false
	}
	return true
}

// Exit counts a goroutine out of both.
func (q queueLife) Exit() {
	q.db.Exit()
	q.own.Exit()
}

// Closed reports whether either is closed.
func (q queueLife) Closed() bool { return q.own.Closed() || q.db.Closed() }

// errStoreClosed answers a call to a closed store (or one whose DB closed).
var errStoreClosed = fmt.Errorf("postgres: store closed: %w", ledger.ErrClosed)

// Close stops the store's group commit: calls queued before it get their
// answers, the goroutines that applied them end, and Close returns; calls
// that would be grouped fail with ledger.ErrClosed from then on (reads and
// the other changes go on working until the DB closes). DB.Close does the
// same for every store on the pool. Calling it again is a no-op.
func (s *RedPacketStore) Close() { s.life.own.Close() }

// Close stops the store's group commit, as RedPacketStore.Close does.
func (s *PointsStore) Close() { s.life.own.Close() }

// Close stops the store's group commit of tries, as RedPacketStore.Close
// does.
func (s *CampaignStore) Close() { s.life.own.Close() }
