package redpacket

import (
	"github.com/socialpay/socialpay/internal/textform"
	"github.com/socialpay/socialpay/ledger"
)

// How red packets read as JSON and text: kinds, statuses and problem kinds
// as snake_case words, amounts as ledger.Money's {"amount","currency"},
// IDs as strings, times in RFC 3339, and every field under its Go name in
// snake_case (zero optional IDs and times left out). A packet's pre-split
// shares and password hash are in no JSON form. Every form decodes back
// to the same value; an unknown word is an error wrapping
// ledger.ErrInvalidValue, and a value without a word does not encode.

var (
	kindWords    = textform.StringWords(ledger.ErrInvalidValue, "red packet kind", Lucky, Password)
	statusWords  = textform.StringWords(ledger.ErrInvalidValue, "red packet status", StatusFunding, StatusCancelled)
	problemWords = textform.NewWords(ledger.ErrInvalidValue, "red packet problem", ProblemClaimUnpaid,
		"claim_unpaid", "payment_unrecorded", "paid_without_claim", "refund_not_moved", "refund_unrecorded",
		"funding", "amount", "records")
)

// MarshalText encodes k as its word: "lucky", "normal", "exclusive" or
// "password".
func (k Kind) MarshalText() ([]byte, error) { return kindWords.Marshal(k) }

// UnmarshalText decodes a word MarshalText writes.
func (k *Kind) UnmarshalText(text []byte) error { return kindWords.Unmarshal(text, k) }

// MarshalText encodes s as its word: "funding", "open", "sold_out",
// "refunding", "refunded" or "cancelled".
func (s Status) MarshalText() ([]byte, error) { return statusWords.Marshal(s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *Status) UnmarshalText(text []byte) error { return statusWords.Unmarshal(text, s) }

// MarshalText encodes k as its word, the constant's name without
// "Problem": "claim_unpaid", "payment_unrecorded", "paid_without_claim",
// "refund_not_moved", "refund_unrecorded", "funding", "amount" or
// "records".
func (k ProblemKind) MarshalText() ([]byte, error) { return problemWords.Marshal(k) }

// UnmarshalText decodes a word MarshalText writes.
func (k *ProblemKind) UnmarshalText(text []byte) error { return problemWords.Unmarshal(text, k) }
