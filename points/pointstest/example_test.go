package pointstest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/points"
	"github.com/socialpay/socialpay/points/pointstest"
)

// A store's test runs the whole suite with one line:
//
//	func TestMyStore(t *testing.T) {
//		pointstest.Run(t, func(t testing.TB) points.Store { return mystore.New(t) }, ledger.NewMemoryStore())
//	}
//
// Credit and Debit make valid operations for a store's own tests: here a
// credit of 300 points is recorded and posted, and a debit of 120 spends
// them, oldest lot first.
func ExampleCredit() {
	ctx := context.Background()
	s := points.NewMemoryStore()
	now := time.Date(2027, 2, 5, 20, 0, 0, 0, time.UTC)
	user := uuid.New()
	credit, _, err := s.Record(ctx, pointstest.Credit(user, 300, points.MonthOf(now, time.UTC), now.AddDate(1, 0, 0), now), now)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := s.Post(ctx, user, credit.ID); err != nil {
		fmt.Println(err)
		return
	}
	if _, _, err := s.Record(ctx, pointstest.Debit(user, 120, now), now); err != nil {
		fmt.Println(err)
		return
	}
	h, _ := s.Holder(ctx, user)
	fmt.Println("earned", h.Earned, "spent", h.Spent, "available", h.Available(now))
	// Output: earned 300 spent 120 available 180
}
