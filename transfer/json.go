package transfer

import (
	"fmt"
	"time"

	"github.com/socialpay/socialpay/internal/textform"
	"github.com/socialpay/socialpay/ledger"
)

// How transfers read as JSON and text: arrivals, states, match results,
// challenges and indexes as snake_case words, days as "2006-01-02",
// amounts as ledger.Money's {"amount","currency"}, IDs as strings, times in
// RFC 3339, and every field under its Go name in snake_case (zero optional
// fields left out). A record's request fingerprint is in no JSON form.
// Every form decodes back to the same value; an unknown word is an error
// wrapping ledger.ErrInvalidValue, and a value without a word does not
// encode.

var (
	arrivalWords   = textform.StringWords(ledger.ErrInvalidValue, "arrival", ArriveNow, ArriveOnAccept)
	stateWords     = textform.StringWords(ledger.ErrInvalidValue, "transfer state", StatePending, StateFailing)
	matchWords     = textform.StringWords(ledger.ErrInvalidValue, "match result", NoMatch, Match)
	challengeWords = textform.StringWords(ledger.ErrInvalidValue, "challenge", FullName, FirstCharacter)
	indexWords     = textform.NewWords(ledger.ErrInvalidValue, "index", IndexCreated, "created", "releases", "chats", "all")
)

// MarshalText encodes a as its word: "now", "2h", "24h" or "on_accept".
func (a Arrival) MarshalText() ([]byte, error) { return arrivalWords.Marshal(a) }

// UnmarshalText decodes a word MarshalText writes.
func (a *Arrival) UnmarshalText(text []byte) error { return arrivalWords.Unmarshal(text, a) }

// MarshalText encodes s as its word: "pending", "settled", "cancelled",
// "failed" or "failing".
func (s State) MarshalText() ([]byte, error) { return stateWords.Marshal(s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *State) UnmarshalText(text []byte) error { return stateWords.Unmarshal(text, s) }

// MarshalText encodes m as its word: "no_match", "close_match" or "match".
func (m MatchResult) MarshalText() ([]byte, error) { return matchWords.Marshal(m) }

// UnmarshalText decodes a word MarshalText writes.
func (m *MatchResult) UnmarshalText(text []byte) error { return matchWords.Unmarshal(text, m) }

// MarshalText encodes c as its word: "full_name", "surname" or
// "first_character".
func (c Challenge) MarshalText() ([]byte, error) { return challengeWords.Marshal(c) }

// UnmarshalText decodes a word MarshalText writes.
func (c *Challenge) UnmarshalText(text []byte) error { return challengeWords.Unmarshal(text, c) }

// MarshalText encodes i as its word, the constant's name without "Index":
// "created", "releases", "chats" or "all".
func (i Index) MarshalText() ([]byte, error) { return indexWords.Marshal(i) }

// UnmarshalText decodes a word MarshalText writes.
func (i *Index) UnmarshalText(text []byte) error { return indexWords.Unmarshal(text, i) }

// Days that encode: the years 0000 to 9999, which "2006-01-02" holds.
var (
	minDay = DayOf(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	maxDay = DayOf(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), time.UTC)
)

// MarshalText encodes d as its date, "2006-01-02"; a day outside the
// years 0000-9999 does not encode.
func (d Day) MarshalText() ([]byte, error) {
	if d < minDay || d > maxDay {
		return nil, fmt.Errorf("%w: day %d is outside the years 0000-9999", ledger.ErrInvalidValue, int32(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes a date MarshalText writes.
func (d *Day) UnmarshalText(text []byte) error {
	t, err := time.Parse(time.DateOnly, string(text))
	if err != nil || len(text) != len(time.DateOnly) {
		return fmt.Errorf("%w: day %q, want 2006-01-02", ledger.ErrInvalidValue, textform.Quote(text))
	}
	*d = DayOf(t, time.UTC)
	return nil
}
