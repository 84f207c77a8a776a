package qr

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

func TestCountCap(t *testing.T) {
	usd := ledger.MustCurrency("USD")
	limit := yuan(500_00)
	const day, next = "2026-02-16", "2026-02-17"
	for _, tc := range []struct {
		name    string
		limit   ledger.Money
		counted DayTotal
		day     string
		amount  ledger.Money
		want    DayTotal // the total returned, with the error too
		err     error
	}{
		{"first of the day", limit, DayTotal{}, day, yuan(300_00), DayTotal{day, yuan(300_00)}, nil},
		{"under the cap", limit, DayTotal{day, yuan(300_00)}, day, yuan(199_99), DayTotal{day, yuan(499_99)}, nil},
		{"exactly at the cap", limit, DayTotal{day, yuan(300_00)}, day, yuan(200_00), DayTotal{day, yuan(500_00)}, nil},
		{"one unit over", limit, DayTotal{day, yuan(300_00)}, day, yuan(200_01), DayTotal{day, yuan(300_00)}, ErrDailyCap},
		{"one unit on a full day", limit, DayTotal{day, yuan(500_00)}, day, yuan(1), DayTotal{day, yuan(500_00)}, ErrDailyCap},
		{"alone over the cap", limit, DayTotal{}, day, yuan(500_01), DayTotal{day, yuan(0)}, ErrDailyCap},
		{"the whole cap alone", limit, DayTotal{}, day, yuan(500_00), DayTotal{day, yuan(500_00)}, nil},
		{"next day starts at zero", limit, DayTotal{day, yuan(500_00)}, next, yuan(500_00), DayTotal{next, yuan(500_00)}, nil},
		{"next day, one unit over", limit, DayTotal{day, yuan(500_00)}, next, yuan(500_01), DayTotal{next, yuan(0)}, ErrDailyCap},
		{"a total in another currency counts as zero", limit, DayTotal{day, ledger.NewMoney(500_00, usd)}, day, yuan(1), DayTotal{day, yuan(1)}, nil},
		{"zero cap", yuan(0), DayTotal{}, day, yuan(1), DayTotal{day, yuan(0)}, ErrDailyCap},
		{"largest cap", yuan(1<<63 - 1), DayTotal{day, yuan(1<<63 - 2)}, day, yuan(1), DayTotal{day, yuan(1<<63 - 1)}, nil},
		{"largest cap, one unit over", yuan(1<<63 - 1), DayTotal{day, yuan(1<<63 - 1)}, day, yuan(1), DayTotal{day, yuan(1<<63 - 1)}, ErrDailyCap},
		{"cap in another currency", ledger.NewMoney(500_00, usd), DayTotal{}, day, yuan(1), DayTotal{day, yuan(0)}, ledger.ErrCurrencyMismatch},
		{"zero amount", limit, DayTotal{}, day, yuan(0), DayTotal{day, yuan(0)}, ErrInvalidValue},
		{"negative cap", yuan(-1), DayTotal{}, day, yuan(1), DayTotal{day, yuan(0)}, ErrInvalidValue},
		{"negative total", limit, DayTotal{day, yuan(-1)}, day, yuan(1), DayTotal{day, yuan(-1)}, ErrInvalidValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CountCap(tc.limit, tc.counted, tc.day, tc.amount)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Fatalf("total %+v, want %+v", got, tc.want)
			}
			var ce *CapError
			if errors.As(err, &ce) != errors.Is(tc.err, ErrDailyCap) {
				t.Fatalf("error %T, want a *CapError exactly for ErrDailyCap", err)
			}
			if ce != nil && *ce != (CapError{Day: tc.day, Used: tc.want.Used, Asked: tc.amount, Limit: tc.limit}) {
				t.Fatalf("numbers %+v", *ce)
			}
		})
	}
}

func TestCapReservationReserve(t *testing.T) {
	limit := yuan(500_00)
	r := CapReservation{Payment: uuid.New(), User: uuid.New(), Day: "2026-02-16", Amount: yuan(200_00)}
	other := func(edit func(*CapReservation)) *CapReservation { o := r; edit(&o); return &o }
	for _, tc := range []struct {
		name  string
		r     CapReservation
		limit ledger.Money
		used  ledger.Money
		old   *CapReservation
		total ledger.Money
		add   bool
		err   error
	}{
		{"new, under the cap", r, limit, yuan(100_00), nil, yuan(300_00), true, nil},
		{"new, exactly at the cap", r, limit, yuan(300_00), nil, yuan(500_00), true, nil},
		{"new, one unit over", r, limit, yuan(300_01), nil, yuan(300_01), false, ErrDailyCap},
		{"a retry adds nothing, even at the cap", r, limit, yuan(500_00), &r, yuan(500_00), false, nil},
		{"settled before: the same", r, limit, yuan(500_00), other(func(o *CapReservation) { o.Settled = true }), yuan(500_00), false, nil},
		{"same payment, other amount", r, limit, yuan(0), other(func(o *CapReservation) { o.Amount = yuan(1) }), ledger.Money{}, false, ErrReservationConflict},
		{"same payment, other day", r, limit, yuan(0), other(func(o *CapReservation) { o.Day = "2026-02-17" }), ledger.Money{}, false, ErrReservationConflict},
		{"same payment, other user", r, limit, yuan(0), other(func(o *CapReservation) { o.User = uuid.New() }), ledger.Money{}, false, ErrReservationConflict},
		{"no day", CapReservation{Payment: r.Payment, User: r.User, Amount: r.Amount}, limit, yuan(0), nil, ledger.Money{}, false, ErrInvalidValue},
		{"cap in another currency", r, ledger.NewMoney(500_00, ledger.MustCurrency("USD")), yuan(0), nil, ledger.Money{}, false, ledger.ErrCurrencyMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			total, add, err := tc.r.Reserve(tc.limit, tc.used, tc.old)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if total != tc.total || add != tc.add {
				t.Fatalf("total %v, add %v; want %v, %v", total, add, tc.total, tc.add)
			}
		})
	}
}
