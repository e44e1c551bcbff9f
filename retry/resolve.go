package retry

import (
	"context"
	"errors"
	"strings"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// resolution is the outcome of policy resolution for one call.
type resolution struct {
	p       policy.EffectivePolicy
	polErr  error  // provider or normalisation error, recorded as policy_error
	mode    string // missing_policy_mode applied, if any
	denyErr error  // non-nil: fail the call without running it
}

// resolve fills r with the policy for key. It writes in place: a policy is
// a few hundred bytes, and the hot path copies it once, from the provider.
func (e *Executor) resolve(ctx context.Context, key policy.PolicyKey, r *resolution) {
	var err error
	r.p, err = e.provider.GetEffectivePolicy(ctx, key)
	usable := err == nil || r.p.Meta.Source != ""
	if usable && !r.p.Meta.Normalized {
		n, nerr := r.p.Normalize()
		if nerr != nil {
			err = errors.Join(err, nerr)
			usable = false
		} else {
			r.p = n
		}
	}
	if usable {
		if r.p.Key.IsZero() {
			r.p.Key = key
		}
		r.polErr = err
		return
	}
	if err == nil {
		err = ErrNoPolicy
	}
	r.polErr, r.mode = err, e.mode.String()
	switch e.mode {
	case FailureDeny:
		r.denyErr = &NoPolicyError{Key: key, Err: err}
		r.p = policy.EffectivePolicy{Key: key, Meta: policy.Metadata{Source: policy.SourceUnknown}}
	case FailureAllow:
		r.p = policy.DefaultPolicyFor(key)
		r.p.Retry.MaxAttempts = 1
		r.p.Hedge.Enabled = false
	default:
		r.p = policy.DefaultPolicyFor(key)
	}
}

func (e *Executor) classifierFor(p *policy.EffectivePolicy) (c classify.Classifier, isDefault bool, missing string) {
	name := p.Retry.ClassifierName
	if name == "" {
		return e.defClassifier, e.defIsDefault, ""
	}
	if c, ok := e.classifiers.Get(name); ok {
		return c, false, ""
	}
	return e.defClassifier, e.defIsDefault, name
}

// gate is a budget resolved once per call.
type gate struct {
	b      budget.Budget
	ref    policy.BudgetRef
	reason string // why attempts are allowed without asking, when b is nil
}

func (e *Executor) gateFor(ref policy.BudgetRef, g *gate) {
	if ref.Name == "" {
		g.reason = budget.ReasonNoBudget
		return
	}
	if b, ok := e.budgets.Get(ref.Name); ok {
		g.b, g.ref = b, ref
		return
	}
	g.reason = budget.ReasonBudgetMissing
}

// timelineAttrs builds the call-level attributes of a timeline.
func timelineAttrs(r *resolution, classifierMissing string) map[string]string {
	m := make(map[string]string, 4)
	src := r.p.Meta.Source
	if src == "" {
		src = policy.SourceUnknown
	}
	m[observe.AttrPolicySource] = string(src)
	if v := r.p.Meta.Version; v != "" {
		m[observe.AttrPolicyVersion] = v
	}
	if len(r.p.Meta.ClampedFields) > 0 {
		m[observe.AttrPolicyNormalized] = "true"
		m[observe.AttrPolicyClampedFields] = strings.Join(r.p.Meta.ClampedFields, ",")
	}
	if r.polErr != nil {
		m[observe.AttrPolicyError] = r.polErr.Error()
	}
	if r.mode != "" {
		m[observe.AttrMissingPolicyMode] = r.mode
	}
	if classifierMissing != "" {
		m[observe.AttrClassifierMissing] = classifierMissing
	}
	return m
}
