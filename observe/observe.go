package observe

import (
	"context"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/classify"
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
	AttrHedgeSkipped        = "hedge_skipped"
	AttrSingleAttempt       = "single_attempt"
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
// a measured sleep. A record with BudgetAllowed false is an attempt a budget
// denied: it did not run.
type AttemptRecord struct {
	Attempt       int
	StartTime     time.Time
	EndTime       time.Time
	IsHedge       bool
	HedgeIndex    int
	Outcome       classify.Outcome
	Err           error
	Backoff       time.Duration
	BudgetAllowed bool
	BudgetReason  string
	// BudgetKind is the kind of attempt the budget was asked about.
	BudgetKind budget.AttemptKind
	// RetryIndex is the retry step the attempt belongs to; hedges share
	// their step's index.
	RetryIndex int
	// HedgeReason says why a hedge was launched ("trigger_fixed",
	// "trigger_p95") or, for an attempt cancelled by the executor, why it
	// was cancelled ("lost" when another attempt won, "call_ended" when the
	// call ended first).
	HedgeReason string
	// Cancelled reports that the executor cancelled the attempt (a losing
	// hedge, or the call ending) before it returned on its own.
	Cancelled bool
	// CircuitReason is the circuit breaker's decision for the attempt
	// ("closed", "half_open_probe", "open", "half_open_busy"); empty when
	// the policy enables no breaker. An attempt the breaker refused has
	// BudgetAllowed false and BudgetReason "circuit_<reason>": it did not
	// run.
	CircuitReason string
	// Gates holds every gate's decision about the attempt, in the order the
	// gates were asked (package gate); nil when the policy enables no gate
	// and names no budget. A refused attempt's last entry is the refusal.
	Gates []GateDecision
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
	// Shadow reports that the gate is in shadow mode: a refusal (Admitted
	// false) was recorded but not enforced, and the attempt ran.
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

type attemptKey struct{}

// WithAttempt returns a context carrying info. The executor calls it for
// every attempt; tests of operations may call it too.
func WithAttempt(ctx context.Context, info AttemptInfo) context.Context {
	return &attemptCtx{Context: ctx, info: info}
}

// AttemptFromContext returns the AttemptInfo of the attempt ctx belongs to.
func AttemptFromContext(ctx context.Context) (AttemptInfo, bool) {
	if ctx == nil {
		return AttemptInfo{}, false
	}
	if ac, ok := ctx.(*attemptCtx); ok {
		return ac.info, true
	}
	info, ok := ctx.Value(attemptKey{}).(AttemptInfo)
	return info, ok
}

// attemptCtx is a context.WithValue specialised for AttemptInfo: one
// allocation and no boxing of the info.
type attemptCtx struct {
	context.Context
	info AttemptInfo
}

func (c *attemptCtx) Value(key any) any {
	if _, ok := key.(attemptKey); ok {
		return c.info
	}
	return c.Context.Value(key)
}
