package regoredis

import (
	"sync/atomic"
	"time"
)

// circuit keeps an outage of Redis from costing the timeout on every
// decision: after threshold failed round trips in a row it opens, and
// decisions stay local for cooldown; then one decision probes Redis, and
// the circuit closes when the probe succeeds or opens again when it fails.
// A closed circuit costs one atomic load and no clock reading.
type circuit struct {
	threshold int32
	cooldown  int64 // nanoseconds
	fails     atomic.Int32
	openUntil atomic.Int64 // Unix nanoseconds; 0 when closed
	probing   atomic.Bool
	opened    atomic.Int64 // times the circuit opened
}

// allow reports whether a decision may ask Redis at now, and whether it is
// the probe of an open circuit.
func (c *circuit) allow(now func() time.Time) (ok, probe bool) {
	u := c.openUntil.Load()
	if u == 0 {
		return true, false
	}
	if now().UnixNano() < u {
		return false, false
	}
	if c.probing.CompareAndSwap(false, true) {
		return true, true
	}
	return false, false
}

func (c *circuit) success(probe bool) {
	c.fails.Store(0)
	if probe {
		c.openUntil.Store(0)
		c.probing.Store(false)
	}
}

func (c *circuit) failure(probe bool, now time.Time) {
	if probe {
		c.openUntil.Store(now.UnixNano() + c.cooldown)
		c.probing.Store(false)
		c.opened.Add(1)
		return
	}
	// Failures racing past the threshold open the circuit once.
	if c.fails.Add(1) >= c.threshold && c.openUntil.CompareAndSwap(0, now.UnixNano()+c.cooldown) {
		c.fails.Store(0)
		c.opened.Add(1)
	}
}

// closed reports whether decisions go to Redis.
func (c *circuit) closed() bool { return c.openUntil.Load() == 0 }
