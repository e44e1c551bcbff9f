// Package fastgate is the executor's way to the closed path of a circuit
// breaker. Through the gate seam, a breaker is asked with a gate.Attempt
// and told the result in a gate.Result, values of about a hundred bytes
// that are copied on every call and cost several times the breaker's own
// work (two atomic loads to admit, one or two to count a success). A
// closed breaker needs neither: this interface asks it with what it reads,
// and Circuit lets the executor decide inline, without a call, when the
// breaker's rules count no results.
// Package circuit implements it and sets Of; package budget does the same
// for a call's first attempt (Budget, BudgetOf). Being internal, none of
// it is part of rego's API.
package fastgate

import (
	"time"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

// Breaker is the closed path of a circuit breaker.
type Breaker interface {
	// AdmitClosed admits an attempt under cfg exactly as the breaker's
	// Admit would when cfg enables it and the breaker is closed (not
	// forced), and returns the Token of the permit Admit would return
	// (its Reason is circuit.ReasonClosed, its Completer the breaker). ok
	// is false in every other case: the caller then asks Admit. (A
	// gate.Permit is returned through memory, a token in a register.)
	// fixed promises that *cfg is never modified (a policy in force): the
	// breaker may then recognise it by its address.
	AdmitClosed(cfg *policy.CircuitPolicy, fixed bool) (token uint64, ok bool)
	// Answered completes the permit of the given Completer and Token for
	// an attempt the dependency answered (a gate.Answered result) after
	// latency, at end, as the breaker's Complete would, when the permit
	// is one of the breaker's own and that cannot change the breaker's
	// state: it is not a probe's, and the attempt is not a slow call the
	// slow-call rule counts. It reports whether it did; if not, the
	// caller completes the permit as it would have. latency and end are
	// those of the gate.Result the caller would have built (zero when the
	// breaker's rules do not need them).
	Answered(completer gate.Completer, token uint64, latency time.Duration, end time.Time) bool
	// Circuit returns the breaker's state, for the inline paths under
	// quiet rules (AdmitQuiet, AnsweredQuiet).
	Circuit() *Circuit
}

// Of returns the closed path of g when g is a circuit breaker, or nil.
// Package circuit sets it.
var Of = func(gate.Gate) Breaker { return nil }

// Budget is the first-attempt path of a retry budget.
type Budget interface {
	// AdmitFirst admits a call's first attempt (gate.KindRetry, Launched
	// 0) exactly as the budget's gate would at now (a reading of the
	// budget's clock, or zero: the budget reads its own), when such an
	// admission needs no Attempt and no completion, and returns the
	// permit's Reason. ok is false when the budget has no such path: the
	// caller then asks the gate's Admit.
	AdmitFirst(now time.Time) (reason string, ok bool)
	// Free returns the Reason of every first attempt's permit, and true,
	// when AdmitFirst counts nothing and reads no time (a token bucket):
	// the caller may then admit first attempts with it, without asking.
	Free() (reason string, ok bool)
}

// BudgetOf returns the first-attempt path of g when g is the gate of a
// budget that has one, or nil. Package budget sets it.
var BudgetOf = func(gate.Gate) Budget { return nil }
