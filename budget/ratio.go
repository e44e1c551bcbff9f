package budget

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/policy"
)

// Defaults of RatioOptions.
const (
	DefaultRatio               = 0.1
	DefaultMinRetriesPerSecond = 10.0
	DefaultRatioWindow         = 10 * time.Second
	DefaultRatioBuckets        = 10
	// MaxWindowBuckets bounds the memory (and the cost of a retry check)
	// of a sliding window.
	MaxWindowBuckets = 1000
)

// Reasons recorded by RatioBudget.
const (
	ReasonFirstAttempt  = "first_attempt"
	ReasonWithinRatio   = "within_ratio"
	ReasonRatioExceeded = "ratio_exceeded"
)

// RatioOptions configures a RatioBudget. The zero value gives a budget of
// 10% of recent calls, at least 10 retries per second, over 10 seconds.
type RatioOptions struct {
	// Ratio is the fraction of recent first attempts that may be retried
	// (retries and hedges together, weighted by BudgetRef.Cost). Zero means
	// DefaultRatio (0.1, the figure the Google SRE book recommends); a
	// negative value means none, leaving only the floor. At most 1000.
	Ratio float64
	// MinRetriesPerSecond is the floor that lets low-traffic callers retry:
	// the budget allows max(Ratio*requests, MinRetriesPerSecond*Window)
	// retries per window. Zero means DefaultMinRetriesPerSecond (10); a
	// negative value means no floor.
	MinRetriesPerSecond float64
	// Window is how far back the budget counts. Zero means
	// DefaultRatioWindow (10s). At least Buckets nanoseconds.
	Window time.Duration
	// Buckets is how many slices the window is counted in: the window
	// slides by Window/Buckets at a time, and each retry check sums every
	// bucket. Zero means DefaultRatioBuckets (10); at most
	// MaxWindowBuckets.
	Buckets int
	// Clock tells the time. Nil means clock.Real.
	Clock clock.Clock
}

// RatioBudget is a retry budget that allows retries while they stay under
// a fraction of recent calls. First attempts are always allowed and
// counted; retries and hedges (any attempt but a first KindRetry one) are
// allowed while the retries counted in the window, this one included,
// stay within
//
//	max(Ratio * first attempts, MinRetriesPerSecond * Window)
//
// So under a total outage a budgeted caller sends at most (1+Ratio) times
// its offered load once traffic is high enough for the ratio to pass the
// floor, however many attempts its policy allows.
//
// The window is Buckets buckets of Window/Buckets each, the current one
// included; it therefore covers between Window-Window/Buckets and Window
// of history. The bound holds exactly at every decision: when a retry is
// allowed, the window ending in its bucket holds at most the limit, every
// retry allowed in it (before or after, by any goroutine) counted. A retry
// is counted before it is checked and uncounted when denied, so racing
// retries can deny each other spuriously but never pass the limit
// together. Requests and retries stay in the window for the same time,
// so over a whole run (without a floor) retries stay within Ratio of first
// attempts, as the property tests check; but a later window can hold more
// retries than its own requests allow when the requests that paid for
// them sat in buckets that have left it, and it then allows none until it
// is back under. Callers whose clocks disagree by more than a bucket blur
// the bound; a caller a whole window behind is denied.
//
// The hot path is a few atomic operations and no locks; memory is fixed by
// Buckets. A RatioBudget is safe for concurrent use. Decision.Release is
// always nil.
type RatioBudget struct {
	w        *window // a: first attempts, b: retry units
	ratio    float64
	minRetry float64 // retries per window allowed whatever the traffic
}

