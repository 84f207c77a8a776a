package ledger

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/socialpay/socialpay/errcode"
)

// How the ledger's values read as JSON and text: currencies as their codes,
// enums as the words their String methods return, hashes in hex, 128-bit
// sums as decimal strings, amounts as Money's {"amount","currency"}, and
// the structs with snake_case names (zero times, IDs and amounts left out).
// Every form decodes back to the same value; an unknown word or code is an
// error wrapping ErrInvalidValue.

// ErrInvalidValue: text that is not one of a type's words or forms.
var ErrInvalidValue = errcode.New("invalid_value", errcode.Invalid, "ledger: invalid value")

// maxWordLen bounds the text of an enum word or currency code.
const maxWordLen = 32

// parseWord returns the value among 0…last whose String is text.
func parseWord[T interface {
	~uint8
	String() string
}](what string, text []byte, first, last T) (T, error) {
	if len(text) <= maxWordLen {
		for v := first; v <= last; v++ {
			if v.String() == string(text) {
				return v, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: %s %q", ErrInvalidValue, what, truncate(text))
}

// word returns v's word, or ErrInvalidValue for a value that has none
// (its String says "unknown"), which would not decode back.
func word[T interface {
	~uint8
	String() string
}](what string, v T) ([]byte, error) {
	w := v.String()
	if w == "unknown" {
		return nil, fmt.Errorf("%w: %s %d has no word", ErrInvalidValue, what, uint8(v))
	}
	return []byte(w), nil
}

func truncate(b []byte) string {
	if len(b) > maxWordLen {
		return string(b[:maxWordLen]) + "…"
	}
	return string(b)
}

// MarshalText encodes c as its ISO 4217 code ("" for the zero Currency).
func (c Currency) MarshalText() ([]byte, error) {
	if c.IsZero() {
		return []byte{}, nil
	}
	return []byte(c.Code()), nil
}

// UnmarshalText decodes a currency code; "" is the zero Currency.
func (c *Currency) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*c = Currency{}
		return nil
	}
	if len(text) > maxWordLen {
		return fmt.Errorf("%w: currency %q", ErrUnknownCurrency, truncate(text))
	}
	v, err := LookupCurrency(string(text))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// MarshalText encodes k as its word ("immediate", "pending", …).
func (k TransferKind) MarshalText() ([]byte, error) { return word("transfer kind", k) }

// UnmarshalText decodes a word MarshalText writes.
func (k *TransferKind) UnmarshalText(text []byte) (err error) {
	*k, err = parseWord("transfer kind", text, KindImmediate, KindReversal)
	return err
}

// MarshalText encodes s as its word ("committed", "pending", …).
func (s TransferStatus) MarshalText() ([]byte, error) { return word("transfer status", s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *TransferStatus) UnmarshalText(text []byte) (err error) {
	*s, err = parseWord("transfer status", text, StatusCommitted, StatusExpired)
	return err
}

// MarshalText encodes s as its word ("open", "frozen", "closed").
func (s AccountStatus) MarshalText() ([]byte, error) { return word("account status", s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *AccountStatus) UnmarshalText(text []byte) (err error) {
	*s, err = parseWord("account status", text, AccountOpen, AccountClosed)
	return err
}

// MarshalText encodes k as its word ("posted", "pending", …).
func (k EntryKind) MarshalText() ([]byte, error) { return word("entry kind", k) }

// UnmarshalText decodes a word MarshalText writes.
func (k *EntryKind) UnmarshalText(text []byte) (err error) {
	*k, err = parseWord("entry kind", text, EntryPosted, EntryClose)
	return err
}

// MarshalText encodes s as its word ("none", "debit", "credit").
func (s Side) MarshalText() ([]byte, error) { return word("side", s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *Side) UnmarshalText(text []byte) (err error) {
	*s, err = parseWord("side", text, SideNone, SideCredit)
	return err
}

// flagNames are the words of the account flags, in bit order.
var flagNames = [...]struct {
	flag AccountFlags
	name string
}{{DebitsMustNotExceedCredits, "debits_must_not_exceed_credits"}, {CreditsMustNotExceedDebits, "credits_must_not_exceed_debits"}}

// MarshalJSON encodes f as the list of its flags' words.
func (f AccountFlags) MarshalJSON() ([]byte, error) {
	names := []string{}
	for _, n := range flagNames {
		if f.Has(n.flag) {
			names = append(names, n.name)
		}
	}
	if f&^knownAccountFlags != 0 {
		return nil, fmt.Errorf("%w: account flags %#x", ErrInvalidValue, uint16(f))
	}
	return json.Marshal(names)
}

// UnmarshalJSON decodes what MarshalJSON writes.
func (f *AccountFlags) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil || len(names) > len(flagNames) {
		return fmt.Errorf("%w: account flags: want a list of words", ErrInvalidValue)
	}
	var out AccountFlags
next:
	for _, name := range names {
		for _, n := range flagNames {
			if n.name == name {
				out |= n.flag
				continue next
			}
		}
		return fmt.Errorf("%w: account flag %q", ErrInvalidValue, truncate([]byte(name)))
	}
	*f = out
	return nil
}

// MarshalText encodes h in lower-case hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes 64 hex digits.
func (h *Hash) UnmarshalText(text []byte) error {
	if len(text) != 2*len(h) {
		return fmt.Errorf("%w: hash of %d characters, want %d", ErrInvalidValue, len(text), 2*len(h))
	}
	if _, err := hex.Decode(h[:], text); err != nil {
		return fmt.Errorf("%w: hash: %v", ErrInvalidValue, err)
	}
	return nil
}

// MarshalText encodes u in decimal.
func (u Uint128) MarshalText() ([]byte, error) { return []byte(u.big().String()), nil }

// UnmarshalText decodes a decimal of at most 39 digits below 2¹²⁸.
func (u *Uint128) UnmarshalText(text []byte) error {
	n, ok := new(big.Int).SetString(string(text), 10)
	if len(text) > 39 || !ok || n.Sign() < 0 || n.BitLen() > 128 {
		return fmt.Errorf("%w: 128-bit sum %q", ErrInvalidValue, truncate(text))
	}
	lo := new(big.Int).And(n, new(big.Int).SetUint64(^uint64(0)))
	*u = Uint128{Hi: new(big.Int).Rsh(n, 64).Uint64(), Lo: lo.Uint64()}
	return nil
}

func (u Uint128) big() *big.Int {
	n := new(big.Int).SetUint64(u.Hi)
	return n.Lsh(n, 64).Or(n, new(big.Int).SetUint64(u.Lo))
}

// resultJSON is Result's JSON form: the error as its message.
type resultJSON struct {
	Transfer  *Transfer `json:"transfer,omitempty"`
	Duplicate bool      `json:"duplicate,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// MarshalJSON encodes r as {"transfer":…,"duplicate":true} or
// {"error":"…"}; a Result does not decode back (its error is a message).
func (r Result) MarshalJSON() ([]byte, error) {
	if r.Err != nil {
		return json.Marshal(resultJSON{Error: r.Err.Error()})
	}
	return json.Marshal(resultJSON{Transfer: &r.Transfer, Duplicate: r.Duplicate})
}
