package qr

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Before, one receive code had many valid byte forms: a sub-object added
// inside a signature template, or a signature written in non-canonical
// base64 (other bits after its last byte), still verified. Now only the
// layout Issue writes verifies.
func TestAttackReceiveCodeLayout(t *testing.T) {
	ctx := context.Background()
	now := testNow
	for _, kid := range []string{"h1", "e1"} {
		r := testReceive(t, kid, &now)
		code, err := r.Issue(ctx, dynamicCode())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Verify(ctx, code); err != nil {
			t.Fatal(err)
		}
		edit := func(f func(p *Payload)) string {
			t.Helper()
			p, err := Parse(code)
			if err != nil {
				t.Fatal(err)
			}
			f(p)
			out, err := p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		variants := map[string]string{
			"extra sub-object first in a signature template": edit(func(p *Payload) {
				last := ID(80)
				for p.find(last+1) != nil {
					last++
				}
				o := p.find(last)
				o.Sub = append([]Object{{ID: 3, Value: "x"}}, o.Sub...)
			}),
			"extra sub-object in the last signature template": edit(func(p *Payload) {
				last := ID(80)
				for p.find(last+1) != nil {
					last++
				}
				o := p.find(last)
				o.Sub = append(o.Sub[:len(o.Sub):len(o.Sub)], Object{ID: 9, Value: "extra"})
			}),
			"non-canonical base64": edit(func(p *Payload) {
				last := ID(80)
				for p.find(last+1) != nil {
					last++
				}
				o := p.find(last)
				for i := range o.Sub {
					if o.Sub[i].ID == 2 {
						v := o.Sub[i].Value
						const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
						c := strings.IndexByte(alphabet, v[len(v)-1])
						o.Sub[i].Value = v[:len(v)-1] + string(alphabet[c^1]) // a padding bit
					}
				}
			}),
		}
		for name, v := range variants {
			if v == code {
				t.Fatalf("%s: no change", name)
			}
			if _, err := r.Verify(ctx, v); !errors.Is(err, ErrBadSignature) {
				t.Errorf("%s, %s: %v, want ErrBadSignature", kid, name, err)
			}
		}
	}
}

// Before, a key ring took HMAC keys of any length (one byte). Now 32 bytes
// at least.
func TestAttackShortHMACKey(t *testing.T) {
	if _, err := NewKeys(Key{ID: "k", HMAC: []byte("0123456789abcdef")}); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("16-byte HMAC key in a ring: %v", err)
	}
	if _, err := NewKeys(Key{ID: "k", HMAC: []byte{1}}); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("1-byte HMAC key in a ring: %v", err)
	}
	if _, err := NewHMACSigner("k", make([]byte, 31)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("31-byte HMAC signer: %v", err)
	}
	if _, err := NewKeys(Key{ID: "k", HMAC: make([]byte, 32)}); err != nil {
		t.Errorf("32 bytes: %v", err)
	}
}
