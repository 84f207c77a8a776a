package qr

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/socialpay/socialpay/errcode"
)

// ErrUnwrap: a wrapped device secret does not open under the key that
// wrapped it (edited, or moved from another device's record).
var ErrUnwrap = errcode.New("unwrap_failed", errcode.Internal, "qr: wrapped device secret does not open")

// KeyWrapper encrypts device secrets under a key-encryption key it keeps:
// a KMS or HSM key in production, LocalKeyWrapper in tests and
// development. The stores keep only what Wrap returns, so reading the
// database does not give a device's secret. aad binds a wrapped secret to
// its device: Unwrap with other aad fails. Both must be safe for
// concurrent use; Unwrap runs on every charge, so a remote implementation
// should keep unwrapped secrets briefly in memory.
type KeyWrapper interface {
	// Wrap returns secret encrypted and authenticated with aad.
	Wrap(ctx context.Context, secret, aad []byte) ([]byte, error)
	// Unwrap returns the secret that Wrap wrapped with the same aad.
	// Errors: ErrUnknownKey (wrapped under another key), ErrUnwrap.
	Unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error)
}

// LocalKeyWrapper wraps with AES-256-GCM under a key held in the process.
// The output is a version byte, the first 8 bytes of the key's SHA-256 (so
// that a rotated key is recognised), a 12-byte random nonce and the
// sealed secret.
type LocalKeyWrapper struct {
	aead cipher.AEAD
	id   [8]byte
	rand io.Reader
}

var _ KeyWrapper = (*LocalKeyWrapper)(nil)

const wrapVersion = 1

// NewLocalKeyWrapper returns a wrapper under kek (32 bytes); random makes
// the nonces (nil: crypto/rand).
//
// Errors: ErrInvalidKey.
func NewLocalKeyWrapper(kek []byte, random io.Reader) (*LocalKeyWrapper, error) {
	if len(kek) != 32 {
		return nil, fmt.Errorf("qr: key-encryption key of %d bytes, want 32: %w", len(kek), ErrInvalidKey)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("qr: key-encryption key: %v: %w", err, ErrInvalidKey)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("qr: key-encryption key: %v: %w", err, ErrInvalidKey)
	}
	if random == nil {
		random = rand.Reader
	}
	w := &LocalKeyWrapper{aead: aead, rand: random}
	sum := sha256.Sum256(append([]byte("socialpay/qr/kek\x00"), kek...))
	copy(w.id[:], sum[:])
	return w, nil
}

// Wrap implements KeyWrapper.
func (w *LocalKeyWrapper) Wrap(_ context.Context, secret, aad []byte) ([]byte, error) {
	out := make([]byte, 1+len(w.id), 1+len(w.id)+w.aead.NonceSize()+len(secret)+w.aead.Overhead())
	out[0] = wrapVersion
	copy(out[1:], w.id[:])
	nonce := out[len(out) : len(out)+w.aead.NonceSize()]
	if _, err := io.ReadFull(w.rand, nonce); err != nil {
		return nil, fmt.Errorf("qr: wrapping nonce: %w", err)
	}
	out = out[:len(out)+len(nonce)]
	return w.aead.Seal(out, nonce, secret, aad), nil
}

// Unwrap implements KeyWrapper.
func (w *LocalKeyWrapper) Unwrap(_ context.Context, wrapped, aad []byte) ([]byte, error) {
	head := 1 + len(w.id)
	switch {
	case len(wrapped) < head+w.aead.NonceSize()+w.aead.Overhead() || wrapped[0] != wrapVersion:
		return nil, ErrUnwrap
	case [8]byte(wrapped[1:head]) != w.id:
		return nil, ErrUnknownKey
	}
	nonce := wrapped[head : head+w.aead.NonceSize()]
	secret, err := w.aead.Open(nil, nonce, wrapped[head+len(nonce):], aad)
	if err != nil {
		return nil, ErrUnwrap
	}
	return secret, nil
}

// secretAAD binds a wrapped secret to its device: ID, account and serial.
func secretAAD(d *Device) []byte {
	b := make([]byte, 0, 32+len(d.ID)+16+8)
	b = append(b, "socialpay/qr/device-secret\x00"...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(d.ID)))
	b = append(b, d.ID...)
	b = append(b, d.Account[:]...)
	return binary.BigEndian.AppendUint64(b, d.Serial)
}

// wrapDevice returns d with its secret wrapped, as the store keeps it.
func (s *Service) wrapDevice(ctx context.Context, d Device) (Device, error) {
	w, err := s.keys.Wrap(ctx, d.Secret, secretAAD(&d))
	if err != nil {
		return Device{}, err
	}
	d.Secret = w
	return d, nil
}

// unwrapDevice returns the stored d with its secret in clear.
func (s *Service) unwrapDevice(ctx context.Context, d Device) (Device, error) {
	secret, err := s.keys.Unwrap(ctx, d.Secret, secretAAD(&d))
	if err != nil {
		return Device{}, fmt.Errorf("qr: device %q: %w", d.ID, err)
	}
	d.Secret = secret
	return d, nil
}
