package controlplane

import (
	"context"
	"errors"
	"sync"

	"github.com/aponysus/rego/policy"
)

// Sentinel errors returned (wrapped) by providers.
var (
	// ErrPolicyNotFound: the provider has no policy for the key and no
	// default.
	ErrPolicyNotFound = errors.New("controlplane: policy not found")
	// ErrProviderUnavailable: the provider cannot reach its source.
	ErrProviderUnavailable = errors.New("controlplane: provider unavailable")
)

// PolicyProvider resolves the effective policy for a key.
//
// A provider may return a usable policy together with an error, when it
// serves from a fallback such as a last-known-good copy; the executor then
// runs the policy and records the error in the timeline. A policy is usable
// when its Meta.Source is set. An error with an unusable (zero) policy makes
// the executor apply its MissingPolicyMode.
//
// Implementations must be safe for concurrent use and should return
// normalised policies (Meta.Normalized set); the executor normalises any
// other policy on every call.
type PolicyProvider interface {
	GetEffectivePolicy(ctx context.Context, key policy.PolicyKey) (policy.EffectivePolicy, error)
}

// Versioned is implemented by providers that serve versioned documents.
// The executor records the version in the timeline as policy_version.
type Versioned interface {
	// Version returns the version of the document in force, or "".
	Version() string
}

// StaticProvider serves policies from code: a key's own policy, else
// Default when it is non-zero, else policy.DefaultPolicyFor(key).
//
// Policies are normalised once, on first use; Policies and Default must not
// be modified after the provider has been used. A policy that cannot be
// normalised (an unknown jitter kind, say) is reported by every lookup of
// its key as an error wrapping policy.ErrInvalidPolicy.
//
// A StaticProvider is safe for concurrent use.
type StaticProvider struct {
	Policies map[policy.PolicyKey]policy.EffectivePolicy
	Default  policy.EffectivePolicy

	once  sync.Once
	byKey map[policy.PolicyKey]staticEntry
	def   staticEntry
	hasDf bool
}

type staticEntry struct {
	p   policy.EffectivePolicy
	err error
}

func (s *StaticProvider) load() {
	s.byKey = make(map[policy.PolicyKey]staticEntry, len(s.Policies))
	for k, p := range s.Policies {
		p.Key = k
		s.byKey[k] = normalizeStatic(p, policy.SourceStatic)
	}
	if !s.Default.IsZero() {
		s.hasDf = true
		s.def = normalizeStatic(s.Default, policy.SourceStatic)
	}
}

func normalizeStatic(p policy.EffectivePolicy, src policy.PolicySource) staticEntry {
	if p.Meta.Source == "" || p.Meta.Source == policy.SourceUnknown {
		p.Meta.Source = src
	}
	n, err := p.Normalize()
	if err != nil {
		return staticEntry{err: err}
	}
	return staticEntry{p: n}
}

// GetEffectivePolicy returns the policy for key.
func (s *StaticProvider) GetEffectivePolicy(_ context.Context, key policy.PolicyKey) (policy.EffectivePolicy, error) {
	s.once.Do(s.load)
	if e, ok := s.byKey[key]; ok {
		return e.p, e.err
	}
	if s.hasDf {
		p := s.def.p
		p.Key = key
		return p, s.def.err
	}
	return policy.DefaultPolicyFor(key), nil
}
