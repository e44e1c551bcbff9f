package hedge

import (
	"math/bits"
	"time"
)

// The latency histogram is log-linear: every power-of-two range of
// durations (an octave) is split into subBuckets equal buckets, so a
// bucket is never wider than 1/subBuckets of its lower edge and its
// midpoint is within 1/(2*subBuckets) = 3.125% of any value in it. The
// index is a few shifts and a bit count, cheaper than a logarithm.
//
// Durations are counted in units of 1<<unitShift ns (1.024us): below
// 32 units (about 33us) buckets are one unit wide, so small latencies
// are exact to about half a microsecond. Durations from maxTracked up
// land in the last bucket.
const (
	unitShift  = 10
	subBits    = 4
	subBuckets = 1 << subBits // buckets per octave

	// numBuckets covers [0, maxTracked): 2*subBuckets linear buckets
	// then subBuckets per octave up to 2^36 ns.
	numBuckets = 368
	// maxTracked is the smallest duration that no longer fits: 2^36 ns,
	// about 68.7s, above policy.MaxHedgeDelay.
	maxTracked = time.Duration(1) << 36

	// RelativeError bounds the error of Tracker.Quantile for latencies
	// of 33us and more: the estimate is within this fraction of a value
	// lying at the requested rank. Below 33us the error is at most
	// 0.52us.
	RelativeError = 1.0 / (2 * subBuckets)
)

// bucketOf returns the histogram bucket of d.
func bucketOf(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	if d >= maxTracked {
		return numBuckets - 1
	}
	u := uint64(d) >> unitShift
	e := bits.Len64(u) - (subBits + 1)
	if e < 0 {
		e = 0
	}
	return e<<subBits + int(u>>uint(e))
}

// bucketBounds returns the lower edge and width of bucket i, in ns.
func bucketBounds(i int) (lo, width time.Duration) {
	if i < 2*subBuckets {
		return time.Duration(i) << unitShift, 1 << unitShift
	}
	e := uint(i>>subBits - 1)
	m := uint64(i&(subBuckets-1) + subBuckets)
	return time.Duration(m<<e) << unitShift, time.Duration(1) << (e + unitShift)
}
