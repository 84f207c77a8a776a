package qr

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"

	"github.com/socialpay/socialpay/errcode"
)

// Errors of signing and verification.
var (
	// ErrBadSignature: the signature does not match the code; some signed
	// field was edited (even if the CRC was recomputed), or the signature is
	// not well formed.
	ErrBadSignature = errcode.New("bad_signature", errcode.Invalid, "qr: bad signature")
	// ErrUnknownKey: the code names a key ID the key ring does not hold.
	ErrUnknownKey = errcode.New("unknown_key", errcode.Invalid, "qr: unknown key ID")
	// ErrInvalidKey: a key or key ID that cannot be used (empty secret,
	// wrong Ed25519 key size, key ID not 1-16 of A-Z a-z 0-9 . _ -).
	ErrInvalidKey = errcode.New("invalid_key", errcode.Internal, "qr: invalid key")
)

// Signer signs receive codes with one key. A bank can implement it with an
// HSM; Sign must be safe for concurrent use.
type Signer interface {
	// KeyID names the key; it is written into the code so that a KeyRing
	// can find the key that verifies it.
	KeyID() string
	// Sign returns the signature of msg.
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}

// KeyRing verifies signatures by key ID. Verify must be safe for concurrent
// use.
type KeyRing interface {
	// Verify returns nil when sig is keyID's signature of msg.
	// Errors: ErrUnknownKey, ErrBadSignature.
	Verify(ctx context.Context, keyID string, msg, sig []byte) error
}

// Key is a verification key of a Keys ring: exactly one of HMAC (the shared
// secret of an HMAC-SHA256 key) and Ed25519 (a public key) is set.
type Key struct {
	ID      string
	HMAC    []byte
	Ed25519 ed25519.PublicKey
}

// Keys is an in-memory KeyRing. It is immutable once built, so safe for
// concurrent use.
type Keys struct {
	keys map[string]Key
}

var _ KeyRing = (*Keys)(nil)

// MinHMACKeyLen is the shortest HMAC-SHA256 secret a Keys ring or an
// HMACSigner takes: 32 bytes, the hash's size, so that guessing the key
// costs no less than forging a tag.
const MinHMACKeyLen = 32

// NewKeys builds a key ring.
//
// Errors: ErrInvalidKey (bad ID, both or neither key set, wrong size, an
// HMAC secret under MinHMACKeyLen, duplicate ID).
func NewKeys(keys ...Key) (*Keys, error) {
	r := &Keys{keys: make(map[string]Key, len(keys))}
	for _, k := range keys {
		if err := checkKeyID(k.ID); err != nil {
			return nil, err
		}
		switch {
		case (len(k.HMAC) > 0) == (k.Ed25519 != nil):
			return nil, fmt.Errorf("key %q: set one of HMAC and Ed25519: %w", k.ID, ErrInvalidKey)
		case len(k.HMAC) > 0 && len(k.HMAC) < MinHMACKeyLen:
			return nil, fmt.Errorf("key %q: HMAC secret of %d bytes, want at least %d: %w", k.ID, len(k.HMAC), MinHMACKeyLen, ErrInvalidKey)
		case k.Ed25519 != nil && len(k.Ed25519) != ed25519.PublicKeySize:
			return nil, fmt.Errorf("key %q: Ed25519 public key of %d bytes: %w", k.ID, len(k.Ed25519), ErrInvalidKey)
		}
		if _, dup := r.keys[k.ID]; dup {
			return nil, fmt.Errorf("key %q twice: %w", k.ID, ErrInvalidKey)
		}
		r.keys[k.ID] = Key{ID: k.ID, HMAC: append([]byte(nil), k.HMAC...), Ed25519: append(ed25519.PublicKey(nil), k.Ed25519...)}
	}
	return r, nil
}

// Verify implements KeyRing.
func (r *Keys) Verify(_ context.Context, keyID string, msg, sig []byte) error {
	k, ok := r.keys[keyID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	if len(k.HMAC) > 0 {
		if !hmac.Equal(hmacSHA256(k.HMAC, msg), sig) {
			return ErrBadSignature
		}
		return nil
	}
	if !ed25519.Verify(k.Ed25519, msg, sig) {
		return ErrBadSignature
	}
	return nil
}

// HMACSigner signs with HMAC-SHA256 and a shared secret.
type HMACSigner struct {
	id     string
	secret []byte
}

var _ Signer = (*HMACSigner)(nil)

// NewHMACSigner returns a signer for key id.
//
// Errors: ErrInvalidKey (bad ID, secret shorter than MinHMACKeyLen).
func NewHMACSigner(id string, secret []byte) (*HMACSigner, error) {
	if err := checkKeyID(id); err != nil {
		return nil, err
	}
	if len(secret) < MinHMACKeyLen {
		return nil, fmt.Errorf("HMAC secret of %d bytes, want at least %d: %w", len(secret), MinHMACKeyLen, ErrInvalidKey)
	}
	return &HMACSigner{id: id, secret: append([]byte(nil), secret...)}, nil
}

// KeyID implements Signer.
func (s *HMACSigner) KeyID() string { return s.id }

// Sign implements Signer.
func (s *HMACSigner) Sign(_ context.Context, msg []byte) ([]byte, error) {
	return hmacSHA256(s.secret, msg), nil
}

// Ed25519Signer signs with an Ed25519 private key.
type Ed25519Signer struct {
	id  string
	key ed25519.PrivateKey
}

var _ Signer = (*Ed25519Signer)(nil)

// NewEd25519Signer returns a signer for key id.
//
// Errors: ErrInvalidKey (bad ID, wrong key size).
func NewEd25519Signer(id string, key ed25519.PrivateKey) (*Ed25519Signer, error) {
	if err := checkKeyID(id); err != nil {
		return nil, err
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("Ed25519 private key of %d bytes: %w", len(key), ErrInvalidKey)
	}
	return &Ed25519Signer{id: id, key: append(ed25519.PrivateKey(nil), key...)}, nil
}

// KeyID implements Signer.
func (s *Ed25519Signer) KeyID() string { return s.id }

// Sign implements Signer.
func (s *Ed25519Signer) Sign(_ context.Context, msg []byte) ([]byte, error) {
	return ed25519.Sign(s.key, msg), nil
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// checkKeyID: 1-16 characters of A-Z a-z 0-9 . _ -
func checkKeyID(id string) error {
	if len(id) == 0 || len(id) > 16 {
		return fmt.Errorf("key ID %q: 1 to 16 characters: %w", id, ErrInvalidKey)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(isDigit(c) || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("key ID %q: character %q: %w", id, c, ErrInvalidKey)
		}
	}
	return nil
}
