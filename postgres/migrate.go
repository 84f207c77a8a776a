package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one embedded schema change. Files are named
// NNNN_name.sql and applied in version order.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string // hex SHA-256 of SQL, recorded when applied
	// Earlier are the checksums of texts this version had before it was
	// rewritten into an equivalent one (the same schema): a schema that
	// recorded one of them is up to date.
	Earlier []string
}

// earlier lists the library's rewritten migrations. 0102 and 0201 went
// one change per ALTER TABLE, which Citus requires (a test migrates the
// earlier texts, kept in testdata, and compares the schemas).
var earlier = map[int][]string{
	102: {"752d63a3f69e78735c04e687a7495693a795a20b282bd92510fee592644f218c"},
	201: {"979409ca854fadaed3ad6cb2202402232f186f032c6a29dd580b1e5dbcbe9b56"},
}

// matches reports whether a recorded checksum is this migration's, now
// or before a rewrite.
func (m Migration) matches(sum string) bool {
	return sum == m.Checksum || slices.Contains(m.Earlier, sum)
}

// Migrations returns the embedded migrations in the order they apply.
func Migrations() []Migration {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		panic(err) // the embedded files are part of the build; tests cover them
	}
	return ms
}

func loadMigrations(fsys fs.FS) ([]Migration, error) {
	ms, err := loadMigrationsGlob(fsys, "migrations/*.sql")
	for i := range ms {
		ms[i].Earlier = earlier[ms[i].Version]
	}
	return ms, err
}

func loadMigrationsGlob(fsys fs.FS, pattern string) ([]Migration, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".sql")
		num, label, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || label == "" {
			return nil, fmt.Errorf("%w: migration file %q is not named NNNN_name.sql", ErrMigration, name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		out = append(out, Migration{Version: v, Name: label, SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("%w: two migrations with version %d", ErrMigration, out[i].Version)
		}
	}
	return out, nil
}

// lockKey is the advisory lock that serializes migrations of one schema
// across processes. It is held by the migrating transaction only.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("socialpay/migrate/" + schema))
	return int64(h.Sum64())
}

// migrate applies every embedded migration the schema lacks (see
// applyAll), recorded in schema_migrations.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return err
	}
	return db.applyAll(ctx, libraryRecord, ms)
}

// record says where a set of migrations is recorded: the library's in
// schema_migrations, a service's own in app_migrations under its name.
type record struct {
	app string // "" for the library's
}

var libraryRecord = record{}

func (r record) create(schema string) string {
	if r.app == "" {
		return "create table if not exists " + schema + ".schema_migrations (" +
			"version integer primary key, name text not null, checksum text not null, " +
			"applied_at timestamptz not null default now())"
	}
	return "create table if not exists " + schema + ".app_migrations (" +
		"app text not null, version integer not null, name text not null, checksum text not null, " +
		"applied_at timestamptz not null default now(), primary key (app, version))"
}

// lookup is the query of a version's checksum, with its arguments.
func (r record) lookup(version int) (string, []any) {
	if r.app == "" {
		return "select checksum from $S.schema_migrations where version = $1", []any{version}
	}
	return "select checksum from $S.app_migrations where app = $1 and version = $2", []any{r.app, version}
}

// insert is the statement that records m, with its arguments.
func (r record) insert(m Migration) (string, []any) {
	if r.app == "" {
		return "insert into $S.schema_migrations (version, name, checksum) values ($1, $2, $3)", []any{m.Version, m.Name, m.Checksum}
	}
	return "insert into $S.app_migrations (app, version, name, checksum) values ($1, $2, $3, $4)", []any{r.app, m.Version, m.Name, m.Checksum}
}

// list is the query of every recorded version and checksum.
func (r record) list() (string, []any) {
	if r.app == "" {
		return "select version, checksum from $S.schema_migrations", nil
	}
	return "select version, checksum from $S.app_migrations where app = $1", []any{r.app}
}

func (r record) what(schema string) string {
	if r.app == "" {
		return "schema " + schema
	}
	return fmt.Sprintf("schema %s, app %q", schema, r.app)
}

