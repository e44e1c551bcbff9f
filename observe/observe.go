package observe

import (
	"context"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/internal/attemptctx"
	"github.com/aponysus/rego/internal/ctxkey"
	"github.com/aponysus/rego/policy"
)

// Timeline attribute names set by the executor.
const (
	AttrPolicySource        = "policy_source"
	AttrPolicyVersion       = "policy_version"
	AttrPolicyNormalized    = "policy_normalized"
	AttrPolicyClampedFields = "policy_clamped_fields"
	AttrPolicyError         = "policy_error"
	AttrMissingPolicyMode   = "missing_policy_mode"
	AttrClassifierMissing   = "classifier_missing"
	AttrStopReason          = "stop_reason"
	AttrHedgeTriggerError   = "hedge_trigger_error"
	// AttrHedgeSkipped says why a hedging call launched no further hedge
	// although its policy allowed one. Its one value is "deadline": the
	// overall deadline left less time than the trigger's delay.
	AttrHedgeSkipped  = "hedge_skipped"
	AttrSingleAttempt = "single_attempt"
)

// Timeline is the structured account of one call.
type Timeline struct {
	Key        policy.PolicyKey
	PolicyID   string
	Start, End time.Time
	Attributes map[string]string
	Attempts   []AttemptRecord
	FinalErr   error
}

// AttemptRecord describes one attempt. Attempt counts from 0 in launch
// order; Backoff is the wait computed before the attempt (after jitter), not
// a measured sleep. A record with BudgetAllowed false is an attempt a gate
// (a budget, the circuit breaker, or another gate) refused: it did not run,
// its Err is the refusal, and RefusedBy names the gate.
type AttemptRecord struct {
	Attempt    int
	StartTime  time.Time
	EndTime    time.Time
	IsHedge    bool
	HedgeIndex int
	Outcome    classify.Outcome
	Err        error
	Backoff    time.Duration
	// BudgetAllowed reports that the attempt was admitted and ran: false
	// when a gate refused it (a gate in shadow mode never refuses).
	BudgetAllowed bool
	// BudgetReason is the budget's reason for its decision ("first_attempt",
	// "tokens_available", "tokens_exhausted", "throttled", ...; for a
	// budget in shadow mode, what it decided), or why no budget was asked:
	// "no_budget" (the policy names none), "budget_not_found" (the
	// registry lacks it). It is empty when an earlier gate (the circuit
	// breaker, load shedding, the rate limiter) refused the attempt before
	// the budget was asked: a breaker's refusal is the breaker's, not a
	// budget denial.
	BudgetReason string
	// BudgetKind is the kind of attempt the budget was asked about.
	BudgetKind budget.AttemptKind
	// RetryIndex is the retry step the attempt belongs to; hedges share
	// their step's index.
	RetryIndex int
	// HedgeReason says why a hedge was launched: "trigger_" followed by
	// its trigger's reason ("trigger_fixed", "trigger_p95",
	// "trigger_warmup_fixed"); or, for an attempt the executor cancelled,
	// why: "lost" (another attempt succeeded) or "call_ended" (the call
	// ended while it ran). The values are few on purpose: integrations use
	// them as metric labels. The hedge's delay is the time between its
	// StartTime and its step's primary's.
	HedgeReason string
	// Cancelled reports that the executor cancelled the attempt (a losing
	// hedge, or the call ending) before it returned on its own.
	Cancelled bool
	// CircuitReason is the circuit breaker's decision for the attempt
	// ("closed", "half_open_probe", "open", "half_open_busy"); empty when
	// the policy enables no breaker. An attempt the breaker refused has
	// BudgetAllowed false, an empty BudgetReason and RefusedBy "circuit":
	// it did not run.
	CircuitReason string
	// Gates holds every gate's decision about the attempt, in the order the
	// gates were asked (gate.Order, then the policy's user gates); nil when
	// the policy enables no gate and names no budget. A refused attempt's
	// last entry is the refusal. A gate the policy names but the executor
	// lacks admits the attempt with reason "budget_not_found",
	// "gate_not_found" or "gate_not_configured".
	Gates []GateDecision
}

// Refusal returns the decision of the gate that refused the attempt, which
// therefore did not run (BudgetAllowed is false); false when every gate
// admitted it or only gates in shadow mode refused.
func (r AttemptRecord) Refusal() (GateDecision, bool) {
	for i := len(r.Gates) - 1; i >= 0; i-- {
		if d := r.Gates[i]; !d.Admitted && !d.Shadow {
			return d, true
		}
	}
	return GateDecision{}, false
}

// RefusedBy returns the name of the gate that refused the attempt ("circuit",
// "budget", a user gate's name), or "" when it ran.
func (r AttemptRecord) RefusedBy() string {
	d, _ := r.Refusal()
	return d.Gate
}

// GateDecision is one gate's decision about an attempt.
type GateDecision struct {
	// Gate is the gate's name: a built-in one ("circuit", "budget",
	// "bulkhead", ...) or the name a user gate is registered under.
	Gate string
	// Reason is the gate's decision in a few low-cardinality words.
	Reason string
	// Admitted reports that the gate let the attempt through.
	Admitted bool
	// Shadow reports that the gate is in shadow mode (its policy section's
	// Shadow flag): its decision is recorded and not enforced, so an entry
	// with Admitted false says it would have refused, and the attempt ran.
	Shadow bool
	// Waited is how long the gate made the attempt wait.
	Waited time.Duration
}

