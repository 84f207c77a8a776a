package redpacket

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"
)

// MaxPasswordBytes is the longest phrase NormalizePassword accepts, in
// bytes of its normalized UTF-8 form.
const MaxPasswordBytes = 256

// MaxPasswordInputBytes is the longest phrase, as typed, that a send or a
// claim may carry: longer input is refused (ErrBadPassword) before it is
// normalized, and before the Service reads the store or asks Members.
const MaxPasswordInputBytes = 4 * MaxPasswordBytes

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
// MaxPasswordBytes; input over MaxPasswordInputBytes is rejected before it
// is normalized, so a huge guess costs nothing.
func NormalizePassword(s string) (string, error) {
	if len(s) > MaxPasswordInputBytes {
		return "", fmt.Errorf("%w: %d bytes before normalizing, at most %d", ErrBadPassword, len(s), MaxPasswordInputBytes)
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
// normalized by NormalizePassword: for two phrases in clear. The Service
// keeps no phrase in clear; it checks claims with PasswordKey.Matches. An invalid phrase or guess never matches.
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

// MinPasswordKeyLen is the shortest secret NewPasswordKey accepts:
// SHA-256's output size, below which a key is weaker than the MAC.
const MinPasswordKeyLen = 32

// PasswordHashLen is the length of a password hash (Packet.PasswordHash).
const PasswordHashLen = sha256.Size

// PasswordKey keys the hashes under which password packets keep their
// phrases: HMAC-SHA256 over the packet's ID and the normalized phrase, so
// that a store (a database, a backup, a dump of a MemoryStore) holds no
// phrase, and whoever reads it cannot test guesses without the key. Two
// packets with one phrase have different hashes.
//
// Every Service that shares a store must use the same key (Config.
// PasswordKey): a bank loads it from its KMS or secret store when a
// service starts and never stores it in the database. It can rotate: a new
// key hashes, the previous ones still match until every packet hashed
// under them has expired (Rules.Expiry after the rotation).
//
// A PasswordKey is safe for concurrent use and never changes.
type PasswordKey struct {
	keys [][]byte // keys[0] hashes; all match
}

// passwordDomain separates these hashes from any other use of the key.
const passwordDomain = "socialpay/redpacket/password/v1\x00"

// NewPasswordKey returns a PasswordKey that hashes with secret and also
// matches hashes made with each of previous (keys being rotated out). It
// copies the secrets.
//
// Errors: ErrInvalidConfig when a secret is shorter than
// MinPasswordKeyLen.
func NewPasswordKey(secret []byte, previous ...[]byte) (*PasswordKey, error) {
	k := &PasswordKey{}
	for i, s := range append([][]byte{secret}, previous...) {
		if len(s) < MinPasswordKeyLen {
			return nil, fmt.Errorf("%w: password key %d: %d bytes, at least %d", ErrInvalidConfig, i, len(s), MinPasswordKeyLen)
		}
		k.keys = append(k.keys, append([]byte(nil), s...))
	}
	return k, nil
}

func passwordMAC(key []byte, packet uuid.UUID, normalized string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(passwordDomain))
	m.Write(packet[:])
	m.Write([]byte(normalized))
	return m.Sum(nil)
}

// Hash returns the hash of packet's phrase (PasswordHashLen bytes) under
// the first key, the phrase normalized first (NormalizePassword).
//
// Errors: ErrBadPassword.
func (k *PasswordKey) Hash(packet uuid.UUID, phrase string) ([]byte, error) {
	p, err := NormalizePassword(phrase)
	if err != nil {
		return nil, err
	}
	return passwordMAC(k.keys[0], packet, p), nil
}

// Matches reports whether guess, normalized, is the phrase of packet whose
// hash is hash under any of the keys. An invalid guess, or a hash of
// another length, never matches. The hashes are compared in constant time
// (hmac.Equal), under every key whatever the earlier ones answered.
func (k *PasswordKey) Matches(packet uuid.UUID, hash []byte, guess string) bool {
	g, err := NormalizePassword(guess)
	if err != nil || len(hash) != PasswordHashLen {
		return false
	}
	ok := false
	for _, key := range k.keys {
		if hmac.Equal(passwordMAC(key, packet, g), hash) {
			ok = true
		}
	}
	return ok
}
