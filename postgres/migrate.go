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
	names, err := fs.Glob(fsys, "migrations/*.sql")
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

// migrate applies every embedded migration the schema lacks, each in its own
// transaction under a transaction-scoped advisory lock, and checks that the
// ones applied before are the embedded ones. Several processes may run it
// at once: the lock makes them take turns and the later ones find the work
// done. Versions in the database that this build does not know (a newer
// build migrated it) are left alone.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return err
	}
	for _, m := range ms {
		err := db.run(ctx, "migrate", func(ctx context.Context, conn *pgx.Conn) error {
			return db.applyMigration(ctx, conn, m)
		})
		if err != nil {
			if errors.Is(err, ErrMigration) {
				return err
			}
			return fmt.Errorf("%w: version %d (%s) in schema %s: %w", ErrMigration, m.Version, m.Name, db.schema, err)
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, conn *pgx.Conn, m Migration) error {
	schema := pgx.Identifier{db.schema}.Sanitize()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock($1)", lockKey(db.schema)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "create schema if not exists "+schema+";"+
		"create table if not exists "+schema+".schema_migrations ("+
		"version integer primary key, name text not null, checksum text not null, "+
		"applied_at timestamptz not null default now())"); err != nil {
		return err
	}
	var checksum string
	err = tx.QueryRow(ctx, db.qualify("select checksum from $S.schema_migrations where version = $1"), m.Version).Scan(&checksum)
	switch {
	case err == nil && checksum != m.Checksum:
		return fmt.Errorf("%w: version %d (%s) in schema %s was applied with checksum %s, this build embeds %s",
			ErrMigration, m.Version, m.Name, db.schema, checksum, m.Checksum)
	case err == nil:
		return tx.Commit(ctx) // applied before
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	// SET LOCAL lasts until the end of this transaction only.
	if _, err := tx.Exec(ctx, "set local search_path to "+schema); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, db.qualify("insert into $S.schema_migrations (version, name, checksum) values ($1, $2, $3)"),
		m.Version, m.Name, m.Checksum); err != nil {
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
	applied := map[int]string{}
	err = db.run(ctx, "check migrations", func(ctx context.Context, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, db.qualify("select version, checksum from $S.schema_migrations"))
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
		return fmt.Errorf("%w: schema %s: reading its migrations: %w", ErrMigration, db.schema, err)
	}
	for _, m := range ms {
		switch sum, ok := applied[m.Version]; {
		case !ok:
			return fmt.Errorf("%w: schema %s lacks version %d (%s): run postgres.Migrate with the owner role first",
				ErrMigration, db.schema, m.Version, m.Name)
		case sum != m.Checksum:
			return fmt.Errorf("%w: version %d (%s) in schema %s was applied with checksum %s, this build embeds %s",
				ErrMigration, m.Version, m.Name, db.schema, sum, m.Checksum)
		}
	}
	return nil
}
