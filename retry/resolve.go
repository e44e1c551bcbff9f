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
	// The policy in force is ref, the provider's own immutable copy, when
	// the provider serves policies by reference, else own. (A pointer from
	// the resolution to its own field would move the call's state to the
	// heap; a flag keeps it on the stack.)
	ref     *policy.EffectivePolicy
	own     policy.EffectivePolicy
	useOwn  bool
	polErr  error  // provider or normalisation error, recorded as policy_error
	mode    string // missing_policy_mode applied, if any
	denyErr error  // non-nil: fail the call without running it
}

// pol returns the policy in force.
func (r *resolution) pol() *policy.EffectivePolicy {
	if r.useOwn {
		return &r.own
	}
	return r.ref
}

// mutable returns the policy in force as a private copy the call may
// change.
func (r *resolution) mutable() *policy.EffectivePolicy {
	if !r.useOwn {
		r.own = *r.ref
		r.useOwn = true
	}
	return &r.own
}

// resolve fills r with the policy for key. Providers that serve policies by
// reference cost no copy; others are copied once, in place.
func (e *Executor) resolve(ctx context.Context, key policy.PolicyKey, r *resolution) {
	var err error
	usable := false
	if e.refProvider != nil {
		r.ref, err = e.refProvider.GetEffectivePolicyRef(ctx, key)
		usable = r.ref != nil
	} else {
		r.own, err = e.provider.GetEffectivePolicy(ctx, key)
		r.useOwn = true
		usable = err == nil || r.own.Meta.Source != ""
	}
	if usable {
		if p := r.pol(); !p.Meta.Normalized {
			// Providers should serve normalised policies; never trust
			// them to.
			n, nerr := p.Normalize()
			if nerr != nil {
				err = errors.Join(err, nerr)
				usable = false
			} else {
				r.own, r.useOwn = n, true
			}
		}
	}
	if usable {
		r.polErr = err
		return
	}
	if err == nil {
		err = ErrNoPolicy
	}
	r.polErr, r.mode, r.useOwn = err, e.mode.String(), true
	switch e.mode {
	case FailureDeny:
		r.denyErr = &NoPolicyError{Key: key, Err: err}
		r.own = policy.EffectivePolicy{Key: key, Meta: policy.Metadata{Source: policy.SourceUnknown}}
	case FailureAllow:
		r.own = policy.DefaultPolicyFor(key)
		r.own.Retry.MaxAttempts = 1
		r.own.Hedge.Enabled = false
	default:
		r.own = policy.DefaultPolicyFor(key)
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
	p := r.pol()
	src := p.Meta.Source
	if src == "" {
		src = policy.SourceUnknown
	}
	m[observe.AttrPolicySource] = string(src)
	if v := p.Meta.Version; v != "" {
		m[observe.AttrPolicyVersion] = v
	}
	if len(p.Meta.ClampedFields) > 0 {
		m[observe.AttrPolicyNormalized] = "true"
		m[observe.AttrPolicyClampedFields] = strings.Join(p.Meta.ClampedFields, ",")
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
