package gate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/internal/cow"
	"github.com/aponysus/rego/policy"
)

// Kind tells a gate what kind of attempt it is asked about.
type Kind int

// The attempt kinds.
const (
	// KindRetry is a sequential attempt: the first call or a retry.
	KindRetry Kind = iota
	// KindHedge is a concurrent extra attempt launched while another runs.
	KindHedge
)

func (k Kind) String() string {
	if k == KindHedge {
		return "hedge"
	}
	return "retry"
}

// Attempt describes the attempt a gate is asked to admit.
type Attempt struct {
	// Key is the call's policy key.
	Key policy.PolicyKey
	// Policy is the normalised policy in force for the call. Gates read
	// their own section of it; they must not modify it.
	Policy *policy.EffectivePolicy
	// Index is the attempt's index in the call (its record's Attempt),
	// counting refused attempts.
	Index int
	// Launched is how many attempts of the call have run before this one
	// (0 for the first attempt).
	Launched int
	// RetryIndex is the retry step; hedges share their step's index.
	RetryIndex int
	// Kind is KindRetry for the first attempt and retries, KindHedge for
	// hedges.
	Kind Kind
	// Criticality is the call's criticality, from the caller's context
	// (see WithCriticality); CriticalityDefault when none was set.
	Criticality Criticality
}

// First reports whether the attempt is the call's first.
func (a Attempt) First() bool { return a.Launched == 0 && a.Kind == KindRetry }

// Completer completes the permits a gate hands out. Complete is called
// exactly once per permit that carries the Completer.
type Completer interface {
	Complete(p Permit, r Result)
}

// Permit is a gate's admission of one attempt. It is a small value: a gate
// keeps what it needs to complete the permit in Token (a generation, a
// probe flag) or in the Completer itself.
type Permit struct {
	// Reason is the gate's decision in a few low-cardinality words
	// ("closed", "half_open_probe", "admitted"), recorded in the attempt
	// record. On a refusal it says why ("open", "full", "rate_limited").
	Reason string
	// Completer, when non-nil, receives the attempt's Result once it ends.
	Completer Completer
	// Token is the gate's own data about this admission.
	Token uint64
	// Waited is how long the gate made the attempt wait before admitting
	// (or refusing) it.
	Waited time.Duration
}

// Done completes the permit with r. The executor calls it exactly once for
// every permit Admit returned with a nil error.
func (p Permit) Done(r Result) {
	if p.Completer != nil {
		p.Completer.Complete(p, r)
	}
}

// Verdict says what an attempt told a gate about the dependency.
type Verdict int

// The verdicts.
const (
	// NotRun: the attempt never ran (a later gate refused it, the call
	// ended during its backoff wait or while a later gate made it wait).
	NotRun Verdict = iota
	// Cancelled: the attempt ran but says nothing about the dependency:
	// the caller's context or the overall timeout cut it short, the
	// executor cancelled it (a losing hedge), its classifier aborted, or
	// it panicked.
	Cancelled
	// Answered: the dependency answered (a success or a non-retryable
	// outcome).
	Answered
	// Failed: the attempt failed in a way worth retrying (overload,
	// unavailability, a per-attempt timeout).
	Failed
)

func (v Verdict) String() string {
	switch v {
	case Cancelled:
		return "cancelled"
	case Answered:
		return "answered"
	case Failed:
		return "failed"
	}
	return "not_run"
}

// Result is how an admitted attempt ended.
type Result struct {
	Verdict Verdict
	// Outcome is the classifier's verdict (OutcomeUnknown when the attempt
	// did not run to a classified end).
	Outcome classify.OutcomeKind
	// Latency is the attempt's duration, from its launch to its result;
	// zero when it did not run.
	Latency time.Duration
	// End is the executor's clock reading when the attempt ended; zero when
	// it did not run. Gates that need the time of a failure read it here.
	End time.Time
	// Attempt is the attempt the permit admitted, as Admit saw it. A gate
	// finds its per-key state (Attempt.Key) and its policy section
	// (Attempt.Policy) here, so that a Permit need not carry them: that
	// keeps Permit small and admission free of allocations.
	Attempt Attempt
}

// Gate admits or refuses attempts.
type Gate interface {
	// Admit decides whether the attempt may run at now. A nil error admits
	// it: the executor completes the returned Permit exactly once. A
	// non-nil error refuses it: the Permit's Reason says why (and nothing
	// needs completing). The error should match ErrRefused with errors.Is
	// (a *RefusedError does), or a documented sentinel of the gate's
	// package. Admit may wait, bounded by ctx and by a maximum the gate
	// documents.
	Admit(ctx context.Context, a Attempt, now time.Time) (Permit, error)
}

// Func adapts a function to a Gate whose permits need no completion.
type Func func(ctx context.Context, a Attempt, now time.Time) (Permit, error)

// Admit calls f.
func (f Func) Admit(ctx context.Context, a Attempt, now time.Time) (Permit, error) {
	return f(ctx, a, now)
}

// ErrRefused is matched (errors.Is) by every RefusedError.
var ErrRefused = errors.New("gate: attempt refused")

// RefusedError is the refusal of a gate. It matches ErrRefused and, when
// Err is set, Err (a gate package's own sentinel, such as a bulkhead's
// ErrFull).
type RefusedError struct {
	// Gate is the gate's name ("bulkhead", a registered name).
	Gate string
	// Reason is the refusal in a few low-cardinality words ("full").
	Reason string
	// RetryAfter, when positive, is how long until the gate is likely to
	// admit again. Servers turn it into a Retry-After header or gRPC
	// pushback.
	RetryAfter time.Duration
	// Err is the gate's own error, if any.
	Err error
}

func (e *RefusedError) Error() string {
	s := fmt.Sprintf("gate: attempt refused by %s: %s", e.Gate, e.Reason)
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %v)", e.RetryAfter.Round(time.Millisecond))
	}
	return s
}

// Unwrap returns ErrRefused and Err.
func (e *RefusedError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrRefused}
	}
	return []error{ErrRefused, e.Err}
}

// Registry maps names to user gates, which policies name in their gates
// list (policy.GateRef). Lookups are lock-free. The zero value is empty and
// ready to use; a Registry is safe for concurrent use.
type Registry struct {
	m cow.Map[string, Gate]
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Register adds or replaces the gate for name. It panics if name is empty
// or g is nil: both are programming errors.
func (r *Registry) Register(name string, g Gate) {
	if name == "" {
		panic("gate: Register with an empty name")
	}
	if g == nil {
		panic("gate: Register of a nil gate for " + name)
	}
	r.m.Store(name, g)
}

// Get returns the gate registered under name.
func (r *Registry) Get(name string) (Gate, bool) {
	if r == nil {
		return nil, false
	}
	return r.m.Load(name)
}

// Names of the built-in gates, as recorded in GateDecision.Gate, in the
// order the executor asks them (Order).
const (
	NameCircuit     = "circuit"
	NameShed        = "shed"
	NameRateLimit   = "rate_limit"
	NameBudget      = "budget"
	NameBulkhead    = "bulkhead"
	NameConcurrency = "concurrency"
)

// Order is the order in which the executor asks the gates of a policy,
// cheapest refusal first and waiting gates last, so that a gate that makes
// an attempt wait holds as little as possible: the circuit breaker, load
// shedding, the rate limiter, the budget (the retry budget for retries and
// first attempts, the hedge budget for hedges), the bulkhead, the adaptive
// concurrency limit. User gates named in the policy's gates list come
// after the built-in ones, in the list's order.
var Order = []string{NameCircuit, NameShed, NameRateLimit, NameBudget, NameBulkhead, NameConcurrency}
