package retry

import (
	"context"
	"errors"
	"strings"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// resolution is the outcome of policy resolution for one call.
type resolution struct {
	// p is the policy in force. It is shared (the provider's immutable
	// copy, or one of the fallbacks below) unless mutable made it the
	// call's own: never write through it otherwise.
	p       *policy.EffectivePolicy
	owned   bool
	polErr  error  // provider or normalisation error, recorded as policy_error
	mode    string // missing_policy_mode applied, if any
	denyErr error  // non-nil: fail the call without running it
}

// The policies of the missing-policy modes, shared by every call.
var (
	fallbackPolicy = policy.DefaultPolicyFor(policy.PolicyKey{})
	allowPolicy    = func() policy.EffectivePolicy {
		p := policy.DefaultPolicyFor(policy.PolicyKey{})
		p.Retry.MaxAttempts = 1
		return p
	}()
	denyPolicy = func() policy.EffectivePolicy {
		p := policy.DefaultPolicyFor(policy.PolicyKey{})
		p.Meta.Source = policy.SourceUnknown
		return p
	}()
)

// mutable returns the policy in force as a private copy the call may
// change.
func (r *resolution) mutable() *policy.EffectivePolicy {
	if !r.owned {
		cp := *r.p
		r.p, r.owned = &cp, true
	}
	return r.p
}

// resolve fills r with the policy for key. Providers that serve policies by
// reference (every provider of package controlplane) cost no copy; a
// provider that returns policies by value costs one allocation per call.
func (e *Executor) resolve(ctx context.Context, key policy.PolicyKey, r *resolution) {
	var err error
	if e.refProvider != nil {
		r.p, err = e.refProvider.GetEffectivePolicyRef(ctx, key)
	} else {
		v, verr := e.provider.GetEffectivePolicy(ctx, key)
		err = verr
		if err == nil || v.Meta.Source != "" {
			r.p, r.owned = &v, true
		}
	}
	if r.p != nil && !r.p.Meta.Normalized {
		// Providers should serve normalised policies; never trust them to.
		n, nerr := r.p.Normalize()
		if nerr != nil {
			err = errors.Join(err, nerr)
			r.p = nil
		} else {
			r.p, r.owned = &n, true
		}
	}
	if r.p != nil {
		r.polErr = err
		return
	}
	if err == nil {
		err = ErrNoPolicy
	}
	r.polErr, r.mode, r.owned = err, e.mode.String(), false
	switch e.mode {
	case FailureDeny:
		r.denyErr = &NoPolicyError{Key: key, Err: err}
		r.p = &denyPolicy
	case FailureAllow:
		r.p = &allowPolicy
	default:
		r.p = &fallbackPolicy
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

// timelineAttrs builds the call-level attributes of a timeline. (It takes
// values, not the resolution: a pointer into the call's state would move
// that state to the heap.)
func timelineAttrs(p *policy.EffectivePolicy, polErr error, mode, classifierMissing string) map[string]string {
	m := make(map[string]string, 4)
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
	if polErr != nil {
		m[observe.AttrPolicyError] = polErr.Error()
	}
	if mode != "" {
		m[observe.AttrMissingPolicyMode] = mode
	}
	if classifierMissing != "" {
		m[observe.AttrClassifierMissing] = classifierMissing
	}
	return m
}
