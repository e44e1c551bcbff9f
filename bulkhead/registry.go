package bulkhead

import (
	"context"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/keyed"
	"github.com/aponysus/rego/policy"
)

// DefaultMaxKeys is how many keys a Registry with a zero MaxKeys gives a
// bulkhead of their own.
const DefaultMaxKeys = 1024

// Registry keeps one Bulkhead per key and is the bulkhead gate
// (gate.Gate). The zero value is ready to use. Lookups of known keys are
// lock-free. A Registry is safe for concurrent use; set its fields before
// first use.
type Registry struct {
	// MaxKeys caps how many keys get a bulkhead; further keys pass
	// unlimited and Overflowed counts them. Zero means DefaultMaxKeys.
	MaxKeys int
	// Clock times the waits in the queue. Nil means clock.Real.
	Clock clock.Clock

	keys keyed.Map[Bulkhead]
}

// NewRegistry returns an empty registry on the wall clock.
func NewRegistry() *Registry { return &Registry{} }

// Admit admits the attempt under the bulkhead of a.Key, configured by
// a.Policy.Bulkhead; it waits up to that section's MaxWait, bounded by
// ctx. An attempt whose policy has no bulkhead (or none at all) passes
// with ReasonDisabled. now is not used: waits run on the Registry's
// Clock.
func (r *Registry) Admit(ctx context.Context, a gate.Attempt, now time.Time) (gate.Permit, error) {
	pol := a.Policy
	if pol == nil || !pol.Bulkhead.Enabled {
		return gate.Permit{Reason: ReasonDisabled}, nil
	}
	b := r.keys.Get(a.Key, r.MaxKeys, DefaultMaxKeys)
	if b == nil {
		return gate.Permit{Reason: ReasonOverflow}, nil
	}
	// Bulkhead.admit's lock-free path, inline: this is the call every
	// attempt of a key with a bulkhead makes.
	if b.cur.Load().matches(&pol.Bulkhead, pol) && b.s.TryAcquire() {
		return answers.Admitted(b), nil
	}
	return b.admitSlow(ctx, r.Clock, &pol.Bulkhead, pol)
}

// For returns key's bulkhead, creating it on first use; nil when the
// registry is full.
func (r *Registry) For(key policy.PolicyKey) *Bulkhead {
	return r.keys.Get(key, r.MaxKeys, DefaultMaxKeys)
}

// Overflowed counts the admissions of keys that got no bulkhead because
// the registry was full. Export it as a metric: a rising count means a key
// carries request data.
func (r *Registry) Overflowed() uint64 { return r.keys.Overflowed() }
