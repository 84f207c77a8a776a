package ledger

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/socialpay/socialpay/errcode"
)

// MaxKeyLen is the longest idempotency key, in bytes.
const MaxKeyLen = 128

// ErrInvalidKey means an idempotency key is empty, longer than MaxKeyLen
// bytes, not valid UTF-8, or holds a control character (see CheckKey).
// Features wrap it first, before their own invalid-request error, so that
// its code is what errcode.Of reads.
var ErrInvalidKey = errcode.New("invalid_idempotency_key", errcode.Invalid, "ledger: invalid idempotency key")

// CheckKey checks an idempotency key as every feature does before any
// other work: 1 to MaxKeyLen bytes of valid UTF-8 without control
// characters (NUL, tab, newline, DEL and the C1 controls among them) —
// what an HTTP Idempotency-Key header carries, and text every store keeps
// exactly. A key is the client's name for one operation of one party
// (a user, or a merchant for a QR charge): features derive the
// operation's IDs from (namespace, operation, party, key) with DeriveID,
// so the same key of two parties, or of two operations, names two things.
//
// Errors: ErrInvalidKey, saying what is wrong.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	for i := 0; i < len(key); {
		r, size := utf8.DecodeRuneInString(key[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Errorf("%w: not valid UTF-8 at byte %d", ErrInvalidKey, i)
		case unicode.IsControl(r):
			return fmt.Errorf("%w: control character %U at byte %d", ErrInvalidKey, r, i)
		}
		i += size
	}
	return nil
}
