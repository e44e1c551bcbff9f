package circuit

import (
	"sync/atomic"
	"time"
)

// window counts the results of one closed generation over a sliding time
// window, without locks: a ring of buckets, each one time slot of one
// generation, replaced (not reset) when its slot comes round again. A
// bucket's slot, generation and width never change, so a result is either
// added to the right bucket or, when it belongs to no live bucket (an
// earlier generation, a slot that has moved on), dropped: a late result
// can never leak into a later generation's counts.
type window struct {
	ring [buckets]atomic.Pointer[bucket]
	// base is the time bucket numbers count from: the first time the
	// window saw. Counting from it keeps every clock usable, including
	// test clocks at the zero time, whose UnixNano is undefined.
	base atomic.Pointer[time.Time]
	// last is the latest bucket time (nanoseconds after base) a result
	// brought; results that carry no time are counted there.
	last atomic.Int64
}

type bucket struct {
	slot                  int64 // time since base >> shift
	gen                   uint32
	shift                 uint8
	calls, failures, slow atomic.Uint64
}

// counts is a window's sum.
type counts struct{ calls, failures, slow uint64 }

// offset returns t as nanoseconds after the window's base, setting the
// base on first use. A zero t means "now, as far as the window knows".
// record says whether t is a result's time, which moves the window's
// latest time forward; a reader's time does not.
func (w *window) offset(t time.Time, record bool) int64 {
	if t.IsZero() {
		return w.last.Load()
	}
	base := w.base.Load()
	if base == nil {
		first := t // a copy, so that only the first call allocates
		w.base.CompareAndSwap(nil, &first)
		base = w.base.Load()
	}
	d := int64(t.Sub(*base))
	if record && d > w.last.Load() {
		w.last.Store(d) // racy but monotone enough: it only places timeless results
	}
	return d
}

// add counts one result of generation gen at t.
func (w *window) add(gen uint32, s *settings, t time.Time, failed, slow bool) {
	slot := w.offset(t, true) >> s.shift
	r := &w.ring[slot&(buckets-1)]
	for {
		b := r.Load()
		if b != nil && b.gen == gen && b.shift == s.shift {
			if b.slot == slot {
				b.calls.Add(1)
				if failed {
					b.failures.Add(1)
				}
				if slow {
					b.slow.Add(1)
				}
				return
			}
			if b.slot > slot {
				return // a full ring later: older than the window
			}
		} else if b != nil && int32(b.gen-gen) > 0 {
			return // a later generation owns the slot: this result is late
		}
		nb := &bucket{slot: slot, gen: gen, shift: s.shift}
		nb.calls.Store(1)
		if failed {
			nb.failures.Store(1)
		}
		if slow {
			nb.slow.Store(1)
		}
		if r.CompareAndSwap(b, nb) {
			return
		}
	}
}

// sum returns the counts of generation gen over the window ending at t.
func (w *window) sum(gen uint32, s *settings, t time.Time) counts {
	var c counts
	if w.base.Load() == nil {
		return c
	}
	end := w.offset(t, false) >> s.shift
	for slot := end - s.spans + 1; slot <= end; slot++ {
		b := w.ring[slot&(buckets-1)].Load()
		if b != nil && b.slot == slot && b.gen == gen && b.shift == s.shift {
			c.calls += b.calls.Load()
			c.failures += b.failures.Load()
			c.slow += b.slow.Load()
		}
	}
	return c
}
