package campaign

import (
	"fmt"
	"time"
)

// Rate is a token bucket: Burst tries at once, then one per Every.
type Rate struct {
	Burst int
	Every time.Duration
}

// Validate checks the rate.
//
// Errors: ErrInvalidRate.
func (r Rate) Validate() error {
	if r.Burst < 1 || r.Every <= 0 || time.Duration(r.Burst) > time.Duration(1<<62)/r.Every {
		return fmt.Errorf("%w: burst %d every %v", ErrInvalidRate, r.Burst, r.Every)
	}
	return nil
}

// Allow is the rule of the bucket, kept as one instant (the generic cell
// rate algorithm): tat is the key's theoretical arrival time (zero for a
// key never seen). A try at now is allowed when tat is at most
// (Burst−1)·Every after now; then the new tat is max(tat, now) + Every. A
// refused try leaves tat as it was and says how long to wait. A key whose
// tat is at or before now is as good as new, so a limiter may forget it.
func (r Rate) Allow(tat, now time.Time) (next time.Time, ok bool, wait time.Duration) {
	if tat.Before(now) {
		tat = now
	}
	allowAt := tat.Add(-time.Duration(r.Burst-1) * r.Every)
	if allowAt.After(now) {
		return tat, false, allowAt.Sub(now)
	}
	return tat.Add(r.Every), true, 0
}

// RateLimitError is ErrRateLimited with the key that was refused and how
// long to wait before it allows a try again.
type RateLimitError struct {
	Key  string
	Wait time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%v: %s, retry in %v", ErrRateLimited, e.Key, e.Wait)
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }
