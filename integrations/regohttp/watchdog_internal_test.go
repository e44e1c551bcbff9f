package regohttp

import (
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/regotest"
)

// closeRecorder is a body that records its Close (the watchdog never
// reads).
type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error {
	c.closed.Store(true)
	return nil
}

// One timer serves drains started at different times: each is cut off
// once the timeout has passed, and less than a quarter of it later; a
// drain that ends first is left alone; the timer stops once no drain is
// left.
func TestWatchdogDeadlines(t *testing.T) {
	const timeout = 100 * time.Millisecond
	clk := regotest.NewClock(time.Time{})
	var w watchdog
	start := func() *drain {
		d := newDrain(&closeRecorder{}, DefaultDrainLimit, -1)
		w.watch(d, clk, timeout)
		return d
	}
	closed := func(d *drain) bool { return d.rc.(*closeRecorder).closed.Load() }
	cutAt := func(d *drain, name string, first, last time.Duration, now *time.Duration) {
		t.Helper()
		for *now < last {
			if *now >= first && d.state.Load() == drainCut {
				break
			}
			if d.state.Load() != drainReading {
				t.Fatalf("%s cut off %v after the start of the test, before its time (%v)", name, *now, first)
			}
			clk.Advance(time.Millisecond)
			*now += time.Millisecond
		}
		if d.state.Load() != drainCut || !closed(d) {
			t.Fatalf("%s still open %v after the start of the test, past its time (%v)", name, *now, last)
		}
	}
	var now time.Duration
	d1 := start() // t=0
	clk.Advance(40 * time.Millisecond)
	now += 40 * time.Millisecond
	d2 := start() // t=40ms
	clk.Advance(40 * time.Millisecond)
	now += 40 * time.Millisecond
	d3 := start() // t=80ms
	if n := clk.Pending(); n != 1 {
		t.Fatalf("%d timers for three drains, want 1", n)
	}
	w.unwatch(d2) // d2's reading ends before its deadline
	if !d2.state.CompareAndSwap(drainReading, drainDone) {
		t.Fatal("d2 was cut off before its deadline")
	}
	cutAt(d1, "d1", timeout, timeout+timeout/4, &now)
	cutAt(d3, "d3", 80*time.Millisecond+timeout, 80*time.Millisecond+timeout+timeout/4, &now)
	if d2.state.Load() != drainDone || closed(d2) {
		t.Fatal("d2, whose reading ended, was closed")
	}
	if n := clk.Pending(); n != 0 {
		t.Fatalf("%d timers left with no drain, want 0", n)
	}
	// A later drain sets the timer again.
	d4 := start()
	if n := clk.Pending(); n != 1 {
		t.Fatalf("%d timers for a new drain, want 1", n)
	}
	clk.Advance(timeout + timeout/4)
	if d4.state.Load() != drainCut {
		t.Fatal("d4 not cut off in time")
	}
}

// fill over a body that stalls: the watchdog closes it at the deadline,
// and the drain serves what arrived, then ErrDrainTimeout.
func TestFillCutOff(t *testing.T) {
	clk := regotest.NewClock(time.Time{})
	var w watchdog
	pr, pw := io.Pipe()
	d := newDrain(pr, DefaultDrainLimit, 100)
	done := make(chan bool)
	go func() { done <- d.fill(&w, clk, time.Second) }()
	if _, err := pw.Write([]byte("0123456789")); err != nil { // read by fill
		t.Fatal(err)
	}
	clk.BlockUntil(1)
	clk.Advance(time.Second + time.Second/4)
	if <-done {
		t.Fatal("fill reports a complete body")
	}
	if !d.cut() {
		t.Fatalf("drain error %v, want ErrDrainTimeout", d.err)
	}
	got, err := io.ReadAll(d)
	if string(got) != "0123456789" || !errors.Is(err, ErrDrainTimeout) {
		t.Fatalf("read %q, %v; want the bytes that arrived, then ErrDrainTimeout", got, err)
	}
}