// NewRatioBudget returns a ratio budget configured by opts. The error names
// the first invalid field.
func NewRatioBudget(opts RatioOptions) (*RatioBudget, error) {
	ratio := opts.Ratio
	switch {
	case math.IsNaN(ratio) || ratio > 1000:
		return nil, fmt.Errorf("budget: RatioOptions.Ratio must be a number at most 1000, got %v", opts.Ratio)
	case ratio == 0:
		ratio = DefaultRatio
	case ratio < 0:
		ratio = 0
	}
	perSec := opts.MinRetriesPerSecond
	switch {
	case math.IsNaN(perSec) || math.IsInf(perSec, 1):
		return nil, fmt.Errorf("budget: RatioOptions.MinRetriesPerSecond must be finite, got %v", opts.MinRetriesPerSecond)
	case perSec == 0:
		perSec = DefaultMinRetriesPerSecond
	case perSec < 0:
		perSec = 0
	}
	buckets, win, err := windowShape("RatioOptions", opts.Buckets, opts.Window, DefaultRatioBuckets, DefaultRatioWindow)
	if err != nil {
		return nil, err
	}
	return &RatioBudget{
		w:        newWindow(opts.Clock, win, buckets),
		ratio:    ratio,
		minRetry: perSec * win.Seconds(),
	}, nil
}

// AllowAttempt counts and allows first attempts; it allows a retry or a
// hedge, costing ref.Cost units (1 when unset), while the window's retries
// stay within the limit.
func (r *RatioBudget) AllowAttempt(_ context.Context, _ policy.PolicyKey, attemptIdx int, kind AttemptKind, ref policy.BudgetRef) Decision {
	return r.allow(r.w.nowIndex(), attemptIdx, kind, ref)
}

// AllowAttemptAt is AllowAttempt at now, a reading of the budget's Clock
// (RatioOptions.Clock); a zero now reads the clock.
func (r *RatioBudget) AllowAttemptAt(_ context.Context, _ policy.PolicyKey, attemptIdx int, kind AttemptKind, ref policy.BudgetRef, now time.Time) Decision {
	return r.allow(r.w.at(now), attemptIdx, kind, ref)
}

// Clock returns the clock the budget reads: RatioOptions.Clock, or
// clock.Real when that was nil.
func (r *RatioBudget) Clock() clock.Clock { return r.w.clk }

func (r *RatioBudget) allow(idx int64, attemptIdx int, kind AttemptKind, ref policy.BudgetRef) Decision {
	if attemptIdx == 0 && kind == KindRetry {
		r.request(idx)
		return Decision{Allowed: true, Reason: ReasonFirstAttempt}
	}
	if r.retry(idx, ref.Cost) {
		return Decision{Allowed: true, Reason: ReasonWithinRatio}
	}
	return Decision{Allowed: false, Reason: ReasonRatioExceeded}
}

// RecordRequestAt counts a first attempt made at t. Times before the
// budget's creation count as its creation.
func (r *RatioBudget) RecordRequestAt(t time.Time) { r.request(r.w.index(t)) }

// TakeRetryAt counts n retry units at t if the window allows them, and
// reports whether it did. n <= 0 counts as 1.
func (r *RatioBudget) TakeRetryAt(t time.Time, n int) bool { return r.retry(r.w.index(t), n) }

// StatsAt returns the first attempts and retry units counted in the window
// that ends at t.
func (r *RatioBudget) StatsAt(t time.Time) (requests, retries int64) {
	return r.w.sums(r.w.index(t))
}

// LimitAt returns how many retry units the window ending at t allows in
// all, counting those already taken.
func (r *RatioBudget) LimitAt(t time.Time) int64 {
	req, _ := r.w.sums(r.w.index(t))
	return int64(r.limit(req))
}

func (r *RatioBudget) limit(requests int64) float64 {
	l := r.ratio * float64(requests)
	if l < r.minRetry {
		l = r.minRetry
	}
	return l
}

func (r *RatioBudget) request(idx int64) {
	if bk := r.w.bucket(idx); bk != nil {
		bk.a.Add(1)
	}
}

func (r *RatioBudget) retry(idx int64, n int) bool {
	cost := int64(n)
	if cost <= 0 {
		cost = 1
	}
	bk := r.w.bucket(idx)
	if bk == nil {
		return false
	}
	// Count first, then check: a retry that passes has seen every retry
	// counted before it, so concurrent retries cannot overshoot together.
	bk.b.Add(cost)
	req, ret := r.w.sums(idx)
	if float64(ret) <= r.limit(req) {
		return true
	}
	bk.b.Add(-cost)
	return false
}
