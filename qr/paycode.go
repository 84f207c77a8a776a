package qr

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
)

// Errors of payment codes.
var (
	// ErrMalformedCode: not 18 digits, or not our prefix.
	ErrMalformedCode = errcode.New("malformed_code", errcode.Invalid, "qr: malformed payment code")
	// ErrUnknownDevice: the code names no registered device.
	ErrUnknownDevice = errcode.New("unknown_device", errcode.NotFound, "qr: unknown device")
	// ErrDeviceRevoked: the code's device has been revoked.
	ErrDeviceRevoked = errcode.New("device_revoked", errcode.Forbidden, "qr: device revoked")
	// ErrWrongCode: the one-time password does not match the device (a
	// guessed or mistyped code).
	ErrWrongCode = errcode.New("wrong_code", errcode.Forbidden, "qr: wrong payment code")
)

// Payment code layout: a 2-digit prefix and a 16-digit body. The body is a
// keyed permutation of serial·10^7 + (step mod 10)·10^6 + otp.
const (
	codeLen     = 18
	bodyDomain  = 10_000_000_000_000_000 // 10^16 bodies
	MaxSerial   = 1_000_000_000          // device serials are below 10^9
	otpModulus  = 1_000_000              // six-digit one-time password
	stepDigits  = 10                     // the body carries the time step mod 10
	feistelBits = 27                     // 2·27 = 54 bits ≥ log2(10^16)
	lookback    = 6                      // older step classes tried to tell an expired code from a wrong one
)

// Device is a payer's phone registered for payment codes (付款码). Secret
// and Serial live on the device and the server; Account only on the server:
// a code never reveals it.
type Device struct {
	ID        string    `json:"id"`                  // the server's ID of the device
	Account   uuid.UUID `json:"account"`             // the payer's ledger account
	Serial    uint64    `json:"serial"`              // random, below MaxSerial, unique among registered devices
	Secret    []byte    `json:"secret,omitempty"`    // 32 random bytes
	CreatedAt time.Time `json:"created_at"`          //
	RevokedAt time.Time `json:"revoked_at,omitzero"` // zero while the device may pay
}

// Revoked reports whether the device has been revoked.
func (d Device) Revoked() bool { return !d.RevokedAt.IsZero() }

// Validate checks what every DeviceStore may assume of a device it
// creates.
//
// Errors: ErrInvalidValue.
func (d Device) Validate() error {
	if d.ID == "" || d.Account == uuid.Nil || d.Serial >= MaxSerial || len(d.Secret) < 16 {
		return fmt.Errorf("qr: device %q needs an ID, an account, a serial below %d and a secret of 16 bytes or more: %w",
			d.ID, uint64(MaxSerial), ErrInvalidValue)
	}
	return nil
}

// PaymentCodeConfig configures PaymentCodes.
type PaymentCodeConfig struct {
	// Prefix is the two digits every code starts with (so that a
	// merchant's scanner can route it), e.g. "28".
	Prefix string
	// Key (at least 16 bytes) keys the permutation that hides the device
	// serial and time step inside the code. Server and devices share it.
	Key []byte
	// Step is the lifetime of a code. Default 60 s; a whole number of
	// seconds.
	Step time.Duration
	// Skew is how many steps either side of the server's current step are
	// accepted (clock skew and scan delay). Default 1; at most 4.
	Skew int
	// Rand is the randomness of NewDevice. Default crypto/rand.Reader.
	Rand io.Reader
}

// PaymentCodes derives payment codes on a device and checks them on the
// server. It is safe for concurrent use.
type PaymentCodes struct {
	prefix  string
	permKey [32]byte
	step    int64 // seconds
	skew    int64
	rand    io.Reader
}

