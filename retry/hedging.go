package retry

import (
	"context"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/hedge"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// hub is what attempt goroutines share with the coordinator: a buffered
// channel for results (never blocks: it holds one slot per attempt the
// call may launch) and, once the call has returned, the duty to release
// and discard late results themselves.
type hub[T any] struct {
	results chan result[T]
	discard func(T)
	mu      sync.Mutex
	closed  bool
	// hs is the coordinator's hedging state, allocated with the hub; the
	// attempt goroutines never touch it.
	hs hedgeState
}

// hedgeState is what the coordinator keeps while hedging.
type hedgeState struct {
	hedgeGate    gate
	trigger      hedge.Trigger
	tracker      *hedge.Tracker
	stepStart    time.Time // launch of the step's primary
	hedgesInStep int
	hedgeTimer   clock.Timer
	hedgeReason  string
	hedgeStopped bool // no more hedges in this step
}

// tracking reports whether the call feeds a latency tracker.
func (c *engine[T]) tracking() bool { return c.hedgeState != nil && c.tracker != nil }

func newHub[T any](maxAttempts int, discard func(T)) *hub[T] {
	return &hub[T]{results: make(chan result[T], maxAttempts), discard: discard}
}

// run is the body of an attempt goroutine.
func (h *hub[T]) run(op invoker[T], ctx context.Context, si, ai int, release func()) {
	r := result[T]{slot: si}
	done := false
	defer func() {
		if !done {
			if v := recover(); v != nil {
				r.pe = &PanicError{Value: v, Stack: stack(), Attempt: ai}
			} else {
				r.err = errGoexit
			}
		}
		h.deliver(r, release)
	}()
	r.val, r.err = op.invoke(ctx)
	done = true
}

func (h *hub[T]) deliver(r result[T], release func()) {
	h.mu.Lock()
	if !h.closed {
		h.results <- r
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	// The call has returned: this late result is ours to clean up. Nothing
	// here may panic out of a library goroutine.
	defer func() { _ = recover() }()
	if release != nil {
		release()
	}
	if r.pe == nil && h.discard != nil {
		h.discard(r.val)
	}
}

// close marks the call as returned and hands back the results that had
// already arrived.
func (h *hub[T]) close() []result[T] {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	var out []result[T]
	for {
		select {
		case r := <-h.results:
			out = append(out, r)
		default:
			return out
		}
	}
}

func stack() []byte { return debug.Stack() }

// startHedging prepares the concurrent mode of the engine.
func (c *engine[T]) startHedging() {
	p := c.res.p
	c.hub = newHub[T](p.Retry.MaxAttempts, c.discard)
	c.hedgeState = &c.hub.hs
	c.e.gateFor(p.Hedge.Budget, &c.hedgeGate)
	c.many = make([]slot, p.Retry.MaxAttempts)
	c.tracker = c.e.latencies.For(c.key)
	if t, ok := c.e.triggers.Get(p.Hedge.Trigger); ok {
		c.trigger = t
		return
	}
	c.trigger = hedge.Fixed{}
	if c.recording {
		c.tl.Attributes[observe.AttrHedgeTriggerError] = "unknown trigger " + string(p.Hedge.Trigger) + "; using fixed delay"
	}
}

// armHedge schedules the next hedge of the step, if the policy and the
// deadline allow one.
func (c *engine[T]) armHedge() {
	p := c.res.p
	if !p.Hedge.Enabled || c.hedgeStopped || c.nonRetry || c.hedgesInStep >= p.Hedge.MaxHedges || c.launched >= p.Retry.MaxAttempts {
		return
	}
	d, reason, ok := c.trigger.Delay(hedgeInput(c.key, p, c.hedgesInStep+1, c.tracker))
	if !ok {
		c.hedgeStopped = true
		return
	}
	if d < 0 {
		d = 0
	}
	if c.hasDL && !c.now().Add(d).Before(c.deadline) {
		c.hedgeStopped = true
		if c.recording {
			c.tl.Attributes[observe.AttrHedgeSkipped] = "deadline"
		}
		return
	}
	c.hedgeReason = "trigger_" + reason
	c.hedgeTimer = c.e.clk.NewTimer(d)
}

func (c *engine[T]) fireHedge() {
	dec, ok := c.gate(true, 0)
	if !ok {
		c.hedgeStopped = true // a denied hedge ends hedging for the step
		return
	}
	c.launch(true, c.hedgesInStep+1, budget.KindHedge, 0, dec, &c.hedgeGate)
	c.hedgesInStep++
	c.armHedge()
}

func (c *engine[T]) stopHedgeTimer() {
	if c.hedgeState != nil && c.hedgeTimer != nil {
		c.hedgeTimer.Stop()
		c.hedgeTimer = nil
	}
}

func hedgeInput(key policy.PolicyKey, p *policy.EffectivePolicy, idx int, tr *hedge.Tracker) hedge.TriggerInput {
	return hedge.TriggerInput{Key: key, Policy: p.Hedge, HedgeIndex: idx, Latency: tr}
}
