package redpacket

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxPasswordBytes is the longest phrase NormalizePassword accepts, in
// bytes of its normalized UTF-8 form.
const MaxPasswordBytes = 256

// NormalizePassword returns the canonical form of a password packet's phrase
// (口令), the form to store when the packet is sent:
//
//   - Unicode NFKC, so full-width letters, digits and punctuation typed with a
//     Chinese input method match their ASCII forms (ｗｉｆｉ８ = wifi8,
//     "，" = ","), and composed and decomposed accents match;
//   - leading and trailing white space removed and every inner run of white
//     space (including the ideographic space U+3000) made one ASCII space.
//
// Case is kept: "Abc" and "abc" are different phrases. It returns
// ErrBadPassword for invalid UTF-8, an empty phrase, or one longer than
// MaxPasswordBytes; input over 4 × MaxPasswordBytes bytes is rejected before
// it is normalized, so a huge guess costs nothing.
func NormalizePassword(s string) (string, error) {
	if len(s) > 4*MaxPasswordBytes {
		return "", fmt.Errorf("%w: %d bytes before normalizing, at most %d", ErrBadPassword, len(s), 4*MaxPasswordBytes)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrBadPassword)
	}
	p := strings.Join(strings.Fields(norm.NFKC.String(s)), " ")
	if p == "" {
		return "", fmt.Errorf("%w: empty", ErrBadPassword)
	}
	if len(p) > MaxPasswordBytes {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrBadPassword, len(p), MaxPasswordBytes)
	}
	return p, nil
}

// PasswordMatches reports whether guess matches phrase once both are
// normalized by NormalizePassword. An invalid phrase or guess never matches.
// The comparison is constant-time over SHA-256 digests of the two normalized
// forms (crypto/subtle): its time does not depend on how long a prefix of the
// guess matches, and comparing fixed-size digests hides whether the lengths
// differ. Normalizing and hashing take time that grows with each input's
// length (and, for normalization, its characters), independently of the
// other input.
func PasswordMatches(phrase, guess string) bool {
	p, err1 := NormalizePassword(phrase)
	g, err2 := NormalizePassword(guess)
	if err1 != nil || err2 != nil {
		return false
	}
	hp, hg := sha256.Sum256([]byte(p)), sha256.Sum256([]byte(g))
	return subtle.ConstantTimeCompare(hp[:], hg[:]) == 1
}
