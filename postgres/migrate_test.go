package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socialpay/socialpay/ledger/ledgertest"
)

func countRows(t testing.TB, db *DB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.pool.QueryRow(context.Background(), db.qualify(sql), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Several processes starting at once (here: goroutines with pools of their
// own, so separate sessions) migrate a new schema once between them.
func TestMigrateConcurrently(t *testing.T) {
	base := testDB(t)
	name := fmt.Sprintf("%s_m%d", server.prefix, server.n.Add(1))
	t.Cleanup(func() { dropSchema(t, base, name) })
	const procs = 6
	dbs := make([]*DB, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range procs {
		wg.Go(func() {
			<-start
			cfg := base.cfg
			cfg.Schema = name
			cfg.Pool = base.cfg.Pool.Copy()
			cfg.Pool.MaxConns = 2
			dbs[i], errs[i] = OpenConfig(context.Background(), &cfg)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	want := len(Migrations())
	if n := countRows(t, dbs[0], "select count(*) from $S.schema_migrations"); n != want {
		t.Fatalf("%d migrations recorded, want %d", n, want)
	}
	// Opening again changes nothing, and the store works.
	again, err := base.WithSchema(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, again, "select count(*) from $S.schema_migrations"); n != want {
		t.Fatalf("after reopening: %d migrations recorded, want %d", n, want)
	}
	if n := countRows(t, again, "select count(*) from $S.accounts"); n != 0 {
		t.Fatalf("fresh schema has %d accounts", n)
	}
}

// A recorded migration that differs from the embedded one stops Open.
func TestMigrateChecksumMismatch(t *testing.T) {
	db := freshDB(t)
	exec(t, db, "update $S.schema_migrations set checksum = 'edited' where version = 1")
	_, err := testDB(t).WithSchema(context.Background(), db.schema)
	if !errors.Is(err, ErrMigration) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("reopening an edited schema: %v", err)
	}
}

func TestLoadMigrations(t *testing.T) {
	ms := Migrations()
	if len(ms) == 0 || ms[0].Version != 1 || ms[0].Checksum == "" {
		t.Fatalf("embedded migrations: %+v", ms)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Version <= ms[i-1].Version {
			t.Fatalf("migrations out of order: %d after %d", ms[i].Version, ms[i-1].Version)
		}
	}
	for _, m := range ms {
		if m.Version > 899 {
			t.Errorf("migration %d (%s) is outside the ranges the package doc allots to the ledger, the features, shared state and cells", m.Version, m.Name)
		}
	}
	for name, fsys := range map[string]fstest.MapFS{
		"unnumbered":  {"migrations/ledger.sql": {Data: []byte("select 1")}},
		"no name":     {"migrations/0002.sql": {Data: []byte("select 1")}},
		"zero":        {"migrations/0000_x.sql": {Data: []byte("select 1")}},
		"same number": {"migrations/0001_a.sql": {Data: []byte("select 1")}, "migrations/001_b.sql": {Data: []byte("select 2")}},
	} {
		if _, err := loadMigrations(fsys); !errors.Is(err, ErrMigration) {
			t.Errorf("%s: %v", name, err)
		}
	}
	got, err := loadMigrations(fstest.MapFS{
		"migrations/0010_later.sql":  {Data: []byte("select 10")},
		"migrations/0002_second.sql": {Data: []byte("select 2")},
	})
	if err != nil || len(got) != 2 || got[0].Version != 2 || got[1].Name != "later" {
		t.Fatalf("ordering: %+v %v", got, err)
	}
}

func TestConfig(t *testing.T) {
	for _, schema := range []string{"Public", "1abc", "a-b", "pg_catalog", strings.Repeat("a", 64), `x"; drop table y; --`} {
		cfg, err := ParseConfig(defaultTestDSN)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Schema = schema
		if _, err := OpenConfig(context.Background(), cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("schema %q: %v", schema, err)
		}
	}
	if _, err := ParseConfig("postgres://x/y?pool_max_conns=0"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("pool_max_conns=0: %v", err)
	}
	if _, err := ParseConfig("postgres://x:bad port/"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad URL: %v", err)
	}
	if _, err := OpenConfig(context.Background(), &Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("empty config: %v", err)
	}
	cc, err := pgx.ParseConfig(defaultTestDSN)
	if err != nil {
		t.Fatal(err)
	}
	// pgxpool panics on a Config it did not parse; OpenConfig says so.
	if _, err := OpenConfig(context.Background(), &Config{Pool: &pgxpool.Config{ConnConfig: cc, MaxConns: 2}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("pgxpool.Config literal: %v", err)
	}
	cfg, _ := ParseConfig("postgres://x/y?pool_max_conns=7&application_name=bank")
	if cfg.Pool.MaxConns != 7 || cfg.Pool.ConnConfig.RuntimeParams["pool_max_conns"] != "" || cfg.Pool.ConnConfig.RuntimeParams["application_name"] != "bank" {
		t.Errorf("parsed %+v, params %v", cfg.Pool, cfg.Pool.ConnConfig.RuntimeParams)
	}
	if cfg, _ := ParseConfig("postgres://x/y"); cfg.Pool.MaxConns != 0 {
		t.Errorf("no pool_max_conns: MaxConns %d, want 0 (the default)", cfg.Pool.MaxConns)
	}
}

// OpenConfig takes a pgxpool configuration as it is, hooks included, and
// adds its defaults: a pool of max(4, GOMAXPROCS) connections and generic
// plans, unless the configuration says otherwise.
func TestOpenPoolConfig(t *testing.T) {
	base := testDB(t)
	for _, c := range []struct {
		param, want string
		maxConns    int32
	}{
		{"", "force_generic_plan", 0},
		{"auto", "auto", 3},
	} {
		pc := base.cfg.Pool.Copy()
		delete(pc.ConnConfig.RuntimeParams, "plan_cache_mode")
		if c.param != "" {
			pc.ConnConfig.RuntimeParams["plan_cache_mode"] = c.param
		}
		pc.MaxConns = c.maxConns
		var connects atomic.Int64
		pc.AfterConnect = func(context.Context, *pgx.Conn) error {
			connects.Add(1)
			return nil
		}
		db, err := OpenConfig(context.Background(), &Config{Pool: pc, Schema: base.schema, Unsealed: true})
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		err = db.run(context.Background(), "test", func(ctx context.Context, conn *pgx.Conn) error {
			return conn.QueryRow(ctx, "show plan_cache_mode").Scan(&mode)
		})
		want := c.maxConns
		if want == 0 {
			want = int32(max(4, runtime.GOMAXPROCS(0)))
		}
		if err != nil || mode != c.want || db.pool.Stat().MaxConns() != want || connects.Load() == 0 {
			t.Errorf("plan_cache_mode %q, MaxConns %d: got %q %v, pool of %d, %d connects; want %q, pool of %d",
				c.param, c.maxConns, mode, err, db.pool.Stat().MaxConns(), connects.Load(), c.want, want)
		}
		db.Close()
		if err := db.run(context.Background(), "test", func(context.Context, *pgx.Conn) error { return nil }); !errors.Is(err, errPoolClosed) {
			t.Errorf("after Close: %v, want the pool closed", err)
		}
	}
}

// A service's own migrations, run by six instances starting at once, are
// applied once each under the library's lock, recorded apart from the
// library's versions, checked (not applied) with NoMigrate, and an edited
// one stops the start.
func TestMigrateApp(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	app := fstest.MapFS{
		"0001_sessions.sql": {Data: []byte("create table sessions (id text primary key, user_id uuid not null)")},
		"0002_seen.sql":     {Data: []byte("alter table sessions add column seen_at timestamptz")},
	}
	const procs = 6
	dbs := make([]*DB, procs)
	for i := range dbs {
		cfg := db.cfg
		cfg.Pool = db.cfg.Pool.Copy()
		cfg.Pool.MaxConns = 2
		other, err := OpenConfig(ctx, &cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		dbs[i] = other
	}
	_, errs := ledgertest.Concurrently(procs, func(i int) (struct{}, error) {
		return struct{}{}, dbs[i].MigrateApp(ctx, "bankd", app)
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	if n := countRows(t, db, "select count(*) from $S.app_migrations where app = 'bankd'"); n != 2 {
		t.Fatalf("%d app migrations recorded, want 2", n)
	}
	if n := countRows(t, db, "select count(*) from $S.schema_migrations"); n != len(Migrations()) {
		t.Fatalf("the library's record changed: %d", n)
	}
	exec(t, db, "insert into $S.sessions (id, user_id, seen_at) values ('s', gen_random_uuid(), now())")

	check := *db
	check.cfg.NoMigrate = true
	more := fstest.MapFS{"0003_more.sql": {Data: []byte("create table more (id int)")}}
	for k, v := range app {
		more[k] = v
	}
	if err := check.MigrateApp(ctx, "bankd", more); !errors.Is(err, ErrMigration) || !strings.Contains(err.Error(), "lacks version 3") {
		t.Fatalf("NoMigrate with a migration missing: %v", err)
	}
	if err := check.MigrateApp(ctx, "bankd", app); err != nil {
		t.Fatalf("NoMigrate, all applied: %v", err)
	}
	edited := fstest.MapFS{"0001_sessions.sql": {Data: []byte("create table sessions (id int)")}}
	if err := db.MigrateApp(ctx, "bankd", edited); !errors.Is(err, ErrMigration) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("an edited app migration: %v", err)
	}
	if err := db.MigrateApp(ctx, "", app); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("no app name: %v", err)
	}
	// The service queries its table on the stores' own pool.
	var n int
	if err := db.Pool().QueryRow(ctx, "select count(*) from "+db.Schema()+".sessions").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the service's own query on Pool: %d %v", n, err)
	}
}
