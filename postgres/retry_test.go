package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

func TestRetryable(t *testing.T) {
	pg := func(code, constraint string) error {
		return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code, ConstraintName: constraint})
	}
	for name, c := range map[string]struct {
		err  error
		want bool
	}{
		"serialization failure":           {pg("40001", ""), true},
		"deadlock":                        {pg("40P01", ""), true},
		"transfer ID inserted by another": {pg("23505", "transfers_pkey"), true},
		"other unique violation":          {pg("23505", "transfers_resolve_once"), false},
		"check violation":                 {pg("23514", "accounts_debits_limit"), false},
		"append-only trigger":             {pg(codeAppendOnly, ""), false},
		"admin shutdown":                  {pg("57P01", ""), true},
		"cannot connect now":              {pg("57P03", ""), true},
		"connection failure":              {pg("08006", ""), true},
		"syntax error":                    {pg("42601", ""), false},
		"connection closed":               {io.ErrUnexpectedEOF, true},
		"decide again":                    {errRerun, true},
		"no rows":                         {pgx.ErrNoRows, false},
		"cancelled":                       {context.Canceled, false},
		"deadline":                        {fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		"integrity":                       {fmt.Errorf("%w: bad row", ErrIntegrity), false},
		"pool closed":                     {errPoolClosed, false},
	} {
		if got := retryable(c.err); got != c.want {
			t.Errorf("%s: retryable = %v, want %v", name, got, c.want)
		}
	}
}

func TestTranslate(t *testing.T) {
	for name, c := range map[string]struct {
		err   error
		want  error
		class errcode.Class
	}{
		"check violation": {&pgconn.PgError{Code: "23514"}, ErrIntegrity, errcode.Internal},
		"trigger":         {&pgconn.PgError{Code: codeAppendOnly}, ErrIntegrity, errcode.Internal},
		"connection":      {io.ErrUnexpectedEOF, ErrUnavailable, errcode.Unavailable},
		"shutdown":        {&pgconn.PgError{Code: "57P01"}, ErrUnavailable, errcode.Unavailable},
	} {
		got := translate("op", c.err)
		if !errors.Is(got, c.want) || !errors.Is(got, c.err) {
			t.Errorf("%s: %v does not wrap both %v and the cause", name, got, c.want)
		}
		if code, class := errcode.Of(got); code != c.want.(*errcode.Error).Code() || class != c.class {
			t.Errorf("%s: errcode.Of = %s, %v; want %s, %v", name, code, class, c.want.(*errcode.Error).Code(), c.class)
		}
	}
}

// What reaches a caller untranslated is classed by errcode.Of alike: a
// closed pool and a cancelled or expired context are worth retrying
// elsewhere or later (503), a statement error is not.
func TestErrcodeOfUntranslated(t *testing.T) {
	for name, c := range map[string]struct {
		err   error
		code  string
		class errcode.Class
	}{
		"pool closed":     {fmt.Errorf("postgres: op: %w", errPoolClosed), "pool_closed", errcode.Unavailable},
		"cancelled":       {fmt.Errorf("postgres: op: %w", context.Canceled), "canceled", errcode.Unavailable},
		"deadline":        {translate("op", context.DeadlineExceeded), "timeout", errcode.Unavailable},
		"syntax error":    {translate("op", &pgconn.PgError{Code: "42601"}), "internal", errcode.Internal},
		"lock timeout":    {translate("op", &pgconn.PgError{Code: "55P03"}), "unavailable", errcode.Unavailable},
		"no rows escaped": {translate("op", pgx.ErrNoRows), "internal", errcode.Internal},
	} {
		if code, class := errcode.Of(c.err); code != c.code || class != c.class {
			t.Errorf("%s: errcode.Of(%v) = %s, %v; want %s, %v", name, c.err, code, class, c.code, c.class)
		}
	}
}

