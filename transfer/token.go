package transfer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
)

// Errors of lookup tokens.
var (
	// ErrInvalidToken means a lookup token is garbled, forged, or was
	// issued to another payer (or by a service with another key).
	ErrInvalidToken = errcode.New("invalid_token", errcode.Invalid, "transfer: invalid lookup token")
	// ErrTokenExpired means a lookup token is past its life: resolve the
	// number again.
	ErrTokenExpired = errcode.New("token_expired", errcode.Conflict, "transfer: lookup token expired")
	// ErrStaleToken means the number's binding changed (another holder or
	// account) after the lookup: the payer must look it up again and see
	// who they pay now.
	ErrStaleToken = errcode.New("stale_token", errcode.Conflict, "transfer: number's binding changed since the lookup")
)

// MinTokenKeyLen is the shortest key Config.TokenKey accepts, in bytes.
const MinTokenKeyLen = 32

// A lookup token is self-contained and MAC'd, so nothing is stored per
// lookup:
//
//	version (1) | expires, Unix ms (8) | lookup ID (16) | payee fingerprint (8) |
//	phone length (1) | phone (E.164) | tag (16)
//
// encoded base64url without padding (about 85 characters). The tag is the
// first 16 bytes of HMAC-SHA256 under the service's key over a domain
// label, the payer's ID and everything before the tag, so a token is
// unforgeable and works only for the payer it was issued to. It carries no
// name and no account: the payee fingerprint (FNV-1a of institution,
// holder and account) only lets Send notice that the binding changed. The
// phone number in it is the one the payer typed.
const (
	tokenVersion = 1
	tokenTagLen  = 16
	tokenFixed   = 1 + 8 + 16 + 8 + 1
	tokenLabel   = "socialpay/transfer/lookup-token/v1\x00"
)

// tokenEncoding is base64url without padding, strict: a token has one
// spelling (the unused bits of the last character must be zero).
var tokenEncoding = base64.RawURLEncoding.Strict()

type lookupToken struct {
	ID          uuid.UUID // unique per lookup: a token pays once
	Expires     time.Time
	Fingerprint uint64
	Phone       Phone
}

// tokenCodec seals and opens lookup tokens under one key.
type tokenCodec struct {
	macs sync.Pool // of *macState
}

// macState is an HMAC-SHA256 under the key with room for its input and
// output, reused through the pool so that tagging allocates nothing.
type macState struct {
	h   hash.Hash
	in  []byte
	sum [sha256.Size]byte
}

func newTokenCodec(key []byte) *tokenCodec {
	key = append([]byte(nil), key...)
	c := &tokenCodec{}
	c.macs.New = func() any { return &macState{h: hmac.New(sha256.New, key), in: make([]byte, 0, 256)} }
	return c
}

// tag returns the first tokenTagLen bytes of the MAC of body for payer.
func (c *tokenCodec) tag(payer uuid.UUID, body []byte) [tokenTagLen]byte {
	m := c.macs.Get().(*macState)
	in := append(m.in[:0], tokenLabel...)
	in = append(in, payer[:]...)
	in = append(in, body...)
	m.h.Reset()
	m.h.Write(in)
	var out [tokenTagLen]byte
	copy(out[:], m.h.Sum(m.sum[:0]))
	if cap(in) <= 1024 {
		m.in = in
	}
	c.macs.Put(m)
	return out
}

// seal returns t as a token for payer.
func (c *tokenCodec) seal(payer uuid.UUID, t lookupToken) string {
	var buf [tokenFixed + maxE164Digits + 1 + tokenTagLen]byte
	b := append(buf[:0], tokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(t.Expires.UnixMilli()))
	b = append(b, t.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, t.Fingerprint)
	b = append(b, byte(len(t.Phone)))
	b = append(b, t.Phone...)
	tag := c.tag(payer, b)
	b = append(b, tag[:]...)
	return tokenEncoding.EncodeToString(b)
}

// open checks a token's tag for payer and its expiry at now.
//
// Errors: ErrInvalidToken, ErrTokenExpired.
func (c *tokenCodec) open(payer uuid.UUID, s string, now time.Time) (lookupToken, error) {
	var t lookupToken
	var buf [tokenFixed + maxE164Digits + 1 + tokenTagLen]byte
	if tokenEncoding.DecodedLen(len(s)) > len(buf) {
		return t, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	// The decoder skips line breaks; a token has none (one spelling).
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return t, fmt.Errorf("%w: not base64url", ErrInvalidToken)
		}
	}
	n, err := tokenEncoding.Decode(buf[:], []byte(s))
	if err != nil {
		return t, fmt.Errorf("%w: not base64url", ErrInvalidToken)
	}
	b := buf[:n]
	if len(b) < tokenFixed+tokenTagLen || b[0] != tokenVersion || int(b[tokenFixed-1]) != len(b)-tokenFixed-tokenTagLen {
		return t, fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	body, tag := b[:len(b)-tokenTagLen], b[len(b)-tokenTagLen:]
	want := c.tag(payer, body)
	if !hmac.Equal(tag, want[:]) {
		return t, fmt.Errorf("%w: bad tag", ErrInvalidToken)
	}
	t.Expires = time.UnixMilli(int64(binary.BigEndian.Uint64(body[1:9])))
	copy(t.ID[:], body[9:25])
	t.Fingerprint = binary.BigEndian.Uint64(body[25:33])
	t.Phone = Phone(body[tokenFixed:])
	if !now.Before(t.Expires) {
		return t, fmt.Errorf("%w at %s", ErrTokenExpired, t.Expires.UTC().Format(time.RFC3339))
	}
	return t, nil
}

// fingerprint identifies who a payee is (institution, holder, account), so
// that a token notices a rebind or a change of account.
func fingerprint(p *Payee) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211 // FNV-1a, 64 bits
	h := uint64(offset)
	for i := range len(p.Institution) {
		h = (h ^ uint64(p.Institution[i])) * prime
	}
	h *= prime // a zero byte between the fields
	for i := range len(p.Holder) {
		h = (h ^ uint64(p.Holder[i])) * prime
	}
	h *= prime
	for _, c := range p.Account {
		h = (h ^ uint64(c)) * prime
	}
	return h
}
