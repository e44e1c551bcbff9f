package retry

import (
	"context"
	"time"

	"github.com/aponysus/rego/internal/attemptctx"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// This file is the goroutine driver of the decision core (engine.go):
// what Do and friends run in the caller's goroutine. It runs the
// attempts the core asks for (inline, or on goroutines through the hub
// when the call may have several in flight), waits the waits on the
// executor's clock (timers.go), and feeds back what happened.

func run[T any](ctx context.Context, e *Executor, key policy.PolicyKey, op invoker[T], opts CallOptions[T], host attemptctx.Host[observe.AttemptInfo], tl *observe.Timeline) (v T, err error) {
	// Field by field: a composite literal of this size is built in a
	// temporary and copied, which costs more than the rest of the call.
	var c engine[T]
	c.e, c.key, c.op, c.discard, c.ctx, c.host = e, key, op, opts.Discard, ctx, host
	// finish contains every panic raised in this goroutine by code the
	// user supplied, and cleans up on every path. (tl is passed, not kept
	// in c: a pointer stored in c would move the caller's timeline to the
	// heap.)
	defer c.finish(&v, &err, tl)
	a := c.begin(&opts, tl != nil)
	for {
		if a.kind != aAwait {
			c.stopHedgeTimer()
		}
		switch a.kind {
		case aLaunch:
			s := c.slot(a.si)
			if c.hub == nil {
				// The result comes back in registers and is read in place:
				// a result returned through memory and copied at once
				// stalls on the stores that wrote it, and one written
				// through a pointer pays the GC's write barriers.
				var r result[T]
				r.val, r.pe, r.err = c.invokeInline(s.rec, s.actx)
				r.slot, r.ai = a.si, s.rec
				a = c.resultIn(&r)
				continue
			}
			j := c.hub.jobOf(a.si)
			j.op, j.ctx, j.ai = c.op, s.actx, s.rec
			c.lateGatesOf(s, &j.lg)
			c.hub.start(a.si)
			a = c.started()
		case aSleep:
			a = c.woke(c.sleep(a.d))
		case aAwait:
			a = c.await(a)
		case aSucceed:
			return c.succeed(tl)
		default:
			return c.fail(c.failErr, tl)
		}
	}
}

// await is the goroutine driver's wait for the next event of the
// concurrent mode: a result, the hedge timer, the call's end.
func (c *engine[T]) await(a act) act {
	switch a.hedge {
	case HedgeArm:
		c.stopHedgeTimer()
		if a.d <= 0 && c.idle() {
			return c.hedgeDue()
		}
		c.hedgeTimer.start(c.e, a.d)
	case HedgeStop:
		c.stopHedgeTimer()
	}
	var hc <-chan time.Time
	if c.hedgeState != nil {
		hc = c.hedgeTimer.c()
	}
	var done <-chan struct{}
	if !c.ctxDone {
		done = c.callCtx.Done()
	}
	select {
	case si := <-c.hub.results:
		r := c.hub.take(si)
		return c.resultIn(&r)
	case <-hc:
		c.hedgeTimer.fired()
		return c.hedgeDue()
	case <-done:
		c.ctxDone = true
		return c.callDone()
	}
}

// idle reports that no event awaits the coordinator: no result has
// arrived and the call's context has not ended. A hedge due at once (a
// trigger's zero delay) is then launched without arming a timer: a timer
// of no delay is ready as soon as it is armed, so await's select would
// take it, being the only event ready. When another is, the timer is
// armed and the select chooses, as it always did.
func (c *engine[T]) idle() bool {
	if len(c.hub.results) > 0 {
		return false
	}
	if !c.ctxDone {
		select {
		case <-c.callCtx.Done():
			return false
		default:
		}
	}
	return true
}

func (c *engine[T]) invokeInline(ai int, ctx context.Context) (v T, pe *PanicError, err error) {
	done := false
	defer func() {
		if !done {
			if r := recover(); r != nil {
				pe = &PanicError{Value: r, Stack: stack(), Attempt: ai, Source: SourceOperation}
			}
		}
	}()
	v, err = c.op.invoke(ctx)
	done = true
	return v, nil, err
}

// stopHedgeTimer stops the goroutine driver's hedge timer.
func (c *engine[T]) stopHedgeTimer() {
	if c.hedgeState != nil {
		c.hedgeTimer.stop()
	}
}