// NewPaymentCodes checks cfg and fills its defaults.
//
// Errors: ErrInvalidValue (prefix not two digits, step not whole seconds,
// skew out of 0-4), ErrInvalidKey (key under 16 bytes).
func NewPaymentCodes(cfg PaymentCodeConfig) (*PaymentCodes, error) {
	if cfg.Step == 0 {
		cfg.Step = time.Minute
	}
	if cfg.Skew == 0 {
		cfg.Skew = 1
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	switch {
	case len(cfg.Prefix) != 2 || !allDigits(cfg.Prefix):
		return nil, fmt.Errorf("qr: payment code prefix %q not two digits: %w", cfg.Prefix, ErrInvalidValue)
	case cfg.Step < time.Second || cfg.Step%time.Second != 0:
		return nil, fmt.Errorf("qr: payment code step %v: %w", cfg.Step, ErrInvalidValue)
	case cfg.Skew < 0 || cfg.Skew > 4:
		return nil, fmt.Errorf("qr: payment code skew %d not in 0-4: %w", cfg.Skew, ErrInvalidValue)
	case len(cfg.Key) < 16:
		return nil, fmt.Errorf("qr: payment code key of %d bytes, want at least 16: %w", len(cfg.Key), ErrInvalidKey)
	}
	pc := &PaymentCodes{prefix: cfg.Prefix, step: int64(cfg.Step / time.Second), skew: int64(cfg.Skew), rand: cfg.Rand}
	pc.permKey = sha256.Sum256(append([]byte("socialpay/qr/paycode/permutation\x00"), cfg.Key...))
	return pc, nil
}

// NewDevice creates a device with a random serial and secret. The caller
// registers it (a store refuses a serial already taken; then call again).
//
// Errors: the Rand reader's.
func (pc *PaymentCodes) NewDevice(id string, account uuid.UUID, now time.Time) (Device, error) {
	var b [4 + 32]byte
	for {
		if _, err := io.ReadFull(pc.rand, b[:]); err != nil {
			return Device{}, fmt.Errorf("qr: device randomness: %w", err)
		}
		// Uniform below 10^9: reject the top of the uint32 range.
		if v := binary.BigEndian.Uint32(b[:4]); v < 4*MaxSerial {
			return Device{ID: id, Account: account, Serial: uint64(v % MaxSerial),
				Secret: append([]byte(nil), b[4:]...), CreatedAt: now}, nil
		}
	}
}

// stepOf returns the time step of t.
func (pc *PaymentCodes) stepOf(t time.Time) int64 { return t.Unix() / pc.step }

// Generate derives the device's payment code for the time step of now. It
// needs nothing but the device and the configuration, so it works offline.
//
// Errors: ErrInvalidValue (serial out of range, secret under 16 bytes, time
// before 1970).
func (pc *PaymentCodes) Generate(d Device, now time.Time) (string, error) {
	if d.Serial >= MaxSerial || len(d.Secret) < 16 || now.Unix() < 0 {
		return "", fmt.Errorf("qr: device %q cannot make codes: %w", d.ID, ErrInvalidValue)
	}
	step := pc.stepOf(now)
	x := d.Serial*(stepDigits*otpModulus) + uint64(step%stepDigits)*otpModulus + uint64(pc.otp(d, step))
	y := pc.permute(x, false)
	var b [codeLen]byte
	b[0], b[1] = pc.prefix[0], pc.prefix[1]
	for i := codeLen - 1; i >= 2; i-- {
		b[i] = byte('0' + y%10)
		y /= 10
	}
	return string(b[:]), nil
}

// CodeRef is what the server reads from a payment code before it knows the
// device: the device serial and the code's time step.
type CodeRef struct {
	Serial  uint64 // the device's serial
	Step    int64  // the time step the code was made for
	NowStep int64  // the server's time step when decoding
	otp     uint32
}

// Decode reads a payment code without any lookup: it undoes the
// permutation and places the time step within five steps of now's.
//
// Errors: ErrMalformedCode.
func (pc *PaymentCodes) Decode(code string, now time.Time) (CodeRef, error) {
	if len(code) != codeLen || !allDigits(code) || code[:2] != pc.prefix {
		return CodeRef{}, ErrMalformedCode
	}
	var y uint64
	for i := 2; i < codeLen; i++ {
		y = y*10 + uint64(code[i]-'0')
	}
	x := pc.permute(y, true)
	s := pc.stepOf(now)
	digit := int64(x / otpModulus % stepDigits)
	delta := (digit-s%stepDigits+stepDigits+stepDigits/2)%stepDigits - stepDigits/2 // in [-5, 4]
	return CodeRef{
		Serial:  x / (stepDigits * otpModulus),
		Step:    s + delta,
		NowStep: s,
		otp:     uint32(x % otpModulus),
	}, nil
}

// Check verifies a decoded code against the device its serial names.
//
// Errors: ErrUnknownDevice (d is not the code's device), ErrDeviceRevoked,
// ErrExpired (a genuine code outside the accepted window, up to about an
// hour old), ErrWrongCode (the one-time password does not match).
func (pc *PaymentCodes) Check(ref CodeRef, d Device) error {
	if d.Serial != ref.Serial || len(d.Secret) == 0 {
		return ErrUnknownDevice
	}
	if d.Revoked() {
		return ErrDeviceRevoked
	}
	if pc.otpEqual(d, ref.Step, ref.otp) {
		if diff := ref.Step - ref.NowStep; diff < -pc.skew || diff > pc.skew {
			return ErrExpired
		}
		return nil
	}
	for k := int64(1); k <= lookback; k++ {
		if pc.otpEqual(d, ref.Step-k*stepDigits, ref.otp) {
			return ErrExpired
		}
	}
	return ErrWrongCode
}

// Verify decodes a payment code, looks its device up and checks it. It
// does not record the code as used: replay protection is the store's (one
// redemption per device and step).
//
// Errors: ErrMalformedCode, the finder's errors (ErrUnknownDevice), and
// Check's errors.
func (pc *PaymentCodes) Verify(ctx context.Context, devices DeviceFinder, code string, now time.Time) (Device, CodeRef, error) {
	ref, err := pc.Decode(code, now)
	if err != nil {
		return Device{}, CodeRef{}, err
	}
	d, err := devices.DeviceBySerial(ctx, ref.Serial)
	if err != nil {
		return Device{}, ref, err
	}
	if err := pc.Check(ref, d); err != nil {
		return d, ref, err
	}
	return d, ref, nil
}

// otp is the six-digit one-time password of device d for a time step:
// HMAC-SHA256 over the prefix, serial and step, truncated as in RFC 4226.
func (pc *PaymentCodes) otp(d Device, step int64) uint32 {
	var msg [2 + 8 + 8]byte
	copy(msg[:2], pc.prefix)
	binary.BigEndian.PutUint64(msg[2:], d.Serial)
	binary.BigEndian.PutUint64(msg[10:], uint64(step))
	m := hmac.New(sha256.New, d.Secret)
	m.Write([]byte("socialpay/qr/paycode/otp\x00"))
	m.Write(msg[:])
	var sum [sha256.Size]byte
	h := m.Sum(sum[:0])
	off := h[len(h)-1] & 0x0F
	return binary.BigEndian.Uint32(h[off:off+4]) & 0x7FFFFFFF % otpModulus
}

func (pc *PaymentCodes) otpEqual(d Device, step int64, otp uint32) bool {
	return subtle.ConstantTimeEq(int32(pc.otp(d, step)), int32(otp)) == 1
}

// permute is a keyed permutation of [0, 10^16): an 8-round balanced
// Feistel network on 54 bits (round function: SHA-256 of the key, round and
// half), cycle-walking back into the domain. inverse undoes it.
func (pc *PaymentCodes) permute(x uint64, inverse bool) uint64 {
	for {
		x = pc.feistel(x, inverse)
		if x < bodyDomain {
			return x
		}
	}
}

func (pc *PaymentCodes) feistel(x uint64, inverse bool) uint64 {
	const mask = 1<<feistelBits - 1
	l, r := uint32(x>>feistelBits)&mask, uint32(x)&mask
	var in [32 + 1 + 4]byte
	copy(in[:32], pc.permKey[:])
	f := func(round int, half uint32) uint32 {
		in[32] = byte(round)
		binary.BigEndian.PutUint32(in[33:], half)
		sum := sha256.Sum256(in[:])
		return binary.BigEndian.Uint32(sum[:4]) & mask
	}
	const rounds = 8
	if !inverse {
		for i := 0; i < rounds; i++ {
			l, r = r, l^f(i, r)
		}
	} else {
		for i := rounds - 1; i >= 0; i-- {
			l, r = r^f(i, l), l
		}
	}
	return uint64(l)<<feistelBits | uint64(r)
}
