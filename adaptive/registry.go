package adaptive

import (
	"context"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/keyed"
	"github.com/aponysus/rego/policy"
)

// DefaultMaxKeys is how many keys a Registry with a zero MaxKeys gives a
// limit of their own.
const DefaultMaxKeys = 1024

// Registry keeps one Limiter per key and is the adaptive concurrency gate
// (gate.Gate). The zero value is ready to use. Lookups of known keys are
// lock-free. A Registry is safe for concurrent use; set its fields before
// first use.
type Registry struct {
	// MaxKeys caps how many keys get a limit; further keys pass unlimited
	// and Overflowed counts them. Zero means DefaultMaxKeys.
	MaxKeys int
	// Clock times the waits. Nil means clock.Real.
	Clock clock.Clock

	keys keyed.Map[Limiter]
}

// NewRegistry returns an empty registry on the wall clock.
func NewRegistry() *Registry { return &Registry{} }

// Admit admits the attempt under the adaptive limit of a.Key, configured
// by a.Policy.Concurrency. Attempts whose policy has no adaptive limit
// pass with ReasonDisabled. now is not used: the limit moves with the
// latencies of completed permits, and waits run on the Clock.
func (r *Registry) Admit(ctx context.Context, a gate.Attempt, now time.Time) (gate.Permit, error) {
	if a.Policy == nil || !a.Policy.Concurrency.Enabled {
		return gate.Permit{Reason: ReasonDisabled}, nil
	}
	l := r.keys.Get(a.Key, r.MaxKeys, DefaultMaxKeys)
	if l == nil {
		return gate.Permit{Reason: ReasonOverflow}, nil
	}
	return l.Admit(ctx, r.Clock, a.Policy.Concurrency)
}

// For returns key's limiter, creating it on first use; nil when the
// registry is full.
func (r *Registry) For(key policy.PolicyKey) *Limiter {
	return r.keys.Get(key, r.MaxKeys, DefaultMaxKeys)
}

// Limit returns key's current limit, and false when the key has no limiter
// yet (no attempt of it was admitted with an adaptive limit).
func (r *Registry) Limit(key policy.PolicyKey) (int, bool) {
	l, ok := r.keys.Lookup(key)
	if !ok {
		return 0, false
	}
	return l.Limit(), true
}

// Overflowed counts the admissions of keys that got no limit because the
// registry was full.
func (r *Registry) Overflowed() uint64 { return r.keys.Overflowed() }

var _ gate.Gate = (*Registry)(nil)
