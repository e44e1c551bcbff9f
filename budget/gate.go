package budget

import (
	"context"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

// budgetGate is a registered budget seen as a gate.Gate.
type budgetGate struct {
	name string
	b    Budget
	rec  OutcomeRecorder // b, when it learns from outcomes
	at   TimedBudget     // b, when it decides at its caller's time
	// first is how it admits first attempts on the executor's fast path
	// (see fast.go); ratio is b, when a ratio budget.
	first int
	ratio *RatioBudget
}

// The built-in budgets that read the time take the caller's reading.
var (
	_ TimedBudget = (*RatioBudget)(nil)
	_ TimedBudget = (*TokenBucketBudget)(nil)
	_ TimedBudget = (*Throttle)(nil)
)

func newBudgetGate(name string, b Budget) *budgetGate {
	g := &budgetGate{name: name, b: b}
	g.rec, _ = b.(OutcomeRecorder)
	g.at, _ = b.(TimedBudget)
	g.first = firstKind(b)
	g.ratio, _ = b.(*RatioBudget)
	return g
}

// ref is the budget reference of the policy section that governs a.
func ref(a gate.Attempt) policy.BudgetRef {
	if a.Policy == nil {
		return policy.BudgetRef{}
	}
	if a.Kind == gate.KindHedge {
		return a.Policy.Hedge.Budget
	}
	return a.Policy.Retry.Budget
}

// Admit asks the budget. It never waits. A TimedBudget decides at now (a
// zero now lets it read its own clock); others ignore now.
func (g *budgetGate) Admit(ctx context.Context, a gate.Attempt, now time.Time) (gate.Permit, error) {
	kind := a.Kind
	var dec Decision
	if g.at != nil && !now.IsZero() {
		dec = g.at.AllowAttemptAt(ctx, a.Key, a.Launched, kind, ref(a), now)
	} else {
		dec = g.b.AllowAttempt(ctx, a.Key, a.Launched, kind, ref(a))
	}
	if !dec.Allowed {
		if dec.Release != nil {
			dec.Release()
		}
		return gate.Permit{Reason: dec.Reason}, &DeniedError{Budget: g.name, Kind: kind, Reason: dec.Reason}
	}
	p := gate.Permit{Reason: dec.Reason}
	switch {
	case dec.Release != nil && g.rec != nil:
		p.Completer = &releaseRecorder{g: g, release: dec.Release}
	case dec.Release != nil:
		p.Completer = releaseFunc(dec.Release) // a func is pointer-shaped: no allocation
	case g.rec != nil:
		p.Completer = g
	}
	return p, nil
}

// Complete tells an OutcomeRecorder how the attempt ended.
func (g *budgetGate) Complete(_ gate.Permit, r gate.Result) { g.record(r) }

func (g *budgetGate) record(r gate.Result) {
	// Only an attempt that ran to a classified end says something about
	// the dependency; a cancelled loser, a panic or an attempt that never
	// ran does not.
	if r.Outcome == classify.OutcomeUnknown || (r.Verdict != gate.Answered && r.Verdict != gate.Failed && r.Verdict != gate.Cancelled) {
		return
	}
	g.rec.RecordOutcome(r.Attempt.Key, r.Attempt.Kind, r.Verdict == gate.Answered)
}

// releaseFunc completes a permit by releasing its decision.
type releaseFunc func()

func (f releaseFunc) Complete(gate.Permit, gate.Result) { f() }

// releaseRecorder completes a permit of a budget that both releases its
// decisions and records outcomes.
type releaseRecorder struct {
	g       *budgetGate
	release func()
}

func (c *releaseRecorder) Complete(_ gate.Permit, r gate.Result) {
	defer c.release()
	c.g.record(r)
}
