package collect

import (
	"github.com/socialpay/socialpay/internal/textform"
	"github.com/socialpay/socialpay/ledger"
)

// How bills read as JSON and text: statuses as snake_case words, a
// request's total and shares as integers of minor units of its currency,
// amounts held as ledger.Money as {"amount","currency"}, IDs as strings,
// times in RFC 3339, durations in nanoseconds (names ending in "_ns"),
// and every field under its Go name in snake_case (zero optional fields
// left out). Every form decodes back to the same value; an unknown word
// is an error wrapping ledger.ErrInvalidValue, and a value without a word
// does not encode.

var (
	statusWords      = textform.StringWords(ledger.ErrInvalidValue, "request status", StatusOpen, StatusExpired)
	shareStatusWords = textform.StringWords(ledger.ErrInvalidValue, "share status", ShareOwn, ShareDeclined)
)

// MarshalText encodes s as its word: "open", "complete", "closed" or
// "expired".
func (s Status) MarshalText() ([]byte, error) { return statusWords.Marshal(s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *Status) UnmarshalText(text []byte) error { return statusWords.Unmarshal(text, s) }

// MarshalText encodes s as its word: "own", "pending", "paid" or
// "declined".
func (s ShareStatus) MarshalText() ([]byte, error) { return shareStatusWords.Marshal(s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *ShareStatus) UnmarshalText(text []byte) error { return shareStatusWords.Unmarshal(text, s) }
