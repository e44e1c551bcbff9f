package retry

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/cow"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// The Detail of an observe.EventKeyOverflow names the per-key registry
// that was full: the gate names of the registries behind the built-in
// gates (gate.NameCircuit, gate.NameShed, gate.NameRateLimit,
// gate.NameBulkhead, gate.NameConcurrency), or OverflowLatencies.
const OverflowLatencies = "latencies"

// overflowNames are the registries whose overflows the executor reports.
var overflowNames = [...]string{gate.NameCircuit, gate.NameShed, gate.NameRateLimit, gate.NameBulkhead, gate.NameConcurrency, OverflowLatencies}

// maxExhausted bounds how many (budget, key) pairs the executor remembers
// as exhausted; see budgetVerdict.
const maxExhausted = 256

// The reason the overload registries record for a key they had no room
// for (bulkhead, ratelimit, adaptive and shed all use this word).
const reasonOverflow = "overflow"

// lifecycle is the executor's state for the lifecycle events it emits.
type lifecycle struct {
	// overflows counts the overflows the executor saw, per registry (as
	// in overflowNames).
	overflows [len(overflowNames)]atomic.Uint64

	// exhausted holds the (budget, key) pairs whose last decision was a
	// denial; nExhausted counts them, so that an allowed attempt reads one
	// atomic word while no pair is exhausted.
	exhausted  cow.Map[exhaustKey, struct{}]
	nExhausted atomic.Int32
	mu         sync.Mutex // serialises changes of exhausted
}

type exhaustKey struct {
	budget string
	key    policy.PolicyKey
}

// event delivers ev to the executor's EventObserver, if it has one. A
// panic in the observer is recovered and dropped: an event reports
// something that already happened, and the caller (a call, a breaker
// transition) must not fail because an observer did.
func (e *Executor) event(ev observe.Event) {
	if e.events == nil {
		return
	}
	defer func() { _ = recover() }()
	e.events.OnEvent(context.Background(), ev)
}

// breakerChanged is the OnStateChange hook the executor installs.
func (e *Executor) breakerChanged(ch circuit.StateChange) { e.event(ch.Event()) }

// useBreakers installs the executor's hook on its breaker registry: on its
// own registry always, on one given in the options only when its
// OnStateChange is nil (NewExecutor runs before the registry is used by
// this executor, so there is no race with its breakers).
func (e *Executor) useBreakers(reg *circuit.Registry) {
	if reg == nil {
		reg = circuit.NewRegistry()
	}
	if e.events != nil && reg.OnStateChange == nil {
		reg.OnStateChange = e.breakerChanged
	}
	e.breakers = reg
}

// overflowed reports that the registry named reg (one of overflowNames)
// had no room for key. Only the 1st, 2nd, 4th, 8th, ... overflow of each
// registry seen by this executor becomes an event, so a flood of new keys
// costs a number of events logarithmic in its size.
func (e *Executor) overflowed(reg string, key policy.PolicyKey) {
	for i := range overflowNames {
		if overflowNames[i] != reg {
			continue
		}
		n := e.life.overflows[i].Add(1)
		if n&(n-1) == 0 && e.events != nil {
			e.event(observe.Event{Kind: observe.EventKeyOverflow, Key: key, Time: e.clk.Now(), Detail: reg})
		}
		return
	}
}

// budgetVerdict follows the decisions of budget name for key: the first
// denial after an allowed retry or hedge (or the first denial ever) is an
// observe.EventBudgetExhausted; further denials are not, until a retry or
// hedge is allowed again. A call's first attempt, which budgets allow as a
// matter of course, does not count as allowing (first is set for it). At
// most maxExhausted pairs are remembered as exhausted at once; a denial of
// another pair while that many are is not reported. The executor calls
// it only when it has an EventObserver.
func (e *Executor) budgetVerdict(name string, key policy.PolicyKey, denied, first bool) {
	l := &e.life
	if !denied {
		if first {
			return
		}
		if l.nExhausted.Load() == 0 {
			return
		}
		k := exhaustKey{name, key}
		if _, ok := l.exhausted.Load(k); ok {
			l.mu.Lock()
			if _, ok := l.exhausted.Load(k); ok {
				l.exhausted.Delete(k)
				l.nExhausted.Add(-1)
			}
			l.mu.Unlock()
		}
		return
	}
	k := exhaustKey{name, key}
	if _, ok := l.exhausted.Load(k); ok {
		return
	}
	l.mu.Lock()
	_, ok := l.exhausted.Load(k)
	fresh := !ok && l.nExhausted.Load() < maxExhausted
	if fresh {
		l.exhausted.Store(k, struct{}{})
		l.nExhausted.Add(1)
	}
	l.mu.Unlock()
	if fresh {
		e.event(observe.Event{Kind: observe.EventBudgetExhausted, Key: key, Time: e.clk.Now(), Detail: name})
	}
}
