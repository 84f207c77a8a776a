package cell

import (
	"github.com/socialpay/socialpay/internal/textform"
	"github.com/socialpay/socialpay/ledger"
)

// How payments read as JSON and text: states as snake_case words, amounts
// as ledger.Money ({"amount","currency"}), IDs as strings, times in RFC
// 3339, every field under its Go name in snake_case (zero optional fields
// left out). An unknown word is an error wrapping ledger.ErrInvalidValue.

var stateWords = textform.StringWords(ledger.ErrInvalidValue, "payment state", StateOpen, StateReversed)

// MarshalText encodes s as its word: "open", "completed", "failed" or
// "reversed".
func (s State) MarshalText() ([]byte, error) { return stateWords.Marshal(s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *State) UnmarshalText(text []byte) error { return stateWords.Unmarshal(text, s) }