// Observer receives the executor's events. Callbacks run synchronously in
// the caller's goroutine; an observer that blocks delays the call. Embed
// BaseObserver to implement only some methods; more methods may be added.
type Observer interface {
	OnStart(ctx context.Context, key policy.PolicyKey, p policy.EffectivePolicy)
	OnAttempt(ctx context.Context, key policy.PolicyKey, rec AttemptRecord)
	OnHedgeSpawn(ctx context.Context, key policy.PolicyKey, rec AttemptRecord)
	OnHedgeCancel(ctx context.Context, key policy.PolicyKey, rec AttemptRecord, reason string)
	OnSuccess(ctx context.Context, key policy.PolicyKey, tl Timeline)
	OnFailure(ctx context.Context, key policy.PolicyKey, tl Timeline)
}

// NoopObserver ignores every event. It is the executor's default.
type NoopObserver struct{}

func (NoopObserver) OnStart(context.Context, policy.PolicyKey, policy.EffectivePolicy)      {}
func (NoopObserver) OnAttempt(context.Context, policy.PolicyKey, AttemptRecord)             {}
func (NoopObserver) OnHedgeSpawn(context.Context, policy.PolicyKey, AttemptRecord)          {}
func (NoopObserver) OnHedgeCancel(context.Context, policy.PolicyKey, AttemptRecord, string) {}
func (NoopObserver) OnSuccess(context.Context, policy.PolicyKey, Timeline)                  {}
func (NoopObserver) OnFailure(context.Context, policy.PolicyKey, Timeline)                  {}

// BaseObserver is a NoopObserver meant for embedding, so that an observer
// implements only the callbacks it needs and keeps compiling when more are
// added.
type BaseObserver struct{ NoopObserver }

// MultiObserver fans every event out to Observers in order, skipping nil
// entries.
type MultiObserver struct {
	Observers []Observer
}

func (m MultiObserver) OnStart(ctx context.Context, key policy.PolicyKey, p policy.EffectivePolicy) {
	for _, o := range m.Observers {
		if o != nil {
			o.OnStart(ctx, key, p)
		}
	}
}

func (m MultiObserver) OnAttempt(ctx context.Context, key policy.PolicyKey, rec AttemptRecord) {
	for _, o := range m.Observers {
		if o != nil {
			o.OnAttempt(ctx, key, rec)
		}
	}
}

func (m MultiObserver) OnHedgeSpawn(ctx context.Context, key policy.PolicyKey, rec AttemptRecord) {
	for _, o := range m.Observers {
		if o != nil {
			o.OnHedgeSpawn(ctx, key, rec)
		}
	}
}

func (m MultiObserver) OnHedgeCancel(ctx context.Context, key policy.PolicyKey, rec AttemptRecord, reason string) {
	for _, o := range m.Observers {
		if o != nil {
			o.OnHedgeCancel(ctx, key, rec, reason)
		}
	}
}

func (m MultiObserver) OnSuccess(ctx context.Context, key policy.PolicyKey, tl Timeline) {
	for _, o := range m.Observers {
		if o != nil {
			o.OnSuccess(ctx, key, tl)
		}
	}
}

func (m MultiObserver) OnFailure(ctx context.Context, key policy.PolicyKey, tl Timeline) {
	for _, o := range m.Observers {
		if o != nil {
			o.OnFailure(ctx, key, tl)
		}
	}
}

// IsNoop reports whether o does nothing (nil, NoopObserver or a bare
// BaseObserver), which lets the executor skip building records.
func IsNoop(o Observer) bool {
	switch o.(type) {
	case nil, NoopObserver, BaseObserver:
		return true
	}
	return false
}

// AttemptInfo tells an operation which attempt it is running.
type AttemptInfo struct {
	// RetryIndex is the retry step (0 for the first); hedges share their
	// step's index.
	RetryIndex int
	// Attempt equals the attempt record's Attempt.
	Attempt    int
	IsHedge    bool
	HedgeIndex int
	PolicyID   string
}

type attemptKey = ctxkey.Attempt

// WithAttempt returns a context carrying info. The executor calls it for
// every attempt; tests of operations may call it too.
func WithAttempt(ctx context.Context, info AttemptInfo) context.Context {
	return &attemptCtx{Context: ctx, Info: info}
}

// AttemptFromContext returns the AttemptInfo of the attempt ctx belongs to.
func AttemptFromContext(ctx context.Context) (AttemptInfo, bool) {
	if ctx == nil {
		return AttemptInfo{}, false
	}
	if ac, ok := ctx.(*attemptCtx); ok {
		return ac.Info, true
	}
	switch v := ctx.Value(attemptKey{}).(type) {
	case *AttemptInfo:
		return *v, true
	case AttemptInfo:
		return v, true
	}
	return AttemptInfo{}, false
}

// attemptCtx is a context.WithValue specialised for AttemptInfo: one
// allocation and no boxing of the info. The executor may also find one in
// the room an integration's call lends it (attemptctx.Host).
type attemptCtx = attemptctx.Ctx[AttemptInfo]
