package regohttp

import (
	"sync"
	"time"

	"github.com/aponysus/rego/clock"
)

// watchdog closes the bodies of a Transport's drains that outlast the
// drain timeout (see drain). One timer serves every drain of the
// Transport, and no drain reads the clock: arming a timer per drain would
// cost each failed response more than reading its body does (adding a
// timer due before any other wakes the runtime's poller, a system call),
// and even reading the clock costs more than reading a short body.
//
// The timer ticks every quarter of the timeout while drains are in
// progress; each drain notes the number of ticks so far when it starts.
// A drain that has seen five ticks since (the first of which came at most
// a quarter of the timeout after it started) has been reading for at
// least the timeout, and less than a quarter more: the tick closes its
// body. The timer stops at a tick that finds no drain in progress.
//
// The zero watchdog is ready.
type watchdog struct {
	mu         sync.Mutex
	head, tail *drain // the drains in progress, oldest first
	ticks      uint64
	armed      bool // the timer is set
}

// watchdogQuarters is how many ticks make a timeout.
const watchdogQuarters = 4

// tickOf returns the timer's period for the drain timeout.
func tickOf(timeout time.Duration) time.Duration {
	if p := timeout / watchdogQuarters; p > 0 {
		return p
	}
	return 1
}

// watch adds d to the drains in progress, to be closed once timeout has
// passed on clk.
func (w *watchdog) watch(d *drain, clk clock.Clock, timeout time.Duration) {
	w.mu.Lock()
	d.since = w.ticks
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
		w.arm(clk, tickOf(timeout))
	}
}

func (w *watchdog) arm(clk clock.Clock, period time.Duration) {
	clk.AfterFunc(period, func() { w.tick(clk, period) })
}

// unwatch removes d from the drains in progress, unless a tick has
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

// tick closes the bodies of the drains whose time is up, and sets the
// timer again while drains are in progress.
func (w *watchdog) tick(clk clock.Clock, period time.Duration) {
	var due *drain // the drains cut off, linked through next
	w.mu.Lock()
	w.ticks++
	// The drains are in the order they started, so in the order of their
	// tick counts.
	for w.head != nil && w.ticks-w.head.since > watchdogQuarters {
		d := w.head
		w.unlinkLocked(d)
		if d.state.CompareAndSwap(drainReading, drainCut) {
			d.next, due = due, d
		}
	}
	again := w.head != nil
	w.armed = again
	w.mu.Unlock()
	if again {
		w.arm(clk, period)
	}
	// Closing may wait for the connection to shut down: outside the lock.
	for due != nil {
		d := due
		due, d.next = d.next, nil
		_ = d.rc.Close()
	}
}
