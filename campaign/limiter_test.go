package campaign

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestMemoryLimiterForgets: buckets that have refilled are forgotten as
// new keys come, so memory follows the keys active within a refill
// period, and a bucket still in use survives every rebuild of its table.
func TestMemoryLimiterForgets(t *testing.T) {
	ctx := context.Background()
	l := NewMemoryLimiter()
	r := Rate{Burst: 1, Every: time.Second}
	t0 := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	hot := LimitKey{Key: "device/hot", Rate: Rate{Burst: 1, Every: time.Hour}}
	if err := l.Allow(ctx, t0, hot); err != nil {
		t.Fatal(err)
	}
	const perSecond = 50_000
	for sec := range 10 {
		now := t0.Add(time.Duration(sec) * time.Second)
		for i := range perSecond {
			if err := l.Allow(ctx, now, LimitKey{Key: fmt.Sprintf("user/%d/%d", sec, i), Rate: r}); err != nil {
				t.Fatalf("second %d key %d: %v", sec, i, err)
			}
		}
		if err := l.Allow(ctx, now, hot); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("second %d: the hot key was forgotten: %v", sec, err)
		}
	}
	// Keys of the last second and some of the one before are live; what
	// is kept is bounded by the doubling, not by the 500,000 keys seen.
	if n := l.buckets(); n < perSecond || n > 4*perSecond {
		t.Fatalf("%d buckets kept after 10 s of %d new keys a second", n, perSecond)
	}
	if err := l.Allow(ctx, t0.Add(9*time.Second), LimitKey{Key: "user/9/7", Rate: r}); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("a live bucket was forgotten: %v", err)
	}
}

func TestLimitKeys(t *testing.T) {
	u := uuid.MustParse("0123abcd-4567-89ef-fedc-ba9876543210")
	user, dev := limitKeys(u, "phone-7")
	if user != "user/"+u.String() || dev != "device/phone-7" {
		t.Fatalf("limitKeys: %q %q", user, dev)
	}
}
