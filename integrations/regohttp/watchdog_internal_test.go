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

// One timer serves drains started at different times: each is cut off at
// its own deadline, a drain that ends first is left alone, and the timer
// stops once no drain is left.
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
	d1 := start()
	clk.Advance(40 * time.Millisecond)
	d2 := start()
	clk.Advance(40 * time.Millisecond)
	d3 := start()
	if n := clk.Pending(); n != 1 {
		t.Fatalf("%d timers for three drains, want 1", n)
	}
	w.unwatch(d2) // d2's reading ends before its deadline
	if !d2.state.CompareAndSwap(drainReading, drainDone) {
		t.Fatal("d2 was cut off before its deadline")
	}

	clk.Advance(20 * time.Millisecond) // t=100ms: d1's deadline
	if d1.state.Load() != drainCut || !closed(d1) {
		t.Fatal("d1 not cut off at its deadline")
	}
	if d3.state.Load() != drainReading {
		t.Fatal("d3 cut off before its deadline")
	}
	clk.Advance(79 * time.Millisecond) // t=179ms
	if d3.state.Load() != drainReading {
		t.Fatal("d3 cut off before its deadline")
	}
	clk.Advance(time.Millisecond) // t=180ms: d3's deadline
	if d3.state.Load() != drainCut || !closed(d3) {
		t.Fatal("d3 not cut off at its deadline")
	}
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
	clk.Advance(timeout)
	if d4.state.Load() != drainCut {
		t.Fatal("d4 not cut off at its deadline")
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
	clk.Advance(time.Second)
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
