package qr

import (
	"fmt"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// Level is a QR error-correction level.
type Level int

// Error-correction levels: about 7 %, 15 %, 25 % and 30 % of the symbol can
// be restored.
const (
	LevelM Level = iota // the default
	LevelL
	LevelQ
	LevelH
)

func (l Level) recovery() (qrcode.RecoveryLevel, error) {
	switch l {
	case LevelL:
		return qrcode.Low, nil
	case LevelM:
		return qrcode.Medium, nil
	case LevelQ:
		return qrcode.High, nil
	case LevelH:
		return qrcode.Highest, nil
	}
	return 0, fmt.Errorf("qr: error-correction level %d: %w", l, ErrInvalidValue)
}

// ImageOptions configures PNG and Terminal.
type ImageOptions struct {
	// Level is the error-correction level; default LevelM.
	Level Level
	// Size is the width and height of a PNG in pixels; default 256. A
	// negative size makes each module -Size pixels wide instead.
	Size int
	// Invert swaps dark and light in Terminal, for light text on a dark
	// terminal.
	Invert bool
}

// PNG renders a payload as a QR code image in PNG format. Any text can be
// rendered; the payload is written as UTF-8 bytes.
//
// Errors: ErrInvalidValue (unknown level), ErrTooLong (too much data for a
// QR code at this level).
func PNG(payload string, opts ImageOptions) ([]byte, error) {
	q, err := newQR(payload, opts)
	if err != nil {
		return nil, err
	}
	size := opts.Size
	if size == 0 {
		size = 256
	}
	b, err := q.PNG(size)
	if err != nil {
		return nil, fmt.Errorf("qr: rendering PNG: %w", err)
	}
	return b, nil
}

// Terminal renders a payload as text for a terminal: each character shows
// two rows of modules with the half-block characters ▀ ▄ █, quiet zone
// included. Dark modules are drawn (for dark text on a light background)
// unless opts.Invert.
//
// Errors: those of PNG.
func Terminal(payload string, opts ImageOptions) (string, error) {
	q, err := newQR(payload, opts)
	if err != nil {
		return "", err
	}
	bits := q.Bitmap()
	var sb strings.Builder
	for y := 0; y < len(bits); y += 2 {
		for x := range bits[y] {
			top := bits[y][x] != opts.Invert
			bottom := opts.Invert // the row below the last one is quiet zone
			if y+1 < len(bits) {
				bottom = bits[y+1][x] != opts.Invert
			}
			switch {
			case top && bottom:
				sb.WriteString("█")
			case top:
				sb.WriteString("▀")
			case bottom:
				sb.WriteString("▄")
			default:
				sb.WriteByte(' ')
			}
		}
		sb.WriteByte('\n')
	}
	return sb.String(), nil
}

func newQR(payload string, opts ImageOptions) (*qrcode.QRCode, error) {
	level, err := opts.Level.recovery()
	if err != nil {
		return nil, err
	}
	q, err := qrcode.New(payload, level)
	if err != nil {
		return nil, fmt.Errorf("qr: %d bytes at level %d: %w (%v)", len(payload), opts.Level, ErrTooLong, err)
	}
	return q, nil
}
