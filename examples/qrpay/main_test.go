package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/socialpay/socialpay/qr"
)

// The tour runs, every refusal is the expected one, the balances add up,
// and the PNG it wrote reads back (with gozxing) as the payload it printed.
func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "code.png")
	var out bytes.Buffer
	if err := run(&out, path); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"shown to the payer: pay 38.50 CNY to 老王烧烤 (from the directory)",
		"paid: 38.50 CNY from alice to 老王烧烤 for TABLE-12",
		"the app retries: same receipt true, error <nil>",
		"bob scans the same code: refused (qr: dynamic code already paid)",
		"amount lowered to 3.85, CRC recomputed: refused (qr: bad signature)",
		"static code renamed to Mallory: refused (qr: bad signature)",
		"490.00 more by static code today: refused (qr: daily cap on static-code payments reached)",
		"charged: 23.00 CNY from alice-phone to cafe for latte-0042",
		"a photo of the code used at the BBQ: refused (qr: payment code already used)",
		"the same code three minutes on: refused (qr: invalid payment code)",
		"alice    138.50 CNY", // 200.00 - 38.50 - 23.00
		"bob      188.00 CNY", // 200.00 - 12.00
		"bbq       50.50 CNY", // 38.50 + 12.00
		"cafe      23.00 CNY",
		"ledger verified:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(text, "unexpected") || strings.Contains(text, "another reason") {
		t.Errorf("unexpected outcome:\n%s", text)
	}

	// The payload is the line after "the payload, N characters:".
	_, rest, _ := strings.Cut(text, "characters:\n")
	payload, _, _ := strings.Cut(rest, "\n")
	if _, err := qr.Parse(payload); err != nil {
		t.Fatalf("printed payload: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_CHARACTER_SET: "UTF-8"})
	if err != nil {
		t.Fatalf("gozxing: %v", err)
	}
	if res.GetText() != payload {
		t.Fatalf("PNG reads\n %s\nprinted\n %s", res.GetText(), payload)
	}
}
