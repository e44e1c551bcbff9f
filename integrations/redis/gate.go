package regoredis

import (
	"context"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

// Name of the gates in gate.RefusedError.Gate, when a policy's gates list
// holds them.
const (
	GateBudget  = "redis_budget"
	GateLimiter = "redis_rate_limit"
)

// Admit is AllowAttempt as a gate.Gate: the attempt's kind and its
// section's BudgetRef.Cost come from a. A refusal is a *gate.RefusedError
// that also matches budget.ErrDenied. Permits need no completion.
func (b *FleetBudget) Admit(ctx context.Context, a gate.Attempt, _ time.Time) (gate.Permit, error) {
	kind, ref := budget.KindRetry, policy.BudgetRef{}
	if a.Kind == gate.KindHedge {
		kind = budget.KindHedge
	}
	if a.Policy != nil {
		ref = a.Policy.Retry.Budget
		if kind == budget.KindHedge {
			ref = a.Policy.Hedge.Budget
		}
	}
	idx := a.Launched
	if !a.First() && idx == 0 {
		idx = 1
	}
	d := b.AllowAttempt(ctx, a.Key, idx, kind, ref)
	if d.Allowed {
		return gate.Permit{Reason: d.Reason}, nil
	}
	return gate.Permit{Reason: d.Reason}, &gate.RefusedError{
		Gate:   GateBudget,
		Reason: d.Reason,
		Err:    &budget.DeniedError{Budget: b.r.Name, Kind: kind, Reason: d.Reason},
	}
}

// Admit is Allow as a gate.Gate. A refusal is a *gate.RefusedError whose
// RetryAfter says when the fleet's bucket would hold a token.
func (l *FleetLimiter) Admit(ctx context.Context, _ gate.Attempt, _ time.Time) (gate.Permit, error) {
	ok, reason, after := l.Allow(ctx)
	if ok {
		return gate.Permit{Reason: reason}, nil
	}
	return gate.Permit{Reason: reason}, &gate.RefusedError{Gate: GateLimiter, Reason: reason, RetryAfter: after}
}
