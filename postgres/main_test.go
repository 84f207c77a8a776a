package postgres

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialpay/socialpay/internal/proctest"
)

// Tests reach PostgreSQL at SOCIALPAY_TEST_PG (default: the local server).
// Each test binary works in schemas of its own, named sp_test_<random>…,
// and drops them when done. Without a server the tests skip, unless CI is
// set: then they fail.

const defaultTestDSN = "postgres://root@127.0.0.1:5432/test?sslmode=disable"

var server struct {
	once   sync.Once
	db     *DB    // the binary's base schema
	reason string // why there is no db
	prefix string
	n      atomic.Int64

	mu     sync.Mutex
	byTest map[testing.TB]*DB // see storeFor
}

func TestMain(m *testing.M) {
	proctest.Main(workers())
	code := m.Run()
	for _, db := range []*DB{server.db, citus.db} {
		if db == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if _, err := db.pool.Exec(ctx, "drop schema if exists "+db.schema+" cascade"); err != nil {
			fmt.Fprintf(os.Stderr, "postgres tests: dropping schema %s: %v\n", db.schema, err)
		}
		cancel()
		db.Close()
	}
	os.Exit(code)
}

// testDB returns the test binary's database, or skips (fails under CI)
// when no server answers.
func testDB(t testing.TB) *DB {
	t.Helper()
	server.once.Do(func() {
		dsn := cmp.Or(os.Getenv("SOCIALPAY_TEST_PG"), defaultTestDSN)
		cfg, err := ParseConfig(dsn)
		if err != nil {
			server.reason = err.Error()
			return
		}
		cfg.Pool.ConnConfig.ConnectTimeout = 5 * time.Second
		cfg.Pool.MaxConns = 16
		var b [4]byte
		rand.Read(b[:])
		server.prefix = "sp_test_" + hex.EncodeToString(b[:])
		cfg.Schema = server.prefix
		cfg.Unsealed = true // tests of seals set a Sealer on their DB
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := OpenConfig(ctx, cfg)
		if err != nil {
			server.reason = fmt.Sprintf("no PostgreSQL at %s (set SOCIALPAY_TEST_PG): %v", cfg.Pool.ConnString(), err)
			return
		}
		server.db = db
	})
	if server.db == nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %s", server.reason)
		}
		t.Skip(server.reason)
	}
	return server.db
}

// freshDB returns a DB on a new, migrated schema of its own, dropped when
// the test ends.
func freshDB(t testing.TB) *DB {
	t.Helper()
	base := testDB(t)
	name := fmt.Sprintf("%s_%d", server.prefix, server.n.Add(1))
	db, err := base.WithSchema(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropSchema(t, base, name) })
	return db
}

// storeFor returns a LedgerStore on a schema of t's own. A test that asks again
// (the conformance suite's model test asks once per rapid iteration, with
// the same t, one iteration after the other) gets the same schema emptied,
// which is far cheaper than creating one.
func storeFor(t testing.TB) *LedgerStore {
	t.Helper()
	server.mu.Lock()
	db, ok := server.byTest[t]
	server.mu.Unlock()
	if !ok {
		db = freshDB(t)
		server.mu.Lock()
		if server.byTest == nil {
			server.byTest = make(map[testing.TB]*DB)
		}
		server.byTest[t] = db
		server.mu.Unlock()
		t.Cleanup(func() {
			server.mu.Lock()
			delete(server.byTest, t)
			server.mu.Unlock()
		})
		return NewLedgerStore(db)
	}
	// The append-only triggers stand in the way; the table owner may
	// switch them off for the moment.
	exec(t, db, `begin;
		alter table $S.entries disable trigger user;
		alter table $S.transfers disable trigger user;
		alter table $S.accounts disable trigger user;
		delete from $S.entries; delete from $S.transfers; delete from $S.accounts;
		alter table $S.entries enable trigger user;
		alter table $S.transfers enable trigger user;
		alter table $S.accounts enable trigger user;
		commit`)
	return NewLedgerStore(db)
}

func dropSchema(t testing.TB, db *DB, name string) {
	t.Helper()
	exec(t, db, "drop schema if exists "+name+" cascade")
}

// exec runs SQL outside the stores, for setup and tampering.
func exec(t testing.TB, db *DB, sql string, args ...any) {
	t.Helper()
	if _, err := db.pool.Exec(context.Background(), db.qualify(sql), args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
