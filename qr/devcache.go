package qr

import (
	"sync/atomic"
)

// deviceCache keeps the registered devices a Service has read, by serial,
// as the store keeps them (the secret wrapped), so that a charge on a
// PayingStore checks its code without reading the device first. What it
// keeps never changes in a store: a device's ID, account, serial and
// wrapped secret are fixed at registration and a device is never deleted.
// What does change, revocation, is not taken from the cache: ChargePaid
// confirms, in the step that pays, that the serial's device is the one
// cached and not revoked (ChargeStep.Stale), so a revocation committed
// by any instance refuses the next charge of every other. Only devices
// read not revoked are kept.
//
// It is direct-mapped: a serial has one slot, and a device read later
// takes the slot from the one there. It is safe for concurrent use.
type deviceCache struct {
	slots [deviceCacheSlots]atomic.Pointer[Device]
}

// deviceCacheSlots bounds the cache: at most this many devices (about
// 200 bytes each) are kept.
const deviceCacheSlots = 1 << 16

func (c *deviceCache) slot(serial uint64) *atomic.Pointer[Device] {
	// Serials are drawn at random (NewDevice): their low bits spread.
	return &c.slots[serial%deviceCacheSlots]
}

// get returns the cached device of serial, if any and if use; the caller
// must not change it. A nil cache has none.
func (c *deviceCache) get(serial uint64, use bool) (*Device, bool) {
	if c == nil || !use {
		return nil, false
	}
	d := c.slot(serial).Load()
	if d == nil || d.Serial != serial {
		return nil, false
	}
	return d, true
}

// put keeps d, as stored, unless it is revoked.
func (c *deviceCache) put(d Device) {
	if c == nil || d.Revoked() {
		return
	}
	c.slot(d.Serial).Store(&d)
}

// forget drops serial's device.
func (c *deviceCache) forget(serial uint64) {
	if c == nil {
		return
	}
	p := c.slot(serial)
	if d := p.Load(); d != nil && d.Serial == serial {
		p.CompareAndSwap(d, nil)
	}
}