// ownDB returns a DB on the test binary's schema with a pool of its own
// of maxConns connections, so that which connection an operation gets
// depends on nothing another test does, and with retries that wait at most
// a microsecond.
func ownDB(t *testing.T, maxConns int32) *DB {
	t.Helper()
	base := testDB(t)
	cfg := base.cfg
	cfg.Pool = base.cfg.Pool.Copy()
	cfg.Pool.MaxConns = maxConns
	cfg.RetryBase, cfg.RetryMax = time.Microsecond, time.Microsecond
	db, err := OpenConfig(context.Background(), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// The server raises a real SQLSTATE; run retries what is retryable, a
// bounded number of times, and nothing else. One connection in the pool:
// every attempt gets the same one unless it was destroyed.
func TestRunRetries(t *testing.T) {
	db := ownDB(t, 1)
	ctx := context.Background()
	raise := func(conn *pgx.Conn, code string) error {
		_, err := conn.Exec(ctx, fmt.Sprintf(`do $$ begin raise exception 'injected' using errcode = '%s'; end $$`, code))
		return err
	}
	for _, code := range []string{codeSerializationFailure, codeDeadlock} {
		attempts := 0
		err := db.run(ctx, "test", func(ctx context.Context, conn *pgx.Conn) error {
			if attempts++; attempts < 3 {
				return raise(conn, code)
			}
			return nil
		})
		if err != nil || attempts != 3 {
			t.Fatalf("%s: %v after %d attempts, want success after 3", code, err, attempts)
		}
	}

	limited := *db
	limited.cfg.MaxAttempts = 4
	attempts := 0
	err := limited.run(ctx, "test", func(ctx context.Context, conn *pgx.Conn) error {
		attempts++
		return raise(conn, codeSerializationFailure)
	})
	var pe *pgconn.PgError
	if !errors.Is(err, ErrRetriesExhausted) || !errors.As(err, &pe) || pe.Code != codeSerializationFailure || attempts != 4 {
		t.Fatalf("endless conflicts: %v after %d attempts", err, attempts)
	}
	if code, class := errcode.Of(err); code != "retries_exhausted" || !class.Retryable() {
		t.Errorf("endless conflicts: errcode.Of = %s, %v; want retries_exhausted, a retryable class", code, class)
	}

	attempts = 0
	err = db.run(ctx, "test", func(ctx context.Context, conn *pgx.Conn) error {
		attempts++
		return raise(conn, "23514")
	})
	if !errors.Is(err, ErrIntegrity) || attempts != 1 {
		t.Fatalf("check violation: %v after %d attempts, want ErrIntegrity after 1", err, attempts)
	}

	// A failed attempt inside a transaction is rolled back, and the
	// connection (the same backend) is handed out again, clean.
	var pid uint32
	err = db.run(ctx, "test", func(ctx context.Context, conn *pgx.Conn) error {
		pid = conn.PgConn().PID()
		if _, err := conn.Exec(ctx, "begin"); err != nil {
			return err
		}
		return raise(conn, "22000")
	})
	if err == nil {
		t.Fatal("error lost")
	}
	if err := db.run(ctx, "test", func(ctx context.Context, conn *pgx.Conn) error {
		if s, p := conn.PgConn().TxStatus(), conn.PgConn().PID(); s != 'I' || p != pid {
			return fmt.Errorf("connection handed out in transaction state %c, backend %d; want I, backend %d", s, p, pid)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.run(ctx2, "test", func(context.Context, *pgx.Conn) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// Connections found dead are not handed out again: when every backend of
// the pool has been killed, an operation costs one retry at most (the
// first dead connection resets the pool), and the connections handed out
// afterwards are all new.
func TestDeadConnectionsReset(t *testing.T) {
	const n = 4
	db := ownDB(t, n)
	ctx := context.Background()
	acquireAll := func() ([]*pgxpool.Conn, []int32) {
		conns, pids := make([]*pgxpool.Conn, n), make([]int32, n)
		for i := range conns {
			c, err := db.pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns[i], pids[i] = c, int32(c.Conn().PgConn().PID())
		}
		return conns, pids
	}
	conns, killed := acquireAll()
	for _, c := range conns {
		c.Release()
	}
	killBackends(t, db, killed)

	attempts := 0
	err := db.run(ctx, "test", func(ctx context.Context, conn *pgx.Conn) error {
		attempts++
		_, err := conn.Exec(ctx, "select 1")
		return err
	})
	if err != nil || attempts > 2 {
		t.Fatalf("with every backend killed: %v after %d attempts, want success after 2 at most", err, attempts)
	}
	conns, pids := acquireAll()
	for _, c := range conns {
		c.Release()
	}
	for _, pid := range pids {
		if slices.Contains(killed, pid) {
			t.Fatalf("the connection of killed backend %d was handed out again", pid)
		}
	}
}

// A backend killed under a pooled connection costs a retry, not an error.
func TestKilledBackend(t *testing.T) {
	db := freshDB(t)
	s := NewLedgerStore(db)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: ledger.MustCurrency("CNY")}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var pid uint32
	if err := db.run(ctx, "pid", func(ctx context.Context, conn *pgx.Conn) error {
		pid = conn.PgConn().PID()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	killBackends(t, db, []int32{int32(pid)})
	// The idle connection the pool hands out next is likely the dead one.
	if got, err := s.Account(ctx, a.ID); err != nil || got.Account.ID != a.ID {
		t.Fatalf("after killing a backend: %+v %v", got, err)
	}
}

// killBackends terminates the backends pids from a connection outside the
// pool and waits until they are gone.
func killBackends(t *testing.T, db *DB, pids []int32) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.ConnectConfig(ctx, db.cfg.Pool.ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "select pg_terminate_backend(pid) from unnest($1::int4[]) pid", pids); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var alive int
		if err := admin.QueryRow(ctx, "select count(*) from pg_stat_activity where pid = any($1)", pids).Scan(&alive); err != nil {
			t.Fatal(err)
		}
		if alive == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d killed backends still running", alive)
		}
		time.Sleep(time.Millisecond) // polling the server's view, not guessing an order
	}
}

// openAccounts creates n accounts in CNY.
func openAccounts(t *testing.T, s *LedgerStore, n int) []uuid.UUID {
	t.Helper()
	ids := make([]uuid.UUID, n)
	for i := range ids {
		a, err := s.CreateAccount(context.Background(), ledger.Account{ID: uuid.New(), Currency: ledger.MustCurrency("CNY")}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = a.ID
	}
	return ids
}

// Two transactions insert one transfer ID with different accounts: the
// later one meets the unique index (23505), decides again, and the rules
// report the conflict.
func TestConcurrentInsertSameID(t *testing.T) {
	db := freshDB(t)
	s := NewLedgerStore(db)
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	now := time.Now()
	acc := openAccounts(t, s, 4)
	id := uuid.New()
	first := ledger.Transfer{ID: id, DebitAccountID: acc[0], CreditAccountID: acc[1], Amount: ledger.NewMoney(100, cny)}
	second := ledger.Transfer{ID: id, DebitAccountID: acc[2], CreditAccountID: acc[3], Amount: ledger.NewMoney(100, cny)}

	// Hold the first transfer's transaction open just before it commits,
	// by running the store's own steps by hand on one connection.
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	v, err := s.lock(ctx, conn.Conn(), txBatch(), &lockKeys{accounts: []uuid.UUID{acc[0], acc[1]}, ids: []uuid.UUID{id}})
	if err != nil {
		t.Fatal(err)
	}
	out := ledger.ApplyBatch(v, []ledger.Transfer{first}, false, now)
	b := &pgx.Batch{}
	w := &writes{created: out.Created, accounts: out.Accounts, entries: out.Entries}
	s.queueWrites(b, w)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}

	done := make(chan ledger.Result)
	go func() {
		r, err := s.CreateTransfer(ctx, second, now)
		if err != nil {
			r.Err = err
		}
		done <- r
	}()
	// Wait until the second transaction is blocked on the unique index.
	deadline := time.Now().Add(30 * time.Second)
	waiting := `select count(*) from pg_stat_activity where wait_event_type = 'Lock'
		and query like '%insert into "' || $1 || '".transfers%'`
	for countRows(t, db, waiting, db.schema) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the second insert never waited for the first")
		}
		time.Sleep(time.Millisecond) // polling the server's view, not guessing an order
	}
	if _, err := conn.Exec(ctx, "commit"); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if !errors.Is(r.Err, ledger.ErrIdempotencyConflict) {
		t.Fatalf("second transfer with the same ID: %+v", r)
	}
	got, err := s.Transfer(ctx, id)
	if err != nil || got.DebitAccountID != acc[0] {
		t.Fatalf("stored %+v %v", got, err)
	}
	if _, err := s.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

// Called directly (ledger.Ledger validates before it calls a store), the
// store still refuses what it could not keep exactly: a batch with a
// reference or metadata that is not UTF-8 or holds NUL is refused whole,
// naming the transfer, before anything is written. (encoding/json would
// store invalid UTF-8 in metadata as U+FFFD without a word.) Any other text
// is kept exactly.
func TestUnstorableText(t *testing.T) {
	db := freshDB(t)
	s := NewLedgerStore(db)
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	now := time.Now()
	acc := openAccounts(t, s, 2)
	pay := func(ref string, meta map[string]string) ledger.Transfer {
		return ledger.Transfer{ID: uuid.New(), DebitAccountID: acc[0], CreditAccountID: acc[1], Amount: ledger.NewMoney(1, cny), Reference: ref, Metadata: meta}
	}
	good := pay("红包 🧧", map[string]string{"memo": "新年快乐"})
	for _, bad := range []ledger.Transfer{pay("bad \xff", nil), pay("", map[string]string{"k": "nul\x00"}), pay("", map[string]string{"k": "\xff"})} {
		for _, linked := range []bool{false, true} {
			rs, err := s.CreateTransfers(ctx, []ledger.Transfer{good, bad}, linked, now)
			var te *ledger.TransferError
			if rs != nil || !errors.Is(err, ledger.ErrInvalidTransfer) || !errors.As(err, &te) || te.Index != 1 || te.ID != bad.ID {
				t.Errorf("reference %q, metadata %q, linked %v: %v %v", bad.Reference, bad.Metadata, linked, rs, err)
			}
		}
	}
	if _, err := s.Transfer(ctx, good.ID); !errors.Is(err, ledger.ErrTransferNotFound) {
		t.Fatalf("a refused batch wrote its valid transfer: %v", err)
	}
	if rs, err := s.CreateTransfers(ctx, []ledger.Transfer{good}, false, now); err != nil || rs[0].Err != nil {
		t.Fatal(err, rs)
	}
	got, err := s.Transfer(ctx, good.ID)
	if err != nil || got.Reference != good.Reference || got.Metadata["memo"] != "新年快乐" {
		t.Fatalf("stored %+v %v", got, err)
	}
	_, err = s.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Metadata: map[string]string{"\xff": "x"}}, now)
	if !errors.Is(err, ledger.ErrInvalidAccount) {
		t.Fatalf("account with unstorable metadata: %v", err)
	}
	if _, err := s.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}
