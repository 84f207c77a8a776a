package qr

import (
	"bytes"
	"errors"
	"image/png"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

// readPNG decodes a QR code image with gozxing.
func readPNG(t *testing.T, b []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("png: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_CHARACTER_SET: "UTF-8"}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("gozxing: %v", err)
	}
	return res.GetText()
}

func TestPNGRoundTrip(t *testing.T) {
	now := testNow
	signed, err := testReceive(t, "e1", &now).Issue(t.Context(), dynamicCode())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, payload string
		opts          ImageOptions
	}{
		{"EMVCo example with Chinese, default", emvcoExample, ImageOptions{}},
		{"EMVCo example, level H, 512 px", emvcoExample, ImageOptions{Level: LevelH, Size: 512}},
		{"PIX, level L", publishedPayloads[1].payload, ImageOptions{Level: LevelL}},
		{"signed dynamic code with Chinese name, level Q, 6 px modules", signed, ImageOptions{Level: LevelQ, Size: -6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := PNG(tc.payload, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := readPNG(t, b); got != tc.payload {
				t.Fatalf("read back\n %q\nwant\n %q", got, tc.payload)
			}
			if _, err := Parse(tc.payload); err != nil {
				t.Fatalf("payload: %v", err)
			}
		})
	}
}

func TestImageErrors(t *testing.T) {
	if _, err := PNG(emvcoExample, ImageOptions{Level: 9}); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("bad level: %v", err)
	}
	if _, err := Terminal(strings.Repeat("x", 4000), ImageOptions{Level: LevelH}); !errors.Is(err, ErrTooLong) {
		t.Errorf("too long: %v", err)
	}
}

func TestTerminal(t *testing.T) {
	s, err := Terminal(emvcoExample, ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	q, _ := newQR(emvcoExample, ImageOptions{})
	bits := q.Bitmap()
	if len(lines) != (len(bits)+1)/2 {
		t.Fatalf("%d lines for %d module rows", len(lines), len(bits))
	}
	// Each character shows the two module rows it stands for.
	for y, line := range lines {
		runes := []rune(line)
		if len(runes) != len(bits[0]) {
			t.Fatalf("line %d: %d characters for %d modules", y, len(runes), len(bits[0]))
		}
		for x, r := range runes {
			top, bottom := bits[2*y][x], 2*y+1 < len(bits) && bits[2*y+1][x]
			want := map[[2]bool]rune{{true, true}: '█', {true, false}: '▀', {false, true}: '▄', {false, false}: ' '}[[2]bool{top, bottom}]
			if r != want {
				t.Fatalf("line %d column %d: %q, want %q", y, x, r, want)
			}
		}
	}
	// The quiet zone is blank; inverted, it is full.
	if strings.TrimSpace(lines[0]) != "" {
		t.Errorf("first line not quiet: %q", lines[0])
	}
	inv, _ := Terminal(emvcoExample, ImageOptions{Invert: true})
	if first := strings.Split(inv, "\n")[0]; strings.Trim(first, "█") != "" {
		t.Errorf("inverted first line: %q", first)
	}
}
