package transfer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// benchFormats are bound-style numbers as payers type them.
var benchFormats = []struct{ name, in string }{
	{"national", "138 0013 8000"},
	{"e164", "+8613800138000"},
	{"international", "+86 138-0013-8000"},
	{"idd", "008613800138000"},
	{"us", "+1 415 555 2671"},
}

func BenchmarkLookupKey(b *testing.B) {
	p := mustParser(b, "CN")
	for _, f := range benchFormats {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := p.LookupKey(f.in); !ok {
					b.Fatal("no key")
				}
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	p := mustParser(b, "CN")
	for _, f := range benchFormats {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Normalize(f.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFindPhone is the cost of one lookup against a map directory of
// 100,000 bound numbers: bound (cheap key hits), unbound (cheap key misses,
// full validation says valid) and invalid (full validation says why).
func BenchmarkFindPhone(b *testing.B) {
	p := mustParser(b, "CN")
	dir := make(map[Phone]int, 100_000)
	for i := range 100_000 {
		dir[Phone(fmt.Sprintf("+86138%08d", i))] = i
	}
	find := func(k Phone) (int, bool, error) {
		v, ok := dir[k]
		return v, ok, nil
	}
	for _, c := range []struct {
		name, in string
		found    bool
		err      bool
	}{
		{"bound", "138 0001 2345", true, false},
		{"unbound", "139 0013 9000", false, false},
		{"invalid", "+86 190 0000", false, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _, found, err := FindPhone(p, c.in, find)
				if found != c.found || (err != nil) != c.err {
					b.Fatal(found, err)
				}
			}
		})
	}
}

func BenchmarkMaskName(b *testing.B) {
	for _, n := range []string{"王小明", "Maria da Silva Santos"} {
		b.Run(n, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MaskName(n)
			}
		})
	}
}

func BenchmarkVerifyName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyName("Maria da Silva Santos", FullName, "Maria Santos"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLimiter is one found lookup (ChargeLookup) by one
// of 2^20 payers, from all cores, with the real clock.
func BenchmarkLimiter(b *testing.B) {
	cfg := DefaultRateConfig()
	cfg.Institution = BucketConfig{Capacity: 1 << 40, Interval: time.Nanosecond}
	l, err := NewMemoryLimiter(cfg)
	if err != nil {
		b.Fatal(err)
	}
	payers := make([]uuid.UUID, 1<<20)
	for i := range payers {
		payers[i] = uid(fmt.Sprint("payer-", i))
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(time.Now().UnixNano()) // spread goroutines over payers
		for pb.Next() {
			p := payers[i&(len(payers)-1)]
			i++
			if err := hit(ctx, l, p); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkLimitsCheck(b *testing.B) {
	l := DefaultLimits()
	in := LimitInput{Amount: ledger.NewMoney(100_00, l.Currency()), SentToday: ledger.NewMoney(1_000_00, l.Currency()), FirstPayee: true}
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Check(in); err != nil {
			b.Fatal(err)
		}
	}
}
