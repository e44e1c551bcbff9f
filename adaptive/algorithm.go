package adaptive

import (
	"math"
	"time"
)

// The algorithms' names, as policy.ConcurrencyPolicy.Algorithm spells
// them.
const (
	Gradient2 = "gradient2"
	Vegas     = "vegas"
	AIMD      = "aimd"
)

// Gradient2 constants: the tolerance of latency growth, the share of a
// change applied per update, the number of samples the long-term average
// spans, and the samples averaged into one short-term reading.
const (
	g2Tolerance  = 1.5
	g2Smoothing  = 0.2
	g2LongWindow = 600
	g2ShortBatch = 10
	// The first readings set the baseline at full speed either way.
	g2Warmup       = 10
	g2RiseSlowdown = 50
	// g2Queue is the queue allowance added to the scaled limit.
	g2Queue = 4
)

// estimator is the state of every algorithm; only the configured one's
// fields move. One struct, so that switching algorithms on a reload costs
// no allocation and an admission no interface call.
type estimator struct {
	alg   string
	limit float64
	min   float64
	max   float64

	// gradient2: the long-term average and its sample count, and the
	// batch being averaged into the next short-term reading.
	long     float64
	longN    int
	batchSum float64
	batchN   int
	batchIn  int

	// vegas: the smallest latency seen.
	noLoad float64
}

func (e *estimator) reset(alg string, initial, min, max int) {
	*e = estimator{alg: alg, limit: float64(initial), min: float64(min), max: float64(max)}
}

// sample feeds one completed attempt: its latency, the attempts in flight
// when it was admitted, and whether it was dropped (failed).
func (e *estimator) sample(rtt time.Duration, inflight int, drop bool) {
	r := float64(rtt)
	if r <= 0 {
		r = 1
	}
	switch e.alg {
	case Vegas:
		e.vegas(r, inflight, drop)
	case AIMD:
		e.aimd(inflight, drop)
	default:
		e.gradient2(r, inflight, drop)
	}
	e.limit = math.Max(e.min, math.Min(e.max, e.limit))
}

func (e *estimator) gradient2(r float64, inflight int, drop bool) {
	e.batchSum += r
	e.batchN++
	if inflight > e.batchIn {
		e.batchIn = inflight
	}
	if e.batchN < g2ShortBatch && !drop {
		return
	}
	short := e.batchSum / float64(e.batchN)
	in := e.batchIn
	e.batchSum, e.batchN, e.batchIn = 0, 0, 0

	if e.longN < g2LongWindow {
		e.longN++
	}
	if short > e.long && e.longN >= g2Warmup {
		// Rising latency moves the baseline g2RiseSlowdown times slower
		// than falling latency: under sustained overload the short-term latency sits
		// above the baseline, and a baseline that follows it at full speed
		// drifts up, and the limit with it, without end.
		e.long += (short - e.long) / float64(e.longN*g2RiseSlowdown)
	} else {
		e.long += (short - e.long) / float64(e.longN)
	}
	if e.long > 2*short {
		e.long *= 0.95
	}
	if !drop && float64(in) < e.limit/2 {
		return
	}
	gradient := 0.5
	if !drop {
		gradient = math.Max(0.5, math.Min(1, g2Tolerance*e.long/short))
	}
	next := e.limit*gradient + g2Queue
	e.limit = e.limit*(1-g2Smoothing) + next*g2Smoothing
}

func (e *estimator) vegas(r float64, inflight int, drop bool) {
	if e.noLoad == 0 || r < e.noLoad {
		e.noLoad = r
	}
	step := math.Max(1, math.Log10(e.limit))
	if drop {
		e.limit -= step
		return
	}
	if float64(inflight)*2 < e.limit {
		return
	}
	queue := e.limit * (1 - e.noLoad/r)
	alpha, beta := 3*step, 6*step
	switch {
	case queue <= step:
		e.limit += beta
	case queue < alpha:
		e.limit += step
	case queue > beta:
		e.limit -= step
	}
}

func (e *estimator) aimd(inflight int, drop bool) {
	if drop {
		e.limit *= 0.9
		return
	}
	if float64(inflight)*2 >= e.limit {
		e.limit++
	}
}
