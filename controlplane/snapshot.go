package controlplane

import (
	"errors"
	"fmt"

	"github.com/aponysus/rego/policy"
)

// errNotLoaded is the cause reported before a provider's first load has
// finished.
var errNotLoaded = errors.New("no document loaded yet")

// StaleError reports that a provider serves its last-known-good document
// because loading a newer one failed. Lookups return it together with the
// last-known-good policy, whose Meta.Source is then policy.SourceLKG, so
// the executor runs that policy and records the error in the timeline.
//
// It matches both ErrProviderUnavailable and the cause under errors.Is and
// errors.As.
type StaleError struct {
	// Source is the file path or URL the provider loads from.
	Source string
	// Version is the version of the document still in force.
	Version string
	// Err is why the newer document could not be loaded.
	Err error

	// msg is the message, built once by the provider: every call that
	// records the error asks for it, and a document with thousands of
	// problems must not cost thousands of string writes per call.
	msg string
}

func (e *StaleError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("controlplane: serving last-known-good version %q of %s: %v", e.Version, e.Source, e.Err)
}

// Unwrap returns ErrProviderUnavailable and the cause.
func (e *StaleError) Unwrap() []error { return []error{ErrProviderUnavailable, e.Err} }

// UnavailableError reports that a provider has no document at all: its
// first load has not succeeded. Lookups return it with a zero policy, so
// the executor applies its MissingPolicyMode.
//
// It matches both ErrProviderUnavailable and the cause under errors.Is and
// errors.As.
type UnavailableError struct {
	// Source is the file path or URL the provider loads from.
	Source string
	// Err is why no document could be loaded.
	Err error

	// msg is the message, built once by the provider (see StaleError).
	msg string
}

func (e *UnavailableError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("controlplane: no policy document from %s: %v", e.Source, e.Err)
}

// Unwrap returns ErrProviderUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrProviderUnavailable, e.Err} }

// snapshot is the immutable state a provider's lookups read through an
// atomic pointer. Everything a lookup returns is built when the snapshot
// is, so lookups never allocate and copy each policy only once.
type snapshot struct {
	// doc is the document in force; nil before the first good load.
	doc *policy.Document
	// byKey and def are doc's policies as lookups return them: with
	// Meta.Source policy.SourceLKG when the document is stale.
	byKey map[policy.PolicyKey]*policy.EffectivePolicy
	def   *policy.EffectivePolicy
	// stale marks doc as last-known-good: a newer load failed, or it came
	// from a cache and has not been confirmed yet.
	stale bool
	// err goes with every lookup: a *StaleError or *UnavailableError, or
	// nil when doc is fresh.
	err error
	// cause is the failure behind err, for LastError.
	cause error
}

func newSnapshot(doc *policy.Document, stale bool, err, cause error) *snapshot {
	s := &snapshot{doc: doc, stale: stale, err: err, cause: cause}
	if doc == nil {
		return s
	}
	served := func(p policy.EffectivePolicy) *policy.EffectivePolicy {
		if stale {
			p.Meta.Source = policy.SourceLKG
		}
		return &p
	}
	s.byKey = make(map[policy.PolicyKey]*policy.EffectivePolicy, len(doc.Policies))
	for k, p := range doc.Policies {
		s.byKey[k] = served(p)
	}
	if doc.Default != nil {
		s.def = served(*doc.Default)
	}
	return s
}

func freshSnapshot(doc *policy.Document) *snapshot { return newSnapshot(doc, false, nil, nil) }

// emptySnapshot is the state before the first load.
func emptySnapshot(source string) *snapshot { return unavailableSnapshot(source, errNotLoaded) }

// failedSnapshot keeps prev's document, if any, as last-known-good.
func failedSnapshot(prev *snapshot, source string, cause error) *snapshot {
	if prev == nil || prev.doc == nil {
		return unavailableSnapshot(source, cause)
	}
	return staleSnapshot(prev.doc, source, cause)
}

func unavailableSnapshot(source string, cause error) *snapshot {
	e := &UnavailableError{Source: source, Err: cause}
	e.msg = e.Error()
	return newSnapshot(nil, false, e, cause)
}

func staleSnapshot(doc *policy.Document, source string, cause error) *snapshot {
	e := &StaleError{Source: source, Version: doc.Version, Err: cause}
	e.msg = e.Error()
	return newSnapshot(doc, true, e, cause)
}

// get resolves key against the snapshot without allocating.
func (s *snapshot) get(key policy.PolicyKey) (policy.EffectivePolicy, error) {
	p, err := s.ref(key)
	if p == nil {
		return policy.EffectivePolicy{}, err
	}
	out := *p
	out.Key = key
	return out, err
}

// ref resolves key to a policy of the snapshot, shared and immutable: a
// default policy keeps its own Key.
func (s *snapshot) ref(key policy.PolicyKey) (*policy.EffectivePolicy, error) {
	if p, ok := s.byKey[key]; ok {
		return p, s.err
	}
	if s.def != nil {
		return s.def, s.err
	}
	if s.doc == nil {
		return nil, s.err
	}
	return nil, ErrPolicyNotFound
}

func (s *snapshot) version() string {
	if s.doc == nil {
		return ""
	}
	return s.doc.Version
}
