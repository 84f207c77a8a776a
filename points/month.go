package points

import (
	"fmt"
	"time"
)

// Month is a calendar month, counted from January of year 0 (year·12 +
// month − 1), in the service's time zone. Points earned in one month form
// one lot.
type Month int32

// MonthOf returns the month of t in loc.
func MonthOf(t time.Time, loc *time.Location) Month {
	t = t.In(loc)
	return Month(int32(t.Year())*12 + int32(t.Month()) - 1)
}

// Year returns m's year.
func (m Month) Year() int { return int(m) / 12 }

// Month returns m's month of the year.
func (m Month) Month() time.Month { return time.Month(int(m)%12 + 1) }

// Start returns the first instant of m in loc.
func (m Month) Start(loc *time.Location) time.Time {
	return time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, loc)
}

// Add returns the month n months after m.
func (m Month) Add(n int) Month { return m + Month(n) }

// String returns m as "2006-01".
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year(), int(m.Month())) }

// ExpiryOf returns when points earned in month m expire when they last n
// months: at the end of the n-th month after m (the first instant of
// month m+n+1 in loc). Points earned in January 2026 with n = 12 are
// spendable until the end of January 2027.
func ExpiryOf(m Month, n int, loc *time.Location) time.Time {
	return m.Add(n + 1).Start(loc).UTC()
}
