package ledger_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

func TestDeriveIDIsUUIDv5(t *testing.T) {
	ns := uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	for _, parts := range [][]string{
		{}, {""}, {"packet", "p1", "claim", "u1"}, {"ab", "c"}, {"a", "bc"},
		{strings.Repeat("x", 199)}, {strings.Repeat("y", 500), "z"}, {"红包", "手气最佳"},
	} {
		var name []byte
		for _, p := range parts {
			name = binary.AppendUvarint(name, uint64(len(p)))
			name = append(name, p...)
		}
		want := uuid.NewSHA1(ns, name)
		got := ledger.DeriveID(ns, parts...)
		if got != want || got.Version() != 5 || got.Variant() != uuid.RFC4122 {
			t.Errorf("%q: got %s, want %s", parts, got, want)
		}
	}
	if ledger.DeriveID(ns, "ab", "c") == ledger.DeriveID(ns, "a", "bc") {
		t.Error("part boundaries are not part of the key")
	}
	// A part holding the old separator cannot imitate two parts: a NUL in
	// an idempotency key made one record's ID another record's.
	if ledger.DeriveID(ns, "a\x00b", "c") == ledger.DeriveID(ns, "a", "b\x00c") ||
		ledger.DeriveID(ns, "k\x00post") == ledger.DeriveID(ns, "k", "post") {
		t.Error("parts holding NUL collide")
	}
	if ledger.DeriveID(ns, "k") == ledger.DeriveID(uuid.New(), "k") {
		t.Error("namespace is not part of the key")
	}
	if n := testing.AllocsPerRun(100, func() { ledger.DeriveID(ns, "packet", "p1", "claim", "u1") }); n != 0 {
		t.Errorf("DeriveID allocates %v times", n)
	}
}

func BenchmarkDeriveID(b *testing.B) {
	ns := uuid.New()
	b.ReportAllocs()
	for b.Loop() {
		ledger.DeriveID(ns, "packet", "0b7e3a52-4a55-4d3b-9a61-5b1f7c1c9e10", "claim", "user-1234567")
	}
}
