// Package textform is the text form the project's small value types share
// in JSON and text (encoding.TextMarshaler): an enum's values as
// snake_case words, fixed-size byte strings in hex. The ledger and every
// feature package build their MarshalText and UnmarshalText on it, so
// every enum refuses a value without a word and an unknown word the same
// way, with the sentinel error its package names (ledger.ErrInvalidValue).
//
// The test of this package checks the JSON form of every exported type of
// the ledger and the feature packages: every enum value has a word, every
// struct field a snake_case JSON name, and every value comes back as it
// went.
package textform

import (
	"encoding/hex"
	"fmt"
)

// MaxWordLen bounds the text of a word: longer text is refused before it
// is compared with anything, and quoted cut to this length.
const MaxWordLen = 32

// Enum is the underlying type of an enum.
type Enum interface{ ~uint8 | ~int }

// Words is the text form of an enum whose values are consecutive: the
// value first+i reads as words[i]. The zero Words has no words.
type Words[T Enum] struct {
	invalid error
	what    string
	first   T
	words   []string
}

// NewWords returns the words of the values first, first+1, …; errors
// wrap invalid and name the type as what ("red packet kind").
func NewWords[T Enum](invalid error, what string, first T, words ...string) Words[T] {
	return Words[T]{invalid: invalid, what: what, first: first, words: words}
}

// StringWords returns the words of the values first…last as their String
// methods write them.
func StringWords[T interface {
	Enum
	String() string
}](invalid error, what string, first, last T) Words[T] {
	w := Words[T]{invalid: invalid, what: what, first: first}
	for i := range int(last) - int(first) + 1 {
		w.words = append(w.words, (first + T(i)).String())
	}
	return w
}

// Marshal returns v's word, or an error wrapping the invalid error for a
// value that has none (it could not be read back).
func (w Words[T]) Marshal(v T) ([]byte, error) {
	if i := int(v) - int(w.first); i >= 0 && i < len(w.words) {
		return []byte(w.words[i]), nil
	}
	return nil, fmt.Errorf("%w: %s %d has no word", w.invalid, w.what, int(v))
}

// Unmarshal sets *v to the value whose word is text; for any other text it
// returns an error wrapping the invalid error and leaves *v alone.
func (w Words[T]) Unmarshal(text []byte, v *T) error {
	if len(text) <= MaxWordLen {
		for i, word := range w.words {
			if word == string(text) {
				*v = w.first + T(i)
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %s %q", w.invalid, w.what, Quote(text))
}

// UnmarshalHex decodes text, exactly 2·len(dst) hex digits, into dst; any
// other text is an error wrapping invalid and leaves dst alone.
func UnmarshalHex(invalid error, what string, dst, text []byte) error {
	if len(text) != 2*len(dst) {
		return fmt.Errorf("%w: %s of %d characters, want %d", invalid, what, len(text), 2*len(dst))
	}
	out := make([]byte, len(dst))
	if _, err := hex.Decode(out, text); err != nil {
		return fmt.Errorf("%w: %s: %v", invalid, what, err)
	}
	copy(dst, out)
	return nil
}

// Quote returns text for an error message: cut to MaxWordLen bytes with an
// ellipsis, so that a long input does not make a long message.
func Quote(text []byte) string {
	if len(text) > MaxWordLen {
		return string(text[:MaxWordLen]) + "…"
	}
	return string(text)
}
