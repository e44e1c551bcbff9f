package retry

import (
	"context"
	"reflect"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/fastgate"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// Reasons recorded for a gate the policy names but the executor lacks: the
// attempt is admitted (fail-open) and the decision says why.
const (
	// ReasonGateNotFound: the policy's gates list names a gate missing
	// from ExecutorOptions.Gates.
	ReasonGateNotFound = "gate_not_found"
	// ReasonGateNotConfigured: the policy enables a built-in gate (load
	// shedding, rate limit, bulkhead, concurrency limit) that this
	// executor was not given.
	ReasonGateNotConfigured = "gate_not_configured"
)

// How much of the clock a gate needs, so that a call whose gates need none
// reads none: timeNone, at admission nor completion (budgets: a
// budget.TimedBudget on the executor's clock is given the reading the
// executor has, when it has one, and reads its own otherwise; see
// gateNow); timeTripped,
// at admission only when it says so (needsNow) and at completion only for
// a failure or a probe (a breaker counting consecutive failures); timeEnd,
// at every completion but not at the attempt's start, so with no latency
// (a breaker counting results in its window, with no slow-call
// duration); timeAlways (a breaker that counts slow calls, the rate
// limiter and the adaptive limit, user gates: the contract of gate.Gate).
// The bulkhead and load shedding read no time (their waits run on their
// own clock), so they are timeNone.
const (
	timeNone int8 = iota
	timeTripped
	timeEnd
	timeAlways
)

// builtin is one built-in gate.
type builtin struct {
	name string // gate.NameX: its GateDecision.Gate
	stop string // the stop reason when it refuses a retry
	src  string // PanicError.Source of a panic inside it
	time int8
	// gate returns the call's gate for attempts of kind k, nil when the
	// policy does not enable it, and whether it is in shadow mode.
	gate func(e *Executor, key policy.PolicyKey, p *policy.EffectivePolicy, k gate.Kind) (gate.Gate, bool)
}

// builtins is every check the executor makes before an attempt, in
// gate.Order; user gates (the policy's Gates) follow. This table is the one
// place where the engine learns about a gate: adding one is an entry here
// (and, for a gate with state, the ExecutorOptions field that supplies it).
var builtins = [...]builtin{
	{name: gate.NameCircuit, stop: StopCircuitOpen, src: SourceGate, time: timeTripped, gate: circuitGate},
	// Load shedding by criticality: package shed's Registry, a gate.Gate
	// reading Policy.Shed (ExecutorOptions.Overload supplies it and the
	// three below).
	{name: gate.NameShed, stop: StopGateRefused, src: SourceGate, time: timeNone, gate: func(e *Executor, _ policy.PolicyKey, p *policy.EffectivePolicy, _ gate.Kind) (gate.Gate, bool) {
		return configured(e.shed, p.Shed.Enabled), p.Shed.Shadow
	}},
	// The rate limiter of first attempts: package ratelimit's Registry
	// (Policy.RateLimit); it admits retries and hedges itself.
	{name: gate.NameRateLimit, stop: StopGateRefused, src: SourceGate, time: timeAlways, gate: func(e *Executor, _ policy.PolicyKey, p *policy.EffectivePolicy, _ gate.Kind) (gate.Gate, bool) {
		return configured(e.rateLimit, p.RateLimit.Enabled), p.RateLimit.Shadow
	}},
	{name: gate.NameBudget, stop: StopBudgetDenied, src: SourceBudget, time: timeNone, gate: budgetGate},
	// The bulkhead: package bulkhead's Registry (Policy.Bulkhead).
	{name: gate.NameBulkhead, stop: StopGateRefused, src: SourceGate, time: timeNone, gate: func(e *Executor, _ policy.PolicyKey, p *policy.EffectivePolicy, _ gate.Kind) (gate.Gate, bool) {
		return configured(e.bulkhead, p.Bulkhead.Enabled), p.Bulkhead.Shadow
	}},
	// The adaptive concurrency limit: package adaptive's Registry
	// (Policy.Concurrency).
	{name: gate.NameConcurrency, stop: StopGateRefused, src: SourceGate, time: timeAlways, gate: func(e *Executor, _ policy.PolicyKey, p *policy.EffectivePolicy, _ gate.Kind) (gate.Gate, bool) {
		return configured(e.concurrency, p.Concurrency.Enabled), p.Concurrency.Shadow
	}},
}

// configured returns g when enabled, a fail-open gate when enabled but
// missing, and nil when not enabled.
func configured(g gate.Gate, enabled bool) gate.Gate {
	switch {
	case !enabled:
		return nil
	case g == nil:
		return notConfigured
	}
	return g
}

func circuitGate(e *Executor, key policy.PolicyKey, p *policy.EffectivePolicy, k gate.Kind) (gate.Gate, bool) {
	if !p.Circuit.Enabled {
		return nil, false
	}
	b := e.breakers.For(key)
	if b == nil {
		if k == gate.KindRetry { // (a hedged call looks its breaker up twice)
			e.overflowed(gate.NameCircuit, key)
		}
		return absent, false // the registry is full: the key's calls pass, and it counts them
	}
	return b, p.Circuit.Shadow
}

// circuitTiming is how much of the clock the breaker of policy p needs: a
// rate rule counts every result in a time window, so it needs the time of
// every result, and their latencies too when it counts slow calls (a
// slow-call duration is set); the consecutive-failure rule needs the time
// only of failures and probes.
func circuitTiming(p *policy.CircuitPolicy) int8 {
	switch counting := p.FailureRateThreshold > 0 || (p.SlowCallDuration > 0 && p.SlowCallRateThreshold > 0); {
	case counting && p.SlowCallDuration > 0:
		return timeAlways
	case counting:
		return timeEnd
	}
	return timeTripped
}

// budgetName is the name of the budget of the attempts of policy p of the
// given kind.
func budgetName(p *policy.EffectivePolicy, isHedge bool) string {
	if isHedge {
		return p.Hedge.Budget.Name
	}
	return p.Retry.Budget.Name
}

func budgetGate(e *Executor, _ policy.PolicyKey, p *policy.EffectivePolicy, k gate.Kind) (gate.Gate, bool) {
	ref := p.Retry.Budget
	if k == gate.KindHedge {
		ref = p.Hedge.Budget
	}
	if ref.Name == "" {
		return nil, false
	}
	if g, ok := e.budgets.Gate(ref.Name); ok {
		return g, ref.Shadow
	}
	return budgetNotFound, ref.Shadow
}

// openGate admits every attempt with a fixed reason: it stands for a gate
// the policy names and the executor lacks (fail-open, recorded).
type openGate struct{ reason string }

func (g *openGate) Admit(context.Context, gate.Attempt, time.Time) (gate.Permit, error) {
	return gate.Permit{Reason: g.reason}, nil
}

var (
	// absent is a gate the policy enables that this key does not get (a
	// full breaker registry): it is not asked, and the plan depends on
	// the key.
	absent         gate.Gate = &openGate{}
	budgetNotFound gate.Gate = &openGate{reason: "budget_not_found"}
	gateNotFound   gate.Gate = &openGate{reason: ReasonGateNotFound}
	notConfigured  gate.Gate = &openGate{reason: ReasonGateNotConfigured}
)

// needsNow reports whether asking the plan's gates from the first-th on
// needs a clock reading: a gate always does, or the breaker, asked when
// it is not closed, does.
func (pl *gatePlan) needsNow(first int) bool {
	return pl.nowAlways || (first == 0 && pl.nowTripped && !pl.closed.Closed())
}

// planEntry is one gate a call asks.
type planEntry struct {
	g gate.Gate
	// bi is the gate's index in builtins, or, for user gate j of the
	// policy's Gates, -1-j.
	bi     int32
	shadow bool
	// takesNow: the gate is a budget that decides at the executor's clock
	// reading (a budget.TimedBudget on the executor's clock). Other
	// budgets are asked at the zero time, so that none is fed a reading
	// of a clock it does not read.
	takesNow bool
}

// name is the gate's name, as recorded, under policy p.
func (en *planEntry) name(p *policy.EffectivePolicy) string {
	if en.bi < 0 {
		return p.Gates[-1-int(en.bi)].Name
	}
	return builtins[en.bi].name
}

func (en *planEntry) src() string {
	if en.bi < 0 {
		return SourceGate
	}
	return builtins[en.bi].src
}

func (en *planEntry) stop() string {
	if en.bi < 0 {
		return StopGateRefused
	}
	return builtins[en.bi].stop
}

// gatePlan is the gates a call asks about attempts of one kind, in order,
// resolved once per call. The common plans (a breaker, a budget) fit
// without an allocation.
type gatePlan struct {
	n    int
	a    [2]planEntry
	more []planEntry
	// timing is the most clock any entry needs (timeNone...timeAlways).
	timing int8
	// budget reports that a budget is among the gates.
	budget bool
	// fast is the closed path of the call's circuit breaker, when it is
	// among the gates; closed is its state, read inline, and brk the
	// breaker.
	fast   fastgate.Breaker
	closed *fastgate.Circuit
	brk    *circuit.Breaker
	// firstBudget is the first-attempt path of the budget of first
	// attempts, when it has one.
	firstBudget fastgate.Budget
	// firstFree is the reason of every first attempt's admission by that
	// budget when it counts nothing (fastgate.Budget's Free), or empty.
	firstFree string
	// nowAlways: a gate needs the time at every admission (a user gate,
	// the rate limiter, the adaptive limit, or any gate not known to
	// need less). nowTripped: the breaker needs it unless it is closed.
	nowAlways, nowTripped bool
	// recheck: a budget or a user gate is among the gates, which can be
	// registered again under their names (see planCache).
	recheck bool
}

func (pl *gatePlan) at(i int) *planEntry {
	if i < len(pl.a) {
		return &pl.a[i]
	}
	return &pl.more[i-len(pl.a)]
}

func (pl *gatePlan) add(en planEntry, timing int8) {
	if pl.n < len(pl.a) {
		pl.a[pl.n] = en
	} else {
		pl.more = append(pl.more, en)
	}
	pl.n++
	if timing > pl.timing {
		pl.timing = timing
	}
	if en.bi < 0 || int(en.bi) == budgetIndex {
		pl.recheck = true
	}
	switch {
	case en.bi < 0:
		pl.nowAlways = true
	case builtins[en.bi].time == timeAlways:
		pl.nowAlways = true
	case builtins[en.bi].time == timeTripped:
		if _, ok := en.g.(*circuit.Breaker); ok {
			pl.nowTripped = true
		} else {
			pl.nowAlways = true
		}
	}
}

// planGates resolves the gates of the call's policy for attempts of kind
// k: the built-in ones in gate.Order, then the policy's user gates. A
// policy known to enable no gate (shared is the policy in force, not a
// copy of the call's own) is remembered, so that the calls of a key
// without gates skip the table.
func (e *Executor) planGates(key policy.PolicyKey, p *policy.EffectivePolicy, shared bool, k gate.Kind, pl *gatePlan) {
	if k == gate.KindRetry && p == e.noGates.Load() {
		return
	}
	if shared && e.cachedGates(key, p, k, pl) {
		return
	}
	keyed := false
	for i := range builtins {
		g, shadow := builtins[i].gate(e, key, p, k)
		if g == nil {
			continue
		}
		if g == absent {
			keyed = true
			continue
		}
		timing := builtins[i].time
		en := planEntry{g: g, bi: int32(i), shadow: shadow}
		switch i {
		case budgetIndex:
			pl.budget = true
			en.takesNow = e.budgetTakesNow(budgetName(p, k == gate.KindHedge))
			if k == gate.KindRetry {
				if pl.firstBudget = fastgate.BudgetOf(g); pl.firstBudget != nil {
					pl.firstFree, _ = pl.firstBudget.Free()
				}
			}
		case circuitIndex:
			if b, ok := g.(*circuit.Breaker); ok {
				pl.fast, pl.brk = fastgate.Of(b), b // (the first gate: see admit)
				pl.closed = pl.fast.Circuit()
				timing = circuitTiming(&p.Circuit)
			}
		}
		pl.add(en, timing)
	}
	for j, ref := range p.Gates {
		g, _ := userGate(e, ref.Name)
		pl.add(planEntry{g: g, bi: int32(-1 - j), shadow: ref.Shadow}, timeAlways)
	}
	switch {
	case pl.n == 0 && shared && !keyed && k == gate.KindRetry:
		// Immutable (policies in force are never modified) and kept alive
		// by the reference, so the pointer always means this policy.
		e.noGates.Store(p)
	case shared && !keyed:
		e.rememberGates(key, p, k, pl)
	}
}

// userGate returns the user gate registered under name, or a fail-open
// gate that records gate_not_found.
func userGate(e *Executor, name string) (gate.Gate, bool) {
	if g, ok := e.gates.Get(name); ok {
		return g, true
	}
	return gateNotFound, false
}

// The places of the gates whose decisions have fields of their own in the
// attempt record (BudgetReason, CircuitReason).
var (
	budgetIndex  = builtinIndex(gate.NameBudget)
	circuitIndex = builtinIndex(gate.NameCircuit)
)

// admit asks the breaker, by its closed path, before the other gates, as
// gate.Order does: the breaker must stay the first built-in gate.
func init() {
	if circuitIndex != 0 {
		panic("retry: the circuit breaker is not the first built-in gate")
	}
}

func builtinIndex(name string) int {
	for i := range builtins {
		if builtins[i].name == name {
			return i
		}
	}
	panic("retry: no built-in gate " + name)
}

// heldPermit is a permit an attempt holds until it ends.
type heldPermit struct {
	p   gate.Permit
	src string // PanicError.Source of a panic in its completion
}

// permits are the permits one attempt holds. Only permits with a
// Completer are kept: the others need no completion.
type permits struct {
	n    int
	a    [2]heldPermit
	more []heldPermit
}

// push adds permit p, completed on a panic as coming from src.
func (ps *permits) push(p gate.Permit, src string) {
	ps.pushFields(p.Reason, p.Completer, p.Token, p.Waited, src)
}

// pushFields adds the permit of the given fields. They are stored one by
// one: a gate.Permit copied whole just after Admit returned it (through
// memory: it is too large for registers) stalls on the stores that wrote
// it.
func (ps *permits) pushFields(reason string, completer gate.Completer, token uint64, waited time.Duration, src string) {
	if ps.n >= len(ps.a) {
		ps.more = append(ps.more, heldPermit{p: gate.Permit{Reason: reason, Completer: completer, Token: token, Waited: waited}, src: src})
		ps.n++
		return
	}
	h := &ps.a[ps.n]
	h.p.Reason, h.p.Completer, h.p.Token, h.p.Waited = reason, completer, token, waited
	h.src = src
	ps.n++
}

// drop removes the only permit, held in place, without clearing it: the
// breaker's closed path's, whose fields hold nothing the collector could
// free (constant strings and a breaker its registry keeps), and which the
// next push overwrites.
func (ps *permits) drop() { ps.n = 0 }

// pop removes and returns the last permit.
func (ps *permits) pop() heldPermit {
	ps.n--
	if ps.n < len(ps.a) {
		h := ps.a[ps.n]
		ps.a[ps.n] = heldPermit{}
		return h
	}
	h := ps.more[ps.n-len(ps.a)]
	ps.more = ps.more[:ps.n-len(ps.a)]
	return h
}

// gateAttempt describes the attempt about to be admitted.
func (c *engine[T]) gateAttempt(isHedge bool) (a gate.Attempt) {
	c.fillAttempt(&a, c.nrec, c.launched, c.step, isHedge)
	return a
}

// plan returns the gates of attempts of the given kind.
func (c *engine[T]) plan(isHedge bool) *gatePlan {
	if isHedge {
		return &c.hplan
	}
	return &c.rplan
}

// admit asks every gate of the call about its next attempt (the primary of
// the current step, or a hedge), in order, holding the permits in the
// attempt's slot. A refusal completes the permits already granted with
// NotRun, records the refused attempt, and returns false; a refusal by a
// gate in shadow mode is recorded and ignored.
func (c *engine[T]) admit(isHedge bool, wait time.Duration) bool {
	pl := c.plan(isHedge)
	if c.recording {
		// What the gates say, for the attempt's record: nothing else
		// reads it, and a string stored pays the GC's write barrier.
		c.gCircuit, c.gDecisions = "", nil
		c.gBudget = budgetReasonNone
	}
	if pl.n == 0 {
		return true
	}
	s := c.slot(c.launched)
	s.ran, s.got = false, false // (the inline slot's previous attempt is over)
	var decs []observe.GateDecision
	if c.recording {
		decs = c.decisionRoom(pl.n)
	}
	first := 0
	if pl.fast != nil {
		// The breaker is the first gate (gate.Order). Its closed path
		// decides as Admit would, without an Attempt, and calls no user
		// code; any other state is Admit's, in admitFrom.
		// Under quiet rules and the policy in force the breaker's
		// settings came from, inline; otherwise by its closed path.
		cfg := &c.res.p.Circuit
		tok, ok := pl.closed.AdmitQuiet(cfg)
		if !ok {
			tok, ok = pl.fast.AdmitClosed(cfg, !c.res.owned)
		}
		if ok {
			if decs != nil { // (recording)
				c.gCircuit = circuit.ReasonClosed
				decs = append(decs, observe.GateDecision{Gate: gate.NameCircuit, Reason: circuit.ReasonClosed, Admitted: true, Shadow: pl.a[0].shadow})
			}
			// The permit Admit would have returned, built in place.
			s.perm.pushFields(circuit.ReasonClosed, pl.brk, tok, 0, SourceGate)
			first = 1
		}
	}
	if first < pl.n && pl.firstBudget != nil && !isHedge && c.launched == 0 && !pl.nowAlways {
		if en := pl.at(first); int(en.bi) == budgetIndex {
			// A first attempt's budget, next in line: its own path, as
			// admitFrom would ask it (no later gate needs the time, so
			// admitFrom would have read none), without an Attempt. An
			// admitted first attempt is no lifecycle event
			// (budgetVerdict).
			reason := pl.firstFree
			if reason == "" {
				reason, _ = pl.firstBudget.AdmitFirst(c.gateNow(en, time.Time{}))
			}
			if decs != nil {
				c.gBudget = reason
				decs = append(decs, observe.GateDecision{Gate: gate.NameBudget, Reason: reason, Admitted: true, Shadow: en.shadow})
			}
			first++
		}
	}
	if first < pl.n && !c.admitFrom(pl, s, first, &decs, isHedge, wait) {
		return false
	}
	if decs != nil {
		c.gDecisions = decs // (only then: it is nil, and a store pays the GC's write barrier)
	}
	return true
}

// admitFrom asks the gates of plan pl from the first-th on, appending
// their decisions to *decs when recording (see admit).
func (c *engine[T]) admitFrom(pl *gatePlan, s *slot, first int, decs *[]observe.GateDecision, isHedge bool, wait time.Duration) bool {
	var a gate.Attempt
	c.fillAttempt(&a, c.nrec, c.launched, c.step, isHedge)
	var now time.Time
	if pl.needsNow(first) {
		now = c.now()
	}
	for i := first; i < pl.n; i++ {
		en := pl.at(i)
		var p gate.Permit
		var err error
		if int(en.bi) == budgetIndex && pl.firstBudget != nil && a.Launched == 0 && !isHedge {
			// A first attempt: the budget's own path, without the
			// Attempt; it calls no user code and needs no completion.
			p.Reason, _ = pl.firstBudget.AdmitFirst(c.gateNow(en, now))
		} else {
			c.hook(en.src(), a.Index)
			p, err = en.g.Admit(c.callCtx, a, c.gateNow(en, now))
			c.unhook()
		}
		if *decs != nil {
			*decs = append(*decs, observe.GateDecision{Gate: en.name(c.res.p), Reason: p.Reason, Admitted: err == nil, Shadow: en.shadow, Waited: p.Waited})
		}
		switch int(en.bi) {
		case budgetIndex:
			c.gBudget = p.Reason
			if c.e.events != nil && en.g != budgetNotFound { // (nobody to tell: no state to keep)
				c.e.budgetVerdict(budgetName(c.res.p, isHedge), c.key, err != nil, a.Launched == 0 && !isHedge)
			}
		case circuitIndex:
			c.gCircuit = p.Reason
		default:
			if en.bi >= 0 && p.Reason == reasonOverflow {
				c.e.overflowed(builtins[en.bi].name, c.key)
			}
		}
		if err != nil {
			if en.shadow {
				continue // would have refused; the attempt runs
			}
			c.gDecisions = *decs
			c.releasePermits(s, &gate.Result{Verdict: gate.NotRun, Attempt: a})
			c.deny(isHedge, wait, en, err)
			return false
		}
		if p.Completer != nil {
			s.perm.push(p, en.src())
		}
	}
	return true
}

// gateNow is the time gate en is asked at, now being the reading admit
// took (zero when no gate needed one). A budget's entry is timeNone: it
// makes the executor read no clock. A budget that takes the executor's
// reading gets the one the executor has: now, or for the first attempt of
// a recorded call the call's start (nothing that waits ran since, as for
// the attempt's own start). Any other budget gets the zero time and reads
// its own clock.
func (c *engine[T]) gateNow(en *planEntry, now time.Time) time.Time {
	if int(en.bi) != budgetIndex {
		return now
	}
	if !en.takesNow {
		return time.Time{}
	}
	if now.IsZero() && c.recording && c.launched == 0 {
		return c.tl.Start
	}
	return now
}

// budgetTakesNow reports whether the budget registered under name decides
// at the executor's clock readings: a budget.TimedBudget whose Clock is the
// executor's (both telling the wall clock's time counts: see sameClock),
// or nil (any clock's).
func (e *Executor) budgetTakesNow(name string) bool {
	b, ok := e.budgets.Get(name)
	if !ok {
		return false
	}
	tb, ok := b.(budget.TimedBudget)
	return ok && sameClock(tb.Clock(), e.clk)
}

// sameClock reports whether readings of clock b are readings of clock a:
// both tell the wall clock's time (clock.WallNow: the wall clock, or a
// clock such as regotest.InstantClock whose Now is the wall clock's, and
// whose readings are therefore the wall clock's), or they are the same
// comparable value. A nil a accepts any clock.
func sameClock(a, b clock.Clock) bool {
	switch {
	case a == nil:
		return true
	case clock.WallNow(a) || clock.WallNow(b):
		return clock.WallNow(a) && clock.WallNow(b)
	}
	t := reflect.TypeOf(a)
	return t == reflect.TypeOf(b) && t.Comparable() && a == b
}

// budgetReasonNone marks an attempt whose budget was not asked.
const budgetReasonNone = "\x00"

// budgetReason is the BudgetReason of the attempt just admitted or
// refused: the budget's own reason (budget_not_found for a budget the
// registry lacks), no_budget when the policy names none, or empty when an
// earlier gate refused the attempt before the budget was asked.
func (c *engine[T]) budgetReason(isHedge bool) string {
	if c.gBudget != budgetReasonNone {
		return c.gBudget
	}
	if !c.plan(isHedge).budget {
		return budget.ReasonNoBudget
	}
	return ""
}

// decisionRoom returns an empty slice with room for n decisions, carved
// from one array per call so that recording costs one allocation per call,
// not one per attempt.
func (c *engine[T]) decisionRoom(n int) []observe.GateDecision {
	if cap(c.gBuf)-len(c.gBuf) < n {
		m := n * (c.res.p.Retry.MaxAttempts + 1)
		if m < 2*n {
			m = 2 * n
		}
		c.gBuf = make([]observe.GateDecision, 0, m)
	}
	start := len(c.gBuf)
	c.gBuf = c.gBuf[:start+n]
	return c.gBuf[start : start : start+n]
}

// releasePermits completes every permit s holds with r. A permit is
// removed before it is completed, so that none is completed twice
// whatever a completer does.
func (c *engine[T]) releasePermits(s *slot, r *gate.Result) {
	for s.perm.n > 0 {
		h := s.perm.pop()
		c.hook(h.src, s.rec)
		h.p.Done(*r)
		c.unhook()
	}
}

// complete completes the permits slot s holds for its attempt, ended with
// verdict v and outcome out.
func (c *engine[T]) complete(s *slot, v gate.Verdict, out classify.OutcomeKind) {
	if v == gate.Answered && c.answeredUntimed(s) {
		return // (before the Result: zeroing it costs more than the answer)
	}
	var r gate.Result
	if c.gateResult(s, v, out, &r) {
		c.releasePermits(s, &r)
	}
}

// answeredUntimed completes, by the breaker's closed path (answeredFast),
// the permits of slot s's answered attempt under a plan that needs no
// time for an answer (timeTripped: only a failure or a probe's result
// does), and reports whether it did; it leaves none then. Asking whether
// the breaker is closed first would cost as much as the answer: the
// closed path takes no probe's permit.
func (c *engine[T]) answeredUntimed(s *slot) bool {
	pl := c.plan(s.isHedge)
	return pl.timing <= timeTripped && c.answeredFast(s, pl, 0, time.Time{})
}

// releasePermitsSafely is releasePermits for cleanup: every permit is
// completed whatever one completer does.
func (c *engine[T]) releasePermitsSafely(s *slot, r *gate.Result) {
	for s.perm.n > 0 {
		h := s.perm.pop()
		c.safely(h.src, s.rec, func() { h.p.Done(*r) })
	}
}

// tripped reports whether a result with verdict v needs the time under a
// timeTripped plan: a failure may open the breaker, and any result of a
// breaker that is not closed (a probe's) may change its state, whose time
// is reported.
func (pl *gatePlan) tripped(v gate.Verdict) bool {
	return v == gate.Failed || (pl.fast != nil && !pl.closed.Closed())
}

// gateResult sets *r to the gate.Result of slot s's attempt, ended with
// verdict v and outcome out, and reports whether s still holds permits to
// complete with it. The clock is read only if a gate needs it: End and
// Latency stay zero for the breaker's success and for budgets. When the
// only permit s holds is the breaker's and the attempt was answered, the
// breaker is told at once by its closed path when that is all it needs
// (see answeredFast): no permit is left, and *r is not filled.
func (c *engine[T]) gateResult(s *slot, v gate.Verdict, out classify.OutcomeKind, r *gate.Result) bool {
	pl := c.plan(s.isHedge)
	if v == gate.Answered && c.answeredUntimed(s) {
		return false
	}
	if v != gate.NotRun && (pl.timing >= timeEnd || (pl.timing == timeTripped && pl.tripped(v))) {
		if !(c.recording || c.tracking()) || c.lastEnd.IsZero() {
			c.lastEnd = c.now() // handle read it when recording
		}
		r.End = c.lastEnd
		if !s.start.IsZero() {
			r.Latency = r.End.Sub(s.start)
		}
	}
	if v == gate.Answered && pl.timing > timeTripped && c.answeredFast(s, pl, r.Latency, r.End) {
		return s.perm.n > 0
	}
	r.Verdict, r.Outcome = v, out
	c.fillAttempt(&r.Attempt, s.rec, s.si, s.step, s.isHedge)
	return s.perm.n > 0
}

// answeredFast completes the breaker's permit, when it is the only one
// slot s holds (under plan pl), for an attempt answered after latency at
// end, by the breaker's closed path, and reports whether it did: not for
// a probe, nor for a slow call the slow-call rule counts (either may
// change the breaker's state, and call its hooks).
func (c *engine[T]) answeredFast(s *slot, pl *gatePlan, latency time.Duration, end time.Time) bool {
	if s.perm.n != 1 || pl.fast == nil {
		return false
	}
	h := &s.perm.a[0]
	if h.p.Completer != gate.Completer(pl.brk) {
		return false
	}
	// Under quiet rules inline (the latency cannot matter: no slow call
	// is counted), otherwise by the closed path. (A probe's permit is
	// neither's.)
	if !pl.closed.AnsweredQuiet(h.p.Token) && !pl.fast.Answered(h.p.Completer, h.p.Token, latency, end) {
		return false
	}
	s.perm.drop()
	return true
}

// slotAttempt is the gate.Attempt that admitted slot s's attempt.
func (c *engine[T]) slotAttempt(s *slot) (a gate.Attempt) {
	c.fillAttempt(&a, s.rec, s.si, s.step, s.isHedge)
	return a
}

// fillAttempt sets *a to the call's attempt of index, launch index
// launched and retry step step. It sets the fields one by one: an Attempt
// built in a temporary and copied, as a composite literal is, stalls on
// the stores that built it when it is copied again at once (to be passed
// to a gate).
func (c *engine[T]) fillAttempt(a *gate.Attempt, index, launched, step int, isHedge bool) {
	if !c.critRead {
		// Only now: a call whose gates never need an Attempt (a closed
		// breaker's, a first attempt's budget) spares the context lookup.
		c.crit, c.critRead = gate.CriticalityFrom(c.ctx), true
	}
	a.Key, a.Policy, a.Index, a.Launched, a.RetryIndex, a.Criticality = c.key, c.res.p, index, launched, step, c.crit
	if isHedge {
		a.Kind = gate.KindHedge
	}
}
