package regotest

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aponysus/rego/clock"
)

// Clock is a virtual clock implementing clock.Clock. Time moves only when
// Advance is called, or, for a clock made by NewAutoClock, whenever a timer
// is made. It is safe for concurrent use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool
	seq     int
	timers  []*fakeTimer
	waiters []waiter
}

type waiter struct {
	n  int
	ch chan struct{}
}

// NewClock returns a virtual clock reading start. A zero start means
// 2000-01-01 00:00:00 UTC.
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		start = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return &Clock{now: start}
}

// NewAutoClock returns a virtual clock that never waits: making a timer
// with NewTimer for d advances the clock by d (firing, in order, every
// AfterFunc timer that falls due, such as a timeout) and fires the new
// timer at once. Time passes only while the code under test sleeps, so
// backoffs cost no real time; a timeout fires only when a sleep, or an
// explicit Advance, crosses it.
func NewAutoClock(start time.Time) *Clock {
	c := NewClock(start)
	c.auto = true
	return c
}

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the clock reaches Now()+d.
func (c *Clock) NewTimer(d time.Duration) clock.Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.add(t, d)
	return t
}

// AfterFunc calls f, in the goroutine that advances the clock, when the
// clock reaches Now()+d.
func (c *Clock) AfterFunc(d time.Duration, f func()) clock.Timer {
	t := &fakeTimer{c: c, f: f}
	c.add(t, d)
	return t
}

func (c *Clock) add(t *fakeTimer, d time.Duration) {
	c.mu.Lock()
	if c.auto && t.f == nil {
		c.mu.Unlock()
		if d > 0 {
			c.Advance(d)
		}
		t.fire(c.Now())
		return
	}
	t.when = c.now.Add(d)
	c.seq++
	t.seq = c.seq
	if d <= 0 {
		c.mu.Unlock()
		t.fire(t.when)
		return
	}
	c.timers = append(c.timers, t)
	c.notifyLocked()
	c.mu.Unlock()
}

// Advance moves the clock forward by d, firing in order every timer that
// falls due. AfterFunc callbacks run in the calling goroutine.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.SliceStable(c.timers, func(i, j int) bool {
			if c.timers[i].when.Equal(c.timers[j].when) {
				return c.timers[i].seq < c.timers[j].seq
			}
			return c.timers[i].when.Before(c.timers[j].when)
		})
		if len(c.timers) == 0 || c.timers[0].when.After(end) {
			if end.After(c.now) {
				c.now = end
			}
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		if t.when.After(c.now) {
			c.now = t.when
		}
		c.mu.Unlock()
		t.fire(t.when)
	}
}

// Pending returns the number of timers not yet fired or stopped.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// BlockUntil waits, in real time, until at least n timers are pending. Use
// it to let another goroutine reach its wait before calling Advance.
func (c *Clock) BlockUntil(n int) {
	c.mu.Lock()
	if len(c.timers) >= n {
		c.mu.Unlock()
		return
	}
	w := waiter{n: n, ch: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	<-w.ch
}

func (c *Clock) notifyLocked() {
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if len(c.timers) >= w.n {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

func (c *Clock) remove(t *fakeTimer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.timers, t)
	if i >= 0 {
		c.timers = slices.Delete(c.timers, i, i+1)
	}
	return i >= 0
}

type fakeTimer struct {
	c    *Clock
	when time.Time
	seq  int
	ch   chan time.Time
	f    func()
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool { return t.c.remove(t) }

func (t *fakeTimer) fire(now time.Time) {
	if t.f != nil {
		t.f()
		return
	}
	select {
	case t.ch <- now:
	default:
	}
}
