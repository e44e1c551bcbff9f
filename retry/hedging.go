package retry

import (
	"time"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/hedge"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// hedgeState is what the coordinator keeps while hedging.
type hedgeState struct {
	hplan        gatePlan // the gates of hedges
	trigger      hedge.Trigger
	tracker      *hedge.Tracker
	stepStart    time.Time // launch of the step's primary
	hedgesInStep int
	hedgeTimer   driverTimer // the goroutine driver's
	hedgeReason  string
	hedgeStopped bool // no more hedges in this step
}

// tracking reports whether the call feeds a latency tracker.
func (c *engine[T]) tracking() bool { return c.hedgeState != nil && c.tracker != nil }

// startHedging prepares the concurrent mode of the engine.
func (c *engine[T]) startHedging() {
	p := c.res.p
	if c.stepped {
		// The driver runs the attempts: no hub, no goroutines.
		c.hedgeState = new(hedgeState)
		c.many = make([]slot, p.Retry.MaxAttempts)
	} else {
		c.hub = newHub[T](c.e, c.key, p.Retry.MaxAttempts, c.discard)
		c.hedgeState = &c.hub.hs
		c.many = c.hub.slotsFor(p.Retry.MaxAttempts)
	}
	c.e.planGates(c.key, p, !c.res.owned, gate.KindHedge, &c.hplan)
	if t, ok := c.e.triggers.Get(p.Hedge.Trigger); ok {
		c.trigger = t
	} else {
		c.trigger = hedge.Fixed{}
		if c.timeline {
			c.tl.Attributes[observe.AttrHedgeTriggerError] = "unknown trigger " + string(p.Hedge.Trigger) + "; using fixed delay"
		}
	}
	// A trigger that reads no latencies (the fixed delay, or one that says
	// so: hedge.LatencyReader): when nobody else can read the executor's
	// own trackers either, the call feeds none (and spares two clock
	// readings).
	if hedge.ReadsLatency(c.trigger) || !c.e.ownLatencies {
		c.tracker = c.e.latencies.For(c.key)
		if c.tracker != nil && c.tracker == c.e.latencies.Overflow() {
			c.e.overflowed(OverflowLatencies, c.key)
		}
	}
}

// armHedge decides the next hedge of the step: it asks the driver to arm
// the hedge timer if the policy and the deadline allow one, and to stop it
// otherwise.
func (c *engine[T]) armHedge() act {
	p := c.res.p
	stop := act{kind: aAwait, hedge: HedgeStop}
	if !p.Hedge.Enabled || c.hedgeStopped || c.nonRetry || c.hedgesInStep >= p.Hedge.MaxHedges || c.launched >= p.Retry.MaxAttempts {
		return stop
	}
	c.hook(SourceTrigger, c.nrec)
	d, reason, ok := c.trigger.Delay(hedgeInput(c.key, p, c.hedgesInStep+1, c.tracker))
	c.unhook()
	if !ok {
		c.hedgeStopped = true
		return stop
	}
	if d < 0 {
		d = 0
	}
	if c.hasDL && !c.now().Add(d).Before(c.deadline) {
		c.hedgeStopped = true
		if c.timeline {
			c.tl.Attributes[observe.AttrHedgeSkipped] = "deadline"
		}
		return stop
	}
	if c.recording {
		c.hedgeReason = HedgeTriggerPrefix + reason
	}
	return act{kind: aAwait, hedge: HedgeArm, d: d}
}

// hedgeDue handles the hedge timer's firing: the gates are asked about
// the hedge, and a refused hedge ends hedging for the step.
func (c *engine[T]) hedgeDue() act {
	if c.hedgeState == nil || c.hedgeStopped {
		return act{kind: aAwait}
	}
	if !c.admit(true, 0) {
		c.hedgeStopped = true
		return act{kind: aAwait}
	}
	return c.launch(true, c.hedgesInStep+1, 0)
}

func hedgeInput(key policy.PolicyKey, p *policy.EffectivePolicy, idx int, tr *hedge.Tracker) hedge.TriggerInput {
	return hedge.TriggerInput{Key: key, Policy: p.Hedge, HedgeIndex: idx, Latency: tr}
}

// HedgeTriggerPrefix starts the HedgeReason of a hedge: it is followed by
// its trigger's reason ("trigger_fixed", "trigger_p95"). The delay is not
// part of it (a quantile trigger's delay changes all the time, and the
// reason is a metric label); it is the time between the launches.
const HedgeTriggerPrefix = "trigger_"
