package postgres

import (
	"testing"

	"github.com/socialpay/socialpay/points"
	"github.com/socialpay/socialpay/points/pointstest"
)

// TestPointsStore runs the points conformance suite on PostgreSQL, every
// subtest on one schema (the suite keeps to its own users and time
// windows), with the race cases' services paying on the ledger Store of
// the same schema; fewer goroutines and race iterations than in memory
// (the pool serializes them anyway): SOCIALPAY_RACE_ITERATIONS sets more.
func TestPointsStore(t *testing.T) {
	db := freshDB(t)
	s := NewPointsStore(db)
	pointstest.RunWith(t, func(testing.TB) points.Store { return s }, NewStore(db),
		pointstest.Options{Goroutines: 40, RaceIterations: 20})
}
