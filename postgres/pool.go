package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pool is a minimal pool of pgx connections: at most max open at once,
// idle ones reused last-in first-out, a connection that is closed, busy or
// inside a transaction never returned to the idle list, and one that sat
// idle for a while pinged before reuse.
//
// It stands in for pgxpool, whose dependency (github.com/jackc/puddle/v2)
// this module's go.sum does not list yet; the stores only see *pgx.Conn,
// so swapping it for pgxpool touches this file and Config alone.
type pool struct {
	cfg   *pgx.ConnConfig
	slots chan struct{} // one token per connection handed out or being dialled

	mu     sync.Mutex
	idle   []idleConn
	closed bool
}

type idleConn struct {
	conn  *pgx.Conn
	since time.Time
}

// pingAfter is how long a connection may sit idle before it is pinged on
// reuse: after a server restart every idle connection is dead, and
// handing them out one by one would burn the retries of the operations.
const pingAfter = time.Second

var errPoolClosed = errors.New("postgres: pool closed")

func newPool(cfg *pgx.ConnConfig, max int) *pool {
	return &pool{cfg: cfg, slots: make(chan struct{}, max)}
}

// acquire returns an idle connection or dials a new one, waiting while max
// connections are out.
func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			<-p.slots
			return nil, errPoolClosed
		}
		var ic idleConn
		if n := len(p.idle); n > 0 {
			ic = p.idle[n-1]
			p.idle = p.idle[:n-1]
		}
		p.mu.Unlock()
		if ic.conn == nil {
			break
		}
		if time.Since(ic.since) < pingAfter || ic.conn.Ping(ctx) == nil {
			return ic.conn, nil
		}
		closeConn(ic.conn) // dead already
		p.drain()          // its idle siblings are likely dead too
	}
	conn, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return conn, nil
}

// release gives conn back: to the idle list when it is healthy and outside
// a transaction, else it is closed (the server rolls back whatever it had
// open).
func (p *pool) release(conn *pgx.Conn) {
	defer func() { <-p.slots }()
	dead := conn.IsClosed()
	if !dead && !conn.PgConn().IsBusy() && conn.PgConn().TxStatus() == 'I' {
		p.mu.Lock()
		if !p.closed {
			p.idle = append(p.idle, idleConn{conn: conn, since: time.Now()})
			conn = nil
		}
		p.mu.Unlock()
		if conn == nil {
			return
		}
	}
	closeConn(conn)
	if dead {
		p.drain()
	}
}

// drain closes every idle connection.
func (p *pool) drain() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, ic := range idle {
		closeConn(ic.conn)
	}
}

// close closes the idle connections and makes acquire fail; connections
// out are closed when released.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.drain()
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx) //nolint:errcheck // nothing to do about it
}
