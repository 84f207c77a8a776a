package qr

import (
	"github.com/socialpay/socialpay/internal/textform"
	"github.com/socialpay/socialpay/ledger"
)

// How QR payments read as JSON and text: initiations, problem kinds, try
// outcomes and error-correction levels as snake_case words, schemes as
// their names, data object IDs as numbers, amounts as ledger.Money's
// {"amount","currency"}, IDs as strings, times in RFC 3339, and every
// field under its Go name in snake_case (zero optional fields left out).
// Every form decodes back to the same value; an unknown word is an error
// wrapping ledger.ErrInvalidValue, and a value without a word does not
// encode. A Device's JSON form carries its secret (base64), for the
// payer's phone only.

var (
	initiationWords = textform.StringWords(ledger.ErrInvalidValue, "initiation", InitiationUnknown, Dynamic)
	problemWords    = textform.NewWords(ledger.ErrInvalidValue, "qr problem", ProblemUnsettled,
		"unsettled", "dead", "settled_unpaid", "terms", "cap_total")
	outcomeWords = textform.NewWords(ledger.ErrInvalidValue, "try outcome", TryAllowed,
		"allowed", "failed", "merchant_refused", "locked")
	levelWords = textform.NewWords(ledger.ErrInvalidValue, "error-correction level", LevelM,
		"medium", "low", "quartile", "high")
)

// MarshalText encodes i as its word: "unknown", "static" or "dynamic".
func (i Initiation) MarshalText() ([]byte, error) { return initiationWords.Marshal(i) }

// UnmarshalText decodes a word MarshalText writes.
func (i *Initiation) UnmarshalText(text []byte) error { return initiationWords.Unmarshal(text, i) }

// MarshalText encodes k as its word, the constant's name without
// "Problem": "unsettled", "dead", "settled_unpaid", "terms" or
// "cap_total".
func (k ProblemKind) MarshalText() ([]byte, error) { return problemWords.Marshal(k) }

// UnmarshalText decodes a word MarshalText writes.
func (k *ProblemKind) UnmarshalText(text []byte) error { return problemWords.Unmarshal(text, k) }

// MarshalText encodes o as its word, the constant's name without "Try":
// "allowed", "failed", "merchant_refused" or "locked".
func (o TryOutcome) MarshalText() ([]byte, error) { return outcomeWords.Marshal(o) }

// UnmarshalText decodes a word MarshalText writes.
func (o *TryOutcome) UnmarshalText(text []byte) error { return outcomeWords.Unmarshal(text, o) }

// MarshalText encodes l as its name in the QR standard: "low", "medium",
// "quartile" or "high".
func (l Level) MarshalText() ([]byte, error) { return levelWords.Marshal(l) }

// UnmarshalText decodes a word MarshalText writes.
func (l *Level) UnmarshalText(text []byte) error { return levelWords.Unmarshal(text, l) }
