package hedge

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/aponysus/rego/clock"
)

// MinSamples is how many latencies a Tracker needs in its window before it
// answers Quantile.
const MinSamples = 20

// DefaultWindow is the span of recent latencies a Tracker answers for when
// TrackerOptions.Window is zero.
const DefaultWindow = 10 * time.Second

// MinWindow is the shortest window a Tracker accepts; shorter ones are
// raised to it.
const MinWindow = 2 * time.Millisecond

// TrackerBytes is the memory one Tracker holds, whatever its traffic.
const TrackerBytes = int(unsafe.Sizeof(Tracker{}))

// TrackerOptions configures a Tracker. The zero value is valid.
type TrackerOptions struct {
	// Window is how far back the tracker looks. It is kept as two
	// halves: observations go to the current half, and Quantile merges
	// it with the previous one, so the answer covers the last Window/2
	// to Window of traffic. Zero or negative means DefaultWindow; values
	// below MinWindow are raised to it.
	Window time.Duration
	// Clock tells the time that drives the rotation of the halves. Nil
	// means clock.Real.
	Clock clock.Clock
}

// Tracker estimates quantiles of one key's recent latencies.
//
// It holds a log-linear histogram per half-window: fixed memory
// (TrackerBytes), counts in atomics so that Observe is lock-free, and
// Quantile answers within RelativeError by scanning the buckets without
// allocating. A mutex is taken only when a half-window is recycled, once
// per Window/2.
//
// The zero value is ready to use with DefaultWindow and the real clock.
// A Tracker is safe for concurrent use and must not be copied after
// first use.
type Tracker struct {
	clk  clock.Clock // nil: real clock
	half int64       // ns; 0: DefaultWindow/2
	mu   sync.Mutex  // serialises recycling of a half
	w    [2]halfWindow
}

// halfWindow counts the observations of one period of Window/2. Its epoch
// is the period number it counts (time since procStart divided by the
// half-window length). uint32 counts cannot overflow in practice: that
// would take four billion observations of one key in one half-window.
type halfWindow struct {
	epoch  atomic.Int64
	counts [numBuckets]atomic.Uint32
}

// Periods are counted from periodBase so that every time a clock can
// reasonably read gives a positive period, and the zero epoch of an unused
// half is older than any of them. Durations are measured from procStart
// and shifted: times read from the real clock carry a monotonic reading,
// so their periods never jump with the wall clock; times from a virtual
// clock fall back to wall-clock differences.
var (
	procStart  = time.Now()
	periodBase = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	sinceBase  = int64(procStart.Round(0).Sub(periodBase))
)

// NewTracker returns a tracker configured by opts.
func NewTracker(opts TrackerOptions) *Tracker {
	t := &Tracker{}
	t.configure(opts)
	return t
}

func (t *Tracker) configure(opts TrackerOptions) {
	w := opts.Window
	if w <= 0 {
		w = DefaultWindow
	}
	if w < MinWindow {
		w = MinWindow
	}
	t.half = int64(w / 2)
	if !clock.IsReal(opts.Clock) {
		t.clk = opts.Clock
	}
}

// Window returns the window the tracker was configured with.
func (t *Tracker) Window() time.Duration { return time.Duration(t.halfNanos()) * 2 }

func (t *Tracker) halfNanos() int64 {
	if t.half == 0 {
		return int64(DefaultWindow / 2)
	}
	return t.half
}

// period returns the half-window number that holds now.
func (t *Tracker) period(now time.Time) int64 {
	return floorDiv(int64(now.Sub(procStart))+sinceBase, t.halfNanos())
}

