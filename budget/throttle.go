package budget

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/policy"
)

// Defaults of ThrottleOptions.
const (
	DefaultThrottleK       = 2.0
	DefaultThrottleWindow  = 10 * time.Second
	DefaultThrottleBuckets = 10
)

// Reasons recorded by Throttle.
const (
	// ReasonThrottled marks an attempt the throttler rejected locally. The
	// executor turns it into a *DeniedError with this Reason when nothing
	// else ran; IsThrottled recognises it.
	ReasonThrottled    = "throttled"
	ReasonNotThrottled = "not_throttled"
)

// Rand is a source of uniform random numbers in [0, 1), such as
// *math/rand.Rand or *regotest.Rand. It must be safe for concurrent use
// when the budget is shared between goroutines.
type Rand interface {
	Float64() float64
}

// ThrottleOptions configures a Throttle. The zero value gives K = 2 over a
// 10 second window, on the wall clock and the global random source.
type ThrottleOptions struct {
	// K is how many requests the client may send per request the backend
	// accepts before it starts rejecting locally. Zero means
	// DefaultThrottleK (2); otherwise it must be in [1, 1000]. Lower is
	// more aggressive: K = 1.1 starts shedding once 10% of requests fail.
	K float64
	// Window is how far back requests and accepts are counted. Zero means
	// DefaultThrottleWindow (10s). At least Buckets nanoseconds.
	Window time.Duration
	// Buckets is how many slices the window is counted in. Zero means
	// DefaultThrottleBuckets (10); at most MaxWindowBuckets.
	Buckets int
	// Clock tells the time. Nil means clock.Real.
	Clock clock.Clock
	// Rand draws the rejection lottery. Nil means the global math/rand
	// source.
	Rand Rand
}

// Throttle is client-side adaptive throttling, after the Google SRE book
// ("Handling Overload"). Over a sliding window it counts the requests the
// client made and the ones the backend accepted, and rejects each new
// attempt locally with probability
//
//	max(0, (requests - K*accepts) / (requests + 1))
//
// so that once the backend turns work away the client sends it about K
// requests per accepted one and fails the rest fast, without the network.
// It gates every attempt, first attempts and hedges included, and learns
// from RecordOutcome, which the executor calls for each attempt it allowed
// (accepted: a success or a non-retryable answer; not accepted: overload,
// unavailability, timeout).
//
// An allowed attempt is counted as a request when its outcome is recorded,
// a rejected one at once. Counting allowed attempts only once they end
// keeps a burst of attempts still in flight from looking like rejections
// (which would throttle a healthy client at start-up), and a throttler
// whose outcomes are never recorded never throttles: it fails open.
//
// A rejection is a Decision with Reason ReasonThrottled: the timeline shows
// it, and the call fails with a *DeniedError (errors.Is ErrDenied) with that
// Reason; IsThrottled tells it apart from other denials. A Throttle is safe
// for concurrent use; its hot path takes no locks. Decision.Release is
// always nil.
type Throttle struct {
	w    *window // a: requests, b: accepts
	k    float64
	rand Rand
}

// NewThrottle returns a throttler configured by opts. The error names the
// first invalid field.
func NewThrottle(opts ThrottleOptions) (*Throttle, error) {
	k := opts.K
	switch {
	case k == 0:
		k = DefaultThrottleK
	case math.IsNaN(k) || k < 1 || k > 1000:
		return nil, fmt.Errorf("budget: ThrottleOptions.K must be in [1, 1000], got %v", opts.K)
	}
	buckets, win, err := windowShape("ThrottleOptions", opts.Buckets, opts.Window, DefaultThrottleBuckets, DefaultThrottleWindow)
	if err != nil {
		return nil, err
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = globalRand{}
	}
	return &Throttle{w: newWindow(opts.Clock, win, buckets), k: k, rand: rnd}, nil
}

// globalRand draws from math/rand's global source, which is safe for
// concurrent use and does not lock when it has not been seeded.
type globalRand struct{}

func (globalRand) Float64() float64 { return rand.Float64() }

// AllowAttempt rejects the attempt with the current throttling
// probability. ref is ignored: every attempt is one request to the backend.
func (t *Throttle) AllowAttempt(_ context.Context, _ policy.PolicyKey, _ int, _ AttemptKind, _ policy.BudgetRef) Decision {
	return t.allow(t.w.nowIndex())
}

// AllowAttemptAt is AllowAttempt at now, a reading of the throttle's Clock
// (ThrottleOptions.Clock); a zero now reads the clock.
func (t *Throttle) AllowAttemptAt(_ context.Context, _ policy.PolicyKey, _ int, _ AttemptKind, _ policy.BudgetRef, now time.Time) Decision {
	return t.allow(t.w.at(now))
}

// Clock returns the clock the throttle reads: ThrottleOptions.Clock, or
// clock.Real when that was nil.
func (t *Throttle) Clock() clock.Clock { return t.w.clk }

func (t *Throttle) allow(idx int64) Decision {
	p := t.prob(idx)
	if p > 0 && t.rand.Float64() < p {
		t.reject(idx)
		return Decision{Allowed: false, Reason: ReasonThrottled}
	}
	return Decision{Allowed: true, Reason: ReasonNotThrottled}
}

// RecordOutcome counts an allowed attempt that ended, and whether the
// backend accepted it.
func (t *Throttle) RecordOutcome(_ policy.PolicyKey, _ AttemptKind, accepted bool) {
	t.record(t.w.nowIndex(), accepted)
}

// AllowAt decides an attempt at time now with the random draw u in [0, 1):
// it rejects, and counts the rejection, when u < ProbabilityAt(now).
func (t *Throttle) AllowAt(now time.Time, u float64) bool {
	idx := t.w.index(now)
	if u < t.prob(idx) {
		t.reject(idx)
		return false
	}
	return true
}

// RecordOutcomeAt is RecordOutcome at time now.
func (t *Throttle) RecordOutcomeAt(now time.Time, accepted bool) {
	t.record(t.w.index(now), accepted)
}

// ProbabilityAt returns the probability with which an attempt at now would
// be rejected.
func (t *Throttle) ProbabilityAt(now time.Time) float64 { return t.prob(t.w.index(now)) }

// StatsAt returns the requests and accepts counted in the window that ends
// at now.
func (t *Throttle) StatsAt(now time.Time) (requests, accepts int64) {
	return t.w.sums(t.w.index(now))
}

func (t *Throttle) prob(idx int64) float64 {
	req, acc := t.w.sums(idx)
	p := (float64(req) - t.k*float64(acc)) / float64(req+1)
	if p < 0 {
		return 0
	}
	return p
}

func (t *Throttle) reject(idx int64) {
	if bk := t.w.bucket(idx); bk != nil {
		bk.a.Add(1)
	}
}

func (t *Throttle) record(idx int64, accepted bool) {
	bk := t.w.bucket(idx)
	if bk == nil {
		return
	}
	bk.a.Add(1)
	if accepted {
		bk.b.Add(1)
	}
}

// IsThrottled reports whether err is, or wraps, a *DeniedError caused by a
// Throttle's local rejection.
func IsThrottled(err error) bool {
	var de *DeniedError
	return errors.As(err, &de) && de.Reason == ReasonThrottled
}
