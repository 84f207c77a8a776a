package qr_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/qr/qrtest"
)

func TestMemoryStore(t *testing.T) {
	qrtest.Run(t, func(testing.TB) qr.Store { return qr.NewMemoryStore(nil) })
}

// The service suite (races at every boundary) on the memory stores: a
// store that pays on the ledger (charges in one step) and one that pays
// on none (the slower path).
func TestMemoryService(t *testing.T) {
	qrtest.RunService(t, func(testing.TB) qrtest.Env {
		return qrtest.Env{NewStore: func(l *ledger.Ledger) qr.Store { return qr.NewMemoryStore(l) }, Rounds: 5}
	})
}

func TestMemoryServiceSlowerPath(t *testing.T) {
	qrtest.RunService(t, func(testing.TB) qrtest.Env { return qrtest.Env{Store: qr.NewMemoryStore(nil), Rounds: 5} })
}

// Listing the oldest reservations sorts them without allocating per
// comparison: a sweep's cost is the list, not n·log n small allocations.
func TestReservedCapsSortDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	s := qr.NewMemoryStore(nil)
	cny := ledger.MustCurrency("CNY")
	at := time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)
	for i := range 1000 {
		r := qr.CapReservation{Payment: uuid.New(), User: uuid.New(), Day: "2026-02-16", Amount: ledger.NewMoney(1, cny),
			At: at.Add(time.Duration(i%7) * time.Second)}
		if _, err := s.ReserveCap(ctx, r, ledger.NewMoney(500_00, cny)); err != nil {
			t.Fatal(err)
		}
	}
	n := testing.AllocsPerRun(5, func() {
		if list, err := s.ReservedCaps(ctx, at.Add(time.Hour), 1000); err != nil || len(list) != 1000 {
			t.Fatalf("%d listed: %v", len(list), err)
		}
	})
	if n > 64 { // the list's growth; before, two allocations per comparison
		t.Errorf("ReservedCaps of 1000 allocates %v times", n)
	}
}
