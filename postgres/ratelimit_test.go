package postgres

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/transfertest"
)

// uid is the user ID of a test user's name.
func uid(name string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)) }

// instance opens another pool on db's schema, as another instance of the
// service would.
func instance(t testing.TB, db *DB) *DB {
	t.Helper()
	other, err := workerDB(context.Background(), db.schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	return other
}

func newLookupLimiter(t *testing.T, db *DB, cfg transfer.RateConfig) *LookupLimiter {
	t.Helper()
	l, err := NewLookupLimiter(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A prober looks up numbers that are not bound, through two instances of
// the service and then a restarted one. With per-process buckets each
// instance grants the payer a fresh budget; with the shared limiter the
// payer has one budget, 100 tokens at 20 a miss: five misses in all.
func TestLookupLimiterSharedAcrossInstances(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	clock := ledgertest.NewClock(time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC))
	cfg := transfer.DefaultRateConfig()
	cfg.Now = clock.Now

	probe := func(ls ...transfer.Limiter) (admitted int) {
		for i := range 40 {
			err := begin(ctx, ls[i%len(ls)], uid("prober"))
			switch {
			case err == nil:
				admitted++
			case !errors.Is(err, transfer.ErrRateLimited):
				t.Fatal(err)
			}
		}
		return admitted
	}
	var mems []transfer.Limiter
	for range 2 {
		m, err := transfer.NewMemoryLimiter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		mems = append(mems, m)
	}
	if n := probe(mems...); n != 10 {
		t.Fatalf("per-process buckets on two instances admitted %d misses, want 10 (five each)", n)
	}
	a, b := newLookupLimiter(t, db, cfg), newLookupLimiter(t, instance(t, db), cfg)
	if n := probe(a, b); n != 5 {
		t.Fatalf("the shared limiter on two instances admitted %d misses, want 5", n)
	}
	restarted := newLookupLimiter(t, instance(t, db), cfg)
	if n := probe(restarted); n != 0 {
		t.Fatalf("a restarted instance granted %d new misses", n)
	}
	var rl *transfer.RateLimitError
	if err := begin(ctx, restarted, uid("prober")); !errors.As(err, &rl) || rl.Scope != transfer.ScopePayer || rl.RetryAfter != 10*time.Minute {
		t.Fatalf("refusal: %v (want the payer's bucket, retry after 10m: 20 tokens at 2 a minute)", err)
	}
	clock.Advance(10 * time.Minute)
	if err := begin(ctx, b, uid("prober")); err != nil {
		t.Fatalf("after the refill: %v", err)
	}
}

// Concurrent lookups of one payer on two instances: exactly the budget is
// admitted.
func TestLookupLimiterConcurrent(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	cfg := transfer.DefaultRateConfig()
	clock := ledgertest.NewClock(time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC))
	cfg.Now = clock.Now
	ls := []*LookupLimiter{newLookupLimiter(t, db, cfg), newLookupLimiter(t, instance(t, db), cfg)}
	for range ledgertest.RaceIterations(t, 10) {
		var admitted atomic.Int64
		payer := uuid.New()
		_, errs := ledgertest.Concurrently(12, func(i int) (struct{}, error) {
			err := begin(ctx, ls[i%2], payer)
			if err == nil {
				admitted.Add(1)
			}
			return struct{}{}, err
		})
		for _, err := range errs {
			if err != nil && !errors.Is(err, transfer.ErrRateLimited) {
				t.Fatal(err)
			}
		}
		if admitted.Load() != 5 {
			t.Fatalf("%d of 12 concurrent misses admitted, want 5", admitted.Load())
		}
	}
}

// The shared limiter answers as MemoryLimiter does, refusal by refusal and
// retry-after by retry-after, for a random sequence of lookups, hits and
// settled payments over a moving clock (the institution bucket too large
// to bind: it is split over rows here and not in memory).
func TestLookupLimiterMatchesMemory(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	clock := ledgertest.NewClock(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC))
	cfg := transfer.DefaultRateConfig()
	cfg.Institution = transfer.BucketConfig{Capacity: 1 << 30, Interval: time.Nanosecond}
	cfg.Now = clock.Now
	mem, err := transfer.NewMemoryLimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pg := newLookupLimiter(t, db, cfg)
	rng := rand.New(rand.NewPCG(7, 11))
	payers := []uuid.UUID{uid("a"), uid("b"), uid("c")}
	for step := range 300 {
		payer := payers[rng.IntN(len(payers))]
		var em, ep error
		switch op := rng.IntN(10); {
		case op < 6:
			em, ep = begin(ctx, mem, payer), begin(ctx, pg, payer)
		case op < 8:
			em, ep = hit(ctx, mem, payer), hit(ctx, pg, payer)
		case op < 9:
			em, ep = mem.PaymentSettled(ctx, payer), pg.PaymentSettled(ctx, payer)
		default:
			clock.Advance(time.Duration(rng.Int64N(int64(3 * time.Minute))))
			if _, err := pg.Prune(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if (em == nil) != (ep == nil) || (em != nil && em.Error() != ep.Error()) {
			t.Fatalf("step %d, payer %s: memory %v, PostgreSQL %v", step, payer, em, ep)
		}
	}
}

// A busy institution bucket refuses every payer, and bad payer IDs are
// refused before the database is asked.
func TestLookupLimiterInstitutionAndInput(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	cfg := transfer.DefaultRateConfig()
	cfg.Institution = transfer.BucketConfig{Capacity: InstitutionShards * 20, Interval: time.Hour}
	clock := ledgertest.NewClock(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC))
	cfg.Now = clock.Now
	l := newLookupLimiter(t, db, cfg)
	refusedBy := map[string]int{}
	for i := range 200 {
		err := begin(ctx, l, uid("payer-"+string(rune('A'+i%50))+string(rune('a'+i/50))))
		var rl *transfer.RateLimitError
		if errors.As(err, &rl) {
			refusedBy[rl.Scope]++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if refusedBy[transfer.ScopeInstitution] < 200-InstitutionShards || refusedBy[transfer.ScopePayer] != 0 {
		t.Fatalf("refusals by scope: %v", refusedBy)
	}
	if err := begin(ctx, l, uuid.Nil); !errors.Is(err, transfer.ErrEmptyPayer) {
		t.Fatalf("empty payer: %v", err)
	}
	small := cfg
	small.Institution = transfer.BucketConfig{Capacity: 20, Interval: time.Second}
	if _, err := NewLookupLimiter(db, small); !errors.Is(err, transfer.ErrInvalidRateConfig) {
		t.Fatalf("an institution bucket too small to split: %v", err)
	}
}

// A settled payment gives tokens back to the payer only: it neither locks
// nor changes the institution's row, so it never queues behind a lookup
// of another payer on the same shard.
func TestLookupLimiterSettledLocksPayerOnly(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	cfg := transfer.DefaultRateConfig()
	clock := ledgertest.NewClock(time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC))
	cfg.Now = clock.Now
	l := newLookupLimiter(t, db, cfg)
	if err := begin(ctx, l, uid("payer")); err != nil {
		t.Fatal(err)
	}
	_, ik, err := l.keys(uid("payer"))
	if err != nil {
		t.Fatal(err)
	}
	shard := func() (e int64) {
		if err := db.pool.QueryRow(ctx, db.qualify(`select empty_at from $S.lookup_buckets where key = $1`), ik).Scan(&e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	before := shard()
	// Another transaction holds the shard's row.
	tx, err := instance(t, db).pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, db.qualify(`select 1 from $S.lookup_buckets where key = $1 for update`), ik); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := l.PaymentSettled(tctx, uid("payer")); err != nil {
		t.Fatalf("PaymentSettled with the shard's row locked elsewhere: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if after := shard(); after != before {
		t.Fatalf("PaymentSettled moved the institution shard from %d to %d", before, after)
	}
	// The payer got its token back: 80 + 1 left, so four misses, not three.
	for i := range 4 {
		if err := begin(ctx, l, uid("payer")); err != nil {
			t.Fatalf("miss %d after the refund: %v", i+2, err)
		}
	}
	if err := begin(ctx, l, uid("payer")); !errors.Is(err, transfer.ErrRateLimited) {
		t.Fatalf("sixth miss: %v, want ErrRateLimited", err)
	}
}

// The limiter's transactions commit asynchronously with SET LOCAL: the
// setting ends with the transaction, so a pooled connection's next
// transaction (a payment's) commits synchronously as before.
func TestLookupLimiterAsyncCommitIsLocal(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	err := db.run(ctx, "test", func(ctx context.Context, conn *pgx.Conn) error {
		b := txBatch()
		b.Queue(asyncCommit)
		var in string
		b.Queue("show synchronous_commit").QueryRow(func(row pgx.Row) error { return row.Scan(&in) })
		queueCommit(b)
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		var after string
		if err := conn.QueryRow(ctx, "show synchronous_commit").Scan(&after); err != nil {
			return err
		}
		if in != "off" || after != "on" {
			t.Errorf("synchronous_commit %q in the limiter's transaction and %q after it, want off and on", in, after)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A full bucket's row may be pruned by another instance between a step's
// insert and its lock: the step still finds (re-creates) its row, and
// answers as for a full bucket, never with a missing row.
func TestLookupLimiterPruneRace(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	cfg := transfer.DefaultRateConfig()
	clock := ledgertest.NewClock(time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC))
	cfg.Now = clock.Now
	a, b := newLookupLimiter(t, db, cfg), newLookupLimiter(t, instance(t, db), cfg)
	payer := uuid.New()
	for range ledgertest.RaceIterations(t, 300) {
		// A refund to a full bucket leaves it full, so prunable; a prune
		// races it.
		_, errs := ledgertest.Concurrently(4, func(i int) (struct{}, error) {
			if i%2 == 0 {
				return struct{}{}, a.PaymentSettled(ctx, payer)
			}
			_, err := b.Prune(ctx)
			return struct{}{}, err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// begin is ChargeLookup of a miss, charging every call, as probes are.
func begin(ctx context.Context, l transfer.Limiter, payer uuid.UUID) error {
	_, err := l.ChargeLookup(ctx, payer, uuid.Nil, false)
	return err
}

// hit is ChargeLookup of a lookup that found its key.
func hit(ctx context.Context, l transfer.Limiter, payer uuid.UUID) error {
	_, err := l.ChargeLookup(ctx, payer, uuid.Nil, true)
	return err
}

// The lookup-charge rules of every Limiter, on the shared one. Each case
// has a schema of its own: its clock starts again at the suite's start,
// and buckets written at a later reading would not refill for it.
func TestLookupLimiterCharges(t *testing.T) {
	transfertest.RunLimiter(t, func(t testing.TB, cfg transfer.RateConfig) transfer.Limiter {
		l, err := NewLookupLimiter(freshDB(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

// Duplicates of one request on two instances at once, the payer's budget
// holding one lookup: one is charged, none refused. Prune forgets the
// charge once it is older than transfer.ChargeTTL.
func TestLookupLimiterChargeAcrossInstances(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	cfg := transfer.DefaultRateConfig()
	clock := ledgertest.NewClock(time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC))
	cfg.Now = clock.Now
	ls := []*LookupLimiter{newLookupLimiter(t, db, cfg), newLookupLimiter(t, instance(t, db), cfg)}
	charges := func() (n int) {
		if err := db.pool.QueryRow(ctx, db.qualify(`select count(*) from $S.lookup_charges`)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range ledgertest.RaceIterations(t, 10) {
		payer, charge := uuid.New(), uuid.New()
		for range 4 {
			if err := begin(ctx, ls[0], payer); err != nil {
				t.Fatal(err)
			}
		}
		charged, errs := ledgertest.Concurrently(12, func(i int) (bool, error) { return ls[i%2].ChargeLookup(ctx, payer, charge, false) })
		n := 0
		for i := range charged {
			if errs[i] != nil {
				t.Fatalf("duplicate %d: %v", i, errs[i])
			}
			if charged[i] {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d of 12 duplicates on two instances charged, want 1", n)
		}
	}
	before := charges()
	clock.Advance(transfer.ChargeTTL)
	if _, err := ls[1].Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if before == 0 || charges() != 0 {
		t.Fatalf("charges before Prune %d, after %d: want some, then none", before, charges())
	}
}
