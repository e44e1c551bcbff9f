package circuit

import (
	"math"
	"math/bits"
	"time"

	"github.com/aponysus/rego/policy"
)

// The defaults a breaker applies to zero (unset) policy fields. They are
// the documented defaults of policy.CircuitPolicy, which the policy
// normaliser fills in; a breaker applies them too, so that a policy that
// was never normalised behaves the same.
const (
	defaultThreshold     = 5
	defaultCooldown      = 5 * time.Second
	defaultWindow        = 10 * time.Second
	defaultMinThroughput = 10
	defaultProbes        = 1
)

// buckets is how many time buckets a window is counted in, at most.
const buckets = 16

// settings is a CircuitPolicy with its defaults applied and what the
// window needs derived from it. A breaker caches the settings of the last
// policy it saw, so that completing a permit needs no policy.
type settings struct {
	pol policy.CircuitPolicy // as given, to recognise it
	// src is the policy the settings were derived from when its holder
	// promised it is never modified (the executor's policies in force):
	// an admission under that very policy recognises it by its address,
	// without comparing its fields. Nil otherwise.
	src           *policy.CircuitPolicy
	threshold     uint64
	cooldown      time.Duration
	failureRate   float64 // 0: rule off
	slowRate      float64 // 0: rule off (also when slowCall is 0)
	slowCall      time.Duration
	minThroughput uint64
	probes        int
	successes     int
	// shift makes a time bucket 1<<shift nanoseconds wide: the smallest
	// power of two at least Window/buckets, so that a bucket index is a
	// shift, not a division.
	shift uint8
	// spans is how many buckets cover the window (at most buckets).
	spans int64
}

// counting reports whether a rate rule is on, so that results are counted
// in the window.
func (s *settings) counting() bool { return s.failureRate > 0 || s.slowRate > 0 }

func settingsOf(p policy.CircuitPolicy) *settings {
	s := &settings{pol: p, cooldown: p.Cooldown, slowCall: p.SlowCallDuration}
	s.threshold = uint64(orDefault(p.FailureThreshold, defaultThreshold))
	if s.cooldown <= 0 {
		s.cooldown = defaultCooldown
	}
	s.failureRate = rate(p.FailureRateThreshold)
	if s.slowCall > 0 {
		s.slowRate = rate(p.SlowCallRateThreshold)
	}
	s.minThroughput = uint64(orDefault(p.MinThroughput, defaultMinThroughput))
	s.probes = orDefault(p.HalfOpenProbes, defaultProbes)
	s.successes = orDefault(p.SuccessThreshold, s.probes)
	if s.successes > s.probes {
		s.successes = s.probes
	}
	w := p.Window
	if w <= 0 {
		w = defaultWindow
	}
	width := uint64(w+buckets-1) / buckets
	s.shift = uint8(bits.Len64(width - 1))
	s.spans = int64((uint64(w) + 1<<s.shift - 1) >> s.shift)
	return s
}

// samePolicy reports whether a and b are the same configuration, field by
// field: inline, and several times cheaper than the generated struct
// equality, which matters because every admission asks. Floats compare by
// value (a NaN never equals itself: such a policy is re-derived on every
// admission, and behaves the same). A test checks every field is here.
func samePolicy(a, b *policy.CircuitPolicy) bool {
	return a.FailureThreshold == b.FailureThreshold && a.Cooldown == b.Cooldown &&
		a.Window == b.Window && a.FailureRateThreshold == b.FailureRateThreshold &&
		a.SlowCallDuration == b.SlowCallDuration && a.SlowCallRateThreshold == b.SlowCallRateThreshold &&
		a.MinThroughput == b.MinThroughput && a.HalfOpenProbes == b.HalfOpenProbes &&
		a.SuccessThreshold == b.SuccessThreshold && a.Enabled == b.Enabled && a.Shadow == b.Shadow
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// rate turns a rate threshold into (0, 1], or 0 (off) for zero, negative
// and NaN values.
func rate(r float64) float64 {
	if !(r > 0) || math.IsNaN(r) {
		return 0
	}
	return math.Min(r, 1)
}
