package redpacket

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
)

func TestNormalizePassword(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"恭喜发财", "恭喜发财"},
		{"  恭喜发财\t\n", "恭喜发财"},
		{"恭喜发财　大吉大利", "恭喜发财 大吉大利"}, // ideographic space U+3000
		{"恭喜发财 \t  大吉大利", "恭喜发财 大吉大利"},
		{"恭喜发财，大吉大利！", "恭喜发财,大吉大利!"}, // full-width punctuation
		{"ｗｉｆｉ８", "wifi8"},
		{"cafe\u0301", "café"}, // decomposed é
		{"Happy New Year", "Happy New Year"},
	}
	for _, tt := range tests {
		got, err := NormalizePassword(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizePassword(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "   ", "\u3000", "\xff\xfe", strings.Repeat("口", MaxPasswordBytes/3+1)} {
		if _, err := NormalizePassword(bad); !errors.Is(err, ErrBadPassword) {
			t.Errorf("NormalizePassword(%q) = %v, want ErrBadPassword", bad, err)
		}
	}
	if _, err := NormalizePassword(strings.Repeat("口", MaxPasswordBytes/3)); err != nil {
		t.Errorf("phrase of %d bytes: %v", MaxPasswordBytes/3*3, err)
	}
	// White space collapses, so raw input may exceed MaxPasswordBytes…
	padded := strings.Repeat(" ", 3*MaxPasswordBytes) + "口令"
	if got, err := NormalizePassword(padded); err != nil || got != "口令" {
		t.Errorf("口令 padded to %d bytes = %q, %v, want 口令", len(padded), got, err)
	}
	// …but not without bound.
	if _, err := NormalizePassword(strings.Repeat(" ", 4*MaxPasswordBytes) + "口令"); !errors.Is(err, ErrBadPassword) {
		t.Errorf("%d-byte input = %v, want ErrBadPassword", 4*MaxPasswordBytes+6, err)
	}
}

func TestPasswordMatches(t *testing.T) {
	tests := []struct {
		phrase, guess string
		want          bool
	}{
		{"恭喜发财", "恭喜发财", true},
		{"恭喜发财", " 恭喜发财 ", true},
		{"恭喜发财，大吉大利", "恭喜发财,大吉大利", true},
		{"ｗｉｆｉ８", "wifi8", true},
		{"café", "cafe\u0301", true},
		{"恭喜发财", "恭喜发", false},
		{"恭喜发财", "恭喜发财财", false},
		{"恭喜发财", "恭喜 发财", false},
		{"Abc", "abc", false},
		{"恭喜发财", "", false},
		{"", "", false},
		{"\xff", "\xff", false},
	}
	for _, tt := range tests {
		if got := PasswordMatches(tt.phrase, tt.guess); got != tt.want {
			t.Errorf("PasswordMatches(%q, %q) = %v, want %v", tt.phrase, tt.guess, got, tt.want)
		}
	}
}

var (
	fuzzKey, _ = NewPasswordKey([]byte("a key for the fuzz test, 32 bytes or more"))
	fuzzPacket = uuid.MustParse("6f1c8a34-9d4e-4c1b-8f5e-2a7b3c9d0e1f")
)

// A phrase always matches itself, its normalized form is a fixed point, and
// matching (of phrases, and of a phrase's keyed hash) agrees with comparing
// normalized forms.
func FuzzPassword(f *testing.F) {
	for _, s := range []string{"恭喜发财", "恭喜发财，大吉大利！", " ｗｉｆｉ８ ", "cafe\u0301", "a\u3000b", "\xff", "", "ﬁ", "①②", "Å"} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		na, errA := NormalizePassword(a)
		nb, errB := NormalizePassword(b)
		if errA == nil {
			if !utf8.ValidString(na) || na == "" || len(na) > MaxPasswordBytes {
				t.Fatalf("NormalizePassword(%q) = %q", a, na)
			}
			if again, err := NormalizePassword(na); err != nil || again != na {
				t.Fatalf("not idempotent: %q → %q → %q, %v", a, na, again, err)
			}
			if !PasswordMatches(a, a) || !PasswordMatches(a, na) {
				t.Fatalf("%q does not match itself or its normal form %q", a, na)
			}
		}
		want := errA == nil && errB == nil && na == nb
		if got := PasswordMatches(a, b); got != want {
			t.Fatalf("PasswordMatches(%q, %q) = %v, normalized %q, %q", a, b, got, na, nb)
		}
		// The keyed hash agrees: a's hash matches b exactly when they
		// normalize alike.
		h, err := fuzzKey.Hash(fuzzPacket, a)
		if (err == nil) != (errA == nil) || (err == nil && len(h) != PasswordHashLen) {
			t.Fatalf("Hash(%q) = %x, %v; NormalizePassword: %v", a, h, err, errA)
		}
		if got := err == nil && fuzzKey.Matches(fuzzPacket, h, b); got != want {
			t.Fatalf("Matches(Hash(%q), %q) = %v, want %v", a, b, got, want)
		}
	})
}
