package hedge

import (
	"time"

	"github.com/aponysus/rego/policy"
)

// TriggerInput is what a trigger knows when the executor asks it when to
// launch the next hedge of a retry step.
type TriggerInput struct {
	Key    policy.PolicyKey
	Policy policy.HedgePolicy
	// HedgeIndex is the index of the hedge about to be scheduled: 1 for
	// the first hedge of the step.
	HedgeIndex int
	// Latency holds the key's recent latencies; nil when the executor
	// keeps none.
	Latency *Tracker
}

// Trigger decides when hedges are launched.
//
// Delay returns how long to wait after the previous launch of the step
// (the primary attempt for the first hedge, the previous hedge after that)
// before launching hedge in.HedgeIndex, and a short low-cardinality reason
// recorded in the hedge's attempt record ("p95", "fixed", "warmup_fixed"):
// reasons become metric labels, so never put the delay itself in them.
// Returning ok false launches no more hedges in the step.
//
// Implementations must be safe for concurrent use and cheap: Delay runs
// once per hedge scheduled.
type Trigger interface {
	Delay(in TriggerInput) (d time.Duration, reason string, ok bool)
}

// TriggerFunc adapts a function to the Trigger interface.
type TriggerFunc func(in TriggerInput) (time.Duration, string, bool)

// Delay calls f(in).
func (f TriggerFunc) Delay(in TriggerInput) (time.Duration, string, bool) { return f(in) }

// LatencyReader is implemented by a Trigger that tells whether its Delay
// reads TriggerInput.Latency. The executor feeds its own latency trackers
// (ExecutorOptions.Latencies nil) only from calls whose trigger may read
// them: a trigger whose ReadsLatency returns false is given a nil Latency
// and spares its calls the tracking (two clock readings and a histogram
// update per call). Latencies the caller supplied are fed whatever the
// trigger, since the caller may read them; the trigger is then given the
// key's tracker. A trigger that does not implement LatencyReader is taken
// to read latencies: see ReadsLatency.
type LatencyReader interface {
	ReadsLatency() bool
}

// ReadsLatency reports whether trigger t may read TriggerInput.Latency:
// false only when t implements LatencyReader and says so. Fixed reads
// none; Quantile does; a TriggerFunc may.
func ReadsLatency(t Trigger) bool {
	if r, ok := t.(LatencyReader); ok {
		return r.ReadsLatency()
	}
	return true
}
