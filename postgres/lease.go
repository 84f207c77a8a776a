package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

// TaskLease lets one instance at a time run each maintenance task
// (maintain.Lease): a session-level advisory lock per task and schema,
// held on a connection of the pool for the task's run. Another instance
// asking meanwhile is told to skip; a crashed instance's session ends and
// its locks with it. The tasks are correct without it (every step is
// idempotent): it saves the duplicate work.
type TaskLease struct {
	db *DB
}

// NewTaskLease returns the task lease on db's database and schema.
func NewTaskLease(db *DB) *TaskLease { return &TaskLease{db: db} }

// Acquire implements maintain.Lease: it takes the task's lock if no
// session holds it. The connection stays out of the pool until release.
//
// Errors: this package's (ErrUnavailable…) and ctx's.
func (l *TaskLease) Acquire(ctx context.Context, task string) (release func(), ok bool, err error) {
	c, err := l.db.pool.Acquire(ctx)
	if err != nil {
		if l.db.life.Closed() {
			return nil, false, translate("acquire task lease", errPoolClosed)
		}
		return nil, false, translate("acquire task lease", err)
	}
	key := l.key(task)
	if err := c.QueryRow(ctx, "select pg_try_advisory_lock($1)", key).Scan(&ok); err != nil || !ok {
		c.Release()
		if err != nil {
			return nil, false, translate("acquire task lease", err)
		}
		return nil, false, nil
	}
	return sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var unlocked bool
		if err := c.QueryRow(ctx, "select pg_advisory_unlock($1)", key).Scan(&unlocked); err != nil || !unlocked {
			// The session may still hold the lock: end it, which
			// releases it, rather than pool it.
			_ = c.Conn().Close(ctx)
		}
		c.Release()
	}), true, nil
}

// key is the advisory lock's key of a task: the first 8 bytes of a hash
// of the schema and the task's name, so that schemas on one database
// (cells, tenants) lock apart.
func (l *TaskLease) key(task string) int64 {
	h := sha256.Sum256([]byte("socialpay maintain\x00" + l.db.schema + "\x00" + task))
	return int64(binary.BigEndian.Uint64(h[:8]))
}
