package budget

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/clock"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/cow"
	"github.com/aponysus/rego/policy"
)

// AttemptKind tells a budget what kind of attempt it is gating. It is the
// gate seam's kind (gate.Kind), so that budgets and gates share one notion.
type AttemptKind = gate.Kind

// The attempt kinds.
const (
	// KindRetry is a sequential attempt: the first call or a retry.
	KindRetry = gate.KindRetry
	// KindHedge is a concurrent extra attempt launched while another runs.
	KindHedge = gate.KindHedge
)

// Decision is a budget's answer for one attempt.
type Decision struct {
	Allowed bool
	// Reason is a short, low-cardinality explanation, recorded in the
	// attempt record's BudgetReason.
	Reason string
	// Release, when non-nil, is called exactly once after the attempt
	// ends, on every path.
	Release func()
}

// Budget gates attempts. attemptIdx is the attempt's index in the call
// (0 for the first call). Implementations must be safe for concurrent use
// and must not block.
type Budget interface {
	AllowAttempt(ctx context.Context, key policy.PolicyKey, attemptIdx int, kind AttemptKind, ref policy.BudgetRef) Decision
}

// TimedBudget is implemented by budgets that can decide at a clock reading
// their caller already has, sparing one of their own. The executor asks a
// TimedBudget with AllowAttemptAt, passing its own reading, only when the
// budget's Clock is the executor's clock (the same clock value, or two
// clocks that both tell the wall clock's time, clock.WallNow: clock.Real
// and regotest.InstantClock, say); a budget built on another clock is
// asked with AllowAttempt and keeps reading its own. The executor passes a reading
// only when it has one anyway (another gate needed the time, or the call
// is recorded and the attempt is its first); otherwise it calls
// AllowAttempt. RatioBudget, TokenBucketBudget and Throttle implement it.
type TimedBudget interface {
	Budget
	// AllowAttemptAt is AllowAttempt at time now, a reading of Clock. A
	// zero now means the budget reads its own clock, as AllowAttempt does.
	AllowAttemptAt(ctx context.Context, key policy.PolicyKey, attemptIdx int, kind AttemptKind, ref policy.BudgetRef, now time.Time) Decision
	// Clock returns the clock whose readings AllowAttemptAt expects: the
	// one the budget reads itself. Nil means any clock's readings will do.
	Clock() clock.Clock
}

// OutcomeRecorder is implemented by budgets that learn from the results of
// the attempts they allowed (adaptive throttling counts the requests the
// backend accepted). The executor calls RecordOutcome once for every
// allowed attempt that ran to completion; accepted is true when the backend
// processed the request (a success or a non-retryable outcome), false when
// it failed in a way worth retrying (overload, unavailability, timeout).
type OutcomeRecorder interface {
	RecordOutcome(key policy.PolicyKey, kind AttemptKind, accepted bool)
}

// Reasons recorded when the executor decides without asking a budget.
const (
	ReasonNoBudget      = "no_budget"
	ReasonBudgetMissing = "budget_not_found"
)

// ErrDenied is matched (errors.Is) by every DeniedError.
var ErrDenied = errors.New("budget: attempt denied")

// DeniedError is returned by the executor when a budget denied an attempt
// and no earlier attempt left an error to return.
type DeniedError struct {
	Budget string // the budget's name in the registry
	Kind   AttemptKind
	Reason string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("budget: %s attempt denied by %q: %s", e.Kind, e.Budget, e.Reason)
}

// Unwrap returns ErrDenied.
func (e *DeniedError) Unwrap() error { return ErrDenied }

// Registry maps budget names to budgets. Lookups are lock-free. The zero
// value is empty and ready to use; a Registry is safe for concurrent use.
type Registry struct {
	m cow.Map[string, *budgetGate]
	// gen counts registrations, and seen remembers recent lookups (see
	// lookup).
	gen  atomic.Uint64
	seen [seenSlots]atomic.Pointer[seenGate]
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Register adds or replaces the budget for name. It panics if name is empty
// or b is nil: both are programming errors.
func (r *Registry) Register(name string, b Budget) {
	if name == "" {
		panic("budget: Register with an empty name")
	}
	if b == nil {
		panic("budget: Register of a nil budget for " + name)
	}
	r.m.Store(name, newBudgetGate(name, b))
	r.gen.Add(1) // after the store: see lookup
}

// Get returns the budget registered under name.
func (r *Registry) Get(name string) (Budget, bool) {
	if r == nil {
		return nil, false
	}
	g, ok := r.lookup(name)
	if !ok {
		return nil, false
	}
	return g.b, true
}

// Gate returns the budget registered under name as a gate.Gate: the
// executor asks budgets through the admission seam like every other check.
// The gate reads its BudgetRef from the attempt's policy (the retry budget
// for first attempts and retries, the hedge budget for hedges) and turns a
// denial into a *DeniedError. Its permits complete the budget's Decision:
// Release is called, and a budget that implements OutcomeRecorder is told
// the outcome of every attempt that ran to a classified end (accepted when
// the dependency answered). The gate is built once, at Register: asking it
// costs no allocation beyond the budget's own, except for a budget whose
// decisions carry a Release and that also records outcomes (one small
// allocation per admitted attempt). A TimedBudget decides at the now
// passed to Admit, which must then be a reading of the budget's Clock; a
// zero now lets it read its own clock.
func (r *Registry) Gate(name string) (gate.Gate, bool) {
	if r == nil {
		return nil, false
	}
	g, ok := r.lookup(name)
	if !ok {
		return nil, false
	}
	return g, true
}

// UnlimitedBudget allows every attempt.
type UnlimitedBudget struct{}

// AllowAttempt always allows.
func (UnlimitedBudget) AllowAttempt(context.Context, policy.PolicyKey, int, AttemptKind, policy.BudgetRef) Decision {
	return Decision{Allowed: true, Reason: "unlimited"}
}
