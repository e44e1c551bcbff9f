package regohttp

import (
	"sync"
	"time"

	"github.com/aponysus/rego/clock"
)

// watchdog closes the bodies of a Transport's drains that outlast the
// drain timeout (see drain). One timer serves every drain of the
// Transport: arming a timer per drain would cost each failed response
// more than reading its body does (adding a timer that is due before any
// other wakes the runtime's poller, a system call), while a timer that
// stays armed as long as drains come costs each drain a lock and a
// reading of the clock.
//
// The drains in progress wait in a list, oldest first. Every drain of a
// Transport has the same timeout, so the list is in the order of their
// deadlines too: the timer is due at the oldest drain's deadline, and
// when it fires it cuts off every drain whose deadline has passed and is
// set again for the next, or stops when no drain is left.
//
// The zero watchdog is ready.
type watchdog struct {
	mu         sync.Mutex
	head, tail *drain // the drains in progress, oldest first
	armed      bool   // the timer is set
}

// watch adds d, whose deadline is timeout from now on clk, to the drains
// in progress.
func (w *watchdog) watch(d *drain, clk clock.Clock, timeout time.Duration) {
	d.deadline = clk.Now().Add(timeout)
	w.mu.Lock()
	d.prev, d.next = w.tail, nil
	if w.tail != nil {
		w.tail.next = d
	} else {
		w.head = d
	}
	w.tail = d
	d.watched = true
	arm := !w.armed
	w.armed = true
	w.mu.Unlock()
	if arm {
		clk.AfterFunc(timeout, func() { w.fire(clk) })
	}
}

// unwatch removes d from the drains in progress, unless the timer has
// already taken it.
func (w *watchdog) unwatch(d *drain) {
	w.mu.Lock()
	if d.watched {
		w.unlinkLocked(d)
	}
	w.mu.Unlock()
}

func (w *watchdog) unlinkLocked(d *drain) {
	if d.prev != nil {
		d.prev.next = d.next
	} else {
		w.head = d.next
	}
	if d.next != nil {
		d.next.prev = d.prev
	} else {
		w.tail = d.prev
	}
	d.prev, d.next, d.watched = nil, nil, false
}

// fire cuts off the drains whose deadline has passed and sets the timer
// for the next one.
func (w *watchdog) fire(clk clock.Clock) {
	now := clk.Now()
	var due *drain // the drains cut off, linked through next
	w.mu.Lock()
	for w.head != nil && !w.head.deadline.After(now) {
		d := w.head
		w.unlinkLocked(d)
		if d.state.CompareAndSwap(drainReading, drainCut) {
			d.next, due = due, d
		}
	}
	var wait time.Duration
	if w.head != nil {
		wait = w.head.deadline.Sub(now)
	} else {
		w.armed = false
	}
	w.mu.Unlock()
	if wait > 0 {
		clk.AfterFunc(wait, func() { w.fire(clk) })
	}
	// Closing may wait for the connection to shut down: outside the lock.
	for due != nil {
		d := due
		due, d.next = d.next, nil
		_ = d.rc.Close()
	}
}
