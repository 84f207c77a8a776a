package postgres

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

func testSealer(t testing.TB, keys ...SealKey) *HMACSealer {
	t.Helper()
	s, err := NewHMACSealer(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func key(id int16, fill byte) SealKey {
	return SealKey{ID: id, Secret: bytes.Repeat([]byte{fill}, MinSealKeyLen)}
}

// sealedDB is a fresh schema whose stores seal with sealer.
func sealedDB(t *testing.T, sealer Sealer) *DB {
	t.Helper()
	db := freshDB(t)
	db.cfg.Sealer = sealer
	return db
}

func TestNewHMACSealer(t *testing.T) {
	for name, keys := range map[string][]SealKey{
		"none":       nil,
		"short":      {{ID: 1, Secret: make([]byte, MinSealKeyLen-1)}},
		"zero ID":    {key(0, 'a')},
		"twice":      {key(1, 'a'), key(1, 'b')},
		"negative":   {key(-3, 'a')},
		"one is bad": {key(1, 'a'), {ID: 2, Secret: []byte("short")}},
	} {
		if _, err := NewHMACSealer(keys...); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The forger of the everyday role, who recomputes SHA-256 chain hashes,
// credits a wallet with 1,000,000.00 CNY from the bank through the tables.
// Without a sealer that history verifies; with one, each forged entry is
// reported, and so is a seal made with a guessed key or copied from
// another entry.
func TestSealsStopForgery(t *testing.T) {
	ctx := context.Background()
	million := int64(1_000_000_00)

	t.Run("without a sealer the forgery verifies", func(t *testing.T) {
		w := newWorld(t)
		w.forge(t, forged{w.bank, w.wallet, million})
		if _, err := w.l.Verify(ctx); err != nil {
			t.Fatalf("the control case: %v", err)
		}
	})
	t.Run("unsealed entries", func(t *testing.T) {
		w := newWorldOn(t, sealedDB(t, testSealer(t, key(1, 'k'))))
		w.forge(t, forged{w.bank, w.wallet, million})
		_, err := w.l.Verify(ctx)
		if !errors.Is(err, ledger.ErrVerify) || strings.Count(err.Error(), "is not sealed") != 2 {
			t.Fatalf("forged entries not reported: %v", err)
		}
	})
	t.Run("seals of a guessed key", func(t *testing.T) {
		w := newWorldOn(t, sealedDB(t, testSealer(t, key(1, 'k'))))
		w.forge(t, forged{w.bank, w.wallet, million})
		guess := testSealer(t, key(1, 'g'))
		exec(t, w.db, "alter table $S.entries disable trigger user")
		rows, err := w.db.pool.Query(ctx, w.db.qualify(`select `+entryCols+` from $S.entries where seal is null`))
		if err != nil {
			t.Fatal(err)
		}
		var es []ledger.Entry
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				t.Fatal(err)
			}
			es = append(es, e)
		}
		for _, e := range es {
			id, seal := guess.Seal(sealMessage(&e))
			exec(t, w.db, "update $S.entries set seal_key = $3, seal = $4 where account_id = $1 and seq = $2", e.AccountID, int64(e.Seq), id, seal)
		}
		exec(t, w.db, "alter table $S.entries enable trigger user")
		_, err = w.l.Verify(ctx)
		if len(es) != 2 || !errors.Is(err, ledger.ErrVerify) || strings.Count(err.Error(), "seal does not match") != 2 {
			t.Fatalf("%d guessed seals not reported: %v", len(es), err)
		}
	})
	t.Run("seal copied from another entry", func(t *testing.T) {
		w := newWorldOn(t, sealedDB(t, testSealer(t, key(1, 'k'))))
		w.tamper(t, `update $S.entries e set seal = o.seal from $S.entries o
			where e.account_id = $1 and e.seq = 2 and o.account_id = $1 and o.seq = 1`, w.wallet)
		_, err := w.l.Verify(ctx)
		if !errors.Is(err, ledger.ErrVerify) || !strings.Contains(err.Error(), "entry 2: seal does not match") {
			t.Fatalf("copied seal not reported: %v", err)
		}
	})
}

// Keys rotate: entries sealed with the old key verify while the sealer
// still holds it, new entries are sealed with the new one, and dropping
// the old key too early is reported rather than silently accepted.
func TestSealKeyRotation(t *testing.T) {
	ctx := context.Background()
	old, next := key(1, 'o'), key(2, 'n')
	db := sealedDB(t, testSealer(t, old))
	w := newWorldOn(t, db)
	db.cfg.Sealer = testSealer(t, next, old)
	cny := ledger.MustCurrency("CNY")
	if _, err := w.l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: w.wallet, Amount: ledger.NewMoney(7, cny)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.l.Verify(ctx); err != nil {
		t.Fatalf("both keys held: %v", err)
	}
	var byNew int
	if err := db.pool.QueryRow(ctx, db.qualify("select count(*) from $S.entries where seal_key = 2")).Scan(&byNew); err != nil || byNew != 2 {
		t.Fatalf("%d entries sealed with the new key, want 2 (%v)", byNew, err)
	}
	db.cfg.Sealer = testSealer(t, next)
	if _, err := w.l.Verify(ctx); !errors.Is(err, ledger.ErrVerify) || !strings.Contains(err.Error(), "under key 1") {
		t.Fatalf("old key dropped while its seals exist: %v", err)
	}
}

// Seals are required configuration: a DB without a Sealer is refused
// unless Unsealed says so, and the error names both options. Migrate, which
// writes no entries, needs none.
func TestOpenNeedsSealer(t *testing.T) {
	base := testDB(t)
	ctx := context.Background()
	cfg := base.cfg
	cfg.Pool = base.cfg.Pool.Copy()
	cfg.Sealer, cfg.Unsealed = nil, false
	_, err := OpenConfig(ctx, &cfg)
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "Sealer") || !strings.Contains(err.Error(), "Unsealed") {
		t.Fatalf("OpenConfig without a Sealer: %v, want ErrInvalidConfig naming Sealer and Unsealed", err)
	}
	if _, err := Open(ctx, base.cfg.Pool.ConnString(), nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Open with a nil sealer: %v, want ErrInvalidConfig", err)
	}
	if err := Migrate(ctx, &cfg); err != nil {
		t.Fatalf("Migrate without a Sealer: %v", err)
	}
	cfg.Sealer = testSealer(t, key(1, 'k'))
	db, err := OpenConfig(ctx, &cfg)
	if err != nil {
		t.Fatalf("OpenConfig with a Sealer: %v", err)
	}
	db.Close()
}
