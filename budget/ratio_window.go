package budget

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/clock"
)

// window is a lock-free sliding window of n time buckets of equal width,
// each holding two counters. The ratio budget counts requests and retries
// in it; the throttler counts requests and accepts.
//
// Buckets live in a ring of n slots. A slot holds a pointer to an immutable
// header (the bucket's index) with mutable counters; moving a slot on to a
// newer bucket swaps in a fresh header with one compare-and-swap, so a
// counter is never zeroed under a concurrent adder. That costs one small
// allocation per bucket width, never one per call, and memory stays at n
// buckets.
type window struct {
	clk   clock.Clock
	real  bool // clk is the wall clock: read it with time.Since, the cheaper call
	epoch time.Time
	width int64 // nanoseconds per bucket
	n     int64
	slots []atomic.Pointer[windowBucket]
	// newest is the newest bucket published: a time in it needs no
	// division to find its bucket (see bucketAt).
	newest atomic.Pointer[windowBucket]
}

type windowBucket struct {
	idx  int64 // the bucket's index since the epoch; fixed once published
	a, b atomic.Int64
}

// windowShape applies the defaults and checks of a window's Buckets and
// Window options; opt names the options type in errors ("RatioOptions").
func windowShape(opt string, buckets int, span time.Duration, defBuckets int, defSpan time.Duration) (int, time.Duration, error) {
	switch {
	case buckets == 0:
		buckets = defBuckets
	case buckets < 0 || buckets > MaxWindowBuckets:
		return 0, 0, fmt.Errorf("budget: %s.Buckets must be in [1, %d], got %d", opt, MaxWindowBuckets, buckets)
	}
	switch {
	case span == 0:
		span = defSpan
	case span < time.Duration(buckets):
		return 0, 0, fmt.Errorf("budget: %s.Window must be at least Buckets (%d) nanoseconds, got %v", opt, buckets, span)
	}
	return buckets, span, nil
}

func newWindow(clk clock.Clock, span time.Duration, buckets int) *window {
	if clk == nil {
		clk = clock.Real{}
	}
	w := &window{
		clk:   clk,
		real:  clock.IsReal(clk),
		width: int64(span) / int64(buckets),
		n:     int64(buckets),
		slots: make([]atomic.Pointer[windowBucket], buckets),
	}
	if w.width < 1 {
		w.width = 1
	}
	if w.real {
		w.epoch = time.Now() // carries a monotonic reading for time.Since
	} else {
		w.epoch = clk.Now()
	}
	return w
}

// nowIndex returns the index of the bucket holding the clock's time.
func (w *window) nowIndex() int64 { return w.offset(time.Time{}) / w.width }

// offset returns t's time since the epoch in nanoseconds, at least 0; a
// zero t is the clock's time.
func (w *window) offset(t time.Time) int64 {
	var d time.Duration
	switch {
	case !t.IsZero():
		d = t.Sub(w.epoch)
	case w.real:
		d = time.Since(w.epoch)
	default:
		d = w.clk.Now().Sub(w.epoch)
	}
	if d < 0 {
		return 0
	}
	return int64(d)
}

// bucketAt is bucket(at(t)). A time in the newest bucket, where nearly
// every count goes, is found without the two divisions. The zero time on
// the wall clock, the executor's first attempts, is read here, without
// the call to offset.
func (w *window) bucketAt(t time.Time) *windowBucket {
	var d int64
	if w.real && t.IsZero() {
		if d = int64(time.Since(w.epoch)); d < 0 {
			d = 0
		}
	} else {
		d = w.offset(t)
	}
	if b := w.newest.Load(); b != nil {
		if off := d - b.idx*w.width; off >= 0 && off < w.width {
			return b
		}
	}
	return w.bucket(d / w.width)
}

// at is index(t), or nowIndex for the zero t.
func (w *window) at(t time.Time) int64 {
	if t.IsZero() {
		return w.nowIndex()
	}
	return w.index(t)
}

// index returns the index of the bucket holding t. Times before the epoch
// count as the epoch.
func (w *window) index(t time.Time) int64 {
	d := t.Sub(w.epoch)
	if d < 0 {
		return 0
	}
	return int64(d) / w.width
}

// bucket returns the bucket for idx, moving its slot on if the slot still
// holds an older bucket. It returns nil when the slot already holds a newer
// bucket: the caller's time is more than a window behind, and whatever it
// wanted to count has left the window.
func (w *window) bucket(idx int64) *windowBucket {
	s := &w.slots[idx%w.n]
	for {
		cur := s.Load()
		if cur != nil {
			if cur.idx == idx {
				return cur
			}
			if cur.idx > idx {
				return nil
			}
		}
		nb := &windowBucket{idx: idx}
		if s.CompareAndSwap(cur, nb) {
			w.published(nb)
			return nb
		}
	}
}

// published notes bucket b, just published, as the newest if it is.
func (w *window) published(b *windowBucket) {
	for {
		n := w.newest.Load()
		if n != nil && n.idx >= b.idx {
			return
		}
		if w.newest.CompareAndSwap(n, b) {
			return
		}
	}
}

// sums returns the totals of both counters over the n buckets ending at
// idx (the current bucket included, however full it is).
func (w *window) sums(idx int64) (a, b int64) {
	lo := idx - w.n
	for i := range w.slots {
		bk := w.slots[i].Load()
		if bk != nil && bk.idx > lo && bk.idx <= idx {
			a += bk.a.Load()
			b += bk.b.Load()
		}
	}
	return a, b
}
