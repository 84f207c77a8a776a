package qr

import (
	"context"
	"errors"
	"time"
)

// Errors of the stores.
var (
	// ErrDeviceExists: a device with the same ID or serial is registered.
	ErrDeviceExists = errors.New("qr: device exists")
	// ErrReplay: the payment code was redeemed before.
	ErrReplay = errors.New("qr: payment code already used")
)

// DeviceStore persists the devices of payment codes. (Memory and
// PostgreSQL implementations come with the ledger integration.)
type DeviceStore interface {
	DeviceFinder
	// CreateDevice registers a device.
	// Errors: ErrDeviceExists (ID or serial taken).
	CreateDevice(ctx context.Context, d Device) error
	// RevokeDevice marks the device revoked from at on.
	// Errors: ErrUnknownDevice.
	RevokeDevice(ctx context.Context, id string, at time.Time) error
}

// UsedCodeStore remembers redeemed payment codes. A device makes one code
// per time step, so (serial, step) names a code.
type UsedCodeStore interface {
	// MarkUsed records the code as redeemed, atomically: of concurrent
	// calls with the same serial and step exactly one succeeds.
	// Errors: ErrReplay.
	MarkUsed(ctx context.Context, serial uint64, step int64) error
}
