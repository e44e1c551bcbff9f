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

// PolicyRefProvider is implemented by providers that keep their policies
// in immutable snapshots, as every provider of this package does. The
// executor prefers it to GetEffectivePolicy: it reads the policy in place
// instead of copying a few hundred bytes on every call.
//
// GetEffectivePolicyRef returns what GetEffectivePolicy would, by
// reference: nil when there is no usable policy. The policy it points to is
// shared: callers must not modify it, and the provider must never modify
// it either (a new document makes new policies). A policy shared between
// keys (a default) keeps its own Key; callers use the key they asked for.
type PolicyRefProvider interface {
	PolicyProvider
	GetEffectivePolicyRef(ctx context.Context, key policy.PolicyKey) (*policy.EffectivePolicy, error)
}

// Versioned is implemented by providers that serve versioned documents,
// for programs and operators that want the version in force. (The
// executor does not call it: it records each policy's own Meta.Version,
// which providers set from the document, as policy_version.)
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
}

type staticEntry struct {
	p   *policy.EffectivePolicy
	err error
}

// builtinDefault is served for keys without a policy when Default is zero.
var builtinDefault = policy.DefaultPolicyFor(policy.PolicyKey{})

func (s *StaticProvider) load() {
	s.byKey = make(map[policy.PolicyKey]staticEntry, len(s.Policies))
	for k, p := range s.Policies {
		p.Key = k
		s.byKey[k] = normalizeStatic(p, policy.SourceStatic)
	}
	if s.Default.IsZero() {
		s.def = staticEntry{p: &builtinDefault}
	} else {
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
	return staticEntry{p: &n}
}

func (s *StaticProvider) entry(key policy.PolicyKey) staticEntry {
	s.once.Do(s.load)
	if e, ok := s.byKey[key]; ok {
		return e
	}
	return s.def
}

// GetEffectivePolicy returns the policy for key.
func (s *StaticProvider) GetEffectivePolicy(_ context.Context, key policy.PolicyKey) (policy.EffectivePolicy, error) {
	e := s.entry(key)
	if e.p == nil {
		return policy.EffectivePolicy{}, e.err
	}
	p := *e.p
	p.Key = key
	return p, e.err
}

// Version returns "": policies from code have no document version. (A
// policy's own Meta.Version, if set, still reaches the timeline.)
func (s *StaticProvider) Version() string { return "" }

// GetEffectivePolicyRef is GetEffectivePolicy without the copy; see
// PolicyRefProvider.
func (s *StaticProvider) GetEffectivePolicyRef(_ context.Context, key policy.PolicyKey) (*policy.EffectivePolicy, error) {
	e := s.entry(key)
	return e.p, e.err
}
