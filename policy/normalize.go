package policy

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults and safe ranges applied by Normalize.
const (
	DefaultMaxAttempts       = 3
	MaxMaxAttempts           = 10
	DefaultInitialBackoff    = 100 * time.Millisecond
	MinInitialBackoff        = time.Millisecond
	MaxInitialBackoff        = time.Minute
	DefaultMaxBackoff        = 10 * time.Second
	MaxMaxBackoff            = 5 * time.Minute
	DefaultBackoffMultiplier = 2.0
	MinBackoffMultiplier     = 1.0
	MaxBackoffMultiplier     = 10.0
	MinTimeout               = time.Millisecond
	MaxTimeoutPerAttempt     = time.Hour
	MaxOverallTimeout        = 24 * time.Hour
	DefaultBudgetCost        = 1
	MaxBudgetCost            = 1000
	DefaultMaxHedges         = 1
	MaxMaxHedges             = 5
	DefaultHedgeDelay        = 50 * time.Millisecond
	MinHedgeDelay            = time.Millisecond
	MaxHedgeDelay            = time.Minute
	DefaultFailureThreshold  = 5
	MaxFailureThreshold      = 1000
	DefaultCooldown          = 5 * time.Second
	MinCooldown              = 10 * time.Millisecond
	MaxCooldown              = 10 * time.Minute
)

// ErrInvalidPolicy is wrapped by every error Normalize returns.
var ErrInvalidPolicy = errors.New("policy: invalid policy")

// FieldError reports a value that cannot be repaired. Field is the JSON path
// of the field ("retry.jitter").
type FieldError struct {
	Field string
	Value string
	Msg   string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("policy: %s: %s (got %q)", e.Field, e.Msg, e.Value)
}

// Unwrap returns ErrInvalidPolicy.
func (e *FieldError) Unwrap() error { return ErrInvalidPolicy }

// Normalize returns a copy of p with every zero field set to its default and
// every out-of-range value clamped into its documented range. The JSON paths
// of the fields it clamped (not those it merely defaulted) are appended to
// Meta.ClampedFields, and Meta.Normalized is set.
//
// The error, a *FieldError (or several joined with errors.Join), is only for
// values that cannot be repaired, such as an unknown jitter kind.
// Normalize never panics.
func (p EffectivePolicy) Normalize() (EffectivePolicy, error) {
	n := normalizer{}
	if len(p.Meta.ClampedFields) > 0 {
		// Keep what an earlier pass recorded; never share the backing array.
		n.clamped = append([]string(nil), p.Meta.ClampedFields...)
	}
	p.Retry = n.retry(p.Retry)
	p.Hedge = n.hedge(p.Hedge)
	p.Circuit = n.circuit(p.Circuit)
	p.Meta.Normalized = true
	p.Meta.ClampedFields = n.clamped
	if p.Meta.Source == "" {
		p.Meta.Source = SourceUnknown
	}
	return p, errors.Join(n.errs...)
}

type normalizer struct {
	clamped []string
	errs    []error
}

func (n *normalizer) clamp(field string) { n.clamped = append(n.clamped, field) }

func (n *normalizer) fail(field, value, msg string) {
	n.errs = append(n.errs, &FieldError{Field: field, Value: value, Msg: msg})
}

// dur clamps a duration: zero becomes def, anything outside [lo, hi] is
// clamped and recorded.
func (n *normalizer) dur(field string, d, def, lo, hi time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < lo:
		n.clamp(field)
		return lo
	case d > hi:
		n.clamp(field)
		return hi
	}
	return d
}

// timeout clamps an optional timeout: zero means none, a negative value is
// meaningless and becomes none (recorded).
func (n *normalizer) timeout(field string, d, hi time.Duration) time.Duration {
	if d < 0 {
		n.clamp(field)
		return 0
	}
	if d == 0 {
		return 0
	}
	return n.dur(field, d, 0, MinTimeout, hi)
}

func (n *normalizer) count(field string, v, def, lo, hi int) int {
	switch {
	case v == 0:
		return def
	case v < lo:
		n.clamp(field)
		return lo
	case v > hi:
		n.clamp(field)
		return hi
	}
	return v
}

func (n *normalizer) budget(costField string, b BudgetRef) BudgetRef {
	b.Cost = n.count(costField, b.Cost, DefaultBudgetCost, 1, MaxBudgetCost)
	return b
}

func (n *normalizer) retry(r RetryPolicy) RetryPolicy {
	r.MaxAttempts = n.count("retry.max_attempts", r.MaxAttempts, DefaultMaxAttempts, 1, MaxMaxAttempts)
	r.InitialBackoff = n.dur("retry.initial_backoff", r.InitialBackoff, DefaultInitialBackoff, MinInitialBackoff, MaxInitialBackoff)
	if r.MaxBackoff == 0 {
		r.MaxBackoff = DefaultMaxBackoff
		if r.MaxBackoff < r.InitialBackoff {
			r.MaxBackoff = r.InitialBackoff
		}
	} else {
		r.MaxBackoff = n.dur("retry.max_backoff", r.MaxBackoff, DefaultMaxBackoff, r.InitialBackoff, MaxMaxBackoff)
	}
	switch m := r.BackoffMultiplier; {
	case m == 0:
		r.BackoffMultiplier = DefaultBackoffMultiplier
	case math.IsNaN(m):
		n.clamp("retry.backoff_multiplier")
		r.BackoffMultiplier = DefaultBackoffMultiplier
	case m < MinBackoffMultiplier:
		n.clamp("retry.backoff_multiplier")
		r.BackoffMultiplier = MinBackoffMultiplier
	case m > MaxBackoffMultiplier:
		n.clamp("retry.backoff_multiplier")
		r.BackoffMultiplier = MaxBackoffMultiplier
	}
	if r.Jitter == "" {
		r.Jitter = JitterFull
	} else if !r.Jitter.Valid() {
		n.fail("retry.jitter", string(r.Jitter), "unknown jitter kind (want none, full, equal or decorrelated)")
		r.Jitter = JitterFull
	}
	r.TimeoutPerAttempt = n.timeout("retry.timeout_per_attempt", r.TimeoutPerAttempt, MaxTimeoutPerAttempt)
	r.OverallTimeout = n.timeout("retry.overall_timeout", r.OverallTimeout, MaxOverallTimeout)
	r.Budget = n.budget("retry.budget.cost", r.Budget)
	return r
}

func (n *normalizer) hedge(h HedgePolicy) HedgePolicy {
	h.MaxHedges = n.count("hedge.max_hedges", h.MaxHedges, DefaultMaxHedges, 1, MaxMaxHedges)
	h.Delay = n.dur("hedge.delay", h.Delay, DefaultHedgeDelay, MinHedgeDelay, MaxHedgeDelay)
	if h.Trigger == "" {
		h.Trigger = TriggerFixed
	}
	h.Budget = n.budget("hedge.budget.cost", h.Budget)
	return h
}

func (n *normalizer) circuit(c CircuitPolicy) CircuitPolicy {
	c.FailureThreshold = n.count("circuit.failure_threshold", c.FailureThreshold, DefaultFailureThreshold, 1, MaxFailureThreshold)
	c.Cooldown = n.dur("circuit.cooldown", c.Cooldown, DefaultCooldown, MinCooldown, MaxCooldown)
	return c
}

func (r *RetryPolicy) fillDefaults() {
	var n normalizer
	*r = n.retry(*r)
}

func (h *HedgePolicy) fillDefaults() {
	var n normalizer
	*h = n.hedge(*h)
}

func (c *CircuitPolicy) fillDefaults() {
	var n normalizer
	*c = n.circuit(*c)
}
