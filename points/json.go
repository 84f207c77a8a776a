package points

import (
	"fmt"
	"time"

	"github.com/socialpay/socialpay/internal/textform"
	"github.com/socialpay/socialpay/ledger"
)

// How points read as JSON and text: operation kinds, statuses and rule
// kinds as snake_case words, months as "2006-01", points as integers,
// amounts as ledger.Money's {"amount","currency"}, IDs as strings, times in
// RFC 3339, and every field under its Go name in snake_case (zero optional
// fields left out). Every form decodes back to the same value; an unknown
// word is an error wrapping ledger.ErrInvalidValue, and a value without a
// word does not encode.

var (
	kindWords     = textform.StringWords(ledger.ErrInvalidValue, "points operation kind", KindEarn, KindExpire)
	statusWords   = textform.StringWords(ledger.ErrInvalidValue, "points operation status", StatusPending, StatusFailed)
	ruleKindWords = textform.NewWords(ledger.ErrInvalidValue, "earn rule kind", Fixed, "fixed", "per_amount")
)

// MarshalText encodes k as its word: "earn", "redeem", "exchange_out",
// "exchange_in" or "expire".
func (k Kind) MarshalText() ([]byte, error) { return kindWords.Marshal(k) }

// UnmarshalText decodes a word MarshalText writes.
func (k *Kind) UnmarshalText(text []byte) error { return kindWords.Unmarshal(text, k) }

// MarshalText encodes s as its word: "pending", "posted" or "failed".
func (s Status) MarshalText() ([]byte, error) { return statusWords.Marshal(s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *Status) UnmarshalText(text []byte) error { return statusWords.Unmarshal(text, s) }

// MarshalText encodes k as its word: "fixed" or "per_amount".
func (k RuleKind) MarshalText() ([]byte, error) { return ruleKindWords.Marshal(k) }

// UnmarshalText decodes a word MarshalText writes.
func (k *RuleKind) UnmarshalText(text []byte) error { return ruleKindWords.Unmarshal(text, k) }

// maxMonth is December 9999, the last month "2006-01" holds.
const maxMonth = Month(9999*12 + 11)

// MarshalText encodes m as "2006-01"; a month outside the years 0000-9999
// does not encode.
func (m Month) MarshalText() ([]byte, error) {
	if m < 0 || m > maxMonth {
		return nil, fmt.Errorf("%w: month %d is outside the years 0000-9999", ledger.ErrInvalidValue, int32(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText decodes a month MarshalText writes.
func (m *Month) UnmarshalText(text []byte) error {
	t, err := time.Parse("2006-01", string(text))
	if err != nil || len(text) != len("2006-01") {
		return fmt.Errorf("%w: month %q, want 2006-01", ledger.ErrInvalidValue, textform.Quote(text))
	}
	*m = MonthOf(t, time.UTC)
	return nil
}
