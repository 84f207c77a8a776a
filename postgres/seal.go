package postgres

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/socialpay/socialpay/ledger"
)

// A Sealer seals the ledger's entries with a key the database never holds,
// so that someone who can write the tables (the service's own role, a
// leaked password, an insider) cannot add history that Verify accepts:
// SHA-256 chain hashes can be recomputed by anyone, seals only with the
// key. Set one in Config.Sealer. It is called on every commit that writes
// entries, for each entry, so it must be fast and local: a KMS or HSM
// backs it by unwrapping the keys when the service starts (envelope
// encryption), not by a call per entry.
type Sealer interface {
	// Seal returns the seal of msg and the ID of the key that made it.
	Seal(msg []byte) (keyID int16, seal []byte)
	// Check reports whether seal is msg's seal under key keyID; false for
	// a key it does not know.
	Check(keyID int16, msg, seal []byte) bool
}

// SealKey is one HMAC-SHA256 key of an HMACSealer: an ID stored beside
// each seal (1 to 32767) and a secret of at least MinSealKeyLen bytes.
type SealKey struct {
	ID     int16
	Secret []byte
}

// MinSealKeyLen is the shortest secret NewHMACSealer accepts: SHA-256's
// output size, below which a key is weaker than the MAC.
const MinSealKeyLen = 32

// HMACSealer seals with HMAC-SHA256 under the first of its keys and checks
// seals under any of them, so keys can rotate: put the new key first and
// keep the old ones while entries sealed with them exist.
type HMACSealer struct {
	keys []SealKey
}

var _ Sealer = (*HMACSealer)(nil)

// NewHMACSealer returns a sealer with keys, the first sealing.
//
// Errors: ErrInvalidConfig when there is no key, an ID is outside 1–32767
// or repeated, or a secret is shorter than MinSealKeyLen.
func NewHMACSealer(keys ...SealKey) (*HMACSealer, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: seal keys: none given", ErrInvalidConfig)
	}
	seen := make(map[int16]bool, len(keys))
	out := &HMACSealer{}
	for _, k := range keys {
		switch {
		case k.ID < 1:
			return nil, fmt.Errorf("%w: seal key ID %d: want 1 to 32767", ErrInvalidConfig, k.ID)
		case seen[k.ID]:
			return nil, fmt.Errorf("%w: seal key ID %d given twice", ErrInvalidConfig, k.ID)
		case len(k.Secret) < MinSealKeyLen:
			return nil, fmt.Errorf("%w: seal key %d: %d bytes, want at least %d", ErrInvalidConfig, k.ID, len(k.Secret), MinSealKeyLen)
		}
		seen[k.ID] = true
		out.keys = append(out.keys, SealKey{ID: k.ID, Secret: append([]byte(nil), k.Secret...)})
	}
	return out, nil
}

// Seal implements Sealer.
func (s *HMACSealer) Seal(msg []byte) (int16, []byte) {
	k := s.keys[0]
	return k.ID, mac(k.Secret, msg)
}

// Check implements Sealer.
func (s *HMACSealer) Check(keyID int16, msg, seal []byte) bool {
	for _, k := range s.keys {
		if k.ID == keyID {
			return hmac.Equal(mac(k.Secret, msg), seal)
		}
	}
	return false
}

func mac(secret, msg []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(msg)
	return h.Sum(nil)
}

// sealMessage is what an entry's seal covers: its account, its number and
// its chain hash, which commits to every other field and to the entries
// before it.
func sealMessage(e *ledger.Entry) []byte {
	var buf [len("socialpay/entry-seal/v1") + 16 + 8 + 32]byte
	n := copy(buf[:], "socialpay/entry-seal/v1")
	n += copy(buf[n:], e.AccountID[:])
	binary.BigEndian.PutUint64(buf[n:], e.Seq)
	copy(buf[n+8:], e.Hash[:])
	return buf[:]
}
