package circuit

import (
	"time"

	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// StateChange is a breaker's change of state, as reported to
// Registry.OnStateChange.
type StateChange struct {
	Key      policy.PolicyKey
	From, To State
	// At is the time the change was made at: the time of the result or
	// admission that caused it, or the time given to a manual change.
	At time.Time
	// Forced reports that To is a forced state (ForceOpen, ForceClose).
	Forced bool
	// Cause says why: one of the Cause constants.
	Cause string
	// Generation is the breaker's generation from this change on; it
	// grows by one with every change.
	Generation uint32
}

// Event returns the change as an observe.Event of kind
// observe.EventBreakerState, with the cause as its Detail, for observers
// that implement observe.EventObserver.
func (c StateChange) Event() observe.Event {
	return observe.Event{Kind: observe.EventBreakerState, Key: c.Key, Time: c.At, From: c.From.String(), To: c.To.String(), Detail: c.Cause}
}

// notify reports ch (if it is a change) to the registry's hook.
func (b *Breaker) notify(ch StateChange) {
	if ch.Cause == "" || b.reg == nil {
		return
	}
	if f := b.reg.OnStateChange; f != nil {
		f(ch)
	}
}
