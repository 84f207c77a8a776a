package redpacket

import (
	"errors"
	"math"
	"math/big"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestDefaultRules(t *testing.T) {
	r := DefaultRules()
	if r.Share != (Limits{Min: 1, Max: 20000}) {
		t.Errorf("Share = %+v, want 0.01..200.00 CNY = {1 20000}", r.Share)
	}
	if r.MaxCount != 100 {
		t.Errorf("MaxCount = %d, want 100", r.MaxCount)
	}
	if r.Expiry != 24*time.Hour {
		t.Errorf("Expiry = %v, want 24h", r.Expiry)
	}
	if !r.SenderMayGrab {
		t.Error("SenderMayGrab = false, want true (WeChat groups)")
	}
	if _, ok := r.Splitter.(DoubleMean); !ok {
		t.Errorf("Splitter = %T, want DoubleMean", r.Splitter)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestRulesValidate(t *testing.T) {
	mod := func(f func(*Rules)) Rules { r := DefaultRules(); f(&r); return r }
	tests := []struct {
		name  string
		r     Rules
		extra error
	}{
		{"zero value", Rules{}, ErrInvalidLimits},
		{"min 0", mod(func(r *Rules) { r.Share.Min = 0 }), ErrInvalidLimits},
		{"min negative", mod(func(r *Rules) { r.Share.Min = -1 }), ErrInvalidLimits},
		{"max below min", mod(func(r *Rules) { r.Share = Limits{Min: 5, Max: 4} }), ErrInvalidLimits},
		{"max count 0", mod(func(r *Rules) { r.MaxCount = 0 }), nil},
		{"count × max overflows", mod(func(r *Rules) { r.Share.Max = math.MaxInt64/100 + 1 }), nil},
		{"expiry 0", mod(func(r *Rules) { r.Expiry = 0 }), nil},
		{"expiry negative", mod(func(r *Rules) { r.Expiry = -time.Hour }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if !errors.Is(err, ErrInvalidRules) {
				t.Fatalf("Validate = %v, want ErrInvalidRules", err)
			}
			if tt.extra != nil && !errors.Is(err, tt.extra) {
				t.Fatalf("Validate = %v, want it to match %v too", err, tt.extra)
			}
			if _, err := tt.r.Check(Lucky, 100, 1, 1); !errors.Is(err, ErrInvalidRules) {
				t.Errorf("Check with invalid rules = %v, want ErrInvalidRules", err)
			}
			if _, err := tt.r.Shares(Lucky, 100, 1, nil); !errors.Is(err, ErrInvalidRules) {
				t.Errorf("Shares with invalid rules = %v, want ErrInvalidRules", err)
			}
		})
	}
	// The largest MaxCount × Share.Max that fits is fine.
	r := mod(func(r *Rules) { r.Share.Max = math.MaxInt64 / 100 })
	if err := r.Validate(); err != nil {
		t.Errorf("MaxCount × Max = %d: Validate = %v", int64(100)*r.Share.Max, err)
	}
}

func TestCheckOrder(t *testing.T) {
	r := DefaultRules()
	tests := []struct {
		name      string
		kind      Kind
		amount    int64
		count     int
		group     int
		want      error
		wantTotal int64
	}{
		{"ok lucky", Lucky, 10000, 10, 20, nil, 10000},
		{"ok password", Password, 10000, 10, 10, nil, 10000},
		{"ok normal", Normal, 200, 10, 10, nil, 2000},
		{"ok exclusive", Exclusive, 5200, 1, 1, nil, 5200},
		{"unknown kind", Kind(0), 100, 1, 1, ErrUnknownKind, 0},
		{"unknown kind 5", Kind(5), 100, 1, 1, ErrUnknownKind, 0},
		// 1. count ≥ 1 comes before everything else that is also broken.
		{"count 0", Lucky, 0, 0, 0, ErrNoShares, 0},
		{"count negative", Lucky, 100, -3, 10, ErrNoShares, 0},
		// 2. count ≤ max, before the amount checks.
		{"count 101", Lucky, 10000, 101, 200, ErrTooManyShares, 0},
		{"count 101 and total too small", Lucky, 1, 101, 0, ErrTooManyShares, 0},
		{"exclusive with 2 shares", Exclusive, 10000, 2, 5, ErrTooManyShares, 0},
		// 3. total ≥ count × min, before group size.
		{"0.10 into 15 shares", Lucky, 10, 15, 20, ErrShareTooSmall, 0},
		{"total 0", Lucky, 0, 1, 1, ErrShareTooSmall, 0},
		{"total negative", Lucky, -100, 1, 0, ErrShareTooSmall, 0},
		{"normal share 0", Normal, 0, 3, 1, ErrShareTooSmall, 0},
		// 4. total ≤ count × max, before group size.
		{"200.01 in one share", Lucky, 20001, 1, 0, ErrShareTooLarge, 0},
		{"10 shares, 2000.01", Lucky, 200001, 10, 10, ErrShareTooLarge, 0},
		{"normal share 200.01", Normal, 20001, 2, 1, ErrShareTooLarge, 0},
		{"normal share max int64", Normal, math.MaxInt64, 100, 100, ErrShareTooLarge, 0},
		{"lucky total max int64", Lucky, math.MaxInt64, 100, 100, ErrShareTooLarge, 0},
		// 5. count ≤ group size.
		{"group too small", Lucky, 10000, 10, 9, ErrCountExceedsGroup, 0},
		{"no claimers", Exclusive, 100, 1, 0, ErrCountExceedsGroup, 0},
		// Boundaries that pass.
		{"total = count × min", Lucky, 100, 100, 100, nil, 100},
		{"total = count × max", Lucky, 2000000, 100, 100, nil, 2000000},
		{"normal at max", Normal, 20000, 100, 100, nil, 2000000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total, err := r.Check(tt.kind, tt.amount, tt.count, tt.group)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
			if total != tt.wantTotal {
				t.Errorf("total = %d, want %d", total, tt.wantTotal)
			}
		})
	}
}

// refCheck is an independent statement of the creation rules, in big
// integers so nothing can overflow.
func refCheck(r Rules, k Kind, amount int64, count, group int) (*big.Int, error) {
	maxCount := r.MaxCount
	if k == Exclusive {
		maxCount = 1
	}
	n := big.NewInt(int64(count))
	total := big.NewInt(amount)
	if k == Normal {
		total.Mul(total, n)
	}
	switch {
	case count < 1:
		return nil, ErrNoShares
	case count > maxCount:
		return nil, ErrTooManyShares
	case total.Cmp(new(big.Int).Mul(n, big.NewInt(r.Share.Min))) < 0:
		return nil, ErrShareTooSmall
	case total.Cmp(new(big.Int).Mul(n, big.NewInt(r.Share.Max))) > 0:
		return nil, ErrShareTooLarge
	case count > group:
		return nil, ErrCountExceedsGroup
	}
	return total, nil
}

func TestCheckMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lo := rapid.Int64Range(1, 1000).Draw(t, "min")
		r := DefaultRules()
		r.MaxCount = rapid.IntRange(1, 500).Draw(t, "maxCount")
		hiMax := math.MaxInt64 / int64(r.MaxCount)
		r.Share = Limits{Min: lo, Max: rapid.OneOf(
			rapid.Int64Range(lo, lo+100000),
			rapid.Int64Range(lo, hiMax),
		).Draw(t, "max")}
		k := rapid.SampledFrom([]Kind{Lucky, Normal, Exclusive, Password}).Draw(t, "kind")
		count := rapid.IntRange(-2, r.MaxCount+2).Draw(t, "count")
		amount := rapid.OneOf(
			rapid.Int64Range(-10, 1000000),
			rapid.Int64(),
			rapid.Int64Range(max(int64(count), 1)*lo-2, max(int64(count), 1)*lo+2),
		).Draw(t, "amount")
		group := rapid.IntRange(0, r.MaxCount+5).Draw(t, "group")

		want, wantErr := refCheck(r, k, amount, count, group)
		got, err := r.Check(k, amount, count, group)
		if wantErr != nil {
			if !errors.Is(err, wantErr) {
				t.Fatalf("Check = %v, want %v", err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("Check = %v, want ok with total %v", err, want)
		}
		if !want.IsInt64() || want.Int64() != got {
			t.Fatalf("total = %d, want %v", got, want)
		}
		// Whatever passes the creation check can be split.
		shares, err := r.Shares(k, got, count, seeded(t.Name()))
		if err != nil {
			t.Fatalf("Shares after a passing Check: %v", err)
		}
		checkShares(t, shares, got, count, r.Share)
	})
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Lucky: "lucky", Normal: "normal", Exclusive: "exclusive", Password: "password", 0: "Kind(0)", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}
