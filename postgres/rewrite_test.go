package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Migrations rewritten for Citus (one change per ALTER TABLE) build the
// same schema as their earlier texts, kept in testdata/premigrations: a
// schema migrated with the earlier texts has every column, constraint,
// index and trigger of one migrated now, and this build opens it.
func TestRewrittenMigrations(t *testing.T) {
	ctx := context.Background()
	files, err := filepath.Glob("testdata/premigrations/*.sql")
	if err != nil || len(files) != len(earlier) {
		t.Fatalf("%d earlier texts for %d rewritten migrations: %v", len(files), len(earlier), err)
	}
	ms := Migrations()
	for _, f := range files {
		v, _ := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if !slices.Contains(earlier[v], hex.EncodeToString(sum[:])) {
			t.Fatalf("%s: checksum %x is not listed as an earlier text of version %d", f, sum, v)
		}
		for i := range ms {
			if ms[i].Version == v {
				if ms[i].SQL == string(b) {
					t.Fatalf("%s: the same text as the embedded migration", f)
				}
				ms[i].SQL, ms[i].Checksum = string(b), hex.EncodeToString(sum[:])
			}
		}
	}
	now := freshDB(t)
	base := testDB(t)
	name := fmt.Sprintf("%s_%d", server.prefix, server.n.Add(1))
	c := base.cfg
	c.Schema = name
	before := &DB{pool: base.pool, life: base.life, schema: name, cfg: c}
	t.Cleanup(func() { dropSchema(t, base, name) })
	if err := before.applyAll(ctx, libraryRecord, ms); err != nil {
		t.Fatal(err)
	}
	a, b := catalog(t, now), catalog(t, before)
	if !slices.Equal(a, b) {
		for _, x := range a {
			if !slices.Contains(b, x) {
				t.Errorf("only with the texts of now: %s", x)
			}
		}
		for _, x := range b {
			if !slices.Contains(a, x) {
				t.Errorf("only with the earlier texts: %s", x)
			}
		}
		t.FailNow()
	}
	if _, err := base.WithSchema(ctx, name); err != nil {
		t.Fatalf("opening a schema migrated with the earlier texts: %v", err)
	}
	cfg := base.cfg
	cfg.NoMigrate = true
	cfg.Schema = name
	checked := &DB{pool: base.pool, life: base.life, schema: name, cfg: cfg}
	if err := checked.checkMigrated(ctx); err != nil {
		t.Fatalf("checking a schema migrated with the earlier texts: %v", err)
	}
}

// catalog describes a schema's tables: columns, constraints, indexes and
// triggers, with the schema's name taken out.
func catalog(t *testing.T, db *DB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`select format('column %s.%s %s null=%s default=%s', table_name, column_name, data_type, is_nullable, coalesce(column_default, ''))
			from information_schema.columns where table_schema = $1`,
		`select format('constraint %s.%s %s', cl.relname, co.conname, pg_get_constraintdef(co.oid))
			from pg_constraint co join pg_class cl on cl.oid = co.conrelid join pg_namespace n on n.oid = cl.relnamespace where n.nspname = $1`,
		`select format('index %s.%s %s', tablename, indexname, indexdef) from pg_indexes where schemaname = $1`,
		`select format('trigger %s.%s %s', c.relname, tg.tgname, pg_get_triggerdef(tg.oid))
			from pg_trigger tg join pg_class c on c.oid = tg.tgrelid join pg_namespace n on n.oid = c.relnamespace
			where n.nspname = $1 and not tg.tgisinternal`,
	} {
		rows, err := db.pool.Query(context.Background(), q, db.schema)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.ReplaceAll(s, db.schema, "S"))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	if len(out) < 100 {
		t.Fatalf("schema %s: only %d catalog rows", db.schema, len(out))
	}
	return out
}
