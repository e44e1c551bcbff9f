package retry

import (
	"context"
	"errors"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/attemptctx"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// Stop reasons recorded in the timeline attribute stop_reason.
const (
	StopAttemptsExhausted = "attempts_exhausted"
	StopNonRetryable      = "non_retryable"
	StopAbort             = "abort"
	StopBudgetDenied      = "budget_denied"
	StopContextDone       = "context_done"
	StopDeadline          = "deadline" // the next wait would end past the deadline
	StopPanic             = "panic"
	StopNoPolicy          = "no_policy"
	StopCircuitOpen       = "circuit_open"
	StopGateRefused       = "gate_refused" // a gate other than the budget and the breaker refused
)

// OutcomeError is the error of an attempt that its classifier judged a
// failure although the operation returned no error (an HTTP 503 response,
// say).
type OutcomeError struct {
	Outcome classify.Outcome
}

func (e *OutcomeError) Error() string {
	return "retry: attempt classified " + e.Outcome.Kind.String() + ": " + e.Outcome.Reason
}

// errGoexit is the result of an operation that called runtime.Goexit.
var errGoexit = errors.New("retry: operation called runtime.Goexit")

type verdict int

const (
	vWait verdict = iota
	vSuccess
	vStepFailed
	vStop
)

// slot is the coordinator's bookkeeping for one attempt, from its
// admission by the gates to its end.
type slot struct {
	perm     permits            // the gates' permits it holds
	cancel   context.CancelFunc // ends actx, when it has a timeout
	ac       *attemptCtx        // actx, when it is one
	actx     context.Context
	start    time.Time
	si       int // its launch index (gate.Attempt.Launched)
	rec      int // the attempt's index (its record's Attempt)
	step     int
	hedgeIdx int
	isHedge  bool
	running  bool
	ran      bool // the operation was called (or its goroutine started)
	got      bool // the coordinator has its result
}

type result[T any] struct {
	slot int
	ai   int // the attempt's index
	val  T
	err  error
	pe   *PanicError
}

// engine is the state of one call, and its methods in this file (with
// the hedging decisions in hedging.go and the gates in gates.go) are the
// decision core: the only decision code. It starts no goroutine, touches
// no channel and never sleeps: it returns an act (launch this attempt,
// sleep, await an event, end the call) and is told what happened
// (resultIn, woke, started, hedgeDue, callDone); the only outside input it
// reads itself is the time, through the executor's clock. Its drivers are
// drive.go's (the caller's goroutine, inline or with attempt goroutines
// through the hub, for Do) and stepped.go's (a driver of the caller's own,
// for Begin). Under Do the engine lives on the caller's stack; attempt
// goroutines see only the hub.
type engine[T any] struct {
	e          *Executor
	key        policy.PolicyKey
	op         invoker[T]
	discard    func(T)
	res        resolution
	cls        classify.Classifier
	clsDefault bool
	ctx        context.Context // the caller's
	callCtx    context.Context // with the overall timeout
	cancelCall context.CancelFunc
	deadline   time.Time
	hasDL      bool
	recording  bool // records are built: for the timeline, or for the observer's callbacks
	timeline   bool // the call keeps its timeline in full
	// pending reports that the attempt of the inline slot runs without its
	// record: one attempt at a time, the record is made when it ends (see
	// endRecord), once its outcome tells how much room the records need,
	// and, when the timeline is not kept, never stored at all.
	pending bool
	tl      observe.Timeline

	// one is the slot of the inline mode, where a single attempt runs at
	// a time; many holds a slot per attempt in the concurrent mode.
	one      slot
	many     []slot
	launched int // attempts launched: they count toward MaxAttempts
	nrec     int // attempt indices handed out, denied attempts included
	inflight int
	step     int

	lastVal  T
	hasVal   bool
	lastErr  error
	denied   error
	panicErr *PanicError
	nonRetry bool
	override time.Duration
	prevWait time.Duration
	stop     string
	wait     time.Duration // the current step's wait
	failErr  error         // the error of a call that ends before it starts
	ctxDone  bool          // the driver saw the call's context end
	stepped  bool          // a Call's driver runs the attempts

	// The gates of retries and first attempts (hedges' are in
	// hedgeState), and what they said about the attempt being admitted.
	rplan      gatePlan
	crit       gate.Criticality // read from ctx when a gate.Attempt first needs it
	critRead   bool
	gCircuit   string
	gBudget    string
	gDecisions []observe.GateDecision
	gBuf       []observe.GateDecision // room for the records' decisions

	// src and srcAttempt name the user hook being called, so that a panic
	// caught by finish says where it came from.
	src        string
	srcAttempt int
	winner     int  // the winning attempt's index
	ended      bool // succeed or fail has returned
	succeeded  bool // and it was succeed

	hub *hub[T]
	// hedgeState is the coordinator's hedging state, inside the hub's
	// allocation; nil unless the policy hedges.
	*hedgeState
	lastEnd time.Time // when the last result was handled, when timing
	base    time.Time // the call's first clock reading, on the wall clock
	// host is ctx, when it lends the first attempt's context room. (Last:
	// the fields above keep the places they had before it.)
	host attemptctx.Host[observe.AttemptInfo]
}

// actKind is what the decision core asks its driver to do next.
type actKind uint8

const (
	aLaunch  actKind = iota + 1 // start the attempt in slot si
	aSleep                      // wait d, then call woke
	aAwait                      // wait for a result, the hedge timer or the call's end
	aSucceed                    // end the call with the winning value: succeed
	aFail                       // end the call: fail(failErr)
)

// act is one request of the decision core to its driver.
type act struct {
	kind  actKind
	hedge HedgeTimer    // aAwait: what to do with the hedge timer
	si    int           // aLaunch: the slot of the attempt
	d     time.Duration // aSleep: the wait; aAwait with HedgeArm: the hedge delay
}

// begin resolves the call's policy and prepares its state; it returns the
// first request (the first attempt's launch, or the end of a call that
// cannot start). keep makes the call keep its timeline, as an observer's
// OnSuccess or OnFailure does; its other callbacks about attempts need only
// the records.
func (c *engine[T]) begin(opts *CallOptions[T], keep bool) act {
	e, key, ctx := c.e, c.key, c.ctx
	if keep || e.hooks != 0 {
		c.timeline = keep || e.hooks&(observe.HookSuccess|observe.HookFailure) != 0
		c.recording = c.timeline || e.hooks&(observe.HookAttempt|observe.HookHedgeSpawn|observe.HookHedgeCancel) != 0
	}
	if c.recording {
		c.tl.Key = key
		c.tl.Start = c.now()
	}
	c.hook(SourceProvider, -1)
	e.resolve(ctx, key, &c.res)
	c.unhook()
	p := c.res.p
	if opts.SingleAttempt || (opts.NoHedge && p.Hedge.Enabled) {
		p = c.res.mutable()
		if opts.SingleAttempt {
			p.Retry.MaxAttempts = 1
		}
		p.Hedge.Enabled = false
	}
	var clsMissing string
	if opts.Classifier != nil && p.Retry.ClassifierName == "" {
		c.cls, c.clsDefault = opts.Classifier, classify.IsDefault(opts.Classifier)
	} else if p.Retry.ClassifierName != "" {
		c.cls, c.clsDefault, clsMissing = e.classifierFor(p)
	} else {
		// The executor's default classifier: c.cls stays nil (handle
		// asks e.defClassifier), which spares a store that costs the
		// GC's write barrier on every call while it marks.
		c.clsDefault = e.defIsDefault
	}
	if c.recording {
		c.tl.PolicyID = p.ID
		if c.timeline {
			c.tl.Attributes = timelineAttrs(p, c.res.polErr, c.res.mode, clsMissing)
			if p.Meta.Version == "" && e.versioned != nil {
				c.hook(SourceProvider, -1)
				v := e.versioned.Version()
				c.unhook()
				if v != "" {
					c.tl.Attributes[observe.AttrPolicyVersion] = v
				}
			}
			if opts.SingleAttempt {
				c.tl.Attributes[observe.AttrSingleAttempt] = "true"
			}
		}
	}
	if c.res.denyErr != nil {
		c.stop = StopNoPolicy
		c.failErr = c.res.denyErr
		return act{kind: aFail}
	}
	if e.hooks&observe.HookStart != 0 {
		c.hook(SourceObserver, -1)
		if p.Key == key {
			e.obs.OnStart(ctx, key, *p) // no copy of our own: only the call's
		} else {
			pol := *p
			pol.Key = key // a shared default policy carries its own key
			e.obs.OnStart(ctx, key, pol)
		}
		c.unhook()
	}
	if err := ctx.Err(); err != nil {
		c.stop = StopContextDone
		c.failErr = err
		return act{kind: aFail}
	}
	c.callCtx = ctx
	if d := p.Retry.OverallTimeout; d > 0 {
		c.callCtx, c.cancelCall = withTimeout(ctx, e.clk, e.realClock, d)
	}
	if dl, ok := c.callCtx.Deadline(); ok {
		c.deadline, c.hasDL = dl, true // (only then: a store of a pointer-holding field pays the GC's write barrier)
	}
	e.planGates(key, p, !c.res.owned, gate.KindRetry, &c.rplan)
	switch {
	case p.Hedge.Enabled:
		c.startHedging()
	case c.stepped:
		// One attempt at a time: the inline slot serves.
	case e.forceConcurrent:
		c.hub = newHub[T](e, key, p.Retry.MaxAttempts, c.discard)
		c.many = c.hub.slotsFor(p.Retry.MaxAttempts)
	}
	return c.advance()
}

// advance starts the current step: it decides whether the call may go on,
// how long to wait before the step's attempt, and asks the gates. The
// gates are asked before the wait, so that a refused retry costs the
// caller no waiting.
func (c *engine[T]) advance() act {
	p := c.res.p
	c.wait = 0
	if c.step > 0 {
		if c.launched >= p.Retry.MaxAttempts {
			c.stop = StopAttemptsExhausted
			return act{kind: aFail}
		}
		c.wait = c.nextWait()
		if c.hasDL && !c.now().Add(c.wait).Before(c.deadline) {
			c.stop = StopDeadline
			return act{kind: aFail}
		}
	}
	if !c.admit(false, c.wait) {
		return act{kind: aFail}
	}
	if c.step == 0 {
		return c.launch(false, 0, 0)
	}
	if c.wait > 0 {
		return act{kind: aSleep, d: c.wait}
	}
	return c.woke(c.callCtx.Err() == nil)
}

// woke continues the step after its wait; ok false means the call's
// context ended during it.
func (c *engine[T]) woke(ok bool) act {
	if !ok {
		c.stop = StopContextDone
		s := c.slot(c.launched)
		c.releasePermits(s, &gate.Result{Verdict: gate.NotRun, Attempt: c.gateAttempt(false)})
		return act{kind: aFail}
	}
	return c.launch(false, 0, c.wait)
}

// started continues after the driver started the attempt of the last
// launch on its own: the core waits for results, arming the hedge timer
// when the step may hedge.
func (c *engine[T]) started() act {
	if c.hedgeState == nil {
		return act{kind: aAwait}
	}
	if c.slot(c.launched - 1).isHedge {
		c.hedgesInStep++
	} else {
		c.hedgesInStep = 0
		c.hedgeStopped = false
	}
	return c.armHedge()
}

// resultIn handles the result of an attempt and decides what follows.
func (c *engine[T]) resultIn(r *result[T]) act {
	switch c.handle(r) {
	case vWait:
		return act{kind: aAwait}
	case vSuccess:
		return act{kind: aSucceed}
	case vStop:
		return act{kind: aFail}
	}
	c.step++
	return c.advance()
}

// callDone notes that the caller's context (or the overall timeout) ended
// the call while attempts run. Their contexts are its children, so they
// are cancelled too: the core waits for them to return, exactly as the
// inline mode does, so that both modes give the same result.
func (c *engine[T]) callDone() act {
	if c.hedgeState != nil {
		c.hedgeStopped = true
	}
	return act{kind: aAwait, hedge: HedgeStop}
}

// nextWait returns the wait before the next retry step.
func (c *engine[T]) nextWait() time.Duration {
	d := c.override
	c.override = 0
	if d <= 0 {
		d = Backoff(c.res.p.Retry, c.step, c.prevWait, c.e.float64())
	}
	c.prevWait = d
	return d
}

// deny records an attempt a gate refused (the plan entry en, with err); a
// refused retry ends the call.
func (c *engine[T]) deny(isHedge bool, wait time.Duration, en *planEntry, err error) {
	ai := c.nrec
	c.nrec++
	stop := en.stop()
	if c.callCtx.Err() != nil {
		stop = StopContextDone // a waiting gate cut short by the call's end
	}
	if c.recording {
		now := c.now()
		kind, hedgeIdx := budget.KindRetry, 0
		if isHedge {
			kind, hedgeIdx = budget.KindHedge, c.hedgesInStep+1
		}
		rec := observe.AttemptRecord{
			Attempt: ai, StartTime: now, EndTime: now, IsHedge: isHedge, HedgeIndex: hedgeIdx,
			Outcome: classify.Outcome{Reason: stop}, Err: err, Backoff: wait,
			BudgetReason: c.budgetReason(isHedge), BudgetKind: kind, RetryIndex: c.step, HedgeReason: c.hedgeReasonFor(isHedge),
			CircuitReason: c.gCircuit, Gates: c.gDecisions,
		}
		if c.timeline || c.many != nil {
			c.addRecord(&rec, false) // (attempts running one at a time need not look it up)
		}
		if c.e.hooks&observe.HookAttempt != 0 {
			c.hook(SourceObserver, ai)
			c.e.obs.OnAttempt(c.ctx, c.key, rec)
			c.unhook()
		}
	}
	if !isHedge {
		c.stop = stop
		c.denied = err
	}
}

func (c *engine[T]) hedgeReasonFor(isHedge bool) string {
	if isHedge {
		return c.hedgeReason
	}
	return ""
}

// launch prepares the attempt the gates admitted and asks the driver to
// start it.
func (c *engine[T]) launch(isHedge bool, hedgeIdx int, wait time.Duration) act {
	si := c.launched
	c.launched++
	ai := c.nrec
	c.nrec++
	s := c.slot(si)
	// Field by field, for the same reason as in run. (The permits the
	// gates granted are already in the slot.)
	s.si, s.rec, s.step, s.hedgeIdx, s.isHedge, s.running = si, ai, c.step, hedgeIdx, isHedge, true
	// (s.cancel and s.ac are nil: the slot's previous attempt, if any, was
	// stopped; s.actx is set below. Storing nil again would cost the GC's
	// write barriers while it marks.)
	s.got, s.ran = false, false
	p := c.res.p
	info := observe.AttemptInfo{RetryIndex: c.step, Attempt: ai, IsHedge: isHedge, HedgeIndex: hedgeIdx, PolicyID: p.ID}
	actx := c.callCtx
	switch tpa := p.Retry.TimeoutPerAttempt; {
	case tpa > 0:
		actx, s.cancel = withTimeout(actx, c.e.clk, c.e.realClock, tpa)
		if c.hosts(si) {
			actx = hostAttempt(c.host, actx, info)
		} else {
			actx = observe.WithAttempt(actx, info)
		}
	case c.many != nil:
		// Attempts that may be cancelled while they run: one context that
		// both cancels and carries the info.
		s.ac = newAttemptCtx(actx, info)
		actx = s.ac
	case c.hosts(si):
		actx = hostAttempt(c.host, actx, info)
	default:
		actx = observe.WithAttempt(actx, info)
	}
	s.actx = actx
	if c.timesStart(isHedge) {
		if si == 0 && c.recording && c.rplan.timing < timeAlways {
			// Nothing worth timing happened since the call started (no
			// gate that may wait was asked): reuse its reading (clock
			// reads are not free on every machine).
			s.start = c.tl.Start
		} else {
			s.start = c.now()
		}
		if !isHedge && c.hedgeState != nil {
			c.stepStart = s.start
		}
	}
	if c.recording {
		c.launchRecorded(s, wait)
	}
	c.inflight++
	s.ran = true
	return act{kind: aLaunch, si: si}
}

// timesStart reports whether the launch of an attempt reads the clock:
// for its record, for gates that want its latency, and for the latency
// tracker, which times a step from its primary's launch (a hedge's own
// start is of no use to it).
func (c *engine[T]) timesStart(isHedge bool) bool {
	timing := c.plan(isHedge).timing
	return c.recording || timing == timeAlways || (c.tracking() && (!isHedge || timing == timeEnd))
}

// handle processes the result of one attempt.
func (c *engine[T]) handle(r *result[T]) verdict {
	s := c.slot(r.slot)
	s.running, s.got = false, true
	c.inflight--
	s.stop()
	// The value is kept first, so that it reaches the caller or Discard
	// whatever hook panics next; permits a hook's panic leaves uncompleted
	// are completed by cleanup (the slot is marked got).
	if r.pe == nil {
		c.keepValue(r.val, s.rec)
	}
	if c.recording || c.tracking() {
		c.lastEnd = c.now()
	}
	if r.pe != nil {
		c.complete(s, gate.Cancelled, classify.OutcomeUnknown)
		c.panicErr = r.pe
		c.stop = StopPanic
		c.finishRecord(s, classify.Outcome{Kind: classify.OutcomeAbort, Reason: StopPanic}, r.pe)
		return vStop
	}
	var out classify.Outcome
	if r.err == nil && c.clsDefault {
		out.Kind = classify.OutcomeSuccess
	} else {
		c.hook(SourceClassifier, s.rec)
		cls := c.cls
		if cls == nil {
			cls = c.e.defClassifier
		}
		out = cls.Classify(r.val, r.err)
		c.unhook()
		if out.Kind == classify.OutcomeUnknown {
			out.Kind = classify.OutcomeRetryable
			if r.err == nil {
				out.Kind = classify.OutcomeSuccess
			}
		}
	}
	if s.perm.n > 0 {
		c.complete(s, verdictOf(out.Kind, c.callCtx.Err() != nil), out.Kind)
	}
	if c.tracking() && out.Kind == classify.OutcomeSuccess {
		// The step's latency, from the launch of its primary: a winning
		// hedge's own latency would bias the window low, since the slow
		// primaries it beat are never observed.
		c.tracker.ObserveAt(c.lastEnd, c.lastEnd.Sub(c.stepStart))
	}
	err := r.err
	if err == nil && out.Kind != classify.OutcomeSuccess {
		err = &OutcomeError{Outcome: out}
	}
	c.finishRecord(s, out, err)
	if out.Kind == classify.OutcomeSuccess {
		c.winner = s.rec
		c.lastErr = nil
		return vSuccess
	}
	c.lastErr = err
	switch out.Kind {
	case classify.OutcomeAbort:
		c.stop = StopAbort
		return vStop
	case classify.OutcomeNonRetryable:
		c.nonRetry = true
		if c.res.p.Hedge.CancelOnNonRetryable {
			c.stop = StopNonRetryable
			return vStop
		}
	default:
		if out.BackoffOverride > c.override {
			c.override = out.BackoffOverride
		}
	}
	if c.inflight > 0 {
		// Attempts of this step are still running: one may yet succeed.
		return vWait
	}
	switch {
	case c.callCtx.Err() != nil:
		c.stop = StopContextDone
	case c.nonRetry:
		c.stop = StopNonRetryable
	default:
		return vStepFailed
	}
	return vStop
}

// now reads the executor's clock. On the wall clock (or a clock whose Now
// is the wall clock's: clock.WallNow), every reading after
// the call's first is that reading plus the monotonic time elapsed since:
// one monotonic read instead of a wall and a monotonic one, which matters
// on machines where reading the wall clock is slow, and readings that can
// never go backwards within a call.
func (c *engine[T]) now() time.Time {
	if !c.e.wallNow {
		return c.e.clk.Now()
	}
	if c.base.IsZero() {
		c.base = time.Now()
		return c.base
	}
	return c.base.Add(time.Since(c.base))
}

// launchRecorded records the launch of slot s's attempt (wait being the
// wait before it). One attempt at a time, its record waits for its end
// (see pending); attempts that overlap get theirs now.
func (c *engine[T]) launchRecorded(s *slot, wait time.Duration) {
	if c.many == nil {
		c.pending = true
		return
	}
	var rec observe.AttemptRecord
	c.launchRecord(&rec, s, wait)
	c.addRecord(&rec, false)
	if s.isHedge && c.e.hooks&observe.HookHedgeSpawn != 0 {
		c.hook(SourceObserver, s.rec)
		c.e.obs.OnHedgeSpawn(s.actx, c.key, rec)
		c.unhook()
	}
}

// launchRecord sets *rec, a zero record, to the record of slot s's attempt
// as its launch knows it (wait being the wait before it). The gates'
// fields are those of its admission, which hold until the next attempt is
// admitted. (Field by field into the caller's record: a literal would be
// built in a temporary and copied.)
func (c *engine[T]) launchRecord(rec *observe.AttemptRecord, s *slot, wait time.Duration) {
	rec.Attempt, rec.StartTime, rec.IsHedge, rec.HedgeIndex, rec.Backoff = s.rec, s.start, s.isHedge, s.hedgeIdx, wait
	rec.BudgetAllowed, rec.BudgetReason, rec.RetryIndex = true, c.budgetReason(s.isHedge), s.step
	if s.isHedge {
		rec.BudgetKind, rec.HedgeReason = budget.KindHedge, c.hedgeReason
	}
	rec.CircuitReason, rec.Gates = c.gCircuit, c.gDecisions
}

// addRecord appends an attempt record. Most calls make one attempt, so the
// first record gets room for one, unless more says that others may follow
// (the first attempt failed): then, as when a second record comes, room
// for every attempt the policy allows (a refused attempt is recorded only
// when fewer than that were launched, since a refusal ends the call; a
// refused hedge does not, and a hedging call grows the records again if it
// must).
func (c *engine[T]) addRecord(rec *observe.AttemptRecord, more bool) {
	*c.newRecord(more) = *rec
}

// newRecord appends a zero record, growing the records as addRecord says,
// and returns it, to be filled in place: a record made on the stack and
// copied in costs its zeroing and a copy through the GC's write barriers.
func (c *engine[T]) newRecord(more bool) *observe.AttemptRecord {
	n := len(c.tl.Attempts)
	if n == cap(c.tl.Attempts) {
		size := 1
		if n > 0 || more {
			size = 2 * n
			if m := c.res.p.Retry.MaxAttempts; size < m {
				size = m
			}
		}
		grown := make([]observe.AttemptRecord, n, size)
		copy(grown, c.tl.Attempts)
		c.tl.Attempts = grown
	}
	c.tl.Attempts = c.tl.Attempts[:n+1] // (make zeroed the room beyond n)
	return &c.tl.Attempts[n]
}

// openRecord returns the record of slot s's attempt, to be completed: in
// the records, or, when it is pending, made in *made (closeRecord then
// stores it).
func (c *engine[T]) openRecord(s *slot, made *observe.AttemptRecord) *observe.AttemptRecord {
	if !c.pending {
		return &c.tl.Attempts[s.rec]
	}
	c.pending = false
	c.launchRecord(made, s, c.wait)
	return made
}

// closeRecord stores rec, completed, when openRecord made it and the
// timeline is kept; more is addRecord's.
func (c *engine[T]) closeRecord(rec, made *observe.AttemptRecord, more bool) {
	if rec == made && c.timeline {
		c.addRecord(made, more)
	}
}

// flushPending stores the pending record of an attempt whose end the call
// did not see (a hook panicked first), as its launch knows it.
func (c *engine[T]) flushPending() {
	if c.pending {
		var made observe.AttemptRecord
		c.closeRecord(c.openRecord(&c.one, &made), &made, false)
	}
}

// verdictOf is what an attempt classified out tells the gates: the
// dependency answered (a success or a non-retryable outcome), failed in a
// way worth retrying, or nothing, when the attempt was aborted or the
// caller gave up (or the call's deadline passed) mid-attempt.
func verdictOf(out classify.OutcomeKind, callDone bool) gate.Verdict {
	switch {
	case out == classify.OutcomeSuccess || out == classify.OutcomeNonRetryable:
		return gate.Answered
	case out == classify.OutcomeAbort || callDone:
		return gate.Cancelled
	}
	return gate.Failed
}

// stop cancels the attempt's context.
func (s *slot) stop() {
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	if s.ac != nil {
		s.ac.cancel(context.Canceled)
		s.ac = nil
	}
}

// slot returns the bookkeeping of attempt i.
func (c *engine[T]) slot(i int) *slot {
	if c.many == nil {
		return &c.one
	}
	return &c.many[i]
}

// keepValue makes v, the value of attempt ai, the value returned on
// failure and discards the one it replaces. The new value is kept before
// the old one is discarded: if Discard panics, each has still gone exactly
// once where it belongs.
func (c *engine[T]) keepValue(v T, ai int) {
	old, had := c.lastVal, c.hasVal
	c.lastVal, c.hasVal = v, true
	if had && c.discard != nil {
		c.hook(SourceDiscard, ai)
		c.discard(old)
		c.unhook()
	}
}

func (c *engine[T]) finishRecord(s *slot, out classify.Outcome, err error) {
	if c.recording {
		c.endRecord(s, out, err)
	}
}

// endRecord completes the record of slot s's attempt, which ended with
// out and err, and reports it. A pending record is made here: in the
// records when the timeline is kept, otherwise on the stack, where it
// lives until the observer's OnAttempt returns.
func (c *engine[T]) endRecord(s *slot, out classify.Outcome, err error) {
	if !c.pending {
		rec := &c.tl.Attempts[s.rec]
		rec.EndTime, rec.Outcome, rec.Err = c.lastEnd, out, err
		c.attemptEnded(s, rec)
		return
	}
	c.pending = false
	if c.timeline {
		c.makeRecord(c.newRecord(out.Kind != classify.OutcomeSuccess), s, out, err)
		return
	}
	var rec observe.AttemptRecord
	c.makeRecord(&rec, s, out, err)
}

// makeRecord fills *rec, a zero record, with the record of slot s's
// attempt, which ended with out and err, and reports it.
func (c *engine[T]) makeRecord(rec *observe.AttemptRecord, s *slot, out classify.Outcome, err error) {
	c.launchRecord(rec, s, c.wait)
	rec.EndTime, rec.Outcome, rec.Err = c.lastEnd, out, err
	c.attemptEnded(s, rec)
}

// attemptEnded reports the completed record of slot s's attempt.
func (c *engine[T]) attemptEnded(s *slot, rec *observe.AttemptRecord) {
	if c.e.hooks&observe.HookAttempt != 0 {
		c.hook(SourceObserver, s.rec)
		c.e.obs.OnAttempt(s.actx, c.key, *rec)
		c.unhook()
	}
}

// cancelRunning cancels every attempt still in flight and records why
// (CancelLost or CancelCallEnded). They end at once: one clock reading
// serves them all.
func (c *engine[T]) cancelRunning(reason string) {
	var now time.Time
	for i := 0; i < c.launched; i++ {
		s := c.slot(i)
		if !s.running {
			continue
		}
		s.running = false
		s.stop()
		if c.recording {
			if now.IsZero() {
				now = c.now()
			}
			var made observe.AttemptRecord
			rec := c.openRecord(s, &made)
			rec.EndTime = now
			rec.Cancelled = true
			rec.Err = context.Canceled
			rec.Outcome = classify.Outcome{Kind: classify.OutcomeAbort, Reason: "cancelled"}
			rec.HedgeReason = reason
			c.closeRecord(rec, &made, false)
			if c.e.hooks&observe.HookHedgeCancel != 0 {
				c.hook(SourceObserver, s.rec)
				c.e.obs.OnHedgeCancel(s.actx, c.key, *rec, reason)
				c.unhook()
			}
		}
	}
}

// Reasons recorded in AttemptRecord.HedgeReason of an attempt the executor
// cancelled, and passed to Observer.OnHedgeCancel. They are metric labels:
// keep them few.
const (
	CancelLost      = "lost"       // another attempt of the call succeeded
	CancelCallEnded = "call_ended" // the call ended (a failure, a panic, the caller's context)
)

// succeed ends the call with the winning value; the timeline goes to
// *tl when tl is not nil.
func (c *engine[T]) succeed(tl *observe.Timeline) (T, error) {
	if c.inflight > 0 {
		c.cancelRunning(CancelLost)
	}
	if c.recording {
		c.tl.End = c.lastEnd // the winning attempt's end
		if c.e.hooks&observe.HookSuccess != 0 {
			c.hook(SourceObserver, -1)
			c.e.obs.OnSuccess(c.ctx, c.key, c.tl)
			c.unhook()
		}
	}
	if tl != nil {
		*tl = c.tl
	}
	// Only now is the value the caller's: until here, a panic hands it to
	// Discard.
	c.hasVal = false
	c.ended, c.succeeded = true, true
	return c.lastVal, nil
}

// fail ends the call with err, or with the error its stop reason implies.
// A call ending in a panic returns the zero value: finish hands the last
// value to Discard and raises (or returns) the panic.
func (c *engine[T]) fail(err error, tl *observe.Timeline) (T, error) {
	if c.inflight > 0 {
		c.cancelRunning(CancelCallEnded)
	}
	if err == nil {
		err = c.stopErr()
	}
	if c.recording {
		c.tl.End = c.now()
		c.tl.FinalErr = err
		c.flushPending()
		if c.stop != "" && c.tl.Attributes != nil {
			c.tl.Attributes[observe.AttrStopReason] = c.stop
		}
		if c.e.hooks&observe.HookFailure != 0 {
			c.hook(SourceObserver, -1)
			c.e.obs.OnFailure(c.ctx, c.key, c.tl)
			c.unhook()
		}
	}
	if tl != nil {
		*tl = c.tl
	}
	c.ended = true
	var v T
	if c.hasVal && c.panicErr == nil {
		v = c.lastVal
		c.hasVal = false
	}
	return v, err
}

// stopErr is the error of a call that stops for c.stop.
func (c *engine[T]) stopErr() error {
	if c.panicErr != nil {
		return c.panicErr
	}
	if c.lastErr == nil {
		if c.denied != nil {
			return c.denied
		}
		if c.stop == StopContextDone {
			return c.callCtx.Err()
		}
		return errors.New("retry: call ended without an attempt")
	}
	var cause error
	switch c.stop {
	case StopContextDone:
		return ctxStopError(c.callCtx.Err(), c.lastErr)
	case StopAttemptsExhausted:
		cause = ErrAttemptsExhausted
	case StopDeadline:
		cause = ErrDeadline
	case StopBudgetDenied, StopCircuitOpen, StopGateRefused:
		cause = c.denied
	default:
		return c.lastErr
	}
	return &StopError{Reason: c.stop, Attempts: c.launched, Err: c.lastErr, Cause: cause}
}