// applyAll applies every migration of ms that r does not record, each in
// its own transaction under a transaction-scoped advisory lock of the
// schema (one lock for the library's and every service's migrations), and
// checks that the ones applied before are the same. Several processes may
// run it at once: the lock makes them take turns and the later ones find
// the work done. Versions recorded that ms does not know (a newer build
// migrated the schema) are left alone.
func (db *DB) applyAll(ctx context.Context, r record, ms []Migration) error {
	for _, m := range ms {
		err := db.run(ctx, "migrate", func(ctx context.Context, conn *pgx.Conn) error {
			return db.applyMigration(ctx, conn, r, m)
		})
		if err != nil {
			if errors.Is(err, ErrMigration) {
				return err
			}
			return fmt.Errorf("%w: version %d (%s) in %s: %w", ErrMigration, m.Version, m.Name, r.what(db.schema), err)
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, conn *pgx.Conn, r record, m Migration) error {
	schema := pgx.Identifier{db.schema}.Sanitize()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock($1)", lockKey(db.schema)); err != nil {
		return err
	}
	// One statement per Exec: Citus refuses several DDL statements in one
	// text.
	for _, q := range []string{"create schema if not exists " + schema, r.create(schema)} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return err
		}
	}
	var checksum string
	q, args := r.lookup(m.Version)
	err = tx.QueryRow(ctx, db.qualify(q), args...).Scan(&checksum)
	switch {
	case err == nil && !m.matches(checksum):
		return fmt.Errorf("%w: version %d (%s) in %s was applied with checksum %s, this build embeds %s",
			ErrMigration, m.Version, m.Name, r.what(db.schema), checksum, m.Checksum)
	case err == nil:
		return tx.Commit(ctx) // applied before
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	// SET LOCAL lasts until the end of this transaction only. Citus
	// creates triggers on its distributed tables (a distributed schema's
	// tables are) only with enable_unsafe_triggers; the triggers here
	// touch their own row only, which is what that setting asks of them.
	// Plain PostgreSQL keeps the setting as a placeholder and ignores it.
	for _, q := range []string{"set local search_path to " + schema, "set local citus.enable_unsafe_triggers to on"} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return err
		}
	}
	for _, stmt := range splitStatements(m.SQL) {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	q, args = r.insert(m)
	if _, err := tx.Exec(ctx, db.qualify(q), args...); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// checkMigrated returns ErrMigration unless every embedded migration is
// recorded in the schema with its checksum. It only reads.
func (db *DB) checkMigrated(ctx context.Context) error {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return err
	}
	return db.checkAll(ctx, libraryRecord, ms)
}

// checkAll returns ErrMigration unless r records every migration of ms
// with its checksum. It only reads.
func (db *DB) checkAll(ctx context.Context, r record, ms []Migration) error {
	applied := map[int]string{}
	err := db.run(ctx, "check migrations", func(ctx context.Context, conn *pgx.Conn) error {
		q, args := r.list()
		rows, err := conn.Query(ctx, db.qualify(q), args...)
		if err != nil {
			return err
		}
		var v int32
		var sum string
		_, err = pgx.ForEachRow(rows, []any{&v, &sum}, func() error {
			applied[int(v)] = sum
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: %s: reading its migrations: %w", ErrMigration, r.what(db.schema), err)
	}
	for _, m := range ms {
		switch sum, ok := applied[m.Version]; {
		case !ok:
			return fmt.Errorf("%w: %s lacks version %d (%s): run the migrations with the owner role first",
				ErrMigration, r.what(db.schema), m.Version, m.Name)
		case !m.matches(sum):
			return fmt.Errorf("%w: version %d (%s) in %s was applied with checksum %s, this build embeds %s",
				ErrMigration, m.Version, m.Name, r.what(db.schema), sum, m.Checksum)
		}
	}
	return nil
}

// MigrateApp applies a service's own migrations to the DB's schema under
// the lock the library's migrations take, so that instances starting
// together take turns instead of racing each other's CREATE TABLE. fsys
// holds the service's files named NNNN_name.sql at its root; they run
// with search_path set to the schema and are recorded in app_migrations
// under app (a name of the service's choosing, 1 to 63 bytes), apart from
// the library's versions. With Config.NoMigrate it only checks that they
// were applied. Safe to call from many processes at once.
//
// Errors: ErrInvalidConfig for a bad app name, ErrMigration.
func (db *DB) MigrateApp(ctx context.Context, app string, fsys fs.FS) error {
	if app == "" || len(app) > 63 {
		return fmt.Errorf("%w: app name %q: want 1 to 63 bytes", ErrInvalidConfig, app)
	}
	ms, err := loadMigrationsGlob(fsys, "*.sql")
	if err != nil {
		return err
	}
	r := record{app: app}
	if db.cfg.NoMigrate {
		return db.checkAll(ctx, r, ms)
	}
	return db.applyAll(ctx, r, ms)
}
