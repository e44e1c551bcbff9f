package retry

import (
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// PanicDrainTimeout bounds how long a call that ends in a panic waits, in
// real time, for its cancelled attempts to return before it re-raises (or
// returns) the panic: attempts that honour their context return within it,
// and their budget decisions and gate permits are released before the
// caller sees the panic. An attempt that ignores its context longer is
// left to release its own when it returns.
const PanicDrainTimeout = 100 * time.Millisecond

// hook notes which user code the engine is about to call, so that a panic
// caught by finish says where it came from.
func (c *engine[T]) hook(src string, attempt int) { c.src, c.srcAttempt = src, attempt }

// unhook notes that the user code named by the last hook returned: a panic
// raised from here on is the executor's own (SourceExecutor), not the last
// hook's.
func (c *engine[T]) unhook() { c.src, c.srcAttempt = "", -1 }

// panicSource is where a panic caught by finish came from.
func (c *engine[T]) panicSource() (src string, attempt int) {
	if c.src == "" {
		return SourceExecutor, -1
	}
	return c.src, c.srcAttempt
}

// finish runs on every path out of run. It catches a panic raised in the
// caller's goroutine by user code, cleans up (every call into user code
// there is contained one by one), hands undelivered values to Discard and,
// when the call panicked, re-raises the first panic or returns it.
func (c *engine[T]) finish(v *T, err *error, tl *observe.Timeline) {
	r := recover()
	if r == nil && c.panicErr == nil {
		c.cleanup() // the common path: nothing panicked
		return
	}
	c.finishWith(r, v, err, tl)
}

// finishWith is finish, r being what a deferred recover returned.
func (c *engine[T]) finishWith(r any, v *T, err *error, tl *observe.Timeline) {
	if r != nil {
		src, ai := c.panicSource()
		c.caught(&PanicError{Value: r, Stack: stack(), Attempt: ai, Source: src})
	}
	c.cleanup()
	if c.panicErr == nil {
		return
	}
	if !c.ended {
		c.endOnPanic(tl)
	}
	if c.hasVal {
		c.hasVal = false
		c.discardSafely(c.lastVal, -1)
	}
	if c.succeeded {
		// A hook panicked after the call had succeeded (while releasing a
		// loser's decision, say): the value will not be returned.
		c.succeeded = false
		c.discardSafely(*v, c.winner)
	}
	var zero T
	*v, *err = zero, c.panicErr
	if !c.e.recoverPanics {
		panic(c.panicErr)
	}
}

// caught records a panic: the first one is the call's; any later one can
// no longer reach the caller and is reported as a late panic.
func (c *engine[T]) caught(pe *PanicError) {
	if c.panicErr == nil {
		c.panicErr = pe
		return
	}
	c.e.latePanic(c.key, pe)
}

// endOnPanic records the end of a call that a hook's panic interrupted.
func (c *engine[T]) endOnPanic(tl *observe.Timeline) {
	c.ended = true
	c.stop = StopPanic
	if c.recording {
		c.tl.End = c.now()
		c.tl.FinalErr = c.panicErr
		c.flushPending()
		if c.tl.Attributes != nil {
			c.tl.Attributes[observe.AttrStopReason] = StopPanic
		}
		if c.e.hooks&observe.HookFailure != 0 && c.panicErr.Source != SourceObserver {
			c.safely(SourceObserver, -1, func() { c.e.obs.OnFailure(c.ctx, c.key, c.tl) })
		}
	}
	if tl != nil {
		*tl = c.tl
	}
}

// safely calls f, user code of kind src about attempt ai, containing a
// panic: cleanup goes on whatever one hook does.
func (c *engine[T]) safely(src string, ai int, f func()) {
	defer func() {
		if r := recover(); r != nil {
			c.caught(&PanicError{Value: r, Stack: stack(), Attempt: ai, Source: src})
		}
	}()
	f()
}

func (c *engine[T]) discardSafely(v T, ai int) {
	if c.discard != nil {
		c.safely(SourceDiscard, ai, func() { c.discard(v) })
	}
}

// cleanup cancels what is still running, completes the gates' permits
// the attempts hold and hands back the results that arrived but were not
// used. After a panic it first waits, up to PanicDrainTimeout, for the
// cancelled attempts to return.
func (c *engine[T]) cleanup() {
	c.stopHedgeTimer()
	for i := 0; i < c.launched; i++ {
		c.slot(i).stop()
	}
	if c.hub != nil {
		if c.panicErr != nil {
			c.drain()
		}
		for _, r := range c.hub.close() {
			c.settle(r)
		}
	}
	// Permits a panicking hook kept from being completed (in handle, in
	// launch before the attempt started, between admission and launch);
	// those of attempts still running are their goroutines' to complete.
	n := c.launched + 1 // and the attempt admitted but not launched
	if c.many == nil {
		n = 1
	} else if n > len(c.many) {
		n = len(c.many)
	}
	for i := 0; i < n; i++ {
		s := c.slot(i)
		if s.perm.n == 0 || (c.hub != nil && s.ran && !s.got) {
			continue
		}
		v := gate.NotRun
		if s.ran {
			v = gate.Cancelled
		}
		var r gate.Result
		if c.gateResult(s, v, classify.OutcomeUnknown, &r) {
			c.releasePermitsSafely(s, &r)
		}
	}
	if c.cancelCall != nil {
		c.cancelCall()
	}
	if c.hub != nil {
		// The slots and the hedging state live in the hub: the call is
		// done with them.
		h := c.hub
		c.hub, c.many, c.hedgeState = nil, nil, nil
		h.used = c.launched + 1 // (and the slot of an attempt admitted but not launched)
		h.unref()
	}
}

// drain waits, bounded by PanicDrainTimeout, for the attempts still
// running to return, and settles their results.
func (c *engine[T]) drain() {
	if c.inflight <= 0 {
		return
	}
	t := time.NewTimer(PanicDrainTimeout)
	defer t.Stop()
	for c.inflight > 0 {
		select {
		case si := <-c.hub.results:
			r := c.hub.take(si)
			c.inflight--
			c.settle(r)
		case <-t.C:
			return
		}
	}
}

// settle disposes of a result the call will not use: its permits are
// completed (the attempt was cancelled), its value discarded, its panic
// reported as a late one.
func (c *engine[T]) settle(r result[T]) {
	s := c.slot(r.slot)
	s.running, s.got = false, true
	var gr gate.Result
	if c.gateResult(s, gate.Cancelled, classify.OutcomeUnknown, &gr) {
		c.releasePermitsSafely(s, &gr)
	}
	if r.pe != nil {
		c.e.latePanic(c.key, r.pe)
		return
	}
	c.discardSafely(r.val, r.ai)
}

// latePanic reports a panic that can no longer reach a caller: it is
// counted (LatePanics) and delivered as an observe.EventLatePanic to an
// observer that implements observe.EventObserver.
func (e *Executor) latePanic(key policy.PolicyKey, pe *PanicError) {
	e.latePanics.Add(1)
	if e.events == nil {
		return
	}
	e.event(observe.Event{Kind: observe.EventLatePanic, Key: key, Time: e.clk.Now(), Detail: pe.Source, Err: pe})
}

// LatePanics counts the panics that could not reach a caller: raised by an
// attempt (or a hook releasing or discarding it) after its call had
// returned or had already ended in a success or another panic. Each is
// also delivered as an observe.EventLatePanic to an observer implementing
// observe.EventObserver. Export it as a metric: it should stay zero.
func (e *Executor) LatePanics() uint64 { return e.latePanics.Load() }
