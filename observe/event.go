package observe

import (
	"context"
	"time"

	"github.com/aponysus/rego/policy"
)

// EventKind names a lifecycle event: something that happened to a key's
// state or to the executor's configuration rather than to one attempt.
type EventKind string

// The lifecycle events. The executor (package retry) emits the breaker,
// budget, overflow and late-panic events to its Observer; the policy
// providers (package controlplane) emit the reload events to their own
// Observer option.
const (
	// EventBreakerState: a circuit breaker changed state (From, To are
	// "closed", "open", "half_open"; Detail is the cause). The executor
	// hooks its breaker registry's OnStateChange to emit it.
	EventBreakerState EventKind = "breaker_state"
	// EventPolicyReload: a provider put a new policy document in force
	// (Version).
	EventPolicyReload EventKind = "policy_reload"
	// EventPolicyReloadFailed: a provider failed to load a document and
	// kept the last good one (Err).
	EventPolicyReloadFailed EventKind = "policy_reload_failed"
	// EventBudgetExhausted: a budget began denying attempts for a key
	// (Detail is the budget's name): emitted once when the denials start,
	// not for each denial.
	EventBudgetExhausted EventKind = "budget_exhausted"
	// EventKeyOverflow: a per-key registry was full, so a key got no state
	// of its own (Detail names the registry, Key is the key). Rate-limited:
	// the executor emits the 1st, 2nd, 4th, 8th, ... overflow of each
	// registry.
	EventKeyOverflow EventKind = "key_overflow"
	// EventLatePanic: an attempt the executor had already given up on (a
	// losing hedge, or one still running when the call returned) panicked.
	// The panic cannot reach the caller any more; Err is its *PanicError.
	EventLatePanic EventKind = "late_panic"
)

// Event is a lifecycle event.
type Event struct {
	Kind EventKind
	// Key is the key the event is about; zero for executor-wide events.
	Key  policy.PolicyKey
	Time time.Time
	// From and To are the old and new state of a state change.
	From, To string
	// Version is the policy version an event is about, if any.
	Version string
	// Detail is a short, low-cardinality description.
	Detail string
	// Err is the error an event reports, if any.
	Err error
}

// EventObserver is implemented by observers that want lifecycle events.
// The executor and the components it owns deliver them synchronously, from
// whichever goroutine saw the event; implementations must be safe for
// concurrent use and must not block. The executor recovers and drops a
// panic in OnEvent.
type EventObserver interface {
	OnEvent(ctx context.Context, ev Event)
}

// OnEvent fans the event out to the observers that implement
// EventObserver.
func (m MultiObserver) OnEvent(ctx context.Context, ev Event) {
	for _, o := range m.Observers {
		if eo, ok := o.(EventObserver); ok && o != nil {
			eo.OnEvent(ctx, ev)
		}
	}
}
