package points

import (
	"fmt"
	"math"
	"math/bits"
	"time"
	"unicode/utf8"

	"github.com/socialpay/socialpay/ledger"
)

// MaxNameLen bounds rate names, rule names and partner names (bytes).
// Idempotency keys are bounded as every feature's are (ledger.CheckKey).
const MaxNameLen = 64

// Rate is one version of a conversion rate: From units of what is given
// are worth To units of what is received. A redemption rate gives points
// and receives minor units of money (From 100, To 1: 100 points are worth
// 0.01 CNY); an exchange rate gives one scheme's points and receives the
// other's. Rates are never changed: a new version supersedes the latest,
// and every operation records the version it used.
type Rate struct {
	Name    string    `json:"name"`    // RedeemRateName or an exchange rate name; at most MaxNameLen bytes
	Version int       `json:"version"` // 1, 2, …
	From    int64     `json:"from"`    // units given, ≥ 1
	To      int64     `json:"to"`      // units received for From given, ≥ 1
	SetAt   time.Time `json:"set_at"`
}

// RedeemRateName is the name of the rate at which points are redeemed
// into money of currency c ("redeem/CNY").
func RedeemRateName(c ledger.Currency) string { return "redeem/" + c.Code() }

// ExchangeOutRateName is the name of the rate at which the bank's points
// are exchanged for partner's points ("partner/<partner>/out");
// ExchangeInRateName the reverse ("partner/<partner>/in").
func ExchangeOutRateName(partner string) string { return "partner/" + partner + "/out" }

// ExchangeInRateName: see ExchangeOutRateName.
func ExchangeInRateName(partner string) string { return "partner/" + partner + "/in" }

// Validate checks a rate's fields.
//
// Errors: ErrInvalidRate.
func (r Rate) Validate() error {
	switch {
	case !validName(r.Name):
		return fmt.Errorf("%w: name %q (1–%d bytes of storable text)", ErrInvalidRate, r.Name, MaxNameLen)
	case r.Version < 1:
		return fmt.Errorf("%w: %s version %d", ErrInvalidRate, r.Name, r.Version)
	case r.From < 1 || r.To < 1:
		return fmt.Errorf("%w: %s %d:%d (both must be at least 1)", ErrInvalidRate, r.Name, r.From, r.To)
	}
	return nil
}

func validName(s string) bool {
	return s != "" && len(s) <= MaxNameLen && utf8.ValidString(s) && ledger.StorableText(s)
}

// Convert converts amount units given at rate r. It returns out, the
// units received, rounded down: floor(amount·To/From), so no conversion
// ever pays more than the rate allows; and used, the units given for
// them: ceil(out·From/To), the fewest that are worth out (used ≤ amount;
// what is left of amount stays with its owner). Computed in 128 bits.
//
// Errors: ErrInvalidRequest (amount not positive), ErrTooFewPoints (out
// would be zero), ErrOverflow.
func (r Rate) Convert(amount int64) (used, out int64, err error) {
	if amount <= 0 {
		return 0, 0, fmt.Errorf("%w: %d points to convert", ErrInvalidRequest, amount)
	}
	if r.From < 1 || r.To < 1 {
		return 0, 0, fmt.Errorf("%w: %s %d:%d", ErrInvalidRate, r.Name, r.From, r.To)
	}
	hi, lo := bits.Mul64(uint64(amount), uint64(r.To))
	if hi >= uint64(r.From) {
		return 0, 0, fmt.Errorf("%w: %d points at %s %d:%d", ErrOverflow, amount, r.Name, r.From, r.To)
	}
	q, _ := bits.Div64(hi, lo, uint64(r.From))
	if q > math.MaxInt64 {
		return 0, 0, fmt.Errorf("%w: %d points at %s %d:%d", ErrOverflow, amount, r.Name, r.From, r.To)
	}
	if q == 0 {
		return 0, 0, fmt.Errorf("%w: %d points at %s %d:%d", ErrTooFewPoints, amount, r.Name, r.From, r.To)
	}
	// used = ceil(q·From/To); q·From ≤ amount·To, so it fits as the
	// product above did, and used ≤ amount.
	hi, lo = bits.Mul64(q, uint64(r.From))
	u, rem := bits.Div64(hi, lo, uint64(r.To))
	if rem != 0 {
		u++
	}
	return int64(u), int64(q), nil
}

// CheckNewRate is the rule for setting rate r: its version must be the
// latest plus one (latest is 0 when none is set), or r must equal the
// version stored already (stored, nil when that version does not exist),
// in which case setting it again changes nothing (existing).
//
// Errors: ErrInvalidRate, ErrRateConflict.
func CheckNewRate(r Rate, stored *Rate, latest int) (existing bool, err error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	if stored != nil {
		if stored.From != r.From || stored.To != r.To {
			return false, fmt.Errorf("%w: %s version %d is %d:%d, not %d:%d", ErrRateConflict, r.Name, r.Version,
				stored.From, stored.To, r.From, r.To)
		}
		return true, nil
	}
	if r.Version != latest+1 {
		return false, fmt.Errorf("%w: %s version %d, latest is %d", ErrRateConflict, r.Name, r.Version, latest)
	}
	return false, nil
}