// current returns the period of the tracker's clock now. The real clock is
// read as time.Since, the cheapest monotonic reading.
func (t *Tracker) current() int64 {
	if t.clk == nil {
		return floorDiv(int64(time.Since(procStart))+sinceBase, t.halfNanos())
	}
	return t.period(t.clk.Now())
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// Observe adds one latency, timed by the tracker's clock. Negative
// latencies count as zero.
func (t *Tracker) Observe(d time.Duration) {
	t.observe(t.current(), d)
}

// ObserveAt adds one latency that ended at now, a time read from the
// tracker's clock. Callers that already hold the end time of an attempt
// save a clock reading, the main cost of Observe. A now from another clock
// (virtual time fed to a real-clock tracker) files the latency in the wrong
// half-window, where it is dropped or soon forgotten.
func (t *Tracker) ObserveAt(now time.Time, d time.Duration) {
	t.observe(t.period(now), d)
}

func (t *Tracker) observe(p int64, d time.Duration) {
	w := &t.w[p&1]
	if e := w.epoch.Load(); e != p && !t.recycle(w, p) {
		return
	}
	w.counts[bucketOf(d)].Add(1)
}

// recycle makes w count period p, clearing what it held. It reports false
// when w already counts a later period: the observation is older than the
// window (its goroutine read the clock long ago, or a virtual clock went
// backwards) and is dropped.
func (t *Tracker) recycle(w *halfWindow, p int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := w.epoch.Load()
	if e == p {
		return true // another goroutine recycled it first
	}
	if e > p {
		return false
	}
	// An observer that loaded the old epoch just before this store may
	// still add one count to the new period; one stray sample is harmless.
	for i := range w.counts {
		w.counts[i].Store(0)
	}
	w.epoch.Store(p)
	return true
}

// snapshot merges the halves that are still inside the window into dst
// and returns their total count.
func (t *Tracker) snapshot(dst *[numBuckets]uint32) uint64 {
	p := t.current()
	var n uint64
	for i := range t.w {
		w := &t.w[i]
		if e := w.epoch.Load(); e != p && e != p-1 {
			continue
		}
		for j := range w.counts {
			c := w.counts[j].Load()
			dst[j] += c
			n += uint64(c)
		}
	}
	return n
}

// Count returns how many latencies the window holds now.
func (t *Tracker) Count() int {
	var h [numBuckets]uint32
	return int(t.snapshot(&h))
}

// Quantile returns the q-quantile (0 < q < 1) of the recent latencies, and
// false when fewer than MinSamples are in the window. The estimate is the
// midpoint of the histogram bucket holding the latency of rank ceil(q*n)
// (nearest rank), within RelativeError of it. A q of 0 or less gives the
// minimum and 1 or more the maximum; NaN gives false.
func (t *Tracker) Quantile(q float64) (time.Duration, bool) {
	lo, width, ok := t.bucketAt(q)
	if !ok {
		return 0, false
	}
	return lo + width/2, true
}

// Bound is Quantile's conservative twin: it returns the upper edge of the
// bucket holding the q-quantile, a latency that at most a fraction 1-q of
// the window exceeds, and at most 2*RelativeError above the q-quantile.
// The latency triggers use it so that a p95 trigger hedges no more than
// about 5% of the attempts of a steady key.
func (t *Tracker) Bound(q float64) (time.Duration, bool) {
	lo, width, ok := t.bucketAt(q)
	if !ok {
		return 0, false
	}
	return lo + width, true
}

func (t *Tracker) bucketAt(q float64) (lo, width time.Duration, ok bool) {
	if t == nil || math.IsNaN(q) {
		return 0, 0, false
	}
	var h [numBuckets]uint32
	n := t.snapshot(&h)
	if n < MinSamples {
		return 0, 0, false
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank < 1 || q <= 0 {
		rank = 1
	}
	if rank > n || q >= 1 {
		rank = n
	}
	var cum uint64
	for i, c := range h {
		cum += uint64(c)
		if cum >= rank {
			lo, width = bucketBounds(i)
			return lo, width, true
		}
	}
	// Unreachable: the loop sums to n >= rank.
	lo, width = bucketBounds(numBuckets - 1)
	return lo, width, true
}
