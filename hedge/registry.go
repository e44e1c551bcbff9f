package hedge

import (
	"strconv"
	"time"

	"github.com/aponysus/rego/internal/cow"
	"github.com/aponysus/rego/policy"
)

// Registry maps trigger names to triggers. NewRegistry returns one holding
// the built-in triggers; Register adds user-written ones. Lookups are
// lock-free; a Registry is safe for concurrent use.
type Registry struct {
	m cow.Map[policy.HedgeTrigger, Trigger]
}

// NewRegistry returns a registry holding the built-in triggers: "fixed",
// "p50", "p90", "p95" and "p99".
func NewRegistry() *Registry {
	r := &Registry{}
	r.m.Store(policy.TriggerFixed, Fixed{})
	r.m.Store(policy.TriggerP50, Quantile{Q: 0.50})
	r.m.Store(policy.TriggerP90, Quantile{Q: 0.90})
	r.m.Store(policy.TriggerP95, Quantile{Q: 0.95})
	r.m.Store(policy.TriggerP99, Quantile{Q: 0.99})
	return r
}

// Register adds or replaces the trigger for name. It panics on an empty
// name or a nil trigger: both are programming errors.
func (r *Registry) Register(name policy.HedgeTrigger, t Trigger) {
	if name == "" {
		panic("hedge: Register with an empty name")
	}
	if t == nil {
		panic("hedge: Register of a nil trigger for " + string(name))
	}
	r.m.Store(name, t)
}

// Get returns the trigger registered under name.
func (r *Registry) Get(name policy.HedgeTrigger) (Trigger, bool) {
	if r == nil {
		return nil, false
	}
	return r.m.Load(name)
}

// Fixed launches every hedge Policy.Delay after the previous launch.
type Fixed struct{}

// Delay returns in.Policy.Delay.
func (Fixed) Delay(in TriggerInput) (time.Duration, string, bool) {
	return in.Policy.Delay, "fixed", true
}

// ReadsLatency returns false: the fixed delay needs no latencies.
func (Fixed) ReadsLatency() bool { return false }

// Quantile launches a hedge once the attempts of the step have run for the
// key's recent Q-quantile latency: the first hedge at the quantile, later
// ones spaced by the same amount. The quantile is read with Tracker.Bound,
// so it never falls below the sampled quantile: with Q 0.95 at most about
// 5% of a steady key's primaries run long enough to be hedged. The delay is
// clamped to [policy.MinHedgeDelay, policy.MaxHedgeDelay]. Until the
// tracker holds MinSamples latencies (or when the executor keeps none) it
// uses Policy.Delay, with reason "warmup_fixed".
//
// Reasons are "p50", "p90", "p95", "p99", "p99.9" and, for other Q,
// "p" followed by 100*Q.
type Quantile struct {
	Q float64
}

// Delay returns the key's recent Q-quantile latency, or Policy.Delay.
func (q Quantile) Delay(in TriggerInput) (time.Duration, string, bool) {
	if in.Latency != nil {
		if d, ok := in.Latency.Bound(q.Q); ok {
			if d < policy.MinHedgeDelay {
				d = policy.MinHedgeDelay
			}
			if d > policy.MaxHedgeDelay {
				d = policy.MaxHedgeDelay
			}
			return d, q.reason(), true
		}
	}
	return in.Policy.Delay, "warmup_fixed", true
}

// ReadsLatency returns true: the quantile is read from TriggerInput.Latency.
func (Quantile) ReadsLatency() bool { return true }

// reason names the quantile without allocating for the common ones.
func (q Quantile) reason() string {
	switch q.Q {
	case 0.5:
		return "p50"
	case 0.9:
		return "p90"
	case 0.95:
		return "p95"
	case 0.99:
		return "p99"
	case 0.999:
		return "p99.9"
	}
	return "p" + strconv.FormatFloat(q.Q*100, 'g', 6, 64)
}
