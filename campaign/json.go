package campaign

import (
	"github.com/socialpay/socialpay/internal/textform"
	"github.com/socialpay/socialpay/ledger"
)

// How campaigns read as JSON and text: statuses as snake_case words, seeds
// and commitments in lower-case hex, amounts as ledger.Money's
// {"amount","currency"} or, where a campaign holds them as int64, as
// integers of minor units of the campaign's currency, IDs as strings,
// times in RFC 3339, durations in nanoseconds (names ending in "_ns"), and
// every field under its Go name in snake_case. A campaign's seed is left
// out while it is zero (Service.Campaign zeroes it until the sweep); its
// draw is in no JSON form (NewDraw recomputes it). Every form decodes back
// to the same value; an unknown word is an error wrapping
// ledger.ErrInvalidValue, and a value without a word does not encode.

var statusWords = textform.StringWords(ledger.ErrInvalidValue, "campaign status", StatusFunding, StatusCancelled)

// MarshalText encodes s as its word: "funding", "open", "sweeping",
// "swept" or "cancelled".
func (s Status) MarshalText() ([]byte, error) { return statusWords.Marshal(s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *Status) UnmarshalText(text []byte) error { return statusWords.Unmarshal(text, s) }

// MarshalText encodes s in lower-case hex.
func (s Seed) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes 64 hex digits.
func (s *Seed) UnmarshalText(text []byte) error {
	return textform.UnmarshalHex(ledger.ErrInvalidValue, "seed", s[:], text)
}

// MarshalText encodes c in lower-case hex.
func (c Commitment) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText decodes 64 hex digits.
func (c *Commitment) UnmarshalText(text []byte) error {
	return textform.UnmarshalHex(ledger.ErrInvalidValue, "commitment", c[:], text)
}
