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
}

func (e *StaleError) Error() string {
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
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("controlplane: no policy document from %s: %v", e.Source, e.Err)
}

// Unwrap returns ErrProviderUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrProviderUnavailable, e.Err} }

// snapshot is the immutable state a provider's lookups read through an
// atomic pointer. Every error a lookup can return is built when the
// snapshot is, so lookups never allocate.
type snapshot struct {
	// doc is the document in force; nil before the first good load.
	doc *policy.Document
	// stale marks doc as last-known-good: a newer load failed, or it came
	// from a cache and has not been confirmed yet.
	stale bool
	// err goes with every lookup: a *StaleError or *UnavailableError, or
	// nil when doc is fresh.
	err error
	// cause is the failure behind err, for LastError.
	cause error
}

func freshSnapshot(doc *policy.Document) *snapshot { return &snapshot{doc: doc} }

// failedSnapshot keeps prev's document, if any, as last-known-good.
func failedSnapshot(prev *snapshot, source string, cause error) *snapshot {
	if prev == nil || prev.doc == nil {
		return &snapshot{err: &UnavailableError{Source: source, Err: cause}, cause: cause}
	}
	return &snapshot{
		doc:   prev.doc,
		stale: true,
		err:   &StaleError{Source: source, Version: prev.doc.Version, Err: cause},
		cause: cause,
	}
}

// get resolves key against the snapshot without allocating.
func (s *snapshot) get(key policy.PolicyKey) (policy.EffectivePolicy, error) {
	if s.doc == nil {
		return policy.EffectivePolicy{}, s.err
	}
	p, ok := s.doc.Lookup(key)
	if !ok {
		return policy.EffectivePolicy{}, ErrPolicyNotFound
	}
	if s.stale {
		p.Meta.Source = policy.SourceLKG
	}
	return p, s.err
}

func (s *snapshot) version() string {
	if s.doc == nil {
		return ""
	}
	return s.doc.Version
}
