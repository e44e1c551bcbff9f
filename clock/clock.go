// Package clock is the source of time for rego.
//
// Every component of rego that waits or reads the time does so through a
// Clock, so that tests and simulations can run on virtual time (see
// regotest.Clock). The zero value of every options struct that takes a Clock
// uses Real.
package clock

import "time"

// Clock tells the time and makes timers.
//
// Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once d
	// has elapsed.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f in its own goroutine once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a single-shot timer made by a Clock.
type Timer interface {
	// C returns the channel on which the time is delivered. It is nil for
	// timers made by AfterFunc.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It returns false when the timer
	// has already fired or been stopped.
	Stop() bool
}

// Real is the wall clock, backed by package time.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{t: time.NewTimer(d)} }

// AfterFunc wraps time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{t: time.AfterFunc(d, f)}
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// WallNow reports whether c's Now is the wall clock's (time.Now): Real,
// and clocks whose timers differ but whose time does not, which say so
// with a method NowIsWall() returning true (regotest.InstantClock). A
// reader of such a clock may read the wall time once and then add the
// monotonic time elapsed, which is cheaper than reading the wall clock
// again and never goes backwards; the executor does, within a call.
func WallNow(c Clock) bool {
	if IsReal(c) {
		return true
	}
	w, ok := c.(interface{ NowIsWall() bool })
	return ok && w.NowIsWall()
}

// IsReal reports whether c is the wall clock (nil counts as Real).
func IsReal(c Clock) bool {
	if c == nil {
		return true
	}
	_, ok := c.(Real)
	return ok
}
