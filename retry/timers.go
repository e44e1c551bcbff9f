package retry

import (
	"sync"
	"time"

	"github.com/aponysus/rego/clock"
)

// timerPool holds stopped, drained timers of the real clock. A hedged call
// arms a timer for its hedge and almost always stops it (the primary
// answers first): making a timer is most of what that costs.
var timerPool sync.Pool

// driverTimer is a timer of the executor's clock that the goroutine
// driver waits on: a pooled *time.Timer on the real clock, the clock's own
// timer otherwise.
type driverTimer struct {
	rt *time.Timer
	vt clock.Timer
}

// start arms t to fire after d.
func (t *driverTimer) start(e *Executor, d time.Duration) {
	if !e.realClock {
		t.vt = e.clk.NewTimer(d)
		return
	}
	if rt, ok := timerPool.Get().(*time.Timer); ok {
		rt.Reset(d)
		t.rt = rt
		return
	}
	t.rt = time.NewTimer(d)
}

// c returns the channel t fires on, nil when it is not armed.
func (t *driverTimer) c() <-chan time.Time {
	switch {
	case t.rt != nil:
		return t.rt.C
	case t.vt != nil:
		return t.vt.C()
	}
	return nil
}

// fired notes that t's value was received.
func (t *driverTimer) fired() {
	if t.rt != nil {
		timerPool.Put(t.rt) // fired and drained
	}
	t.rt, t.vt = nil, nil
}

// stop stops t if it is armed and its value was not received.
func (t *driverTimer) stop() {
	if t.vt != nil {
		t.vt.Stop()
		t.vt = nil
	}
	rt := t.rt
	if rt == nil {
		return
	}
	t.rt = nil
	if !rt.Stop() && cap(rt.C) > 0 {
		// The timer fired and its value was not received. With the
		// buffered channel of Go before 1.23 (or asynctimerchan=1) the
		// value is, or is about to be, in the channel: take it, so that
		// the next Reset starts clean. (Since Go 1.23, Stop itself
		// discards it; the channel is unbuffered.)
		<-rt.C
	}
	timerPool.Put(rt)
}

// sleep is the goroutine driver's wait of d on the executor's clock;
// false means the call's context ended.
func (c *engine[T]) sleep(d time.Duration) bool {
	if d > 0 {
		var t driverTimer
		t.start(c.e, d)
		if done := c.callCtx.Done(); done == nil {
			// A context that can never end (context.Background, with
			// no overall timeout): a plain receive, which costs a
			// fraction of a select.
			<-t.c()
			t.fired()
		} else {
			select {
			case <-t.c():
				t.fired()
			case <-done:
				t.stop()
			}
		}
	}
	return c.callCtx.Err() == nil
}
