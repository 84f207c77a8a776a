package transfer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

var tokenTime = time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)

func sealedToken() (*tokenCodec, string, lookupToken) {
	c := newTokenCodec([]byte("fuzz key fuzz key fuzz key fuzz!"))
	t := lookupToken{ID: uuid.MustParse("8f2c0c1e-9a51-4f5e-b1a4-0b6cb2e2c9a1"), Expires: tokenTime.Add(5 * time.Minute),
		Fingerprint: 0x1234_5678_9abc_def0, Phone: "+8613800138000"}
	return c, c.seal(uid("alice"), t), t
}

func TestTokenRoundTrip(t *testing.T) {
	c, tok, want := sealedToken()
	got, err := c.open(uid("alice"), tok, tokenTime)
	if err != nil || got.ID != want.ID || !got.Expires.Equal(want.Expires) || got.Fingerprint != want.Fingerprint || got.Phone != want.Phone {
		t.Fatalf("open: %v %+v", err, got)
	}
	if _, err := c.open(uid("alice"), tok, want.Expires); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("at expiry: %v", err)
	}
	if _, err := c.open(uid("bob"), tok, tokenTime); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("another payer: %v", err)
	}
	// Every byte of the payer's ID counts.
	near := uid("alice")
	near[15] ^= 1
	if _, err := c.open(near, tok, tokenTime); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a payer one bit away: %v", err)
	}
}

// FuzzOpenToken: no input makes open panic, and whatever opens is exactly
// a token the codec sealed for that payer (a forgery would have to find
// an HMAC tag).
func FuzzOpenToken(f *testing.F) {
	c, tok, _ := sealedToken()
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	alice := uid("alice")
	f.Add(tok, alice[:])
	f.Add(tok[:len(tok)-1], alice[:])
	f.Add(tok+"A", alice[:])
	f.Add(base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw[:len(raw)-16]), make([]byte, 16)...)), alice[:])
	f.Add("", []byte{})
	f.Add("!!!!", alice[:])
	f.Fuzz(func(t *testing.T, s string, id []byte) {
		var payer uuid.UUID
		copy(payer[:], id)
		got, err := c.open(payer, s, tokenTime)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrTokenExpired) {
				t.Fatalf("open(%q): unexpected error %v", s, err)
			}
			return
		}
		if again := c.seal(payer, got); again != s {
			t.Fatalf("opened %q for %s, which the codec never sealed (it seals %q)", s, payer, again)
		}
	})
}
