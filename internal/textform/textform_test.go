package textform_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/socialpay/socialpay/internal/textform"
)

var errInvalid = errors.New("invalid value")

type color uint8

func (c color) String() string { return [...]string{"none", "red", "green"}[min(c, 2)] }

// An enum's words: each value reads as one, and anything else is refused.
func ExampleWords() {
	words := textform.NewWords(errInvalid, "color", color(1), "red", "green")
	b, _ := words.Marshal(2)
	fmt.Println(string(b))
	var c color
	fmt.Println(words.Unmarshal([]byte("red"), &c), uint8(c))
	_, err := words.Marshal(3)
	fmt.Println(err)
	err = words.Unmarshal([]byte("blue"), &c)
	fmt.Println(errors.Is(err, errInvalid), err, uint8(c))
	// Output:
	// green
	// <nil> 1
	// invalid value: color 3 has no word
	// true invalid value: color "blue" 1
}

// StringWords takes the words from String, for the values given only.
func TestStringWords(t *testing.T) {
	w := textform.StringWords(errInvalid, "color", color(1), color(2))
	for v, want := range map[color]string{1: "red", 2: "green"} {
		if b, err := w.Marshal(v); err != nil || string(b) != want {
			t.Errorf("%d: %q, %v", v, b, err)
		}
	}
	for _, v := range []color{0, 3, 255} {
		if b, err := w.Marshal(v); !errors.Is(err, errInvalid) {
			t.Errorf("%d: %q, %v", v, b, err)
		}
	}
	var c color
	if err := w.Unmarshal([]byte("none"), &c); !errors.Is(err, errInvalid) || c != 0 {
		t.Errorf("the word of a value outside first…last: %v, %d", err, c)
	}
	// The zero Words knows no word.
	if _, err := (textform.Words[color]{}).Marshal(0); err == nil {
		t.Error("the zero Words encoded a value")
	}
}

// Hex decodes exactly the digits of its size, and leaves its destination
// alone otherwise.
func TestUnmarshalHex(t *testing.T) {
	var dst [4]byte
	if err := textform.UnmarshalHex(errInvalid, "key", dst[:], []byte("00fFa1b2")); err != nil || dst != [4]byte{0, 0xff, 0xa1, 0xb2} {
		t.Fatalf("%x, %v", dst, err)
	}
	for _, bad := range []string{"", "00ff", "00ffa1b2c3", "00ffa1bz"} {
		if err := textform.UnmarshalHex(errInvalid, "key", dst[:], []byte(bad)); !errors.Is(err, errInvalid) || dst != [4]byte{0, 0xff, 0xa1, 0xb2} {
			t.Errorf("%q: %v, %x", bad, err, dst)
		}
	}
}

// A long input makes a short message.
func TestQuote(t *testing.T) {
	if got := textform.Quote([]byte("short")); got != "short" {
		t.Errorf("%q", got)
	}
	long := strings.Repeat("x", 10000)
	if got := textform.Quote([]byte(long)); len(got) > textform.MaxWordLen+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("%d bytes: %q", len(got), got)
	}
	var c color
	err := textform.NewWords(errInvalid, "color", color(1), "red").Unmarshal([]byte(long), &c)
	if !errors.Is(err, errInvalid) || len(err.Error()) > 100 {
		t.Errorf("%v", err)
	}
}
