package retry

import (
	"math"
	"time"

	"github.com/aponysus/rego/policy"
)

// Backoff returns the wait before retry n (1 for the first retry) under rp,
// given the previous wait prev (used by decorrelated jitter; zero before the
// first retry) and u, a uniform random number in [0, 1). It is a pure
// function; the executor calls it with its random source.
//
// With e = min(MaxBackoff, InitialBackoff * BackoffMultiplier^(n-1)):
//
//	none:         e
//	full:         u * e
//	equal:        e/2 + u * e/2
//	decorrelated: min(MaxBackoff, InitialBackoff + u * (3*prev - InitialBackoff)),
//	              with prev = InitialBackoff before the first retry
//
// rp should be normalised; Backoff never returns a negative wait or one
// above MaxBackoff (when MaxBackoff is positive).
func Backoff(rp policy.RetryPolicy, n int, prev time.Duration, u float64) time.Duration {
	if u < 0 || u >= 1 || math.IsNaN(u) {
		u = 0
	}
	base := float64(rp.InitialBackoff)
	maxB := float64(rp.MaxBackoff)
	if maxB <= 0 {
		maxB = math.MaxInt64
	}
	if rp.Jitter == policy.JitterDecorrelated {
		p := float64(prev)
		if p < base {
			p = base
		}
		hi := 3 * p
		d := base + u*(hi-base)
		return clampDur(d, maxB)
	}
	if n < 1 {
		n = 1
	}
	mult := rp.BackoffMultiplier
	if mult < 1 || math.IsNaN(mult) {
		mult = 1
	}
	e := base * math.Pow(mult, float64(n-1))
	if e > maxB || math.IsInf(e, 0) || math.IsNaN(e) {
		e = maxB
	}
	switch rp.Jitter {
	case policy.JitterNone:
	case policy.JitterEqual:
		e = e/2 + u*e/2
	default: // full, and the empty default
		e = u * e
	}
	return clampDur(e, maxB)
}

func clampDur(d, maxB float64) time.Duration {
	if d > maxB {
		d = maxB
	}
	if d < 0 || math.IsNaN(d) {
		return 0
	}
	if d >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}
