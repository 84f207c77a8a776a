package ledger

import (
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/internal/textform"
)

// How the ledger's values read as JSON and text: currencies as their codes,
// enums as the words their String methods return, hashes in hex, 128-bit
// sums as decimal strings, amounts as Money's {"amount","currency"}, and
// the structs with snake_case names (zero times, IDs and amounts left out).
// Every form decodes back to the same value; an unknown word or code is an
// error wrapping ErrInvalidValue.

// ErrInvalidValue: text that is not one of a type's words or forms.
var ErrInvalidValue = errcode.New("invalid_value", errcode.Invalid, "ledger: invalid value")

// The words of the ledger's enums: what their String methods return.
var (
	transferKindWords   = textform.StringWords(ErrInvalidValue, "transfer kind", KindImmediate, KindReversal)
	transferStatusWords = textform.StringWords(ErrInvalidValue, "transfer status", StatusCommitted, StatusExpired)
	accountStatusWords  = textform.StringWords(ErrInvalidValue, "account status", AccountOpen, AccountClosed)
	entryKindWords      = textform.StringWords(ErrInvalidValue, "entry kind", EntryPosted, EntryClose)
	sideWords           = textform.StringWords(ErrInvalidValue, "side", SideNone, SideCredit)
	accountEventWords   = textform.StringWords(ErrInvalidValue, "account event", EventFreeze, EventClose)
)

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
	if len(text) > textform.MaxWordLen {
		return fmt.Errorf("%w: currency %q", ErrUnknownCurrency, textform.Quote(text))
	}
	v, err := LookupCurrency(string(text))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// MarshalText encodes k as its word ("immediate", "pending", …).
func (k TransferKind) MarshalText() ([]byte, error) { return transferKindWords.Marshal(k) }

// UnmarshalText decodes a word MarshalText writes.
func (k *TransferKind) UnmarshalText(text []byte) error { return transferKindWords.Unmarshal(text, k) }

// MarshalText encodes s as its word ("committed", "pending", …).
func (s TransferStatus) MarshalText() ([]byte, error) { return transferStatusWords.Marshal(s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *TransferStatus) UnmarshalText(text []byte) error {
	return transferStatusWords.Unmarshal(text, s)
}

// MarshalText encodes s as its word ("open", "frozen", "closed").
func (s AccountStatus) MarshalText() ([]byte, error) { return accountStatusWords.Marshal(s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *AccountStatus) UnmarshalText(text []byte) error {
	return accountStatusWords.Unmarshal(text, s)
}

// MarshalText encodes k as its word ("posted", "pending", …).
func (k EntryKind) MarshalText() ([]byte, error) { return entryKindWords.Marshal(k) }

// UnmarshalText decodes a word MarshalText writes.
func (k *EntryKind) UnmarshalText(text []byte) error { return entryKindWords.Unmarshal(text, k) }

// MarshalText encodes s as its word ("none", "debit", "credit").
func (s Side) MarshalText() ([]byte, error) { return sideWords.Marshal(s) }

// UnmarshalText decodes a word MarshalText writes.
func (s *Side) UnmarshalText(text []byte) error { return sideWords.Unmarshal(text, s) }

// MarshalText encodes e as its word ("freeze", "unfreeze", "close").
func (e AccountEvent) MarshalText() ([]byte, error) { return accountEventWords.Marshal(e) }

// UnmarshalText decodes a word MarshalText writes.
func (e *AccountEvent) UnmarshalText(text []byte) error { return accountEventWords.Unmarshal(text, e) }

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
		return fmt.Errorf("%w: account flag %q", ErrInvalidValue, textform.Quote([]byte(name)))
	}
	*f = out
	return nil
}

// MarshalText encodes h in lower-case hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes 64 hex digits.
func (h *Hash) UnmarshalText(text []byte) error {
	return textform.UnmarshalHex(ErrInvalidValue, "hash", h[:], text)
}

// MarshalText encodes u in decimal.
func (u Uint128) MarshalText() ([]byte, error) { return []byte(u.big().String()), nil }

// UnmarshalText decodes a decimal of at most 39 digits below 2¹²⁸.
func (u *Uint128) UnmarshalText(text []byte) error {
	n, ok := new(big.Int).SetString(string(text), 10)
	if len(text) > 39 || !ok || n.Sign() < 0 || n.BitLen() > 128 {
		return fmt.Errorf("%w: 128-bit sum %q", ErrInvalidValue, textform.Quote(text))
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
