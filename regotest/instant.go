package regotest

import (
	"time"

	"github.com/aponysus/rego/clock"
)

// InstantClock is a clock on which every wait ends at once: Now is the
// wall clock, and timers fire as soon as they are made, without allocating.
// It suits benchmarks of failing calls whose backoff should cost nothing.
// Do not use it with timeouts: they expire immediately.
type InstantClock struct{}

var firedC = func() chan time.Time {
	c := make(chan time.Time)
	close(c)
	return c
}()

type firedTimer struct{}

func (firedTimer) C() <-chan time.Time { return firedC }
func (firedTimer) Stop() bool          { return false }

// Now returns time.Now().
func (InstantClock) Now() time.Time { return time.Now() }

// NowIsWall reports that Now is the wall clock (see clock.WallNow): the
// executor reads it as it reads clock.Real.
func (InstantClock) NowIsWall() bool { return true }

// NewTimer returns a timer that has already fired.
func (InstantClock) NewTimer(time.Duration) clock.Timer { return firedTimer{} }

// AfterFunc runs f in a new goroutine at once.
func (InstantClock) AfterFunc(_ time.Duration, f func()) clock.Timer {
	go f()
	return firedTimer{}
}
