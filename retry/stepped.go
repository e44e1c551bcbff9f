package retry

import (
	"context"
	"time"

	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// Call is one call of an Executor driven step by step by the caller: the
// executor's decision core without the goroutines and timers of Do. The
// core asks for steps (run an attempt, wait, wait for an event) and the
// driver reports events (the attempt started, it ended, the wait is over,
// the hedge timer fired). Every decision is the one Do makes: the same
// policy resolution, backoff and jitter, gates in order, classifiers,
// Retry-After overrides, hedges, stop reasons, timeline and observers. The
// core reads time only through the executor's clock, so on a virtual
// clock a call is a pure function of its events and their times.
//
// A simulator drives thousands of calls this way on one goroutine, on
// virtual time:
//
//	k := retry.Begin(ctx, exec, key, retry.CallOptions[Reply]{})
//	for {
//		st := k.Next()
//		switch st.Kind {
//		case retry.StepLaunch:
//			send(st.Attempt, st.Ctx) // reports k.Result(st.Attempt, reply, err) when it ends
//			k.Launched()
//			continue
//		case retry.StepSleep:
//			schedule(st.Wait, k.Woke)
//		case retry.StepAwait:
//			// arm or stop the hedge timer (st.Hedge), which calls k.HedgeDue
//		case retry.StepDone:
//			v, tl, err := k.Outcome()
//		}
//		return // and call the loop again after each event
//	}
//
// The rules a driver follows:
//   - After Begin and after every event, Next says what to do. An event
//     the call does not expect (a Woke without a sleep, say) is a bug of
//     the driver; it is ignored. Launched comes before the Result of the
//     attempt it launched, even when the driver runs the attempt at once.
//   - A call keeps at most one hedge timer: StepAwait says whether to arm
//     it (replacing any armed one), keep it or stop it, and any other step
//     stops it.
//   - An attempt that honours its context ends no later than its
//     context's deadline (the per-attempt timeout, the overall timeout or
//     the caller's). A simulator models that by reporting
//     Result(attempt, zero, st.Ctx.Err()) at that deadline; on a virtual
//     clock the context's own timer fires first, at the same time, so
//     its error is set.
//   - Results of attempts the call cancelled (losing hedges, attempts
//     running when the call ended) may still be reported, after StepDone
//     too: their values go to CallOptions.Discard. Their gate permits are
//     completed as cancelled when the call ends.
//   - A panic in user code the core calls (a classifier, a gate, an
//     observer, Discard) ends the call with a *PanicError, as in Do: it is
//     re-raised out of the method that caused it unless the executor has
//     RecoverPanics, and Outcome returns it either way.
//   - A gate that waits (a bulkhead with a maximum wait, say) waits inside
//     the method that asked it, on the executor's clock. On a virtual clock
//     no such wait can end: use gates that decide at once.
//
// A Call always records its timeline. It is not safe for concurrent use.
type Call[T any] struct {
	c    engine[T]
	a    act
	v    T
	err  error
	tl   observe.Timeline
	over bool // the call has ended: Outcome is ready
}

// StepKind is what a Call asks its driver to do.
type StepKind uint8

// The steps of a Call.
const (
	// StepLaunch: run attempt Step.Attempt with Step.Ctx, call Launched,
	// and report the attempt's end with Result.
	StepLaunch StepKind = iota + 1
	// StepSleep: wait Step.Wait (a backoff), then call Woke.
	StepSleep
	// StepAwait: wait for an event (a Result, HedgeDue when the hedge
	// timer is armed, ContextDone), after doing what Step.Hedge says to
	// the hedge timer.
	StepAwait
	// StepDone: the call is over; Outcome returns what Do would have.
	StepDone
)

func (k StepKind) String() string {
	switch k {
	case StepLaunch:
		return "launch"
	case StepSleep:
		return "sleep"
	case StepAwait:
		return "await"
	case StepDone:
		return "done"
	}
	return "unknown"
}

// HedgeTimer says what a driver does to its call's hedge timer.
type HedgeTimer uint8

// What to do to the hedge timer at a StepAwait.
const (
	HedgeKeep HedgeTimer = iota // leave it as it is (armed or not)
	HedgeArm                    // arm it to fire after Step.Wait, replacing any armed one
	HedgeStop                   // stop it if it is armed
)

// Step is what a Call asks its driver to do next.
type Step struct {
	Kind StepKind
	// Attempt is, for StepLaunch, the attempt's index (its
	// observe.AttemptRecord.Attempt): pass it to Result.
	Attempt int
	// Ctx is, for StepLaunch, the context to run the attempt with. Its
	// deadline is the attempt's; observe.AttemptFromContext reads the
	// attempt's details from it.
	Ctx context.Context
	// Wait is, for StepSleep, the backoff before the next attempt, and for
	// StepAwait with HedgeArm, the delay after which the hedge is due.
	Wait time.Duration
	// Hedge is, for StepAwait, what to do to the hedge timer.
	Hedge HedgeTimer
}

// Begin starts a call of exec for key that the caller drives with Next
// and the event methods. ctx is the caller's context: its values reach the
// attempts, and its end is reported with ContextDone. opts.Timeline is
// ignored: a Call always records its timeline.
func Begin[T any](ctx context.Context, exec *Executor, key policy.PolicyKey, opts CallOptions[T]) (k *Call[T]) {
	k = &Call[T]{} // named: a panic that guard recovers still returns k
	c := &k.c
	c.e, c.key, c.discard, c.ctx, c.stepped = exec, key, opts.Discard, ctx, true
	defer k.guard()
	k.a = c.begin(&opts, true)
	k.settle()
	return k
}

// Next returns the step to take now.
func (k *Call[T]) Next() Step {
	a := k.a
	switch {
	case k.over:
		return Step{Kind: StepDone}
	case a.kind == aLaunch:
		s := k.c.slot(a.si)
		return Step{Kind: StepLaunch, Attempt: s.rec, Ctx: s.actx}
	case a.kind == aSleep:
		return Step{Kind: StepSleep, Wait: a.d}
	}
	return Step{Kind: StepAwait, Wait: a.d, Hedge: a.hedge}
}

// Launched reports that the driver started the attempt of the last
// StepLaunch.
func (k *Call[T]) Launched() {
	if k.over || k.a.kind != aLaunch {
		return
	}
	defer k.guard()
	k.a = k.c.started()
	k.settle()
}

// Woke reports that the wait of the last StepSleep is over.
func (k *Call[T]) Woke() {
	if k.over || k.a.kind != aSleep {
		return
	}
	defer k.guard()
	k.a = k.c.woke(k.c.callCtx.Err() == nil)
	k.settle()
}

// HedgeDue reports that the hedge timer fired.
func (k *Call[T]) HedgeDue() {
	if k.over || k.a.kind != aAwait {
		return
	}
	defer k.guard()
	k.a = k.c.hedgeDue()
	k.settle()
}

// ContextDone reports that the context passed to Begin ended while the
// call awaits results: hedging stops, and the call ends when the running
// attempts (whose contexts have ended too) report their results. A driver
// whose calls are never cancelled need not call it.
func (k *Call[T]) ContextDone() {
	if k.over || k.a.kind != aAwait || k.c.ctxDone {
		return
	}
	k.c.ctxDone = true
	k.a = k.c.callDone()
}

// Result reports the end of attempt (the Attempt of its StepLaunch) with
// the value and error the operation returned.
func (k *Call[T]) Result(attempt int, v T, err error) { k.resultOrPanic(attempt, v, err, nil) }

func (k *Call[T]) resultOrPanic(attempt int, v T, err error, pe *PanicError) {
	c := &k.c
	si := -1
	for i := 0; i < c.launched; i++ {
		if s := c.slot(i); s.rec == attempt && s.ran && !s.got {
			si = i
			break
		}
	}
	if si < 0 {
		return // not an attempt of this call, or already reported
	}
	if s := c.slot(si); k.over || !s.running {
		// Cancelled when the call ended, or as a losing hedge: its
		// permits were completed then; only its value is left.
		s.got = true
		if pe != nil {
			c.e.latePanic(c.key, pe)
			return
		}
		k.late(v, attempt)
		return
	}
	defer k.guard()
	r := result[T]{slot: si, ai: attempt, val: v, err: err, pe: pe}
	k.a = c.resultIn(&r)
	k.settle()
}

// Panicked reports that attempt panicked with value v (what recover
// returned) and stack: the call ends with a *PanicError from
// SourceOperation, as in Do.
func (k *Call[T]) Panicked(attempt int, v any, stack []byte) {
	var zero T
	k.resultOrPanic(attempt, zero, nil, &PanicError{Value: v, Stack: stack, Attempt: attempt, Source: SourceOperation})
}

// Outcome returns the call's value, timeline and error once Next has
// returned StepDone: what DoValueWith would have returned.
func (k *Call[T]) Outcome() (T, observe.Timeline, error) {
	return k.v, k.tl, k.err
}

// settle ends the call when the core asks for its end.
func (k *Call[T]) settle() {
	c := &k.c
	switch k.a.kind {
	case aSucceed:
		k.v, k.err = c.succeed(&k.tl)
	case aFail:
		k.v, k.err = c.fail(c.failErr, &k.tl)
	default:
		return
	}
	k.over = true
	c.finishWith(nil, &k.v, &k.err, &k.tl)
}

// guard, deferred by every method that runs the core, ends the call when
// user code panicked in it. A panic raised once the call is over is the
// call's own panic, re-raised by finishWith: it is not recovered again.
func (k *Call[T]) guard() {
	if k.over {
		return
	}
	r := recover()
	if r == nil {
		return
	}
	k.over = true
	k.c.finishWith(r, &k.v, &k.err, &k.tl)
}

// late disposes of the value of an attempt the call no longer waits for;
// a panic in Discard is a late panic.
func (k *Call[T]) late(v T, attempt int) {
	c := &k.c
	if c.discard != nil {
		c.e.lateSafely(c.key, SourceDiscard, attempt, func() { c.discard(v) })
	}
}
